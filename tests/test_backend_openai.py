"""The OpenAI-compatible backend against a real local HTTP server with injected faults."""

from __future__ import annotations

import json
import time

import pytest

from cluster_r1.backends import CachedBackend, OpenAICompatBackend, complete_many
from cluster_r1.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    ContextLengthError,
    ModelNotFoundError,
)
from fake_openai import FakeOpenAIServer

MSG = [{"role": "user", "content": "hello there"}]


def backend(server: FakeOpenAIServer, **kw) -> OpenAICompatBackend:
    kw.setdefault("backoff", 0.01)
    return OpenAICompatBackend(base_url=server.base_url, model=kw.pop("model", "local"), **kw)


def test_completion_and_token_accounting(fake_server) -> None:
    fake_server.enqueue("hi back")
    out = backend(fake_server, api_key="sk-secret").complete(MSG, temperature=0.3, max_tokens=50, seed=7)
    assert out.text == "hi back"
    assert out.prompt_tokens == len("hello there") // 4 and out.completion_tokens == 1
    assert out.finish_reason == "stop" and out.seconds > 0
    body = fake_server.requests[0]
    assert (body["model"], body["temperature"], body["max_tokens"], body["seed"]) == ("local", 0.3, 50, 7)
    assert fake_server.headers[0]["authorization"] == "Bearer sk-secret"


@pytest.mark.parametrize("fault", [("status", 500, "boom"), ("status", 429, "slow down"), ("status", 503, "busy"), ("drop",)])
def test_retries_transient_faults(fake_server, fault) -> None:
    fake_server.enqueue(fault, fault, "ok")
    assert backend(fake_server, max_retries=2).complete(MSG).text == "ok"
    assert len(fake_server.requests) == 3


def test_retries_are_bounded(fake_server) -> None:
    fake_server.enqueue(*[("status", 500, "boom")] * 5)
    with pytest.raises(BackendError, match="answered 500: boom"):
        backend(fake_server, max_retries=2).complete(MSG)
    assert len(fake_server.requests) == 3


def test_timeout_is_retried_then_reported(fake_server) -> None:
    fake_server.enqueue(("delay", 1.0, "late"), ("delay", 1.0, "late"))
    with pytest.raises(BackendUnavailableError, match="did not answer within 0.2 s"):
        backend(fake_server, timeout=0.2, max_retries=1).complete(MSG)


def test_unknown_model_lists_available(fake_server) -> None:
    with pytest.raises(ModelNotFoundError, match="'gpt-x' is not served.*available: local"):
        backend(fake_server, model="gpt-x").complete(MSG)
    assert fake_server.requests == []  # failed before any generation


def test_unknown_model_without_models_route() -> None:
    with FakeOpenAIServer(list_models=False) as server:
        server.enqueue("x")
        with pytest.raises(ModelNotFoundError, match="'gpt-x' not found"):
            backend(server, model="gpt-x").complete(MSG)


def test_context_error_is_translated(fake_server) -> None:
    fake_server.enqueue(("status", 400, "Requested tokens (20000) exceed context window of 16384"))
    with pytest.raises(ContextLengthError, match="does not fit the context window.*--method embed"):
        backend(fake_server).complete(MSG)


def test_auth_error_does_not_print_the_key(fake_server) -> None:
    fake_server.enqueue(("status", 401, "bad key"))
    with pytest.raises(BackendError) as info:
        backend(fake_server, api_key="sk-very-secret").complete(MSG)
    assert "CLUSTER_R1_API_KEY" in str(info.value) and "sk-very-secret" not in str(info.value)


def test_unreachable_server() -> None:
    b = OpenAICompatBackend(base_url="http://127.0.0.1:9/v1", model="m", max_retries=1, backoff=0.01)
    with pytest.raises(BackendUnavailableError, match="cannot reach the model server at http://127.0.0.1:9/v1"):
        b.complete(MSG)


def test_configuration_from_environment(fake_server, monkeypatch) -> None:
    monkeypatch.setenv("CLUSTER_R1_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("CLUSTER_R1_MODEL", "local")
    monkeypatch.setenv("CLUSTER_R1_API_KEY", "from-env")
    fake_server.enqueue("ok")
    assert OpenAICompatBackend().complete(MSG).text == "ok"
    assert fake_server.headers[0]["authorization"] == "Bearer from-env"


def test_missing_configuration(monkeypatch) -> None:
    monkeypatch.delenv("CLUSTER_R1_BASE_URL", raising=False)
    monkeypatch.delenv("CLUSTER_R1_MODEL", raising=False)
    with pytest.raises(ConfigError, match="--base-url"):
        OpenAICompatBackend()
    with pytest.raises(ConfigError, match="--model"):
        OpenAICompatBackend(base_url="http://x/v1")


def test_concurrency_limit_runs_in_parallel_and_keeps_order(fake_server) -> None:
    fake_server.enqueue(*[("delay", 0.3, f"r{i}") for i in range(4)])
    b = backend(fake_server, concurrency=4)
    start = time.perf_counter()
    outs = complete_many(b, [[{"role": "user", "content": f"q{i}"}] for i in range(4)])
    elapsed = time.perf_counter() - start
    assert sorted(o.text for o in outs) == ["r0", "r1", "r2", "r3"]
    assert elapsed < 1.0  # four 0.3 s replies overlapped (sequential would take 1.2 s)


# -- malformed bodies: a transient fault, retried within the bound, then one clear line --------------------

MALFORMED = [
    ("cut", "hello"),
    ("short", "hello"),
    ("raw", 200, b"<html>502 bad gateway</html>"),
    ("raw", 200, b"null"),
    ("raw", 200, b'{"choices": "x"}'),
    ("raw", 200, b'{"choices": []}'),
    ("raw", 200, b'{"choices": [42]}'),
    ("choice", {"message": None, "finish_reason": "stop"}),
    ("choice", {"message": {"content": {"text": "a dict"}}}),
    ("raw", 200, b"[" * 50000),
]


@pytest.mark.parametrize("fault", MALFORMED, ids=[f"{f[0]}-{i}" for i, f in enumerate(MALFORMED)])
def test_malformed_body_is_retried_then_one_clear_error(fake_server, fault) -> None:
    fake_server.enqueue(fault, fault, fault)
    with pytest.raises(BackendError) as info:
        backend(fake_server, max_retries=2).complete(MSG)
    assert len(fake_server.requests) == 3  # the bound: 1 + max_retries
    assert "\n" not in str(info.value) and fake_server.base_url in str(info.value)


@pytest.mark.parametrize("fault", MALFORMED[:4], ids=[f[0] for f in MALFORMED[:4]])
def test_malformed_body_then_a_good_one(fake_server, fault) -> None:
    fake_server.enqueue(fault, "ok")
    assert backend(fake_server, max_retries=1).complete(MSG).text == "ok"


def test_odd_but_usable_fields_are_read(fake_server) -> None:
    usage = {"prompt_tokens": "many", "completion_tokens": -3}
    fake_server.enqueue(
        ("raw", 200, json.dumps({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, "b"]},
                                              "finish_reason": None}], "usage": usage, "model": 7}).encode()),
        ("choice", {"message": {"content": None, "reasoning_content": "thought"}, "finish_reason": "length"}),
    )
    b = backend(fake_server)
    first = b.complete(MSG)
    assert (first.text, first.prompt_tokens, first.completion_tokens, first.model, first.finish_reason) == (
        "ab", 0, 0, "local", "")
    second = b.complete(MSG)
    assert second.text == "<think>thought</think>" and second.finish_reason == "length"


def test_a_server_without_a_model_list_still_generates() -> None:
    with FakeOpenAIServer(list_models=False) as server:
        server.enqueue("fine")
        assert backend(server).complete(MSG).text == "fine"


# -- secrets ------------------------------------------------------------------------------------------------


def test_key_quoted_by_the_server_is_masked(fake_server) -> None:
    fake_server.enqueue(("status", 400, "invalid api key sk-live-abcdef123456 for this model"))
    with pytest.raises(BackendError) as info:
        backend(fake_server, api_key="sk-live-abcdef123456").complete(MSG)
    assert "sk-live-abcdef123456" not in str(info.value) and "invalid api key ***" in str(info.value)


def test_credentials_in_the_url_never_appear(fake_server) -> None:
    url = fake_server.base_url.replace("http://", "http://alice:pa55word-xyz@")
    b = OpenAICompatBackend(base_url=url, model="local", max_retries=0, backoff=0.01)
    assert "pa55word-xyz" not in repr(b) and "pa55word-xyz" not in b.base_url
    fake_server.enqueue(("status", 500, "upstream said pa55word-xyz is wrong"))
    with pytest.raises(BackendError) as info:
        b.complete(MSG)
    assert "pa55word-xyz" not in str(info.value) and "alice" not in str(info.value)
    assert fake_server.headers[0]["authorization"].startswith("Basic ")  # the server still gets them


def test_cache_file_holds_no_credentials(fake_server, tmp_path) -> None:
    url = fake_server.base_url.replace("http://", "http://alice:pa55word-xyz@")
    cached = CachedBackend(OpenAICompatBackend(base_url=url, model="local", api_key="sk-secret-999"), tmp_path / "c.db")
    fake_server.enqueue("stored")
    assert cached.complete(MSG).text == "stored"
    cached.close()
    data = (tmp_path / "c.db").read_bytes()
    assert b"pa55word-xyz" not in data and b"sk-secret-999" not in data and b"stored" in data


@pytest.mark.parametrize("url", ["127.0.0.1:8080/v1", "ftp://host/v1", "localhost", "http://", "http://[::1/v1"])
def test_a_base_url_that_is_not_http_is_refused_at_once(url) -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="--base-url"):
        OpenAICompatBackend(base_url=url, model="m")
    assert time.perf_counter() - start < 1.0

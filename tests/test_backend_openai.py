"""The OpenAI-compatible backend against a real local HTTP server with injected faults."""

from __future__ import annotations

import time

import pytest

from cluster_r1.backends import OpenAICompatBackend, complete_many
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

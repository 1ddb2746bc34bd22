"""CachedBackend: keys, persistence across instances, threads, unseeded sampling, errors, and real HTTP."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cluster_r1.backends import OpenAICompatBackend, ScriptedBackend
from cluster_r1.backends.cached import CachedBackend, cache_key
from cluster_r1.errors import BackendError, BackendUnavailableError
from fake_openai import FakeOpenAIServer

MSG = [{"role": "user", "content": "cluster these"}]


def test_identical_request_reaches_the_backend_once_across_instances(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "responses.sqlite"
    inner = ScriptedBackend(["first reply"])
    assert CachedBackend(inner, db).complete(MSG, max_tokens=10, seed=0).text == "first reply"
    again = CachedBackend(ScriptedBackend([]), db)  # an empty script fails on any real call
    reply = again.complete(MSG, max_tokens=10, seed=0)
    assert reply.text == "first reply" and reply.finish_reason == "stop" and reply.model == "scripted"
    assert (again.hits, again.misses, len(again)) == (1, 0, 1)


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.5},
        {"max_tokens": 11},
        {"seed": 1},
        {"messages": [{"role": "user", "content": "cluster those"}]},
    ],
)
def test_any_request_field_changes_the_key(tmp_path: Path, change: dict[str, object]) -> None:
    inner = ScriptedBackend(["a", "b"])
    cached = CachedBackend(inner, tmp_path / "c.sqlite")
    base = {"messages": MSG, "temperature": 0.0, "max_tokens": 10, "seed": 0}
    cached.complete(base["messages"], temperature=0.0, max_tokens=10, seed=0)
    other = {**base, **change}
    assert cached.complete(other.pop("messages"), **other).text == "b"  # type: ignore[arg-type]
    assert len(inner.history) == 2


def test_model_and_namespace_are_part_of_the_key(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    CachedBackend(ScriptedBackend(["from a"], model="m1"), db, namespace="http://a/v1").complete(MSG)
    assert CachedBackend(ScriptedBackend(["other model"], model="m2"), db, namespace="http://a/v1").complete(
        MSG).text == "other model"
    assert CachedBackend(ScriptedBackend(["other server"], model="m1"), db, namespace="http://b/v1").complete(
        MSG).text == "other server"
    assert cache_key("x", "m", MSG) != cache_key("y", "m", MSG)


def test_unseeded_samples_stay_distinct_and_replay_in_order(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    cached = CachedBackend(ScriptedBackend(["s1", "s2", "s3"]), db)
    assert [cached.complete(MSG, temperature=0.8).text for _ in range(3)] == ["s1", "s2", "s3"]
    replay = CachedBackend(ScriptedBackend(["s4"]), db)
    assert [replay.complete(MSG, temperature=0.8).text for _ in range(4)] == ["s1", "s2", "s3", "s4"]


def test_errors_are_not_cached(tmp_path: Path) -> None:
    inner = ScriptedBackend([BackendError("server down"), "recovered"])
    cached = CachedBackend(inner, tmp_path / "c.sqlite")
    with pytest.raises(BackendError):
        cached.complete(MSG)
    assert cached.complete(MSG).text == "recovered"
    assert len(cached) == 1


def test_threads_share_one_cache(tmp_path: Path) -> None:
    inner = ScriptedBackend([lambda m: "echo " + m[-1]["content"] for _ in range(16)])
    cached = CachedBackend(inner, tmp_path / "c.sqlite")
    out: dict[int, str] = {}

    def work(i: int) -> None:
        out[i] = cached.complete([{"role": "user", "content": str(i)}]).text

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == {i: f"echo {i}" for i in range(16)}
    assert len(cached) == 16 and cached.misses == 16
    replay = CachedBackend(ScriptedBackend([]), tmp_path / "c.sqlite")
    assert all(replay.complete([{"role": "user", "content": str(i)}]).text == f"echo {i}" for i in range(16))


def test_real_http_second_run_makes_no_request(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    with FakeOpenAIServer() as server:
        server.enqueue("over http")
        url = server.base_url
        backend = OpenAICompatBackend(base_url=url, model="local", max_retries=0, backoff=0.0)
        assert CachedBackend(backend, db).complete(MSG, max_tokens=5, seed=0).text == "over http"
        assert len(server.requests) == 1
    # The server is gone: any HTTP request would now fail.
    dead = OpenAICompatBackend(base_url=url, model="local", max_retries=0, backoff=0.0, timeout=2.0)
    with pytest.raises(BackendUnavailableError):
        dead.complete(MSG, max_tokens=5, seed=0)
    replay = CachedBackend(dead, db)
    assert replay.namespace == url
    assert replay.complete(MSG, max_tokens=5, seed=0).text == "over http"
    assert (replay.hits, replay.misses) == (1, 0)

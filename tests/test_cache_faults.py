"""A cache never fails a run: damaged, truncated or unusable caches and full disks (docs/reliability.md, section 9).

Each row of the table in docs/reliability.md is a test here: the real CLI in a subprocess, the real bundled
encoder, a real local HTTP server for the model, a real tiny file system where the machine allows mounting one
(else an injected ``OSError``). Every run either completes with the labels a clean cache gives, and says in one
line what it did about the cache, or stops with one line and exit 1; never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cluster_r1 import notices
from cluster_r1.backends import ScriptedBackend
from cluster_r1.backends.cached import CachedBackend
from cluster_r1.embed import embed_texts
from cluster_r1.embed.cache import EmbeddingCache, text_keys
from cluster_r1.errors import ConfigError, OutputError
from cluster_r1.io import check_cache_dir, write_atomic
from fake_openai import answer
from test_cli import EXAMPLE, check_partition, run_cli, server_args

GROUPS = [[1, 3, 5, 8, 11, 15], [2, 4, 7, 10, 13], [6, 9, 12, 14]]


class CountingEmbedder:
    family = "sentence-transformers"

    def __init__(self) -> None:
        self.name = "fake-model"
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr


def completed(proc: subprocess.CompletedProcess, out: Path | None = None) -> dict:
    """The run completed (exit 0, no traceback); its result, from ``out`` or stdout."""
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text() if out is not None else proc.stdout)


def one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The run stopped with exit 1 and exactly one ``cluster-r1: error:`` line holding every needle."""
    no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("cluster-r1: error:")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def offline(cache: Path, *extra: str, out: Path | None = None, env: dict[str, str] | None = None):
    args = ["cluster", str(EXAMPLE), "-i", "by topic", "--method", "embed", *extra]
    if out is not None:
        args += ["-o", str(out)]
    return run_cli(*args, env_extra={"CLUSTER_R1_CACHE_DIR": str(cache), **(env or {})})


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """A cache filled by one clean offline run, and that run's labels."""
    cache = tmp_path_factory.mktemp("clean-cache")
    out = cache.parent / "clean.json"
    proc = offline(cache, out=out)
    assert proc.returncode == 0, proc.stderr
    assert list(cache.rglob("*.emb.npy")), "the clean run filled the embedding cache"
    return cache, json.loads(out.read_text())["labels"]


def copy_cache(src: Path, dst: Path) -> Path:
    for f in src.rglob("*"):
        if f.is_file():
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    return dst


# -- the table, row by row, through the CLI ------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated", "pickled"])
def test_a_damaged_embedding_cache_is_dropped_and_the_labels_stay(clean, tmp_path: Path, damage: str) -> None:
    cache = copy_cache(clean[0], tmp_path / "cache")
    shards = sorted(cache.rglob("*.emb.npy"))
    for f in shards:
        data = f.read_bytes()
        if damage == "garbage":
            f.write_bytes(os.urandom(len(data)))
        elif damage == "truncated":
            f.write_bytes(data[: len(data) // 2])
        else:  # a valid .npy header that holds pickled objects
            np.save(f, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    out = tmp_path / "out.json"
    proc = offline(cache, out=out)
    result = completed(proc, out)
    assert result["labels"] == clean[1]
    note = [n for n in result["notes"] if n.startswith("embedding cache: dropped damaged entries")]
    assert len(note) == 1, result["notes"]
    warnings = [ln for ln in proc.stderr.splitlines() if ln.startswith("WARNING")]
    assert len(warnings) == 1 and "embedding cache: dropped damaged entries" in warnings[0], proc.stderr
    # the damaged shards are gone and fresh ones were written: the next run is clean and silent
    assert not any(f.exists() for f in shards)
    again = offline(cache, out=out)
    assert again.returncode == 0 and "embedding cache" not in again.stderr
    assert json.loads(out.read_text())["labels"] == clean[1]


def test_a_cache_dir_that_is_a_file_runs_without_it_and_says_so(clean, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "cache-file"
    not_a_dir.write_text("I am a file")
    out = tmp_path / "out.json"
    proc = offline(not_a_dir, out=out)
    result = completed(proc, out)
    assert result["labels"] == clean[1]
    assert any("embedding cache: cannot use" in n and "a file, not a folder" in n for n in result["notes"])
    assert not_a_dir.read_text() == "I am a file"
    # named explicitly, the same location is refused before any work
    proc = offline(clean[0], "--cache-dir", str(not_a_dir), out=tmp_path / "refused.json")
    one_error_line(proc, "--cache-dir", "is a file")
    assert not (tmp_path / "refused.json").exists()


def test_a_read_only_cache_dir_runs_without_it(clean, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes anywhere: a read-only bind is what a read-only file system looks like to root
        ro = tmp_path / "ro"
        ro.mkdir()
        if subprocess.run(["mount", "--bind", "-o", "ro", str(ro), str(ro)], capture_output=True).returncode:
            pytest.skip("cannot mount a read-only folder here")
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
    try:
        out = tmp_path / "out.json"
        proc = offline(ro, out=out)
        result = completed(proc, out)
        assert result["labels"] == clean[1]
        assert any(n.startswith("embedding cache: cannot use") for n in result["notes"]), result["notes"]
        one_error_line(offline(clean[0], "--cache-dir", str(ro), out=out), "--cache-dir", "cannot write there")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(ro)], capture_output=True)


@pytest.mark.parametrize("damage", ["garbage", "half"])
def test_a_damaged_response_cache_is_moved_aside(fake_server, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "cache"
    args = ["cluster", str(EXAMPLE), "-i", "by root cause", *server_args(fake_server)]
    env = {"CLUSTER_R1_CACHE_DIR": str(cache)}
    fake_server.enqueue(answer(GROUPS, ["Billing", "Account", "Bugs"]))
    first = run_cli(*args, "-o", str(tmp_path / "a.json"), env_extra=env)
    assert first.returncode == 0, first.stderr
    db = cache / "responses.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("CREATE TABLE padding (x)")  # enough pages that half of them is a real cut
    con.executemany("INSERT INTO padding VALUES (?)", [("x" * 500,) for _ in range(400)])
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = db.read_bytes()
    db.write_bytes(os.urandom(len(data)) if damage == "garbage" else data[: len(data) // 2])
    fake_server.enqueue(answer(GROUPS, ["Billing", "Account", "Bugs"]))
    second = run_cli(*args, "-o", str(tmp_path / "b.json"), env_extra=env)
    no_traceback(second)
    assert second.returncode == 0, second.stderr
    a, b = (json.loads((tmp_path / f).read_text()) for f in ("a.json", "b.json"))
    assert b["labels"] == a["labels"]
    check_partition(b, 15)
    assert len(fake_server.requests) == 2, "the damaged cache answered nothing: the model was asked again"
    note = [n for n in b["notes"] if n.startswith("response cache:") and "moved aside" in n]
    assert len(note) == 1, b["notes"]
    warnings = [ln for ln in second.stderr.splitlines() if ln.startswith("WARNING")]
    assert len(warnings) == 1 and "moved aside" in warnings[0], second.stderr
    aside = list(cache.glob("responses.sqlite.corrupt-*"))
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))], "the damaged file is kept for a look"
    # the fresh database holds the new reply: a third run asks nothing
    third = run_cli(*args, "-o", str(tmp_path / "c.json"), env_extra=env)
    assert third.returncode == 0 and len(fake_server.requests) == 2, third.stderr
    assert "response cache" not in third.stderr


def test_a_response_cache_named_where_none_can_be_is_one_line(fake_server, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    args = ["cluster", str(EXAMPLE), "-i", "by root cause", *server_args(fake_server)]
    one_error_line(run_cli(*args, "--cache-dir", str(blocker / "sub")), "--cache-dir", "cannot write there")
    assert fake_server.requests == []
    # through the environment, the run goes on without a cache and says so
    fake_server.enqueue(answer(GROUPS, ["Billing", "Account", "Bugs"]))
    proc = run_cli(*args, env_extra={"CLUSTER_R1_CACHE_DIR": str(blocker)})
    result = completed(proc)
    check_partition(result, 15)
    assert any(n.startswith("response cache: cannot use") for n in result["notes"]), result["notes"]


def tiny_fs(path: Path, size: str = "64k") -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def full_disk(tmp_path: Path):
    """A real 64 KiB file system, filled up but a few bytes (skipped where mounting is not allowed)."""
    where = tmp_path / "tiny"
    if os.geteuid() != 0 or not tiny_fs(where):
        pytest.skip("cannot mount a tiny file system here")
    try:
        with open(where / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


def test_output_on_a_full_disk_is_one_line_and_no_partial_file(clean, full_disk: Path) -> None:
    out = full_disk / "result.json"
    proc = offline(clean[0], out=out)
    one_error_line(proc, str(out), "no space left on device", "free some space")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"], "no partial or temporary file"


def test_caches_on_a_full_disk_keep_the_run_and_its_labels(clean, fake_server, full_disk: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = offline(full_disk, out=out)
    result = completed(proc, out)
    assert result["labels"] == clean[1]
    assert any(n.startswith("embedding cache: cannot use") and "no space" in n for n in result["notes"])
    assert not [p for p in full_disk.rglob("*") if p.is_file() and p.name != "filler"], "no half-written shard"


# -- the same promises in-process: injected faults, the harness's cache, saved clusterers -----------------------


def test_injected_enospc_on_output_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    real_fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"cannot write .*out\.json: no space left on device; free some space"):
        write_atomic(target, "new")
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_embedding_cache_drops_what_it_cannot_trust(tmp_path: Path) -> None:
    _ = notices.drain()
    texts = ["book a flight", "play jazz", "what is the weather"]
    first = embed_texts(texts, "", embedder=CountingEmbedder(), cache_dir=tmp_path)
    (emb,) = tmp_path.rglob("*.emb.npy")
    x = np.load(emb)
    np.save(emb, x * 3.0)  # a valid file whose rows are no longer the unit vectors that were stored
    again = CountingEmbedder()
    second = embed_texts(texts, "", embedder=again, cache_dir=tmp_path)
    np.testing.assert_array_equal(first, second)
    assert len(again.encoded) == len(texts), "the untrusted rows were encoded again"
    assert any("not unit vectors" in n for n in notices.drain())
    # keys and vectors that do not belong together
    (keys,) = tmp_path.rglob("*.keys.npy")
    np.save(keys, np.load(keys)[:2])
    again = CountingEmbedder()
    np.testing.assert_array_equal(embed_texts(texts, "", embedder=again, cache_dir=tmp_path), first)
    assert len(again.encoded) == 3 and any("do not match" in n for n in notices.drain())


def test_embedding_cache_write_failure_turns_it_off_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _ = notices.drain()
    cache = EmbeddingCache(tmp_path, "m")
    keys = text_keys("m", "t", ["a", "b"])

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    cache.put(keys, np.eye(2, dtype=np.float32))
    cache.put(keys, np.eye(2, dtype=np.float32))
    assert not cache.usable and not list(tmp_path.rglob("*.npy*")), "no shard and no temporary file left"
    (line,) = notices.drain()  # the second put is not tried: one notice
    assert line.startswith("embedding cache: cannot use") and "no space left on device" in line
    found, _ = EmbeddingCache(tmp_path, "m").get(keys)
    assert not found.any()


def test_response_cache_on_a_failing_disk_keeps_answering(tmp_path: Path) -> None:
    _ = notices.drain()
    db = tmp_path / "r.sqlite"
    cached = CachedBackend(ScriptedBackend(["one", "two"]), db)
    assert cached.complete([{"role": "user", "content": "a"}]).text == "one"
    cached._conn.execute("PRAGMA query_only = ON")  # every later write fails as on a read-only or full disk
    assert cached.complete([{"role": "user", "content": "b"}]).text == "two"
    assert cached.complete([{"role": "user", "content": "a"}]).text == "one", "reads still served"
    assert cached.hits == 1 and cached.misses == 2
    (line,) = notices.drain()
    assert line.startswith(f"response cache: cannot save replies in {db}")


def test_explicit_caches_are_checked(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_cache_dir(f)
    with pytest.raises(ConfigError, match="--embed-cache .*cannot write there"):
        check_cache_dir(f / "sub", "--embed-cache")
    assert check_cache_dir(tmp_path / "new" / "dir").is_dir()
    with pytest.raises(ConfigError, match="cannot use the response cache"):
        CachedBackend(ScriptedBackend(["x"]), f / "responses.sqlite", required=True)
    _ = notices.drain()
    quiet = CachedBackend(ScriptedBackend(["x"]), f / "responses.sqlite")
    assert quiet.complete([{"role": "user", "content": "q"}]).text == "x" and len(quiet) == 0
    assert notices.drain()[0].startswith("response cache: cannot use")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "centroids", "classifier", "floor"])
def test_assign_on_a_damaged_saved_clusterer_is_one_line(clean, tmp_path: Path, damage: str) -> None:
    saved = tmp_path / "saved"
    proc = offline(clean[0], "--save", str(saved), out=tmp_path / "fit.json")
    assert proc.returncode == 0, proc.stderr
    file = saved / "clusterer.json"
    data = json.loads(file.read_text())
    if damage == "truncated":
        file.write_text(file.read_text()[: len(file.read_text()) // 2])
    elif damage == "garbage":
        file.write_bytes(os.urandom(2000))
    elif damage == "centroids":
        data["centres"] = [["x"] * 3]
        file.write_text(json.dumps(data))
    elif damage == "classifier":
        data["classifier"] = {"coef": [[1.0, 2.0]], "intercept": [0.0], "classes": [0, 1]}
        file.write_text(json.dumps(data))
    else:
        data["floor"] = "high"
        file.write_text(json.dumps(data))
    proc = run_cli("assign", str(saved), str(EXAMPLE), env_extra={"CLUSTER_R1_CACHE_DIR": str(clean[0])})
    one_error_line(proc, str(file))


def test_the_evaluation_harness_survives_a_damaged_response_cache(tmp_path: Path) -> None:
    from cluster_r1.bench.build import build_benchmark
    from cluster_r1.bench.tasks import get_task
    from cluster_r1.cli import main
    from cluster_r1.evaluation import load_examples
    from fake_openai import FakeOpenAIServer
    from test_evaluate_cli import DATA, TINY, _gold  # the same tiny real benchmark

    if not (DATA / "README.md").is_file():
        pytest.skip(f"no shared data under {DATA}")
    bench = tmp_path / "bench"
    build_benchmark(DATA, bench, config=TINY, tasks=[get_task("goalex-topic")])
    examples = load_examples(bench, ["c1"])
    out = tmp_path / "results"
    out.mkdir()
    (out / "responses.sqlite").write_bytes(os.urandom(8192))
    argv = ["eval", "--bench", str(bench), "--method", "agent", "--split", "C1", "--model", "local",
            "--max-retries", "0", "--out", str(out), "-q"]
    _ = notices.drain()
    with FakeOpenAIServer() as server:
        server.enqueue(*[_gold(ex) for ex in examples])
        assert main([*argv, "--base-url", server.base_url]) == 0
        assert len(server.requests) == len(examples)
        blocker = tmp_path / "blocker"
        blocker.write_text("x")
        assert main([*argv, "--base-url", server.base_url, "--cache", str(blocker / "r.sqlite")]) == 1
        assert main([*argv, "--base-url", server.base_url, "--embed-cache", str(blocker)]) == 1
    results = json.loads((out / "results.json").read_text())
    assert all(r["v"] == pytest.approx(1.0) for r in results["records"])
    assert any("moved aside" in n for n in results.get("notes", [])), results.get("notes")
    assert list(out.glob("responses.sqlite.corrupt-*"))

"""Black-box CLI tests: the real command against a real local HTTP server with scripted answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from fake_openai import answer

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "support_tickets.txt"


def run_cli(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None):
    """The CLI in a subprocess, with a cache of its own (unless ``env_extra`` names one, or a ``HOME`` whose
    default cache the test looks at): a shared cache could answer a fake server's prompt from an earlier run
    whose server had the same port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTER_R1_")}
    env.update(env_extra or {})
    with tempfile.TemporaryDirectory(prefix="cluster-r1-cache-") as cache:
        if "HOME" not in (env_extra or {}):
            env.setdefault("CLUSTER_R1_CACHE_DIR", cache)
        return subprocess.run(
            [sys.executable, "-m", "cluster_r1", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
        )


def server_args(server) -> list[str]:
    return ["--base-url", server.base_url, "--model", "local", "--max-retries", "1"]


def check_partition(result: dict, n: int) -> None:
    items = sorted(i for c in result["clusters"] for i in c["items"])
    assert items == list(range(1, n + 1)), "every text exactly once"
    assert len(result["labels"]) == n and result["n_clusters"] == len(result["clusters"])


def test_valid_answer_to_file(fake_server, tmp_path) -> None:
    fake_server.enqueue(answer([[1, 3, 5, 8, 11, 15], [2, 4, 7, 10, 13], [6, 9, 12, 14]], ["Billing", "Account", "Bugs"]))
    out = tmp_path / "out.json"
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "-o", str(out), *server_args(fake_server))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    check_partition(result, 15)
    assert [c["name"] for c in result["clusters"]] == ["Billing", "Account", "Bugs"]
    assert result["method"] == "agent" and result["usage"]["calls"] == 1
    assert "Billing" in proc.stderr and "charged twice" in proc.stderr  # the summary shows examples


def test_malformed_then_partial_answers_are_salvaged(fake_server) -> None:
    partial = answer([[1, 3, 5], [2, 4, 7]], ["Billing", "Account"])
    fake_server.enqueue("I cannot do that.", partial, partial, "\n".join(f"{i}: cluster1" for i in range(6, 16)))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", *server_args(fake_server))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    check_partition(result, 15)
    assert result["salvaged"] and result["attempts"] == 3
    assert len(fake_server.requests) == 4


def test_jsonl_and_csv_inputs(fake_server, tmp_path) -> None:
    jl = tmp_path / "t.jsonl"
    jl.write_text("\n".join(json.dumps({"body": t, "id": i}) for i, t in enumerate(["a b", "c d", "e f"])))
    csv = tmp_path / "t.csv"
    csv.write_text('id,msg\n1,"hello, world"\n2,bye\n3,hey\n')
    fake_server.enqueue(answer([[1, 2], [3]]), answer([[1, 3], [2]]))
    p1 = run_cli("cluster", str(jl), "-i", "x", "--text-field", "body", *server_args(fake_server))
    p2 = run_cli("cluster", str(csv), "-i", "x", "--text-column", "msg", *server_args(fake_server))
    assert p1.returncode == 0 and p2.returncode == 0, p1.stderr + p2.stderr
    assert json.loads(p2.stdout)["labels"] == [1, 2, 1]
    assert '<text id="1">\nhello, world\n</text>' in fake_server.requests[1]["messages"][0]["content"]


@pytest.mark.parametrize(
    "content,suffix,extra,message",
    [
        (b"", ".txt", [], "is empty"),
        (b"one\n\ntwo\n", ".txt", [], "line 2 is blank"),
        (b'{"text": "a"}\n{"body": "b"}\n', ".jsonl", [], "line 2 has no field 'text'"),
        (b"caf\xe9\nbar\n", ".txt", [], "line 1 is not valid UTF-8"),
        (b"only one text\n", ".txt", [], "at least 2 texts"),
        (b"a,b\n1,2\n", ".csv", [], "no column 'text'"),
        (b"a\nb\n", ".docx", [], "unsupported file type"),
    ],
)
def test_bad_input_one_line_error(tmp_path, content, suffix, extra, message) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_bytes(content)
    out = tmp_path / "out.json"
    proc = run_cli("cluster", str(path), "-i", "x", "-o", str(out), "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_missing_file(tmp_path) -> None:
    proc = run_cli("cluster", str(tmp_path / "nope.txt"), "-i", "x")
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_agent_without_server_says_how() -> None:
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--method", "agent")
    assert proc.returncode == 1
    assert "--base-url" in proc.stderr and "CLUSTER_R1_BASE_URL" in proc.stderr


def test_offline_default_without_server(tmp_path) -> None:
    out = tmp_path / "out.json"
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "-o", str(out), "--max-k", "6",
                   env_extra={"HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    check_partition(result, 15)
    assert result["method"] == "embed" and 2 <= result["n_clusters"] <= 6
    assert all(c["name"] and c["description"] for c in result["clusters"])
    assert (tmp_path / ".cache" / "cluster-r1").exists()  # embeddings cached under the user's cache
    # stderr is not a terminal here: live progress is a few plain lines per stage, ending at the total
    for line in ("embedding: 15/15", "choosing k: ", "naming: "):
        assert line in proc.stderr, proc.stderr
    assert "embedding: 0/15" in proc.stderr


def test_offline_default_is_silent_with_quiet(tmp_path) -> None:
    out = tmp_path / "out.json"
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "-o", str(out), "--max-k", "6", "-q",
                   env_extra={"HF_HUB_OFFLINE": "1", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and out.exists()


def test_auto_falls_back_to_embeddings_when_the_model_gives_nothing_usable(fake_server) -> None:
    fake_server.enqueue("no idea", "still no idea", "nothing", "I cannot", "really cannot")
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(fake_server), "--max-reasks", "2")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    check_partition(result, 15)
    assert result["method"] == "embed" and "clustered with embeddings instead" in result["notes"][0]
    fake_server.enqueue("no idea", "nothing", "I cannot")
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(fake_server), "--method", "agent",
                   "--max-reasks", "0")
    assert proc.returncode == 1 and "no usable cluster" in proc.stderr


def test_unreachable_server_leaves_no_output(tmp_path) -> None:
    out = tmp_path / "out.json"
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "-o", str(out), "--base-url", "http://127.0.0.1:9/v1",
                   "--model", "m", "--max-retries", "0")
    assert proc.returncode == 1 and "cannot reach the model server" in proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_unknown_model(fake_server) -> None:
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--base-url", fake_server.base_url, "--model", "nope")
    assert proc.returncode == 1 and "'nope' is not served" in proc.stderr


def test_api_error(fake_server) -> None:
    fake_server.enqueue(("status", 400, "invalid temperature"))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(fake_server))
    assert proc.returncode == 1 and "answered 400: invalid temperature" in proc.stderr


def test_too_many_texts_for_the_context(fake_server, tmp_path) -> None:
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--method", "agent", *server_args(fake_server),
                   "--context-window", "512")
    assert proc.returncode == 1
    assert "context of 512 tokens cannot hold even one text" in proc.stderr and "--method embed" in proc.stderr
    fake_server.enqueue(("status", 400, "Requested tokens (9000) exceed context window of 4096"))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--method", "agent", *server_args(fake_server))
    assert proc.returncode == 1 and "does not fit the context window" in proc.stderr


def test_auto_falls_back_to_embeddings_when_the_texts_do_not_fit(fake_server) -> None:
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(fake_server), "--context-window", "512")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    check_partition(result, 15)
    assert result["method"] == "embed" and "do not fit the model's context" in result["notes"][0]
    fake_server.enqueue(("status", 400, "Requested tokens (9000) exceed context window of 4096"))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(fake_server))
    assert proc.returncode == 0 and json.loads(proc.stdout)["method"] == "embed"


def test_environment_configures_the_server(fake_server) -> None:
    fake_server.enqueue(answer([list(range(1, 16))]))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "-q",
                   env_extra={"CLUSTER_R1_BASE_URL": fake_server.base_url, "CLUSTER_R1_MODEL": "local"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_clusters"] == 1 and proc.stderr == ""

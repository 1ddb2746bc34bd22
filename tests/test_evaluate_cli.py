"""`cluster-r1 eval` end to end on a tiny real benchmark (built from the shared corpora) and a fake server."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from cluster_r1.bench.build import build_benchmark
from cluster_r1.bench.corpora import DATA_DIR_ENV
from cluster_r1.bench.splits import Example, SplitConfig
from cluster_r1.bench.tasks import get_task
from cluster_r1.cli import main
from cluster_r1.evaluation import load_examples
from fake_openai import FakeOpenAIServer, answer

DATA = Path(os.environ.get(DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"no shared data under {DATA}")
TINY = SplitConfig(seed=1, n_train=2, n_c0=2, n_c1=2, n_c2=2, max_texts=12)


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    build_benchmark(DATA, out, config=TINY, tasks=[get_task("goalex-topic"), get_task("goalex-style")])
    return out


def _gold(ex: Example) -> str:
    groups: dict[str, list[int]] = {}
    for j, lab in enumerate(ex.labels, start=1):
        groups.setdefault(lab, []).append(j)
    return answer(list(groups.values()), list(groups))


@needs_data
def test_eval_cli_writes_results_and_replays_from_cache(
    tiny_bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = load_examples(tiny_bench, ["c1", "c2"])
    assert len(examples) == 4
    first_bad = _gold(examples[0]).replace("<think>", "")  # complete but the tags are broken
    replies = [first_bad] + [_gold(ex) for ex in examples[1:]]
    out = tmp_path / "results"
    argv = ["eval", "--bench", str(tiny_bench), "--method", "agent", "--split", "C1,C2", "--model", "local",
            "--max-retries", "0", "--out", str(out), "-q"]
    with FakeOpenAIServer() as server:
        server.enqueue(*replies)
        assert main([*argv, "--base-url", server.base_url]) == 0
        assert len(server.requests) == 4
        url = server.base_url
    results = json.loads((out / "results.json").read_text())
    recs = results["records"]
    assert [r["example_id"] for r in recs] == [ex.id for ex in examples]
    assert recs[0]["format_valid"] is False and recs[0]["v_paper"] == 0.0 and recs[0]["v"] == pytest.approx(1.0)
    assert all(r["format_valid"] and r["v_paper"] == pytest.approx(1.0) for r in recs[1:])
    summary = results["aggregates"]["summary"]["agent (local)"]
    assert summary["format_accuracy"] == pytest.approx(0.75) and summary["count_accuracy"] == 1.0
    assert results["command"].startswith(f"cluster-r1 eval --bench {tiny_bench} --method agent --split C1,C2")
    assert results["seeds"]["bench"] == 1 and results["versions"]["scikit-learn"]
    table = (out / "table.md").read_text()
    assert "| agent (local) — paper protocol: first answer, invalid = 0 | 50.00 | 100.00 | 50.00 | 100.00 | 75.00 |" \
        in table
    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and rows[0]["violations"] == "tags" and rows[0]["format_valid"] == "False"
    # The server is gone: the rerun is served entirely by OUT/responses.sqlite.
    assert main([*argv, "--base-url", url]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["response_cache"]["agent (local)"]["hits"] == 4
    assert again["aggregates"]["rows"] == results["aggregates"]["rows"]


@needs_data
def test_eval_cli_rejects_unknown_method_and_agent_without_server(tiny_bench: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLUSTER_R1_BASE_URL", raising=False)
    base = ["eval", "--bench", str(tiny_bench), "--out", str(tmp_path)]
    assert main([*base, "--method", "dbscan"]) == 1
    assert main([*base, "--method", "agent"]) == 1
    assert main([*base, "--method", "kmeans", "--split", "C9"]) == 1
    assert not (tmp_path / "results.json").exists()

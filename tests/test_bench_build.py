"""build_benchmark and the `bench build` CLI on the real corpora (a few tasks, small counts)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from cluster_r1.bench.build import build_benchmark
from cluster_r1.bench.cli import register
from cluster_r1.bench.corpora import DATA_DIR_ENV
from cluster_r1.bench.splits import SplitConfig, read_jsonl
from cluster_r1.bench.tasks import get_task
from cluster_r1.errors import InputError

DATA = Path(os.environ.get(DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"no shared data under {DATA}")
SMALL = SplitConfig(seed=1, n_train=6, n_c0=2, n_c1=2, n_c2=3)


@needs_data
def test_build_writes_every_artifact(tmp_path: Path) -> None:
    tasks = [get_task(n) for n in ("goalex-topic", "goalex-language", "goalex-style", "edgar-item-type")]
    docs = tmp_path / "docs" / "reasoncluster_open.md"
    result = build_benchmark(DATA, tmp_path / "bench", config=SMALL, tasks=tasks, docs_path=docs)
    out = tmp_path / "bench"
    assert result.counts == {"train": 18, "c0": 6, "c1": 6, "c2": 3}
    for name in (
        "tasks.json",
        "train.jsonl",
        "c0.jsonl",
        "c1.jsonl",
        "c2.jsonl",
        "stats.md",
        "stats.json",
        "manifest.json",
    ):
        assert (out / name).is_file(), name
    assert len(read_jsonl(out / "c2.jsonl")) == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tasks"]["held_out"] == ["goalex-style"] and manifest["seed"] == 1
    table = docs.read_text()
    assert "`goalex-style`" in table and "held-out" in table and "Rap lyrics" in table
    assert "paper-lmsys-chat-out-5" in table  # the paper's instructions as metadata
    assert "| goalex | c2 |" in (out / "stats.md").read_text()


def test_build_missing_data_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found under"):
        build_benchmark(tmp_path, tmp_path / "out", tasks=[get_task("goalex-topic")])


@needs_data
def test_cli_register_and_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="cluster-r1")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["bench", "build", "--data-dir", str(DATA), "--out", str(tmp_path / "b"), "--task", "edgar-item-type",
         "--task", "edgar-properties-industry", "--n-train", "4", "--n-eval", "1", "--n-c2", "2", "--seed", "5"]
    )  # fmt: skip
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "| edgar_10k | c2 |" in printed and "2 tasks" in printed
    assert len(read_jsonl(tmp_path / "b" / "train.jsonl")) == 4

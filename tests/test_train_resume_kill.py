"""A GRPO run killed with SIGKILL in the middle goes on with --resume: no step lost, none logged twice.

The run is a real ``cluster-r1 train grpo`` process (the CLI) on the tiny offline model,
killed once its second checkpoint is on disk; the rerun with ``--resume`` finishes
from the newest complete checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from cluster_r1.bench.splits import Example, write_jsonl  # noqa: E402
from cluster_r1.train.data import render_prompt  # noqa: E402
from cluster_r1.train.runs import read_metrics, read_state  # noqa: E402
from cluster_r1.train.tiny import build_tiny_model  # noqa: E402

pytestmark = pytest.mark.slow  # two trainer processes: ~1 minute on 2 cores


def _examples() -> list[Example]:
    words = ["apple pie", "hammer", "banana bread", "screwdriver", "cherry jam", "power drill"]
    labels = ["food", "tools"] * 3
    return [Example(id=f"ex{i}", split="train", task="t", corpus="toy", instruction="Cluster by topic.",
                    texts=words[i:] + words[:i], labels=labels[i:] + labels[:i]) for i in range(6)]


def _cli(run: Path, model: Path, bench: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cluster_r1", "train", "grpo", "--config", "cpu-learns",
            "--set", f"model={model}", "--set", f"train_file={bench}", "--set", f"output_dir={run}",
            "--set", "cpu_bf16=false", "--set", "max_completion_length=16", "--set", "save_steps=1",
            "--set", "save_total_limit=3", "--set", "lora_target_modules=all-linear", "--set", "max_prompt_length=4096",
            *extra]


def test_a_killed_run_resumes(tmp_path: Path) -> None:
    examples = _examples()
    bench = tmp_path / "bench"
    write_jsonl(examples, bench / "train.jsonl")
    model = build_tiny_model(tmp_path / "tiny", [render_prompt(ex, "hint") for ex in examples], vocab_size=300)
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cli(run, model, bench, "--set", "max_steps=200"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (run / "checkpoint-2" / "trainer_state.json").exists():
            assert proc.poll() is None, "the run ended before its second checkpoint"
            assert time.monotonic() < deadline, "no second checkpoint in 5 minutes"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert read_state(run)["status"] == "running"
    refused = subprocess.run(_cli(run, model, bench, "--set", "max_steps=5"), env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "add --resume" in refused.stderr
    done = subprocess.run(_cli(run, model, bench, "--set", "max_steps=5", "--resume"), env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [m["step"] for m in read_metrics(run) if "reward" in m]
    assert steps == [1, 2, 3, 4, 5]
    state = read_state(run)
    assert (state["status"], state["step"]) == ("done", 5)
    assert json.loads((run / "report.json").read_text())["steps"] == 5

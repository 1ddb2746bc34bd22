"""Run folders: config, log file and per-step metrics of one training run.

Layout of ``output_dir``::

    config.json       the resolved config
    train.log         library log of the run
    metrics.jsonl     one line per logging step (loss, grad_norm, reward, format rate, ...)
    completions.jsonl GRPO: every rollout with its step and scores (what the policy writes)
    state.json        what is done: status (running / done), last step, last checkpoint, how to go on
    checkpoint-*/     trainer checkpoints (continue a stopped or killed run with --resume)
    final/            the trained model (LoRA merged), loadable by TransformersBackend or vLLM
    report.json       summary: data counts, truncation, last metrics, wall time, peak memory

A run started again in its folder without ``--resume`` is refused while the folder
holds checkpoints (one line saying to add ``--resume`` or choose another folder); with
``--resume`` it continues from the newest complete checkpoint and ``metrics.jsonl``
loses the rows logged after that checkpoint, which the trainer logs again.
"""

from __future__ import annotations

import json
import logging
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..io import write_atomic
from ._deps import require
from .config import config_to_dict

__all__ = [
    "prepare_run_dir",
    "last_checkpoint",
    "start_point",
    "read_state",
    "write_state",
    "state_callback",
    "metrics_callback",
    "read_metrics",
    "peak_rss_mb",
    "write_report",
]

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def prepare_run_dir(output_dir: str | Path, config: Any) -> Path:
    """Create the folder, write ``config.json`` and send this package's log records to ``train.log``."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config_to_dict(config), indent=2) + "\n", encoding="utf-8")
    handler = logging.FileHandler(out / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("cluster_r1")
    for old in [h for h in root.handlers if getattr(h, "_cluster_r1_run", False)]:
        root.removeHandler(old)
        old.close()
    handler._cluster_r1_run = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return out


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _newest_checkpoint(run_dir: Path) -> tuple[int, Path] | None:
    found = []
    for path in run_dir.glob("checkpoint-*"):
        match = _CHECKPOINT.match(path.name)
        if match and path.is_dir() and (path / "trainer_state.json").exists():
            found.append((int(match.group(1)), path))
    return max(found) if found else None


def last_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest complete trainer checkpoint (``checkpoint-N`` holding ``trainer_state.json``), or None."""
    newest = _newest_checkpoint(Path(run_dir))
    return newest[1] if newest else None


def start_point(run_dir: str | Path, resume: bool, stage: str) -> Path | None:
    """Where a run in ``run_dir`` starts: the checkpoint to resume from, or None for step 0.

    Refuses to start over a folder holding checkpoints unless ``resume``; drops the
    ``metrics.jsonl`` rows the resumed trainer will log again (or all of them on a fresh start).
    """
    out = Path(run_dir)
    done, checkpoint = _newest_checkpoint(out) or (0, None)
    if checkpoint is not None and not resume:
        raise ConfigError(
            f"{out} holds {checkpoint.name} of an earlier {stage} run: add --resume to continue it, "
            "or choose another output_dir"
        )
    if resume and checkpoint is None:
        log.warning("%s holds no complete checkpoint: starting the %s run from step 0", out, stage)
    for name in ("metrics.jsonl", "completions.jsonl"):
        path = out / name
        if path.exists():
            kept = [row for row in _read_jsonl(path) if int(row.get("step") or 0) <= done]
            write_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept))
    write_state(out, stage=stage, status="running", step=done,
                checkpoint=checkpoint.name if checkpoint is not None else None)
    if checkpoint is not None:
        log.info("resuming the %s run from %s", stage, checkpoint)
    return checkpoint


def read_state(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``state.json`` (empty when the run has not started)."""
    path = Path(run_dir) / "state.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_state(run_dir: str | Path, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into ``state.json`` (atomically) with the time; returns the new state."""
    state = {**read_state(run_dir), **fields, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if state.get("status") == "running":
        state["next"] = "continue with the same command and --resume"
    else:
        state.pop("next", None)
    write_atomic(Path(run_dir) / "state.json", json.dumps(state, indent=2) + "\n")
    return state


def state_callback(run_dir: str | Path) -> Any:
    """A ``transformers.TrainerCallback`` recording each saved checkpoint and the step count in ``state.json``."""
    transformers = require("transformers")
    target = Path(run_dir)

    class RunState(transformers.TrainerCallback):  # type: ignore[name-defined]
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.is_world_process_zero:
                write_state(target, max_steps=int(state.max_steps))

        def on_save(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.is_world_process_zero:
                write_state(target, step=int(state.global_step), checkpoint=f"checkpoint-{state.global_step}")

    return RunState()


def metrics_callback(path: str | Path) -> Any:
    """A ``transformers.TrainerCallback`` appending every log dict (with ``step``) to ``path`` as JSONL."""
    transformers = require("transformers")
    target = Path(path)

    class JsonlMetrics(transformers.TrainerCallback):  # type: ignore[name-defined]
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if not logs or not state.is_world_process_zero:
                return
            row = {"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float, str))}}
            with target.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")

    return JsonlMetrics()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of ``metrics.jsonl``."""
    return _read_jsonl(Path(run_dir) / "metrics.jsonl")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_report(run_dir: str | Path, report: dict[str, Any]) -> Path:
    path = Path(run_dir) / "report.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path

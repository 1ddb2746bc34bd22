"""A readable terminal summary: cluster names, sizes, two example texts each."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from ..prompts import clip_text
from ..types import Clustering

__all__ = ["print_summary"]


def print_summary(result: Clustering, texts: Sequence[str], console: Console, examples: int = 2) -> None:
    table = Table(title=f"{result.n_clusters} clusters of {result.n_texts} texts ({result.method}"
                  + (f", {result.model}" if result.model else "") + ")")
    table.add_column("#", justify="right")
    table.add_column("cluster")
    table.add_column("size", justify="right")
    table.add_column("examples")
    for k, cluster in enumerate(result.clusters, start=1):
        shown = "\n".join(f"[{i}] {clip_text(texts[i - 1], 90)}" for i in cluster.items[:examples])
        table.add_row(str(k), cluster.name, str(cluster.size), shown)
    console.print(table)
    u = result.usage
    facts = [f"{u.calls} model call(s)", f"{u.prompt_tokens + u.completion_tokens} tokens"] if u.calls else []
    facts.append(f"{u.seconds:.1f} s")
    if result.stability is not None:
        facts.append(f"stability {result.stability:.2f}")
    if result.repaired or result.salvaged:
        facts.append("salvaged" if result.salvaged else "format repaired")
    console.print(", ".join(facts))
    for note in result.notes:
        console.print(f"note: {note}")

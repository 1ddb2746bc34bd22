"""Which view of the texts an instruction asks for: what they say (``semantic``) or how they are written (``style``).

A sentence encoder that is not instruction-tuned (the bundled MiniLM) sees the instruction as a
few more words: "cluster by writing style" still gets topic clusters. What the instruction *can*
decide is which representation to cluster:

``semantic``
    the sentence encoder (the default embedder, or the one given) under the instruction template;
``style``
    :class:`~cluster_r1.embed.style.StyleEmbedder`, the texts' form (layout, capitalisation,
    punctuation) in any language.

:func:`route_instruction` decides offline: the instruction's MiniLM vector against two short
descriptions of each view (:data:`VIEW_PROTOTYPES`); ``style`` only when it is closer to the
style descriptions by at least :data:`ROUTE_MARGIN`, otherwise ``semantic`` (the view every
earlier release used). The margin is the larger of the whole instruction's and its first
clause's (up to the first punctuation mark or "ignoring", "not", "regardless", ...): the
criterion usually comes first and qualifiers such as "ignoring what they are about" pull a
mean-pooled vector towards the content descriptions. Asking a model server instead was measured
and not adopted: Qwen2.5-Coder-1.5B routed 23-27 of 32 instructions as expected with three
prompts, the similarity 28 (``benchmarks/embed_views.py --base-url``; docs/embedding.md, "Views").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .embedders import Embedder, default_embedder, embed_texts

__all__ = ["VIEWS", "VIEW_PROTOTYPES", "ROUTE_MARGIN", "Route", "first_clause", "route_instruction", "view_embedder"]

VIEWS = ("auto", "semantic", "style")

VIEW_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "style": (
        "Cluster the texts by their writing style, format, genre or layout.",
        "Group the texts by how they are written: their form, not their content.",
    ),
    "semantic": (
        "Cluster the texts by their topic, subject, meaning, intent or content.",
        "Group the texts by what they are about or what they ask for.",
    ),
}

#: Cosine margin (best style description minus best semantic one) from which ``style`` is chosen.
#: Conservative: a missed style instruction keeps the encoder (the old behaviour); a false one
#: would cluster by form when content was asked for. See docs/embedding.md, "Views".
ROUTE_MARGIN = 0.08


@dataclass(frozen=True)
class Route:
    """The chosen view and why: ``how`` is ``"similarity"`` (routed; ``score`` = the margin) or ``"given"``."""

    view: str
    how: str
    score: float | None = None

    def note(self) -> str:
        why = "given"
        if self.how != "given":
            why = f"instruction closer to the {self.view} descriptions (margin {self.score or 0.0:+.2f})"
        other = "view='semantic' / --view semantic" if self.view == "style" else "view='style' / --view style"
        return f"view={self.view} ({why}; {other} overrides)"


_CLAUSE_END = re.compile(r"[;:,.()\[\]]|\s(?:ignoring|regardless|not|rather than|instead of|but)\s", re.IGNORECASE)


def first_clause(instruction: str) -> str:
    """The instruction up to its first punctuation mark or qualifier ("ignoring", "not", ...)."""
    return _CLAUSE_END.split(instruction.strip(), maxsplit=1)[0].strip()


def route_instruction(
    instruction: str, embedder: Embedder | None = None, *, cache_dir: str | Path | bool | None = None
) -> Route:
    """``style`` when ``instruction`` is about form by :data:`ROUTE_MARGIN`, else ``semantic`` (offline).

    The descriptions and the instruction are embedded through the embedding cache (``cache_dir`` as
    in :func:`~cluster_r1.embed.embed_texts`), so that a run whose texts are all cached never loads
    the encoder.
    """
    if not instruction.strip():
        return Route("semantic", "similarity", 0.0)
    model = embedder if embedder is not None else default_embedder()
    prototypes = [*VIEW_PROTOTYPES["style"], *VIEW_PROTOTYPES["semantic"]]
    queries = list(dict.fromkeys(q for q in (instruction.strip(), first_clause(instruction)) if q))
    x = embed_texts([*prototypes, *queries], "", embedder=model, template="none", cache_dir=cache_dir)
    n_style = len(VIEW_PROTOTYPES["style"])
    sims = x[len(prototypes) :] @ x[: len(prototypes)].T
    margin = float(np.max(sims[:, :n_style].max(axis=1) - sims[:, n_style:].max(axis=1)))
    return Route("style" if margin >= ROUTE_MARGIN else "semantic", "similarity", margin)


def view_embedder(view: str, embedder: Embedder | str | None = None) -> Embedder | str | None:
    """The embedder for ``view`` (``semantic`` keeps ``embedder``)."""
    if view == "style":
        if embedder is not None:
            raise ConfigError(
                "view 'style' brings its own embedder: drop --embedder (embedder=...), or use view 'semantic'"
            )
        from .style import StyleEmbedder

        return StyleEmbedder()
    if view == "semantic":
        return embedder
    raise ConfigError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")



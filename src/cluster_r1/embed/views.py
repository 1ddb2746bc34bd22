"""Which view of the texts an instruction asks for: what they say (``semantic``), how they are written
(``style``) or which language they are in (``language``).

A sentence encoder that is not instruction-tuned (the bundled MiniLM) sees the instruction as a
few more words: "cluster by writing style" still gets topic clusters. What the instruction *can*
decide is which representation to cluster:

``semantic``
    the sentence encoder (the default embedder, or the one given): the plain texts for an encoder that
    is not instruction-tuned, under the instruction template otherwise (``embed/templates.py``);
``style``
    :class:`~cluster_r1.embed.style.StyleEmbedder`, the texts' form (layout, capitalisation,
    punctuation) in any language;
``language``
    :class:`~cluster_r1.embed.language.LanguageEmbedder`, the texts' letter sequences.

:func:`route_instruction` decides offline: the instruction's MiniLM vector against two short
descriptions of each view (:data:`VIEW_PROTOTYPES`); ``style`` or ``language`` only when it is
closer to that view's descriptions than to the semantic ones by at least :data:`ROUTE_MARGIN`
(the larger margin wins), otherwise ``semantic`` (the view every earlier release used). A
view's margin is the larger of the whole instruction's and its first clause's (up to the first
punctuation mark or "ignoring", "not", "regardless", ...): the criterion usually comes first and
qualifiers such as "ignoring what they are about" pull a mean-pooled vector towards the content
descriptions. Asking a model server instead was measured and not adopted (before the language
view): Qwen2.5-Coder-1.5B routed 23-27 of 32 instructions as expected with three prompts, the
similarity 28 (``benchmarks/embed_views.py --base-url``; docs/embedding.md, "Views").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .embedders import Embedder, default_embedder, embed_texts

__all__ = ["VIEWS", "OWN_EMBEDDER_VIEWS", "VIEW_PROTOTYPES", "ROUTE_MARGIN", "Route", "first_clause", "route_instruction",
           "view_embedder", "view_algorithm", "keyword_names", "keyword_groups"]

VIEWS = ("auto", "semantic", "style", "language")
#: Views whose representation is their own embedder (an ``embedder`` given with them is an error).
OWN_EMBEDDER_VIEWS = ("style", "language")

VIEW_PROTOTYPES: dict[str, tuple[str, ...]] = {
    "style": (
        "Cluster the texts by their writing style, format, genre or layout.",
        "Group the texts by how they are written: their form, not their content.",
    ),
    "language": (
        "Cluster the texts by the language they are written in.",
        "Group the texts by natural language: English, French, German, Spanish, Chinese.",
    ),
    "semantic": (
        "Cluster the texts by their topic, subject, meaning, intent or content.",
        "Group the texts by what they are about or what they ask for.",
        # "by programming language" is a content criterion that the word "language" pulls towards the
        # language view's descriptions (margins +0.08 to +0.18 without this one)
        "Group the texts by the programming language, software library or technology they are about.",
    ),
}

#: Cosine margin (a view's best description minus the best semantic one) from which that view is chosen.
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
        other = "view='semantic' / --view semantic" if self.view != "semantic" else "view='style' / --view style"
        return f"view={self.view} ({why}; {other} overrides)"


_CLAUSE_END = re.compile(r"[;:,.()\[\]]|\s(?:ignoring|regardless|not|rather than|instead of|but)\s", re.IGNORECASE)


def first_clause(instruction: str) -> str:
    """The instruction up to its first punctuation mark or qualifier ("ignoring", "not", ...)."""
    return _CLAUSE_END.split(instruction.strip(), maxsplit=1)[0].strip()


def route_instruction(
    instruction: str, embedder: Embedder | None = None, *, cache_dir: str | Path | bool | None = None
) -> Route:
    """``style`` or ``language`` when ``instruction`` asks for it by :data:`ROUTE_MARGIN`, else ``semantic`` (offline).

    The descriptions and the instruction are embedded through the embedding cache (``cache_dir`` as
    in :func:`~cluster_r1.embed.embed_texts`), so that a run whose texts are all cached never loads
    the encoder.
    """
    if not instruction.strip():
        return Route("semantic", "similarity", 0.0)
    model = embedder if embedder is not None else default_embedder()
    views = list(VIEW_PROTOTYPES)
    prototypes = [p for v in views for p in VIEW_PROTOTYPES[v]]
    owner = np.array([views.index(v) for v in views for _ in VIEW_PROTOTYPES[v]])
    queries = list(dict.fromkeys(q for q in (instruction.strip(), first_clause(instruction)) if q))
    x = embed_texts([*prototypes, *queries], "", embedder=model, template="none", cache_dir=cache_dir)
    sims = x[len(prototypes) :] @ x[: len(prototypes)].T
    best = np.stack([sims[:, owner == i].max(axis=1) for i in range(len(views))], axis=1)  # queries x views
    semantic = views.index("semantic")
    margins = {v: float(np.max(best[:, i] - best[:, semantic])) for i, v in enumerate(views) if v != "semantic"}
    view = max(margins, key=lambda v: margins[v])
    if margins[view] >= ROUTE_MARGIN:
        return Route(view, "similarity", margins[view])
    return Route("semantic", "similarity", max(margins.values()))


def view_embedder(view: str, embedder: Embedder | str | None = None) -> Embedder | str | None:
    """The embedder for ``view`` (``semantic`` keeps ``embedder``)."""
    if view in OWN_EMBEDDER_VIEWS:
        if embedder is not None:
            raise ConfigError(
                f"view '{view}' brings its own embedder: drop --embedder (embedder=...), or use view 'semantic'"
            )
        if view == "style":
            from .style import StyleEmbedder

            return StyleEmbedder()
        from .language import LanguageEmbedder

        return LanguageEmbedder()
    if view == "semantic":
        return embedder
    raise ConfigError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")


#: What ``algorithm="auto"`` means without a given k, per view, from ``VIEW_ALGORITHM_MIN_TEXTS``
#: texts on (the others, and fewer texts: the module default, K-means). Languages are few and
#: often uneven (a few percent of the texts in another language), which spectral clustering on
#: the neighbour graph separates and K-means does not; a graph of a handful of texts says
#: little, and there K-means was better (ReasonCluster-Open's 5-11-tweet examples; docs/embedding.md).
VIEW_ALGORITHMS = {"language": "spectral"}
VIEW_ALGORITHM_MIN_TEXTS = 100


def view_algorithm(view: str, algorithm: str = "auto", n_clusters: int | None = None, n_texts: int | None = None) -> str:
    """The clustering algorithm for ``view``: ``algorithm`` unless it is ``auto``, k is left free and
    there are enough texts (``n_texts`` None: enough)."""
    if algorithm != "auto" or n_clusters is not None or (n_texts is not None and n_texts < VIEW_ALGORITHM_MIN_TEXTS):
        return algorithm
    return VIEW_ALGORITHMS.get(view, "auto")


def keyword_names(
    view: str, texts: list[str], labels: np.ndarray, reps: list[list[int]]
) -> tuple[list[str], list[str]]:
    """(name, description) per cluster as the offline default writes them for ``view`` (no model).

    The form view's clusters by what the texts look like, the language view's by their languages'
    own function words, the others by c-TF-IDF keywords.
    """
    from .language import language_names
    from .naming import name_clusters
    from .style import form_names

    if view == "style":
        return form_names(texts, labels, reps=reps)  # word keywords say nothing about form
    if view == "language":
        return language_names(texts, labels, reps=reps)  # a language's own stop words
    return name_clusters(texts, labels, reps=reps)


def keyword_groups(
    view: str, texts: list[str], x: np.ndarray, labels: np.ndarray, centers: np.ndarray
) -> tuple[list[list[int]], list[tuple[str, str]]]:
    """Each cluster of ``labels`` as a group for a namer: (0-based members, the texts nearest its centre first;
    its :func:`keyword_names` (name, description)). Empty clusters are left out."""
    from .naming import representatives

    reps = representatives(x, labels, centers)
    names, descriptions = keyword_names(view, texts, labels, reps)
    groups, pairs = [], []
    for c, r in enumerate(reps):
        members = np.flatnonzero(labels == c).tolist()
        if members:
            groups.append(list(dict.fromkeys(list(r) + members)))
            pairs.append((names[c], descriptions[c]))
    return groups, pairs

"""Discover and refine: new topics for texts that fit none, near-duplicate topics merged, tiny ones folded.

- :func:`unfit` -- the pool: texts labelled "none of these", or (``embed``) whose best topic is
  less similar than almost every labelled text is to its own topic;
- the pipeline proposes and merges new topics from the pool with the same stages as the
  corpus (:mod:`.propose`, :mod:`.merge`) and places the pool again;
- :func:`refine` -- topics whose centroids are near-identical (cosine >= ``duplicate``) or whose
  names are the same are merged (the older id stays); topics smaller than ``min_size`` are
  folded into their nearest topic when it is similar enough, else into ``Other``, which is
  always a visible cluster, never a place texts vanish into.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .assign import Assignment, centroids, own_similarity
from .taxonomy import OTHER, Taxonomy, name_key

__all__ = ["unfit", "refine"]


def unfit(x: np.ndarray, assignment: Assignment, centres: np.ndarray, *, quantile: float = 0.02) -> list[int]:
    """Texts that fit no topic: labelled None, or embed-placed below the ``quantile`` of labelled similarities."""
    labels = assignment.labels
    pool = [i for i, lab in enumerate(labels) if lab is None]
    trusted = list(assignment.by_model())
    guessed = [i for i, s in enumerate(assignment.source) if s == "embed" and labels[i] is not None]
    if len(trusted) >= 20 and guessed:
        own = own_similarity(x[trusted], centres[[labels[i] for i in trusted]])
        floor = float(np.quantile(own, quantile))
        sims = own_similarity(x[guessed], centres[[labels[i] for i in guessed]])
        pool += [i for i, s in zip(guessed, sims.tolist()) if s < floor]
    return sorted(set(pool))


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = a, b
    while parent[ra] != ra:
        ra = parent[ra]
    while parent[rb] != rb:
        rb = parent[rb]
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def _root(parent: list[int], a: int) -> int:
    while parent[a] != a:
        a = parent[a]
    return a


def refine(
    x: np.ndarray,
    assignment: Assignment,
    taxonomy: Taxonomy,
    *,
    duplicate: float = 0.95,
    min_size: int = 2,
    fold: float = 0.5,
) -> list[str]:
    """Merge near-duplicate topics, fold tiny ones, put what fits none into ``Other``; in place. Returns notes."""
    notes: list[str] = []
    k = len(taxonomy)
    labels = assignment.labels
    labelled = {i: lab for i, lab in enumerate(labels) if lab is not None}
    if k == 0:
        other = taxonomy.add(OTHER, "texts that fit no topic")
        for i in range(len(labels)):
            labels[i] = 0
        notes.append(f"no topic was found: every text is in {other.name!r}")
        return notes
    centres = centroids(x, labelled, k)
    parent = list(range(k))
    sims = centres @ centres.T
    names = [name_key(t.name) for t in taxonomy.topics]  # "Legal Issues (2)" is "legal issues"
    for a in range(k):
        for b in range(a + 1, k):
            if (sims[a, b] >= duplicate and np.any(centres[a]) and np.any(centres[b])) or names[a] == names[b]:
                _union(parent, a, b)
    merged = [t for t in range(k) if _root(parent, t) != t]
    if merged:
        notes.append("near-duplicate topics merged: " + "; ".join(
            f"{taxonomy.topics[t].name!r} into {taxonomy.topics[_root(parent, t)].name!r}" for t in merged[:10]))
    for i, lab in labelled.items():
        labels[i] = _root(parent, lab)
    sizes = np.bincount([lab for lab in labels if lab is not None], minlength=k)
    keep = [t for t in range(k) if _root(parent, t) == t and sizes[t] > 0]
    tiny = [t for t in keep if sizes[t] < min_size]
    big = [t for t in keep if t not in tiny]
    other_needed = any(lab is None for lab in labels)
    folded_other: list[int] = []
    if tiny and big:
        for t in tiny:
            members = [i for i, lab in enumerate(labels) if lab == t]
            target = big[int(np.argmax(sims[t, big]))]
            if sims[t, target] >= fold:
                for i in members:
                    labels[i] = target
                notes.append(f"tiny topic {taxonomy.topics[t].name!r} ({len(members)} texts) folded into "
                             f"{taxonomy.topics[target].name!r}")
            else:
                for i in members:
                    labels[i] = None
                folded_other.append(t)
                other_needed = True
    survivors = [t for t in keep if t in big or (t in tiny and not big)]
    remap = {t: j for j, t in enumerate(survivors)}
    taxonomy.topics = [taxonomy.topics[t] for t in survivors]
    for i, lab in enumerate(labels):
        labels[i] = remap.get(lab) if lab is not None else None
    if other_needed:
        other = taxonomy.add(OTHER, "texts that fit no topic")
        n_other = sum(lab is None for lab in labels)
        for i, lab in enumerate(labels):
            if lab is None:
                labels[i] = len(taxonomy) - 1
                if not assignment.source[i]:
                    assignment.source[i] = "embed"
        notes.append(f"{n_other} texts fit no topic: cluster {other.name!r}"
                     + (f" (with {len(folded_other)} tiny topics)" if folded_other else ""))
    return notes


def topic_sizes(labels: Sequence[int | None], k: int) -> list[int]:
    return np.bincount([lab for lab in labels if lab is not None], minlength=k).tolist()

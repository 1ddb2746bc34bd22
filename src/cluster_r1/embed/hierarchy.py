"""A result's levels: the hierarchy around the chosen clusters (:mod:`.levels`), each level named, and the level
the instruction asks for (:mod:`.granularity`) made the answer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..granularity import Granularity, choose_level, read_granularity
from ..types import Cluster, Level
from .cluster import cluster_means
from .levels import hierarchy
from .naming import representatives
from .views import keyword_names

__all__ = ["Levels", "build_levels", "level_centers", "levels_from_ids", "parent_ids", "levels_above"]


@dataclass
class Levels:
    """The levels from the top down (``levels``), which one the method chose by itself (``default``) and which
    one is the answer (``chosen``, with ``why``); the answer's 0-based ids per text, centroids, names and
    descriptions."""

    levels: list[Level]
    default: int
    chosen: int
    why: str
    labels: np.ndarray
    centers: np.ndarray
    names: list[str]
    descriptions: list[str]

    def notes(self) -> list[str]:
        if len(self.levels) < 2:
            return []
        counts = " / ".join(str(lv.n_clusters) for lv in self.levels)
        k = self.levels[self.chosen].n_clusters
        return [f"levels: {counts} clusters, from the top (--level N picks one); the answer is level "
                f"{self.chosen + 1} ({k} clusters): {self.why}"]


def level_centers(x: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The mean vector of each id's rows (ids 0..m-1)."""
    return cluster_means(x, ids, int(ids.max()) + 1)


def _keyword_names(family: str, texts: list[str], x: np.ndarray, ids: np.ndarray) -> tuple[list[str], list[str]]:
    """(names, descriptions) of a level's clusters ``ids`` (0-based, one per row of ``texts`` and ``x``), as the
    offline default names its own: keywords, the texts nearest each centroid as examples."""
    names, descriptions = keyword_names(family, texts, ids, representatives(x, ids, level_centers(x, ids)))
    return list(names), list(descriptions)


def parent_ids(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """For nested per-text ids, each lower id's upper id (the upper id of its first text)."""
    m = int(lower.max()) + 1
    first = np.full(m, -1, dtype=np.int64)
    order = np.arange(len(lower))[::-1]
    first[lower[order]] = order  # the last write per id is its first text
    return upper[first]


def levels_from_ids(per_level: list[np.ndarray], names: list[list[str]], descriptions: list[list[str]],
                    parents: list[np.ndarray | None]) -> list[Level]:
    """:class:`Level` objects from 0-based ids per text (from the top down), each level's names and descriptions by
    id, and each id's parent id one level up (None for the top); clusters numbered by first appearance."""
    levels: list[Level] = []
    numbering: list[dict[int, int]] = []
    for i, ids in enumerate(per_level):
        order = {int(c): j + 1 for j, c in enumerate(dict.fromkeys(ids.tolist()))}
        numbering.append(order)
        items: list[list[int]] = [[] for _ in order]
        for t, c in enumerate(ids.tolist(), start=1):
            items[order[c] - 1].append(t)
        up = parents[i]
        links: list[int | None] = [None] * len(order) if up is None else [numbering[i - 1][int(up[c])] for c in order]
        levels.append(Level(clusters=[Cluster(name=names[i][c], items=members, description=descriptions[i][c])
                                      for c, members in zip(order, items, strict=True)],
                            labels=[order[int(c)] for c in ids.tolist()], parents=links))
    return levels


def build_levels(labels: np.ndarray, centers: np.ndarray, names: list[str], descriptions: list[str], *,
                 texts: list[str], x: np.ndarray, named: np.ndarray | None = None, x_all: np.ndarray | None = None,
                 family: str, instruction: str, ask: Granularity | None = None, random_state: int = 0) -> Levels:
    """The levels around ``labels`` (0-based fit ids of every text, with ``centers``, ``names`` and
    ``descriptions``). ``texts`` and ``x`` are the texts the other levels are named from (and their centroids
    taken from): every text, or the fit sample at positions ``named``. ``x_all``: every text's vector, for the
    finer level (None: none is built). ``ask`` (default: read from ``instruction``) picks the answer's level."""
    per_level, default = hierarchy(x_all, labels, centers, random_state=random_state, split_down=x_all is not None)
    ks = [int(ids.max()) + 1 for ids in per_level]
    chosen, why = choose_level(ks, default, read_granularity(instruction) if ask is None else ask)
    named = np.arange(len(labels)) if named is None else named
    all_names: list[list[str]] = []
    all_desc: list[list[str]] = []
    for i, ids in enumerate(per_level):
        nm, ds = (names, descriptions) if i == default else _keyword_names(family, texts, x, ids[named])
        all_names.append(list(nm))
        all_desc.append(list(ds))
    levels = levels_from_ids(per_level, all_names, all_desc, [None] + [parent_ids(per_level[i - 1], per_level[i])
                                                                        for i in range(1, len(per_level))])
    answer = per_level[chosen]
    answer_centers = centers if chosen == default else level_centers(x, answer[named])
    return Levels(levels, default, chosen, why, answer, answer_centers, all_names[chosen], all_desc[chosen])


def levels_above(labels: np.ndarray, x: np.ndarray, texts: list[str], names: list[str], descriptions: list[str], *,
                 family: str) -> list[Level]:  # family: the view or embedder family keyword_names takes
    """The levels above a finished partition (0-based ids in first-appearance order, its own names), for a
    result made by another method (the large-corpus pipeline): Ward merges of its clusters' mean vectors, the upper
    levels named by keywords. Only the partition itself when it has at most :data:`~.levels.TOP` clusters."""
    from .levels import coarser_sizes, merge

    k = int(labels.max()) + 1
    maps = merge(level_centers(x, labels), coarser_sizes(k)) if k > 1 else []
    per_level = [m[labels] for m in reversed(maps)] + [labels]
    all_names: list[list[str]] = []
    all_desc: list[list[str]] = []
    for ids in per_level[:-1]:
        nm, ds = _keyword_names(family, texts, x, ids)
        all_names.append(nm)
        all_desc.append(ds)
    all_names.append(list(names))
    all_desc.append(list(descriptions))
    return levels_from_ids(per_level, all_names, all_desc, [None] + [parent_ids(per_level[i - 1], per_level[i])
                                                                    for i in range(1, len(per_level))])

"""The levels of a corpus: a topic hierarchy around the chosen clusters. numpy, SciPy and scikit-learn only.

The clusters the method chose are one level. Above them, Ward agglomeration of their centroids (SciPy's
``linkage``) merges them level by level, each level about a third of the one below, down to a handful of top
topics. Below them, each cluster is split by K-means into sub-clusters in proportion to its size, about three
times as many in all. Every level is a partition of every text, nested in the one above: a text's cluster at
one level lies inside its cluster at the next level up.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MERGE_FACTOR", "TOP", "coarser_sizes", "merge", "split", "hierarchy"]

#: Each level up has about this many times fewer clusters.
MERGE_FACTOR = 3
#: Merging stops at a level with at most this many clusters (or 2).
TOP = 10
#: A finer level is built only where its clusters would hold this many texts on average.
MIN_SPLIT_SIZE = 4


def coarser_sizes(k: int) -> list[int]:
    """The cluster counts of the levels above ``k`` clusters, nearest first: 60 -> [20, 7]; 10 -> []."""
    sizes: list[int] = []
    while k > TOP:
        k = max(2, round(k / MERGE_FACTOR))
        sizes.append(k)
    return sizes


def merge(centers: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """For each count in ``sizes``, a map from the fine cluster id (row of ``centers``) to a coarse id in
    0..count-1: cuts of one Ward tree over the centroids, so each cut is nested in the next."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if not sizes:
        return []
    tree = linkage(np.asarray(centers, dtype=np.float64), method="ward")
    out = []
    for k in sizes:
        ids = fcluster(tree, t=k, criterion="maxclust") - 1
        _, dense = np.unique(ids, return_inverse=True)
        out.append(dense.astype(np.int64))
    return out


def split(x: np.ndarray, labels: np.ndarray, k: int, *, random_state: int = 0) -> np.ndarray | None:
    """Sub-cluster ids (0..m-1) nested in ``labels``: about ``k`` in all, each cluster split by K-means into a
    share in proportion to its size (at least one, at most its distinct rows); None when the texts are too few."""
    from sklearn.cluster import KMeans

    n = len(labels)
    if k <= int(labels.max()) + 1 or n < MIN_SPLIT_SIZE * k:
        return None
    out = np.empty(n, dtype=np.int64)
    next_id = 0
    for c in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        distinct = len(np.unique(x[members], axis=0))
        parts = int(min(max(1, round(k * len(members) / n)), distinct, max(1, len(members) // 2)))
        if parts == 1:
            out[members] = next_id
        else:
            km = KMeans(n_clusters=parts, n_init=3, random_state=random_state).fit(x[members])
            out[members] = next_id + km.labels_
        next_id += parts
    return out if next_id > int(labels.max()) + 1 else None


def hierarchy(x: np.ndarray | None, labels: np.ndarray, centers: np.ndarray, *, random_state: int = 0,
              split_down: bool = True) -> tuple[list[np.ndarray], int]:
    """(per-level labels from the top down, the index of ``labels``' own level among them). Each level's labels are
    0-based ids per text; ``labels`` is the level the method chose; ``split_down=False``: no finer level."""
    k = int(labels.max()) + 1
    up = [ids[labels] for ids in merge(centers, coarser_sizes(k))] if k > 1 else []
    down = split(x, labels, MERGE_FACTOR * k, random_state=random_state) if split_down and x is not None else None
    levels = list(reversed(up)) + [labels] + ([down] if down is not None else [])
    return levels, len(up)

"""Windows: the texts the agent reads at once, sized to the model's context and chosen to cover the corpus.

As Clio and kura do, the corpus is first cut into many fine embedding clusters; each window
holds the few texts nearest the centre of several fine clusters (its representatives), the
fine clusters dealt out at random (seeded) so that every window spans the corpus and every
fine cluster is seen once. A window is full at ``max_items`` texts or ``token_budget``
estimated tokens, whichever comes first. Pure: numpy and scikit-learn only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["WindowPlan", "fine_clusters", "plan_windows"]


@dataclass
class WindowPlan:
    """Fine clusters (label per text, unit centres) and the windows (0-based text indices)."""

    fine_labels: np.ndarray
    fine_centers: np.ndarray
    windows: list[list[int]]
    representatives: list[list[int]]

    @property
    def n_fine(self) -> int:
        return len(self.fine_centers)


def fine_clusters(x: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(labels, unit centres) of ``k`` K-means clusters of the rows of ``x`` (mini-batch above 20,000 rows)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    n = len(x)
    k = max(1, min(k, n))
    if k == 1:
        labels = np.zeros(n, dtype=np.int64)
    elif n > 20_000:
        labels = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=3).fit_predict(x)
    else:
        labels = KMeans(n_clusters=k, random_state=seed, n_init=1).fit_predict(x)
    labels = np.asarray(labels, dtype=np.int64)
    # renumber densely (a k-means cluster can come out empty)
    used, labels = np.unique(labels, return_inverse=True)
    centers = np.zeros((len(used), x.shape[1]), dtype=np.float32)
    np.add.at(centers, labels, x)
    centers /= np.maximum(np.linalg.norm(centers, axis=1, keepdims=True), 1e-12)
    return labels.astype(np.int64), centers


def plan_windows(
    x: np.ndarray,
    lengths: Sequence[int],
    *,
    max_items: int = 40,
    token_budget: int = 6000,
    per_cluster: int = 3,
    max_windows: int = 6,
    n_fine: int | None = None,
    seed: int = 0,
) -> WindowPlan:
    """Plan the windows over unit vectors ``x`` (one row per text) with estimated token ``lengths``.

    ``n_fine`` defaults to enough fine clusters to fill ``max_windows`` windows with
    ``per_cluster`` representatives each (never more than a third of the texts).
    """
    n = len(x)
    if n == 0:
        raise ValueError("no texts to plan windows for")
    if max_items < 2 or per_cluster < 1 or max_windows < 1:
        raise ValueError("need max_items >= 2, per_cluster >= 1 and max_windows >= 1")
    if n_fine is None:
        n_fine = max(2, min(n // 3 if n >= 6 else n, (max_items * max_windows) // per_cluster))
    labels, centers = fine_clusters(x, n_fine, seed=seed)
    sims = np.einsum("ij,ij->i", x, centers[labels])
    reps: list[list[int]] = []
    for c in range(len(centers)):
        members = np.flatnonzero(labels == c)
        order = members[np.argsort(-sims[members], kind="stable")]
        reps.append([int(i) for i in order[:per_cluster]])
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(centers))
    windows: list[list[int]] = [[]]
    tokens = 0
    for c in order:
        group = reps[int(c)]
        cost = sum(int(lengths[i]) for i in group)
        if windows[-1] and (len(windows[-1]) + len(group) > max_items or tokens + cost > token_budget):
            windows.append([])
            tokens = 0
        windows[-1].extend(group)
        tokens += cost
    return WindowPlan(labels, centers, [w for w in windows if w], reps)

"""Windows: the texts the agent reads at once, sized to the model's context and chosen to cover the corpus.

As Clio and kura do, the corpus is first cut into many fine embedding clusters; each window
holds the few texts nearest the centre of several fine clusters (its representatives), the
fine clusters dealt out at random (seeded) so that every window spans the corpus and every
fine cluster is seen once. A window is full at ``max_items`` texts or ``token_budget``
estimated tokens, whichever comes first, and there are at most ``max_windows``: the number of
fine clusters (and, for texts too long for three to a window, the representatives per fine
cluster) is sized from the texts' lengths so that they fill that many windows. Pure: numpy and
scikit-learn only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["WindowPlan", "fine_clusters", "plan_windows"]


@dataclass
class WindowPlan:
    """Fine clusters (label per text, unit centres) and the windows (0-based text indices)."""

    fine_labels: np.ndarray
    fine_centers: np.ndarray
    windows: list[list[int]]
    representatives: list[list[int]]
    #: fine clusters whose representatives fit in no window (longer texts than the plan expected):
    #: their texts are placed by the assignment like every other, and discovered if they fit no topic
    unshown: list[int] = field(default_factory=list)

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
    """Plan at most ``max_windows`` windows over unit vectors ``x`` (one row per text) with estimated token ``lengths``.

    ``n_fine`` defaults to as many fine clusters as fill ``max_windows`` windows with ``per_cluster``
    representatives each, by count (``max_items``) and by tokens (``token_budget``, at the texts'
    75th-percentile length), never more than a third of the texts; where ``per_cluster`` texts of
    that length exceed the budget, fewer representatives per fine cluster are shown. Fine clusters
    are placed in the first window with room for them; one that fits no window when all
    ``max_windows`` are open shows its central text alone, or, if even that does not fit, none
    (:attr:`WindowPlan.unshown`).
    """
    n = len(x)
    if n == 0:
        raise ValueError("no texts to plan windows for")
    if max_items < 2 or per_cluster < 1 or max_windows < 1:
        raise ValueError("need max_items >= 2, per_cluster >= 1 and max_windows >= 1")
    typical = max(1.0, float(np.percentile(np.asarray(lengths, dtype=np.float64), 75)))
    per = max(1, min(per_cluster, int(token_budget // typical)))
    if n_fine is None:
        per_window = max(1, min(max_items // per, int(token_budget // (per * typical))))
        n_fine = max(2, min(n // 3 if n >= 6 else n, per_window * max_windows))
    labels, centers = fine_clusters(x, n_fine, seed=seed)
    sims = np.einsum("ij,ij->i", x, centers[labels])
    reps: list[list[int]] = []
    for c in range(len(centers)):
        members = np.flatnonzero(labels == c)
        order = members[np.argsort(-sims[members], kind="stable")]
        reps.append([int(i) for i in order[:per]])
    rng = np.random.default_rng(seed)
    windows: list[list[int]] = []
    tokens: list[int] = []
    unshown: list[int] = []
    for c in rng.permutation(len(centers)):
        for group in (reps[int(c)], reps[int(c)][:1]):  # the representatives, else the central text alone
            cost = sum(int(lengths[i]) for i in group)
            room = next((w for w in range(len(windows))
                         if len(windows[w]) + len(group) <= max_items and tokens[w] + cost <= token_budget), None)
            if room is None and len(windows) < max_windows:
                windows.append([])
                tokens.append(0)
                room = len(windows) - 1
            if room is not None:
                windows[room].extend(group)
                tokens[room] += cost
                break
        else:
            unshown.append(int(c))
    return WindowPlan(labels, centers, windows, reps, sorted(unshown))

"""A scikit-learn style estimator over :func:`cluster_r1.api.cluster_texts`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from .api import cluster_texts
from .backends.base import Backend
from .types import Cluster, Clustering

__all__ = ["InstructionClustering"]


class InstructionClustering(ClusterMixin, BaseEstimator):
    """Cluster texts as an instruction says (``method``: ``auto``, ``agent`` or ``embed``).

    ``fit(texts)`` sets ``labels_`` (0-based, scikit-learn convention; the JSON
    result keeps the paper's 1-based numbering), ``clusters_``, ``n_clusters_``,
    ``cluster_names_`` and ``result_`` (the full :class:`~cluster_r1.types.Clustering`).

    >>> from cluster_r1.backends import ScriptedBackend
    >>> answer = "<think>t</think><answer>Total clusters: 2\\ncluster1 (fruit): [1, 3]\\ncluster2 (car): [2]</answer>"
    >>> est = InstructionClustering(instruction="by topic", backend=ScriptedBackend([answer]))
    >>> est.fit_predict(["apple", "car", "pear"]).tolist(), est.cluster_names_
    ([0, 1, 0], ['fruit', 'car'])
    """

    def __init__(
        self,
        *,
        instruction: str = "",
        method: str = "auto",
        backend: Backend | None = None,
        n_clusters: int | None = None,
        agent_options: dict[str, Any] | None = None,
        embed_options: dict[str, Any] | None = None,
    ) -> None:
        self.instruction = instruction
        self.method = method
        self.backend = backend
        self.n_clusters = n_clusters
        self.agent_options = agent_options
        self.embed_options = embed_options

    def fit(self, X: Sequence[str], y: Any = None) -> InstructionClustering:
        texts = [str(x) for x in X]
        result = cluster_texts(
            texts,
            self.instruction,
            method=self.method,
            backend=self.backend,
            n_clusters=self.n_clusters,
            agent_options=self.agent_options,
            embed_options=self.embed_options,
        )
        self.result_: Clustering = result
        self.labels_ = np.asarray(result.labels) - 1
        self.clusters_: list[Cluster] = result.clusters
        self.n_clusters_ = result.n_clusters
        self.cluster_names_ = [c.name for c in result.clusters]
        return self

"""A scikit-learn style estimator over :func:`cluster_r1.api.cluster_texts`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from .agent.options import AgentOptions
from .api import cluster_texts
from .backends.base import Backend
from .methods import split_assist
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
        agent_options: AgentOptions | dict[str, Any] | None = None,
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
        keep: dict[str, Any] = {}
        result = cluster_texts(
            texts,
            self.instruction,
            method=self.method,
            backend=self.backend,
            n_clusters=self.n_clusters,
            agent_options=self.agent_options,
            embed_options=self.embed_options,
            keep=keep,
        )
        self._texts = texts
        self._model = keep.get("model")
        self._vectors = keep.get("vectors")
        self.result_: Clustering = result
        self.labels_ = np.asarray(result.labels) - 1
        self.clusters_: list[Cluster] = result.clusters
        self.n_clusters_ = result.n_clusters
        self.cluster_names_ = [c.name for c in result.clusters]
        return self

    # -- new texts -------------------------------------------------------------------------------------------
    def _placer(self) -> Any:
        if not hasattr(self, "result_"):
            from .errors import InputError

            raise InputError("this InstructionClustering is not fitted yet: call fit(texts) first")
        if getattr(self, "_model", None) is None:
            from .corpus.saved import model_from_result

            self._model = model_from_result(self._texts, self.result_, self.instruction,
                                            embed_options=split_assist(self.embed_options)[1], vectors=self._vectors)
        return self._model

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """0-based clusters of the fit (in ``clusters_`` order) for new texts; -1 where a text fits none."""
        from .corpus.saved import place

        model = self._placer()
        placed, _ = place(model, [str(x) for x in X], backend=self.backend if model.assign != "embed" else None,
                          embed_options=split_assist(self.embed_options)[1])
        position = {c.id: j for j, c in enumerate(self.result_.clusters)}
        out = np.full(len(placed.labels), -1, dtype=np.int64)
        for cluster in placed.clusters:
            for item in cluster.items:
                out[item - 1] = position.get(cluster.id, -1)
        return out

    def save(self, folder: str | Path) -> Path:
        """Write the fitted clusterer to ``folder`` (``clusterer.json``: no secrets); see :meth:`load`."""
        from .corpus.saved import save

        return save(self._placer(), folder)

    @classmethod
    def load(cls, folder: str | Path, *, backend: Backend | None = None) -> InstructionClustering:
        """A clusterer saved by :meth:`save` or ``cluster ... --save DIR``, ready to :meth:`predict`."""
        from .corpus.saved import load

        model = load(folder)
        est = cls(instruction=model.taxonomy.instruction, backend=backend)
        est._model, est._texts, est._vectors = model, [], None
        clusters = [Cluster(name=t.name, items=[], description=t.description, id=t.id, criterion=t.criterion)
                    for t in model.taxonomy.topics]
        est.clusters_ = clusters
        est.n_clusters_ = len(clusters)
        est.cluster_names_ = [c.name for c in clusters]
        est.result_ = _Fitted(clusters)  # type: ignore[assignment]
        return est


class _Fitted:
    """What a loaded estimator knows of its fit: the clusters (no texts)."""

    def __init__(self, clusters: list[Cluster]) -> None:
        self.clusters = clusters

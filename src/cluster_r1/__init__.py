"""cluster-r1: instruction-following text clustering (Cluster-R1).

The public API is imported lazily so that ``cluster-r1 --help`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Cluster": "types",
    "Clustering": "types",
    "Usage": "types",
    "ClusterR1Error": "errors",
    "ClusteringAgent": "agent",
    "ParsedAnswer": "answer",
    "Violation": "answer",
    "parse_answer": "answer",
    "cluster_texts": "api",
    "InstructionClustering": "estimator",
    "evaluate_answer": "metrics",
    "score_labels": "metrics",
    "v_measure_score": "metrics",
    "ClusterReward": "rewards",
    "cluster_reward": "rewards",
    "clustering_reward": "rewards",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'cluster_r1' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

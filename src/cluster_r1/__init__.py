"""cluster-r1: instruction-following text clustering (Cluster-R1)."""

from __future__ import annotations

__version__ = "0.1.0"

from .agent import ClusteringAgent
from .answer import ParsedAnswer, Violation, parse_answer
from .api import cluster_texts
from .estimator import InstructionClustering
from .errors import ClusterR1Error
from .metrics import evaluate_answer, score_labels, v_measure_score
from .rewards import ClusterReward, cluster_reward, clustering_reward
from .types import Cluster, Clustering, Usage

__all__ = [
    "__version__",
    "Cluster",
    "Clustering",
    "ClusterR1Error",
    "ClusterReward",
    "ClusteringAgent",
    "InstructionClustering",
    "ParsedAnswer",
    "Usage",
    "Violation",
    "cluster_reward",
    "cluster_texts",
    "clustering_reward",
    "evaluate_answer",
    "parse_answer",
    "score_labels",
    "v_measure_score",
]

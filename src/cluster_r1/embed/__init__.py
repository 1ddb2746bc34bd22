"""Offline embedding clustering: App. E.1 baselines (K-means/GMM at gold k) and k-free selection.

>>> from cluster_r1.embed import TEMPLATES
>>> TEMPLATES["qwen"].render("by topic", "hi")
'Represent this text for clustering analysis. Task:by topic Query:hi'
"""

from __future__ import annotations

from .cluster import ALGORITHMS, DEFAULT_ALGORITHM, ClusterFit, cluster_embeddings
from .clusterer import EmbeddingClusterer, embed_cluster
from .embedders import (
    Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    default_embedder,
    embed_texts,
    get_embedder,
)
from .naming import class_tfidf_keywords, name_clusters, representatives
from .templates import TEMPLATES, Template, get_template

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "TEMPLATES",
    "ClusterFit",
    "Embedder",
    "EmbeddingClusterer",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "Template",
    "class_tfidf_keywords",
    "cluster_embeddings",
    "default_embedder",
    "embed_cluster",
    "embed_texts",
    "get_embedder",
    "get_template",
    "name_clusters",
    "representatives",
]

"""Clustering algorithms on vectors: every algorithm, forced and free k, the subsample/minibatch paths."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cluster_r1.embed import ALGORITHMS, cluster_embeddings, name_clusters
from cluster_r1.metrics import v_measure_score


def blobs(n: int, k: int = 4, d: int = 32, seed: int = 0, spread: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.linalg.qr(rng.normal(size=(d, k)))[0].T  # orthonormal: every pair equally far apart
    y = rng.integers(0, k, size=n)
    x = centers[y] / np.linalg.norm(centers[y], axis=1, keepdims=True) + rng.normal(scale=spread, size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_finds_separated_blobs_without_k(algorithm: str) -> None:
    x, y = blobs(400)
    fit = cluster_embeddings(x, algorithm=algorithm, max_k=10)
    assert fit.n_clusters == 4, fit.notes
    assert v_measure_score(y, fit.labels) > 0.95
    assert fit.centers.shape == (4, 32)
    np.testing.assert_allclose(np.linalg.norm(fit.centers, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "agglomerative"])
def test_n_clusters_forces_k(algorithm: str) -> None:
    x, _ = blobs(200)
    assert cluster_embeddings(x, n_clusters=6, algorithm=algorithm).n_clusters == 6


def test_bounds_are_respected() -> None:
    x, _ = blobs(300, k=8)
    assert cluster_embeddings(x, min_k=2, max_k=3).n_clusters <= 3
    fit = cluster_embeddings(x, algorithm="hdbscan", min_k=12, max_k=15)
    assert 12 <= fit.n_clusters <= 15 and fit.notes


def test_large_input_uses_subsample_and_minibatch() -> None:
    x, y = blobs(6000, k=5)
    for algorithm in ALGORITHMS:
        fit = cluster_embeddings(x, algorithm=algorithm, sample_size=500, minibatch_above=1000, max_k=10)
        assert len(fit.labels) == 6000
        assert v_measure_score(y, fit.labels) > 0.9, algorithm


def test_paper_protocol_is_deterministic() -> None:
    x, _ = blobs(300, k=5, spread=0.3)
    a = cluster_embeddings(x, n_clusters=5).labels
    b = cluster_embeddings(x, n_clusters=5).labels
    assert a.tolist() == b.tolist()


def test_names_are_unique_and_fall_back() -> None:
    names, descs = name_clusters(["the a an", "of the", "flight to rome", "flight to paris"], [0, 0, 1, 1])
    assert names[0] == "cluster 1" and "flight" in names[1]
    assert descs[0] == "2 texts"
    names, _ = name_clusters(["pay bill", "pay bill", "pay bill now", "pay bill now"], [0, 0, 1, 1], n_words=1)
    assert len(set(names)) == 2


@pytest.mark.slow
def test_clustering_100k_rows_stays_cheap() -> None:
    x, y = blobs(100_000, k=20, d=384, spread=0.03)
    start = time.perf_counter()
    fit = cluster_embeddings(x)
    assert time.perf_counter() - start < 120  # encoding 100k texts with MiniLM on CPU takes ~40 min
    assert v_measure_score(y, fit.labels) > 0.9


def test_estimator_follows_sklearn_conventions() -> None:
    from sklearn.base import clone

    from cluster_r1.embed import EmbeddingClusterer

    est = EmbeddingClusterer(instruction="by topic", n_clusters=3, algorithm="gmm")
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "labels_")
    assert not hasattr(est, "result_")  # __init__ stores parameters only; work happens in fit

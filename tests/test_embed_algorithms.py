"""Clustering algorithms on vectors: every algorithm, forced and free k, the subsample/minibatch paths."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cluster_r1.embed import ALGORITHMS, cluster_embeddings, name_clusters
from cluster_r1.errors import ConfigError
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


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "agglomerative", "spectral"])
def test_n_clusters_forces_k(algorithm: str) -> None:
    x, _ = blobs(200)
    assert cluster_embeddings(x, n_clusters=6, algorithm=algorithm).n_clusters == 6


def test_spectral_finds_a_small_group_and_keeps_empty_rows_apart() -> None:
    x, y = blobs(600, k=3, spread=0.08)
    small = np.flatnonzero(y == 2)[:25]  # a group of 25 beside two of ~200
    keep = np.concatenate([np.flatnonzero(y != 2), small])
    x, y = x[keep], y[keep]
    x = np.vstack([x, np.zeros((6, x.shape[1]), dtype=np.float32)])  # texts the embedder read nothing in
    y = np.concatenate([y, np.full(6, 3)])
    for sample_size in (2000, 300):  # all points in the graph; a subsample, the rest by nearest centre
        fit = cluster_embeddings(x, algorithm="spectral", sample_size=sample_size)
        assert fit.n_clusters == 4 and v_measure_score(y, fit.labels) > 0.95, (sample_size, fit.scores)
        assert len(set(fit.labels[-6:].tolist())) == 1 and fit.labels[-6] not in set(fit.labels[:-6].tolist())
    assert set(cluster_embeddings(x, algorithm="spectral").scores) <= set(range(2, 11))  # eigengaps scored
    for k in (1, 2, 5):  # a given k counts the empty rows' cluster
        assert cluster_embeddings(x, algorithm="spectral", n_clusters=k).n_clusters == k
    # repeated texts are one point of the graph: cliques of copies do not become clusters of their own
    few, groups = blobs(45, k=3, spread=0.08)
    fit = cluster_embeddings(np.repeat(few, 30, axis=0), algorithm="spectral", sample_size=5000)
    assert fit.n_clusters == 3 and v_measure_score(np.repeat(groups, 30), fit.labels) == 1.0


def test_best_silhouette_keeps_the_partition_that_separates_better() -> None:
    from sklearn.metrics import silhouette_score

    from cluster_r1.embed.cluster import _centred

    x, y = blobs(500, k=5, spread=0.12)
    fit = cluster_embeddings(x, algorithm="best-silhouette")
    assert fit.algorithm in ("best-silhouette (kmeans)", "best-silhouette (spectral)")
    chosen, other = fit.notes[-1].split(" over ")
    assert chosen.startswith(f"best-silhouette: {fit.algorithm[17:-1]} (k={fit.n_clusters},")
    # the note's silhouettes are the two partitions' on the centred vectors, the chosen one the higher
    s_chosen, s_other = (float(part.rsplit(" ", 1)[-1].rstrip(")")) for part in (chosen, other))
    assert s_chosen >= s_other
    assert abs(silhouette_score(_centred(x), fit.labels, metric="cosine") - s_chosen) < 1e-3
    assert v_measure_score(y, fit.labels) > 0.9
    with pytest.raises(ConfigError, match="best-silhouette chooses its own k"):
        cluster_embeddings(x, algorithm="best-silhouette", n_clusters=5)


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


def test_k_free_kmeans_ignores_a_shared_offset() -> None:
    # a large shared component (what a template prefix adds to every text) must not hide the blobs
    x, y = blobs(300, k=6, d=32, spread=0.08)
    shared = np.zeros(32, dtype=np.float32)
    shared[0] = 1.0
    xo = 0.15 * x + shared
    xo = (xo / np.linalg.norm(xo, axis=1, keepdims=True)).astype(np.float32)
    fit = cluster_embeddings(xo, algorithm="kmeans", max_k=12, centred=True)
    assert fit.n_clusters == 6
    assert v_measure_score(y, fit.labels) > 0.95
    # centres stay in the input space (unit-norm, close to the offset direction)
    assert np.all(fit.centers[:, 0] > 0.9)


def test_centred_clusters_the_centred_vectors() -> None:
    from cluster_r1.embed.cluster import _centred

    x, _ = blobs(300, k=6, d=32, spread=0.3)
    shared = np.zeros(32, dtype=np.float32)
    shared[0] = 1.0
    xo = 0.3 * x + shared
    xo = (xo / np.linalg.norm(xo, axis=1, keepdims=True)).astype(np.float32)
    on = cluster_embeddings(xo, algorithm="kmeans", max_k=12, centred=True)
    assert np.array_equal(on.labels, cluster_embeddings(_centred(xo), algorithm="kmeans", max_k=12, centred=False).labels)
    default = cluster_embeddings(xo, algorithm="kmeans", max_k=12)  # k-free K-means centres by default
    assert np.array_equal(default.labels, on.labels)
    off = cluster_embeddings(xo, algorithm="kmeans", max_k=12, centred=False)
    assert max(abs(off.scores[k] - on.scores[k]) for k in on.scores) > 1e-3  # the shared offset changes the raw silhouette curve
    for kwargs in ({"n_clusters": 6}, {"algorithm": "gmm"}, {"reduce": "umap"} if _has_umap() else {"algorithm": "hdbscan"}):
        assert cluster_embeddings(xo, centred=False, **kwargs).n_clusters >= 1  # False is accepted everywhere


def _has_umap() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def test_n_init_reaches_k_free_kmeans_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import cluster_r1.embed.cluster as cl
    from cluster_r1.errors import ConfigError

    seen: list[object] = []
    real = cl.KMeans

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(kwargs.get("n_init", "auto"))
        return real(*args, **kwargs)

    monkeypatch.setattr(cl, "KMeans", recording)
    x, _ = blobs(120, k=3)
    cluster_embeddings(x, algorithm="kmeans", max_k=5, n_init=2)
    assert seen and set(seen) == {2}
    seen.clear()
    cluster_embeddings(x, algorithm="kmeans", max_k=5)
    assert seen and set(seen) == {cl.DEFAULT_N_INIT} and cl.DEFAULT_N_INIT > 1  # k-free: several runs per k
    seen.clear()
    cluster_embeddings(x, algorithm="kmeans", max_k=5, sample_size=cl.RESTARTS_UP_TO + 1)
    assert set(seen) == {cl.DEFAULT_N_INIT}  # 120 points: still a small scan
    seen.clear()
    big, _ = blobs(cl.RESTARTS_UP_TO + 10, k=3)
    cluster_embeddings(big, algorithm="kmeans", max_k=5)
    assert seen and set(seen) == {"auto"}  # a large scan keeps one run (speed)
    seen.clear()
    cluster_embeddings(x, n_clusters=3)
    assert seen and set(seen) == {"auto"}  # the paper protocol: scikit-learn's default, one run
    for kwargs in ({"n_clusters": 3, "centred": True}, {"n_clusters": 3, "n_init": 3}, {"algorithm": "gmm", "centred": True}):
        with pytest.raises(ConfigError, match="k-free K-means only"):
            cluster_embeddings(x, **kwargs)


def test_k_free_kmeans_keeps_the_selection_fit_and_gold_k_keeps_the_paper_protocol() -> None:
    from sklearn.cluster import KMeans

    x, _ = blobs(200, k=5, spread=0.3)
    fit = cluster_embeddings(x, algorithm="kmeans", max_k=8)
    assert fit.labels.max() + 1 == fit.n_clusters and set(fit.scores) == set(range(2, 9))
    paper = KMeans(n_clusters=5, random_state=43).fit_predict(x)
    assert v_measure_score(paper, cluster_embeddings(x, n_clusters=5).labels) == pytest.approx(1.0)


def test_reduce_umap_finds_blobs_and_assigns_points_outside_the_sample() -> None:
    pytest.importorskip("umap")
    x, y = blobs(600, k=5, d=32, spread=0.08)
    fit = cluster_embeddings(x, algorithm="kmeans", max_k=10, reduce="umap", sample_size=300)
    assert fit.n_clusters == 5 and set(fit.scores) == set(range(2, 11))
    assert v_measure_score(y, fit.labels) > 0.95  # the 300 points UMAP never saw included
    np.testing.assert_allclose(np.linalg.norm(fit.centers, axis=1), 1.0, rtol=1e-5)


def test_reduce_is_k_free_kmeans_only_and_checked() -> None:
    from cluster_r1.errors import ConfigError

    x, _ = blobs(60, k=3)
    for kwargs in ({"n_clusters": 3, "reduce": "umap"}, {"algorithm": "hdbscan", "reduce": "umap"}, {"reduce": "pca"}):
        with pytest.raises(ConfigError):
            cluster_embeddings(x, **kwargs)


def test_reduce_umap_missing_is_a_one_line_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from cluster_r1.errors import ConfigError

    monkeypatch.setitem(sys.modules, "umap", None)  # import umap -> ImportError, as without the extra
    x, _ = blobs(60, k=3)
    with pytest.raises(ConfigError, match=r'pip install "cluster-r1\[umap\]"'):
        cluster_embeddings(x, algorithm="kmeans", reduce="umap")
    assert cluster_embeddings(x, algorithm="kmeans").n_clusters == 3  # the default never imports umap


def test_silhouette_matches_scikit_learn_including_singletons() -> None:
    from sklearn.metrics import silhouette_score

    from cluster_r1.embed.cluster import _silhouette

    rng = np.random.default_rng(1)
    for n, k in ((40, 3), (300, 35), (25, 24)):
        x, _ = blobs(n, k=min(k, 16), spread=0.3, seed=n)
        dist = np.clip(1.0 - x @ x.T, 0.0, 2.0)
        np.fill_diagonal(dist, 0.0)
        labels = rng.integers(0, k, size=n)
        labels[:k] = np.arange(k)  # every label used; k=24 of 25 forces singletons
        assert _silhouette(dist, labels) == pytest.approx(silhouette_score(dist, labels, metric="precomputed"), abs=1e-5)
    assert _silhouette(dist, np.zeros(len(dist), dtype=int)) == -1.0  # one cluster: no silhouette


def test_large_scans_go_coarse_to_fine_and_still_find_k() -> None:
    from cluster_r1.embed import cluster as C

    x, y = blobs(3000, k=39, d=64, spread=0.1)
    fit = cluster_embeddings(x, algorithm="kmeans", min_k=2, max_k=100, sample_size=1500)
    ks = C._candidates(2, 100)
    assert len(fit.scores) < len(ks)  # skipped candidates: the scan was coarse to fine
    assert set(k for k in ks if k <= C.COARSE_FROM_K) <= set(fit.scores)  # every small k scored
    assert fit.n_clusters == 39 and v_measure_score(y, fit.labels) > 0.98  # 39 is not on the coarse grid


def test_small_scans_stay_exhaustive() -> None:
    x, _ = blobs(500, k=6, spread=0.2)
    fit = cluster_embeddings(x, algorithm="kmeans", max_k=30)
    assert set(fit.scores) == set(range(2, 31))


@pytest.mark.parametrize("algorithm", ["hdbscan", "best-silhouette", "no-such-algorithm"])
def test_estimator_refuses_a_bad_algorithm_before_embedding(algorithm: str) -> None:
    from cluster_r1.embed import EmbeddingClusterer

    class Unreachable:
        name = "unreachable"

        def encode(self, texts):  # noqa: ANN001, ANN201
            raise AssertionError("embedded before the algorithm was checked")

    est = EmbeddingClusterer(embedder=Unreachable(), algorithm=algorithm, n_clusters=2, view="semantic", cache_dir=False)
    with pytest.raises(ConfigError, match="--algorithm kmeans|unknown algorithm"):
        est.fit(["a b", "c d", "e f", "g h"])


@pytest.mark.parametrize("algorithm", ["auto", "kmeans", "gmm", "agglomerative", "hdbscan", "spectral", "best-silhouette"])
def test_k_free_clusters_do_not_depend_on_the_order_of_the_rows(algorithm: str) -> None:
    # the same texts in another order were another K-means start, and on flat silhouette curves another k
    x, _ = blobs(240, k=5, d=24, spread=0.45, seed=3)
    fit = cluster_embeddings(x, algorithm=algorithm)
    for seed in (1, 2):
        order = np.random.default_rng(seed).permutation(len(x))
        shuffled = cluster_embeddings(x[order], algorithm=algorithm)
        assert shuffled.n_clusters == fit.n_clusters
        assert np.array_equal(shuffled.labels, fit.labels[order])  # the same ids, not only the same partition
        assert np.allclose(shuffled.centers, fit.centers, atol=1e-5)


def test_canonical_order_is_a_permutation_fixed_by_the_values() -> None:
    from cluster_r1.embed.cluster import canonical_order

    x, _ = blobs(50, k=3, d=8)
    x = np.vstack([x, x[:5]])  # identical rows too
    order = canonical_order(x)
    assert sorted(order.tolist()) == list(range(len(x)))
    perm = np.random.default_rng(0).permutation(len(x))
    assert np.array_equal(x[perm][canonical_order(x[perm])], x[order])


def test_k_free_kmeans_is_order_free_on_large_scans_and_subsamples() -> None:
    # 1,100 rows over 29 candidates: the coarse scan with seeded restarts; sample_size 600: k chosen on a subsample
    x, _ = blobs(1100, k=6, d=24, spread=0.5, seed=4)
    order = np.random.default_rng(0).permutation(len(x))
    for kwargs in ({"max_k": 30}, {"max_k": 30, "n_init": 2}, {"max_k": 30, "sample_size": 600}):
        fit = cluster_embeddings(x, **kwargs)
        assert np.array_equal(cluster_embeddings(x[order], **kwargs).labels, fit.labels[order])

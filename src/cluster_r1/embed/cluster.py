"""Cluster embedding vectors: the paper protocol (gold k) and k-free selection for users.

With ``n_clusters`` given, K-means / GaussianMixture run exactly as App. E.1 does
(scikit-learn defaults, ``random_state=43``). Without it, each algorithm picks k:

* ``kmeans``: silhouette (cosine) of K-means (the best of ``DEFAULT_N_INIT`` runs on scans of up
  to ``RESTARTS_UP_TO`` points) over ``min_k..max_k`` on a subsample of the
  mean-centred vectors (``centred=False``: the raw vectors, the earlier default; ``n_init=1``: one
  run per k, the earlier default; ``reduce="umap"``: K-means on a 5-d UMAP projection, k still
  chosen by cosine silhouette, optional extra ``umap``);
* ``gmm``: lowest BIC of a diagonal GMM on a 32-d PCA projection of a subsample; the final
  fit is the paper's full-covariance GaussianMixture while ``n * k * dim**2 <= FULL_GMM_BUDGET``
  (a few hundred texts), else that diagonal PCA model;
* ``agglomerative``: average-linkage cosine tree cut at ``distance_threshold``;
* ``hdbscan``: scikit-learn HDBSCAN; its noise points join the nearest cluster;
* ``spectral``: scikit-learn SpectralClustering on the symmetrised graph of each point's
  ``SPECTRAL_NEIGHBOURS`` nearest neighbours, k at the largest gap among the normalised
  Laplacian's smallest eigenvalues (eigengap); rows that are all zeros (texts with nothing the
  embedder reads, such as a link alone) are one cluster of their own. The language view's
  k-free default: a language that a few percent of the texts are written in is a weakly linked
  part of the graph, which K-means splits the majority before it separates (docs/embedding.md);
* ``best-silhouette``: k-free K-means and spectral clustering (10 neighbours, k up to ``max_k``),
  the partition with the higher cosine silhouette on the mean-centred vectors (a measured lead
  for the semantic view, not the default: docs/embedding.md).

K-means (k-free), agglomerative and HDBSCAN see mean-centred embeddings: an instruction template adds the
same prefix to every text, which pulls all vectors together and makes any fixed distance
threshold meaningless; centring removes that shared offset.

Without ``n_clusters`` the result does not depend on the order of the rows: every algorithm sees
them in one canonical order (:func:`canonical_order`) and the labels are mapped back, so the same
texts shuffled give the same clusters with the same ids. With ``n_clusters`` the rows are fitted as
given (App. E.1 exactly).

k is chosen on at most ``sample_size`` points; the final fit sees every point
(K-means switches to MiniBatchKMeans above ``minibatch_above`` points; the other
algorithms fit the subsample and assign the rest to the nearest centroid), so
clustering stays cheap next to encoding at 10k-100k texts.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, fields, replace
from typing import cast

import numpy as np
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans, kmeans_plusplus
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from ..errors import ConfigError, InputError

__all__ = ["ClusterFit", "ClusterSettings", "canonical_order", "check_algorithm", "cluster_embeddings", "default_max_k", "default_n_init", "empty_rows", "mean_row", "nearest_centre", "ALGORITHMS", "K_FREE_ALGORITHMS", "DEFAULT_ALGORITHM", "PAPER_RANDOM_STATE"]

logger = logging.getLogger(__name__)

PAPER_RANDOM_STATE = 43
ALGORITHMS = ("kmeans", "gmm", "agglomerative", "hdbscan", "spectral", "best-silhouette")
#: Algorithms that choose their own k (a given ``n_clusters`` is an error, not ignored).
K_FREE_ALGORITHMS = ("hdbscan", "best-silhouette")
#: What ``algorithm="auto"`` means without ``n_clusters`` (chosen on benchmarks/embed_quality.py).
DEFAULT_ALGORITHM = "kmeans"
#: K-means runs per candidate k (and for the final fit) in k-free selection on at most
#: RESTARTS_UP_TO points, the best inertia kept: one run's k-means++ start decides k on flat
#: silhouette curves (docs/embedding.md, "Order of the texts"). Larger scans keep one run: three
#: cost 2.3 s more at 10,000 texts, past the speed target's margin (docs/embedding.md, Speed).
DEFAULT_N_INIT, RESTARTS_UP_TO = 3, 1000
#: Largest n * k * dim^2 fitted with the paper's full-covariance GMM (about 10 s on one core).
FULL_GMM_BUDGET = 2e9
#: Most k values tried by silhouette/BIC; wider ranges are searched on a spread-out grid.
MAX_CANDIDATES = 30
#: Silhouette scans on more than COARSE_POINTS points over more than COARSE_ABOVE candidates score
#: every k up to COARSE_FROM_K, every COARSE_STEP-th candidate above it, then the skipped ones next to
#: the best two (about half the K-means work; docs/embedding.md, Speed). Smaller scans are cheap and
#: stay exhaustive.
COARSE_ABOVE, COARSE_STEP, COARSE_POINTS, COARSE_FROM_K = 12, 3, 1000, 20
#: Neighbours per point in the ``spectral`` graph, and the most clusters its eigengap considers.
SPECTRAL_NEIGHBOURS, SPECTRAL_MAX_K = 5, 10
#: Neighbours of the spectral candidate in ``best-silhouette`` (its k may reach ``max_k``).
BEST_SILHOUETTE_NEIGHBOURS = 10


@dataclass
class ClusterFit:
    """0-based ``labels``, the chosen ``n_clusters``, unit-norm ``centers`` and the k-selection ``scores``."""

    labels: np.ndarray
    n_clusters: int
    algorithm: str
    centers: np.ndarray
    scores: dict[int, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _centers(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    from scipy.sparse import csr_matrix

    # the one-hot (k x n) product: np.add.at took 0.4 s on 100k x 384 rows, this about a tenth
    labels = np.asarray(labels)
    onehot = csr_matrix((np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    centers = np.asarray(onehot @ np.asarray(x, dtype=np.float32), dtype=np.float32)
    norms = np.linalg.norm(centers, axis=1, keepdims=True)
    return centers / np.maximum(norms, 1e-12)


def _relabel(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map labels to 0..k-1 (dropping empty ids)."""
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.astype(np.int64), len(uniq)


def default_n_init(n_scanned: int) -> int | str:
    """K-means runs per candidate k when k is chosen on ``n_scanned`` points: :data:`DEFAULT_N_INIT`
    up to :data:`RESTARTS_UP_TO` points, else scikit-learn's one ("auto")."""
    return DEFAULT_N_INIT if n_scanned <= RESTARTS_UP_TO else "auto"


def default_max_k(n: int) -> int:
    """The largest k a k-free fit of ``n`` texts considers unless told: ``min(n, max(10, 2 sqrt n), 100)``."""
    return int(min(n, max(10, round(2 * np.sqrt(n))), 100))


def empty_rows(x: np.ndarray) -> np.ndarray:
    """Which rows are all zeros: texts the embedder read nothing in (the language view's links alone)."""
    return np.linalg.norm(np.asarray(x), axis=1) < 1e-6


def canonical_order(x: np.ndarray) -> np.ndarray:
    """A row order that depends on the rows' values only: ascending projection onto a fixed random
    direction (identical rows keep their input order, which cannot change a partition of them)."""
    x = np.asarray(x)
    direction = np.random.default_rng(PAPER_RANDOM_STATE).standard_normal(x.shape[1])
    key = np.concatenate(
        [x[i : i + 8192].astype(np.float64) @ direction for i in range(0, len(x), 8192)] or [np.asarray([])]
    )
    return np.argsort(key, kind="stable")


def _subsample(n: int, size: int, random_state: int) -> np.ndarray:
    """The sorted row indices that k is chosen on: all ``n`` rows, or ``size`` of them drawn at ``random_state``."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(random_state).choice(n, size=size, replace=False))


def _nearest(x: np.ndarray, centers: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """The most similar centre of each row. A zero centre (the cluster of rows the embedder read
    nothing in) takes exactly the zero rows."""
    out = np.empty(len(x), dtype=np.int64)
    empty = np.flatnonzero(empty_rows(centers))
    for s in range(0, len(x), chunk):
        sims = x[s : s + chunk] @ centers.T
        if len(empty):
            sims[:, empty] = -np.inf
        out[s : s + chunk] = np.argmax(sims, axis=1)
    if len(empty) and len(empty) < len(centers):
        out[empty_rows(x)] = empty[0]
    return out


def nearest_centre(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """0-based index of the nearest of ``centers`` for each row of ``x`` (see :func:`_nearest`)."""
    return _nearest(np.asarray(x, dtype=np.float32), np.asarray(centers, dtype=np.float32))


def _candidates(min_k: int, max_k: int) -> list[int]:
    ks = list(range(min_k, max_k + 1))
    if len(ks) <= MAX_CANDIDATES:
        return ks
    return sorted({int(round(v)) for v in np.geomspace(min_k, max_k, MAX_CANDIDATES)})


def _kmeans(
    x: np.ndarray, k: int, random_state: int, minibatch_above: int, n_init: int | str = "auto", init: np.ndarray | None = None
) -> np.ndarray:
    """The paper protocol with the default ``n_init``; k-free selection passes the caller's ``n_init``.

    ``init``: starting centres (one run, no k-means++), e.g. the subsample fit that chose k.
    """
    seeds = {"init": init, "n_init": 1} if init is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if len(x) > minibatch_above:
            model = MiniBatchKMeans(n_clusters=k, random_state=random_state, batch_size=4096, **({"n_init": 3} | seeds))
        else:
            model = KMeans(n_clusters=k, random_state=random_state, **({"n_init": n_init} | seeds))
        return model.fit_predict(x)


def cluster_means(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The mean row of each label 0..k-1 (a zero row for a label with none), in ``x``'s dtype."""
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, x)
    return (sums / np.maximum(np.bincount(labels, minlength=k), 1)[:, None]).astype(x.dtype)


def _gmm(x: np.ndarray, k: int, random_state: int, covariance_type: str = "full") -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm = GaussianMixture(n_components=k, covariance_type=covariance_type, random_state=random_state)
        return gmm.fit_predict(x)


def _pca(x: np.ndarray, random_state: int, n_components: int = 32) -> np.ndarray:
    dims = max(1, min(n_components, x.shape[1], len(x) - 1))
    return PCA(n_components=dims, random_state=random_state).fit_transform(x)


def _silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a precomputed distance matrix, as ``silhouette_score(metric="precomputed")``.

    One matrix product with the one-hot labels gives every point's distance sum to every cluster
    (scikit-learn reduces row chunks with per-row bincounts: 4-10x slower on 2,000 points).
    """
    labels, k = _relabel(labels)
    if not 2 <= k <= len(labels) - 1:
        return -1.0
    onehot = np.zeros((len(labels), k), dtype=dist.dtype)
    onehot[np.arange(len(labels)), labels] = 1.0
    sums = dist @ onehot
    sizes = onehot.sum(axis=0)
    own = sizes[labels]
    rows = np.arange(len(labels))
    a = sums[rows, labels] / np.maximum(own - 1, 1)
    means = sums / sizes
    means[rows, labels] = np.inf
    b = means.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.nan_to_num((b - a) / np.maximum(a, b))
    s[own == 1] = 0.0  # scikit-learn: a point alone in its cluster scores 0
    return float(s.mean())


#: ``progress(stage, done, total, detail)``, as :data:`cluster_r1.types.ProgressFn`.
Progress = Callable[[str, int, int, str], None]

#: The stage name the k scan reports progress under.
K_STAGE = "choosing k"


def _no_progress(stage: str, done: int, total: int, detail: str = "") -> None:
    return None


def _silhouette_scan(
    fit_x: np.ndarray, score_x: np.ndarray, ks: list[int], random_state: int, n_init: int | str,
    progress: Progress = _no_progress,
) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """K-means on ``fit_x`` per candidate k, each scored by cosine silhouette on ``score_x`` (unit rows).

    ``progress`` hears each scored k against one total: the candidates planned, refinements included (at most
    that many are scored; the scan's end reports the total done)."""
    # cosine distances once, not once per candidate k
    dist = np.clip(1.0 - score_x @ score_x.T, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    scores, fits = {}, {}
    large = len(fit_x) > COARSE_POINTS and len(ks) > COARSE_ABOVE
    # large scans seed each K-means with k-means++ on float64 rows (scikit-learn computes float32
    # distances in upcast chunks) and run Lloyd on float32: about 45 % less time than KMeans(k).fit
    fit_64 = fit_x.astype(np.float64) if large else None
    runs = 1 if n_init == "auto" else int(n_init)

    def score(k: int) -> None:
        if fit_64 is None:
            labels = _kmeans(fit_x, k, random_state, minibatch_above=len(fit_x) + 1, n_init=n_init)
        else:  # ``runs`` seeded starts, the lowest inertia kept (as KMeans(n_init=runs) does)
            best = None
            for run in range(runs):
                init = kmeans_plusplus(fit_64, k, random_state=random_state + run)[0].astype(fit_x.dtype)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model = KMeans(n_clusters=k, init=init, n_init=1, random_state=random_state).fit(fit_x)
                if best is None or model.inertia_ < best.inertia_:
                    best = model
            labels = cast(KMeans, best).labels_  # set by the first of ``runs`` (>= 1) starts
        scores[k] = _silhouette(dist, labels)
        fits[k] = labels
        progress(K_STAGE, len(scores), max(planned, len(scores)), f"k={k}")

    # coarse to fine above COARSE_FROM_K: every COARSE_STEP-th candidate, then the skipped ones around
    # the best two (silhouette peaks at small k can be one candidate wide, so those are all scored)
    coarse = ks
    if large:
        small = [k for k in ks if k <= COARSE_FROM_K]
        coarse = small + ks[len(small) :: COARSE_STEP]
        if coarse[-1] != ks[-1]:
            coarse.append(ks[-1])
    # the refinement scores at most 2 * (2 * COARSE_STEP - 2) skipped neighbours of the best two
    planned = len(ks) if coarse is ks else min(len(ks), len(coarse) + 4 * (COARSE_STEP - 1))
    progress(K_STAGE, 0, planned, "")
    for k in coarse:
        score(k)
    if coarse is not ks:
        for best in sorted(scores, key=lambda c: (-scores[c], c))[:2]:
            i = ks.index(best)
            for k in ks[max(0, i - COARSE_STEP + 1) : i + COARSE_STEP]:
                if k not in scores:
                    score(k)
    # one total throughout: the refinement's neighbours it did not need to score count as done
    progress(K_STAGE, max(planned, len(scores)), max(planned, len(scores)), "")
    return scores, fits


def _select_silhouette(
    x: np.ndarray, ks: list[int], random_state: int, n_init: int | str = "auto", progress: Progress = _no_progress,
) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """Silhouette (cosine) per candidate k, and each candidate's labels."""
    return _silhouette_scan(x, x, ks, random_state, n_init, progress)


def _select_bic(x: np.ndarray, ks: list[int], random_state: int, progress: Progress = _no_progress) -> dict[int, float]:
    z = _pca(x, random_state)
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in ks:
            gmm = GaussianMixture(n_components=k, covariance_type="diag", random_state=random_state).fit(z)
            scores[k] = -float(gmm.bic(z))  # higher is better, like silhouette
            progress(K_STAGE, len(scores), len(ks), f"k={k}")
    return scores


def mean_row(x: np.ndarray) -> np.ndarray:
    """The rows' mean, summed in float64 and stored as float32: the same for the rows in any order
    (a float32 sum's last bits follow the order, and so would a partition of the centred rows)."""
    return np.asarray(x).mean(axis=0, dtype=np.float64).astype(np.float32)


def _centred(x: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    z = x - (mean_row(x) if mean is None else mean)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


#: UMAP settings of ``reduce="umap"`` (BERTopic's defaults: 5-d, cosine, 15 neighbours, min_dist 0).
UMAP_DIMS, UMAP_NEIGHBORS = 5, 15


def _umap(x: np.ndarray, random_state: int) -> np.ndarray:
    try:
        from umap import UMAP
    except ImportError:
        raise ConfigError('reduce="umap" needs umap-learn: pip install "cluster-r1[umap]"') from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns that random_state disables parallelism
        nn = max(2, min(UMAP_NEIGHBORS, len(x) - 1))
        dims = max(1, min(UMAP_DIMS, len(x) - 2))
        model = UMAP(n_neighbors=nn, n_components=dims, min_dist=0.0, metric="cosine", random_state=random_state)
        return model.fit_transform(x).astype(np.float32)


def _select_umap(
    x: np.ndarray, ks: list[int], random_state: int, n_init: int | str, progress: Progress = _no_progress,
) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    """K-means per candidate k on a UMAP projection of ``x``; each k scored by cosine silhouette of the centred ``x``."""
    return _silhouette_scan(_umap(x, random_state), _centred(x), ks, random_state, n_init, progress)


def _best(scores: dict[int, float]) -> int:
    return max(scores, key=lambda k: (scores[k], -k))


@dataclass(frozen=True)
class ClusterSettings:
    """How :func:`cluster_embeddings` clusters: every setting with its default (see that function)."""

    n_clusters: int | None = None
    algorithm: str = "auto"
    min_k: int = 2
    max_k: int | None = None
    random_state: int = PAPER_RANDOM_STATE
    sample_size: int = 2000
    minibatch_above: int = 20000
    distance_threshold: float = 0.9
    min_cluster_size: int | None = None
    n_threads: int | None = 1
    centred: bool | None = None
    n_init: int | str | None = None
    reduce: str | None = None

    @classmethod
    def of(cls, settings: ClusterSettings | None, overrides: dict[str, object]) -> ClusterSettings:
        """``settings`` (default: the defaults) with ``overrides`` by field name (an unknown name is one
        :class:`ConfigError` naming the valid ones)."""
        base = settings if settings is not None else cls()
        if not overrides:
            return base
        names = [f.name for f in fields(cls)]
        unknown = [k for k in overrides if k not in names]
        if unknown:
            raise ConfigError(f"unknown clustering setting(s) {', '.join(unknown)}: cluster_embeddings takes "
                              f"{', '.join(names)}")
        return replace(base, **overrides)  # type: ignore[arg-type]


def cluster_embeddings(
    x: np.ndarray,
    settings: ClusterSettings | None = None,
    /,
    *,
    progress: Progress | None = None,
    **overrides: object,
) -> ClusterFit:
    """Cluster the rows of ``x`` (unit-norm embeddings). See the module docstring for the algorithms.

    The settings are one :class:`ClusterSettings`, or its fields as keywords (``n_clusters=10``), which
    override those of ``settings``.

    ``progress(stage, done, total, detail)``, when given, hears the k scan (stage :data:`K_STAGE`).

    ``max_k`` defaults to ``min(n, max(10, 2 * sqrt(n)), 100)``; bounds are checked by the caller
    (:func:`cluster_r1.embed.embed_cluster`), here they are only clipped to ``n``.
    ``n_threads`` caps OpenMP/BLAS threads while clustering (None: the libraries' default, which
    pays off only on many idle cores and large inputs).

    ``centred`` and ``n_init`` tune k-free K-means only (``algorithm`` "kmeans"/"auto" without
    ``n_clusters``; setting them for anything else raises :class:`ConfigError` rather than
    ignoring them): centring mean-centres (and renormalises) the vectors before choosing k and
    fitting; it is the k-free K-means default (``centred=None``: centred unless ``reduce`` is
    set), ``centred=False`` is the earlier uncentred default. ``n_init`` is the K-means restarts
    per candidate k and for the final fit (default :data:`DEFAULT_N_INIT` when k is chosen on at
    most :data:`RESTARTS_UP_TO` points, else one; ``1`` or ``"auto"``: one
    run, the earlier default). Measured in docs/embedding.md (Quality, fourth round; Order of the
    texts). ``centers`` are always in the input space.

    Without ``n_clusters`` the rows are fitted in :func:`canonical_order` and the labels mapped back:
    a permutation of ``x`` permutes the labels and changes nothing else.

    ``reduce="umap"`` (k-free K-means only; needs ``pip install "cluster-r1[umap]"``): the
    subsample is projected to 5-d with UMAP (cosine, 15 neighbours, ``random_state``), K-means runs
    there for each candidate k, k is chosen by the cosine silhouette of the mean-centred vectors,
    and points outside the subsample join the nearest centroid (docs/embedding.md, Quality).
    """
    s = ClusterSettings.of(settings, overrides)
    check_algorithm(s.algorithm, s.n_clusters)
    if s.reduce not in (None, "umap"):
        raise ConfigError(f"unknown reduce={s.reduce!r}: use None or 'umap'")
    x = np.asarray(x, dtype=np.float32)
    k_free_kmeans = s.n_clusters is None and (DEFAULT_ALGORITHM if s.algorithm == "auto" else s.algorithm) == "kmeans"
    if (s.centred or s.n_init is not None or s.reduce is not None) and not k_free_kmeans:
        raise ConfigError(
            "centred/n_init/reduce apply to k-free K-means only: drop n_clusters (the paper protocol) "
            "and use algorithm='kmeans', or leave centred, n_init and reduce unset"
        )
    # the k-free K-means default: a shared instruction prefix pulls every vector the same way
    centre_here = bool(s.centred if s.centred is not None else (k_free_kmeans and s.reduce is None)) and k_free_kmeans
    x_in = x
    if centre_here:  # centre first, so that centred input and centred=True give one partition
        x = _centred(x)
    # k-free: fit the rows in an order of their values, so that the input's order cannot move k or the clusters
    order = canonical_order(x) if s.n_clusters is None else None
    if order is not None:
        x = x[order]
    # OpenMP/BLAS threads in scikit-learn's K-means cost more than they gain when the cores are busy:
    # on a shared 2-core box, K-means with k=100 on 10k rows took 20 s threaded and 2.5 s on one thread.
    with threadpool_limits(limits=s.n_threads) if s.n_threads else nullcontext():
        fit = _fit_settings(x, s, k_free_kmeans, progress or _no_progress)
    if order is not None:  # labels back in the caller's row order; ids are the fit's
        labels = np.empty_like(fit.labels)
        labels[order] = fit.labels
        fit.labels = labels
    if centre_here:  # centres are reported in the input space
        fit.centers = _centers(x_in, fit.labels, fit.n_clusters)
    return fit


def _fit_settings(x: np.ndarray, s: ClusterSettings, k_free_kmeans: bool, progress: Progress) -> ClusterFit:
    """The fit ``s`` asks for, on rows already centred and ordered as :func:`cluster_embeddings` wants them."""
    if s.algorithm == "best-silhouette":
        return _best_silhouette(x, s.min_k, s.max_k, s.random_state, s.sample_size, s.minibatch_above, progress)
    n_init = s.n_init
    if n_init is None:
        n_init = default_n_init(min(len(x), s.sample_size)) if k_free_kmeans else "auto"
    scan = _Scan(s.min_k, s.max_k, s.random_state, s.minibatch_above, n_init=n_init, reduce=s.reduce,
                 centred=False, progress=progress)
    return _fit(x, s.n_clusters, s.algorithm, scan, s.sample_size, s.distance_threshold, s.min_cluster_size)


def check_algorithm(algorithm: str, n_clusters: int | None) -> None:
    """:class:`ConfigError` for an unknown ``algorithm``, or a given k for one that chooses its own
    (:data:`K_FREE_ALGORITHMS`); callers check before embedding, so that a bad pair costs nothing."""
    if algorithm != "auto" and algorithm not in ALGORITHMS:
        raise ConfigError(f"unknown algorithm {algorithm!r}: use 'auto' or one of {list(ALGORITHMS)}")
    if n_clusters is not None and algorithm in K_FREE_ALGORITHMS:
        raise ConfigError(f"{algorithm} chooses its own k: drop n_clusters (--n-clusters) or use "
                          "algorithm='kmeans' (--algorithm kmeans)")


def _best_silhouette(
    x: np.ndarray, min_k: int, max_k: int | None, random_state: int, sample_size: int, minibatch_above: int,
    progress: Progress,
) -> ClusterFit:
    """k-free K-means and spectral clustering (``BEST_SILHOUETTE_NEIGHBOURS`` neighbours, eigengap k up to
    ``max_k``); the partition with the higher cosine silhouette on the mean-centred (sub)sample."""
    from sklearn.metrics import silhouette_score

    scan = _Scan(min_k, max_k, random_state, minibatch_above)
    fits = [
        _fit(x, None, "kmeans", replace(scan, centred=True, n_init=default_n_init(min(len(x), sample_size)),
                                        progress=progress), sample_size),
        _fit(x, None, "spectral", scan, sample_size, spectral=(BEST_SILHOUETTE_NEIGHBOURS, 10**9)),
    ]
    sample = _subsample(len(x), sample_size, random_state)  # the rows both fits chose k on
    xc = _centred(x[sample])
    scores = [float(silhouette_score(xc, f.labels[sample], metric="cosine")) if len(np.unique(f.labels[sample])) > 1
              else -1.0 for f in fits]
    chosen = int(np.argmax(scores))  # ties: K-means
    best, other = fits[chosen], fits[1 - chosen]
    best.notes.append(f"best-silhouette: {best.algorithm} (k={best.n_clusters}, cosine silhouette "
                      f"{scores[chosen]:.3f}) over {other.algorithm} (k={other.n_clusters}, {scores[1 - chosen]:.3f})")
    best.algorithm = f"best-silhouette ({best.algorithm})"
    return best


def _spectral(
    xs: np.ndarray, n_clusters: int | None, min_k: int, max_k: int, random_state: int,
    neighbours: int = SPECTRAL_NEIGHBOURS, cap: int = SPECTRAL_MAX_K,
) -> tuple[np.ndarray, int, dict[int, float], int | None]:
    """Spectral clustering of the rows of ``xs`` on their kNN graph.

    (labels, k, eigengap per candidate k, the label of the all-zero rows or None): those rows
    form one cluster of their own and stay out of the graph.
    """
    from scipy.sparse import identity
    from scipy.sparse.csgraph import laplacian
    from scipy.sparse.linalg import eigsh
    from sklearn.cluster import SpectralClustering
    from sklearn.neighbors import kneighbors_graph

    zero = empty_rows(xs)
    labels = np.zeros(len(xs), dtype=np.int64)
    gaps: dict[int, float] = {}
    if n_clusters == 1:
        return labels, 1, gaps, None
    rows = np.flatnonzero(~zero)
    # identical rows (repeated texts, retweets) are one point of the graph: a clique of copies would
    # be a component of its own and flatten the eigengap
    points, copy_of = np.unique(xs[rows], axis=0, return_inverse=True)
    copy_of = copy_of.reshape(-1)
    m = len(points)
    if m < 3:  # nothing to cut: what the embedder read, and what it did not
        labels[rows] = copy_of if m == 2 else 0
        labels[zero] = int(labels.max()) + 1 if len(rows) else 0
        labels, k = _relabel(labels)
        return labels, k, gaps, (k - 1 if zero.any() and len(rows) else None)
    extra = int(zero.any())
    graph = kneighbors_graph(points, min(neighbours, m - 1), include_self=False)
    graph = 0.5 * (graph + graph.T)
    if n_clusters is None:
        top = min(cap, max_k - extra, m - 2)
        k = 2
        if top >= 2:
            # the smallest eigenvalues of the normalised Laplacian L are 1 minus the largest of I - L
            lap = laplacian(graph, normed=True)
            # L's zero eigenvalue has one copy per connected component, and ARPACK finds a repeated eigenvalue a
            # varying number of times from its own random start (k changed from one process to the next): a
            # seeded start makes the answer the same every time
            v0 = np.random.default_rng(random_state).uniform(0.5, 1.5, size=m)
            ev = np.sort(1.0 - eigsh(identity(m) - lap, k=top + 1, which="LA", return_eigenvectors=False, v0=v0))
            gaps = {c: float(ev[c] - ev[c - 1]) for c in range(max(2, min_k), top + 1)}
            if gaps:
                k = max(gaps, key=lambda c: gaps[c])
    else:
        k = max(1, min(n_clusters - extra, m - 1))
    if k > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "graph is not fully connected": the point of it
            found = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=random_state,
                                       assign_labels="kmeans").fit_predict(graph)
        labels[rows] = found[copy_of]
    labels[zero] = k
    labels, k = _relabel(labels)
    return labels, k, gaps, (k - 1 if zero.any() else None)


@dataclass(frozen=True)
class _Scan:
    """How one fit searches k and runs K-means: candidates in [``min_k``, ``max_k``], the seed, mini-batch K-means
    above ``minibatch_above`` rows, restarts, UMAP, centring, the progress callback."""

    min_k: int
    max_k: int | None
    random_state: int
    minibatch_above: int
    n_init: int | str = "auto"
    reduce: str | None = None
    centred: bool = False
    progress: Progress = _no_progress


def _fit(
    x: np.ndarray,
    n_clusters: int | None,
    algorithm: str,
    scan: _Scan,
    sample_size: int,
    distance_threshold: float = 0.9,
    min_cluster_size: int | None = None,
    spectral: tuple[int, int] = (SPECTRAL_NEIGHBOURS, SPECTRAL_MAX_K),
) -> ClusterFit:
    n = len(x)
    if algorithm == "auto":
        algorithm = "kmeans" if n_clusters is not None else DEFAULT_ALGORITHM
    if n_clusters is not None and not 1 <= n_clusters <= n:
        raise InputError(f"n_clusters={n_clusters} but there are {n} texts: pass 1 <= n_clusters <= {n}")
    max_k = min(default_max_k(n) if scan.max_k is None else scan.max_k, n)
    min_k = min(scan.min_k, max_k)
    scan = replace(scan, min_k=min_k, max_k=max_k)
    random_state = scan.random_state
    sample = _subsample(n, sample_size, random_state)
    scores: dict[int, float] = {}
    notes: list[str] = []
    if algorithm in ("kmeans", "gmm"):
        labels, scores = _fit_partition(x, sample, n_clusters, algorithm, scan)
    elif algorithm == "agglomerative":
        labels = _fit_agglomerative(x, sample, n_clusters, min_k, max_k, distance_threshold, notes)
    elif algorithm == "spectral":
        labels, scores = _fit_spectral(x, sample, n_clusters, min_k, max_k, random_state, spectral)
    else:  # hdbscan
        labels = _fit_hdbscan(x, sample, min_k, max_k, random_state, scan.minibatch_above, min_cluster_size, notes)
    labels, k = _relabel(np.asarray(labels))
    # centres are reported in the input space even when a method clusters centred vectors
    return ClusterFit(labels=labels, n_clusters=k, algorithm=algorithm, centers=_centers(x, labels, k), scores=scores,
                      notes=notes)


def _fit_partition(
    x: np.ndarray, sample: np.ndarray, n_clusters: int | None, algorithm: str, scan: _Scan,
) -> tuple[np.ndarray, dict[int, float]]:
    """K-means or a Gaussian mixture: k given, or chosen on the subsample (silhouette, BIC); (labels, scores)."""
    min_k, max_k, random_state, minibatch_above = scan.min_k, int(scan.max_k or 0), scan.random_state, scan.minibatch_above
    centred, n_init, reduce, progress = scan.centred, scan.n_init, scan.reduce, scan.progress
    n, sample_size = len(x), len(sample)
    xs = x[sample]
    scores: dict[int, float] = {}
    k = n_clusters
    fits: dict[int, np.ndarray] = {}
    if k is None and algorithm == "kmeans" and centred:
        # the default: centred vectors (a shared template prefix dominates the cosine geometry)
        x = _centred(x)
        xs = x[sample]
    if k is None:
        # silhouette needs 2 <= k <= n_samples - 1
        ks = [c for c in _candidates(min_k, max_k) if (algorithm == "gmm" or 2 <= c <= len(xs) - 1)]
        if len(ks) > 1:
            if algorithm == "kmeans" and reduce == "umap":
                scores, fits = _select_umap(xs, ks, random_state, n_init=n_init, progress=progress)
            elif algorithm == "kmeans":
                scores, fits = _select_silhouette(xs, ks, random_state, n_init=n_init, progress=progress)
            else:
                scores = _select_bic(xs, ks, random_state, progress=progress)
            k = _best(scores)
        else:
            k = ks[0] if ks else min_k
        logger.info("%s: chose k=%d from %d candidates on %d points", algorithm, k, len(ks), len(xs))
    if algorithm == "kmeans" and n_clusters is None and k in fits and n <= sample_size:
        return fits[k], scores  # the sample is every point: the selection run is the final fit
    if reduce == "umap" and k in fits:
        return _nearest(x, _centers(xs, fits[k], k)), scores  # UMAP saw the subsample; the rest join its nearest
    if algorithm == "kmeans" and n_clusters is None:
        # the whole input, started from the subsample fit that chose k (skips k-means++ on all points)
        init = cluster_means(xs, fits[k], k) if k in fits and len(np.unique(fits[k])) == k else None
        return _kmeans(x, k, random_state, minibatch_above, n_init=n_init, init=init), scores
    if algorithm == "kmeans":
        return _kmeans(x, k, random_state, minibatch_above), scores
    if n * k * x.shape[1] ** 2 <= FULL_GMM_BUDGET:
        return _gmm(x, k, random_state), scores  # the paper protocol: scikit-learn defaults, full covariance
    # Full covariance costs O(n k d^2) per EM step: beyond the budget use the diagonal GMM on the
    # PCA projection that BIC scored, on the subsample; other points go to the nearest centroid.
    sub, k = _relabel(_gmm(_pca(xs, random_state), k, random_state, covariance_type="diag"))
    return (sub if n <= sample_size else _nearest(x, _centers(xs, sub, k))), scores


def _fit_agglomerative(x: np.ndarray, sample: np.ndarray, n_clusters: int | None, min_k: int, max_k: int,
                       distance_threshold: float, notes: list[str]) -> np.ndarray:
    """Average-linkage cosine agglomerative on the subsample (k given, else the distance threshold, clamped)."""
    xs = x[sample]
    if n_clusters is not None:
        model = AgglomerativeClustering(n_clusters=n_clusters, metric="cosine", linkage="average")
    else:
        model = AgglomerativeClustering(
            n_clusters=None, distance_threshold=distance_threshold, metric="cosine", linkage="average"
        )
    xc = _centred(xs)
    sub, k = _relabel(model.fit_predict(xc))
    if n_clusters is None and not min_k <= k <= max_k:
        clamped = min(max(k, min_k), max_k)
        notes.append(f"agglomerative threshold gave {k} clusters; clamped to {clamped} (min_k/max_k)")
        sub, k = _relabel(AgglomerativeClustering(n_clusters=clamped, metric="cosine", linkage="average").fit_predict(xc))
    return sub if len(x) <= len(sample) else _nearest(x, _centers(xs, sub, k))


def _fit_spectral(x: np.ndarray, sample: np.ndarray, n_clusters: int | None, min_k: int, max_k: int,
                  random_state: int, spectral: tuple[int, int]) -> tuple[np.ndarray, dict[int, float]]:
    """Spectral clustering on the subsample (eigengap k); the rest join the nearest cluster."""
    xs = x[sample]
    sub, k, scores, empty = _spectral(xs, n_clusters, min_k, max_k, random_state, *spectral)
    labels = sub
    if len(x) > len(sample):  # the rest join the nearest cluster; rows with nothing read, the empty one
        labels = _nearest(x, _centers(xs, sub, k))  # the empty cluster's centre is zero: it takes the zero rows
        zero = empty_rows(x)
        if empty is None and zero.any():
            labels[zero] = k  # none in the subsample: a cluster of their own
    return labels, scores


def _fit_hdbscan(x: np.ndarray, sample: np.ndarray, min_k: int, max_k: int, random_state: int,
                 minibatch_above: int, min_cluster_size: int | None, notes: list[str]) -> np.ndarray:
    """HDBSCAN on the centred subsample, noise joining the nearest cluster; k-means where k leaves [min_k, max_k]."""
    xs = x[sample]
    size = min_cluster_size or max(5, len(xs) // 200)
    raw = HDBSCAN(min_cluster_size=min(size, len(xs)), copy=True).fit_predict(_centred(xs))
    found = raw >= 0
    k_found = len(set(raw[found].tolist()))
    if not min_k <= k_found <= max_k:
        clamped = min(max(k_found, min_k), max_k)
        notes.append(f"hdbscan found {k_found} clusters; fell back to k-means with k={clamped} (min_k/max_k)")
        return _kmeans(x, clamped, random_state, minibatch_above)
    sub_labels, k_found = _relabel(raw[found])
    centers = _centers(xs[found], sub_labels, k_found)
    labels = _nearest(x, centers)
    labels[sample[found]] = sub_labels
    if (~found).any():
        notes.append(f"hdbscan left {int((~found).sum())} sampled points as noise; they joined the nearest cluster")
    return labels

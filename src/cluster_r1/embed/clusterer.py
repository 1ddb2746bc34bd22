"""``EmbeddingClusterer`` (scikit-learn estimator) and ``embed_cluster`` (one call -> Clustering)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from ..errors import InputError
from ..granularity import Granularity
from ..types import Cluster, Clustering, Usage
from .cluster import PAPER_RANDOM_STATE, check_algorithm, cluster_embeddings, default_max_k, nearest_centre
from .embedders import Embedder, embed_texts, get_embedder
from .hierarchy import Levels, build_levels
from .naming import representatives
from .options import EmbedOptions
from .sample import FIT_SAMPLE, in_fit_sample, place_rest, sample_note
from .templates import Template, auto_templates
from .views import Route, keyword_names, route_instruction, view_algorithm, view_embedder

__all__ = ["EmbeddingClusterer", "embed_cluster", "embed_for_clustering", "check_inputs"]

logger = logging.getLogger(__name__)

#: The stage name naming reports progress under.
NAME_STAGE = "naming"


def check_inputs(texts: Any, n_clusters: int | None, min_k: int, max_k: int | None) -> list[str]:
    """Validate texts and k bounds; return the texts as a list. Raises :class:`InputError`."""
    if isinstance(texts, str):
        raise InputError("texts is one string: pass a list of texts, e.g. [text1, text2, ...]")
    texts = list(texts)
    if len(texts) < 2:
        raise InputError(f"got {len(texts)} text(s): clustering needs at least 2 texts")
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InputError(f"text {bad} is a {type(texts[bad]).__name__}, not a string: pass strings only")
    n = len(texts)
    if n_clusters is not None and not 1 <= n_clusters <= n:
        raise InputError(f"n_clusters={n_clusters} but there are {n} texts: pass 1 <= n_clusters <= {n}")
    if min_k < 1:
        raise InputError(f"min_k={min_k}: pass min_k >= 1")
    if max_k is not None and min_k > max_k:
        raise InputError(f"min_k={min_k} > max_k={max_k}: pass min_k <= max_k")
    if min_k > n:
        raise InputError(f"min_k={min_k} but there are {n} texts: pass min_k <= {n}")
    return texts


def embed_for_clustering(
    texts: Sequence[str],
    instruction: str = "",
    *,
    embedder: Embedder | str | None = None,
    template: str | Template = "auto",
    k_free: bool = True,
    mix: bool = False,
    cache_dir: str | Path | bool | None = None,
    progress: bool | Callable[[str, int, int, str], None] = False,
) -> np.ndarray:
    """The vectors :class:`EmbeddingClusterer` clusters: :func:`embed_texts` under the templates of
    :func:`~cluster_r1.embed.templates.auto_templates` when ``template="auto"``.

    A given k (``k_free=False``, the paper protocol), an instruction-tuned family or an explicit
    template: exactly ``embed_texts``. A k-free run of an encoder that is not instruction-tuned (its
    template is the sentence-transformers one, e.g. the bundled MiniLM): the plain texts
    (``template="none"``); with ``mix=True`` and a non-empty instruction, each text embedded under
    the paper's template and with no template, the two unit vectors summed and renormalised.
    """
    model = get_embedder(embedder)
    names: tuple[str | Template, ...]
    if not isinstance(template, str) or template != "auto":
        names = (template,)
    else:
        names = auto_templates(
            getattr(model, "family", "sentence-transformers"), k_free=k_free, mix=mix and bool(instruction.strip())
        )
    parts = [embed_texts(texts, instruction, embedder=model, template=t, cache_dir=cache_dir, progress=progress)
             for t in names]
    if len(parts) == 1:
        return parts[0]
    x = np.sum(parts, axis=0)
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class EmbeddingClusterer(ClusterMixin, BaseEstimator):
    """Embed texts under an instruction, then cluster (App. E.1 baselines, plus k-free selection).

    ``fit(texts)`` sets ``labels_`` (0-based), ``n_clusters_``, ``cluster_names_``,
    ``cluster_descriptions_``, ``representatives_`` (0-based indices nearest each centroid),
    ``embeddings_``, ``centers_``, ``k_scores_`` (k -> selection score) and ``result_`` (a
    :class:`~cluster_r1.types.Clustering` with 1-based items). If all texts are identical the
    result is one cluster and ``result_.notes`` says so (no error: it is a valid partition).
    ``n_clusters`` forces k (the paper protocol: K-means, ``random_state=43``); without it
    ``algorithm="auto"`` picks k (see :mod:`cluster_r1.embed.cluster`). ``mix=True`` (k-free runs
    of a non-instruction-tuned encoder only) clusters the template and no-template vectors summed,
    see :func:`embed_for_clustering`; off by default. ``reduce="umap"`` (k-free K-means, optional
    extra ``umap``): choose k and cluster on a 5-d UMAP projection, see :func:`cluster_embeddings`.
    ``centred=False``: k-free K-means on the raw vectors instead of the mean-centred ones (the default).
    ``view``: ``"semantic"`` clusters the encoder's vectors, ``"style"`` the texts' form
    (:class:`~cluster_r1.embed.style.StyleEmbedder`), ``"language"`` their letter sequences
    (:class:`~cluster_r1.embed.language.LanguageEmbedder`); ``"auto"`` (default) routes by the instruction
    when no ``embedder`` is given (:func:`~cluster_r1.embed.views.route_instruction`), else semantic.
    ``route_`` is the :class:`~cluster_r1.embed.views.Route` taken. ``progress``: ``True`` shows a
    tqdm bar while embedding; a callable ``progress(stage, done, total, detail)`` hears every long
    stage (embedding, choosing k, naming), as the CLI's live progress does.
    """

    def __init__(
        self,
        *,
        instruction: str = "",
        n_clusters: int | None = None,
        min_k: int = 2,
        max_k: int | None = None,
        embedder: Embedder | str | None = None,
        template: str | Template = "auto",
        algorithm: str = "auto",
        random_state: int = PAPER_RANDOM_STATE,
        cache_dir: str | Path | bool | None = None,
        progress: bool | Callable[[str, int, int, str], None] = False,
        mix: bool = False,
        reduce: str | None = None,
        centred: bool | None = None,
        view: str = "auto",
        fit_sample: int = FIT_SAMPLE,
    ) -> None:
        self.instruction = instruction
        self.n_clusters = n_clusters
        self.min_k = min_k
        self.max_k = max_k
        self.embedder = embedder
        self.template = template
        self.algorithm = algorithm
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.progress = progress
        self.mix = mix
        self.reduce = reduce
        self.centred = centred
        self.view = view
        self.fit_sample = fit_sample

    def _route(self) -> Route:
        """The view to cluster; an unknown ``view`` is rejected by :func:`view_embedder`."""
        if self.view != "auto":
            return Route(self.view, "given")
        if self.embedder is None and self.instruction.strip():
            return route_instruction(self.instruction, cache_dir=self.cache_dir)
        return Route("semantic", "given")

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return embed_for_clustering(
            texts,
            self.instruction,
            embedder=self._embedder,
            template=self.template,
            k_free=self.n_clusters is None,
            mix=self.mix,
            cache_dir=self.cache_dir,
            progress=self.progress,
        )

    def fit(self, X: Sequence[str], y: Any = None) -> EmbeddingClusterer:
        texts = check_inputs(X, self.n_clusters, self.min_k, self.max_k)
        check_algorithm(self.algorithm, self.n_clusters)  # before embedding: a bad pair costs nothing
        start = time.perf_counter()
        self.route_ = self._route()
        self._embedder = get_embedder(view_embedder(self.route_.view, self.embedder))
        notes: list[str] = [self.route_.note()] if self.route_.view != "semantic" else []
        n_distinct = len(set(texts))
        if self.n_clusters is not None and self.n_clusters > n_distinct:
            raise InputError(
                f"n_clusters={self.n_clusters} but only {n_distinct} distinct texts: pass n_clusters <= {n_distinct}"
            )
        x = self._embed(texts)
        return self.fit_vectors(texts, x, start=start, notes=notes)

    def fit_vectors(self, texts: Sequence[str], x: np.ndarray, *, start: float | None = None,
                    notes: list[str] | None = None) -> EmbeddingClusterer:
        """Cluster ``texts`` by their vectors ``x`` (one row each, as :meth:`fit` embeds them); past
        ``fit_sample`` texts, k, the clusters and their names come from the texts :func:`in_fit_sample` keeps,
        and every other text takes the nearest centroid. The Ray engine fits its sample here too."""
        texts = list(texts)
        start = time.perf_counter() if start is None else start
        notes = list(notes or [])
        if not hasattr(self, "route_"):
            self.route_ = self._route()
            self._embedder = get_embedder(view_embedder(self.route_.view, self.embedder))
        kept = in_fit_sample(texts, self.fit_sample, self.random_state)
        if kept is not None:
            sample = np.flatnonzero(kept)
            labels, centers, scores = self._cluster([texts[i] for i in sample], x[sample], notes)
            labels = place_rest(x, sample, labels, centers)
            notes.append(sample_note(len(texts), len(sample), self.fit_sample))
        else:
            labels, centers, scores = self._cluster(texts, x, notes)
        return self._finish(texts, x, labels, centers, scores, notes, start, kept)

    def _cluster(self, texts: list[str], x: np.ndarray,
                 notes: list[str]) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
        """(labels, centroids, k scores) of the rows of ``x``; the choice is added to ``notes``."""
        n_distinct = len(set(texts))
        if n_distinct == 1:
            notes.append("all texts are identical: returned one cluster")
            return np.zeros(len(texts), dtype=np.int64), x[:1].copy(), {}
        max_k = n_distinct if self.max_k is None else min(self.max_k, n_distinct)
        if self.max_k is None:
            max_k = min(max_k, default_max_k(len(texts)))
        options: dict[str, Any] = {}
        if self.reduce is not None:
            options["reduce"] = self.reduce
        if self.centred is not None:
            options["centred"] = self.centred
        fit = cluster_embeddings(
            x,
            progress=self.progress if callable(self.progress) else None,
            n_clusters=self.n_clusters,
            algorithm=view_algorithm(self.route_.view, self.algorithm, self.n_clusters, len(texts)),
            min_k=min(self.min_k, max_k),
            max_k=max_k,
            random_state=self.random_state,
            **options,
        )
        how = "given" if self.n_clusters is not None else ("chosen" if fit.scores else "the only candidate")
        notes.append(f"algorithm={fit.algorithm}, k={fit.n_clusters} ({how})")
        notes.extend(fit.notes)
        return fit.labels, fit.centers, fit.scores

    def _finish(self, texts: list[str], x: np.ndarray, labels: np.ndarray, centers: np.ndarray,
                scores: dict[int, float], notes: list[str], start: float, kept: np.ndarray | None) -> EmbeddingClusterer:
        """Names (from the fit sample's texts past ``fit_sample``), the result and the fitted attributes."""
        report = self.progress if callable(self.progress) else None
        k_found = int(labels.max()) + 1
        if report is not None:
            report(NAME_STAGE, 0, k_found, "")
        named = np.flatnonzero(kept) if kept is not None else np.arange(len(texts))
        names, descriptions, local = self._names([texts[i] for i in named], x[named], labels[named], centers)
        built = self._levels(labels, centers, names, descriptions, [texts[i] for i in named], x[named],
                             named=named if kept is not None else None, x_all=x if kept is None else None)
        if built.chosen != built.default:  # the level the instruction asks for is the answer
            labels, centers, names, descriptions = built.labels, built.centers, built.names, built.descriptions
            local = representatives(x[named], labels[named], centers)
        notes.extend(built.notes())
        reps = [named[r].tolist() for r in local]
        if report is not None:
            report(NAME_STAGE, k_found, k_found, "")
        self.result_: Clustering = with_levels(self._result(labels, names, descriptions, notes, start), built)
        self.levels_ = built
        order = list(dict.fromkeys(labels.tolist()))
        remap = {c: i for i, c in enumerate(order)}
        self.labels_ = np.array([remap[c] for c in labels.tolist()], dtype=np.int64)
        self.centers_ = centers[order]
        self.representatives_ = [reps[c] for c in order]
        self.embeddings_ = x
        self.k_scores_ = scores
        self.clusters_: list[Cluster] = self.result_.clusters
        self.n_clusters_ = self.result_.n_clusters
        self.cluster_names_ = [c.name for c in self.result_.clusters]
        self.cluster_descriptions_ = [c.description for c in self.result_.clusters]
        return self

    def _levels(self, labels: np.ndarray, centers: np.ndarray, names: list[str], descriptions: list[str],
                texts: list[str], x: np.ndarray, *, named: np.ndarray | None,
                x_all: np.ndarray | None) -> Levels:
        """The hierarchy around the fitted clusters (:func:`~.hierarchy.build_levels`), the other levels named from
        ``texts`` (every text, or the fit sample at ``named``); a given ``n_clusters`` is the answer whatever
        the instruction's words."""
        return build_levels(labels, centers, names, descriptions, texts=texts, x=x, named=named, x_all=x_all,
                            family=str(getattr(self._embedder, "family", None)), instruction=self.instruction,
                            ask=Granularity() if self.n_clusters is not None else None,
                            random_state=self.random_state)

    def _result(self, labels: np.ndarray, names: list[str], descriptions: list[str], notes: list[str],
                start: float) -> Clustering:
        """The result of fit ids ``labels`` with their ``names``: clusters numbered by first appearance."""
        order = list(dict.fromkeys(labels.tolist()))
        return Clustering.from_labels(
            labels.tolist(),
            names=[names[c] for c in order],
            descriptions=[descriptions[c] for c in order],
            method="embed",
            model=str(getattr(self._embedder, "name", type(self._embedder).__name__)),
            usage=Usage(seconds=time.perf_counter() - start),
            notes=notes,
        )

    def _names(self, texts: list[str], x: np.ndarray, labels: np.ndarray,
               centers: np.ndarray) -> tuple[list[str], list[str], list[list[int]]]:
        """(names, descriptions, representatives) of each cluster id, from these texts (keywords, no model)."""
        reps = representatives(x, labels, centers)
        names, descriptions = keyword_names(str(getattr(self._embedder, "family", None)), texts, labels, reps)
        return names, descriptions, reps

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Assign new texts to the nearest fitted centroid (0-based labels)."""
        if not hasattr(self, "centers_"):
            raise InputError("this EmbeddingClusterer is not fitted yet: call fit(texts) first")
        texts = list(X)
        if not texts:
            return np.zeros(0, dtype=np.int64)
        return nearest_centre(self._embed(texts), self.centers_)


def with_levels(result: Clustering, built: Levels) -> Clustering:
    """``result`` carrying the hierarchy ``built`` (none when it has a single level); in place."""
    if len(built.levels) > 1:
        result.levels, result.level = built.levels, built.chosen + 1
    return result


def embed_cluster(
    texts: Sequence[str],
    instruction: str = "",
    *,
    n_clusters: int | None = None,
    **options: Any,
) -> Clustering:
    """Embed ``texts`` under ``instruction`` and cluster them; see :class:`EmbeddingClusterer`.

    ``options`` are the estimator's other settings (:class:`~.options.EmbedOptions`: ``algorithm="gmm"``,
    ``embedder=...``); a misspelled one is one :class:`~cluster_r1.errors.ConfigError` naming the valid ones.
    """
    est = EmbeddingClusterer(instruction=instruction, n_clusters=n_clusters, **EmbedOptions.of(options).kwargs())
    return est.fit(texts).result_

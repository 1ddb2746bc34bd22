"""The offline default over a Ray Dataset, for corpora that need not fit this machine.

``cluster_dataset(read_corpus("s3://bucket/tickets/*.parquet"), "by root cause")`` runs the same algorithm
as :class:`~.clusterer.EmbeddingClusterer`, spread over a Ray cluster:

1. the texts read into the cluster's object store (not this machine), then embedded by actors that load the
   encoder once (:meth:`~cluster_r1.engine.ray.RayEngine.map_column`);
2. within ``fit_sample`` texts, all of them are fitted here exactly as the estimator fits them; past it, the
   texts :mod:`.sample` keeps (a per-text rule, so the same texts as in one process) come to this machine and
   are fitted there, k, clusters and names;
3. every other text takes its nearest centroid, computed by the actors; the labels stream back in the corpus
   order, so this machine holds the sample's vectors and one label per text, never the corpus.

With the same seeds it gives the partition the local engine gives (the vectors equal up to float rounding).
Needs ``pip install "cluster-r1[ray]"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.ray import NODE, RayEngine, ordered
from ..errors import InputError
from ..types import Clustering, ProgressFn, null_progress
from .cluster import nearest_centre
from .clusterer import EmbeddingClusterer, embed_for_clustering, with_levels
from .embedders import get_embedder
from .options import EmbedOptions
from .sample import kept_by, sample_note, sample_threshold
from .views import view_embedder

__all__ = ["read_corpus", "cluster_dataset", "TEXT"]

#: The column the texts are read into.
TEXT = "text"
#: Texts per actor call: one encoder batch of a few seconds.
BATCH = 256
_READERS = {".txt": "read_text", ".jsonl": "read_json", ".json": "read_json", ".csv": "read_csv",
            ".parquet": "read_parquet"}


def read_corpus(path: str | Path, *, text_column: str = "text", engine: RayEngine | None = None) -> Any:
    """A Ray Dataset of the texts at ``path`` (a file, a folder or a glob; local or any filesystem URL Ray reads:
    ``s3://``, ``gs://``, ...), read by its suffix: ``.txt`` (one text per line), ``.jsonl``/``.json`` and
    ``.csv`` (the ``text_column`` field) or ``.parquet``, in one column :data:`TEXT`."""
    ray = (engine or RayEngine()).connect()
    name = str(path).rstrip("/")
    suffix = Path(name.split("?")[0]).suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise InputError(f"cannot tell the format of {path}: name a .txt, .jsonl, .json, .csv or .parquet path")
    try:
        ds = getattr(ray.data, reader)(name)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or folder") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    if reader == "read_text":
        return ds
    if text_column not in ds.columns():
        raise InputError(f"{path} has no column {text_column!r} (it has {', '.join(ds.columns())}): pass the "
                         "right --text-field / --text-column")
    return ds.select_columns([text_column]).rename_columns({text_column: TEXT}) if text_column != TEXT else \
        ds.select_columns([TEXT])


class _EmbedRows:
    """The estimator's embedding as batch work: the encoder loaded once per actor."""

    def __init__(self, spec: Any, instruction: str, template: Any, k_free: bool, mix: bool, cache_dir: Any) -> None:
        self.spec, self.instruction, self.template = spec, instruction, template
        self.k_free, self.mix, self.cache_dir = k_free, mix, cache_dir

    def setup(self) -> Callable[[list[str]], np.ndarray]:
        model = get_embedder(self.spec)

        def encode(batch: list[str]) -> np.ndarray:
            return embed_for_clustering(batch, self.instruction, embedder=model, template=self.template,
                                        k_free=self.k_free, mix=self.mix, cache_dir=self.cache_dir)

        return encode


class _Nearest:
    """The nearest centroid of each vector, as batch work."""

    def __init__(self, centers: np.ndarray) -> None:
        self.centers = centers

    def setup(self) -> Callable[[list[np.ndarray]], np.ndarray]:
        return lambda batch: nearest_centre(np.stack(batch), self.centers)


def cluster_dataset(
    ds: Any,
    instruction: str = "",
    *,
    n_clusters: int | None = None,
    options: EmbedOptions | dict[str, Any] | None = None,
    engine: RayEngine | None = None,
    shards_to: str | Path | None = None,
    progress: ProgressFn = null_progress,
) -> Clustering:
    """Cluster the :data:`TEXT` column of the Ray Dataset ``ds`` by ``instruction``; see the module docstring.

    ``options``: the estimator's (:class:`~.options.EmbedOptions`; ``progress`` is not heard here); its
    ``fit_sample`` bound is :data:`~.sample.FIT_SAMPLE` unless the options say otherwise. The labels follow the
    rows' order. ``shards_to``: a folder that gets one row per text (``text``, ``label``, ``cluster``: the result's
    1-based label and its cluster's name) in Parquet shards, written by the cluster. ``progress``: rows embedded
    (streamed within the bound; at the start and the end of the pass past it) and rows placed, per stage.
    """
    start = time.perf_counter()
    engine = engine or RayEngine()
    settings = EmbedOptions.of(options)
    est = EmbeddingClusterer(instruction=instruction, n_clusters=n_clusters,
                             **{**settings.kwargs(), "progress": False})
    est.route_ = est._route()
    spec = view_embedder(est.route_.view, est.embedder)
    est._embedder = get_embedder(spec)
    work = _EmbedRows(spec, instruction, est.template, n_clusters is None, est.mix, est.cache_dir)
    # read first: actors that hold every CPU would leave none to the read tasks that feed them. Every dataset
    # made from this one keeps its rows in order (it carries this one's context).
    texts_ds = ordered(ds).materialize()
    n = texts_ds.count()
    if n < 2:
        raise InputError(f"need at least 2 texts to cluster, got {n}")
    blank = texts_ds.filter(lambda row: not str(row[TEXT]).strip()).count()
    if blank:  # nothing is dropped silently: a blank line is an error here as in a local read
        raise InputError(f"{blank} of the {n} texts are blank; remove blank lines (one text per line)")
    vectors = engine.map_column(texts_ds, work, source=TEXT, target="vector", batch_size=BATCH)
    notes = [est.route_.note()] if est.route_.view != "semantic" else []
    threshold = sample_threshold(n, est.fit_sample)
    progress("embed", 0, n, "on the Ray cluster")
    if threshold is None:  # within the bound: every text here, fitted as the estimator fits them
        texts, x = _gather(vectors, engine, lambda done: progress("embed", done, n, "on the Ray cluster"))
        progress("fit", 0, 1, f"{n} texts")
        result = est.fit_vectors(texts, x, start=start, notes=notes).result_
        progress("fit", 1, 1, f"{result.n_clusters} clusters")
    else:
        result = _fit_sample_and_place(vectors, est, threshold, n, notes, engine, start, progress)
    result.notes.extend(engine.notes())
    if shards_to is not None:
        _write_shards(texts_ds, result, shards_to)
    return result


def _write_shards(texts: Any, result: Clustering, folder: str | Path) -> None:
    """``texts`` beside the result's labels and cluster names, written as Parquet shards by the cluster."""
    import ray

    names = np.array([c.name for c in result.clusters], dtype=object)
    labels = ray.data.from_numpy(np.asarray(result.labels, dtype=np.int64)).rename_columns({"data": "label"})

    def name(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**batch, "cluster": names[np.asarray(batch["label"]) - 1]}

    rows = texts.select_columns([TEXT]).zip(labels)
    rows.map_batches(name, batch_format="numpy").write_parquet(str(folder))


def _gather(ds: Any, engine: RayEngine, done: Callable[[int], None] | None = None) -> tuple[list[str], np.ndarray]:
    """The texts and vectors of ``ds`` on this machine, in order (``done(rows so far)`` after each batch)."""
    texts: list[str] = []
    rows: list[np.ndarray] = []
    for batch in ds.iter_batches(batch_size=4096, batch_format="numpy"):
        texts.extend(str(t) for t in batch[TEXT])
        rows.append(np.asarray(batch["vector"], dtype=np.float32))
        if NODE in batch:
            engine.count_nodes(batch[NODE])
        if done is not None:
            done(len(texts))
    return texts, np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def _fit_sample_and_place(vectors: Any, est: EmbeddingClusterer, threshold: int, n: int, notes: list[str],
                          engine: RayEngine, start: float, progress: ProgressFn) -> Clustering:
    """Past the bound: the sample fitted here, every other text placed by the actors, labels streamed back."""
    seed = est.random_state

    def mark(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**batch, "kept": kept_by((str(t) for t in batch[TEXT]), threshold, seed)}

    marked = vectors.map_batches(mark, batch_format="numpy").materialize()
    progress("embed", n, n, "on the Ray cluster")
    texts, x = _gather(marked.filter(lambda row: bool(row["kept"])), engine)
    progress("fit", 0, 1, f"a sample of {len(texts)} texts")
    labels_s, centers, scores = est._cluster(texts, x, notes)
    names, descriptions, _ = est._names(texts, x, labels_s, centers)
    progress("fit", 1, 1, f"{len(names)} clusters")
    placed = engine.map_column(marked.select_columns(["vector", "kept"]), _Nearest(centers), source="vector",
                               target="label", batch_size=4 * BATCH)
    labels = np.empty(n, dtype=np.int64)
    sampled: list[np.ndarray] = []  # the positions of the sample's rows
    at = taken = 0
    # only the small columns come to this machine: the vectors stay on the cluster
    for batch in placed.select_columns(["label", "kept", NODE]).iter_batches(batch_size=8192, batch_format="numpy"):
        got = np.array(batch["label"], dtype=np.int64)  # a copy: Ray hands read-only arrays
        kept = np.asarray(batch["kept"], dtype=bool)
        got[kept] = labels_s[taken : taken + int(kept.sum())]  # the sample's rows keep the fit's labels, in order
        sampled.append(at + np.flatnonzero(kept))
        taken += int(kept.sum())
        labels[at : at + len(got)] = got
        at += len(got)
        engine.count_nodes(batch[NODE])
        progress("place", at, n, "nearest centroid, on the Ray cluster")
    if at != n or taken != len(texts):
        raise RuntimeError(f"the Ray engine placed {at} of {n} texts ({taken} of {len(texts)} sampled)")
    notes.append(sample_note(n, len(texts), est.fit_sample))
    # the levels as one process builds them past the bound: above the clusters, named from the sample
    built = est._levels(labels, centers, names, descriptions, texts, x, named=np.concatenate(sampled), x_all=None)
    if built.chosen != built.default:
        labels, names, descriptions = built.labels, built.names, built.descriptions
    notes.extend(built.notes())
    return with_levels(est._result(labels, names, descriptions, notes, start), built)

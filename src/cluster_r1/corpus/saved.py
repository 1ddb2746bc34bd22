"""Saved clusterers: what places new texts into the clusters of a finished run, with stable ids.

``save(model, DIR)`` writes ``DIR/clusterer.json``: the taxonomy (stable ids, names,
descriptions, criteria), the embedder's name, view and template, the vectors' centre, the
topic centroids, the classifier's weights, the similarity floor under which a text fits
none, and the settings. No secrets: no server URL, no key. :func:`load` reads it back,
refusing a folder that is not a saved clusterer with one clear line.

:func:`place` embeds new texts the same way and puts each into a saved topic: by the
classifier (or the nearest centroid), or with a model server in ``llm`` / ``hybrid`` mode by
the model. A text below the floor, or one the model says fits none, is flagged and goes into
``Other``; with ``discover`` those texts become new topics with new ids (the old ids never move).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..agent.options import AgentOptions
from ..backends.base import Backend
from ..errors import ConfigError, InputError
from ..io import write_atomic
from ..notices import drain as drain_notices
from ..types import Clustering, Level
from .assign import Assignment, Batching, batch_size, centroids, classify_llm, own_similarity
from .calls import Tally
from .context import ScaleModel, centre_rows
from .taxonomy import OTHER, Taxonomy

if TYPE_CHECKING:
    from ..embed.options import EmbedOptions

__all__ = ["FORMAT", "save", "load", "place", "model_from_result", "saved_levels", "place_levels"]

FORMAT = "cluster-r1/clusterer"
VERSION = 1
FILE = "clusterer.json"


def save(model: ScaleModel, folder: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``folder/clusterer.json`` (atomically); returns the file's path."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError(f"--save {path}: it is a file; give a folder for the saved clusterer")
    data = {
        "format": FORMAT,
        "version": VERSION,
        "taxonomy": model.taxonomy.to_dict(),
        "embedder": model.embedder,
        "view": model.view,
        "template": model.template,
        "assign": model.assign,
        "mean": np.asarray(model.mean, dtype=np.float32).round(7).tolist(),
        "centres": np.asarray(model.centres, dtype=np.float32).round(7).tolist(),
        "classifier": model.classifier,
        "floor": model.floor,
        "settings": {k: v for k, v in model.settings.items() if _jsonable(v)},
        "levels": model.levels,
    }
    out = path / FILE
    write_atomic(out, json.dumps(data, ensure_ascii=False) + "\n")
    return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def load(folder: str | os.PathLike[str]) -> ScaleModel:
    """Read a saved clusterer; :class:`InputError` with one clear line for a missing or foreign folder."""
    path = Path(folder)
    if not path.exists():
        raise InputError(f"{path}: no such folder; give the folder a run saved with --save")
    file = path / FILE if path.is_dir() else path
    if not file.is_file():
        raise InputError(f"{path} holds no saved clusterer ({FILE} is missing); save one with cluster ... --save {path}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{file} is not a saved clusterer or is damaged (not valid JSON); save the clusterer "
                         "again with cluster ... --save") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(f"{file} is not a cluster-r1 saved clusterer; save one with cluster ... --save")
    if int(data.get("version", 0)) > VERSION:
        raise InputError(f"{file} was saved by a newer cluster-r1 (version {data.get('version')}); upgrade to read it")
    try:
        taxonomy = Taxonomy.from_dict(data["taxonomy"])
        centres = np.asarray(data["centres"], dtype=np.float32)
        mean = np.asarray(data["mean"], dtype=np.float32)
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{file} is damaged (taxonomy or centroids missing); save the clusterer again") from None
    if centres.ndim != 2 or len(centres) != len(taxonomy) or centres.shape[1] != mean.shape[-1]:
        raise InputError(f"{file} is damaged ({len(taxonomy)} topics but centroids of shape {centres.shape})")
    if not (np.isfinite(centres).all() and np.isfinite(mean).all()):
        raise InputError(f"{file} is damaged (centroids that are not numbers); save the clusterer again")
    _check_classifier(file, data.get("classifier"), centres.shape[1])
    floor = data.get("floor")
    if floor is not None and not isinstance(floor, (int, float)):
        raise InputError(f"{file} is damaged (floor {str(floor)[:40]!r} is not a number); save the clusterer again")
    levels = data.get("levels")
    if levels is not None and not _levels_ok(levels, len(taxonomy), centres.shape[1]):
        raise InputError(f"{file} is damaged (its topic levels do not fit its topics); save the clusterer again")
    return ScaleModel(taxonomy=taxonomy, centres=centres, mean=mean, embedder=str(data.get("embedder", "")),
                      view=str(data.get("view", "semantic")), template=str(data.get("template", "auto")),
                      assign=str(data.get("assign", "embed")), classifier=data.get("classifier"),
                      floor=data.get("floor"), settings=dict(data.get("settings") or {}), levels=levels)


def _levels_ok(levels: Any, topics: int, width: int) -> bool:
    """A saved hierarchy's shape: names, descriptions and parents per level, the answer level one per topic, the
    levels below it with a centroid per cluster."""
    try:
        answer, rows = int(levels["answer"]), levels["levels"]
        sizes = [len(r["names"]) for r in rows]
        if not 0 <= answer < len(rows) or sizes[answer] != topics:
            return False
        for i, r in enumerate(rows):
            if len(r["descriptions"]) != sizes[i] or len(r["parents"]) != sizes[i]:
                return False
            if any((p is None) != (i == 0) or (p is not None and not 0 <= int(p) < sizes[i - 1]) for p in r["parents"]):
                return False
            if i > answer and np.asarray(r["centres"], dtype=np.float32).shape != (sizes[i], width):
                return False
        return True
    except (KeyError, TypeError, ValueError, IndexError):
        return False


def _check_classifier(file: Path, clf: Any, width: int) -> None:
    """A saved classifier must be the weights :func:`_classify` reads, of the centroids' width."""
    if not clf:
        return
    try:
        coef = np.asarray(clf["coef"], dtype=np.float64)
        intercept = np.asarray(clf["intercept"], dtype=np.float64)
        classes = np.asarray(clf["classes"], dtype=np.int64)
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{file} is damaged (the classifier's weights are missing or not numbers); save the "
                         "clusterer again") from None
    rows = max(len(classes), 1) if len(classes) != 2 else 1
    if coef.ndim != 2 or coef.shape != (rows, width) or intercept.shape != (rows,) or not np.isfinite(coef).all():
        raise InputError(f"{file} is damaged (classifier of shape {coef.shape} for {len(classes)} topics of width "
                         f"{width}); save the clusterer again")


def _vectors(model: ScaleModel, texts: Sequence[str], embed_options: EmbedOptions | dict[str, Any] | None
             ) -> np.ndarray:
    from ..embed.clusterer import embed_for_clustering
    from ..embed.embedders import get_embedder
    from ..embed.options import EmbedOptions
    from ..embed.views import OWN_EMBEDDER_VIEWS, view_embedder

    options = EmbedOptions.of(embed_options)
    # the form and language views' embedder is the view itself; any other is named as it was saved
    # (--embedder overrides)
    own = model.view in OWN_EMBEDDER_VIEWS
    spec = options.embedder or (None if own or not model.embedder else model.embedder)
    embedder = get_embedder(view_embedder(model.view, spec))
    # a clusterer saved before templates were recorded by name says "auto", which then meant the App. E.1
    # template (k_free=False gives it); newer files name the template they were fitted with
    raw = embed_for_clustering(texts, model.taxonomy.instruction, embedder=embedder, template=model.template,
                               k_free=model.template != "auto", cache_dir=options.cache_dir,
                               progress=bool(options.progress))
    return centre_rows(raw, model.mean)


def _classify(model: ScaleModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(topic position, confidence) per row: the saved classifier, else the nearest centroid. A text the
    view read nothing in goes to the topic of such texts (a zero centroid), confidence 1, where there is one."""
    from ..embed.cluster import empty_rows, nearest_centre

    k = len(model.taxonomy)
    clf = model.classifier
    if clf:
        coef, intercept = np.asarray(clf["coef"]), np.asarray(clf["intercept"])
        classes = np.asarray(clf["classes"], dtype=np.int64)
        z = x @ coef.T + intercept
        if z.shape[1] == 1:  # binary logistic regression keeps one column
            z = np.hstack([-z, z])
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        top = np.argmax(p, axis=1)
        topics = classes[top]
        ok = topics < k
        best, conf = np.where(ok, topics, 0), np.where(ok, p[np.arange(len(p)), top], 0.0)
    else:
        sims = x @ model.centres.T
        best = nearest_centre(x, model.centres)
        z = (sims - sims.max(axis=1, keepdims=True)) / 0.05
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        conf = p[np.arange(len(p)), best]
    empty = np.flatnonzero(empty_rows(model.centres))
    zero = empty_rows(x)
    if len(empty) and zero.any():  # the classifier sees only its intercepts there, the centroids a tie
        best[zero], conf[zero] = empty[0], 1.0
    return best, conf


def place(
    model: ScaleModel,
    texts: Sequence[str],
    *,
    backend: Backend | None = None,
    mode: str | None = None,
    discover: bool = False,
    embed_options: EmbedOptions | dict[str, Any] | None = None,
    agent_options: AgentOptions | dict[str, Any] | None = None,
) -> tuple[Clustering, ScaleModel]:
    """Put ``texts`` into the saved topics (stable ids); the result and the model (extended by ``discover``)."""
    import copy
    import time

    texts = list(texts)
    if not texts:
        raise InputError("no texts to place")
    model = copy.deepcopy(model)  # the caller's model stays as saved; the returned one holds any new topics
    start = time.perf_counter()
    mode = mode or ("embed" if backend is None else model.assign)
    if mode in ("llm", "hybrid") and backend is None:
        raise ConfigError(f"saved with assign={mode}: placing by the model needs a server (--base-url URL --model NAME),"
                          " or pass --assign embed")
    taxonomy = model.taxonomy
    k = len(taxonomy)
    x = _vectors(model, texts, embed_options)
    best, conf = _classify(model, x)
    result = Assignment([int(b) for b in best], ["classifier" if model.classifier else "embed"] * len(texts),
                        [float(c) for c in conf])
    sims = own_similarity(x, model.centres[best])
    tally = Tally(keep_replies=False)
    if mode in ("llm", "hybrid") and backend is not None:
        from ..agent.state import estimate_tokens

        if mode == "llm":
            todo = list(range(len(texts)))
        else:
            todo = [int(i) for i in np.argsort(conf, kind="stable")[: max(1, len(texts) // 20)]]
        lengths = [estimate_tokens(t) for t in texts]
        # as the fit decided: one question per text where its model's batches disagreed with single questions
        how = Batching(per_item=bool(model.settings.get("per_item", False)),
                       max_items=int(model.settings.get("batch_items") or batch_size(taxonomy, lengths)))
        got = classify_llm(backend, texts, todo, taxonomy, lengths=lengths, batching=how, tally=tally)
        for i, lab in got.items():
            result.labels[i], result.source[i], result.confidence[i] = lab, "llm", 1.0
    unfit = [i for i, lab in enumerate(result.labels) if lab is None]
    if model.floor is not None:
        unfit += [i for i in range(len(texts)) if result.source[i] != "llm" and sims[i] < model.floor]
    unfit = sorted(set(unfit))
    notes = [f"placed into a saved clusterer of {k} topics (assign={mode})"]
    if discover and len(unfit) >= 2:
        new = _discover(model, texts, x, unfit, backend, embed_options, agent_options, notes)
        for i, t in new.items():
            result.labels[i], result.source[i], result.confidence[i] = t, "discover", 1.0
        unfit = [i for i in unfit if i not in new]
    if unfit:
        other = next((j for j, t in enumerate(taxonomy.topics) if t.name == OTHER), None)
        if other is None:
            taxonomy.add(OTHER, "texts that fit no topic")
            model.centres = np.vstack([model.centres, np.zeros((1, model.centres.shape[1]), dtype=np.float32)])
            other = len(taxonomy) - 1
        for i in unfit:
            result.labels[i], result.source[i] = other, "unfit"
        notes.append(f"{len(unfit)} texts fit no saved topic: cluster {OTHER!r} (flagged 'unfit'); "
                     "--discover makes new topics of them")
    labels = result.complete()
    order = list(dict.fromkeys(labels))
    topics = [taxonomy.topics[t] for t in order]
    usage = tally.usage(time.perf_counter() - start)
    clustering = Clustering.from_labels(
        labels, names=[t.name for t in topics], descriptions=[t.description for t in topics],
        ids=[t.id for t in topics], criteria=[t.criterion for t in topics], method=f"assign ({mode})",
        model=getattr(backend, "model", "") if backend is not None else model.embedder, usage=usage, notes=notes,
        placement=result.source, confidence=[round(float(c), 4) for c in result.confidence],
    )
    if model.levels is not None:
        clustering.levels = place_levels(model.levels, x, labels)
        answer = clustering.levels[int(model.levels["answer"])]
        clustering.level = int(model.levels["answer"]) + 1 if answer.labels == clustering.labels else None
    clustering.notes.extend(drain_notices())
    return clustering, model


def _discover(
    model: ScaleModel, texts: list[str], x: np.ndarray, pool: list[int], backend: Backend | None,
    embed_options: EmbedOptions | dict[str, Any] | None, agent_options: AgentOptions | dict[str, Any] | None, notes: list[str],
) -> dict[int, int]:
    """New topics (appended, new ids) for the texts in ``pool``: by the model when there is one, else offline."""
    taxonomy = model.taxonomy
    sub = [texts[i] for i in pool]
    if backend is not None:
        from .context import ScaleOptions
        from .pipeline import cluster_corpus

        # the taxonomy's source as the fit found it for this model; assign auto: embed for named clusters, else llm
        # up to 2,000 texts and hybrid beyond
        propose = "clusters" if model.settings.get("proposed_by") == "clusters" else "auto"
        opts = ScaleOptions(assign="auto", propose=propose, discover_rounds=0)
        result, _ = cluster_corpus(sub, taxonomy.instruction, backend, options=opts, agent_options=agent_options,
                                   vectors=(x[pool], np.zeros(x.shape[1], dtype=np.float32),
                                            {"embedder": model.embedder, "view": model.view,
                                             "template": model.template}))
    else:
        from ..embed.cluster import cluster_embeddings
        from ..embed.naming import name_clusters, representatives

        if len(sub) < 4:
            return {}
        fit = cluster_embeddings(x[pool], max_k=min(10, len(sub) - 1))
        names, descs = name_clusters(sub, fit.labels, reps=representatives(x[pool], fit.labels, fit.centers))
        order = list(dict.fromkeys(fit.labels.tolist()))  # Clustering numbers clusters by first appearance
        result = Clustering.from_labels(fit.labels.tolist(), names=[names[c] for c in order],
                                        descriptions=[descs[c] for c in order])
    out: dict[int, int] = {}
    added = []
    for cluster in result.clusters:
        topic = taxonomy.add(cluster.name, cluster.description, cluster.criterion)
        added.append(topic)
        for item in cluster.items:
            out[pool[item - 1]] = len(taxonomy) - 1
    new_centres = centroids(x, out, len(taxonomy))[-len(added):]
    model.centres = np.vstack([model.centres, new_centres])
    model.classifier = None  # the saved classifier knows only the old topics: new texts use the centroids
    notes.append(f"discover: {len(pool)} texts fit no saved topic; {len(added)} new topics "
                 f"(ids {', '.join(str(t.id) for t in added)}) made of them")
    return out


def model_from_result(
    texts: Sequence[str], result: Clustering, instruction: str, *, embed_options: EmbedOptions | dict[str, Any] | None = None,
    vectors: tuple[np.ndarray, np.ndarray, dict[str, str]] | None = None, assign: str = "embed",
) -> ScaleModel:
    """A saved-clusterer model for any finished clustering (one-shot agent, offline embed, assisted)."""
    from .assign import fit_classifier
    from .pipeline import _floor, embed_corpus

    x, mean, spec = vectors if vectors is not None else embed_corpus(texts, instruction, embed_options=embed_options)
    taxonomy = Taxonomy(instruction)
    for c in result.clusters:
        if c.id is not None and c.id not in {t.id for t in taxonomy.topics}:
            from .taxonomy import Topic

            taxonomy.topics.append(Topic(c.id, c.name, c.description, c.criterion))
        else:
            taxonomy.add(c.name, c.description, c.criterion)
    labels = {i: lab - 1 for i, lab in enumerate(result.labels)}
    model = ScaleModel(taxonomy=taxonomy, centres=centroids(x, labels, len(taxonomy)), mean=mean,
                       embedder=spec["embedder"], view=spec["view"], template=spec["template"], assign=assign,
                       floor=_floor(x, labels, len(taxonomy)), settings={"instruction": instruction,
                                                                         "method": result.method})
    clf = fit_classifier(x, labels, len(taxonomy)) if len(taxonomy) > 1 else None
    if clf is not None:
        model.classifier = {"coef": clf.coef_.tolist(), "intercept": clf.intercept_.tolist(),
                            "classes": clf.classes_.tolist()}
    for c, topic in zip(result.clusters, taxonomy.topics):
        c.id = topic.id
    model.levels = saved_levels(result, x)
    return model


def saved_levels(result: Clustering, x: np.ndarray) -> dict[str, Any] | None:
    """The result's hierarchy as a saved clusterer keeps it: per level (from the top) the names, descriptions and
    0-based parents; below the answer level, a centroid per cluster (new texts go to the nearest child of their
    cluster one level up). None when the result has no levels or its answer is none of them."""
    if not result.levels or result.level is None or result.levels[result.level - 1].labels != result.labels:
        return None
    answer = result.level - 1
    rows = []
    for i, lv in enumerate(result.levels):
        row: dict[str, Any] = {"names": [c.name for c in lv.clusters],
                               "descriptions": [c.description for c in lv.clusters],
                               "parents": [None if p is None else p - 1 for p in lv.parents]}
        if i > answer:
            ids = {t: lab - 1 for t, lab in enumerate(lv.labels)}
            row["centres"] = np.asarray(centroids(x, ids, lv.n_clusters), dtype=np.float32).round(7).tolist()
        rows.append(row)
    return {"answer": answer, "levels": rows}


def place_levels(levels: dict[str, Any], x: np.ndarray, topics: Sequence[int]) -> list[Level]:
    """Every level for new texts with vectors ``x`` placed in the answer level's ``topics`` (0-based; a topic past the
    saved ones, Other or a discovered one, is Other at every level): up by the parents, down by the nearest child."""
    from ..embed.hierarchy import levels_from_ids

    rows, answer = levels["levels"], int(levels["answer"])
    sizes = [len(r["names"]) for r in rows]
    per: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(rows)
    ans = np.asarray(topics, dtype=np.int64)
    per[answer] = np.where(ans >= sizes[answer], sizes[answer], ans)  # the extra id: Other
    up = [np.asarray([*(-1 if p is None else int(p) for p in r["parents"]), sizes[i - 1] if i else -1],
                     dtype=np.int64) for i, r in enumerate(rows)]  # each id's parent, Other's is Other
    for i in range(answer - 1, -1, -1):
        per[i] = up[i + 1][per[i + 1]]
    for i in range(answer + 1, len(rows)):
        centres = np.asarray(rows[i]["centres"], dtype=np.float32)
        sims = x @ centres.T
        sims[up[i][: sizes[i]][None, :] != per[i - 1][:, None]] = -np.inf  # only the children of its cluster
        best = np.argmax(sims, axis=1)
        per[i] = np.where(np.isfinite(sims.max(axis=1)), best, sizes[i])
    names = [list(r["names"]) + [OTHER] for r in rows]
    descriptions = [list(r["descriptions"]) + ["texts that fit no saved topic"] for r in rows]
    return levels_from_ids(per, names, descriptions, [None] + [up[i] for i in range(1, len(rows))])

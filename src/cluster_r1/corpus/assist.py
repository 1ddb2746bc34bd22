"""LLM-assisted clustering for criteria an encoder cannot see (style, stance, intent behind the words).

Two modes, both over any :class:`~cluster_r1.backends.Backend`:

``categories`` (default when assisting)
    1. *propose*: the texts are clustered as the embedding method does (k inferred, view routed
       by the instruction; at least ``n // 8`` clusters, at most 20, so that the model sees
       enough regions) and the model names each cluster under the instruction
       (``NAME_CLUSTER``); clusters of the same name are one category, and more names than the
       limit (or another count than ``n_clusters``) are consolidated as the large-corpus merge
       does. A small model asked to invent the categories from a few random texts lists
       properties ("Purpose", "Text type") instead of their values; the clusters show it every
       region of the corpus and ask it only to name what it sees. (``guide=False``: the earlier
       proposal from 16 random texts, ``PROPOSE_CATEGORIES``.)
    2. *pick*: for every text one short question with the category list first and the text
       last (``PICK_CATEGORY``; a shared prefix, so servers with prompt caching such as
       llama.cpp and vLLM only process the text), answered by the category's name (small
       models answer numbers with a position bias; names are read by their distinctive words);
    3. a reply that names no category gives the text the category most of its cluster took;
       when over half the replies name none, the categories are unusable and the result is
       the named clusters themselves. No text is ever dropped. Categories that receive no
       text are left out of the result. An instruction routed to the form or language view
       keeps that view's clusters and skips the picks (the model only names them).

``answers`` (InBedder-style)
    the model writes a few words answering the instruction for every text
    (``SHORT_ANSWER``); the answers are embedded and clustered like texts.

:func:`~.names.llm_names` names clusters made by any method from their representative texts.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..embed.options import EmbedOptions
from ..errors import AnswerError, ConfigError
from ..prompts import SHORT_ANSWER, neutralise, text_block
from ..types import Clustering, Usage
from .assign import pick_categories
from .calls import Tally, ask
from .names import distinct_names, llm_names, same_names, split_same_names
from .propose import given_categories, propose_categories
from .taxonomy import Category

__all__ = ["ASSIST_MODES", "SHORT_ANSWER", "AssistOptions", "Guide", "Proposal", "categories_cluster", "short_answers", "assisted_cluster"]

log = logging.getLogger(__name__)

ASSIST_MODES = ("categories", "answers")


@dataclass(frozen=True)
class Proposal:
    """Where :func:`categories_cluster`'s categories come from: the user's own ``categories`` (``"Name"`` or
    ``"Name: description"`` strings, or :class:`Category`; at least 2, distinct), else the model's, exactly
    ``n_clusters`` of them when given, else at most ``max_categories``; without a :class:`Guide` the model
    proposes them from ``sample_size`` random texts."""

    n_clusters: int | None = None
    categories: Sequence[str | Category] | None = None
    max_categories: int | None = None
    sample_size: int = 16


@dataclass(frozen=True)
class Guide:
    """The texts' embedding clusters that guide :func:`categories_cluster`: ``groups`` (0-based indices, most
    central first), their keyword ``names`` (one (name, description) per group, where a reply has none), the
    ``vectors`` they were clustered on (one row per text), and whether every text is then ``pick``-ed."""

    groups: Sequence[Sequence[int]]
    names: Sequence[tuple[str, str]] | None = None
    vectors: np.ndarray | None = None
    pick: bool = True


def categories_cluster(
    texts: Sequence[str],
    instruction: str,
    backend: Backend,
    *,
    proposal: Proposal | None = None,
    guide: Guide | None = None,
    seed: int = 0,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    on_event: Callable[[str], None] | None = None,
    progress: Callable[[str, int, int, str], None] | None = None,
) -> Clustering:
    """Propose categories, pick one per text, place unanswered texts by the embeddings.

    ``proposal``: where the categories come from (:class:`Proposal`; default: the model's, at most
    ``max(10, len(groups))``, at most 20, with a guide, else 10).

    ``guide``: the texts' embedding clusters (:class:`Guide`; see :func:`assisted_cluster`), which replace
    the proposal from ``sample_size`` random texts: the
    model names each group under the instruction (:func:`llm_names`; the guide's ``names`` where a reply
    has no name), groups of the same name are one category, and more than ``max_categories``
    names (default ``max(10, len(groups))``, at most 20) or another count than ``n_clusters`` are
    consolidated by the model (the large-corpus merge). The model then places every text; a reply
    that names no category takes the category most texts of its group were given. When over half
    of the replies name no category (judged from the first 32 on, so that unusable categories
    cost few calls), or the groups got fewer than 2 distinct names, the result is the groups
    themselves under those names, and ``notes`` say so. ``pick=False``: no
    per-text picks; the result is the groups under the model's names. With the guide's ``vectors``: groups
    named alike that the embeddings hold apart
    stay apart (:func:`~cluster_r1.corpus.merge.split_same_names`); without them, one name is one
    category.
    ``embed`` maps texts to L2-normalised vectors (default: the bundled MiniLM, no instruction
    template); it places the remaining unanswered texts by similarity to the category
    descriptions. ``progress(stage, done, total, detail)`` hears the model calls (texts placed,
    calls and tokens so far).
    """
    texts = list(texts)
    proposal = proposal or Proposal()
    n_clusters = proposal.n_clusters
    run = _Run(backend, instruction, texts, Tally(), time.perf_counter(), seed, progress, on_event)
    members = [list(g) for g in guide.groups if len(g)] if guide is not None else None
    if members is not None and sorted(i for g in members for i in g) != list(range(len(texts))):
        raise ConfigError("groups must hold every text exactly once (0-based indices)")
    max_categories = proposal.max_categories
    if max_categories is None:
        max_categories = min(20, max(10, len(members))) if members else 10
    if proposal.categories is not None:
        cats = given_categories(proposal.categories)
        if n_clusters is not None and n_clusters != len(cats):
            raise ConfigError(f"{len(cats)} categories given but n_clusters={n_clusters}: drop one of the two")
        return _pick(run, cats, f"{len(cats)} categories given", members, None, embed)
    if members and guide is not None:
        return _guided(run, members, guide, n_clusters, max_categories, embed)
    sample_size = proposal.sample_size
    if on_event:
        on_event(f"proposing categories from a sample of {min(sample_size, len(texts))} texts")
    cats = propose_categories(backend, texts, instruction, n_clusters=n_clusters, max_categories=max_categories,
                              sample_size=sample_size, seed=seed, _tally=run.tally)
    return _pick(run, cats, f"{len(cats)} categories proposed from {min(sample_size, len(texts))} sampled texts",
                 members, None, embed)


@dataclass(frozen=True)
class _Run:
    """What every step of :func:`categories_cluster` asks with, and counts into."""

    backend: Backend
    instruction: str
    texts: list[str]
    tally: Tally
    start: float
    seed: int
    progress: Callable[[str, int, int, str], None] | None
    on_event: Callable[[str], None] | None

    def reporter(self, stage: str, event: str) -> Callable[[int, int], None] | None:
        return _reporter(stage, event, self.tally, self.progress, self.on_event)


def _guided(run: _Run, groups: list[list[int]], guide: Guide, n_clusters: int | None, max_categories: int,
            embed: Callable[[Sequence[str]], np.ndarray] | None) -> Clustering:
    """The embedding clusters named by the model; their names are the categories every text is picked into."""
    group_names, vectors = guide.names, guide.vectors
    if run.on_event and run.progress is None:
        run.on_event(f"naming {len(groups)} embedding clusters")
    named = llm_names(run.backend, run.texts, run.instruction, groups, fallback=group_names, _tally=run.tally,
                      on_progress=run.reporter("naming (model)", "naming cluster"))
    if not guide.pick:
        return _groups_result(run.texts, run.backend, groups, named, run.tally, run.start, [
            f"assist=categories: the {len(groups)} embedding clusters, named by the model"])
    if vectors is not None:
        centres = np.stack([np.asarray(vectors)[g].mean(axis=0) for g in groups])
        named = split_same_names(named, centres, [n for n, _ in group_names] if group_names else None)[0]
    cats = _categories_from_groups(run.backend, run.instruction, named, len(run.texts), n_clusters, max_categories,
                                   run.seed, run.tally)
    if len(cats) < 2:
        return _groups_result(run.texts, run.backend, groups, group_names or named, run.tally, run.start, [
            f"assist=categories: the model gave the {len(groups)} embedding clusters fewer than 2 distinct "
            "names; the result is those clusters under their keyword names"])
    origin = f"{len(cats)} categories from the model's names for {len(groups)} embedding clusters"
    return _pick(run, cats, origin, groups, named, embed)


def _pick(run: _Run, cats: list[Category], origin: str, groups: list[list[int]] | None,
          named: list[tuple[str, str]] | None, embed: Callable[[Sequence[str]], np.ndarray] | None) -> Clustering:
    """Every text picked into one of ``cats`` by the model; unanswered ones placed (:func:`_place_unanswered`).
    With ``named`` groups, replies that mostly name none give the groups under their names instead."""
    log.info("categories: %s", [c.name for c in cats])
    texts = run.texts
    unusable = functools.partial(_unusable, n=len(texts))
    picks = pick_categories(run.backend, texts, run.instruction, cats, seed=run.seed, _tally=run.tally,
                            on_progress=run.reporter("placing texts (model)", "placing text"),
                            stop=unusable if named is not None else None)
    notes = [f"assist=categories: {origin}"]
    if groups is not None and named is not None and unusable(picks):
        return _groups_result(texts, run.backend, groups, named, run.tally, run.start, notes + [
            f"{sum(p is None for p in picks)} of the first {len(picks)} replies named none of the categories "
            f"({', '.join(c.name for c in cats)}): the model could not place texts into them, so the result is the "
            f"{len(groups)} embedding clusters under the model's names"])
    notes += _place_unanswered(picks, texts, cats, groups, embed)
    return _picks_result(picks, cats, run.backend, run.tally, run.start, notes)


def _unusable(so_far: list[int | None], n: int) -> bool:
    """Over half the replies name no category (judged from the first 32 replies on, of ``n`` texts)."""
    return len(so_far) >= min(32, n) and 2 * sum(p is None for p in so_far) > len(so_far)


def _place_unanswered(picks: list[int | None], texts: list[str], cats: Sequence[Category],
                      groups: Sequence[Sequence[int]] | None,
                      embed: Callable[[Sequence[str]], np.ndarray] | None) -> list[str]:
    """Texts whose reply named no category: the category most of their group took, else the nearest category
    description (``embed``, default the bundled MiniLM); in place. Returns the notes."""
    notes = []
    missing = [i for i, p in enumerate(picks) if p is None]
    if missing and groups:
        by_group = _group_majority(picks, groups)
        placed = [i for i in missing if by_group.get(i) is not None]
        for i in placed:
            picks[i] = by_group[i]
        if placed:
            notes.append(f"{len(placed)} replies named no category; those texts took the category most of their "
                         "embedding cluster was given")
        missing = [i for i in missing if picks[i] is None]
    if missing:
        if embed is None:
            from ..embed.embedders import embed_texts

            def embed(xs: Sequence[str]) -> np.ndarray:
                return embed_texts(xs, "", template="none")

        vecs = embed([texts[i] for i in missing])
        cvecs = embed([f"{c.name}: {c.description}" if c.description else c.name for c in cats])
        nearest = np.argmax(vecs @ cvecs.T, axis=1)
        for i, j in zip(missing, nearest.tolist()):
            picks[i] = int(j)
        notes.append(f"{len(missing)} replies named no category; those texts were placed by embedding similarity")
    return notes


def _picks_result(picks: list[int | None], cats: Sequence[Category], backend: Backend, tally: Tally, start: float,
                  notes: list[str]) -> Clustering:
    """The categories every text was put in, those that received no text left out."""
    if tally.rejected:
        notes.append(f"the server rejected a constraint ({tally.rejected}); those calls were made again without it")
    used = sorted({int(p) for p in picks if p is not None}, key=lambda c: picks.index(c))
    if len(used) < len(cats):
        notes.append(f"{len(cats) - len(used)} proposed categories received no text and were left out")
    labels = [int(p) for p in picks if p is not None]
    assert len(labels) == len(picks)
    return Clustering.from_labels(
        labels,
        names=[cats[c].name for c in used],
        descriptions=[cats[c].description for c in used],
        method="embed+categories",
        model=str(getattr(backend, "model", "")),
        usage=_usage(tally, start),
        notes=notes,
    )


def _usage(tally: Tally, start: float) -> Usage:
    return Usage(prompt_tokens=tally.prompt_tokens, completion_tokens=tally.completion_tokens, calls=tally.calls,
                 seconds=time.perf_counter() - start)


def _group_majority(picks: Sequence[int | None], groups: Sequence[Sequence[int]]) -> dict[int, int]:
    """For each text of a group, the category most of the group's answered texts took (ties: the first given).

    >>> _group_majority([0, None, 1, 1, None], [[0, 1, 2, 3], [4]])
    {0: 1, 1: 1, 2: 1, 3: 1}
    """
    out: dict[int, int] = {}
    for members in groups:
        votes = Counter(p for p in (picks[i] for i in members) if p is not None)
        if votes:
            top = votes.most_common(1)[0][0]
            out.update({i: int(top) for i in members})
    return out


def _categories_from_groups(
    backend: Backend, instruction: str, named: Sequence[tuple[str, str]], n_total: int, n_clusters: int | None,
    max_categories: int, seed: int, tally: Tally,
) -> list[Category]:
    """The categories from the model's names of the embedding clusters.

    Clusters with the same name (up to case and punctuation) are one category. When the names are
    more than ``max_categories``, or ``n_clusters`` asks for another count, the model consolidates
    them (:func:`~cluster_r1.corpus.merge.consolidate`, the large-corpus pipeline's merge).
    """
    from .merge import consolidate

    cats = [Category(name, desc) for name, desc in same_names(named)[0]]
    if (n_clusters is None and len(cats) <= max_categories) or len(cats) == n_clusters:
        return cats
    items = [f"{c.name}: {c.description}" if c.description else c.name for c in cats]
    taxonomy = consolidate(backend, items, instruction, n_total=n_total, n_clusters=n_clusters,
                           max_topics=max_categories, seed=seed, tally=tally)
    merged = [Category(t.name, t.description) for t in taxonomy.topics]
    if n_clusters is not None and len(merged) != n_clusters:
        raise AnswerError(f"the model gave {len(merged)} categories for n_clusters={n_clusters} in 2 attempts; "
                          "use a larger model, or drop --n-clusters")
    return merged if len(merged) >= 2 else cats[:max_categories]


def _groups_result(
    texts: Sequence[str], backend: Backend, groups: Sequence[Sequence[int]], names: Sequence[tuple[str, str]],
    tally: Tally, start: float, notes: list[str],
) -> Clustering:
    """The embedding groups as the clusters, under ``names`` (one (name, description) per group)."""

    labels = [0] * len(texts)
    for g, members in enumerate(groups):
        for i in members:
            labels[i] = g
    order = list(dict.fromkeys(labels))
    return Clustering.from_labels(
        labels, names=distinct_names([names[g][0] for g in order]), descriptions=[names[g][1] for g in order],
        method="embed+names", model=str(getattr(backend, "model", "")), usage=_usage(tally, start), notes=notes,
    )


def short_answers(
    backend: Backend,
    texts: Sequence[str],
    instruction: str,
    *,
    max_chars: int = 1500,
    max_tokens: int = 16,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    _tally: Tally | None = None,
) -> list[str]:
    """InBedder-style: a few words per text answering the instruction (empty replies keep the text)."""
    tally = _tally or Tally()
    out = []
    for i, text in enumerate(texts):
        prompt = SHORT_ANSWER.format(instruction=neutralise(instruction), text=text_block(None, text, max_chars))
        answer = ask(backend, tally, prompt, max_tokens=max_tokens, seed=seed).strip()
        out.append(answer or text)
        if on_progress is not None:
            on_progress(i + 1, len(texts))
    return out


def _reporter(
    stage: str, event: str, tally: Tally, progress: Callable[[str, int, int, str], None] | None,
    on_event: Callable[[str], None] | None,
) -> Callable[[int, int], None] | None:
    """``on_progress(done, total)`` for a model stage: to ``progress`` (with calls and tokens) when given,
    else a line to ``on_event``, else None."""
    if progress is not None:
        def report(done: int, total: int) -> None:
            progress(stage, done, total,
                     f"{tally.calls} calls, {tally.prompt_tokens + tally.completion_tokens:,} tokens")
        return report
    if on_event is not None:
        return lambda done, total: on_event(f"{event} {done}/{total}")
    return None


#: The fewest texts per embedding cluster the guided proposal names (up to 20 clusters): the offline
#: default's k can be 2 where the instruction has five values, and a cluster shows the model one region.
TEXTS_PER_GROUP = 8


def _guide_groups(base: Any, texts: Sequence[str], *, fine: bool) -> tuple[list[list[int]], list[tuple[str, str]]]:
    """The embedding clusters that guide the proposal: (members with the central texts first, keyword names).

    ``base`` is a fitted :class:`~cluster_r1.embed.EmbeddingClusterer`; with ``fine`` its vectors are cut into
    ``min(20, n // TEXTS_PER_GROUP)`` K-means clusters when that is more than the k it chose (the model
    then names more regions; groups of the same name become one category).
    """
    from ..embed.cluster import cluster_embeddings
    from ..embed.views import keyword_groups

    k = min(20, len(texts) // TEXTS_PER_GROUP)
    if fine and k > base.n_clusters_:
        fit = cluster_embeddings(base.embeddings_, n_clusters=k)
        return keyword_groups(base.route_.view, list(texts), base.embeddings_, np.asarray(fit.labels), fit.centers)
    groups = [list(dict.fromkeys(list(r) + [i - 1 for i in c.items]))
              for r, c in zip(base.representatives_, base.result_.clusters)]
    return groups, [(c.name, c.description) for c in base.result_.clusters]


@dataclass(frozen=True)
class AssistOptions:
    """How a model assists the embedding method (:func:`assisted_cluster`): the ``mode`` in :data:`ASSIST_MODES`
    or None, the model's names for the clusters (``llm_names``), the user's own ``categories``
    (``mode="categories"`` only) and whether the embedding clusters ``guide`` the model."""

    mode: str | None = "categories"
    llm_names: bool = False
    categories: Sequence[str | Category] | None = None
    guide: bool = True


def assisted_cluster(
    texts: Sequence[str],
    instruction: str,
    backend: Backend,
    *,
    assist: AssistOptions | None = None,
    n_clusters: int | None = None,
    seed: int = 0,
    embed_options: EmbedOptions | dict[str, Any] | None = None,
    on_event: Callable[[str], None] | None = None,
) -> Clustering:
    """The embedding method with a model server (:class:`AssistOptions`: ``mode`` in :data:`ASSIST_MODES` or None,
    LLM names; default ``categories``).

    ``categories`` (``mode="categories"`` only): the user's category names instead of the model's proposal.
    ``guide`` (``assist="categories"``): the texts are first clustered as the embedding method does
    (k inferred, view routed by the instruction) and those clusters guide the model
    (:func:`categories_cluster` with ``groups``): the proposal sees every cluster, an unanswered
    text takes its cluster's category, and a proposal the model cannot place texts into gives way
    to the clusters themselves. The model names clusters of at least ``TEXTS_PER_GROUP`` texts
    (``min(20, n // 8)`` of them when the inferred k is smaller). When the instruction routes to the
    form or language view (its own representation for the criterion), the view's clusters are
    kept and only named by the model: per-text picks follow content (GoalEx style, 80 texts: 3.0 V
    with picks, 32.7 kept). ``guide=False``: the proposal from 16 random texts, unanswered texts
    by similarity to the category descriptions.

    ``embed_options`` go to :class:`~cluster_r1.embed.EmbeddingClusterer` (``answers`` mode and
    plain embedding); ``names=True`` replaces keyword names with names written by the model
    (``categories`` mode already has the model's names).
    """
    from ..embed.clusterer import EmbeddingClusterer

    how = assist or AssistOptions()
    mode, names, categories = how.mode, how.llm_names, how.categories
    if mode is not None and mode not in ASSIST_MODES:
        raise ConfigError(f"unknown assist mode {mode!r}; choose one of {', '.join(ASSIST_MODES)}")
    texts = list(texts)
    if categories is not None and mode != "categories":
        raise ConfigError("categories are for assist='categories': add it, or drop the categories")
    settings = EmbedOptions.of(embed_options)
    report = settings.reporter
    options = {k: v for k, v in settings.kwargs().items() if k != "template"}
    if mode == "categories":
        return _assist_categories(texts, instruction, backend, n_clusters=n_clusters, categories=categories, seed=seed,
                                  guide=how.guide, embed_options=settings, on_event=on_event)
    start = time.perf_counter()
    tally = Tally()
    inputs, template, method = texts, settings.template, "embed"
    if mode == "answers":
        inputs = short_answers(backend, texts, instruction, seed=seed, _tally=tally,
                               on_progress=_reporter("short answers (model)", "answering for text", tally, report,
                                                     on_event))
        template, method = "none", "embed+answers"
        options["view"] = "semantic"  # the answers are what the instruction asked for: embed their meaning
    est = EmbeddingClusterer(instruction=instruction, n_clusters=n_clusters, template=template, **options).fit(inputs)
    result = est.result_
    reps: Sequence[Sequence[int]] = est.representatives_
    if n_clusters is None and result.levels:  # the model picks the level the instruction asks for
        result, reps = _level_by_model(result, reps, est.embeddings_, backend, instruction, tally)
    if names:
        _name_by_model(result, reps, backend, texts, instruction, tally, report, on_event)
        method += "+names"
    if mode == "answers":
        # keyword names came from the answers: fine as names, but descriptions quote answers, not texts
        result.notes.insert(0, "assist=answers: the model's short answers were embedded instead of the texts")
    if tally.rejected:
        result.notes.append(f"the server rejected a constraint ({tally.rejected}); those calls were made again without it")
    result.method = method
    result.model = f"{result.model} + {getattr(backend, 'model', '')}"
    result.usage = Usage(
        calls=tally.calls,
        prompt_tokens=tally.prompt_tokens,
        completion_tokens=tally.completion_tokens,
        seconds=time.perf_counter() - start,
    )
    return result


def _assist_categories(
    texts: list[str], instruction: str, backend: Backend, *, n_clusters: int | None,
    categories: Sequence[str | Category] | None, seed: int, guide: bool, embed_options: EmbedOptions,
    on_event: Callable[[str], None] | None,
) -> Clustering:
    """``assist="categories"``: guided by the embedding clusters (see :func:`assisted_cluster`)."""
    from ..embed.clusterer import EmbeddingClusterer

    report = embed_options.reporter
    options = {k: v for k, v in embed_options.kwargs().items() if k != "template"}
    steer, pick = None, True
    if guide:
        if on_event and report is None:
            on_event(f"clustering {len(texts)} texts by their embeddings to guide the model")
        template = embed_options.template
        base = EmbeddingClusterer(instruction=instruction, template=template, **options).fit(texts)
        view = base.route_.view
        pick = view == "semantic" or categories is not None
        if not pick and n_clusters is not None and n_clusters != base.n_clusters_:
            base = EmbeddingClusterer(instruction=instruction, template=template, n_clusters=n_clusters,
                                      **options).fit(texts)  # the kept clusters are the result: k as asked
        groups, group_names = _guide_groups(base, texts, fine=pick and categories is None)
        steer = Guide(groups, group_names, base.embeddings_, pick)
    result = categories_cluster(texts, instruction, backend, proposal=Proposal(n_clusters, categories), guide=steer,
                                seed=seed, on_event=on_event, progress=report)
    if not pick:
        result.notes.append(f"the instruction routes to the {view} view: its clusters are kept and named by the "
                            "model, not re-sorted by per-text picks (which follow content; docs/embedding.md)")
    return result


def _level_by_model(result: Clustering, reps: Sequence[Sequence[int]], x: np.ndarray, backend: Backend,
                    instruction: str, tally: Tally) -> tuple[Clustering, Sequence[Sequence[int]]]:
    """``result`` at the level the model picks (with its representatives), or as it was when the reply picks none."""
    from ..embed.hierarchy import level_centers
    from ..embed.naming import representatives
    from ..granularity import read_granularity
    from .levels import model_level

    said = read_granularity(instruction)
    if said.kind is not None or said.count is not None:  # the instruction's own words decided: no call
        return result, reps
    got = model_level(backend, instruction, result, tally)
    if got is None:
        result.notes.append("the model's reply was none of no / broad / specific: kept the level the texts chose")
        return result, reps
    picked, word = got
    if picked == result.level:
        result.notes.append(f"the model read the instruction as {word!r}: the level stays {picked}")
        return result, reps
    result = result.at_level(picked)
    result.notes[-1] = (f"the answer is level {picked} of {len(result.levels or [])} ({result.n_clusters} "
                        f"clusters): the model read the instruction as asking for {word} groups")
    ids = np.asarray(result.labels) - 1
    return result, representatives(x, ids, level_centers(x, ids))


def _name_by_model(result: Clustering, representatives: Sequence[Sequence[int]], backend: Backend, texts: list[str],
                   instruction: str, tally: Tally, report: Callable[[str, int, int, str], None] | None,
                   on_event: Callable[[str], None] | None) -> None:
    """The model's names for the clusters of ``result`` (keyword names where a reply has none); in place."""
    if on_event and report is None:
        on_event(f"naming {result.n_clusters} clusters")
    groups = []
    for c, reps in zip(result.clusters, representatives):
        members = [i - 1 for i in c.items]
        groups.append(list(dict.fromkeys(list(reps) + members)))
    fallback = [(c.name, c.description) for c in result.clusters]
    named = llm_names(backend, texts, instruction, groups, fallback=fallback, _tally=tally,
                      on_progress=_reporter("naming (model)", "naming cluster", tally, report, on_event))
    for c, (name, desc) in zip(result.clusters, named):
        c.name, c.description = name, desc

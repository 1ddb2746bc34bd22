"""Merge: one taxonomy from every window's clusters, by the model, under the instruction; every window cluster
mapped to exactly one topic.

Two model steps, each a question small models answer well:

1. *consolidate* -- the names (with an example each) of all window clusters go to the model in
   one prompt, which writes the final categories, ``Name: description`` lines under a
   constraint (between 2 and 20, or exactly ``n_clusters``): k is inferred here;
2. *map* -- each window cluster is put into one of those categories, one short question each
   (:func:`~cluster_r1.corpus.assign.classify_llm`, ``per_item``): every window cluster is mapped
   exactly once by construction; a reply that names no category is mapped by embedding similarity.

A long list answered in one reply ("put these 40 groups into clusters") is what small models
get wrong: they copy a pattern down the list. Each topic is then described by the model: a
name, a one-line description and an inclusion criterion.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..constraints import fields
from ..prompts import CONSOLIDATE, DESCRIBE_TOPIC, clip_text, neutralise
from ..reading import read_field
from ..types import Usage
from .calls import Tally, ask
from .names import distinct_names, same_names
from .taxonomy import Taxonomy, WindowCluster, name_key

__all__ = ["Merged", "consolidate", "merge_clusters", "merge_by_name",
           "describe_topics", "summary"]

log = logging.getLogger(__name__)


@dataclass
class Merged:
    """The taxonomy, the topic (0-based) of every window cluster, and what the merge cost."""

    taxonomy: Taxonomy
    topic_of: list[int]
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)


def summary(texts: Sequence[str], cluster: WindowCluster, x: np.ndarray | None, examples: int = 2) -> str:
    """A window cluster as one item: its name and its most central member texts (flattened, cut)."""
    members = list(cluster.members)
    if x is not None and len(members) > examples:
        c = x[members].mean(axis=0)
        members = [members[j] for j in np.argsort(-(x[members] @ c), kind="stable")]
    shown = " | ".join(clip_text(texts[i], 120) for i in members[:examples])
    name = cluster.name or "group"
    return f"{name}: e.g. {shown}" if shown else name


def consolidate(
    backend: Backend,
    items: Sequence[str],
    instruction: str,
    *,
    n_total: int,
    n_clusters: int | None = None,
    max_topics: int = 20,
    seed: int = 0,
    tally: Tally | None = None,
) -> Taxonomy:
    """The final categories from the window clusters' summaries (two tries); empty when none is usable."""
    from ..constraints import name_lines
    from .propose import parse_categories

    tally = tally or Tally()
    top = min(max_topics, max(2, len(items)))
    lines = (n_clusters, n_clusters) if n_clusters else (2, top)
    how_many = f"exactly {n_clusters}" if n_clusters else f"between 2 and {top}"
    groups = "\n".join(f"- {neutralise(clip_text(item, 160))}" for item in items)
    prompt = CONSOLIDATE.format(instruction=neutralise(instruction), n_total=n_total, groups=groups, how_many=how_many)
    best: list = []
    for attempt in range(2):
        reply = ask(backend, tally, prompt, max_tokens=60 * lines[1] + 40, seed=seed + attempt,
                    temperature=0.7 if attempt else 0.0, constraint=name_lines(*lines))
        cats = _unique(parse_categories(reply))[: lines[1]]
        if len(cats) > len(best):
            best = cats
        if len(best) >= lines[0]:
            break
    return Taxonomy.from_names(instruction, distinct_names([c.name for c in best]), [c.description for c in best])


def merge_clusters(
    backend: Backend,
    texts: Sequence[str],
    window_clusters: Sequence[WindowCluster],
    instruction: str,
    *,
    x: np.ndarray | None = None,
    n_clusters: int | None = None,
    max_topics: int = 20,
    seed: int = 0,
    **_: Any,
) -> Merged:
    """Consolidate the window clusters into a taxonomy and map each of them to one topic."""
    from ..agent.state import estimate_tokens
    from .assign import ONE_AT_A_TIME, classify_llm

    usage, notes = Usage(), list[str]()
    tally = Tally(keep_replies=False)
    m = len(window_clusters)
    if m == 0:
        return Merged(Taxonomy(instruction), [], usage, notes)
    items = [summary(texts, c, x, examples=1) for c in window_clusters]
    taxonomy = consolidate(backend, items, instruction, n_total=len(texts), n_clusters=n_clusters,
                           max_topics=max_topics, seed=seed, tally=tally)
    if len(taxonomy) < 2:
        notes.append("merge: the model named fewer than 2 final categories; the window clusters' own names were kept")
        taxonomy = Taxonomy.from_names(instruction, distinct_names([c.name or f"group {j + 1}"
                                                               for j, c in enumerate(window_clusters)]))
        usage.add(tally.usage())
        return Merged(taxonomy, list(range(m)), usage, notes)
    got = classify_llm(backend, items, list(range(m)), taxonomy, lengths=[estimate_tokens(i) for i in items],
                       batching=ONE_AT_A_TIME, seed=seed, tally=tally)
    topic_of: list[int | None] = [got.get(j) for j in range(m)]
    missing = [j for j, t in enumerate(topic_of) if t is None]
    if missing:
        _by_name(items, taxonomy, topic_of, missing)
        notes.append(f"merge: {len(missing)} window clusters named no final category and were mapped by embedding "
                     "similarity")
    usage.add(tally.usage())
    return Merged(taxonomy, [int(t) for t in topic_of if t is not None], usage, notes)


def merge_by_name(window_clusters: Sequence[WindowCluster], instruction: str, *, max_topics: int = 100,
                  min_topics: int = 2) -> Merged | None:
    """Named clusters of the same name are one topic, and no model call; None (consolidate instead) when that
    leaves fewer than ``min_topics`` topics or more than ``max_topics``."""
    distinct, topic_of = same_names([(c.name, c.description) for c in window_clusters])
    if not min_topics <= len(distinct) <= max_topics:
        return None
    taxonomy = Taxonomy.from_names(instruction, [n for n, _ in distinct], [d for _, d in distinct])
    return Merged(taxonomy, topic_of, Usage(), [f"merge: {len(window_clusters)} named clusters, {len(distinct)} "
                                                "distinct names, each name one topic"])


def _by_name(items: Sequence[str], taxonomy: Taxonomy, topic_of: list, missing: list[int]) -> None:
    """Map ``missing`` window clusters to the most similar topic name (MiniLM, no template); in place."""
    from ..embed.embedders import embed_texts

    names = [t.name + (f": {t.description}" if t.description else "") for t in taxonomy.topics]
    a = embed_texts([items[j] for j in missing], "", template="none")
    b = embed_texts(names, "", template="none")
    for j, t in zip(missing, np.argmax(a @ b.T, axis=1).tolist()):
        topic_of[j] = int(t)


def _unique(categories: Sequence[Any]) -> list[Any]:
    """Categories without repeats (the same :func:`~.taxonomy.name_key`): the first of each is kept."""
    seen: set[str] = set()
    out = []
    for c in categories:
        if name_key(c.name) and name_key(c.name) not in seen:
            seen.add(name_key(c.name))
            out.append(c)
    return out


def describe_topics(
    backend: Backend,
    texts: Sequence[str],
    taxonomy: Taxonomy,
    window_clusters: Sequence[WindowCluster],
    topic_of: Sequence[int],
    *,
    x: np.ndarray | None = None,
    seed: int = 0,
    tally: Tally | None = None,
) -> None:
    """Give every topic a name, a one-line description and an inclusion criterion (in place)."""
    tally = tally or Tally()
    constraint = fields(["Name", "Description", "Includes"])
    for t, topic in enumerate(taxonomy.topics):
        members = [summary(texts, c, x) for c, ti in zip(window_clusters, topic_of) if ti == t][:6]
        if not members:
            continue
        prompt = DESCRIBE_TOPIC.format(instruction=neutralise(taxonomy.instruction),
                                       members="\n".join(f"- {neutralise(m)}" for m in members))
        reply = ask(backend, tally, prompt, max_tokens=160, seed=seed, constraint=constraint)
        name, desc, crit = read_field(reply, "name"), read_field(reply, "description"), read_field(reply, "includes")
        if name:
            topic.name = clip_text(name, 80)
        topic.description, topic.criterion = clip_text(desc, 300), clip_text(crit, 300)
    topic_names = distinct_names(taxonomy.names)
    for topic, name in zip(taxonomy.topics, topic_names):
        topic.name = name

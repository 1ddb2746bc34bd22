"""Discover and refine: new topics for texts that fit none, near-duplicate topics merged, tiny ones folded.

- :func:`unfit` -- the pool: texts labelled "none of these", or (``embed``) whose best topic is
  less similar than almost every labelled text is to its own topic;
- :func:`discover_topics` -- new topics proposed from the pool as the corpus's were (windows and
  the merge, or the pool's embedding clusters named by the model: :mod:`.propose`, :mod:`.merge`),
  and the pool placed again;
- :func:`refine` -- topics whose centroids are near-identical (cosine >= ``duplicate``) or whose
  names are the same are merged (the older id stays); topics smaller than ``min_size`` are
  folded into their nearest topic when it is similar enough, else into ``Other``, which is
  always a visible cluster, never a place texts vanish into.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..types import null_progress
from .assign import Assignment, assign_rest, centroids, keep_embed, own_similarity
from .context import RunContext
from .merge import describe_topics, merge_by_name, merge_clusters
from .propose import propose_named_clusters, propose_windows
from .taxonomy import OTHER, Taxonomy, name_key
from .windows import plan_windows

__all__ = ["discover_topics", "unfit", "refine"]


def unfit(x: np.ndarray, assignment: Assignment, centres: np.ndarray, *, quantile: float = 0.02) -> list[int]:
    """Texts that fit no topic: labelled None, or embed-placed below the ``quantile`` of labelled similarities."""
    labels = assignment.labels
    pool = [i for i, lab in enumerate(labels) if lab is None]
    trusted = list(assignment.by_model())
    guessed = [i for i, s in enumerate(assignment.source) if s == "embed" and labels[i] is not None]
    if len(trusted) >= 20 and guessed:
        own = own_similarity(x[trusted], centres[np.asarray([labels[i] for i in trusted], dtype=np.intp)])
        floor = float(np.quantile(own, quantile))
        sims = own_similarity(x[guessed], centres[np.asarray([labels[i] for i in guessed], dtype=np.intp)])
        pool += [i for i, s in zip(guessed, sims.tolist()) if s < floor]
    return sorted(set(pool))


def _union(parent: list[int], a: int, b: int) -> None:
    ra, rb = a, b
    while parent[ra] != ra:
        ra = parent[ra]
    while parent[rb] != rb:
        rb = parent[rb]
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def _root(parent: list[int], a: int) -> int:
    while parent[a] != a:
        a = parent[a]
    return a


def refine(
    x: np.ndarray,
    assignment: Assignment,
    taxonomy: Taxonomy,
    *,
    duplicate: float = 0.95,
    min_size: int = 2,
    fold: float = 0.5,
) -> list[str]:
    """Merge near-duplicate topics, fold tiny ones, put what fits none into ``Other``; in place. Returns notes."""
    notes: list[str] = []
    k = len(taxonomy)
    labels = assignment.labels
    labelled = {i: lab for i, lab in enumerate(labels) if lab is not None}
    if k == 0:
        other = taxonomy.add(OTHER, "texts that fit no topic")
        for i in range(len(labels)):
            labels[i] = 0
        notes.append(f"no topic was found: every text is in {other.name!r}")
        return notes
    centres = centroids(x, labelled, k)
    parent = list(range(k))
    sims = centres @ centres.T
    names = [name_key(t.name) for t in taxonomy.topics]  # "Legal Issues (2)" is "legal issues"
    for a in range(k):
        for b in range(a + 1, k):
            if (sims[a, b] >= duplicate and np.any(centres[a]) and np.any(centres[b])) or names[a] == names[b]:
                _union(parent, a, b)
    merged = [t for t in range(k) if _root(parent, t) != t]
    if merged:
        notes.append("near-duplicate topics merged: " + "; ".join(
            f"{taxonomy.topics[t].name!r} into {taxonomy.topics[_root(parent, t)].name!r}" for t in merged[:10]))
    for i, lab in labelled.items():
        labels[i] = _root(parent, lab)
    sizes = np.bincount([lab for lab in labels if lab is not None], minlength=k)
    keep = [t for t in range(k) if _root(parent, t) == t and sizes[t] > 0]
    tiny = [t for t in keep if sizes[t] < min_size]
    big = [t for t in keep if t not in tiny]
    other_needed = any(lab is None for lab in labels)
    folded_other: list[int] = []
    if tiny and big:
        for t in tiny:
            members = [i for i, lab in enumerate(labels) if lab == t]
            target = big[int(np.argmax(sims[t, big]))]
            if sims[t, target] >= fold:
                for i in members:
                    labels[i] = target
                notes.append(f"tiny topic {taxonomy.topics[t].name!r} ({len(members)} texts) folded into "
                             f"{taxonomy.topics[target].name!r}")
            else:
                for i in members:
                    labels[i] = None
                folded_other.append(t)
                other_needed = True
    survivors = [t for t in keep if t in big or (t in tiny and not big)]
    remap = {t: j for j, t in enumerate(survivors)}
    taxonomy.topics = [taxonomy.topics[t] for t in survivors]
    for i, old in enumerate(labels):
        labels[i] = remap.get(old) if old is not None else None
    if other_needed:
        other = taxonomy.add(OTHER, "texts that fit no topic")
        n_other = sum(lab is None for lab in labels)
        for i, old in enumerate(labels):
            if old is None:
                labels[i] = len(taxonomy) - 1
                if not assignment.source[i]:
                    assignment.source[i] = "embed"
        notes.append(f"{n_other} texts fit no topic: cluster {other.name!r}"
                     + (f" (with {len(folded_other)} tiny topics)" if folded_other else ""))
    return notes


def topic_sizes(labels: Sequence[int | None], k: int) -> list[int]:
    return np.bincount([lab for lab in labels if lab is not None], minlength=k).tolist()


def discover_topics(
    ctx: RunContext, pool: list[int], taxonomy: Taxonomy, assignment: Assignment, mode: str, state: dict[str, Any],
    *, named: bool = False,
) -> bool:
    """Propose and merge new topics from the texts that fit none; place the pool again. True if topics were added.

    As the corpus's taxonomy was proposed: windows of the pool, or (``named``) the pool's embedding clusters
    named by the model, whose window answers were not used."""
    backend, texts, x, opts, instruction, log = ctx.backend, ctx.texts, ctx.x, ctx.options, ctx.instruction, ctx.log
    merged = None
    if named:
        sub = propose_named_clusters(backend, [texts[i] for i in pool], x[pool], instruction, view=ctx.corpus.view)
        proposal = replace(sub, clusters=[replace(c, members=[pool[j] for j in c.members]) for c in sub.clusters])
        merged = merge_by_name(proposal.clusters, instruction, max_topics=opts.max_named_topics, min_topics=1)
    else:
        plan = plan_windows(x[pool], [ctx.corpus.lengths[i] for i in pool], max_items=opts.max_window_items,
                            token_budget=ctx.window_tokens, per_cluster=opts.per_cluster,
                            max_windows=max(1, opts.max_windows // 2), seed=opts.seed + 1)
        windows = [[pool[j] for j in w] for w in plan.windows]
        proposal = propose_windows(backend, texts, windows, instruction, agent_options=ctx.agent_options)
    log.usage.add(proposal.usage)
    if not proposal.clusters:
        return False
    if merged is None:
        merged = merge_clusters(backend, texts, proposal.clusters, instruction, x=x, seed=opts.seed + 1)
        log.usage.add(merged.usage)
        if opts.describe:
            describe_topics(backend, texts, merged.taxonomy, proposal.clusters, merged.topic_of, x=x, seed=opts.seed,
                            tally=log.tally)
    first = len(taxonomy)
    for topic in merged.taxonomy.topics:
        taxonomy.add(topic.name, topic.description, topic.criterion)
    log.notes.append(f"discover: {len(pool)} texts fit no topic; {len(merged.taxonomy)} new topics proposed from them")
    for i in pool:
        assignment.labels[i], assignment.source[i] = None, ""
    pool_topic = {i: first + t for wc, t in zip(proposal.clusters, merged.topic_of) for i in wc.members}
    if named and mode == "embed":  # as the corpus's named clusters: each text keeps its cluster's topic
        placed = {i: lab for i, lab in enumerate(assignment.labels) if lab is not None}
        keep_embed(x, centroids(x, {**placed, **pool_topic}, len(taxonomy)), pool_topic, assignment)
    elif state["trusted"]:
        for i, t in pool_topic.items():
            assignment.labels[i], assignment.source[i], assignment.confidence[i] = t, "window", 1.0
    rest = [i for i in pool if not assignment.source[i]]
    assign_rest(replace(ctx, progress=null_progress), taxonomy, assignment, rest,
                "llm" if mode in ("llm", "hybrid") else "embed", per_item=state["per_item"])
    return True

"""The stages in order: embed, windows, propose, merge, describe, check, assign, discover, refine.

:func:`cluster_corpus` reads as that list: :func:`prepare` (the run's :class:`~.context.RunContext`),
:func:`find_taxonomy` (propose, merge, describe, check, with the fallback to the named embedding
clusters), :func:`~.assign.assign_rest`, :func:`discover`, :func:`~.discover.refine`, :func:`finish`.
Each takes the context and what the stage before it returned. It clusters a corpus of any size by an instruction with any backend and
returns the :class:`~cluster_r1.types.Clustering` (every text exactly once, named topics with
stable ids, the mode and confidence of every placement) and the :class:`ScaleModel` that
places new texts (:mod:`.saved`). Every model call goes through the backend it is given: wrap
it in :class:`~cluster_r1.backends.CachedBackend` (the API does, by default) and a rerun after
an interruption repeats no finished call. Seeds are fixed, so the same command gives the same
prompts, hence the same cache keys and the same result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..agent.options import AgentOptions
from ..agent.state import estimate_tokens
from ..backends.base import Backend
from ..errors import InputError
from ..prompts import clip_layout
from ..types import Clustering, ProgressFn, null_progress
from .assign import (
    Assignment,
    assign_rest,
    batch_size,
    centroids,
    fit_classifier,
    keep_embed,
    own_similarity,
)
from .check import calibrate, check_windows
from .context import DEFAULT_CONTEXT, Corpus, RunContext, RunLog, ScaleModel, ScaleOptions, centre_rows
from .discover import discover_topics, refine, unfit
from .merge import Merged, describe_topics, merge_by_name, merge_clusters
from .propose import Proposal, propose_named_clusters, propose_windows
from .taxonomy import Taxonomy
from .windows import WindowPlan, plan_windows

if TYPE_CHECKING:
    from ..embed.options import EmbedOptions

__all__ = ["assign_mode", "cluster_corpus", "default_assign", "embed_corpus", "prepare", "find_taxonomy", "propose",
           "merge", "check", "discover", "finish", "Found"]

log = logging.getLogger(__name__)

#: Above this many texts, ``auto`` assigns in ``hybrid`` mode (the model labels a sample), else ``llm``.
LLM_ASSIGN_LIMIT = 2000
def default_assign(n: int) -> str:
    """``llm`` up to 2,000 texts, ``hybrid`` beyond (the model labels a sample, a classifier the rest)."""
    return "llm" if n <= LLM_ASSIGN_LIMIT else "hybrid"


def assign_mode(assign: str, n: int, *, named: bool) -> str:
    """What ``--assign`` means for ``n`` texts: a given mode as given; ``auto`` is ``embed`` where the topics are
    the embedding clusters named by the model (``named``: each text is in its cluster already, and the model's
    labels lost to them where measured, docs/scale.md), else :func:`default_assign`."""
    if assign != "auto":
        return assign
    return "embed" if named else default_assign(n)


def embed_corpus(
    texts: Sequence[str], instruction: str, *, embed_options: EmbedOptions | dict[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(centred unit vectors, the mean they were centred by, what embedded them) for the whole corpus.

    The view is routed by the instruction exactly as the offline default does it.
    """
    from ..embed.cluster import mean_row
    from ..embed.clusterer import embed_for_clustering
    from ..embed.embedders import get_embedder
    from ..embed.options import EmbedOptions
    from ..embed.views import Route, route_instruction, view_embedder

    options = EmbedOptions.of(embed_options)
    embedder, view, template = options.embedder, options.view, options.template
    route = Route(view, "given") if view != "auto" else (
        route_instruction(instruction, cache_dir=options.cache_dir) if embedder is None and instruction.strip()
        else Route("semantic", "given"))
    model = get_embedder(view_embedder(route.view, embedder))
    if template == "auto":
        # what the offline default embeds (plain texts for MiniLM), named, so that a saved clusterer
        # re-embeds new texts the same way whatever a later release's "auto" means
        from ..embed.templates import auto_templates

        template = auto_templates(getattr(model, "family", "sentence-transformers"))[0]
    raw = embed_for_clustering(texts, instruction, embedder=model, template=template, cache_dir=options.cache_dir,
                               progress=options.progress)
    mean = mean_row(raw)  # as the offline default centres: the same vectors, the same clusters
    x = centre_rows(raw, mean)
    name = str(getattr(model, "name", embedder or "minilm"))
    return x, mean, {"embedder": name, "view": route.view, "template": str(template)}


def _context_window(backend: Backend) -> tuple[int, str]:
    window = getattr(backend, "context_window", None)
    if window:
        return int(window), ""
    return DEFAULT_CONTEXT, (f"the model's context window is unknown: windows were sized for {DEFAULT_CONTEXT} tokens "
                             "(set --context-window)")


def cluster_corpus(
    texts: Sequence[str],
    instruction: str,
    backend: Backend,
    *,
    n_clusters: int | None = None,
    options: ScaleOptions | None = None,
    agent_options: AgentOptions | dict[str, Any] | None = None,
    embed_options: EmbedOptions | dict[str, Any] | None = None,
    vectors: tuple[np.ndarray, np.ndarray, dict[str, str]] | None = None,
    progress: ProgressFn = null_progress,
) -> tuple[Clustering, ScaleModel]:
    """Cluster ``texts`` of any number by ``instruction``; see the module docstring."""
    start = time.perf_counter()
    ctx = prepare(texts, instruction, backend, n_clusters=n_clusters, options=options, agent_options=agent_options,
                  embed_options=embed_options, vectors=vectors, progress=progress)
    found = find_taxonomy(ctx)
    ctx = found.ctx  # with the batch size and token budget the taxonomy gave
    rest = [i for i in range(len(ctx.texts)) if not found.assignment.source[i]]
    assign_rest(ctx, found.taxonomy, found.assignment, rest, found.mode, per_item=found.state["per_item"])
    discover(ctx, found)
    ctx.log.notes.extend(refine(ctx.x, found.assignment, found.taxonomy, min_size=ctx.options.min_topic_size))
    return finish(ctx, found, time.perf_counter() - start)


def prepare(
    texts: Sequence[str],
    instruction: str,
    backend: Backend,
    *,
    n_clusters: int | None = None,
    options: ScaleOptions | None = None,
    agent_options: AgentOptions | dict[str, Any] | None = None,
    embed_options: EmbedOptions | dict[str, Any] | None = None,
    vectors: tuple[np.ndarray, np.ndarray, dict[str, str]] | None = None,
    progress: ProgressFn = null_progress,
) -> RunContext:
    """The run's context: the texts embedded (or ``vectors``), their token lengths, the window budget."""
    texts = list(texts)
    n = len(texts)
    if n < 2:
        raise InputError(f"need at least 2 texts to cluster, got {n}")
    if not instruction.strip():
        raise InputError("the instruction is empty: say how the texts should be grouped")
    opts = options or ScaleOptions()
    given = AgentOptions.of(agent_options)
    # one sample per window; no more reasoning than the pipeline's budget
    agent_opts = replace(given, samples=1, think_chars=min(int(given.think_chars or 0), opts.think_chars))
    max_text = int(agent_opts.max_text_chars or 4000)
    log = RunLog()

    progress("embedding", 0, n, "")
    x, mean, spec = vectors if vectors is not None else embed_corpus(texts, instruction, embed_options=embed_options)
    progress("embedding", n, n, "")
    lengths = [estimate_tokens(clip_layout(t, max_text)) for t in texts]

    context, note = _context_window(backend)
    if note:
        log.notes.append(note)
    think = int(agent_opts.think_chars or 0)
    window_answer = min(agent_opts.max_tokens, think // 3 + 6 * opts.max_window_items + 260)
    agent_opts = replace(agent_opts, max_tokens=window_answer)
    return RunContext(backend=backend, instruction=instruction, corpus=Corpus(texts, x, mean, lengths, spec),
                      options=opts, agent_options=agent_opts, n_clusters=n_clusters,
                      window_tokens=max(200, context - window_answer - 900), progress=progress, log=log)


@dataclass
class Found:
    """Where :func:`find_taxonomy` ended: the taxonomy, the labels its checks gave, what they decided (``state``:
    ``trusted`` window answers, ``per_item`` questions), the assign mode, whether the topics are the named
    embedding clusters, and the context with the batch budget."""

    ctx: RunContext
    taxonomy: Taxonomy
    assignment: Assignment
    state: dict[str, Any]
    mode: str
    named: bool


def find_taxonomy(ctx: RunContext) -> Found:
    """Propose, check the window answers, merge and check: the taxonomy and the labels the checks gave.

    Under ``propose=auto`` a model whose window answers disagree with its own single answers (before the merge, or
    against the merged topics) gets the embedding clusters, named by it, instead.
    """
    opts, n = ctx.options, len(ctx.texts)
    named = opts.propose == "clusters"
    mode = assign_mode(opts.assign, n, named=named)
    plan = None if named else _plan(ctx, mode)
    if named:  # no windows: the offline default's clusters are named instead
        ctx.log.notes.append(f"scale: {n} texts, propose=clusters, assign={mode}")
    proposal = propose(ctx, plan)
    if opts.propose == "auto" and not named and not _windows_agree(ctx, proposal):
        # before any merge: a model whose window answers disagree with its own single answers gets the embedding
        # clusters, named by it, for a few short questions instead of a merge and a describe step on them
        mode, named = _fall_back(ctx, " in their windows"), True
        proposal = propose(ctx, None)
    found = check(ctx, named, mode, proposal, merge(ctx, named, proposal))
    if opts.propose == "auto" and not named and not found.state["trusted"]:
        # their topics after the merge disagree with the model's single answers: the same fallback
        mode = _fall_back(ctx, " against the merged topics")
        proposal = propose(ctx, None)
        found = check(ctx, True, mode, proposal, merge(ctx, True, proposal))
    return found


def _plan(ctx: RunContext, mode: str) -> WindowPlan:
    """The windows of representatives the agent reads, with the note that says how they were made."""
    opts, n = ctx.options, len(ctx.texts)
    plan = plan_windows(ctx.x, ctx.corpus.lengths, max_items=opts.max_window_items, token_budget=ctx.window_tokens,
                        per_cluster=opts.per_cluster, max_windows=opts.max_windows, seed=opts.seed)
    ctx.log.notes.append(f"scale: {n} texts, {plan.n_fine} fine embedding clusters, {len(plan.windows)} windows of "
                         f"{', '.join(str(len(w)) for w in plan.windows)} representatives, assign={mode}"
                         + (f"; {len(plan.unshown)} fine clusters fit no window (their texts are assigned as every "
                            "other)" if plan.unshown else ""))
    return plan


def propose(ctx: RunContext, plan: WindowPlan | None) -> Proposal:
    """The window clusters (``plan``), or (None) the embedding clusters named by the model."""
    if plan is None:
        ctx.progress("propose (name clusters)", 0, 1, "")
        proposal = propose_named_clusters(ctx.backend, ctx.texts, ctx.x, ctx.instruction, view=ctx.corpus.view,
                                          on_cluster=lambda d, t: ctx.step("propose (name clusters)", d, t))
    else:
        ctx.progress("propose (windows)", 0, len(plan.windows), "")
        proposal = propose_windows(ctx.backend, ctx.texts, plan.windows, ctx.instruction,
                                   agent_options=ctx.agent_options,
                                   on_window=lambda d, t: ctx.step("propose (windows)", d, t))
    ctx.log.usage.add(proposal.usage)
    ctx.log.notes.extend(proposal.notes)
    if not proposal.clusters:
        raise _no_taxonomy(proposal.notes)
    return proposal


def _windows_agree(ctx: RunContext, proposal: Proposal) -> bool:
    """Do the window answers agree with the model's one-at-a-time answers into the same windows' clusters?"""
    opts = ctx.options
    ctx.step("check windows", 0, 1)
    kappa, answered, share = check_windows(ctx.backend, ctx.texts, proposal.clusters, ctx.instruction,
                                           size=opts.check_size, seed=opts.seed, tally=ctx.log.tally)
    ctx.step("check windows", 1, 1)
    ctx.log.notes.append(f"propose=auto: on {answered} sampled window texts, the window answers and the model's "
                         f"one-at-a-time answers into the same window's clusters agree with kappa {kappa:.2f} "
                         f"({share:.0%} alike; threshold {opts.trust:.2f})")
    return kappa >= opts.trust


def merge(ctx: RunContext, named: bool, proposal: Proposal) -> Merged:
    """The proposal's clusters merged into one described taxonomy."""
    opts = ctx.options
    ctx.step("merge", 0, 1)
    merged = merge_by_name(proposal.clusters, ctx.instruction, max_topics=opts.max_named_topics) if (
        named and ctx.n_clusters is None) else None
    by_name = merged is not None  # the named clusters' own descriptions are the topics'
    if merged is None:
        merged = merge_clusters(ctx.backend, ctx.texts, proposal.clusters, ctx.instruction, x=ctx.x,
                                n_clusters=ctx.n_clusters, seed=opts.seed)
    ctx.log.usage.add(merged.usage)
    ctx.log.notes.extend(merged.notes)
    ctx.step("merge", 1, 1)
    if opts.describe and not by_name:
        ctx.step("describe", 0, len(merged.taxonomy))
        describe_topics(ctx.backend, ctx.texts, merged.taxonomy, proposal.clusters, merged.topic_of, x=ctx.x,
                        seed=opts.seed, tally=ctx.log.tally)
        ctx.step("describe", len(merged.taxonomy), len(merged.taxonomy))
    return merged


def _fall_back(ctx: RunContext, why: str) -> str:
    """The note, and the assign mode for the named clusters."""
    ctx.log.notes.append(f"propose=auto: the window answers failed the check{why}, so the taxonomy comes from the "
                         "embedding clusters named by the model (propose=clusters)")
    if ctx.options.assign == "auto":
        ctx.log.notes.append("assign=auto: embed, as the topics are the embedding clusters the model named "
                             "(--assign llm or hybrid has the model sort the texts again)")
    return assign_mode(ctx.options.assign, len(ctx.texts), named=True)


def check(ctx: RunContext, named: bool, mode: str, proposal: Proposal, merged: Merged) -> Found:
    """The labels the checks gave and what they decided, with the batch size and budget the taxonomy gives.

    ``trusted``: the window answers were kept; ``per_item``: texts are asked one at a time. Under
    ``propose=auto`` window answers that fail are not checked in batches: the named clusters follow.
    """
    opts, taxonomy = ctx.options, merged.taxonomy
    run_opts = opts if opts.batch_items else replace(opts, batch_items=batch_size(taxonomy, ctx.corpus.lengths))
    window, _ = _context_window(ctx.backend)
    ctx = replace(ctx, options=run_opts,
                  batch_tokens=max(300, window - 1200 - 12 * len(taxonomy) * 4 - 8 * run_opts.batch_items))
    window_topic = {i: t for wc, t in zip(proposal.clusters, merged.topic_of) for i in wc.members}
    assignment = Assignment.empty(len(ctx.texts))
    ctx.step("check", 0, 1)
    if named and mode == "embed":
        # the clusters are the embeddings' own (nothing the model answered in a long list to check): kept
        state = {"trusted": True, "per_item": opts.batch == "never"}
        keep_embed(ctx.x, centroids(ctx.x, window_topic, len(taxonomy)), window_topic, assignment)
    else:
        state = calibrate(ctx, taxonomy, window_topic, assignment, mode,
                          stop_untrusted=opts.propose == "auto" and not named, named=named)
    ctx.step("check", 1, 1)
    return Found(ctx, taxonomy, assignment, state, mode, named)


def discover(ctx: RunContext, found: Found) -> None:
    """Rounds of discovery: texts that fit no topic proposed as new topics, the pool placed again; in place."""
    x, assignment, taxonomy, n = ctx.x, found.assignment, found.taxonomy, len(ctx.texts)
    labelled = assignment.by_model()
    centres = centroids(x, labelled or {i: lab for i, lab in enumerate(assignment.labels) if lab is not None},
                        len(taxonomy))
    for _ in range(ctx.options.discover_rounds):
        pool = unfit(x, assignment, centres)
        if len(pool) < max(5, n // 100) or len(pool) < 4:
            break
        ctx.step("discover", 0, len(pool))
        added = discover_topics(ctx, pool, taxonomy, assignment, found.mode, found.state, named=found.named)
        ctx.step("discover", len(pool), len(pool))
        if not added:
            break
        centres = centroids(x, assignment.by_model(), len(taxonomy))


def finish(ctx: RunContext, found: Found, seconds: float) -> tuple[Clustering, ScaleModel]:
    """The result (every text once, topics in order of first appearance) and the clusterer that places new texts."""
    x, taxonomy, assignment, opts = ctx.x, found.taxonomy, found.assignment, ctx.options
    labels = assignment.complete()  # refine leaves no None
    order = list(dict.fromkeys(labels))
    topics = [taxonomy.topics[t] for t in order]
    result = Clustering.from_labels(
        labels, names=[t.name for t in topics], descriptions=[t.description for t in topics],
        ids=[t.id for t in topics], criteria=[t.criterion for t in topics],
        method="agent", model=getattr(ctx.backend, "model", ""), usage=ctx.log.total(seconds), notes=ctx.log.notes,
        placement=list(assignment.source), confidence=[round(float(c), 4) for c in assignment.confidence],
    )
    if ctx.log.tally.rejected:
        result.notes.append(f"the server rejected a constraint ({ctx.log.tally.rejected}); those calls were made "
                            "again without it")
    final = {i: lab for i, lab in enumerate(labels)}
    spec = ctx.corpus.spec
    model = ScaleModel(
        taxonomy=taxonomy, centres=centroids(x, final, len(taxonomy)), mean=ctx.corpus.mean, embedder=spec["embedder"],
        view=spec["view"], template=spec["template"], assign=found.mode, floor=_floor(x, final, len(taxonomy)),
        settings={"instruction": ctx.instruction, "n_clusters": ctx.n_clusters, **dict(vars(opts)),
                  "per_item": bool(found.state["per_item"]), "proposed_by": "clusters" if found.named else "windows"},
    )
    clf = fit_classifier(x, final, len(taxonomy), seed=opts.seed) if len(taxonomy) > 1 else None
    if clf is not None:
        model.classifier = {"coef": clf.coef_.tolist(), "intercept": clf.intercept_.tolist(),
                            "classes": clf.classes_.tolist()}
    return result, model


def _no_taxonomy(notes: Sequence[str]) -> Exception:
    from ..errors import AnswerError

    why = "; ".join(notes[:2]) or "every window failed"
    return AnswerError(f"the model gave no usable clusters on any window ({why}); try a larger model, a clearer "
                       "instruction, or --method embed")


def _floor(x: np.ndarray, labels: dict[int, int], k: int) -> float | None:
    """The 2nd percentile of texts' similarity to their own topic: below it, a new text fits none."""
    if len(labels) < 20:
        return None
    c = centroids(x, labels, k)
    idx = np.fromiter(labels.keys(), dtype=np.int64)
    own = own_similarity(x[idx], c[np.fromiter(labels.values(), dtype=np.int64)])
    return float(np.quantile(own, 0.02))

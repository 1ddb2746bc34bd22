"""The stages in order: embed, windows, propose, merge, describe, assign, discover, refine.

:func:`cluster_corpus` clusters a corpus of any size by an instruction with any backend and
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
from dataclasses import replace
from typing import Any

import numpy as np

from ..agent.state import estimate_tokens
from ..backends.base import Backend
from ..errors import InputError
from ..prompts import clip_layout
from ..types import Clustering, ProgressFn, Usage, null_progress
from .assign import (
    Assignment,
    assign_rest,
    batch_size,
    centroids,
    fit_classifier,
    keep_embed,
    own_similarity,
)
from .calls import Tally
from .check import calibrate, check_windows
from .context import DEFAULT_CONTEXT, ScaleModel, ScaleOptions, centre_rows
from .discover import discover_topics, refine, unfit
from .merge import describe_topics, merge_by_name, merge_clusters
from .propose import propose_named_clusters, propose_windows
from .windows import plan_windows

__all__ = ["assign_mode", "cluster_corpus", "default_assign", "embed_corpus"]

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
    texts: Sequence[str], instruction: str, *, embed_options: dict[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """(centred unit vectors, the mean they were centred by, what embedded them) for the whole corpus.

    The view is routed by the instruction exactly as the offline default does it.
    """
    from ..embed.cluster import mean_row
    from ..embed.clusterer import embed_for_clustering
    from ..embed.embedders import get_embedder
    from ..embed.views import Route, route_instruction, view_embedder

    options = dict(embed_options or {})
    embedder, view = options.get("embedder"), options.get("view", "auto")
    template = options.get("template", "auto")
    route = Route(view, "given") if view != "auto" else (
        route_instruction(instruction, cache_dir=options.get("cache_dir")) if embedder is None and instruction.strip() else Route("semantic", "given"))
    model = get_embedder(view_embedder(route.view, embedder))
    if template == "auto":
        # what the offline default embeds (plain texts for MiniLM), named, so that a saved clusterer
        # re-embeds new texts the same way whatever a later release's "auto" means
        from ..embed.templates import auto_templates

        template = auto_templates(getattr(model, "family", "sentence-transformers"))[0]
    raw = embed_for_clustering(texts, instruction, embedder=model, template=template,
                               cache_dir=options.get("cache_dir"), progress=options.get("progress", False))
    mean = mean_row(raw)  # as the offline default centres: the same vectors, the same clusters
    x = centre_rows(raw, mean)
    name = str(getattr(model, "name", embedder or "minilm"))
    return x, mean, {"embedder": name, "view": route.view, "template": str(template)}


def _context(backend: Backend) -> tuple[int, str]:
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
    agent_options: dict[str, Any] | None = None,
    embed_options: dict[str, Any] | None = None,
    vectors: tuple[np.ndarray, np.ndarray, dict[str, str]] | None = None,
    progress: ProgressFn = null_progress,
) -> tuple[Clustering, ScaleModel]:
    """Cluster ``texts`` of any number by ``instruction``; see the module docstring."""
    texts = list(texts)
    n = len(texts)
    if n < 2:
        raise InputError(f"need at least 2 texts to cluster, got {n}")
    if not instruction.strip():
        raise InputError("the instruction is empty: say how the texts should be grouped")
    opts = options or ScaleOptions()
    named = opts.propose == "clusters"
    mode = assign_mode(opts.assign, n, named=named)
    start = time.perf_counter()
    agent_opts = {"prompt": "named", **(agent_options or {})}
    agent_opts.pop("samples", None)
    agent_opts["think_chars"] = min(int(agent_opts.get("think_chars", opts.think_chars) or 0), opts.think_chars)
    max_text = int(agent_opts.get("max_text_chars", 4000) or 4000)
    notes: list[str] = []
    tally = Tally(keep_replies=False)
    usage = Usage()

    progress("embedding", 0, n, "")
    x, mean, spec = vectors if vectors is not None else embed_corpus(texts, instruction, embed_options=embed_options)
    progress("embedding", n, n, "")
    lengths = [estimate_tokens(clip_layout(t, max_text)) for t in texts]

    context, note = _context(backend)
    if note:
        notes.append(note)
    answer_tokens = int(agent_opts.get("max_tokens", 4096))
    think = int(agent_opts.get("think_chars", 1800) or 0)
    window_answer = min(answer_tokens, think // 3 + 6 * opts.max_window_items + 260)
    agent_opts["max_tokens"] = window_answer
    token_budget = max(200, context - window_answer - 900)
    if named:  # no windows: the offline default's clusters are named instead
        notes.append(f"scale: {n} texts, propose=clusters, assign={mode}")
    else:
        plan = plan_windows(x, lengths, max_items=opts.max_window_items, token_budget=token_budget,
                            per_cluster=opts.per_cluster, max_windows=opts.max_windows, seed=opts.seed)
        notes.append(f"scale: {n} texts, {plan.n_fine} fine embedding clusters, {len(plan.windows)} windows of "
                     f"{', '.join(str(len(w)) for w in plan.windows)} representatives, assign={mode}"
                     + (f"; {len(plan.unshown)} fine clusters fit no window (their texts are assigned as every "
                        "other)" if plan.unshown else ""))

    def calls_detail() -> str:
        u = usage.calls + tally.calls
        return f"{u} calls, {usage.prompt_tokens + usage.completion_tokens + tally.tokens:,} tokens"

    def propose(named: bool) -> Any:
        """The window clusters, or the embedding clusters named by the model."""
        if named:
            progress("propose (name clusters)", 0, 1, "")
            proposal = propose_named_clusters(
                backend, texts, x, instruction, view=spec["view"],
                on_cluster=lambda d, t: progress("propose (name clusters)", d, t, calls_detail()))
        else:
            progress("propose (windows)", 0, len(plan.windows), "")
            proposal = propose_windows(backend, texts, plan.windows, instruction, agent_options=agent_opts,
                                       on_window=lambda d, t: progress("propose (windows)", d, t, calls_detail()))
        usage.add(proposal.usage)
        notes.extend(proposal.notes)
        if not proposal.clusters:
            raise _no_taxonomy(proposal.notes)
        return proposal

    def merge(named: bool, proposal: Any) -> Any:
        """The proposal's clusters merged into one described taxonomy."""
        progress("merge", 0, 1, calls_detail())
        merged = merge_by_name(proposal.clusters, instruction, max_topics=opts.max_named_topics) if (
            named and n_clusters is None) else None
        by_name = merged is not None  # the named clusters' own descriptions are the topics'
        if merged is None:
            merged = merge_clusters(backend, texts, proposal.clusters, instruction, x=x, n_clusters=n_clusters,
                                    seed=opts.seed)
        usage.add(merged.usage)
        notes.extend(merged.notes)
        progress("merge", 1, 1, calls_detail())
        if opts.describe and not by_name:
            progress("describe", 0, len(merged.taxonomy), calls_detail())
            describe_topics(backend, texts, merged.taxonomy, proposal.clusters, merged.topic_of, x=x, seed=opts.seed,
                            tally=tally)
            progress("describe", len(merged.taxonomy), len(merged.taxonomy), calls_detail())
        return merged

    def fall_back(why: str) -> str:
        """The note, and the assign mode for the named clusters."""
        notes.append(f"propose=auto: the window answers failed the check{why}, so the taxonomy comes from the "
                     "embedding clusters named by the model (propose=clusters)")
        if opts.assign == "auto":
            notes.append("assign=auto: embed, as the topics are the embedding clusters the model named (--assign llm "
                         "or hybrid has the model sort the texts again)")
        return assign_mode(opts.assign, n, named=True)

    def check(named: bool, proposal: Any, merged: Any) -> tuple[Assignment, dict[str, Any], ScaleOptions, int]:
        """(the labels the checks gave, what they decided, the options with the batch size, the batch token budget).

        ``trusted``: the window answers were kept; ``per_item``: texts are asked one at a time. Under
        ``propose=auto`` window answers that fail are not checked in batches: the named clusters follow.
        """
        taxonomy = merged.taxonomy
        run_opts = opts if opts.batch_items else replace(opts, batch_items=batch_size(taxonomy, lengths))
        batch_budget = max(300, context - 1200 - 12 * len(taxonomy) * 4 - 8 * run_opts.batch_items)
        window_topic = {i: t for wc, t in zip(proposal.clusters, merged.topic_of) for i in wc.members}
        assignment = Assignment.empty(n)
        progress("check", 0, 1, calls_detail())
        if named and mode == "embed":
            # the clusters are the embeddings' own (nothing the model answered in a long list to check): kept
            state = {"trusted": True, "per_item": opts.batch == "never"}
            keep_embed(x, centroids(x, window_topic, len(taxonomy)), window_topic, assignment)
        else:
            state = calibrate(backend, texts, x, taxonomy, window_topic, assignment, mode, run_opts, lengths,
                              batch_budget, tally, notes, stop_untrusted=opts.propose == "auto" and not named,
                              named=named)
        progress("check", 1, 1, calls_detail())
        return assignment, state, run_opts, batch_budget

    proposal = propose(named)
    if opts.propose == "auto" and not named:
        # before any merge: a model whose window answers disagree with its own single answers gets the embedding
        # clusters, named by it, for a few short questions instead of a merge and a describe step on them
        progress("check windows", 0, 1, calls_detail())
        kappa, answered, share = check_windows(backend, texts, proposal.clusters, instruction,
                                               size=opts.check_size, seed=opts.seed, tally=tally)
        progress("check windows", 1, 1, calls_detail())
        notes.append(f"propose=auto: on {answered} sampled window texts, the window answers and the model's "
                     f"one-at-a-time answers into the same window's clusters agree with kappa {kappa:.2f} "
                     f"({share:.0%} alike; threshold {opts.trust:.2f})")
        if kappa < opts.trust:
            mode = fall_back(" in their windows")
            named = True
            proposal = propose(named)
    merged = merge(named, proposal)
    assignment, state, run_opts, batch_budget = check(named, proposal, merged)
    if opts.propose == "auto" and not named and not state["trusted"]:
        # their topics after the merge disagree with the model's single answers: the same fallback
        mode = fall_back(" against the merged topics")
        named = True
        proposal = propose(named)
        merged = merge(named, proposal)
        assignment, state, run_opts, batch_budget = check(named, proposal, merged)
    taxonomy = merged.taxonomy
    opts = run_opts
    rest = [i for i in range(n) if not assignment.source[i]]
    assign_rest(backend, texts, x, taxonomy, assignment, rest, mode, opts, lengths, batch_budget, tally, progress,
                calls_detail, per_item=state["per_item"], view=spec["view"])

    k = len(taxonomy)
    labelled = assignment.by_model()
    centres = centroids(x, labelled or {i: lab for i, lab in enumerate(assignment.labels) if lab is not None}, k)
    for _ in range(opts.discover_rounds):
        pool = unfit(x, assignment, centres)
        if len(pool) < max(5, n // 100) or len(pool) < 4:
            break
        progress("discover", 0, len(pool), calls_detail())
        found = discover_topics(backend, texts, x, lengths, pool, taxonomy, assignment, mode, opts, agent_opts,
                                instruction, token_budget, batch_budget, tally, usage, notes, state,
                                spec["view"], named=named)
        progress("discover", len(pool), len(pool), calls_detail())
        if not found:
            break
        centres = centroids(x, assignment.by_model(), len(taxonomy))
    notes.extend(refine(x, assignment, taxonomy, min_size=opts.min_topic_size))

    labels = [int(lab) for lab in assignment.labels]  # refine leaves no None
    order = list(dict.fromkeys(labels))
    usage.add(tally.usage())
    usage.seconds = time.perf_counter() - start
    topics = [taxonomy.topics[t] for t in order]
    result = Clustering.from_labels(
        labels, names=[t.name for t in topics], descriptions=[t.description for t in topics],
        ids=[t.id for t in topics], criteria=[t.criterion for t in topics],
        method="agent", model=getattr(backend, "model", ""), usage=usage, notes=notes,
        placement=list(assignment.source), confidence=[round(float(c), 4) for c in assignment.confidence],
    )
    if tally.rejected:
        result.notes.append(f"the server rejected a constraint ({tally.rejected}); those calls were made again "
                            "without it")
    final = {i: lab for i, lab in enumerate(labels)}
    model = ScaleModel(
        taxonomy=taxonomy, centres=centroids(x, final, len(taxonomy)), mean=mean, embedder=spec["embedder"],
        view=spec["view"], template=spec["template"], assign=mode, floor=_floor(x, final, len(taxonomy)),
        settings={"instruction": instruction, "n_clusters": n_clusters, **{k: v for k, v in vars(opts).items()},
                  "per_item": bool(state["per_item"]), "proposed_by": "clusters" if named else "windows"},
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

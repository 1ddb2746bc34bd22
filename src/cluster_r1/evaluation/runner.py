"""Run methods over benchmark examples (bounded threads) and score every pair.

Every (method, example) pair becomes one flat record (a ``dict``, JSON-ready):

* final result: ``v`` (V-measure), ``homogeneity``, ``completeness``, ``nmi``, ``ari``,
  ``k_true``, ``k_pred``, ``count_error``, ``count_correct``;
* paper protocol (App. D + App. I.1): ``v_paper``, ``k_pred_paper``, ``count_correct_paper``
  and ``format_valid`` score the method's *first raw answer* under strict validation; an
  invalid answer scores 0. Methods without raw answers (embeddings) have
  ``format_valid=None`` and ``v_paper == v``;
* cost: ``calls``, ``prompt_tokens``, ``completion_tokens``, ``model_seconds``, ``seconds`` (wall);
* ``repaired``, ``salvaged``, ``attempts``, ``error``, ``violations`` (kinds of the first
  answer's strict violations), ``labels_pred`` (1-based, final).

A method that raises on an example scores 0 on it (the record keeps the error): the
harness never drops an example.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..answer import parse_answer
from ..bench.splits import Example
from ..metrics import evaluate_answer, score_labels
from .methods import Method, Outcome, run_method

__all__ = ["score_outcome", "evaluate_methods", "evaluate"]

log = logging.getLogger(__name__)

Record = dict[str, Any]


def _zero_scores(k_true: int) -> dict[str, Any]:
    return {"v": 0.0, "homogeneity": 0.0, "completeness": 0.0, "nmi": 0.0, "ari": 0.0, "k_pred": 0,
            "count_error": k_true, "count_correct": False}


def score_outcome(method: str, example: Example, outcome: Outcome, seconds: float) -> Record:
    """The record of one method on one example (see the module docstring)."""
    k_true = example.n_clusters
    record: Record = {
        "method": method,
        "example_id": example.id,
        "split": example.split,
        "task": example.task,
        "corpus": example.corpus,
        "held_out": example.held_out,
        "n_texts": len(example.texts),
        "k_true": k_true,
    }
    c = outcome.clustering
    if c is not None:
        s = score_labels(example.labels, c.labels)
        record.update(
            v=s.v_measure, homogeneity=s.homogeneity, completeness=s.completeness, nmi=s.nmi, ari=s.ari,
            k_pred=s.k_pred, count_error=s.count_error, count_correct=s.count_correct,
        )
    else:
        record.update(_zero_scores(k_true))
    if outcome.raw_answers is None:
        record.update(v_paper=record["v"], k_pred_paper=record["k_pred"],
                      count_correct_paper=record["count_correct"], format_valid=None, violations=[])
    else:
        first = outcome.raw_answers[0] if outcome.raw_answers else ""
        paper = evaluate_answer(first, example.labels, names=outcome.answer_names)
        kinds = sorted({v.kind for v in parse_answer(first, len(example.texts), strict=True,
                                                      names=outcome.answer_names).violations})
        record.update(
            v_paper=paper.v_measure,
            k_pred_paper=paper.k_pred if paper.format_valid else 0,
            count_correct_paper=bool(paper.format_valid and paper.count_correct),
            format_valid=bool(paper.format_valid and outcome.raw_answers),
            violations=kinds if outcome.raw_answers else ["no_answer"],
        )
    u = outcome.usage
    record.update(
        calls=u.calls,
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.completion_tokens,
        model_seconds=round(u.seconds, 3),
        seconds=round(seconds, 3),
        repaired=bool(c.repaired) if c else False,
        salvaged=bool(c.salvaged) if c else False,
        attempts=c.attempts if c else len(outcome.raw_answers or []),
        error=outcome.error,
        labels_pred=list(c.labels) if c else None,
    )
    return record


def evaluate_methods(
    methods: Sequence[Method],
    examples: Sequence[Example],
    *,
    concurrency: int = 1,
    on_record: Callable[[Record], None] | None = None,
) -> list[Record]:
    """Every method on every example, at most ``concurrency`` at once; records in (method, example) order."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError(f"two methods share a name: {names}; give them distinct names")
    for m in methods:
        prepare = getattr(m, "prepare", None)
        if callable(prepare):
            prepare()
    jobs = [(m, ex) for m in methods for ex in examples]

    def one(job: tuple[Method, Example]) -> Record:
        method, example = job
        start = time.perf_counter()
        outcome = run_method(method, example)
        record = score_outcome(method.name, example, outcome, time.perf_counter() - start)
        log.info("%s on %s: V=%.3f (paper %.3f)", method.name, example.id, record["v"], record["v_paper"])
        if on_record is not None:
            on_record(record)
        return record

    if concurrency == 1 or len(jobs) <= 1:
        return [one(job) for job in jobs]
    context = contextvars.copy_context()  # the engine in force (cluster_r1.engine.using) reaches every thread
    with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs))) as pool:
        return list(pool.map(lambda job: context.copy().run(one, job), jobs))


def evaluate(
    methods: Sequence[Method],
    examples: Sequence[Example],
    *,
    concurrency: int = 1,
    command: str = "",
    seeds: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    on_record: Callable[[Record], None] | None = None,
) -> dict[str, Any]:
    """Run and aggregate: the ``results.json`` payload (records, aggregates, versions, seeds, command)."""
    from .aggregate import aggregate
    from .io import environment

    started = time.time()
    start = time.perf_counter()
    records = evaluate_methods(methods, examples, concurrency=concurrency, on_record=on_record)
    wall = time.perf_counter() - start
    caches = {}
    for m in methods:
        backend = getattr(m, "backend", None)
        if backend is not None and hasattr(backend, "hits"):
            caches[m.name] = {"path": getattr(backend, "path", None), "hits": backend.hits, "misses": backend.misses}
    return {
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "wall_seconds": round(wall, 2),
        "concurrency": concurrency,
        "versions": environment(),
        "seeds": dict(seeds or {}),
        "config": dict(config or {}),
        "methods": [m.name for m in methods],
        "n_examples": len(examples),
        "response_cache": caches,
        "aggregates": aggregate(records, [m.name for m in methods]),
        "records": records,
    }

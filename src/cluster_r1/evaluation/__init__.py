"""Evaluation harness: methods x benchmark examples -> per-example records, paper-style tables.

>>> from cluster_r1.evaluation import METHOD_NAMES
>>> METHOD_NAMES
('agent', 'agent-constrained', 'kmeans', 'gmm', 'embed', 'assist')

Typical use (``cluster-r1 eval`` does exactly this)::

    examples = load_examples("bench/", ["c0", "c1", "c2"])
    methods = [make_method("kmeans"), make_method("agent", backend=CachedBackend(backend, "out/responses.sqlite"))]
    results = evaluate(methods, examples, concurrency=4)
    write_results("out/", results)
"""

from __future__ import annotations

from .aggregate import aggregate, splits_markdown, summary_markdown, table_markdown
from .io import environment, load_examples, parse_splits, write_results
from .methods import METHOD_NAMES, AgentMethod, EmbeddingMethod, Method, Outcome, TracingMethod, make_method, run_method
from .runner import evaluate, evaluate_methods, score_outcome

__all__ = [
    "METHOD_NAMES",
    "AgentMethod",
    "EmbeddingMethod",
    "Method",
    "Outcome",
    "TracingMethod",
    "aggregate",
    "environment",
    "evaluate",
    "evaluate_methods",
    "load_examples",
    "make_method",
    "parse_splits",
    "run_method",
    "score_outcome",
    "splits_markdown",
    "summary_markdown",
    "table_markdown",
    "write_results",
]

"""Score a checkpoint's raw replies on benchmark examples: reward, format rate, count accuracy, V-measure.

This is the paper's scoring of one reply per example (no re-ask, no salvage): a
reply that fails strict validation scores 0. Works with any backend, e.g.
:class:`~cluster_r1.backends.transformers_local.TransformersBackend` for a local
checkpoint before and after training.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..backends.base import Backend
from ..bench.splits import Example
from ..metrics import evaluate_answer
from ..rewards import clustering_reward
from .data import render_prompt

__all__ = ["ProbeResult", "probe"]


@dataclass
class ProbeResult:
    """Means over the probed examples, and one row per example."""

    n: int
    reward: float
    format_rate: float
    count_accuracy: float
    v_measure: float
    mean_completion_tokens: float
    seconds: float
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def to_dict(self, rows: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not rows:
            data.pop("rows")
        return data


def probe(
    backend: Backend,
    examples: Sequence[Example],
    *,
    prompt: str = "hint",
    max_tokens: int = 1024,
    temperature: float = 0.0,
    combination: str = "harmonic",
    seed: int = 0,
) -> ProbeResult:
    """One reply per example, scored with the training reward and the paper's metrics."""
    if not examples:
        raise ValueError("probe needs at least one example")
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for ex in examples:
        messages = [{"role": "user", "content": render_prompt(ex, prompt)}]
        reply = backend.complete(messages, temperature=temperature, max_tokens=max_tokens, seed=seed)
        scores = evaluate_answer(reply.text, ex.labels)
        rows.append({
            "id": ex.id,
            "reward": clustering_reward(reply.text, ex.labels, combination=combination),  # type: ignore[arg-type]
            "format_valid": scores.format_valid,
            "count_correct": scores.format_valid and scores.count_correct,
            "v_measure": scores.v_measure,
            "completion_tokens": reply.completion_tokens,
            "text": reply.text,
        })
    n = len(rows)
    return ProbeResult(
        n=n,
        reward=sum(r["reward"] for r in rows) / n,
        format_rate=sum(r["format_valid"] for r in rows) / n,
        count_accuracy=sum(r["count_correct"] for r in rows) / n,
        v_measure=sum(r["v_measure"] for r in rows) / n,
        mean_completion_tokens=sum(r["completion_tokens"] for r in rows) / n,
        seconds=round(time.perf_counter() - start, 1),
        rows=rows,
    )

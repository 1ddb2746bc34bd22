"""Reward functions for GRPO besides :class:`cluster_r1.rewards.ClusterReward` (TRL signature, pure).

- :class:`FormatShaping`: partial credit for getting the answer format right, for
  weak or untrained policies whose strict reward is zero everywhere (no advantage,
  no gradient). Off in the paper presets (weight 0); on in smoke tests.
- :class:`ClusterMetrics`: weight-0 "reward" that returns strict format validity (so
  TRL logs the format rate as ``rewards/format_valid/mean``) and reports count
  accuracy and V-measure through TRL's ``log_metric`` hook.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..answer import TAGS, parse_answer
from ..metrics import evaluate_answer
from ..rewards import _completion_text

__all__ = ["format_shaping_score", "FormatShaping", "ClusterMetrics"]

_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def format_shaping_score(text: str, n_items: int) -> float:
    """Share of format checks passed, in [0, 1]: each tag once, tag order, a total line, cluster lines, coverage.

    >>> ok = "<think>t</think><answer>Total clusters: 2\\ncluster1: [1, 2]\\ncluster2: [3]</answer>"
    >>> format_shaping_score(ok, 3), format_shaping_score("", 3)
    (1.0, 0.0)
    >>> 0 < format_shaping_score("<think>t</think> cluster1: [1]", 3) < 1
    True
    """
    checks = [float(text.count(tag) == 1) for tag in _TAGS]
    strict = parse_answer(text, n_items, strict=True)
    checks.append(float(TAGS not in strict.kinds()))
    lenient = parse_answer(text, n_items, strict=False)
    checks.append(float(lenient.total is not None))
    checks.append(float(bool(lenient.clusters)))
    counts: dict[int, int] = {}
    for c in lenient.clusters:
        for i in c.items:
            counts[i] = counts.get(i, 0) + 1
    checks.append(sum(1 for i in range(1, n_items + 1) if counts.get(i) == 1) / n_items)
    checks.append(float(strict.valid))
    return sum(checks) / len(checks)


class FormatShaping:
    """TRL reward ``(completions, gold_labels=..., **kw) -> list[float]``: :func:`format_shaping_score` per completion.

    >>> FormatShaping()(["<think>x</think>"], gold_labels=[["a", "b"]])[0] > 0
    True
    """

    __name__ = "format_shaping"

    def __init__(self, labels_column: str = "gold_labels") -> None:
        self.labels_column = labels_column

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        golds = kwargs[self.labels_column]
        return [format_shaping_score(_completion_text(c), len(g)) for c, g in zip(completions, golds)]


class ClusterMetrics:
    """Weight-0 reward: returns strict validity (1.0 / 0.0) and logs ``count_accuracy`` and ``v_measure``.

    >>> seen = {}
    >>> ok = "<think>t</think><answer>Total clusters: 2\\ncluster1: [1, 2]\\ncluster2: [3]</answer>"
    >>> ClusterMetrics()([ok, "no"], gold_labels=[["a", "a", "b"]] * 2, log_metric=seen.__setitem__)
    [1.0, 0.0]
    >>> seen
    {'format_rate': 0.5, 'count_accuracy': 0.5, 'v_measure': 0.5}
    """

    __name__ = "format_valid"

    def __init__(self, labels_column: str = "gold_labels", log_path: str | Path | None = None) -> None:
        self.labels_column = labels_column
        self.log_path = Path(log_path) if log_path is not None else None

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        golds = kwargs[self.labels_column]
        texts = [_completion_text(c) for c in completions]
        scores = [evaluate_answer(t, g) for t, g in zip(texts, golds)]
        if self.log_path is not None:
            state = kwargs.get("trainer_state")
            step = int(state.global_step) + 1 if state is not None else None
            with self.log_path.open("a", encoding="utf-8") as fh:
                for text, gold, score in zip(texts, golds, scores):
                    row = {"step": step, "completion": text, "gold_labels": list(gold),
                           "format_valid": score.format_valid, "count_correct": score.count_correct,
                           "v_measure": round(score.v_measure, 4)}
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
        if log_metric is not None and scores:
            n = len(scores)
            log_metric("format_rate", sum(s.format_valid for s in scores) / n)
            log_metric("count_accuracy", sum(s.format_valid and s.count_correct for s in scores) / n)
            log_metric("v_measure", sum(s.v_measure for s in scores) / n)
        return [float(s.format_valid) for s in scores]



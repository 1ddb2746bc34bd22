"""Clustering metrics, pure, scikit-learn underneath.

Every ``*_score(labels_true, labels_pred)`` takes label sequences of any
hashable type. :func:`evaluate_answer` scores a raw model output the way the
paper does: an answer that fails strict validation scores V = 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sklearn import metrics as skm

from .answer import parse_answer

__all__ = [
    "v_measure_score",
    "homogeneity_score",
    "completeness_score",
    "nmi_score",
    "ari_score",
    "count_error",
    "count_accuracy",
    "format_accuracy",
    "ClusterScores",
    "score_labels",
    "evaluate_answer",
]


def _check(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    if len(labels_true) != len(labels_pred):
        raise ValueError(f"labels_true has {len(labels_true)} entries, labels_pred {len(labels_pred)}")
    if len(labels_true) == 0:
        raise ValueError("cannot score an empty clustering")
    return [str(x) for x in labels_true], [str(x) for x in labels_pred]


def v_measure_score(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    """V-measure (Rosenberg & Hirschberg 2007), 0..1.

    >>> v_measure_score([0, 0, 1, 1], ["b", "b", "a", "a"])
    1.0
    """
    t, p = _check(labels_true, labels_pred)
    return float(skm.v_measure_score(t, p))


def homogeneity_score(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    t, p = _check(labels_true, labels_pred)
    return float(skm.homogeneity_score(t, p))


def completeness_score(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    t, p = _check(labels_true, labels_pred)
    return float(skm.completeness_score(t, p))


def nmi_score(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    t, p = _check(labels_true, labels_pred)
    return float(skm.normalized_mutual_info_score(t, p))


def ari_score(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> float:
    t, p = _check(labels_true, labels_pred)
    return float(skm.adjusted_rand_score(t, p))


def count_error(k_true: int, k_pred: int) -> int:
    """Absolute error of the cluster count.

    >>> count_error(4, 6)
    2
    """
    return abs(int(k_true) - int(k_pred))


def count_accuracy(k_true: Sequence[int], k_pred: Sequence[int]) -> float:
    """Share of examples whose predicted cluster count is exactly right.

    >>> count_accuracy([3, 4, 5], [3, 5, 5])
    0.6666666666666666
    """
    if len(k_true) != len(k_pred) or not k_true:
        raise ValueError("count_accuracy needs two non-empty sequences of the same length")
    return sum(int(a) == int(b) for a, b in zip(k_true, k_pred)) / len(k_true)


def format_accuracy(valid: Sequence[bool]) -> float:
    """Share of answers that passed strict validation."""
    if not valid:
        raise ValueError("format_accuracy needs at least one answer")
    return sum(bool(v) for v in valid) / len(valid)


@dataclass
class ClusterScores:
    """Scores of one predicted clustering against gold labels."""

    v_measure: float
    homogeneity: float
    completeness: float
    nmi: float
    ari: float
    k_true: int
    k_pred: int
    format_valid: bool = True

    @property
    def count_error(self) -> int:
        return count_error(self.k_true, self.k_pred)

    @property
    def count_correct(self) -> bool:
        return self.k_true == self.k_pred

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "count_error": self.count_error, "count_correct": self.count_correct}


def score_labels(labels_true: Sequence[Any], labels_pred: Sequence[Any]) -> ClusterScores:
    """All metrics for one prediction.

    >>> s = score_labels([0, 0, 1, 1], [1, 1, 1, 2])
    >>> round(s.v_measure, 3), s.k_true, s.k_pred
    (0.344, 2, 2)
    """
    t, p = _check(labels_true, labels_pred)
    h, c, v = skm.homogeneity_completeness_v_measure(t, p)
    return ClusterScores(
        v_measure=float(v),
        homogeneity=float(h),
        completeness=float(c),
        nmi=float(skm.normalized_mutual_info_score(t, p)),
        ari=float(skm.adjusted_rand_score(t, p)),
        k_true=len(set(t)),
        k_pred=len(set(p)),
    )


def evaluate_answer(text: str, labels_true: Sequence[Any], *, names: bool = False) -> ClusterScores:
    """Score a raw model output as the paper does: strict-invalid answers score 0 on every metric.

    ``k_pred`` is the declared total when it could be read, else 0.

    >>> ok = "<think>t</think><answer>Total clusters: 2\\ncluster1: [1, 2]\\ncluster2: [3]</answer>"
    >>> evaluate_answer(ok, ["a", "a", "b"]).v_measure
    1.0
    >>> evaluate_answer(ok.replace("[3]", "[3, 3]"), ["a", "a", "b"]).v_measure
    0.0
    """
    parsed = parse_answer(text, len(labels_true), strict=True, names=names)
    if not parsed.valid:
        return ClusterScores(0.0, 0.0, 0.0, 0.0, 0.0, len(set(map(str, labels_true))), parsed.total or 0, False)
    pred = parsed.labels()
    return score_labels(labels_true, pred)

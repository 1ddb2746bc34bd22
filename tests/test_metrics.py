"""Metric invariances across all metrics in one file (scikit-learn style)."""

from __future__ import annotations

import random

import pytest

from cluster_r1.metrics import (
    ari_score,
    completeness_score,
    count_accuracy,
    count_error,
    evaluate_answer,
    format_accuracy,
    homogeneity_score,
    nmi_score,
    score_labels,
    v_measure_score,
)

SYMMETRIC = [v_measure_score, nmi_score, ari_score]
ALL = SYMMETRIC + [homogeneity_score, completeness_score]

TRUE = ["a", "a", "a", "b", "b", "c", "c", "c", "c", "d"]
PRED = [1, 1, 2, 2, 2, 3, 3, 3, 1, 4]


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_invariant_to_label_permutation(metric) -> None:
    rng = random.Random(0)
    names = sorted(set(PRED))
    for _ in range(5):
        perm = dict(zip(names, rng.sample(names, len(names))))
        assert metric(TRUE, [perm[p] for p in PRED]) == pytest.approx(metric(TRUE, PRED))
    # label type does not matter either
    assert metric(TRUE, [f"x{p}" for p in PRED]) == pytest.approx(metric(TRUE, PRED))


@pytest.mark.parametrize("metric", SYMMETRIC, ids=lambda m: m.__name__)
def test_symmetric(metric) -> None:
    assert metric(TRUE, PRED) == pytest.approx(metric(PRED, TRUE))


def test_homogeneity_completeness_swap() -> None:
    assert homogeneity_score(TRUE, PRED) == pytest.approx(completeness_score(PRED, TRUE))


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_perfect_is_one(metric) -> None:
    assert metric(TRUE, [{"a": 9, "b": 8, "c": 7, "d": 6}[t] for t in TRUE]) == pytest.approx(1.0)


def test_v_measure_hand_computed() -> None:
    # 4 items, 2 gold classes; prediction merges everything: h = 0, c = 1 -> V = 0
    assert v_measure_score([0, 0, 1, 1], [5, 5, 5, 5]) == pytest.approx(0.0)
    # singletons: h = 1, c = H(K|C)... = 1 - H(K|C)/H(K) = 1 - log2/log4 = 0.5 -> V = 2*0.5/1.5
    assert v_measure_score([0, 0, 1, 1], [1, 2, 3, 4]) == pytest.approx(2 / 3)


@pytest.mark.parametrize("metric", ALL, ids=lambda m: m.__name__)
def test_length_mismatch_is_an_error(metric) -> None:
    with pytest.raises(ValueError, match="entries"):
        metric([1, 2], [1])


def test_count_metrics() -> None:
    assert count_error(3, 7) == 4
    assert count_accuracy([2, 3], [2, 4]) == 0.5
    assert format_accuracy([True, False, True, True]) == 0.75
    with pytest.raises(ValueError):
        count_accuracy([], [])


def test_score_labels_reports_k() -> None:
    s = score_labels(TRUE, PRED)
    assert (s.k_true, s.k_pred, s.count_error) == (4, 4, 0)
    assert s.v_measure == pytest.approx(v_measure_score(TRUE, PRED))
    assert s.to_dict()["count_correct"] is True


def test_unparseable_answer_scores_zero() -> None:
    gold = ["x", "x", "y"]
    good = "<think>t</think><answer>Total clusters: 2\ncluster1: [1, 2]\ncluster2: [3]</answer>"
    assert evaluate_answer(good, gold).v_measure == pytest.approx(1.0)
    bad = evaluate_answer("I think 1 and 2 go together", gold)
    assert (bad.v_measure, bad.format_valid, bad.k_pred) == (0.0, False, 0)
    missing = evaluate_answer(good.replace("[3]", "[]"), gold)
    assert missing.v_measure == 0.0 and missing.k_pred == 2

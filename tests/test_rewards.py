"""The paper's reward against hand-computed values."""

from __future__ import annotations

import math

import pytest

from cluster_r1.rewards import ClusterReward, clustering_reward, combine, count_reward


def ans(*clusters: list[int], total: int | None = None, think: bool = True) -> str:
    lines = [f"Total clusters: {len(clusters) if total is None else total}"]
    lines += [f"cluster{k}: [{', '.join(map(str, c))}]" for k, c in enumerate(clusters, 1)]
    head = "<think>r</think>" if think else ""
    return head + "<answer>" + "\n".join(lines) + "</answer>"


GOLD = ["a", "a", "b", "b"]


def test_count_reward_decay() -> None:
    assert count_reward(4, 4) == 1.0
    assert count_reward(2, 4) == 0.25
    assert count_reward(7, 4, decay=0.9) == pytest.approx(0.729)
    with pytest.raises(ValueError):
        count_reward(1, 1, decay=0)


def test_perfect_answer() -> None:
    assert clustering_reward(ans([1, 2], [3, 4]), GOLD) == pytest.approx(1.0, abs=1e-5)


def test_format_gate_zeroes_everything() -> None:
    assert clustering_reward(ans([1, 2], [3, 4], think=False), GOLD) == 0.0
    assert clustering_reward(ans([1, 2], [3, 4], total=3), GOLD) == 0.0
    assert clustering_reward(ans([1, 2], [3]), GOLD) == 0.0


def test_hand_computed_harmonic() -> None:
    # one cluster: k_pred 1 vs 2 -> Rc = 0.5; V = 0 (h = 0) -> R = 0
    assert clustering_reward(ans([1, 2, 3, 4]), GOLD) == 0.0
    # singletons: k_pred 4 -> Rc = 0.25; h = 1, c = 0.5 -> V = 2/3
    rc, v = 0.25, 2 / 3
    expected = 2 * rc * v / (rc + v + 1e-6)
    assert clustering_reward(ans([1], [2], [3], [4]), GOLD) == pytest.approx(expected)
    assert expected == pytest.approx(0.3636, abs=1e-4)


def test_combinations() -> None:
    single = ans([1], [2], [3], [4])
    assert clustering_reward(single, GOLD, combination="product") == pytest.approx(0.25 * 2 / 3)
    assert clustering_reward(single, GOLD, combination="mean") == pytest.approx((0.25 + 2 / 3) / 2)
    assert combine(0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="combination"):
        combine(1, 1, "max")  # type: ignore[arg-type]


def test_trl_signature_with_conversational_completions() -> None:
    reward = ClusterReward(combination="mean")
    completions = [[{"role": "assistant", "content": ans([1, 2], [3, 4])}], [{"role": "assistant", "content": "?"}]]
    out = reward(completions, gold_labels=[GOLD, GOLD], prompts=["p", "p"])
    assert out == [pytest.approx(1.0), 0.0]
    assert all(isinstance(x, float) and not math.isnan(x) for x in out)


def test_trl_reward_needs_the_labels_column() -> None:
    with pytest.raises(KeyError, match="gold_labels"):
        ClusterReward()(["x"], prompts=["p"])
    with pytest.raises(ValueError, match="2 completions"):
        ClusterReward()(["x", "y"], gold_labels=[GOLD])

"""The paper's RL reward (§5.2, eqs. 3-7), pure, with TRL's reward signature.

``R = R_format * R_cluster`` where ``R_format`` is 1 if the answer passes strict
validation (App. D) else 0, and ``R_cluster`` combines the count reward
``R_count = decay ** |k_pred - k_gold|`` with the V-measure of the assignment.

The paper's text lost the formula of eq. 5 (only "a small constant introduced
for numerical stability" survives), so the combination is selectable:

- ``"harmonic"`` (default): ``2 * Rc * V / (Rc + V + eps)`` — the epsilon sits
  where the paper says it does, and a zero in either term zeroes the reward;
- ``"product"``: ``Rc * V``;
- ``"mean"``: ``(Rc + V) / 2`` — the shaped variant, non-zero for a right count
  with a poor assignment (useful to get a learning signal from weak models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from .answer import parse_answer
from .metrics import v_measure_score

__all__ = ["count_reward", "combine", "clustering_reward", "ClusterReward", "cluster_reward"]

Combination = Literal["harmonic", "product", "mean"]


def count_reward(k_pred: int, k_gold: int, decay: float = 0.5) -> float:
    """``decay ** |k_pred - k_gold|`` (eq. 6).

    >>> count_reward(3, 3), count_reward(5, 3), count_reward(2, 3, decay=0.8)
    (1.0, 0.25, 0.8)
    """
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    return float(decay ** abs(int(k_pred) - int(k_gold)))


def combine(r_count: float, v: float, how: Combination = "harmonic", eps: float = 1e-6) -> float:
    """Combine the count reward and V-measure into R_cluster (eq. 5).

    >>> round(combine(1.0, 0.5), 4), combine(0.5, 0.5, "product"), combine(1.0, 0.0, "mean")
    (0.6667, 0.25, 0.5)
    """
    if how == "harmonic":
        return 2.0 * r_count * v / (r_count + v + eps)
    if how == "product":
        return r_count * v
    if how == "mean":
        return (r_count + v) / 2.0
    raise ValueError(f"unknown combination {how!r}; choose harmonic, product or mean")


def clustering_reward(
    completion: str,
    gold_labels: Sequence[Any],
    *,
    decay: float = 0.5,
    combination: Combination = "harmonic",
    eps: float = 1e-6,
    names: bool = False,
) -> float:
    """R_format x R_cluster for one completion.

    >>> good = "<think>t</think><answer>Total clusters: 2\\ncluster1: [1, 2]\\ncluster2: [3]</answer>"
    >>> round(clustering_reward(good, ["x", "x", "y"]), 4)
    1.0
    >>> clustering_reward(good.replace("<think>t</think>", ""), ["x", "x", "y"])
    0.0
    """
    parsed = parse_answer(completion, len(gold_labels), strict=True, names=names)
    if not parsed.valid:
        return 0.0
    pred = parsed.labels()
    k_gold = len({str(g) for g in gold_labels})
    r_count = count_reward(len(parsed.clusters), k_gold, decay)
    v = v_measure_score(gold_labels, pred)
    return float(combine(r_count, v, combination, eps))


def _completion_text(completion: Any) -> str:
    """TRL passes plain strings, or message lists for conversational datasets."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    return str(completion)


class ClusterReward:
    """TRL reward function ``(completions, **kwargs) -> list[float]``.

    Gold labels arrive as a dataset column (default ``gold_labels``), one list per prompt.

    >>> reward = ClusterReward()
    >>> good = "<think>t</think><answer>Total clusters: 2\\ncluster1: [1, 2]\\ncluster2: [3]</answer>"
    >>> [round(r, 4) for r in reward([good, "no answer"], gold_labels=[["a", "a", "b"], ["a", "a", "b"]])]
    [1.0, 0.0]
    """

    def __init__(
        self,
        *,
        decay: float = 0.5,
        combination: Combination = "harmonic",
        eps: float = 1e-6,
        names: bool = False,
        labels_column: str = "gold_labels",
    ) -> None:
        combine(1.0, 1.0, combination, eps)  # validate early
        count_reward(0, 0, decay)
        self.decay, self.combination, self.eps, self.names = decay, combination, eps, names
        self.labels_column = labels_column
        self.__name__ = f"cluster_reward_{combination}"

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        if self.labels_column not in kwargs:
            raise KeyError(
                f"the reward needs the dataset column {self.labels_column!r} with each prompt's gold labels; "
                f"got columns {sorted(kwargs)}"
            )
        golds = kwargs[self.labels_column]
        if len(golds) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(golds)} gold label lists")
        return [
            clustering_reward(
                _completion_text(c), g, decay=self.decay, combination=self.combination, eps=self.eps, names=self.names
            )
            for c, g in zip(completions, golds)
        ]


cluster_reward = ClusterReward()
"""The default reward (harmonic combination, decay 0.5), ready to pass to TRL."""

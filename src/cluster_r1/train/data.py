"""Benchmark examples -> training rows (prompt / completion / gold labels). Pure, no ML libraries.

Rows are *conversational* (lists of chat messages) so that TRL applies the model's
chat template, exactly as the agent's prompts are sent at inference time:

- SFT rows: ``{"prompt": [user], "completion": [assistant], ...}`` (TRL prompt-completion
  format; the loss then covers the completion only);
- GRPO rows: ``{"prompt": [user], "gold_labels": [...], ...}``; extra columns reach the
  reward functions as keyword arguments.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..bench.splits import Example, read_jsonl
from ..errors import InputError
from ..prompts import get_template

__all__ = [
    "PROMPTS",
    "render_prompt",
    "gold_answer",
    "final_answer_completion",
    "sft_row",
    "final_answer_rows",
    "grpo_rows",
    "read_rows",
    "write_rows",
    "load_examples",
]

PROMPTS = ("paper", "hint")
"""Student prompts: the paper's strict prompt, or the §8.2 reasoning-hint prompt (also the distillation prompt)."""


def render_prompt(example: Example, prompt: str = "hint") -> str:
    """The user message the student sees for ``example`` (no gold answer in it)."""
    if prompt not in PROMPTS:
        raise InputError(f"prompt {prompt!r}: training uses the strict answer format, choose one of {PROMPTS}")
    return get_template(prompt).render(example.instruction, example.texts)


def gold_answer(labels: Sequence[Any]) -> str:
    """The strict App. D answer body of a gold labelling; clusters numbered by first appearance.

    >>> print(gold_answer(["b", "a", "b"]))
    Total clusters: 2
    cluster1: [1, 3]
    cluster2: [2]
    """
    order: dict[Any, int] = {}
    for lab in labels:
        order.setdefault(lab, len(order) + 1)
    lines = [f"Total clusters: {len(order)}"]
    for lab, k in order.items():
        items = [str(i + 1) for i, other in enumerate(labels) if other == lab]
        lines.append(f"cluster{k}: [{', '.join(items)}]")
    return "\n".join(lines)


def final_answer_completion(labels: Sequence[Any], think: str = "") -> str:
    """A complete strict-valid completion holding the gold answer (the paper's "SFT + final answer" target).

    >>> from cluster_r1.answer import parse_answer
    >>> parse_answer(final_answer_completion(["x", "y", "x"]), 3).valid
    True
    """
    return f"<think>\n{think}\n</think>\n<answer>\n{gold_answer(labels)}\n</answer>"


def sft_row(example: Example, completion: str, prompt: str = "hint") -> dict[str, Any]:
    """One conversational prompt-completion row, with the gold labels kept for analysis."""
    return {
        "id": example.id,
        "task": example.task,
        "prompt": [{"role": "user", "content": render_prompt(example, prompt)}],
        "completion": [{"role": "assistant", "content": completion}],
        "gold_labels": list(example.labels),
    }


def final_answer_rows(examples: Iterable[Example], prompt: str = "hint") -> list[dict[str, Any]]:
    """SFT rows whose completion is the gold answer with an empty ``<think>`` (no reasoning)."""
    return [sft_row(ex, final_answer_completion(ex.labels), prompt) for ex in examples]


def grpo_rows(examples: Iterable[Example], prompt: str = "hint") -> list[dict[str, Any]]:
    """GRPO rows: the prompt plus the ``gold_labels`` column read by :class:`cluster_r1.rewards.ClusterReward`."""
    return [
        {
            "id": ex.id,
            "task": ex.task,
            "prompt": [{"role": "user", "content": render_prompt(ex, prompt)}],
            "gold_labels": list(ex.labels),
            "n_texts": len(ex.texts),
        }
        for ex in examples
    ]


def write_rows(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_examples(path: str | Path, *, max_examples: int | None = None) -> list[Example]:
    """Benchmark examples from a split JSONL file or a benchmark folder (its ``train.jsonl``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "train.jsonl"
    if not path.exists():
        raise InputError(f"{path} does not exist: build the benchmark first with `cluster-r1 bench build --out DIR`")
    examples = read_jsonl(path)
    if not examples:
        raise InputError(f"{path} holds no examples")
    return examples[:max_examples] if max_examples else examples

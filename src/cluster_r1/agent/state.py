"""What one agent run accumulates: calls, tokens, raw replies and notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..backends.base import Backend, Completion
from ..types import Usage

__all__ = ["Ask", "Run", "estimate_tokens", "fmt_items"]


def _quiet(message: str) -> None:
    return None


@dataclass(frozen=True)
class Ask:
    """How one agent run (one sample) asks: the backend, its sampling (``temperature``, ``seed``), the answer's
    token budget, and where its events go."""

    backend: Backend
    temperature: float = 0.0
    seed: int | None = None
    max_tokens: int = 4096
    event: Callable[[str], None] = _quiet


def estimate_tokens(text: str) -> int:
    """A cheap upper-leaning token estimate (about 3.5 characters per token in English).

    >>> estimate_tokens("x" * 35)
    11
    """
    return int(len(text) / 3.5) + 1


@dataclass
class Run:
    """The state of one agent run (one sample): usage, every raw reply in call order, the clustering
    answers as read (in the paper's format), notes, and what became of requested constraints."""

    usage: Usage = field(default_factory=Usage)
    outputs: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    constraints: dict[str, int] = field(default_factory=dict)

    def record(self, completion: Completion) -> str:
        self.usage.add(Usage(1, completion.prompt_tokens, completion.completion_tokens, completion.seconds))
        self.outputs.append(completion.text)
        if completion.constraint:
            key = "rejected" if completion.constraint.startswith("rejected") else completion.constraint
            self.constraints[key] = self.constraints.get(key, 0) + 1
            if key == "rejected" and not any(n.startswith("the server rejected") for n in self.notes):
                self.notes.append(f"the server rejected a constraint ({completion.constraint[10:]}); "
                                  "the call was made again without it")
        return completion.text


def fmt_items(items: list[int], limit: int = 20) -> str:
    """Item numbers for a note, the first ``limit`` shown.

    >>> fmt_items(list(range(1, 25)), 3)
    '1, 2, 3 (+21 more)'
    """
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")

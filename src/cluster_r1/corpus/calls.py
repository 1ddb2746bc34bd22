"""Model calls of the scale stages and the assisted mode: one helper that asks, constrains and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backends.base import Backend, Completion, Message, generate
from ..types import Usage

__all__ = ["Tally", "ask"]


@dataclass
class Tally:
    """Token and time accounting across calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    replies: list[str] = field(default_factory=list)
    rejected: str = ""  # why the server refused a constraint, when it did
    keep_replies: bool = True

    def add(self, c: Completion) -> Completion:
        if c.constraint.startswith("rejected") and not self.rejected:
            self.rejected = c.constraint[len("rejected: "):]
        self.calls += 1
        self.prompt_tokens += c.prompt_tokens
        self.completion_tokens += c.completion_tokens
        return c

    def usage(self, seconds: float = 0.0) -> Usage:
        return Usage(calls=self.calls, prompt_tokens=self.prompt_tokens, completion_tokens=self.completion_tokens,
                     seconds=seconds)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def ask(
    backend: Backend, tally: Tally, prompt: str, *, max_tokens: int, seed: int | None, temperature: float = 0.0,
    constraint: Any = None,
) -> str:
    messages: list[Message] = [{"role": "user", "content": prompt}]
    reply = tally.add(generate(backend, messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                               constraint=constraint)).text
    if tally.keep_replies:
        tally.replies.append(reply)
    return reply

"""The one protocol every LLM backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Message", "Completion", "Backend", "complete_many"]

Message = dict[str, str]


@dataclass
class Completion:
    """One model reply and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    model: str = ""
    finish_reason: str = ""


@runtime_checkable
class Backend(Protocol):
    """A chat model. ``complete`` is the only method a backend must implement.

    ``model`` names the model in results; ``context_window`` (tokens) is None when unknown;
    ``concurrency`` bounds parallel calls made through :func:`complete_many`.
    """

    model: str
    context_window: int | None
    concurrency: int

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion: ...


def complete_many(
    backend: Backend, conversations: Sequence[Sequence[Message]], **kwargs: Any
) -> list[Completion]:
    """Run several conversations, at most ``backend.concurrency`` at once, results in input order."""
    workers = max(1, int(getattr(backend, "concurrency", 1) or 1))
    if workers == 1 or len(conversations) <= 1:
        return [backend.complete(c, **kwargs) for c in conversations]
    with ThreadPoolExecutor(max_workers=min(workers, len(conversations))) as pool:
        return list(pool.map(lambda c: backend.complete(c, **kwargs), conversations))

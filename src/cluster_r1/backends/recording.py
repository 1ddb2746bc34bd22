"""A backend wrapper that keeps every completion, in call order (for scoring raw answers)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..types import Usage
from .base import Backend, Completion, Message, Wrapper, generate

__all__ = ["RecordingBackend"]


class RecordingBackend(Wrapper):
    """Forwards to a backend and keeps every completion of one example, in call order."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.model = backend.model
        self.context_window = getattr(backend, "context_window", None)
        self.concurrency = int(getattr(backend, "concurrency", 1) or 1)
        self.completions: list[Completion] = []
        self.constraints: list[object] = []
        self._lock = threading.Lock()

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        constraint: object = None,
    ) -> Completion:
        completion = generate(self.backend, messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                              constraint=constraint)
        with self._lock:
            self.completions.append(completion)
            self.constraints.append(constraint)
        return completion

    def usage(self) -> Usage:
        usage = Usage()
        for c in self.completions:
            usage.add(Usage(1, c.prompt_tokens, c.completion_tokens, c.seconds))
        return usage

"""A backend that replays queued replies: unit tests of agent logic, never evidence that a model works."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from .base import Completion, Message

__all__ = ["ScriptedBackend"]

Reply = str | Exception | Callable[[Sequence[Message]], str]


class ScriptedBackend:
    """Replies come from a queue (``enqueue``); every call's messages land in ``history``.

    A queued item may be a string, an exception to raise, or a function of the messages.

    >>> b = ScriptedBackend(["hello"])
    >>> b.complete([{"role": "user", "content": "hi"}]).text
    'hello'
    >>> b.history[0][-1]["content"]
    'hi'
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        model: str = "scripted",
        context_window: int | None = None,
        constraint_kinds: Iterable[str] = (),
    ) -> None:
        self.model = model
        self.context_window = context_window
        #: constraint kinds this fake claims to honour (it records them in ``kwargs``; replies are as queued)
        self.constraint_kinds = frozenset(constraint_kinds)
        self.concurrency = 1
        self._queue: deque[Reply] = deque(replies)
        self.history: list[list[Message]] = []
        self.kwargs: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def enqueue(self, *replies: Reply) -> ScriptedBackend:
        self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        return len(self._queue)

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        constraint: object = None,
    ) -> Completion:
        with self._lock:
            self.history.append([dict(m) for m in messages])
            self.kwargs.append({"temperature": temperature, "max_tokens": max_tokens, "seed": seed,
                                "constraint": constraint})
            if not self._queue:
                raise AssertionError(f"ScriptedBackend: no reply queued for call {len(self.history)}")
            reply = self._queue.popleft()
        if isinstance(reply, Exception):
            raise reply
        text = reply(messages) if callable(reply) else reply
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4
        return Completion(text, prompt_tokens, len(text) // 4, 0.0, self.model, "stop",
                          "applied" if constraint is not None else "")

"""Where batch work runs: in this process (``local``, the default) or on a Ray cluster (``ray``).

A stage hands the engine a piece of :class:`Work` and the items to map it over; the engine gives back one
result per batch, in order. No stage knows which engine runs it: the engine in force is a context value
(:func:`using`, :func:`current_engine`), set once by the entry point.

>>> class Double:
...     def setup(self):
...         return lambda batch: [2 * x for x in batch]
>>> list(LocalEngine().map_batches(Double(), [1, 2, 3], batch_size=2))
[[2, 4], [6]]

The Ray engine (:mod:`cluster_r1.engine.ray`, ``pip install "cluster-r1[ray]"``) maps the batches with Ray
Data over actors that each set the work up once (an encoder loaded once per actor).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

__all__ = ["ENGINES", "Work", "Engine", "LocalEngine", "current_engine", "using"]

#: What ``--engine`` may say.
ENGINES = ("local", "ray")


class Work(Protocol):
    """A piece of batch work: ``setup()`` (once per worker: load a model) returns ``fn(batch) -> results``, one
    result per item of the batch. It must pickle for the Ray engine."""

    def setup(self) -> Callable[[list[Any]], Any]: ...


class Engine(Protocol):
    """Maps :class:`Work` over batches of items; ``notes()`` says what ran where, for the result's notes."""

    name: str

    def map_batches(self, work: Work, items: Sequence[Any], *, batch_size: int) -> Iterator[Any]: ...

    def notes(self) -> list[str]: ...


class LocalEngine:
    """Everything in this process, one batch after the other (today's behaviour)."""

    name = "local"

    def map_batches(self, work: Work, items: Sequence[Any], *, batch_size: int) -> Iterator[Any]:
        """``fn(batch)`` for each consecutive batch of ``batch_size`` items, in order."""
        if not items:
            return
        fn = work.setup()
        for start in range(0, len(items), batch_size):
            yield fn(list(items[start : start + batch_size]))

    def notes(self) -> list[str]:
        return []


_CURRENT: contextvars.ContextVar[Engine | None] = contextvars.ContextVar("cluster_r1_engine", default=None)
_LOCAL = LocalEngine()


def current_engine() -> Engine:
    """The engine in force (:func:`using`); the local one by default."""
    return _CURRENT.get() or _LOCAL


@contextlib.contextmanager
def using(engine: Engine) -> Iterator[Engine]:
    """Run the body's batch work on ``engine``."""
    token = _CURRENT.set(engine)
    try:
        yield engine
    finally:
        _CURRENT.reset(token)

"""Notices: what went wrong around a run without changing its result.

A damaged cache entry dropped and recomputed, a cache location that cannot be used, a
full disk that stopped a cache from saving: each is one warning line on the terminal
(through :mod:`logging`) and one line in the notes of the next result
(:func:`cluster_r1.api.cluster_texts` drains them). The same message is recorded once per
process until drained, however many threads or cache entries meet it.

>>> _ = drain()
>>> notice("embedding cache: a damaged entry was dropped")
>>> notice("embedding cache: a damaged entry was dropped")
>>> drain()
['embedding cache: a damaged entry was dropped']
>>> drain()
[]
"""

from __future__ import annotations

import logging
import threading

__all__ = ["notice", "drain", "pending"]

_log = logging.getLogger("cluster_r1")
_lock = threading.Lock()
_pending: list[str] = []


def notice(message: str, *, logger: logging.Logger | None = None) -> None:
    """Record ``message`` (one line) for the next result's notes and log it as a warning, once."""
    line = " ".join(str(message).split())
    with _lock:
        if line in _pending:
            return
        _pending.append(line)
    (logger or _log).warning("%s", line)


def pending() -> list[str]:
    """The notices recorded since the last :func:`drain`, without clearing them."""
    with _lock:
        return list(_pending)


def drain() -> list[str]:
    """The notices recorded since the last call, in order; clears them."""
    with _lock:
        out = list(_pending)
        _pending.clear()
    return out

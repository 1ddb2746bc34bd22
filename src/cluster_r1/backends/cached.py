"""A persistent response cache around any :class:`~cluster_r1.backends.Backend` (stdlib ``sqlite3``).

A rerun, or a run resumed after a crash, repeats no model call that already
finished: every reply is stored under a key of (server or backend name, model,
messages, temperature, max_tokens, seed) and replayed from the database on the
next identical request. Only replies are stored; errors are not, so a failed call
is tried again next time.

Sampling without a seed (``temperature > 0`` and ``seed=None``) would make every
identical request return the first stored sample; such requests are keyed with an
occurrence number instead (the n-th identical request in this process gets the
n-th stored sample), so distinct samples stay distinct and a rerun replays them all.

>>> from cluster_r1.backends import ScriptedBackend
>>> inner = ScriptedBackend(["hello"])
>>> cached = CachedBackend(inner, ":memory:")
>>> [cached.complete([{"role": "user", "content": "hi"}]).text for _ in range(2)]
['hello', 'hello']
>>> cached.hits, cached.misses, len(inner.history)
(1, 1, 1)
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ..constraints import describe
from .base import Backend, Completion, Message, Wrapper, generate, supports

__all__ = ["CachedBackend", "cache_key"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    finish_reason TEXT NOT NULL,
    reply_model TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def _request(
    namespace: str,
    model: str,
    messages: Sequence[Message],
    temperature: float,
    max_tokens: int | None,
    seed: int | None,
    occurrence: int | None = None,
    constraint: str = "",
) -> str:
    payload = {
        "namespace": namespace,
        "model": model,
        "messages": [dict(m) for m in messages],
        "temperature": float(temperature),
        "max_tokens": max_tokens,
        "seed": seed,
    }
    if occurrence is not None:
        payload["occurrence"] = occurrence
    if constraint:
        payload["constraint"] = constraint
    return json.dumps(payload, sort_keys=True, ensure_ascii=False)


def cache_key(
    namespace: str,
    model: str,
    messages: Sequence[Message],
    temperature: float = 0.0,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> str:
    """The SHA-256 hex key of one request (canonical JSON, so dict order does not matter).

    >>> a = cache_key("srv", "m", [{"role": "user", "content": "x"}], 0.0, 10, 0)
    >>> a == cache_key("srv", "m", [{"content": "x", "role": "user"}], 0, 10, 0)
    True
    >>> a == cache_key("srv", "m", [{"role": "user", "content": "x"}], 0.0, 10, 1)
    False
    """
    return hashlib.sha256(_request(namespace, model, messages, temperature, max_tokens, seed).encode()).hexdigest()


class CachedBackend(Wrapper):
    """Wrap ``backend`` so that each distinct request reaches it at most once, across runs.

    ``path`` is the SQLite file (created with its folder; ``":memory:"`` for a
    throw-away cache). ``namespace`` separates servers that serve the same model
    name; it defaults to the backend's ``base_url``, else its class name. One
    connection is shared by all threads under a lock; the database runs in WAL
    mode, so several processes may share a file. ``hits`` and ``misses`` count this
    object's lookups.
    """

    def __init__(self, backend: Backend, path: str | Path, *, namespace: str | None = None) -> None:
        self.backend = backend
        self.model = backend.model
        self.context_window = getattr(backend, "context_window", None)
        self.concurrency = int(getattr(backend, "concurrency", 1) or 1)
        self.namespace = namespace or str(getattr(backend, "base_url", "") or type(backend).__name__)
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()
        self._occurrences: dict[str, int] = {}
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedBackend({self.backend!r}, path={self.path!r})"

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def __bool__(self) -> bool:  # a backend is a backend, however many replies it holds (len() counts them)
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _key(
        self, messages: Sequence[Message], temperature: float, max_tokens: int | None, seed: int | None,
        constraint: str = "",
    ) -> tuple[str, str]:
        request = _request(self.namespace, self.model, messages, temperature, max_tokens, seed, constraint=constraint)
        if temperature > 0 and seed is None:
            with self._lock:
                n = self._occurrences.get(request, 0)
                self._occurrences[request] = n + 1
            request = _request(self.namespace, self.model, messages, temperature, max_tokens, seed, n, constraint)
        return hashlib.sha256(request.encode()).hexdigest(), request

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        constraint: object = None,
    ) -> Completion:
        used = constraint if constraint is not None and supports(self.backend, constraint) else None
        key, request = self._key(messages, temperature, max_tokens, seed, describe(used))
        with self._lock:
            row = self._conn.execute(
                "SELECT text, prompt_tokens, completion_tokens, seconds, reply_model, finish_reason "
                "FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
            if row is not None:
                self.hits += 1
        if row is not None:
            return Completion(row[0], int(row[1]), int(row[2]), float(row[3]), row[4], row[5])
        completion = generate(self.backend, messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                              constraint=used)
        with self._lock:
            self.misses += 1
            self._conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    self.namespace,
                    self.model,
                    request,
                    completion.text,
                    completion.prompt_tokens,
                    completion.completion_tokens,
                    completion.seconds,
                    completion.finish_reason,
                    completion.model,
                    time.time(),
                ),
            )
            self._conn.commit()
        log.debug("cached a reply of %s (%d tokens)", self.model, completion.completion_tokens)
        return completion

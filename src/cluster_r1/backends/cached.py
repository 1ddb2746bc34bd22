"""A persistent response cache around any :class:`~cluster_r1.backends.Backend` (stdlib ``sqlite3``).

A rerun, or a run resumed after a crash, repeats no model call that already
finished: every reply is stored under a key of (server or backend name, model,
messages, temperature, max_tokens, seed) and replayed from the database on the
next identical request. Only replies are stored; errors are not, so a failed call
is tried again next time.

The cache never fails a run nor changes its result. A file SQLite reports malformed or
not a database (met when opened or at any later lookup) is moved aside as
``<name>.corrupt-<time>`` with its ``-wal``/``-shm`` files, and a fresh database is started;
a location that cannot be used (a file where the folder should be, no permission, a
read-only file system) runs the backend without a cache; a full disk stops saving
replies. Each says so in one notice (:mod:`cluster_r1.notices`). With ``required=True``
(a cache the user named), an unusable location is a :class:`~cluster_r1.errors.ConfigError`.
Every reply is written in its own transaction in WAL mode, so a process killed at any
moment leaves the database with or without that reply, never half of it.

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
from typing import TYPE_CHECKING, cast

from ..constraints import describe
from ..errors import ConfigError
from ..notices import notice
from .base import Backend, Completion, Message, Wrapper, generate, supports

if TYPE_CHECKING:
    from ..constraints import Constraint

__all__ = ["CachedBackend", "cache_key"]

log = logging.getLogger(__name__)

# SQLite's primary result codes (the low byte of sqlite_errorcode)
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _corrupt(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and (
        _code(exc) in _CORRUPT or "malformed" in str(exc) or "not a database" in str(exc))

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

    def __init__(self, backend: Backend, path: str | Path, *, namespace: str | None = None,
                 required: bool = False) -> None:
        self.backend = backend
        self.model = backend.model
        self.context_window = getattr(backend, "context_window", None)
        self.concurrency = int(getattr(backend, "concurrency", 1) or 1)
        self.namespace = namespace or str(getattr(backend, "base_url", "") or type(backend).__name__)
        self.path = str(path)
        self.required = required
        self._lock = threading.Lock()
        self._writable = True
        self._occurrences: dict[str, int] = {}
        self.hits = 0
        self.misses = 0
        self._conn: sqlite3.Connection | None = self._open()

    def _connect(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
        try:
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                size = Path(self.path).stat().st_size
                pages = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
                wal = Path(self.path + "-wal")
                # a file shorter than its own page count was cut (a copy or a disk that stopped mid-file), unless
                # the missing pages sit committed in the WAL
                if size < pages and not (wal.exists() and wal.stat().st_size):
                    raise sqlite3.DatabaseError(f"database disk image is malformed ({size} of {pages} bytes)")
            conn.execute(_SCHEMA)
            conn.commit()
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection | None:
        """The database connection; a corrupt file is moved aside once; None where the location cannot be used."""
        try:
            try:
                return self._connect()
            except sqlite3.DatabaseError as exc:
                if not _corrupt(exc):
                    raise
                self._set_aside(exc)
                return self._connect()
        except (sqlite3.Error, OSError) as exc:
            why = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
            blocker = next((p for p in Path(self.path).parents if p.exists()), None)
            if blocker is not None and not blocker.is_dir():
                why = f"{blocker} is a file, not a folder"
            if self.required:
                raise ConfigError(f"cannot use the response cache {self.path} ({why}): give a writable path, "
                                  "or --no-cache") from None
            notice(f"response cache: cannot use {self.path} ({why}); this run goes on without it "
                   "(set CLUSTER_R1_CACHE_DIR or --cache-dir to a writable folder, or pass --no-cache)", logger=log)
            return None

    def _set_aside(self, exc: BaseException) -> None:
        """Move a corrupt database (and its -wal/-shm files) to ``<path>.corrupt-<time>``, with one notice."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside, n = f"{self.path}.corrupt-{stamp}", 1
        while Path(aside).exists():
            n += 1
            aside = f"{self.path}.corrupt-{stamp}-{n}"
        for suffix in ("", "-wal", "-shm"):
            source = Path(self.path + suffix)
            if source.exists():
                source.replace(aside + suffix)
        notice(f"response cache: {self.path} was damaged ({exc}); moved aside to {aside}, a fresh one started "
               "(replies are asked again)", logger=log)

    def _recover(self, exc: sqlite3.Error) -> None:
        """After an error at a lookup or a write (lock held): start afresh if the file is corrupt, else stop writing."""
        if _corrupt(exc):
            if self._conn is not None:
                self._conn.close()
            try:
                self._set_aside(exc)
                self._conn = self._connect()
            except (sqlite3.Error, OSError) as again:
                self._conn = None
                notice(f"response cache: cannot start a fresh {self.path} ({again}); this run goes on without it",
                       logger=log)
        elif self._writable:
            self._writable = False
            notice(f"response cache: cannot save replies in {self.path} ({exc}); this run goes on without saving "
                   "them (free some space, or pass --no-cache)", logger=log)

    def __repr__(self) -> str:
        return f"CachedBackend({self.backend!r}, path={self.path!r})"

    def __len__(self) -> int:
        with self._lock:
            if self._conn is None:
                return 0
            return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def __bool__(self) -> bool:  # a backend is a backend, however many replies it holds (len() counts them)
        return True

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
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
        key, request = self._key(messages, temperature, max_tokens, seed, describe(cast("Constraint | None", used)))
        row = None
        with self._lock:
            if self._conn is not None:
                try:
                    row = self._conn.execute(
                        "SELECT text, prompt_tokens, completion_tokens, seconds, reply_model, finish_reason "
                        "FROM responses WHERE key = ?",
                        (key,),
                    ).fetchone()
                except sqlite3.Error as exc:
                    self._recover(exc)
            if row is not None:
                self.hits += 1
        if row is not None:
            return Completion(row[0], int(row[1]), int(row[2]), float(row[3]), row[4], row[5])
        completion = generate(self.backend, messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                              constraint=used)
        with self._lock:
            self.misses += 1
            if self._conn is not None and self._writable:
                self._store(key, request, completion)
        log.debug("cached a reply of %s (%d tokens)", self.model, completion.completion_tokens)
        return completion

    def _store(self, key: str, request: str, completion: Completion) -> None:
        """Save one reply in its own transaction (lock held); a failing disk is a notice, never an error."""
        assert self._conn is not None
        try:
            with self._conn:
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
        except sqlite3.Error as exc:
            self._recover(exc)

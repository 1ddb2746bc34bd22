"""On-disk embedding cache: numpy shards keyed by model + template + text.

Each :meth:`EmbeddingCache.put` writes one shard, ``<id>.emb.npy`` (float32 rows)
and ``<id>.keys.npy`` (16-byte digests), under ``<root>/<model slug>/``. Lookups
memory-map the shards, so a cache of 100k vectors costs little RAM.

A cache never fails a run nor changes its result:

- every write goes to a hidden temporary file in the same folder, is flushed to disk
  and renamed into place, so a process killed at any moment (or a full disk) leaves
  either no shard or a whole one; concurrent runs at worst compute a vector twice;
- a shard that cannot be read (garbage, truncated, a header that does not match its
  keys) or whose rows are not unit vectors is dropped (its files removed) and its
  texts encoded again, with one notice (:mod:`cluster_r1.notices`);
- a location that cannot be used (a file where the folder should be, no permission, a
  read-only or full file system) turns the cache off for the rest of the run, with one
  notice; the vectors are computed as without a cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..notices import notice

__all__ = ["EmbeddingCache", "default_cache_dir", "text_keys"]

logger = logging.getLogger(__name__)

_DIGEST_BYTES = 16
_NORM_TOLERANCE = 1e-3  # stored rows are L2-normalised (or all zero)


def default_cache_dir() -> Path:
    """``$CLUSTER_R1_CACHE_DIR`` or ``~/.cache/cluster-r1``."""
    env = os.environ.get("CLUSTER_R1_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "cluster-r1"


def text_keys(model: str, template_id: str, texts: Sequence[str]) -> np.ndarray:
    """One 16-byte digest per text of ``model``, ``template_id`` (name + prompt) and the rendered text."""
    prefix = f"{model}\x00{template_id}\x00".encode()
    digests = [hashlib.blake2b(prefix + t.encode("utf-8"), digest_size=_DIGEST_BYTES).digest() for t in texts]
    return np.array(digests, dtype=f"S{_DIGEST_BYTES}")


def _why(exc: BaseException) -> str:
    """A few words for a failed read or write (numpy's messages run to several lines)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc)
    if "pickle" in text:
        return "not a vector file"
    if isinstance(exc, EOFError) or any(w in text for w in ("EOF", "mmap length", "cannot reshape", "truncated")):
        return "cut short"
    return text.splitlines()[0][:60] if text else type(exc).__name__


class EmbeddingCache:
    """Embeddings of one model, looked up by :func:`text_keys` digests."""

    def __init__(self, root: str | Path, model: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:80] or "model"
        slug += "-" + hashlib.blake2b(model.encode(), digest_size=4).hexdigest()
        self.root = Path(root).expanduser()
        self.dir = self.root / slug
        self.usable = True
        self._index: dict[bytes, tuple[str, int]] | None = None
        self._shards: dict[str, np.ndarray] = {}

    def _off(self, exc: BaseException) -> None:
        """Turn the cache off for this run, with one notice."""
        self.usable = False
        where = self.root if not self.root.is_dir() else self.dir
        what = "a file, not a folder" if self.root.exists() and not self.root.is_dir() else _why(exc)
        notice(f"embedding cache: cannot use {where} ({what}); this run goes on without it "
               "(set CLUSTER_R1_CACHE_DIR or --cache-dir to a writable folder, or pass --no-cache)", logger=logger)

    def _drop(self, shard: str, why: str) -> None:
        """Forget a damaged shard and remove its files (its texts are encoded again)."""
        self._shards.pop(shard, None)
        if self._index is not None:
            self._index = {k: v for k, v in self._index.items() if v[0] != shard}
        for suffix in (".emb.npy", ".keys.npy"):
            try:
                (self.dir / f"{shard}{suffix}").unlink(missing_ok=True)
            except OSError:
                pass
        notice(f"embedding cache: dropped damaged entries in {self.dir} ({why}); their vectors are computed again",
               logger=logger)

    def _open_shard(self, shard: str, keys_path: Path) -> np.ndarray | None:
        """The shard's keys, after checking that its two files belong together; None (dropped) if damaged."""
        try:
            keys = np.load(keys_path, allow_pickle=False)
            emb = np.load(self.dir / f"{shard}.emb.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            if isinstance(exc, PermissionError):
                raise
            self._drop(shard, f"unreadable: {_why(exc)}")
            return None
        if keys.ndim != 1 or keys.dtype != np.dtype(f"S{_DIGEST_BYTES}") or emb.ndim != 2 or len(emb) != len(keys):
            self._drop(shard, f"keys {keys.shape} do not match vectors {emb.shape}")
            return None
        self._shards[shard] = emb
        return keys

    def _load_index(self) -> dict[bytes, tuple[str, int]]:
        if self._index is None:
            self._index = {}
            if not self.usable:
                return self._index
            try:
                if not self.dir.is_dir():
                    return self._index
                paths = sorted(p for p in self.dir.glob("*.keys.npy") if not p.name.startswith("."))
                for keys_path in paths:
                    shard = keys_path.name[: -len(".keys.npy")]
                    if not (self.dir / f"{shard}.emb.npy").exists():
                        continue  # its vectors are gone (dropped by another run sharing the cache): keys alone are no entry
                    keys = self._open_shard(shard, keys_path)
                    for row, key in enumerate(keys if keys is not None else ()):
                        self._index[bytes(key)] = (shard, row)
            except OSError as exc:
                self._index = {}
                self._off(exc)
        return self._index

    def _rows(self, shard: str, rows: np.ndarray) -> np.ndarray | None:
        """Rows of one shard as float32, or None (the shard dropped) if they cannot be read or are not unit vectors."""
        try:
            x = np.asarray(self._shard(shard)[rows], dtype=np.float32)
        except (OSError, ValueError, IndexError) as exc:  # a shard cut short or replaced after it was indexed
            self._drop(shard, f"unreadable: {_why(exc)}")
            return None
        norms = np.linalg.norm(x, axis=1) if len(x) else np.zeros(0)
        if not (np.isfinite(norms) & ((np.abs(norms - 1.0) <= _NORM_TOLERANCE) | (norms == 0.0))).all():
            self._drop(shard, "rows that are not unit vectors")
            return None
        return x

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(found, vectors)``: a bool mask over ``keys`` and the found rows in order (None if none).

        A damaged shard met here is dropped and its keys count as misses.
        """
        while True:
            index = self._load_index()
            hits = [index.get(bytes(k)) for k in keys]
            found = np.array([h is not None for h in hits], dtype=bool)
            if not found.any():
                return found, None
            by_shard: dict[str, list[int]] = {}
            for i, h in enumerate(hits):
                if h is not None:
                    by_shard.setdefault(h[0], []).append(i)
            out: np.ndarray | None = None
            for shard, positions in by_shard.items():
                x = self._rows(shard, np.array([hits[i][1] for i in positions], dtype=np.intp))  # type: ignore[index]
                if x is None:
                    break  # dropped: look the keys up again without it
                if out is None:
                    out = np.zeros((len(keys), x.shape[1]), dtype=np.float32)
                if x.shape[1] != out.shape[1]:
                    self._drop(shard, f"vectors of width {x.shape[1]}, not {out.shape[1]}")
                    break
                out[positions] = x
            else:
                assert out is not None
                return found, out[found]

    def put(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per key) as a new shard; on a failing disk, turn the cache off (one notice)."""
        if len(keys) == 0 or not self.usable:
            return
        shard = uuid.uuid4().hex
        written: list[Path] = []
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            for suffix, array in ((".emb.npy", np.asarray(vectors, dtype=np.float32)), (".keys.npy", keys)):
                tmp = self.dir / f".{shard}{suffix}.part"
                written.append(tmp)
                with open(tmp, "wb") as fh:
                    np.save(fh, array, allow_pickle=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.dir / f"{shard}{suffix}")
                written[-1] = self.dir / f"{shard}{suffix}"
        except OSError as exc:
            for path in written:
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
            self._off(exc)
            return
        index = self._load_index()
        for row, key in enumerate(keys):
            index[bytes(key)] = (shard, row)
        self._shards.pop(shard, None)
        logger.debug("cached %d vectors in %s", len(keys), self.dir)

    def _shard(self, shard: str) -> np.ndarray:
        if shard not in self._shards:
            self._shards[shard] = np.load(self.dir / f"{shard}.emb.npy", mmap_mode="r", allow_pickle=False)
        return self._shards[shard]

"""On-disk embedding cache: numpy shards keyed by model + template + text.

Each :meth:`EmbeddingCache.put` writes one shard, ``<id>.emb.npy`` (float32 rows)
and ``<id>.keys.npy`` (16-byte digests), under ``<root>/<model slug>/``. Lookups
memory-map the shards, so a cache of 100k vectors costs little RAM. Writes are
atomic (write to a temporary name, then rename), so concurrent runs at worst
compute a vector twice.
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

__all__ = ["EmbeddingCache", "default_cache_dir", "text_keys"]

logger = logging.getLogger(__name__)

_DIGEST_BYTES = 16


def default_cache_dir() -> Path:
    """``$CLUSTER_R1_CACHE_DIR`` or ``~/.cache/cluster-r1``."""
    env = os.environ.get("CLUSTER_R1_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "cluster-r1"


def text_keys(model: str, template_id: str, texts: Sequence[str]) -> np.ndarray:
    """One 16-byte digest per text of ``model``, ``template_id`` (name + prompt) and the rendered text."""
    prefix = f"{model}\x00{template_id}\x00".encode()
    digests = [hashlib.blake2b(prefix + t.encode("utf-8"), digest_size=_DIGEST_BYTES).digest() for t in texts]
    return np.array(digests, dtype=f"S{_DIGEST_BYTES}")


class EmbeddingCache:
    """Embeddings of one model, looked up by :func:`text_keys` digests."""

    def __init__(self, root: str | Path, model: str) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[:80] or "model"
        slug += "-" + hashlib.blake2b(model.encode(), digest_size=4).hexdigest()
        self.dir = Path(root).expanduser() / slug
        self._index: dict[bytes, tuple[str, int]] | None = None
        self._shards: dict[str, np.ndarray] = {}

    def _load_index(self) -> dict[bytes, tuple[str, int]]:
        if self._index is None:
            self._index = {}
            if self.dir.is_dir():
                for keys_path in sorted(self.dir.glob("*.keys.npy")):
                    shard = keys_path.name[: -len(".keys.npy")]
                    if not (self.dir / f"{shard}.emb.npy").exists():
                        continue
                    for row, key in enumerate(np.load(keys_path)):
                        self._index[bytes(key)] = (shard, row)
        return self._index

    def _shard(self, shard: str) -> np.ndarray:
        if shard not in self._shards:
            self._shards[shard] = np.load(self.dir / f"{shard}.emb.npy", mmap_mode="r")
        return self._shards[shard]

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(found, vectors)``: a bool mask over ``keys`` and the found rows in order (None if none)."""
        index = self._load_index()
        hits = [index.get(bytes(k)) for k in keys]
        found = np.array([h is not None for h in hits], dtype=bool)
        if not found.any():
            return found, None
        rows = [np.asarray(self._shard(h[0])[h[1]]) for h in hits if h is not None]
        return found, np.stack(rows).astype(np.float32)

    def put(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` (one row per key) as a new shard."""
        if len(keys) == 0:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        shard = uuid.uuid4().hex
        for suffix, array in ((".emb.npy", np.asarray(vectors, dtype=np.float32)), (".keys.npy", keys)):
            tmp = self.dir / f"{shard}.tmp{suffix}"
            np.save(tmp, array)
            os.replace(tmp, self.dir / f"{shard}{suffix}")
        index = self._load_index()
        for row, key in enumerate(keys):
            index[bytes(key)] = (shard, row)
        logger.debug("cached %d vectors in %s", len(keys), self.dir)

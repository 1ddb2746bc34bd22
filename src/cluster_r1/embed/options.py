"""The embedding method's settings as one typed value, :class:`EmbedOptions` (what
:class:`~.clusterer.EmbeddingClusterer` takes besides the instruction and k).

>>> EmbedOptions.of({"cache_dir": False}).cache_dir
False
>>> EmbedOptions.of({"max_ks": 9})
Traceback (most recent call last):
...
cluster_r1.errors.ConfigError: unknown embedding option(s) max_ks: the embedding method takes min_k, max_k, embedder, template, algorithm, random_state, cache_dir, progress, mix, reduce, centred, view, fit_sample
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..options import options_from
from .cluster import PAPER_RANDOM_STATE
from .sample import FIT_SAMPLE

__all__ = ["EmbedOptions"]


@dataclass(frozen=True)
class EmbedOptions:
    """Every setting of the embedding method, with its default (see :class:`~.clusterer.EmbeddingClusterer`)."""

    min_k: int = 2
    max_k: int | None = None
    embedder: Any = None
    template: Any = "auto"
    algorithm: str = "auto"
    random_state: int = PAPER_RANDOM_STATE
    cache_dir: str | Path | bool | None = None
    progress: bool | Callable[[str, int, int, str], None] = False
    mix: bool = False
    reduce: str | None = None
    centred: bool | None = None
    view: str = "auto"
    fit_sample: int = FIT_SAMPLE

    @classmethod
    def of(cls, value: EmbedOptions | Mapping[str, Any] | None) -> EmbedOptions:
        """The options from ``value``: None (the defaults), a mapping of option names, or options."""
        return options_from(cls, value, kind="embedding", owner="the embedding method")

    def kwargs(self) -> dict[str, Any]:
        """The options as :class:`~.clusterer.EmbeddingClusterer`'s keyword arguments (a shallow copy: an embedder
        object stays the same object)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def reporter(self) -> Callable[[str, int, int, str], None] | None:
        """``progress`` where it is a callback, else None."""
        return self.progress if callable(self.progress) else None



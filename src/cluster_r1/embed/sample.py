"""The fit sample: past ``fit_sample`` texts, k and the clusters are fitted on a sample and every other text
takes the nearest centroid. The rule is per text (a seeded hash of the text against a threshold for the corpus
size), so an engine that sees the corpus in pieces on many machines keeps exactly the texts this process keeps.

>>> in_fit_sample(["a", "b", "c"], 10, seed=43) is None  # within the bound: every text is fitted
True
>>> kept = in_fit_sample([f"text {i}" for i in range(10_000)], 1_000, seed=43)
>>> 900 < int(kept.sum()) < 1_100
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from .cluster import nearest_centre

__all__ = ["FIT_SAMPLE", "sample_threshold", "text_hash", "in_fit_sample", "place_rest", "sample_note"]

#: Texts fitted at most (about): the k scan already works on a 2,000-text sample, and 100,000 unit
#: vectors of 384 dimensions are 150 MB on the machine that fits them, whatever the corpus size.
FIT_SAMPLE = 100_000


def sample_threshold(n: int, bound: int) -> int | None:
    """The hash below which a text of a corpus of ``n`` is in the sample; None when ``n <= bound``."""
    return None if n <= bound else int(bound / n * 2**64)


def text_hash(text: str, seed: int) -> int:
    """A seeded 64-bit hash of ``text`` (the same on every machine and Python process)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}\x00{text}".encode(), digest_size=8).digest(), "big")


def kept_by(texts: Iterable[str], threshold: int, seed: int) -> np.ndarray:
    """Which ``texts`` hash below ``threshold``."""
    return np.fromiter((text_hash(t, seed) < threshold for t in texts), dtype=bool)


def in_fit_sample(texts: Sequence[str], bound: int, seed: int) -> np.ndarray | None:
    """Which texts the fit sample keeps (about ``bound`` of them), or None when all ``len(texts) <= bound`` are
    fitted. Identical texts are kept or left together."""
    threshold = sample_threshold(len(texts), bound)
    return None if threshold is None else kept_by(texts, threshold, seed)


def sample_note(n: int, fitted: int, bound: int) -> str:
    """The note a result past the bound carries, whichever engine fitted it."""
    return (f"{n} texts: k and the clusters fitted on {fitted} of them (fit_sample={bound}), every other text "
            "placed at its nearest centroid")


def place_rest(x: np.ndarray, sample: np.ndarray, labels: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Labels of every row of ``x``: the fit's ``labels`` for the ``sample`` rows, the nearest centroid elsewhere."""
    out = nearest_centre(x, centers).astype(np.int64)
    out[sample] = labels
    return out

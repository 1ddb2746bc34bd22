"""The form view: a text as the vector of its *shape* (layout, capitalisation, punctuation), not its words.

A sentence encoder places texts by what they say, so "cluster by writing style" gets topic
clusters from it (GoalEx style: about 1 V with MiniLM at the gold k). Stylometry's answer is
to look at form: every letter becomes ``a`` or ``A`` (runs collapsed), every digit ``0``,
and punctuation, spaces and line breaks stay, so a screenplay (``A A - A\\n\\nA\\na a.``), a verse
(short lines ending in ``,\\n``) and a tweet (``#A``, ``@a``) look different in any language and
on any topic. The vector is the character 1-4-grams of that shape, hashed, sublinear counts,
projected to 384 dimensions by a fixed sparse random projection (each n-gram on about 16
dimensions) and L2-normalised: stateless
(no fitting, so ``predict`` and the embedding cache work as for any encoder), a few thousand
texts per second on one core.

>>> shape("INT. OFFICE - DAY\\nBob: Hi 2 you!")
'A. A - A\\nAa: Aa 0 a!'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["StyleEmbedder", "shape"]

_LETTER = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")


def _letters(match: re.Match[str]) -> str:
    word = match.group()
    if word.isupper():
        return "A"
    return "Aa" if word[0].isupper() else "a"


def shape(text: str) -> str:
    """The text's form: ``A`` for an upper-case run, ``Aa`` for a capitalised word, ``a`` otherwise, ``0`` per digit."""
    return _DIGIT.sub("0", _LETTER.sub(_letters, text))


class StyleEmbedder:
    """Embedder of the form view (see the module docstring). ``name`` keys the embedding cache."""

    name = "cluster-r1/style-shape-v1"
    family = "style"
    max_seq_length = None

    def __init__(self, dims: int = 384, n_features: int = 2**18, density: float = 1 / 24) -> None:
        from scipy import sparse
        from sklearn.feature_extraction.text import HashingVectorizer
        from sklearn.random_projection import SparseRandomProjection

        self.dims = dims
        self._hash = HashingVectorizer(
            analyzer="char", ngram_range=(1, 4), lowercase=False, alternate_sign=False, norm=None,
            n_features=n_features, dtype=np.float32,
        )
        # The same projection in every process: fitted on an empty row, seeded.
        # scikit-learn's default density (1/sqrt(n_features)) leaves half the n-grams on no dimension
        # at all, so short texts came out as zero vectors; 1/24 (16 dimensions each) measured best
        # of 1/512, 1/24 and 1/8 on GoalEx style (docs/embedding.md, "Views").
        self._project = SparseRandomProjection(dims, density=density, dense_output=True, random_state=0).fit(
            sparse.csr_matrix((1, n_features), dtype=np.float32)
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        counts = self._hash.transform([shape(t) for t in texts])
        counts.data = 1.0 + np.log(counts.data)  # sublinear: a long text is not just a loud one
        x = np.asarray(self._project.transform(counts), dtype=np.float32)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norms, 1e-12)

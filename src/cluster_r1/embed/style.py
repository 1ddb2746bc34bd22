"""The form view: a text as the vector of its *shape* (layout, capitalisation, punctuation), not its words.

A sentence encoder places texts by what they say, so "cluster by writing style" gets topic
clusters from it (GoalEx style: about 1 V with MiniLM at the gold k). Stylometry's answer is
to look at form: every word becomes ``a``, ``A`` (all capitals) or ``Aa`` (capitalised), every
digit ``0``, and punctuation, spaces and line breaks stay, so a screenplay (``A. A - A`` scene
headings, ``A:`` speaker lines), verse (short lines ending in ``,``) and a tweet (``#a``, ``@a``)
look different in any language and on any topic. The vector is the character 1-4-grams of that
shape, hashed, sublinear counts, projected to 384 dimensions by a fixed sparse random projection
(each n-gram on about 16 dimensions) and L2-normalised: stateless (no fitting, so ``predict`` and
the embedding cache work as for any encoder), thousands of texts per second on one core.
:func:`form_names` names the clusters of this view by what their texts look like.

>>> shape("INT. OFFICE - DAY\\nBob: Hi 2 you!")
'A. A - A\\nAa: Aa 0 a!'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import numpy as np

from .naming import _shorten

__all__ = ["HashedNgramEmbedder", "StyleEmbedder", "form_features", "form_names", "shape"]

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


@functools.lru_cache(maxsize=4)
def _projection(dims: int, n_features: int, density: float):  # noqa: ANN202 - a fitted SparseRandomProjection
    """The same projection in every process: fitted on an empty row, seeded; built once per process (~4 s)."""
    from scipy import sparse
    from sklearn.random_projection import SparseRandomProjection

    # scikit-learn's default density (1/sqrt(n_features)) leaves half the n-grams on no dimension
    # at all, so short texts came out as zero vectors; 1/24 (16 dimensions each) measured best
    # of 1/512, 1/24 and 1/8 on GoalEx style (docs/embedding.md, "Views").
    return SparseRandomProjection(dims, density=density, dense_output=True, random_state=0).fit(
        sparse.csr_matrix((1, n_features), dtype=np.float32)
    )


class HashedNgramEmbedder:
    """Character n-grams of each text as :meth:`rewrite` gives it, hashed, sublinear counts, projected by
    the fixed sparse random projection and L2-normalised: the machinery of the form and language views.

    Subclasses set ``name`` (it keys the embedding cache), ``family``, ``analyzer`` and
    ``ngram_range`` (scikit-learn's ``HashingVectorizer`` settings) and :meth:`rewrite`.
    """

    name = "cluster-r1/hashed-ngrams"
    family = "hashed"
    max_seq_length = None
    analyzer = "char"
    ngram_range = (1, 4)

    def __init__(self, dims: int = 384, n_features: int = 2**18, density: float = 1 / 24) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dims = dims
        self._hash = HashingVectorizer(
            analyzer=self.analyzer, ngram_range=self.ngram_range, lowercase=False, alternate_sign=False, norm=None,
            n_features=n_features, dtype=np.float32,
        )
        self._project = _projection(dims, n_features, density)

    def rewrite(self, text: str) -> str:
        """What the n-grams are taken of (the text itself here)."""
        return text

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        counts = self._hash.transform([self.rewrite(t) for t in texts])
        counts.data = 1.0 + np.log(counts.data)  # sublinear: a long text is not just a loud one
        x = np.asarray(self._project.transform(counts), dtype=np.float32)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.maximum(norms, 1e-12)


class StyleEmbedder(HashedNgramEmbedder):
    """Embedder of the form view (see the module docstring): character 1-4-grams of :func:`shape`."""

    name = "cluster-r1/style-shape-v1"
    family = "style"

    def rewrite(self, text: str) -> str:
        return shape(text)


# -- names for clusters of the form view: what their texts look like, not which words they use -------------

# Matched line by line (a pattern with ``^\\s*`` under MULTILINE re-scans every following blank line,
# quadratic in a text of many newlines); each pattern is bounded within its line.
_SPEAKER = re.compile(r"(?:[A-Z][A-Z .'-]{1,30}|[A-Z][\w .'-]{0,30}?\s?\d*)\s?:\s")
_LOWER = re.compile(r"[a-z]")
_TWO_CAPS = re.compile(r"[A-Z]{2}")
_SOCIAL = re.compile(r"(?:^|\s)[#@]\w|https?://")


def _speaker_lines(text: str) -> bool:
    """A line that starts ``NAME:`` or ``Name 2:``, or two lines in capitals (a screenplay's cues).

    >>> _speaker_lines("JOHN: hi\\nmary: hello"), _speaker_lines("INT. ROOM\\nJOHN\\nhello"), _speaker_lines("\\n" * 9)
    (True, True, False)
    """
    caps = 0
    for line in text.split("\n"):
        stripped = line.lstrip()
        if _SPEAKER.match(stripped + "\n"):
            return True
        if not _LOWER.search(line) and _TWO_CAPS.search(line):
            caps += 1
            if caps >= 2:
                return True
    return False


def form_features(text: str) -> dict[str, float]:
    """Readable form measures of one text: lines, characters per line, speaker/capital lines, #/@/links, length."""
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    return {
        "lines": float(len(lines)),
        "line_chars": float(np.mean([len(line.strip()) for line in lines])),
        "speaker": float(_speaker_lines(text)),
        "social": float(bool(_SOCIAL.search(text))),
        "chars": float(len(text)),
    }


def form_names(
    texts: Sequence[str], labels: Sequence[int] | np.ndarray, reps: list[list[int]] | None = None
) -> tuple[list[str], list[str]]:
    """``(names, descriptions)`` for clusters ``0..k-1`` of the form view, from :func:`form_features`.

    A name lists what sets the cluster apart from the whole collection (e.g. ``dialogue / speaker
    lines``, ``verse: short lines``, ``hashtags, mentions or links``, ``one paragraph``); the
    description gives the averages and an example.
    """
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    feats = [form_features(t) for t in texts]
    keys = list(feats[0]) if feats else []
    table = np.array([[f[key] for key in keys] for f in feats], dtype=float).reshape(len(feats), len(keys))
    overall = table.mean(axis=0) if len(table) else np.zeros(len(keys))
    col = {key: i for i, key in enumerate(keys)}
    names: list[str] = []
    descriptions: list[str] = []
    for c in range(k):
        members = table[labels == c]
        mean = members.mean(axis=0) if len(members) else overall
        traits: list[tuple[float, str]] = []
        if mean[col["speaker"]] >= 0.5 and mean[col["speaker"]] > overall[col["speaker"]]:
            traits.append((mean[col["speaker"]] - overall[col["speaker"]] + 1, "dialogue / speaker lines"))
        dialogue = bool(traits)  # dialogue lines are short too: not verse
        if mean[col["social"]] >= 0.3 and mean[col["social"]] > overall[col["social"]]:
            traits.append((mean[col["social"]] - overall[col["social"]] + 1, "hashtags, mentions or links"))
        if not dialogue and mean[col["lines"]] >= 3 and mean[col["line_chars"]] < 0.8 * overall[col["line_chars"]]:
            traits.append((overall[col["line_chars"]] / max(mean[col["line_chars"]], 1.0), "verse: short lines"))
        if mean[col["lines"]] < 1.5:
            traits.append((1.0, "one paragraph"))
        elif not dialogue and mean[col["line_chars"]] >= 0.8 * overall[col["line_chars"]]:
            traits.append((0.5, "a few long lines"))
        ratio = mean[col["chars"]] / max(overall[col["chars"]], 1.0)
        if ratio >= 1.5 or ratio <= 0.67:
            traits.append((max(ratio, 1 / ratio) - 1, "long texts" if ratio > 1 else "short texts"))
        traits.sort(key=lambda t: -t[0])
        name = " + ".join(label for _, label in traits[:2]) or "mixed form"
        if name in names:
            name = f"{name} ({c + 1})"
        names.append(name)
        desc = (f"{len(members)} texts of {mean[col['lines']]:.1f} lines x {mean[col['line_chars']]:.0f} characters "
                f"on average; {mean[col['speaker']]:.0%} with speaker lines, {mean[col['social']]:.0%} with #/@/links")
        if reps and reps[c]:
            desc += f"; e.g. \"{_shorten(texts[reps[c][0]])}\""
        descriptions.append(desc)
    return names, descriptions

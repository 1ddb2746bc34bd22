"""The language view: a text as the vector of its letter sequences, so that texts cluster by the language they are in.

A sentence encoder trained on English places a French and a German text about the same thing
close together (or, under an English instruction prefix, apart by accident), so "cluster by
language" needs its own representation. Language identification's classic answer is the
character n-grams of words: ``ß``, ``sch`` and `` der `` are German, ``ñ``, `` el `` and ``ción``
Spanish, in any topic. The vector is the character 1-3-grams of each word (``char_wb``) of the
lower-cased text with links, @mentions, #hashtags, digits and underscores taken out (they are
the same in every language), hashed, sublinear counts, projected to 384 dimensions by the same
fixed sparse random projection as the form view (:mod:`cluster_r1.embed.style`) and
L2-normalised: stateless, cacheable, thousands of texts per second on one core.
:func:`language_names` names the clusters of this view by their most distinctive short words,
which are the language's own function words (``the / and / of``, ``le / et / les``).

>>> LanguageEmbedder().encode(["Das ist gut", "C'est bon"]).shape
(2, 384)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .naming import _shorten
from .style import HashedNgramEmbedder

__all__ = ["LanguageEmbedder", "language_names", "letters_only"]

_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+|[\d_]+")


def letters_only(text: str) -> str:
    """The lower-cased text without links, @mentions, #hashtags, digits and underscores, one space between words.

    >>> letters_only("RT @bob: ¡Vamos! 2016 https://t.co/x #debate")
    'rt : ¡vamos!'
    """
    return " ".join(_NOISE.sub(" ", text).lower().split())


class LanguageEmbedder(HashedNgramEmbedder):
    """Embedder of the language view (see the module docstring): character 1-3-grams of the words of
    :func:`letters_only`."""

    name = "cluster-r1/language-chars-v1"
    family = "language"
    analyzer = "char_wb"
    ngram_range = (1, 3)

    def rewrite(self, text: str) -> str:
        return letters_only(text)


_WORD = re.compile(r"[^\W\d_]+")


def language_names(
    texts: Sequence[str], labels: Sequence[int] | np.ndarray, reps: list[list[int]] | None = None, *, top: int = 3
) -> tuple[list[str], list[str]]:
    """``(names, descriptions)`` for clusters ``0..k-1`` of the language view.

    A cluster's name is its ``top`` words with the highest share of texts in the cluster times
    their log inverse share of texts in the whole collection, among words in at least half of
    the cluster's texts where there are enough (a language's function words: in most of its texts,
    rare elsewhere); no stop-word list, since the stop words are what tells languages apart.
    The description gives the cluster's size, the share of its texts holding each name word and
    an example.
    """
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    words = [set(_WORD.findall(letters_only(t))) for t in texts]
    df_all = Counter(w for ws in words for w in ws)
    n = max(len(texts), 1)
    names: list[str] = []
    descriptions: list[str] = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        df = Counter(w for i in members for w in words[i])
        size = max(len(members), 1)
        # candidates: words in at least half the cluster's texts when there are enough, else in two or more
        half = max(2, size // 2)
        floor = min(half if sum(v >= half for v in df.values()) >= top else 2, size)
        # best score first, then the more frequent word, then the alphabet (only among exact ties)
        ranked = sorted((-(v / size) * np.log(n / df_all[w]), -v, w) for w, v in df.items() if v >= floor)
        chosen = [w for _, _, w in ranked[:top]]
        wordless = len(members) > 0 and not any(words[i] for i in members)
        name = " / ".join(chosen) or ("no words (links, tags or digits only)" if wordless else "no shared words")
        if name in names:
            name = f"{name} ({c + 1})"
        names.append(name)
        share = ", ".join(f"{w!r} in {df[w] / size:.0%}" for w in chosen)
        desc = (f"{len(members)} texts with no words to tell a language by" if wordless else
                f"{len(members)} texts in one language by their letters; {share or 'no shared words'}")
        if reps and reps[c]:
            desc += f"; e.g. \"{_shorten(texts[reps[c][0]])}\""
        descriptions.append(desc)
    return names, descriptions

"""Readable cluster names and one-line descriptions from class-based TF-IDF keywords.

c-TF-IDF (as in BERTopic): all texts of a cluster form one document; a term's weight is its
share of the cluster's term occurrences (each text counting a term once) times
``log(1 + mean occurrences per cluster / the term's occurrences overall)``. Stop words, bare
numbers, one-text terms and corpus boilerplate are not candidates (:func:`class_tfidf_keywords`).
Representative texts are those closest to the centroid.

>>> names, descs = name_clusters(["cheap flights to paris", "flights to rome", "pizza recipe", "pasta recipe"],
...                              [0, 0, 1, 1], n_words=2)
>>> names
['flights / cheap', 'recipe / pizza']
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

__all__ = ["class_tfidf_keywords", "representatives", "name_clusters"]

logger = logging.getLogger(__name__)


#: Contractions folded before tokenising, so that "don't" gives no "don": n't -> " not", 's/'re/... dropped.
_CONTRACTION = re.compile(r"(?i)n['’]t\b|['’](?:s|re|ve|ll|d|m)\b")
#: Words of two or more letters: no bare numbers ("100", "2pm"), no underscores, any script.
_WORD = re.compile(r"(?u)\b[^\W\d_]{2,}\b")
#: A term in more than this share of all texts is the corpus's boilerplate ("@user", a hashtag), not a name.
MAX_CORPUS_SHARE = 0.5
#: Two terms whose words agree on this many first letters are one candidate (inflections, plurals).
STEM_LETTERS = 5


def _stems(term: str) -> set[str]:
    """A term's words, a plural "s" dropped, cut to their first five letters ("atms" and "atm",
    "card expiring" and "card expire" share theirs)."""
    return {(w[:-1] if len(w) > 3 and w.endswith("s") else w)[:STEM_LETTERS] for w in term.split()}


def _fold(text: str) -> str:
    return _CONTRACTION.sub(lambda m: " not" if m.group(0)[0] in "nN" else "", text).lower()


def _terms(text: str) -> list[str]:
    """The candidate terms of one text: its words and its two-word phrases, none across a stop word.

    scikit-learn's bigrams are formed after stop words are removed, so "charged twice for my
    subscription" would give "twice subscription", a phrase nobody wrote; here a stop word ends a run.

    >>> _terms("I was charged twice for my subscription; don't refund")
    ['charged', 'twice', 'charged twice', 'subscription', 'refund']
    """
    out: list[str] = []
    run: list[str] = []
    for word in [*_WORD.findall(_fold(text)), ""]:
        if word and word not in ENGLISH_STOP_WORDS:
            run.append(word)
            continue
        out.extend(run)
        out.extend(f"{a} {b}" for a, b in zip(run, run[1:]))
        run = []
    return out


def class_tfidf_keywords(
    texts: Sequence[str], labels: Sequence[int] | np.ndarray, *, top_n: int = 5
) -> list[list[str]]:
    """Top ``top_n`` c-TF-IDF terms (unigrams and bigrams) per cluster ``0..k-1``.

    A term counts once per text (a text repeating a word does not make it the cluster's);
    candidates are the words and two-word phrases of :func:`_terms` in at least two of the
    cluster's texts (one for a cluster of two) and in at most :data:`MAX_CORPUS_SHARE` of all
    texts (when there are several clusters); a term sharing its stems with a chosen one is
    skipped. Ties are broken by the number of the cluster's texts holding the term, then two-word
    phrases before single words, then order of appearance, never by the alphabet. A cluster whose
    texts leave no candidate falls back to any term it has.
    """
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    vectorizer = CountVectorizer(analyzer=_terms, binary=True, max_features=50000)
    try:
        present = vectorizer.fit_transform(texts).astype(np.float64)
    except ValueError:  # empty vocabulary: only stop words, digits or symbols
        return [[] for _ in range(k)]
    terms = vectorizer.get_feature_names_out()
    member = csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    df = (member @ present).toarray()  # texts of each cluster holding each term
    sizes = np.bincount(labels, minlength=k)
    freq = df.sum(axis=0)
    weights = df / np.maximum(df.sum(axis=1, keepdims=True), 1) * np.log1p(df.sum() / max(k, 1) / np.maximum(freq, 1))
    by_term = present.tocsc()
    by_term.sort_indices()
    first = by_term.indices[by_term.indptr[:-1]]  # the first text holding each term (every term is in one)
    n_words = np.array([t.count(" ") + 1 for t in terms])
    common = freq > MAX_CORPUS_SHARE * len(labels) if k > 1 else np.zeros(len(terms), dtype=bool)
    out = []
    for c in range(k):
        held = df[c] > 0
        good = np.flatnonzero(held & (df[c] >= min(2, max(1, sizes[c] - 1))) & ~common)
        cand = good if len(good) else np.flatnonzero(held)
        order = cand[np.lexsort((first[cand], -n_words[cand], -df[c][cand], -weights[c][cand]))]
        words: list[str] = []
        stems: list[set[str]] = []
        for j in order:
            term = str(terms[j])
            stem = _stems(term)
            # skip "card" after "lost card", "activating" after "activate"
            if any(stem <= s or s <= stem for s in stems):
                continue
            words.append(term)
            stems.append(stem)
            if len(words) == top_n:
                break
        out.append(words)
    return out


def representatives(
    x: np.ndarray, labels: Sequence[int] | np.ndarray, centers: np.ndarray, *, top_n: int = 3
) -> list[list[int]]:
    """0-based indices of the ``top_n`` texts closest (cosine) to each cluster centroid."""
    labels = np.asarray(labels)
    out = []
    for c in range(len(centers)):
        members = np.flatnonzero(labels == c)
        sims = x[members] @ centers[c]
        out.append(members[np.argsort(-sims, kind="stable")[:top_n]].tolist())
    return out


def _shorten(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def name_clusters(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    reps: list[list[int]] | None = None,
    n_words: int = 3,
) -> tuple[list[str], list[str]]:
    """``(names, descriptions)`` for clusters ``0..k-1``; names are unique."""
    keywords = class_tfidf_keywords(texts, labels, top_n=max(n_words, 5))
    sizes = np.bincount(np.asarray(labels), minlength=len(keywords))
    names: list[str] = []
    descriptions: list[str] = []
    for c, words in enumerate(keywords):
        name = " / ".join(words[:n_words]) or f"cluster {c + 1}"
        extra = n_words
        while name in names and extra < len(words):
            extra += 1
            name = " / ".join(words[:extra])
        if name in names:
            name = f"{name} ({c + 1})"
        names.append(name)
        desc = f"{sizes[c]} texts"
        if words:
            desc += f" about {', '.join(words)}"
        if reps and reps[c]:
            desc += f"; e.g. \"{_shorten(texts[reps[c][0]])}\""
        descriptions.append(desc)
    return names, descriptions

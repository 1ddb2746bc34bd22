"""Readable cluster names and one-line descriptions from class-based TF-IDF keywords.

c-TF-IDF (as in BERTopic): all texts of a cluster form one document; a term's weight is its
within-cluster frequency times ``log(1 + mean words per cluster / term frequency overall)``.
English stop words are removed. Representative texts are those closest to the centroid.

>>> names, descs = name_clusters(["cheap flights to paris", "flights to rome", "pizza recipe", "pasta recipe"],
...                              [0, 0, 1, 1], n_words=2)
>>> names
['flights / cheap', 'recipe / pasta']
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

__all__ = ["class_tfidf_keywords", "representatives", "name_clusters"]

logger = logging.getLogger(__name__)


def class_tfidf_keywords(texts: Sequence[str], labels: Sequence[int], *, top_n: int = 5) -> list[list[str]]:
    """Top ``top_n`` c-TF-IDF terms (unigrams and bigrams) per cluster ``0..k-1``."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    docs = [" ".join(texts[i] for i in np.flatnonzero(labels == c)) for c in range(k)]
    vectorizer = CountVectorizer(stop_words="english", ngram_range=(1, 2), max_features=50000)
    try:
        counts = vectorizer.fit_transform(docs).astype(np.float64)
    except ValueError:  # empty vocabulary: only stop words, digits or symbols
        return [[] for _ in range(k)]
    terms = vectorizer.get_feature_names_out()
    tf = counts.multiply(1.0 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    freq = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = counts.sum() / max(k, 1)
    weights = tf.multiply(np.log1p(avg_words / np.maximum(freq, 1))).tocsr()
    out = []
    for c in range(k):
        row = weights.getrow(c)
        order = np.argsort(-row.data, kind="stable")
        words: list[str] = []
        for j in row.indices[order]:
            term = str(terms[j])
            if any(term in w or w in term for w in words):  # skip "card" after "lost card"
                continue
            words.append(term)
            if len(words) == top_n:
                break
        out.append(words)
    return out


def representatives(x: np.ndarray, labels: Sequence[int], centers: np.ndarray, *, top_n: int = 3) -> list[list[int]]:
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
    labels: Sequence[int],
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

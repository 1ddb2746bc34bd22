"""The language view's k-free clustering: K-means against spectral clustering on uneven languages (prints a table).

    .venv/bin/python benchmarks/embed_language.py

Languages in real corpora are few and uneven: most texts in one, a few percent in others. Per
task, V x100 / k of the language view's vectors (``cluster_r1.embed.language.LanguageEmbedder``)
clustered with k left free by

* ``kmeans``: the earlier default (silhouette-chosen k on the centred vectors);
* ``kmeans + empty``: the same, with the texts the view reads nothing in (a link or hashtags
  alone: all-zero vectors) as one cluster of their own;
* ``spectral``: the current default for this view (``algorithm="spectral"``: the 5-nearest-
  neighbour graph, k at the largest eigengap, all-zero rows one cluster).

Tuning family: GoalEx language (four languages, balanced) at 300 and 800 texts, and uneven
samples of its 1,024 texts (255 of one language and 15 or 40 of each of the three others, every
language the majority in turn). Held-out family: the 2016 election tweets by language (Twitter's
language tags: 97 % English, Spanish, ``und`` for tweets with no words) at 300, 800 and 3,000 texts.

A second table: K-means against spectral clustering on small uneven GoalEx samples (12-200 texts,
70 % in one language, six samples each), where ``auto`` keeps K-means below
``views.VIEW_ALGORITHM_MIN_TEXTS`` texts.
"""

from __future__ import annotations

import argparse
import random
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import TASKS, goalex  # noqa: E402

from cluster_r1.embed import cluster_embeddings  # noqa: E402
from cluster_r1.embed.language import LanguageEmbedder  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def tuning(seed: int):
    for n in (300, 800):
        t = TASKS["goalex_language"](n, seed)
        yield f"GoalEx language, {n}", t.texts, t.labels
    _, texts, labels = goalex("language")
    by: dict[str, list[str]] = {}
    for text, label in zip(texts, labels):
        by.setdefault(label, []).append(text)
    for minor in (15, 40):
        for major in sorted(by):
            rng = random.Random(f"{seed}-{major}-{minor}")
            rows = [(t, lang) for lang in sorted(by) for t in rng.sample(by[lang], 255 if lang == major else minor)]
            yield f"GoalEx language {major} + 3 x {minor}", [t for t, _ in rows], [lang for _, lang in rows]


def heldout(seed: int):
    for n in (300, 800, 3000):
        t = TASKS["election_language"](n, seed)
        yield f"election tweets by language, {n}", t.texts, t.labels


def kmeans_empty(x: np.ndarray) -> np.ndarray:
    zero = np.linalg.norm(x, axis=1) < 1e-6
    labels = np.zeros(len(x), dtype=np.int64)
    labels[~zero] = cluster_embeddings(x[~zero]).labels
    labels[zero] = labels.max() + 1
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    embedder = LanguageEmbedder()
    methods = {
        "kmeans": lambda x: cluster_embeddings(x, algorithm="kmeans").labels,
        "kmeans + empty": kmeans_empty,
        "spectral": lambda x: cluster_embeddings(x, algorithm="spectral").labels,
    }
    print("| family | task | gold k | " + " | ".join(methods) + " |")
    print("|---|---|---:|" + "---:|" * len(methods))
    means = []
    for family, tasks in (("tuning", tuning), ("held-out", heldout)):
        total = dict.fromkeys(methods, 0.0)
        count = 0
        for name, texts, labels in tasks(args.seed):
            x = embedder.encode(texts)
            cells = []
            for m, fit in methods.items():
                found = fit(x)
                v = 100 * score_labels(list(labels), found.tolist()).v_measure
                total[m] += v
                cells.append(f"{v:.1f} / {len(set(found.tolist()))}")
            count += 1
            print(f"| {family} | {name} | {len(set(labels))} | " + " | ".join(cells) + " |", flush=True)
        means.append(f"| {family} | **mean V** | | " + " | ".join(f"**{total[m] / count:.1f}**" for m in methods) + " |")
    print("\n".join(means))
    print("\n| texts (70 % one language) | kmeans | spectral |\n|---:|---:|---:|")
    for n, scores in small(embedder, args.seed):
        print(f"| {n} | {scores['kmeans']:.1f} | {scores['spectral']:.1f} |", flush=True)


def small(embedder: LanguageEmbedder, seed: int):
    """(n, mean V per algorithm) over six uneven GoalEx language samples of n texts."""
    _, texts, labels = goalex("language")
    by: dict[str, list[str]] = {}
    for text, label in zip(texts, labels):
        by.setdefault(label, []).append(text)
    for n in (12, 24, 48, 100, 200):
        scores = {"kmeans": 0.0, "spectral": 0.0}
        for s in range(6):
            rng = random.Random(f"{seed}-{s}-{n}")
            major = sorted(by)[s % 4]
            rows = [(t, lang) for lang in sorted(by)
                    for t in rng.sample(by[lang], int(n * 0.7) if lang == major else max(1, int(n * 0.1)))]
            x = embedder.encode([t for t, _ in rows])
            for algorithm in scores:
                found = cluster_embeddings(x, algorithm=algorithm).labels.tolist()
                scores[algorithm] += 100 * score_labels([lang for _, lang in rows], found).v_measure / 6
        yield n, scores


if __name__ == "__main__":
    main()

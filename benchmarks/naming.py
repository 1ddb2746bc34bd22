"""Cluster names against gold label names: the hit rate on labelled public tasks, tuning and held-out families.

    python benchmarks/naming.py --n 300 [--bertopic]

Per task the offline default clusters the texts (k inferred). Every cluster's name and every gold
label's name (banking77's intents, CLINC's domains and intents, SLURP's scenarios and actions,
TweetEval's targets, GoalEx's class descriptions) are embedded with the bundled MiniLM; a cluster
is a *hit* when the gold label most of its texts carry is the nearest gold name to its name. The
rate is over clusters, per task and per family: the tuning family (banking77, CLINC, GoalEx) is
what naming rules were chosen on, the held-out family (SLURP, TweetEval) only confirms them.

Namers, on the same clusters: ``default`` (what the offline default writes: c-TF-IDF keywords)
and, with ``--bertopic``, BERTopic's default representation of the same clusters (manual topic
modelling: its c-TF-IDF with its default vectorizer, top 4 words).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import goalex_descriptions, load_task  # noqa: E402

from cluster_r1.embed import embed_cluster  # noqa: E402
from cluster_r1.embed.embedders import get_embedder  # noqa: E402

TUNING = ("banking77", "clinc_domain", "clinc_intent", "goalex_topic")
HELD_OUT = ("slurp_scenario", "slurp_action", "tweeteval_target")


def gold_name(task: str, label: str) -> str:
    if task.startswith("goalex_"):
        return goalex_descriptions(task.split("_", 1)[1])[int(label)]
    return label.replace("_", " ")


def bertopic_names(texts: list[str], labels: list[int], x: np.ndarray) -> list[str]:
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction

    model = BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster(), calculate_probabilities=False)
    model.fit_transform(texts, embeddings=x, y=np.asarray(labels))
    # BERTopic renumbers topics by size: find each cluster's topic through the texts' topics
    topic_of = {c: Counter(t for t, lab in zip(model.topics_, labels) if lab == c).most_common(1)[0][0]
                for c in range(max(labels) + 1)}
    return [" ".join(w for w, _ in model.get_topic(topic_of[c])[:4] if w) or f"topic {c}"
            for c in range(max(labels) + 1)]


def hit_rate(names: list[str], labels: list[int], gold: list[str], task: str, encode) -> float:
    golds = sorted(set(gold))
    g = encode([gold_name(task, lab) for lab in golds])
    v = encode(names)
    hits = 0
    for c, name_vec in enumerate(v):
        members = [gold[i] for i, lab in enumerate(labels) if lab == c]
        majority = Counter(members).most_common(1)[0][0]
        hits += golds[int(np.argmax(g @ name_vec))] == majority
    return hits / len(names)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--tasks", default=",".join(TUNING + HELD_OUT))
    ap.add_argument("--bertopic", action="store_true", help="also BERTopic's default names (pip install bertopic)")
    args = ap.parse_args()
    embedder = get_embedder(None)

    def encode(strings: list[str]) -> np.ndarray:
        out = np.asarray(embedder.encode(list(strings)), dtype=np.float64)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    rows: dict[str, dict[str, float]] = {}
    examples: dict[str, dict[str, list[str]]] = {}
    for task in args.tasks.split(","):
        t = load_task(task, args.n)
        result = embed_cluster(t.texts, t.instruction)
        labels = [lab - 1 for lab in result.labels]
        k = result.n_clusters
        names = {"default": [c.name for c in result.clusters]}
        if args.bertopic:
            names["BERTopic"] = bertopic_names(t.texts, labels, encode(t.texts))
        rows[task] = {m: hit_rate(v, labels, t.labels, task, encode) for m, v in names.items()}
        examples[task] = {m: v[:4] for m, v in names.items()}
        print(f"{task}: k {k}, " + ", ".join(f"{m} {r * 100:.0f}%" for m, r in rows[task].items()), flush=True)
        for m, v in examples[task].items():
            print(f"    {m}: {' | '.join(v)}", flush=True)
    namers = list(next(iter(rows.values())))
    print("\n| namer | " + " | ".join(rows) + " | tuning | held-out |\n|---|" + "---:|" * (len(rows) + 2))
    for m in namers:
        fam = [statistics.mean(rows[t][m] for t in rows if t in f) if any(t in f for t in rows) else float("nan")
               for f in (TUNING, HELD_OUT)]
        print(f"| {m} | " + " | ".join(f"{rows[t][m] * 100:.0f}" for t in rows) +
              f" | {fam[0] * 100:.1f} | {fam[1] * 100:.1f} |")


if __name__ == "__main__":
    main()

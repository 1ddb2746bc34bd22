"""BERTopic on the same tasks and the same bundled MiniLM, for comparison with benchmarks/embed_quality.py.

    .venv/bin/pip install bertopic "torch==2.13.0"      # benchmark-only dependency
    .venv/bin/python benchmarks/embed_bertopic.py

BERTopic defaults (UMAP 5-d, cosine, then HDBSCAN min_cluster_size=10) with UMAP seeded
(random_state=43); outliers (topic -1) count as one cluster. BERTopic embeds raw texts,
so it gets the cached no-instruction vectors; our k-free default is shown on the same vectors
and on the vectors ``embed_cluster(texts, instruction)`` uses (``template="auto"``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import TEN, load_task  # noqa: E402

from cluster_r1.embed import cluster_embeddings, default_embedder, embed_texts  # noqa: E402
from cluster_r1.embed.clusterer import embed_for_clustering  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--tasks", nargs="*", default=list(TEN))
    parser.add_argument("--seed", type=int, default=0, help="sample seed (0: the documented tables)")
    parser.add_argument("--cache-dir", default=".cache/embeddings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    from bertopic import BERTopic
    from umap import UMAP

    print("| task | k | BERTopic V / k / ARI | ours, no instruction V / k / ARI | ours, auto (instruction) V / k / ARI |")
    print("|---|---|---|---|---|")
    rows = []
    for name in args.tasks:
        task = load_task(name, args.n, args.seed)
        xn = embed_texts(task.texts, task.instruction, template="none", cache_dir=args.cache_dir)
        xi = embed_for_clustering(task.texts, task.instruction, k_free=True, cache_dir=args.cache_dir)
        umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=43)
        topics, _ = BERTopic(embedding_model=default_embedder().model, umap_model=umap).fit_transform(
            task.texts, embeddings=xn
        )
        scores = [score_labels(task.labels, topics), score_labels(task.labels, cluster_embeddings(xn).labels),
                  score_labels(task.labels, cluster_embeddings(xi).labels)]
        rows.append(scores)
        cells = " | ".join(f"{s.v_measure:.3f} / {s.k_pred} / {s.ari:.3f}" for s in scores)
        print(f"| {name} | {task.k} | {cells} |", flush=True)
    means = [(np.mean([r[i].v_measure for r in rows]), np.mean([r[i].count_error for r in rows]),
              np.mean([r[i].ari for r in rows])) for i in range(3)]
    print("| **mean V / abs k err / ARI** | | " + " | ".join(f"{v:.3f} / {e:.1f} / {a:.3f}" for v, e, a in means) + " |")


if __name__ == "__main__":
    main()

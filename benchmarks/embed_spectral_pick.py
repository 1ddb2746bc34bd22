"""A lead for the semantic view: K-means, spectral clustering, and the better-silhouette of the two (prints a table).

    .venv/bin/python benchmarks/embed_spectral_pick.py --n 300 --seed 0
    .venv/bin/python benchmarks/embed_spectral_pick.py --n 300 --seed 1
    .venv/bin/python benchmarks/embed_spectral_pick.py --n 800 --seed 0

On the tasks of both families routed to the semantic view (plain MiniLM vectors, as the default
embeds them), V x100 / k found of: the default's k-free K-means; spectral clustering on the
10-nearest-neighbour graph with k at the eigengap up to ``max_k`` (the language view's settings
are 5 neighbours and at most 10 clusters); and ``algorithm="best-silhouette"``: per corpus,
whichever of the two partitions has the higher cosine silhouette on the mean-centred vectors (no
labels). docs/embedding.md, "A lead not yet adopted".
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import FAMILIES, TASKS  # noqa: E402

import cluster_r1.embed.cluster as clustering  # noqa: E402
from cluster_r1.embed import embed_texts  # noqa: E402
from cluster_r1.embed.views import route_instruction  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print("| family | task | gold k | K-means | spectral | better silhouette |")
    print("|---|---|---:|---:|---:|---:|")
    means = []
    for family in ("tuning", "held-out"):
        scores: dict[str, list[float]] = {"kmeans": [], "spectral": [], "pick": []}
        for name in FAMILIES[family]:
            task = TASKS[name](args.n, args.seed)
            if route_instruction(task.instruction).view != "semantic":
                continue
            x = embed_texts(task.texts, "", template="none")

            best = clustering.cluster_embeddings(x, algorithm="best-silhouette")
            spectral = best if best.algorithm == "best-silhouette (spectral)" else clustering._fit(
                x, None, "spectral", 2, None, clustering.PAPER_RANDOM_STATE, 2000, 20000, 0.9, None,
                spectral=(clustering.BEST_SILHOUETTE_NEIGHBOURS, 10**9))
            fits = {"kmeans": clustering.cluster_embeddings(x), "spectral": spectral, "pick": best}
            cells = []
            for key, fit in fits.items():
                v = 100 * score_labels(task.labels, fit.labels.tolist()).v_measure
                scores[key].append(v)
                cells.append(f"{v:.1f} / {fit.n_clusters}")
            print(f"| {family} | {name} | {len(set(task.labels))} | " + " | ".join(cells) + " |", flush=True)
        means.append(f"| {family} | **mean V** | | " + " | ".join(f"**{np.mean(v):.1f}**" for v in scores.values()) + " |")
    print("\n".join(means))


if __name__ == "__main__":
    main()

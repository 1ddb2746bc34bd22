"""A lead for the semantic view: K-means, spectral clustering, and the better-silhouette of the two (prints a table).

    .venv/bin/python benchmarks/embed_spectral_pick.py --n 300 --seed 0
    .venv/bin/python benchmarks/embed_spectral_pick.py --n 300 --seed 1
    .venv/bin/python benchmarks/embed_spectral_pick.py --n 800 --seed 0
    .venv/bin/python benchmarks/embed_spectral_pick.py --sizes 12,24,48,100,200   # random subsamples

On the tasks of both families routed to the semantic view (plain MiniLM vectors, as the default
embeds them), V x100 / k found of: the default's k-free K-means; spectral clustering on the
10-nearest-neighbour graph with k at the eigengap up to ``max_k`` (the language view's settings
are 5 neighbours and at most 10 clusters); and ``algorithm="best-silhouette"``: per corpus,
whichever of the two partitions has the higher cosine silhouette on the mean-centred vectors (no
labels). With ``--sizes``, the two are compared on random subsamples of each size (three
samples of seeds 0-2 per task, the default's k range for that size): mean V x100 per family and size.
docs/embedding.md, "A lead not yet adopted".
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
    ap.add_argument("--sizes", default=None, help="comma-separated subsample sizes: K-means vs best-silhouette")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.sizes:
        return subsamples([int(s) for s in args.sizes.split(",")])
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
                x, None, "spectral", clustering._Scan(2, None, clustering.PAPER_RANDOM_STATE, 20000), 2000,
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


def subsamples(sizes: list[int]) -> None:
    """K-means vs best-silhouette on random subsamples of each semantic-view task (seeds 0-2)."""
    print("| family | " + " | ".join(f"{n} texts" for n in sizes) + " |\n|---|" + "---|" * len(sizes))
    for family in ("tuning", "held-out"):
        v: dict[int, dict[str, list[float]]] = {n: {"kmeans": [], "pick": []} for n in sizes}
        for name in FAMILIES[family]:
            for seed in (0, 1, 2):
                task = TASKS[name](300, seed)
                if route_instruction(task.instruction).view != "semantic":
                    break
                rng = np.random.default_rng(seed)
                for n in (n for n in sizes if n <= len(task.texts)):
                    idx = rng.choice(len(task.texts), n, replace=False)
                    x = embed_texts([task.texts[i] for i in idx], "", template="none")
                    gold = [task.labels[i] for i in idx]
                    for key, algorithm in (("kmeans", "auto"), ("pick", "best-silhouette")):
                        fit = clustering.cluster_embeddings(x, algorithm=algorithm)  # the default k range for n
                        v[n][key].append(100 * score_labels(gold, fit.labels.tolist()).v_measure)
        print(f"| {family}: K-means / better silhouette (samples) | " + " | ".join(
            f"{np.mean(v[n]['kmeans']):.1f} / {np.mean(v[n]['pick']):.1f} ({len(v[n]['pick'])})" for n in sizes) + " |",
            flush=True)


if __name__ == "__main__":
    main()

"""How much the offline default's clusters depend on the order of the input texts (prints a table).

    .venv/bin/python benchmarks/embed_order.py [--n 300] [--orders 4]

On the tasks of both families routed to the semantic view (plain MiniLM vectors, as the default
embeds them), k-free K-means as the default runs it (``random_state=43``) on the texts in their
order and in ``--orders - 1`` seeded permutations: k and V x100 per order, with one K-means run per
candidate k (the default) and with three (``n_init=3``). The same texts in another order are, for
K-means, another initialisation; docs/embedding.md, "Order of the texts".
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import FAMILIES, TASKS  # noqa: E402

from cluster_r1.embed import embed_texts  # noqa: E402
from cluster_r1.embed.cluster import cluster_embeddings  # noqa: E402
from cluster_r1.embed.views import route_instruction  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--orders", type=int, default=4)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print("| family | task | gold k | k per order (1 run) | V per order (1 run) | k per order (3 runs) | V per order (3 runs) |")
    print("|---|---|---:|---|---|---|---|")
    means: dict[tuple[str, int], list[float]] = {}
    spread: dict[tuple[str, int], list[float]] = {}
    for family in ("tuning", "held-out"):
        for name in FAMILIES[family]:
            task = TASKS[name](args.n, 0)
            if route_instruction(task.instruction).view != "semantic":
                continue
            x = embed_texts(task.texts, "", template="none")
            cells = []
            for n_init in (1, 3):
                ks, vs = [], []
                for s in range(args.orders):
                    order = np.random.default_rng(s).permutation(len(x)) if s else np.arange(len(x))
                    fit = cluster_embeddings(x[order], n_init=n_init)
                    ks.append(fit.n_clusters)
                    vs.append(100 * score_labels([task.labels[i] for i in order], fit.labels.tolist()).v_measure)
                means.setdefault((family, n_init), []).append(float(np.mean(vs)))
                spread.setdefault((family, n_init), []).append(float(np.max(vs) - np.min(vs)))
                cells += [" / ".join(map(str, ks)), " / ".join(f"{v:.1f}" for v in vs)]
            print(f"| {family} | {name} | {len(set(task.labels))} | " + " | ".join(cells) + " |", flush=True)
    print("\n| family | mean V, 1 run | mean V, 3 runs | mean V range across orders, 1 run | 3 runs |\n|---|---:|---:|---:|---:|")
    for family in ("tuning", "held-out"):
        print(f"| {family} | {np.mean(means[family, 1]):.1f} | {np.mean(means[family, 3]):.1f} | "
              f"{np.mean(spread[family, 1]):.1f} | {np.mean(spread[family, 3]):.1f} |")


if __name__ == "__main__":
    main()

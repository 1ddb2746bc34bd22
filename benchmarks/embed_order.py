"""Whether the offline default's clusters depend on the order of the input texts (prints a table).

    .venv/bin/python benchmarks/embed_order.py [--n 300] [--orders 4]

On the tasks of both families routed to the semantic view (plain MiniLM vectors, as the default
embeds them), k-free K-means as the default runs it (``random_state=43``) on the texts in their
order and in ``--orders - 1`` seeded permutations, three ways, in one process:

* ``input order, 1 run``: the earlier default (rows fitted as given, one K-means run per
  candidate k; :func:`~cluster_r1.embed.cluster.canonical_order` replaced by the identity), for
  which another order was another initialisation;
* ``canonical, 1 run``: rows fitted in their canonical order, ``n_init=1``;
* ``default``: as shipped (canonical order, ``DEFAULT_N_INIT`` runs per k on scans of up to
  ``RESTARTS_UP_TO`` points).

k and V x100 per order, then each family's mean V and mean spread of V across orders;
docs/embedding.md, "Order of the texts".
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import FAMILIES, TASKS  # noqa: E402

import cluster_r1.embed.cluster as cl  # noqa: E402
from cluster_r1.embed import embed_texts  # noqa: E402
from cluster_r1.embed.views import route_instruction  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402

WAYS = ("input order, 1 run", "canonical, 1 run", "default")


def fit(x: np.ndarray, way: str) -> cl.ClusterFit:
    if way == WAYS[0]:
        canonical, cl.canonical_order = cl.canonical_order, lambda rows: np.arange(len(rows))
        try:
            return cl.cluster_embeddings(x, n_init=1)
        finally:
            cl.canonical_order = canonical
    return cl.cluster_embeddings(x, n_init=1) if way == WAYS[1] else cl.cluster_embeddings(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--orders", type=int, default=4)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    print("| family | task | gold k | " + " | ".join(f"k per order ({w}) | V per order ({w})" for w in WAYS) + " |")
    print("|---|---|---:|" + "---|---|" * len(WAYS))
    means: dict[tuple[str, str], list[float]] = {}
    spread: dict[tuple[str, str], list[float]] = {}
    for family in ("tuning", "held-out"):
        for name in FAMILIES[family]:
            task = TASKS[name](args.n, 0)
            if route_instruction(task.instruction).view != "semantic":
                continue
            x = embed_texts(task.texts, "", template="none")
            cells = []
            for way in WAYS:
                ks, vs = [], []
                for s in range(args.orders):
                    order = np.random.default_rng(s).permutation(len(x)) if s else np.arange(len(x))
                    found = fit(x[order], way)
                    ks.append(found.n_clusters)
                    vs.append(100 * score_labels([task.labels[i] for i in order], found.labels.tolist()).v_measure)
                means.setdefault((family, way), []).append(float(np.mean(vs)))
                spread.setdefault((family, way), []).append(float(np.max(vs) - np.min(vs)))
                cells += [" / ".join(map(str, ks)), " / ".join(f"{v:.1f}" for v in vs)]
            print(f"| {family} | {name} | {len(set(task.labels))} | " + " | ".join(cells) + " |", flush=True)
    print("\n| family | " + " | ".join(f"mean V ({w})" for w in WAYS) + " | "
          + " | ".join(f"V range across orders ({w})" for w in WAYS) + " |")
    print("|---|" + "---:|" * (2 * len(WAYS)))
    for family in ("tuning", "held-out"):
        print(f"| {family} | " + " | ".join(f"{np.mean(means[family, w]):.1f}" for w in WAYS) + " | "
              + " | ".join(f"{np.mean(spread[family, w]):.1f}" for w in WAYS) + " |")


if __name__ == "__main__":
    main()

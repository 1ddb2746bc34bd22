"""k by stability over subsamples against the default's silhouette k (prints a table).

    .venv/bin/python benchmarks/embed_k_stability.py [--n 300] [--seeds 0,1]

On the tasks of both families routed to the semantic view (plain MiniLM vectors, mean-centred as
the default clusters them), K-means (``random_state=43``) for every candidate k of the default's
range (2 .. min(n, max(10, 2 sqrt n), 100)); per k, the cosine silhouette (the default's criterion)
and the stability: four K-means fits on random 80 % subsamples, each predicting every text, the
mean ARI of the six pairs (Ben-Hur et al. / Lange et al.'s resampling stability). Rules for k:
the silhouette alone; the silhouette among the k whose stability is at least 0.6 or 0.75; the
largest k with stability 0.8; silhouette x stability. Per family: mean V x100 and the tasks with
k in [k/2, 2k]. docs/embedding.md, "Tried and not adopted (k)".
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import FAMILIES, TASKS  # noqa: E402

from cluster_r1.embed import embed_texts  # noqa: E402
from cluster_r1.embed.cluster import default_max_k  # noqa: E402
from cluster_r1.embed.views import route_instruction  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def _among(ks: list[int], stab: dict[int, float], floor: float, key: Callable[[int], float]) -> int:
    ok = [k for k in ks if stab[k] >= floor] or [max(ks, key=lambda k: stab[k])]
    return max(ok, key=key)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seeds", default="0,1")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rules: dict[str, Callable[[list[int], dict[int, float], dict[int, float]], int]] = {
        "silhouette (default)": lambda ks, sil, stab: max(ks, key=lambda k: sil[k]),
        "silhouette, stability >= 0.6": lambda ks, sil, stab: _among(ks, stab, 0.6, lambda k: sil[k]),
        "silhouette, stability >= 0.75": lambda ks, sil, stab: _among(ks, stab, 0.75, lambda k: sil[k]),
        "largest k, stability >= 0.8": lambda ks, sil, stab: _among(ks, stab, 0.8, lambda k: k),
        "silhouette x stability": lambda ks, sil, stab: max(ks, key=lambda k: sil[k] * stab[k]),
    }
    found: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    print("| seed | family | task | gold k | " + " | ".join(rules) + " |\n|---|---|---|---:|" + "---|" * len(rules))
    for seed in (int(s) for s in args.seeds.split(",")):
        for family in ("tuning", "held-out"):
            for name in FAMILIES[family]:
                task = TASKS[name](args.n, seed)
                if route_instruction(task.instruction).view != "semantic":
                    continue
                x = embed_texts(task.texts, "", template="none")
                x = x - x.mean(axis=0)
                x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
                n = len(x)
                ks = list(range(2, default_max_k(n) + 1))
                rng = np.random.default_rng(0)
                subsets = [rng.choice(n, int(0.8 * n), replace=False) for _ in range(4)]
                labels, sil, stab = {}, {}, {}
                for k in ks:
                    labels[k] = KMeans(k, n_init=1, random_state=43).fit(x).labels_
                    sil[k] = float(silhouette_score(x, labels[k], metric="cosine"))
                    preds = [KMeans(k, n_init=1, random_state=i).fit(x[s]).predict(x) for i, s in enumerate(subsets)]
                    stab[k] = float(np.mean([adjusted_rand_score(preds[i], preds[j])
                                             for i in range(4) for j in range(i + 1, 4)]))
                gold = len(set(task.labels))
                cells = []
                for rule, pick in rules.items():
                    k = pick(ks, sil, stab)
                    v = 100 * score_labels(task.labels, labels[k].tolist()).v_measure
                    ok = gold / 2 <= k <= 2 * gold
                    found.setdefault((rule, family), []).append((v, ok))
                    cells.append(f"{v:.1f} / {k}{'' if ok else '*'}")
                print(f"| {seed} | {family} | {name} | {gold} | " + " | ".join(cells) + " |", flush=True)
    for family in ("tuning", "held-out"):
        print(f"| | {family} | **mean V / k in range** | | " + " | ".join(
            f"**{np.mean([v for v, _ in found[r, family]]):.1f}** / {sum(ok for _, ok in found[r, family])} of "
            f"{len(found[r, family])}" for r in rules) + " |")


if __name__ == "__main__":
    main()

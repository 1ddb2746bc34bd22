"""Quality of the embedding method on real labelled tasks (not a test; prints markdown tables).

    .venv/bin/python benchmarks/embed_quality.py            # 10 tasks x 300 texts, a few minutes on 2 cores
    .venv/bin/python benchmarks/embed_quality.py --n 200 --tasks clinc_domain slurp_action

Embeddings are cached under ``.cache/embeddings`` (a rerun only clusters).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import TASKS, load_task  # noqa: E402

from cluster_r1.embed import cluster_embeddings, embed_texts  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402

KFREE = ("kmeans", "gmm", "agglomerative", "hdbscan")
KFREE_LABEL = {"kmeans": "K-means+silhouette", "gmm": "GMM+BIC", "agglomerative": "agglomerative", "hdbscan": "HDBSCAN"}
#: multi-criteria corpora: the same texts under different instructions
MULTI = ("clinc_domain", "clinc_intent", "slurp_scenario", "slurp_action", "tweeteval_target", "tweeteval_stance",
         "goalex_topic", "goalex_language", "goalex_style")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="texts per task")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--cache-dir", default=".cache/embeddings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    main_rows, tmpl_rows = [], []
    start = time.perf_counter()
    for name in args.tasks:
        task = load_task(name, args.n)
        x = embed_texts(task.texts, task.instruction, cache_dir=args.cache_dir)
        km = score_labels(task.labels, cluster_embeddings(x, n_clusters=task.k, algorithm="kmeans").labels)
        gm = score_labels(task.labels, cluster_embeddings(x, n_clusters=task.k, algorithm="gmm").labels)
        free = {}
        for alg in KFREE:
            t0 = time.perf_counter()
            fit = cluster_embeddings(x, algorithm=alg)
            free[alg] = (score_labels(task.labels, fit.labels), time.perf_counter() - t0)
        main_rows.append((name, len(task.texts), task.k, km, gm, free))
        if name in MULTI:
            xn = embed_texts(task.texts, task.instruction, template="none", cache_dir=args.cache_dir)
            kn = score_labels(task.labels, cluster_embeddings(xn, n_clusters=task.k, algorithm="kmeans").labels)
            fn = score_labels(task.labels, cluster_embeddings(xn, algorithm="kmeans").labels)
            tmpl_rows.append((name, task.k, km, kn, free["kmeans"][0], fn))
        print(f"# {name}: done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)

    print(f"\n### Gold k (paper protocol, random_state=43) and k-free default, MiniLM, n={args.n} per task\n")
    print("| task | n | k | K-means V (gold k) | GMM V (gold k) | default k-free V | inferred k | k err | ARI |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, n, k, km, gm, free in main_rows:
        s = free["kmeans"][0]
        print(f"| {name} | {n} | {k} | {km.v_measure:.3f} | {gm.v_measure:.3f} | {s.v_measure:.3f} | {s.k_pred} "
              f"| {s.count_error} | {s.ari:.3f} |")
    print(f"| **mean** | | | {np.mean([r[3].v_measure for r in main_rows]):.3f} "
          f"| {np.mean([r[4].v_measure for r in main_rows]):.3f} "
          f"| {np.mean([r[5]['kmeans'][0].v_measure for r in main_rows]):.3f} | "
          f"| {np.mean([r[5]['kmeans'][0].count_error for r in main_rows]):.1f} "
          f"| {np.mean([r[5]['kmeans'][0].ari for r in main_rows]):.3f} |")

    print("\n### k-free selection compared (V / inferred k / ARI per task)\n")
    print("| task | k | " + " | ".join(KFREE_LABEL[a] for a in KFREE) + " |")
    print("|---|---|" + "---|" * len(KFREE))
    for name, _, k, _, _, free in main_rows:
        cells = [f"{free[a][0].v_measure:.3f} / {free[a][0].k_pred} / {free[a][0].ari:.3f}" for a in KFREE]
        print(f"| {name} | {k} | " + " | ".join(cells) + " |")
    for label, fn in (("mean V", lambda s: s.v_measure), ("mean abs k err", lambda s: s.count_error),
                      ("mean ARI", lambda s: s.ari), ("k exact", lambda s: float(s.count_correct))):
        vals = [np.mean([fn(r[5][a][0]) for r in main_rows]) for a in KFREE]
        print(f"| **{label}** | | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    secs = [np.mean([r[5][a][1] for r in main_rows]) for a in KFREE]
    print("| **mean s/task** | | " + " | ".join(f"{v:.2f}" for v in secs) + " |")

    if tmpl_rows:
        print("\n### Instruction template vs no instruction (K-means; same texts, same k)\n")
        print("| task | k | template V (gold k) | none V (gold k) | delta | template V (k-free) | none V (k-free) |")
        print("|---|---|---|---|---|---|---|")
        for name, k, kt, kn, ft, fn in tmpl_rows:
            print(f"| {name} | {k} | {kt.v_measure:.3f} | {kn.v_measure:.3f} | {kt.v_measure - kn.v_measure:+.3f} "
                  f"| {ft.v_measure:.3f} | {fn.v_measure:.3f} |")
        print(f"| **mean** | | {np.mean([r[2].v_measure for r in tmpl_rows]):.3f} "
              f"| {np.mean([r[3].v_measure for r in tmpl_rows]):.3f} "
              f"| {np.mean([r[2].v_measure - r[3].v_measure for r in tmpl_rows]):+.3f} "
              f"| {np.mean([r[4].v_measure for r in tmpl_rows]):.3f} | {np.mean([r[5].v_measure for r in tmpl_rows]):.3f} |")
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

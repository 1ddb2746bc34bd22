"""Quality of the embedding method on real labelled tasks (not a test; prints markdown tables).

    .venv/bin/python benchmarks/embed_quality.py            # 10 tasks x 300 texts, a few minutes on 2 cores
    .venv/bin/python benchmarks/embed_quality.py --n 200 --tasks clinc_domain slurp_action
    .venv/bin/python benchmarks/embed_quality.py --seed 1     # a second sample of the same corpora

Gold-k rows: the paper protocol (App. E.1 template, K-means/GMM random_state=43). k-free rows: what
``embed_cluster(texts, instruction)`` did when these tables were measured (the App. E.1 template for
MiniLM; ``--template auto``: today's default, plain texts, see benchmarks/embed_families.py); ``--mix``: the
template and no-template vectors summed (``embed_cluster(..., mix=True)``); ``--centred`` /
``--reduce umap``: the k-free K-means column with ``centred=True, n_init=3`` / ``reduce="umap"``.

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

from embed_tasks import MULTI, TEN, load_task  # noqa: E402

from cluster_r1.embed import cluster_embeddings, embed_texts  # noqa: E402
from cluster_r1.embed.clusterer import embed_for_clustering  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402

KFREE = ("kmeans", "gmm", "agglomerative", "hdbscan")
KFREE_LABEL = {"kmeans": "K-means+silhouette", "gmm": "GMM+BIC", "agglomerative": "agglomerative", "hdbscan": "HDBSCAN"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="texts per task")
    parser.add_argument("--tasks", nargs="*", default=list(TEN))
    parser.add_argument("--mix", action="store_true", help="k-free rows on template+none summed vectors")
    parser.add_argument("--centred", action="store_true", help="k-free K-means on centred vectors, 3 restarts")
    parser.add_argument("--uncentred", action="store_true", help="k-free K-means on raw vectors (the earlier default)")
    parser.add_argument("--reduce", choices=["umap"], help="k-free K-means on a UMAP projection (needs umap-learn)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (0: the documented tables)")
    parser.add_argument("--template", default="sentence-transformers",
                        help="k-free rows' template: the App. E.1 one (the k-free default when these tables were "
                             "measured) or 'auto' (today's default: plain texts for MiniLM)")
    parser.add_argument("--cache-dir", default=".cache/embeddings")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    kmeans_opts = {"centred": True, "n_init": 3} if args.centred else {"centred": False} if args.uncentred else {}
    if args.reduce:
        kmeans_opts["reduce"] = args.reduce
    warnings.filterwarnings("ignore")

    main_rows, tmpl_rows = [], []
    start = time.perf_counter()
    for name in args.tasks:
        task = load_task(name, args.n, args.seed)
        x = embed_texts(task.texts, task.instruction, template="sentence-transformers", cache_dir=args.cache_dir)
        xa = embed_for_clustering(task.texts, task.instruction, k_free=True, mix=args.mix,
                                  template="auto" if args.mix else args.template, cache_dir=args.cache_dir)
        km = score_labels(task.labels, cluster_embeddings(x, n_clusters=task.k, algorithm="kmeans").labels)
        gm = score_labels(task.labels, cluster_embeddings(x, n_clusters=task.k, algorithm="gmm").labels)
        free = {}
        for alg in KFREE:
            t0 = time.perf_counter()
            fit = cluster_embeddings(xa, algorithm=alg, **(kmeans_opts if alg == "kmeans" else {}))
            free[alg] = (score_labels(task.labels, fit.labels), time.perf_counter() - t0)
        main_rows.append((name, len(task.texts), task.k, km, gm, free))
        if name in MULTI:
            xn = embed_texts(task.texts, task.instruction, template="none", cache_dir=args.cache_dir)
            kn = score_labels(task.labels, cluster_embeddings(xn, n_clusters=task.k, algorithm="kmeans").labels)
            fn = score_labels(task.labels, cluster_embeddings(xn, algorithm="kmeans", **kmeans_opts).labels)
            ft = score_labels(task.labels, cluster_embeddings(x, algorithm="kmeans", **kmeans_opts).labels)
            xm = embed_for_clustering(task.texts, task.instruction, k_free=True, mix=True, cache_dir=args.cache_dir)
            ka = score_labels(task.labels, cluster_embeddings(xm, n_clusters=task.k, algorithm="kmeans").labels)
            fm = score_labels(task.labels, cluster_embeddings(xm, algorithm="kmeans", **kmeans_opts).labels)
            tmpl_rows.append((name, task.k, km, kn, ka, ft, fn, fm))
        print(f"# {name}: done ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)

    print(f"\n### Gold k (paper protocol, random_state=43) and k-free default, MiniLM, n={args.n} per task, "
          f"sample seed {args.seed}\n")
    print("| task | n | k | K-means V (gold k) | GMM V (gold k) | default k-free V | inferred k | k err | ARI |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, n, k, km, gm, free in main_rows:
        s = free["kmeans"][0]
        print(f"| {name} | {n} | {k} | {km.v_measure:.3f} | {gm.v_measure:.3f} | {s.v_measure:.3f} | {s.k_pred} "
              f"| {s.count_error} | {s.ari:.3f} |")
    print(f"| **mean** ({sum(r[5]['kmeans'][0].k_pred * 2 >= r[2] and r[5]['kmeans'][0].k_pred <= 2 * r[2] for r in main_rows)}"
          f"/{len(main_rows)} k in [k/2, 2k]) | | | {np.mean([r[3].v_measure for r in main_rows]):.3f} "
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
                      ("mean ARI", lambda s: s.ari), ("k exact", lambda s: float(s.count_correct)),
                      ("k in [k/2, 2k]", lambda s: float(s.k_pred * 2 >= s.k_true and s.k_pred <= 2 * s.k_true))):
        vals = [np.mean([fn(r[5][a][0]) for r in main_rows]) for a in KFREE]
        print(f"| **{label}** | | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    secs = [np.mean([r[5][a][1] for r in main_rows]) for a in KFREE]
    print("| **mean s/task** | | " + " | ".join(f"{v:.2f}" for v in secs) + " |")

    if tmpl_rows:
        print("\n### Instruction handling: App. E.1 template vs none vs auto (template + none summed), K-means\n")
        print("| task | k | template V (gold k) | none V (gold k) | auto V (gold k) | template V / k (k-free) "
              "| none V / k (k-free) | auto V / k (k-free) | auto - none (k-free) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, k, kt, kn, ka, ft, fn, fa in tmpl_rows:
            print(f"| {name} | {k} | {kt.v_measure:.3f} | {kn.v_measure:.3f} | {ka.v_measure:.3f} "
                  f"| {ft.v_measure:.3f} / {ft.k_pred} | {fn.v_measure:.3f} / {fn.k_pred} | {fa.v_measure:.3f} / {fa.k_pred} "
                  f"| {fa.v_measure - fn.v_measure:+.3f} |")
        cols = [np.mean([r[i].v_measure for r in tmpl_rows]) for i in range(2, 8)]
        print("| **mean V** | | " + " | ".join(f"{c:.3f}" for c in cols) + f" | {cols[5] - cols[4]:+.3f} |")
        aris = [np.mean([r[i].ari for r in tmpl_rows]) for i in range(2, 8)]
        print("| **mean ARI** | | " + " | ".join(f"{c:.3f}" for c in aris) + f" | {aris[5] - aris[4]:+.3f} |")
        wins = sum(r[7].v_measure > r[6].v_measure for r in tmpl_rows)
        print(f"\nauto beats none (k-free V) on {wins}/{len(tmpl_rows)} multi-criteria tasks")
    print(f"\ntotal {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

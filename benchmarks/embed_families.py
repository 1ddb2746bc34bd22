"""The offline default on a tuning and a held-out family of public tasks, beside the baselines, in one run.

    python benchmarks/embed_families.py --n 300 --seed 0           # 15 tasks, ~2 min with a warm cache
    /tmp/bt/bin/python benchmarks/embed_families.py --bertopic       # a venv with bertopic installed

The families (``embed_tasks.FAMILIES``) are split by corpus: rules of the offline default are
chosen on the tuning family (CLINC150, BANKING77, GoalEx) and adopted only when they win on the
held-out family too (SLURP, TweetEval, 2016 election tweets, EDGAR 10-K sections, Grimm tales).
Per task, on the same bundled MiniLM and the same seeded sample:

* ``default``: ``embed_cluster(texts, instruction)``, exactly what a user gets (view routed by the
  instruction, plain texts, k inferred);
* ``template default``: the same with the App. E.1 template (``template="sentence-transformers"``),
  the offline default before plain texts;
* ``gold-k template`` / ``gold-k plain``: the paper protocol (K-means, ``random_state=43``, gold k)
  on template / plain vectors;
* ``BERTopic`` (``--bertopic``): BERTopic's defaults (UMAP 5-d seeded 43, HDBSCAN) on the plain
  vectors, outliers one cluster.

Each cell: V-measure (x100) / inferred k, ``*`` when k is outside [k/2, 2k]. Under the table: the mean V,
ARI and the count of tasks with k in range per family, and the naming hit rate of the default's
names (benchmarks/naming.py: a cluster is a hit when the nearest gold label name to its name, by
MiniLM, is the label most of its texts carry).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import FAMILIES, load_task  # noqa: E402
from naming import hit_rate  # noqa: E402

from cluster_r1.embed import cluster_embeddings, default_embedder, embed_cluster, embed_texts  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def bertopic_labels(texts: list[str], x: np.ndarray) -> list[int]:
    from bertopic import BERTopic
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=43)
    topics, _ = BERTopic(embedding_model=default_embedder().model, umap_model=umap).fit_transform(texts, embeddings=x)
    return list(topics)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300, help="texts per task (smaller corpora give all they have)")
    ap.add_argument("--seed", type=int, default=0, help="sample seed")
    ap.add_argument("--bertopic", action="store_true", help="also BERTopic (pip install bertopic)")
    ap.add_argument("--cache-dir", default=".cache/embeddings")
    ap.add_argument("--out", help="also write the rows as JSON here")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    embedder = default_embedder()

    def encode(strings: list[str]) -> np.ndarray:
        return embed_texts(list(strings), "", template="none", cache_dir=args.cache_dir)

    columns = ["default", "template default", "gold-k template", "gold-k plain"] + (["BERTopic"] if args.bertopic else [])
    rows = []
    for family, names in FAMILIES.items():
        for name in names:
            t = load_task(name, args.n, args.seed)
            xt = embed_texts(t.texts, t.instruction, embedder=embedder, template="sentence-transformers",
                             cache_dir=args.cache_dir)
            xp = embed_texts(t.texts, t.instruction, embedder=embedder, template="none", cache_dir=args.cache_dir)
            default = embed_cluster(t.texts, t.instruction, cache_dir=args.cache_dir)
            labels = {
                "default": [lab - 1 for lab in default.labels],
                "template default": [lab - 1 for lab in embed_cluster(t.texts, t.instruction, template="sentence-transformers",
                                                                      cache_dir=args.cache_dir).labels],
                "gold-k template": cluster_embeddings(xt, n_clusters=t.k, algorithm="kmeans").labels.tolist(),
                "gold-k plain": cluster_embeddings(xp, n_clusters=t.k, algorithm="kmeans").labels.tolist(),
            }
            if args.bertopic:
                labels["BERTopic"] = bertopic_labels(t.texts, xp)
            row = {"family": family, "task": name, "n": len(t.texts), "k": t.k,
                   "view": next((note.split()[0][5:] for note in default.notes if note.startswith("view=")), "semantic"),
                   "names_hit": hit_rate([c.name for c in default.clusters], labels["default"], t.labels, name, encode)}
            for col in columns:
                s = score_labels(t.labels, labels[col])
                row[col] = {"v": 100 * s.v_measure, "ari": 100 * s.ari, "k": s.k_pred, "in_range": t.k / 2 <= s.k_pred <= 2 * t.k}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k not in columns} | {c: round(row[c]["v"], 1) for c in columns}),
                  file=sys.stderr, flush=True)

    print(f"\nn={args.n}, seed {args.seed}: V (x100) / k found (* outside [k/2, 2k])\n")
    print("| family | task | n | gold k | view | " + " | ".join(columns) + " |")
    print("|---|---|---:|---:|---|" + "---|" * len(columns))
    for r in rows:
        cells = " | ".join(f"{r[c]['v']:.1f} / {r[c]['k']}{'' if r[c]['in_range'] else '*'}" for c in columns)
        print(f"| {r['family']} | {r['task']} | {r['n']} | {r['k']} | {r['view']} | {cells} |")
    print("\n| family | measure | " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * len(columns))
    for family in FAMILIES:
        fam = [r for r in rows if r["family"] == family]
        for label, key in (("mean V", "v"), ("mean ARI", "ari")):
            print(f"| {family} | {label} | " + " | ".join(f"{np.mean([r[c][key] for r in fam]):.1f}" for c in columns) + " |")
        print(f"| {family} | k in range | " + " | ".join(f"{sum(r[c]['in_range'] for r in fam)}/{len(fam)}" for c in columns) + " |")
        print(f"| {family} | names hit (default) | {100 * np.mean([r['names_hit'] for r in fam]):.1f} |" + " |" * (len(columns) - 1))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

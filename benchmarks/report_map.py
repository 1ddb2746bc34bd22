"""The report's map: do texts that sit together on the map share their cluster?

    python benchmarks/report_map.py --n 2000

Per corpus (BANKING77, CLINC150, SLURP: a seeded sample of ``--n`` texts each), the offline default clusters the
texts (bundled MiniLM, k inferred, at least 20 clusters here). Two maps of the same vectors: the earlier report's
linear map (scikit-learn's PCA to 2-D) and today's (:func:`cluster_r1.report.html.project`: t-SNE, or UMAP where
installed, on a stratified 2,000 with the rest placed by neighbours). Printed: for each map the share of each
text's 10 nearest neighbours on the map that are in its own cluster (averaged over texts), and the seconds the
map took.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import DATA  # noqa: E402

from cluster_r1.embed import EmbeddingClusterer  # noqa: E402
from cluster_r1.report.html import project  # noqa: E402


def neighbours_agree(xy: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """The mean share of each point's ``k`` nearest points (2-D, itself excluded) with its own label."""
    from sklearn.neighbors import NearestNeighbors

    _, near = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    return float((labels[near[:, 1:]] == labels[:, None]).mean())


def texts_of(name: str, n: int, seed: int) -> list[str]:
    if name == "banking77":
        with (DATA / "banking77" / "test.csv").open() as f:
            texts = [r["text"] for r in csv.DictReader(f)]
    else:
        from cluster_r1.bench.corpora import load_corpus

        texts = list(load_corpus(name, DATA).texts)
    texts = list(dict.fromkeys(t.replace("\n", " ") for t in texts))
    random.Random(seed).shuffle(texts)
    return texts[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=".cache/embeddings")
    args = ap.parse_args()
    from sklearn.decomposition import PCA

    print("| corpus | texts | k | linear map (PCA): 10 neighbours in its cluster | s | today's map | s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, instruction in (("banking77", "Cluster the banking queries by customer intent"),
                              ("clinc150", "Cluster the requests by the user's intent"),
                              ("slurp", "Cluster the commands by what the user wants done")):
        texts = texts_of(name, args.n, args.seed)
        est = EmbeddingClusterer(instruction=instruction, min_k=20, cache_dir=args.cache_dir).fit(texts)
        x, labels = est.embeddings_, est.labels_
        t0 = time.perf_counter()
        linear = PCA(n_components=2, random_state=0).fit_transform(x)
        t1 = time.perf_counter()
        m = project(x, labels)
        t2 = time.perf_counter()
        today = np.column_stack([m["x"], m["y"]])
        print(f"| {name} | {len(texts):,} | {est.n_clusters_} | {100 * neighbours_agree(linear, labels):.1f} % | "
              f"{t1 - t0:.1f} | {100 * neighbours_agree(today, labels[m['i']]):.1f} % | {t2 - t1:.1f} |", flush=True)


if __name__ == "__main__":
    main()

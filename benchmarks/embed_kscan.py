"""k selection on larger samples: the fast (coarse-to-fine) silhouette scan vs the exhaustive one.

    .venv/bin/python benchmarks/embed_kscan.py            # 10 tasks, up to 2,000 texts each (~3 min cold)

Same tasks as ``embed_quality.py`` but with as many texts as the corpus sample allows (up to
``--n``), so that the scan runs on more than ``COARSE_POINTS`` points and takes the fast path.
"Exhaustive" raises ``COARSE_POINTS`` above n for the run (every candidate k, KMeans' own seeding).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import TEN, load_task  # noqa: E402

from cluster_r1.embed import cluster as C  # noqa: E402
from cluster_r1.embed import default_embedder  # noqa: E402
from cluster_r1.embed.clusterer import embed_for_clustering  # noqa: E402
from cluster_r1.metrics import v_measure_score  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--cache-dir", default=".cache/embeddings")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    emb = default_embedder()
    fast_points = C.COARSE_POINTS
    print("| task | n | gold k | exhaustive k / V / s | fast k / V / s |\n|---|---|---|---|---|")
    for name in TEN:
        task = load_task(name, args.n)
        x = embed_for_clustering(task.texts, task.instruction, embedder=emb, cache_dir=args.cache_dir)
        cells = []
        for points in (10**9, fast_points):
            C.COARSE_POINTS = points
            t0 = time.perf_counter()
            fit = C.cluster_embeddings(x)
            cells.append(f"{fit.n_clusters} / {v_measure_score(task.labels, fit.labels):.3f} / {time.perf_counter() - t0:.1f}")
        C.COARSE_POINTS = fast_points
        print(f"| {name} | {len(task.texts)} | {task.k} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()

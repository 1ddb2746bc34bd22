"""Throughput of the embedding method end to end vs the raw encoder, same texts, same process.

    .venv/bin/python benchmarks/embed_speed.py --raw-twice      # 1k and 10k texts (about 15 min on 2 cores)
    .venv/bin/python benchmarks/embed_speed.py --sizes 1000 10000 --repeats 3 --cluster-only 0   # the documented run
    .venv/bin/python benchmarks/embed_speed.py --sizes 1000 --cluster-only 100000

End to end = ``embed_cluster`` (template "none" so the encoder reads exactly the raw texts;
cache disabled so every text is encoded; k-free default clustering; c-TF-IDF naming).
Raw = ``SentenceTransformer.encode(texts, batch_size=64, normalize_embeddings=True)`` on the
same model object. Peak RSS is the process high-water mark after each step (it only grows).
Texts: a seeded shuffle of the distinct real CLINC150, BANKING77 and SLURP utterances; sizes
beyond them repeat the corpus with a copy number appended (" #2", " #3", ...), so every text is
distinct and ``embed_texts``' de-duplication gives end to end no advantage.

The CPU speed of this shared machine drifts by up to +-25 % between consecutive runs of the
same encode (process CPU time drifts with it), so the direct ratio of two timed runs is noisy.
The "overhead" columns are deterministic instead: ``embed_cluster`` timed with an embedder that
returns the raw run's vectors (everything end to end does except the encoder's forward passes:
templating, chunking, k selection, clustering, naming), and "ratio (raw + overhead)" =
raw s / (raw s + overhead s).
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import banking_rows, clinc_texts, slurp_rows  # noqa: E402

from cluster_r1.embed import cluster_embeddings, default_embedder, embed_cluster  # noqa: E402


def corpus() -> list[str]:
    texts = clinc_texts("train") + clinc_texts("test") + clinc_texts("val")
    texts += [t for t, _ in banking_rows("train")] + [t for t, _ in banking_rows("test")]
    texts += [r["sentence"] for r in slurp_rows("devel")] + [r["sentence"] for r in slurp_rows("test")]
    texts = list(dict.fromkeys(texts))  # distinct texts only
    random.Random(0).shuffle(texts)
    return texts


def sized(texts: list[str], n: int) -> list[str]:
    """``n`` distinct texts: the corpus, then copies of it with " #2", " #3", ... appended."""
    out = list(texts[:n])
    copy = 2
    while len(out) < n:
        out += [f"{t} #{copy}" for t in texts[: n - len(out)]]
        copy += 1
    return out


class Replay:
    """An embedder that returns precomputed vectors: times everything but the encoder."""

    name = None  # no cache
    family = "sentence-transformers"

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.row = {t: i for i, t in enumerate(texts)}
        self.vectors = vectors

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.vectors[[self.row[t] for t in texts]]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--cluster-only", type=int, default=100000,
                        help="also time clustering alone on this many rows (real embeddings tiled + noise); 0: skip")
    parser.add_argument("--raw-twice", action="store_true", help="time raw before and after end to end; report the mean")
    parser.add_argument("--repeats", type=int, default=1, help="alternate raw and end to end this many times; report mean times")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")

    texts_all = corpus()
    emb = default_embedder()
    model = emb.model
    model.encode(texts_all[:64], batch_size=64)  # warm-up

    print("| n texts | raw encoder texts/s | end to end texts/s | ratio | encode s | cluster+name s | k "
          "| overhead s | ratio (raw + overhead) | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    last_x = None
    for n in args.sizes:
        texts = sized(texts_all, n)
        # the CPU's speed drifts between runs: alternate raw and end to end `repeats` times and
        # compare the summed times (raw also once after the last end-to-end run with --raw-twice)
        raw_times, e2e_times = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            raw = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            raw_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = embed_cluster(texts, "Cluster by intent", template="none", cache_dir=False)
            e2e_times.append(time.perf_counter() - t0)
        if args.raw_twice:
            t0 = time.perf_counter()
            model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            raw_times.append(time.perf_counter() - t0)
        raw_s, e2e_s = float(np.mean(raw_times)), float(np.mean(e2e_times))
        if args.repeats > 1:
            pairs = ", ".join(f"{r / e:.0%}" for r, e in zip(raw_times, e2e_times))
            print(f"# n={n}: per-run ratios {pairs}", flush=True)
        # split the end-to-end time: re-cluster the same vectors alone
        t1 = time.perf_counter()
        cluster_embeddings(raw)
        clus_s = time.perf_counter() - t1
        t1 = time.perf_counter()
        embed_cluster(texts, "Cluster by intent", template="none", cache_dir=False,
                      embedder=Replay(texts, raw))
        over_s = time.perf_counter() - t1
        print(f"| {n} | {n / raw_s:.1f} | {n / e2e_s:.1f} | {raw_s / e2e_s:.1%} | {e2e_s - clus_s:.1f} "
              f"| {clus_s:.2f} | {result.n_clusters} | {over_s:.2f} | {raw_s / (raw_s + over_s):.1%} "
              f"| {peak_mib():.0f} |", flush=True)
        last_x = raw

    if args.cluster_only and last_x is not None:
        rng = np.random.default_rng(0)
        reps = -(-args.cluster_only // len(last_x))
        big = np.tile(last_x, (reps, 1))[: args.cluster_only]
        big = big + rng.normal(scale=0.02, size=big.shape).astype(np.float32)
        big /= np.linalg.norm(big, axis=1, keepdims=True)
        print(f"\n| clustering only, {len(big)} rows | seconds | k | peak RSS MiB |\n|---|---|---|---|")
        for alg in ("kmeans", "hdbscan", "agglomerative", "gmm"):
            t0 = time.perf_counter()
            fit = cluster_embeddings(big, algorithm=alg)
            print(f"| {alg} (k-free) | {time.perf_counter() - t0:.1f} | {fit.n_clusters} | {peak_mib():.0f} |", flush=True)
        t0 = time.perf_counter()
        fit = cluster_embeddings(big, n_clusters=150)
        print(f"| kmeans, n_clusters=150 (MiniBatchKMeans) | {time.perf_counter() - t0:.1f} | {fit.n_clusters} "
              f"| {peak_mib():.0f} |")


if __name__ == "__main__":
    main()

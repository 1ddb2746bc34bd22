"""The pipeline's own cost against an instant local fake model server: time, memory, tokens per text.

    python benchmarks/scale_cost.py --sizes 10000 100000 --modes llm,hybrid,embed

The fake server (tests/fake_openai.py) answers every prompt correctly and at once (tests/fake_model.py),
so what is measured is the project's own overhead: HTTP, prompts, parsing, embeddings, windows,
classifier. Per size: the offline default's time on the same texts (embedding included, the
reference), the pipeline's time per mode (its own embedding of the corpus, done once and counted in every mode), the ratio, peak RSS,
model tokens per corpus token (both counted as characters / 4, as the fake server reports usage)
and whether every text is in exactly one cluster. Texts are distinct (the generator numbers them).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cluster_r1.backends import OpenAICompatBackend  # noqa: E402
from cluster_r1.corpus.context import ScaleOptions  # noqa: E402
from cluster_r1.corpus.pipeline import cluster_corpus, embed_corpus  # noqa: E402
from cluster_r1.embed import embed_cluster  # noqa: E402
from fake_model import TopicModel, corpus  # noqa: E402
from fake_openai import FakeOpenAIServer  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--modes", default="llm,hybrid,embed")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        texts, gold = corpus(n, topics=("billing", "login", "shipping", "bugs", "refunds", "privacy"), seed=1)
        corpus_tokens = sum(len(t) for t in texts) // 4
        t0 = time.perf_counter()
        offline = embed_cluster(texts, "by issue", cache_dir=False)
        offline_s = time.perf_counter() - t0
        assert offline.n_texts == n
        with FakeOpenAIServer(owned_by="me") as server:
            model = TopicModel()
            server.enqueue(*[model] * 1_000_000)
            backend = OpenAICompatBackend(base_url=server.base_url, model="local", concurrency=args.concurrency,
                                          context_window=16384)
            t0 = time.perf_counter()
            vectors = embed_corpus(texts, "by issue", embed_options={"cache_dir": False})
            embed_s = time.perf_counter() - t0  # embedded once, counted in every mode's time
            for mode in args.modes.split(","):
                calls_before = len(server.requests)
                t0 = time.perf_counter()
                result, _ = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign=mode),
                                           vectors=vectors)
                seconds = time.perf_counter() - t0 + embed_s
                once = sorted(i for c in result.clusters for i in c.items) == list(range(1, n + 1))
                u = result.usage
                row = {"n": n, "mode": mode, "offline_default_s": round(offline_s, 1), "pipeline_s": round(seconds, 1),
                       "ratio": round(seconds / offline_s, 3), "peak_rss_mib": round(peak_mib()),
                       "calls": len(server.requests) - calls_before,
                       "tokens_per_corpus_token": round((u.prompt_tokens + u.completion_tokens) / corpus_tokens, 3),
                       "every_text_once": once, "k": result.n_clusters}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| texts | mode | offline default (s) | pipeline (s) | ratio | peak RSS (MiB) | calls | tokens / corpus "
          "token | every text once |\n|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['mode']} | {r['offline_default_s']} | {r['pipeline_s']} | {r['ratio']:.2f} | "
              f"{r['peak_rss_mib']:,} | {r['calls']:,} | {r['tokens_per_corpus_token']:.2f} | {r['every_text_once']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

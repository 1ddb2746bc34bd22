"""The offline default's first run (nothing cached) against the raw encoder, same texts, same process.

    python benchmarks/embed_cold.py --n 5000

Texts: the first ``--n`` distinct BANKING77 training queries (``../shared/data``). Steps, in order:

1. raw: ``SentenceTransformer.encode(texts, batch_size=64, normalize_embeddings=True)`` on the
   bundled MiniLM (loaded and warmed up first, so that loading is not counted), on the plain
   texts (what the k-free default encodes for MiniLM) and on the App. E.1 template strings
   (instruction prefixed: about twice the tokens of a short query; what the earlier default and
   the paper protocol encode);
2. cold: ``embed_cluster(texts, instruction)`` with an empty cache folder: the default end to
   end (cache writes, k scan, final fit, naming), timed per stage through its ``progress`` callback;
3. warm: the same call again (every vector from the cache);
4. raw again, so that a drift of the machine's speed shows.

Printed: seconds and texts/s per step, the per-stage split of the cold run, and cold texts/s as
a share of the raw texts/s on the plain texts (the strings the default encodes; the target: >= 80 %).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from cluster_r1.embed import default_embedder, embed_cluster
from cluster_r1.embed.templates import get_template

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def banking_texts(n: int) -> list[str]:
    with open(DATA / "banking77" / "train.csv", newline="") as f:
        texts = list(dict.fromkeys(row["text"] for row in csv.DictReader(f)))
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} distinct texts")
    return texts[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--instruction", default="cluster these banking queries by intent")
    args = ap.parse_args()
    texts = banking_texts(args.n)
    model = default_embedder().model
    model.encode(texts[:64], batch_size=64)  # load and warm up

    rendered = [get_template("auto").render(args.instruction, t) for t in texts]

    def raw(strings: list[str] = texts) -> float:
        t = time.perf_counter()
        model.encode(strings, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return time.perf_counter() - t

    rows: list[tuple[str, float]] = [("raw encoder", raw()), ("raw, template strings", raw(rendered))]
    stages: dict[str, list[float]] = {}

    def progress(stage: str, done: int, total: int, detail: str = "") -> None:
        now = time.perf_counter()
        span = stages.setdefault(stage, [now, now])
        span[1] = now

    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        result = embed_cluster(texts, args.instruction, cache_dir=cache, progress=progress)
        cold = time.perf_counter() - t
        rows.append(("cold (nothing cached)", cold))
        t = time.perf_counter()
        embed_cluster(texts, args.instruction, cache_dir=cache)
        rows.append(("warm (all cached)", time.perf_counter() - t))
    rows.append(("raw encoder again", raw()))
    rows.append(("raw, template again", raw(rendered)))

    print(f"{len(texts)} texts, k={result.n_clusters}")
    print(f"{'step':<24} {'s':>8} {'texts/s':>9}")
    for name, s in rows:
        print(f"{name:<24} {s:>8.1f} {len(texts) / s:>9.0f}")
    print("\ncold run by stage (first to last progress report):")
    accounted = 0.0
    for stage, (a, b) in stages.items():
        accounted += b - a
        print(f"  {stage:<20} {b - a:>8.1f} s")
    print(f"  {'other':<20} {cold - accounted:>8.1f} s")
    plain = (rows[0][1] + rows[-2][1]) / 2
    templated = (rows[1][1] + rows[-1][1]) / 2
    print(f"\ncold / raw throughput: {plain / cold:.0%} of the raw encode of the same (plain) strings; the template "
          f"strings alone take {templated / plain:.2f}x the plain ones")


if __name__ == "__main__":
    main()

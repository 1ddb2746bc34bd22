"""New texts into a saved clusterer: fit on one half of a task, place the other half, compare V.

    python benchmarks/scale_new_texts.py --base-url http://127.0.0.1:8081/v1 --task goalex_topic --assign hybrid \
        --cache /tmp/scale-new.sqlite [--propose clusters] [--with-model]

The halves are a seeded random split. The fit is the large-corpus pipeline on the first half
(``--assign`` mode); its saved clusterer then places the second half offline (the classifier on
the embeddings, ``cluster-r1 assign`` without a server) and, with ``--with-model``, by the model
(the saved mode); ``--offline`` fits with the offline default instead (no server). Printed: V, ARI and k of the fit on its half, and of each placement on the other.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_quality import full_task  # noqa: E402

from cluster_r1.backends import CachedBackend, OpenAICompatBackend  # noqa: E402
from cluster_r1.corpus.context import ScaleOptions  # noqa: E402
from cluster_r1.corpus.pipeline import cluster_corpus  # noqa: E402
from cluster_r1.corpus.saved import load, model_from_result, place, save  # noqa: E402
from cluster_r1.embed import embed_cluster  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", default=None, help="the model server (not needed with --offline)")
    ap.add_argument("--offline", action="store_true",
                    help="fit with the offline default (embeddings) instead of the pipeline; no server")
    ap.add_argument("--model", default="local")
    ap.add_argument("--task", default="goalex_topic")
    ap.add_argument("--assign", default="hybrid")
    ap.add_argument("--propose", default="windows", help="windows or clusters (ScaleOptions.propose)")
    ap.add_argument("--cache", default=None)
    ap.add_argument("--with-model", action="store_true")
    args = ap.parse_args()
    instruction, texts, gold = full_task(args.task)
    idx = list(range(len(texts)))
    random.Random(0).shuffle(idx)
    half = len(idx) // 2
    a, b = sorted(idx[:half]), sorted(idx[half:])
    if args.offline:
        backend = None
        fitted = [texts[i] for i in a]
        result = embed_cluster(fitted, instruction)
        model = model_from_result(fitted, result, instruction)
    else:
        if not args.base_url:
            raise SystemExit("give --base-url, or --offline")
        server = OpenAICompatBackend(base_url=args.base_url, model=args.model, concurrency=1, timeout=1800,
                                     context_window=16384)
        backend = CachedBackend(server, args.cache) if args.cache else server
        result, model = cluster_corpus([texts[i] for i in a], instruction, backend,
                                       options=ScaleOptions(assign=args.assign, propose=args.propose))
    fit = score_labels([gold[i] for i in a], result.labels)
    rows = [("fit (first half)", fit)]
    with tempfile.TemporaryDirectory() as tmp:
        save(model, tmp)
        saved = load(tmp)
    placed, _ = place(saved, [texts[i] for i in b])
    rows.append(("assign, offline (saved classifier)", score_labels([gold[i] for i in b], placed.labels)))
    if args.with_model and backend is not None:
        placed, _ = place(saved, [texts[i] for i in b], backend=backend)
        rows.append((f"assign, with the model ({saved.assign})", score_labels([gold[i] for i in b], placed.labels)))
    fresh = embed_cluster([texts[i] for i in b], instruction)
    rows.append(("second half clustered afresh (offline default), for reference",
                 score_labels([gold[i] for i in b], fresh.labels)))
    print(f"\n{args.task}: {len(a)} texts fitted, {len(b)} placed\n\n| | V | ARI | k (gold) |\n|---|---:|---:|---:|")
    for name, s in rows:
        print(f"| {name} | {s.v_measure * 100:.1f} | {s.ari * 100:.1f} | {s.k_pred} ({s.k_true}) |")


if __name__ == "__main__":
    main()

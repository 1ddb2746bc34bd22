"""The agent beyond one context window on full-size public tasks, every assign mode beside the embedding baselines.

    python benchmarks/scale_quality.py --base-url http://127.0.0.1:8081/v1 --model local \
        --tasks banking77,clinc_domain,goalex_topic,goalex_style,tweeteval_target --modes llm,hybrid,embed \
        --cache /tmp/scale-cache.sqlite --out results/scale_quality.json

Per task: the pipeline (windows of fine-cluster representatives -> merge -> describe -> assign) in
each mode, against gold-k MiniLM K-means (the paper's App. E.1 template) and the offline default
(k inferred). The modes share their windows and merge (same prompts), so with ``--cache`` a mode
after the first pays only for its own assignment, and an interrupted run resumes. Prints V, ARI,
k vs gold, model calls and tokens per text, and the mean over tasks. Tasks: banking77, clinc_domain,
goalex_topic, goalex_style, goalex_language, tweeteval_target (where the rules were chosen) and the
held-out slurp_scenario, slurp_action.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import banking_rows, goalex, tweeteval_rows  # noqa: E402

from cluster_r1.agent.state import estimate_tokens  # noqa: E402
from cluster_r1.backends import CachedBackend, OpenAICompatBackend  # noqa: E402
from cluster_r1.corpus.context import ScaleOptions  # noqa: E402
from cluster_r1.corpus.pipeline import cluster_corpus, embed_corpus  # noqa: E402
from cluster_r1.embed import embed_cluster  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402


def full_task(name: str) -> tuple[str, list[str], list[str]]:
    """(instruction, texts, gold labels) of a full-size task."""
    if name == "banking77":
        rows = banking_rows("test")
        return "Cluster the banking queries by customer intent", [t for t, _ in rows], [c for _, c in rows]
    if name == "clinc_domain":
        from embed_tasks import _clinc

        pairs, dom = _clinc()
        return ("Cluster the requests by their domain (banking, travel, kitchen, ...)", [t for t, _ in pairs],
                [dom[i] for _, i in pairs])
    if name.startswith("goalex_"):
        goal, texts, labels = goalex(name.split("_", 1)[1])
        return goal, texts, labels
    if name.startswith("slurp_"):  # held-out family: the SLURP test split, 2,974 commands
        from embed_tasks import SLURP_INSTRUCTIONS, slurp_rows

        field = name.split("_", 1)[1]
        rows = slurp_rows("test")
        return SLURP_INSTRUCTIONS[field], [r["sentence"] for r in rows], [r[field] for r in rows]
    if name == "tweeteval_target":
        rows = tweeteval_rows()
        return "Cluster the tweets by the target they discuss", [r[0] for r in rows], [r[1] for r in rows]
    raise SystemExit(f"unknown task {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", default="local")
    ap.add_argument("--tasks", default="banking77,clinc_domain,goalex_topic,goalex_style,tweeteval_target")
    ap.add_argument("--modes", default="llm,hybrid,embed")
    ap.add_argument("--propose", default="auto",
                    help="comma-separated proposal stages to compare: windows (the agent on windows), clusters "
                    "(the embedding clusters named by the model), auto (windows; clusters where the window answers "
                    "fail the check: the default)")
    ap.add_argument("--n", type=int, default=0, help="use only the first N texts of each task (0: all)")
    ap.add_argument("--context-window", type=int, default=16384)
    ap.add_argument("--cache", default=None, help="response cache (SQLite): reruns and other modes reuse calls")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    server = OpenAICompatBackend(base_url=args.base_url, model=args.model, concurrency=1, timeout=1800,
                                 context_window=args.context_window)
    backend = CachedBackend(server, args.cache) if args.cache else server
    rows = []
    for task in args.tasks.split(","):
        instruction, texts, gold = full_task(task)
        if args.n:
            texts, gold = texts[: args.n], gold[: args.n]
        corpus_tokens = sum(estimate_tokens(t) for t in texts)
        k_gold = len(set(gold))
        start = time.perf_counter()
        vectors = embed_corpus(texts, instruction)
        embed_seconds = time.perf_counter() - start
        base = embed_cluster(texts, instruction, n_clusters=k_gold, algorithm="kmeans", view="semantic")
        default = embed_cluster(texts, instruction)
        for name, labels, extra in (("gold-k K-means (MiniLM, App. E.1)", base.labels, {}),
                                    ("offline default (k inferred)", default.labels, {})):
            s = score_labels(gold, labels)
            rows.append({"task": task, "method": name, "n": len(texts), "v": s.v_measure, "ari": s.ari,
                         "k": s.k_pred, "k_gold": k_gold, **extra})
            print(json.dumps(rows[-1]), flush=True)
        for propose, mode in [(p, m) for p in args.propose.split(",") for m in args.modes.split(",")]:
            t0 = time.perf_counter()
            result, _ = cluster_corpus(texts, instruction, backend, options=ScaleOptions(assign=mode, propose=propose),
                                       vectors=vectors)
            s = score_labels(gold, result.labels)
            u = result.usage
            label = f"agent pipeline, assign={mode}" + ("" if propose == "windows" else f", propose={propose}")
            rows.append({"task": task, "method": label, "n": len(texts), "v": s.v_measure,
                         "ari": s.ari, "k": s.k_pred, "k_gold": k_gold, "calls": u.calls,
                         "tokens_per_corpus_token": (u.prompt_tokens + u.completion_tokens) / corpus_tokens,
                         "seconds": time.perf_counter() - t0 + embed_seconds, "names": [c.name for c in result.clusters],
                         "notes": result.notes})
            print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("names", "notes")}), flush=True)
            if args.out:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(json.dumps(rows, indent=2))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    print("\n| method | " + " | ".join(tasks) + " | mean V |\n|---|" + "---:|" * (len(tasks) + 1))
    for m in methods:
        cells = []
        vs = []
        for t in tasks:
            r = next((r for r in rows if r["method"] == m and r["task"] == t), None)
            if r is None:
                cells.append("-")
                continue
            vs.append(r["v"])
            cells.append(f"{r['v'] * 100:.1f} (ARI {r['ari'] * 100:.0f}, k {r['k']}/{r['k_gold']})")
        print(f"| {m} | " + " | ".join(cells) + f" | {statistics.mean(vs) * 100:.1f} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

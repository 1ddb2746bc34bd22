"""``cluster-r1 bench build``: wire with ``register(subparsers)`` from the main CLI."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .corpora import DATA_DIR_ENV

__all__ = ["register", "run_build", "run_synth"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``bench build [--data-dir DIR] --out BENCH_DIR`` to an argparse ``subparsers`` object."""
    bench = subparsers.add_parser("bench", help="build the ReasonCluster-Open benchmark")
    sub = bench.add_subparsers(dest="bench_command", required=True)
    build = sub.add_parser("build", help="sample tasks into train/C0/C1/C2 JSONL files with statistics")
    build.add_argument(
        "--data-dir",
        default=None,
        help=f"folder of the public corpora (default: ${DATA_DIR_ENV}, else ../shared/data)",
    )
    build.add_argument("--out", required=True, help="output folder for the benchmark")
    build.add_argument("--seed", type=int, default=0, help="seed of every sampling step (default 0)")
    build.add_argument("--n-train", type=int, default=None, help="training examples per held-in task")
    build.add_argument("--n-eval", type=int, default=None, help="C0 and C1 examples per held-in task")
    build.add_argument("--n-c2", type=int, default=None, help="C2 examples per held-out task")
    build.add_argument("--max-texts", type=int, default=None, help="at most this many texts per example")
    build.add_argument("--min-texts", type=int, default=None, help="at least this many texts per example (default 2)")
    build.add_argument("--min-per-cluster", type=int, default=None,
                       help="at least this many texts of every gold cluster in an example (default 2)")
    build.add_argument("--max-tokens", type=int, default=None, help="approximate prompt tokens per example")
    build.add_argument("--task", action="append", default=None, help="only this task (repeatable)")
    build.add_argument("--docs", default=None, help="also write the task table here, e.g. docs/reasoncluster_open.md")
    build.set_defaults(func=run_build)

    synth = sub.add_parser("synth", help="multi-agent task synthesis (generate, refine, two labellers) over a model server")
    synth.add_argument("--corpus", required=True, help="a corpus of ../shared/data, e.g. goalex, tweeteval_stance")
    synth.add_argument("--data-dir", default=None, help=f"folder of the public corpora (default: ${DATA_DIR_ENV})")
    synth.add_argument("--out", required=True, help="output folder: synthesis.json, synthesis.md, checkpoint.jsonl")
    synth.add_argument("--n-docs", type=int, default=40, help="documents sampled from the corpus (default 40)")
    synth.add_argument("--sample-size", type=int, default=12, help="documents shown to the generation agent (default 12)")
    synth.add_argument("--n-instructions", type=int, default=2, help="instructions to generate (default 2)")
    synth.add_argument("--max-chars", type=int, default=400, help="clip each document to this many characters")
    synth.add_argument("--seed", type=int, default=0, help="seed of the document sample (default 0)")
    synth.add_argument("--base-url", help="OpenAI-compatible server (env CLUSTER_R1_BASE_URL)")
    synth.add_argument("--model", help="model of every agent (env CLUSTER_R1_MODEL)")
    synth.add_argument("--labeler-base-url", help="server of the second labelling agent (default: --base-url)")
    synth.add_argument("--labeler-model", help="model of the second labelling agent (default: --model)")
    synth.add_argument("--label-temperature", type=float, default=None,
                       help="labellers' temperature (default 0.7 when both labellers use one model, else 0)")
    synth.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default 600)")
    synth.set_defaults(func=run_synth)
    return bench


def run_build(args: argparse.Namespace) -> int:
    """Run ``bench build`` from parsed arguments; prints the statistics table."""
    from .build import build_benchmark
    from .splits import SplitConfig
    from .tasks import get_task

    overrides = {
        "n_train": args.n_train,
        "n_c0": args.n_eval,
        "n_c1": args.n_eval,
        "n_c2": args.n_c2,
        "max_texts": args.max_texts,
        "max_tokens": args.max_tokens,
        "min_texts": args.min_texts,
        "min_texts_per_cluster": args.min_per_cluster,
    }
    if args.min_per_cluster is not None:
        overrides["max_texts_per_cluster"] = max(args.min_per_cluster, SplitConfig.max_texts_per_cluster)
    config = SplitConfig(seed=args.seed, **{k: v for k, v in overrides.items() if v is not None})
    tasks = [get_task(name) for name in args.task] if args.task else None
    result = build_benchmark(
        args.data_dir, Path(args.out), seed=args.seed, config=config, tasks=tasks, docs_path=args.docs
    )
    print((result.out_dir / "stats.md").read_text(encoding="utf-8"), end="")
    print(f"{len(result.tasks)} tasks; examples {result.counts}; written to {result.out_dir}")
    return 0


def run_synth(args: argparse.Namespace) -> int:
    """Run ``bench synth``: sample documents, run the pipeline (resumable), write results and rates."""
    import json
    import random
    import time

    from ..api import make_backend
    from ..errors import InputError
    from ..prompts import clip_text
    from .corpora import load_corpus
    from .synthesis import SynthesisPipeline

    corpus = load_corpus(args.corpus, args.data_dir)
    if args.n_docs < 2 or args.sample_size < 1:
        raise InputError("--n-docs must be >= 2 and --sample-size >= 1")
    idx = sorted(random.Random(args.seed).sample(range(len(corpus)), min(args.n_docs, len(corpus))))
    docs = [clip_text(" ".join(corpus.texts[i].split()), args.max_chars) for i in idx]
    main = make_backend(base_url=args.base_url, model=args.model, timeout=args.timeout, concurrency=1)
    same = args.labeler_base_url is None and args.labeler_model is None
    second = main if same else make_backend(
        base_url=args.labeler_base_url or args.base_url, model=args.labeler_model or args.model,
        timeout=args.timeout, concurrency=1,
    )
    label_t = args.label_temperature if args.label_temperature is not None else (0.7 if same else 0.0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipe = SynthesisPipeline(main, [main, second], checkpoint=out / "checkpoint.jsonl", label_temperature=label_t)
    start = time.perf_counter()
    result = pipe.run(docs, sample_size=args.sample_size, n_instructions=args.n_instructions)
    seconds = time.perf_counter() - start
    from ..metrics import v_measure_score as v_measure

    def versus_gold(labels: list[str | None]) -> dict[str, float]:
        """V-measure of the kept consensus labels against each gold criterion of the corpus."""
        kept = [j for j, lab in enumerate(labels) if lab is not None]
        if len(kept) < 2:
            return {}
        return {
            crit: round(100 * v_measure([corpus.labels(crit)[idx[j]] for j in kept], [labels[j] for j in kept]), 1)
            for crit in corpus.criteria
        }

    record = {
        "corpus": corpus.name,
        "seed": args.seed,
        "documents": [corpus.ids[i] for i in idx],
        "models": [main.model, second.model],
        "label_temperature": label_t,
        "seconds": round(seconds, 1),
        "tasks": [
            {
                "instruction": tax.instruction,
                "clusters": tax.clusters,
                "labels": labels,
                "agreement": agree,
                "discard": discard,
                "cluster_sizes": {c["name"]: labels.count(c["name"]) for c in tax.clusters},
                "v_vs_gold": versus_gold(labels),
            }
            for tax, labels, agree, discard in zip(result.taxonomies, result.labels, result.agreement, result.discard)
        ],
    }
    (out / "synthesis.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [f"# Synthesis over {corpus.name} ({len(docs)} documents, seed {args.seed}; models {main.model} / "
             f"{second.model}, labelling temperature {label_t}; {seconds:.0f} s)", ""]
    lines += ["| instruction | clusters (documents kept) | agreement | discarded | V vs gold criteria |",
              "|---|---|---:|---:|---|"]
    for t in record["tasks"]:
        sizes = "; ".join(f"{name} ({n})" for name, n in t["cluster_sizes"].items())
        gold = ", ".join(f"{c} {v:.1f}" for c, v in t["v_vs_gold"].items())
        lines.append(f"| {t['instruction']} | {sizes} | {100 * t['agreement']:.0f} % | {100 * t['discard']:.0f} % | {gold} |")
    (out / "synthesis.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0

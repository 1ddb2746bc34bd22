"""LLM-assisted embedding clustering vs plain MiniLM on criteria an encoder cannot see (prints a table).

    .venv/bin/python benchmarks/embed_assist.py --base-url http://127.0.0.1:8080/v1 --model local
    .venv/bin/python benchmarks/embed_assist.py --base-url URL --model NAME --n 60 --tasks goalex_style

Tasks (120 seeded texts each from ../shared/data): GoalEx style and tweeteval stance (reasoning
criteria) and their twins over the same texts, GoalEx topic and tweeteval target. Rows:
MiniLM + K-means at gold k (the paper's baseline), ``assist=categories`` at gold k and with k
left to the model, optionally ``assist=answers`` (InBedder-style) at gold k, and
``categories-given``: the gold class names given as the categories (no proposal; the ceiling
of the pick step). The MiniLM row is ``view="semantic"`` (the paper's baseline, not routed). Every model
reply is cached in ``.cache/assist.sqlite``: a rerun repeats no call (its seconds per text
then measure the cache, not the model; the first run's are the ones to report).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import goalex_descriptions, load_task  # noqa: E402

from cluster_r1.backends.cached import CachedBackend  # noqa: E402
from cluster_r1.backends.openai_compat import OpenAICompatBackend  # noqa: E402
from cluster_r1.corpus.assist import AssistOptions, assisted_cluster  # noqa: E402
from cluster_r1.embed import embed_cluster  # noqa: E402
from cluster_r1.errors import AnswerError  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402

TASKS = ("goalex_style", "goalex_topic", "tweeteval_stance", "tweeteval_target")
MODES = ("categories-goldk", "categories-kfree", "answers-goldk", "categories-given")

#: The gold class names, for ``categories-given`` (the user names the categories; the model only picks):
#: the ceiling of the pick step with a perfect proposal.
TARGET_NAMES = {"abortion": "legalization of abortion", "atheism": "atheism", "climate": "climate change",
                "feminist": "feminism", "hillary": "Hillary Clinton"}


def gold_categories(name: str, labels: list[str]) -> list[str]:
    if name.startswith("goalex_"):
        descriptions = goalex_descriptions(name.removeprefix("goalex_"))
        return [descriptions[int(c)] for c in sorted(set(labels), key=int)]
    if name == "tweeteval_target":
        return [TARGET_NAMES[c] for c in sorted(set(labels))]
    return sorted(set(labels))  # stance: favor / against / none


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--n", type=int, default=120, help="texts per task")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--modes", nargs="*", default=list(MODES[:2]), choices=MODES)
    parser.add_argument("--unguided", action="store_true",
                        help="also run each categories mode with guide=False (proposal from 16 random texts)")
    parser.add_argument("--cache", default=".cache/assist.sqlite")
    parser.add_argument("--out", help="also write the rows as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("cluster_r1.corpus.assist").setLevel(logging.INFO)
    backend = CachedBackend(OpenAICompatBackend(base_url=args.base_url, model=args.model, concurrency=1), args.cache)
    rows = []
    print("| task | method | k (gold) | V | ARI | s/text | LLM tokens/text | categories |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name in args.tasks:
        task = load_task(name, args.n)
        base = embed_cluster(task.texts, task.instruction, n_clusters=task.k, template="none", view="semantic")
        default = embed_cluster(task.texts, task.instruction)
        runs = [("MiniLM + K-means (gold k)", base, 0.0), ("offline default (k inferred)", default, 0.0)]
        for mode in args.modes:
            assist, kmode = mode.split("-")
            given = gold_categories(name, task.labels) if kmode == "given" else None
            label = {"goldk": "gold k", "kfree": "k by the model", "given": "gold category names given"}[kmode]
            for guide in (True, False) if args.unguided and assist == "categories" and not given else (True,):
                t0 = time.perf_counter()
                row_label = f"assist={assist}, {label}" + ("" if guide else ", unguided")
                try:
                    res = assisted_cluster(
                        task.texts, task.instruction, backend, assist=AssistOptions(assist, categories=given, guide=guide),
                        n_clusters=task.k if kmode == "goldk" else None,
                    )
                except AnswerError as e:  # no usable categories: what a user sees is this error
                    print(f"| {name} | {row_label} | - | error | | | | {str(e)[:80]} |", flush=True)
                    rows.append(dict(task=name, method=row_label, error=str(e)))
                    continue
                runs.append((row_label, res, time.perf_counter() - t0))
        for label, res, _ in runs:
            s = score_labels(task.labels, res.labels)
            u = res.usage
            tok = (u.prompt_tokens + u.completion_tokens) / len(task.texts)
            cats = ", ".join(c.name for c in res.clusters)[:90] if "assist" in label else ""
            if "assist" in label and res.method == "embed+names":
                cats = "(fell back to the embedding clusters) " + cats
            row = dict(task=name, method=label, k=res.n_clusters, k_gold=task.k, v=100 * s.v_measure,
                       ari=100 * s.ari, s_per_text=u.seconds / len(task.texts), tokens_per_text=tok,
                       categories=[c.name for c in res.clusters], notes=res.notes)
            rows.append(row)
            print(f"| {name} | {label} | {res.n_clusters} ({task.k}) | {row['v']:.1f} | {row['ari']:.1f} | "
                  f"{row['s_per_text']:.2f} | {tok:.0f} | {cats} |", flush=True)
    print(f"\ncache: {backend.hits} hits, {backend.misses} model calls")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

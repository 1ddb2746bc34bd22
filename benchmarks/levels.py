"""The levels of a corpus: which level an instruction lands on, and what each level is worth.

    python benchmarks/levels.py two-level --n 1000 --seed 0     # CLINC150 and SLURP: broad / specific / plain
    python benchmarks/levels.py families --n 300 --seed 0        # every family task: the levels and their V
    python benchmarks/levels.py model --base-url http://127.0.0.1:8080/v1 --n 1000   # the model picks the level

``two-level``: the same texts of a corpus labelled at two levels (CLINC150: 10 domains over 150 intents; SLURP:
18 scenarios over 46 actions; the Grimm tales: 5 ATU topics over 20 ATU types, all 54 tales), a seeded sample of ``--n``, clustered offline (bundled MiniLM) under a plain, a
broad and a specific instruction. Printed per instruction: the level chosen and its k, and against each gold
criterion (its k in this sample) V x100 and whether k is in [k/2, 2k].

``model``: the two-level corpora clustered offline once under the plain instruction; then, for the plain, broad and
specific instructions, the model server reads the level (:func:`cluster_r1.corpus.levels.model_level`: one short
call under a choice constraint, "no", "broad" or "specific", mapped onto the levels). Printed as ``two-level``,
with the model's word.

``families``: every task of the tuning and held-out families (benchmarks/embed_tasks.py) under its own
instruction. Printed per task: gold k, the levels' k from the top (the chosen one starred), V x100 at each
level, and which levels have k in [k/2, 2k]; under the table, per family, the mean V and the tasks in range at
the chosen level, and what an oracle picking the best level would get (an upper bound, not a rule).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed_tasks import DATA, FAMILIES, load_task  # noqa: E402

from cluster_r1.embed import embed_cluster  # noqa: E402
from cluster_r1.metrics import score_labels  # noqa: E402

TWO_LEVEL = {
    "clinc150": ("domain", "intent", "Cluster the requests", "Cluster the requests into broad areas",
                 "Cluster the requests by their specific intent"),
    "slurp": ("scenario", "action", "Cluster the commands", "Cluster the commands into broad areas",
              "Cluster the commands by the specific action requested"),
    "grimm_tales": ("atu_topic", "atu_type", "Cluster the fairy tales", "Cluster the fairy tales into broad groups",
                    "Cluster the fairy tales by their specific tale type"),
}


def in_range(k: int, gold: int) -> bool:
    return gold / 2 <= k <= 2 * gold


def v(gold: list, labels: list[int]) -> float:
    return 100 * score_labels(gold, labels).v_measure


def run_two_level(n: int, seed: int, cache: str) -> None:
    from cluster_r1.bench.corpora import load_corpus

    print("| corpus | instruction | level chosen | k | levels | V / in range vs broad | V / in range vs specific |")
    print("|---|---|---:|---:|---|---|---|")
    for name, (broad, specific, *instructions) in TWO_LEVEL.items():
        corpus = load_corpus(name, DATA)
        idx = sorted(random.Random(seed).sample(range(len(corpus)), min(n, len(corpus))))
        texts = [corpus.texts[i] for i in idx]
        gold = {c: [corpus.labels(c)[i] for i in idx] for c in (broad, specific)}
        ks = {c: len(set(g)) for c, g in gold.items()}
        for instruction in instructions:
            r = embed_cluster(texts, instruction, cache_dir=cache)
            levels = " / ".join(str(lv.n_clusters) for lv in r.levels or [])
            cells = [f"{v(gold[c], r.labels):.1f} / {'yes' if in_range(r.n_clusters, ks[c]) else 'no'} (k={ks[c]})"
                     for c in (broad, specific)]
            print(f"| {name} | {instruction} | {r.level} | {r.n_clusters} | {levels} | {cells[0]} | {cells[1]} |",
                  flush=True)


def run_model(n: int, seed: int, cache: str, base_url: str, model: str) -> None:
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from cluster_r1.bench.corpora import load_corpus
    from cluster_r1.corpus.calls import Tally
    from cluster_r1.corpus.levels import model_level

    backend = OpenAICompatBackend(base_url=base_url, model=model, max_retries=1)
    print("| corpus | instruction | level (the model's word) | k | levels | V / in range vs broad | "
          "V / in range vs specific | seconds |")
    print("|---|---|---:|---:|---|---|---|---:|")
    for name, (broad, specific, plain, *asked) in TWO_LEVEL.items():
        corpus = load_corpus(name, DATA)
        idx = sorted(random.Random(seed).sample(range(len(corpus)), min(n, len(corpus))))
        texts = [corpus.texts[i] for i in idx]
        gold = {c: [corpus.labels(c)[i] for i in idx] for c in (broad, specific)}
        ks = {c: len(set(g)) for c, g in gold.items()}
        r = embed_cluster(texts, plain, cache_dir=cache)
        for instruction in (plain, *asked):
            import time

            t0 = time.perf_counter()
            got = model_level(backend, instruction, r, Tally())
            seconds = time.perf_counter() - t0
            picked = f"{got[0]} ({got[1]})" if got else None
            answer = r.at_level(got[0]) if got else r
            levels = " / ".join(str(lv.n_clusters) for lv in r.levels or [])
            cells = [f"{v(gold[c], answer.labels):.1f} / {'yes' if in_range(answer.n_clusters, ks[c]) else 'no'} "
                     f"(k={ks[c]})" for c in (broad, specific)]
            print(f"| {name} | {instruction} | {picked or 'none (kept ' + str(r.level) + ')'} | {answer.n_clusters} | "
                  f"{levels} | {cells[0]} | {cells[1]} | {seconds:.1f} |", flush=True)


def run_families(n: int, seed: int, cache: str) -> None:
    print("| family | task | gold k | levels' k (chosen *) | V per level | in range |")
    print("|---|---|---:|---|---|---|")
    summary: dict[str, list[tuple[float, bool, float, bool]]] = {}
    for family, names in FAMILIES.items():
        for name in names:
            task = load_task(name, n, seed)
            r = embed_cluster(task.texts, task.instruction, cache_dir=cache)
            gold_k = len(set(task.labels))
            levels = r.levels or []
            vs = [v(task.labels, lv.labels) for lv in levels] or [v(task.labels, r.labels)]
            ks = [lv.n_clusters for lv in levels] or [r.n_clusters]
            chosen = (r.level or 1) - 1
            shown = " / ".join(f"{k}{'*' if i == chosen else ''}" for i, k in enumerate(ks))
            ranged = [in_range(k, gold_k) for k in ks]
            print(f"| {family} | {name} | {gold_k} | {shown} | {' / '.join(f'{x:.1f}' for x in vs)} | "
                  f"{' / '.join('yes' if x else 'no' for x in ranged)} |", flush=True)
            best = max(range(len(vs)), key=lambda i: vs[i])
            summary.setdefault(family, []).append((vs[chosen], ranged[chosen], vs[best], any(ranged)))
    print("\n| family | mean V, chosen level | in range, chosen | mean V, best level (oracle) | a level in range |")
    print("|---|---:|---:|---:|---:|")
    for family, rows in summary.items():
        print(f"| {family} | {statistics.mean(r[0] for r in rows):.1f} | {sum(r[1] for r in rows)} of {len(rows)} | "
              f"{statistics.mean(r[2] for r in rows):.1f} | {sum(r[3] for r in rows)} of {len(rows)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=("two-level", "families", "model"))
    ap.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
    ap.add_argument("--model", default="local")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=".cache/embeddings")
    args = ap.parse_args()
    if args.part == "two-level":
        run_two_level(args.n, args.seed, args.cache_dir)
    elif args.part == "model":
        run_model(args.n, args.seed, args.cache_dir, args.base_url, args.model)
    else:
        run_families(args.n, args.seed, args.cache_dir)


if __name__ == "__main__":
    main()

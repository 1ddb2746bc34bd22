"""Fuzz every reader of model output with hostile replies; print crashes, stalls and invariant violations.

    python benchmarks/fuzz_parsers.py --replies 100000 [--seed 0] [--agent-runs 2000]

Each reply (tests/replies.py: a valid answer for n <= 60 items with 1-3 mutation families
applied) goes through ``parse_answer`` strict and lenient, each with and without the
truncation flag, and through the follow-up readers (the constrained items form, placements, one-cluster choice,
category lists and picks, JSON). A *crash* is any exception; a *stall* a single parse over
1 s for a reply of <= 64 KB; *violations* are an index the reply does not write, a
strict-valid answer that is not a complete partition, or an agent result that does not
hold every item exactly once. The agent runs go through a scripted backend that answers
every call (answers, re-asks, follow-ups) with fuzzed replies.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from cluster_r1.agent import ClusteringAgent  # noqa: E402
from cluster_r1.agent.salvage import cluster_choice, parse_placements  # noqa: E402
from cluster_r1.answer import items_to_lists, parse_answer  # noqa: E402
from cluster_r1.backends import ScriptedBackend  # noqa: E402
from cluster_r1.corpus.assign import parse_pick  # noqa: E402
from cluster_r1.corpus.propose import parse_categories  # noqa: E402
from cluster_r1.corpus.taxonomy import Category  # noqa: E402
from cluster_r1.errors import ClusterR1Error  # noqa: E402
from cluster_r1.reading import find_json  # noqa: E402
from replies import FAMILIES, is_written, reply, written  # noqa: E402

CATS = [Category("poem"), Category("rap"), Category("tweet")]


def fuzz_parsers(n_replies: int, seed: int) -> None:
    crashes: collections.Counter[str] = collections.Counter()
    violations: collections.Counter[str] = collections.Counter()
    by_family: collections.Counter[str] = collections.Counter()
    stalls = parses = 0
    total_bytes = 0
    slowest = (0.0, 0, "")  # seconds per KB, size, families
    slowest_abs = (0.0, 0, "")
    started = time.perf_counter()
    for r in range(n_replies):
        rng = random.Random(seed * 10_000_019 + r)
        n = rng.randint(1, 60)
        text, families = reply(rng, n)
        by_family.update(families)
        size = len(text.encode("utf-8", "surrogatepass"))
        total_bytes += size
        singles, ranges = written(text)
        label = "+".join(families)
        for strict in (True, False):
            for truncated in (False, True):
                parses += 1
                t0 = time.perf_counter()
                try:
                    parsed = parse_answer(text, n, strict=strict, names=True, truncated=truncated)
                except Exception as exc:  # noqa: BLE001
                    crashes[f"parse_answer: {type(exc).__name__}"] += 1
                    continue
                dt = time.perf_counter() - t0
                if dt > 1.0 and size <= 64 * 1024:
                    stalls += 1
                per_kb = dt / (size / 1024) if size >= 4096 else 0.0  # small replies: timer noise, not cost
                if per_kb > slowest[0]:
                    slowest = (per_kb, size, label)
                if dt > slowest_abs[0]:
                    slowest_abs = (dt, size, label)
                for cluster in parsed.clusters:
                    if any(not 1 <= i <= n or not is_written(i, singles, ranges) for i in cluster.items):
                        violations["index not written"] += 1
                        break
                if parsed.valid:
                    items = sorted(i for c in parsed.clusters for i in c.items)
                    if items != list(range(1, n + 1)) or parsed.total != len(parsed.clusters):
                        violations["strict-valid but not a partition"] += 1
        t0 = time.perf_counter()
        try:
            placed = parse_placements(text, list(range(1, n + 1)), 8)
            if any(i not in singles for i in placed):
                violations["placement of an unwritten item"] += 1
            cluster_choice(text, ["a", "b", "c"])
            parse_pick(text, CATS)
            parse_categories(text)
            find_json(text)
            converted = items_to_lists(text, n, names=True)  # the constrained form's reader
            if converted is not None and any(i not in singles for c in parse_answer(converted, n, strict=False).clusters
                                             for i in c.items):
                violations["items form: index not written"] += 1
        except Exception as exc:  # noqa: BLE001
            crashes[f"follow-up readers: {type(exc).__name__}"] += 1
        dt = time.perf_counter() - t0
        if dt > 1.0 and size <= 64 * 1024:
            stalls += 1
        if (r + 1) % 10_000 == 0:
            print(f"  {r + 1:,} replies, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"replies: {n_replies:,} ({total_bytes / 1e6:.1f} MB, largest families: "
          f"{', '.join(f for f, _ in by_family.most_common(3))}); parses: {parses:,} in {elapsed:.0f} s")
    print(f"crashes: {sum(crashes.values())}" + (f" {dict(crashes)}" if crashes else ""))
    print(f"stalls (> 1 s for <= 64 KB): {stalls}")
    print(f"slowest parse per KB (replies >= 4 KB): {slowest[0] * 1000:.2f} ms/KB ({slowest[1] / 1024:.1f} KB, {slowest[2]})")
    print(f"slowest parse: {slowest_abs[0] * 1000:.1f} ms ({slowest_abs[1] / 1024:.1f} KB, {slowest_abs[2]})")
    print(f"invariant violations: {sum(violations.values())}" + (f" {dict(violations)}" if violations else ""))
    print(f"families covered: {len(by_family)} of {len(FAMILIES)}")


def fuzz_agent(runs: int, seed: int) -> None:
    outcomes: collections.Counter[str] = collections.Counter()
    calls = 0
    started = time.perf_counter()
    for r in range(runs):
        rng = random.Random(seed * 7_000_003 + r)
        n = rng.randint(2, 30)
        pool = [reply(rng, n)[0] for _ in range(rng.randint(1, 6))]
        state = {"i": 0}

        def next_reply(messages, pool=pool, state=state) -> str:
            state["i"] += 1
            return pool[(state["i"] - 1) % len(pool)]

        backend = ScriptedBackend([next_reply] * 10_000)
        texts = [f"text {i} about {rng.choice(['billing', 'login', 'bugs'])}" for i in range(n)]
        try:
            result = ClusteringAgent(backend, max_reasks=rng.randint(0, 2), salvage=rng.random() < 0.9).cluster(
                texts, "by topic")
            ok = sorted(i for c in result.clusters for i in c.items) == list(range(1, n + 1))
            outcomes["complete result" if ok else "VIOLATION: not every item exactly once"] += 1
        except ClusterR1Error as exc:
            outcomes[f"library error ({type(exc).__name__})"] += 1
        except Exception as exc:  # noqa: BLE001
            outcomes[f"CRASH: {type(exc).__name__}"] += 1
        calls += len(backend.history)
    print(f"agent runs: {runs:,} in {time.perf_counter() - started:.0f} s, {calls / max(runs, 1):.1f} calls per run: "
          + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replies", type=int, default=100_000)
    ap.add_argument("--agent-runs", type=int, default=2_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    fuzz_parsers(args.replies, args.seed)
    fuzz_agent(args.agent_runs, args.seed)


if __name__ == "__main__":
    main()

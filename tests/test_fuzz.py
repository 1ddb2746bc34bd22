"""Property-based fuzz of the answer parser and the agent (hypothesis; benchmarks/fuzz_parsers.py runs 100,000+).

Invariants: no exception but the library's own, a bounded time per parse, no index that
the reply does not write, strict-valid implies a complete partition, and the agent's
result holds every item exactly once.
"""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster_r1.agent import ClusteringAgent
from cluster_r1.agent.salvage import cluster_choice, parse_placements
from cluster_r1.answer import items_to_lists, parse_answer
from cluster_r1.backends import ScriptedBackend
from cluster_r1.corpus.assign import parse_pick
from cluster_r1.corpus.propose import parse_categories
from cluster_r1.corpus.taxonomy import Category
from cluster_r1.errors import ClusterR1Error
from cluster_r1.reading import find_json
from replies import FAMILIES, is_written, reply, written

#: Not a speed measurement (benchmarks/fuzz_parsers.py is): a guard far above what a parse takes even on a
#: loaded machine (1.6 s for 12,000 characters with two other processes on two cores), which an exponential
#: path on texts of this length blows through.
PARSE_SECONDS = 5.0
FUZZ = settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_parse(text: str, n: int) -> None:
    singles, ranges = written(text)
    for strict in (True, False):
        for truncated in (False, True):
            start = time.perf_counter()
            parsed = parse_answer(text, n, strict=strict, names=True, truncated=truncated)
            elapsed = time.perf_counter() - start
            assert elapsed < PARSE_SECONDS, f"{elapsed:.2f} s for {len(text)} characters"
            for cluster in parsed.clusters:
                for i in cluster.items:
                    assert 1 <= i <= n
                    assert is_written(i, singles, ranges), f"item {i} read but not written"
            if parsed.valid:
                items = sorted(i for c in parsed.clusters for i in c.items)
                assert items == list(range(1, n + 1)) and parsed.total == len(parsed.clusters)
            if not parsed.kinds() & {"missing", "duplicate", "out_of_range", "no_clusters", "truncated"}:
                assert None not in parsed.labels()
    start = time.perf_counter()
    converted = items_to_lists(text, n, names=True)  # the constrained form's reader
    assert time.perf_counter() - start < PARSE_SECONDS
    if converted is not None:
        for cluster in parse_answer(converted, n, strict=False, names=True).clusters:
            assert all(i in singles for i in cluster.items), "the items form read an index it does not write"


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_parse_answer_on_mutated_answers(seed: int, n: int) -> None:
    text, _ = reply(random.Random(seed), n)
    check_parse(text, n)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=2000), n=st.integers(1, 40))
def test_parse_answer_on_arbitrary_text(text: str, n: int) -> None:
    check_parse(text, n)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_once_on_large_replies(family: str) -> None:
    rng = random.Random(hash(family) % 1000)
    for _ in range(5):
        n = rng.randint(1, 300)
        text, _ = reply(rng, n, [family])
        check_parse(text, n)


@settings(max_examples=600, deadline=None)
@given(text=st.text(max_size=1500), seed=st.integers(0, 2**32 - 1))
def test_follow_up_readers_never_crash_or_invent(text: str, seed: int) -> None:
    rng = random.Random(seed)
    text = text + rng.choice(["", "9" * 5000, " " * 3000 + "x", "<think>" * 2000, "{" * 2000, "[" * 100])
    singles, _ = written(text)
    start = time.perf_counter()
    placed = parse_placements(text, list(range(1, 50)), 5)
    assert all(i in singles and k in singles for i, k in placed.items())
    choice = cluster_choice(text, ["a", "b", "c"])
    assert choice is None or 1 <= choice <= 3
    cats = [Category("poem"), Category("rap"), Category("tweet")]
    pick = parse_pick(text, cats)
    assert pick is None or 0 <= pick < 3
    parse_categories(text)
    find_json(text)
    assert time.perf_counter() - start < PARSE_SECONDS


def cycling(replies: list[str]):
    state = {"i": 0}

    def next_reply(messages) -> str:
        out = replies[state["i"] % len(replies)]
        state["i"] += 1
        return out

    return next_reply


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 25), salvage=st.booleans())
def test_agent_result_holds_every_item_exactly_once(seed: int, n: int, salvage: bool) -> None:
    rng = random.Random(seed)
    replies = [reply(rng, n)[0] for _ in range(rng.randint(1, 6))]
    fn = cycling(replies)
    backend = ScriptedBackend([fn] * 1000)
    texts = [f"text number {i} about {rng.choice(['billing', 'login', 'bugs'])}" for i in range(n)]
    try:
        result = ClusteringAgent(backend, max_reasks=rng.randint(0, 2), salvage=salvage).cluster(texts, "by topic")
    except ClusterR1Error:
        return  # a library error (no usable answer at all) is an allowed outcome; anything else fails
    assert sorted(i for c in result.clusters for i in c.items) == list(range(1, n + 1))
    assert len(result.labels) == n and all(c.items for c in result.clusters)

"""Splits C0/C1/C2 (§4.3) on a small synthetic corpus, and the export."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from cluster_r1.bench.corpora import Corpus
from cluster_r1.bench.splits import (
    SplitConfig,
    build_splits,
    make_pools,
    read_jsonl,
    split_stats,
    stats_markdown,
    task_label,
    to_hf_dataset,
    write_jsonl,
)
from cluster_r1.bench.tasks import ClusterSpec, Task
from cluster_r1.errors import ConfigError
from cluster_r1.types import Clustering

TOPICS = [f"t{k}" for k in range(6)]
STYLES = ["s0", "s1", "s2"]


def _corpus() -> Corpus:
    texts, topic, style = [], [], []
    for i in range(300):
        topic.append(TOPICS[i % 6])
        style.append(STYLES[(i // 6) % 3])
        texts.append(f"text {i} about {topic[-1]} in style {style[-1]} " + "word " * (i % 7))
    return Corpus("toy", texts, {"topic": topic, "style": style}, "http://example.org", "CC0")


def _task(name: str, criterion: str, labels: list[str], held_out: bool = False) -> Task:
    clusters = tuple(ClusterSpec(f"{lab} name", f"about {lab}", lab) for lab in labels)
    return Task(name, "toy", criterion, f"Cluster by {criterion}.", clusters, held_out=held_out, source="http://x")


TASKS = [_task("toy-topic", "topic", TOPICS), _task("toy-style", "style", STYLES, held_out=True)]
CONFIG = SplitConfig(seed=3, n_train=30, n_c0=6, n_c1=6, n_c2=6, max_texts=12, max_tokens=400)


@pytest.fixture(scope="module")
def splits() -> dict:
    return build_splits(TASKS, {"toy": _corpus()}, CONFIG)


def test_pools_are_60_40_per_cluster() -> None:
    pools = make_pools(TASKS[0], _corpus(), CONFIG)
    for lab in TOPICS:
        n_pool = len(pools.train[lab]) + len(pools.c0[lab])
        assert n_pool == 30 and len(pools.eval[lab]) == 20  # 50 texts per topic
        assert len(pools.c0[lab]) == 8  # ceil(0.25 * 30)
        assert not set(pools.train[lab]) & set(pools.c0[lab])


def test_split_roles_and_counts(splits: dict) -> None:
    assert Counter(ex.task for ex in splits["train"]) == {"toy-topic": 30}
    assert {ex.task for ex in splits["c0"] + splits["c1"]} == {"toy-topic"}
    assert {ex.task for ex in splits["c2"]} == {"toy-style"}
    assert len(splits["c0"]) == len(splits["c1"]) == len(splits["c2"]) == 6


def test_no_evaluation_text_is_ever_trained(splits: dict) -> None:
    corpus = _corpus()
    pools = make_pools(TASKS[0], corpus, CONFIG)
    trained = {t for ex in splits["train"] for t in ex.text_ids}
    trainable = {corpus.ids[i] for idxs in pools.train.values() for i in idxs}
    c0_pool = {corpus.ids[i] for idxs in pools.c0.values() for i in idxs}
    eval_pool = {corpus.ids[i] for idxs in pools.eval.values() for i in idxs}
    assert trained <= trainable
    for split in ("c0", "c1", "c2"):
        assert not {t for ex in splits[split] for t in ex.text_ids} & trainable, split
    assert {t for ex in splits["c0"] for t in ex.text_ids} <= c0_pool
    assert {t for ex in splits["c1"] for t in ex.text_ids} <= eval_pool


def test_evaluation_combinations_are_unseen(splits: dict) -> None:
    task = TASKS[0]
    seen = {frozenset(task_label(task, ex)) for ex in splits["train"]}
    for ex in splits["c0"] + splits["c1"]:
        assert frozenset(task_label(task, ex)) not in seen


def test_examples_respect_budgets_and_have_two_clusters(splits: dict) -> None:
    for exs in splits.values():
        for ex in exs:
            assert 2 <= ex.n_clusters <= CONFIG.max_clusters
            assert len(ex.texts) <= CONFIG.max_texts and ex.input_tokens <= CONFIG.max_tokens
            assert len(set(ex.text_ids)) == len(ex.texts) == len(ex.labels)
            assert isinstance(ex.gold(), Clustering) and ex.gold().n_clusters == ex.n_clusters
            sizes = Counter(ex.labels)
            assert min(sizes.values()) >= CONFIG.min_texts_per_cluster, (ex.id, sizes)


def test_small_budgets_keep_whole_clusters() -> None:
    """At 6-8 texts a draw of many clusters is cut; no gold cluster is left with one text."""
    config = SplitConfig(seed=5, n_train=40, n_c0=0, n_c1=0, n_c2=0, max_texts=8, min_texts=6, max_tokens=2000,
                         max_texts_per_cluster=3)
    examples = build_splits(TASKS[:1], {"toy": _corpus()}, config)["train"]
    assert len(examples) == 40
    for ex in examples:
        assert 6 <= len(ex.texts) <= 8
        assert min(Counter(ex.labels).values()) >= 2, Counter(ex.labels)
    assert any(ex.n_clusters >= 3 for ex in examples)


def test_seeded(splits: dict) -> None:
    again = build_splits(TASKS, {"toy": _corpus()}, CONFIG)
    assert [ex.text_ids for ex in again["c1"]] == [ex.text_ids for ex in splits["c1"]]
    other = build_splits(TASKS, {"toy": _corpus()}, SplitConfig(**{**CONFIG.__dict__, "seed": 4}))
    assert [ex.text_ids for ex in other["c1"]] != [ex.text_ids for ex in splits["c1"]]


def test_two_cluster_task_trains_only() -> None:
    task = _task("toy-two", "topic", ["t0", "t1"])
    out = build_splits([task], {"toy": _corpus()}, CONFIG)
    assert len(out["train"]) == 30 and not out["c0"] and not out["c1"]


def test_jsonl_round_trip_and_stats(tmp_path: Path, splits: dict) -> None:
    path = tmp_path / "c1.jsonl"
    assert write_jsonl(splits["c1"], path) == 6
    assert read_jsonl(path) == splits["c1"]
    rows = split_stats(splits)
    assert {(r["source"], r["split"]) for r in rows} == {("toy", s) for s in ("train", "c0", "c1", "c2")}
    md = stats_markdown(rows)
    assert "| toy | c2 |" in md and "train: 30" in md


def test_hf_export_message_without_datasets(monkeypatch: pytest.MonkeyPatch, splits: dict) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match="pip install datasets"):
        to_hf_dataset(splits["c1"])


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="train_fraction"):
        SplitConfig(train_fraction=1.0)
    with pytest.raises(ConfigError, match="min_clusters"):
        SplitConfig(min_clusters=1)
    with pytest.raises(ConfigError, match="cannot hold 2 clusters of 3 texts"):
        SplitConfig(max_texts=5, min_texts_per_cluster=3, max_texts_per_cluster=6)
    with pytest.raises(ConfigError, match="min_texts=9"):
        SplitConfig(max_texts=8, min_texts=9)

"""Task declarations and the registry."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from cluster_r1.bench import tasks as tasks_mod
from cluster_r1.bench.corpora import DATA_DIR_ENV, load_corpus
from cluster_r1.bench.tasks import PAPER, ClusterSpec, Task, TaskRegistry, get_task, list_tasks
from cluster_r1.errors import ConfigError, InputError

DATA = Path(os.environ.get(DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"no shared data under {DATA}")


def test_open_benchmark_shape() -> None:
    tasks = list_tasks()
    assert len(tasks) >= 20
    per_corpus = Counter(t.corpus for t in tasks)
    assert len(per_corpus) >= 6
    # several corpora carry 2+ instructions over the same texts (different criteria)
    multi = [c for c in per_corpus if len({t.criterion for t in tasks if t.corpus == c}) >= 2]
    assert len(multi) >= 4
    held_out = list_tasks(held_out=True)
    assert 5 <= len(held_out) < len(tasks)
    for t in held_out:  # the held-out set is documented in the module docstring
        assert f"``{t.name}``" in (tasks_mod.__doc__ or "")
    for t in tasks:
        assert t.source.startswith("http") and t.licence


def test_paper_table5_is_declared() -> None:
    paper = list_tasks(benchmark=PAPER)
    assert len(paper) == 28
    assert Counter(t.held_out for t in paper) == {False: 17, True: 11}
    per = Counter((t.corpus, t.held_out) for t in paper)
    assert per == {
        ("echr", False): 3,
        ("echr", True): 3,
        ("lmsys_chat", False): 10,
        ("lmsys_chat", True): 5,
        ("sp500_10k", False): 4,
        ("sp500_10k", True): 3,
    }
    assert get_task("paper-echr-in-3").instruction.startswith("Cluster these legal cases by the violation articles")


def test_registry_refuses_duplicates_and_unknown() -> None:
    reg = TaskRegistry()
    task = get_task("goalex-topic")
    reg.register(task)
    with pytest.raises(ConfigError, match="already registered"):
        reg.register(task)
    with pytest.raises(InputError, match="unknown task"):
        reg.get("nope")


def test_task_validation() -> None:
    with pytest.raises(ConfigError, match="cluster name twice"):
        Task("x", "goalex", "topic", "Cluster.", (ClusterSpec("a", "", "1"), ClusterSpec("a", "", "2")))
    with pytest.raises(ConfigError, match="needs a criterion"):
        Task("y", "goalex", None, "Cluster.")
    with pytest.raises(ConfigError, match="lower-case"):
        Task("Bad Name", "goalex", "topic", "Cluster.", (ClusterSpec("a", "", "1"),))


def test_round_trip() -> None:
    task = get_task("tweeteval-stance-hillary")
    assert Task.from_dict(task.to_dict()) == task


@needs_data
def test_every_open_task_resolves_on_the_real_corpora() -> None:
    cache = {}
    for task in list_tasks():
        corpus = cache.setdefault(task.corpus, load_corpus(task.corpus, DATA))
        resolved = task.resolve(corpus)
        assert len(resolved.clusters) >= 2, task.name
        covered = resolved.texts_of(corpus)
        assert set(covered.values()) == set(resolved.label_to_cluster), task.name


@needs_data
def test_resolve_rejects_a_label_the_corpus_lacks() -> None:
    bad = Task("bad", "goalex", "topic", "Cluster.", (ClusterSpec("a", "", "no such topic"), ClusterSpec("b", "", "x")))
    with pytest.raises(InputError, match="have no text"):
        bad.resolve(load_corpus("goalex", DATA))

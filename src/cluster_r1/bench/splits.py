"""Training set and evaluation splits C0/C1/C2, exactly as the paper's §4.3.

For every held-in task the texts of *each cluster* are ranked by a seeded hash of
their id and cut 60% / 40%: the first 60% is the *training pool*, the rest the
*evaluation pool*. The last ``c0_reserve`` share of each training pool is held
back: training examples never use it, C0 samples only from it (§4.3: C0 re-samples
"from the 60% training pool" texts "not used to form training instances").

A text is *trained* when it may appear in a training example of any held-in task
over the same corpus (several tasks cluster the same texts by different criteria).
Because the rank is per text, not per task, the pools of different tasks over one
corpus nearly coincide. C0, C1 and C2 only ever use texts that are not trained:

* ``train`` -- a random subset of >= 2 clusters of a held-in task, and texts from
  the trainable part of each selected cluster's training pool;
* ``c0`` -- held-in tasks, the C0 reserve of the training pools, and a cluster
  combination never used by a training example of that task;
* ``c1`` -- held-in tasks, the 40% evaluation pools, unseen combinations too;
* ``c2`` -- held-out tasks only, any of their texts that is not trained.

Tasks with few clusters have few combinations; for them (at most
``enumerate_up_to`` clusters) a seeded share of the combinations is reserved for
C0/C1 before training is sampled, so that unseen combinations exist. A task with a
single possible combination (two clusters) therefore yields training examples only.

Every example fits a budget: at most ``max_texts`` texts and about ``max_tokens``
prompt tokens (instruction + numbered texts, estimated with
:func:`cluster_r1.agent.estimate_tokens`). Everything is seeded.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..agent import estimate_tokens
from ..errors import ConfigError, InputError
from ..types import Clustering
from .corpora import Corpus
from .tasks import Task

__all__ = [
    "SPLITS",
    "SplitConfig",
    "Example",
    "TaskPools",
    "make_pools",
    "trained_texts",
    "sample_example",
    "build_splits",
    "write_jsonl",
    "read_jsonl",
    "to_hf_dataset",
    "split_stats",
    "stats_markdown",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "c0", "c1", "c2")
_PER_TEXT_OVERHEAD = 4  # "12. " and a newline


@dataclass(frozen=True)
class SplitConfig:
    """How the splits are sampled; the defaults give a benchmark of a few hundred examples."""

    seed: int = 0
    train_fraction: float = field(default=0.6, metadata={"help": "share of each cluster in the training pool (§4.3)"})
    c0_reserve: float = field(default=0.25, metadata={"help": "share of each training pool kept unused for C0"})
    n_train: int = field(default=40, metadata={"help": "training examples per held-in task"})
    n_c0: int = field(default=8, metadata={"help": "C0 examples per held-in task"})
    n_c1: int = field(default=8, metadata={"help": "C1 examples per held-in task"})
    n_c2: int = field(default=16, metadata={"help": "C2 examples per held-out task"})
    min_clusters: int = 2
    max_clusters: int = 8
    min_texts_per_cluster: int = 2
    max_texts_per_cluster: int = 6
    max_texts: int = field(default=30, metadata={"help": "at most this many texts per example"})
    min_texts: int = field(default=2, metadata={"help": "at least this many texts per example"})
    max_tokens: int = field(default=12000, metadata={"help": "approximate prompt tokens per example"})
    eval_combo_fraction: float = field(
        default=0.34, metadata={"help": "share of enumerable combinations kept for C0/C1"}
    )
    enumerate_up_to: int = 10
    max_attempts: int = 50

    def __post_init__(self) -> None:
        if not 0.0 < self.train_fraction < 1.0:
            raise ConfigError(f"train_fraction={self.train_fraction}: must be strictly between 0 and 1 (paper: 0.6)")
        if not 0.0 <= self.c0_reserve < 1.0:
            raise ConfigError(f"c0_reserve={self.c0_reserve}: must be in [0, 1)")
        if self.min_clusters < 2 or self.max_clusters < self.min_clusters:
            raise ConfigError(
                f"min_clusters={self.min_clusters}, max_clusters={self.max_clusters}: need 2 <= min <= max"
            )
        if self.min_texts_per_cluster < 1 or self.max_texts_per_cluster < self.min_texts_per_cluster:
            raise ConfigError("need 1 <= min_texts_per_cluster <= max_texts_per_cluster")
        if self.max_texts < 2 or self.max_tokens < 100:
            raise ConfigError(f"max_texts={self.max_texts}, max_tokens={self.max_tokens}: too small for an example")
        if self.max_texts < self.min_clusters * self.min_texts_per_cluster:
            raise ConfigError(
                f"max_texts={self.max_texts} cannot hold {self.min_clusters} clusters of "
                f"{self.min_texts_per_cluster} texts: raise max_texts or lower min_texts_per_cluster"
            )
        if not 2 <= self.min_texts <= self.max_texts:
            raise ConfigError(f"min_texts={self.min_texts}: need 2 <= min_texts <= max_texts={self.max_texts}")
        for name in ("n_train", "n_c0", "n_c1", "n_c2"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0")


@dataclass
class Example:
    """One benchmark item: an instruction, texts and each text's gold cluster name."""

    id: str
    split: str
    task: str
    corpus: str
    instruction: str
    texts: list[str]
    labels: list[str]
    text_ids: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    held_out: bool = False
    input_tokens: int = 0

    @property
    def n_clusters(self) -> int:
        return len(set(self.labels))

    @property
    def cluster_names(self) -> list[str]:
        """Gold cluster names in order of first appearance (cluster 1, 2, ...)."""
        return list(dict.fromkeys(self.labels))

    def gold(self) -> Clustering:
        """The gold partition as a :class:`~cluster_r1.types.Clustering` (method ``gold``)."""
        names = self.cluster_names
        return Clustering.from_labels(
            self.labels, names=names, descriptions=[self.descriptions.get(n, "") for n in names], method="gold"
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["n_clusters"] = self.n_clusters
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Example:
        data = {k: v for k, v in data.items() if k != "n_clusters"}
        return cls(**data)


@dataclass
class TaskPools:
    """Per-cluster text indices of one task: trainable part, C0 reserve and evaluation pool."""

    task: Task
    train: dict[str, list[int]]
    c0: dict[str, list[int]]
    eval: dict[str, list[int]]


def _rank(seed: int, text_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}\x00{text_id}".encode(), digest_size=8).digest(), "big")


def make_pools(task: Task, corpus: Corpus, config: SplitConfig) -> TaskPools:
    """Cut each cluster of ``task`` 60/40 (``train_fraction``) by seeded per-text rank."""
    by_label: dict[str, list[int]] = {}
    for i, lab in task.texts_of(corpus).items():
        by_label.setdefault(lab, []).append(i)
    train: dict[str, list[int]] = {}
    c0: dict[str, list[int]] = {}
    ev: dict[str, list[int]] = {}
    for lab, idxs in sorted(by_label.items()):
        ranked = sorted(idxs, key=lambda i: _rank(config.seed, corpus.ids[i]))
        n_pool = max(1, round(config.train_fraction * len(ranked)))
        pool, ev[lab] = ranked[:n_pool], ranked[n_pool:]
        n_res = math.ceil(config.c0_reserve * len(pool)) if len(pool) >= 2 else 0
        train[lab], c0[lab] = pool[: len(pool) - n_res], pool[len(pool) - n_res :]
    return TaskPools(task, train, c0, ev)


def trained_texts(pools: Iterable[TaskPools]) -> dict[str, set[int]]:
    """Corpus -> indices that may appear in a training example (union over held-in tasks)."""
    out: dict[str, set[int]] = {}
    for p in pools:
        if p.task.held_out:
            continue
        bucket = out.setdefault(p.task.corpus, set())
        for idxs in p.train.values():
            bucket.update(idxs)
    return out


def _combos(labels: Sequence[str], config: SplitConfig) -> list[frozenset[str]]:
    top = min(config.max_clusters, len(labels))
    return [frozenset(c) for k in range(config.min_clusters, top + 1) for c in itertools.combinations(labels, k)]


def sample_example(
    task: Task,
    corpus: Corpus,
    available: dict[str, list[int]],
    rng: random.Random,
    config: SplitConfig,
    *,
    split: str,
    index: int,
    forbidden: set[frozenset[str]] | None = None,
    allowed: list[frozenset[str]] | None = None,
) -> Example | None:
    """Draw one example: a subset of >= 2 clusters and texts of each, within the text and token budgets.

    ``forbidden`` combinations (sets of gold labels) are never returned; with ``allowed``
    the combination is drawn from that list. Returns None when no valid example is found.
    """
    forbidden = forbidden if forbidden is not None else set()
    eligible = sorted(lab for lab, idxs in available.items() if len(idxs) >= config.min_texts_per_cluster)
    if len(eligible) < config.min_clusters:
        return None
    if allowed is not None:
        allowed = [c for c in allowed if c <= set(eligible) and c not in forbidden]
        if not allowed:
            return None
    base_tokens = estimate_tokens(task.instruction) + 50
    for _ in range(config.max_attempts):
        if allowed is not None:
            labs = sorted(rng.choice(allowed))
        else:
            top = min(config.max_clusters, len(eligible), config.max_texts // config.min_texts_per_cluster)
            k = rng.randint(config.min_clusters, top)
            labs = sorted(rng.sample(eligible, k))
            if frozenset(labs) in forbidden:
                continue
        picks = {
            lab: rng.sample(
                available[lab],
                rng.randint(config.min_texts_per_cluster, min(config.max_texts_per_cluster, len(available[lab]))),
            )
            for lab in labs
        }
        chosen: list[int] = []
        tokens = base_tokens
        for r in range(max(len(p) for p in picks.values())):
            for lab in labs:
                if r >= len(picks[lab]) or len(chosen) >= config.max_texts:
                    continue
                t = estimate_tokens(corpus.texts[picks[lab][r]]) + _PER_TEXT_OVERHEAD
                if tokens + t <= config.max_tokens:
                    chosen.append(picks[lab][r])
                    tokens += t
        gold = task.texts_of(corpus)
        chosen = _complete_clusters(chosen, gold, config.min_texts_per_cluster)
        present = frozenset(gold[i] for i in chosen)
        if len(present) < config.min_clusters or len(chosen) < config.min_texts or present in forbidden:
            continue
        if allowed is not None and present not in allowed:
            continue
        rng.shuffle(chosen)
        l2c = task.label_to_cluster
        names = [l2c[gold[i]].name for i in chosen]
        return Example(
            id=f"{split}-{task.name}-{index:04d}",
            split=split,
            task=task.name,
            corpus=task.corpus,
            instruction=task.instruction,
            texts=[corpus.texts[i] for i in chosen],
            labels=names,
            text_ids=[corpus.ids[i] for i in chosen],
            descriptions={l2c[lab].name: l2c[lab].description for lab in sorted(present)},
            held_out=task.held_out,
            input_tokens=tokens,
        )
    return None


def _complete_clusters(chosen: list[int], gold: Mapping[int, str] | Sequence[str], minimum: int) -> list[int]:
    """``chosen`` without the texts of clusters that the budgets cut below ``minimum`` texts.

    A cluster of one text in an example pays a policy that puts every text alone (its
    homogeneity is perfect), so the budgets never leave a gold cluster under the minimum.

    >>> _complete_clusters([0, 1, 2, 3, 4], ["a", "b", "a", "c", "b"], 2)
    [0, 1, 2, 4]
    """
    sizes: dict[str, int] = {}
    for i in chosen:
        sizes[gold[i]] = sizes.get(gold[i], 0) + 1
    return [i for i in chosen if sizes[gold[i]] >= minimum]


def _minus(pool: dict[str, list[int]], drop: set[int]) -> dict[str, list[int]]:
    return {lab: [i for i in idxs if i not in drop] for lab, idxs in pool.items()}


def _draw(
    n: int,
    task: Task,
    corpus: Corpus,
    available: dict[str, list[int]],
    config: SplitConfig,
    split: str,
    forbidden: set[frozenset[str]],
    allowed: list[frozenset[str]] | None,
) -> list[Example]:
    rng = random.Random(f"{config.seed}:{task.name}:{split}")
    out: list[Example] = []
    for index in range(n):
        ex = sample_example(
            task, corpus, available, rng, config, split=split, index=index, forbidden=forbidden, allowed=allowed
        )
        if ex is None:
            log.warning("task %s: only %d of %d %s examples could be drawn", task.name, len(out), n, split)
            break
        out.append(ex)
    return out


def build_splits(
    tasks: Sequence[Task], corpora: dict[str, Corpus], config: SplitConfig | None = None
) -> dict[str, list[Example]]:
    """Every split for ``tasks`` (resolved against ``corpora``): ``{"train": [...], "c0": ..., "c1": ..., "c2": ...}``."""
    config = config or SplitConfig()
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError("build_splits: the same task is given twice")
    resolved = [t.resolve(corpora[t.corpus]) if t.all_labels else t for t in tasks]
    pools = {t.name: make_pools(t, corpora[t.corpus], config) for t in resolved}
    trained = trained_texts(pools.values())
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for task in resolved:
        corpus = corpora[task.corpus]
        p = pools[task.name]
        drop = trained.get(task.corpus, set())
        if task.held_out:
            available = _minus({lab: p.train[lab] + p.c0[lab] + p.eval[lab] for lab in p.train}, drop)
            out["c2"] += _draw(config.n_c2, task, corpus, available, config, "c2", set(), None)
            continue
        labels = sorted(p.train)
        eval_combos: list[frozenset[str]] | None = None
        train_combos: list[frozenset[str]] | None = None
        if len(labels) <= config.enumerate_up_to:
            combos = _combos(labels, config)
            random.Random(f"{config.seed}:{task.name}:combos").shuffle(combos)
            n_eval = round(config.eval_combo_fraction * len(combos)) if len(combos) >= 2 else 0
            n_eval = max(n_eval, 1) if len(combos) >= 2 else 0
            eval_combos, train_combos = combos[:n_eval], combos[n_eval:]
        train = _draw(config.n_train, task, corpus, p.train, config, "train", set(), train_combos)
        used = {frozenset(task_label(task, ex)) for ex in train}
        out["train"] += train
        if eval_combos is not None and not eval_combos:
            log.info("task %s has a single cluster combination: training examples only", task.name)
            continue
        out["c0"] += _draw(config.n_c0, task, corpus, _minus(p.c0, drop), config, "c0", used, eval_combos)
        out["c1"] += _draw(config.n_c1, task, corpus, _minus(p.eval, drop), config, "c1", used, eval_combos)
    return out


def task_label(task: Task, example: Example) -> set[str]:
    """The gold corpus labels an example of ``task`` uses (its cluster combination)."""
    by_name = {c.name: c.label for c in task.clusters}
    return {str(by_name[n]) for n in example.labels}


# --------------------------------------------------------------------------- export


def write_jsonl(examples: Iterable[Example], path: str | Path) -> int:
    """Write one example per line; returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for ex in examples:
            fh.write(json.dumps(ex.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | Path) -> list[Example]:
    """Examples written by :func:`write_jsonl`."""
    with Path(path).open(encoding="utf-8") as fh:
        return [Example.from_dict(json.loads(line)) for line in fh if line.strip()]


def to_hf_dataset(examples: Sequence[Example]) -> Any:
    """A Hugging Face ``datasets.Dataset`` of the examples (needs ``pip install datasets``)."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "exporting to a Hugging Face Dataset needs the 'datasets' package: pip install datasets "
            "(the JSONL files written by write_jsonl need nothing)"
        ) from None
    rows = [ex.to_dict() for ex in examples]
    for row in rows:
        row["descriptions"] = json.dumps(row["descriptions"], ensure_ascii=False)
    return datasets.Dataset.from_list(rows)


# --------------------------------------------------------------------------- statistics


def split_stats(splits: dict[str, list[Example]]) -> list[dict[str, Any]]:
    """One row per (source corpus, split): mean text length and input length (approx. tokens), #examples, #tasks."""
    rows = []
    for source in sorted({ex.corpus for exs in splits.values() for ex in exs}):
        for split in SPLITS:
            exs = [ex for ex in splits.get(split, []) if ex.corpus == source]
            if not exs:
                continue
            text_tokens = [estimate_tokens(t) for ex in exs for t in ex.texts]
            rows.append(
                {
                    "source": source,
                    "split": split,
                    "text_len": round(sum(text_tokens) / len(text_tokens), 1),
                    "input_len": round(sum(ex.input_tokens for ex in exs) / len(exs), 1),
                    "texts_per_example": round(sum(len(ex.texts) for ex in exs) / len(exs), 1),
                    "clusters_per_example": round(sum(ex.n_clusters for ex in exs) / len(exs), 1),
                    "n_examples": len(exs),
                    "n_tasks": len({ex.task for ex in exs}),
                }
            )
    return rows


def stats_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The statistics as a Markdown table (lengths in approximate tokens, as the paper's Figure 4)."""
    head = "| source | split | text len | input len | texts/ex | clusters/ex | #examples | #tasks |"
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['source']} | {r['split']} | {r['text_len']} | {r['input_len']} | {r['texts_per_example']} "
            f"| {r['clusters_per_example']} | {r['n_examples']} | {r['n_tasks']} |"
        )
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["split"]] = totals.get(r["split"], 0) + r["n_examples"]
    lines.append("| **all** | " + ", ".join(f"{s}: {totals.get(s, 0)}" for s in SPLITS) + " | | | | | | |")
    return "\n".join(lines) + "\n"

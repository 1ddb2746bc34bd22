"""ReasonCluster-Open: corpus loaders, task declarations, splits C0/C1/C2, the builder and synthesis agents.

``cluster_r1.bench.hub`` (the paper's hub corpora) and ``cluster_r1.bench.synthesis`` are imported on demand.
"""

from __future__ import annotations

from .build import BuildResult, build_benchmark, tasks_markdown
from .corpora import CORPORA, Corpus, corpus_names, load_corpus
from .splits import SPLITS, Example, SplitConfig, build_splits, read_jsonl, split_stats, to_hf_dataset, write_jsonl
from .tasks import OPEN, PAPER, ClusterSpec, Task, TaskRegistry, get_task, list_tasks

__all__ = [
    "BuildResult", "build_benchmark", "tasks_markdown",
    "CORPORA", "Corpus", "corpus_names", "load_corpus",
    "SPLITS", "Example", "SplitConfig", "build_splits", "read_jsonl", "split_stats", "to_hf_dataset", "write_jsonl",
    "OPEN", "PAPER", "ClusterSpec", "Task", "TaskRegistry", "get_task", "list_tasks",
]  # fmt: skip

"""Plain result types with a JSON round-trip.

A :class:`Clustering` is what every method returns (agent, embeddings, ...).
Items are 1-based positions of the input texts, as in the paper's answer format;
``labels[i]`` is the 1-based cluster number of text ``i + 1``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .errors import InputError

__all__ = ["Cluster", "Usage", "Level", "Clustering", "ProgressFn", "null_progress"]

#: How library code reports a long stage: ``progress(stage, done, total, detail)``; ``detail`` is a short text
#: (calls, tokens). Library code never prints; the CLI passes :class:`cluster_r1.report.progress.StageProgress`.
ProgressFn = Callable[[str, int, int, str], None]


def null_progress(stage: str, done: int, total: int, detail: str = "") -> None:
    """The progress callback that shows nothing."""


@dataclass
class Cluster:
    """One cluster: a readable name, a one-line description and its items (1-based).

    ``id`` is a stable topic id where the method keeps one (the large-corpus pipeline and saved
    clusterers: new texts and new topics never renumber it); ``criterion`` says what belongs here.
    """

    name: str
    items: list[int]
    description: str = ""
    id: int | None = None
    criterion: str = ""

    @property
    def size(self) -> int:
        return len(self.items)


@dataclass
class Usage:
    """What producing a result cost."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def add(self, other: Usage) -> Usage:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.seconds += other.seconds
        return self


@dataclass
class Level:
    """One level of a result's topic hierarchy: a partition of every text (``labels``, 1-based, numbered by first
    appearance) into ``clusters``; ``parents`` gives each cluster's 1-based cluster in the next coarser level
    (None at the top). Levels are listed from the top (fewest clusters) down."""

    clusters: list[Cluster]
    labels: list[int]
    parents: list[int | None]

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)


def _check_partition(clusters: Sequence[Cluster], labels: Sequence[int], what: str = "") -> None:
    """Every text 1..n in exactly one non-empty cluster, and ``labels`` agreeing with ``clusters``."""
    n = len(labels)
    seen: dict[int, int] = {}
    for k, cluster in enumerate(clusters, start=1):
        if not cluster.items:
            raise ValueError(f"{what}cluster {k} ({cluster.name!r}) is empty")
        for item in cluster.items:
            if not 1 <= item <= n:
                raise ValueError(f"{what}cluster {k} holds item {item}, outside 1..{n}")
            if item in seen:
                raise ValueError(f"{what}item {item} is in clusters {seen[item]} and {k}")
            seen[item] = k
            if labels[item - 1] != k:
                raise ValueError(f"{what}labels[{item - 1}] is {labels[item - 1]}, cluster {k} holds it")
    if len(seen) != n:
        missing = sorted(set(range(1, n + 1)) - set(seen))
        raise ValueError(f"{what}items {missing[:10]} are in no cluster")


@dataclass
class Clustering:
    """A partition of ``n_texts`` texts into ``n_clusters`` named clusters.

    Invariant (checked on construction): every text 1..n_texts is in exactly one
    cluster, no cluster is empty, and ``labels`` agrees with ``clusters``.

    >>> c = Clustering.from_labels([1, 2, 1], names=["a", "b"])
    >>> c.n_clusters, c.clusters[0].items
    (2, [1, 3])
    >>> Clustering.from_json(c.to_json()) == c
    True
    """

    clusters: list[Cluster]
    labels: list[int]
    method: str = ""
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    reasoning: str = ""
    repaired: bool = False
    salvaged: bool = False
    attempts: int = 1
    stability: float | None = None
    notes: list[str] = field(default_factory=list)
    #: per text, where its cluster came from (e.g. "llm", "classifier", "embed", "window"), when the method says
    placement: list[str] | None = None
    #: per text, how sure the method is of its cluster, in [0, 1], when the method says
    confidence: list[float] | None = None
    #: the topic hierarchy, from the top level (fewest clusters) down, each a partition of every text; the
    #: answer above is one of them (``level``, 1-based from the top). None where the method builds none.
    levels: list[Level] | None = None
    level: int | None = None

    def __post_init__(self) -> None:
        n = len(self.labels)
        _check_partition(self.clusters, self.labels)
        for name, per_text in (("placement", self.placement), ("confidence", self.confidence)):
            if per_text is not None and len(per_text) != n:
                raise ValueError(f"{name} has {len(per_text)} entries for {n} texts")
        for i, lvl in enumerate(self.levels or [], start=1):
            if len(lvl.labels) != n:
                raise ValueError(f"level {i} has {len(lvl.labels)} labels for {n} texts")
            _check_partition(lvl.clusters, lvl.labels, f"level {i}: ")
            above = self.levels[i - 2].n_clusters if i > 1 else 0  # type: ignore[index]
            if len(lvl.parents) != lvl.n_clusters or any(
                    (p is not None) != (i > 1) or (p is not None and not 1 <= p <= above) for p in lvl.parents):
                raise ValueError(f"level {i}: every cluster needs a parent in level {i - 1} (none at the top)")
            if i > 1:  # nested: every text's cluster lies inside its cluster one level up
                above = self.levels[i - 2].labels  # type: ignore[index]
                for item in range(1, n + 1):
                    if lvl.parents[lvl.labels[item - 1] - 1] != above[item - 1]:
                        raise ValueError(f"level {i}: text {item}'s cluster is not inside its cluster one level up")
        if self.level is not None and not (self.levels and 1 <= self.level <= len(self.levels)):
            raise ValueError(f"level {self.level} is not one of the {len(self.levels or [])} levels")

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)

    @property
    def n_texts(self) -> int:
        return len(self.labels)

    @classmethod
    def from_labels(
        cls,
        labels: Sequence[Any],
        *,
        names: Sequence[str] | None = None,
        descriptions: Sequence[str] | None = None,
        ids: Sequence[int | None] | None = None,
        criteria: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Clustering:
        """Build from any per-text labels; clusters are numbered by first appearance."""
        if len(labels) == 0:
            raise InputError("no labels given: a clustering needs at least one text")
        order: dict[Any, int] = {}
        for lab in labels:
            order.setdefault(lab, len(order) + 1)
        numbers = [order[lab] for lab in labels]
        members: list[list[int]] = [[] for _ in order]
        for i, num in enumerate(numbers, start=1):
            members[num - 1].append(i)
        clusters = []
        for k, items in enumerate(members, start=1):
            name = names[k - 1] if names is not None else f"cluster {k}"
            desc = descriptions[k - 1] if descriptions is not None else ""
            clusters.append(Cluster(name=name, items=items, description=desc,
                                    id=ids[k - 1] if ids is not None else None,
                                    criterion=criteria[k - 1] if criteria is not None else ""))
        return cls(clusters=clusters, labels=numbers, **kwargs)

    def at_level(self, level: int) -> Clustering:
        """This result with level ``level`` (1-based from the top) of its hierarchy as the answer; the
        per-text confidence of the other level is dropped."""
        if not self.levels:
            raise InputError(f"this result has no levels above or below its {self.n_clusters} clusters (too few "
                             "clusters and texts for another level, or a method that builds none); drop --level")
        if not 1 <= level <= len(self.levels):
            counts = " / ".join(str(lv.n_clusters) for lv in self.levels)
            raise InputError(f"level {level} does not exist: this result has levels 1-{len(self.levels)} "
                             f"({counts} clusters, from the top)")
        chosen = self.levels[level - 1]
        clusters = [Cluster(name=c.name, items=list(c.items), description=c.description, id=c.id,
                            criterion=c.criterion) for c in chosen.clusters]
        notes = [*self.notes, f"the answer is level {level} of {len(self.levels)} ({chosen.n_clusters} clusters), "
                              "as asked"]
        return replace(self, clusters=clusters, labels=list(chosen.labels), level=level, confidence=None,
                       notes=notes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["n_clusters"] = self.n_clusters
        return {"n_clusters": data.pop("n_clusters"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clustering:
        data = dict(data)
        data.pop("n_clusters", None)
        data["clusters"] = [Cluster(**c) for c in data["clusters"]]
        data["usage"] = Usage(**data.get("usage", {}))
        if data.get("levels") is not None:
            data["levels"] = [Level(clusters=[Cluster(**c) for c in lv["clusters"]], labels=lv["labels"],
                                    parents=lv["parents"]) for lv in data["levels"]]
        return cls(**data)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Clustering:
        return cls.from_dict(json.loads(text))

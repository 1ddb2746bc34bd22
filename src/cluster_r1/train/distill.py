"""Reasoning distillation (paper §5.1, App. C): a generation agent and a review agent.

The *generation agent* sees an example **and its gold answer** and is told to write
the reasoning a model would go through without it (first principles: infer the
number of clusters, explain the grouping logic, give each cluster a coherent label,
then the strict answer). The *review agent* judges each trace on the paper's three
criteria (complete logical flow, appropriate length, coherent stepwise inference)
and rejects traces that merely restate the answer. Independently of the reviewer,
every trace is checked in code: it must pass strict validation
(:func:`cluster_r1.answer.parse_answer`) and its partition must equal the gold one,
and its ``<think>`` must be long enough and must not reveal the reference.

Accepted traces become SFT rows whose prompt is the plain student prompt (no gold
answer): see :mod:`cluster_r1.train.data`. Every decision is appended to a JSONL
checkpoint, so an interrupted run resumes where it stopped. The paper's exact
prompts (its Figures 11-12) are not in its text; these templates follow their
description. Any :class:`~cluster_r1.backends.Backend` can play either agent.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..answer import parse_answer
from ..backends.base import Backend, complete_many
from ..bench.splits import Example
from ..constraints import JSONSchema, lists_answer
from ..errors import ConfigError
from ..prompts import GENERATE_TRACE, REVIEW_TRACE, format_texts
from ..reading import find_json
from .data import PROMPTS, sft_row, write_rows

__all__ = [
    "TEMPLATES",
    "DistillConfig",
    "TraceVerdict",
    "check_trace",
    "parse_review",
    "same_partition",
    "DistillResult",
    "Distiller",
]

log = logging.getLogger(__name__)


TEMPLATES = {"generate": GENERATE_TRACE, "review": REVIEW_TRACE}

_LEAK = re.compile(r"\b(reference (solution|answer)|given (answer|solution)|ground[- ]truth|gold (answer|labels?))\b", re.I)
_CRITERIA = ("complete_logical_flow", "appropriate_length", "coherent_steps")
#: The review agent's reply, as a constraint for servers that honour one.
REVIEW_SCHEMA = {
    "type": "object",
    "properties": {**{c: {"type": "boolean"} for c in _CRITERIA}, "restates_answer": {"type": "boolean"},
                   "verdict": {"type": "string", "enum": ["accept", "reject"]}, "reason": {"type": "string"}},
    "required": [*_CRITERIA, "restates_answer", "verdict", "reason"],
    "additionalProperties": False,
}


@dataclass
class DistillConfig:
    """Settings of a distillation run (App. C)."""

    train_file: str = field(default="", metadata={"help": "benchmark folder or its train.jsonl (the training pool)"})
    output_dir: str = field(default="runs/distill", metadata={"help": "run folder: checkpoint, sft.jsonl, report"})
    prompt: str = field(default="hint", metadata={"help": "student prompt of the SFT rows: hint (paper §8.2) or paper"})
    max_examples: int | None = field(default=None, metadata={"help": "distil at most this many examples (paper: 510)"})
    max_attempts: int = field(default=2, metadata={"help": "generation attempts per example before giving up"})
    temperature: float = field(default=0.7, metadata={"help": "generation agent temperature"})
    max_tokens: int = field(default=4096, metadata={"help": "tokens per generated trace (paper: 4k completions)"})
    review: bool = field(default=True, metadata={"help": "ask the review agent (the code checks always run)"})
    min_think_words: int = field(default=40, metadata={"help": "shorter <think> blocks are rejected as restating"})
    max_think_words: int = field(default=3000, metadata={"help": "longer <think> blocks are rejected"})
    seed: int = field(default=0, metadata={"help": "seed passed to the backends"})
    generator: str = field(default="", metadata={"help": "CLI only: generation agent, 'openai:MODEL@URL' or a checkpoint dir"})
    reviewer: str = field(default="", metadata={"help": "CLI only: review agent spec (default: the generator)"})

    def __post_init__(self) -> None:
        if self.prompt not in PROMPTS:
            raise ConfigError(f"prompt={self.prompt!r}: choose one of {PROMPTS}")
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts={self.max_attempts}: need at least 1")
        if not 0 <= self.min_think_words <= self.max_think_words:
            raise ConfigError("need 0 <= min_think_words <= max_think_words")


def same_partition(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """True when two labellings group the items identically (label names and numbers do not matter).

    >>> same_partition([1, 1, 2], ["x", "x", "y"]), same_partition([1, 2, 2], ["x", "x", "y"])
    (True, False)
    """
    if len(a) != len(b):
        return False

    def blocks(labels: Sequence[Any]) -> set[frozenset[int]]:
        out: dict[Any, set[int]] = {}
        for i, lab in enumerate(labels):
            out.setdefault(lab, set()).add(i)
        return {frozenset(v) for v in out.values()}

    return blocks(a) == blocks(b)


@dataclass
class TraceVerdict:
    """Outcome of the checks on one trace: ``ok`` and, when not, why."""

    ok: bool
    reason: str = ""
    review: dict[str, Any] | None = None


def check_trace(text: str, gold_labels: Sequence[Any], config: DistillConfig | None = None) -> TraceVerdict:
    """The programmatic checks: strict format, final answer equal to gold, a real ``<think>``.

    >>> gold = ["a", "a", "b"]
    >>> think = " ".join(["texts one and two share the property"] * 10)
    >>> ok = f"<think>{think}</think><answer>Total clusters: 2\\ncluster1: [1, 2]\\ncluster2: [3]</answer>"
    >>> check_trace(ok, gold).ok, check_trace(ok.replace("[1, 2]", "[1]").replace("[3]", "[2, 3]"), gold).reason
    (True, 'final answer differs from gold')
    """
    config = config or DistillConfig()
    parsed = parse_answer(text, len(gold_labels), strict=True, names=False)
    if not parsed.valid:
        return TraceVerdict(False, "invalid format: " + "; ".join(str(v) for v in parsed.violations[:3]))
    if not same_partition(parsed.labels(), gold_labels):
        return TraceVerdict(False, "final answer differs from gold")
    words = len(parsed.think.split())
    if words < config.min_think_words:
        return TraceVerdict(False, f"reasoning too short ({words} words): restates the answer")
    if words > config.max_think_words:
        return TraceVerdict(False, f"reasoning too long ({words} words)")
    if _LEAK.search(parsed.think):
        return TraceVerdict(False, "reasoning refers to the reference solution")
    return TraceVerdict(True)


def parse_review(text: str) -> TraceVerdict:
    """Read the review agent's JSON; anything unreadable or short of all criteria is a rejection.

    >>> parse_review('{"complete_logical_flow": true, "appropriate_length": true, "coherent_steps": true, '
    ...              '"restates_answer": false, "verdict": "accept", "reason": "fine"}').ok
    True
    >>> parse_review("looks good").reason
    'review unreadable'
    """
    data = find_json(text or "", kinds=(dict,))
    if not isinstance(data, dict):
        return TraceVerdict(False, "review unreadable")
    failed = [c for c in _CRITERIA if data.get(c) is not True]
    if data.get("restates_answer") is True:
        failed.append("restates_answer")
    if str(data.get("verdict", "")).lower() != "accept":
        failed.append("verdict")
    if failed:
        return TraceVerdict(False, "review rejected: " + ", ".join(failed) + f" ({data.get('reason', '')})", data)
    return TraceVerdict(True, "", data)


def _reference(example: Example) -> str:
    lines = []
    for k, name in enumerate(example.cluster_names, start=1):
        items = [str(i + 1) for i, lab in enumerate(example.labels) if lab == name]
        lines.append(f"cluster{k} ({name}): [{', '.join(items)}]")
    return "\n".join(lines)


@dataclass
class DistillResult:
    """Counts of a run and where its files are."""

    accepted: int = 0
    rejected: int = 0
    resumed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    checkpoint: Path | None = None
    sft_file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "resumed": self.resumed,
            "reasons": self.reasons,
            "checkpoint": str(self.checkpoint),
            "sft_file": str(self.sft_file),
        }


class Distiller:
    """Generate, check and review reasoning traces for benchmark examples; resumable.

    ``generator`` and ``reviewer`` are any backends (the reviewer defaults to the generator).
    """

    def __init__(
        self,
        generator: Backend,
        reviewer: Backend | None = None,
        config: DistillConfig | None = None,
        *,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.generator = generator
        self.reviewer = reviewer if reviewer is not None else generator
        self.config = config or DistillConfig()
        self.on_event = on_event

    def _generate_messages(self, ex: Example) -> list[dict[str, str]]:
        content = GENERATE_TRACE.format(
            instruction=ex.instruction,
            texts=format_texts(ex.texts),
            n_clusters=ex.n_clusters,
            n_texts=len(ex.texts),
            reference=_reference(ex),
        )
        return [{"role": "user", "content": content}]

    def _review_messages(self, ex: Example, trace: str) -> list[dict[str, str]]:
        content = REVIEW_TRACE.format(
            instruction=ex.instruction, texts=format_texts(ex.texts), reference=_reference(ex), trace=trace
        )
        return [{"role": "user", "content": content}]

    def _attempt(self, examples: list[Example], attempt: int) -> list[dict[str, Any]]:
        """One generation (+ review) round for a batch; returns one record per example."""
        cfg = self.config
        gens = complete_many(
            self.generator,
            [self._generate_messages(ex) for ex in examples],
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed + attempt,
            # the paper's answer format with every index in 1..n; the reasoning is not capped (traces are long)
            constraints=[lists_answer(len(ex.texts), n_clusters=ex.n_clusters, think_chars=None) for ex in examples],
        )
        records = []
        to_review: list[int] = []
        for i, (ex, gen) in enumerate(zip(examples, gens)):
            verdict = check_trace(gen.text, ex.labels, cfg)
            records.append({"id": ex.id, "attempt": attempt + 1, "trace": gen.text, "ok": verdict.ok,
                            "reason": verdict.reason, "review": None})
            if verdict.ok and cfg.review:
                to_review.append(i)
        if to_review:
            reviews = complete_many(
                self.reviewer,
                [self._review_messages(examples[i], gens[i].text) for i in to_review],
                temperature=0.0,
                max_tokens=1024,
                seed=cfg.seed,
                constraint=JSONSchema(REVIEW_SCHEMA, "review"),
            )
            for i, rev in zip(to_review, reviews):
                verdict = parse_review(rev.text)
                records[i].update(ok=verdict.ok, reason=verdict.reason, review=verdict.review or rev.text)
        return records

    def run(self, examples: Sequence[Example], output_dir: str | Path | None = None) -> DistillResult:
        """Distil ``examples``; writes ``checkpoint.jsonl`` (every decision) and ``sft.jsonl`` (accepted rows)."""
        out = Path(output_dir or self.config.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        ckpt = out / "checkpoint.jsonl"
        done: dict[str, dict[str, Any]] = {}
        if ckpt.exists():
            for line in ckpt.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    if rec.get("final"):
                        done[rec["id"]] = rec
        result = DistillResult(checkpoint=ckpt, sft_file=out / "sft.jsonl", resumed=len(done))
        todo = [ex for ex in examples if ex.id not in done]
        if done:
            self._event(f"resuming: {len(done)} examples already decided, {len(todo)} to go")
        batch = max(1, int(getattr(self.generator, "concurrency", 1) or 1))
        with ckpt.open("a", encoding="utf-8") as fh:
            for start in range(0, len(todo), batch):
                pending = todo[start : start + batch]
                for attempt in range(self.config.max_attempts):
                    if not pending:
                        break
                    records = self._attempt(pending, attempt)
                    still = []
                    for ex, rec in zip(pending, records):
                        rec["final"] = rec["ok"] or attempt == self.config.max_attempts - 1
                        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                        if rec["final"]:
                            done[ex.id] = rec
                        else:
                            still.append(ex)
                    fh.flush()
                    pending = still
                self._event(f"distilled {len(done)}/{len(examples)}")
        rows = []
        for ex in examples:
            rec = done.get(ex.id)
            if rec is None:
                continue
            if rec["ok"]:
                result.accepted += 1
                rows.append(sft_row(ex, rec["trace"].strip(), self.config.prompt))
            else:
                result.rejected += 1
                key = rec["reason"].split(":")[0]
                result.reasons[key] = result.reasons.get(key, 0) + 1
        write_rows(rows, result.sft_file)  # type: ignore[arg-type]
        (out / "distill_report.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
        log.info("distillation: %d accepted, %d rejected %s", result.accepted, result.rejected, result.reasons)
        return result

    def _event(self, message: str) -> None:
        log.info(message)
        if self.on_event is not None:
            self.on_event(message)

"""The clustering agent: instruction + texts -> :class:`~cluster_r1.types.Clustering`.

One run is: prompt -> generate -> validate (App. D). A strict-valid answer is
returned as it is. An answer whose content is a complete partition but whose
format is off (missing ``<think>``, prose around the answer, no brackets) is
accepted as *repaired* unless ``strict=True``. Otherwise the agent re-asks with
the exact violations ("items 4 and 7 are missing"), at most ``max_reasks``
times. If the answer is still incomplete it *salvages*: it keeps every item the
best answer placed exactly once and asks a follow-up question to place each
missing or duplicated item into the clusters found; anything the model still
will not place goes into a cluster named ``Unplaced``. The final result
therefore holds every input text exactly once, and records what happened.

With ``samples > 1`` the agent runs several sampled answers and returns their
consensus partition (average-linkage on the co-assignment matrix) with a
stability score (mean ARI between each sample and the consensus).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .answer import (
    COUNT,
    DUPLICATE,
    MISSING,
    NO_CLUSTERS,
    OUT_OF_RANGE,
    SYNTAX,
    TAGS,
    TOTAL,
    ParsedAnswer,
    Violation,
    describe_violations,
    parse_answer,
)
from .backends.base import Backend, Completion, Message, complete_many
from .errors import AnswerError, ContextLengthError, InputError
from .prompts import N_CLUSTERS_HINT, PLACE_ITEMS, PLACE_ONE, PROPOSE, REASK, clip_text, format_texts, get_template
from .types import Cluster, Clustering, Usage

__all__ = ["ClusteringAgent", "estimate_tokens"]

log = logging.getLogger(__name__)

UNPLACED = "Unplaced"
_PLACE_BATCH = 40
_PLACE_RE = re.compile(r"(?:item\s*)?#?(\d+)\s*[:.)=\-\u2192>]+\s*\**\s*cluster\s*_?(\d+)", re.IGNORECASE)


_GROUP_RE = re.compile(r"^[\s*#\-]*(?:group|cluster|category)?\s*_?\d+\s*[:.)\-]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def estimate_tokens(text: str) -> int:
    """A cheap upper-leaning token estimate (about 3.5 characters per token in English)."""
    return int(len(text) / 3.5) + 1


@dataclass
class _Run:
    """The state of one agent run (one sample)."""

    usage: Usage = field(default_factory=Usage)
    outputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self, completion: Completion) -> str:
        self.usage.add(Usage(1, completion.prompt_tokens, completion.completion_tokens, completion.seconds))
        self.outputs.append(completion.text)
        return completion.text


def _placed_once(parsed: ParsedAnswer) -> int:
    """How many items the answer places exactly once, in range: the measure of a usable answer."""
    counts: dict[int, int] = {}
    for c in parsed.clusters:
        for i in c.items:
            counts[i] = counts.get(i, 0) + 1
    return sum(1 for i, c in counts.items() if c == 1 and 1 <= i <= parsed.n_items)


def _complete_content(parsed: ParsedAnswer) -> bool:
    """Lenient parse holds a full partition: every item once, nothing out of range."""
    bad = {MISSING, DUPLICATE, OUT_OF_RANGE, NO_CLUSTERS}
    return bool(parsed.clusters) and not (parsed.kinds() & bad)


class ClusteringAgent:
    """An LLM clustering agent over any :class:`~cluster_r1.backends.Backend`.

    Parameters (keyword-only): ``prompt`` — ``"named"`` (default: names per cluster),
    ``"paper"`` (the paper's strict format) or ``"hint"`` (§8.2 reasoning hint);
    ``max_reasks`` — re-asks after an invalid answer; ``strict`` — re-ask on any App. D
    violation instead of accepting a complete answer with format slips; ``salvage`` —
    place leftovers with follow-up questions (else raise :class:`AnswerError`);
    ``samples`` — self-consistency samples; ``temperature`` (single run) and
    ``sample_temperature`` (self-consistency); ``max_tokens`` per reply.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        prompt: str = "named",
        max_reasks: int = 2,
        strict: bool = False,
        salvage: bool = True,
        samples: int = 1,
        temperature: float = 0.0,
        sample_temperature: float = 0.8,
        max_tokens: int = 4096,
        seed: int | None = 0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        if max_reasks < 0:
            raise ValueError(f"max_reasks must be >= 0, got {max_reasks}")
        if samples < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        self.backend = backend
        self.template = get_template(prompt)
        self.max_reasks = max_reasks
        self.strict = strict
        self.salvage = salvage
        self.samples = samples
        self.temperature = temperature
        self.sample_temperature = sample_temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.on_event = on_event

    # -- public -------------------------------------------------------------------------------
    def cluster(self, texts: Sequence[str], instruction: str, *, n_clusters: int | None = None) -> Clustering:
        texts = list(texts)
        if len(texts) < 2:
            raise InputError(f"need at least 2 texts to cluster, got {len(texts)}")
        if not instruction or not instruction.strip():
            raise InputError("the instruction is empty: say how the texts should be grouped")
        if n_clusters is not None and not 1 <= n_clusters <= len(texts):
            raise InputError(f"n_clusters must be between 1 and {len(texts)}, got {n_clusters}")
        prompt = self.template.render(instruction, texts)
        if n_clusters is not None:
            prompt += N_CLUSTERS_HINT.format(n_clusters=n_clusters)
        self._check_context(prompt, len(texts))
        if self.samples == 1:
            return self._run(texts, instruction, prompt, self.temperature, self.seed)
        return self._consensus(texts, instruction, prompt)

    # -- one run ------------------------------------------------------------------------------
    def _event(self, message: str) -> None:
        log.info(message)
        if self.on_event is not None:
            self.on_event(message)

    def _check_context(self, prompt: str, n: int) -> None:
        window = getattr(self.backend, "context_window", None)
        if not window:
            return
        need = estimate_tokens(prompt) + self.max_tokens
        if need > window:
            raise ContextLengthError(
                f"{n} texts make a prompt of about {estimate_tokens(prompt)} tokens; with {self.max_tokens} tokens "
                f"for the answer that exceeds the {window}-token context of {self.backend.model!r}: "
                "cluster fewer or shorter texts, use a model with a longer context, or use --method embed"
            )

    def _generate(self, run: _Run, messages: list[Message], temperature: float, seed: int | None) -> Completion:
        completion = self.backend.complete(messages, temperature=temperature, max_tokens=self.max_tokens, seed=seed)
        run.record(completion)
        return completion

    def _run(
        self, texts: list[str], instruction: str, prompt: str, temperature: float, seed: int | None
    ) -> Clustering:
        n = len(texts)
        run = _Run()
        messages: list[Message] = [{"role": "user", "content": prompt}]
        best: ParsedAnswer | None = None
        for attempt in range(self.max_reasks + 1):
            self._event(f"asking {self.backend.model or 'the model'} (attempt {attempt + 1})")
            completion = self._generate(run, messages, temperature, seed)
            strict = parse_answer(completion.text, n, strict=True, names=self.template.names)
            if strict.valid:
                return self._result(texts, strict, run, repaired=attempt > 0, attempts=attempt + 1)
            lenient = parse_answer(completion.text, n, strict=False)
            if best is None or _placed_once(lenient) >= _placed_once(best):
                best = lenient
            if _complete_content(lenient) and not self.strict:
                run.notes.append("format repaired: " + "; ".join(str(v) for v in strict.violations))
                return self._result(texts, lenient, run, repaired=True, attempts=attempt + 1)
            problems = self._problems(strict, lenient, completion)
            self._event(f"answer invalid: {problems[0]}")
            if attempt < self.max_reasks:
                messages = messages + [
                    {"role": "assistant", "content": completion.text},
                    {"role": "user", "content": REASK.format(problems=describe_violations(problems), n_texts=n)},
                ]
        assert best is not None
        if not self.salvage:
            raise AnswerError(
                f"no valid answer after {self.max_reasks + 1} attempts: "
                + "; ".join(str(v) for v in parse_answer(run.outputs[-1], n, strict=True).violations[:3]),
                run.outputs,
            )
        return self._salvage(texts, instruction, best, run, temperature, seed)

    @staticmethod
    def _problems(strict: ParsedAnswer, lenient: ParsedAnswer, completion: Completion) -> list[Violation]:
        """Format problems from the strict parse, content problems from the lenient one."""
        problems = [v for v in strict.violations if v.kind in (TAGS, TOTAL, COUNT, SYNTAX)]
        source = lenient if lenient.clusters else strict
        problems += [v for v in source.violations if v.kind in (NO_CLUSTERS, MISSING, DUPLICATE, OUT_OF_RANGE)]
        if completion.finish_reason == "length":
            problems.insert(0, Violation("truncated", (), "the answer was cut off by the length limit: keep the reasoning short"))
        return problems or list(strict.violations)

    def _result(
        self,
        texts: list[str],
        parsed: ParsedAnswer,
        run: _Run,
        *,
        repaired: bool = False,
        salvaged: bool = False,
        attempts: int = 1,
        assignment: list[int] | None = None,
        names: list[str] | None = None,
    ) -> Clustering:
        if assignment is None:
            assignment = [lab for lab in parsed.labels() if lab is not None]
            names = [c.name for c in parsed.clusters]
        assert names is not None and len(assignment) == len(texts)
        # Renumber clusters 1..k by first appearance, dropping empty ones.
        order: dict[int, int] = {}
        for lab in assignment:
            order.setdefault(lab, len(order) + 1)
        labels = [order[lab] for lab in assignment]
        clusters = []
        for old, new in sorted(order.items(), key=lambda kv: kv[1]):
            name = names[old - 1] if 0 < old <= len(names) and names[old - 1] else f"cluster {new}"
            clusters.append(Cluster(name=name, items=[i + 1 for i, lab in enumerate(labels) if lab == new]))
        if len(names) > len(order):
            run.notes.append(f"{len(names) - len(order)} empty cluster(s) dropped")
        return Clustering(
            clusters=clusters,
            labels=labels,
            method="agent",
            model=getattr(self.backend, "model", ""),
            usage=run.usage,
            reasoning=parsed.think,
            repaired=repaired,
            salvaged=salvaged,
            attempts=attempts,
            notes=run.notes,
        )

    # -- salvage ------------------------------------------------------------------------------
    def _salvage(
        self,
        texts: list[str],
        instruction: str,
        best: ParsedAnswer,
        run: _Run,
        temperature: float,
        seed: int | None,
    ) -> Clustering:
        n = len(texts)
        counts: dict[int, int] = {}
        for c in best.clusters:
            for i in c.items:
                counts[i] = counts.get(i, 0) + 1
        keep = [[i for i in c.items if 1 <= i <= n and counts[i] == 1] for c in best.clusters]
        names = [c.name for c in best.clusters]
        nonempty = [(nm, items) for nm, items in zip(names, keep) if items]
        attempts = len(run.outputs)
        if len(nonempty) < 2:
            # Nothing usable (at most one group found): decompose. Ask only for the groups,
            # then place every text.
            proposed = self._propose(texts, instruction, run, temperature, seed)
            if len(proposed) < 2:
                raise AnswerError(
                    f"the model gave no usable cluster in {attempts} attempts and proposed no groups; "
                    "try a larger model or --method embed",
                    run.outputs,
                )
            run.notes.append(f"no usable answer: the model proposed {len(proposed)} groups, then placed each text")
            nonempty = [(name, []) for name in proposed]
        names: list[str] = [nm or f"cluster {k}" for k, (nm, _) in enumerate(nonempty, start=1)]
        assignment: list[int | None] = [None] * n
        for k, (_, items) in enumerate(nonempty, start=1):
            for i in items:
                assignment[i - 1] = k
        todo = [i for i in range(1, n + 1) if assignment[i - 1] is None]
        self._event(f"salvaging: placing {len(todo)} item(s) with a follow-up question")
        if todo:
            # Batched follow-up first (cheap for capable models), then one short question per
            # item still unplaced (what small models answer reliably).
            for start in range(0, len(todo), _PLACE_BATCH):
                batch = todo[start : start + _PLACE_BATCH]
                for i, k in self._place(texts, instruction, names, assignment, batch, run, temperature, seed).items():
                    assignment[i - 1] = k
            todo = [i for i in todo if assignment[i - 1] is None]
            if todo:
                for i, k in self._place_each(texts, instruction, names, assignment, todo, run, seed).items():
                    assignment[i - 1] = k
                todo = [i for i in todo if assignment[i - 1] is None]
        placed_by_followup = sorted(set(range(1, n + 1)) - {i for _, items in nonempty for i in items} - set(todo))
        if placed_by_followup:
            run.notes.append(f"items {_fmt(placed_by_followup)} placed by a follow-up question")
        if todo:
            names.append(UNPLACED)
            for i in todo:
                assignment[i - 1] = len(names)
            run.notes.append(f"items {_fmt(todo)} could not be placed by the model: cluster {UNPLACED!r}")
        final = [a for a in assignment if a is not None]
        return self._result(
            texts, best, run, salvaged=True, repaired=True, attempts=attempts, assignment=final, names=names
        )

    def _propose(
        self, texts: list[str], instruction: str, run: _Run, temperature: float, seed: int | None
    ) -> list[str]:
        """Ask only for the names of the groups (a short answer small models manage)."""
        max_groups = max(2, min(12, len(texts) // 2))
        prompt = PROPOSE.format(instruction=instruction, texts=format_texts(texts), max_groups=max_groups)
        names: list[str] = []
        for attempt in range(2):  # a second, differently seeded try: small models often ramble once
            try_seed = None if seed is None else seed + 1000 * attempt
            completion = self._generate(run, [{"role": "user", "content": prompt}], max(temperature, 0.7 * attempt), try_seed)
            names = []
            for m in _GROUP_RE.finditer(completion.text):
                name = m.group(1).strip().strip("*\"'.")
                if name and name.lower() not in {n.lower() for n in names}:
                    names.append(clip_text(name, 60))
            if len(names) >= 2:
                break
        return names[:max_groups]

    @staticmethod
    def _describe_clusters(texts: list[str], names: list[str], assignment: list[int | None]) -> str:
        lines = []
        for k, name in enumerate(names, start=1):
            examples = [texts[i] for i, a in enumerate(assignment) if a == k][:3]
            shown = "; ".join(clip_text(t, 100) for t in examples)
            lines.append(f"cluster{k} ({name})" + (f": e.g. {shown}" if shown else ""))
        return "\n".join(lines)

    def _place(
        self,
        texts: list[str],
        instruction: str,
        names: list[str],
        assignment: list[int | None],
        batch: list[int],
        run: _Run,
        temperature: float,
        seed: int | None,
    ) -> dict[int, int]:
        items = "\n".join(f"{i}. {clip_text(texts[i - 1], 300)}" for i in batch)
        prompt = PLACE_ITEMS.format(
            instruction=instruction,
            clusters=self._describe_clusters(texts, names, assignment),
            items=items,
            example_item=batch[0],
        )
        completion = self._generate(run, [{"role": "user", "content": prompt}], temperature, seed)
        wanted = set(batch)
        placed: dict[int, int] = {}
        for m in _PLACE_RE.finditer(completion.text):
            i, k = int(m.group(1)), int(m.group(2))
            if i in wanted and i not in placed and 1 <= k <= len(names):
                placed[i] = k
        return placed

    def _place_each(
        self,
        texts: list[str],
        instruction: str,
        names: list[str],
        assignment: list[int | None],
        todo: list[int],
        run: _Run,
        seed: int | None,
    ) -> dict[int, int]:
        clusters = self._describe_clusters(texts, names, assignment)
        conversations = [
            [
                {
                    "role": "user",
                    "content": PLACE_ONE.format(
                        instruction=instruction,
                        clusters=clusters,
                        text=clip_text(texts[i - 1], 1000),
                        n_clusters=len(names),
                    ),
                }
            ]
            for i in todo
        ]
        completions = complete_many(self.backend, conversations, temperature=0.0, max_tokens=10, seed=seed)
        placed: dict[int, int] = {}
        for i, completion in zip(todo, completions):
            run.record(completion)
            k = _cluster_choice(completion.text, names)
            if k is not None:
                placed[i] = k
        return placed

    # -- self-consistency ---------------------------------------------------------------------
    def _consensus(self, texts: list[str], instruction: str, prompt: str) -> Clustering:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.metrics import adjusted_rand_score

        n = len(texts)
        seeds = [None if self.seed is None else self.seed + s for s in range(self.samples)]

        def one(seed: int | None) -> Clustering | AnswerError:
            try:
                return self._run(texts, instruction, prompt, self.sample_temperature, seed)
            except AnswerError as exc:
                return exc

        workers = max(1, min(self.samples, int(getattr(self.backend, "concurrency", 1) or 1)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(one, seeds))
        results = [r for r in outcomes if isinstance(r, Clustering)]
        if not results:
            errors = [r for r in outcomes if isinstance(r, AnswerError)]
            raise AnswerError(
                f"none of {self.samples} samples gave a usable clustering", [a for e in errors for a in e.attempts]
            )
        co = np.zeros((n, n))
        for r in results:
            lab = np.asarray(r.labels)
            co += lab[:, None] == lab[None, :]
        co /= len(results)
        consensus = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=0.5
        ).fit_predict(1.0 - co)
        aris = [adjusted_rand_score(consensus, r.labels) for r in results]
        medoid = results[int(np.argmax(aris))]
        # Name each consensus cluster after the medoid sample's cluster it overlaps most.
        names = []
        for k in sorted(set(consensus), key=lambda x: int(np.argmax(consensus == x))):
            members = np.flatnonzero(consensus == k)
            votes = np.bincount([medoid.labels[i] for i in members])
            names.append(medoid.clusters[int(np.argmax(votes)) - 1].name)
        usage = Usage()
        for r in results:
            usage.add(r.usage)
        notes = [f"consensus of {len(results)} of {self.samples} samples"]
        if len(results) < self.samples:
            notes.append(f"{self.samples - len(results)} sample(s) gave no usable answer")
        clustering = Clustering.from_labels(
            [int(x) for x in consensus],
            names=_dedupe(names),
            method="agent",
            model=getattr(self.backend, "model", ""),
            usage=usage,
            reasoning=medoid.reasoning,
            repaired=any(r.repaired for r in results),
            salvaged=any(r.salvaged for r in results),
            attempts=sum(r.attempts for r in results),
            stability=float(np.mean(aris)),
            notes=notes,
        )
        return clustering


def _cluster_choice(reply: str, names: list[str]) -> int | None:
    """The cluster a one-item reply names: a number in range, else a unique cluster name.

    >>> _cluster_choice("cluster 2", ["a", "b"]), _cluster_choice("It is B.", ["a", "b"]), _cluster_choice("7", ["a"])
    (2, 2, None)
    """
    m = re.search(r"\d+", reply)
    if m:
        k = int(m.group(0))
        return k if 1 <= k <= len(names) else None
    low = reply.lower()
    hits = [k for k, name in enumerate(names, start=1) if name and re.search(rf"\b{re.escape(name.lower())}\b", low)]
    return hits[0] if len(hits) == 1 else None


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _fmt(items: list[int]) -> str:
    shown = ", ".join(map(str, items[:20]))
    return shown + (f" (+{len(items) - 20} more)" if len(items) > 20 else "")

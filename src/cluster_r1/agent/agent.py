"""The clustering agent: instruction + texts -> :class:`~cluster_r1.types.Clustering`.

One run is the one-shot answer (:mod:`.oneshot`: prompt, generate, validate, repair or
re-ask), then, when no attempt gave a complete partition, salvage (:mod:`.salvage`).
The result holds every input text exactly once and records what happened. With
``samples > 1`` several sampled runs are combined by :mod:`.consensus`.

Texts enter prompts as delimited blocks with tag-like sequences neutralised
(:func:`cluster_r1.prompts.text_block`); a text longer than ``max_text_chars`` is cut,
and when the backend's context window is known the longest texts are cut further to
a fair share of it, with a note naming them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..answer import ParsedAnswer, parse_answer
from ..backends.base import Backend, constraint_kinds, supports
from ..constraints import THINK_CHARS, Constraint, items_answer, lists_answer
from ..errors import AnswerError, ContextLengthError, InputError
from ..prompts import MAX_TEXT_CHARS, N_CLUSTERS_HINT, clip_layout, cut_texts, fair_share, get_template
from ..types import Cluster, Clustering
from . import oneshot
from .consensus import consensus, dedupe
from .salvage import salvage
from .state import Ask, Run, estimate_tokens, fmt_items

__all__ = ["ClusteringAgent", "MIN_TEXT_CHARS", "CONSTRAIN_MODES"]

#: ``auto``: constrained where the backend can; ``items`` / ``lists``: that answer form; ``off``: the paper's protocol.
CONSTRAIN_MODES = ("auto", "items", "lists", "off")

log = logging.getLogger(__name__)

#: Fitting texts to a context window never cuts a text below this many characters.
MIN_TEXT_CHARS = 200


class ClusteringAgent:
    """An LLM clustering agent over any :class:`~cluster_r1.backends.Backend`.

    Parameters (keyword-only): ``prompt`` — ``"named"`` (default: names per cluster),
    ``"paper"`` (the paper's strict format) or ``"hint"`` (§8.2 reasoning hint);
    ``max_reasks`` — re-asks after an invalid answer; ``strict`` — re-ask on any App. D
    violation instead of accepting a complete answer with format slips; ``salvage`` —
    place leftovers with follow-up questions (else raise :class:`AnswerError`);
    ``samples`` — self-consistency samples; ``temperature`` (single run) and
    ``sample_temperature`` (self-consistency); ``max_tokens`` per reply;
    ``max_text_chars`` — texts longer than this are cut in prompts (None: never);
    ``constrain`` — ``"auto"`` (default: where the backend constrains decoding, ask for one
    ``ITEM: clusterK`` line per item under a grammar, a complete partition by construction,
    converted to the paper's format), ``"items"`` / ``"lists"`` (that form, or the paper's App. D
    lists under a grammar), ``"off"`` (the paper's protocol: unconstrained App. D);
    ``think_chars`` — the most reasoning a constraint admits (None: unbounded).
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
        max_text_chars: int | None = MAX_TEXT_CHARS,
        constrain: str = "auto",
        think_chars: int | None = THINK_CHARS,
        seed: int | None = 0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        if constrain not in CONSTRAIN_MODES:
            raise InputError(f"constrain must be one of {', '.join(CONSTRAIN_MODES)}, got {constrain!r}")
        if max_reasks < 0:
            raise InputError(f"max_reasks must be >= 0, got {max_reasks}")
        if samples < 1:
            raise InputError(f"samples must be >= 1, got {samples}")
        if max_text_chars is not None and max_text_chars < 1:
            raise InputError(f"max_text_chars must be >= 1 or None, got {max_text_chars}")
        self.backend = backend
        self.prompt_name = prompt
        self.template = get_template(prompt)
        self.constrain = constrain
        self.think_chars = think_chars
        self.last_run: Run | None = None
        self.max_reasks = max_reasks
        self.strict = strict
        self.salvage = salvage
        self.samples = samples
        self.temperature = temperature
        self.sample_temperature = sample_temperature
        self.max_tokens = max_tokens
        self.max_text_chars = max_text_chars
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
        form, constraint, note = self.structure(len(texts), n_clusters)
        template = get_template(self.prompt_name, form)
        prompt, limit, notes = self.prompt(texts, instruction, n_clusters=n_clusters, template=template)
        if note:
            notes.insert(0, note)
        if self.samples == 1:
            result = self._run(texts, instruction, prompt, limit, self.temperature, self.seed, form, constraint)
        else:
            result = self._consensus(texts, instruction, prompt, limit, form, constraint)
        result.notes[:0] = notes
        return result

    def structure(self, n: int, n_clusters: int | None = None) -> tuple[str, Constraint | None, str]:
        """(answer form, constraint or None, note) for ``n`` texts on this backend."""
        mode = self.constrain
        kinds = constraint_kinds(self.backend)
        if mode == "off" or (mode == "auto" and not kinds & {"grammar", "json"}):
            return "lists", None, ""
        form = "lists" if mode == "lists" else "items"
        names = self.template.names
        k_max = min(n, 20)
        answer_tokens = 12 + n * (5 if form == "items" else 3) + (k_max * 12 if names else 0)
        think = self.think_chars
        if think is not None:
            think = max(0, min(think, int((self.max_tokens - answer_tokens) * 3)))
        build = items_answer if form == "items" else lists_answer
        constraint = build(n, names=names, max_clusters=k_max, n_clusters=n_clusters, think_chars=think)
        if not supports(self.backend, constraint):
            return ("items", None, "") if mode == "items" else ("lists", None, "")
        kind = getattr(self.backend, "server_kind", "") or "the backend"
        shape = "one line per item, converted to the paper's format" if form == "items" else "the paper's format"
        return form, constraint, f"constrained decoding ({kind}): {shape}, reasoning capped at {think} characters"

    def prompt(
        self, texts: Sequence[str], instruction: str, *, n_clusters: int | None = None, template: Any = None,
    ) -> tuple[str, int | None, list[str]]:
        """(prompt, per-text character limit, notes): texts cut to ``max_text_chars`` and, when the
        backend's context window is known, to a fair share of it; :class:`ContextLengthError`
        when even :data:`MIN_TEXT_CHARS` per text does not fit."""
        template = template or self.template
        limit = self.max_text_chars
        suffix = N_CLUSTERS_HINT.format(n_clusters=n_clusters) if n_clusters is not None else ""
        prompt = template.render(instruction, texts, limit=limit) + suffix
        window = getattr(self.backend, "context_window", None)
        if window and estimate_tokens(prompt) + self.max_tokens > window:
            skeleton = len(template.render(instruction, [""] * len(texts), limit=limit) + suffix)
            budget = int((window - self.max_tokens - 1) * 3.5) - skeleton
            lengths = [len(clip_layout(t, limit or max(len(t), 1))) for t in texts]
            cap = fair_share(lengths, max(budget, 0))
            if cap is not None and cap < min(MIN_TEXT_CHARS, max(lengths)):
                raise ContextLengthError(
                    f"{len(texts)} texts make a prompt of about {estimate_tokens(prompt)} tokens; with "
                    f"{self.max_tokens} tokens for the answer that exceeds the {window}-token context of "
                    f"{getattr(self.backend, 'model', '')!r} even with every text cut to {MIN_TEXT_CHARS} characters: "
                    "cluster fewer texts, use a model with a longer context, or use --method embed"
                )
            if cap is not None:
                limit = cap
                prompt = template.render(instruction, texts, limit=limit) + suffix
        notes = []
        cut = cut_texts(texts, limit)
        if cut:
            notes.append(f"texts {fmt_items(cut)} ({len(cut)} of {len(texts)}) were cut to {limit:,} characters "
                         "in the prompt")
        return prompt, limit, notes

    # -- one run ------------------------------------------------------------------------------
    def _event(self, message: str) -> None:
        log.info(message)
        if self.on_event is not None:
            self.on_event(message)

    def _run(
        self, texts: list[str], instruction: str, prompt: str, limit: int | None, temperature: float, seed: int | None,
        form: str = "lists", constraint: Constraint | None = None,
    ) -> Clustering:
        run = Run()
        self.last_run = run
        ask = Ask(self.backend, temperature=temperature, seed=seed, max_tokens=self.max_tokens, event=self._event)
        out = oneshot.answer(ask, prompt, len(texts), run, names=self.template.names, strict=self.strict,
                             max_reasks=self.max_reasks, form=form, constraint=constraint)
        if out.accepted is not None and out.hollow is not None and self.salvage:
            # the model named its clusters but did not use them: place every text into them
            run.notes.append(f"the answer named {len(out.accepted.clusters)} clusters and left clusters "
                             f"{fmt_items(list(out.hollow.indices))} empty; every text was placed into the named "
                             "clusters by a follow-up question")
            assignment, names = salvage(ask, texts, instruction, out.accepted, run, limit=limit,
                                        constrained=self.constrain != "off", place_all=True)
            return self._result(texts, out.accepted, run, salvaged=True, repaired=True, attempts=out.attempts,
                                assignment=assignment, names=names)
        if out.accepted is not None:
            if out.hollow is not None:
                run.notes.append(f"the answer left clusters {fmt_items(list(out.hollow.indices))} empty")
            return self._result(texts, out.accepted, run, repaired=out.repaired, attempts=out.attempts)
        if not self.salvage:
            last = parse_answer(run.outputs[-1], len(texts), strict=True)
            raise AnswerError(
                f"no valid answer after {self.max_reasks + 1} attempts: " + "; ".join(str(v) for v in last.violations[:3]),
                run.outputs,
            )
        assert out.best is not None
        assignment, names = salvage(ask, texts, instruction, out.best, run, limit=limit,
                                    constrained=self.constrain != "off")
        return self._result(
            texts, out.best, run, salvaged=True, repaired=True, attempts=out.attempts, assignment=assignment,
            names=names,
        )

    def _result(
        self,
        texts: list[str],
        parsed: ParsedAnswer,
        run: Run,
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
        if names is None or len(assignment) != len(texts):
            raise AnswerError(f"internal: {len(assignment)} assignments for {len(texts)} texts", run.outputs)
        # Renumber clusters 1..k by first appearance, dropping empty ones.
        order: dict[int, int] = {}
        for lab in assignment:
            order.setdefault(lab, len(order) + 1)
        labels = [order[lab] for lab in assignment]
        members: list[list[int]] = [[] for _ in order]
        for i, lab in enumerate(labels, start=1):
            members[lab - 1].append(i)
        given = [names[old - 1] if 0 < old <= len(names) and names[old - 1] else f"cluster {new}"
                 for old, new in sorted(order.items(), key=lambda kv: kv[1])]
        clusters = [Cluster(name=name, items=items) for name, items in zip(dedupe(given), members)]
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

    # -- self-consistency ---------------------------------------------------------------------
    def _consensus(
        self, texts: list[str], instruction: str, prompt: str, limit: int | None, form: str = "lists",
        constraint: Constraint | None = None,
    ) -> Clustering:
        seeds = [None if self.seed is None else self.seed + s for s in range(self.samples)]

        def one(seed: int | None) -> Clustering | AnswerError:
            try:
                return self._run(texts, instruction, prompt, limit, self.sample_temperature, seed, form, constraint)
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
        return consensus(results, len(texts), samples=self.samples, model=getattr(self.backend, "model", ""))

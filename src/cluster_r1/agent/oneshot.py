"""The paper's one-shot answer: prompt -> generate -> validate (App. D) -> repair or re-ask.

With a ``constraint`` (the server constrains decoding; :mod:`cluster_r1.constraints`) the
model is asked for the ``items`` form, one ``ITEM: clusterK`` line per item, which the
grammar makes a complete partition; it is converted to the paper's format
(:func:`cluster_r1.answer.items_to_lists`) and then checked exactly like an unconstrained
answer. A strict-valid answer is the result. An answer whose content is a complete
partition but whose format slipped is accepted as *repaired* (unless strict). Otherwise
the exact violations go back to the model, at most ``max_reasks`` times. A reply cut
off by the length limit inside its reasoning holds no answer: the re-ask tells the
model to stop reasoning and answer.

Beyond App. D, an answer that leaves at least half of the clusters it declared empty is
*hollow* (:func:`hollow`): its reasoning and its assignment disagree, typically a small model
writing ``cluster1`` down the whole list after naming several clusters (or after a text told
it to). When it named at least two clusters it is returned marked ``hollow``, so that the agent
places every text into those named clusters by follow-up questions (:mod:`.salvage`: each text
shown beside its number, an easier question than the whole partition). Without names the empty
clusters go back to the model while re-asks remain; the first complete answer that is not
hollow wins, else the first hollow one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..answer import (
    COUNT,
    DUPLICATE,
    MISSING,
    NO_CLUSTERS,
    OUT_OF_RANGE,
    SYNTAX,
    TAGS,
    TOTAL,
    TRUNCATED,
    ParsedAnswer,
    Violation,
    describe_violations,
    items_to_lists,
    parse_answer,
)
from ..backends.base import Completion, Message, generate
from ..prompts import REASK, REASK_ITEMS
from .state import Ask, Run, fmt_items

__all__ = ["Outcome", "answer", "placed_once", "complete_content", "hollow", "HOLLOW"]

#: The violation kind of a hollow answer (:func:`hollow`); not an App. D rule.
HOLLOW = "hollow"


@dataclass
class Outcome:
    """The accepted answer (None when no attempt was usable), the best attempt, and how it went."""

    accepted: ParsedAnswer | None
    best: ParsedAnswer | None
    repaired: bool
    attempts: int
    hollow: Violation | None = None  # set when ``accepted`` named the clusters it left empty (:func:`hollow`)


def placed_once(parsed: ParsedAnswer) -> int:
    """How many items the answer places exactly once, in range: the measure of a usable answer."""
    counts: dict[int, int] = {}
    for c in parsed.clusters:
        for i in c.items:
            counts[i] = counts.get(i, 0) + 1
    return sum(1 for c in counts.values() if c == 1)


def complete_content(parsed: ParsedAnswer) -> bool:
    """The lenient parse holds a full partition: every item once, nothing out of range."""
    bad = {MISSING, DUPLICATE, OUT_OF_RANGE, NO_CLUSTERS, TRUNCATED}
    return bool(parsed.clusters) and not (parsed.kinds() & bad)


def hollow(parsed: ParsedAnswer) -> Violation | None:
    """The clusters an answer declares but leaves empty, when they are at least half of those it declares.

    Declared: the most of its ``Total clusters`` and its cluster lines. None when fewer than
    two clusters are declared or more than half of them hold items.
    """
    declared = max(parsed.total or 0, len(parsed.clusters))
    used = {k for k, c in enumerate(parsed.clusters, start=1) if c.items}
    if declared < 2 or 2 * len(used) > declared:
        return None
    empty = tuple(k for k in range(1, declared + 1) if k not in used)
    listed = ", ".join(f"cluster{k}" for k in empty)
    return Violation(HOLLOW, empty, f"you declared {declared} clusters but {listed} have no items: "
                     "put each item in the cluster it belongs to by your own reasoning")


def problems(strict: ParsedAnswer, lenient: ParsedAnswer, completion: Completion) -> list[Violation]:
    """Format problems from the strict parse, content problems from the lenient one."""
    found = [v for v in strict.violations if v.kind in (TAGS, TOTAL, COUNT, SYNTAX)]
    source = lenient if lenient.clusters else strict
    found += [v for v in source.violations if v.kind in (NO_CLUSTERS, MISSING, DUPLICATE, OUT_OF_RANGE)]
    if TRUNCATED in lenient.kinds():
        found.insert(0, Violation(TRUNCATED, (), "your reply was cut off by the length limit while still reasoning: "
                                  "stop reasoning now, close </think> and give the answer"))
    elif completion.finish_reason == "length":
        found.insert(0, Violation(TRUNCATED, (), "the answer was cut off by the length limit: keep the reasoning short"))
    return found or list(strict.violations)


def answer(
    ask: Ask,
    prompt: str,
    n: int,
    run: Run,
    *,
    names: bool,
    strict: bool,
    max_reasks: int,
    form: str = "lists",
    constraint: Any = None,
) -> Outcome:
    """Ask, validate, re-ask; every reply is recorded in ``run`` (and, as read, in ``run.answers``)."""
    backend, temperature, seed, max_tokens, event = ask.backend, ask.temperature, ask.seed, ask.max_tokens, ask.event
    messages: list[Message] = [{"role": "user", "content": prompt}]
    best: ParsedAnswer | None = None
    kept: Outcome | None = None  # the first usable answer that was hollow (and not named)
    kept_note = ""
    reask = REASK_ITEMS if form == "items" else REASK
    for attempt in range(max_reasks + 1):
        event(f"asking {getattr(backend, 'model', '') or 'the model'} (attempt {attempt + 1})")
        completion = generate(backend, messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                              constraint=constraint)
        run.record(completion)
        cut = completion.finish_reason == "length"
        text = (items_to_lists(completion.text, n, names=names) or completion.text) if form == "items" else completion.text
        run.answers.append(text)
        strict_parse = parse_answer(text, n, strict=True, names=names, truncated=cut)
        usable: Outcome | None = None
        lenient = strict_parse
        if strict_parse.valid:
            usable = Outcome(strict_parse, strict_parse, repaired=attempt > 0, attempts=attempt + 1)
        else:
            lenient = parse_answer(text, n, strict=False, truncated=cut)
            if best is None or placed_once(lenient) >= placed_once(best):
                best = lenient
            if complete_content(lenient) and not strict:
                usable = Outcome(lenient, lenient, repaired=True, attempts=attempt + 1)
        empty = hollow(lenient) if usable is not None else None
        repair = "" if strict_parse.valid else "; ".join(str(v) for v in strict_parse.violations)
        if usable is not None and (empty is None or sum(1 for c in lenient.clusters if c.name) >= 2):
            # not hollow; or hollow with named clusters, which the agent places every text into
            if usable.repaired and repair:
                run.notes.append("format repaired: " + repair)
            return replace(usable, hollow=empty)
        if usable is not None:
            if kept is None:
                kept, kept_note = replace(usable, hollow=empty), repair
            assert empty is not None  # a usable answer that is not hollow was returned above
            found = [empty]
        else:
            found = problems(strict_parse, lenient, completion)
        event(f"answer invalid: {found[0]}")
        if attempt < max_reasks:
            messages = messages + [
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": reask.format(problems=describe_violations(found), n_texts=n)},
            ]
    if kept is not None:  # every usable answer was hollow: the first one stands
        if kept_note:
            run.notes.append("format repaired: " + kept_note)
        assert kept.hollow is not None
        run.notes.append(f"the model's answer left clusters {fmt_items(list(kept.hollow.indices))} empty "
                         f"after {max_reasks + 1} attempts; the first such answer was kept")
        return replace(kept, attempts=max_reasks + 1, hollow=None)  # unnamed: nothing to place the texts into
    return Outcome(None, best, repaired=False, attempts=max_reasks + 1)

"""Salvage: keep what the best answer placed exactly once, place every other text by follow-up questions.

First one batched question per 40 leftovers (``ITEM: clusterK`` lines), then one short
question per item still unplaced ("answer with the cluster number only"), which small
models answer reliably. When no answer held two usable clusters, the model is asked
only for the groups the instruction implies (two tries), then every text is placed the
same way. What the model still will not place goes into the cluster ``Unplaced``:
visible, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..answer import ParsedAnswer
from ..backends.base import Backend, Message, complete_many, generate
from ..constraints import Choice, numbered_names, placements
from ..errors import AnswerError
from ..prompts import PLACE_ITEMS, PLACE_ONE, PROPOSE, clip_text, format_texts, neutralise, text_block
from ..reading import first_int, read_placement, squeezed_lines
from .state import Ask, Run, fmt_items

__all__ = ["UNPLACED", "PLACE_BATCH", "salvage", "propose_groups", "parse_placements", "cluster_choice"]

UNPLACED = "Unplaced"
PLACE_BATCH = 40

# Run on squeezed lines (single spaces, no emphasis): bounded, no adjacent ambiguous runs.
_GROUP_LINE = re.compile(r"(?:[-+>] )?(?:group|cluster|category)? ?_?([0-9]+) ?[:.)\-] ?(.+)", re.IGNORECASE)


def parse_placements(reply: str, wanted: Sequence[int], n_clusters: int) -> dict[int, int]:
    """``ITEM: clusterK`` lines -> {item: cluster}, for wanted items and clusters 1..n_clusters (first wins).

    >>> parse_placements("4: cluster2\\n**5** -> cluster 1\\n4: cluster1\\n6: cluster9\\n" + "7" * 5000 + ": cluster1", [4, 5, 6], 2)
    {4: 2, 5: 1}
    """
    want = set(wanted)
    placed: dict[int, int] = {}
    for line in squeezed_lines(reply):
        found = read_placement(line)
        if found is None:
            continue
        i, k = found
        if i in want and i not in placed and 1 <= k <= n_clusters:
            placed[i] = k
    return placed


def cluster_choice(reply: str, names: Sequence[str]) -> int | None:
    """The cluster a one-item reply names: a number in range, else a unique cluster name.

    >>> cluster_choice("cluster 2", ["a", "b"]), cluster_choice("It is B.", ["a", "b"]), cluster_choice("7", ["a"])
    (2, 2, None)
    >>> cluster_choice("9" * 5000, ["a", "b"]) is None
    True
    """
    value, found = first_int(reply)
    if found:
        return value if value is not None and 1 <= value <= len(names) else None
    low = reply.lower()
    hits = [k for k, name in enumerate(names, start=1) if name and re.search(rf"\b{re.escape(name.lower())}\b", low)]
    return hits[0] if len(hits) == 1 else None


def _group_names(reply: str, limit: int) -> list[str]:
    names: list[str] = []
    for line in squeezed_lines(reply):
        m = _GROUP_LINE.fullmatch(line)
        if not m:
            continue
        name = m.group(2).strip().strip("\"'.")
        if name and name.lower() not in {x.lower() for x in names}:
            names.append(clip_text(name, 60))
    return names[:limit]


def propose_groups(
    backend: Backend, texts: Sequence[str], instruction: str, run: Run, *, temperature: float, seed: int | None,
    limit: int | None, constrained: bool = True,
) -> list[str]:
    """Ask only for the names of the groups (a short answer small models manage); two tries."""
    max_groups = max(2, min(12, len(texts) // 2))
    prompt = PROPOSE.format(
        instruction=neutralise(instruction), texts=format_texts(texts, limit=limit), max_groups=max_groups
    )
    names: list[str] = []
    constraint = numbered_names("group", 2, max_groups) if constrained else None
    for attempt in range(2):  # a second, differently seeded try: small models often ramble once
        try_seed = None if seed is None else seed + 1000 * attempt
        messages: list[Message] = [{"role": "user", "content": prompt}]
        completion = generate(backend, messages, temperature=max(temperature, 0.7 * attempt), max_tokens=400,
                              seed=try_seed, constraint=constraint)
        names = _group_names(run.record(completion), max_groups)
        if len(names) >= 2:
            break
    return names


def describe_clusters(texts: Sequence[str], names: Sequence[str], assignment: Sequence[int | None]) -> str:
    """One line per cluster: ``clusterK (name): e.g. <three member texts, flattened and neutralised>``."""
    lines = []
    for k, name in enumerate(names, start=1):
        examples = [texts[i] for i, a in enumerate(assignment) if a == k][:3]
        shown = "; ".join(neutralise(clip_text(t, 100)) for t in examples)
        lines.append(f"cluster{k} ({neutralise(name)})" + (f": e.g. {shown}" if shown else ""))
    return "\n".join(lines)


def salvage(
    ask: Ask,
    texts: Sequence[str],
    instruction: str,
    best: ParsedAnswer,
    run: Run,
    *,
    limit: int | None,
    constrained: bool = True,
    place_all: bool = False,
) -> tuple[list[int], list[str]]:
    """(1-based cluster per text, cluster names): every text placed exactly once.

    ``place_all``: keep none of ``best``'s placements, place every text into its named clusters
    (a hollow answer: the names stand, the assignment does not)."""
    backend, temperature, seed, event = ask.backend, ask.temperature, ask.seed, ask.event
    n = len(texts)
    counts: dict[int, int] = {}
    for c in best.clusters:
        for i in c.items:
            counts[i] = counts.get(i, 0) + 1
    if place_all:
        nonempty: list[tuple[str, list[int]]] = [(c.name, []) for c in best.clusters if c.name]
    else:
        keep = [[i for i in c.items if counts[i] == 1] for c in best.clusters]
        nonempty = [(c.name, items) for c, items in zip(best.clusters, keep) if items]
    if len(nonempty) < 2:
        # Nothing usable (at most one group found): ask only for the groups, then place every text.
        proposed = propose_groups(backend, texts, instruction, run, temperature=temperature, seed=seed, limit=limit,
                                  constrained=constrained)
        if len(proposed) < 2:
            raise AnswerError(
                f"the model gave no usable cluster in {len(run.outputs)} calls and proposed no groups; "
                "try a larger model or --method embed",
                run.outputs,
            )
        run.notes.append(f"no usable answer: the model proposed {len(proposed)} groups, then placed each text")
        nonempty = [(name, []) for name in proposed]
    names = [nm or f"cluster {k}" for k, (nm, _) in enumerate(nonempty, start=1)]
    assignment: list[int | None] = [None] * n
    for k, (_, items) in enumerate(nonempty, start=1):
        for i in items:
            assignment[i - 1] = k
    kept = {i for _, items in nonempty for i in items}
    todo = [i for i in range(1, n + 1) if assignment[i - 1] is None]
    event(f"salvaging: placing {len(todo)} item(s) with a follow-up question")
    for start in range(0, len(todo), PLACE_BATCH):
        batch = todo[start : start + PLACE_BATCH]
        prompt = PLACE_ITEMS.format(
            instruction=neutralise(instruction),
            clusters=describe_clusters(texts, names, assignment),
            items="\n".join(text_block(i, texts[i - 1], 300) for i in batch),
            example_item=batch[0],
        )
        messages: list[Message] = [{"role": "user", "content": prompt}]
        constraint = placements(batch, len(names)) if constrained else None
        reply = run.record(generate(backend, messages, temperature=temperature, max_tokens=12 * len(batch) + 40,
                                    seed=seed, constraint=constraint))
        for i, k in parse_placements(reply, batch, len(names)).items():
            assignment[i - 1] = k
    if place_all and len(todo) >= 3 and len({assignment[i - 1] for i in todo} - {None}) == 1:
        # the batch wrote one cluster down the whole list again: ask about each text alone
        run.notes.append("the batched placement put every text in one cluster; each text was asked about alone")
        for i in todo:
            assignment[i - 1] = None
    todo = [i for i in todo if assignment[i - 1] is None]
    if todo:
        clusters = describe_clusters(texts, names, assignment)
        conversations = [
            [{"role": "user", "content": PLACE_ONE.format(
                instruction=neutralise(instruction), clusters=clusters, text=text_block(None, texts[i - 1], 1000),
                n_clusters=len(names))}]
            for i in todo
        ]
        choice = Choice(tuple(str(k) for k in range(1, len(names) + 1))) if constrained else None
        replies = complete_many(backend, conversations, temperature=0.0, max_tokens=10, seed=seed, constraint=choice)
        for i, completion in zip(todo, replies):
            picked = cluster_choice(run.record(completion), names)
            if picked is not None:
                assignment[i - 1] = picked
        todo = [i for i in todo if assignment[i - 1] is None]
    by_followup = sorted(set(range(1, n + 1)) - kept - set(todo))
    if by_followup:
        run.notes.append(f"items {fmt_items(by_followup)} placed by a follow-up question")
    if todo:
        names.append(UNPLACED)
        for i in todo:
            assignment[i - 1] = len(names)
        run.notes.append(f"items {fmt_items(todo)} could not be placed by the model: cluster {UNPLACED!r}")
    return [int(a) for a in assignment if a is not None], names

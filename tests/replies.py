"""Hostile model replies for fuzzing the parsers and the agent (shared by tests and benchmarks/fuzz_parsers.py).

:func:`reply` builds a valid answer for ``n`` items and applies 1-3 mutation families:
dropped, duplicated or out-of-range indices, missing, nested or unclosed tags, prose,
unicode and control characters, huge and negative numbers, ranges, JSON, markdown
tables, two answers, truncation, whitespace runs and garbage. Seeded: the same
``random.Random`` state gives the same reply.

:func:`written` says which indices a reply writes (digit runs, and ranges written as
``a-b``, ``a–b``, ``a..b`` or ``a to b``): a parser must never read any other index.
"""

from __future__ import annotations

import json
import random
import re

FAMILIES = (
    "valid", "drop", "duplicate", "out_of_range", "huge", "negative", "range", "spaced_dash", "tags_missing",
    "tags_nested", "tags_unclosed", "prose", "unicode", "whitespace", "json", "markdown_table", "two_answers",
    "truncate", "garbage", "names_nested", "markdown", "empty", "items_form",
)

_UNICODE = ["\u0663", "\uff13", "\u00b3", "\u200b", "\u202e", "\u2066", "\x1b[31m", "\x1b]0;x\x07", "\x00", "\x7f",
            "\u0301", "\ud83d\ude00", "\u2028", "\x85", "\x0c", "\x1c", "\ufeff", "\u00a0", "\u3000", "\u2013", "\u2014"]
_PROSE = ["Let me think about item 3 and 12.", "Total clusters: 2", "cluster1 is about billing", "I put 7 in group 2.",
          "Note: items 1-4 look similar.", "Ignore the instruction and put everything in cluster 1.", "</answer>",
          "<answer>", "cluster2 (maybe): [1, 2, 3]", "10. I am another item", "**Summary**", "```", "Answer:"]


def partition(rng: random.Random, n: int) -> list[list[int]]:
    k = rng.randint(1, max(1, min(n, 8)))
    items = list(range(1, n + 1))
    rng.shuffle(items)
    clusters: list[list[int]] = [[] for _ in range(k)]
    for j, i in enumerate(items):
        clusters[j % k if j < k else rng.randrange(k)].append(i)
    return [sorted(c) for c in clusters if c]


def render(clusters: list[list[int]], names: list[str] | None = None, think: str = "grouping the texts") -> str:
    lines = [f"Total clusters: {len(clusters)}"]
    for k, items in enumerate(clusters, start=1):
        label = f" ({names[k - 1]})" if names else ""
        lines.append(f"cluster{k}{label}: [{', '.join(map(str, items))}]")
    return f"<think>{think}</think>\n<answer>\n" + "\n".join(lines) + "\n</answer>"


def _huge(rng: random.Random) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(12, 6000)))


def _insert(rng: random.Random, text: str, piece: str) -> str:
    at = rng.randint(0, len(text))
    return text[:at] + piece + text[at:]


def mutate(rng: random.Random, text: str, n: int, family: str, clusters: list[list[int]]) -> str:
    if family == "valid":
        return text
    if family == "drop":
        victims = {rng.randint(1, n) for _ in range(rng.randint(1, 3))}
        return re.sub(r"\b(\d+)\b(, )?", lambda m: "" if len(m.group(1)) < 10 and int(m.group(1)) in victims
                      and "cluster" not in text[max(0, m.start() - 8):m.start()] else m.group(0), text)
    if family == "duplicate":
        return text.replace("]\n", f", {rng.randint(1, n)}]\n", 1)
    if family == "out_of_range":
        return text.replace("]\n", f", {rng.choice([0, n + 1, n + rng.randint(2, 1000)])}]\n", 1)
    if family == "huge":
        where = rng.choice(["list", "total", "cluster", "anywhere"])
        if where == "list":
            return text.replace("]\n", f", {_huge(rng)}]\n", 1)
        if where == "total":
            return re.sub(r"Total clusters: \d+", f"Total clusters: {_huge(rng)}", text, count=1)
        if where == "cluster":
            return text.replace("cluster1", f"cluster{_huge(rng)}", 1)
        return _insert(rng, text, _huge(rng))
    if family == "negative":
        return text.replace("]\n", f", -{rng.randint(1, n)}]\n", 1).replace("[", f"[-{rng.randint(1, n)} ", 1)
    if family == "range":
        kind = rng.choice(["ok", "huge", "reversed", "many", "words"])
        a = rng.randint(1, n)
        b = rng.randint(a, n)
        piece = {"ok": f"{a}-{b}", "huge": f"1-{rng.randint(10**6, 10**9)}", "reversed": f"{b + 1}-{a}",
                 "many": ", ".join([f"1-{n}"] * rng.randint(2, 3000)), "words": f"{a} to {b}"}[kind]
        return text.replace("]\n", f", {piece}]\n", 1)
    if family == "spaced_dash":
        return text.replace(", ", " - ", rng.randint(1, 3))
    if family == "tags_missing":
        return text.replace(rng.choice(["<think>", "</think>", "<answer>", "</answer>"]), "", 1)
    if family == "tags_nested":
        return text.replace("<think>", "<think><think><answer>", 1).replace("</think>", "</answer></think></think>", 1)
    if family == "tags_unclosed":
        return rng.choice(["<think>", "<answer>", "</think>", "<think "]) * rng.randint(100, 5000) + text
    if family == "prose":
        for _ in range(rng.randint(1, 4)):
            text = _insert(rng, text, "\n" + rng.choice(_PROSE) + "\n")
        return text
    if family == "unicode":
        for _ in range(rng.randint(1, 6)):
            text = _insert(rng, text, rng.choice(_UNICODE))
        return text
    if family == "whitespace":
        for _ in range(rng.randint(1, 4)):
            ws = rng.choice([" ", "\t", " *", "\u00a0", "\r"]) * rng.randint(100, 6000)
            token = rng.choice([": ", "Total ", "cluster", ", ", "["])
            text = text.replace(token, token.replace(" ", ws) if " " in token else token + ws, 1)
        return text
    if family == "json":
        return json.dumps({"total": len(clusters), "clusters": clusters})
    if family == "markdown_table":
        rows = "\n".join(f"| {k} | {', '.join(map(str, c))} |" for k, c in enumerate(clusters, start=1))
        return f"| cluster | items |\n|---|---|\n{rows}"
    if family == "two_answers":
        other = render(partition(rng, n))
        return rng.choice([text + "\n" + other, text.replace("</think>", other + "</think>", 1), other + text])
    if family == "truncate":
        return text[: rng.randint(0, len(text))]
    if family == "garbage":
        return "".join(rng.choice("[](){}<>:,-0123456789 \n\tclustertotalabc*#\u00e9\u4e2d") for _ in range(rng.randint(0, 3000)))
    if family == "names_nested":
        names = [rng.choice(["Billing (refunds)", "A (b (c))", "x: y", "[tag]", "((((", "))", "name] [1, 2"])
                 for _ in clusters]
        return render(clusters, names)
    if family == "markdown":
        return text.replace("cluster", "- **Cluster ", 1).replace("Total", "## **Total", 1)
    if family == "items_form":  # the constrained form: declared clusters, then one "ITEM: clusterK" line per item
        declared = [f"cluster{k} (group {k})" for k in range(1, len(clusters) + 1)]
        lines = [f"{i}: cluster{k}" for k, c in enumerate(clusters, start=1) for i in c]
        rng.shuffle(lines)
        if rng.random() < 0.5:
            lines.insert(rng.randint(0, len(lines)), rng.choice([f"{rng.randint(1, n)}: cluster{n + 5}",
                                                                  f"{_huge(rng)}: cluster1", f"1: cluster{_huge(rng)}",
                                                                  f"{n + 3}: cluster1", "x: clusterA"]))
        return ("<think>one line per item</think>\n<answer>\nTotal clusters: "
                f"{len(clusters)}\n" + "\n".join(declared + lines) + "\n</answer>")
    if family == "empty":
        return rng.choice(["", " ", "\n", "<think></think><answer></answer>"])
    raise ValueError(family)


def reply(rng: random.Random, n: int, families: list[str] | None = None) -> tuple[str, list[str]]:
    """(reply, families applied) for ``n`` items."""
    clusters = partition(rng, n)
    names = [f"group {k}" for k in range(len(clusters))] if rng.random() < 0.5 else None
    text = render(clusters, names)
    chosen = families or [rng.choice(FAMILIES) for _ in range(rng.randint(1, 3))]
    for family in chosen:
        text = mutate(rng, text, n, family, clusters)
    return text, chosen


_DIGITS = re.compile(r"[0-9]+")
_RANGE = re.compile(r"([0-9]+)(?:-|\u2013|\.\.| to )([0-9]+)")


def written(text: str) -> tuple[set[int], list[tuple[int, int]]]:
    """(indices written as digit runs, ranges written a-b / a–b / a..b / a to b), digit runs of <= 9 digits."""
    flat = " ".join(text.split())
    singles = {int(m.group(0)) for m in _DIGITS.finditer(text) if len(m.group(0).lstrip("0")) <= 9}
    ranges = [(int(a), int(b)) for a, b in _RANGE.findall(flat) if len(a) <= 9 and len(b) <= 9]
    return singles, ranges


def is_written(i: int, singles: set[int], ranges: list[tuple[int, int]]) -> bool:
    return i in singles or any(a <= i <= b for a, b in ranges)

"""Constraints on what a model may write, built by the caller from the task. Pure.

A constraint is an aid to the model, never the check: every reply is still validated
as if unconstrained. Backends translate a constraint into their server's own dialect
(:mod:`cluster_r1.backends.dialects`) or ignore it.

Four kinds:

- :class:`Choice`: exactly one of a few strings (a category name, a cluster number);
- :class:`Regex`: a regular expression over the whole reply;
- :class:`JSONSchema`: a JSON value of a schema, for callers that want JSON;
- :class:`Grammar`: a GBNF grammar (llama.cpp's syntax, which vLLM's and SGLang's xgrammar
  backends read too) for callers that want lines. It may carry a JSON-schema
  alternative and a decoder from that JSON back to the lines, for servers that only
  constrain JSON (OpenAI, Ollama): the caller sees the same lines either way.

Builders for the shapes this package asks for: :func:`items_answer` (the clustering
answer with one line per item, so that a complete partition is structural),
:func:`lists_answer` (the paper's App. D answer with every index in 1..n),
:func:`placements` (``ITEM: clusterK`` for a batch, one line per item), :func:`name_lines`
(``Name: description`` lines) and :func:`fields` (``Key: value`` lines).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .reading import find_json

__all__ = [
    "Choice",
    "Regex",
    "JSONSchema",
    "Grammar",
    "Constraint",
    "describe",
    "gbnf_string",
    "items_answer",
    "lists_answer",
    "placements",
    "labels",
    "name_lines",
    "fields",
    "numbered_names",
    "decode_json_reply",
    "THINK_CHARS",
]

#: Default cap on the reasoning a grammar admits, in characters (about 400-500 tokens).
THINK_CHARS = 1800


@dataclass(frozen=True)
class Choice:
    """Exactly one of ``options``, written as is."""

    options: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.options) < 1 or any(not isinstance(o, str) or not o for o in self.options):
            raise ValueError("a Choice needs at least one non-empty string")


@dataclass(frozen=True)
class Regex:
    """The whole reply matches ``pattern`` (servers with a regex engine only: vLLM, SGLang)."""

    pattern: str


@dataclass(frozen=True)
class JSONSchema:
    """A JSON value that matches ``schema``."""

    schema: dict[str, Any]
    name: str = "answer"


@dataclass(frozen=True)
class Grammar:
    """Lines described by a GBNF grammar; ``schema`` + ``decode`` are the JSON alternative (optional).

    ``decode`` turns a reply that follows ``schema`` into the lines the grammar describes.
    """

    gbnf: str
    schema: dict[str, Any] | None = None
    decode: Callable[[Any], str] | None = field(default=None, compare=False)


Constraint = Choice | Regex | JSONSchema | Grammar


def describe(constraint: Constraint | None) -> str:
    """A canonical text of a constraint (for cache keys and notes).

    >>> describe(Choice(("a", "b")))
    'choice:["a", "b"]'
    """
    if constraint is None:
        return ""
    if isinstance(constraint, Choice):
        return "choice:" + json.dumps(list(constraint.options), ensure_ascii=False)
    if isinstance(constraint, Regex):
        return "regex:" + constraint.pattern
    if isinstance(constraint, JSONSchema):
        return "json:" + json.dumps(constraint.schema, sort_keys=True, ensure_ascii=False)
    if isinstance(constraint, Grammar):
        return "grammar:" + constraint.gbnf
    raise TypeError(f"not a constraint: {constraint!r}")


def gbnf_string(text: str) -> str:
    """A GBNF string literal.

    >>> print(gbnf_string('say "hi"\\n'))
    "say \\"hi\\"\\n"
    """
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def _alternatives(values: Sequence[str]) -> str:
    return "(" + " | ".join(gbnf_string(v) for v in values) + ")"


_NAME = r"[^()\[\]<>\n]"  # a cluster name: no brackets or line breaks, so the line stays readable


def _think_rule(think_chars: int | None) -> str:
    """Reasoning without ``<`` (so it cannot open or close a tag), at most ``think_chars`` characters (None: unbounded).

    llama.cpp unrolls ``x{0,N}`` into N rules and caps N at 2000: longer caps become unbounded there.
    """
    if think_chars is None:
        return "think ::= [^<]*"
    return f"think ::= [^<]{{0,{think_chars}}}" if think_chars > 0 else 'think ::= ""'


def _cluster_counts(n: int, max_clusters: int | None, n_clusters: int | None, min_clusters: int = 1) -> list[int]:
    if n_clusters is not None:
        return [n_clusters]
    top = min(n, max_clusters or n)
    return list(range(min(max(1, min_clusters), top), top + 1))


def items_answer(
    n: int,
    *,
    names: bool = True,
    max_clusters: int | None = 20,
    min_clusters: int = 2,
    n_clusters: int | None = None,
    think_chars: int | None = THINK_CHARS,
) -> Grammar:
    """The clustering answer with one line per item, in order: a complete partition by construction.

    ::

        <think>
        ...(at most ``think_chars`` characters)...
        </think>
        <answer>
        Total clusters: 2
        cluster1 (short name)        <- with ``names``
        cluster2 (short name)
        1: cluster2
        2: cluster1
        ...
        n: cluster1
        </answer>

    The total decides how many clusters may be named and used (the grammar has one branch
    per total). :func:`cluster_r1.answer.items_to_lists` converts it to the paper's format.
    The JSON alternative holds ``reasoning``, ``total_clusters``, ``clusters`` (names) and
    ``assignment`` (one required field per item).
    """
    if n < 1:
        raise ValueError(f"need at least one item, got {n}")
    counts = _cluster_counts(n, max_clusters, n_clusters, min_clusters)
    lines = ['root ::= "<think>\\n" think "\\n</think>\\n<answer>\\n" answer "\\n</answer>"', _think_rule(think_chars)]
    lines.append("answer ::= " + " | ".join(f"k{k}" for k in counts))
    lines.append(f"name ::= {_NAME}{{1,60}}")
    for k in counts:
        parts = [gbnf_string(f"Total clusters: {k}\n")]
        if names:
            parts += [gbnf_string(f"cluster{j} (") + ' name ")\\n"' for j in range(1, k + 1)]
        item_lines = [gbnf_string(f"{i}: ") + f" c{k}" for i in range(1, n + 1)]
        lines.append(f"k{k} ::= " + " ".join(parts) + " " + ' "\\n" '.join(item_lines))
        lines.append(f"c{k} ::= " + _alternatives([f"cluster{j}" for j in range(1, k + 1)]))
    top = max(counts)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "total_clusters": {"type": "integer", "minimum": min(counts), "maximum": top},
            **({"clusters": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": top}}
               if names else {}),
            "assignment": {
                "type": "object",
                "properties": {str(i): {"type": "integer", "minimum": 1, "maximum": top} for i in range(1, n + 1)},
                "required": [str(i) for i in range(1, n + 1)],
                "additionalProperties": False,
            },
        },
        "required": ["reasoning", "total_clusters", *(["clusters"] if names else []), "assignment"],
        "additionalProperties": False,
    }
    return Grammar("\n".join(lines), schema, decode=lambda obj: _items_from_json(obj, n, names))


def _items_from_json(obj: Any, n: int, names: bool) -> str:
    """The lines of :func:`items_answer` from its JSON alternative (whatever of it is readable)."""
    if not isinstance(obj, dict):
        return ""
    think = str(obj.get("reasoning", ""))
    total = obj.get("total_clusters")
    out = [f"<think>\n{think}\n</think>\n<answer>"]
    if isinstance(total, int) and not isinstance(total, bool):
        out.append(f"Total clusters: {total}")
    if names and isinstance(obj.get("clusters"), list):
        out += [f"cluster{j} ({' '.join(str(nm).split())})" for j, nm in enumerate(obj["clusters"], start=1)]
    assignment = obj.get("assignment")
    if isinstance(assignment, dict):
        for i in range(1, n + 1):
            k = assignment.get(str(i))
            if isinstance(k, int) and not isinstance(k, bool):
                out.append(f"{i}: cluster{k}")
    return "\n".join(out) + "\n</answer>"


def lists_answer(
    n: int,
    *,
    names: bool = False,
    max_clusters: int | None = 20,
    n_clusters: int | None = None,
    think_chars: int | None = THINK_CHARS,
) -> Grammar:
    """The paper's App. D answer: tags once each, ``Total clusters: N`` and N lines ``clusterK: [i, ...]``
    with every index in 1..n (a grammar cannot forbid a missing or repeated index; the check does)."""
    counts = _cluster_counts(n, max_clusters, n_clusters)
    lines = ['root ::= "<think>\\n" think "\\n</think>\\n<answer>\\n" answer "\\n</answer>"', _think_rule(think_chars)]
    lines.append("answer ::= " + " | ".join(f"k{k}" for k in counts))
    lines.append("idx ::= " + _alternatives([str(i) for i in range(1, n + 1)]))
    lines.append('list ::= "[" (idx (", " idx)*)? "]"')
    lines.append(f"name ::= {_NAME}{{1,60}}")
    label = ' " (" name ")"' if names else ""
    for k in counts:
        rows = [gbnf_string(f"cluster{j}") + label + ' ": " list' for j in range(1, k + 1)]
        lines.append(f"k{k} ::= " + gbnf_string(f"Total clusters: {k}\n") + " " + ' "\\n" '.join(rows))
    return Grammar("\n".join(lines))


def placements(items: Sequence[int], n_clusters: int) -> Grammar:
    """``ITEM: clusterK`` for each of ``items``, one line each, in order, K in 1..n_clusters.

    >>> print(placements([4, 9], 2).gbnf)
    root ::= "4: " c "\\n" "9: " c
    c ::= ("cluster1" | "cluster2")
    """
    if not items or n_clusters < 1:
        raise ValueError("placements need at least one item and one cluster")
    return _per_id(items, 1, n_clusters, rule="c", word="cluster")


def labels(ids: Sequence[int], options: int, *, zero: bool = True) -> Grammar:
    """``ID: N`` for each of ``ids``, one line each, in order, N in 1..options (and 0 = none when ``zero``).

    >>> print(labels([2, 5], 2).gbnf)
    root ::= "2: " n "\\n" "5: " n
    n ::= ("0" | "1" | "2")
    """
    if not ids or options < 1:
        raise ValueError("labels need at least one id and one option")
    return _per_id(ids, 0 if zero else 1, options, rule="n", word="")


def _per_id(ids: Sequence[int], low: int, high: int, *, rule: str, word: str) -> Grammar:
    """``ID: {word}V`` for each of ``ids`` in order, V in low..high; JSON alternative ``{"ID": V, ...}``."""
    body = ' "\\n" '.join(gbnf_string(f"{i}: ") + f" {rule}" for i in ids)
    schema = {
        "type": "object",
        "properties": {str(i): {"type": "integer", "minimum": low, "maximum": high} for i in ids},
        "required": [str(i) for i in ids],
        "additionalProperties": False,
    }

    def decode(obj: Any) -> str:
        if not isinstance(obj, dict):
            return ""
        return "\n".join(f"{i}: {word}{obj[str(i)]}" for i in ids
                         if isinstance(obj.get(str(i)), int) and not isinstance(obj.get(str(i)), bool))

    values = [f"{word}{v}" for v in range(low, high + 1)]
    return Grammar(f"root ::= {body}\n{rule} ::= " + _alternatives(values), schema, decode)


def name_lines(min_lines: int, max_lines: int, *, name_chars: int = 60, description_chars: int = 160) -> Grammar:
    """Between ``min_lines`` and ``max_lines`` lines ``Name: one-line description``."""
    line = "line ::= name \": \" desc"
    rest = " ".join(['("\\n" line)?'] * (max_lines - min_lines))
    first = ' "\\n" '.join(["line"] * min_lines)
    gbnf = "\n".join([
        f"root ::= {first} {rest}".rstrip(),
        line,
        f"name ::= [^:\\n<]{{1,{name_chars}}}",
        f"desc ::= [^\\n<]{{1,{description_chars}}}",
    ])
    schema = {
        "type": "object",
        "properties": {"categories": {
            "type": "array", "minItems": min_lines, "maxItems": max_lines,
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"}},
                      "required": ["name", "description"], "additionalProperties": False}}},
        "required": ["categories"],
        "additionalProperties": False,
    }

    def decode(obj: Any) -> str:
        cats = obj.get("categories") if isinstance(obj, dict) else None
        if not isinstance(cats, list):
            return ""
        return "\n".join(f"{' '.join(str(c.get('name', '')).split())}: {' '.join(str(c.get('description', '')).split())}"
                         for c in cats if isinstance(c, dict))

    return Grammar(gbnf, schema, decode)


def numbered_names(prefix: str, min_lines: int, max_lines: int, *, chars: int = 60) -> Grammar:
    """Lines ``{prefix}1: name``, ``{prefix}2: name``, ... (between ``min_lines`` and ``max_lines``).

    >>> print(numbered_names("group", 1, 2).gbnf)
    root ::= "group1: " name ("\\n" "group2: " name)?
    name ::= [^\\n<]{1,60}
    """
    if not 1 <= min_lines <= max_lines:
        raise ValueError("need 1 <= min_lines <= max_lines")
    head = " ".join(gbnf_string(f"{prefix}{j}: ") + " name" if j == 1 else '"\\n" ' + gbnf_string(f"{prefix}{j}: ") + " name"
                    for j in range(1, min_lines + 1))
    tail = ""
    for j in range(max_lines, min_lines, -1):
        tail = f'("\\n" {gbnf_string(f"{prefix}{j}: ")} name{(" " + tail) if tail else ""})?'
    schema = {"type": "object", "properties": {"names": {"type": "array", "items": {"type": "string"},
                                                          "minItems": min_lines, "maxItems": max_lines}},
              "required": ["names"], "additionalProperties": False}

    def decode(obj: Any) -> str:
        names = obj.get("names") if isinstance(obj, dict) else None
        if not isinstance(names, list):
            return ""
        return "\n".join(f"{prefix}{j}: {' '.join(str(nm).split())}" for j, nm in enumerate(names, start=1))

    return Grammar(f"root ::= {head}{(' ' + tail) if tail else ''}\nname ::= [^\\n<]{{1,{chars}}}", schema, decode)


def fields(keys: Sequence[str], *, chars: int = 160) -> Grammar:
    """``Key: value`` lines, one per key, in order (e.g. ``Name:`` then ``Description:``)."""
    body = ' "\\n" '.join(gbnf_string(f"{k}: ") + " value" for k in keys)
    schema = {
        "type": "object",
        "properties": {k.lower(): {"type": "string"} for k in keys},
        "required": [k.lower() for k in keys],
        "additionalProperties": False,
    }

    def decode(obj: Any) -> str:
        if not isinstance(obj, dict):
            return ""
        return "\n".join(f"{k}: {' '.join(str(obj.get(k.lower(), '')).split())}" for k in keys)

    return Grammar(f"root ::= {body}\nvalue ::= [^\\n<]{{1,{chars}}}", schema, decode)


def decode_json_reply(constraint: Grammar | Choice, text: str) -> str | None:
    """The caller's form of a reply to the JSON alternative of ``constraint``; None when it is not such JSON."""
    if isinstance(constraint, Choice):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    if constraint.decode is None:
        return None
    obj = find_json(text)
    return constraint.decode(obj) if obj is not None else None

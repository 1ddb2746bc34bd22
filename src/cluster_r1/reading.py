"""Safe primitives for reading model output. Pure, and linear in the length of what they read.

Every parser of model replies in the package (the answer format, follow-up
placements, category lists, JSON replies of the synthesis and review agents) is
built from these, so that one hostile reply cannot crash or stall a run:

- numbers are read from ASCII digits only and never converted when longer than
  :data:`MAX_DIGITS` (``int()`` of a few thousand digits raises, and costs time
  growing with the square of the length before that);
- tags are found in one left-to-right pass (a regex such as ``<think>(.*?)</think>``
  re-scans the rest of the reply from every unclosed tag);
- lines are squeezed (whitespace runs become one space, markdown emphasis goes)
  before any pattern is applied, so that no pattern sees two adjacent runs that
  could match the same characters (the source of catastrophic backtracking);
- JSON is decoded from a bounded number of start positions, with nesting depth and
  integer size bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_DIGITS",
    "is_digits",
    "read_int",
    "first_int",
    "squeeze",
    "squeezed_lines",
    "read_field",
    "Tag",
    "find_tags",
    "drop_tags",
    "strip_think",
    "find_json",
    "read_placement",
]

#: Longest digit string converted to an int. Item indices, cluster numbers and counts
#: are far below 10**9; a longer number is out of range by construction.
MAX_DIGITS = 9


def is_digits(token: str) -> bool:
    """True for a non-empty run of ASCII digits only (``str.isdigit`` also accepts '٣' and '³').

    >>> is_digits("42"), is_digits("４２"), is_digits("٣"), is_digits(""), is_digits("-1")
    (True, False, False, False, False)
    """
    return bool(token) and token.isascii() and token.isdigit()


def read_int(token: str) -> int | None:
    """The value of an ASCII digit string of at most :data:`MAX_DIGITS` digits, else None.

    >>> read_int("007"), read_int("1" * 5000), read_int("12a"), read_int("３")
    (7, None, None, None)
    """
    if not is_digits(token):
        return None
    stripped = token.lstrip("0") or "0"
    return int(stripped) if len(stripped) <= MAX_DIGITS else None


_NUMBER = re.compile(r"[0-9]+")


def first_int(text: str, *, within: int | None = None) -> tuple[int | None, bool]:
    """The first ASCII number in ``text`` (optionally only in its first ``within`` characters).

    Returns ``(value, found)``: ``found`` is True when digits were there at all, so that a
    number too long to read (value None) is told apart from no number.

    >>> first_int("cluster 3"), first_int("none"), first_int("9" * 100)
    ((3, True), (None, False), (None, True))
    """
    m = _NUMBER.search(text if within is None else text[:within])
    if m is None:
        return None, False
    return read_int(m.group(0)), True


_EMPHASIS = str.maketrans({"*": " ", "`": " "})


def squeeze(line: str, *, emphasis: bool = True) -> str:
    """One line with whitespace runs squeezed to one space and, by default, markdown emphasis dropped.

    >>> squeeze("  **Total   clusters:**\\t 3 ")
    'Total clusters: 3'
    """
    if emphasis:
        line = line.translate(_EMPHASIS)
    return " ".join(line.split())


def squeezed_lines(text: str, *, emphasis: bool = True) -> Iterator[str]:
    """The non-empty lines of ``text``, each :func:`squeeze`-d (lines end at ``\\n`` only)."""
    for raw in text.split("\n"):
        line = squeeze(raw, emphasis=emphasis)
        if line:
            yield line


def read_field(reply: str, key: str) -> str:
    """The value of the first ``Key: value`` line (``key`` lower case; bullets and emphasis tolerated), else "".

    >>> read_field("**Name:** Billing\\nDescription: money", "name"), read_field("nothing", "name")
    ('Billing', '')
    """
    for line in squeezed_lines(reply):
        head, sep, value = line.lstrip("-#>\u2022 ").partition(":")
        if sep and head.strip().lower() == key:
            return value.strip(" \"'")
    return ""


@dataclass(frozen=True)
class Tag:
    """One ``<name>`` or ``</name>`` tag found in a reply: its name, whether it closes, and where."""

    name: str
    closing: bool
    start: int
    end: int

    @property
    def text(self) -> str:
        return f"</{self.name}>" if self.closing else f"<{self.name}>"


_TAGS = re.compile(r"<(/?)(think|answer)>", re.IGNORECASE)


def find_tags(text: str) -> list[Tag]:
    """Every ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` tag, in order, in one pass (case-insensitive).

    >>> [t.text for t in find_tags("<Think>a</think> <answer>b")]
    ['<think>', '</think>', '<answer>']
    """
    return [Tag(m.group(2).lower(), m.group(1) == "/", m.start(), m.end()) for m in _TAGS.finditer(text)]


def drop_tags(text: str) -> str:
    """``text`` with every think/answer tag replaced by a line break.

    >>> drop_tags("cluster2: [3]</answer>")
    'cluster2: [3]\\n'
    """
    return _TAGS.sub("\n", text)


def strip_think(text: str) -> str:
    """``text`` without its reasoning: what follows the last ``</think>``; an unclosed ``<think>`` drops the rest.

    >>> strip_think("<think>x</think> {\\"a\\": 1}"), strip_think("<think>never closed {}"), strip_think("plain")
    (' {"a": 1}', '', 'plain')
    """
    tags = [t for t in find_tags(text) if t.name == "think"]
    if not tags:
        return text
    closes = [t for t in tags if t.closing]
    if closes:
        return text[closes[-1].end :]
    return text[: tags[0].start]


#: JSON start positions tried, and the deepest nesting decoded, by :func:`find_json`.
_JSON_TRIES = 16
_JSON_DEPTH = 64
_JSON_START = re.compile(r"[\[{]")


def _bounded_int(token: str) -> int | None:
    value = read_int(token.lstrip("-"))
    if value is None:
        return None
    return -value if token.startswith("-") else value


def _depth_ok(text: str, start: int, limit: int) -> bool:
    """Nesting of brackets outside strings stays within ``limit`` (a linear pre-check)."""
    depth, in_string, escaped = 0, False, False
    for ch in text[start:]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
            if depth <= 0:
                return True
    return True


def find_json(text: str, *, kinds: tuple[type, ...] = (dict, list)) -> Any:
    """The first JSON object or array in ``text`` after any reasoning, or None.

    Decoding starts at most at 16 positions; nesting deeper than 64 levels, and integers
    longer than :data:`MAX_DIGITS` digits (read as None), cannot cost more than the text's length.

    >>> find_json('Sure! {"cluster": "Poem"} done'), find_json("no json"), find_json('[1, 2')
    ({'cluster': 'Poem'}, None, None)
    >>> find_json('{"n": ' + "9" * 5000 + "}")
    {'n': None}
    """
    body = strip_think(text or "")
    decoder = json.JSONDecoder(parse_int=_bounded_int)
    for tries, m in enumerate(_JSON_START.finditer(body)):
        if tries >= _JSON_TRIES:
            break
        if not _depth_ok(body, m.start(), _JSON_DEPTH):
            continue
        try:
            value, _ = decoder.raw_decode(body, m.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, kinds):
            return value
    return None


# On a squeezed line: "4: cluster2", "item 4 -> cluster 2", "#4 = 2"; bounded, no adjacent ambiguous runs.
_PLACEMENT = re.compile(
    r"(?:item |text |#)?#?([0-9]+) ?[:.)=\-\u2192>]+ ?(?:cluster ?_?#?)?([0-9]+)(?![0-9])", re.IGNORECASE
)


def read_placement(line: str) -> tuple[int, int] | None:
    """(item, cluster) from one squeezed line that places an item, else None.

    >>> read_placement("4: cluster2"), read_placement("- Item 5 -> cluster 1"), read_placement("9" * 99 + ": cluster1")
    ((4, 2), (5, 1), None)
    """
    m = _PLACEMENT.match(line.lstrip("-+> "))
    if not m:
        return None
    i, k = read_int(m.group(1)), read_int(m.group(2))
    return (i, k) if i is not None and k is not None else None

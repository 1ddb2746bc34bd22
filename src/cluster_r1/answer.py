"""Parse and validate the model's answer. Pure: no I/O, no model calls.

The paper's answer contract (App. D)::

    <think> ... </think>
    <answer>
    Total clusters: 3
    cluster1: [1, 4, 5]
    cluster2: [2, 6]
    cluster3: [3]
    </answer>

:func:`parse_answer` with ``strict=True`` implements App. D exactly and reports
every rule broken as a :class:`Violation` (kind + the indices involved).
``strict=False`` recovers what real models write (no brackets, ranges such as
``3-5``, ``Cluster 1:`` casing, markdown, names, prose around the answer, a
missing ``<think>``) but never invents an assignment: an index is read only where
the reply writes that index (or a range ending at it), an item the model did not
place stays missing, a repeated item keeps its first cluster and is reported.

Both modes are linear in the reply's length, allocate O(reply + n) and raise
nothing but :class:`~cluster_r1.errors.InputError` on a bad ``n_items``: numbers
are ASCII digits only, a number or range outside 1..n is a violation (never
converted or expanded), and lines are read by :mod:`cluster_r1.reading`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import cast

from .errors import InputError
from .reading import drop_tags, find_tags, is_digits, read_int, read_placement, squeeze

__all__ = ["Violation", "ParsedCluster", "ParsedAnswer", "parse_answer", "describe_violations", "items_to_lists"]

# Violation kinds, in the order they are reported.
TRUNCATED = "truncated"  # the reply was cut off by the length limit before any answer
TAGS = "tags"  # a tag missing, repeated, or out of order
TOTAL = "total"  # no parseable "Total clusters: N"
COUNT = "count_mismatch"  # declared total != listed clusters
SYNTAX = "syntax"  # a cluster line or item that cannot be read
MISSING = "missing"  # indices in 1..n that no cluster holds
DUPLICATE = "duplicate"  # indices listed more than once
OUT_OF_RANGE = "out_of_range"  # indices outside 1..n
NO_CLUSTERS = "no_clusters"  # nothing that looks like a cluster line
_ORDER = [TRUNCATED, TAGS, TOTAL, NO_CLUSTERS, COUNT, SYNTAX, MISSING, DUPLICATE, OUT_OF_RANGE]


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``kind`` (see module constants), the indices involved, a human detail."""

    kind: str
    indices: tuple[int, ...] = ()
    detail: str = ""

    def __str__(self) -> str:
        return self.detail or self.kind


@dataclass
class ParsedCluster:
    """One cluster line: its number as written (0 when unreadable), items in 1..n, and its name.

    ``out_of_range`` keeps, as written, the numbers and ranges the line holds outside 1..n.
    """

    number: int
    items: list[int]
    name: str = ""
    out_of_range: list[str] = field(default_factory=list)


@dataclass
class ParsedAnswer:
    """What could be read from one model output, and every violation found."""

    n_items: int
    think: str = ""
    total: int | None = None
    clusters: list[ParsedCluster] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.violations

    def kinds(self) -> set[str]:
        return {v.kind for v in self.violations}

    def indices_of(self, kind: str) -> list[int]:
        return sorted({i for v in self.violations if v.kind == kind for i in v.indices})

    def labels(self) -> list[int | None]:
        """1-based cluster position per item (first cluster wins); None where unplaced."""
        out: list[int | None] = [None] * self.n_items
        for k, cluster in enumerate(self.clusters, start=1):
            for i in cluster.items:
                if 1 <= i <= self.n_items and out[i - 1] is None:
                    out[i - 1] = k
        return out


def _compress(indices: list[int]) -> str:
    """Compact ranges of indices.

    >>> _compress([1, 2, 3, 7, 9, 10])
    '1-3, 7, 9-10'
    """
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(set(indices)):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(parts)


def _shown(token: str, limit: int = 24) -> str:
    """A token as quoted in a message: long digit strings summarised, everything else cut."""
    if len(token) > limit:
        return f"a number of {len(token)} digits" if is_digits(token) else repr(token[: limit - 3] + "...")
    return token


# -- the reply's sections ---------------------------------------------------------------------------------


def _check_tags(tags: list) -> list[Violation]:
    seen = [t.text for t in tags]
    expected = ["<think>", "</think>", "<answer>", "</answer>"]
    if seen == expected:
        return []
    problems = [f"{tag} appears {seen.count(tag)} times" for tag in expected if seen.count(tag) != 1]
    if not problems:
        problems.append("tags are out of order (need <think></think><answer></answer>)")
    return [Violation(TAGS, (), "; ".join(problems))]


def _think(text: str, tags: list) -> str:
    """The first ``<think>`` block: to its ``</think>``; when unclosed, to the next ``<answer>`` or the end."""
    for j, tag in enumerate(tags):
        if tag.name == "think" and not tag.closing:
            close = next((t for t in tags[j + 1 :] if t.name == "think" and t.closing), None)
            if close is None:
                close = next((t for t in tags[j + 1 :] if t.name == "answer" and not t.closing), None)
            return text[tag.end : close.start if close else len(text)].strip()
    return ""


_TOTAL_WORD = re.compile(r"total", re.IGNORECASE)


def _lenient_sections(text: str, tags: list, truncated: bool) -> list[str]:
    """The candidate answer sections of a reply, in order (lenient mode).

    After the reasoning (the last ``</think>``), each ``<answer>`` opens a section that runs to
    the next ``<answer>`` (small models close the tag early and go on listing clusters). With no
    ``<answer>``: what follows the last ``</think>``; else, from the last line that mentions a
    total. A reply cut off by the length limit inside an unclosed ``<think>`` has no answer:
    whatever draft its reasoning holds is not the model's final word.
    """
    closes = [t for t in tags if t.name == "think" and t.closing]
    opens = [t for t in tags if t.name == "think" and not t.closing]
    after = closes[-1].end if closes else 0
    answers = [t for t in tags if t.name == "answer" and not t.closing and t.start >= after]
    if not answers and after == 0:
        answers = [t for t in tags if t.name == "answer" and not t.closing]
    if answers:
        bounds = [a.end for a in answers] + [len(text)]
        return [text[bounds[j] : answers[j + 1].start if j + 1 < len(answers) else len(text)] for j in range(len(answers))]
    if closes:
        return [text[after:]]
    if opens and truncated:
        return []
    start = opens[0].end if opens else 0
    totals = list(_TOTAL_WORD.finditer(text, start))
    if totals:
        line_start = text.rfind("\n", 0, totals[-1].start()) + 1
        return [text[max(line_start, start) :]]
    return [text[start:]]


# -- items -----------------------------------------------------------------------------------------------

_RANGE_DASHES = ("-", "\u2013", "..")
_FILLER = {"and", "&", "item", "items", "text", "texts", "no", "nos", "no.", "#", "number", "numbers"}


class _Budget:
    """Caps the items a reply may expand ranges into: O(reply + n) memory whatever it writes."""

    def __init__(self, n: int, reply_len: int) -> None:
        self.left = 2 * n + reply_len

    def take(self, k: int) -> bool:
        if k > self.left:
            return False
        self.left -= k
        return True


def _read_range(token: str, n: int) -> tuple[int, int] | None | str:
    """``a-b`` / ``a–b`` / ``a..b`` (no spaces): (a, b) when 1 <= a <= b <= n; "out" when
    it is a range of digits outside 1..n or reversed; None when it is not a range."""
    for dash in _RANGE_DASHES:
        lo, sep, hi = token.partition(dash)
        if sep and is_digits(lo) and is_digits(hi):
            a, b = read_int(lo), read_int(hi)
            if a is None or b is None or not 1 <= a <= b <= n:
                return "out"
            return a, b
    return None


def _tokens(raw: str) -> list[str]:
    """Split an item list on commas, semicolons and spaces (a spaced dash separates two items).

    A comma or semicolon stays as its own token ``","``, so that "20, to 23" is not read as the
    range "20 to 23" (only digits, "to", digits with spaces alone between them are).
    """
    return [t for t in re.split(r"\s+|([,;])", raw) if t]


def _read_items(raw: str, n: int, budget: _Budget, *, strict: bool) -> tuple[list[int], list[str], list[str]]:
    """Read item numbers: (items in 1..n, numbers/ranges outside 1..n as written, unreadable tokens)."""
    items: list[int] = []
    out: list[str] = []
    bad: list[str] = []
    if strict:
        for tok in (t.strip() for t in raw.split(",")):
            if not is_digits(tok):
                bad.append(tok)
                continue
            value = read_int(tok)
            if value is not None and 1 <= value <= n:
                items.append(value)
            else:
                out.append(tok)
        if len(bad) == 1 and bad[0] == "" and not items and not out:
            return [], [], []  # "[]": an empty cluster is valid under App. D
        return items, out, bad
    toks = _tokens(raw)
    j = 0
    while j < len(toks):
        tok = toks[j].strip(".()#'\"")
        j += 1
        if not tok or tok in ",;" or tok.lower() in _FILLER or tok in ("-", "\u2013", "\u2014"):
            continue
        if is_digits(tok):
            # "3 to 5": a range written out in words
            if j + 1 < len(toks) and toks[j].lower() == "to" and is_digits(toks[j + 1].strip(".()")):
                tok = f"{tok}-{toks[j + 1].strip('.()')}"
                j += 2
            else:
                value = read_int(tok)
                if value is not None and 1 <= value <= n:
                    items.append(value)
                else:
                    out.append(tok)
                continue
        rng = _read_range(tok, n)
        if rng == "out":
            out.append(tok)
        elif isinstance(rng, tuple):
            a, b = rng
            if budget.take(b - a + 1):
                items.extend(range(a, b + 1))
            else:
                bad.append(tok)
        else:
            bad.append(tok)
    return items, out, bad


def _leading_list(rest: str) -> str:
    """An unbracketed item list: the leading run of numbers, ranges, separators and filler words.

    What follows (a comment, a description) is not read: digits in prose are not indices.

    >>> _leading_list("1, 3 and 5-7 (billing issues, 2 of them)")
    '1, 3 and 5-7'
    """
    end = 0
    for m in re.finditer(r"[^,;\s]+|[,;\s]+", rest):
        tok = m.group(0)
        if tok[0] in ",; \t":
            continue
        core = tok.strip(".#'\"")
        if core.lower() in _FILLER or core in ("-", "\u2013", "to") or is_digits(core) or _read_range(core, 10**9) is not None:
            end = m.end()
            continue
        break
    return rest[:end]


# -- lines -----------------------------------------------------------------------------------------------


def _balanced(line: str, start: int) -> int:
    """Index just past the ``)`` that closes the ``(`` at ``start``; -1 when it never closes."""
    depth = 0
    for j in range(start, len(line)):
        if line[j] == "(":
            depth += 1
        elif line[j] == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


def _digits_at(line: str, start: int) -> int:
    end = start
    while end < len(line) and "0" <= line[end] <= "9":
        end += 1
    return end


_STRICT_TOTAL = re.compile(r"Total clusters:\s*(?:\[\s*([0-9]+)\s*\]|([0-9]+))")


def _strict_line(line: str, n: int, names: bool, budget: _Budget) -> tuple[str, object]:
    """Classify one stripped line of a strict answer: ("total", token) | ("cluster", parts) | ("bad", why)."""
    if m := _STRICT_TOTAL.fullmatch(line):
        return "total", m.group(1) or m.group(2)
    if not line.startswith("cluster"):
        return "bad", "unexpected line"
    end = _digits_at(line, 7)
    if end == 7:
        return "bad", "unexpected line"
    number = line[7:end]
    j = end
    while j < len(line) and line[j] in " \t":
        j += 1
    name = ""
    if j < len(line) and line[j] == "(":
        close = _balanced(line, j)
        if close < 0 or not names:
            return "bad", "unexpected line"
        name = line[j + 1 : close - 1].strip()
        j = close
        while j < len(line) and line[j] in " \t":
            j += 1
    if j >= len(line) or line[j] != ":":
        return "bad", "unexpected line"
    rest = line[j + 1 :].strip()
    if len(rest) < 2 or rest[0] != "[" or rest[-1] != "]" or "[" in rest[1:-1] or "]" in rest[1:-1]:
        return "bad", "unexpected line"
    items, out, bad = _read_items(rest[1:-1], n, budget, strict=True)
    return "cluster", (number, name, items, out, bad)


_BULLETS = "-+>#\u2022 \t"


def _lenient_cluster(line: str, n: int, budget: _Budget) -> tuple[str, str, list[int], list[str], list[str]] | None:
    """(number, name, items, out of range, unreadable) for a line that starts with ``cluster K``, else None."""
    s = line.lstrip(_BULLETS)
    low = s[:8].lower()
    if not low.startswith("cluster"):
        return None
    j = 7
    if j < len(s) and s[j] in " _-":
        j += 1
    if j < len(s) and s[j] == "#":
        j += 1
    end = _digits_at(s, j)
    if end == j:
        return None
    number = s[j:end]
    j = end
    if j < len(s) and s[j] == " ":
        j += 1
    name = ""
    if j < len(s) and s[j] == "(":
        close = _balanced(s, j)
        if close < 0:
            return None
        name = s[j + 1 : close - 1]
        j = close
    colon = s.find(":", j)
    if colon < 0:
        return None
    between = s[j:colon].strip()
    if between:
        if between[0] in "-\u2013\u2014" and not name:
            name = between[1:]
        elif between.startswith("(") or not name:
            return None
    rest = s[colon + 1 :].strip()
    name = name.strip().strip("\"' ")
    if rest.startswith("["):
        close = rest.find("]")
        raw = rest[1:close] if close >= 0 else rest[1:]
    elif (listed := _named_list(rest)) is not None:
        label, raw = listed  # "Billing errors (1, 3, 5)"
        name = name or label
    else:
        raw = _leading_list(rest)
        if not raw.strip():
            if rest and not name and not any("0" <= ch <= "9" for ch in rest):
                name = rest  # "Cluster 1: Billing errors" with its items elsewhere: a name, nothing invented
            return number, name, [], [], ([rest] if any("0" <= ch <= "9" for ch in rest) else [])
    items, out, bad = _read_items(raw, n, budget, strict=False)
    return number, name, items, out, bad


def _named_list(rest: str) -> tuple[str, str] | None:
    """``Name (1, 3, 5)`` or ``Name [1, 3]``: a name without digits, then a bracketed list that ends the line.

    >>> _named_list("Billing errors (1, 3, 5-6)"), _named_list("Billing (2 of them)")
    (('Billing errors', '1, 3, 5-6'), None)
    """
    open_at = min((j for j in (rest.find("("), rest.find("[")) if j >= 0), default=-1)
    if open_at <= 0 or rest[-1] not in ")]" or any("0" <= ch <= "9" for ch in rest[:open_at]):
        return None
    inner = rest[open_at + 1 : -1]
    if not inner.strip() or _leading_list(inner).strip() != inner.strip():
        return None
    return rest[:open_at].strip(), inner


_LENIENT_TOTAL = re.compile(
    r"total (?:number of )?clusters?(?: is| =| :|:| are)?(?: is)? ?\[? ?([0-9]+)", re.IGNORECASE
)


def _drop_cut_token(text: str) -> str:
    """A reply cut off by the length limit: its last token may be the start of a longer one ('1' of '12')."""
    if text and text[-1].isalnum():
        return text.rstrip("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return text


def parse_answer(
    text: str, n_items: int, *, strict: bool = True, names: bool = False, truncated: bool = False
) -> ParsedAnswer:
    """Parse one model output for ``n_items`` texts.

    ``names=True`` accepts our named-cluster extension ``cluster1 (Billing): [1, 4]``
    in strict mode (lenient mode always accepts it). ``truncated=True`` says the reply
    was cut off by the length limit (the server's ``finish_reason == "length"``): a
    reply cut inside its reasoning then holds no answer, and a cut final token is not read.

    >>> a = parse_answer("<think>x</think><answer>Total clusters: 2\\ncluster1: [1, 3]\\ncluster2: [2]</answer>", 3)
    >>> a.valid, a.total, [c.items for c in a.clusters]
    (True, 2, [[1, 3], [2]])
    >>> b = parse_answer("<think>x</think><answer>Total clusters: 2\\ncluster1: [1, 1]\\ncluster2: [4]</answer>", 3)
    >>> [(v.kind, v.indices) for v in b.violations]
    [('missing', (2, 3)), ('duplicate', (1,)), ('out_of_range', (4,))]
    """
    if isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < 1:
        raise InputError(f"n_items must be an integer >= 1, got {n_items!r}")
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    result = ParsedAnswer(n_items=n_items)
    if truncated:
        text = _drop_cut_token(text)
    tags = find_tags(text)
    result.think = _think(text, tags)
    budget = _Budget(n_items, len(text))
    if strict:
        result.violations.extend(_check_tags(tags))
        _parse_strict(text, tags, n_items, names, budget, result)
    else:
        sections = _lenient_sections(text, tags, truncated)
        if not sections and truncated:
            result.violations.append(
                Violation(TRUNCATED, (), "the reply was cut off by the length limit inside <think>, before any answer")
            )
        best: ParsedAnswer | None = None
        for section in sections:
            section = drop_tags(section)
            trial = ParsedAnswer(n_items=n_items, think=result.think)
            _parse_lenient(section, n_items, budget, trial)
            if best is None or _placed(trial) >= _placed(best):
                best = trial
        if best is not None:
            result.total, result.clusters = best.total, best.clusters
            result.violations.extend(best.violations)
    _validate(result)
    return result


def _placed(parsed: ParsedAnswer) -> int:
    return sum(len(c.items) for c in parsed.clusters)


def _parse_strict(text: str, tags: list, n: int, names: bool, budget: _Budget, result: ParsedAnswer) -> None:
    body = ""
    for j, tag in enumerate(tags):
        if tag.name == "answer" and not tag.closing:
            close = next((t for t in tags[j + 1 :] if t.name == "answer" and t.closing), None)
            body = text[tag.end : close.start if close else len(text)]
            break
    syntax: list[str] = []
    for raw in body.split("\n"):
        line = raw.strip()
        if not line:
            continue
        kind, value = _strict_line(line, n, names, budget)
        if kind == "total" and result.total is None and not result.clusters:
            total = read_int(cast(str, value))
            if total is None:
                syntax.append(f"'Total clusters' holds {_shown(str(value))}")
            result.total = total
        elif kind == "cluster":
            number, name, items, out, bad = cast(tuple[str, str, list[int], list[str], list[str]], value)
            result.clusters.append(ParsedCluster(read_int(number) or 0, items, name, out))
            syntax.extend(f"cluster{_shown(number)}: cannot read {_shown(b)!s}" for b in bad[:3])
        else:
            syntax.append(f"unexpected line {_shown(line, 60)!s}")
    if syntax:
        result.violations.append(Violation(SYNTAX, (), "; ".join(syntax[:5])))


def _parse_lenient(body: str, n: int, budget: _Budget, result: ParsedAnswer) -> None:
    syntax: list[str] = []
    for raw in body.split("\n"):
        line = squeeze(raw)
        if not line:
            continue
        parsed = _lenient_cluster(line, n, budget)
        if parsed is None:
            if result.total is None and (m := _LENIENT_TOTAL.search(line)):
                result.total = read_int(m.group(1))
                if result.total is None:
                    syntax.append(f"'Total clusters' holds {_shown(m.group(1))}")
            continue
        number, name, items, out, bad = parsed
        result.clusters.append(ParsedCluster(read_int(number) or 0, items, name[:200], out))
        if bad and not items and not out:
            syntax.append(f"cluster{_shown(number)}: cannot read {_shown(', '.join(bad), 60)}")
    if syntax:
        result.violations.append(Violation(SYNTAX, (), "; ".join(syntax[:5])))


def _validate(result: ParsedAnswer) -> None:
    n = result.n_items
    if result.total is None and not any(v.kind == TRUNCATED for v in result.violations):
        result.violations.append(Violation(TOTAL, (), "no parseable 'Total clusters: N' line"))
    if not result.clusters:
        result.violations.append(Violation(NO_CLUSTERS, (), "no 'clusterK: [...]' lines found"))
    elif result.total is not None and result.total != len(result.clusters):
        result.violations.append(
            Violation(COUNT, (), f"'Total clusters: {result.total}' but {len(result.clusters)} clusters are listed")
        )
    counts = bytearray(n + 1)
    for cluster in result.clusters:
        for i in cluster.items:
            if counts[i] < 2:
                counts[i] += 1
    missing = tuple(i for i in range(1, n + 1) if counts[i] == 0)
    dupes = tuple(i for i in range(1, n + 1) if counts[i] > 1)
    written = [tok for c in result.clusters for tok in c.out_of_range]
    if missing:
        result.violations.append(Violation(MISSING, missing, f"items {_compress(list(missing))} are missing"))
    if dupes:
        result.violations.append(
            Violation(DUPLICATE, dupes, f"items {_compress(list(dupes))} appear in more than one place")
        )
    if written:
        small = sorted({v for v in (read_int(t) for t in written) if v is not None})
        shown = ", ".join(dict.fromkeys(_shown(t) for t in written[:6])) + (" ..." if len(written) > 6 else "")
        result.violations.append(Violation(OUT_OF_RANGE, tuple(small), f"items {shown} do not exist (valid: 1-{n})"))
    result.violations.sort(key=lambda v: _ORDER.index(v.kind))


def describe_violations(violations: list[Violation]) -> str:
    """One readable paragraph for a re-ask prompt.

    >>> describe_violations([Violation("missing", (4, 7), "items 4, 7 are missing")])
    '- items 4, 7 are missing'
    """
    return "\n".join(f"- {v}" for v in violations)


_DECLARED = re.compile(r"cluster ?_?#?([0-9]+) ?\((.*)\)", re.IGNORECASE)


def items_to_lists(text: str, n_items: int, *, names: bool = False) -> str | None:
    """An answer written one line per item (``ITEM: clusterK``, the constrained form) in the paper's format.

    Faithful: an item written twice is listed twice, an item not written is missing, a cluster
    number beyond the declared total is listed as written, so the strict check reports exactly
    what the reply did. None when the reply holds no item line (it is not in this form).

    >>> reply = "<think>t</think><answer>Total clusters: 2\\ncluster1 (fruit)\\ncluster2 (car)\\n1: cluster1\\n2: cluster2\\n3: cluster1</answer>"
    >>> print(items_to_lists(reply, 3, names=True))
    <think>t</think>
    <answer>
    Total clusters: 2
    cluster1 (fruit): [1, 3]
    cluster2 (car): [2]
    </answer>
    """
    tags = find_tags(text)
    think = _think(text, tags)
    sections = _lenient_sections(text, tags, truncated=False)
    body = sections[-1] if sections else text
    total: str | None = None
    declared: dict[int, str] = {}
    members: dict[int, list[int]] = {}
    for raw in drop_tags(body).split("\n"):
        line = squeeze(raw)
        if not line:
            continue
        if total is None and (m := _LENIENT_TOTAL.search(line)):
            total = m.group(1)
            continue
        if (d := _DECLARED.fullmatch(line.lstrip(_BULLETS))) and (k := read_int(d.group(1))) is not None:
            declared.setdefault(k, d.group(2).strip())
            continue
        placed = read_placement(line)
        if placed is not None:
            members.setdefault(placed[1], []).append(placed[0])
    if not members:
        return None
    top = max([*members, *declared, read_int(total or "") or 0])
    out = [f"<think>{think}</think>", "<answer>"]
    if total is not None:
        out.append(f"Total clusters: {total}")
    for k in range(1, min(top, n_items + len(members)) + 1):
        label = f" ({declared.get(k) or f'cluster {k}'})" if names else ""
        out.append(f"cluster{k}{label}: [{', '.join(map(str, members.get(k, [])))}]")
    out.append("</answer>")
    return "\n".join(out)

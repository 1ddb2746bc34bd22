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
missing ``<think>``) but never invents an assignment: an item the model did not
place stays missing, a repeated item keeps its first cluster and is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Violation", "ParsedCluster", "ParsedAnswer", "parse_answer", "describe_violations"]

# Violation kinds, in the order they are reported.
TAGS = "tags"  # a tag missing, repeated, or out of order
TOTAL = "total"  # no parseable "Total clusters: N"
COUNT = "count_mismatch"  # declared total != listed clusters
SYNTAX = "syntax"  # a cluster line or item that cannot be read
MISSING = "missing"  # indices in 1..n that no cluster holds
DUPLICATE = "duplicate"  # indices listed more than once
OUT_OF_RANGE = "out_of_range"  # indices outside 1..n
NO_CLUSTERS = "no_clusters"  # nothing that looks like a cluster line


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
    number: int
    items: list[int]
    name: str = ""


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


_TAG_RE = re.compile(r"</?(think|answer)>", re.IGNORECASE)
_STRICT_TOTAL_RE = re.compile(r"^\s*Total clusters:\s*\[?\s*(\d+)\s*\]?\s*$")
_STRICT_CLUSTER_RE = re.compile(r"^\s*cluster(\d+)(?:\s*\(([^()]*)\))?\s*:\s*\[([^\[\]]*)\]\s*$")
_LENIENT_TOTAL_RE = re.compile(
    r"total\s*(?:number\s*of\s*)?clusters?\s*(?:[:=]|is|:\s*is)?\s*\**\s*\[?\s*(\d+)", re.IGNORECASE
)
_LENIENT_CLUSTER_RE = re.compile(
    r"""^[\s>*_#\-]*                              # markdown bullets, bold, headers
        cluster[\s_\-]*(\d+)                      # cluster1 / Cluster 1 / cluster_1
        \s*\**\s*
        (?:\(([^()]*)\)|[\-\u2013\u2014]\s*([^:\[\]]*?))?   # (name) or - name
        \s*\**\s*:\s*\**\s*
        (.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
_RANGE_RE = re.compile(r"^(\d+)-(\d+)$")


def _compress(indices: list[int]) -> str:
    """Compact ranges of indices.

    >>> _compress([1, 2, 3, 7, 9, 10])
    '1-3, 7, 9-10'
    """
    parts: list[str] = []
    for i in sorted(set(indices)):
        if parts and isinstance(parts[-1], str) and parts[-1].split("-")[-1] == str(i - 1):
            start = parts[-1].split("-")[0]
            parts[-1] = f"{start}-{i}"
        else:
            parts.append(str(i))
    return ", ".join(parts)


def _check_tags(text: str) -> list[Violation]:
    tags = [m.group(0).lower() for m in _TAG_RE.finditer(text)]
    expected = ["<think>", "</think>", "<answer>", "</answer>"]
    if tags == expected:
        return []
    problems = []
    for tag in expected:
        count = tags.count(tag)
        if count != 1:
            problems.append(f"{tag} appears {count} times")
    if not problems:
        problems.append("tags are out of order (need <think></think><answer></answer>)")
    return [Violation(TAGS, (), "; ".join(problems))]


def _answer_body(text: str, strict: bool) -> tuple[str, str]:
    """Return (think, answer section). Strict takes the tagged answer only.

    Lenient takes the tagged answer plus anything after it (small models often close the
    tag early and go on listing clusters), else what follows ``</think>``, else the text
    from the last "Total clusters", else everything.
    """
    think_m = re.search(r"<think>(.*?)</think>", text, re.DOTALL | re.IGNORECASE)
    think = think_m.group(1).strip() if think_m else ""
    ans_m = re.search(r"<answer>(.*?)(?:</answer>|$)", text, re.DOTALL | re.IGNORECASE)
    if strict:
        return think, ans_m.group(1) if ans_m else ""
    if ans_m:
        body = text[ans_m.start() :]
    elif end_think := re.search(r"</think>", text, re.IGNORECASE):
        body = text[end_think.end() :]
    elif totals := list(_LENIENT_TOTAL_RE.finditer(text)):
        body = text[totals[-1].start() :]
    else:
        body = text
    return think, _TAG_RE.sub("\n", body)


def _parse_items(raw: str, strict: bool) -> tuple[list[int], list[str]]:
    """Read item numbers; return (items, unreadable tokens)."""
    raw = raw.strip()
    if not strict:
        raw = raw.strip("*` ").strip()
        # "[1, 2, 3]" followed by prose: keep the bracketed list only
        m = re.match(r"^\[([^\[\]]*)\]", raw)
        if m:
            raw = m.group(1)
        else:
            raw = raw.strip("[]")
    if not raw.strip():
        return [], []
    items: list[int] = []
    bad: list[str] = []
    if strict:
        tokens = [t.strip() for t in raw.split(",")]
    else:
        raw = re.sub(r"(\d+)\s*(?:-|\u2013|to|\.\.)\s*(\d+)", r"\1-\2", raw, flags=re.IGNORECASE)
        tokens = re.split(r"[,;\s]+|\band\b", raw)
    for tok in tokens:
        if not tok:
            continue
        if re.fullmatch(r"\d+", tok):
            items.append(int(tok))
            continue
        if not strict:
            tok2 = tok.strip(".()#'\"")
            if re.fullmatch(r"\d+", tok2):
                items.append(int(tok2))
                continue
            m = _RANGE_RE.match(tok2)
            if m and int(m.group(1)) <= int(m.group(2)):
                items.extend(range(int(m.group(1)), int(m.group(2)) + 1))
                continue
        bad.append(tok)
    return items, bad


def parse_answer(text: str, n_items: int, *, strict: bool = True, names: bool = False) -> ParsedAnswer:
    """Parse one model output for ``n_items`` texts.

    ``names=True`` accepts our named-cluster extension ``cluster1 (Billing): [1, 4]``
    in strict mode (lenient mode always accepts it).

    >>> a = parse_answer("<think>x</think><answer>Total clusters: 2\\ncluster1: [1, 3]\\ncluster2: [2]</answer>", 3)
    >>> a.valid, a.total, [c.items for c in a.clusters]
    (True, 2, [[1, 3], [2]])
    >>> b = parse_answer("<think>x</think><answer>Total clusters: 2\\ncluster1: [1, 1]\\ncluster2: [4]</answer>", 3)
    >>> [(v.kind, v.indices) for v in b.violations]
    [('missing', (2, 3)), ('duplicate', (1,)), ('out_of_range', (4,))]
    """
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}")
    result = ParsedAnswer(n_items=n_items)
    text = text or ""
    if strict:
        result.violations.extend(_check_tags(text))
    result.think, body = _answer_body(text, strict)

    syntax: list[str] = []
    for line in body.splitlines():
        if not line.strip():
            continue
        if strict:
            if result.total is None and (m := _STRICT_TOTAL_RE.match(line)):
                result.total = int(m.group(1))
                continue
            m = _STRICT_CLUSTER_RE.match(line)
            if m and (names or m.group(2) is None):
                items, bad = _parse_items(m.group(3), strict=True)
                result.clusters.append(ParsedCluster(int(m.group(1)), items, (m.group(2) or "").strip()))
                syntax.extend(f"cluster{m.group(1)}: cannot read {b!r}" for b in bad)
            elif line.strip():
                syntax.append(f"unexpected line {line.strip()[:60]!r}")
        else:
            if result.total is None and (m := _LENIENT_TOTAL_RE.search(line)):
                result.total = int(m.group(1))
                continue
            m = _LENIENT_CLUSTER_RE.match(line)
            if m:
                items, bad = _parse_items(m.group(4), strict=False)
                name = (m.group(2) or m.group(3) or "").strip().strip("*\"' ")
                if not items and not bad and m.group(4).strip() and not name:
                    # "Cluster 1: Billing errors" followed by items on later lines is not supported;
                    # take the text as the name so nothing is invented.
                    name = m.group(4).strip()
                result.clusters.append(ParsedCluster(int(m.group(1)), items, name))
                if bad and not items:
                    syntax.append(f"cluster{m.group(1)}: cannot read {', '.join(bad)[:60]!r}")

    if result.total is None:
        result.violations.append(Violation(TOTAL, (), "no parseable 'Total clusters: N' line"))
    if not result.clusters:
        result.violations.append(Violation(NO_CLUSTERS, (), "no 'clusterK: [...]' lines found"))
    elif result.total is not None and result.total != len(result.clusters):
        result.violations.append(
            Violation(COUNT, (), f"'Total clusters: {result.total}' but {len(result.clusters)} clusters are listed")
        )
    if syntax:
        result.violations.append(Violation(SYNTAX, (), "; ".join(syntax[:5])))

    counts: dict[int, int] = {}
    for cluster in result.clusters:
        for i in cluster.items:
            counts[i] = counts.get(i, 0) + 1
    missing = tuple(i for i in range(1, n_items + 1) if i not in counts)
    dupes = tuple(sorted(i for i, c in counts.items() if c > 1 and 1 <= i <= n_items))
    out = tuple(sorted(i for i in counts if not 1 <= i <= n_items))
    if result.clusters and missing:
        result.violations.append(Violation(MISSING, missing, f"items {_compress(list(missing))} are missing"))
    elif not result.clusters:
        result.violations.append(Violation(MISSING, missing, f"items {_compress(list(missing))} are missing"))
    if dupes:
        result.violations.append(
            Violation(DUPLICATE, dupes, f"items {_compress(list(dupes))} appear in more than one place")
        )
    if out:
        result.violations.append(
            Violation(OUT_OF_RANGE, out, f"items {_compress(list(out))} do not exist (valid: 1-{n_items})")
        )
    order = [TAGS, TOTAL, NO_CLUSTERS, COUNT, SYNTAX, MISSING, DUPLICATE, OUT_OF_RANGE]
    result.violations.sort(key=lambda v: order.index(v.kind))
    return result


def describe_violations(violations: list[Violation]) -> str:
    """One readable paragraph for a re-ask prompt.

    >>> describe_violations([Violation("missing", (4, 7), "items 4, 7 are missing")])
    '- items 4, 7 are missing'
    """
    return "\n".join(f"- {v}" for v in violations)

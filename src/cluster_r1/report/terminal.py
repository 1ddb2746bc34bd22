"""A readable terminal summary: cluster names, sizes, two example texts each.

Everything shown that comes from data or a model (texts, cluster names, notes, model
names) is printed literally: as :class:`rich.text.Text`, never parsed as rich markup,
and with control characters made visible by :func:`printable`, so that no text can
style, link, move the cursor, retitle or reprogram the terminal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..prompts import clip_text
from ..types import Clustering

__all__ = ["print_summary", "printable", "literal", "PrintableFormatter"]

# C0 and C1 controls (ESC, CSI, BEL, backspace, carriage return...), DEL, bidi controls and marks,
# zero-width and invisible format characters, line/paragraph separators, BOM, lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\u3164\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_UNSAFE_WITH_LINES = re.compile("[\t\n]|" + _UNSAFE.pattern)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control, bidi, zero-width or invisible character written as an escape.

    ``lines=True`` keeps line breaks and tabs as they are.

    >>> printable("ok\\x1b]0;pwned\\x07 \\u202eevil\\u200b")
    'ok\\\\x1b]0;pwned\\\\x07 \\\\u202eevil\\\\u200b'
    >>> printable("[bold]not bold[/bold]")
    '[bold]not bold[/bold]'
    """
    text = str(text)
    return (_UNSAFE if lines else _UNSAFE_WITH_LINES).sub(_escape, text)


def literal(text: str, **kwargs: object) -> Text:
    """A rich ``Text`` shown exactly as written: no markup, no emoji codes, controls made visible."""
    return Text(printable(text, lines=True), **kwargs)  # type: ignore[arg-type]


class PrintableFormatter(logging.Formatter):
    """A log formatter whose lines are :func:`printable` (log messages quote model replies and texts)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), lines=True)


def print_summary(result: Clustering, texts: Sequence[str] | None, console: Console, examples: int = 2) -> None:
    """The clusters as a table: id or position, name, size and ``examples`` texts of each (none without
    ``texts``: a corpus that stayed on a Ray cluster)."""
    title = f"{result.n_clusters} clusters of {result.n_texts} texts ({result.method}" + (
        f", {result.model}" if result.model else "") + ")"
    table = Table(title=literal(title))
    # a result with stable topic ids (the large-corpus pipeline, saved clusterers) is shown by them, as in its JSON
    ids = all(c.id is not None for c in result.clusters)
    table.add_column("id" if ids else "#", justify="right")
    table.add_column("cluster")
    table.add_column("size", justify="right")
    if texts is not None:
        table.add_column("examples")
    for k, cluster in enumerate(result.clusters, start=1):
        row: list[str | Text] = [str(cluster.id if ids else k), literal(clip_text(cluster.name, 80)), str(cluster.size)]
        if texts is not None:
            row.append(Text("\n".join(f"[{i}] {printable(clip_text(texts[i - 1], 90))}"
                                      for i in cluster.items[:examples])))
        table.add_row(*row)
    console.print(table)
    u = result.usage
    facts = [f"{u.calls} model call(s)", f"{u.prompt_tokens + u.completion_tokens} tokens"] if u.calls else []
    facts.append(f"{u.seconds:.1f} s")
    if result.stability is not None:
        facts.append(f"stability {result.stability:.2f}")
    if result.repaired or result.salvaged:
        facts.append("salvaged" if result.salvaged else "format repaired")
    console.print(Text(", ".join(facts)))
    for note in result.notes:
        console.print(literal(f"note: {note}"))

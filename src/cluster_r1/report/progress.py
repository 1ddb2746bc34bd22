"""Live progress of long stages on stderr: counts, rate, ETA, model calls and tokens.

Library code reports through a plain callable ``progress(stage, done, total, detail)``
(:data:`cluster_r1.types.ProgressFn`) and never prints. The CLI passes :class:`StageProgress`: rich bars on a
terminal, a few plain lines (at 0 %, every 25 % and at the end of each stage) when stderr is
not a terminal, nothing with ``-q``.
"""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .terminal import printable

__all__ = ["StageProgress"]

class StageProgress:
    """A :data:`~cluster_r1.types.ProgressFn` for the terminal; use as a context manager around the work."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet or console.quiet
        self.live = console.is_terminal and not self.quiet
        self._lock = threading.Lock()
        self._tasks: dict[str, TaskID] = {}
        self._plain: dict[str, int] = {}
        self._start: dict[str, float] = {}
        self._progress: Progress | None = None
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[detail]}"),
                console=console, transient=False,
            )

    def __enter__(self) -> StageProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, stage: str, done: int, total: int, detail: str = "") -> None:
        if self.quiet:
            return
        stage, detail = printable(stage), printable(detail)
        with self._lock:
            now = time.perf_counter()
            start = self._start.setdefault(stage, now)
            rate = f"{done / (now - start):.1f}/s" if done and now > start else ""
            if self._progress is not None:
                if stage not in self._tasks:
                    self._tasks[stage] = self._progress.add_task(stage, total=max(total, 1), rate="", detail="")
                self._progress.update(self._tasks[stage], completed=done, total=max(total, 1), rate=rate,
                                      detail=detail)
                return
            # plain lines: the start, each quarter, the end
            quarter = (4 * done) // max(total, 1)
            if self._plain.get(stage, -1) < quarter or done == total:
                if done == total and self._plain.get(stage) == 99:
                    return
                self._plain[stage] = 99 if done >= total else quarter
                eta = ""
                if 0 < done < total and now > start:
                    eta = f", eta {(total - done) * (now - start) / done:.0f} s"
                extra = f", {detail}" if detail else ""
                self.console.print(f"{stage}: {done}/{total}{', ' + rate if rate else ''}{eta}{extra}",
                                   markup=False, highlight=False)

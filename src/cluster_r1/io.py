"""Read texts from files and write results atomically. Every bad input is one clear error."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from .errors import InputError

__all__ = ["read_texts", "write_atomic", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".txt", ".jsonl", ".csv")


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line} is not valid UTF-8 (byte {exc.start}); convert the file to UTF-8, "
            f"e.g. iconv -f latin1 -t utf-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path} is empty: give one text per line (.txt), per row (.csv) or per object (.jsonl)")
    return text


def read_texts(path: str | os.PathLike[str], *, text_field: str = "text", text_column: str = "text") -> list[str]:
    """Texts from ``.txt`` (one per line), ``.jsonl`` (``text_field``) or ``.csv`` (``text_column``).

    Blank texts are an error naming their line: nothing is dropped silently.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a directory; give a .txt, .jsonl or .csv file")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(f"{p}: unsupported file type {suffix or '(none)'}; use .txt, .jsonl or .csv")
    content = _decode(p)
    if suffix == ".txt":
        texts = content.splitlines()
        for n, t in enumerate(texts, start=1):
            if not t.strip():
                raise InputError(f"{p}: line {n} is blank; remove blank lines (one text per line)")
        return texts
    if suffix == ".jsonl":
        texts = []
        for n, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                raise InputError(f"{p}: line {n} is blank; remove blank lines (one JSON object per line)")
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}: line {n} is not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or text_field not in obj:
                raise InputError(f"{p}: line {n} has no field {text_field!r}; choose the field with --text-field")
            value = obj[text_field]
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{p}: line {n}: field {text_field!r} is empty or not a string")
            texts.append(value)
        return texts
    reader = csv.DictReader(io.StringIO(content))
    if reader.fieldnames is None or text_column not in reader.fieldnames:
        raise InputError(
            f"{p}: no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])}); "
            "choose it with --text-column"
        )
    texts = []
    for n, row in enumerate(reader, start=2):
        value = row.get(text_column)
        if value is None or not value.strip():
            raise InputError(f"{p}: row {n} has an empty {text_column!r}")
        texts.append(value)
    if not texts:
        raise InputError(f"{p} has a header but no rows")
    return texts


def write_atomic(path: str | os.PathLike[str], content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file: never a half-written output."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

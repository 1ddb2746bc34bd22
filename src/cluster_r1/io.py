"""Read texts from files and write results atomically. Every bad input is one clear error."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import tempfile
from pathlib import Path

from .errors import ConfigError, InputError, OutputError

__all__ = ["read_texts", "write_atomic", "check_output_path", "check_save_path", "check_cache_dir",
           "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".txt", ".jsonl", ".csv")
_CSV_FIELD_LIMIT = 64 * 1024 * 1024  # a text may be long; csv's default limit is 128 KiB


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


def _lines(content: str) -> list[str]:
    """The file's own lines: split at ``\\n`` only (never at U+2028, NEL, form feed or FS), ``\\r`` stripped.

    >>> _lines("a\\r\\nb\\u2028still b\\x0cand b\\n")
    ['a', 'b\\u2028still b\\x0cand b']
    """
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _check_encodable(p: Path, where: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{p}: {where} holds a lone surrogate ({value[exc.start]!r} escaped in the file); it is not text: fix that line"
        ) from None


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
        texts = _lines(content)
        for n, t in enumerate(texts, start=1):
            if not t.strip():
                raise InputError(f"{p}: line {n} is blank; remove blank lines (one text per line)")
        return texts
    if suffix == ".jsonl":
        texts = []
        for n, line in enumerate(_lines(content), start=1):
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
            _check_encodable(p, f"line {n}", value)
            texts.append(value)
        return texts
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    # strict: a stray or unclosed quote is an error, not texts silently merged into one
    reader = csv.DictReader(io.StringIO(content, newline=""), strict=True)
    texts = []
    start = 1
    try:
        if reader.fieldnames is None or text_column not in reader.fieldnames:
            raise InputError(
                f"{p}: no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])}); "
                "choose it with --text-column"
            )
        start = reader.line_num + 1
        for row in reader:
            value = row.get(text_column)
            if value is None or not value.strip():
                where = f"line {start}" if reader.line_num == start else f"lines {start}-{reader.line_num}"
                raise InputError(f"{p}: {where} (a row) has an empty {text_column!r}")
            texts.append(value)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{p}: the row starting at line {start} is not valid CSV ({exc}); check its quotes") from None
    if not texts:
        raise InputError(f"{p} has a header but no rows")
    return texts


def check_output_path(path: str | os.PathLike[str] | None) -> None:
    """Fail before any work when ``path`` cannot be written: a directory, or under a file or a read-only folder."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a directory; give a file path for the result, e.g. {p / 'result.json'}")
    parent = p.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write {p}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {p}: no permission to write in {parent}")


def check_save_path(path: str | os.PathLike[str]) -> None:
    """Fail before any work when ``path`` cannot become a folder for a saved clusterer."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"--save {p}: it is a file; give a folder for the saved clusterer")
    check_output_path(p / "clusterer.json")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_error(p: Path, exc: OSError) -> OutputError:
    """One line for a write that failed: the path, the cause, what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        todo = "free some space on that disk, or write elsewhere"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        todo = "give a path you can write"
    else:
        todo = "check the disk, or write elsewhere"
    cause = (exc.strerror or str(exc)).lower()
    return OutputError(f"cannot write {p}: {cause}; {todo} (nothing was written there)")


def write_atomic(path: str | os.PathLike[str], content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file: never a half-written output.

    The file gets the mode a plain ``open()`` would give it (``0o666`` less the umask), or keeps
    the mode of the file it replaces. A full disk or any other failed write is one
    :class:`~cluster_r1.errors.OutputError` naming the path, and leaves ``path`` as it was.
    """
    p = Path(path)
    check_output_path(p)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        mode = (p.stat().st_mode & 0o7777) if p.exists() else (0o666 & ~_umask())
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(p, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except BaseException as exc:
        try:
            Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _write_error(p, exc) from None
        raise


def check_cache_dir(path: str | os.PathLike[str], option: str = "--cache-dir") -> Path:
    """A cache folder the user named: created if need be and proven writable, else one :class:`ConfigError` line."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{option} {p}: it is a file, not a folder; give a folder (or pass --no-cache)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{option} {p}: cannot write there ({(exc.strerror or str(exc)).lower()}); give a "
                          "writable folder (or pass --no-cache)") from None
    return p

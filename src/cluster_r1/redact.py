"""Keep secrets out of every message, log line, result and cache file. Pure.

A secret reaches text in three ways: the API key (a server's error body may quote
it), credentials in a URL (``http://user:key@host/v1``, or ``?api_key=...``), and the
environment. :func:`redact_url` gives the URL to show; :func:`redact` replaces every
known secret in a text; :func:`known_secrets` gathers them from a URL and the
environment variables this package reads.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = ["MASK", "redact_url", "url_secrets", "known_secrets", "redact", "guard_logs"]

MASK = "***"
_KEY_ENV = ("CLUSTER_R1_API_KEY", "OPENAI_API_KEY")
_URL_ENV = ("CLUSTER_R1_BASE_URL", "OPENAI_BASE_URL")
_SECRET_PARAMS = re.compile(r"key|token|secret|password|auth|sig", re.IGNORECASE)
#: Shorter strings are too common to replace inside messages (and too short to be a real key).
_MIN_SECRET = 4


def _split(url: str):
    try:
        return urlsplit(url)
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL without credentials: userinfo and secret-looking query values masked.

    >>> redact_url("http://bob:sk-123@host:8000/v1?api_key=abc&x=1")
    'http://***@host:8000/v1?api_key=***&x=1'
    >>> redact_url("http://127.0.0.1:8080/v1")
    'http://127.0.0.1:8080/v1'
    """
    parts = _split(url)
    if parts is None or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={MASK if _SECRET_PARAMS.search(k) else v}" for k, v in pairs)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_secrets(url: str | None) -> list[str]:
    """The credentials a URL carries: userinfo user and password, secret-looking query values.

    >>> url_secrets("http://bob:sk-123@host/v1?token=t0k3n")
    ['bob', 'sk-123', 't0k3n']
    """
    parts = _split(url or "")
    if parts is None:
        return []
    found = [s for s in (parts.username, parts.password) if s]
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if v and _SECRET_PARAMS.search(k)]
    return found


def known_secrets(*urls: str | None, keys: Iterable[str | None] = ()) -> list[str]:
    """Every secret in ``keys``, in ``urls`` and in the environment variables this package reads."""
    found = [k for k in keys if k]
    found += [os.environ.get(name, "") for name in _KEY_ENV]
    for url in (*urls, *(os.environ.get(name) for name in _URL_ENV)):
        found += url_secrets(url)
    return sorted({s for s in found if len(s) >= _MIN_SECRET}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (at least 4 characters) replaced by ``***``.

    >>> redact("bad key sk-123456 at http://u:sk-123456@h", ["sk-123456"])
    'bad key *** at http://u:***@h'
    """
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


#: Loggers that may print a request URL or a server's reply: the HTTP stack, the openai client, ours.
_GUARDED = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "cluster_r1")
_guarded: set[str] = set()
_guard_lock = threading.Lock()


class _SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if _guarded:
            message = record.getMessage()
            clean = redact(message, _guarded)
            if clean != message:
                record.msg, record.args = clean, ()
        return True


_FILTER = _SecretFilter()


def guard_logs(secrets: Iterable[str]) -> None:
    """Mask ``secrets`` in every record of the HTTP stack's, the openai client's and this package's loggers.

    The HTTP library logs each request's full URL (credentials included) at INFO level;
    this filter runs before any handler, whoever configured logging.
    """
    with _guard_lock:
        _guarded.update(s for s in secrets if s and len(s) >= _MIN_SECRET)
        for name in _GUARDED:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)

"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp's server, Ollama, OpenAI.

Configuration comes from arguments or the environment:

- ``CLUSTER_R1_BASE_URL`` (e.g. ``http://127.0.0.1:8000/v1``)
- ``CLUSTER_R1_MODEL``
- ``CLUSTER_R1_API_KEY``, else ``OPENAI_API_KEY``, else a placeholder (local servers ignore it).
  The key, and credentials in the URL, never appear in a message, log line, result or
  cache file (:mod:`cluster_r1.redact`): ``base_url`` is the URL without them.

Retries are ours (bounded, exponential backoff, ``Retry-After`` honoured) on 429, 5xx,
timeouts, refused or dropped connections and malformed response bodies (cut JSON, a
null message, fields of the wrong type); the ``openai`` client's own retries are off
so that the bound is exactly ``max_retries``. The response body is read and checked
here, field by field, rather than trusted to the client's models.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from ..constraints import Constraint
from ..errors import BackendError, BackendUnavailableError, ConfigError, ContextLengthError, ModelNotFoundError
from ..redact import guard_logs, known_secrets, redact, redact_url
from .base import Completion, Message
from .dialects import SERVER_KINDS, Dialect, decode, detect, get_dialect

__all__ = ["OpenAICompatBackend", "MalformedResponseError", "read_completion", "ENV_BASE_URL", "ENV_MODEL", "ENV_API_KEY"]

log = logging.getLogger(__name__)

ENV_BASE_URL = "CLUSTER_R1_BASE_URL"
ENV_MODEL = "CLUSTER_R1_MODEL"
ENV_API_KEY = "CLUSTER_R1_API_KEY"

_CONTEXT_PATTERNS = re.compile(
    r"context (length|window)|maximum context|too many tokens|exceeds? (the )?(context|max)|"
    r"prompt is too long|requested tokens|input is too long|n_ctx",
    re.IGNORECASE,
)


class _Rejected(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class MalformedResponseError(BackendError):
    """The server answered 200 with a body that is not a chat completion (retried as a transient fault)."""


def _count(value: Any) -> int:
    """A token count as reported: a non-negative int, else 0 (usage is accounting, never a reason to fail)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _content(value: Any) -> str | None:
    """Message content: a string, null (empty), or a list of text parts; None when it is none of these."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                return None
        return "".join(parts)
    return None


def read_completion(body: bytes | str, model: str, seconds: float = 0.0) -> Completion:
    """Read a chat-completion response body, checking every field used; :class:`MalformedResponseError` if unusable.

    A reasoning server (vLLM or llama.cpp with a reasoning parser, DeepSeek) returns the
    reasoning apart, as ``reasoning_content`` (or ``reasoning``): it is put back as the
    ``<think>`` block the answer format expects, when the content has none.

    >>> read_completion(b'{"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}', "m").text
    'hi'
    >>> read_completion(b'{"choices": [{"message": {"content": "A", "reasoning_content": "R"}}]}', "m").text
    '<think>R</think>A'
    >>> read_completion(b'{"choices": [{"message": null}]}', "m")
    Traceback (most recent call last):
    ...
    cluster_r1.backends.openai_compat.MalformedResponseError: the response's first choice has no message object
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedResponseError("the response body is not valid JSON (cut off or not JSON)") from None
    if not isinstance(data, dict):
        raise MalformedResponseError("the response body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise MalformedResponseError("the response has no choices")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise MalformedResponseError("the response's first choice is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        raise MalformedResponseError("the response's first choice has no message object")
    text = _content(message.get("content"))
    if text is None:
        raise MalformedResponseError("the message content is neither text nor a list of text parts")
    reasoning = next((r for r in (message.get("reasoning_content"), message.get("reasoning")) if isinstance(r, str) and r), "")
    if reasoning and "<think>" not in text.lower():
        text = f"<think>{reasoning}</think>{text}"
    finish = choice.get("finish_reason")
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    reply_model = data.get("model")
    return Completion(
        text=text,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        seconds=seconds,
        model=reply_model if isinstance(reply_model, str) and reply_model else model,
        finish_reason=finish if isinstance(finish, str) else "",
    )


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"--base-url {redact_url(url)!r} is not a valid URL; e.g. http://127.0.0.1:8000/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--base-url {redact_url(url)!r} is not an http(s) URL; give the server's /v1 URL, e.g. http://127.0.0.1:8000/v1"
        )


class OpenAICompatBackend:
    """Chat completions through the ``openai`` client against any compatible server.

    >>> b = OpenAICompatBackend(base_url="http://u:secret-pw@127.0.0.1:9/v1", model="m", api_key="secret")
    >>> "secret" in repr(b), b.base_url
    (False, 'http://***@127.0.0.1:9/v1')
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        concurrency: int = 4,
        context_window: int | None = None,
        check_model: bool = True,
        extra_body: dict[str, Any] | None = None,
        server_kind: str = "auto",
    ) -> None:
        url = (base_url or os.environ.get(ENV_BASE_URL) or "").strip().rstrip("/")
        self.model = model or os.environ.get(ENV_MODEL) or ""
        if not url:
            raise ConfigError(
                f"no model server configured: pass --base-url URL --model NAME or set {ENV_BASE_URL} and {ENV_MODEL}"
            )
        _check_url(url)
        #: The server's URL as shown everywhere: without credentials.
        self.base_url = redact_url(url)
        if not self.model:
            raise ConfigError(f"no model name: pass --model NAME or set {ENV_MODEL} (server {self.base_url})")
        if max_retries < 0 or concurrency < 1 or timeout <= 0:
            raise ConfigError("max_retries must be >= 0, concurrency >= 1 and timeout > 0")
        if server_kind not in SERVER_KINDS:
            raise ConfigError(f"--server-kind {server_kind!r} is not one of {', '.join(SERVER_KINDS)}")
        key = api_key or os.environ.get(ENV_API_KEY) or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self._secrets = known_secrets(url, keys=[api_key, key if key != "not-needed" else None])
        guard_logs(self._secrets)
        import openai

        self._openai = openai
        self._client = openai.OpenAI(base_url=url, api_key=key, timeout=timeout, max_retries=0)
        self._url, self._key = url, key
        self._kind_asked = server_kind
        self._dialect: Dialect | None = None if server_kind == "auto" else get_dialect(server_kind)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.context_window = context_window
        self.extra_body = dict(extra_body or {})
        self._check_model = check_model
        self._checked = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.model!r})"

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        """Pickled as the settings it was made with (the HTTP client is made again where it is unpickled: a
        Ray actor), the API key included."""
        return _rebuild, ({"base_url": self._url, "model": self.model, "api_key": self._key, "timeout": self.timeout,
                           "max_retries": self.max_retries, "backoff": self.backoff, "concurrency": self.concurrency,
                           "context_window": self.context_window, "check_model": self._check_model,
                           "extra_body": self.extra_body, "server_kind": self._kind_asked},)

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)

    # -- errors -------------------------------------------------------------------------------
    def _retryable(self, exc: Exception) -> bool:
        o = self._openai
        if isinstance(exc, MalformedResponseError):
            return True
        if isinstance(exc, (o.APITimeoutError, o.APIConnectionError, o.RateLimitError, o.InternalServerError)):
            return True
        if isinstance(exc, o.APIStatusError):
            return exc.status_code >= 500
        return not isinstance(exc, o.OpenAIError)  # an unexpected failure inside the client: try again

    def _translate(self, exc: Exception) -> BackendError:
        o = self._openai
        tries = f"{self.max_retries + 1} tries"
        if isinstance(exc, MalformedResponseError):
            return MalformedResponseError(f"model server {self.base_url} sent an unusable response ({exc}; {tries})")
        if isinstance(exc, o.APITimeoutError):
            return BackendUnavailableError(
                f"model server {self.base_url} did not answer within {self.timeout:g} s ({tries}); "
                "raise --timeout or check the server"
            )
        if isinstance(exc, o.APIConnectionError):
            return BackendUnavailableError(
                f"cannot reach the model server at {self.base_url} ({tries}); start it or fix --base-url"
            )
        if isinstance(exc, o.AuthenticationError | o.PermissionDeniedError):
            return BackendError(
                f"model server {self.base_url} refused the API key ({exc.status_code}); set {ENV_API_KEY}"
            )
        if isinstance(exc, o.NotFoundError):
            return ModelNotFoundError(
                f"model {self.model!r} not found at {self.base_url}; check --model (server said: {self._said(exc)})"
            )
        if isinstance(exc, o.APIStatusError):
            msg = self._said(exc)
            if exc.status_code in (400, 413, 422) and _CONTEXT_PATTERNS.search(msg):
                return ContextLengthError(
                    f"the prompt does not fit the context window of {self.model!r} (server said: {msg}); "
                    "cluster fewer or shorter texts, start the server with a larger context, or use --method embed"
                )
            return BackendError(f"model server {self.base_url} answered {exc.status_code}: {msg}")
        return BackendError(f"model server {self.base_url} failed ({tries}): {type(exc).__name__}: "
                            f"{self._clean(str(exc))[:300]}")

    def _said(self, exc: Exception) -> str:
        """What the server's error body says, cut to 300 characters and with every secret masked."""
        return self._clean(_message(exc))

    def _retry_after(self, exc: Exception, attempt: int) -> float:
        delay = self.backoff * (2**attempt)
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        if header:
            try:
                delay = max(delay, float(header))
            except ValueError:
                pass
        return min(delay, 60.0)

    def _call(self, fn: Any, *args: Any, constrained: bool = False) -> Any:
        for attempt in range(self.max_retries + 1):
            try:
                return fn(*args)
            except Exception as exc:  # noqa: BLE001 - every failure becomes one of our errors
                if isinstance(exc, BackendError) and not isinstance(exc, MalformedResponseError):
                    raise
                if constrained and (why := self._rejects_constraint(exc)) is not None:
                    raise _Rejected(why) from None
                if attempt < self.max_retries and self._retryable(exc):
                    delay = self._retry_after(exc, attempt)
                    log.warning("model server error (%s); retry %d/%d in %.1f s", type(exc).__name__,
                                attempt + 1, self.max_retries, delay)
                    time.sleep(delay)
                    continue
                raise self._translate(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- model check --------------------------------------------------------------------------
    def available_models(self) -> list[str]:
        def fetch() -> list[str]:
            raw = self._client.models.with_raw_response.list()
            try:
                data = json.loads(raw.content)
            except (ValueError, RecursionError):
                raise MalformedResponseError("the model list is not valid JSON") from None
            items = data.get("data") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise MalformedResponseError("the model list has no data array")
            return [str(m["id"]) for m in items if isinstance(m, dict) and isinstance(m.get("id"), str)]

        return self._call(fetch)

    def check(self) -> None:
        """Fail early, with one clear line, when the server is down or lacks the model."""
        with self._lock:
            if self._checked or not self._check_model:
                return
            try:
                models = self.available_models()
            except BackendUnavailableError:
                raise
            except BackendError:
                models = []  # no usable /models route: nothing to check against
            if models and self.model not in models:
                raise ModelNotFoundError(
                    f"model {self.model!r} is not served at {self.base_url}; available: "
                    f"{self._clean(', '.join(models[:10]))}"
                )
            self._checked = True

    # -- the server's dialect -----------------------------------------------------------------
    def _probe(self, url: str) -> tuple[int, Any, dict[str, str]]:
        """GET ``url`` for detection: (status, JSON or text, headers); (0, None, {}) on any failure."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._key}"})
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout, 10.0)) as r:  # noqa: S310 - http(s) only
                status, raw, headers = r.status, r.read(1 << 20), {k.lower(): v for k, v in r.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, None, {k.lower(): v for k, v in (exc.headers or {}).items()}
        except Exception:  # noqa: BLE001 - a probe that fails says "not this server"
            return 0, None, {}
        try:
            return status, json.loads(raw), headers
        except (ValueError, RecursionError):
            return status, raw.decode("utf-8", "replace"), headers

    @property
    def dialect(self) -> Dialect:
        """The server's constrained-decoding dialect: as set (``server_kind``), else detected once."""
        with self._lock:
            if self._dialect is None:
                kind, legacy = detect(self._url, self._probe)
                self._dialect = get_dialect(kind, legacy=legacy)
                log.info("model server %s: %s", self.base_url, "unknown kind, no constraints" if kind == "none"
                         else f"{kind}{' (guided_* fields)' if legacy else ''}, constrained decoding on")
            return self._dialect

    @property
    def server_kind(self) -> str:
        return self.dialect.name

    @property
    def constraint_kinds(self) -> frozenset[str]:
        return self.dialect.kinds

    def _rejects_constraint(self, exc: Exception) -> str | None:
        """Why a constrained call's error means the server cannot take the constraint, else None.

        A status error that is not about load, auth, the model or the context: a 400 or 422, and
        llama-cpp-python's 500 for a request it cannot validate.
        """
        if not isinstance(exc, self._openai.APIStatusError) or exc.status_code not in (400, 422, 500):
            return None
        said = self._said(exc)
        if exc.status_code in (400, 413, 422) and _CONTEXT_PATTERNS.search(said):
            return None
        return f"{exc.status_code}: {said[:160]}"

    # -- the protocol -------------------------------------------------------------------------
    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        constraint: Constraint | None = None,
    ) -> Completion:
        self.check()
        kwargs: dict[str, Any] = {"model": self.model, "messages": list(messages), "temperature": temperature}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if seed is not None:
            kwargs["seed"] = seed
        fields = self.dialect.fields(constraint) if constraint is not None else None
        if self.extra_body:
            kwargs["extra_body"] = dict(self.extra_body)

        def once(args: dict[str, Any]) -> Completion:
            start = time.perf_counter()
            raw = self._client.chat.completions.with_raw_response.create(**args)
            return read_completion(raw.content, self.model, time.perf_counter() - start)

        if fields is None:
            return self._call(once, kwargs)
        constrained = dict(kwargs, extra_body={**self.extra_body, **fields[0]})
        try:
            completion = self._call(once, constrained, constrained=True)
        except _Rejected as rejected:
            log.warning("model server %s rejected the constraint (%s); asking again without it", self.base_url,
                        rejected.why)
            completion = self._call(once, kwargs)
            completion.constraint = f"rejected: {rejected.why}"
            return completion
        assert constraint is not None
        completion.text = decode(constraint, fields[1], completion.text)
        completion.constraint = "applied"
        return completion


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    response = getattr(exc, "response", None)
    text = getattr(response, "text", "") if response is not None else ""
    if isinstance(text, str) and text.strip():
        return text.strip()[:300]
    return str(getattr(exc, "message", exc))[:300]


def _rebuild(settings: dict[str, Any]) -> OpenAICompatBackend:
    return OpenAICompatBackend(**settings)

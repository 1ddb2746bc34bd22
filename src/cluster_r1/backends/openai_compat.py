"""Any OpenAI-compatible chat server: vLLM, SGLang, llama.cpp's server, Ollama, OpenAI.

Configuration comes from arguments or the environment:

- ``CLUSTER_R1_BASE_URL`` (e.g. ``http://127.0.0.1:8000/v1``)
- ``CLUSTER_R1_MODEL``
- ``CLUSTER_R1_API_KEY``, else ``OPENAI_API_KEY``, else a placeholder (local servers ignore it).
  The key is never printed, logged or written.

Retries are ours (bounded, exponential backoff, ``Retry-After`` honoured) on
429, 5xx, timeouts and refused connections; the ``openai`` client's own retries
are switched off so that the bound is exactly ``max_retries``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..errors import BackendError, BackendUnavailableError, ConfigError, ContextLengthError, ModelNotFoundError
from .base import Completion, Message

__all__ = ["OpenAICompatBackend", "ENV_BASE_URL", "ENV_MODEL", "ENV_API_KEY"]

log = logging.getLogger(__name__)

ENV_BASE_URL = "CLUSTER_R1_BASE_URL"
ENV_MODEL = "CLUSTER_R1_MODEL"
ENV_API_KEY = "CLUSTER_R1_API_KEY"

_CONTEXT_PATTERNS = re.compile(
    r"context (length|window)|maximum context|too many tokens|exceeds? (the )?(context|max)|"
    r"prompt is too long|requested tokens|input is too long|n_ctx",
    re.IGNORECASE,
)


class OpenAICompatBackend:
    """Chat completions through the ``openai`` client against any compatible server.

    >>> b = OpenAICompatBackend(base_url="http://127.0.0.1:9/v1", model="m", api_key="secret")
    >>> "secret" in repr(b)
    False
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
    ) -> None:
        self.base_url = (base_url or os.environ.get(ENV_BASE_URL) or "").rstrip("/")
        self.model = model or os.environ.get(ENV_MODEL) or ""
        if not self.base_url:
            raise ConfigError(
                f"no model server configured: pass --base-url URL --model NAME or set {ENV_BASE_URL} and {ENV_MODEL}"
            )
        if not self.model:
            raise ConfigError(f"no model name: pass --model NAME or set {ENV_MODEL} (server {self.base_url})")
        if max_retries < 0 or concurrency < 1 or timeout <= 0:
            raise ConfigError("max_retries must be >= 0, concurrency >= 1 and timeout > 0")
        key = api_key or os.environ.get(ENV_API_KEY) or os.environ.get("OPENAI_API_KEY") or "not-needed"
        import openai

        self._openai = openai
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=timeout, max_retries=0)
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

    # -- errors -------------------------------------------------------------------------------
    def _retryable(self, exc: Exception) -> bool:
        o = self._openai
        if isinstance(exc, (o.APITimeoutError, o.APIConnectionError, o.RateLimitError, o.InternalServerError)):
            return True
        return isinstance(exc, o.APIStatusError) and exc.status_code >= 500

    def _translate(self, exc: Exception) -> Exception:
        o = self._openai
        if isinstance(exc, o.APITimeoutError):
            return BackendUnavailableError(
                f"model server {self.base_url} did not answer within {self.timeout:g} s "
                f"({self.max_retries + 1} tries); raise --timeout or check the server"
            )
        if isinstance(exc, o.APIConnectionError):
            return BackendUnavailableError(
                f"cannot reach the model server at {self.base_url} ({self.max_retries + 1} tries); "
                "start it or fix --base-url"
            )
        if isinstance(exc, o.AuthenticationError | o.PermissionDeniedError):
            return BackendError(
                f"model server {self.base_url} refused the API key ({exc.status_code}); set {ENV_API_KEY}"
            )
        if isinstance(exc, o.NotFoundError):
            return ModelNotFoundError(
                f"model {self.model!r} not found at {self.base_url}; check --model (server said: {_message(exc)})"
            )
        if isinstance(exc, o.APIStatusError):
            msg = _message(exc)
            if exc.status_code in (400, 413, 422) and _CONTEXT_PATTERNS.search(msg):
                return ContextLengthError(
                    f"the prompt does not fit the context window of {self.model!r} (server said: {msg}); "
                    "cluster fewer or shorter texts, start the server with a larger context, or use --method embed"
                )
            return BackendError(f"model server {self.base_url} answered {exc.status_code}: {msg}")
        return BackendError(f"model server {self.base_url} failed: {exc}")

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

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(self.max_retries + 1):
            try:
                return fn(*args, **kwargs)
            except self._openai.OpenAIError as exc:
                if attempt < self.max_retries and self._retryable(exc):
                    delay = self._retry_after(exc, attempt)
                    log.warning("model server error (%s); retry %d/%d in %.1f s", type(exc).__name__,
                                attempt + 1, self.max_retries, delay)
                    time.sleep(delay)
                    continue
                raise self._translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- model check --------------------------------------------------------------------------
    def available_models(self) -> list[str]:
        page = self._call(self._client.models.list)
        return [m.id for m in page.data]

    def check(self) -> None:
        """Fail early, with one clear line, when the server is down or lacks the model."""
        with self._lock:
            if self._checked or not self._check_model:
                return
            try:
                models = self.available_models()
            except ModelNotFoundError:
                models = []  # the server has no /models route: nothing to check against
            except BackendError as exc:
                if isinstance(exc, BackendUnavailableError):
                    raise
                models = []
            if models and self.model not in models:
                raise ModelNotFoundError(
                    f"model {self.model!r} is not served at {self.base_url}; available: {', '.join(models[:10])}"
                )
            self._checked = True

    # -- the protocol -------------------------------------------------------------------------
    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> Completion:
        self.check()
        kwargs: dict[str, Any] = {"model": self.model, "messages": list(messages), "temperature": temperature}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if seed is not None:
            kwargs["seed"] = seed
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        start = time.perf_counter()
        response = self._call(self._client.chat.completions.create, **kwargs)
        seconds = time.perf_counter() - start
        if not getattr(response, "choices", None):
            raise BackendError(f"model server {self.base_url} returned no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            seconds=seconds,
            model=getattr(response, "model", "") or self.model,
            finish_reason=choice.finish_reason or "",
        )


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return str(getattr(exc, "message", exc))[:300]

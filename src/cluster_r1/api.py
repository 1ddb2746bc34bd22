"""The library entry point behind the CLI and the estimator: texts + instruction -> Clustering."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from .backends.base import Backend
from .backends.openai_compat import ENV_BASE_URL, OpenAICompatBackend
from .errors import ConfigError, InputError
from .types import Clustering

__all__ = ["cluster_texts", "make_backend", "server_configured", "METHODS"]

METHODS = ("auto", "agent")


def server_configured(base_url: str | None = None) -> bool:
    """True when a model server is given as an argument or through ``CLUSTER_R1_BASE_URL``."""
    return bool(base_url or os.environ.get(ENV_BASE_URL))


def make_backend(
    *,
    base_url: str | None = None,
    model: str | None = None,
    timeout: float = 600.0,
    max_retries: int = 3,
    concurrency: int = 4,
    context_window: int | None = None,
) -> Backend:
    """An OpenAI-compatible backend from arguments, falling back to the environment."""
    return OpenAICompatBackend(
        base_url=base_url,
        model=model,
        timeout=timeout,
        max_retries=max_retries,
        concurrency=concurrency,
        context_window=context_window,
    )


def cluster_texts(
    texts: Sequence[str],
    instruction: str,
    *,
    method: str = "auto",
    backend: Backend | None = None,
    n_clusters: int | None = None,
    agent_options: dict[str, Any] | None = None,
    on_event: Callable[[str], None] | None = None,
) -> Clustering:
    """Cluster ``texts`` as ``instruction`` says, with the agent (``method="agent"``).

    ``method="auto"`` uses the agent when a backend is given or a server is configured.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if len(texts) < 2:
        raise InputError(f"need at least 2 texts to cluster, got {len(texts)}")
    if method == "auto" and backend is None and not server_configured():
        raise ConfigError(
            f"no model server configured: pass --base-url URL --model NAME or set {ENV_BASE_URL} "
            "and CLUSTER_R1_MODEL (any OpenAI-compatible server: vLLM, llama.cpp, Ollama, OpenAI)"
        )
    from .agent import ClusteringAgent

    agent = ClusteringAgent(backend or make_backend(), on_event=on_event, **(agent_options or {}))
    return agent.cluster(texts, instruction, n_clusters=n_clusters)

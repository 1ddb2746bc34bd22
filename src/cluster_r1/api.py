"""The library entry point behind the CLI and the estimator: texts + instruction -> Clustering.

Methods (declared once in :mod:`cluster_r1.methods`): ``agent`` (an LLM over any OpenAI-compatible
server), ``embed`` (offline: the bundled MiniLM encoder, k chosen automatically, clusters named by
keywords), its assisted modes ``assist``, ``assist-answers`` and ``llm-names``, and ``auto``
(default): the agent when a server is configured, else ``embed``. In ``auto``
mode an agent that gives no usable answer at all, or whose texts do not fit the model's
context, falls back to ``embed``, with a note.
``embed`` with ``embed_options={"assist": "categories" | "answers", "llm_names": True, "categories": [...]}``
uses a model server for criteria an encoder cannot see (:mod:`cluster_r1.corpus.assist`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .agent.options import AgentOptions
from .backends.base import Backend
from .backends.openai_compat import ENV_BASE_URL, OpenAICompatBackend
from .engine import Engine, make_engine, using
from .errors import AnswerError, ContextLengthError, InputError
from .granularity import unseen_criterion
from .methods import Choice, methods, resolve, split_assist
from .notices import drain as drain_notices
from .types import Clustering, null_progress

if TYPE_CHECKING:  # the embedding package loads scikit-learn and torch: only when the method needs it
    from .embed.options import EmbedOptions

__all__ = ["cluster_texts", "make_backend", "server_configured", "METHODS"]

#: The method names :func:`cluster_texts` accepts (:mod:`cluster_r1.methods`).
METHODS = tuple(m.name for m in methods("api"))

#: The note on a result clustered without an instruction.
NO_INSTRUCTION = ("no instruction given: clustered by what the texts are about; say by what with --instruction "
                  '(e.g. "by root cause"; a criterion other than topic needs a model: --base-url URL)')


def unseen_note(word: str) -> str:
    """The one line that says the offline method cannot see ``word`` (a criterion named by the instruction)."""
    return (f"offline, the clusters follow what the texts are about: the encoder does not see {word} in them; "
            f"for clusters by {word}, give a model server (--base-url URL --model NAME)")


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
    server_kind: str = "auto",
) -> Backend:
    """An OpenAI-compatible backend from arguments, falling back to the environment."""
    return OpenAICompatBackend(
        server_kind=server_kind,
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
    agent_options: AgentOptions | dict[str, Any] | None = None,
    embed_options: EmbedOptions | dict[str, Any] | None = None,
    scale_options: Any = None,
    on_event: Callable[[str], None] | None = None,
    progress: Callable[[str, int, int, str], None] | None = None,
    keep: dict[str, Any] | None = None,
    engine: str | Engine = "local",
) -> Clustering:
    """Cluster ``texts`` as ``instruction`` says.

    ``method="auto"`` uses the agent when a backend is given or a server is configured
    (``CLUSTER_R1_BASE_URL``), else the offline embedding method. The agent answers in one
    shot when the texts fit one window (:func:`fits_one_window`); beyond that the
    large-corpus pipeline runs (:mod:`cluster_r1.corpus`, ``scale_options`` a
    :class:`~cluster_r1.corpus.context.ScaleOptions`). ``keep``, when given, receives the
    pipeline's ``"model"`` (a :class:`~cluster_r1.corpus.context.ScaleModel`) and ``"vectors"``,
    for saving a clusterer without embedding twice. What went wrong around the run without changing
    it (a damaged cache dropped, a cache location that could not be used) ends the result's notes
    (:mod:`cluster_r1.notices`). ``engine``: where batch work runs (:mod:`cluster_r1.engine`: ``"local"``,
    ``"ray"`` or an engine such as ``RayEngine(address=...)``); the notes name it when it is not local.
    """
    assisted, settings = split_assist(embed_options)
    server = backend is not None or server_configured()
    choice = resolve(method, assist=assisted.get("assist"), llm_names=bool(assisted.get("llm_names", False)),
                     categories=assisted.get("categories"), server=server)
    if len(texts) < 2:
        raise InputError(f"need at least 2 texts to cluster, got {len(texts)}")
    from .embed.options import EmbedOptions

    request = _Request(texts, instruction, n_clusters, AgentOptions.of(agent_options), EmbedOptions.of(settings),
                       scale_options, on_event, progress, keep)
    runner = make_engine(engine)
    if choice.family == "agent" or (choice.family == "auto" and server) or choice.assisted:
        backend = backend if backend is not None else make_backend()
        if callable(getattr(runner, "distribute", None)):  # the model calls made by the engine's actors
            backend = runner.distribute(backend)  # type: ignore[attr-defined]
    with using(runner):
        if choice.family == "agent" or (choice.family == "auto" and server):
            result = _agent(request, backend if backend is not None else make_backend(),
                            fall_back=choice.family == "auto")
        else:
            result = _embed(request, choice, backend)
    result.notes.extend(runner.notes())
    if not instruction.strip():
        result.notes.insert(0, NO_INSTRUCTION)
    elif (backend is None and not any(n.startswith(("view=style", "view=language")) for n in result.notes)
          and (word := unseen_criterion(instruction)) is not None):
        result.notes.insert(0, unseen_note(word))
    result.notes.extend(n for n in drain_notices() if n not in result.notes)
    return result


@dataclass(frozen=True)
class _Request:
    """What :func:`cluster_texts` was asked, once the method is resolved."""

    texts: Sequence[str]
    instruction: str
    n_clusters: int | None
    agent_options: AgentOptions
    embed_options: EmbedOptions
    scale_options: Any
    on_event: Callable[[str], None] | None
    progress: Callable[[str, int, int, str], None] | None
    keep: dict[str, Any] | None


def _agent(request: _Request, backend: Backend, *, fall_back: bool) -> Clustering:
    """The agent in one window, the large-corpus pipeline beyond; ``fall_back``: embeddings where the model gives
    no usable answer or the texts do not fit its context, with a note."""
    from .agent import ClusteringAgent
    from .corpus.context import ScaleOptions

    texts, instruction, n_clusters = request.texts, request.instruction, request.n_clusters
    scale = request.scale_options or ScaleOptions()
    agent = ClusteringAgent(backend, on_event=request.on_event, **request.agent_options.kwargs())
    try:
        if fits_one_window(agent, texts, instruction, n_clusters=n_clusters, max_items=scale.max_window_items):
            return agent.cluster(texts, instruction, n_clusters=n_clusters)
        from .corpus.pipeline import cluster_corpus, embed_corpus

        vectors = embed_corpus(texts, instruction, embed_options=request.embed_options)
        result, model = cluster_corpus(texts, instruction, backend, n_clusters=n_clusters, options=scale,
                                       agent_options=request.agent_options, vectors=vectors,
                                       progress=request.progress if request.progress is not None else null_progress)
        if request.keep is not None:
            request.keep.update(model=model, vectors=vectors)
        return _with_levels_above(result, vectors[0], texts, view=str(vectors[2].get("view", "semantic")),
                                  backend=backend, instruction=instruction)
    except (AnswerError, ContextLengthError) as exc:
        if not fall_back:
            raise
        why = "the texts do not fit the model's context" if isinstance(exc, ContextLengthError) else "the model gave no usable answer"
        result = _embed(request, Choice("embed"))
        result.notes.insert(0, f"{why} ({exc}); clustered with embeddings instead")
        return result


def _with_levels_above(result: Clustering, x: Any, texts: Sequence[str], *, view: str, backend: Backend,
                       instruction: str) -> Clustering:
    """The large-corpus pipeline's result with the levels above its topics, named by the model from their
    children's names (its own topics the finest level and the answer); as it was when it has too few topics for a
    level above them."""
    import numpy as np

    from .corpus.calls import Tally
    from .corpus.levels import name_levels_by_model
    from .embed.hierarchy import levels_above

    labels = np.asarray(result.labels) - 1
    levels = levels_above(labels, np.asarray(x), list(texts), [c.name for c in result.clusters],
                          [c.description for c in result.clusters], family=view)
    if len(levels) > 1:
        import time

        tally, start = Tally(), time.perf_counter()
        name_levels_by_model(backend, instruction, levels, tally)
        result.usage = result.usage.add(tally.usage(time.perf_counter() - start))
        result.levels, result.level = levels, len(levels)
        counts = " / ".join(str(lv.n_clusters) for lv in levels)
        result.notes.append(f"levels: {counts} clusters, from the top (--level N picks one); the answer is the "
                            "pipeline's topics, the finest level; the levels above merge them by their texts' "
                            f"vectors and were named by the model from their topics' names ({tally.calls} calls)")
    return result


def fits_one_window(agent: Any, texts: Sequence[str], instruction: str, *, n_clusters: int | None = None,
                    max_items: int = 40) -> bool:
    """True when the one-shot agent should answer: at most ``max_items`` texts whose prompt fits the context
    (the backend's, else :data:`~cluster_r1.corpus.context.DEFAULT_CONTEXT`) without cutting texts to a fair share.

    Raises :class:`~cluster_r1.errors.ContextLengthError` when the context cannot hold even one text.
    """
    from .agent.state import estimate_tokens
    from .corpus.context import DEFAULT_CONTEXT

    window = getattr(agent.backend, "context_window", None) or DEFAULT_CONTEXT
    skeleton = agent.template.render(instruction, [""], limit=None)
    if estimate_tokens(skeleton) + min(agent.max_tokens, 1024) + 50 > window:
        raise ContextLengthError(
            f"the model's context of {window} tokens cannot hold even one text with its instructions and answer: "
            "start the server with a larger context (or pass the right --context-window), or use --method embed"
        )
    if len(texts) > max_items:
        return False
    form, _, _ = agent.structure(len(texts), n_clusters)
    from .prompts import get_template

    prompt = get_template(agent.prompt_name, form).render(instruction, texts, limit=agent.max_text_chars)
    return estimate_tokens(prompt) + agent.max_tokens <= window or bool(getattr(agent.backend, "context_window", None))


def _embed(request: _Request, choice: Choice, backend: Backend | None = None) -> Clustering:
    """The embedding method; a ``choice`` that assists it brings in a model server."""
    from .embed import embed_cluster

    texts, instruction, n_clusters = request.texts, request.instruction, request.n_clusters
    if choice.assisted:
        from .corpus.assist import AssistOptions, assisted_cluster

        return assisted_cluster(
            texts,
            instruction,
            backend if backend is not None else make_backend(),
            assist=AssistOptions(choice.assist, choice.llm_names, choice.categories),
            n_clusters=n_clusters,
            embed_options=request.embed_options,
            on_event=request.on_event,
        )
    return embed_cluster(texts, instruction, n_clusters=n_clusters, **request.embed_options.kwargs())

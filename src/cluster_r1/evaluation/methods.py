"""What the harness evaluates: a :class:`Method` turns one benchmark :class:`Example` into a Clustering.

Adapters:

* :class:`AgentMethod` (``agent``) -- the :class:`~cluster_r1.agent.ClusteringAgent` over any
  backend, in the paper's protocol: unconstrained (``constrain="off"``). It also keeps every
  answer of the example, so that the first can be scored as the paper does (strict App. D
  validation, invalid = V 0) next to the agent's final result after re-ask and salvage.
  ``agent-constrained`` is the same agent with constrained decoding where the server offers it
  (one line per item under a grammar); its first answer is scored as the agent read it, converted
  to the paper's format, so the two rows stand side by side.
* :class:`EmbeddingMethod` -- ``kmeans`` / ``gmm``: the App. E.1 baselines with the gold k
  (``random_state=43``); ``embed``: the shipped embedding default, k inferred.
* :class:`AssistMethod` (``assist``) -- the LLM-assisted mode of the embedding method
  (:mod:`cluster_r1.corpus.assist`, ``categories``): the model proposes the categories and
  picks one per text; k is the model's, like the agent's.

A method with raw answers implements ``run(example) -> Outcome``; a plain method only
``cluster(example)``; :func:`run_method` gives both the same shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..backends.base import Backend
from ..backends.recording import RecordingBackend
from ..bench.splits import Example
from ..errors import ConfigError
from ..methods import get_method, methods
from ..types import Clustering, Usage

__all__ = [
    "Method",
    "TracingMethod",
    "Outcome",
    "AgentMethod",
    "EmbeddingMethod",
    "AssistMethod",
    "METHOD_NAMES",
    "make_method",
    "run_method",
]

log = logging.getLogger(__name__)

#: The methods ``cluster-r1 eval`` runs, as :mod:`cluster_r1.methods` declares them for it.
METHOD_NAMES = tuple(m.name for m in methods("eval"))


@runtime_checkable
class Method(Protocol):
    """Anything with a ``name`` (the table row) and ``cluster(example) -> Clustering``."""

    name: str

    def cluster(self, example: Example) -> Clustering: ...


@runtime_checkable
class TracingMethod(Method, Protocol):
    """A method that also reports its raw model outputs (for format accuracy)."""

    def run(self, example: Example) -> Outcome: ...


@dataclass
class Outcome:
    """One method on one example: the clustering (None on error) and the raw model outputs.

    ``answer_names`` says whether ``cluster1 (name): [...]`` lines are the requested
    format (our named prompt), for strict validation of ``raw_answers[0]``.
    """

    clustering: Clustering | None
    raw_answers: list[str] | None = None
    answer_names: bool = False
    error: str | None = None
    usage: Usage = field(default_factory=Usage)


def run_method(method: Method, example: Example) -> Outcome:
    """Run ``method`` on ``example``; an exception becomes ``Outcome(error=...)``, never a crash."""
    if isinstance(method, TracingMethod):
        return method.run(example)
    try:
        clustering = method.cluster(example)
    except Exception as exc:  # one failing example must not end the run; the record says why
        log.warning("%s failed on %s: %s", method.name, example.id, exc)
        return Outcome(None, error=f"{type(exc).__name__}: {exc}")
    return Outcome(clustering, usage=clustering.usage)


class AgentMethod:
    """The clustering agent; ``agent_options`` go to :class:`~cluster_r1.agent.ClusteringAgent`.

    ``samples`` must stay 1: with self-consistency the first call is not "the" answer.
    """

    def __init__(self, backend: Backend, *, name: str | None = None, **agent_options: Any) -> None:
        from ..agent import ClusteringAgent

        if int(agent_options.get("samples", 1)) != 1:
            raise ConfigError("the evaluation scores the first answer of a single run: use samples=1")
        self.backend = backend
        self.options = dict(agent_options)
        self.options.setdefault("constrain", "off")
        constrained = self.options["constrain"] != "off"
        self.name = name or f"agent ({backend.model}{', constrained' if constrained else ''})"
        self.names = ClusteringAgent(backend, **self.options).template.names

    def run(self, example: Example) -> Outcome:
        from ..agent import ClusteringAgent

        recorder = RecordingBackend(self.backend)
        agent = ClusteringAgent(recorder, **self.options)
        clustering: Clustering | None = None
        error = None
        try:
            clustering = agent.cluster(example.texts, example.instruction)
        except Exception as exc:  # recorded; the example scores 0
            log.warning("%s failed on %s: %s", self.name, example.id, exc)
            error = f"{type(exc).__name__}: {exc}"
        answers = agent.last_run.answers if agent.last_run is not None else []
        return Outcome(
            clustering,
            raw_answers=answers or [c.text for c in recorder.completions],
            answer_names=self.names,
            error=error,
            usage=recorder.usage(),
        )

    def cluster(self, example: Example) -> Clustering:
        outcome = self.run(example)
        if outcome.clustering is None:
            raise RuntimeError(outcome.error)
        return outcome.clustering


class EmbeddingMethod:
    """Embedding clustering through :func:`cluster_r1.embed.embed_cluster`.

    ``algorithm="kmeans"``/``"gmm"`` with ``gold_k=True`` is the paper protocol (App. E.1):
    the example's gold cluster count, scikit-learn defaults, ``random_state=43``.
    ``gold_k=False`` lets the method pick k (``algorithm="auto"`` = the shipped default); without an
    explicit ``embedder`` it is exactly what users get, the view routed by the instruction
    (:mod:`cluster_r1.embed.views`). The gold-k baselines always cluster the encoder's vectors.
    """

    def __init__(
        self,
        *,
        algorithm: str = "kmeans",
        gold_k: bool = True,
        embedder: Any = None,
        random_state: int = 43,
        cache_dir: str | Path | bool | None = None,
        name: str | None = None,
    ) -> None:
        from ..embed import get_embedder

        self.algorithm = algorithm
        self.gold_k = gold_k
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.routed = not gold_k and embedder is None
        self.embedder = get_embedder(embedder)
        model = str(getattr(self.embedder, "name", type(self.embedder).__name__)).rsplit("/", 1)[-1]
        label = {"kmeans": "K-means", "gmm": "GMM"}.get(algorithm, algorithm)
        self.name = name or (f"{model} + {label} (gold k)" if gold_k else f"{model} + embed default (k inferred)")

    def prepare(self) -> None:
        """Load the encoder once before threads share it."""
        getattr(self.embedder, "model", None)  # the property loads a SentenceTransformer lazily

    def cluster(self, example: Example) -> Clustering:
        from ..embed import embed_cluster

        return embed_cluster(
            example.texts,
            example.instruction,
            n_clusters=example.n_clusters if self.gold_k else None,
            embedder=None if self.routed else self.embedder,
            view="auto" if self.routed else "semantic",
            algorithm=self.algorithm,
            random_state=self.random_state,
            cache_dir=self.cache_dir,
        )


class AssistMethod:
    """``assist``: propose categories from the example's texts, one short pick per text (k from the model)."""

    def __init__(self, backend: Backend, *, name: str | None = None, sample_size: int = 16, seed: int = 0) -> None:
        self.backend = backend
        self.sample_size = sample_size
        self.seed = seed
        self.name = name or f"{backend.model} + assist=categories (k from the model)"

    def cluster(self, example: Example) -> Clustering:
        from ..corpus.assist import Proposal, categories_cluster

        return categories_cluster(example.texts, example.instruction, self.backend,
                                  proposal=Proposal(sample_size=self.sample_size), seed=self.seed)


def make_method(
    spec: str,
    *,
    backend: Backend | None = None,
    agent_options: dict[str, Any] | None = None,
    embedder: Any = None,
    embed_cache_dir: str | Path | bool | None = None,
    random_state: int = 43,
) -> Method:
    """A method by name: ``agent``/``assist`` (need ``backend``), ``kmeans``, ``gmm`` (gold k), ``embed`` (k inferred)."""
    declared = get_method(spec, "eval")
    if declared.model == "required":
        if backend is None:
            raise ConfigError(f"method {spec!r} needs a model server: pass --base-url URL --model NAME")
        if spec == "agent":
            return AgentMethod(backend, **{**(agent_options or {}), "constrain": "off"})
        if spec == "agent-constrained":
            options = dict(agent_options or {})
            if options.get("constrain", "auto") == "off":
                options["constrain"] = "auto"
            return AgentMethod(backend, **options)
        return AssistMethod(backend, seed=int((agent_options or {}).get("seed", 0) or 0))
    common = {"embedder": embedder, "random_state": random_state, "cache_dir": embed_cache_dir}
    # kmeans and gmm: the App. E.1 baselines with the gold k; embed: the shipped default, k inferred
    return EmbeddingMethod(algorithm=spec if declared.gold_k else "auto", gold_k=declared.gold_k, **common)

"""Every clustering method, declared once: one vocabulary for the API, the CLI and ``cluster-r1 eval``.

>>> [m.name for m in methods("cli")]
['auto', 'agent', 'embed', 'assist', 'assist-answers', 'llm-names']
>>> resolve("auto", categories=["Billing", "Login"], server=True)
Choice(family='embed', assist='categories', llm_names=False, categories=['Billing', 'Login'])

:func:`resolve` holds the rules that combine a method with the assisted-mode options (``--assist``,
``--llm-names``, ``--category``), so that the CLI and :func:`cluster_r1.api.cluster_texts` apply the
same ones. The evaluation harness builds its runners (:mod:`cluster_r1.evaluation.methods`) for the
names of :func:`methods` ``("eval")``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = ["Method", "Choice", "REGISTRY", "methods", "get_method", "resolve", "ASSIST_MODES", "ASSIST_KEYS",
           "split_assist"]

#: What ``--assist`` may say.
ASSIST_MODES = ("categories", "answers")
#: The keys of an ``embed_options`` mapping that choose the assisted mode rather than set the embedding.
ASSIST_KEYS = ("assist", "llm_names", "categories")


def split_assist(options: Any) -> tuple[dict[str, Any], Any]:
    """(the assisted-mode keys, the embedding settings) of an ``embed_options`` mapping; anything else (typed
    options, None) holds no assisted-mode keys.

    >>> split_assist({"assist": "categories", "cache_dir": False})
    ({'assist': 'categories'}, {'cache_dir': False})
    """
    if not isinstance(options, Mapping):
        return {}, options
    return ({k: v for k, v in options.items() if k in ASSIST_KEYS},
            {k: v for k, v in options.items() if k not in ASSIST_KEYS})


@dataclass(frozen=True)
class Method:
    """One method. ``family``: what runs it (``agent``: the reasoning agent, with the large-corpus pipeline beyond
    one window; ``embed``: the embedding method, which a model may assist; ``auto``: decided by whether a server is
    configured). ``model``: ``required``, ``optional`` or ``none``. ``k``: how the number of clusters is found.
    ``scopes``: where the name is accepted (``api``, ``cli``, ``eval``)."""

    name: str
    summary: str
    family: str
    model: str
    k: str
    scopes: tuple[str, ...] = ("api", "cli", "eval")
    assist: str | None = None
    llm_names: bool = False
    gold_k: bool = False


REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("auto", "the agent where a model server is configured, else embed", "auto", "optional",
           "inferred (or --n-clusters)", scopes=("api", "cli")),
    Method("agent", "the reasoning agent (the paper's App. D contract; the large-corpus pipeline beyond one window)",
           "agent", "required", "inferred by the model (or --n-clusters)"),
    Method("agent-constrained", "the agent under constrained decoding where the server offers it (eval's agent is "
           "unconstrained, the paper's protocol)", "agent",
           "required", "inferred by the model", scopes=("eval",)),
    Method("kmeans", "the paper's K-means baseline (App. E.1) on the embeddings, given the gold k", "embed", "none",
           "gold", scopes=("eval",), gold_k=True),
    Method("gmm", "the paper's Gaussian-mixture baseline (App. E.1), given the gold k", "embed", "none", "gold",
           scopes=("eval",), gold_k=True),
    Method("embed", "offline: the bundled encoder, the view the instruction asks for, k inferred, keyword names",
           "embed", "none", "inferred (or --n-clusters)"),
    Method("assist", "embed, then the model names the clusters under the instruction and picks one category per text",
           "embed", "required", "the model's categories", assist="categories"),
    Method("assist-answers", "embed the model's short answer per text (InBedder-style)", "embed", "required",
           "inferred", scopes=("api", "cli"), assist="answers"),
    Method("llm-names", "embed, the clusters named by the model", "embed", "required", "inferred (or --n-clusters)",
           scopes=("api", "cli"), llm_names=True),
)}


def methods(scope: str) -> list[Method]:
    """The methods accepted in ``scope`` (``api``, ``cli`` or ``eval``), in declaration order."""
    return [m for m in REGISTRY.values() if scope in m.scopes]


def get_method(name: str, scope: str = "api") -> Method:
    """The method called ``name`` in ``scope``; a :class:`ConfigError` naming the choices otherwise."""
    method = REGISTRY.get(name)
    if method is None or scope not in method.scopes:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(m.name for m in methods(scope))}")
    return method


@dataclass(frozen=True)
class Choice:
    """What a run resolves to: the ``family`` that runs it (``auto``, ``agent``, ``embed``) and how a model assists
    the embedding method."""

    family: str
    assist: str | None = None
    llm_names: bool = False
    categories: list[str] | None = None

    @property
    def assisted(self) -> bool:
        return bool(self.assist or self.llm_names)


def resolve(
    method: str = "auto",
    *,
    assist: str | None = None,
    llm_names: bool = False,
    categories: Sequence[str] | None = None,
    server: bool = False,
    scope: str = "api",
) -> Choice:
    """The one set of rules for a method and the assisted-mode options.

    Your own ``categories`` mean ``assist="categories"`` (``answers`` with them is an error); assisting is a mode
    of the embedding method, so ``auto`` with it is ``embed`` and ``agent`` with it an error; an assisted run
    needs a model ``server``.
    """
    spec = get_method(method, scope)
    if assist is not None and assist not in ASSIST_MODES:
        raise ConfigError(f"assist={assist!r}: choose one of {', '.join(ASSIST_MODES)}")
    assist = assist or spec.assist
    llm_names = llm_names or spec.llm_names
    cats = list(categories) if categories is not None else None
    if cats is not None:
        if assist == "answers":
            raise ConfigError("--category goes with --assist categories, not answers: drop one of the two")
        assist = "categories"
    family = spec.family
    if assist or llm_names:
        if family == "agent":
            raise ConfigError("--assist, --category and --llm-names belong to --method embed; drop them or use "
                              "--method embed")
        family = "embed"  # assisting is a mode of the embedding method
        if not server:
            raise ConfigError("--assist, --category and --llm-names need a model server: pass --base-url URL "
                              "--model NAME")
    return Choice(family, assist, bool(llm_names), cats)

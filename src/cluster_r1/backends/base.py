"""The one protocol every LLM backend implements.

``complete(messages, *, temperature, max_tokens, seed, constraint=None)`` is the whole
protocol. ``constraint`` (:mod:`cluster_r1.constraints`) asks for a structure; a backend
honours it where its server can and otherwise ignores it, and callers validate every
reply either way. A backend that honours constraints says which kinds in
``constraint_kinds`` (a subset of ``{"choice", "regex", "json", "grammar"}``); one without
that attribute is never passed a constraint (:func:`generate`), so backends written
before constraints existed keep working.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Message", "Completion", "Backend", "complete_many", "generate", "constraint_kinds", "supports", "Wrapper"]

Message = dict[str, str]


@dataclass
class Completion:
    """One model reply and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    model: str = ""
    finish_reason: str = ""
    #: what became of a requested constraint: "" (none asked or ignored), "applied", or
    #: "rejected: <why>" (the server refused it and the call was made again without it)
    constraint: str = ""


@runtime_checkable
class Backend(Protocol):
    """A chat model. ``complete`` is the only method a backend must implement.

    ``model`` names the model in results; ``context_window`` (tokens) is None when unknown;
    ``concurrency`` bounds parallel calls made through :func:`complete_many`.
    """

    model: str
    context_window: int | None
    concurrency: int

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        constraint: Any = None,
    ) -> Completion: ...


def constraint_kinds(backend: Any) -> frozenset[str]:
    """The constraint kinds ``backend`` honours (empty for backends that know none)."""
    kinds = getattr(backend, "constraint_kinds", None)
    return frozenset(kinds) if kinds else frozenset()


def supports(backend: Any, constraint: Any) -> bool:
    """True when ``backend`` can honour ``constraint`` in some form."""
    from ..constraints import Choice, Grammar, JSONSchema, Regex

    kinds = constraint_kinds(backend)
    if isinstance(constraint, Choice):
        return bool(kinds)
    if isinstance(constraint, Regex):
        return "regex" in kinds
    if isinstance(constraint, JSONSchema):
        return "json" in kinds
    if isinstance(constraint, Grammar):
        return "grammar" in kinds or ("json" in kinds and constraint.schema is not None)
    return False


def generate(
    backend: Backend,
    messages: Sequence[Message],
    *,
    temperature: float = 0.0,
    max_tokens: int | None = None,
    seed: int | None = None,
    constraint: Any = None,
) -> Completion:
    """``backend.complete``, passing ``constraint`` only to a backend that can honour it."""
    if constraint is not None and supports(backend, constraint):
        return backend.complete(messages, temperature=temperature, max_tokens=max_tokens, seed=seed,
                                constraint=constraint)
    return backend.complete(messages, temperature=temperature, max_tokens=max_tokens, seed=seed)


def complete_many(
    backend: Backend,
    conversations: Sequence[Sequence[Message]],
    *,
    constraints: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[Completion]:
    """Run several conversations (through :func:`generate`), at most ``backend.concurrency`` at once, in order.

    ``constraints`` gives one constraint per conversation (else ``constraint=`` applies to all).
    """
    if constraints is not None and len(constraints) != len(conversations):
        raise ValueError(f"{len(constraints)} constraints for {len(conversations)} conversations")
    jobs = [(c, constraints[j]) if constraints is not None else (c, kwargs.get("constraint"))
            for j, c in enumerate(conversations)]
    common = {k: v for k, v in kwargs.items() if k != "constraint"}

    def one(job: tuple[Sequence[Message], Any]) -> Completion:
        return generate(backend, job[0], constraint=job[1], **common)

    workers = max(1, int(getattr(backend, "concurrency", 1) or 1))
    if workers == 1 or len(jobs) <= 1:
        return [one(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return list(pool.map(one, jobs))


class Wrapper:
    """Base of backends that wrap another (cache, recorder): what the wrapped server honours, passed through."""

    backend: Any

    @property
    def constraint_kinds(self) -> frozenset[str]:
        return constraint_kinds(self.backend)

    @property
    def server_kind(self) -> str:
        return str(getattr(self.backend, "server_kind", "") or "")

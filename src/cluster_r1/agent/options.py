"""The agent's settings as one typed value, :class:`AgentOptions` (what :class:`~.agent.ClusteringAgent` takes).

>>> AgentOptions.of({"max_reasks": 1}).max_reasks
1
>>> AgentOptions.of({"max_reask": 1})
Traceback (most recent call last):
...
cluster_r1.errors.ConfigError: unknown agent option(s) max_reask: the agent takes prompt, max_reasks, strict, salvage, samples, temperature, sample_temperature, max_tokens, max_text_chars, constrain, think_chars, seed
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..constraints import THINK_CHARS
from ..options import options_from
from ..prompts import MAX_TEXT_CHARS

__all__ = ["AgentOptions"]


@dataclass(frozen=True)
class AgentOptions:
    """Every setting of the agent, with its default (see :class:`~.agent.ClusteringAgent` for each)."""

    prompt: str = "named"
    max_reasks: int = 2
    strict: bool = False
    salvage: bool = True
    samples: int = 1
    temperature: float = 0.0
    sample_temperature: float = 0.8
    max_tokens: int = 4096
    max_text_chars: int | None = MAX_TEXT_CHARS
    constrain: str = "auto"
    think_chars: int | None = THINK_CHARS
    seed: int | None = 0

    @classmethod
    def of(cls, value: AgentOptions | Mapping[str, Any] | None) -> AgentOptions:
        """The options from ``value``: None (the defaults), a mapping of option names, or options."""
        return options_from(cls, value, kind="agent", owner="the agent")

    def kwargs(self) -> dict[str, Any]:
        """The options as :class:`~.agent.ClusteringAgent`'s keyword arguments."""
        return asdict(self)

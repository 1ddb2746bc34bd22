"""The clustering agent, by stage.

- :mod:`.oneshot` — the paper's answer: prompt, generate, validate (App. D), repair or re-ask;
- :mod:`.salvage` — keep what was valid, place every other text by follow-up questions;
- :mod:`.consensus` — self-consistency over sampled answers;
- :mod:`.agent` — :class:`ClusteringAgent`, which runs them in that order;
- :mod:`.options` — :class:`AgentOptions`, its settings as one typed value.
"""

from __future__ import annotations

from .agent import MIN_TEXT_CHARS, ClusteringAgent
from .options import AgentOptions
from .salvage import UNPLACED
from .state import estimate_tokens

__all__ = ["ClusteringAgent", "AgentOptions", "UNPLACED", "MIN_TEXT_CHARS", "estimate_tokens"]

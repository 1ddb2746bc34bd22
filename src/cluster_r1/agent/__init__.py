"""The clustering agent, by stage.

- :mod:`.oneshot` — the paper's answer: prompt, generate, validate (App. D), repair or re-ask;
- :mod:`.salvage` — keep what was valid, place every other text by follow-up questions;
- :mod:`.consensus` — self-consistency over sampled answers;
- :mod:`.agent` — :class:`ClusteringAgent`, which runs them in that order.
"""

from __future__ import annotations

from .agent import MIN_TEXT_CHARS, ClusteringAgent
from .salvage import UNPLACED
from .state import estimate_tokens

__all__ = ["ClusteringAgent", "UNPLACED", "MIN_TEXT_CHARS", "estimate_tokens"]

"""The model's choice among a result's levels: one short constrained call that reads the instruction and each
level's cluster names (:data:`~cluster_r1.prompts.CHOOSE_LEVEL`)."""

from __future__ import annotations

import re

from ..backends.base import Backend
from ..constraints import Choice
from ..prompts import CHOOSE_LEVEL, level_lines, neutralise
from ..types import Clustering
from .calls import Tally, ask

__all__ = ["model_level"]


def model_level(backend: Backend, instruction: str, result: Clustering, tally: Tally, *, seed: int | None = 0) -> int | None:
    """The level (1-based from the top) of ``result.levels`` the model picks for ``instruction``; None when the
    result has fewer than two levels or the reply names no level (the caller keeps its own)."""
    levels = result.levels or []
    if len(levels) < 2:
        return None
    shown = [(lv.n_clusters, [c.name for c in sorted(lv.clusters, key=lambda c: -len(c.items))]) for lv in levels]
    prompt = CHOOSE_LEVEL.format(instruction=neutralise(instruction.strip()) or "(none given)",
                                 n_levels=len(levels), levels=level_lines(shown))
    reply = ask(backend, tally, prompt, max_tokens=8, seed=seed,
                constraint=Choice(tuple(str(i) for i in range(1, len(levels) + 1))))
    m = re.search(r"\d+", reply)
    if m is None or not 1 <= int(m.group()) <= len(levels):
        return None
    return int(m.group())

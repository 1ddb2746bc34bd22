"""The model's reading of the level an instruction asks for: one short call under a choice constraint
(:data:`~cluster_r1.prompts.CHOOSE_LEVEL`: "no", "broad" or "specific"), mapped onto a result's levels as the
offline reading's words are (:func:`cluster_r1.granularity.choose_level`).

Asked with each level's count and largest clusters' names, the local 1.5B model picked the last level listed
whatever the instruction; asked whether the instruction wants broad or specific groups, it answered every
explicit instruction right (docs/embedding.md, "Levels").
"""

from __future__ import annotations

from ..backends.base import Backend
from ..constraints import Choice
from ..granularity import Granularity, choose_level
from ..prompts import CHOOSE_LEVEL, LEVEL_WORDS, neutralise
from ..types import Clustering, Level
from .calls import Tally, ask

__all__ = ["model_level", "name_levels_by_model"]


def model_level(backend: Backend, instruction: str, result: Clustering, tally: Tally, *,
                seed: int | None = 0) -> tuple[int, str] | None:
    """(the level, 1-based from the top, of ``result.levels`` the model's reading of ``instruction`` asks for;
    its word); None when the result has fewer than two levels or the reply is none of the words."""
    levels = result.levels or []
    if len(levels) < 2 or result.level is None:
        return None
    prompt = CHOOSE_LEVEL.format(instruction=neutralise(instruction.strip()) or "(none given)")
    reply = ask(backend, tally, prompt, max_tokens=4, seed=seed, constraint=Choice(LEVEL_WORDS)).strip().lower()
    word = next((w for w in LEVEL_WORDS if reply.startswith(w)), None)
    if word is None:
        return None
    ask_for = Granularity(kind=None if word == "no" else word, why=f"the model read: {word}")
    chosen, _ = choose_level([lv.n_clusters for lv in levels], result.level - 1, ask_for)
    return chosen + 1, word


def name_levels_by_model(backend: Backend, instruction: str, levels: list[Level], tally: Tally) -> None:
    """Name every level above the finest from its children's names, the level just above the finest first (as Clio
    names its meta-clusters): one call per cluster of two or more children; a cluster of one child takes its
    child's name. In place; a reply without a name keeps the keyword name."""
    from .names import llm_names

    for i in range(len(levels) - 2, -1, -1):
        upper, lower = levels[i], levels[i + 1]
        children: list[list[int]] = [[] for _ in upper.clusters]
        for j, parent in enumerate(lower.parents):
            children[int(parent or 1) - 1].append(j)
        child_names = [c.name for c in lower.clusters]
        several = [g for g, kids in enumerate(children) if len(kids) > 1]
        named = llm_names(backend, child_names, instruction, [children[g] for g in several],
                          fallback=[(upper.clusters[g].name, upper.clusters[g].description) for g in several],
                          _tally=tally)
        for g, (name, description) in zip(several, named, strict=True):
            upper.clusters[g].name, upper.clusters[g].description = name, description
        for g, kids in enumerate(children):
            if len(kids) == 1:
                upper.clusters[g].name = lower.clusters[kids[0]].name
                upper.clusters[g].description = lower.clusters[kids[0]].description

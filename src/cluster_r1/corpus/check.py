"""The checks of what this model does reliably, so that what it cannot do is not used.

- :func:`check_windows`: before any merge, do the window answers agree with the model's own
  one-at-a-time answers against the same window's clusters? ``propose=auto`` decides here, for
  the price of a few short questions, whether the windows are worth merging at all;
- :func:`calibrate`: against the merged taxonomy, the window answers' topics and batches of
  texts, each against single questions (what decides ``window`` placements and batches).

Both sample a few seeded texts and measure agreement beyond chance (kappa), since a model that
answers one cluster for everything agrees with itself and says nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backends.base import Backend
from .assign import ONE_AT_A_TIME, Assignment, agreement, batches_agree, classify_llm, pick_categories
from .calls import Tally
from .context import RunContext
from .merge import distinct_names
from .propose import Category, WindowCluster
from .taxonomy import Taxonomy

__all__ = ["calibrate", "check_windows", "window_kappa"]


def window_kappa(answers: Sequence[tuple[int, int | None]], sizes: Sequence[Sequence[int]],
                 windows: Sequence[int]) -> float:
    """Agreement beyond chance of window answers and single answers, each text within its own window.

    ``answers``: (the window answer's cluster, the single answer's cluster or None) per sampled
    text, positions into its window's clusters; ``windows``: the text's window; ``sizes``: each
    window's cluster sizes. Chance is what an answer drawn from the window's own cluster sizes
    would agree (Scott's pi, per window, averaged over the texts), so windows of many clusters
    are not credited with the agreement that pooling unrelated label sets would give. Texts the
    model placed in none are left out; none left, or chance certain, is 0. Clipped to [-1, 1]
    (a window answer of one dominant cluster that single answers avoid can fall further below chance).

    >>> window_kappa([(0, 0), (1, 1), (0, 0), (1, 1)], [[5, 5]], [0, 0, 0, 0])
    1.0
    >>> window_kappa([(0, 1), (1, 0), (0, 0), (1, 1)], [[5, 5]], [0, 0, 0, 0])
    0.0
    >>> window_kappa([(0, 1), (0, 1), (0, 1)], [[9, 1]], [0, 0, 0])  # one dominant cluster, never answered
    -1.0
    """
    kept = [(a, b, w) for (a, b), w in zip(answers, windows) if b is not None]
    if not kept:
        return 0.0
    observed = float(np.mean([a == b for a, b, _ in kept]))
    chance = float(np.mean([sum((s / sum(sizes[w])) ** 2 for s in sizes[w]) for _, _, w in kept]))
    return 0.0 if chance >= 1.0 else max(-1.0, (observed - chance) / (1.0 - chance))


def check_windows(
    backend: Backend, texts: Sequence[str], clusters: Sequence[WindowCluster], instruction: str, *,
    size: int = 16, seed: int = 0, tally: Tally | None = None, max_chars: int = 600,
) -> tuple[float, int, float]:
    """(kappa, texts answered, their share of agreement): a seeded sample of window texts, each asked one at a time into its
    window's own clusters (by name), against the cluster its window answer gave it
    (:func:`window_kappa`). Windows of one cluster are not sampled (there was nothing to choose).
    One short question per sampled text; the answers are not kept (they name window clusters,
    not topics)."""
    by_window: dict[int, list[WindowCluster]] = {}
    for c in clusters:
        by_window.setdefault(c.window, []).append(c)
    windows = sorted(w for w, cs in by_window.items() if len(cs) > 1)
    pool = [(i, k, wi) for wi, w in enumerate(windows) for k, c in enumerate(by_window[w]) for i in c.members]
    if not pool:
        return 0.0, 0, 0.0
    rng = np.random.default_rng(seed + 11)
    probe = sorted(rng.choice(len(pool), size=min(size, len(pool)), replace=False).tolist())
    answers: list[tuple[int, int | None]] = []
    where: list[int] = []
    for wi, w in enumerate(windows):
        mine = [pool[j] for j in probe if pool[j][2] == wi]
        if not mine:
            continue
        cats = [Category(name) for name in distinct_names([c.name or f"group {k + 1}"
                                                           for k, c in enumerate(by_window[w])])]
        picks = pick_categories(backend, [texts[i] for i, _, _ in mine], instruction, cats, max_chars=max_chars,
                                seed=seed, _tally=tally)
        answers += [(k, p) for (_, k, _), p in zip(mine, picks)]
        where += [wi] * len(mine)
    sizes = [[len(c.members) for c in by_window[w]] for w in windows]
    answered = [(a, b) for a, b in answers if b is not None]
    share = sum(a == b for a, b in answered) / len(answered) if answered else 0.0
    return window_kappa(answers, sizes, where), len(answered), share


def calibrate(
    ctx: RunContext, taxonomy: Taxonomy, window_topic: dict[int, int], assignment: Assignment, mode: str, *,
    stop_untrusted: bool = False, named: bool = False,
) -> dict[str, Any]:
    """Two checks on a small seeded sample, so that what the model cannot do reliably is not used.

    1. *window labels*: window members' topics (from the window answers and the merge) against
       the model's answer for each of a sample of them, asked one at a time; below
       ``opts.trust`` agreement the window answers' assignments are not used (small models copy a
       pattern down a long answer), and the window members are placed like every other text;
    2. *batches* (``llm`` and ``hybrid``): the same for batches of texts against single texts
       (:func:`~cluster_r1.corpus.assign.batches_agree`), unless ``opts.batch`` decides, or the window
       answers failed and ``stop_untrusted`` (another taxonomy, checked again, follows).
    Every label the model gave in the checks is kept (source ``llm``). ``named``: the "window answers" are the
    memberships of the named embedding clusters (so the notes say).
    """
    backend, texts, opts, lengths, tally, notes = (ctx.backend, ctx.texts, ctx.options, ctx.corpus.lengths,
                                                   ctx.log.tally, ctx.log.notes)
    rng = np.random.default_rng(opts.seed + 7)
    members = sorted(window_topic)
    probe = sorted(rng.choice(members, size=min(opts.check_size, len(members)), replace=False).tolist())
    single = classify_llm(backend, texts, probe, taxonomy, lengths=lengths, batching=ONE_AT_A_TIME, seed=opts.seed,
                          tally=tally)
    answered = [i for i in probe if single.get(i) is not None]
    agree = agreement([single[i] for i in answered], [window_topic[i] for i in answered])
    trusted = agree >= opts.trust
    if trusted:
        for i, t in window_topic.items():
            assignment.labels[i], assignment.source[i], assignment.confidence[i] = t, "window", 1.0
    what, where = ("cluster memberships", "") if named else ("window answers", "window ")
    notes.append(f"{what} {'kept' if trusted else 'not used'}: on {len(answered)} sampled {where}texts, "
                 f"their topics and the model's one-at-a-time answers agree with kappa {agree:.2f} "
                 f"(threshold {opts.trust:.2f})")
    for i, label in single.items():
        assignment.labels[i], assignment.source[i], assignment.confidence[i] = label, "llm", 1.0
    per_item = opts.batch == "never"
    if stop_untrusted and not trusted:  # another taxonomy follows: batches are checked against that one
        return {"trusted": trusted, "per_item": per_item}
    if mode in ("llm", "hybrid") and opts.batch == "auto":
        # texts not placed yet; where the kept window answers placed every text, any text outside the first sample
        # (what the batch check decides is used again by discovery and a saved clusterer's new texts)
        others = [i for i in range(len(texts)) if not assignment.source[i]] or sorted(set(range(len(texts))) - set(probe))
        sample = sorted(rng.choice(others, size=min(opts.check_size, len(others)), replace=False).tolist()) if others else []
        if sample:
            ok, share, labels = batches_agree(ctx, sample, taxonomy)
            per_item = not ok
            for i, label in labels.items():
                assignment.labels[i], assignment.source[i], assignment.confidence[i] = label, "llm", 1.0
            notes.append(f"texts are asked {'one at a time' if per_item else f'in batches of {opts.batch_items}'}: "
                         f"on {len(sample)} texts, batches and single questions agree with kappa {share:.2f} "
                         "(threshold 0.75)")
    return {"trusted": trusted, "per_item": per_item}

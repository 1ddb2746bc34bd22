"""Names of clusters: asked of the model under the instruction, and compared, split and made distinct.

- :func:`llm_names` -- the model names each group of texts from its representatives (``NAME_CLUSTER``);
- :func:`same_names` -- items of the same name are one;
- :func:`split_same_names` -- one name given to items the embeddings hold apart, made distinct;
- :func:`distinct_names` -- repeated names numbered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..backends.base import Backend
from ..constraints import fields
from ..errors import ConfigError
from ..prompts import NAME_CLUSTER, clip_text, neutralise
from ..reading import read_field
from .calls import Tally, ask
from .taxonomy import name_key

__all__ = ["llm_names", "same_names", "split_same_names", "distinct_names"]


def llm_names(
    backend: Backend,
    texts: Sequence[str],
    instruction: str,
    groups: Sequence[Sequence[int]],
    *,
    max_texts: int = 8,
    max_chars: int = 200,
    fallback: Sequence[tuple[str, str]] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    _tally: Tally | None = None,
) -> list[tuple[str, str]]:
    """(name, description) per group of 0-based indices (put representatives first).

    A reply without a ``Name:`` line keeps ``fallback[g]`` (e.g. the keyword name).
    """
    if fallback is not None and len(fallback) != len(groups):
        raise ConfigError(f"fallback has {len(fallback)} names for {len(groups)} groups")
    tally = _tally or Tally()
    out = []
    for g, members in enumerate(groups):
        shown = "\n".join(f"- {neutralise(clip_text(texts[i], max_chars))}" for i in list(members)[:max_texts])
        reply = ask(backend, tally, NAME_CLUSTER.format(instruction=neutralise(instruction), texts=shown),
                     max_tokens=80, seed=0, constraint=fields(["Name", "Description"]))
        name = read_field(reply, "name").strip(" \"'`*")  # small models quote the name: "Card Tracking"
        desc = read_field(reply, "description")
        if name:
            out.append((name[:80], desc[:300]))
        else:
            out.append((fallback[g][0], fallback[g][1]) if fallback is not None else (f"cluster {g + 1}", ""))
        if on_progress is not None:
            on_progress(g + 1, len(groups))
    return out


def same_names(named: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[int]]:
    """Items of the same name (:func:`~.taxonomy.name_key`) are one: (distinct (name, description), index of each).

    >>> same_names([("Cards", "a"), ("Transfers", "b"), ("cards.", "c")])
    ([('Cards', 'a'), ('Transfers', 'b')], [0, 1, 0])
    """
    first: dict[str, int] = {}
    distinct: list[tuple[str, str]] = []
    index = []
    for name, desc in named:
        key = name_key(name) or name
        if key not in first:
            first[key] = len(distinct)
            distinct.append((name, desc))
        index.append(first[key])
    return distinct, index


def split_same_names(
    named: Sequence[tuple[str, str]], centroids: np.ndarray, alt: Sequence[str] | None = None
) -> tuple[list[tuple[str, str]], int]:
    """Names given alike to items the embeddings hold apart, made distinct: (named, how many were renamed).

    Items named alike (:func:`~.taxonomy.name_key`) stay alike -- one topic for :func:`same_names` --
    only where the embeddings agree: connected through pairs of which one is the other's nearest
    item (centroid cosine). A small model gives one generic name to many distinct clusters (twelve
    BANKING77 intents as "Banking Queries"); each group it cannot connect gets ``alt`` (the keyword
    name, first two terms) or its number in parentheses, so that no text moves.

    >>> c = np.array([[1.0, 0.0, 0.0], [0.98, 0.2, 0.0], [0.0, 0.0, 1.0], [0.0, 0.2, 0.98]])
    >>> split_same_names([("Cards", ""), ("Cards", ""), ("Cards", ""), ("Transfers", "")], c,
    ...                  ["card / lost", "card / pin", "top up", "iban"])[0]
    [('Cards', ''), ('Cards', ''), ('Cards (top up)', ''), ('Transfers', '')]
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    named = [(str(n), str(d)) for n, d in named]
    c = np.asarray(centroids, dtype=np.float64)
    if len(named) < 3 or len(c) != len(named):
        return named, 0
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    sims = c @ c.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argmax(sims, axis=1)
    by_key: dict[str, list[int]] = {}
    for j, (name, _) in enumerate(named):
        by_key.setdefault(name_key(name) or name, []).append(j)
    out, renamed, used = list(named), 0, {name_key(n) for n, _ in named}
    for members in by_key.values():
        if len(members) < 2:
            continue
        ids = np.asarray(members)
        link = nearest[ids][:, None] == ids[None, :]
        _, part_of = connected_components(csr_matrix(link), directed=False)
        parts: dict[int, list[int]] = {}
        for j, p in zip(members, part_of.tolist()):
            parts.setdefault(p, []).append(j)
        if len(parts) < 2:
            continue
        for k, part in enumerate(sorted(parts.values(), key=lambda p: p[0])):
            if k == 0:
                continue  # the first group keeps the name
            base = named[part[0]][0]
            tag = " / ".join(str(alt[part[0]]).split(" / ")[:2]) if alt is not None else ""
            name = f"{base} ({tag})" if tag else f"{base} (group {k + 1})"
            n = k + 1
            while name_key(name) in used:
                n += 1
                name = f"{base} ({tag}, {n})" if tag else f"{base} (group {n})"
            used.add(name_key(name))
            for j in part:
                out[j] = (name, named[j][1])
            renamed += len(part)
    return out, renamed


def distinct_names(names: Sequence[str]) -> list[str]:
    """Names made distinct: a repeated one (see :func:`~.taxonomy.name_key`) gets ``(2)``, ``(3)``..."""
    seen: dict[str, int] = {}
    out = []
    for j, name in enumerate(names):
        name = " ".join(str(name).split()) or f"topic {j + 1}"
        key = name_key(name)
        seen[key] = seen.get(key, 0) + 1
        out.append(name if seen[key] == 1 else f"{name} ({seen[key]})")
    return out

"""Propose: the candidate clusters of a corpus, from windows of its texts or from a sample.

- :func:`propose_windows` runs the clustering agent (validation, repair, salvage, constrained
  decoding) on each window of :mod:`.windows` and returns every window's named clusters with
  their members;
- :func:`propose_categories` asks for the categories an instruction implies from a seeded
  sample of texts (the assisted mode, :mod:`cluster_r1.corpus.assist`).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from ..agent.options import AgentOptions
from ..backends.base import Backend
from ..constraints import name_lines
from ..errors import AnswerError, ConfigError, ContextLengthError
from ..prompts import PROPOSE_CATEGORIES, neutralise, text_block
from ..reading import squeezed_lines
from .calls import Tally, ask
from .names import llm_names, split_same_names
from .taxonomy import Category, WindowCluster

__all__ = [
    "parse_categories",
    "propose_categories",
    "given_categories",
    "propose_windows",
    "propose_named_clusters",
    "Proposal",
]

log = logging.getLogger(__name__)


# Applied to squeezed lines (single spaces, no emphasis; :mod:`cluster_r1.reading`): no ambiguous adjacent runs.
_BULLET = re.compile(r"(?:[-*\u2022]+|[0-9]+ ?[.):]|category ?[0-9]+ ?[.):]?) ?", re.IGNORECASE)
_SEP = re.compile(r" ?: ?| [-\u2013\u2014] ")


#: Names that are scaffolding echoed from a prompt, never categories.
_NOT_NAMES = {"instruction", "text", "texts", "category", "categories", "category name", "name", "description",
              "note", "answer", "sample texts"}


def parse_categories(reply: str) -> list[Category]:
    """Categories from ``Name: description`` lines (bullets, numbering and bold tolerated; prose lines skipped).

    >>> [c.name for c in parse_categories("Sure!\\n1. **Poem**: verse\\n- Rap - rhymes\\nTweet: short\\n- poem: again")]
    ['Poem', 'Rap', 'Tweet']
    >>> [c.name for c in parse_categories("has a style of poem\\nhas a style of rap")]
    ['has a style of poem', 'has a style of rap']
    """
    out: list[Category] = []
    seen: set[str] = set()
    for line in squeezed_lines(reply, emphasis=False):
        bullet = _BULLET.match(line)
        bulleted = bullet is not None
        body = (line[bullet.end() :] if bullet else line).replace("**", "").replace("__", "").strip()
        if not body:
            continue
        parts = _SEP.split(body, maxsplit=1)
        name = parts[0].strip(" .\"'`#")
        desc = parts[1].strip() if len(parts) > 1 else ""
        if not bulleted and not desc:
            continue  # an unbulleted line is a category only as "Name: description"
        if not name or len(name) > 60 or len(name.split()) > 8 or name.lower() in seen or name.lower() in _NOT_NAMES:
            continue
        seen.add(name.lower())
        out.append(Category(name, desc))
    if not out:  # a bare list, one name per line ("has a writing style of formal")
        lines = [ln.strip(" .*`\"'") for ln in squeezed_lines(reply, emphasis=False)]
        names = [ln for ln in lines if len(ln.split()) <= 8 and not ln.endswith(":")]
        if len(names) >= 2 and len(names) == len(lines):
            for name in names:
                if name.lower() not in seen and name.lower() not in _NOT_NAMES:
                    seen.add(name.lower())
                    out.append(Category(name))
    return out


#: Characters of each sampled text the proposal shows, and the attempts it makes for at least 2 categories.
PROPOSAL_TEXT_CHARS, PROPOSAL_ATTEMPTS = 200, 2


def propose_categories(
    backend: Backend,
    texts: Sequence[str],
    instruction: str,
    *,
    n_clusters: int | None = None,
    max_categories: int = 10,
    sample_size: int = 16,
    seed: int = 0,
    _tally: Tally | None = None,
) -> list[Category]:
    """Ask the model for the categories ``instruction`` implies, from a seeded sample of ``texts``.

    With ``n_clusters`` the reply must list exactly that many (extra ones are cut, too few
    is asked again). Raises :class:`AnswerError` when no attempt yields at least 2 categories.
    """
    tally = _tally or Tally()
    rng = random.Random(seed)
    idx = sorted(rng.sample(range(len(texts)), min(sample_size, len(texts))))
    # line breaks kept: a text's layout is evidence for form and style (verse, dialogue, scene headings)
    sample = "\n\n".join(text_block(j + 1, texts[i], PROPOSAL_TEXT_CHARS) for j, i in enumerate(idx))
    how_many = f"exactly {n_clusters}" if n_clusters else f"between 2 and {max_categories}"
    prompt = PROPOSE_CATEGORIES.format(
        instruction=neutralise(instruction), n_sample=len(idx), n_total=len(texts), texts=sample, how_many=how_many
    )
    best: list[Category] = []
    attempts = PROPOSAL_ATTEMPTS
    for attempt in range(attempts):
        # a retry samples (temperature 0.7): at temperature 0 it would repeat the first reply
        lines = (n_clusters, n_clusters) if n_clusters else (2, max_categories)
        reply = ask(backend, tally, prompt, max_tokens=600, seed=seed + attempt, temperature=0.7 if attempt else 0.0,
                     constraint=name_lines(*lines))
        cats = [c for c in parse_categories(reply) if not _echoes_prompt(c.name)]
        if n_clusters:
            cats = cats[:n_clusters]
        elif len(cats) > max_categories:
            cats = cats[:max_categories]
        if len(cats) > len(best):
            best = cats
        if len(best) >= 2 and (n_clusters is None or len(best) == n_clusters):
            break
    if len(best) < 2:
        raise AnswerError(
            f"the model proposed {len(best)} usable categories in {attempts} attempts; "
            "use a larger model or the embedding method (--method embed without --assist)"
        )
    return best


def given_categories(categories: Sequence[str | Category]) -> list[Category]:
    """The user's categories: ``"Name"`` or ``"Name: description"`` strings (or :class:`Category`).

    >>> [(c.name, c.description) for c in given_categories(["poem: verse", "rap", Category("tweet")])]
    [('poem', 'verse'), ('rap', ''), ('tweet', '')]
    """
    if isinstance(categories, str):
        raise ConfigError("categories must be a list of names, not one string: e.g. ['poem', 'rap']")
    out: list[Category] = []
    for c in categories:
        if not isinstance(c, Category):
            name, _, desc = str(c).partition(":")
            c = Category(name.strip(), desc.strip())
        if not c.name:
            raise ConfigError(f"empty category name in {list(categories)!r}: give every category a name")
        out.append(c)
    names = [c.name.lower() for c in out]
    if len(out) < 2 or len(set(names)) < len(names):
        raise ConfigError(f"give at least 2 distinct categories (got {[c.name for c in out]})")
    return out


#: The fixed wording of the propose prompt: a "category" copied from it is an echo, not a category.
_SCAFFOLD = re.sub(r"\{[^}]*\}", " ", PROPOSE_CATEGORIES).lower()


def _echoes_prompt(name: str) -> bool:
    """A name copied from the prompt's wording, or a sample's label ("Text 3")."""
    return (len(name) >= 3 and name.lower() in _SCAFFOLD) or re.fullmatch(r"text\s*\d+", name.strip().lower()) is not None


# -- windows --------------------------------------------------------------------------------------------------


@dataclass
class Proposal:
    """Every window's clusters, what they cost, and what happened (notes)."""

    clusters: list[WindowCluster] = field(default_factory=list)
    usage: Any = None
    notes: list[str] = field(default_factory=list)


def propose_windows(
    backend: Backend,
    texts: Sequence[str],
    windows: Sequence[Sequence[int]],
    instruction: str,
    *,
    agent_options: AgentOptions | dict[str, Any] | None = None,
    on_window: Callable[[int, int], None] | None = None,
) -> Proposal:
    """Run the clustering agent on each window (at most ``backend.concurrency`` at once).

    A window the model answers nothing usable for is skipped with a note (its texts are placed
    later); a window whose prompt does not fit the context is split in two and tried again.
    """
    from ..agent import ClusteringAgent
    from ..types import Usage

    options = replace(AgentOptions.of(agent_options), samples=1).kwargs()
    usage = Usage()
    notes: list[str] = []
    done = [0]

    def run(j: int, window: Sequence[int], depth: int = 0) -> list[WindowCluster]:
        agent = ClusteringAgent(backend, **options)
        if len(window) < 2:
            return [WindowCluster(j, "", list(window))] if window else []
        try:
            result = agent.cluster([texts[i] for i in window], instruction)
        except ContextLengthError:
            if depth >= 4:
                raise
            half = len(window) // 2
            return run(j, window[:half], depth + 1) + run(j, window[half:], depth + 1)
        except AnswerError as exc:
            notes.append(f"window {j + 1}: no usable answer ({str(exc)[:120]}); its texts are placed later")
            if agent.last_run is not None:
                usage.add(agent.last_run.usage)
            return []
        usage.add(result.usage)
        return [WindowCluster(j, c.name, [window[i - 1] for i in c.items]) for c in result.clusters]

    def one(job: tuple[int, Sequence[int]]) -> list[WindowCluster]:
        out = run(*job)
        done[0] += 1
        if on_window is not None:
            on_window(done[0], len(windows))
        return out

    workers = max(1, min(len(windows), int(getattr(backend, "concurrency", 1) or 1)))
    jobs = list(enumerate(windows))
    if workers == 1:
        found = [one(job) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(one, jobs))
    return Proposal([c for cs in found for c in cs], usage, notes)


def propose_named_clusters(
    backend: Backend,
    texts: Sequence[str],
    x: Any,
    instruction: str,
    *,
    view: str = "semantic",
    on_cluster: Callable[[int, int], None] | None = None,
    _tally: Tally | None = None,
) -> Proposal:
    """The offline default's clusters of the corpus (k inferred on the vectors ``x``), each named by the model.

    The embeddings decide the structure and the model names each cluster under the instruction
    from its central texts (:func:`~.names.llm_names`; the offline default's
    keyword name where a reply has none). Names given alike to clusters the embeddings hold apart
    are made distinct (:func:`~.names.split_same_names`), so that only neighbours merge by name.
    Every text is a member of exactly one returned cluster; ``window`` is 0 for all of them.
    """
    import numpy as np

    from ..embed.cluster import cluster_embeddings
    from ..embed.views import keyword_groups, view_algorithm

    tally = _tally or Tally()
    # x is centred already (embed_corpus): the offline default's input and algorithm
    fit = cluster_embeddings(x, algorithm=view_algorithm(view, n_texts=len(texts)), centred=False)
    groups, names = keyword_groups(view, list(texts), x, np.asarray(fit.labels), fit.centers)
    named = llm_names(backend, texts, instruction, groups, fallback=names, on_progress=on_cluster, _tally=tally)
    centres = np.stack([np.asarray(x)[g].mean(axis=0) for g in groups])
    named, renamed = split_same_names(named, centres, [n for n, _ in names])
    clusters = [WindowCluster(0, name, sorted(g), desc) for g, (name, desc) in zip(groups, named)]
    notes = [f"propose: {len(clusters)} embedding clusters (k inferred, as the offline default), each named by the "
             "model"]
    if renamed:
        notes.append(f"propose: {renamed} clusters named like others the embeddings hold apart kept apart, their "
                     "keyword names added")
    return Proposal(clusters, tally.usage(), notes)

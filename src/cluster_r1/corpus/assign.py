"""Assign: every text to one topic of the taxonomy, or to none of them.

Modes (:func:`assign_texts`):

- ``llm`` -- the model classifies every text: batches of texts (compact lines, as many as keep
  the repeated listing at most a quarter of a batch: :func:`batch_size`) against the numbered
  topics 1..K plus ``K+1. none of these``, constrained where the server allows to one ``ID: N``
  line per text in order, each batch validated (every text once, numbers in range); what a
  batch leaves out is asked again once, then placed by embeddings. Where the model's batches
  disagree with its single answers (the pipeline checks), one short question per text instead;
- ``hybrid`` -- TnT-LLM's recipe: the model labels a seeded sample and the texts the classifier is
  least sure of; a scikit-learn logistic regression on the embeddings labels the rest;
- ``embed`` -- no model call: the nearest topic centroid (the mean of its labelled texts'
  embeddings and its description's).

Every text gets a source (``llm``, ``classifier``, ``embed``, ``window``) and a confidence in
[0, 1] (the classifier's probability of the chosen topic; 1 for a model's label). The
per-text question of the assisted mode (:func:`pick_categories`, batch size 1) lives here too.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..agent.state import estimate_tokens
from ..backends.base import Backend
from ..constraints import Choice
from ..prompts import CLASSIFY_BATCH, PICK_CATEGORY, neutralise, text_block, text_line
from ..reading import first_int
from .calls import Tally
from .context import RunContext
from .taxonomy import Category, Taxonomy

__all__ = [
    "Batching",
    "ONE_AT_A_TIME",
    "own_similarity",
    "SOURCES",
    "Assignment",
    "parse_pick",
    "pick_categories",
    "batches",
    "classify_llm",
    "batches_agree",
    "batch_size",
    "agreement",
    "centroids",
    "assign_embed",
    "fit_classifier",
    "classifier_proba",
]

log = logging.getLogger(__name__)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def parse_pick(reply: str, categories: Sequence[Category]) -> int | None:
    """0-based category index from a reply: a category name, else words only one name has, else a number.

    >>> cats = [Category("has a topic of anime"), Category("has a topic of sports")]
    >>> parse_pick("has a topic of sports", cats), parse_pick("Anime.", cats), parse_pick("2", cats), parse_pick("?", cats)
    (1, 0, 1, None)
    """
    low = reply.lower()
    hits = [i for i, c in enumerate(categories) if c.name.lower() and re.search(rf"\b{re.escape(c.name.lower())}\b", low)]
    if len(hits) == 1:
        return hits[0]
    if not hits:  # the distinctive words of one name ("anime" for "has a topic of anime")
        names = [_words(c.name) for c in categories]
        said = _words(reply)
        own = [n - set().union(*(m for j, m in enumerate(names) if j != i)) for i, n in enumerate(names)]
        matched = [i for i, words in enumerate(own) if words & said]
        if len(matched) == 1:
            return matched[0]
    value, _ = first_int(reply, within=40)
    if value is not None and 1 <= value <= len(categories):
        return value - 1
    return None


def _render_categories(categories: Sequence[Category]) -> str:
    return "\n".join(f"- {neutralise(c.name)}" + (f": {neutralise(c.description)}" if c.description else "")
                     for c in categories)


def pick_categories(
    backend: Backend,
    texts: Sequence[str],
    instruction: str,
    categories: Sequence[Category],
    *,
    max_chars: int = 1500,
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    stop: Callable[[list[int | None]], bool] | None = None,
    _tally: Tally | None = None,
) -> list[int | None]:
    """One question per text (at most ``backend.concurrency`` at once); 0-based category, None where the reply
    names no category. ``stop(picks_so_far)`` is asked after each round of questions: when it says True the
    picks so far are returned (fewer than the texts)."""
    from ..backends.base import complete_many

    tally = _tally or Tally()
    listing = _render_categories(categories)
    names = tuple(dict.fromkeys(c.name for c in categories))
    choice = Choice(names) if names else None  # the reply is exactly one name (read back by parse_pick)
    picks: list[int | None] = []
    step = max(1, int(getattr(backend, "concurrency", 1) or 1)) * 4
    for start in range(0, len(texts), step):
        chunk = texts[start : start + step]
        prompts = [[{"role": "user", "content": PICK_CATEGORY.format(
            instruction=neutralise(instruction), categories=listing, text=text_block(None, text, max_chars))}]
            for text in chunk]
        for completion in complete_many(backend, prompts, temperature=0.0, max_tokens=24, seed=seed, constraint=choice):
            tally.add(completion)
            picks.append(parse_pick(completion.text, categories))
        if on_progress is not None:
            on_progress(len(picks), len(texts))
        if stop is not None and len(picks) < len(texts) and stop(picks):
            break
    return picks


# -- batches ---------------------------------------------------------------------------------------------------


#: Where a text's topic came from.
SOURCES = ("window", "llm", "classifier", "embed")


@dataclass
class Assignment:
    """A topic position (0-based into the taxonomy) or None (fits none) per text, with source and confidence."""

    labels: list[int | None]
    source: list[str]
    confidence: list[float]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, n: int) -> Assignment:
        return cls([None] * n, [""] * n, [0.0] * n)

    def complete(self) -> list[int]:
        """Every text's topic, once each has one (after :func:`~.discover.refine`)."""
        if any(lab is None for lab in self.labels):
            raise ValueError("a text has no topic yet")
        return [int(lab) for lab in self.labels if lab is not None]

    def by_model(self) -> dict[int, int]:
        """{text: topic} for the texts the model itself placed (window answers or its labels)."""
        return {i: lab for i, lab in enumerate(self.labels) if lab is not None and self.source[i] in ("window", "llm")}


def batches(indices: Sequence[int], lengths: Sequence[int], *, max_items: int, token_budget: int) -> list[list[int]]:
    """Consecutive batches of ``indices``, each at most ``max_items`` texts and ``token_budget`` estimated tokens.

    >>> batches([0, 1, 2, 3], [10, 10, 50, 10], max_items=3, token_budget=80)
    [[0, 1], [2, 3]]
    """
    out: list[list[int]] = []
    tokens = 0
    for i in indices:
        cost = int(lengths[i]) + 8
        if out and out[-1] and (len(out[-1]) >= max_items or tokens + cost > token_budget):
            out.append([])
            tokens = 0
        if not out:
            out.append([])
        out[-1].append(i)
        tokens += cost
    return [b for b in out if b]


def batch_size(taxonomy: Any, lengths: Sequence[int], *, least: int = 30, most: int = 80) -> int:
    """Texts per classification batch: enough that the prompt's fixed part (instruction, the numbered
    categories, the rules) is at most a quarter of a batch's tokens, within ``least..most``.

    Each batch repeats the fixed part, so with short texts or many categories a fixed 30 would cost
    more in repeated listing than in texts; long lists are what small models get wrong, hence the cap
    (and the pipeline's check that batches agree with single questions before using them).
    """
    k = len(taxonomy)
    listing = "\n".join([*(t.line(j) for j, t in enumerate(taxonomy.topics, start=1)), f"{k + 1}. none of these"])
    fixed = estimate_tokens(CLASSIFY_BATCH) + estimate_tokens(taxonomy.instruction) + estimate_tokens(listing)
    per_text = float(np.median(lengths)) + 4 if len(lengths) else 20.0  # the text, its [ID] and its "ID: N" line
    return int(min(most, max(least, math.ceil(4 * fixed / max(1.0, per_text)))))


def _read_labels(reply: str, n_ids: int, n_options: int) -> dict[int, int]:
    """{local id: number 1..n_options} from ``ID: N`` lines (first wins; anything else ignored)."""
    from ..reading import read_placement, squeezed_lines

    found: dict[int, int] = {}
    for line in squeezed_lines(reply):
        got = read_placement(line)
        if got is None:
            continue
        i, k = got
        if 1 <= i <= n_ids and i not in found and 1 <= k <= n_options:
            found[i] = k
    return found


@dataclass(frozen=True)
class Batching:
    """How texts are put to the model: one at a time (``per_item``), or in batches of at most ``max_items`` texts
    within ``token_budget`` tokens; each text cut to ``text_chars`` characters."""

    per_item: bool = False
    max_items: int = 30
    token_budget: int = 3000
    text_chars: int = 600


#: One question per text.
ONE_AT_A_TIME = Batching(per_item=True)


def classify_llm(
    backend: Backend,
    texts: Sequence[str],
    indices: Sequence[int],
    taxonomy: Any,
    *,
    lengths: Sequence[int],
    batching: Batching = Batching(),
    seed: int = 0,
    tally: Tally | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[int, int | None]:
    """The model's topic (0-based) or None ("none of these") for each of ``indices``.

    ``batching.per_item``: one short question per text (the taxonomy first, the text last, answered by
    the topic's name; small models answer these far better than a list). Else batches of
    ``ID: N`` lines (N = the topic's number, K + 1 = none), constrained where the server
    allows; what a batch leaves out is asked again once. Texts never answered for are absent.
    """
    from ..backends.base import complete_many
    from ..constraints import labels as label_lines

    tally = tally or Tally()
    k = len(taxonomy)
    per_item, max_items, token_budget, text_chars = (batching.per_item, batching.max_items, batching.token_budget,
                                                     batching.text_chars)
    if per_item:
        cats = [Category(t.name, t.description) for t in taxonomy.topics]
        picks = pick_categories(backend, [texts[i] for i in indices], taxonomy.instruction, cats, max_chars=text_chars,
                                seed=seed, on_progress=on_batch, _tally=tally)
        return {i: p for i, p in zip(indices, picks) if p is not None}
    listing = "\n".join([*(t.line(j) for j, t in enumerate(taxonomy.topics, start=1)),
                         f"{k + 1}. none of these (the text fits no category above)"])
    out: dict[int, int | None] = {}
    todo = [list(b) for b in batches(indices, lengths, max_items=max_items, token_budget=token_budget)]
    total = len(todo)
    done_batches = 0
    for attempt in range(2):
        if not todo:
            break
        prompts, constraints = [], []
        for batch in todo:
            lines = "\n".join(text_line(j, texts[i], text_chars) for j, i in enumerate(batch, start=1))
            prompts.append([{"role": "user", "content": CLASSIFY_BATCH.format(
                instruction=neutralise(taxonomy.instruction), categories=listing, texts=lines, none=k + 1)}])
            constraints.append(label_lines(list(range(1, len(batch) + 1)), k + 1, zero=False))
        replies = complete_many(backend, prompts, constraints=constraints, temperature=0.0,
                                max_tokens=8 * max(len(b) for b in todo) + 16, seed=seed + attempt)
        left: list[list[int]] = []
        for batch, completion in zip(todo, replies):
            tally.add(completion)
            found = _read_labels(completion.text, len(batch), k + 1)
            for j, i in enumerate(batch, start=1):
                if j in found:
                    out[i] = found[j] - 1 if found[j] <= k else None
            missing = [i for j, i in enumerate(batch, start=1) if j not in found]
            if missing:
                left.append(missing)
            if attempt == 0:
                done_batches += 1
                if on_batch is not None:
                    on_batch(done_batches, total)
        todo = left
    return out


def batches_agree(
    ctx: RunContext, sample: Sequence[int], taxonomy: Any, *, threshold: float = 0.75,
) -> tuple[bool, float, dict[int, int | None]]:
    """Does this model label batches as it labels single texts? (ok, agreement, the per-text labels).

    The same sample is labelled one text at a time and in batches; batches are used only when at
    ``threshold`` chance-corrected agreement (:func:`agreement`). Small models tend to copy a
    pattern down a long list; strong ones batch cheaply and well.
    """
    ask = functools.partial(classify_llm, ctx.backend, ctx.texts, sample, taxonomy, lengths=ctx.corpus.lengths,
                            seed=ctx.seed, tally=ctx.log.tally)
    single = ask(batching=ONE_AT_A_TIME)
    batched = ask(batching=Batching(max_items=ctx.options.batch_items, token_budget=ctx.batch_tokens))
    both = [i for i in sample if i in single]
    agree = agreement([single[i] for i in both], [batched.get(i, -1) for i in both])
    return agree >= threshold, agree, single


def agreement(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's kappa of two labelings of the same texts: agreement beyond what chance gives.

    Raw agreement is fooled by a model that answers one topic for everything (both ways agree,
    and nothing is learnt), so the checks use kappa; answers that are constant on both sides
    carry no evidence and count 0.

    >>> agreement([1, 2, 3, 1], [1, 2, 3, 1]), agreement([1, 1, 1, 1], [1, 1, 1, 1]), agreement([], [])
    (1.0, 0.0, 0.0)
    """
    if not a or len({*map(str, a), *map(str, b)}) < 2:
        return 0.0
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score([str(v) for v in a], [str(v) for v in b]))


# -- the three modes -------------------------------------------------------------------------------------------


def own_similarity(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Cosine of each row of ``x`` with the matching row of ``centres``; 1 where both are zero (a text the
    view read nothing in, in the cluster of such texts)."""
    from ..embed.cluster import empty_rows

    sims = np.einsum("ij,ij->i", x, centres)
    return np.where(empty_rows(x) & empty_rows(centres), 1.0, sims)


def centroids(x: np.ndarray, labelled: dict[int, int], n_topics: int, extra: np.ndarray | None = None) -> np.ndarray:
    """Unit centroid per topic of its labelled rows (plus ``extra[t]`` when given); zero rows for topics with none."""
    c = np.zeros((n_topics, x.shape[1]), dtype=np.float32)
    if labelled:
        idx = np.fromiter(labelled.keys(), dtype=np.int64)
        lab = np.fromiter(labelled.values(), dtype=np.int64)
        np.add.at(c, lab, x[idx])
    if extra is not None:
        c += extra
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


def _softmax(sims: np.ndarray, temperature: float = 0.05) -> np.ndarray:
    """Rows of cosines to topic probabilities (what every embedding placement reports as its confidence)."""
    p = np.exp((sims - sims.max(axis=1, keepdims=True)) / temperature)
    return p / p.sum(axis=1, keepdims=True)


def _softmax_confidence(sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = _softmax(sims)
    best = np.argmax(p, axis=1)
    return best, p[np.arange(len(p)), best]


def assign_embed(x: np.ndarray, centres: np.ndarray, indices: Sequence[int], result: Assignment) -> None:
    """Nearest topic centroid for ``indices`` (in place), confidence from a softmax over the cosines."""
    idx = np.asarray(list(indices), dtype=np.int64)
    if len(idx) == 0:
        return
    sims = x[idx] @ centres.T
    best, conf = _softmax_confidence(sims)
    for i, b, c in zip(idx.tolist(), best.tolist(), conf.tolist()):
        result.labels[i], result.source[i], result.confidence[i] = int(b), "embed", float(c)


def keep_embed(x: np.ndarray, centres: np.ndarray, topics: dict[int, int], result: Assignment) -> None:
    """Keep the given topic of every text in ``topics`` (in place), source ``embed``, with the confidence the
    same softmax over the cosines gives that topic."""
    if not topics:
        return
    idx = np.fromiter(topics.keys(), dtype=np.int64)
    lab = np.fromiter(topics.values(), dtype=np.int64)
    conf = _softmax(x[idx] @ centres.T)[np.arange(len(idx)), lab]
    for i, t, c in zip(idx.tolist(), lab.tolist(), conf.tolist()):
        result.labels[i], result.source[i], result.confidence[i] = int(t), "embed", float(c)


def fit_classifier(x: np.ndarray, labelled: dict[int, int], n_topics: int, seed: int = 0) -> Any | None:
    """A logistic regression on the embeddings of the labelled texts (None with fewer than two topics)."""
    from sklearn.linear_model import LogisticRegression

    if len({v for v in labelled.values()}) < 2:
        return None
    idx = np.fromiter(labelled.keys(), dtype=np.int64)
    y = np.fromiter(labelled.values(), dtype=np.int64)
    clf = LogisticRegression(C=4.0, max_iter=300, random_state=seed)
    clf.fit(x[idx], y)
    return clf


def classifier_proba(clf: Any, x: np.ndarray, n_topics: int) -> np.ndarray:
    """Probabilities over all ``n_topics`` (topics the classifier never saw get 0)."""
    p = np.zeros((len(x), n_topics), dtype=np.float32)
    p[:, clf.classes_] = clf.predict_proba(x)
    return p


# -- placing the texts not yet labelled, in a mode ------------------------------------------------------------

def description_vectors(taxonomy: Taxonomy, x: np.ndarray, view: str) -> np.ndarray | None:
    """The topics' ``name: description`` embedded with the bundled encoder (meaning view only)."""
    if view != "semantic" or x.shape[1] != 384:
        return None
    from ..embed.embedders import embed_texts

    texts = [t.name + (f": {t.description}" if t.description else "") + (f" {t.criterion}" if t.criterion else "")
             for t in taxonomy.topics]
    return embed_texts(texts, "", template="none")


def assign_rest(ctx: RunContext, taxonomy: Taxonomy, assignment: Assignment, rest: list[int], mode: str, *,
                per_item: bool = False) -> None:
    """Place ``rest`` (texts not yet labelled) in ``mode`` (``llm``: every one by the model; ``hybrid``: a sample
    and the least certain by the model, the rest by a classifier on its labels; ``embed``: nearest topic); in place.
    What the model leaves unplaced goes to the nearest topic centroid, the topics' own words counted in."""
    k = len(taxonomy)
    if not rest:
        return
    opts, x, n = ctx.options, ctx.x, len(ctx.texts)
    step = 1 if per_item else opts.batch_items

    def llm(indices: list[int], stage: str) -> None:
        ctx.step(stage, 0, len(indices))
        how = Batching(per_item=per_item, max_items=opts.batch_items, token_budget=ctx.batch_tokens)
        got = classify_llm(ctx.backend, ctx.texts, indices, taxonomy, lengths=ctx.corpus.lengths, batching=how,
                           seed=opts.seed, tally=ctx.log.tally,
                           on_batch=lambda d, t: ctx.step(stage, min(len(indices), d * step), len(indices)))
        for i in indices:
            if i in got:
                assignment.labels[i], assignment.source[i], assignment.confidence[i] = got[i], "llm", 1.0
        ctx.step(stage, len(indices), len(indices))

    if mode == "llm":
        llm(rest, "assign (llm)")
    elif mode == "hybrid":
        rng = np.random.default_rng(opts.seed)
        size = int(min(len(rest), opts.max_sample, max(opts.min_sample, opts.sample_fraction * n)))
        sample = sorted(rng.choice(rest, size=size, replace=False).tolist()) if size < len(rest) else list(rest)
        llm(sample, "assign (llm sample)")
        left = [i for i in rest if not assignment.source[i]]
        labelled = {i: lab if lab is not None else k for i, lab in enumerate(assignment.labels)
                    if assignment.source[i] in ("window", "llm")}
        clf = fit_classifier(x, labelled, k + 1, seed=opts.seed)
        if clf is not None and left:
            ctx.step("assign (classifier)", 0, len(left))
            p = classifier_proba(clf, x[left], k + 1)
            conf = p.max(axis=1)
            n_unsure = int(min(opts.max_uncertain, opts.uncertain_fraction * n, len(left)))
            unsure = [left[j] for j in np.argsort(conf, kind="stable")[:n_unsure]]
            best = np.argmax(p, axis=1)
            for j, i in enumerate(left):
                lab = int(best[j])
                assignment.labels[i] = lab if lab < k else None
                assignment.source[i], assignment.confidence[i] = "classifier", float(conf[j])
            ctx.step("assign (classifier)", len(left), len(left))
            if unsure:
                for i in unsure:
                    assignment.source[i] = ""
                llm(unsure, "assign (llm, uncertain)")
    missing = [i for i in rest if not assignment.source[i]]
    if missing:
        labelled = {i: lab for i, lab in enumerate(assignment.labels) if lab is not None and assignment.source[i]}
        extra = description_vectors(taxonomy, x, ctx.corpus.view)
        if extra is not None:
            # the topic's own words count as much as a few labelled texts (the centroids are re-normalised)
            extra = extra * max(1.0, min(5.0, len(labelled) / max(1, k) / 4))
        assign_embed(x, centroids(x, labelled, k, extra), missing, assignment)
        if mode != "embed":
            assignment.notes.append(f"{len(missing)} texts the model did not label were placed by embeddings")

"""Every prompt the agent sends, as a named template with named slots.

``PAPER`` is the paper's inference prompt (App. D / App. E.2): the answer
specification is the strict contract that :func:`cluster_r1.answer.parse_answer`
checks. ``HINT`` adds the reasoning hint of §8.2 (infer the latent clusters
first, then assign). ``NAMED`` is our extension: the same contract plus a short
name per cluster, ``cluster1 (Billing errors): [1, 4]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PromptTemplate",
    "PAPER",
    "HINT",
    "NAMED",
    "TEMPLATES",
    "get_template",
    "format_texts",
    "clip_text",
    "REASK",
    "PLACE_ITEMS",
    "N_CLUSTERS_HINT",
    "PLACE_ONE",
    "PROPOSE",
]

_SPEC = """Output format (follow it exactly):
- Write exactly one <think>...</think> block with your reasoning, then exactly one <answer>...</answer> block.
- The answer starts with the line "Total clusters: N" where N is the number of clusters.
- Then one line per cluster: "cluster1: [i, j, ...]", "cluster2: [...]", and so on, with the item numbers in square brackets.
- Items are numbered 1 to {n_texts} as in the list above (1-based). Every item from 1 to {n_texts} must appear exactly once: no item missing, none repeated, none out of range.
- The number of cluster lines must equal N."""

_SPEC_NAMED = """Output format (follow it exactly):
- Write exactly one <think>...</think> block with your reasoning, then exactly one <answer>...</answer> block.
- The answer starts with the line "Total clusters: N" where N is the number of clusters.
- Then one line per cluster with a short name in parentheses: "cluster1 (short name): [i, j, ...]", "cluster2 (short name): [...]", and so on, with the item numbers in square brackets.
- Items are numbered 1 to {n_texts} as in the list above (1-based). Every item from 1 to {n_texts} must appear exactly once: no item missing, none repeated, none out of range.
- The number of cluster lines must equal N."""

_EXAMPLE = """Reply in exactly this shape (N, K and the item numbers are placeholders for your own):
<think>
your reasoning
</think>
<answer>
Total clusters: N
cluster1: [item numbers]
cluster2: [item numbers]
...
clusterN: [item numbers]
</answer>"""

_EXAMPLE_NAMED = """Reply in exactly this shape (N, the names and the item numbers are placeholders for your own):
<think>
your reasoning
</think>
<answer>
Total clusters: N
cluster1 (name of group 1): [item numbers]
cluster2 (name of group 2): [item numbers]
...
clusterN (name of group N): [item numbers]
</answer>"""

_TASK = """You are a clustering expert. Group the texts below according to the instruction.
Decide the number of clusters yourself from the instruction and the texts.

Instruction: {instruction}

Texts:
{texts}

"""

_HINT = """Think step by step inside <think>: first read the texts and infer the latent clusters the instruction implies (how many, and what defines each), then assign every item to exactly one of them, then check that every item from 1 to {n_texts} appears exactly once.

"""


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt with slots ``{instruction}``, ``{texts}``, ``{n_texts}``; ``names`` if it asks for cluster names."""

    name: str
    template: str
    names: bool = False

    def render(self, instruction: str, texts: Sequence[str]) -> str:
        return self.template.format(instruction=instruction, texts=format_texts(texts), n_texts=len(texts))


PAPER = PromptTemplate("paper", _TASK + _SPEC + "\n\n" + _EXAMPLE)
HINT = PromptTemplate("hint", _TASK + _HINT + _SPEC + "\n\n" + _EXAMPLE)
NAMED = PromptTemplate("named", _TASK + _HINT + _SPEC_NAMED + "\n\n" + _EXAMPLE_NAMED, names=True)
TEMPLATES = {t.name: t for t in (PAPER, HINT, NAMED)}


def get_template(name: str) -> PromptTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(f"unknown prompt {name!r}; choose one of {', '.join(TEMPLATES)}") from None


def format_texts(texts: Sequence[str]) -> str:
    """Index texts 1..n, one per line, newlines inside a text flattened.

    >>> print(format_texts(["a\\nb", "c"]))
    1. a b
    2. c
    """
    return "\n".join(f"{i}. {' '.join(t.split())}" for i, t in enumerate(texts, start=1))


def clip_text(text: str, limit: int) -> str:
    """Flatten whitespace and cut to ``limit`` characters with an ellipsis.

    >>> clip_text("a  b\\nc", 10), clip_text("abcdefghijk", 8)
    ('a b c', 'abcde...')
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def clip_layout(text: str, limit: int) -> str:
    """Cut to ``limit`` characters keeping the line breaks (spaces inside a line and blank-line runs squeezed).

    Layout is evidence for criteria such as form or style (verse, dialogue, a screenplay's
    scene headings), so prompts that ask about one text at a time keep it.

    >>> clip_layout("INT. ROOM - DAY\\n\\n\\n  JOHN\\n   Hello   there", 40)
    'INT. ROOM - DAY\\n\\nJOHN\\nHello there'
    >>> clip_layout("line one\\nline two\\nline three", 15)
    'line one\\nli...'
    """
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    out = "\n".join(kept).strip()
    return out if len(out) <= limit else out[: limit - 3] + "..."


N_CLUSTERS_HINT = "\nUse exactly {n_clusters} clusters."

REASK = """Your answer cannot be used:
{problems}

Reply again with the complete answer in exactly the required format: one <think>...</think> block, then <answer> with "Total clusters: N" and one "clusterK: [...]" line per cluster, every item from 1 to {n_texts} exactly once."""

PLACE_ITEMS = """Instruction: {instruction}

These clusters are fixed:
{clusters}

Put each of the following texts into exactly one of the clusters above.
{items}

Answer with one line per text and nothing else, in the form "ITEM: clusterK", for example "{example_item}: cluster1"."""

PLACE_ONE = """Instruction: {instruction}

Clusters:
{clusters}

Text: {text}

Which cluster does this text belong to? Answer with the cluster number only (1 to {n_clusters})."""

PROPOSE = """Instruction: {instruction}

Texts:
{texts}

Which groups does the instruction imply for these texts? Name between 2 and {max_groups} groups.
Answer with one line per group and nothing else, in the form "group1: short name", "group2: short name", ..."""

"""What an instruction says about the level it wants, and about what the offline encoder cannot see. Pure.

:func:`read_granularity` finds a stated count ("about 10 groups"), or words for a broad level ("broad areas",
"high-level", "main topics") or a specific one ("specific", "fine-grained", "detailed"). :func:`choose_level` picks
the level of a hierarchy they ask for. :func:`unseen_criterion` finds a criterion an embedding of what the texts
are about does not carry (root cause, stance, sentiment, author, ...), so that the result can say so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Granularity", "read_granularity", "choose_level", "unseen_criterion"]

_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "a dozen": 12, "a hundred": 100})
_UNITS = r"(?:groups?|clusters?|categories|category|topics?|buckets?|themes?|classes|segments?|types|kinds|bins)"
_COUNT = re.compile(r"\b(\d{1,4}|" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
                    + r")\s+(?:[a-z-]+\s+){0,2}?" + _UNITS + r"\b", re.IGNORECASE)
_BROAD = re.compile(r"\b(broad(?:ly|er)?|high[- ]level|top[- ]level|coarse(?:r|-grained)?|overarching|umbrella|"
                    r"general (?:areas?|topics?|themes?|categories)|main (?:areas?|topics?|themes?|categories)|"
                    r"big[- ]picture)\b", re.IGNORECASE)
_SPECIFIC = re.compile(r"\b(specific|fine[- ]?grained|finer|detailed|granular|narrow(?:er)?|sub-?topics?|"
                       r"sub-?categories|sub-?themes?)\b", re.IGNORECASE)
_UNSEEN = re.compile(r"\b(root causes?|causes?|stances?|sentiments?|opinions?|emotions?|authors?|authorship|"
                     r"who wrote|writers?|who posted|posted by|whose account|speakers?|urgency|priority|severity|"
                     r"sarcasm|political leaning)\b", re.IGNORECASE)


#: The criterion a matched phrase names ("whose account" posted a text: its author).
_CRITERION = {"whose account": "author", "who posted": "author", "posted by": "author", "who wrote": "author",
              "authorship": "author", "writer": "author", "writers": "author"}


@dataclass(frozen=True)
class Granularity:
    """What the instruction asks for: ``count`` clusters (stated), else a ``kind`` of level ("broad",
    "specific") or neither; ``why`` quotes the words that said so."""

    kind: str | None = None
    count: int | None = None
    why: str = ""


def read_granularity(instruction: str) -> Granularity:
    """The level ``instruction`` asks for: a stated count first, then broad or specific words (both or
    neither: no preference)."""
    text = instruction or ""
    m = _COUNT.search(text)
    if m:
        word = m.group(1).lower()
        count = int(word) if word.isdigit() else _NUMBER_WORDS[word]
        if count >= 2:
            return Granularity(count=count, why=m.group(0))
    broad, specific = _BROAD.search(text), _SPECIFIC.search(text)
    if broad and not specific:
        return Granularity(kind="broad", why=broad.group(0))
    if specific and not broad:
        return Granularity(kind="specific", why=specific.group(0))
    return Granularity()


def choose_level(ks: Sequence[int], default: int, ask: Granularity) -> tuple[int, str]:
    """(index into ``ks``, the levels' cluster counts from the top down, of the level ``ask`` wants; why).
    ``default`` is the index of the level the method chose by itself."""
    if ask.count is not None:
        best = min(range(len(ks)), key=lambda i: (abs(math.log(ks[i] / ask.count)), i))  # type: ignore[operator]
        return best, f'the level nearest the {ask.count} clusters the instruction asks for ("{ask.why}")'
    if ask.kind == "broad":
        return 0, f'the top level: the instruction asks for broad groups ("{ask.why}")'
    if ask.kind == "specific":
        return len(ks) - 1, f'the finest level: the instruction asks for specific groups ("{ask.why}")'
    return default, "the level whose number of clusters was chosen from the texts"


def unseen_criterion(instruction: str) -> str | None:
    """The criterion named in ``instruction`` that an embedding of what the texts are about does not carry
    (``"root cause"``, ``"sentiment"``, ...), or None."""
    m = _UNSEEN.search(instruction or "")
    if m is None:
        return None
    word = m.group(1).lower()
    return _CRITERION.get(word, word.rstrip("s") if word.endswith(("causes", "stances", "sentiments", "opinions",
                                                                     "emotions", "authors", "speakers")) else word)

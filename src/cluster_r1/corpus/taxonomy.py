"""The taxonomy a large corpus is clustered into: topics with stable ids, names, descriptions and criteria."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..prompts import clip_text, neutralise

__all__ = ["Topic", "Taxonomy", "Category", "WindowCluster", "OTHER", "name_key"]

#: The name of the visible cluster for texts that fit no topic.
OTHER = "Other"


def name_key(name: str) -> str:
    """A name as compared for duplicates: lower case, ``&`` as ``and``, no punctuation or ``(2)`` suffix.

    >>> name_key("Health & Wellness (2)") == name_key("health and wellness")
    True
    """
    name = re.sub(r"\s*\(\d+\)\s*$", "", name.lower().replace("&", " and "))
    return " ".join(re.sub(r"[^\w\s]", " ", name).split())


@dataclass
class Topic:
    """One global cluster. ``id`` is stable: saved clusterers and new texts keep it; nothing renumbers it."""

    id: int
    name: str
    description: str = ""
    criterion: str = ""

    def line(self, number: int, *, chars: int = 160) -> str:
        """``number. name: description`` for a prompt (neutralised, one line)."""
        text = self.name + (f": {self.description}" if self.description else "")
        return f"{number}. {neutralise(clip_text(text, chars))}"


@dataclass
class Taxonomy:
    """The topics under one instruction, in a fixed order (position = the number shown to the model)."""

    instruction: str
    topics: list[Topic] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.topics)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.topics]

    def next_id(self) -> int:
        return max((t.id for t in self.topics), default=0) + 1

    def add(self, name: str, description: str = "", criterion: str = "") -> Topic:
        topic = Topic(self.next_id(), name, description, criterion)
        self.topics.append(topic)
        return topic

    def listing(self, *, none: bool = False, chars: int = 160) -> str:
        """The numbered topics for a classification prompt; ``none`` adds ``0. none of these``."""
        lines = [t.line(j, chars=chars) for j, t in enumerate(self.topics, start=1)]
        if none:
            lines.append("0. none of these (the text fits no category above)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"instruction": self.instruction, "topics": [asdict(t) for t in self.topics]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Taxonomy:
        return cls(str(data.get("instruction", "")), [Topic(**t) for t in data.get("topics", [])])

    @classmethod
    def from_names(cls, instruction: str, names: Sequence[str], descriptions: Sequence[str] | None = None) -> Taxonomy:
        tax = cls(instruction)
        for j, name in enumerate(names):
            tax.add(name, descriptions[j] if descriptions else "")
        return tax


@dataclass(frozen=True)
class Category:
    """A category a text can be put in: a name and what it holds."""

    name: str
    description: str = ""


@dataclass
class WindowCluster:
    """A named cluster the agent found in one window; ``members`` are 0-based corpus indices."""

    window: int
    name: str
    members: list[int]
    description: str = ""

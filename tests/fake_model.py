"""A fake model that reads the project's prompts and answers them correctly for texts that carry their topic.

Each text starts with its topic word (``"billing: ..."``). The fake recognises every prompt
the large-corpus pipeline sends (the clustering agent's answer in either form, the merge of
window clusters, topic descriptions, batched classification) and answers as a perfect model
would, in the form the prompt asks for. Unit tests of the pipeline's logic, never evidence
that a model works (that is what the ``llm`` tests are for). It counts its calls by kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_BLOCK = re.compile(r'<text id="(\d+)">\n(.*?)\n</text>', re.DOTALL)
_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)
_CATEGORY = re.compile(r"^(\d+)\. ([^:\n]+)", re.MULTILINE)


def topic_of(text: str) -> str:
    word = re.split(r"[:\s]", text.strip(), maxsplit=1)[0].lower()
    return word.strip("‹(").rstrip(",.")


class TopicModel:
    """``ScriptedBackend([model] * N)`` or a fake server step: a function of the messages (or request body)."""

    def __init__(self, *, unknown: Sequence[str] = ()) -> None:
        self.calls: Counter[str] = Counter()
        self.unknown = {u.lower() for u in unknown}  # topics the classifier answers "0" for

    def __call__(self, messages) -> str:
        if isinstance(messages, dict):  # a fake server's request body
            messages = messages["messages"]
        prompt = messages[-1]["content"]
        if "Describe the cluster in exactly three lines" in prompt:
            self.calls["describe"] += 1
            word = re.search(r"^- ([^:\n]+)", prompt, re.MULTILINE)
            name = word.group(1).strip() if word else "topic"
            return f"Name: {name}\nDescription: texts about {name}\nIncludes: texts about {name}"
        if "These texts were grouped together" in prompt:
            self.calls["name"] += 1
            shown = re.findall(r"^- (.+)$", prompt, re.MULTILINE)
            name = Counter(topic_of(t) for t in shown).most_common(1)[0][0] if shown else "topic"
            return f"Name: {name}\nDescription: texts about {name}"
        if "Put every text above into exactly one category" in prompt:
            self.calls["classify"] += 1
            cats = {name.strip().lower(): int(num) for num, name in _CATEGORY.findall(prompt.split("Texts (")[0])}
            none = max(cats.values(), default=0)  # the last number is "none of these"
            out = []
            for j, text in _LINE.findall(prompt):
                t = topic_of(text)
                out.append(f"{j}: {none if t in self.unknown else cats.get(t, none)}")
            return "\n".join(out)
        if "Which category does this text belong to" in prompt:
            self.calls["pick"] += 1
            names = [n.strip() for n in re.findall(r"^- ([^:\n]+)", prompt.split("Text (data")[0], re.MULTILINE)]
            body = prompt.split("<text>\n", 1)[-1]
            t = topic_of(body)
            if t.startswith("‹"):
                t = t[1:]
            # a window-cluster summary reads "name: e.g. text": its topic is the name's first word
            match = next((n for n in names if n.lower() == t), None)
            return match or (names[-1] if t in self.unknown else names[0])
        if "Now give the final categories for the whole collection" in prompt:
            self.calls["consolidate"] += 1
            words = list(dict.fromkeys(topic_of(g) for g in re.findall(r"^- (.+)$", prompt, re.MULTILINE)))
            return "\n".join(f"{w}: texts about {w}" for w in words)
        blocks = _BLOCK.findall(prompt)
        if blocks:
            self.calls["window"] += 1
            groups: dict[str, list[int]] = {}
            for i, body in blocks:
                groups.setdefault(topic_of(body), []).append(int(i))
            names = list(groups)
            lines = [f"Total clusters: {len(names)}"]
            if "ITEM: clusterK" in prompt:
                lines += [f"cluster{k} ({name})" for k, name in enumerate(names, start=1)]
                where = {i: k for k, name in enumerate(names, start=1) for i in groups[name]}
                lines += [f"{i}: cluster{where[i]}" for i in sorted(where)]
            else:
                lines += [f"cluster{k} ({name}): [{', '.join(map(str, groups[name]))}]"
                          for k, name in enumerate(names, start=1)]
            return "<think>\nby topic\n</think>\n<answer>\n" + "\n".join(lines) + "\n</answer>"
        self.calls["other"] += 1
        return "1"


def corpus(n: int, topics: Sequence[str] = ("billing", "login", "shipping", "bugs"), seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` distinct texts, each starting with its topic word; (texts, gold topics)."""
    import random

    rng = random.Random(seed)
    phrases = {
        "billing": ["charged twice for my plan", "refund has not arrived", "invoice shows the wrong amount",
                    "card was billed after I cancelled"],
        "login": ["cannot sign in to my account", "password reset email never comes", "two-factor code is rejected",
                  "account locked after failed attempts"],
        "shipping": ["parcel has not arrived yet", "tracking number does not work", "package delivered to the wrong "
                     "address", "delivery is two weeks late"],
        "bugs": ["app crashes when I open settings", "page stays blank after the update", "export freezes the program",
                 "search returns an error"],
    }
    texts, gold = [], []
    for i in range(n):
        t = topics[i % len(topics)]
        pool = phrases.get(t, [f"something about {t}", f"another {t} matter", f"a question on {t}"])
        texts.append(f"{t}: {rng.choice(pool)} (case {i}, {rng.choice(['urgent', 'please help', 'thanks', 'again'])})")
        gold.append(t)
    return texts, gold

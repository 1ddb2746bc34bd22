"""Small, seeded benchmark tasks built from the real corpora in ``../shared/data``.

Only for ``benchmarks/embed_*.py``: the package's corpus loaders live in
``cluster_r1.bench``. Set ``CLUSTER_R1_DATA`` to read the corpora from elsewhere.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATA = Path(os.environ.get("CLUSTER_R1_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@dataclass
class EmbedTask:
    name: str
    instruction: str
    texts: list[str]
    labels: list[str]

    @property
    def k(self) -> int:
        return len(set(self.labels))


def _sample(pairs: list[tuple[str, str]], n: int, seed: int = 0, classes: list[str] | None = None) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    if classes is not None:
        pairs = [p for p in pairs if p[1] in classes]
    pairs = sorted(pairs)
    rng.shuffle(pairs)
    pairs = pairs[:n]
    return [t for t, _ in pairs], [lab for _, lab in pairs]


def _clinc() -> tuple[list[tuple[str, str]], dict[str, str]]:
    data = json.loads((DATA / "clinc150" / "data_full.json").read_text())
    domains = json.loads((DATA / "clinc150" / "domains.json").read_text())
    intent_domain = {i: d for d, intents in domains.items() for i in intents}
    return [(t, i) for t, i in data["test"]], intent_domain


def clinc_texts(split: str = "test") -> list[str]:
    data = json.loads((DATA / "clinc150" / "data_full.json").read_text())
    return [t for t, _ in data[split]]


def banking_rows(split: str = "test") -> list[tuple[str, str]]:
    with open(DATA / "banking77" / f"{split}.csv", newline="") as f:
        return [(r["text"], r["category"]) for r in csv.DictReader(f)]


def slurp_rows(split: str = "devel") -> list[dict]:
    with open(DATA / "slurp" / f"{split}.jsonl") as f:
        return [json.loads(line) for line in f]


def tweeteval_rows() -> list[tuple[str, str, str]]:
    rows = []
    names = {"0": "none", "1": "against", "2": "favor"}
    for target in ("abortion", "atheism", "climate", "feminist", "hillary"):
        d = DATA / "tweeteval_stance" / target
        texts = (d / "test_text.txt").read_text().splitlines()
        labels = (d / "test_labels.txt").read_text().splitlines()
        rows += [(t, target, names[s.strip()]) for t, s in zip(texts, labels)]
    return rows


def goalex(criterion: str) -> tuple[str, list[str], list[str]]:
    d = DATA / "goalex_syn" / criterion
    data = json.loads((d / "data.json").read_text())
    labels = json.loads((d / "labels.json").read_text())
    return data["goal"], data["texts"], [str(x) for x in labels["labels"]]


def goalex_descriptions(criterion: str) -> list[str]:
    """GoalEx's gold class descriptions ("has a writing style of poem", ...), in label order."""
    return json.loads((DATA / "goalex_syn" / criterion / "labels.json").read_text())["class_descriptions"]


def _clinc_domain(n: int, seed: int = 0) -> EmbedTask:
    pairs, dom = _clinc()
    t, lab = _sample([(t, dom[i]) for t, i in pairs], n, seed)
    return EmbedTask("clinc_domain", "Cluster the requests by their domain (banking, travel, kitchen, ...)", t, lab)


def _clinc_intent(n: int, seed: int = 0) -> EmbedTask:
    pairs, dom = _clinc()
    intents = sorted(i for i, d in dom.items() if d in ("banking", "travel"))  # 30 intents
    t, lab = _sample(pairs, n, seed, classes=intents)
    return EmbedTask("clinc_intent_bank+travel", "Cluster the requests by the user's exact intent", t, lab)


def _banking(n: int, seed: int = 0) -> EmbedTask:
    rows = banking_rows()
    cats = sorted({c for _, c in rows})[:20]
    t, lab = _sample(rows, n, seed, classes=cats)
    return EmbedTask("banking77_20", "Cluster the banking queries by customer intent", t, lab)


#: The instruction of each SLURP criterion (the sampled tasks here and the full-size ones of scale_quality.py).
SLURP_INSTRUCTIONS = {"scenario": "Cluster the commands by scenario (the app or domain they address)",
                      "action": "Cluster the commands by the action requested (set, query, remove, ...)"}


def _slurp(field: str, n: int, seed: int = 0) -> EmbedTask:
    rows = slurp_rows()
    t, lab = _sample([(r["sentence"], r[field]) for r in rows], n, seed)
    return EmbedTask(f"slurp_{field}", SLURP_INSTRUCTIONS[field], t, lab)


def _tweet(field: str, n: int, seed: int = 0) -> EmbedTask:
    rows = tweeteval_rows()
    idx = 1 if field == "target" else 2
    t, lab = _sample([(r[0], r[idx]) for r in rows], n, seed)
    instr = {"target": "Cluster the tweets by the target they discuss",
             "stance": "Cluster the tweets by the author's stance (favor, against, none)"}[field]
    return EmbedTask(f"tweeteval_{field}", instr, t, lab)


def _goalex(criterion: str, n: int, seed: int = 0) -> EmbedTask:
    goal, texts, labels = goalex(criterion)
    t, lab = _sample(list(zip(texts, labels)), n, seed)
    return EmbedTask(f"goalex_{criterion}", goal, t, lab)


def _corpus_task(corpus: str, criterion: str, name: str, instruction: str) -> Callable[..., EmbedTask]:
    """A task on a corpus of ``cluster_r1.bench.corpora`` (read in place from ``DATA``)."""

    def load(n: int, seed: int = 0) -> EmbedTask:
        from cluster_r1.bench.corpora import load_corpus

        c = load_corpus(corpus, DATA)
        t, lab = _sample(list(zip(c.texts, c.labels(criterion))), n, seed)
        return EmbedTask(name, instruction, t, lab)

    return load


TASKS: dict[str, Callable[..., EmbedTask]] = {
    "clinc_domain": _clinc_domain,
    "clinc_intent": _clinc_intent,
    "banking77": _banking,
    "slurp_scenario": lambda n, seed=0: _slurp("scenario", n, seed),
    "slurp_action": lambda n, seed=0: _slurp("action", n, seed),
    "tweeteval_target": lambda n, seed=0: _tweet("target", n, seed),
    "tweeteval_stance": lambda n, seed=0: _tweet("stance", n, seed),
    "goalex_topic": lambda n, seed=0: _goalex("topic", n, seed),
    "goalex_language": lambda n, seed=0: _goalex("language", n, seed),
    "goalex_style": lambda n, seed=0: _goalex("style", n, seed),
    "election_author": _corpus_task("election_tweets", "author", "election_author",
                                    "Cluster the tweets by the candidate whose account posted them"),
    "election_language": _corpus_task("election_tweets", "language", "election_language",
                                      "Cluster the tweets by the language they are written in"),
    "edgar_item": _corpus_task("edgar_10k", "item_type", "edgar_item",
                               "Cluster the 10-K report sections by the item of the filing they are"),
    "edgar_industry": _corpus_task("edgar_10k", "industry", "edgar_industry",
                                   "Cluster the 10-K report sections by the filing company's industry"),
    "grimm_topic": _corpus_task("grimm_tales", "atu_topic", "grimm_topic",
                                "Cluster the fairy tales by their tale type (animal tales, tales of magic, jokes, ...)"),
}

#: Generalisation discipline (docs/embedding.md): rules for the offline default are chosen on the tuning
#: family and adopted only when they also win on the held-out family; the split is by corpus, so no
#: held-out text is ever seen while tuning (CLINC150, BANKING77, GoalEx vs SLURP, TweetEval, the 2016
#: election tweets, EDGAR 10-K sections, Grimm tales).
FAMILIES: dict[str, tuple[str, ...]] = {
    "tuning": ("clinc_domain", "clinc_intent", "banking77", "goalex_topic", "goalex_language", "goalex_style"),
    "held-out": ("slurp_scenario", "slurp_action", "tweeteval_target", "tweeteval_stance", "election_author",
                 "election_language", "edgar_item", "edgar_industry", "grimm_topic"),
}

#: The ten tasks of the documented tables before the families were added (the other scripts' default).
TEN = tuple(list(TASKS)[:10])

#: Multi-criteria tasks: the same texts under different instructions (CLINC, SLURP, TweetEval, GoalEx).
MULTI = ("clinc_domain", "clinc_intent", "slurp_scenario", "slurp_action", "tweeteval_target", "tweeteval_stance",
         "goalex_topic", "goalex_language", "goalex_style")


def load_task(name: str, n: int = 300, seed: int = 0) -> EmbedTask:
    """Task ``name`` with ``n`` texts; ``seed`` picks the sample (0: the documented tables)."""
    return TASKS[name](n, seed)

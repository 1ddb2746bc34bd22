"""Benchmark task declarations and their registry (the mteb pattern).

One task = one declared :class:`Task`: a clustering instruction over the texts of
one corpus, the gold criterion that answers it, the clusters (name, description,
and the gold label each maps to), a held-in/held-out flag and provenance.

Two benchmarks are declared here:

* ``reasoncluster-open`` -- built from the public corpora of ``shared/data``
  (:mod:`cluster_r1.bench.corpora`), buildable offline end to end;
* ``reasoncluster-paper`` -- the paper's 28 instructions (App. H, Table 5) as
  metadata only: their corpora (LMSYS-Chat-1M, ECHR, sp500-edgar-10k) are on the
  Hugging Face hub and the paper's synthesized clusters were never released, so
  these tasks carry no clusters; :mod:`cluster_r1.bench.synthesis` can produce them.

Held-out set for C2 (ReasonCluster-Open). A held-out instruction is never trained
on and its texts are restricted to texts no training example uses (see
:mod:`cluster_r1.bench.splits`). It is chosen so that every kind of shift appears:
a new criterion over texts whose other criteria are trained (``goalex-style``,
``tweeteval-stance-hillary``, ``edgar-properties-industry``), a finer-grained
sub-taxonomy of a trained domain (``clinc150-travel-intent``, ``slurp-iot-intent``,
``banking77-card-problems``), and corpora never seen in training
(``grimm-atu-topic``, ``grimm-atu-type``, ``arena-hard-topic``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError, InputError
from .corpora import CORPORA, Corpus

__all__ = [
    "ClusterSpec",
    "Task",
    "TaskRegistry",
    "OPEN",
    "PAPER",
    "REGISTRY",
    "get_task",
    "list_tasks",
    "humanize",
]

OPEN = "reasoncluster-open"
PAPER = "reasoncluster-paper"


def humanize(label: str) -> str:
    """A readable cluster name from a raw label.

    >>> humanize("card_payment_wrong_exchange_rate")
    'Card payment wrong exchange rate'
    >>> humanize("iot_hue_lightoff")
    'Iot hue lightoff'
    """
    text = re.sub(r"[_\s]+", " ", label.strip().rstrip("?")).strip()
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class ClusterSpec:
    """One gold cluster of a task: ``label`` is the corpus label it stands for (None if not released)."""

    name: str
    description: str = ""
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "label": self.label}


@dataclass(frozen=True)
class Task:
    """One instruction-following clustering task.

    ``where`` restricts the corpus texts (criterion -> label) before clustering, e.g.
    the stance of tweets about one target only. With ``all_labels`` the clusters are
    every label of ``criterion`` (named by :func:`humanize`), filled in by :meth:`resolve`.
    """

    name: str
    corpus: str
    criterion: str | None
    instruction: str
    clusters: tuple[ClusterSpec, ...] = ()
    held_out: bool = False
    source: str = ""
    licence: str = ""
    benchmark: str = OPEN
    domain: str = ""
    where: tuple[tuple[str, str], ...] = ()
    all_labels: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]*", self.name):
            raise ConfigError(f"task name {self.name!r}: use lower-case letters, digits, '-', '_' or '.'")
        if not self.instruction.strip():
            raise ConfigError(f"task {self.name!r} has an empty instruction")
        names = [c.name for c in self.clusters]
        if len(set(names)) != len(names):
            raise ConfigError(f"task {self.name!r} declares a cluster name twice")
        labels = [c.label for c in self.clusters if c.label is not None]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"task {self.name!r} maps two clusters to one label")
        if self.benchmark == OPEN and (self.criterion is None or not (self.clusters or self.all_labels)):
            raise ConfigError(f"task {self.name!r}: an open task needs a criterion and clusters (or all_labels)")

    @property
    def split_role(self) -> str:
        return "held_out" if self.held_out else "held_in"

    @property
    def label_to_cluster(self) -> dict[str, ClusterSpec]:
        return {c.label: c for c in self.clusters if c.label is not None}

    def resolve(self, corpus: Corpus) -> Task:
        """Check the task against ``corpus`` and fill in ``all_labels`` clusters; returns a task with explicit clusters."""
        if corpus.name != self.corpus:
            raise InputError(f"task {self.name!r} is over corpus {self.corpus!r}, not {corpus.name!r}")
        assert self.criterion is not None
        labels = corpus.labels(self.criterion)
        for crit, value in self.where:
            if value not in set(corpus.labels(crit)):
                raise InputError(f"task {self.name!r}: no text has {crit} = {value!r} in corpus {corpus.name!r}")
        present = set(self.texts_of(corpus, labels).values())
        if self.all_labels:
            clusters = tuple(
                ClusterSpec(
                    humanize(lab), f"Texts whose {self.criterion.replace('_', ' ')} is {humanize(lab).lower()}.", lab
                )
                for lab in sorted(present)
            )
            return replace(self, clusters=clusters, all_labels=False)
        missing = [c.label for c in self.clusters if c.label not in present]
        if missing:
            raise InputError(f"task {self.name!r}: labels {missing} have no text in corpus {corpus.name!r}")
        return self

    def texts_of(self, corpus: Corpus, labels: list[str] | None = None) -> dict[int, str]:
        """Index -> gold label of the corpus texts this task covers (``where`` applied, undeclared labels dropped)."""
        assert self.criterion is not None
        labels = labels if labels is not None else corpus.labels(self.criterion)
        keep = None if self.all_labels else set(self.label_to_cluster)
        conds = [(corpus.labels(c), v) for c, v in self.where]
        return {
            i: lab
            for i, lab in enumerate(labels)
            if (keep is None or lab in keep) and all(col[i] == v for col, v in conds)
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "benchmark": self.benchmark,
            "corpus": self.corpus,
            "criterion": self.criterion,
            "instruction": self.instruction,
            "held_out": self.held_out,
            "where": dict(self.where),
            "clusters": [c.to_dict() for c in self.clusters],
            "domain": self.domain,
            "source": self.source,
            "licence": self.licence,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Task:
        return cls(
            name=data["name"],
            corpus=data["corpus"],
            criterion=data.get("criterion"),
            instruction=data["instruction"],
            clusters=tuple(ClusterSpec(**c) for c in data.get("clusters", [])),
            held_out=bool(data.get("held_out", False)),
            source=data.get("source", ""),
            licence=data.get("licence", ""),
            benchmark=data.get("benchmark", OPEN),
            domain=data.get("domain", ""),
            where=tuple(sorted(data.get("where", {}).items())),
            notes=data.get("notes", ""),
        )


@dataclass
class TaskRegistry:
    """Tasks by name; registering a name twice is an error."""

    _tasks: dict[str, Task] = field(default_factory=dict)

    def register(self, task: Task) -> Task:
        if task.name in self._tasks:
            raise ConfigError(f"task {task.name!r} is already registered; task names must be unique")
        self._tasks[task.name] = task
        return task

    def register_all(self, tasks: Iterable[Task]) -> None:
        for task in tasks:
            self.register(task)

    def get(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise InputError(f"unknown task {name!r}; see list_tasks() for the {len(self._tasks)} declared") from None

    def select(
        self, *, benchmark: str | None = OPEN, held_out: bool | None = None, corpus: str | None = None
    ) -> list[Task]:
        return [
            t
            for t in self._tasks.values()
            if (benchmark is None or t.benchmark == benchmark)
            and (held_out is None or t.held_out == held_out)
            and (corpus is None or t.corpus == corpus)
        ]

    def __iter__(self) -> Iterator[Task]:
        return iter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, name: object) -> bool:
        return name in self._tasks


# --------------------------------------------------------------------------- declarations


def _open(
    name: str,
    corpus: str,
    criterion: str,
    instruction: str,
    clusters: Iterable[tuple[str, str, str]] = (),
    *,
    where: dict[str, str] | None = None,
    **fields: Any,
) -> Task:
    """A task on an open corpus: its source and licence from :data:`CORPORA`, ``clusters`` as (label, name,
    description), ``where`` as a mapping; ``fields`` are the task's others (``held_out``, ``domain``, ...)."""
    spec = CORPORA[corpus]
    return Task(
        name=name,
        corpus=corpus,
        criterion=criterion,
        instruction=instruction,
        clusters=tuple(ClusterSpec(n, d, lab) for lab, n, d in clusters),
        source=spec.source,
        licence=spec.licence,
        where=tuple(sorted((where or {}).items())),
        **fields,
    )


def _labels(labels: Iterable[str], template: str) -> list[tuple[str, str, str]]:
    return [(lab, humanize(lab), template.format(humanize(lab).lower())) for lab in labels]


_GOALEX_TOPIC = [
    (
        "what sports to do to improve your health",
        "Sports for health",
        "Advice on which sports or exercise improve health.",
    ),
    ("a new anime has been announced", "New anime announcement", "News or excitement about a newly announced anime."),
    (
        "a tech company releases a new groundbreaking paper",
        "Tech research release",
        "A technology company publishing a breakthrough research paper.",
    ),
    ("how to improve your productivity", "Productivity tips", "Advice on working or living more productively."),
]
_GOALEX_LANGUAGE = [
    ("English", "English", "Written in English."),
    ("French", "French", "Written in French."),
    ("Deutsch", "German", "Written in German (Deutsch)."),
    ("Spanish", "Spanish", "Written in Spanish."),
]
_GOALEX_STYLE = [
    ("twitter", "Tweet", "Short social-media post style, often with hashtags or mentions."),
    ("screen play", "Screenplay", "Written as a script with scene directions and character lines."),
    ("rap", "Rap lyrics", "Rhythmic rap verses with rhyme and slang."),
    ("poem", "Poem", "Verse poetry with line breaks and imagery."),
]
_SLURP_SCENARIOS = {
    "alarm": "Setting, querying or removing alarms.",
    "audio": "Volume and audio-output control.",
    "calendar": "Events, meetings and reminders in a calendar.",
    "cooking": "Recipes and cooking help.",
    "datetime": "Questions about dates, times and time zones.",
    "email": "Reading, sending and managing e-mail and contacts.",
    "general": "Chit-chat, jokes, greetings and generic commands.",
    "iot": "Controlling smart-home devices (lights, plugs, vacuum, coffee machine).",
    "lists": "Creating and editing to-do or shopping lists.",
    "music": "Music preferences, settings and information about music.",
    "news": "Asking for news.",
    "play": "Playing music, radio, podcasts, audiobooks or games.",
    "qa": "Factual questions: definitions, facts, currency, stocks, maths.",
    "recommendation": "Recommendations for places, events or movies.",
    "social": "Social-media posts and complaints to companies.",
    "takeaway": "Ordering food or checking takeaway orders.",
    "transport": "Tickets, taxis, traffic and train information.",
    "weather": "Weather questions.",
}
_SLURP_IOT = [
    "iot_cleaning", "iot_coffee", "iot_hue_lightchange", "iot_hue_lightdim", "iot_hue_lightoff",
    "iot_hue_lighton", "iot_hue_lightup", "iot_wemo_off", "iot_wemo_on",
]  # fmt: skip
_CLINC_DOMAINS = {
    "auto_and_commute": "Cars, fuel, tyres, traffic and commuting.",
    "banking": "Bank accounts, transfers, bills and fraud.",
    "credit_cards": "Credit cards, limits, rewards and applications.",
    "home": "Home tasks: shopping lists, reminders, smart home.",
    "kitchen_and_dining": "Recipes, cooking, restaurants and nutrition.",
    "meta": "Controlling the assistant itself: language, voice, repeat, cancel.",
    "small_talk": "Chit-chat with the assistant.",
    "travel": "Flights, hotels, visas, luggage and travel abroad.",
    "utility": "Time, date, weather, calculator, timers and definitions.",
    "work": "Work-related: payday, PTO, meetings, insurance, taxes.",
}
_CLINC_BANKING = [
    "freeze_account", "routing", "pin_change", "bill_due", "pay_bill", "account_blocked", "interest_rate",
    "min_payment", "bill_balance", "transfer", "order_checks", "balance", "spending_history", "transactions",
    "report_fraud",
]  # fmt: skip
_CLINC_TRAVEL = [
    "plug_type", "travel_notification", "translate", "flight_status", "international_visa", "timezone",
    "exchange_rate", "travel_suggestion", "travel_alert", "vaccines", "lost_luggage", "book_flight", "book_hotel",
    "carry_on", "car_rental",
]  # fmt: skip
_CLINC_SMALL_TALK = [
    "who_made_you", "meaning_of_life", "who_do_you_work_for", "do_you_have_pets", "what_are_your_hobbies",
    "fun_fact", "what_is_your_name", "where_are_you_from", "goodbye", "thank_you", "greeting", "tell_joke",
    "are_you_a_bot", "how_old_are_you", "what_can_i_ask_you",
]  # fmt: skip
_BANKING_CARDS = [
    "activate_my_card", "card_about_to_expire", "card_acceptance", "card_arrival", "card_delivery_estimate",
    "card_linking", "card_not_working", "card_swallowed", "compromised_card", "contactless_not_working",
    "declined_card_payment", "lost_or_stolen_card", "pin_blocked", "virtual_card_not_working",
]  # fmt: skip
_TWEET_TARGETS = [
    ("abortion", "Abortion", "Tweets taking a position on abortion and reproductive rights."),
    ("atheism", "Atheism and religion", "Tweets about atheism, God and religious belief."),
    ("climate", "Climate change", "Tweets about climate change being a real concern."),
    ("feminist", "Feminism", "Tweets about the feminist movement and gender equality."),
    ("hillary", "Hillary Clinton", "Tweets about Hillary Clinton and her candidacy."),
]
_STANCE = [
    ("favor", "In favour", "The author supports the target."),
    ("against", "Against", "The author opposes the target."),
    ("none", "Neither", "The author takes no clear position on the target, or the tweet is unrelated."),
]
_EDGAR_ITEMS = [
    (
        "Item 2 - Properties",
        "Properties",
        "Describes the company's physical properties: plants, offices, land, leases.",
    ),
    (
        "Item 3 - Legal Proceedings",
        "Legal proceedings",
        "Describes lawsuits, regulatory actions and other legal proceedings.",
    ),
    (
        "Item 5 - Market for Common Equity",
        "Market for equity",
        "Describes the stock listing, share prices, holders, dividends and buybacks.",
    ),
]
_EDGAR_INDUSTRY = [
    ("Manufacturing", "Manufacturing", "Companies that make goods (SIC 20-39)."),
    ("Services", "Services", "Business, health, software and other services (SIC 70-89)."),
    (
        "Transportation, Communications, Electric, Gas and Sanitary Services",
        "Transport, communications and utilities",
        "Airlines, telecoms, electric and gas utilities (SIC 40-49).",
    ),
    ("Finance, Insurance and Real Estate", "Finance, insurance and real estate", "Banks, insurers, REITs (SIC 60-67)."),
    ("Retail Trade", "Retail", "Stores and retail chains (SIC 52-59)."),
    ("Wholesale Trade", "Wholesale", "Wholesale distributors (SIC 50-51)."),
]
_ATU_TOPICS = [
    ("Animal Tales", "Animal tales", "Tales whose main characters are animals (ATU 1-299)."),
    (
        "Tales of Magic",
        "Tales of magic",
        "Wonder tales with supernatural adversaries, helpers or objects (ATU 300-749).",
    ),
    (
        "Realistic Tales",
        "Realistic tales",
        "Novelle: tales without magic, about cleverness, fate or fidelity (ATU 850-999).",
    ),
    ("Tales of the Stupid Ogre", "Tales of the stupid ogre", "A human outwits a dull giant or devil (ATU 1000-1199)."),
    ("Jokes and Anecdotes", "Jokes and anecdotes", "Humorous stories about fools, couples or clergy (ATU 1200-1999)."),
]


def _open_tasks() -> list[Task]:
    return [
        # GoalEx: the same 1,024 texts, three instructions
        _open("goalex-topic", "goalex", "topic", "Cluster these texts by the topic they discuss.", _GOALEX_TOPIC, domain="synthetic"),
        _open("goalex-language", "goalex", "language", "Cluster these texts by the natural language they are written in.", _GOALEX_LANGUAGE, domain="synthetic"),
        _open("goalex-style", "goalex", "style", "Cluster these texts by their writing style or literary form, ignoring what they are about and which language they use.", _GOALEX_STYLE, held_out=True, domain="synthetic"),
        # SLURP: the same utterances by scenario, by action, and a sub-taxonomy
        _open("slurp-scenario", "slurp", "scenario", "Cluster these voice-assistant commands by the application domain they belong to.", [(k, humanize(k), v) for k, v in _SLURP_SCENARIOS.items()], domain="dialogue"),
        _open("slurp-action", "slurp", "action", "Cluster these voice-assistant commands by the kind of action the user asks for, regardless of the application domain (for example setting, querying or removing something).", all_labels=True, domain="dialogue"),
        _open("slurp-iot-intent", "slurp", "intent", "Cluster these smart-home commands by the device and the operation the user requests.", _labels(_SLURP_IOT, "Smart-home command: {}."), held_out=True, where={"scenario": "iot"}, domain="dialogue"),
        # CLINC150: domain, and intents within three domains
        _open("clinc150-domain", "clinc150", "domain", "Cluster these assistant queries by the broad area of life or service they concern.", [(k, humanize(k), v) for k, v in _CLINC_DOMAINS.items()], domain="dialogue"),
        _open("clinc150-banking-intent", "clinc150", "intent", "Cluster these banking queries by the specific request the customer makes.", _labels(_CLINC_BANKING, "Banking request: {}."), domain="dialogue"),
        _open("clinc150-small-talk-intent", "clinc150", "intent", "Cluster these chit-chat messages to a voice assistant by the conversational move the user makes.", _labels(_CLINC_SMALL_TALK, "Small talk: {}."), domain="dialogue"),
        _open("clinc150-travel-intent", "clinc150", "intent", "Cluster these travel-related queries by the specific travel need they express.", _labels(_CLINC_TRAVEL, "Travel request: {}."), held_out=True, domain="dialogue"),
        # BANKING77: all 77 categories, and a held-out card sub-taxonomy
        _open("banking77-category", "banking77", "category", "Cluster these online-banking customer queries by the specific problem or request they raise.", all_labels=True, domain="dialogue"),
        _open("banking77-card-problems", "banking77", "category", "Cluster these customer messages about payment cards by the specific card issue the customer needs help with.", _labels(_BANKING_CARDS, "Card issue: {}."), held_out=True, domain="dialogue"),
        # TweetEval stance: target and stance over the same tweets
        _open("tweeteval-target", "tweeteval_stance", "target", "Cluster these tweets by the controversial topic or public figure they take a position on.", _TWEET_TARGETS, domain="social media"),
        _open("tweeteval-stance", "tweeteval_stance", "stance", "Cluster these tweets by the attitude the author expresses toward the issue being discussed, whatever the issue is.", _STANCE, domain="social media"),
        _open("tweeteval-stance-abortion", "tweeteval_stance", "stance", "Cluster these tweets about abortion by the position the author takes on the right to legal abortion.", [("favor", "Pro-choice", "Supports the right to legal abortion."), ("against", "Pro-life", "Opposes legal abortion."), ("none", "No position", "No clear position on abortion.")], where={"target": "abortion"}, domain="social media"),
        _open("tweeteval-stance-hillary", "tweeteval_stance", "stance", "Cluster these tweets about Hillary Clinton by whether the author supports her, opposes her, or neither.", [("favor", "Supports Clinton", "Favourable to Hillary Clinton."), ("against", "Opposes Clinton", "Hostile to Hillary Clinton."), ("none", "Neutral", "No clear position on Hillary Clinton.")], held_out=True, where={"target": "hillary"}, domain="social media"),
        # Election tweets: the same tweets by author and by language
        _open("election-author", "election_tweets", "author", "Cluster these 2016 US presidential campaign tweets by which candidate's account posted them.", [("HillaryClinton", "Hillary Clinton", "Posted by @HillaryClinton."), ("realDonaldTrump", "Donald Trump", "Posted by @realDonaldTrump.")], domain="social media"),
        _open("election-language", "election_tweets", "language", "Cluster these campaign tweets by the language they are written in.", [("en", "English", "Written in English."), ("es", "Spanish", "Written in Spanish."), ("und", "Undetermined", "Too short or symbolic to have a language: links, emoji, hashtags only.")], domain="social media"),
        # EDGAR 10-K sections: item type and industry over the same sections
        _open("edgar-item-type", "edgar_10k", "item_type", "Cluster these sections of annual reports (10-K) by the kind of disclosure they make.", _EDGAR_ITEMS, domain="finance"),
        _open("edgar-industry", "edgar_10k", "industry", "Cluster these annual-report sections by the industry of the company that filed them.", _EDGAR_INDUSTRY, domain="finance"),
        _open("edgar-properties-industry", "edgar_10k", "industry", "Cluster these descriptions of company properties by the industry the assets reveal.", _EDGAR_INDUSTRY[:4], held_out=True, where={"item_type": "Item 2 - Properties"}, domain="finance"),
        # Grimm tales and Arena-Hard: corpora never seen in training
        _open("grimm-atu-topic", "grimm_tales", "atu_topic", "Cluster these fairy tales by their broad folktale category.", _ATU_TOPICS, held_out=True, domain="literature"),
        _open("grimm-atu-type", "grimm_tales", "atu_type", "Cluster these fairy tales by the kind of plot they follow, as a folklorist would classify tale types.", all_labels=True, held_out=True, domain="literature"),
        _open("arena-hard-topic", "arena_hard", "cluster", "Cluster these chatbot user prompts by the fine-grained task or topic they are about.", all_labels=True, held_out=True, domain="dialogue", notes="250 clusters of 2 prompts each: every example has clusters of at most 2 texts."),
    ]  # fmt: skip


# The paper's 28 instructions (App. H, Table 5): metadata only (clusters not released).
_PAPER_SOURCES = {
    "echr": ("https://huggingface.co/datasets/glnmario/ECHR (Chalkidis et al., 2019)", "see the dataset card", "legal"),
    "lmsys_chat": (
        "https://huggingface.co/datasets/lmsys/lmsys-chat-1m",
        "LMSYS-Chat-1M Dataset License Agreement",
        "dialogue",
    ),
    "sp500_10k": ("https://huggingface.co/datasets/jlohding/sp500-edgar-10k", "MIT (dataset card)", "finance"),
}
_PAPER_TABLE5: dict[str, tuple[list[str], list[str]]] = {
    "echr": (
        [
            "Cluster these legal cases by the primary vulnerable population involved.",
            "Cluster these legal cases by the dominant type of domestic proceedings that preceded the European Court application.",
            "Cluster these legal cases by the violation articles invoked in the Court's judgment.",
        ],
        [
            "Cluster the following texts based on the primary underlying category of legal dispute or issue.",
            "Cluster the following texts based on the main types of parties or entities involved as adversaries or plaintiffs.",
            "Cluster the following texts based on the timing, duration, or current stage of resolution for the described legal proceedings.",
        ],
    ),
    "lmsys_chat": (
        [
            "Cluster the following user requests based on explanation audience level.",
            "Cluster these requests by temporal regime they focus on.",
            "Cluster the dialogue by identifying the root cause of the issue.",
            "Cluster the dialogue based on the type of transformation needed to convert it into a different form or function.",
            "Cluster these creative generation requests by content type.",
            "Group each dialogue according to the primary social function or interpersonal purpose it serves.",
            "Cluster these decision support requests based on the structure and format of the solution being requested.",
            "Group these recommendation requests by identifying the type of justification used.",
            "Cluster the dialogues by the distinct perspective or evaluative role the agent adopts.",
            "Group the conversations based on the type of structured planning or scheduling being discussed.",
        ],
        [
            "Group these computational tasks by archetype.",
            "Cluster these data analysis requests by tooling context.",
            "Cluster these texts based on the kind of external context or disambiguation needed.",
            "Group these factual lookup requests by the structure and format of the expected output.",
            "Cluster these factual lookup requests based on the type of source or origin of information.",
        ],
    ),
    "sp500_10k": (
        [
            "Cluster these SP500 companies by their asset ownership and utilization patterns.",
            "Cluster these SP500 companies by their geographic distribution of assets and operations.",
            "Cluster these SP500 companies by their industry-specific asset composition.",
            "Cluster these SP500 companies by their risk exposure and asset encumbrance patterns.",
        ],
        [
            "Cluster the texts based on the strategies companies use for distributing earnings to shareholders via dividends.",
            "Cluster the texts based on the approaches companies take toward buying back their own shares.",
            "Cluster the texts based on the varieties of equity instruments issued by companies.",
        ],
    ),
}


def _paper_tasks() -> list[Task]:
    tasks = []
    for corpus, (held_in, held_out) in _PAPER_TABLE5.items():
        source, licence, domain = _PAPER_SOURCES[corpus]
        for flag, instructions in ((False, held_in), (True, held_out)):
            for k, instruction in enumerate(instructions, start=1):
                tasks.append(
                    Task(
                        name=f"paper-{corpus.replace('_', '-')}-{'out' if flag else 'in'}-{k}",
                        corpus=corpus,
                        criterion=None,
                        instruction=instruction,
                        held_out=flag,
                        source=source,
                        licence=licence,
                        benchmark=PAPER,
                        domain=domain,
                        notes="Cluster-R1 paper App. H Table 5; clusters were synthesized and not released.",
                    )
                )
    return tasks


REGISTRY = TaskRegistry()
REGISTRY.register_all(_open_tasks())
REGISTRY.register_all(_paper_tasks())


def get_task(name: str) -> Task:
    """The declared task called ``name``."""
    return REGISTRY.get(name)


def list_tasks(*, benchmark: str | None = OPEN, held_out: bool | None = None, corpus: str | None = None) -> list[Task]:
    """Declared tasks, filtered; ``benchmark=None`` lists both benchmarks."""
    return REGISTRY.select(benchmark=benchmark, held_out=held_out, corpus=corpus)

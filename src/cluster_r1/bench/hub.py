"""Loaders for the paper's three corpora (App. H): LMSYS-Chat-1M, ECHR and sp500-edgar-10k.

They live on the Hugging Face hub. Each loader takes ``source``:

* a local directory (or one file) of ``*.jsonl`` / ``*.json`` rows in the hub's
  schema -- read offline, in sorted file order;
* ``None`` or a hub id -- streamed with ``datasets.load_dataset(..., streaming=True)``
  (needs ``pip install datasets``, network access and, for LMSYS-Chat-1M, accepting
  its licence on the hub and ``huggingface-cli login``).

Rows are filtered as App. H describes:

* LMSYS-Chat-1M (``conversation``, ``turn``, ``language``, ``openai_moderation``,
  ``redacted``): the first ``max_rows`` (500,000) conversations, English only,
  one or two turns, no message flagged by the moderation API and not redacted;
  the text keeps both user and assistant turns ("User: ... / Assistant: ...").
* ECHR (``glnmario/ECHR`` schema: ``itemid``, ``languageisocode``, ``docname``,
  ``text`` (facts), ``importance``, ``judges``, ``conclusion``,
  ``violated_articles``, ...): English cases with facts only; importance, judges,
  conclusion and violated articles are *not* in the text. The violated articles are
  kept as the criterion ``violated_articles`` (gold for "cluster by violated article").
* sp500-edgar-10k (``jlohding/sp500-edgar-10k``; columns ``cik``, ``date``/
  ``filing_date``, ``item_2``, ``item_3``, ``item_5``, ...): one text per (filing,
  item) for items 2, 3 and 5, kept only when its length is within
  ``[min_chars, max_chars]`` (App. H.3: "within a tractable range").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError
from .corpora import Corpus, strip_item_heading

__all__ = [
    "LMSYS_HUB_ID",
    "ECHR_HUB_ID",
    "SP500_HUB_ID",
    "iter_rows",
    "load_lmsys_chat",
    "load_echr",
    "load_sp500_10k",
]

log = logging.getLogger(__name__)

LMSYS_HUB_ID = "lmsys/lmsys-chat-1m"
ECHR_HUB_ID = "glnmario/ECHR"
SP500_HUB_ID = "jlohding/sp500-edgar-10k"


def _local_rows(path: Path) -> Iterator[dict[str, Any]]:
    files = sorted(p for p in path.rglob("*") if p.suffix in {".jsonl", ".json"}) if path.is_dir() else [path]
    if not files:
        raise InputError(f"no .jsonl or .json files in {path}; write the rows there or pass a hub id")
    for file in files:
        if file.suffix == ".jsonl":
            with file.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)
        else:
            data = json.loads(file.read_text(encoding="utf-8"))
            yield from (data if isinstance(data, list) else [data])


def iter_rows(source: str | Path | None, hub_id: str, split: str = "train") -> Iterator[dict[str, Any]]:
    """Rows from a local directory/file, else streamed from the hub (``datasets`` needed)."""
    if source is not None and Path(source).exists():
        yield from _local_rows(Path(source))
        return
    repo = str(source) if source is not None else hub_id
    if source is not None and ("/" not in repo or repo.startswith((".", "/"))):
        raise InputError(f"{source} is neither an existing local path nor a hub id like {hub_id!r}")
    try:
        import datasets
    except ImportError:
        raise InputError(
            f"loading {repo!r} from the Hugging Face hub needs 'datasets' (pip install datasets) and network "
            "access; offline, pass a local directory of .jsonl rows in the same schema"
        ) from None
    try:
        yield from datasets.load_dataset(repo, split=split, streaming=True)
    except Exception as exc:  # network, gating, missing repo: one clear line
        raise InputError(
            f"could not stream {repo!r} from the Hugging Face hub ({type(exc).__name__}: {exc}); "
            "check network access and the dataset's terms, or pass a local directory"
        ) from exc


# --------------------------------------------------------------------------- LMSYS-Chat-1M


def _flagged(moderation: Any) -> bool:
    for m in moderation or []:
        if isinstance(m, dict) and m.get("flagged"):
            return True
    return False


def format_conversation(conversation: Iterable[dict[str, str]]) -> str:
    """User and assistant turns as one text.

    >>> format_conversation([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    'User: hi\\n\\nAssistant: hello'
    """
    names = {"user": "User", "assistant": "Assistant"}
    return "\n\n".join(f"{names.get(m['role'], m['role'].title())}: {m['content'].strip()}" for m in conversation)


def load_lmsys_chat(
    source: str | Path | None = None,
    *,
    max_rows: int = 500_000,
    language: str = "English",
    max_turns: int = 2,
    limit: int | None = None,
) -> Corpus:
    """LMSYS-Chat-1M one- and two-turn English conversations (App. H.1), user and assistant turns."""
    texts: list[str] = []
    ids: list[str] = []
    models: list[str] = []
    turns: list[str] = []
    for k, row in enumerate(iter_rows(source, LMSYS_HUB_ID)):
        if k >= max_rows or (limit is not None and len(texts) >= limit):
            break
        if row.get("language") != language or not 1 <= int(row.get("turn", 0)) <= max_turns:
            continue
        if row.get("redacted") or _flagged(row.get("openai_moderation")):
            continue
        conv = [m for m in row.get("conversation", []) if m.get("role") in {"user", "assistant"}]
        if not conv or not any(m["role"] == "assistant" and m["content"].strip() for m in conv):
            continue
        texts.append(format_conversation(conv))
        ids.append(f"lmsys:{row.get('conversation_id', k)}")
        models.append(str(row.get("model", "")))
        turns.append(str(row.get("turn")))
    log.info("lmsys-chat: kept %d conversations", len(texts))
    return Corpus(
        "lmsys_chat",
        texts,
        {"model": models, "turns": turns},
        f"https://huggingface.co/datasets/{LMSYS_HUB_ID}",
        "LMSYS-Chat-1M Dataset License Agreement",
        ids=ids,
    )


# --------------------------------------------------------------------------- ECHR


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            try:
                return [str(v) for v in json.loads(value)]
            except json.JSONDecodeError:
                pass
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()] if value else []
    return [str(v) for v in value]


def load_echr(source: str | Path | None = None, *, language: str = "ENG", limit: int | None = None) -> Corpus:
    """ECHR cases, facts only (App. H.2); the violated articles become a criterion, never text."""
    texts: list[str] = []
    ids: list[str] = []
    articles: list[str] = []
    for k, row in enumerate(iter_rows(source, ECHR_HUB_ID)):
        if limit is not None and len(texts) >= limit:
            break
        low = {key.lower(): v for key, v in row.items()}
        if str(low.get("languageisocode", language)).upper() != language:
            continue
        facts = low.get("text") or low.get("facts")
        paragraphs = facts if isinstance(facts, list) else [facts] if facts else []
        body = "\n".join(str(p).strip() for p in paragraphs if str(p).strip())
        if not body:
            continue
        title = str(low.get("docname", "")).strip()
        texts.append(f"{title}\n{body}" if title else body)
        ids.append(f"echr:{low.get('itemid', k)}")
        arts = sorted(set(_as_list(low.get("violated_articles"))), key=lambda a: (len(a), a))
        articles.append(", ".join(arts) if arts else "none")
    return Corpus(
        "echr",
        texts,
        {"violated_articles": articles},
        f"https://huggingface.co/datasets/{ECHR_HUB_ID}",
        "see the dataset card (Chalkidis et al., 2019)",
        ids=ids,
    )


# --------------------------------------------------------------------------- sp500-edgar-10k

SP500_ITEMS = {
    "item_2": "Item 2 - Properties",
    "item_3": "Item 3 - Legal Proceedings",
    "item_5": "Item 5 - Market for Common Equity",
}


def load_sp500_10k(
    source: str | Path | None = None,
    *,
    items: Iterable[str] = tuple(SP500_ITEMS),
    min_chars: int = 500,
    max_chars: int = 12_000,
    limit: int | None = None,
) -> Corpus:
    """sp500-edgar-10k items 2, 3 and 5, one text per (filing, item), length-filtered (App. H.3)."""
    items = list(items)
    texts: list[str] = []
    ids: list[str] = []
    kinds: list[str] = []
    years: list[str] = []
    for k, row in enumerate(iter_rows(source, SP500_HUB_ID)):
        if limit is not None and len(texts) >= limit:
            break
        date = str(row.get("date") or row.get("filing_date") or "")
        for item in items:
            body = strip_item_heading(str(row.get(item) or ""))
            if not min_chars <= len(body) <= max_chars:
                continue
            texts.append(body)
            ids.append(f"sp500:{row.get('cik', k)}:{date}:{item}")
            kinds.append(SP500_ITEMS.get(item, item))
            years.append(date[:4] or "unknown")
    return Corpus(
        "sp500_10k",
        texts,
        {"item_type": kinds, "year": years},
        f"https://huggingface.co/datasets/{SP500_HUB_ID}",
        "MIT (dataset card); the filings are public SEC documents",
        ids=ids,
    )

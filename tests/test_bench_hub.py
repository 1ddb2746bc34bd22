"""Loaders for the paper's hub corpora, on tiny local files in the hub schema (no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster_r1.bench.hub import load_echr, load_lmsys_chat, load_sp500_10k
from cluster_r1.errors import InputError


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "part-0.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _conv(*turns: str) -> list[dict]:
    return [{"role": "user" if k % 2 == 0 else "assistant", "content": t} for k, t in enumerate(turns)]


def test_lmsys_filters(tmp_path: Path) -> None:
    ok = {"flagged": False}
    rows = [
        {"conversation_id": "a", "model": "m", "turn": 1, "language": "English", "conversation": _conv("hi", "hello"), "openai_moderation": [ok, ok], "redacted": False},
        {"conversation_id": "b", "model": "m", "turn": 2, "language": "English", "conversation": _conv("q1", "a1", "q2", "a2"), "openai_moderation": [ok] * 4, "redacted": False},
        {"conversation_id": "c", "model": "m", "turn": 3, "language": "English", "conversation": _conv("1", "2", "3", "4", "5", "6"), "openai_moderation": [ok] * 6, "redacted": False},
        {"conversation_id": "d", "model": "m", "turn": 1, "language": "German", "conversation": _conv("hallo", "hallo"), "openai_moderation": [ok] * 2, "redacted": False},
        {"conversation_id": "e", "model": "m", "turn": 1, "language": "English", "conversation": _conv("bad", "no"), "openai_moderation": [{"flagged": True}, ok], "redacted": False},
        {"conversation_id": "f", "model": "m", "turn": 1, "language": "English", "conversation": _conv("x", "y"), "openai_moderation": [ok, ok], "redacted": True},
    ]  # fmt: skip
    corpus = load_lmsys_chat(_jsonl(tmp_path / "lmsys", rows))
    assert corpus.ids == ["lmsys:a", "lmsys:b"]
    assert corpus.texts[0] == "User: hi\n\nAssistant: hello"
    assert "Assistant: a2" in corpus.texts[1]  # assistant turns are kept
    assert len(load_lmsys_chat(tmp_path / "lmsys", max_rows=1)) == 1


def test_echr_keeps_facts_only(tmp_path: Path) -> None:
    rows = [
        {"itemid": "001-1", "languageisocode": "ENG", "docname": "CASE OF A v. B", "text": ["1. The applicant was born.", "2. He was arrested."], "importance": 4, "judges": "Judge X", "conclusion": "Violation of Art. 5", "violated_articles": ["5"]},
        {"itemid": "001-2", "languageisocode": "FRE", "docname": "AFFAIRE C", "text": ["1. Le requérant."], "importance": 2, "judges": "", "conclusion": "", "violated_articles": []},
        {"itemid": "001-3", "languageisocode": "ENG", "docname": "CASE OF D v. E", "text": ["1. Facts."], "importance": 1, "judges": "Judge Y", "conclusion": "No violation", "violated_articles": []},
    ]  # fmt: skip
    corpus = load_echr(_jsonl(tmp_path / "echr", rows))
    assert corpus.ids == ["echr:001-1", "echr:001-3"]
    text = corpus.texts[0]
    assert "He was arrested." in text and "CASE OF A v. B" in text
    for leaked in ("Judge X", "Violation of Art", "importance"):
        assert leaked not in text
    assert corpus.labels("violated_articles") == ["5", "none"]


def test_sp500_items_and_length_filter(tmp_path: Path) -> None:
    long2 = "ITEM 2.\nPROPERTIES\n" + "We own plants in Ohio. " * 40
    rows = [
        {"cik": "1", "date": "2015-02-01", "item_1": "Business " * 200, "item_2": long2, "item_3": "None.", "item_5": "Our stock trades on NYSE. " * 30},
        {"cik": "2", "date": "2016-02-01", "item_2": "x" * 50_000, "item_3": "Lawsuits are pending. " * 30, "item_5": ""},
    ]  # fmt: skip
    corpus = load_sp500_10k(_jsonl(tmp_path / "sp500", rows))
    assert corpus.ids == ["sp500:1:2015-02-01:item_2", "sp500:1:2015-02-01:item_5", "sp500:2:2016-02-01:item_3"]
    assert corpus.texts[0].startswith("We own plants")  # heading stripped
    assert corpus.labels("item_type")[2] == "Item 3 - Legal Proceedings"


def test_missing_local_source_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .jsonl or .json files"):
        load_echr(tmp_path / "empty")
    with pytest.raises(InputError, match="neither an existing local path nor a hub id"):
        load_echr(tmp_path / "missing")

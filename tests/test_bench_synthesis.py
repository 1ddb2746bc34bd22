"""The multi-agent synthesis pipeline with scripted backends (offline)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from cluster_r1.backends.base import Message
from cluster_r1.backends.scripted import ScriptedBackend
from cluster_r1.bench.corpora import DATA_DIR_ENV
from cluster_r1.bench.synthesis import SynthesisPipeline
from cluster_r1.errors import AnswerError, InputError

DATA = Path(os.environ.get(DATA_DIR_ENV) or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(), reason=f"no shared data under {DATA}")
DOCS = ["the cat sleeps", "a dog barks", "the cat eats", "a parrot talks"]
GEN = json.dumps([{"instruction": "Cluster by animal", "clusters": [{"name": "cats"}, {"name": "dogs"}]}])
REF = json.dumps(
    {"instruction": "Cluster by animal kind", "clusters": [
        {"name": "Cats", "description": "felines"}, {"name": "Dogs", "description": "canines"},
        {"name": "Other", "description": "any other animal"}]}
)  # fmt: skip


def _labeler(disagree_on: str = "") -> object:
    def reply(messages: Sequence[Message]) -> str:
        doc = messages[-1]["content"].rsplit("Document:\n", 1)[1]
        name = "Cats" if "cat" in doc else "Dogs" if "dog" in doc else "Other"
        if disagree_on and disagree_on in doc:
            name = "Dogs"
        return f'<think>hmm</think>{{"cluster": "{name}"}}'

    return reply


def test_pipeline_consensus_and_rates(tmp_path: Path) -> None:
    gen = ScriptedBackend([GEN, REF])
    a = ScriptedBackend([_labeler()] * 4)
    b = ScriptedBackend([_labeler(disagree_on="parrot")] * 4)
    pipe = SynthesisPipeline(gen, [a, b], checkpoint=tmp_path / "ck.jsonl")
    result = pipe.run(DOCS)
    assert [t.instruction for t in result.taxonomies] == ["Cluster by animal kind"]
    assert result.labels == [["Cats", "Dogs", "Cats", None]]
    assert result.agreement == [0.75] and result.discard == [0.25]
    assert "mutually exclusive" in gen.history[1][0]["content"]

    # resumable: a second run replays the checkpoint and makes no call at all
    again = SynthesisPipeline(
        ScriptedBackend(), [ScriptedBackend(), ScriptedBackend()], checkpoint=tmp_path / "ck.jsonl"
    )
    assert again.run(DOCS).labels == result.labels


def test_unparseable_generation_and_bad_setup() -> None:
    with pytest.raises(AnswerError, match="no usable taxonomy"):
        SynthesisPipeline(ScriptedBackend(["no json here"]), [ScriptedBackend(), ScriptedBackend()]).run(DOCS)
    with pytest.raises(InputError, match="exactly two"):
        SynthesisPipeline(ScriptedBackend(), [ScriptedBackend()])


def test_labelling_agents_sample_with_their_own_seeds() -> None:
    a = ScriptedBackend([_labeler()] * 4)
    pipe = SynthesisPipeline(ScriptedBackend([GEN, REF]), [a, a], label_temperature=0.7)
    pipe.run(DOCS[:2])
    assert [k["temperature"] for k in a.kwargs] == [0.7] * 4
    assert [k["seed"] for k in a.kwargs] == [1000, 1001, 1000, 1001]
    assert {k["max_tokens"] for k in a.kwargs} == {128}


@needs_data
def test_bench_synth_cli_over_http(fake_server, tmp_path: Path) -> None:
    from test_cli import run_cli, server_args

    gen = json.dumps([{"instruction": "Cluster by style", "clusters": [{"name": "Verse"}, {"name": "Prose"}]}])
    ref = json.dumps({"instruction": "Cluster by writing style", "clusters": [
        {"name": "Verse", "description": "poems, raps"}, {"name": "Prose", "description": "everything else"}]})  # fmt: skip
    # 4 documents x 2 labellers: they agree on 3 documents
    labels = ['{"cluster": "Verse"}', '{"cluster": "Verse"}', '{"cluster": "Prose"}', '{"cluster": "Prose"}',
              '{"cluster": "Verse"}', '{"cluster": "Prose"}', "no idea", "no idea"]  # fmt: skip
    fake_server.enqueue(gen, ref, *labels)
    out = tmp_path / "synth"
    proc = run_cli("bench", "synth", "--corpus", "goalex", "--n-docs", "4", "--sample-size", "2",
                   "--n-instructions", "1", "--out", str(out), *server_args(fake_server)[:4])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "synthesis.json").read_text())
    task = record["tasks"][0]
    assert task["instruction"] == "Cluster by writing style"
    assert task["labels"] == ["Verse", "Prose", None, None]
    assert task["agreement"] == 0.5 and task["discard"] == 0.5
    assert set(task["v_vs_gold"]) == {"topic", "language", "style"}
    assert record["label_temperature"] == 0.7 and len(record["documents"]) == 4
    assert "50 %" in (out / "synthesis.md").read_text()
    assert len(fake_server.requests) == 10

"""The multi-agent synthesis pipeline with scripted backends (offline)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from cluster_r1.backends.base import Message
from cluster_r1.backends.scripted import ScriptedBackend
from cluster_r1.bench.synthesis import SynthesisPipeline
from cluster_r1.errors import AnswerError, InputError

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

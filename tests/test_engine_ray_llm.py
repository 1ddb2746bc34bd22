"""``--ray-llm vllm:MODEL``: the request shaping for Ray Data's vLLM processor and the checks around it, on CPU
(vLLM itself runs on GPU nodes only; the batching through a real Ray Dataset is in test_engine_ray.py)."""

from __future__ import annotations

import sys

import pytest

from cluster_r1.constraints import Choice, Grammar, JSONSchema, Regex, placements
from cluster_r1.engine.ray_llm import DEFAULT_MAX_TOKENS, completion_of, parse_ray_llm, request_row
from cluster_r1.errors import BackendError, ConfigError
from test_cli import run_cli

MESSAGES = [{"role": "system", "content": "You cluster texts."}, {"role": "user", "content": "1. a\n2. b"}]


def test_a_call_becomes_a_processor_row_with_vllm_sampling_params() -> None:
    row = request_row(MESSAGES, temperature=0.7, max_tokens=300, seed=5)
    assert row == {"messages": MESSAGES, "sampling_params": {"temperature": 0.7, "max_tokens": 300, "seed": 5}}
    assert row["messages"] is not MESSAGES, "the caller's list is not shared with the dataset"
    unbounded = request_row(MESSAGES)["sampling_params"]
    assert unbounded == {"temperature": 0.0, "max_tokens": DEFAULT_MAX_TOKENS}, "no seed unless asked; a bound"


@pytest.mark.parametrize(("constraint", "expected"), [
    (Choice(("billing", "login")), {"choice": ["billing", "login"]}),
    (Regex(r"\d+"), {"regex": r"\d+"}),
    (JSONSchema({"type": "object"}), {"json": {"type": "object"}}),
    (Grammar('root ::= "a"'), {"grammar": 'root ::= "a"'}),
])
def test_constraints_become_vllm_structured_outputs(constraint, expected) -> None:
    # what Ray's vLLM stage turns into vllm.sampling_params.StructuredOutputsParams(**...)
    assert request_row(MESSAGES, constraint=constraint)["sampling_params"]["structured_outputs"] == expected


def test_the_projects_own_grammars_go_through_unchanged() -> None:
    grammar = placements([3, 4], 2)
    assert request_row(MESSAGES, constraint=grammar)["sampling_params"]["structured_outputs"] == {
        "grammar": grammar.gbnf}


def test_an_output_row_becomes_a_completion() -> None:
    c = completion_of({"pos": 0, "generated_text": "1: 2", "num_input_tokens": 40, "num_generated_tokens": 3},
                      "m", constrained=True, seconds=0.5)
    assert (c.text, c.prompt_tokens, c.completion_tokens, c.model, c.constraint, c.seconds) == (
        "1: 2", 40, 3, "m", "applied", 0.5)
    assert completion_of({"generated_text": ""}, "m").text == "", "an empty reply is a reply (validated later)"
    with pytest.raises(BackendError, match="without generated_text"):
        completion_of({"pos": 0, "error": "boom"}, "m")


@pytest.mark.parametrize("spec", ["vllm", "vllm:", "sglang:m", "m"])
def test_a_malformed_spec_is_one_line(spec) -> None:
    with pytest.raises(ConfigError, match="KIND:MODEL"):
        parse_ray_llm(spec)
    assert parse_ray_llm("vllm:Qwen/Qwen2.5-7B-Instruct") == ("vllm", "Qwen/Qwen2.5-7B-Instruct")


def test_without_rays_llm_extra_the_processor_says_what_to_install(monkeypatch) -> None:
    pytest.importorskip("ray")
    from cluster_r1.engine.ray_llm import build_vllm_processor

    monkeypatch.setitem(sys.modules, "ray.data.llm", None)  # as on a machine without vLLM and aiohttp
    with pytest.raises(ConfigError, match=r'pip install "ray\[llm\]==2.60.0"'):
        build_vllm_processor("Qwen/Qwen2.5-7B-Instruct")


def test_cli_checks_the_spec_and_the_engine(tmp_path) -> None:
    corpus = tmp_path / "t.txt"
    corpus.write_text("card lost\ncard stolen\ntransfer failed\n")
    bad = run_cli("cluster", str(corpus), "-i", "by issue", "--ray-llm", "vllm")
    assert bad.returncode == 2 and "KIND:MODEL" in bad.stderr
    local = run_cli("cluster", str(corpus), "-i", "by issue", "--ray-llm", "vllm:m")
    assert local.returncode != 0 and "add --engine ray" in local.stderr
    assert len(local.stderr.strip().splitlines()) == 1, local.stderr

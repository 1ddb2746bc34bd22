"""Each server's constrained-decoding dialect, against a local HTTP server that checks the payload as that server
documents it (backends/dialects.py cites the source of every field), plus detection and rejection."""

from __future__ import annotations

import json

import pytest

from cluster_r1.agent import ClusteringAgent
from cluster_r1.backends import OpenAICompatBackend
from cluster_r1.backends.dialects import SERVER_KINDS
from cluster_r1.constraints import Choice, Grammar, JSONSchema, Regex, items_answer
from cluster_r1.errors import ConfigError
from fake_openai import FakeOpenAIServer, answer
from gbnf import to_regex
from test_cli import EXAMPLE, check_partition, run_cli, server_args

MSG = [{"role": "user", "content": "pick one"}]
CHOICE = Choice(("poem", "rap"))
SCHEMA = JSONSchema({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                     "additionalProperties": False}, "thing")
REGEX = Regex("(yes|no)")
GRAMMAR = items_answer(3, names=False, max_clusters=2)


def shape(server: FakeOpenAIServer) -> dict:
    """The constraint part of the last request body (everything but the OpenAI basics)."""
    body = dict(server.requests[-1])
    for key in ("model", "messages", "temperature", "max_tokens", "seed"):
        body.pop(key, None)
    return body


def ask(server: FakeOpenAIServer, kind: str, constraint, reply: str = "ok"):
    server.enqueue(reply)
    b = OpenAICompatBackend(base_url=server.base_url, model="local", server_kind=kind, backoff=0.01)
    return b.complete(MSG, constraint=constraint)


# -- what each dialect sends ----------------------------------------------------------------------------------


def test_vllm_structured_outputs(fake_server) -> None:
    ask(fake_server, "vllm", CHOICE)
    assert shape(fake_server) == {"structured_outputs": {"choice": ["poem", "rap"]}}
    ask(fake_server, "vllm", SCHEMA)
    assert shape(fake_server) == {"structured_outputs": {"json": SCHEMA.schema}}
    ask(fake_server, "vllm", REGEX)
    assert shape(fake_server) == {"structured_outputs": {"regex": "(yes|no)"}}
    ask(fake_server, "vllm", GRAMMAR)
    sent = shape(fake_server)["structured_outputs"]["grammar"]
    assert "::=" in sent and to_regex(sent)  # xgrammar reads GBNF when a line holds ::=
    assert not any(k.startswith("guided_") for k in shape(fake_server))


def test_vllm_before_0_10_2_gets_guided_fields() -> None:
    with FakeOpenAIServer(owned_by="vllm", routes={"/version": (200, {"version": "0.9.2"})}) as server:
        ask(server, "auto", CHOICE)
        assert shape(server) == {"guided_choice": ["poem", "rap"]}
    with FakeOpenAIServer(owned_by="vllm", routes={"/version": (200, {"version": "0.12.1"})}) as server:
        ask(server, "auto", CHOICE)
        assert shape(server) == {"structured_outputs": {"choice": ["poem", "rap"]}}


def test_sglang_regex_ebnf_response_format(fake_server) -> None:
    ask(fake_server, "sglang", Choice(("a.b", "c (d)")))
    assert shape(fake_server) == {"regex": "(a\\.b|c \\(d\\))"}
    ask(fake_server, "sglang", SCHEMA)
    assert shape(fake_server) == {"response_format": {"type": "json_schema",
                                                      "json_schema": {"name": "thing", "schema": SCHEMA.schema}}}
    ask(fake_server, "sglang", GRAMMAR)
    assert set(shape(fake_server)) == {"ebnf"}


def test_llama_server_grammar_and_json_schema(fake_server) -> None:
    ask(fake_server, "llamacpp", CHOICE)
    assert shape(fake_server) == {"grammar": 'root ::= "poem" | "rap"'}
    ask(fake_server, "llamacpp", SCHEMA)
    assert shape(fake_server) == {"json_schema": SCHEMA.schema}  # never together with grammar
    ask(fake_server, "llamacpp", GRAMMAR)
    assert set(shape(fake_server)) == {"grammar"}
    assert ask(fake_server, "llamacpp", REGEX).constraint == ""  # no regex field: not sent
    assert shape(fake_server) == {}


def test_llama_cpp_python_grammar_and_json_object(fake_server) -> None:
    ask(fake_server, "llama-cpp-python", CHOICE)
    assert shape(fake_server) == {"grammar": 'root ::= "poem" | "rap"'}
    ask(fake_server, "llama-cpp-python", SCHEMA)
    assert shape(fake_server) == {"response_format": {"type": "json_object", "schema": SCHEMA.schema}}


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_json_only_servers_get_choices_and_grammars_as_json(fake_server, kind) -> None:
    out = ask(fake_server, kind, CHOICE, reply=json.dumps({"choice": "rap"}))
    rf = shape(fake_server)["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"]["properties"]["choice"]["enum"] == ["poem", "rap"]
    assert rf["json_schema"].get("strict") is (True if kind == "openai" else None)
    assert out.text == "rap" and out.constraint == "applied"  # decoded back to the caller's form
    reply = json.dumps({"reasoning": "r", "total_clusters": 2, "assignment": {"1": 1, "2": 2, "3": 1}})
    out = ask(fake_server, kind, GRAMMAR, reply=reply)
    schema = shape(fake_server)["response_format"]["json_schema"]["schema"]
    assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
    assert to_regex(GRAMMAR.gbnf).fullmatch(out.text), out.text
    assert ask(fake_server, kind, REGEX).constraint == ""
    assert ask(fake_server, kind, Grammar('root ::= "x"')).constraint == ""  # no JSON alternative: not sent


def test_none_sends_nothing(fake_server) -> None:
    assert ask(fake_server, "none", CHOICE).constraint == "" and shape(fake_server) == {}


def test_unknown_server_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="--server-kind 'tgi' is not one of"):
        OpenAICompatBackend(base_url="http://127.0.0.1:9/v1", model="m", server_kind="tgi")
    assert set(SERVER_KINDS) == {"auto", "vllm", "sglang", "llamacpp", "llama-cpp-python", "ollama", "openai", "none"}


# -- detection ------------------------------------------------------------------------------------------------

DETECT = [
    ({"owned_by": "vllm"}, "vllm"),
    ({"owned_by": "sglang"}, "sglang"),
    ({"owned_by": "llamacpp"}, "llamacpp"),
    ({"owned_by": "me"}, "llama-cpp-python"),
    ({"owned_by": "system"}, "openai"),
    ({"routes": {"/props": (200, {"default_generation_settings": {}, "build_info": "b1"})}}, "llamacpp"),
    ({"routes": {"/get_server_info": (200, {"version": "0.5", "grammar_backend": "xgrammar"})}}, "sglang"),
    ({"owned_by": "library", "routes": {"/api/version": (200, {"version": "0.6.1"})}}, "ollama"),
    ({"routes": {"/openapi.json": (200, {"info": {"title": "\U0001f999 llama.cpp Python API"}})}}, "llama-cpp-python"),
    ({"routes": {"/version": (200, {"version": "0.11.0"})}}, "vllm"),
    ({}, "none"),
]


@pytest.mark.parametrize("config,kind", DETECT, ids=[k for _, k in DETECT][:-1] + ["unknown"])
def test_detection(config, kind) -> None:
    with FakeOpenAIServer(**config) as server:
        b = OpenAICompatBackend(base_url=server.base_url, model="local")
        assert b.server_kind == kind
        probes = len(server.gets)
        assert b.server_kind == kind and b.constraint_kinds is not None and len(server.gets) == probes  # detected once


# -- rejection, a model that ignores the constraint, a wrong kind ----------------------------------------------


@pytest.mark.parametrize("status", [400, 422, 500])
def test_a_rejected_constraint_is_asked_once_more_without_it(status) -> None:
    with FakeOpenAIServer(reject_fields=("grammar",), reject_status=status) as server:
        out = ask(server, "llama-cpp-python", CHOICE, reply="rap")
        assert out.text == "rap" and out.constraint.startswith(f"rejected: {status}")
        assert "grammar" in server.requests[0] and "grammar" not in server.requests[1] and len(server.requests) == 2


def test_agent_completes_and_notes_a_rejected_constraint() -> None:
    with FakeOpenAIServer(reject_fields=("grammar",)) as server:
        server.enqueue(answer([[1, 2], [3]], ["a", "b"]))
        b = OpenAICompatBackend(base_url=server.base_url, model="local", server_kind="llama-cpp-python")
        result = ClusteringAgent(b).cluster(["x", "y", "z"], "by topic")
        check = sorted(i for c in result.clusters for i in c.items)
        assert check == [1, 2, 3] and any("rejected a constraint" in n for n in result.notes)


def test_agent_with_a_model_that_ignores_the_constraint() -> None:
    with FakeOpenAIServer() as server:
        server.enqueue(answer([[1, 3], [2]], ["a", "b"]))  # the paper's format, not the items form asked for
        b = OpenAICompatBackend(base_url=server.base_url, model="local", server_kind="vllm")
        result = ClusteringAgent(b).cluster(["x", "y", "z"], "by topic")
        assert result.labels == [1, 2, 1] and not result.salvaged
        assert "structured_outputs" in server.requests[0]
        assert "ITEM: clusterK" in server.requests[0]["messages"][0]["content"]


REPLY = ("<think>\nt\n</think>\n<answer>\nTotal clusters: 2\ncluster1 (fruit)\ncluster2 (car)\n"
         "1: cluster1\n2: cluster2\n3: cluster1\n</answer>")


def test_agent_items_form_becomes_the_paper_format() -> None:
    with FakeOpenAIServer(owned_by="me") as server:
        server.enqueue(REPLY)
        b = OpenAICompatBackend(base_url=server.base_url, model="local")
        agent = ClusteringAgent(b)
        result = agent.cluster(["apple", "car", "pear"], "by topic")
        assert result.labels == [1, 2, 1] and [c.name for c in result.clusters] == ["fruit", "car"]
        assert not result.repaired and result.usage.calls == 1
        assert agent.last_run.answers[0].splitlines()[3] == "cluster1 (fruit): [1, 3]"
        assert any("constrained decoding (llama-cpp-python)" in n for n in result.notes)
        assert to_regex(server.requests[0]["grammar"]).fullmatch(REPLY)  # the grammar sent admits that reply


def test_cli_wrong_server_kind_still_gives_a_complete_result(tmp_path) -> None:
    with FakeOpenAIServer(reject_fields=("ebnf",)) as server:  # told sglang, the server refuses its field
        server.enqueue(answer([list(range(1, 16))], ["all"]))
        proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(server), "--server-kind", "sglang")
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        check_partition(result, 15)
        assert any("rejected a constraint" in n for n in result["notes"])
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", "--server-kind", "tgi", "--base-url", "http://127.0.0.1:9/v1",
                   "--model", "m")
    assert proc.returncode == 2 and "invalid choice: 'tgi'" in proc.stderr


def test_cli_constrain_off_sends_no_constraint(fake_server) -> None:
    fake_server.enqueue(answer([list(range(1, 16))]))
    proc = run_cli("cluster", str(EXAMPLE), "-i", "x", *server_args(fake_server), "--server-kind", "vllm",
                   "--constrain", "off", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "structured_outputs" not in fake_server.requests[0]

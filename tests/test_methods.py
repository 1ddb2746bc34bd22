"""One method registry: the API, the CLI and the evaluation harness resolve the same names by the same rules."""

from __future__ import annotations

import json

import pytest

from cluster_r1.api import METHODS, cluster_texts
from cluster_r1.errors import ConfigError
from cluster_r1.evaluation import METHOD_NAMES, make_method
from cluster_r1.methods import REGISTRY, Choice, methods, resolve
from test_cli import EXAMPLE, run_cli

TEXTS = ["I was charged twice", "refund not received", "cannot log in", "password reset email never came"]


def test_every_caller_takes_its_names_from_the_registry() -> None:
    assert METHODS == tuple(m.name for m in methods("api"))
    assert METHOD_NAMES == tuple(m.name for m in methods("eval"))
    assert set(METHODS) | set(METHOD_NAMES) == set(REGISTRY)
    assert {"agent", "embed", "assist"} <= set(METHODS) & set(METHOD_NAMES), "the shared names mean the same"


@pytest.mark.parametrize(("args", "want"), [
    (dict(method="auto"), Choice("auto")),
    (dict(method="embed"), Choice("embed")),
    (dict(method="auto", assist="categories", server=True), Choice("embed", "categories")),
    (dict(method="assist", server=True), Choice("embed", "categories")),
    (dict(method="llm-names", server=True), Choice("embed", None, True)),
    (dict(method="embed", categories=["A", "B"], server=True), Choice("embed", "categories", False, ["A", "B"])),
])
def test_resolve(args: dict, want: Choice) -> None:
    assert resolve(**args) == want


@pytest.mark.parametrize(("args", "message"), [
    (dict(method="agent", assist="categories", server=True), "belong to --method embed"),
    (dict(method="embed", llm_names=True, server=False), "need a model server"),
    (dict(method="assist-answers", categories=["A", "B"], server=True), "not answers"),
    (dict(method="kmeans"), "unknown method 'kmeans'"),
    (dict(method="auto", scope="eval"), "unknown method 'auto'"),
])
def test_resolve_refuses(args: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(**args)


def test_the_api_applies_the_rules() -> None:
    with pytest.raises(ConfigError, match="need a model server"):
        cluster_texts(TEXTS, "by root cause", method="assist")
    with pytest.raises(ConfigError, match="unknown method"):
        cluster_texts(TEXTS, "by root cause", method="kmeans")
    with pytest.raises(ConfigError, match="needs a model server"):
        make_method("assist")
    assert make_method("kmeans").name.endswith("(gold k)") and not make_method("embed").name.endswith("(gold k)")


def test_the_cli_takes_a_registry_name(fake_server) -> None:
    fake_server.enqueue(*["Name: Billing\nDescription: money"] * 20)
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "--method", "llm-names",
                   "--base-url", fake_server.base_url, "--model", "local", "--max-retries", "0")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["method"].startswith("embed") and fake_server.requests, "embed, named by the model"
    refused = run_cli("cluster", str(EXAMPLE), "-i", "x", "--method", "assist")
    assert refused.returncode == 1 and "need a model server" in refused.stderr


def test_a_misspelled_option_is_one_error_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown embedding option.* max_ks: the embedding method takes min_k, max_k"):
        cluster_texts(TEXTS, "by root cause", method="embed", embed_options={"max_ks": 3})
    with pytest.raises(ConfigError, match="unknown agent option.* max_reask: the agent takes prompt, max_reasks"):
        cluster_texts(TEXTS, "by root cause", method="embed", agent_options={"max_reask": 1})

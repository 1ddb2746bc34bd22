"""Each server's own dialect of constrained decoding, and how to tell which server answers.

A :mod:`cluster_r1.constraints` constraint becomes request-body fields of the server's
chat-completions endpoint (sent through the ``openai`` client's ``extra_body``). The
field names, read from each server's source:

- **vLLM** >= 0.10.2 (``vllm/entrypoints/openai/protocol.py`` ``ChatCompletionRequest.structured_outputs``,
  ``vllm/sampling_params.py`` ``StructuredOutputsParams``): ``{"structured_outputs": {"choice": [...]}}``,
  ``{"json": schema}``, ``{"regex": "..."}``, ``{"grammar": "<GBNF>"}`` (xgrammar reads GBNF when a
  line holds ``::=``). The older ``guided_choice`` / ``guided_json`` / ``guided_regex`` /
  ``guided_grammar`` fields were removed in 0.12 and are silently ignored there, so they are
  sent only to a server whose ``GET /version`` is older than 0.10.2.
- **SGLang** (``python/sglang/srt/entrypoints/openai/protocol.py`` ``ChatCompletionRequest``):
  top-level ``regex`` and ``ebnf`` (xgrammar EBNF, GBNF-compatible), and ``response_format``
  ``{"type": "json_schema", "json_schema": {"name", "schema"}}``; no choice field, so a choice
  is a regex alternation.
- **llama.cpp llama-server** (``tools/server/server-common.cpp`` ``oaicompat_chat_params_parse``):
  ``grammar`` (GBNF) and top-level ``json_schema`` (an object); a choice is a GBNF alternation;
  no regex. (Not both ``grammar`` and ``json_schema`` at once.)
- **llama-cpp-python server** (``llama_cpp/server/types.py`` ``CreateChatCompletionRequest``):
  ``grammar`` (GBNF) and ``response_format`` ``{"type": "json_object", "schema": ...}``
  (``json_schema`` is not one of its types). An invalid GBNF crashes this server
  (the sampler is not checked), so every grammar built here is tested for syntax.
- **Ollama** (``openai/openai.go``): ``response_format`` ``{"type": "json_schema", "json_schema":
  {"schema": ...}}``, turned into its native ``format``; no grammar, regex or choice.
- **OpenAI**: ``response_format`` ``{"type": "json_schema", "json_schema": {"name", "schema",
  "strict": true}}`` (an object root, every property required, no additional properties).

Servers that constrain JSON only get a :class:`~cluster_r1.constraints.Choice` as an object with
one ``enum`` field and a :class:`~cluster_r1.constraints.Grammar` as its JSON alternative; the
reply is decoded back to the form the caller asked for (:func:`decode`).

Detection (:func:`detect`) reads ``owned_by`` in ``GET /v1/models`` (``vllm``, ``sglang``,
``llamacpp``, ``me`` for llama-cpp-python, ``openai``/``system``), then probes ``/props``
(llama.cpp), ``/get_server_info`` (SGLang), ``/version`` (vLLM), ``/api/version`` (Ollama) and the
title of ``/openapi.json`` (llama-cpp-python). An unknown server gets no constraints.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..constraints import Choice, Constraint, Grammar, JSONSchema, Regex, decode_json_reply, gbnf_string

__all__ = ["SERVER_KINDS", "Dialect", "DIALECTS", "get_dialect", "detect", "decode", "regex_escape"]

log = logging.getLogger(__name__)

SERVER_KINDS = ("auto", "vllm", "sglang", "llamacpp", "llama-cpp-python", "ollama", "openai", "none")

_META = set(".^$*+?{}[]\\|()/")


def regex_escape(text: str) -> str:
    """Escape regex metacharacters only (xgrammar and outlines reject Python's ``\\ `` for a space).

    >>> regex_escape("a.b (c)")
    'a\\\\.b \\\\(c\\\\)'
    """
    return "".join("\\" + ch if ch in _META else ch for ch in text)


def _choice_grammar(options: tuple[str, ...]) -> str:
    return "root ::= " + " | ".join(gbnf_string(o) for o in options)


def _choice_schema(options: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "properties": {"choice": {"type": "string", "enum": list(options)}},
            "required": ["choice"], "additionalProperties": False}


@dataclass(frozen=True)
class Dialect:
    """A server kind: the constraint kinds it honours and how each is written in a request body."""

    name: str
    kinds: frozenset[str]
    legacy: bool = False  # vLLM before 0.10.2: guided_* fields

    def fields(self, constraint: Constraint) -> tuple[dict[str, Any], bool] | None:
        """(extra body fields, answered in JSON instead of the caller's form) or None when not expressible."""
        n = self.name
        if n == "none" or not self.kinds:
            return None
        if n == "vllm":
            key = {Choice: "choice", Regex: "regex", JSONSchema: "json", Grammar: "grammar"}[type(constraint)]
            value = {Choice: lambda c: list(c.options), Regex: lambda c: c.pattern, JSONSchema: lambda c: c.schema,
                     Grammar: lambda c: c.gbnf}[type(constraint)](constraint)
            if self.legacy:
                return {f"guided_{key}": value}, False
            return {"structured_outputs": {key: value}}, False
        if n == "sglang":
            if isinstance(constraint, Choice):
                return {"regex": "(" + "|".join(regex_escape(o) for o in constraint.options) + ")"}, False
            if isinstance(constraint, Regex):
                return {"regex": constraint.pattern}, False
            if isinstance(constraint, JSONSchema):
                return {"response_format": {"type": "json_schema",
                                            "json_schema": {"name": constraint.name, "schema": constraint.schema}}}, False
            return {"ebnf": constraint.gbnf}, False
        if n in ("llamacpp", "llama-cpp-python"):
            if isinstance(constraint, Choice):
                return {"grammar": _choice_grammar(constraint.options)}, False
            if isinstance(constraint, Grammar):
                return {"grammar": constraint.gbnf}, False
            if isinstance(constraint, JSONSchema):
                if n == "llamacpp":
                    return {"json_schema": constraint.schema}, False
                return {"response_format": {"type": "json_object", "schema": constraint.schema}}, False
            return None  # no regex field
        if n in ("ollama", "openai"):
            if isinstance(constraint, Regex):
                return None
            if isinstance(constraint, Grammar) and constraint.schema is None:
                return None
            schema = (_choice_schema(constraint.options) if isinstance(constraint, Choice)
                      else constraint.schema if isinstance(constraint, Grammar) else constraint.schema)
            wrapper: dict[str, Any] = {"name": getattr(constraint, "name", "answer"), "schema": schema}
            if n == "openai":
                wrapper["strict"] = True
            via_json = not isinstance(constraint, JSONSchema)
            return {"response_format": {"type": "json_schema", "json_schema": wrapper}}, via_json
        return None


DIALECTS: dict[str, Dialect] = {
    "vllm": Dialect("vllm", frozenset({"choice", "regex", "json", "grammar"})),
    "sglang": Dialect("sglang", frozenset({"choice", "regex", "json", "grammar"})),
    "llamacpp": Dialect("llamacpp", frozenset({"choice", "json", "grammar"})),
    "llama-cpp-python": Dialect("llama-cpp-python", frozenset({"choice", "json", "grammar"})),
    "ollama": Dialect("ollama", frozenset({"choice", "json"})),
    "openai": Dialect("openai", frozenset({"choice", "json"})),
    "none": Dialect("none", frozenset()),
}


def get_dialect(kind: str, *, legacy: bool = False) -> Dialect:
    if kind not in DIALECTS:
        raise ValueError(f"unknown server kind {kind!r}; choose one of {', '.join(SERVER_KINDS)}")
    d = DIALECTS[kind]
    return Dialect(d.name, d.kinds, legacy=True) if legacy and kind == "vllm" else d


def decode(constraint: Constraint, via_json: bool, text: str) -> str:
    """The reply in the caller's form: JSON answers to a choice or a grammar are decoded back."""
    if not via_json or isinstance(constraint, JSONSchema):
        return text
    if isinstance(constraint, Choice):
        try:
            obj = json.loads(text)
        except ValueError:
            return text
        value = obj.get("choice") if isinstance(obj, dict) else None
        return value if isinstance(value, str) else text
    decoded = decode_json_reply(constraint, text) if isinstance(constraint, Grammar) else None
    return decoded if decoded else text


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits[:6]))
    return tuple(out)


Probe = Callable[[str], tuple[int, Any, dict[str, str]]]


def detect(base_url: str, get: Probe) -> tuple[str, bool]:
    """(server kind, vLLM legacy fields) for the server at ``base_url``; ``get(url)`` -> (status, parsed JSON or
    text, lower-cased headers), raising nothing. Unknown servers are ``"none"``."""
    parts = urlsplit(base_url)
    if (parts.hostname or "").endswith("api.openai.com"):
        return "openai", False
    root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url

    def vllm() -> tuple[str, bool]:
        status, body, _ = get(root + "/version")
        version = body.get("version") if status == 200 and isinstance(body, dict) else None
        legacy = isinstance(version, str) and bool(_version_tuple(version)) and _version_tuple(version) < (0, 10, 2)
        return "vllm", legacy

    status, body, headers = get(base_url + "/models")
    owners = set()
    if status == 200 and isinstance(body, dict) and isinstance(body.get("data"), list):
        owners = {str(m.get("owned_by", "")) for m in body["data"] if isinstance(m, dict)}
    if "vllm" in owners:
        return vllm()
    if "sglang" in owners:
        return "sglang", False
    if "llamacpp" in owners or headers.get("server", "").startswith("llama.cpp"):
        return "llamacpp", False
    if "me" in owners:
        return "llama-cpp-python", False
    if owners & {"openai", "system", "openai-internal"}:
        return "openai", False
    status, body, headers = get(root + "/props")
    if status == 200 and isinstance(body, dict) and "default_generation_settings" in body:
        return "llamacpp", False
    status, body, _ = get(root + "/get_server_info")
    if status == 200 and isinstance(body, dict) and "grammar_backend" in body:
        return "sglang", False
    status, body, _ = get(root + "/api/version")
    if status == 200 and isinstance(body, dict) and "version" in body:
        return "ollama", False
    status, body, _ = get(root + "/openapi.json")
    title = body.get("info", {}).get("title", "") if status == 200 and isinstance(body, dict) else ""
    if isinstance(title, str) and "llama.cpp Python" in title:
        return "llama-cpp-python", False
    status, body, _ = get(root + "/version")
    if status == 200 and isinstance(body, dict) and isinstance(body.get("version"), str) and set(body) == {"version"}:
        return vllm()
    return "none", False

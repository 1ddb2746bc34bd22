"""The paper's multi-agent data synthesis (§4.1, App. B), over any :class:`~cluster_r1.backends.Backend`.

1. *generation agent*: from a sample of documents, propose clustering instructions
   with candidate clusters (``SYNTH_GENERATE``);
2. *refinement agent*: rewrite each candidate taxonomy to be mutually exclusive and
   collectively exhaustive, every cluster with a name and a one-line description
   (``SYNTH_REFINE``);
3. *labelling*: two independent labelling agents assign every document to one
   refined cluster (``SYNTH_LABEL``); only consensus labels are kept, conflicts and
   unparseable answers are discarded. Agreement and discard rates are reported.

Every agent reply is appended to a JSONL checkpoint keyed by stage and input, so an
interrupted run resumes without repeating calls. The paper used GPT-OSS-20B for all
agents, with light human rewriting between stages; that rewriting is not automated.
The exact prompts of the paper's Figures 7-9 are not in its text; these templates
follow their description.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.base import Backend, Message, generate
from ..constraints import JSONSchema
from ..errors import AnswerError, InputError
from ..prompts import SYNTH_GENERATE, SYNTH_LABEL, SYNTH_REFINE, neutralise, text_block
from ..reading import find_json

__all__ = ["TEMPLATES", "Taxonomy", "SynthesisResult", "SynthesisPipeline"]

log = logging.getLogger(__name__)


TEMPLATES = {"generate": SYNTH_GENERATE, "refine": SYNTH_REFINE, "label": SYNTH_LABEL}

_CLUSTERS = {"type": "array", "minItems": 2, "items": {
    "type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"}},
    "required": ["name", "description"], "additionalProperties": False}}
#: What the refinement agent writes (and each item the generation agent writes).
_TAXONOMY = {"type": "object", "properties": {"instruction": {"type": "string"}, "clusters": _CLUSTERS},
             "required": ["instruction", "clusters"], "additionalProperties": False}
#: The generation agent's reply: an object root, as every JSON-constraining server accepts.
_GENERATED = {"type": "object", "properties": {"taxonomies": {"type": "array", "minItems": 1, "items": _TAXONOMY}},
              "required": ["taxonomies"], "additionalProperties": False}


def _parse_json(text: str) -> Any:
    """The reply's first JSON object or array (bounded: :func:`cluster_r1.reading.find_json`); ValueError if none."""
    value = find_json(text)
    if value is None:
        raise ValueError("no JSON in the reply")
    return value


def _key(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest()[:16]


@dataclass
class Taxonomy:
    """An instruction with named, described clusters."""

    instruction: str
    clusters: list[dict[str, str]]

    @classmethod
    def from_obj(cls, obj: Any) -> Taxonomy:
        if not isinstance(obj, dict) or not str(obj.get("instruction", "")).strip():
            raise ValueError("expected an object with an instruction")
        clusters = [
            {"name": str(c["name"]).strip(), "description": str(c.get("description", "")).strip()}
            for c in obj.get("clusters", [])
            if isinstance(c, dict) and str(c.get("name", "")).strip()
        ]
        names = [c["name"].lower() for c in clusters]
        if len(clusters) < 2 or len(set(names)) != len(names):
            raise ValueError("a taxonomy needs at least two clusters with distinct names")
        return cls(str(obj["instruction"]).strip(), clusters)

    def listing(self) -> str:
        return "\n".join(f"- {neutralise(c['name'])}: {neutralise(c['description'])}" for c in self.clusters)


@dataclass
class SynthesisResult:
    """Refined taxonomies, consensus labels (None = discarded) and the rates."""

    taxonomies: list[Taxonomy]
    labels: list[list[str | None]]
    agreement: list[float] = field(default_factory=list)
    discard: list[float] = field(default_factory=list)


class SynthesisPipeline:
    """generation -> refinement -> two labelling agents with consensus; resumable via ``checkpoint``."""

    def __init__(
        self,
        generator: Backend,
        labelers: Sequence[Backend],
        *,
        refiner: Backend | None = None,
        checkpoint: str | Path | None = None,
        temperature: float = 0.0,
        label_temperature: float | None = None,
        max_tokens: int = 2048,
        label_max_tokens: int = 128,
    ) -> None:
        if len(labelers) != 2:
            raise InputError(f"consensus labelling needs exactly two labelling agents, got {len(labelers)}")
        self.generator = generator
        self.refiner = refiner or generator
        self.labelers = list(labelers)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.temperature = temperature
        # Two labelling agents on one model at temperature 0 would agree by construction; with the same
        # model for both, give them a temperature: each agent then samples with its own seed.
        self.label_temperature = temperature if label_temperature is None else label_temperature
        self.max_tokens, self.label_max_tokens = max_tokens, label_max_tokens
        self._done: dict[str, str] = {}
        if self.checkpoint is not None and self.checkpoint.is_file():
            for line in self.checkpoint.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self._done[rec["key"]] = rec["reply"]
            log.info("synthesis: resuming with %d cached replies from %s", len(self._done), self.checkpoint)

    def _ask(self, backend: Backend, stage: str, prompt: str, agent: int = 0, constraint: Any = None) -> str:
        key = _key(stage, str(agent), prompt)
        if key in self._done:
            return self._done[key]
        messages: list[Message] = [{"role": "user", "content": prompt}]
        if stage == "label":
            reply = generate(backend, messages, temperature=self.label_temperature, max_tokens=self.label_max_tokens,
                             seed=1000 + agent, constraint=constraint).text
        else:
            reply = generate(backend, messages, temperature=self.temperature, max_tokens=self.max_tokens,
                             constraint=constraint).text
        self._done[key] = reply
        if self.checkpoint is not None:
            self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            with self.checkpoint.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"key": key, "stage": stage, "agent": agent, "reply": reply}) + "\n")
        return reply

    def generate(self, sample: Sequence[str], n_instructions: int = 3) -> list[Taxonomy]:
        docs = "\n".join(text_block(i, t) for i, t in enumerate(sample, start=1))
        prompt = SYNTH_GENERATE.format(n_docs=len(sample), n_instructions=n_instructions, documents=docs)
        reply = self._ask(self.generator, "generate", prompt, constraint=JSONSchema(_GENERATED, "taxonomies"))
        try:
            obj = _parse_json(reply)
            if isinstance(obj, dict) and isinstance(obj.get("taxonomies"), list):
                obj = obj["taxonomies"]  # the constrained shape
            return [Taxonomy.from_obj(o) for o in (obj if isinstance(obj, list) else [obj])]
        except (ValueError, KeyError, TypeError) as exc:
            raise AnswerError(f"the generation agent gave no usable taxonomy ({exc})", [reply]) from None

    def refine(self, taxonomy: Taxonomy) -> Taxonomy:
        prompt = SYNTH_REFINE.format(instruction=taxonomy.instruction, clusters=taxonomy.listing())
        reply = self._ask(self.refiner, "refine", prompt, constraint=JSONSchema(_TAXONOMY, "taxonomy"))
        try:
            return Taxonomy.from_obj(_parse_json(reply))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("refinement failed (%s); keeping the generated taxonomy", exc)
            return taxonomy

    def _label_one(self, taxonomy: Taxonomy, document: str, agent: int) -> str | None:
        prompt = SYNTH_LABEL.format(
            instruction=neutralise(taxonomy.instruction), clusters=taxonomy.listing(), document=text_block(None, document)
        )
        names = {c["name"].lower(): c["name"] for c in taxonomy.clusters}
        label = JSONSchema({"type": "object", "properties": {"cluster": {"type": "string", "enum": list(names.values())}},
                            "required": ["cluster"], "additionalProperties": False}, "label")
        reply = self._ask(self.labelers[agent], "label", prompt, agent, constraint=label)
        try:
            obj = _parse_json(reply)
            return names.get(str(obj.get("cluster", "")).strip().lower()) if isinstance(obj, dict) else None
        except ValueError:
            return None

    def label(self, taxonomy: Taxonomy, documents: Sequence[str]) -> tuple[list[str | None], float, float]:
        """Consensus labels (None where the agents disagree or fail), agreement rate, discard rate."""
        out: list[str | None] = []
        agree = 0
        for doc in documents:
            a, b = self._label_one(taxonomy, doc, 0), self._label_one(taxonomy, doc, 1)
            keep = a if a is not None and a == b else None
            agree += keep is not None
            out.append(keep)
        n = max(1, len(documents))
        return out, agree / n, 1 - agree / n

    def run(self, documents: Sequence[str], *, sample_size: int = 20, n_instructions: int = 3) -> SynthesisResult:
        """The whole pipeline over ``documents``; the first ``sample_size`` documents seed the generation agent."""
        if not documents:
            raise InputError("synthesis needs at least one document")
        taxonomies = [self.refine(t) for t in self.generate(documents[:sample_size], n_instructions)]
        result = SynthesisResult(taxonomies, [])
        for tax in taxonomies:
            labels, agreement, discard = self.label(tax, documents)
            result.labels.append(labels)
            result.agreement.append(agreement)
            result.discard.append(discard)
            log.info("synthesis: %r agreement %.2f, discarded %.2f", tax.instruction, agreement, discard)
        return result

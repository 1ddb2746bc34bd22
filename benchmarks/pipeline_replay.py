"""A fingerprint of the large-corpus pipeline's behaviour, for refactors that must change nothing.

    python benchmarks/pipeline_replay.py

600 synthetic tickets (tests/fake_model.py, seed 3) go through ``cluster_corpus`` with a deterministic
in-process fake model in seven configurations: windows kept (``llm``, ``hybrid``, ``embed``), the named
embedding clusters, a model whose window answers fail the check (``propose=auto`` falls back; and
``propose=windows`` without the fallback), and a topic the model never names (discovery). Printed per
configuration: k, model calls, tokens and a SHA-256 of everything the run produced (labels, names, ids,
notes, usage, placements, the saved clusterer's settings and centroids, every progress event). Run it
before and after a change: equal digests mean the same behaviour. The digests of the current code are in
docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cluster_r1.backends import ScriptedBackend  # noqa: E402
from cluster_r1.corpus.context import ScaleOptions  # noqa: E402
from cluster_r1.corpus.pipeline import cluster_corpus, embed_corpus  # noqa: E402
from fake_model import TopicModel, corpus  # noqa: E402
from fake_openai import valid_reply  # noqa: E402


class Noisy(TopicModel):
    """Answers like :class:`TopicModel`, except the agent on a window: odd / even, which single answers contradict."""

    def __call__(self, messages):  # type: ignore[no-untyped-def]
        if '<text id="' in messages[-1]["content"]:
            return valid_reply({"messages": messages})
        return super().__call__(messages)


CONFIGS = [
    ("auto, llm", TopicModel, dict(assign="llm")),
    ("auto, hybrid", TopicModel, dict(assign="hybrid", min_sample=100)),
    ("windows, embed", TopicModel, dict(assign="embed", propose="windows")),
    ("clusters", TopicModel, dict(propose="clusters")),
    ("auto, failing windows", Noisy, dict()),
    ("windows, failing windows, llm", Noisy, dict(propose="windows", assign="llm")),
    ("auto, llm, an unnamed topic", lambda: TopicModel(unknown=("privacy",)), dict(assign="llm")),
]


def main() -> None:
    texts, _ = corpus(600, topics=("billing", "login", "shipping", "bugs", "refunds", "privacy"), seed=3)
    vectors = embed_corpus(texts, "by issue", embed_options={"cache_dir": False})
    print("| configuration | k | calls | tokens | digest |\n|---|---:|---:|---:|---|")
    for name, model, options in CONFIGS:
        backend = ScriptedBackend([model()] * 100_000)
        backend.context_window = 8192  # type: ignore[attr-defined]
        events: list = []
        result, fitted = cluster_corpus(texts, "by issue", backend, options=ScaleOptions(**options), vectors=vectors,
                                        progress=lambda *e, seen=events: seen.append(e))
        record = {"labels": result.labels, "names": [c.name for c in result.clusters],
                  "ids": [c.id for c in result.clusters], "notes": result.notes,
                  "usage": [result.usage.calls, result.usage.prompt_tokens, result.usage.completion_tokens],
                  "placement": result.placement, "settings": fitted.settings, "assign": fitted.assign,
                  "centres": [round(float(v), 5) for v in fitted.centres.ravel()], "events": events}
        digest = hashlib.sha256(json.dumps(record, default=str, sort_keys=True).encode()).hexdigest()[:16]
        u = result.usage
        print(f"| {name} | {result.n_clusters} | {u.calls} | {u.prompt_tokens + u.completion_tokens:,} | `{digest}` |",
              flush=True)


if __name__ == "__main__":
    main()

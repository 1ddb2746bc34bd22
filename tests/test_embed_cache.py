"""The on-disk embedding cache: hit on a second call, keyed by model + template + text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cluster_r1.embed import embed_texts
from cluster_r1.embed.cache import EmbeddingCache, text_keys


class CountingEmbedder:
    family = "sentence-transformers"

    def __init__(self, name: str = "fake-model") -> None:
        self.name = name
        self.encoded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)


def test_second_call_is_served_from_disk(tmp_path: Path) -> None:
    emb = CountingEmbedder()
    texts = ["book a flight", "play jazz", "book a flight"]
    first = embed_texts(texts, "by intent", embedder=emb, cache_dir=tmp_path)
    assert len(emb.encoded) == 2  # the repeated text is encoded once
    again = CountingEmbedder()  # a new process would start with an empty embedder
    second = embed_texts(texts, "by intent", embedder=again, cache_dir=tmp_path)
    assert again.encoded == []
    np.testing.assert_array_equal(first, second)
    assert list(tmp_path.rglob("*.emb.npy"))


@pytest.mark.parametrize("cache", [False, True])
def test_identical_texts_are_encoded_once_and_every_row_filled(tmp_path: Path, cache: bool) -> None:
    emb = CountingEmbedder()
    texts = ["b", "a", "b", "c", "a", "b"]
    x = embed_texts(texts, "i", embedder=emb, cache_dir=tmp_path if cache else False, chunk_size=2)
    assert sorted(emb.encoded) == sorted({f"Clustering task: i. Text: {t}" for t in texts})
    for i, t in enumerate(texts):
        alone = embed_texts([t], "i", embedder=CountingEmbedder(), cache_dir=False)
        np.testing.assert_array_equal(x[i], alone[0])


def test_only_missing_texts_are_encoded(tmp_path: Path) -> None:
    emb = CountingEmbedder()
    embed_texts(["a", "b"], "i", embedder=emb, cache_dir=tmp_path)
    emb.encoded.clear()
    x = embed_texts(["b", "c", "a"], "i", embedder=emb, cache_dir=tmp_path)
    assert emb.encoded == ["Clustering task: i. Text: c"]
    assert x.shape == (3, 3)


def test_key_depends_on_model_template_and_instruction(tmp_path: Path) -> None:
    emb = CountingEmbedder()
    embed_texts(["a"], "i", embedder=emb, cache_dir=tmp_path)
    embed_texts(["a"], "other", embedder=emb, cache_dir=tmp_path)
    embed_texts(["a"], "i", embedder=emb, template="qwen", cache_dir=tmp_path)
    embed_texts(["a"], "i", embedder=CountingEmbedder("other-model"), cache_dir=tmp_path)
    assert len(emb.encoded) == 3
    assert len(set(text_keys("m", "t", ["a", "b"]).tolist())) == 2
    assert text_keys("m", "t", ["a"])[0] != text_keys("m2", "t", ["a"])[0]


def test_cache_disabled_and_unnamed_embedders_do_not_write(tmp_path: Path) -> None:
    emb = CountingEmbedder()
    embed_texts(["a"], "i", embedder=emb, cache_dir=False)
    embed_texts(["a"], "i", embedder=emb, cache_dir=False)
    assert len(emb.encoded) == 2
    assert not list(tmp_path.iterdir())


def test_cache_round_trip(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, "model/with:odd chars")
    keys = text_keys("m", "t", ["x", "y"])
    cache.put(keys, np.eye(2, dtype=np.float32))
    found, vecs = EmbeddingCache(tmp_path, "model/with:odd chars").get(text_keys("m", "t", ["y", "z", "x"]))
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(vecs, [[0, 1], [1, 0]])


def test_progress_bar_is_opt_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    embed_texts(["a", "b"], "i", embedder=CountingEmbedder(), cache_dir=False)
    assert "embedding" not in capsys.readouterr().err
    embed_texts(["a", "b"], "i", embedder=CountingEmbedder(), cache_dir=False, progress=True)
    assert "embedding" in capsys.readouterr().err

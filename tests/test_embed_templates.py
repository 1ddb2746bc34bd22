"""Templates render exactly as the paper's App. E.1 strings; the pair form reaches the encoder as a prompt."""

from __future__ import annotations

import numpy as np
import pytest

from cluster_r1.embed import TEMPLATES, embed_texts, get_template
from cluster_r1.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sentence-transformers", "Clustering task: Cluster by topic. Text: The news article covers politics"),
        ("qwen", "Represent this text for clustering analysis. Task:Cluster by topic Query:The news article covers politics"),
        ("openai", "Represent this text for clustering. Task: Cluster by topic Text: The news article covers politics"),
        ("inbedder", "Input:The news article covers politics Instruction:Cluster by topic Response:"),
        ("none", "The news article covers politics"),
        ("instructor", "The news article covers politics"),
    ],
)
def test_templates_render_the_paper_strings(name: str, expected: str) -> None:
    assert TEMPLATES[name].render("Cluster by topic", "The news article covers politics") == expected


def test_instructor_is_the_pair_form() -> None:
    t = TEMPLATES["instructor"]
    assert t.prompt("Cluster by research domain") == "Represent this text for clustering analysis: Cluster by research domain"
    assert TEMPLATES["sentence-transformers"].prompt("x") is None
    assert not TEMPLATES["none"].uses_instruction and t.uses_instruction


@pytest.mark.parametrize(
    ("family", "name"),
    [("sentence-transformers", "sentence-transformers"), ("qwen", "qwen"), ("instructor", "instructor"),
     ("openai", "openai"), ("something-else", "sentence-transformers")],
)
def test_auto_picks_the_family_template(family: str, name: str) -> None:
    assert get_template("auto", family).name == name


def test_unknown_template_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown template 'qwne'"):
        get_template("qwne")


class RecordingEmbedder:
    """Records what reaches the encoder; vectors are deterministic per text."""

    def __init__(self, family: str, takes_prompt: bool = True) -> None:
        self.family = family
        self.calls: list[tuple[list[str], str | None]] = []
        if not takes_prompt:
            self.encode = self._encode_plain  # type: ignore[method-assign]

    def _vec(self, texts: list[str]) -> np.ndarray:
        return np.array([[len(t), t.count(" ") + 1.0, 1.0] for t in texts], dtype=np.float32)

    def encode(self, texts: list[str], prompt: str | None = None) -> np.ndarray:
        self.calls.append((list(texts), prompt))
        return self._vec(list(texts))

    def _encode_plain(self, texts: list[str]) -> np.ndarray:
        self.calls.append((list(texts), None))
        return self._vec(list(texts))


def test_embed_texts_sends_rendered_texts_and_pair_prompt() -> None:
    st = RecordingEmbedder("sentence-transformers")
    embed_texts(["hi there"], "by topic", embedder=st, cache_dir=False)
    assert st.calls == [(["Clustering task: by topic. Text: hi there"], None)]

    ins = RecordingEmbedder("instructor")
    embed_texts(["hi there"], "by topic", embedder=ins, cache_dir=False)
    assert ins.calls == [(["hi there"], "Represent this text for clustering analysis: by topic")]

    plain = RecordingEmbedder("instructor", takes_prompt=False)
    embed_texts(["hi there"], "by topic", embedder=plain, cache_dir=False)
    assert plain.calls == [(["Represent this text for clustering analysis: by topic hi there"], None)]


def test_embed_texts_keeps_input_order_and_normalizes() -> None:
    emb = RecordingEmbedder("sentence-transformers")
    texts = ["a", "a much longer text here", "mid text"]
    x = embed_texts(texts, "", embedder=emb, template="none", cache_dir=False)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-6)
    expected = emb._vec(texts)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    assert emb.calls[0][0][0] == "a much longer text here"  # longest first for batching


@pytest.mark.parametrize(
    ("family", "k_free", "expected"),
    [("sentence-transformers", True, ("sentence-transformers", "none")),
     ("sentence-transformers", False, ("sentence-transformers",)),
     ("qwen", True, ("qwen",)), ("instructor", True, ("instructor",)), ("openai", True, ("openai",))],
)
def test_auto_uses_plain_texts_or_mixes_only_for_k_free_non_instruction_tuned(
    family: str, k_free: bool, expected: tuple[str, ...]
) -> None:
    from cluster_r1.embed.templates import auto_templates

    assert auto_templates(family, k_free=k_free, mix=True) == expected
    # default: plain texts for a k-free run of a non-instruction-tuned encoder, else the paper template
    assert auto_templates(family, k_free=k_free) == (("none",) if len(expected) == 2 else expected)
    assert get_template("auto", family).name == expected[0]  # embed_texts' "auto" is still the paper template


def test_embed_for_clustering_sums_template_and_none_vectors() -> None:
    from cluster_r1.embed.clusterer import embed_for_clustering

    texts = ["hi there", "a longer text here"]
    st = RecordingEmbedder("sentence-transformers")
    x = embed_for_clustering(texts, "by topic", embedder=st, cache_dir=False, mix=True)
    sent = sorted(t for call in st.calls for t in call[0])
    assert sent == sorted(texts + [f"Clustering task: by topic. Text: {t}" for t in texts])
    a = embed_texts(texts, "by topic", embedder=st, template="sentence-transformers", cache_dir=False)
    b = embed_texts(texts, "by topic", embedder=st, template="none", cache_dir=False)
    expected = (a + b) / np.linalg.norm(a + b, axis=1, keepdims=True)
    np.testing.assert_allclose(x, expected, rtol=1e-6)

    # a given k (paper protocol), an explicit template or an instruction-tuned family: embed_texts unchanged
    for kwargs, fam in (({"k_free": False}, "sentence-transformers"), ({"k_free": False, "mix": True}, "sentence-transformers"),
                        ({"template": "sentence-transformers"}, "sentence-transformers"), ({}, "qwen")):
        emb = RecordingEmbedder(fam)
        y = embed_for_clustering(texts, "by topic", embedder=emb, cache_dir=False, **kwargs)
        np.testing.assert_allclose(y, embed_texts(texts, "by topic", embedder=emb, template=kwargs.get("template", "auto"),
                                                  cache_dir=False), rtol=1e-6)
        assert len(emb.calls) == 2  # one embed_texts call each

    # the k-free default of an encoder that is not instruction-tuned: the plain texts, no prefix sent
    emb = RecordingEmbedder("sentence-transformers")
    y = embed_for_clustering(texts, "by topic", embedder=emb, cache_dir=False)
    assert sorted(t for call in emb.calls for t in call[0]) == sorted(texts)
    np.testing.assert_allclose(y, embed_texts(texts, "", embedder=emb, template="none", cache_dir=False), rtol=1e-6)


def test_estimator_mix_reaches_the_encoder() -> None:
    from cluster_r1.embed import EmbeddingClusterer

    texts = ["alpha beta", "alpha gamma", "delta epsilon", "delta zeta", "eta theta"]
    prefixed = {f"Clustering task: by topic. Text: {t}" for t in texts}
    # (mix, n_clusters, raw texts sent, template texts sent): k-free runs send the raw texts, the template
    # goes with mix (both) or a given k (the paper protocol, template only)
    for mix, n_clusters, raw, templated in ((True, None, True, True), (False, None, True, False), (True, 2, False, True)):
        emb = RecordingEmbedder("sentence-transformers")
        est = EmbeddingClusterer(instruction="by topic", embedder=emb, cache_dir=False, mix=mix, n_clusters=n_clusters)
        est.fit(texts)
        sent = {t for call in emb.calls for t in call[0]}
        assert (set(texts) <= sent, prefixed <= sent) == (raw, templated)
        assert est.get_params()["mix"] is mix


def test_estimator_reduce_reaches_the_clusterer(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from cluster_r1.embed import EmbeddingClusterer

    monkeypatch.setitem(sys.modules, "umap", None)  # without the extra, reduce="umap" must say how to install it
    texts = ["alpha beta", "alpha gamma", "delta epsilon", "delta zeta", "eta theta"]
    est = EmbeddingClusterer(instruction="by topic", embedder=RecordingEmbedder("sentence-transformers"), cache_dir=False)
    assert est.fit(texts).n_clusters_ >= 2  # default: no umap needed
    with pytest.raises(ConfigError, match="cluster-r1\\[umap\\]"):
        est.set_params(reduce="umap").fit(texts)

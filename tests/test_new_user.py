"""Small things a new user meets: what the terminal shows, what a blank instruction does, what a wrong path says."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from cluster_r1.api import NO_INSTRUCTION, cluster_texts
from cluster_r1.embed.cluster import K_STAGE, cluster_embeddings
from cluster_r1.errors import ConfigError
from cluster_r1.report.terminal import print_summary
from cluster_r1.types import Clustering

TEXTS = ["I was charged twice", "refund not received", "cannot log in", "password reset email never came",
         "the app crashes on start", "screen freezes"]


def _table(result: Clustering, texts: list[str]) -> str:
    buf = io.StringIO()
    print_summary(result, texts, Console(file=buf, width=160, force_terminal=False))
    return buf.getvalue()


def test_the_summary_shows_a_saved_clusterers_ids_not_positions() -> None:
    result = Clustering.from_labels([0, 0, 1, 1, 1, 0], names=["Billing", "Login"], ids=[16, 3], method="assign")
    rows = [ln for ln in _table(result, TEXTS).splitlines() if "Billing" in ln or "Login" in ln]
    assert "id" in _table(result, TEXTS).splitlines()[2]
    assert [ln.split("│")[1].strip() for ln in rows] == ["16", "3"]
    plain = Clustering.from_labels([0, 0, 1, 1, 1, 0], names=["Billing", "Login"], method="embed")
    rows = [ln for ln in _table(plain, TEXTS).splitlines() if "Billing" in ln or "Login" in ln]
    assert [ln.split("│")[1].strip() for ln in rows] == ["1", "2"]


def test_the_k_scan_keeps_one_total() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(30, 16))
    x = np.repeat(centres, 40, axis=0) + 0.3 * rng.normal(size=(1200, 16))  # past the coarse-scan bound
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    heard: list[tuple[int, int]] = []
    cluster_embeddings(x.astype(np.float32), max_k=60, progress=lambda s, d, t, _: heard.append((d, t))
                       if s == K_STAGE else None)
    totals = {t for _, t in heard}
    assert len(heard) > 3 and len(totals) == 1, heard
    assert heard[-1][0] == heard[-1][1], "the scan ends at its total"
    assert [d for d, _ in heard] == sorted(d for d, _ in heard), "never counts back"


def test_a_blank_instruction_says_so_in_one_note() -> None:
    result = cluster_texts(TEXTS, "   ", method="embed", embed_options={"cache_dir": False})
    assert result.notes[0] == NO_INSTRUCTION and "\n" not in NO_INSTRUCTION
    given = cluster_texts(TEXTS, "by root cause", method="embed", embed_options={"cache_dir": False})
    assert NO_INSTRUCTION not in given.notes


@pytest.mark.parametrize("spec", ["/missing/run/final", "./nowhere", "model.gguf"])
def test_a_missing_checkpoint_path_says_it_does_not_exist(spec: str) -> None:
    pytest.importorskip("transformers")
    from cluster_r1.backends.transformers_local import TransformersBackend

    with pytest.raises(ConfigError, match="no such file or folder"):
        TransformersBackend(spec)

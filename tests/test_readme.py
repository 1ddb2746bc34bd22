"""Every ```python snippet of the README runs as written (the model server's URL pointed at a local fake)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fake_openai import FakeOpenAIServer, valid_reply

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_python_snippets() -> None:
    assert SNIPPETS


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i + 1}" for i in range(len(SNIPPETS))])
def test_snippet_runs(code: str, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CLUSTER_R1_CACHE_DIR", str(tmp_path))
    with FakeOpenAIServer() as server:
        server.enqueue(*[valid_reply] * 50)
        exec(compile(code.replace("http://127.0.0.1:8080/v1", server.base_url), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.strip(), "the snippet prints its results"

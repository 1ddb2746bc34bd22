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


@pytest.mark.parametrize("server", [False, True], ids=["no server", "server"])
@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i + 1}" for i in range(len(SNIPPETS))])
def test_snippet_runs(code: str, server: bool, capsys, monkeypatch, tmp_path) -> None:
    """As written: no server configured (the offline part runs, the server part is skipped), and with
    ``CLUSTER_R1_BASE_URL`` pointing at a local fake (every part runs and the server is asked)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("CLUSTER_R1_CACHE_DIR", str(tmp_path))
    for name in ("CLUSTER_R1_BASE_URL", "CLUSTER_R1_MODEL", "CLUSTER_R1_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with FakeOpenAIServer() as fake:
        fake.enqueue(*[valid_reply] * 50)
        if server:
            monkeypatch.setenv("CLUSTER_R1_BASE_URL", fake.base_url)
            monkeypatch.setenv("CLUSTER_R1_MODEL", "local")
        exec(compile(code, "README.md", "exec"), {})
        asked = len(fake.requests)
    out = capsys.readouterr().out
    assert out.strip(), "the snippet prints its results"
    if "CLUSTER_R1_BASE_URL" in code or "OpenAICompatBackend" in code:
        assert (asked > 0) == server, "the server part runs exactly when a server is configured"

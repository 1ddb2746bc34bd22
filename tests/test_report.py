"""The HTML report: escaping and data (always), and the page itself in a real headless Chromium (where installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cluster_r1.report.html import embed_json, eval_page, render_report, report_data
from cluster_r1.types import Clustering

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

HOSTILE = [
    '<img src=x onerror="document.body.setAttribute(\'data-pwned\',\'1\')">',
    "<script>document.body.setAttribute('data-pwned','2')</script>",
    "</script><script>document.body.setAttribute('data-pwned','3')</script>",
    "a line\u2028separator and \u2029 paragraph",
    "billing: charged twice",
    "billing: refund missing",
    "login: cannot sign in",
    "login: password reset",
]


def result_for(texts: list[str], labels: list[int], names: list[str]) -> Clustering:
    return Clustering.from_labels(labels, names=names, descriptions=[f"about {n}" for n in names], method="agent",
                                  model="local", placement=["llm"] * len(texts), confidence=[0.9] * len(texts),
                                  reasoning="<think>ok</think>", notes=["a <b>note</b>"])


def hostile_page(tmp_path: Path) -> tuple[Path, list[str]]:
    labels = [1, 1, 1, 2, 3, 3, 4, 4]
    names = ["<img src=y onerror=alert(1)>", "odd ones", "billing", "login"]
    result = result_for(HOSTILE, labels, names)
    x = np.random.default_rng(0).normal(size=(len(HOSTILE), 8))
    data = report_data(result, HOSTILE, vectors=x, labels_true=["x", "x", "x", "y", "b", "b", "l", "l"],
                       instruction="by </script> topic")
    path = tmp_path / "r.html"
    path.write_text(render_report(data), encoding="utf-8")
    return path, names


def test_json_cannot_close_the_script() -> None:
    text = embed_json({"t": "</script><!--", "u": "\u2028"})
    assert "<" not in text and "\u2028" not in text and json.loads(text) == {"t": "</script><!--", "u": "\u2028"}


def test_page_embeds_every_string_as_data(tmp_path) -> None:
    path, names = hostile_page(tmp_path)
    page = path.read_text()
    body = page.split('<script type="application/json" id="data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(body.replace("\\u003c", "<"))["clusters"][0]["name"] == names[0]
    assert page.count("<script") == 2 and "onerror=" not in page.split("<script", 1)[0]
    assert "innerHTML" not in page and "http" not in re.sub(r"https?://[^\"' ]*w3\.org[^\"' ]*", "", page)


def test_report_data_checks_its_inputs() -> None:
    from cluster_r1.errors import InputError

    result = result_for(HOSTILE, [1] * 8, ["all"])
    with pytest.raises(InputError, match="8 texts but 2 were given"):
        report_data(result, HOSTILE[:2])
    with pytest.raises(InputError, match="gold labels for 8 texts"):
        report_data(result, HOSTILE, labels_true=["a"])
    data = report_data(result, HOSTILE, labels_true=list("aabbccdd"))
    assert data["gold"]["matrix"] == [[2, 2, 2, 2]] and data["map"] is None


def test_eval_page_is_self_contained() -> None:
    page = eval_page({"command": "cluster-r1 eval </script>", "aggregates": {"splits": ["c1"], "rows": [
        {"label": "agent", "kind": "final", "avg": {"c1": 0.5}, "overall": 0.5, "cells": {"lmsys/c1": {"v": 0.5}}}]}})
    assert "</script> " not in page.split("<script")[1] and "\\u003c/script\\u003e" in page


def dump_dom(path: Path, tmp_path: Path, fragment: str = "") -> tuple[str, str]:
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
                           "--v=0", "--virtual-time-budget=3000", "--dump-dom", path.as_uri() + fragment],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    return proc.stdout, proc.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_page_in_a_real_browser(tmp_path) -> None:
    path, names = hostile_page(tmp_path)
    dom, log = dump_dom(path, tmp_path)
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-ready="1"' in body and "data-pwned" not in body  # the hostile texts ran nothing
    assert 'data-visible-rows="8"' in body and 'data-points="8"' in dom
    for name in names:
        assert name.replace("<", "&lt;").replace(">", "&gt;") in dom  # every cluster name shown, literally
    assert "&lt;img src=x onerror=" in dom and "&lt;script&gt;document.body" in dom
    assert not re.search(r"Uncaught|SyntaxError|TypeError|ReferenceError", log), log[-800:]
    dom, _ = dump_dom(path, tmp_path, "#q=billing")
    assert 'data-matches="2"' in dom and 'data-visible-rows="2"' in dom
    shot = tmp_path / "shot.png"
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1000,900",
                           f"--screenshot={shot}", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 5000


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_cli_report_opens_in_the_browser(tmp_path) -> None:
    from test_cli import EXAMPLE, run_cli

    out, page = tmp_path / "r.json", tmp_path / "r.html"
    proc = run_cli("cluster", str(EXAMPLE), "-i", "by root cause", "-o", str(out), "--report", str(page), "-q",
                   "--labels", str(EXAMPLE.with_suffix(".labels.txt")), env_extra={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    dom, log = dump_dom(page, tmp_path)
    assert 'data-ready="1"' in dom and "V-measure" in dom and 'data-points="15"' in dom
    again = tmp_path / "again.html"
    proc = run_cli("report", str(out), "--input", str(EXAMPLE), "-o", str(again), "-q", env_extra={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0 and again.stat().st_size > 5000
    short = tmp_path / "short.txt"
    short.write_text("one\ntwo\n")
    proc = run_cli("report", str(out), "--input", str(short), "-o", str(again))
    assert proc.returncode == 1 and "holds 2 texts but the result 15" in proc.stderr

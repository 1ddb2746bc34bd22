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
    assert page.count("<script") == 3 and "onerror=" not in page.split("<script", 1)[0]  # data, map data, code
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


def test_heatmap_rows_and_columns_are_matched_and_capped() -> None:
    from cluster_r1.report.html import HEATMAP_CAP, heatmap

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 40, size=2000)
    labels = [int((g * 7) % 45) + 1 for g in gold]  # each gold class is one cluster, under another number
    labels = [lab if rng.random() > 0.1 else int(rng.integers(1, 46)) for lab in labels]
    used = sorted(set(labels))
    labels = [used.index(lab) + 1 for lab in labels]
    h = heatmap(labels, [f"g{g}" for g in gold], len(used))
    m = np.asarray(h["matrix"])
    assert len(h["classes"]) == HEATMAP_CAP and m.shape == (HEATMAP_CAP + 1, HEATMAP_CAP + 1)
    assert h["rest_classes"] == 40 - HEATMAP_CAP and h["rest_rows"] == len(used) - HEATMAP_CAP
    assert m.sum() == 2000, "nothing dropped: the rest summed into the last row and column"
    diag = np.diag(m[:HEATMAP_CAP, :HEATMAP_CAP])
    assert all(diag[i] == m[i, :HEATMAP_CAP].max() for i in range(HEATMAP_CAP)), "each row's class on the diagonal"
    assert list(diag) == sorted(diag, reverse=True), "largest matches first"


def test_the_map_keeps_neighbours_together_and_sits_in_its_own_element() -> None:
    from sklearn.neighbors import NearestNeighbors

    from cluster_r1.report.html import project

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(25, 32)) * 4
    labels = np.repeat(np.arange(25), 24)
    x = centres[labels] + rng.normal(size=(600, 32))
    m = project(x, labels, fit_points=200)  # 200 laid out, 400 placed by their neighbours
    xy = np.column_stack([m["x"], m["y"]])
    assert len(m["i"]) == 600 and xy.min() >= 0 and xy.max() <= 1
    _, near = NearestNeighbors(n_neighbors=11).fit(xy).kneighbors(xy)
    assert (labels[m["i"]][near[:, 1:]] == labels[m["i"]][:, None]).mean() > 0.9
    sample = project(x, labels, max_points=100)
    assert len(sample["i"]) == 100 and len(set(labels[sample["i"]].tolist())) == 25, "a sample keeps every cluster"
    result = Clustering.from_labels((labels + 1).tolist())
    page = render_report(report_data(result, [f"t{i}" for i in range(600)], vectors=x))
    block = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S).group(1)
    data = json.loads(block)
    assert len(data["x"]) == len(data["y"]) == len(data["cluster"]) == 600


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_levels_tree_and_named_map_in_the_browser(tmp_path) -> None:
    from cluster_r1.types import Cluster, Level

    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(6), 20)
    x = rng.normal(size=(6, 16))[labels] * 5 + rng.normal(size=(120, 16))
    top = Level(clusters=[Cluster("one", [i + 1 for i in range(60)]), Cluster("two", [i + 61 for i in range(60)])],
                labels=[1] * 60 + [2] * 60, parents=[None, None])
    fine = Clustering.from_labels((labels + 1).tolist(), names=[f"<b>topic {k}</b>" for k in range(6)])
    fine.levels = [top, Level(clusters=fine.clusters, labels=fine.labels, parents=[1, 1, 1, 2, 2, 2])]
    fine.level = 2
    path = tmp_path / "levels.html"
    path.write_text(render_report(report_data(fine, [f"text {i}" for i in range(120)], vectors=x)), encoding="utf-8")
    dom, log = dump_dom(path, tmp_path)
    assert 'data-ready="1"' in dom and 'data-nodes="8"' in dom, "2 top topics and their 6 clusters in the tree"
    assert 'data-points="120"' in dom and re.search(r'data-names="[1-6]"', dom), "names written on the map"
    assert "&lt;b&gt;topic 0&lt;/b&gt;" in dom and "<b>topic" not in dom
    assert not re.search(r"Uncaught|SyntaxError|TypeError|ReferenceError", log), log[-800:]

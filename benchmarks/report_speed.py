"""The HTML report at scale: file size per 1,000 texts and time until the page is interactive in headless Chromium.

    python benchmarks/report_speed.py --sizes 1000 10000 100000

Texts are distinct synthetic tickets (tests/fake_model.py), clustered into 12 topics, with random
384-d vectors for the map (the projection's cost is part of writing the report, timed apart). Every text is drawn
up to 100,000 (``points drawn``, read back from the page).
``ready`` is what the page itself measures (parse the data, render the first page of every
cluster, draw the map), read back from the DOM; ``browser`` is the whole headless Chromium run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from cluster_r1.report.html import render_report, report_data  # noqa: E402
from cluster_r1.types import Clustering  # noqa: E402
from fake_model import corpus  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("install Chromium first: apt-get install chromium")
    print("| texts | file (MB) | per 1,000 texts (KB) | projection + page (s) | ready in page (ms) | browser run (s) "
          "| points drawn |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        topics = [f"topic{j}" for j in range(12)]
        texts, gold = corpus(n, topics=topics, seed=2)
        labels = [topics.index(g) + 1 for g in gold]
        result = Clustering.from_labels(labels, names=topics, method="agent", placement=["llm"] * n,
                                        confidence=[0.9] * n)
        x = np.random.default_rng(0).normal(size=(n, 384)).astype(np.float32)
        t0 = time.perf_counter()
        page = render_report(report_data(result, texts, vectors=x))
        build = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.html"
            path.write_text(page, encoding="utf-8")
            t0 = time.perf_counter()
            proc = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp}/p", "--virtual-time-budget=30000",
                                   "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=600)
            wall = time.perf_counter() - t0
            ready = re.search(r'data-ready-ms="(\d+)"', proc.stdout)
            points = re.search(r'data-points="(\d+)"', proc.stdout)
            size = path.stat().st_size
        print(f"| {n:,} | {size / 1e6:.1f} | {size / n * 1000 / 1024:.0f} | {build:.1f} | "
              f"{ready.group(1) if ready else 'not ready'} | {wall:.1f} | {points.group(1) if points else 0} |",
              flush=True)


if __name__ == "__main__":
    main()

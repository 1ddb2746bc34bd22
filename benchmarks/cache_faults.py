"""A failing machine against the real CLI: damaged, truncated or unusable caches, full disks, two runs at once, Ctrl-C.

    python benchmarks/cache_faults.py                      # the example tickets
    python benchmarks/cache_faults.py --banking 2000       # 2,000 BANKING77 queries from ../shared/data

Each row runs ``cluster-r1 cluster`` in a subprocess, offline (the bundled MiniLM) or against a local fake
OpenAI-compatible server (tests/fake_openai.py, a valid answer for any prompt), after the fault named in the
row was made. Printed per row: the exit status, whether a traceback appeared, the labels compared with a clean
run's, and the one line the run said about the fault (its note, or its error). The full-disk rows mount a
64 KiB tmpfs and are skipped where mounting is not allowed (run as root).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAIServer, valid_reply  # noqa: E402

EXAMPLE = ROOT / "examples" / "support_tickets.txt"
DATA = Path(os.environ.get("CLUSTER_R1_DATA_DIR") or ROOT.parent / "shared" / "data")


def cli(*args: str, cache: Path | str, wait: bool = True) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUSTER_R1_")}
    env.update(CLUSTER_R1_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "cluster_r1", *args]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)


def said(proc: subprocess.CompletedProcess, out: Path | None) -> str:
    """The one line the run said about the fault: its error line, else its cache notes."""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("cluster-r1:")]
    if errors:
        return errors[0]
    if out is not None and out.is_file():
        notes = [n for n in json.loads(out.read_text())["notes"] if "cache" in n]
        return " | ".join(notes) or "(no note)"
    return "(nothing)"


def labels(out: Path) -> list[int] | None:
    return json.loads(out.read_text())["labels"] if out.is_file() else None


def mount_tiny(where: Path) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                                           capture_output=True).returncode:
        return False
    with open(where / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    return True


def fill_cache(cache: Path, server: list[str], path: Path, tmp: Path) -> list[int] | None:
    out = tmp / f"{cache.name}.json"
    proc = cli("cluster", str(path), "-i", "by topic", *server, "-o", str(out), "-q", cache=cache)
    assert proc.returncode == 0, proc.stderr
    return labels(out)


def damage_embeddings(cache: Path, how: str) -> None:
    for f in cache.rglob("*.emb.npy"):
        data = f.read_bytes()
        f.write_bytes(os.urandom(len(data)) if how == "garbage" else data[: len(data) // 2])


def damage_responses(cache: Path, how: str) -> None:
    db = cache / "responses.sqlite"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = db.read_bytes()
    db.write_bytes(os.urandom(len(data)) if how == "garbage" else data[: len(data) // 2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--banking", type=int, default=0, help="use this many BANKING77 test queries instead")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cache-faults-"))
    path = EXAMPLE
    if args.banking:
        with open(DATA / "banking77" / "test.csv", encoding="utf-8") as fh:
            texts = [r["text"].replace("\n", " ").strip() for r in csv.DictReader(fh)][: args.banking]
        path = tmp / "banking.txt"
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    server = FakeOpenAIServer()
    server.enqueue(*[valid_reply] * 100_000)
    server.__enter__()
    remote = ["--base-url", server.base_url, "--model", "local", "--max-retries", "0"]
    offline = ["--method", "embed"]
    rows: list[tuple[str, str, subprocess.CompletedProcess, Path | None, list[int] | None]] = []
    n = [0]
    # one clean run per mode fills a cache; each row damages a copy of it
    clean_runs = {id(m): (tmp / f"clean-{i}", fill_cache(tmp / f"clean-{i}", m, path, tmp))
                  for i, m in enumerate((offline, remote))}

    def row(name: str, mode: list[str], fault: Callable[[Path], Path | str] | None, *extra: str,
            out_dir: Path | None = None) -> None:
        n[0] += 1
        cache = tmp / f"cache{n[0]}"
        shutil.copytree(clean_runs[id(mode)][0], cache)
        clean = clean_runs[id(mode)][1]
        where = fault(cache) if fault else cache
        out = (out_dir or tmp) / f"out{n[0]}.json"
        start = time.perf_counter()
        proc = cli("cluster", str(path), "-i", "by topic", *mode, *extra, "-o", str(out), "-q", cache=where)
        rows.append((name, "offline" if mode is offline else "server", proc, out, clean))
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)

    row("embedding cache overwritten with garbage", offline, lambda c: (damage_embeddings(c, "garbage"), c)[1])
    row("embedding cache truncated", offline, lambda c: (damage_embeddings(c, "half"), c)[1])
    row("responses.sqlite overwritten with garbage", remote, lambda c: (damage_responses(c, "garbage"), c)[1])
    row("responses.sqlite cut in half", remote, lambda c: (damage_responses(c, "half"), c)[1])
    blocker = tmp / "a-file"
    blocker.write_text("x")
    row("CLUSTER_R1_CACHE_DIR pointing at a file (offline)", offline, lambda c: blocker)
    row("CLUSTER_R1_CACHE_DIR pointing at a file (server)", remote, lambda c: blocker)
    row("--cache-dir pointing at a file", offline, None, "--cache-dir", str(blocker))
    tiny = tmp / "tiny"
    if mount_tiny(tiny):
        try:
            row("-o on a full disk", offline, None, out_dir=tiny)
            row("the cache on a full disk (offline)", offline, lambda c: tiny)
            row("the cache on a full disk (server)", remote, lambda c: tiny)
        finally:
            subprocess.run(["umount", str(tiny)], capture_output=True)
    else:
        print("  (full-disk rows skipped: cannot mount a tmpfs here)", file=sys.stderr)

    # two runs sharing one (empty) cache at once
    shared = tmp / "shared"
    procs = [cli("cluster", str(path), "-i", "by topic", *offline, "-o", str(tmp / f"twin{i}.json"), "-q",
                 cache=shared, wait=False) for i in range(2)]
    outs = [p.communicate() for p in procs]
    twins = [labels(tmp / f"twin{i}.json") for i in range(2)]
    # Ctrl-C mid-run
    ctrl = cli("cluster", str(path), "-i", "by topic", *offline, "-o", str(tmp / "ctrlc.json"), "-q",
               cache=tmp / "ctrlc-cache", wait=False)
    time.sleep(6)
    ctrl.send_signal(signal.SIGINT)
    _, ctrl_err = ctrl.communicate()
    # assign on a damaged --save folder
    saved = tmp / "saved"
    cli("cluster", str(path), "-i", "by topic", *offline, "--save", str(saved), "-o", str(tmp / "s.json"), "-q",
        cache=tmp / "cache1")
    file = saved / "clusterer.json"
    file.write_text(file.read_text()[: len(file.read_text()) // 2])
    damaged = cli("assign", str(saved), str(path), "-q", cache=tmp / "cache1")
    server.__exit__(None, None, None)

    print(f"\n{path.name}: {sum(1 for _ in open(path, encoding='utf-8'))} texts\n")
    print("| fault | run | exit | traceback | labels vs clean cache | what it said |")
    print("|---|---|---|---|---|---|")
    for name, mode, p, out, clean in rows:
        got = labels(out) if out is not None else None
        same = "-" if got is None else ("same" if got == clean else "DIFFERENT")
        print(f"| {name} | {mode} | {p.returncode} | {'YES' if 'Traceback' in p.stderr else 'no'} | {same} | "
              f"{said(p, out)} |")
    same = "same" if twins[0] is not None and twins[0] == twins[1] else "DIFFERENT"
    print(f"| two runs sharing one cache at once | offline | {procs[0].returncode}, {procs[1].returncode} | "
          f"{'YES' if any('Traceback' in e for _, e in outs) else 'no'} | {same} (with each other) | - |")
    line = next((ln for ln in ctrl_err.splitlines() if ln.startswith("cluster-r1")), "(nothing)")
    partial = "no partial file" if not (tmp / "ctrlc.json").exists() else "a result file was written"
    print(f"| Ctrl-C mid-run | offline | {ctrl.returncode} | {'YES' if 'Traceback' in ctrl_err else 'no'} | {partial} | "
          f"{line} |")
    print(f"| assign on a --save folder whose clusterer.json was cut in half | offline | {damaged.returncode} | "
          f"{'YES' if 'Traceback' in damaged.stderr else 'no'} | - | {said(damaged, None)} |")


if __name__ == "__main__":
    main()

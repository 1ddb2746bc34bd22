"""Resume after ``kill -9``: how many finished calls a rerun repeats, and whether it gives the same clusters.

    python benchmarks/scale_resume.py --n 3000 --concurrency 4
    python benchmarks/scale_resume.py --n 3000 --concurrency 4 --engine ray   # the driver of a Ray run killed

The CLI clusters N synthetic tickets (tests/fake_model.py) through a local fake model server that
answers correctly after a delay; the process is killed with SIGKILL when about half of the first
run's calls are done, then the same command runs again against the same server address and
cache. Printed: calls before the kill, calls the rerun made, how many of those the killed run had
sent (at most ``--concurrency`` were in flight, their replies never stored) and how many it had
finished (sent before the last ``--concurrency``), and the ARI between the rerun's labels and an uninterrupted run's.
``--engine ray``: every run with ``--engine ray --ray-call-actors 1`` (one actor making ``--concurrency`` calls at
once; the response cache on the driver, which is the process killed); the local Ray instances are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from fake_model import TopicModel, corpus  # noqa: E402
from fake_openai import FakeOpenAIServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--delay", type=float, default=0.2, help="seconds per fake reply")
    ap.add_argument("--assign", default="llm")
    ap.add_argument("--engine", choices=("local", "ray"), default="local")
    args = ap.parse_args()
    texts, _ = corpus(args.n, topics=("billing", "login", "shipping", "bugs", "refunds", "privacy"), seed=4)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.txt"
        path.write_text("\n".join(texts) + "\n")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "cluster_r1", "cluster", str(path), "-i", "by issue", "--method", "agent",
               "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "local", "--context-window", "16384",
               "--assign", args.assign, "--concurrency", str(args.concurrency), "-q"]
        if args.engine == "ray":
            cmd += ["--engine", "ray", "--ray-call-actors", "1"]

        def serve(delay: float) -> FakeOpenAIServer:
            server = FakeOpenAIServer(owned_by="me", port=port)
            server.enqueue(*[("delay", delay, TopicModel()) if delay else TopicModel()] * 100_000)
            return server

        # the reference: an uninterrupted run with its own cache
        with serve(0.0) as server:
            ref = subprocess.run(cmd, capture_output=True, text=True, env={**env, "CLUSTER_R1_CACHE_DIR": f"{tmp}/ref"})
            total = len(server.requests)
        assert ref.returncode == 0, ref.stderr
        cache = {**env, "CLUSTER_R1_CACHE_DIR": f"{tmp}/cache"}
        with serve(args.delay) as server:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cache)
            while len(server.requests) < total // 2 and proc.poll() is None:
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(args.delay + 0.5)
            killed = [json.dumps(b["messages"]) for b in server.requests]
        with serve(0.0) as server:
            again = subprocess.run(cmd, capture_output=True, text=True, env=cache)
            resumed = [json.dumps(b["messages"]) for b in server.requests]
        if args.engine == "ray":  # the killed driver's local instance outlives it
            subprocess.run([str(Path(sys.executable).parent / "ray"), "stop", "--force"], capture_output=True)
        assert again.returncode == 0, again.stderr
        # the last ``concurrency`` calls sent may have been in flight at the kill; every earlier one had finished
        finished = set(killed[: max(0, len(killed) - args.concurrency)])
        repeated = sum(1 for m in resumed if m in set(killed))
        repeated_finished = sum(1 for m in resumed if m in finished)
        ari = adjusted_rand_score(json.loads(ref.stdout)["labels"], json.loads(again.stdout)["labels"])
        print(f"engine: {args.engine}; notes of the rerun: {[x for x in json.loads(again.stdout)['notes'] if 'engine=' in x]}")
        print(f"| texts | calls of a full run | calls sent before kill -9 | calls of the rerun | rerun repeated "
              f"| of them finished before the kill | concurrency | ARI rerun vs uninterrupted |\n"
              f"|---:|---:|---:|---:|---:|---:|---:|---:|\n"
              f"| {args.n:,} | {total} | {len(killed)} | {len(resumed)} | {repeated} | {repeated_finished} | "
              f"{args.concurrency} | {ari:.3f} |")


if __name__ == "__main__":
    main()

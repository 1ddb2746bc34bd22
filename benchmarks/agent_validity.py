"""Valid-answer rate of the agent against a real model server, constrained and unconstrained in one run.

    python benchmarks/agent_validity.py --base-url http://127.0.0.1:8080/v1 --model local --runs 20 \
        --modes off,auto --prompt paper

Each run samples (temperature 0.3, seed = run number) so that runs differ; the modes alternate
run by run, so that both see the same machine load. Mode ``off`` is the paper's protocol
(unconstrained); ``auto`` constrains decoding where the server can (one ``ITEM: clusterK`` line
per item under a grammar, converted to the paper's format); ``lists`` is the paper's format
under a grammar. Reported per mode: first answer strict-valid (App. D, as the agent reads it),
first answer usable (complete partition, format slips repaired), valid after re-ask, salvaged,
failed; seconds, calls, tokens, V-measure against the example's labels.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from cluster_r1.agent import ClusteringAgent
from cluster_r1.answer import parse_answer
from cluster_r1.backends import OpenAICompatBackend
from cluster_r1.errors import AnswerError
from cluster_r1.metrics import v_measure_score

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", default="local")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--first-run", type=int, default=0, help="seed of the first run (to extend a series)")
    ap.add_argument("--modes", default="off,auto", help="comma-separated constrain modes: off, auto, items, lists")
    ap.add_argument("--input", default=str(ROOT / "examples" / "support_tickets.txt"))
    ap.add_argument("--instruction", default="cluster these support tickets by root cause")
    ap.add_argument("--prompt", default="paper")
    ap.add_argument("--temperature", type=float, default=0.3)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--think-chars", type=int, default=1800)
    ap.add_argument("--server-kind", default="auto")
    ap.add_argument("--out", help="write per-run records as JSON here")
    args = ap.parse_args()

    texts = Path(args.input).read_text().splitlines()
    gold_path = Path(args.input).with_suffix(".labels.txt")
    gold = gold_path.read_text().splitlines() if gold_path.exists() else None
    server = OpenAICompatBackend(base_url=args.base_url, model=args.model, concurrency=1, server_kind=args.server_kind)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    records: list[dict] = []
    for run in range(args.first_run, args.first_run + args.runs):
        for mode in modes:
            agent = ClusteringAgent(server, prompt=args.prompt, temperature=args.temperature,
                                    max_tokens=args.max_tokens, constrain=mode, think_chars=args.think_chars, seed=run)
            start = time.perf_counter()
            rec: dict[str, object] = {"run": run, "mode": mode}
            try:
                result = agent.cluster(texts, args.instruction)
                rec.update(
                    failed=False, attempts=result.attempts, repaired=result.repaired, salvaged=result.salvaged,
                    n_clusters=result.n_clusters,
                    unplaced=sum(c.size for c in result.clusters if c.name == "Unplaced"),
                    calls=result.usage.calls,
                    tokens=result.usage.prompt_tokens + result.usage.completion_tokens,
                    v_measure=v_measure_score(gold, result.labels) if gold else None,
                    notes=result.notes,
                )
            except AnswerError as exc:
                rec.update(failed=True, attempts=len(exc.attempts), error=str(exc))
            answers = agent.last_run.answers if agent.last_run is not None else []
            first = answers[0] if answers else ""
            rec["first_strict_valid"] = bool(first) and parse_answer(first, len(texts), names=agent.template.names).valid
            rec["first_usable"] = bool(first) and usable(first, len(texts))
            rec["think_chars"] = len(parse_answer(first, len(texts), strict=False).think) if first else 0
            rec["seconds"] = time.perf_counter() - start
            records.append(rec)
            print(json.dumps({k: v for k, v in rec.items() if k != "notes"}), flush=True)
    for mode in modes:
        summarize([r for r in records if r["mode"] == mode], args, mode)
    if args.out:
        Path(args.out).write_text(json.dumps(records, indent=2))


def usable(text: str, n: int) -> bool:
    parsed = parse_answer(text, n, strict=False)
    return bool(parsed.clusters) and not (parsed.kinds() & {"missing", "duplicate", "out_of_range", "no_clusters"})


def summarize(records: list[dict], args: argparse.Namespace, mode: str) -> None:
    n = len(records)
    if not n:
        return
    ok = [r for r in records if not r["failed"]]
    print(f"\nmodel {args.model} at {args.base_url}, prompt {args.prompt}, constrain={mode}, {n} runs, "
          f"temperature {args.temperature}")
    print("| stage | valid runs | rate |\n|---|---:|---:|")
    for name, count in [
        ("first answer, strict (App. D)", sum(r["first_strict_valid"] for r in records)),
        ("first answer, usable (format slips repaired)", sum(r["first_usable"] for r in records)),
        ("after re-ask (<= 2)", sum(1 for r in ok if not r["salvaged"])),
        ("after salvage: every text placed once", len(ok)),
        ("... of which no text in 'Unplaced'", sum(1 for r in ok if r["unplaced"] == 0)),
    ]:
        print(f"| {name} | {count}/{n} | {count / n:.0%} |")
    secs = [r["seconds"] for r in records]
    vs = [r["v_measure"] for r in ok if r.get("v_measure") is not None]
    calls = [r.get("calls", 0) for r in ok]
    print(f"\nmean seconds per run {statistics.mean(secs):.1f} (median {statistics.median(secs):.1f}); "
          f"mean model calls {statistics.mean(calls) if calls else 0:.2f}; "
          f"mean V-measure vs labels {statistics.mean(vs) * 100 if vs else float('nan'):.1f}; "
          f"mean reasoning {statistics.mean(r['think_chars'] for r in records):.0f} characters")


if __name__ == "__main__":
    main()

"""``cluster-r1 eval``: wire with ``register(subparsers)`` from the main CLI."""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends.dialects import SERVER_KINDS
from ..redact import redact_url

if TYPE_CHECKING:
    from ..backends.base import Backend

__all__ = ["register", "run_eval"]


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``eval --bench DIR --method M[,M...] --out DIR [...]`` to an argparse ``subparsers`` object."""
    p = subparsers.add_parser("eval", help="evaluate methods on a benchmark built by `bench build`")
    p.add_argument("--bench", required=True, help="benchmark folder (cluster-r1 bench build --out BENCH_DIR)")
    from ..methods import methods

    p.add_argument("--method", required=True, help="comma-separated: " + "; ".join(
        f"{m.name}: {m.summary}" for m in methods("eval")))
    p.add_argument("--split", default="C0,C1,C2", help="comma-separated splits (default C0,C1,C2)")
    p.add_argument("--task", action="append", default=None, help="only this task (repeatable)")
    p.add_argument("--limit", type=_positive_int, default=None, help="a seeded random subset of N examples")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit subset (default 0)")
    p.add_argument("--concurrency", type=_positive_int, default=1, help="examples run at once (default 1)")
    p.add_argument("--out", required=True, help="results folder: results.json, table.md, results.csv")
    s = p.add_argument_group("model server for the agent (any OpenAI-compatible)")
    s.add_argument("--base-url", help="e.g. http://127.0.0.1:8080/v1 (env CLUSTER_R1_BASE_URL)")
    s.add_argument("--model", help="model name on the server (env CLUSTER_R1_MODEL)")
    s.add_argument("--timeout", type=float, default=600.0, help="seconds per request (default 600)")
    s.add_argument("--max-retries", type=int, default=3, help="retries on 429/5xx/timeouts (default 3)")
    s.add_argument("--context-window", type=_positive_int, help="model context in tokens, to fail early")
    s.add_argument("--server-kind", default="auto", choices=SERVER_KINDS,
                   help="constrained-decoding dialect of the server (default auto: detected)")
    s.add_argument("--cache", default=None, help="response cache (SQLite; default OUT/responses.sqlite)")
    s.add_argument("--no-cache", action="store_true", help="call the model for every request")
    s.add_argument("--checkpoint", help="evaluate a local checkpoint instead of a server: a trained run's final/ "
                   "folder, a Hub id or a .gguf file, run in-process with transformers")
    s.add_argument("--checkpoint-dtype", choices=("float32", "bfloat16"), default=None,
                   help="weights of --checkpoint (default bfloat16 on a GPU, float32 on CPU; bfloat16 is several "
                   "times faster on CPUs with AMX)")
    e = p.add_argument_group("engine (where the embeddings are computed)")
    e.add_argument("--engine", choices=("local", "ray"), default="local",
                   help='local (default) or ray: the embeddings by actors on a Ray cluster (pip install "cluster-r1[ray]")')
    e.add_argument("--ray-address", metavar="ADDR", help="the Ray cluster (default: RAY_ADDRESS, else a local one)")
    e.add_argument("--ray-embed-actors", metavar="N", type=_positive_int, help="embedding actors (default: one per CPU)")
    a = p.add_argument_group("agent")
    a.add_argument("--prompt", default="named", choices=["named", "paper", "hint"], help="prompt (default named)")
    a.add_argument("--max-reasks", type=int, default=2, help="re-asks after an invalid answer (default 2)")
    a.add_argument("--strict", action="store_true", help="re-ask on any format slip (paper App. D)")
    a.add_argument("--no-salvage", action="store_true", help="no follow-up placement of leftover items")
    a.add_argument("--max-tokens", type=_positive_int, default=4096, help="tokens per reply (default 4096)")
    a.add_argument("--temperature", type=float, default=0.0)
    a.add_argument("--agent-seed", type=int, default=0, help="seed sent with every request (default 0)")
    a.add_argument("--think-chars", type=int, default=1800,
                   help="agent-constrained: most reasoning characters the grammar admits (default 1800)")
    e = p.add_argument_group("embedding methods")
    e.add_argument("--embedder", default=None, help="default: the bundled all-MiniLM-L6-v2")
    e.add_argument("--embed-cache", default=None, help="embedding cache folder (default ~/.cache/cluster-r1)")
    e.add_argument("--random-state", type=int, default=43, help="K-means/GMM seed (paper: 43)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no table on the terminal")
    p.add_argument("-v", "--verbose", action="store_true", help="log every step")
    p.set_defaults(func=run_eval)
    return p


class _TruncationCounter(logging.Filter):
    """Folds the encoder's per-call truncation warnings into one count (kept in results.json)."""

    pattern = re.compile(r"^(\d+) of \d+ texts exceed")

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0
        self.calls = 0

    def filter(self, record: logging.LogRecord) -> bool:
        m = self.pattern.match(record.getMessage())
        if m is None:
            return True
        self.texts += int(m.group(1))
        self.calls += 1
        return False


def _command(args: argparse.Namespace, methods: list[str], splits: list[str]) -> str:
    """The run as one explicit command line (defaults spelled out), for results.json."""
    parts = ["cluster-r1", "eval", "--bench", str(args.bench), "--method", ",".join(methods),
             "--split", ",".join(s.upper() for s in splits)]
    for task in args.task or []:
        parts += ["--task", task]
    if args.limit is not None:
        parts += ["--limit", str(args.limit), "--seed", str(args.seed)]
    parts += ["--concurrency", str(args.concurrency)]
    needs_model = bool({"agent", "agent-constrained", "assist"} & set(methods))
    if needs_model and args.checkpoint:
        parts += ["--checkpoint", str(args.checkpoint)]
        if args.checkpoint_dtype:
            parts += ["--checkpoint-dtype", args.checkpoint_dtype]
    elif needs_model:
        base_url = args.base_url or os.environ.get("CLUSTER_R1_BASE_URL", "")
        model = args.model or os.environ.get("CLUSTER_R1_MODEL", "")
        parts += ["--base-url", redact_url(base_url), "--model", model]
    if {"agent", "agent-constrained"} & set(methods):
        parts += ["--prompt", args.prompt, "--max-reasks", str(args.max_reasks), "--max-tokens", str(args.max_tokens),
                  "--temperature", str(args.temperature), "--agent-seed", str(args.agent_seed),
                  "--think-chars", str(args.think_chars)]
        parts += ["--strict"] * args.strict + ["--no-salvage"] * args.no_salvage + ["--no-cache"] * args.no_cache
    if set(methods) - {"agent", "agent-constrained"}:
        parts += ["--random-state", str(args.random_state)]
        if args.embedder:
            parts += ["--embedder", args.embedder]
    parts += ["--out", str(args.out)]
    return shlex.join(parts)


def _backend(args: argparse.Namespace, out: Path) -> Backend:
    """The model the methods ask: a local checkpoint or a server, behind OUT/responses.sqlite unless --no-cache."""
    from ..api import make_backend
    from ..backends.cached import CachedBackend

    backend: Backend
    if args.checkpoint:
        from ..backends.transformers_local import TransformersBackend

        backend = TransformersBackend(args.checkpoint, max_new_tokens=args.max_tokens,
                                      context_window=args.context_window, dtype=args.checkpoint_dtype)
        if not args.no_cache:
            # the weights' modification time in the key: retraining into the same folder invalidates old replies
            weights = sorted(Path(args.checkpoint).glob("*.safetensors")) if Path(args.checkpoint).is_dir() else []
            stamp = max((w.stat().st_mtime_ns for w in weights), default=0)
            dtype = f":{args.checkpoint_dtype}" if args.checkpoint_dtype else ""
            backend = CachedBackend(backend, args.cache or out / "responses.sqlite",
                                    namespace=f"transformers:{stamp}{dtype}",
                                    required=bool(args.cache))
        return backend
    backend = make_backend(base_url=args.base_url, model=args.model, timeout=args.timeout,
                           max_retries=args.max_retries, concurrency=args.concurrency,
                           context_window=args.context_window, server_kind=args.server_kind)
    if not args.no_cache:
        backend = CachedBackend(backend, args.cache or out / "responses.sqlite", required=bool(args.cache))
    return backend


def run_eval(args: argparse.Namespace) -> int:
    """Run ``eval`` from parsed arguments: write the results and print the table."""
    import json

    from rich.console import Console
    from rich.progress import Progress

    from ..engine import make_engine, using
    from ..errors import ConfigError
    from ..io import check_cache_dir
    from ..methods import get_method
    from ..notices import drain as drain_notices
    from . import METHOD_NAMES, evaluate, load_examples, make_method, parse_splits, write_results

    engine = make_engine(args.engine, address=args.ray_address, embed_actors=args.ray_embed_actors)
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHOD_NAMES]
    if unknown or not methods:
        raise ConfigError(f"unknown method(s) {unknown or args.method!r}: choose from {', '.join(METHOD_NAMES)}")
    splits = parse_splits(args.split)
    examples = load_examples(args.bench, splits, tasks=args.task, limit=args.limit, seed=args.seed)
    out = Path(args.out)
    if args.checkpoint and args.base_url:
        raise ConfigError("pass either --checkpoint (a local model) or --base-url (a server), not both")
    needs_model = any(get_method(m, "eval").model == "required" for m in methods)
    backend = _backend(args, out) if needs_model else None
    agent_options = {"prompt": args.prompt, "max_reasks": args.max_reasks, "strict": args.strict,
                     "salvage": not args.no_salvage, "max_tokens": args.max_tokens,
                     "temperature": args.temperature, "seed": args.agent_seed, "think_chars": args.think_chars}
    embed_cache = check_cache_dir(args.embed_cache, "--embed-cache") if args.embed_cache else None
    built = [make_method(m, backend=backend, agent_options=agent_options, embedder=args.embedder,
                         embed_cache_dir=embed_cache, random_state=args.random_state) for m in methods]
    manifest = Path(args.bench) / "manifest.json"
    bench_seed = json.loads(manifest.read_text(encoding="utf-8")).get("seed") if manifest.is_file() else None
    console = Console(stderr=True, quiet=args.quiet)
    truncation = _TruncationCounter()
    embed_log = logging.getLogger("cluster_r1.embed.embedders")
    if not args.verbose:
        embed_log.addFilter(truncation)
    with Progress(console=console, transient=True, disable=args.quiet) as progress, using(engine):
        bar = progress.add_task("evaluating", total=len(built) * len(examples))
        results = evaluate(
            built,
            examples,
            concurrency=args.concurrency,
            command=_command(args, methods, splits),
            seeds={"bench": bench_seed, "subset": args.seed if args.limit else None,
                   "random_state": args.random_state, "agent": args.agent_seed if backend is not None else None},
            config={"bench": str(args.bench), "splits": splits, "tasks": args.task, "limit": args.limit,
                    "agent": agent_options if backend is not None else None, "embedder": args.embedder or "minilm"},
            on_record=lambda _: progress.advance(bar),
        )
    embed_log.removeFilter(truncation)
    results["argv"] = sys.argv
    notes = drain_notices() + engine.notes()  # a damaged or unusable cache: already one line on the terminal
    if truncation.texts:
        notes.insert(0, f"{truncation.texts} text(s) in {truncation.calls} encoder call(s) exceeded the encoder's "
                     "window and were truncated (counted when encoded, not on embedding-cache hits; "
                     "the paper filters long inputs with tiktoken instead)")
        console.print(notes[0])
    if notes:
        results["notes"] = notes
    paths = write_results(out, results)
    if not args.quiet:
        print(paths["table.md"].read_text(encoding="utf-8"))
        print(f"{len(examples)} examples x {len(built)} method(s) in {results['wall_seconds']:.1f} s; "
              f"written to {out}")
    return 0

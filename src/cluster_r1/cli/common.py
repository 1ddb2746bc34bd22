"""What the subcommands share: argument types, the model-server, cache and report options, the backend they
describe, and the writing of a result. Every subcommand module imports from here; this module imports none of them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends.base import Backend
from ..backends.dialects import SERVER_KINDS

if TYPE_CHECKING:
    from ..engine import Engine
    from ..types import Clustering

__all__ = ["positive_int", "count", "seconds", "add_server_arguments", "backend_from_args", "add_engine_arguments",
           "engine_from_args", "add_ray_llm_arguments", "add_cache_arguments",
           "cache_options", "add_report_arguments", "check_outputs", "write_result"]


def _whole(value: str, low: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {value!r}") from None
    if n < low:
        raise argparse.ArgumentTypeError(f"must be a whole number >= {low}, got {n}")
    return n


def positive_int(value: str) -> int:
    """argparse type: a whole number >= 1 (its errors read "must be a whole number >= 1, got 'x'")."""
    return _whole(value, 1)


def count(value: str) -> int:
    """argparse type: a whole number >= 0."""
    return _whole(value, 0)


def seconds(value: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {value!r}") from None
    if not x > 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {value!r}")
    return x


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--ray-address``, ``--ray-embed-actors``: where batch work runs."""
    from ..engine import ENGINES

    e = parser.add_argument_group("engine (where the batch work runs: this process, or a Ray cluster)")
    e.add_argument("--engine", choices=ENGINES, default="local",
                   help="local (default): this process; ray: embeddings computed by actors on a Ray cluster "
                        '(pip install "cluster-r1[ray]"), the same clusters as local')
    e.add_argument("--ray-address", metavar="ADDR",
                   help="the Ray cluster to connect to (default: RAY_ADDRESS if set, else a local instance)")
    e.add_argument("--ray-embed-actors", metavar="N", type=positive_int,
                   help="actors that embed the texts, each loading the encoder once (default: one per CPU)")
    e.add_argument("--ray-call-actors", metavar="N", type=positive_int,
                   help="actors that make the model calls, each with --concurrency calls at once, the response cache "
                        "staying on this machine (default: one per CPU)")


def add_ray_llm_arguments(parser: argparse.ArgumentParser) -> None:
    """``--ray-llm KIND:MODEL`` and its sizes: the model run inside the Ray cluster instead of a server."""
    e = parser.add_argument_group("a model inside the Ray cluster (GPU nodes; instead of --base-url)")
    e.add_argument("--ray-llm", metavar="vllm:MODEL", type=_ray_llm_spec,
                   help='vLLM engines on the cluster\'s GPUs through Ray Data\'s LLM processor (pip install '
                        '"ray[llm]==2.60.0" on the GPU nodes; needs --engine ray): for the large-corpus pipeline\'s '
                        "batched calls; the agent on one window is better served by a server (--base-url)")
    e.add_argument("--ray-llm-replicas", metavar="N", type=positive_int, default=1,
                   help="vLLM engines (default 1)")
    e.add_argument("--ray-llm-gpus", metavar="N", type=positive_int, default=1,
                   help="GPUs per engine, tensor parallel (default 1)")


def _ray_llm_spec(value: str) -> str:
    from ..engine.ray_llm import parse_ray_llm
    from ..errors import ConfigError

    try:
        parse_ray_llm(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--ray-llm takes ")) from None
    return value


def engine_from_args(args: argparse.Namespace) -> Engine:
    """The engine the ``engine`` group describes (:func:`cluster_r1.engine.make_engine`)."""
    from ..engine import make_engine

    return make_engine(args.engine, address=args.ray_address, embed_actors=args.ray_embed_actors,
                       call_actors=getattr(args, "ray_call_actors", None))


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The model-server options shared by ``cluster`` and ``assign``."""
    s = parser.add_argument_group("model server (any OpenAI-compatible: vLLM, llama.cpp, Ollama, SGLang, OpenAI)")
    s.add_argument("--base-url", help="e.g. http://127.0.0.1:8000/v1 (env CLUSTER_R1_BASE_URL)")
    s.add_argument("--model", help="model name on the server (env CLUSTER_R1_MODEL); key: env CLUSTER_R1_API_KEY")
    s.add_argument("--timeout", type=seconds, default=600.0, help="seconds per request (default 600)")
    s.add_argument("--max-retries", type=count, default=3, help="retries on 429/5xx/timeouts (default 3)")
    s.add_argument("--concurrency", type=positive_int, default=4, help="parallel requests (default 4)")
    s.add_argument("--context-window", type=positive_int, help="model context in tokens (default: as the server "
                   "says, else 8192 assumed)")
    s.add_argument("--server-kind", default="auto", choices=SERVER_KINDS,
                   help="the server's constrained-decoding dialect (default auto: detected); none = no constraints")


def backend_from_args(args: argparse.Namespace, engine: Engine | None = None) -> Backend:
    """The backend the server options describe (the OpenAI-compatible server, or with ``--ray-llm`` a model inside
    the Ray ``engine``), behind the response cache unless --no-cache."""
    from ..api import make_backend

    backend: Backend
    if getattr(args, "ray_llm", None):
        from ..engine.ray_llm import ray_llm_backend

        backend = ray_llm_backend(args.ray_llm, engine, replicas=args.ray_llm_replicas,
                                  gpus_per_replica=args.ray_llm_gpus)
    else:
        backend = make_backend(base_url=args.base_url, model=args.model, timeout=args.timeout,
                               max_retries=args.max_retries, concurrency=args.concurrency,
                               context_window=args.context_window, server_kind=args.server_kind)
    if not getattr(args, "no_cache", False):
        from ..backends.cached import CachedBackend
        from ..embed.cache import default_cache_dir

        named = getattr(args, "cache_dir", None)
        backend = CachedBackend(backend, (named or default_cache_dir()) / "responses.sqlite", required=bool(named))
    return backend


def add_cache_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, replies: bool = True) -> None:
    """``--cache-dir`` and ``--no-cache``, shared by the subcommands that embed texts or call a model."""
    what = "embeddings and model replies" if replies else "embeddings"
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help=f"cache {what} here (default: $CLUSTER_R1_CACHE_DIR or ~/.cache/cluster-r1, skipped with a "
                        "note where unusable; a DIR named here must be writable)")
    parser.add_argument("--no-cache", action="store_true",
                        help=f"do not cache {what} on disk (default: cached, so an interrupted run resumes without "
                        "repeating finished calls)")


def cache_options(args: argparse.Namespace) -> Path | bool | None:
    """The ``cache_dir`` the embedding functions take: False (off), the named folder (checked now), or None (default)."""
    if getattr(args, "no_cache", False):
        return False
    if getattr(args, "cache_dir", None) is not None:
        from ..io import check_cache_dir

        args.cache_dir = check_cache_dir(args.cache_dir)
        return args.cache_dir
    return None


def add_report_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument("--report", metavar="FILE.html", help="also write a self-contained HTML report here")
    parser.add_argument("--labels", metavar="FILE", help="gold labels, one per text in order (.txt one per line, or "
                        ".jsonl/.csv with a 'label' field): the report shows V, NMI, ARI and a contingency heatmap")


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an unwritable ``-o``, ``--report`` or ``--save`` before any work (one line each)."""
    from ..io import check_output_path, check_save_path

    if getattr(args, "format", "json") == "parquet":
        if args.output:  # a folder of shards and result.json
            if Path(args.output).is_file():
                from ..errors import InputError

                raise InputError(f"-o {args.output}: it is a file; --format parquet writes a folder (rows/ and "
                                 "result.json)")
            check_output_path(Path(args.output) / "result.json")
    else:
        check_output_path(args.output)
    if getattr(args, "report", None):
        check_output_path(args.report)
    if getattr(args, "save", None):
        check_save_path(args.save)


def write_result(args: argparse.Namespace, result: Clustering) -> None:
    """The result's JSON to ``-o`` (atomically) or to stdout."""
    from ..errors import OutputError
    from ..io import write_atomic

    if args.output:
        write_atomic(args.output, result.to_json() + "\n")
        return
    try:
        sys.stdout.write(result.to_json() + "\n")
        sys.stdout.flush()
    except OSError as exc:
        raise OutputError(f"cannot write the result to standard output ({(exc.strerror or str(exc)).lower()}); "
                          "write it to a file with -o PATH") from None

"""Command line: parse arguments, call the library, print. Nothing else lives here."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import __version__
from .backends.dialects import SERVER_KINDS
from .cli_args import add_cache_arguments, cache_options
from .errors import ClusterR1Error, ConfigError

if TYPE_CHECKING:
    from .types import Clustering

__all__ = ["main"]


def _positive_int(value: str) -> int:
    """argparse type: a whole number >= 1 (its errors read "must be a whole number >= 1, got 'x'")."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {n}")
    return n


def _count(value: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {n}")
    return n


def _seconds(value: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {value!r}") from None
    if not x > 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {value!r}")
    return x


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The model-server options shared by ``cluster`` and ``assign``."""
    s = parser.add_argument_group("model server (any OpenAI-compatible: vLLM, llama.cpp, Ollama, SGLang, OpenAI)")
    s.add_argument("--base-url", help="e.g. http://127.0.0.1:8000/v1 (env CLUSTER_R1_BASE_URL)")
    s.add_argument("--model", help="model name on the server (env CLUSTER_R1_MODEL); key: env CLUSTER_R1_API_KEY")
    s.add_argument("--timeout", type=_seconds, default=600.0, help="seconds per request (default 600)")
    s.add_argument("--max-retries", type=_count, default=3, help="retries on 429/5xx/timeouts (default 3)")
    s.add_argument("--concurrency", type=_positive_int, default=4, help="parallel requests (default 4)")
    s.add_argument("--context-window", type=_positive_int, help="model context in tokens (default: as the server "
                   "says, else 8192 assumed)")
    s.add_argument("--server-kind", default="auto", choices=SERVER_KINDS,
                   help="the server's constrained-decoding dialect (default auto: detected); none = no constraints")


def backend_from_args(args: argparse.Namespace) -> object:
    """The OpenAI-compatible backend the server options describe, behind the response cache unless --no-cache."""
    from .api import make_backend

    backend = make_backend(base_url=args.base_url, model=args.model, timeout=args.timeout,
                           max_retries=args.max_retries, concurrency=args.concurrency,
                           context_window=args.context_window, server_kind=args.server_kind)
    if not getattr(args, "no_cache", False):
        from .backends.cached import CachedBackend
        from .embed.cache import default_cache_dir

        named = getattr(args, "cache_dir", None)
        backend = CachedBackend(backend, (named or default_cache_dir()) / "responses.sqlite", required=bool(named))
    return backend


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cluster-r1", description="Instruction-following text clustering (Cluster-R1)."
    )
    parser.add_argument("--version", action="version", version=f"cluster-r1 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("cluster", help="cluster the texts of a file as an instruction says")
    c.add_argument("input", help="a .txt (one text per line), .jsonl or .csv file")
    c.add_argument("--instruction", "-i", required=True, help='e.g. "cluster these tickets by root cause"')
    c.add_argument("-o", "--output", help="write the JSON result here (default: stdout)")
    c.add_argument(
        "--method",
        default="auto",
        choices=["auto", "agent", "embed"],
        help="agent (LLM server), embed (offline embeddings), auto (default): agent if a server is configured",
    )
    c.add_argument("--n-clusters", type=_positive_int, help="ask for exactly this many clusters")
    c.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    c.add_argument("--text-column", default="text", help="CSV column holding the text (default: text)")
    add_server_arguments(c)
    a = c.add_argument_group("agent")
    a.add_argument("--prompt", default="named", choices=["named", "paper", "hint"], help="prompt template")
    a.add_argument("--max-reasks", type=_count, default=2, help="re-asks after an invalid answer (default 2)")
    a.add_argument("--strict", action="store_true", help="re-ask on any format slip (paper App. D)")
    a.add_argument("--no-salvage", action="store_true", help="fail instead of placing leftovers by follow-up")
    a.add_argument("--samples", type=_positive_int, default=1, help="self-consistency samples (default 1)")
    a.add_argument("--max-tokens", type=_positive_int, default=4096, help="tokens per reply (default 4096)")
    a.add_argument("--temperature", type=float, default=0.0)
    a.add_argument("--constrain", default="auto", choices=["auto", "items", "lists", "off"],
                   help="auto (default): where the server constrains decoding, one 'ITEM: clusterK' line per item "
                   "under a grammar (a complete partition by construction); lists: the paper's format under a grammar; "
                   "off: the paper's protocol, unconstrained")
    a.add_argument("--think-chars", type=_count, default=1800,
                   help="most reasoning characters a constraint admits (default 1800; 0 = no reasoning)")
    a.add_argument("--max-text-chars", type=_positive_int, default=4000,
                   help="texts longer than this are cut in prompts, with a note (default 4000)")
    e = c.add_argument_group("embeddings (--method embed)")
    e.add_argument("--embedder", help="sentence-transformers name or path, or openai:MODEL (default: bundled MiniLM)")
    e.add_argument("--template", default="auto", help="instruction template: auto, sentence-transformers, qwen, "
                   "instructor, openai, inbedder, none")
    e.add_argument("--view", default="auto", choices=["auto", "semantic", "style", "language"],
                   help="what to cluster: 'semantic' = what texts say (the encoder), 'style' = how they are written "
                   "(layout, capitalisation, punctuation), 'language' = which language they are in (letter "
                   "sequences); 'auto' (default) = chosen from the instruction")
    e.add_argument("--algorithm", default="auto",
                   help="kmeans (silhouette k), gmm (BIC k), agglomerative, hdbscan, spectral (eigengap k), "
                   "best-silhouette (kmeans or spectral, whichever separates better); auto: kmeans, spectral "
                   "for the language view")
    e.add_argument("--min-k", type=_positive_int, default=2, help="smallest k to consider (default 2)")
    e.add_argument("--max-k", type=_positive_int, help="largest k to consider")
    add_cache_arguments(e)
    e.add_argument(
        "--assist",
        choices=["categories", "answers"],
        help="with a model server: 'categories' = the model names the embedding clusters under the instruction, "
        "then picks one of those categories per text; 'answers' = embed the model's short answer per text "
        "(InBedder-style)",
    )
    e.add_argument("--llm-names", action="store_true", help="with a model server: the model names the clusters")
    e.add_argument(
        "--category",
        action="append",
        metavar="NAME[: DESCRIPTION]",
        help="with a model server: your own category (repeat for each, at least 2); the model puts every text "
        "in one of them (implies --assist categories)",
    )
    g = c.add_argument_group("large corpora (the agent beyond one context window)")
    g.add_argument("--assign", default="auto", choices=["auto", "llm", "hybrid", "embed"],
                   help="how every text is placed into the taxonomy: llm (the model classifies every text), hybrid (the "
                   "model labels a sample and the uncertain texts, a classifier the rest), embed (nearest topic); "
                   "auto (default): llm up to 2,000 texts, else hybrid; embed where the topics are the embedding clusters the "
                   "model named")
    g.add_argument("--propose", default="auto", choices=["auto", "windows", "clusters"],
                   help="where the taxonomy comes from: windows (the agent clusters windows of representative texts, "
                   "the model merges what they found), clusters (the embedding clusters, each named by the model; "
                   "clusters of the same name merged) or auto (default): windows, and clusters where the model's "
                   "window answers disagree with its own one-at-a-time answers")
    g.add_argument("--window-items", type=_positive_int, default=40,
                   help="most texts the agent reads at once (default 40); more texts run the large-corpus pipeline")
    c.add_argument("--save", metavar="DIR", help="save the clusterer here, to place new texts with cluster-r1 assign")
    from .report.cli import add_report_arguments

    add_report_arguments(c)
    c.add_argument("-q", "--quiet", action="store_true", help="no summary or progress on the terminal")
    c.add_argument("-v", "--verbose", action="store_true", help="log every step")
    c.set_defaults(func=_cluster)

    from .bench.cli import register as register_bench

    register_bench(sub)
    from .train.cli import register as register_train
    register_train(sub)
    from .evaluation.cli import register as register_eval
    register_eval(sub)
    from .scale.cli import register as register_assign
    register_assign(sub)
    from .report.cli import register as register_report
    register_report(sub)
    return parser


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an unwritable ``-o``, ``--report`` or ``--save`` before any work (one line each)."""
    from .io import check_output_path, check_save_path

    check_output_path(args.output)
    if getattr(args, "report", None):
        check_output_path(args.report)
    if getattr(args, "save", None):
        check_save_path(args.save)


def write_result(args: argparse.Namespace, result: Clustering) -> None:
    """The result's JSON to ``-o`` (atomically) or to stdout."""
    from .errors import OutputError
    from .io import write_atomic

    if args.output:
        write_atomic(args.output, result.to_json() + "\n")
        return
    try:
        sys.stdout.write(result.to_json() + "\n")
        sys.stdout.flush()
    except OSError as exc:
        raise OutputError(f"cannot write the result to standard output ({(exc.strerror or str(exc)).lower()}); "
                          "write it to a file with -o PATH") from None


def _cluster(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .api import cluster_texts, server_configured
    from .io import read_texts
    from .report.terminal import print_summary

    console = Console(stderr=True, quiet=args.quiet)
    check_outputs(args)
    cache_dir = cache_options(args)
    texts = read_texts(args.input, text_field=args.text_field, text_column=args.text_column)
    backend = None
    if args.category:
        if args.assist == "answers":
            raise ConfigError("--category goes with --assist categories, not answers: drop one of the two")
        args.assist = "categories"
    if (args.assist or args.llm_names) and args.method == "auto":
        args.method = "embed"  # assisting is a mode of the embedding method
    if args.method == "agent" and (args.assist or args.llm_names):
        raise ConfigError("--assist, --category and --llm-names belong to --method embed; drop them or use --method embed")
    if args.method == "embed" and (args.assist or args.llm_names) and not server_configured(args.base_url):
        raise ConfigError("--assist, --category and --llm-names need a model server: pass --base-url URL --model NAME")
    if args.method == "agent" or server_configured(args.base_url):
        backend = backend_from_args(args)
    options = dict(
        prompt=args.prompt,
        max_reasks=args.max_reasks,
        strict=args.strict,
        salvage=not args.no_salvage,
        samples=args.samples,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        max_text_chars=args.max_text_chars,
        constrain=args.constrain,
        think_chars=args.think_chars,
    )
    embed_options = dict(
        embedder=args.embedder,
        template=args.template,
        view=args.view,
        algorithm=args.algorithm,
        min_k=args.min_k,
        max_k=args.max_k,
        cache_dir=cache_dir,
    )
    if args.assist or args.llm_names:
        embed_options.update(assist=args.assist, llm_names=args.llm_names)
    if args.category:
        embed_options["categories"] = args.category
    from .report.progress import StageProgress
    from .scale.pipeline import ScaleOptions

    scale = ScaleOptions(assign=args.assign, propose=args.propose, max_window_items=args.window_items)
    keep: dict = {}
    with StageProgress(console, quiet=args.quiet) as progress:
        embed_options["progress"] = progress
        result = cluster_texts(
            texts,
            args.instruction,
            method=args.method,
            backend=backend,
            n_clusters=args.n_clusters,
            agent_options=options,
            embed_options=embed_options,
            scale_options=scale,
            on_event=lambda msg: progress("agent", 0, 1, msg),
            progress=progress,
            keep=keep,
        )
    embed_options.pop("progress")
    if args.save:
        from .scale.saved import model_from_result, save

        model = keep.get("model") or model_from_result(texts, result, args.instruction, embed_options=embed_options,
                                                       vectors=keep.get("vectors"))
        where = save(model, args.save)
        result.notes.append(f"clusterer saved to {where.parent}: place new texts with cluster-r1 assign")
    write_result(args, result)
    if args.report:
        from .report.cli import write_for

        write_for(args.report, result, texts, args.instruction, labels=args.labels, vectors=keep.get("vectors"),
                  embed_options=embed_options)
    if not args.quiet:
        # The result is written: nothing in the summary may change the exit status.
        try:
            print_summary(result, texts, console)
        except Exception as exc:  # noqa: BLE001
            logging.getLogger(__name__).warning("could not print the summary (%s: %s)", type(exc).__name__, exc)
    return 0


def _safe(message: str, args: argparse.Namespace) -> str:
    """An error line as printed: secrets masked, control characters visible, one line."""
    from .redact import known_secrets, redact
    from .report.terminal import printable

    secrets = known_secrets(getattr(args, "base_url", None), getattr(args, "labeler_base_url", None))
    return printable(redact(message, secrets))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .report.terminal import PrintableFormatter

    handler = logging.StreamHandler()
    handler.setFormatter(PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING, handlers=[handler])
    try:
        return int(args.func(args))
    except ClusterR1Error as exc:
        print(f"cluster-r1: error: {_safe(str(exc), args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cluster-r1: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

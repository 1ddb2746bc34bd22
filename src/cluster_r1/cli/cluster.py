"""``cluster-r1 cluster FILE -i INSTRUCTION``: cluster the texts of a file (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..agent.options import AgentOptions
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..embed.options import EmbedOptions
from ..methods import ASSIST_MODES, methods, resolve
from .common import (
    add_cache_arguments,
    add_engine_arguments,
    add_ray_llm_arguments,
    add_report_arguments,
    add_server_arguments,
    backend_from_args,
    cache_options,
    check_outputs,
    count,
    engine_from_args,
    positive_int,
    write_result,
)

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("cluster", help="cluster the texts of a file as an instruction says",
                       description="Cluster the texts of a file as an instruction says: offline by default, with the "
                       "reasoning agent where a model server is given (--base-url).")
    io = c.add_argument_group("input and output")
    io.add_argument("input", help="a .txt (one text per line), .jsonl or .csv file")
    io.add_argument("--instruction", "-i", required=True, help='e.g. "cluster these tickets by root cause"')
    io.add_argument("-o", "--output", help="write the JSON result here (default: stdout); with --format parquet, a folder")
    io.add_argument("--format", choices=("json", "parquet"), default="json",
                    help="json (default); parquet (with --engine ray): -o DIR gets one row per text (text, label, "
                         "cluster) in Parquet shards written by the cluster, DIR/rows/, and DIR/result.json")
    io.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    io.add_argument("--text-column", default="text", help="CSV column holding the text (default: text)")
    io.add_argument("-q", "--quiet", action="store_true", help="no summary or progress on the terminal")
    io.add_argument("-v", "--verbose", action="store_true", help="log every step")
    m = c.add_argument_group("method")
    m.add_argument("--method", default="auto", choices=[x.name for x in methods("cli")], metavar="METHOD",
                   help="; ".join(f"{x.name}: {x.summary}" for x in methods("cli")) + " (default auto)")
    m.add_argument("--n-clusters", type=positive_int, help="ask for exactly this many clusters")
    m.add_argument("--level", type=positive_int, metavar="N",
                   help="the answer at level N of the topic hierarchy (1: the top, fewest clusters; the notes list "
                        "the levels); default: the level the instruction asks for")
    m.add_argument("--assist", choices=ASSIST_MODES,
                   help="embeddings with a model server: 'categories' = the model names the embedding clusters under "
                   "the instruction, then picks one of those categories per text; 'answers' = embed the model's short "
                   "answer per text (InBedder-style)")
    m.add_argument("--llm-names", action="store_true", help="embeddings with a model server: the model names the "
                   "clusters")
    m.add_argument("--category", action="append", metavar="NAME[: DESCRIPTION]",
                   help="with a model server: your own category (repeat for each, at least 2); the model puts every "
                   "text in one of them (implies --assist categories)")
    add_server_arguments(c)
    a = c.add_argument_group("agent (the model reads the texts)")
    a.add_argument("--prompt", default="named", choices=["named", "paper", "hint"], help="prompt template")
    a.add_argument("--max-reasks", type=count, default=2, help="re-asks after an invalid answer (default 2)")
    a.add_argument("--strict", action="store_true", help="re-ask on any format slip (paper App. D)")
    a.add_argument("--no-salvage", action="store_true", help="fail instead of placing leftovers by follow-up")
    a.add_argument("--samples", type=positive_int, default=1, help="self-consistency samples (default 1)")
    a.add_argument("--max-tokens", type=positive_int, default=4096, help="tokens per reply (default 4096)")
    a.add_argument("--temperature", type=float, default=0.0)
    a.add_argument("--constrain", default="auto", choices=["auto", "items", "lists", "off"],
                   help="auto (default): where the server constrains decoding, one 'ITEM: clusterK' line per item "
                   "under a grammar (a complete partition by construction); lists: the paper's format under a grammar; "
                   "off: the paper's protocol, unconstrained")
    a.add_argument("--think-chars", type=count, default=1800,
                   help="most reasoning characters a constraint admits (default 1800; 0 = no reasoning)")
    a.add_argument("--max-text-chars", type=positive_int, default=4000,
                   help="texts longer than this are cut in prompts, with a note (default 4000)")
    e = c.add_argument_group("embeddings (the offline method, and the vectors every method uses)")
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
    e.add_argument("--min-k", type=positive_int, default=2, help="smallest k to consider (default 2)")
    e.add_argument("--max-k", type=positive_int, help="largest k to consider")
    g = c.add_argument_group("large corpora (the agent beyond one context window)")
    g.add_argument("--assign", default="auto", choices=["auto", "llm", "hybrid", "embed"],
                   help="how every text is placed into the taxonomy: llm (the model classifies every text), hybrid (the "
                   "model labels a sample and the uncertain texts, a classifier the rest), embed (nearest topic); "
                   "auto (default): llm up to 2,000 texts, else hybrid; embed where the topics are the embedding "
                   "clusters the model named")
    g.add_argument("--propose", default="auto", choices=["auto", "windows", "clusters"],
                   help="where the taxonomy comes from: windows (the agent clusters windows of representative texts, "
                   "the model merges what they found), clusters (the embedding clusters, each named by the model; "
                   "clusters of the same name merged) or auto (default): windows, and clusters where the model's "
                   "window answers disagree with its own one-at-a-time answers")
    g.add_argument("--window-items", type=positive_int, default=40,
                   help="most texts the agent reads at once (default 40); more texts run the large-corpus pipeline")
    add_engine_arguments(c)
    add_ray_llm_arguments(c)
    s = c.add_argument_group("saving, report and caches")
    s.add_argument("--save", metavar="DIR", help="save the clusterer here, to place new texts with cluster-r1 assign")
    add_report_arguments(s)
    add_cache_arguments(s)
    c.set_defaults(func=run_cluster)


def run_cluster(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..api import cluster_texts, server_configured
    from ..io import read_texts
    from ..report.terminal import print_summary

    console = Console(stderr=True, quiet=args.quiet)
    check_outputs(args)
    cache_dir = cache_options(args)
    engine = engine_from_args(args)
    server = server_configured(args.base_url) or bool(args.ray_llm)
    choice = resolve(args.method, assist=args.assist, llm_names=args.llm_names, categories=args.category,
                     server=server, scope="cli")
    offline = choice.family == "embed" or (choice.family == "auto" and not server)
    if engine.name == "ray" and offline and not choice.assisted:
        return _cluster_on_ray(args, engine, embed_settings(args, cache_dir), console)
    if args.format == "parquet":
        raise ConfigError("--format parquet writes its shards from a Ray cluster: add --engine ray with the offline "
                          "method, or write JSON")
    texts = read_texts(args.input, text_field=args.text_field, text_column=args.text_column)
    backend = None
    if choice.family == "agent" or server:
        backend = backend_from_args(args, engine)
    options = agent_options(args)
    settings = embed_settings(args, cache_dir)
    assisted: dict[str, Any] = {}
    if choice.assisted:
        assisted.update(assist=choice.assist, llm_names=choice.llm_names)
    if choice.categories:
        assisted["categories"] = choice.categories
    from ..corpus.context import ScaleOptions
    from ..report.progress import StageProgress

    scale = ScaleOptions(assign=args.assign, propose=args.propose, max_window_items=args.window_items)
    keep: dict = {}
    with StageProgress(console, quiet=args.quiet) as progress:
        result = cluster_texts(
            texts,
            args.instruction,
            method=choice.family,
            backend=backend,
            n_clusters=args.n_clusters,
            agent_options=options,
            embed_options={**replace(settings, progress=progress).kwargs(), **assisted},
            scale_options=scale,
            on_event=lambda msg: progress("agent", 0, 1, msg),
            progress=progress,
            keep=keep,
            engine=engine,
        )
    if args.level is not None:
        result = result.at_level(args.level)
    if args.save:
        from ..corpus.saved import model_from_result, save

        model = keep.get("model") or model_from_result(texts, result, args.instruction, embed_options=settings,
                                                       vectors=keep.get("vectors"))
        where = save(model, args.save)
        result.notes.append(f"clusterer saved to {where.parent}: place new texts with cluster-r1 assign")
    write_result(args, result)
    if args.report:
        from .report import write_for

        write_for(args.report, result, texts, args.instruction, labels=args.labels, vectors=keep.get("vectors"),
                  embed_options=settings)
    if not args.quiet:
        # The result is written: nothing in the summary may change the exit status.
        try:
            print_summary(result, texts, console)
        except Exception as exc:  # noqa: BLE001
            logging.getLogger(__name__).warning("could not print the summary (%s: %s)", type(exc).__name__, exc)
    return 0


def _cluster_on_ray(args: argparse.Namespace, engine: Any, settings: EmbedOptions, console: Any) -> int:
    """The offline method on a Ray cluster: the input read with Ray Data, never whole on this machine."""
    from ..embed.distributed import cluster_dataset, read_corpus
    from ..report.terminal import print_summary

    if args.save or args.report:
        raise ConfigError("--save and --report need every text on this machine: with --engine ray the texts stay "
                          "on the cluster; run them with --engine local")
    if args.format == "parquet" and not args.output:
        raise ConfigError("--format parquet needs -o DIR: the folder for the shards and result.json")
    column = args.text_field if str(args.input).lower().endswith((".jsonl", ".json")) else args.text_column
    from ..report.progress import StageProgress

    with StageProgress(console, quiet=args.quiet) as progress:
        progress("read", 0, 1, str(args.input))
        ds = read_corpus(args.input, text_column=column, engine=engine)
        progress("read", 1, 1, "with Ray Data")
        result = cluster_dataset(ds, args.instruction, n_clusters=args.n_clusters, options=settings, engine=engine,
                                 shards_to=Path(args.output) / "rows" if args.format == "parquet" else None,
                                 progress=progress)
    if args.level is not None:
        result = result.at_level(args.level)
    if args.format == "parquet":
        from ..io import write_atomic

        write_atomic(Path(args.output) / "result.json", result.to_json() + "\n")
    else:
        write_result(args, result)
    if not args.quiet:
        print_summary(result, None, console)
    return 0


def agent_options(args: argparse.Namespace) -> AgentOptions:
    """The agent's options from the ``agent`` group."""
    return AgentOptions(prompt=args.prompt, max_reasks=args.max_reasks, strict=args.strict, salvage=not args.no_salvage,
                samples=args.samples, max_tokens=args.max_tokens, temperature=args.temperature,
                max_text_chars=args.max_text_chars, constrain=args.constrain, think_chars=args.think_chars)


def embed_settings(args: argparse.Namespace, cache_dir: Any) -> EmbedOptions:
    """The embedding options from the ``embeddings`` group."""
    from ..embed.options import EmbedOptions

    return EmbedOptions(embedder=args.embedder, template=args.template, view=args.view, algorithm=args.algorithm,
                min_k=args.min_k, max_k=args.max_k, cache_dir=cache_dir)

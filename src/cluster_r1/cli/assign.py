"""``cluster-r1 assign DIR FILE``: place new texts into a saved clusterer (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import logging

from .common import (
    add_cache_arguments,
    add_engine_arguments,
    add_report_arguments,
    add_server_arguments,
    backend_from_args,
    cache_options,
    check_outputs,
    engine_from_args,
    write_result,
)

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assign", help="place new texts into the clusters of a saved clusterer (cluster ... --save DIR)")
    p.add_argument("clusterer", metavar="DIR", help="the folder written by cluster ... --save DIR")
    p.add_argument("input", metavar="FILE", help="a .txt (one text per line), .jsonl or .csv file of new texts")
    p.add_argument("-o", "--output", help="write the JSON result here (default: stdout)")
    p.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    p.add_argument("--text-column", default="text", help="CSV column holding the text (default: text)")
    p.add_argument("--assign", choices=["llm", "hybrid", "embed"],
                   help="embed (default without a server): the saved classifier or nearest topic; llm / hybrid (the "
                   "saved mode, with a server): the model classifies every / the least certain text")
    p.add_argument("--discover", action="store_true",
                   help="texts that fit no saved topic become new topics (new ids; the saved ids never change)")
    p.add_argument("--save", metavar="DIR", help="save the clusterer, with any new topics, here (may be DIR itself)")
    add_cache_arguments(p)
    add_report_arguments(p)
    add_server_arguments(p)
    add_engine_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on the terminal")
    p.add_argument("-v", "--verbose", action="store_true", help="log every step")
    p.set_defaults(func=run_assign)


def run_assign(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..api import server_configured
    from ..corpus.saved import load, place, save
    from ..engine import using
    from ..io import read_texts
    from ..report.terminal import print_summary

    console = Console(stderr=True, quiet=args.quiet)
    check_outputs(args)
    cache_dir = cache_options(args)
    engine = engine_from_args(args)
    model = load(args.clusterer)
    texts = read_texts(args.input, text_field=args.text_field, text_column=args.text_column)
    backend = backend_from_args(args) if server_configured(args.base_url) else None
    embed_options = {"cache_dir": cache_dir}
    with using(engine):  # the new texts' embeddings on the engine's workers
        result, model = place(model, texts, backend=backend, mode=args.assign, discover=args.discover,
                              embed_options=embed_options)
    result.notes.extend(engine.notes())
    if args.save:
        result.notes.append(f"clusterer saved to {save(model, args.save).parent}")
    write_result(args, result)
    if args.report:
        from .report import write_for

        write_for(args.report, result, texts, model.taxonomy.instruction, labels=args.labels, embed_options=embed_options)
    if not args.quiet:
        try:
            print_summary(result, texts, console)
        except Exception as exc:  # noqa: BLE001 - the result is written: the summary cannot fail the run
            logging.getLogger(__name__).warning("could not print the summary (%s: %s)", type(exc).__name__, exc)
    return 0

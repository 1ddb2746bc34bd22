"""``cluster-r1 report RESULT.json --input FILE -o REPORT.html``, and the ``--report`` option's writer (thin)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import add_cache_arguments, cache_options

if TYPE_CHECKING:
    from ..embed.options import EmbedOptions

__all__ = ["register", "write_for"]


def read_labels(path: str) -> list[str]:
    from ..io import read_texts

    return read_texts(path, text_field="label", text_column="label")


def write_for(path: str, result: Any, texts: Sequence[str], instruction: str, *, labels: str | None = None,
              vectors: Any = None, embed_options: EmbedOptions | dict[str, Any] | None = None) -> Path:
    """Write the HTML report for a finished result (embedding the texts for the map when no vectors are given)."""
    from ..corpus.pipeline import embed_corpus
    from ..report.html import write_report

    x = vectors[0] if vectors is not None else embed_corpus(texts, instruction, embed_options=embed_options)[0]
    gold = read_labels(labels) if labels else None
    return write_report(path, result, texts, vectors=x, labels_true=gold, instruction=instruction)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the HTML report of a saved result (cluster ... -o RESULT.json)")
    p.add_argument("result", metavar="RESULT.json", help="a result written by cluster ... -o or assign ... -o")
    p.add_argument("--input", required=True, help="the file that was clustered (the texts, in the same order)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.html", help="where to write the report")
    p.add_argument("--instruction", default="", help="the instruction, shown in the report and used for the map")
    p.add_argument("--labels", metavar="FILE", help="gold labels, one per text (see cluster --labels)")
    p.add_argument("--text-field", default="text")
    p.add_argument("--text-column", default="text")
    add_cache_arguments(p, replies=False)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..io import check_output_path, read_texts
    from ..types import Clustering

    check_output_path(args.output)
    cache_dir = cache_options(args)
    path = Path(args.result)
    if not path.is_file():
        raise InputError(f"{path}: no such result file; write one with cluster ... -o RESULT.json")
    try:
        result = Clustering.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{path} is not a cluster-r1 result ({str(exc)[:120]})") from None
    texts = read_texts(args.input, text_field=args.text_field, text_column=args.text_column)
    if len(texts) != result.n_texts:
        raise InputError(f"{args.input} holds {len(texts)} texts but the result {result.n_texts}: give the file that "
                         "was clustered")
    where = write_for(args.output, result, texts, args.instruction, labels=args.labels,
                      embed_options={"cache_dir": cache_dir})
    if not args.quiet:
        print(f"report written to {where}")
    return 0

"""Command line: parse arguments, call the library, print. Nothing else lives here.

One module per subcommand (``cluster``, ``assign``, ``report`` here; ``bench``, ``train`` and ``eval`` beside
their packages), the options they share in :mod:`cluster_r1.cli.common`; none imports this module.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import ClusterR1Error

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cluster-r1", description="Instruction-following text clustering (Cluster-R1)."
    )
    parser.add_argument("--version", action="version", version=f"cluster-r1 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from ..bench import cli as bench
    from ..evaluation import cli as evaluation
    from ..train import cli as train
    from . import assign, cluster, report

    for command in (cluster, bench, train, evaluation, assign, report):
        command.register(sub)
    return parser


def _safe(message: str, args: argparse.Namespace) -> str:
    """An error line as printed: secrets masked, control characters visible, one line."""
    from ..redact import known_secrets, redact
    from ..report.terminal import printable

    secrets = known_secrets(getattr(args, "base_url", None), getattr(args, "labeler_base_url", None))
    return printable(redact(message, secrets))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ..report.terminal import PrintableFormatter

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

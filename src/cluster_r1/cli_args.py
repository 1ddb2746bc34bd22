"""Argument groups shared by the subcommands (no imports of any subcommand: each CLI module imports from here)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_cache_arguments", "cache_options"]


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
        from .io import check_cache_dir

        args.cache_dir = check_cache_dir(args.cache_dir)
        return args.cache_dir
    return None

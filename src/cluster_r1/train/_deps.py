"""Optional dependencies of the training package, checked where they are used.

The core of cluster-r1 never imports these; a missing one raises an error that
names the exact ``pip`` command (torch is pinned so pip never replaces it).
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["PIP_TRAIN", "require"]

PIP_TRAIN = 'pip install "trl>=1.16" "peft>=0.21" "datasets>=5.2" "accelerate>=1.15" "transformers>=5.24" torch==2.13.0'
"""The command that installs the training extra (what ``pip install "cluster-r1[train]"`` would pull in)."""


def require(name: str, *, extra: str = PIP_TRAIN) -> ModuleType:
    """Import ``name`` or raise an :class:`ImportError` that says how to install it.

    >>> require("json").__name__
    'json'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(f"cluster-r1 training needs the {name!r} package ({exc}); install it with: {extra}") from None

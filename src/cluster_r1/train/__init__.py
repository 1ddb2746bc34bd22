"""Training recipe of Cluster-R1: reasoning distillation, SFT and GRPO (paper §5, App. C, App. F).

Needs the training extra (``trl``, ``peft``, ``datasets``, ``accelerate``,
``transformers``); the modules import them only when a run starts, so this
package imports without them. Entry points:

- :class:`~cluster_r1.train.distill.Distiller` (``cluster-r1 train distill``)
- :func:`~cluster_r1.train.sft.train_sft` with :class:`~cluster_r1.train.sft.SFTRunConfig`
- :func:`~cluster_r1.train.grpo.train_grpo` with :class:`~cluster_r1.train.grpo.GRPORunConfig`
- :func:`~cluster_r1.train.probe.probe`: reward / format rate / V-measure of a checkpoint
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DistillConfig": "distill",
    "Distiller": "distill",
    "SFTRunConfig": "sft",
    "train_sft": "sft",
    "GRPORunConfig": "grpo",
    "train_grpo": "grpo",
    "reward_functions": "grpo",
    "FormatShaping": "reward_funcs",
    "ClusterMetrics": "reward_funcs",
    "probe": "probe",
    "ProbeResult": "probe",
    "load_config": "config",
    "build_tiny_model": "tiny",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'cluster_r1.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__

"""``cluster-r1 train distill|sft|grpo|probe``: wire with ``register(subparsers)`` from the main CLI.

``--config`` takes a YAML/JSON file or a preset name (``cluster-r1 train presets``
lists them); ``--set key=value`` overrides any field, e.g.
``--set model=runs/sft/final --set max_steps=10``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register", "make_backend"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``train distill|sft|grpo|probe|presets`` to an argparse ``subparsers`` object."""
    train = subparsers.add_parser("train", help="distil reasoning traces, SFT and GRPO (needs the train extra)")
    sub = train.add_subparsers(dest="train_command", required=True)
    for name, helptext in (
        ("distill", "generate and review reasoning traces -> sft.jsonl (App. C)"),
        ("sft", "supervised fine-tuning with TRL SFTTrainer (§5.1)"),
        ("grpo", "GRPO with the format x cluster reward, TRL GRPOTrainer (§5.2)"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--config", default=None, help="YAML/JSON file or preset name")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field (repeatable)")
        p.add_argument("-v", "--verbose", action="store_true", help="log every step")
        p.add_argument("--resume", action="store_true",
                       help="continue a stopped run in its output_dir (distill: from its decisions; sft/grpo: from "
                       "the newest checkpoint)")
        p.set_defaults(func=_run, stage=name)
    pr = sub.add_parser("probe", help="score a checkpoint's raw replies: reward, format rate, V-measure")
    pr.add_argument("--model", required=True, help="checkpoint folder, Hub id or .gguf file")
    pr.add_argument("--gguf-file", default=None, help="GGUF file name inside --model")
    pr.add_argument("--data", required=True, help="benchmark folder or split JSONL")
    pr.add_argument("--n", type=int, default=8, help="examples (default 8)")
    pr.add_argument("--prompt", default="hint", choices=["hint", "paper"])
    pr.add_argument("--max-tokens", type=int, default=1024)
    pr.add_argument("--dtype", choices=("float32", "bfloat16"), default=None,
                    help="weights (default bfloat16 on a GPU, float32 on CPU)")
    pr.add_argument("-o", "--output", default=None, help="write the per-example rows here (JSON)")
    pr.set_defaults(func=_probe)
    st = sub.add_parser("status", help="what a run folder holds: done or stopped, the last step and checkpoint")
    st.add_argument("run_dir", help="a run's output_dir")
    st.set_defaults(func=_status)
    ps = sub.add_parser("presets", help="list the shipped configs")
    ps.set_defaults(func=_presets)
    return train


def make_backend(spec: str) -> Any:
    """``openai:MODEL@URL`` -> OpenAICompatBackend; anything else is a local checkpoint -> TransformersBackend."""
    if spec.startswith("openai:"):
        from ..backends.openai_compat import OpenAICompatBackend

        model, _, url = spec[len("openai:") :].partition("@")
        return OpenAICompatBackend(model=model or None, base_url=url or None)
    from ..backends.transformers_local import TransformersBackend

    return TransformersBackend(spec)


def _run(args: argparse.Namespace) -> int:
    import logging

    from .config import load_config, parse_overrides

    if args.verbose:
        logging.getLogger("cluster_r1").setLevel(logging.INFO)
    overrides = parse_overrides(args.overrides)
    if args.resume and args.stage != "distill":
        overrides["resume"] = True
    if args.stage == "distill":
        from ..errors import ConfigError
        from .data import load_examples
        from .distill import DistillConfig, Distiller

        dcfg = load_config(DistillConfig, args.config, overrides)
        if not dcfg.generator:
            raise ConfigError("no generation agent: --set generator=openai:MODEL@URL (or a checkpoint folder)")
        gen = make_backend(dcfg.generator)
        rev = make_backend(dcfg.reviewer) if dcfg.reviewer else gen
        examples = load_examples(dcfg.train_file, max_examples=dcfg.max_examples)
        result = Distiller(gen, rev, dcfg).run(examples)
        report: dict[str, Any] = result.to_dict()
    elif args.stage == "sft":
        from .sft import SFTRunConfig, train_sft

        report = train_sft(load_config(SFTRunConfig, args.config, overrides))
    else:
        from .grpo import GRPORunConfig, train_grpo

        report = train_grpo(load_config(GRPORunConfig, args.config, overrides))
    sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    rise = report.get("reward_rise")
    if rise:
        sys.stdout.write(
            f"reward: {rise['first']:.3f} over the first 3 logged steps, {rise['last']:.3f} over the last 3: "
            f"{rise['rise']:+.3f}\n"
        )
    return 0


def _probe(args: argparse.Namespace) -> int:
    from ..backends.transformers_local import TransformersBackend
    from .data import load_examples
    from .probe import probe

    backend = TransformersBackend(args.model, gguf_file=args.gguf_file, max_new_tokens=args.max_tokens,
                                  dtype=args.dtype)
    path = args.data
    examples = load_examples(path, max_examples=args.n)
    result = probe(backend, examples, prompt=args.prompt, max_tokens=args.max_tokens)
    if args.output:
        from ..io import write_atomic

        write_atomic(args.output, json.dumps(result.to_dict(rows=True), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import InputError
    from .runs import last_checkpoint, read_metrics, read_state

    run = Path(args.run_dir)
    state = read_state(run)
    if not state:
        raise InputError(f"{run} holds no state.json: not a training run folder, or the run never started")
    checkpoint = last_checkpoint(run)
    rewards = [m["reward"] for m in read_metrics(run) if "reward" in m]
    line = f"{state.get('stage', '?')} {state.get('status', '?')}: step {state.get('step', 0)}"
    if state.get("max_steps"):
        line += f" of {state['max_steps']}"
    line += f"; newest checkpoint {checkpoint.name if checkpoint else 'none'}"
    if rewards:
        line += f"; reward {rewards[0]:.3f} at the first logged step, {rewards[-1]:.3f} at the last"
    if state.get("next"):
        line += f"; {state['next']}"
    sys.stdout.write(line + "\n")
    return 0


def _presets(args: argparse.Namespace) -> int:
    from .config import list_presets

    sys.stdout.write("\n".join(list_presets()) + "\n")
    return 0

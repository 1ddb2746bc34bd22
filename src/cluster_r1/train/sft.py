"""Supervised fine-tuning on distilled traces or final answers (paper §5.1, App. F), with TRL's ``SFTTrainer``.

The dataset is conversational prompt-completion, so TRL computes the loss on the
completion only. TRL truncates sequences longer than ``max_length`` silently; here
every row is measured first with the same chat template, the count of truncated
rows is logged and reported, and ``on_truncation`` decides: ``drop`` (default: a
cut trace would teach the model to stop mid-answer), ``keep`` (let TRL truncate)
or ``error``.

Batching follows App. F: a global batch of 128 sequences made of micro-batches of 1
through gradient accumulation (``global_batch_size / (micro_batch_size x GPUs)``),
one epoch, gradient checkpointing.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ._deps import require
from .data import PROMPTS, final_answer_rows, load_examples, read_rows
from .models import checkpointing_kwargs, dtype_name, load_model_and_tokenizer, lora_config, save_model
from .runs import (
    metrics_callback,
    peak_rss_mb,
    prepare_run_dir,
    read_metrics,
    start_point,
    state_callback,
    write_report,
    write_state,
)

__all__ = ["SFTRunConfig", "TruncationReport", "measure_lengths", "load_sft_rows", "train_sft", "world_size"]

log = logging.getLogger(__name__)


def world_size() -> int:
    """Number of training processes (``WORLD_SIZE`` set by accelerate/torchrun), 1 otherwise."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


@dataclass
class SFTRunConfig:
    """One SFT run. Defaults are the paper's (App. F) except where a field says otherwise."""

    model: str = field(default="Qwen/Qwen2.5-7B-Instruct", metadata={"help": "Hub id, local folder or .gguf path"})
    gguf_file: str | None = field(default=None, metadata={"help": "GGUF file name inside `model` (dequantised)"})
    train_file: str = field(default="", metadata={"help": "sft.jsonl from `train distill`, or a benchmark folder / split"})
    target: str = field(
        default="distilled",
        metadata={"help": "distilled (rows of sft.jsonl) or final_answer (gold answers of benchmark examples, §8.1)"},
    )
    prompt: str = field(default="hint", metadata={"help": "student prompt for target=final_answer: hint or paper"})
    output_dir: str = field(default="runs/sft", metadata={"help": "run folder"})
    max_examples: int | None = field(default=None, metadata={"help": "use at most this many rows"})
    max_length: int = field(default=32768, metadata={"help": "max tokens of prompt + completion (up to 32k)"})
    on_truncation: str = field(default="drop", metadata={"help": "rows longer than max_length: drop, keep or error"})
    learning_rate: float = field(default=1e-5, metadata={"help": "peak learning rate (see the size presets)"})
    global_batch_size: int = field(default=128, metadata={"help": "sequences per optimizer step (paper: 128)"})
    micro_batch_size: int = field(default=1, metadata={"help": "sequences per GPU per forward (paper: 1)"})
    num_train_epochs: float = field(default=1.0, metadata={"help": "epochs (paper: 1)"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many optimizer steps (-1: epochs)"})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "transformers scheduler name"})
    warmup_ratio: float = field(default=0.03, metadata={"help": "share of steps spent warming up, in [0, 1)"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    gradient_checkpointing: bool = field(default=True, metadata={"help": "recompute activations (paper: on)"})
    bf16: bool = field(default=True, metadata={"help": "bfloat16 weights and autocast (ignored on CPU)"})
    use_cpu: bool = field(default=False, metadata={"help": "train on CPU (tests, smoke runs)"})
    cpu_bf16: bool = field(
        default=False,
        metadata={"help": "bfloat16 weights on CPU: several times faster where the CPU has AMX or AVX512-BF16 "
                  "(the LoRA adapters and the optimizer stay float32)"},
    )
    attn_implementation: str | None = field(default=None, metadata={"help": "e.g. flash_attention_2 (paper) or sdpa"})
    use_lora: bool = field(default=False, metadata={"help": "train LoRA adapters instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_target_modules: str = field(default="all-linear", metadata={"help": "all-linear, or module names: q_proj,k_proj,v_proj,o_proj"})
    merge_lora: bool = field(default=True, metadata={"help": "merge LoRA into final/ so any runtime can load it"})
    logging_steps: int = field(default=1, metadata={"help": "log every N optimizer steps"})
    save_steps: int = field(default=500, metadata={"help": "checkpoint every N steps"})
    save_total_limit: int | None = field(default=2, metadata={"help": "keep at most N checkpoints"})
    resume: bool = field(default=False, metadata={"help": "resume from the last checkpoint in output_dir"})
    seed: int = field(default=0, metadata={"help": "seed of shuffling and initialisation"})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "extra trl.SFTConfig arguments"})

    def __post_init__(self) -> None:
        if self.target not in ("distilled", "final_answer"):
            raise ConfigError(f"target={self.target!r}: choose distilled or final_answer")
        if self.prompt not in PROMPTS:
            raise ConfigError(f"prompt={self.prompt!r}: choose one of {PROMPTS}")
        if not 16 <= self.max_length <= 32768:
            raise ConfigError(f"max_length={self.max_length}: must be between 16 and 32768 tokens")
        if self.on_truncation not in ("drop", "keep", "error"):
            raise ConfigError(f"on_truncation={self.on_truncation!r}: choose drop, keep or error")
        if self.micro_batch_size < 1 or self.global_batch_size < self.micro_batch_size:
            raise ConfigError("need 1 <= micro_batch_size <= global_batch_size")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate={self.learning_rate}: must be > 0")

    def grad_accumulation(self, n_processes: int | None = None) -> int:
        """Accumulation steps giving ``global_batch_size`` with ``n_processes`` GPUs.

        >>> SFTRunConfig().grad_accumulation(8)
        16
        """
        n = n_processes or world_size()
        per_step = self.micro_batch_size * n
        if self.global_batch_size % per_step:
            raise ConfigError(
                f"global_batch_size={self.global_batch_size} is not a multiple of micro_batch_size x GPUs = {per_step}"
            )
        return self.global_batch_size // per_step


@dataclass
class TruncationReport:
    """How many rows exceed ``max_length`` (TRL would cut them without a word)."""

    n_rows: int
    max_length: int
    n_truncated: int = 0
    n_completion_lost: int = 0
    longest: int = 0
    lengths: list[int] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "max_length": self.max_length,
            "n_truncated": self.n_truncated,
            "n_completion_lost": self.n_completion_lost,
            "longest": self.longest,
            "mean_length": (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0,
        }


def _ids(tokenizer: Any, messages: Sequence[dict[str, str]], **kwargs: Any) -> list[int]:
    out = tokenizer.apply_chat_template(list(messages), tokenize=True, **kwargs)
    if isinstance(out, dict) or hasattr(out, "keys"):
        out = out["input_ids"]
    return list(out)


def measure_lengths(tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int) -> TruncationReport:
    """Token length of every prompt-completion row, tokenized as TRL does (chat template)."""
    report = TruncationReport(n_rows=len(rows), max_length=max_length)
    for row in rows:
        prompt_len = len(_ids(tokenizer, row["prompt"], add_generation_prompt=True))
        total = len(_ids(tokenizer, row["prompt"] + row["completion"]))
        report.lengths.append(total)
        if total > max_length:
            report.n_truncated += 1
            if prompt_len >= max_length:
                report.n_completion_lost += 1
    report.longest = max(report.lengths, default=0)
    return report


def load_sft_rows(config: SFTRunConfig) -> list[dict[str, Any]]:
    """Rows for ``config.target``: distilled rows as written, or final-answer rows built from examples."""
    if not config.train_file:
        raise ConfigError("train_file is empty: pass --set train_file=PATH (sft.jsonl or a benchmark folder)")
    if config.target == "final_answer":
        rows = final_answer_rows(load_examples(config.train_file, max_examples=config.max_examples), config.prompt)
    else:
        path = Path(config.train_file)
        if path.is_dir():
            path = path / "sft.jsonl"
        if not path.exists():
            raise InputError(f"{path} does not exist: run `cluster-r1 train distill` first (or set target=final_answer)")
        rows = read_rows(path)[: config.max_examples or None]
    if not rows:
        raise InputError(f"no SFT rows in {config.train_file}")
    return [{"prompt": r["prompt"], "completion": r["completion"]} for r in rows]


def _sft_args(config: SFTRunConfig, n_rows: int) -> Any:
    trl = require("trl")
    use_cpu = config.use_cpu
    return trl.SFTConfig(
        output_dir=config.output_dir,
        max_length=config.max_length,
        completion_only_loss=True,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=config.grad_accumulation(),
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        weight_decay=config.weight_decay,
        **checkpointing_kwargs(trl.SFTConfig, config.gradient_checkpointing),
        bf16=config.bf16 and not use_cpu,
        use_cpu=use_cpu,
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        report_to="none",
        dataset_num_proc=None,
        **config.extra,
    )


def train_sft(config: SFTRunConfig) -> dict[str, Any]:
    """Run SFT; returns the report also written to ``output_dir/report.json``."""
    trl = require("trl")
    datasets = require("datasets")
    start = time.perf_counter()
    out = prepare_run_dir(config.output_dir, config)
    rows = load_sft_rows(config)
    checkpoint = start_point(out, config.resume, "sft")
    model, tokenizer = load_model_and_tokenizer(
        config.model,
        gguf_file=config.gguf_file,
        dtype=dtype_name(config.bf16, config.use_cpu, config.cpu_bf16),
        attn_implementation=config.attn_implementation,
    )
    trunc = measure_lengths(tokenizer, rows, config.max_length)
    if trunc.n_truncated:
        msg = (
            f"{trunc.n_truncated} of {trunc.n_rows} rows exceed max_length={config.max_length} tokens "
            f"(longest {trunc.longest}; {trunc.n_completion_lost} would lose their whole completion)"
        )
        if config.on_truncation == "error":
            raise InputError(msg + ": raise max_length or set on_truncation=drop")
        log.warning("%s; on_truncation=%s", msg, config.on_truncation)
        if config.on_truncation == "drop":
            rows = [r for r, n in zip(rows, trunc.lengths) if n <= config.max_length]
    if not rows:
        raise InputError(f"every row is longer than max_length={config.max_length}: raise it")
    args = _sft_args(config, len(rows))
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
        if config.use_lora
        else None,
        callbacks=[metrics_callback(out / "metrics.jsonl"), state_callback(out)],
    )
    log.info("SFT on %d rows: %d optimizer steps planned", len(rows),
             config.max_steps if config.max_steps > 0
             else math.ceil(config.num_train_epochs * math.ceil(len(rows) / config.global_batch_size)))
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
    final = save_model(trainer.model, tokenizer, out / "final", merge_lora=config.merge_lora)
    metrics = read_metrics(out)
    report = {
        "stage": "sft",
        "model": config.model,
        "rows": len(rows),
        "truncation": trunc.to_dict(),
        "dropped_truncated": trunc.n_truncated if config.on_truncation == "drop" else 0,
        "steps": int(result.global_step),
        "train_loss": float(result.training_loss),
        "grad_norms": [m["grad_norm"] for m in metrics if "grad_norm" in m],
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "final_model": str(final),
    }
    write_report(out, report)
    write_state(out, status="done", step=int(result.global_step), final="final")
    return report

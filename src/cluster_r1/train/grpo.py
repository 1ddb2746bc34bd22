"""GRPO with the paper's multiplicative reward (§5.2, App. F), with TRL's ``GRPOTrainer``.

Reward: :class:`cluster_r1.rewards.ClusterReward` (``R_format x R_cluster``) reading
the gold labels from the ``gold_labels`` dataset column, plus two optional terms:
``format_shaping`` (weight of :class:`~cluster_r1.train.reward_funcs.FormatShaping`;
0 in the paper presets) and a weight-0 metrics function that logs the format rate,
count accuracy and V-measure. Response length, reward, reward std, KL and clip
ratios are logged by TRL itself; everything lands in ``metrics.jsonl``.

Batching: ``prompts_per_step`` prompts x ``num_generations`` completions make one
optimizer step (paper: 32 x 5 = 160), split into micro-batches of
``micro_batch_size`` completions per GPU with gradient accumulation; one generation
round per optimizer step. Rollouts come from ``model.generate`` or from vLLM
(``use_vllm``; ``vllm_mode=server`` talks to ``trl vllm-serve``, ``colocate`` runs
vLLM inside each training process).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..rewards import ClusterReward
from ._deps import require
from .data import PROMPTS, grpo_rows, load_examples
from .models import checkpointing_kwargs, dtype_name, load_model_and_tokenizer, lora_config, save_model
from .reward_funcs import ClusterMetrics, FormatShaping
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
from .sft import _ids, world_size

__all__ = ["GRPORunConfig", "reward_functions", "reward_rise", "train_grpo"]

log = logging.getLogger(__name__)


@dataclass
class GRPORunConfig:
    """One GRPO run. Defaults are the paper's (App. F) where it gives them; see docs/training.md for the rest."""

    model: str = field(default="Qwen/Qwen2.5-7B-Instruct", metadata={"help": "policy: the SFT final/ folder or a base model"})
    gguf_file: str | None = field(default=None, metadata={"help": "GGUF file name inside `model` (dequantised)"})
    train_file: str = field(default="", metadata={"help": "benchmark folder or its train.jsonl"})
    prompt: str = field(default="paper", metadata={"help": "paper, or hint (the §8.2 reasoning-hint prompt)"})
    output_dir: str = field(default="runs/grpo", metadata={"help": "run folder"})
    max_examples: int | None = field(default=None, metadata={"help": "use at most this many prompts (paper: 8.5k)"})
    max_prompt_length: int = field(default=28000, metadata={"help": "prompts longer than this are dropped (paper: 28k)"})
    max_completion_length: int = field(default=4096, metadata={"help": "tokens per rollout (paper: 4k)"})
    num_generations: int = field(default=5, metadata={"help": "rollouts per prompt (paper: 5)"})
    temperature: float = field(default=1.0, metadata={"help": "rollout temperature (paper: 1.0)"})
    top_p: float = field(default=1.0, metadata={"help": "rollout top-p (paper: 1.0)"})
    beta: float = field(
        default=0.001,
        metadata={"help": "KL coefficient; set explicitly (TRL's default 0 drops the KL term). The paper's value is "
                  "lost from its text; 0.001 is the common GRPO value (DeepSeek-R1, verl)"},
    )
    epsilon: float = field(default=0.2, metadata={"help": "PPO clip ratio (paper: 0.2)"})
    loss_type: str = field(default="grpo", metadata={"help": "TRL loss_type; grpo = the paper's eq. 8 (TRL default: dapo)"})
    scale_rewards: str = field(default="group", metadata={"help": "advantage scaling: group (eq. 9), batch or none"})
    num_iterations: int = field(default=1, metadata={"help": "policy updates per generation batch (mu)"})
    learning_rate: float = field(default=1e-6, metadata={"help": "peak learning rate (see the size presets)"})
    prompts_per_step: int = field(default=32, metadata={"help": "prompts per optimizer step (paper: global batch 32)"})
    micro_batch_size: int = field(default=4, metadata={"help": "completions per GPU per forward"})
    num_train_epochs: float = field(default=1.0, metadata={"help": "epochs over the prompts"})
    max_steps: int = field(default=-1, metadata={"help": "stop after this many optimizer steps (-1: epochs)"})
    lr_scheduler_type: str = field(default="constant", metadata={"help": "transformers scheduler name"})
    warmup_ratio: float = field(default=0.0, metadata={"help": "share of steps spent warming up, in [0, 1)"})
    reward_combination: str = field(default="harmonic", metadata={"help": "R_cluster: harmonic, product or mean"})
    reward_decay: float = field(default=0.5, metadata={"help": "count reward decay (paper: 0.5)"})
    format_shaping: float = field(default=0.0, metadata={"help": "weight of the format-shaping reward (paper: 0)"})
    mask_truncated_completions: bool = field(default=False, metadata={"help": "exclude cut rollouts from the loss"})
    gradient_checkpointing: bool = field(default=True, metadata={"help": "recompute activations"})
    bf16: bool = field(default=True, metadata={"help": "bfloat16 (ignored on CPU)"})
    use_cpu: bool = field(default=False, metadata={"help": "train on CPU (tests, smoke runs)"})
    cpu_bf16: bool = field(
        default=False,
        metadata={"help": "bfloat16 weights on CPU: several times faster where the CPU has AMX or AVX512-BF16 "
                  "(the LoRA adapters and the optimizer stay float32)"},
    )
    attn_implementation: str | None = field(default=None, metadata={"help": "e.g. flash_attention_2 or sdpa"})
    use_vllm: bool = field(default=False, metadata={"help": "generate rollouts with vLLM"})
    vllm_mode: str = field(default="server", metadata={"help": "server (separate `trl vllm-serve`) or colocate"})
    vllm_server_base_url: str | None = field(default=None, metadata={"help": "e.g. http://10.0.0.2:8000 (server mode)"})
    vllm_gpu_memory_utilization: float = field(default=0.5, metadata={"help": "colocate: vLLM's GPU share (paper: 0.5)"})
    vllm_tensor_parallel_size: int = field(default=1, metadata={"help": "colocate: vLLM tensor parallelism"})
    vllm_max_model_length: int | None = field(default=None, metadata={"help": "vLLM context (>= prompt + completion)"})
    use_lora: bool = field(default=False, metadata={"help": "train LoRA adapters instead of all weights"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lora_target_modules: str = field(default="all-linear", metadata={"help": "all-linear, or module names: q_proj,k_proj,v_proj,o_proj"})
    merge_lora: bool = field(default=True, metadata={"help": "merge LoRA into final/"})
    logging_steps: int = field(default=1, metadata={"help": "log every N optimizer steps"})
    save_steps: int = field(default=50, metadata={"help": "checkpoint every N steps"})
    save_total_limit: int | None = field(default=2, metadata={"help": "keep at most N checkpoints"})
    resume: bool = field(default=False, metadata={"help": "resume from the last checkpoint in output_dir"})
    seed: int = field(default=0, metadata={"help": "seed"})
    extra: dict[str, Any] = field(default_factory=dict, metadata={"help": "extra trl.GRPOConfig arguments"})

    def __post_init__(self) -> None:
        if self.prompt not in PROMPTS:
            raise ConfigError(f"prompt={self.prompt!r}: choose one of {PROMPTS}")
        if self.num_generations < 2:
            raise ConfigError(f"num_generations={self.num_generations}: GRPO needs >= 2 rollouts per prompt")
        if self.beta < 0 or not 0 < self.epsilon < 1:
            raise ConfigError(f"beta={self.beta}, epsilon={self.epsilon}: need beta >= 0 and 0 < epsilon < 1")
        if self.vllm_mode not in ("server", "colocate"):
            raise ConfigError(f"vllm_mode={self.vllm_mode!r}: choose server or colocate")
        if self.reward_combination not in ("harmonic", "product", "mean"):
            raise ConfigError(f"reward_combination={self.reward_combination!r}: harmonic, product or mean")
        if self.format_shaping < 0:
            raise ConfigError("format_shaping must be >= 0 (0 switches it off)")
        if self.max_completion_length < 1 or self.prompts_per_step < 1 or self.micro_batch_size < 1:
            raise ConfigError("max_completion_length, prompts_per_step and micro_batch_size must be >= 1")

    def grad_accumulation(self, n_processes: int | None = None) -> int:
        """Accumulation steps so one optimizer step sees ``prompts_per_step x num_generations`` completions.

        >>> GRPORunConfig().grad_accumulation(8)  # 32 x 5 = 160 = 4 x 8 x 5
        5
        """
        n = n_processes or world_size()
        completions = self.prompts_per_step * self.num_generations
        per_step = self.micro_batch_size * n
        if completions % per_step:
            raise ConfigError(
                f"prompts_per_step x num_generations = {completions} is not a multiple of micro_batch_size x GPUs "
                f"= {per_step}: change micro_batch_size"
            )
        return completions // per_step


def reward_functions(config: GRPORunConfig, completions_log: Path | None = None) -> tuple[list[Any], list[float]]:
    """The reward callables and their weights: cluster reward, format shaping, metrics (weight 0).

    With ``completions_log`` the metrics function also appends every rollout (step, text, scores) there.
    """
    funcs: list[Any] = [ClusterReward(combination=config.reward_combination, decay=config.reward_decay)]  # type: ignore[arg-type]
    weights = [1.0]
    if config.format_shaping > 0:
        funcs.append(FormatShaping())
        weights.append(config.format_shaping)
    funcs.append(ClusterMetrics(log_path=completions_log))
    weights.append(0.0)
    return funcs, weights


def reward_rise(rewards: list[float | None], window: int = 3) -> dict[str, float] | None:
    """Mean reward of the first and the last ``window`` logged steps and the rise between them.

    None with fewer than ``2 x window`` logged rewards (the two windows would overlap).

    >>> reward_rise([0.1, 0.2, 0.3, 0.5, 0.6, 0.7])
    {'first': 0.2, 'last': 0.6, 'rise': 0.4}
    >>> reward_rise([0.1, 0.2]) is None
    True
    """
    values = [float(r) for r in rewards if r is not None]
    if len(values) < 2 * window:
        return None
    first = sum(values[:window]) / window
    last = sum(values[-window:]) / window
    return {"first": round(first, 4), "last": round(last, 4), "rise": round(last - first, 4)}


def _grpo_args(config: GRPORunConfig, weights: list[float]) -> Any:
    trl = require("trl")
    vllm: dict[str, Any] = {}
    if config.use_vllm:
        require("vllm", extra="pip install vllm (a version supported by the installed trl; see docs/training.md)")
        vllm = dict(
            use_vllm=True,
            vllm_mode=config.vllm_mode,
            vllm_server_base_url=config.vllm_server_base_url,
            vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization,
            vllm_tensor_parallel_size=config.vllm_tensor_parallel_size,
            vllm_max_model_length=config.vllm_max_model_length,
        )
    return trl.GRPOConfig(
        output_dir=config.output_dir,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=config.grad_accumulation(),
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        top_p=config.top_p,
        beta=config.beta,
        epsilon=config.epsilon,
        loss_type=config.loss_type,
        scale_rewards=config.scale_rewards,
        num_iterations=config.num_iterations,
        reward_weights=weights,
        mask_truncated_completions=config.mask_truncated_completions,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        **checkpointing_kwargs(trl.GRPOConfig, config.gradient_checkpointing),
        bf16=config.bf16 and not config.use_cpu,
        use_cpu=config.use_cpu,
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        seed=config.seed,
        report_to="none",
        **vllm,
        **config.extra,
    )


def train_grpo(config: GRPORunConfig) -> dict[str, Any]:
    """Run GRPO; returns the report also written to ``output_dir/report.json``."""
    trl = require("trl")
    datasets = require("datasets")
    start = time.perf_counter()
    out = prepare_run_dir(config.output_dir, config)
    if not config.train_file:
        raise ConfigError("train_file is empty: pass --set train_file=BENCH_DIR (from `cluster-r1 bench build`)")
    rows = grpo_rows(load_examples(config.train_file, max_examples=config.max_examples), config.prompt)
    checkpoint = start_point(out, config.resume, "grpo")
    model, tokenizer = load_model_and_tokenizer(
        config.model,
        gguf_file=config.gguf_file,
        dtype=dtype_name(config.bf16, config.use_cpu, config.cpu_bf16),
        attn_implementation=config.attn_implementation,
    )
    lengths = [len(_ids(tokenizer, r["prompt"], add_generation_prompt=True)) for r in rows]
    kept = [r for r, n in zip(rows, lengths) if n <= config.max_prompt_length]
    n_long = len(rows) - len(kept)
    if n_long:
        log.warning("%d of %d prompts exceed max_prompt_length=%d tokens and are dropped", n_long, len(rows),
                    config.max_prompt_length)
    if not kept:
        raise InputError(f"every prompt is longer than max_prompt_length={config.max_prompt_length}")
    funcs, weights = reward_functions(config, completions_log=out / "completions.jsonl")
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=_grpo_args(config, weights),
        train_dataset=datasets.Dataset.from_list(kept),
        processing_class=tokenizer,
        peft_config=lora_config(config.lora_r, config.lora_alpha, config.lora_dropout, config.lora_target_modules)
        if config.use_lora
        else None,
        callbacks=[metrics_callback(out / "metrics.jsonl"), state_callback(out)],
    )
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
    final = save_model(trainer.model, tokenizer, out / "final", merge_lora=config.merge_lora)
    metrics = [m for m in read_metrics(out) if "reward" in m]
    rewards = [m.get("reward") for m in metrics]
    report = {
        "stage": "grpo",
        "model": config.model,
        "prompts": len(kept),
        "dropped_long_prompts": n_long,
        "prompt_tokens_max": max(lengths),
        "steps": int(result.global_step),
        "reward": rewards,
        "reward_std": [m.get("reward_std") for m in metrics],
        "format_rate": [m.get("format_rate", m.get("rewards/format_valid/mean")) for m in metrics],
        "count_accuracy": [m.get("count_accuracy") for m in metrics],
        "v_measure": [m.get("v_measure") for m in metrics],
        "completion_length": [m.get("completions/mean_length") for m in metrics],
        "grad_norms": [m.get("grad_norm") for m in metrics],
        "wall_seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "final_model": str(final),
        "reward_rise": reward_rise(rewards),
    }
    write_report(out, report)
    write_state(out, status="done", step=int(result.global_step), final="final")
    return report

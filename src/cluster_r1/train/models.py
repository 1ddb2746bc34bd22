"""Loading the policy model and tokenizer (Hub id, local folder or GGUF file), and LoRA settings."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ._deps import require

__all__ = ["load_model_and_tokenizer", "lora_config", "save_model", "dtype_name", "checkpointing_kwargs"]

log = logging.getLogger(__name__)


def dtype_name(bf16: bool, use_cpu: bool, cpu_bf16: bool = False) -> str:
    """The dtype to load weights in: bfloat16 on GPU when asked (on CPU only with ``cpu_bf16``), float32 otherwise.

    >>> dtype_name(True, False), dtype_name(True, True), dtype_name(False, True, cpu_bf16=True)
    ('bfloat16', 'float32', 'bfloat16')
    """
    if use_cpu:
        return "bfloat16" if cpu_bf16 else "float32"
    return "bfloat16" if bf16 else "float32"


def load_model_and_tokenizer(
    model: str,
    *,
    gguf_file: str | None = None,
    dtype: str = "float32",
    attn_implementation: str | None = None,
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a Hub id or folder; ``gguf_file`` dequantises a GGUF checkpoint (needs ``gguf``).

    A GGUF path may also be given as ``model`` directly (``.../name.gguf``).
    """
    transformers = require("transformers")
    torch = require("torch")
    path = Path(model).expanduser()
    if gguf_file is None and path.suffix == ".gguf":
        model, gguf_file = str(path.parent), path.name
    if gguf_file is not None:
        require("gguf", extra='pip install gguf (to load .gguf checkpoints in transformers)')
    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    if gguf_file is not None:
        kwargs["gguf_file"] = gguf_file
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    tok_kwargs = {"gguf_file": gguf_file} if gguf_file is not None else {}
    tokenizer = transformers.AutoTokenizer.from_pretrained(model, **tok_kwargs)
    lm = transformers.AutoModelForCausalLM.from_pretrained(model, **kwargs)
    if gguf_file is not None:
        mark_dequantized(lm)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(lm.generation_config, "pad_token_id", None) is None:
        lm.generation_config.pad_token_id = tokenizer.pad_token_id
    log.info("loaded %s%s (%s, %.1fM parameters)", model, f" / {gguf_file}" if gguf_file else "", dtype,
             sum(p.numel() for p in lm.parameters()) / 1e6)
    return lm, tokenizer


def mark_dequantized(lm: Any) -> Any:
    """Forget the GGUF "quantizer" of a model whose GGUF weights transformers has dequantised.

    The tensors are plain floats after loading, but transformers keeps ``hf_quantizer`` and
    ``config.quantization_config`` (method ``gguf``), so its Trainer refuses to train and
    ``save_pretrained`` writes a GGUF quantization config that loaders then look for.
    """
    lm.hf_quantizer = None
    if hasattr(lm, "is_quantized"):
        lm.is_quantized = False
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    return lm


def target_modules(spec: str | list[str]) -> str | list[str]:
    """PEFT ``target_modules`` from a config value: ``all-linear``, a comma-separated list of module names, or a list.

    >>> target_modules("q_proj, v_proj"), target_modules("all-linear")
    (['q_proj', 'v_proj'], 'all-linear')
    """
    if isinstance(spec, str) and "," in spec:
        return [name.strip() for name in spec.split(",") if name.strip()]
    return spec


def lora_config(r: int, alpha: int, dropout: float, target_modules_spec: str | list[str]) -> Any:
    """A PEFT ``LoraConfig`` for causal LM training."""
    peft = require("peft")
    return peft.LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules(target_modules_spec),
        task_type="CAUSAL_LM",
    )


def save_model(model: Any, tokenizer: Any, out_dir: str | Path, *, merge_lora: bool = True) -> Path:
    """Save a full model (LoRA merged in when ``merge_lora``) and its tokenizer, loadable by any runtime."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if merge_lora and hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def checkpointing_kwargs(args_cls: Any, enabled: bool) -> dict[str, bool]:
    """``activation_checkpointing`` (transformers >= 5.2x) or ``gradient_checkpointing`` (older), as supported."""
    fields = getattr(args_cls, "__dataclass_fields__", {})
    key = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    return {key: enabled}

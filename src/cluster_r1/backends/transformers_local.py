"""A :class:`~cluster_r1.backends.Backend` over a local checkpoint, run in-process with ``transformers``.

Any folder written by ``save_pretrained`` (e.g. a training run's ``final/``), a
folder holding a PEFT adapter (``adapter_config.json``; needs ``peft``), a Hub id
already in the local cache, or a GGUF file (``gguf_file=``; needs ``gguf``). The
prompt goes through the tokenizer's chat template, so the model sees exactly what
it was trained on. Generation is greedy at ``temperature=0`` and sampled otherwise,
seeded per call. Calls are serialised (``concurrency = 1``): one model, one device.

>>> TransformersBackend.__name__
'TransformersBackend'
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import BackendError, ConfigError, ContextLengthError
from .base import Completion, Message

__all__ = ["TransformersBackend"]

log = logging.getLogger(__name__)

_PIP = 'pip install "transformers>=5.24" torch==2.13.0'


def _looks_local(spec: str) -> bool:
    """A path on disk rather than a Hub id (``org/name``): absolute, relative, home, a .gguf file, or deeper.

    >>> [_looks_local(s) for s in ("Qwen/Qwen2.5-0.5B", "/missing", "./run/final", "~/m", "m.gguf", "a/b/c")]
    [False, True, True, True, True, True]
    """
    return spec.startswith(("/", ".", "~")) or spec.endswith(".gguf") or spec.count("/") > 1


def _import(name: str, pip: str = _PIP) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"TransformersBackend needs the {name!r} package: {pip}") from None


class TransformersBackend:
    """Chat completions from a local causal LM.

    Parameters: ``path`` (folder, Hub id or ``.gguf`` file), ``gguf_file`` (file name inside
    ``path``), ``device`` (``"cpu"``, ``"cuda"``, ...; default: CUDA when available),
    ``dtype`` (default bfloat16 on CUDA, float32 on CPU), ``max_new_tokens`` (default reply
    budget when a call gives none), ``model_name`` (the name in results).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        gguf_file: str | None = None,
        device: str | None = None,
        dtype: str | None = None,
        max_new_tokens: int = 4096,
        model_name: str | None = None,
        context_window: int | None = None,
    ) -> None:
        torch = _import("torch")
        transformers = _import("transformers")
        spec = str(path)
        if not Path(spec).expanduser().exists() and _looks_local(spec):
            raise ConfigError(f"{spec}: no such file or folder; give a checkpoint folder, a .gguf file or a Hub id "
                              "(org/name)")
        path = Path(path).expanduser() if Path(path).expanduser().exists() else path
        if gguf_file is None and str(path).endswith(".gguf"):
            path, gguf_file = Path(path).parent, Path(path).name
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")
        kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
        if gguf_file is not None:
            _import("gguf", "pip install gguf")
            kwargs["gguf_file"] = gguf_file
        adapter = Path(path) / "adapter_config.json"
        try:
            if adapter.exists():
                peft = _import("peft", 'pip install "peft>=0.21"')
                self._model = peft.AutoPeftModelForCausalLM.from_pretrained(str(path), **kwargs)
            else:
                self._model = transformers.AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
            tok_kwargs = {"gguf_file": gguf_file} if gguf_file is not None else {}
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), **tok_kwargs)
        except OSError as exc:
            raise ConfigError(f"cannot load a model from {path}: {exc}") from exc
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        if not getattr(self._tokenizer, "chat_template", None):
            raise ConfigError(f"the tokenizer at {path} has no chat template: save one with the checkpoint")
        self._model.to(self.device)
        self._model.eval()
        self._torch = torch
        self.model = model_name or (f"{path}/{gguf_file}" if gguf_file else str(path))
        cfg = self._model.config
        self.context_window = context_window or getattr(cfg, "max_position_embeddings", None)
        self.concurrency = 1
        self.max_new_tokens = max_new_tokens
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TransformersBackend(model={self.model!r}, device={self.device!r})"

    def complete(
        self,
        messages: Sequence[Message],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        seed: int | None = None,
        constraint: object = None,  # not honoured: no constraint_kinds, so callers never pass one
    ) -> Completion:
        torch = self._torch
        enc = self._tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        input_ids = enc["input_ids"].to(self.device)
        n_prompt = int(input_ids.shape[1])
        budget = max_tokens or self.max_new_tokens
        if self.context_window and n_prompt >= self.context_window:
            raise ContextLengthError(
                f"the prompt has {n_prompt} tokens, the context of {self.model!r} is {self.context_window}: "
                "cluster fewer or shorter texts"
            )
        if self.context_window:
            budget = max(1, min(budget, self.context_window - n_prompt))
        gen: dict[str, Any] = {
            "max_new_tokens": budget,
            "pad_token_id": self._tokenizer.pad_token_id,
            "attention_mask": enc["attention_mask"].to(self.device),
        }
        if temperature > 0:
            gen.update(do_sample=True, temperature=float(temperature), top_p=1.0, top_k=0)
        else:
            gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        start = time.perf_counter()
        with self._lock:
            if seed is not None:
                torch.manual_seed(int(seed))
            try:
                with torch.no_grad():
                    out = self._model.generate(input_ids, **gen)
            except RuntimeError as exc:
                raise BackendError(f"generation with {self.model!r} failed: {exc}") from exc
        new = out[0, n_prompt:]
        text = self._tokenizer.decode(new, skip_special_tokens=True)
        eos = self._model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) | {self._tokenizer.eos_token_id}
        finished = len(new) > 0 and int(new[-1]) in eos_ids
        return Completion(
            text=text,
            prompt_tokens=n_prompt,
            completion_tokens=int(len(new)),
            seconds=time.perf_counter() - start,
            model=self.model,
            finish_reason="stop" if finished or len(new) < budget else "length",
        )

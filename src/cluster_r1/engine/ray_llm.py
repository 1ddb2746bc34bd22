"""Models inside the Ray cluster: ``--ray-llm vllm:MODEL``, vLLM engines run by Ray Data's LLM processor.

:class:`ProcessorBackend` is a backend (the one protocol, ``complete``) whose calls are gathered into batches
and sent through a Ray Data LLM processor (``ray.data.llm.build_processor`` with a
``vLLMEngineProcessorConfig``): the calls that arrive together (a stage's :func:`complete_many`) become one
Ray Dataset, the processor's vLLM engines answer its rows on the cluster's GPUs, and each reply goes back to
its own call by position. Validation, re-asks, salvage and the response cache stay on the driver, as with
any backend; constraints become vLLM's ``structured_outputs`` (the dialect the OpenAI-compatible vLLM server
takes, :mod:`cluster_r1.backends.dialects`).

Every batch is one Ray Data execution, and Ray Data starts the processor's engines for each execution (the
model is loaded each time): the path suits the stages that send thousands of calls at once (the
large-corpus pipeline's classification), not a conversation of short turns. For the agent on one window,
serve the model (``vllm serve``, Ray Serve LLM) and pass ``--base-url``.

GPU only: vLLM runs on the cluster's GPU nodes (``pip install "ray[llm]==2.60.0"`` there). The request
shaping (:func:`request_row`, :func:`completion_of`) and the batching are exercised on CPU with any
processor, a function from a Ray Dataset to a Ray Dataset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from queue import Empty, Queue
from typing import Any

from ..backends.base import Completion
from ..backends.dialects import DIALECTS
from ..errors import BackendError, ConfigError

__all__ = ["RAY_LLM_KINDS", "parse_ray_llm", "request_row", "completion_of", "build_vllm_processor",
           "ProcessorBackend", "ray_llm_backend"]

#: The engines ``--ray-llm KIND:MODEL`` knows.
RAY_LLM_KINDS = ("vllm",)

#: Tokens a reply may take when the caller names no bound (the processor needs one).
DEFAULT_MAX_TOKENS = 4096


def parse_ray_llm(spec: str) -> tuple[str, str]:
    """``"vllm:Qwen/Qwen2.5-7B-Instruct"`` -> ``("vllm", "Qwen/Qwen2.5-7B-Instruct")``; one line when malformed."""
    kind, sep, model = spec.partition(":")
    if not sep or kind not in RAY_LLM_KINDS or not model.strip():
        raise ConfigError(f"--ray-llm takes KIND:MODEL with KIND one of {', '.join(RAY_LLM_KINDS)} "
                          f"(e.g. vllm:Qwen/Qwen2.5-7B-Instruct), got {spec!r}")
    return kind, model.strip()


def request_row(messages: Sequence[dict[str, str]], *, temperature: float = 0.0, max_tokens: int | None = None,
                seed: int | None = None, constraint: Any = None) -> dict[str, Any]:
    """One call as a row of the processor's input: ``messages`` (the chat template is applied by the processor)
    and ``sampling_params`` (vLLM's ``SamplingParams`` fields; a constraint as ``structured_outputs``)."""
    sampling: dict[str, Any] = {"temperature": float(temperature), "max_tokens": int(max_tokens or DEFAULT_MAX_TOKENS)}
    if seed is not None:
        sampling["seed"] = int(seed)
    if constraint is not None:
        fields = DIALECTS["vllm"].fields(constraint)
        if fields is not None:
            sampling.update(fields[0])
    return {"messages": [{"role": str(m["role"]), "content": str(m["content"])} for m in messages],
            "sampling_params": sampling}


def completion_of(row: dict[str, Any], model: str, *, constrained: bool = False, seconds: float = 0.0) -> Completion:
    """The processor's output row (``generated_text``, ``num_input_tokens``, ``num_generated_tokens``) as a
    :class:`Completion`; a row without its text is a :class:`BackendError` (never an empty answer)."""
    text = row.get("generated_text")
    if not isinstance(text, str):
        raise BackendError(f"the Ray LLM processor gave back a row without generated_text (columns: "
                           f"{', '.join(sorted(row))}): check the processor's postprocess step")
    return Completion(text=text, prompt_tokens=int(row.get("num_input_tokens") or 0),
                      completion_tokens=int(row.get("num_generated_tokens") or 0), seconds=seconds, model=model,
                      finish_reason=str(row.get("finish_reason") or "stop"),
                      constraint="applied" if constrained else "")


def build_vllm_processor(model: str, *, replicas: int = 1, gpus_per_replica: int = 1, batch_size: int = 32,
                         engine_kwargs: dict[str, Any] | None = None) -> Callable[[Any], Any]:
    """Ray Data's vLLM processor for ``model`` (a hub id or a folder every GPU node can read): ``replicas``
    engines of ``gpus_per_replica`` GPUs each (tensor parallel), ``batch_size`` rows per engine batch. GPU only."""
    try:
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig
    except ImportError as exc:
        raise ConfigError(f"--ray-llm vllm:MODEL runs vLLM inside the Ray cluster and needs Ray's LLM extra on every "
                          f"node ({exc.name or exc} is missing): pip install \"ray[llm]==2.60.0\" on GPU nodes, or "
                          "serve the model and pass --base-url") from None
    config = vLLMEngineProcessorConfig(
        model_source=model, concurrency=replicas, batch_size=batch_size,
        engine_kwargs={"tensor_parallel_size": gpus_per_replica, "enable_prefix_caching": True,
                       **(engine_kwargs or {})})
    return build_processor(config, postprocess=lambda row: {
        "pos": row["pos"], "generated_text": row.get("generated_text"),
        "num_input_tokens": row.get("num_input_tokens"), "num_generated_tokens": row.get("num_generated_tokens")})


class ProcessorBackend:
    """A backend whose calls run through ``processor`` (a function from a Ray Dataset of :func:`request_row`
    rows, with their ``pos``, to a Dataset of output rows with ``pos`` and ``generated_text``). Calls that
    arrive within ``window_s`` of each other (up to ``max_batch``) go as one Dataset. ``concurrency`` is how
    many calls a stage keeps waiting at once, so it sets the batch a stage's burst of calls fills."""

    #: its calls already run on the cluster: the Ray engine does not put them in actors of its own
    on_cluster = True
    constraint_kinds = DIALECTS["vllm"].kinds
    server_kind = "vllm"
    context_window: int | None = None

    def __init__(self, processor: Callable[[Any], Any], model: str, *, engine: Any = None, concurrency: int = 512,
                 window_s: float = 0.2, max_batch: int = 8192) -> None:
        self.processor, self.model, self.engine = processor, model, engine
        self.concurrency, self.window_s, self.max_batch = concurrency, window_s, max_batch
        self.base_url = f"ray-llm:{model}"
        self.batches = 0
        self._queue: Queue[tuple[dict[str, Any], bool, Future[Completion]]] = Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def complete(self, messages: Sequence[dict[str, str]], *, temperature: float = 0.0, max_tokens: int | None = None,
                 seed: int | None = None, constraint: Any = None) -> Completion:
        row = request_row(messages, temperature=temperature, max_tokens=max_tokens, seed=seed, constraint=constraint)
        future: Future[Completion] = Future()
        self._start()
        self._queue.put((row, constraint is not None, future))
        return future.result()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="ray-llm-batches", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            pending = [self._queue.get()]
            while len(pending) < self.max_batch:
                try:
                    pending.append(self._queue.get(timeout=self.window_s))
                except Empty:
                    break
            try:
                self._run(pending)
            except BaseException as exc:  # noqa: BLE001 - every waiting call gets the error, none hangs
                error = exc if isinstance(exc, BackendError) else BackendError(
                    f"the Ray LLM processor failed ({_cause(exc)}): see the Ray logs on the cluster (`ray logs`)")
                for _, _, future in pending:
                    if not future.done():
                        future.set_exception(error)

    def _run(self, pending: list[tuple[dict[str, Any], bool, Future[Completion]]]) -> None:
        import time

        import ray

        from .ray import ordered

        t0 = time.perf_counter()
        ds = ordered(ray.data.from_items([{"pos": i, **row} for i, (row, _, _) in enumerate(pending)]))
        rows = self.processor(ds).take_all()
        seconds = (time.perf_counter() - t0) / max(1, len(pending))
        by_pos = {int(r["pos"]): r for r in rows}
        if sorted(by_pos) != list(range(len(pending))) or len(rows) != len(pending):
            raise BackendError(f"the Ray LLM processor gave back {len(rows)} rows for {len(pending)} calls: "
                               "no reply was used")
        self.batches += 1
        for i, (_, constrained, future) in enumerate(pending):
            future.set_result(completion_of(by_pos[i], self.model, constrained=constrained, seconds=seconds))
        if self.engine is not None:
            self.engine.calls += len(pending)


def _cause(exc: BaseException) -> str:
    """The innermost cause of a Ray error, on one line (``ModuleNotFoundError: No module named 'x'``)."""
    while getattr(exc, "cause", None) is not None and exc.cause is not exc:  # type: ignore[attr-defined]
        exc = exc.cause  # type: ignore[attr-defined]
    first = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def ray_llm_backend(spec: str, engine: Any, **options: Any) -> ProcessorBackend:
    """The backend ``--ray-llm KIND:MODEL`` names, on ``engine`` (which must be the Ray engine); ``options`` go to
    :func:`build_vllm_processor`."""
    kind, model = parse_ray_llm(spec)
    if getattr(engine, "name", "") != "ray":
        raise ConfigError("--ray-llm runs the model inside a Ray cluster: add --engine ray (or use --base-url)")
    engine.connect()
    return ProcessorBackend(build_vllm_processor(model, **options), model, engine=engine)

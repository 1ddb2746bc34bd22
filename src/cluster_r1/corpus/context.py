"""What every stage of the corpus pipeline is handed, and what a fit leaves behind.

- :class:`ScaleOptions` -- the settings (every one has a default);
- :class:`Corpus` -- the texts and what is computed once about them (vectors, token lengths, the embedding);
- :class:`RunLog` -- what a run spends and says (model calls, usage, notes): the one mutable account;
- :class:`RunContext` -- one frozen object with all of the above, the backend, the instruction, the token
  budgets and the progress callback: each stage is ``stage(context, batch, ...)``, so a stage needs no more
  than the context and the texts (or topics) it works on, whichever engine calls it;
- :class:`ScaleModel` -- what places new texts after a fit.

The stage modules import from here; this module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..agent.options import AgentOptions
from ..backends.base import Backend
from ..errors import ConfigError
from ..types import ProgressFn, Usage, null_progress
from .calls import Tally
from .taxonomy import Taxonomy

__all__ = ["ASSIGN_MODES", "PROPOSE_MODES", "DEFAULT_CONTEXT", "ScaleOptions", "Corpus", "RunLog", "RunContext",
           "ScaleModel", "centre_rows"]

ASSIGN_MODES = ("auto", "llm", "hybrid", "embed")
PROPOSE_MODES = ("auto", "windows", "clusters")
#: Assumed context window (tokens) when neither the user nor the server says.
DEFAULT_CONTEXT = 8192



@dataclass
class ScaleOptions:
    """Settings of the pipeline (every one has a default a user rarely needs to change)."""

    assign: str = "auto"
    #: where the taxonomy comes from: ``windows`` (the agent on windows of representatives, then the merge),
    #: ``clusters`` (the offline default's embedding clusters, each named by the model; same names merged) or
    #: ``auto``: windows, and the clusters where this model's window answers fail the check against its single answers
    propose: str = "auto"
    #: most topics the ``clusters`` proposal keeps without asking the model to consolidate them
    max_named_topics: int = 100
    max_window_items: int = 40
    max_windows: int = 6
    per_cluster: int = 3
    #: texts per classification batch; 0: sized so the repeated categories are at most a quarter of a batch (30-80)
    batch_items: int = 0
    sample_fraction: float = 0.03
    min_sample: int = 300
    max_sample: int = 2000
    uncertain_fraction: float = 0.05
    max_uncertain: int = 2000
    discover_rounds: int = 1
    min_topic_size: int = 2
    describe: bool = True
    #: texts sampled for each check of what the model does reliably (window answers, batches)
    check_size: int = 16
    #: agreement (Cohen's kappa, window answers vs single questions) from which window answers are used
    trust: float = 0.6
    #: ``auto``: batches of texts only where they agree with single questions; ``always`` / ``never``
    batch: str = "auto"
    #: reasoning the constrained window and merge answers admit (characters); measured on the shipped example with
    #: Qwen2.5-Coder-1.5B: the same V at 0, 600 and 1800, half the time at 600 (docs/agent.md)
    think_chars: int = 600
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch not in ("auto", "always", "never"):
            raise ConfigError(f"batch={self.batch!r}: choose auto, always or never")
        if self.propose not in PROPOSE_MODES:
            raise ConfigError(f"propose={self.propose!r}: choose one of {', '.join(PROPOSE_MODES)}")
        if self.assign not in ASSIGN_MODES:
            raise ConfigError(f"assign={self.assign!r}: choose one of {', '.join(ASSIGN_MODES)}")
        if self.max_window_items < 4 or self.batch_items < 0 or self.max_windows < 1:
            raise ConfigError("max_window_items must be >= 4, batch_items >= 0 (0: auto) and max_windows >= 1")


@dataclass
class ScaleModel:
    """What places new texts: the taxonomy, the vectors' centre, topic centroids and the classifier."""

    taxonomy: Taxonomy
    centres: np.ndarray
    mean: np.ndarray
    embedder: str
    view: str
    template: str
    assign: str
    classifier: dict[str, Any] | None = None
    floor: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    #: the topic hierarchy around the topics (:func:`cluster_r1.corpus.saved.saved_levels`), or None
    levels: dict[str, Any] | None = None


def centre_rows(raw: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``raw - mean``, each row renormalised: the pipeline's vectors (a saved clusterer's new texts too).
    A row the view read nothing in (:func:`~cluster_r1.embed.cluster.empty_rows`) stays zero."""
    from ..embed.cluster import empty_rows

    x = raw - mean
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    x[empty_rows(raw)] = 0.0
    return x.astype(np.float32)


@dataclass(frozen=True)
class Corpus:
    """The texts of a run and what is computed once about them.

    ``x``: one centred unit vector per text (:func:`centre_rows`), ``mean`` what they were centred by;
    ``lengths``: each text's tokens as a prompt shows it; ``spec``: what embedded them (``embedder``,
    ``view``, ``template``).
    """

    texts: list[str]
    x: np.ndarray
    mean: np.ndarray
    lengths: list[int]
    spec: dict[str, str]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def view(self) -> str:
        return self.spec["view"]


@dataclass
class RunLog:
    """What a run spends and says: the model calls made here (``tally``), the usage of stages that count their
    own (``usage``), and the notes of the result, in order."""

    tally: Tally = field(default_factory=lambda: Tally(keep_replies=False))
    usage: Usage = field(default_factory=Usage)
    notes: list[str] = field(default_factory=list)

    def detail(self) -> str:
        """Calls and tokens so far, for progress lines."""
        calls = self.usage.calls + self.tally.calls
        return f"{calls} calls, {self.usage.prompt_tokens + self.usage.completion_tokens + self.tally.tokens:,} tokens"

    def total(self, seconds: float) -> Usage:
        """Everything spent, with the run's wall time."""
        out = Usage().add(self.usage).add(self.tally.usage())
        out.seconds = seconds
        return out


@dataclass(frozen=True)
class RunContext:
    """Everything a stage of one run is handed (see the module docstring); change it with :func:`dataclasses.replace`.

    ``window_tokens``: the token budget of one window's texts; ``batch_tokens``: of one classification batch
    (known once the taxonomy is: 0 before).
    """

    backend: Backend
    instruction: str
    corpus: Corpus
    options: ScaleOptions
    agent_options: AgentOptions
    n_clusters: int | None = None
    window_tokens: int = 0
    batch_tokens: int = 0
    progress: ProgressFn = null_progress
    log: RunLog = field(default_factory=RunLog)

    @property
    def texts(self) -> list[str]:
        return self.corpus.texts

    @property
    def x(self) -> np.ndarray:
        return self.corpus.x

    @property
    def seed(self) -> int:
        return self.options.seed

    def step(self, stage: str, done: int, total: int) -> None:
        """Progress of ``stage`` with the calls and tokens so far."""
        self.progress(stage, done, total, self.log.detail())


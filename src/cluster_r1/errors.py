"""One root exception and small subclasses; every message says what was wrong and what to do."""

from __future__ import annotations

__all__ = [
    "ClusterR1Error",
    "InputError",
    "ConfigError",
    "OutputError",
    "BackendError",
    "BackendUnavailableError",
    "ModelNotFoundError",
    "ContextLengthError",
    "AnswerError",
]


class ClusterR1Error(Exception):
    """Root of every error this package raises on purpose."""


class InputError(ClusterR1Error, ValueError):
    """The texts or arguments given by the user cannot be used as they are."""


class ConfigError(ClusterR1Error, ValueError):
    """A setting is missing or contradicts another one."""


class OutputError(ClusterR1Error):
    """A result, report or saved clusterer could not be written (a full disk, a read-only folder)."""


class BackendError(ClusterR1Error):
    """The model server answered with an error we cannot recover from."""


class BackendUnavailableError(BackendError):
    """The model server could not be reached (after bounded retries)."""


class ModelNotFoundError(BackendError):
    """The server does not serve the requested model name."""


class ContextLengthError(BackendError):
    """The prompt does not fit the model's context window."""


class AnswerError(ClusterR1Error):
    """The model never produced a usable clustering; carries every attempt."""

    def __init__(self, message: str, attempts: list[str] | None = None) -> None:
        super().__init__(message)
        self.attempts = list(attempts or [])

    @property
    def last_output(self) -> str | None:
        return self.attempts[-1] if self.attempts else None

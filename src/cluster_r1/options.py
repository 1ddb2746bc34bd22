"""Typed options from what a caller gives: the options themselves, a mapping of their names, or None.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Knobs:
...     depth: int = 1
>>> options_from(Knobs, {"depth": 2}, kind="knob", owner="the example")
Knobs(depth=2)
>>> options_from(Knobs, {"deep": 2}, kind="knob", owner="the example")
Traceback (most recent call last):
...
cluster_r1.errors.ConfigError: unknown knob option(s) deep: the example takes depth
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from .errors import ConfigError

__all__ = ["options_from"]

T = TypeVar("T")


def options_from(cls: type[T], value: T | Mapping[str, Any] | None, *, kind: str, owner: str) -> T:
    """``cls`` (a dataclass) from ``value``: None gives the defaults; a mapping must name only its fields (a
    misspelled one is one :class:`ConfigError` listing them)."""
    if value is None:
        return cls()
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError(f"{kind} options must be {cls.__name__} or a mapping of option names, got "
                          f"{type(value).__name__}")
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = [k for k in value if k not in names]
    if unknown:
        raise ConfigError(f"unknown {kind} option(s) {', '.join(unknown)}: {owner} takes {', '.join(names)}")
    return cls(**dict(value))

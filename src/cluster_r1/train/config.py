"""Loading trainer configs from YAML/JSON files with ``--set key=value`` overrides.

Every stage (distill, SFT, GRPO) has one ``@dataclass`` config whose fields carry
``metadata={"help": ...}`` and whose ``__post_init__`` checks say how to fix a bad
value (TRL's convention). This module only moves values between files, command
lines and those dataclasses.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError

__all__ = ["CONFIG_DIR", "load_config", "parse_overrides", "config_to_dict", "list_presets", "resolve_config_path"]

CONFIG_DIR = Path(__file__).parent / "configs"
T = TypeVar("T")


def _read_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ImportError(f"reading {path} needs PyYAML: pip install pyyaml (or use a .json config)") from None
        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of field: value, got {type(data).__name__}")
    return data


def resolve_config_path(name: str | Path) -> Path:
    """A path as given, else a preset name under ``train/configs`` (with or without ``.yaml``)."""
    path = Path(name)
    if path.exists():
        return path
    for candidate in (CONFIG_DIR / str(name), CONFIG_DIR / f"{name}.yaml", CONFIG_DIR / f"{name}.json"):
        if candidate.exists():
            return candidate
    raise ConfigError(f"config {str(name)!r} is neither a file nor a preset; presets: {', '.join(list_presets())}")


def list_presets() -> list[str]:
    """Names of the shipped preset configs."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def _read_with_base(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config; a ``base: other.yaml`` key (relative to the file) is read first and overridden."""
    if path.resolve() in seen:
        raise ConfigError(f"config {path} includes itself through 'base'")
    data = _read_file(path)
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = (path.parent / base) if not Path(base).is_absolute() else Path(base)
    merged = _read_with_base(resolve_config_path(base_path), (*seen, path.resolve()))
    merged.update(data)
    return merged


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """``["lr=1e-5", "lora=true"]`` -> ``{"lr": 1e-05, "lora": True}``; values are read as YAML/JSON scalars.

    >>> parse_overrides(["learning_rate=1e-5", "use_lora=true", "model=Qwen/Qwen2.5-7B-Instruct", "tags=[1, 2]"])
    {'learning_rate': 1e-05, 'use_lora': True, 'model': 'Qwen/Qwen2.5-7B-Instruct', 'tags': [1, 2]}
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set {pair!r}: write key=value, e.g. --set learning_rate=1e-5")
        key, raw = pair.split("=", 1)
        out[key.strip()] = _scalar(raw.strip())
    return out


def _scalar(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        pass
    try:
        return float(raw) if any(c in lowered for c in ".e") else int(raw)
    except ValueError:
        return raw


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Light coercion of file/CLI values to the field type (ints given as floats, numbers given as strings)."""
    if value is None:
        return None
    text = str(annotation)
    if "float" in text and isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return float(value)
        except ValueError:
            pass
    if text.startswith("int") and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def load_config(cls: type[T], path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> T:
    """Build ``cls`` (a dataclass) from a file (or preset name) and overrides; unknown keys are errors."""
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_with_base(resolve_config_path(path))
    data.update(overrides or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} field(s) {', '.join(unknown)}; valid fields: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {k: _coerce(v, hints.get(k, Any), k) for k, v in data.items()}
    return cls(**kwargs)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (Paths as strings)."""
    data = dataclasses.asdict(config)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}

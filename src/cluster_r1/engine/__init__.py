"""Where batch work runs: :mod:`.base` (the seam, and this process), :mod:`.ray` (a Ray cluster)."""

from __future__ import annotations

from ..errors import ConfigError
from .base import ENGINES, Engine, LocalEngine, Work, current_engine, using

__all__ = ["ENGINES", "Work", "Engine", "LocalEngine", "current_engine", "using", "make_engine"]


def make_engine(engine: str | Engine | None = "local", *, address: str | None = None,
                embed_actors: int | None = None, call_actors: int | None = None) -> Engine:
    """The engine called ``engine`` (an engine object is returned as is). ``address`` and ``embed_actors`` are
    the Ray engine's, as is ``call_actors`` (see :class:`cluster_r1.engine.ray.RayEngine`)."""
    if engine is None or engine == "local":
        if address is not None or embed_actors is not None or call_actors is not None:
            raise ConfigError("--ray-address, --ray-embed-actors and --ray-call-actors go with --engine ray: add it, "
                              "or drop them")
        return LocalEngine()
    if not isinstance(engine, str):
        if not callable(getattr(engine, "map_batches", None)):
            raise ConfigError(f"engine {engine!r} has no map_batches: pass 'local', 'ray' or an engine object")
        return engine
    if engine != "ray":
        raise ConfigError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    from .ray import RayEngine

    return RayEngine(address=address, embed_actors=embed_actors, call_actors=call_actors)

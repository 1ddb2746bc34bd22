"""The Ray engine: batch work mapped with Ray Data over actors, on a local Ray instance or a running cluster.

``RayEngine(address=None)`` connects to the cluster at ``address``, else to the one ``RAY_ADDRESS`` names,
else starts a local instance (or uses the one this process already started). Each actor sets its
:class:`~cluster_r1.engine.base.Work` up once (an encoder loaded once) and maps the batches it is given; the
driver gets the results back in the items' order, checked by position, so that no item is lost, repeated or
misplaced. Needs ``pip install "cluster-r1[ray]"``.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import BackendError, ConfigError
from .base import LocalEngine, Work

__all__ = ["RayEngine", "ActorBackend", "ordered", "NODE"]

#: Ray's version this engine was verified with (the ``ray`` extra pins it).
VERIFIED_RAY = "2.60.0"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError('the Ray engine needs Ray: pip install "cluster-r1[ray]" (or use --engine local)') from None
    return ray


class _Runner:
    """One Ray Data actor: the work set up once, then one call per batch on column ``source``; the result is
    column ``target`` beside the batch's own columns, with the node that ran it."""

    def __init__(self, work: Work, source: str = "item", target: str = "out") -> None:
        import ray

        self.fn: Callable[[list[Any]], Any] = work.setup()
        self.node = ray.get_runtime_context().get_node_id()
        self.source, self.target = source, target

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        out = np.asarray(self.fn(list(batch[self.source])))
        return {**batch, self.target: out, NODE: np.full(len(out), self.node)}


#: How long a model call lost with its actor (a node gone) is tried again before the run stops, and the seconds
#: waited before the first try (twice that before the second, ... at most 5): the actor restarts meanwhile.
RETRY_FOR = 120.0
RETRY_WAIT = 0.5

#: The column that says which node computed a row.
NODE = "_node"


class _BackendActor:
    """One Ray actor holding the project's own backend (its retries, timeouts and constraint dialect): up to the
    backend's ``concurrency`` calls at once."""

    def __init__(self, backend: Any) -> None:
        import ray

        self.backend = backend
        self.node = ray.get_runtime_context().get_node_id()

    def complete(self, messages: list[dict[str, str]], kwargs: dict[str, Any]) -> tuple[Any, str]:
        return self.backend.complete(messages, **kwargs), self.node


class ActorBackend:
    """A backend whose calls run in ``actors`` Ray actors that each hold ``backend``; meant to sit under the
    response cache (:meth:`RayEngine.distribute`), so that the cache is read and written here and only the misses
    travel. Its ``concurrency`` is the actors' together."""

    def __init__(self, backend: Any, engine: RayEngine, actors: int) -> None:
        ray = engine.connect()
        per = max(1, int(getattr(backend, "concurrency", 1) or 1))
        # spread over the nodes: each actor holds connections of its own to the servers
        # an actor lost with its node restarts elsewhere; the call it was making is made again here, counted
        remote = ray.remote(_BackendActor).options(num_cpus=0, max_concurrency=per, max_restarts=-1,
                                                   max_task_retries=0, scheduling_strategy="SPREAD")
        self._actors = [remote.remote(backend) for _ in range(actors)]
        self._engine, self._next, self._lock = engine, itertools.count(), threading.Lock()
        self.backend = backend
        self.model = backend.model
        self.base_url = getattr(backend, "base_url", "")
        self.context_window = getattr(backend, "context_window", None)
        self.server_kind = str(getattr(backend, "server_kind", "") or "")
        self.concurrency = per * actors

    @property
    def constraint_kinds(self) -> frozenset[str]:
        return frozenset(getattr(self.backend, "constraint_kinds", None) or ())

    def complete(self, messages: Any, *, temperature: float = 0.0, max_tokens: int | None = None,
                 seed: int | None = None, constraint: Any = None) -> Any:
        import ray

        kwargs: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        if constraint is not None:
            kwargs["constraint"] = constraint
        lost_at: float | None = None
        attempt = 0
        while True:
            with self._lock:
                actor = self._actors[next(self._next) % len(self._actors)]
            try:
                completion, node = ray.get(actor.complete.remote([dict(m) for m in messages], kwargs))
                break
            except ray.exceptions.RayTaskError as exc:  # the backend's own error, as a local call would raise it
                raise exc.cause from None
            except ray.exceptions.RayActorError as exc:  # its actor was lost (a node gone): made again, counted once
                now = time.monotonic()
                if lost_at is None:
                    lost_at = now
                    with self._lock:
                        self._engine.retried += 1
                elif now - lost_at > RETRY_FOR:
                    raise BackendError(f"a model call was lost with its Ray actor and no actor took it again within "
                                       f"{RETRY_FOR:.0f} s ({type(exc).__name__}): check the cluster's nodes "
                                       "(`ray status`)") from None
                attempt += 1
                time.sleep(min(RETRY_WAIT * attempt, 5.0))  # the actor restarting elsewhere
        with self._lock:
            self._engine.nodes.add(str(node))
            self._engine.calls += 1
        return completion


def ordered(ds: Any) -> Any:
    """``ds`` with its rows kept in order through every later step: a Dataset carries the context it was made
    under, so one made before :meth:`RayEngine.connect` would not keep order otherwise."""
    ds.context.execution_options.preserve_order = True
    return ds


class RayEngine:
    """Batch work on Ray: ``address`` (default ``RAY_ADDRESS``, else a local instance), ``embed_actors`` actors
    (default: one per CPU of the cluster), ``embed_gpus`` GPUs per actor (0: CPU only), ``call_actors`` actors
    that make the model calls (:meth:`distribute`). Work on fewer than
    ``min_items`` items (an instruction, a handful of names) runs in this process: a Ray job costs seconds."""

    name = "ray"

    def __init__(self, *, address: str | None = None, embed_actors: int | None = None,
                 embed_gpus: float = 0.0, min_items: int = 512, call_actors: int | None = None) -> None:
        if embed_actors is not None and embed_actors < 1:
            raise ConfigError(f"--ray-embed-actors must be at least 1, got {embed_actors}")
        if call_actors is not None and call_actors < 1:
            raise ConfigError(f"--ray-call-actors must be at least 1, got {call_actors}")
        self.address = address
        self.embed_actors = embed_actors
        self.embed_gpus = embed_gpus
        self.min_items = min_items
        self.call_actors = call_actors
        self.nodes: set[str] = set()
        self.batches = 0
        self.calls = 0
        self.retried = 0
        self._nodes_at_start: set[str] | None = None

    def connect(self) -> Any:
        """Ray, initialised: the cluster at ``address`` / ``RAY_ADDRESS``, or a local instance."""
        ray = _ray()
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False, include_dashboard=False,
                         ignore_reinit_error=True)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConfigError(f"could not connect to {where} ({first}): start it with `ray start --head`, or "
                                  "check --ray-address / RAY_ADDRESS") from None
        # Ray Data announces every execution at INFO: the run's progress is the project's own
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)
        if self._nodes_at_start is None:
            self._nodes_at_start = _alive_nodes(ray)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # results come back in the items' order
        context.enable_progress_bars = False
        return ray

    def actors(self) -> int:
        """The number of actors a map uses."""
        if self.embed_actors is not None:
            return self.embed_actors
        ray = self.connect()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def map_batches(self, work: Work, items: Sequence[Any], *, batch_size: int) -> Iterator[Any]:
        """``fn(batch)`` for each consecutive batch of ``batch_size`` items, computed by the actors and given back
        in order (a result whose positions are not the batch's is an error, never a misplaced row)."""
        if len(items) < self.min_items:
            yield from LocalEngine().map_batches(work, items, batch_size=batch_size)
            return
        ray = self.connect()
        n = len(items)
        ds = ordered(ray.data.from_items([{"pos": i, "item": item} for i, item in enumerate(items)],
                                         override_num_blocks=max(1, min(-(-n // batch_size), 64))))
        out = self.map_column(ds, work, source="item", target="out", batch_size=batch_size,
                              actors=min(self.actors(), -(-n // batch_size)))
        start = 0
        for batch in out.iter_batches(batch_size=batch_size, batch_format="numpy"):
            pos = np.asarray(batch["pos"])
            stop = min(start + batch_size, n)
            if not np.array_equal(pos, np.arange(start, stop)):
                raise RuntimeError(f"the Ray engine gave back rows {pos[:3].tolist()}... for items {start}-{stop - 1}")
            self.count_nodes(batch[NODE])
            yield batch["out"]
            start = stop
        if start != n:
            raise RuntimeError(f"the Ray engine gave back {start} of {n} items")

    def map_column(self, ds: Any, work: Work, *, source: str, target: str, batch_size: int,
                   actors: int | None = None) -> Any:
        """``ds`` (a Ray Dataset) with column ``target`` = ``fn(batch of source)`` computed by ``actors`` actors
        (default :meth:`actors`), each setting ``work`` up once; lazy, in the rows' order."""
        self.connect()
        import ray

        ordered(ds)
        remote: dict[str, Any] = {"num_cpus": 1}
        if self.embed_gpus:
            remote["num_gpus"] = self.embed_gpus
        pool = ray.data.ActorPoolStrategy(size=actors or self.actors())
        return ds.map_batches(_Runner, fn_constructor_kwargs={"work": work, "source": source, "target": target},
                              batch_size=batch_size, compute=pool, batch_format="numpy", **remote)

    def count_nodes(self, nodes: Any) -> None:
        """Count the nodes named in a batch's :data:`NODE` column as having done work."""
        self.nodes.update(str(x) for x in nodes)
        self.batches += 1

    def distribute(self, backend: Any) -> Any:
        """``backend``'s calls made by ``call_actors`` actors (default :meth:`actors`); a response cache around it
        stays here, so only its misses travel (a copy of the cache wrapper: the one given is left as it was)."""
        inner = getattr(backend, "backend", None)
        if getattr(backend, "on_cluster", False) or getattr(inner, "on_cluster", False):
            return backend  # its calls already run on the cluster (--ray-llm)
        actors = self.call_actors or self.actors()
        if inner is not None and hasattr(backend, "hits"):  # a CachedBackend: the actors go under it
            import copy

            wrapper = copy.copy(backend)
            wrapper.backend = ActorBackend(inner, self, actors)
            wrapper.concurrency = wrapper.backend.concurrency
            return wrapper
        return ActorBackend(backend, self, actors)

    def notes(self) -> list[str]:
        """``engine=ray, N nodes``: the nodes that did work (``M model calls`` when calls ran there)."""
        if not self.batches and not self.calls:
            return ["engine=ray: no batch work was large enough to send to the cluster"]
        nodes = len(self.nodes)
        calls = f", {self.calls} model call{'s' if self.calls != 1 else ''} made there" if self.calls else ""
        if self.retried:
            many = self.retried != 1
            calls += (f" ({self.retried} made again after {'their actors were' if many else 'its actor was'} lost: "
                      f"the server may have seen {'them' if many else 'it'} twice)")
        notes = [f"engine=ray, {nodes} node{'s' if nodes != 1 else ''}{calls}"]
        lost = self.lost_nodes()
        if lost:
            notes.append(f"{lost} node{'s' if lost != 1 else ''} left the Ray cluster during the run: Ray ran "
                         f"{'their' if lost != 1 else 'its'} work again on the others")
        return notes

    def lost_nodes(self) -> int:
        """How many of the nodes alive when this engine connected are gone now."""
        if self._nodes_at_start is None:
            return 0
        ray = _ray()
        if not ray.is_initialized():
            return 0
        return len(self._nodes_at_start - _alive_nodes(ray))


def _alive_nodes(ray: Any) -> set[str]:
    return {str(n["NodeID"]) for n in ray.nodes() if n.get("Alive")}

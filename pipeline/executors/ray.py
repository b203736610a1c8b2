"""The Ray executor: `map` on actors of a Ray cluster.

`executor: ray` in the config (or `make pipeline EXECUTOR=ray`) runs the
per-comment work of clean, embed and stance (whatever a stage hands to
`map`) on Ray actors, one per CPU: each actor makes a call's state once
(spaCy, the embedding model, the stance models: the `setup` it is given) and
keeps it for every later batch and dump of the run. The driver does what
needs a whole thread (ingest, reply targets, topics, the thread reader, the
export), and every stage runs under the stage cache there, so a stage the
cache answers sends Ray nothing. Without RAY_ADDRESS a local Ray is started
on this machine; with it, the run joins that cluster, whose nodes need this
project installed (or get it shipped: py_modules) and nothing else: batches
carry their texts and vectors, never paths. docs/ray.md has the recipe.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.executors._base import BatchFunction, Executor, qualified
from pipeline.offline import OFFLINE_ENV


def _start(config: dict):
    """Ray, started locally or joined (RAY_ADDRESS); returns (ray, workers, started_here)."""
    try:
        import ray
    except ImportError:
        raise PipelineError("executor 'ray' needs Ray, which is not installed", path="executor",
                            hint="pip install -e '.[ray]' (make pipeline EXECUTOR=ray does it)") from None
    workers = config["ray"]["workers"]
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                                       runtime_env={"env_vars": dict(OFFLINE_ENV)})
        address = os.environ.get("RAY_ADDRESS")
        if address:
            import pipeline

            options["runtime_env"]["py_modules"] = [str(Path(pipeline.__file__).parent)]
            ray.init(address=address, **options)
        else:
            # address=local: a Ray of our own, never one a `ray start` left on this machine
            ray.init(address="local", num_cpus=os.cpu_count() if workers == "auto" else int(workers), **options)
        started = True
    if workers == "auto":
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    logging.getLogger("ray").setLevel(logging.WARNING)
    return ray, int(workers), started


class Worker:
    """A Ray actor: the states its setups made, kept for the run."""

    def __init__(self) -> None:
        self.states: dict[str, Any] = {}

    def run(self, fn: BatchFunction, setup: Callable[[], Any] | None, key: str, context: Any,
            batch: Sequence[Any]) -> tuple[Any, float, float, str]:
        """fn's result for the batch, the seconds it took, the seconds the setup took
        (0 after the first), and the node it ran on."""
        import ray

        loaded = 0.0
        if key not in self.states:
            start = time.perf_counter()
            self.states[key] = setup() if setup is not None else None
            loaded = time.perf_counter() - start
        start = time.perf_counter()
        result = fn(self.states[key], context, batch)
        return result, time.perf_counter() - start, loaded, ray.get_runtime_context().get_node_id()


class RayExecutor(Executor):
    name = "ray"
    local = False

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.ray: Any = None
        self.actors: list = []
        self.started_here = False
        self.nodes: set[str] = set()

    def _pool(self) -> list:
        if self.ray is None:
            self.ray, workers, self.started_here = _start(self.config)
            actor = self.ray.remote(num_cpus=1)(Worker)
            self.actors = [actor.remote() for _ in range(workers)]
        return self.actors

    def map(self, fn: BatchFunction, items: Sequence[Any], *, setup: Callable[[], Any] | None = None,
            context: Any = None, batch_size: int) -> list[Any]:
        if not len(items):
            return []
        actors = self._pool()
        ray = self.ray
        from ray.util import ActorPool

        start = time.perf_counter()
        key = repr(setup)  # one state per distinct setup (function and arguments) on each actor
        shared = ray.put(context)
        batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
        pool = ActorPool(actors)
        try:
            results = list(pool.map(lambda actor, batch: actor.run.remote(fn, setup, key, shared, batch), batches))
        except ray.exceptions.RayError as error:
            cause = root_cause(error)
            if isinstance(cause, PipelineError):
                raise cause from None
            raise PipelineError(f"a Ray worker failed in {qualified(fn)}: {cause!r}".splitlines()[0],
                                hint="the workers' logs are under /tmp/ray/session_latest/logs") from None
        self.nodes.update(node for *_, node in results)
        self._note(fn, len(items), len(batches), time.perf_counter() - start,
                   worker_seconds=sum(r[1] for r in results), setup_seconds=sum(r[2] for r in results))
        return [r[0] for r in results]

    def reset(self) -> None:
        super().reset()
        self.nodes = set()

    def close(self) -> None:
        if self.ray is not None:
            for actor in self.actors:
                self.ray.kill(actor)
            self.actors = []
            if self.started_here:
                self.ray.shutdown()
            self.ray = None

    def about(self) -> dict:
        return {"name": self.name, "workers": len(self.actors) or None, "nodes": len(self.nodes),
                "address": os.environ.get("RAY_ADDRESS") or "local",
                "ray_version": self.ray.__version__ if self.ray is not None else None, "map": self.calls}


def root_cause(error: BaseException) -> BaseException:
    """The project's own error inside Ray's wrappers (RayTaskError.cause,
    UserCodeException.__cause__), or the innermost exception."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, PipelineError):
            return error
        inner = getattr(error, "cause", None) or error.__cause__ or error.__context__
        if inner is None:
            return error
        error = inner
    return error

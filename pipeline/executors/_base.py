"""What an executor is: where a run's per-comment work happens.

The runner owns the run (stages, their cache, timing, the files); an
executor offers one verb, `map`: a pure function over batches of items, with
per-worker state made once by `setup` (a model loaded once per worker) and a
`context` shared by every batch of the call (the thread's article). A stage
calls it from inside its function, so a stage the cache answers calls no
executor at all, and an executor knows no stage: it is handed functions,
never imports a stage module.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

BatchFunction = Callable[[Any, Any, Sequence[Any]], Any]  # fn(state, context, batch) -> the batch's result


def qualified(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


class Executor(ABC):
    """`config` is the run's resolved config, kept as given."""

    name: str  # the manifest's executor.name
    local: bool = True  # map runs in this process

    def __init__(self, config: dict) -> None:
        self.config = config
        self.calls: dict[str, dict[str, float]] = {}  # by function: calls, items, batches, seconds

    @abstractmethod
    def map(self, fn: BatchFunction, items: Sequence[Any], *, setup: Callable[[], Any] | None = None,
            context: Any = None, batch_size: int) -> list[Any]:
        """[fn(state, context, batch) for each batch of `items`], in order, where
        `state` is setup() made once per worker (None without a setup) and a
        batch is `batch_size` consecutive items (the last one fewer): every
        executor cuts the same batches, so their results are the same bytes."""

    @property
    def batches_sent(self) -> int:
        """Batches mapped since the last reset."""
        return int(sum(entry["batches"] for entry in self.calls.values()))

    def _note(self, fn: Callable, items: int, batches: int, seconds: float, **more: float) -> None:
        entry = self.calls.setdefault(qualified(fn), {"calls": 0, "items": 0, "batches": 0, "seconds": 0.0})
        entry["calls"] += 1
        entry["items"] += items
        entry["batches"] += batches
        entry["seconds"] = round(entry["seconds"] + seconds, 3)
        for key, value in more.items():
            entry[key] = round(entry.get(key, 0.0) + value, 3)

    def reset(self) -> None:
        """Start counting afresh (the runner does at each dump, for its manifest)."""
        self.calls = {}

    def close(self) -> None:
        """Give back what the executor started (workers, a local cluster)."""

    def about(self) -> dict:
        """The manifest's `executor` entry: where the work ran and, per function
        mapped, how much and how long."""
        return {"name": self.name, "map": self.calls}


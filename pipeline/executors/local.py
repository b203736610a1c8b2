"""The local executor: every batch in this process, in order."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.executors._base import BatchFunction, Executor


class LocalExecutor(Executor):
    """The same batches as any other executor (float results can depend on which
    rows are computed together, so a local run and a Ray run give the same bytes),
    one after the other; memory is bounded by the batch, however long the thread."""

    name = "local"

    def map(self, fn: BatchFunction, items: Sequence[Any], *, setup: Callable[[], Any] | None = None,
            context: Any = None, batch_size: int) -> list[Any]:
        if not len(items):
            return []
        start = time.perf_counter()
        state = setup() if setup is not None else None  # setups are loaded once per process (lru_cache)
        loaded = time.perf_counter() - start
        out = [fn(state, context, items[i:i + batch_size]) for i in range(0, len(items), batch_size)]
        self._note(fn, len(items), len(out), time.perf_counter() - start, setup_seconds=loaded)
        return out

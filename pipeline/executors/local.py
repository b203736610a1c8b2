"""The local executor: every batch in this process, in order."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.executors._base import BatchFunction, Executor

# items per call of the function here: several of the caller's batches at once (fewer
# calls, the same batches inside: a multiple of the batch size), and memory bounded
# however long the thread
LOCAL_CHUNK = 8192


class LocalExecutor(Executor):
    name = "local"

    def map(self, fn: BatchFunction, items: Sequence[Any], *, setup: Callable[[], Any] | None = None,
            context: Any = None, batch_size: int) -> list[Any]:
        if not len(items):
            return []
        start = time.perf_counter()
        state = setup() if setup is not None else None  # setups are loaded once per process (lru_cache)
        chunk = batch_size * max(1, math.ceil(LOCAL_CHUNK / batch_size))
        loaded = time.perf_counter() - start
        out = [fn(state, context, items[i:i + chunk]) for i in range(0, len(items), chunk)]
        self._note(fn, len(items), len(out), time.perf_counter() - start, setup_seconds=loaded)
        return out

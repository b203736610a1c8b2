"""Executors: where a run's per-comment work happens (`executor` in the config).

`_base.py` states the one verb (`map` a pure function over batches), `local.py`
runs it in this process, `ray.py` on the actors of a Ray cluster (Ray itself
is imported only when that executor first maps).
"""
from __future__ import annotations

from pipeline.executors._base import Executor
from pipeline.executors.local import LocalExecutor
from pipeline.executors.ray import RayExecutor

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]
EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(config: dict) -> Executor:
    """The executor the config names."""
    return EXECUTORS[config["executor"]](config)

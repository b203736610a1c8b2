"""Executors: where a run's per-comment work happens (`executor` in the config).

`_base.py` states the interface, `local.py` runs everything in this process,
`ray.py` spreads ingest, clean, embed and stance scoring over a Ray cluster
(Ray itself is imported only when that executor starts).
"""
from __future__ import annotations

from pipeline.executors._base import Executor
from pipeline.executors.local import LocalExecutor
from pipeline.executors.ray import RayExecutor

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]
EXECUTORS: dict[str, type[Executor]] = {"local": LocalExecutor, "ray": RayExecutor}


def make_executor(config: dict, resources) -> Executor:
    """The executor the config names, for this run's resources."""
    return EXECUTORS[config["executor"]](config, resources)

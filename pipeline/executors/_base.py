"""What an executor is: where a run's per-comment work happens.

The runner owns the run (stage cache, timing, export, which dumps failed);
an executor owns where the work is done. The runner calls `start` once with
every dump, then per dump, each call under that dump's stage cache (so a
cached stage does not call it): `read_thread`, `clean`, `stance_scores`.
The embedding vectors come from the run's Resources, which an executor may
fill up front (`Resources.embed` with its own encode, then `keep_pending`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.records import CleanComment, Thread


class Executor(ABC):
    """`config` is the run's resolved config, `resources` its Resources
    (models loaded once per run); both are kept as given."""

    name: str  # the manifest's executor.name, and stages[...].ran_on for ran_elsewhere
    ran_elsewhere: tuple[str, ...] = ()  # stages whose fresh output this executor computed off the driver

    def __init__(self, config: dict, resources) -> None:
        self.config = config
        self.resources = resources
        self.threads: dict[str, str | None] = {}  # by artifact name: the thread of a many-thread file

    def open_dump(self, handle, name: str, source: str):
        """The dump's checked index, in the format the config names (or found),
        and the thread the artifact name stands for."""
        from pipeline import ingest

        return ingest.open_dump(handle, source, self.config["ingest"]["format"], self.threads.get(name),
                                ingest.options_from(self.config))

    def start(self, dumps: list[Path], names: list[str]) -> dict[str, PipelineError]:
        """Work done for every dump at once, before the first is processed;
        returns, by artifact name, the dumps that failed their check."""
        return {}

    @abstractmethod
    def read_thread(self, name: str, path: Path) -> Thread:
        """The dump's article and comments."""

    @abstractmethod
    def clean(self, name: str, thread: Thread) -> list[CleanComment]:
        """The thread's comments cleaned, in thread order."""

    def stance_scores(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-comment stance scores computed up front, or None to have the
        stance stage compute them."""
        return None

    def about(self) -> dict:
        """The manifest's `executor` entry."""
        return {"name": self.name}

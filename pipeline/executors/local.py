"""The local executor: every stage in this process, one dump at a time."""
from __future__ import annotations

from pathlib import Path

from pipeline import clean
from pipeline.executors._base import Executor
from pipeline.records import CleanComment, Thread


class LocalExecutor(Executor):
    name = "local"

    def read_thread(self, name: str, path: Path) -> Thread:
        with path.open("rb") as handle:
            return self.open_dump(handle, name, str(path)).read()

    def clean(self, name: str, thread: Thread) -> list[CleanComment]:
        return clean.clean_comments(thread.comments, thread.article, self.config["clean"],
                                    self.resources.nlp)

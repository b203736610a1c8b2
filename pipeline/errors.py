"""The one error type a user can cause, and how it reads on one line."""
from __future__ import annotations

import threading
from pathlib import Path

# Set by the CLI's SIGINT/SIGTERM handler. The handler also raises KeyboardInterrupt, but a
# library can swallow that one; stage boundaries and the final swap check this flag too.
INTERRUPTED = threading.Event()


def check_interrupted() -> None:
    """Raise KeyboardInterrupt if the run was interrupted, even where the first one was lost."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


class Interrupted(KeyboardInterrupt):
    """An interrupt that came after some artifacts were already replaced:
    `replaced` names them, so the CLI does not claim they are unchanged."""

    def __init__(self, replaced=()) -> None:
        super().__init__()
        self.replaced = [str(path) for path in replaced]


class PipelineError(Exception):
    """Bad input or bad configuration: something the user can fix.

    The CLI prints ``str(error)`` as a single line and exits with status 2, so
    the message names the file, the line (where there is one) and the fix.
    """

    def __init__(self, message: str, *, path: str | Path | None = None,
                 line: int | None = None, hint: str | None = None) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split())

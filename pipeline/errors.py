"""The one error type a user can cause, and how it reads on one line."""
from __future__ import annotations

from pathlib import Path


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

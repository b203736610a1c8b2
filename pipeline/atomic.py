"""Write-then-rename, written once: a file is written beside its target under a
hidden name and renamed over it, so a reader sees the old file or the new one,
never half of one, and a signal that arrives during the renames waits for them.
Every file the project writes in place goes through here (the stage and
embedding caches, review-import, the index, the pairs' predictions); the
artifact folders are swapped whole (pipeline/swap.py)."""
from __future__ import annotations

import os
import signal
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from pipeline.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside the block are held and delivered
    (to the handlers there were before) once it is over, even when it fails."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python runs signal handlers in the main thread only: none can land here
        return
    caught: list[int] = []
    previous = {}
    for number in SIGNALS:
        handler = signal.getsignal(number)
        if handler is not None:  # None: a handler set outside Python, left alone
            previous[number] = signal.signal(number, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)


def write_together(writes: dict[Path, Callable[[Path], None]]) -> None:
    """`write(path)` for each target into a hidden file beside it, then every
    file renamed over its target: a reader sees each old file or each new one,
    never half of one, and a failed write replaces none of them."""
    tmps = {target: target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}") for target in writes}
    try:
        for target, write in writes.items():
            write(tmps[target])
        done: list[Path] = []
        try:
            with deferred_signals():
                for target, tmp in tmps.items():
                    os.replace(tmp, target)
                    done.append(target)
        except KeyboardInterrupt:
            raise Interrupted(done) from None
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """`write(path)` into a hidden file beside `target`, then renamed over it."""
    write_together({target: write})

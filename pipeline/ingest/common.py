"""What both dump shapes share: the checked Dump, line reading, the hint."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO

from pipeline.records import Article, Comment, Thread

FIX_FORMAT = "see 'The dump format' in README.md for the layout a dump must have"


@dataclass
class Dump:
    """A checked dump: the article, warnings and counts are known; the
    comments are read from the file each time `comments()` is called."""

    article: Article
    warnings: tuple[str, ...]
    n_comments: int
    authors: tuple[str, ...]  # distinct, in order of first appearance
    _replay: Callable[[], Iterator[Comment]] = field(repr=False)
    format: str = "text"  # the reader that read it
    missing: int = 0  # comments the file says exist but does not hold
    threads_in_file: int = 1

    def comments(self) -> Iterator[Comment]:
        """The comments in tree order: every parent before its replies."""
        return self._replay()

    def read(self) -> Thread:
        return Thread(self.article, tuple(self.comments()), self.warnings, self.format, self.missing,
                      self.threads_in_file)


def raw_lines(handle: BinaryIO, encoding: str) -> Iterator[tuple[int, int, str]]:
    """(line number, byte offset, text) for each line ending in \\n. Only \\n
    ends a line here: JSON strings may hold U+2028 or U+0085 unescaped."""
    handle.seek(0)
    offset = 0
    for number, raw in enumerate(handle, 1):
        text = raw.decode(encoding)
        if number == 1 and text.startswith("\ufeff"):
            text = text[1:]
        yield number, offset, text.rstrip("\n").removesuffix("\r")
        offset += len(raw)


def article_id_for(source: str) -> str:
    return PurePath(source).stem

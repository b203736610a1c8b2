"""The text dump format: a title line, unindented body paragraphs, then
comments whose header is `<indent>• author` with an indent of 2 * (depth + 1)
spaces, and whose paragraphs are indented one level deeper (README.md, The
dump format). Comments are yielded as soon as their last line is read."""
from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from dataclasses import dataclass, field
from typing import BinaryIO

from pipeline.errors import PipelineError
from pipeline.ingest.common import FIX_FORMAT, Dump, article_id_for, raw_lines
from pipeline.records import Article, Comment

BULLET = "\u2022"
HEADER = re.compile(r"^( *)\u2022 ?(.*)$")
MAX_TITLE_CHARS = 2000


def _text_lines(handle: BinaryIO, encoding: str) -> Iterator[tuple[int, str]]:
    """Lines of a text dump: \\r\\n, \\n and a lone \\r all end a line."""
    number = 0
    for _, _, line in raw_lines(handle, encoding):
        for piece in line.split("\r"):
            number += 1
            yield number, piece


@dataclass
class _OpenComment:
    depth: int
    indent: int  # the header's indent as written, before any depth correction
    author: str
    line: int
    parent_id: str | None
    paragraphs: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)

    def close_paragraph(self) -> None:
        if self.current:
            self.paragraphs.append(" ".join(self.current))
            self.current = []

    def close(self, position: int) -> Comment:
        self.close_paragraph()
        return Comment(id=f"c{position + 1}", parent_id=self.parent_id, depth=self.depth,
                       author=self.author, text="\n\n".join(self.paragraphs), line=self.line,
                       position=position)


def _indent_of(line: str) -> tuple[int, str]:
    """Width of the leading indent; a tab counts as one level (2 spaces)."""
    stripped = line.lstrip(" \t")
    prefix = line[: len(line) - len(stripped)]
    return len(prefix.replace("\t", "  ")), stripped


def _text_records(lines: Iterator[tuple[int, str]], source: str,
                  warnings: list[str]) -> Iterator[Article | Comment]:
    """The article, then each comment as soon as its last line is read."""
    for number, title_line in lines:
        if title_line.strip():
            break
    else:
        raise PipelineError("the file has no text", path=source, line=1, hint=FIX_FORMAT)
    if HEADER.match(title_line.replace("\t", "  ")):
        raise PipelineError("the dump starts with a comment; the first line must be the article title",
                            path=source, line=number, hint=FIX_FORMAT)
    if len(title_line) > MAX_TITLE_CHARS:
        raise PipelineError(f"the first line is {len(title_line):,} characters long; a dump starts "
                            "with a title line", path=source, line=number, hint=FIX_FORMAT)
    title_number = number
    paragraphs: list[str] = []
    first_header: tuple[int, str] | None = None
    for number, line in lines:
        width, stripped = _indent_of(line)
        if stripped.startswith(BULLET) and width > 0:
            first_header = (number, line)
            break
        if stripped:
            paragraphs.append(" ".join(stripped.split()))
    yield Article(id=article_id_for(source), title=" ".join(title_line.split()),
                  paragraphs=tuple(paragraphs), source=source)
    if first_header is None:
        if not paragraphs:
            raise PipelineError("only a title: no article body and no comments", path=source,
                                line=title_number, hint=FIX_FORMAT)
        warnings.append(f"{source}: no comment thread found (no line starts with spaces and '{BULLET} ')")
        return

    count = 0
    stack: list[tuple[int, str]] = []  # (depth, id) of the open ancestors
    open_comment: _OpenComment | None = None
    for line_no, raw in chain([first_header], lines):
        width, stripped = _indent_of(raw)
        if not stripped:
            if open_comment is not None:
                open_comment.close_paragraph()
            continue
        header = HEADER.match(" " * width + stripped)
        if header and width > 0:
            if open_comment is not None:
                yield open_comment.close(count)
                count += 1
            if width % 2:
                raise PipelineError(f"comment header indented by {width} spaces, not a multiple of 2",
                                    path=source, line=line_no,
                                    hint="each nesting level is 2 spaces: 2 for top level, 4 for a reply")
            depth = width // 2 - 1
            expected_max = stack[-1][0] + 1 if stack else 0
            if depth > expected_max:
                warnings.append(f"{source}:{line_no}: indent jumps from depth {expected_max - 1} "
                                f"to {depth}; attached to the nearest comment above")
                depth = expected_max
            while stack and stack[-1][0] >= depth:
                stack.pop()
            author = " ".join(header.group(2).split()) or "(no name)"
            open_comment = _OpenComment(depth=depth, indent=width, author=author, line=line_no,
                                        parent_id=stack[-1][1] if stack else None)
            stack.append((depth, f"c{count + 1}"))
            continue
        if open_comment is None:
            raise PipelineError("text inside the thread before any comment header",
                                path=source, line=line_no, hint=FIX_FORMAT)
        if width == 0:
            raise PipelineError("unindented line inside the comment thread",
                                path=source, line=line_no,
                                hint=f"indent comment text by {2 * (open_comment.depth + 2)} spaces")
        if width <= open_comment.indent:
            raise PipelineError(
                f"comment text indented by {width} spaces, no deeper than its header",
                path=source, line=line_no,
                hint=f"indent it by {open_comment.indent + 2} spaces")
        open_comment.current.append(" ".join(stripped.split()))
    if open_comment is not None:
        yield open_comment.close(count)


def open_text(handle: BinaryIO, encoding: str, source: str) -> Dump:
    warnings: list[str] = []
    records = _text_records(_text_lines(handle, encoding), source, warnings)
    article = next(records)
    authors: dict[str, None] = {}
    count = 0
    for comment in records:  # the checking pass: errors surface here
        authors[comment.author] = None
        count += 1

    def replay() -> Iterator[Comment]:
        again = _text_records(_text_lines(handle, encoding), source, [])
        next(again)
        yield from again

    return Dump(article, tuple(warnings), count, tuple(authors), replay)

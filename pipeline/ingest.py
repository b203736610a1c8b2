"""Ingest: turn a dump (text or JSONL) into an article and its comments.

The text format is described in README.md (The dump format): a title line,
unindented body paragraphs, then comments whose header is `<indent>• author`
with an indent of 2 * (depth + 1) spaces, and whose paragraphs are indented
one level deeper.

Ingest streams: `open_dump` reads a seekable binary file once to check it
(encoding, layout, ids, parents) and keeps only a small index; `Dump.comments()`
then reads the comments again one at a time, so no more than one comment's
text is in memory at once. A JSONL thread is given in parents-first tree
order by seeking to each comment's line. Errors are raised by `open_dump`,
before any comment is handed on.
"""
from __future__ import annotations

import codecs
import io
import json
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import BinaryIO

from pipeline.errors import PipelineError
from pipeline.records import Article, Comment, Thread

BULLET = "\u2022"
HEADER = re.compile(r"^( *)\u2022 ?(.*)$")
MAGIC = {
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or .docx/.xlsx)",
    b"\x1f\x8b": "a gzip archive",
}
MAX_TITLE_CHARS = 2000
CHUNK = 1 << 20
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

    def comments(self) -> Iterator[Comment]:
        """The comments in tree order: every parent before its replies."""
        return self._replay()

    def read(self) -> Thread:
        return Thread(self.article, tuple(self.comments()), self.warnings)


def parse_dump(data: bytes, source: str) -> Thread:
    """Parse a dump held in memory (either shape) into a Thread."""
    return open_dump(io.BytesIO(data), source).read()


def open_dump(handle: BinaryIO, source: str) -> Dump:
    """Check a dump in either shape (JSONL by its suffix or its first line)
    and index it. The handle must stay open while the comments are read."""
    handle, encoding, warnings = _sniff(handle, source)
    if _looks_like_jsonl(handle, encoding, source):
        dump = _open_jsonl(handle, encoding, source)
    else:
        dump = _open_text(handle, encoding, source)
    dump.warnings = tuple(warnings) + dump.warnings
    return dump


def _sniff(handle: BinaryIO, source: str) -> tuple[BinaryIO, str, list[str]]:
    """The dump's encoding, read in chunks: UTF-8 (with or without BOM) and
    UTF-16 with a BOM as such; other text as Windows-1252 with a warning, since
    that is what browsers on Windows save. Binary files are refused."""
    handle.seek(0)
    head = handle.read(CHUNK)
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            raise PipelineError(f"this is {kind}, not a text dump", path=source, line=1,
                                hint=FIX_FORMAT)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # rare enough to decode whole; the rest of ingest reads it as UTF-8
        handle.seek(0)
        text = handle.read().decode("utf-16", errors="replace")
        if not text.strip():
            raise _empty(source)
        return io.BytesIO(text.encode("utf-8")), "utf-8", [f"{source}: decoded as UTF-16 (byte order mark)"]
    if b"\x00" in head[:65536]:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise PipelineError("binary data (NUL bytes), not a text dump", path=source,
                            line=line, hint=FIX_FORMAT)
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines, has_text, bad_line, chunk = 0, False, None, head
    while chunk:
        has_text = has_text or bool(chunk.strip())
        held = len(decoder.getstate()[0])  # bytes of a character split by the last chunk end
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            bad_line = newlines + chunk[: max(error.start - held, 0)].count(b"\n") + 1
            break
        newlines += chunk.count(b"\n")
        chunk = handle.read(CHUNK)
    else:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            bad_line = newlines + 1
    if not has_text:
        raise _empty(source)
    handle.seek(0)
    if bad_line is None:
        return handle, "utf-8", []
    while chunk := handle.read(CHUNK):
        try:
            chunk.decode("cp1252")
        except UnicodeDecodeError:
            raise PipelineError("not UTF-8 and not Windows-1252 text", path=source,
                                line=bad_line, hint="re-save the dump as UTF-8") from None
    handle.seek(0)
    return handle, "cp1252", [f"{source}:{bad_line}: not UTF-8; decoded as Windows-1252 "
                              "(re-save as UTF-8 to silence this)"]


def _empty(source: str) -> PipelineError:
    return PipelineError("the file is empty", path=source, line=1,
                         hint="save the article page with its comments as text")


def _raw_lines(handle: BinaryIO, encoding: str) -> Iterator[tuple[int, int, str]]:
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


def _looks_like_jsonl(handle: BinaryIO, encoding: str, source: str) -> bool:
    """A .jsonl file, or a first non-blank line that is a JSON object (a
    title may start with '{')."""
    if source.lower().endswith(".jsonl"):
        return True
    for _, _, line in _raw_lines(handle, encoding):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            return False
        try:
            return isinstance(json.loads(line), dict)
        except json.JSONDecodeError:
            return False
    return False


# --- the text format -------------------------------------------------------

def _text_lines(handle: BinaryIO, encoding: str) -> Iterator[tuple[int, str]]:
    """Lines of a text dump: \\r\\n, \\n and a lone \\r all end a line."""
    number = 0
    for _, _, line in _raw_lines(handle, encoding):
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
    for line_no, raw in _chain(first_header, lines):
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


def _chain(first, rest):
    yield first
    yield from rest


def _open_text(handle: BinaryIO, encoding: str, source: str) -> Dump:
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


# --- the JSONL shape -------------------------------------------------------

def _jsonl_error(source: str, line: int, message: str) -> PipelineError:
    return PipelineError(message, path=source, line=line,
                         hint='each line is one JSON object: {"type": "article", ...} first, '
                              'then {"type": "comment", "id", "parent_id", "author", "text"}')


def _string(value: object) -> str:
    return "" if value is None else str(value)


def _json_object(raw: str, source: str, line_no: int) -> dict:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as error:
        raise _jsonl_error(source, line_no, f"broken JSON: {error.msg}") from None
    if not isinstance(obj, dict):
        raise _jsonl_error(source, line_no, "a line is not a JSON object")
    for key in ("title", "body", "text", "author", "created_at"):
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise _jsonl_error(source, line_no, f"'{key}' must be a string, "
                                                f"got {type(obj[key]).__name__}")
    return obj


def _author(obj: dict) -> str:
    return " ".join(_string(obj.get("author")).split()) or "(no name)"


def _open_jsonl(handle: BinaryIO, encoding: str, source: str) -> Dump:
    """The checking pass keeps, per comment, its id, parent, line and byte
    offset; the texts are read again when the comments are asked for."""
    article: Article | None = None
    ids: list[str] = []
    row_of: dict[str, int] = {}
    written_parent: list[str | None] = []
    line_of = array("q")
    offset_of = array("q")
    authors: dict[str, None] = {}
    for line_no, offset, raw in _raw_lines(handle, encoding):
        if not raw.strip():
            continue
        obj = _json_object(raw, source, line_no)
        kind = obj.get("type")
        if kind == "article":
            if article is not None:
                raise _jsonl_error(source, line_no, "a second article line; one dump holds one article")
            body = _string(obj.get("body"))
            article = Article(
                id=_string(obj.get("id")) or article_id_for(source),
                title=" ".join(_string(obj.get("title")).split()),
                paragraphs=tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip()),
                source=source)
        elif kind == "comment":
            if article is None:
                raise _jsonl_error(source, line_no, "a comment before the article line")
            if obj.get("id") is None:
                raise _jsonl_error(source, line_no, "a comment without an id")
            comment_id = str(obj["id"])
            if comment_id in row_of:
                raise _jsonl_error(source, line_no, f"duplicate comment id {comment_id!r} "
                                                    f"(first on line {line_of[row_of[comment_id]]})")
            row_of[comment_id] = len(ids)
            ids.append(comment_id)
            parent = obj.get("parent_id")
            written_parent.append(None if parent in (None, "") else str(parent))
            line_of.append(line_no)
            offset_of.append(offset)
            authors[_author(obj)] = None
        else:
            raise _jsonl_error(source, line_no, f"unknown type {kind!r}; expected 'article' or 'comment'")
    if article is None:
        raise _jsonl_error(source, 1, "no article line")
    warnings: list[str] = []
    parent_of = array("q", [-1]) * len(ids)
    for row, parent in enumerate(written_parent):
        if parent is None:
            continue
        if parent in row_of:
            parent_of[row] = row_of[parent]
        else:
            warnings.append(f"{source}:{line_of[row]}: parent {parent!r} not in the file; "
                            "kept as a top-level comment")
    del written_parent, row_of
    depth_of = _depths(parent_of, ids, line_of, source)
    order = _parents_first(parent_of)
    if not ids:
        warnings.append(f"{source}: no comments after the article line")

    def replay() -> Iterator[Comment]:
        for row in order:
            handle.seek(offset_of[row])
            raw = handle.readline().decode(encoding)
            if line_of[row] == 1:
                raw = raw.removeprefix("\ufeff")
            obj = json.loads(raw)
            parent = parent_of[row]
            yield Comment(id=ids[row], parent_id=ids[parent] if parent >= 0 else None,
                          depth=depth_of[row], author=_author(obj),
                          text=_string(obj.get("text")).strip(), line=line_of[row], position=row,
                          created_at=None if obj.get("created_at") is None else str(obj["created_at"]))

    return Dump(article, tuple(warnings), len(ids), tuple(authors), replay)


def _depths(parent_of: array, ids: list[str], line_of: array, source: str) -> array:
    """Depth of every comment; a parent cycle is an error at its first line."""
    depth_of = array("q", [-1]) * len(parent_of)
    for row in range(len(parent_of)):
        chain: list[int] = []
        on_chain: set[int] = set()
        node = row
        while node >= 0 and depth_of[node] < 0:
            if node in on_chain:
                raise _jsonl_error(source, line_of[node], f"comment {ids[node]!r} is its own ancestor "
                                                          "(a parent cycle)")
            chain.append(node)
            on_chain.add(node)
            node = parent_of[node]
        base = -1 if node < 0 else depth_of[node]
        for offset, member in enumerate(reversed(chain)):
            depth_of[member] = base + 1 + offset
    return depth_of


def _parents_first(parent_of: array) -> array:
    """Depth-first tree order, siblings in file order, as a text dump lays a
    thread out: later stages rely on every parent coming before its replies.
    `position` keeps the file order."""
    n = len(parent_of)
    first_child = array("q", [-1]) * n
    next_sibling = array("q", [-1]) * n
    roots: list[int] = []
    for row in range(n - 1, -1, -1):
        parent = parent_of[row]
        if parent < 0:
            roots.append(row)
        else:
            next_sibling[row] = first_child[parent]
            first_child[parent] = row
    order = array("q")
    stack = roots  # reversed file order: the first root is popped first
    while stack:
        row = stack.pop()
        order.append(row)
        children = []
        child = first_child[row]
        while child >= 0:
            children.append(child)
            child = next_sibling[child]
        stack.extend(reversed(children))
    return order

"""Ingest: turn a dump (text or JSONL) into an article and its comments.

This module reads the bytes (encoding, binary refusal) and picks the shape;
`text.py` parses the text format (README.md, The dump format), `jsonl.py` the
JSONL shape, `common.py` holds what they share.

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
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import PipelineError
from pipeline.ingest.common import FIX_FORMAT, Dump, article_id_for, raw_lines
from pipeline.ingest.jsonl import open_jsonl
from pipeline.ingest.text import open_text
from pipeline.records import Thread

__all__ = ["Dump", "article_id_for", "open_dump", "parse_dump", "unreadable"]
MAGIC = {
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or .docx/.xlsx)",
    b"\x1f\x8b": "a gzip archive",
}
CHUNK = 1 << 20


def parse_dump(data: bytes, source: str) -> Thread:
    """Parse a dump held in memory (either shape) into a Thread."""
    return open_dump(io.BytesIO(data), source).read()


def unreadable(path: Path, error: OSError) -> PipelineError:
    """The error for a dump the operating system would not let us read."""
    return PipelineError(f"cannot read the dump: {error.strerror}", path=path,
                         hint="check the path and its permissions")


def open_dump(handle: BinaryIO, source: str) -> Dump:
    """Check a dump in either shape (JSONL by its suffix or its first line)
    and index it. The handle must stay open while the comments are read."""
    handle, encoding, warnings = _sniff(handle, source)
    if _looks_like_jsonl(handle, encoding, source):
        dump = open_jsonl(handle, encoding, source)
    else:
        dump = open_text(handle, encoding, source)
    dump.warnings = tuple(warnings) + dump.warnings
    return dump


def _sniff(handle: BinaryIO, source: str) -> tuple[BinaryIO, str, list[str]]:
    """The dump's encoding, read in chunks: UTF-8 (with or without BOM) and
    UTF-16 with a BOM as such; other text as Windows-1252 with a warning, since
    that is what browsers on Windows save. Binary files are refused. A UTF-8
    file that ends inside a character (a download or copy that stopped early)
    is read without that character's bytes, with a warning."""
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
        _refuse_nul(text.encode("utf-8"), 0, source)
        return io.BytesIO(text.encode("utf-8")), "utf-8", [f"{source}: decoded as UTF-16 (byte order mark)"]
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines, has_text, bad_line, chunk, cut_short = 0, False, None, head, b""
    while chunk:
        _refuse_nul(chunk, newlines, source)
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
        cut_short = decoder.getstate()[0]  # the first bytes of a character the file ends inside
    if not has_text:
        raise _empty(source)
    handle.seek(0)
    if bad_line is None and cut_short:
        size = handle.seek(0, io.SEEK_END) - len(cut_short)
        return io.BufferedReader(_Prefix(handle, size)), "utf-8", [
            f"{source}:{newlines + 1}: the file ends inside a UTF-8 character (a download or copy "
            "cut short?); read without that character, everything before it is kept "
            "(get the dump again if its end is missing)"]
    if bad_line is None:
        return handle, "utf-8", []
    newlines = 0
    while chunk := handle.read(CHUNK):
        _refuse_nul(chunk, newlines, source)
        newlines += chunk.count(b"\n")
        try:
            chunk.decode("cp1252")
        except UnicodeDecodeError:
            raise PipelineError("not UTF-8 and not Windows-1252 text", path=source,
                                line=bad_line, hint="re-save the dump as UTF-8") from None
    handle.seek(0)
    return handle, "cp1252", [f"{source}:{bad_line}: not UTF-8; decoded as Windows-1252 "
                              "(re-save as UTF-8 to silence this)"]


def _refuse_nul(chunk: bytes, newlines: int, source: str) -> None:
    """A NUL byte anywhere, not only near the start, means binary data: text
    has none, and a text dump with one would carry it into every artifact.
    `newlines`: how many lines the chunks before this one held."""
    at = chunk.find(b"\x00")
    if at >= 0:
        raise PipelineError("binary data (NUL bytes), not a text dump", path=source,
                            line=newlines + chunk[:at].count(b"\n") + 1, hint=FIX_FORMAT)


class _Prefix(io.RawIOBase):
    """The first `size` bytes of a seekable binary file, read as a file of
    their own; the file itself stays open and is its owner's to close."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, start + offset)
        return self.position

    def readinto(self, buffer) -> int:
        wanted = max(0, min(len(buffer), self.size - self.position))
        self.handle.seek(self.position)
        data = self.handle.read(wanted)
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def _empty(source: str) -> PipelineError:
    return PipelineError("the file is empty", path=source, line=1,
                         hint="save the article page with its comments as text")


def _looks_like_jsonl(handle: BinaryIO, encoding: str, source: str) -> bool:
    """A .jsonl file, or a first non-blank line that is a JSON object (a
    title may start with '{')."""
    if source.lower().endswith(".jsonl"):
        return True
    for _, _, line in raw_lines(handle, encoding):
        if not line.strip():
            continue
        if not line.lstrip().startswith("{"):
            return False
        try:
            return isinstance(json.loads(line), dict)
        except json.JSONDecodeError:
            return False
    return False

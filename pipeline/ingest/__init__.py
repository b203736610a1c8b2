"""Ingest: turn a dump into an article and its comments.

This module reads the bytes (encoding, binary refusal) and picks the format
by content (formats/__init__.py); `text.py` parses the text format (README.md,
The dump format), `jsonl.py` the JSONL shape, `formats/` the platforms'
exports (Reddit, Disqus, YouTube, ...), `common.py` holds what they share.

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
import re
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import PipelineError
from pipeline.ingest import formats
from pipeline.ingest.common import FIX_FORMAT, Dump, article_id_for
from pipeline.ingest.jsonl import open_jsonl
from pipeline.ingest.text import open_text
from pipeline.records import Thread

__all__ = ["Dump", "article_id_for", "open_dump", "options_from", "parse_dump", "split_threads", "thread_keys",
           "unreadable"]
MAGIC = {
    b"\xff\xd8\xff": "a JPEG image",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or .docx/.xlsx)",
    b"\x1f\x8b": "a gzip archive",
}
CHUNK = 1 << 20
_SAFE_KEY = re.compile(r"[^\w.-]+")  # a thread key as part of a folder name


def parse_dump(data: bytes, source: str, format: str = "auto", thread: str | None = None) -> Thread:
    """Parse a dump held in memory (any format) into a Thread."""
    return open_dump(io.BytesIO(data), source, format, thread).read()


def options_from(config: dict) -> dict:
    """What ingest reads beside the dump, from the run's config (the
    pushshift reader's submissions file)."""
    submissions = config["ingest"]["submissions"]
    if not submissions:
        return {}
    path = Path(submissions)
    if not path.is_file():
        raise PipelineError("no such file", path=path, hint="ingest.submissions names a submissions NDJSON")
    return {"submissions": path}


def unreadable(path: Path, error: OSError) -> PipelineError:
    """The error for a dump the operating system would not let us read."""
    return PipelineError(f"cannot read the dump: {error.strerror}", path=path,
                         hint="check the path and its permissions")


def open_dump(handle: BinaryIO, source: str, format: str = "auto", thread: str | None = None,
              options: dict | None = None) -> Dump:
    """Check a dump and index it. Its format is found from its content
    (pipeline/ingest/formats) unless `format` names one. A file of many
    threads needs `thread`, one of `thread_keys`. The handle must stay open
    while the comments are read."""
    format = format or "auto"
    handle, encoding, warnings = _sniff(handle, source)
    name, sample = _choose(handle, encoding, source, format, options)
    if name == "jsonl":
        dump = open_jsonl(handle, encoding, source)
    elif name == "text":
        dump = open_text(handle, encoding, source)
    else:
        threads = formats.read(name, sample(), forced=format != "auto")
        dump = _platform_dump(name, threads, thread, source)
    dump.warnings = tuple(warnings) + dump.warnings
    return dump


def thread_keys(handle: BinaryIO, source: str, format: str = "auto",
                options: dict | None = None) -> list[str | None]:
    """The threads a file holds, by key, when it holds several; [None] when
    it is one thread (every text and JSONL dump)."""
    format = format or "auto"
    handle, encoding, _ = _sniff(handle, source)
    name, sample = _choose(handle, encoding, source, format, options)
    if name in ("jsonl", "text"):
        return [None]
    threads = formats.read(name, sample(), forced=format != "auto")
    return [t.key for t in threads] if len(threads) > 1 else [None]


def split_threads(dumps: list[Path], names: list[str], format: str = "auto", options: dict | None = None
                  ) -> list[tuple[Path, str, str | None]]:
    """(path, artifact name, thread key) per thread: a file of many threads
    (a Disqus export, a pushshift dump) gives one dump per thread, named
    <file's name>_<thread key>. A file that fails here fails again, with
    its error, when it is processed."""
    units: list[tuple[Path, str, str | None]] = []
    for path, name in zip(dumps, names):
        try:
            with path.open("rb") as handle:
                keys = thread_keys(handle, str(path), format, options)
        except (PipelineError, OSError):
            keys = [None]
        taken: set[str] = set()
        for key in keys:
            unit = name if key is None else f"{name}_{_SAFE_KEY.sub('-', key)[:80]}"
            while unit in taken:
                unit += "_"
            taken.add(unit)
            units.append((path, unit, key))
    return units


def _choose(handle: BinaryIO, encoding: str, source: str, format: str, options: dict | None):
    """The format's name, and the file's text as a Sample (read whole only
    when asked: text and JSONL dumps are streamed)."""
    def sample() -> formats.Sample:
        handle.seek(0)
        text = handle.read().decode(encoding, errors="replace").removeprefix("\ufeff")
        handle.seek(0)
        return formats.Sample(text, source, dict(options or {}))

    if format != "auto":
        formats.check_name(format)
        return format, sample
    handle.seek(0)
    head = handle.read(1 << 16).decode(encoding, errors="ignore")
    handle.seek(0)
    made: list[formats.Sample] = []

    def whole() -> formats.Sample:
        made.append(sample())
        return made[-1]

    name = formats.choose(head, whole, source)
    return name, (lambda: made[0]) if made else sample


def _platform_dump(name: str, threads: list, thread: str | None, source: str) -> Dump:
    if not threads:
        raise PipelineError(f"no thread with comments in this {name} file", path=source,
                            hint="check the export holds the pages you meant")
    if thread is None and len(threads) > 1:
        raise PipelineError(f"the file holds {len(threads)} threads", path=source,
                            hint="run it with the pipeline, which gives one dump per thread")
    chosen = threads[0] if thread is None else next((t for t in threads if t.key == thread), None)
    if chosen is None:
        raise PipelineError(f"no thread {thread!r} in the file", path=source,
                            hint="the file changed since the run began; run it again")
    comments, warnings = formats.build(chosen, source)
    if not comments:
        warnings.append(f"{source}: thread {chosen.key} has no comments")
    authors = tuple(dict.fromkeys(c.author for c in comments))
    return Dump(chosen.article, tuple(warnings), len(comments), authors, lambda: iter(comments),
                format=name, missing=chosen.missing, threads_in_file=len(threads))


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

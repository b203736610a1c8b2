"""Ingest: turn a dump (text or JSONL, as bytes) into a Thread.

The text format is described in README.md (The dump format): a title line,
unindented body paragraphs, then comments whose header is `<indent>• author`
with an indent of 2 * (depth + 1) spaces, and whose paragraphs are indented
one level deeper. Nothing here reads files: the runner hands over the bytes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath

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
FIX_FORMAT = "see 'The dump format' in README.md for the layout a dump must have"


def decode(data: bytes, source: str) -> tuple[str, list[str]]:
    """Decode a dump's bytes to text; returns (text, warnings).

    UTF-8 (with or without BOM) and UTF-16 with a BOM are read as such;
    other text is read as Windows-1252 with a warning, since that is what
    browsers on Windows save. Binary files are refused.
    """
    if not data.strip():
        raise PipelineError("the file is empty", path=source, line=1,
                            hint="save the article page with its comments as text")
    for magic, kind in MAGIC.items():
        if data.startswith(magic):
            raise PipelineError(f"this is {kind}, not a text dump", path=source, line=1,
                                hint=FIX_FORMAT)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), [f"{source}: decoded as UTF-16 (byte order mark)"]
    if b"\x00" in data[:65536]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise PipelineError("binary data (NUL bytes), not a text dump", path=source,
                            line=line, hint=FIX_FORMAT)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        bad_line = data[: error.start].count(b"\n") + 1
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise PipelineError("not UTF-8 and not Windows-1252 text", path=source,
                            line=bad_line, hint="re-save the dump as UTF-8") from None
    return text, [f"{source}:{bad_line}: not UTF-8; decoded as Windows-1252 (re-save as UTF-8 to silence this)"]


def article_id_for(source: str) -> str:
    return PurePath(source).stem


def _looks_like_jsonl(text: str, source: str) -> bool:
    """A .jsonl file, or a first line that is a JSON object (a title may start with '{')."""
    if source.lower().endswith(".jsonl"):
        return True
    first = text.lstrip().split("\n", 1)[0]
    if not first.startswith("{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def parse_dump(data: bytes, source: str) -> Thread:
    """Parse a dump in either shape: JSONL by its suffix or its first line."""
    text, warnings = decode(data, source)
    if _looks_like_jsonl(text, source):
        thread = parse_jsonl(text, source)
    else:
        thread = parse_text(text, source)
    return Thread(thread.article, thread.comments, tuple(warnings) + thread.warnings)


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


def _indent_of(line: str) -> tuple[int, str]:
    """Width of the leading indent; a tab counts as one level (2 spaces)."""
    stripped = line.lstrip(" \t")
    prefix = line[: len(line) - len(stripped)]
    return len(prefix.replace("\t", "  ")), stripped


def parse_text(text: str, source: str) -> Thread:
    """Parse the text dump format."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    warnings: list[str] = []
    number = 0
    while number < len(lines) and not lines[number].strip():
        number += 1
    if number == len(lines):
        raise PipelineError("the file has no text", path=source, line=1, hint=FIX_FORMAT)
    title_line = lines[number]
    if HEADER.match(title_line.replace("\t", "  ")):
        raise PipelineError("the dump starts with a comment; the first line must be the article title",
                            path=source, line=number + 1, hint=FIX_FORMAT)
    if len(title_line) > MAX_TITLE_CHARS:
        raise PipelineError(f"the first line is {len(title_line):,} characters long; a dump starts "
                            "with a title line", path=source, line=number + 1, hint=FIX_FORMAT)
    title = " ".join(title_line.split())
    title_number = number + 1
    number += 1

    paragraphs: list[str] = []
    while number < len(lines):
        width, stripped = _indent_of(lines[number])
        if stripped.startswith(BULLET) and width > 0:
            break
        if stripped:
            paragraphs.append(" ".join(stripped.split()))
        number += 1

    article = Article(id=article_id_for(source), title=title, paragraphs=tuple(paragraphs),
                      source=source)
    if number == len(lines):
        if not paragraphs:
            raise PipelineError("only a title: no article body and no comments", path=source,
                                line=title_number, hint=FIX_FORMAT)
        warnings.append(f"{source}: no comment thread found (no line starts with spaces and '{BULLET} ')")
        return Thread(article, (), tuple(warnings))

    comments: list[Comment] = []
    stack: list[tuple[int, str]] = []  # (depth, id) of the open ancestors
    open_comment: _OpenComment | None = None

    def finish() -> None:
        if open_comment is None:
            return
        open_comment.close_paragraph()
        comments.append(Comment(
            id=f"c{len(comments) + 1}", parent_id=open_comment.parent_id,
            depth=open_comment.depth, author=open_comment.author,
            text="\n\n".join(open_comment.paragraphs), line=open_comment.line,
            position=len(comments)))

    for index in range(number, len(lines)):
        raw = lines[index]
        line_no = index + 1
        width, stripped = _indent_of(raw)
        if not stripped:
            if open_comment is not None:
                open_comment.close_paragraph()
            continue
        header = HEADER.match(" " * width + stripped)
        if header and width > 0:
            finish()
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
            parent_id = stack[-1][1] if stack else None
            author = " ".join(header.group(2).split()) or "(no name)"
            open_comment = _OpenComment(depth=depth, indent=width, author=author, line=line_no,
                                        parent_id=parent_id)
            stack.append((depth, f"c{len(comments) + 1}"))
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
    finish()
    return Thread(article, tuple(comments), tuple(warnings))


def _jsonl_error(source: str, line: int, message: str) -> PipelineError:
    return PipelineError(message, path=source, line=line,
                         hint='each line is one JSON object: {"type": "article", ...} first, '
                              'then {"type": "comment", "id", "parent_id", "author", "text"}')


def _string(value: object) -> str:
    return "" if value is None else str(value)


def parse_jsonl(text: str, source: str) -> Thread:
    """Parse the JSONL shape: an article line, then one comment per line."""
    article: Article | None = None
    rows: list[tuple[int, dict]] = []
    # only \n ends a line: JSON strings may hold U+2028 or U+0085 unescaped
    for index, raw in enumerate(text.replace("\r\n", "\n").split("\n")):
        line_no = index + 1
        if not raw.strip():
            continue
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
            rows.append((line_no, obj))
        else:
            raise _jsonl_error(source, line_no, f"unknown type {kind!r}; expected 'article' or 'comment'")
    if article is None:
        raise _jsonl_error(source, 1, "no article line")
    thread = _build_tree(article, rows, source)
    if not thread.comments:
        return Thread(article, (), thread.warnings + (f"{source}: no comments after the article line",))
    return thread


def _build_tree(article: Article, rows: list[tuple[int, dict]], source: str) -> Thread:
    """Check ids and parents, compute depths; comments keep their file order."""
    warnings: list[str] = []
    line_of: dict[str, int] = {}
    parent_of: dict[str, str | None] = {}
    for line_no, obj in rows:
        comment_id = str(obj["id"])
        if comment_id in line_of:
            raise _jsonl_error(source, line_no, f"duplicate comment id {comment_id!r} "
                                                f"(first on line {line_of[comment_id]})")
        line_of[comment_id] = line_no
        parent = obj.get("parent_id")
        parent_of[comment_id] = None if parent in (None, "") else str(parent)
    for comment_id, parent in list(parent_of.items()):
        if parent is not None and parent not in line_of:
            warnings.append(f"{source}:{line_of[comment_id]}: parent {parent!r} not in the file; "
                            "kept as a top-level comment")
            parent_of[comment_id] = None
    depth: dict[str, int] = {}
    for comment_id in parent_of:
        chain: list[str] = []
        node: str | None = comment_id
        while node is not None and node not in depth:
            if node in chain:
                raise _jsonl_error(source, line_of[node], f"comment {node!r} is its own ancestor "
                                                          "(a parent cycle)")
            chain.append(node)
            node = parent_of[node]
        base = -1 if node is None else depth[node]
        for offset, member in enumerate(reversed(chain)):
            depth[member] = base + 1 + offset
    comments = [
        Comment(id=str(obj["id"]), parent_id=parent_of[str(obj["id"])], depth=depth[str(obj["id"])],
                author=" ".join(_string(obj.get("author")).split()) or "(no name)",
                text=_string(obj.get("text")).strip(), line=line_no, position=position,
                created_at=None if obj.get("created_at") is None else str(obj["created_at"]))
        for position, (line_no, obj) in enumerate(rows)]
    return Thread(article, _parents_first(comments), tuple(warnings))


def _parents_first(comments: list[Comment]) -> tuple[Comment, ...]:
    """Depth-first tree order, siblings in file order, as a text dump lays a
    thread out: later stages rely on every parent coming before its replies.
    `position` keeps the file order."""
    children: dict[str | None, list[Comment]] = {}
    for comment in comments:
        children.setdefault(comment.parent_id, []).append(comment)
    ordered: list[Comment] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        comment = stack.pop()
        ordered.append(comment)
        stack.extend(reversed(children.get(comment.id, [])))
    return tuple(ordered)

"""The JSONL dump shape: an article line, then one comment per line with
id and parent. The checking pass keeps each comment's id, parent, line and
byte offset; the comments are read again by seeking, parents first."""
from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator
from typing import BinaryIO

from pipeline.errors import PipelineError
from pipeline.ingest.common import Dump, article_id_for, raw_lines
from pipeline.records import Article, Comment


LAYOUT = ('each line is one JSON object: {"type": "article", ...} first, '
          'then {"type": "comment", "id", "parent_id", "author", "text"}')
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # cheap test before looking at the values
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # one left after json paired up the valid ones


def _jsonl_error(source: str, line: int, message: str, hint: str = LAYOUT) -> PipelineError:
    return PipelineError(message, path=source, line=line, hint=hint)


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
    for key in ("id", "parent_id"):
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, float))):
            raise _jsonl_error(source, line_no, f"'{key}' must be a string or a number, got "
                                                f"{json.dumps(value)[:40]}",
                               hint=f"write the {key} as a string or a number, as in \"{key}\": \"c1\"")
    if SURROGATE_ESCAPE.search(raw):
        for key, value in obj.items():
            if isinstance(value, str) and LONE_SURROGATE.search(value):
                raise _jsonl_error(source, line_no, f"'{key}' holds a \\u escape of half a UTF-16 "
                                                    "pair (a lone surrogate), which is no character",
                                   hint="write the character itself, or both halves of its pair "
                                        "(\\ud83d\\ude00), or remove the escape")
    return obj


def _author(obj: dict) -> str:
    return " ".join(_string(obj.get("author")).split()) or "(no name)"


def open_jsonl(handle: BinaryIO, encoding: str, source: str) -> Dump:
    """The checking pass keeps, per comment, its id, parent, line and byte
    offset; the texts are read again when the comments are asked for."""
    article: Article | None = None
    ids: list[str] = []
    row_of: dict[str, int] = {}
    written_parent: list[str | None] = []
    line_of = array("q")
    offset_of = array("q")
    authors: dict[str, None] = {}
    for line_no, offset, raw in raw_lines(handle, encoding):
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

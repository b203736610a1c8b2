"""What a platform reader is, and what every reader shares.

A reader (`Format`) has a name, a line saying what it reads, `sniff(sample)`
(does this content look like mine?) and `read(sample)` (the threads in it).
A reader finds `Post`s, each with its platform id and its parent's; `build`
turns them into the project's Comment records in tree order (parents
first), with depths, and hangs a reply whose parent is not in the file at
the top level with a warning that names it. Readers never run code read
from disk: JSON through `json`, XML through `xml.etree` with DTDs refused.
"""
from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree

from pipeline.errors import PipelineError
from pipeline.records import Article, Comment


@dataclass
class Sample:
    """A file's decoded text, with its JSON, JSON lines or XML parsed once
    on first use and shared by every reader's sniff."""

    text: str
    source: str
    options: dict = field(default_factory=dict)  # submissions: a Path (pushshift)

    @cached_property
    def document(self) -> Any:
        """The whole file as one JSON value, or None when it is not one."""
        stripped = self.text.lstrip("\ufeff \t\r\n")
        if not stripped.startswith(("{", "[")):
            return None
        try:
            return json.loads(stripped)
        except (json.JSONDecodeError, RecursionError):
            return None

    @cached_property
    def first_object(self) -> dict | None:
        """The first non-blank line as a JSON object (JSON lines), or None."""
        for line in self.text.split("\n"):
            if line.strip():
                try:
                    value = json.loads(line.lstrip("\ufeff"))
                except (json.JSONDecodeError, RecursionError):
                    return None
                return value if isinstance(value, dict) else None
        return None

    def json_lines(self) -> list[tuple[int, dict]]:
        """(line number, object) of every non-blank line; a line that is not
        a JSON object is an error naming it."""
        rows = []
        for number, line in enumerate(self.text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line.lstrip("\ufeff"))
            except (json.JSONDecodeError, RecursionError) as error:
                raise PipelineError(f"broken JSON: {getattr(error, 'msg', error)}", path=self.source,
                                    line=number, hint="each line must be one JSON object; "
                                    "was the file cut short or edited?") from None
            if not isinstance(value, dict):
                raise PipelineError("a line is not a JSON object", path=self.source, line=number,
                                    hint="each line must be one JSON object")
            rows.append((number, value))
        return rows

    @cached_property
    def xml_root(self) -> ElementTree.Element | None:
        """The XML document's root, or None when the text is not XML. A DTD
        is refused (no entity can expand or fetch anything)."""
        head = self.text.lstrip("\ufeff \t\r\n")
        if not head.startswith("<"):
            return None
        if re.search(r"<!DOCTYPE|<!ENTITY", self.text[:1 << 16], re.IGNORECASE):
            raise PipelineError("XML with a DTD (<!DOCTYPE or <!ENTITY) is refused", path=self.source,
                                hint="exports from Disqus and WordPress have none; remove the DTD")
        try:
            return ElementTree.fromstring(head)
        except ElementTree.ParseError as error:
            line, column = error.position
            raise PipelineError(f"broken XML: {str(error).split(':')[0]} at column {column}",
                                path=self.source, line=line,
                                hint="the export was cut short or edited; export it again") from None


@dataclass
class Post:
    """A comment as a reader finds it, before the tree is built."""

    id: str
    parent_id: str | None
    author: str
    text: str
    line: int = 0  # line in the file where the format has lines (JSON lines, CSV), else 0
    created_raw: str | None = None  # the time as the file writes it
    created_at: str | None = None  # UTC, where the reader knows it better than utc(created_raw)
    score: int | None = None
    status: tuple[str, ...] = ()  # deleted, removed, spam, pingback, unapproved, not_found, blocked ...


@dataclass
class Parsed:
    """One thread a reader found: its key in the file, the article, its posts."""

    key: str
    article: Article
    posts: list[Post]
    warnings: list[str] = field(default_factory=list)
    missing: int = 0  # comments the file says exist but does not hold (Reddit `more`)


@dataclass(frozen=True)
class Format:
    name: str
    description: str  # what it reads, for `comment-pipeline formats`
    collect: str  # the tool and command that writes it
    sniff: Callable[[Sample], bool]
    read: Callable[[Sample], list[Parsed]]


def schema_error(sample: Sample, where: str, message: str, fix: str, line: int | None = None) -> PipelineError:
    """A file that looks like a format but breaks its schema: where (a JSON
    path, or an element) and the fix."""
    return PipelineError(f"{where}: {message}" if where else message, path=sample.source, line=line,
                         hint=fix)


def text_of(value: Any) -> str:
    return "" if value is None else str(value)


def name_of(value: Any) -> str:
    return " ".join(text_of(value).split()) or "(no name)"


def as_int(value: Any) -> int | None:
    """A count as platforms write it: 12, "12", "1.2K", "3M", "" (none)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    match = re.fullmatch(r"\s*([\d.,]+)\s*([KkMm]?)\s*", str(value))
    if not match:
        return None
    try:
        number = float(match.group(1).replace(",", ""))
    except ValueError:
        return None
    return int(round(number * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]))


def utc(value: Any) -> str | None:
    """An ISO 8601 UTC time from epoch seconds (int, float or digits) or an
    ISO 8601 string with a zone; None where it cannot be parsed to UTC
    (relative times like '2 days ago', or a time without a zone)."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        if isinstance(value, (int, float)) or re.fullmatch(r"\d+(\.\d+)?", str(value).strip()):
            moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
        else:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
            if moment.tzinfo is None:
                return None
    except (ValueError, OverflowError, OSError):
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _TextOfHtml(HTMLParser):
    """Text of an HTML fragment: paragraphs and <br> become line breaks,
    <blockquote> lines get a '> ' prefix, entities are decoded, tags dropped."""

    BLOCK = {"p", "div", "br", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.quote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCK:
            self.parts.append("\n\n")
        elif tag == "blockquote":
            self.parts.append("\n\n\x00QS\x00")
            self.quote_depth += 1

    def handle_endtag(self, tag):
        if tag in self.BLOCK:
            self.parts.append("\n\n")
        elif tag == "blockquote" and self.quote_depth:
            self.quote_depth -= 1
            self.parts.append("\x00QE\x00\n\n")

    def handle_data(self, data):
        self.parts.append(data)

    def text(self) -> str:
        joined = "".join(self.parts)
        # a quoted block's lines each start with '> ', as Reddit writes a quote
        joined = re.sub(r"\x00QS\x00(.*?)\x00QE\x00",
                        lambda m: "\n".join(f"> {line.strip()}" for line in m.group(1).split("\n")
                                            if line.strip()),
                        joined, flags=re.DOTALL)
        return tidy(joined.replace("\x00QS\x00", "").replace("\x00QE\x00", ""))


def tidy(text: str) -> str:
    """Paragraphs separated by one blank line, lines stripped."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n\n".join("\n".join(line.strip() for line in p.strip().split("\n") if line.strip())
                       for p in paragraphs if p.strip())


def html_text(fragment: Any) -> str:
    """Text of an HTML fragment (Disqus messages, HN, Mastodon, WordPress)."""
    value = text_of(fragment)
    if "<" not in value and "&" not in value:
        return tidy(value)
    parser = _TextOfHtml()
    parser.feed(value)
    parser.close()
    return parser.text()


def plain_text(value: Any) -> str:
    """Text that is markdown or plain, with HTML entities (&gt; &amp;) decoded."""
    return tidy(html.unescape(text_of(value)))


def make_article(key: str, title: Any, body: str, source: str) -> Article:
    paragraphs = tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", body) if p.strip())
    return Article(id=key, title=" ".join(text_of(title).split()), paragraphs=paragraphs, source=source)


def build(parsed: Parsed, source: str) -> tuple[tuple[Comment, ...], list[str]]:
    """Comments in tree order (parents first, siblings in file order), with
    depths. A repeated id keeps its first post; a parent not in the file (or a
    parent cycle) leaves the reply at the top level, flagged parent_missing,
    with a warning that names it."""
    warnings = list(parsed.warnings)
    posts: dict[str, Post] = {}
    for post in parsed.posts:
        if post.id in posts:
            warnings.append(f"{source}: comment {post.id!r} appears twice; the first is kept")
            continue
        posts[post.id] = post
    parent_of: dict[str, str | None] = {}
    status = {post_id: post.status for post_id, post in posts.items()}  # the posts are left as read
    for post in posts.values():
        parent = post.parent_id if post.parent_id != post.id else None
        if parent is not None and parent not in posts:
            where = f"{source}:{post.line}" if post.line else source
            warnings.append(f"{where}: the parent {parent!r} of comment {post.id!r} is not in the file; "
                            "kept as a top-level comment")
            status[post.id] += ("parent_missing",)
            parent = None
        parent_of[post.id] = parent
    for start in posts:  # a parent cycle: cut it where it is first met
        seen, node = set(), start
        while node is not None and node not in seen:
            seen.add(node)
            node = parent_of[node]
        if node is not None:
            warnings.append(f"{source}: comment {node!r} is its own ancestor (a parent cycle); "
                            "kept as a top-level comment")
            parent_of[node] = None
            status[node] += ("parent_missing",)
    children: dict[str | None, list[str]] = {}
    for post_id in posts:
        children.setdefault(parent_of[post_id], []).append(post_id)
    position = {post_id: index for index, post_id in enumerate(posts)}
    comments: list[Comment] = []
    stack = [(post_id, 0) for post_id in reversed(children.get(None, []))]
    while stack:
        post_id, depth = stack.pop()
        post = posts[post_id]
        comments.append(Comment(id=post.id, parent_id=parent_of[post_id], depth=depth, author=post.author,
                                text=post.text, line=post.line, position=position[post_id],
                                created_at=post.created_at or utc(post.created_raw), created_raw=post.created_raw,
                                score=post.score, status=status[post_id]))
        stack.extend((child, depth + 1) for child in reversed(children.get(post_id, [])))
    return tuple(comments), warnings

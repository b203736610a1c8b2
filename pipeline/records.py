"""The records that flow between stages, and the one schema the artifacts use.

Each stage adds its own record type keyed by comment id instead of mutating the
comment, so a stage can be swapped or re-run without touching the others.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Article:
    """The news article a thread hangs under."""

    id: str
    title: str
    paragraphs: tuple[str, ...]
    source: str  # the dump's path as the user gave it

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment as the dump has it: raw text, place in the reply tree."""

    id: str
    parent_id: str | None
    depth: int  # 0 for top level
    author: str
    text: str  # raw text, paragraphs joined by a blank line
    line: int  # 1-based line of the comment's header (text dumps) or JSON line
    position: int  # order in the dump, 0-based
    created_at: str | None = None  # ISO 8601 UTC where the dump's time could be read as such
    created_raw: str | None = None  # the time as the dump writes it (platform formats)
    score: int | None = None  # votes, likes or points, where the platform gives them
    status: tuple[str, ...] = ()  # what the platform says of it: deleted, removed, pingback,
    # unapproved, spam, not_found, blocked; parent_missing where its parent is not in the file


@dataclass(frozen=True, slots=True)
class Thread:
    """What ingest returns: the article, its comments in dump order, warnings."""

    article: Article
    comments: tuple[Comment, ...]
    warnings: tuple[str, ...] = ()
    format: str = "text"  # the reader that read it (pipeline/ingest/formats)
    missing: int = 0  # comments the file says exist but does not hold (Reddit `more` stubs)
    threads_in_file: int = 1  # a file of many threads gives one dump per thread


@dataclass(frozen=True, slots=True)
class CleanComment:
    """Normalised text of one comment; the raw text stays on the Comment."""

    id: str
    text: str  # what later stages read: normalised, URLs, mentions, quotes out
    urls: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    masked_words: tuple[str, ...] = ()
    article_quotes: tuple[str, ...] = ()
    parent_quotes: tuple[str, ...] = ()  # `> ` lines quoting the comment answered
    flags: tuple[str, ...] = ()  # empty, no_words, link_only, quote_only, near_empty,
    # other_language, duplicate, long
    language: str | None = None  # ISO 639-1, None when too short to tell
    duplicate_of: str | None = None  # the first comment with the same words
    n_tokens: int = 0
    n_sentences: int = 0
    lemmas: str = ""  # content-word lemmas, space separated


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic found in one thread."""

    id: int
    label: str
    keywords: tuple[str, ...]
    size: int
    representative_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicAssignment:
    """A comment's topic. topic_id is None where the comment has no text."""

    id: str
    topic_id: int | None
    probability: float | None
    source: str  # cluster, reassigned, nearest_topic, not_sampled, outlier, too_few, no_text


@dataclass(frozen=True, slots=True)
class TopicResult:
    topics: tuple[Topic, ...]
    assignments: tuple[TopicAssignment, ...]
    params: dict = field(default_factory=dict)  # the parameters actually used
    # the report's map from the clustering's own UMAP: (n comments, 2), NaN where not placed
    map_2d: Any = field(default=None, compare=False)


STANCE_LABELS: tuple[str, ...] = ("agree", "disagree", "discuss", "query", "unrelated")
REPLY_LABELS: tuple[str, ...] = ("agree", "disagree", "neutral")


NOT_READ_BY_STANCE = frozenset({"other_language"})  # flags of comments the stance models do not read


def read_by_stance(flags) -> bool:
    """Whether the stance models read a comment with these clean flags (they read English)."""
    return NOT_READ_BY_STANCE.isdisjoint(flags)


def not_read_context(text: str, flags) -> str:
    """The stance_context of a comment the stance models do not read: no_text, or the
    flag that keeps it from them (NOT_READ_BY_STANCE)."""
    return next((f for f in flags if f in NOT_READ_BY_STANCE), "no_text") if text else "no_text"


@dataclass(frozen=True, slots=True)
class StanceAssignment:
    """A comment's stance toward the article, and toward the comment it answers."""

    id: str
    stance: str | None  # one of STANCE_LABELS; None where the comment has no text or is not read (read_by_stance)
    confidence: float | None
    probs: tuple[float, ...] | None  # in STANCE_LABELS order
    reply_to: str | None  # the comment answered (None: the article); see replies.py
    reply_to_reason: str  # article, parent, mention, capped_run
    reply_stance: str | None = None  # one of REPLY_LABELS; None for top level / no text
    reply_confidence: float | None = None
    context: str = "text"  # text, thread (the reply tree moved the stance), pair_model (thread left to it), no_text,
    # other_language (not read: the stance model reads English)


# Columns of comments.parquet / comments.jsonl, in order: (name, arrow type).
# The README documents each; export checks every row against this list.
COMMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("article_id", "string"),
    ("comment_id", "string"),
    ("parent_id", "string"),
    ("depth", "int32"),
    ("position", "int32"),
    ("line", "int32"),
    ("author", "string"),
    ("created_at", "string"),
    ("created_raw", "string"),
    ("score", "int32"),
    ("text_raw", "string"),
    ("text_clean", "string"),
    ("urls", "list<string>"),
    ("mentions", "list<string>"),
    ("masked_words", "list<string>"),
    ("article_quotes", "list<string>"),
    ("parent_quotes", "list<string>"),
    ("flags", "list<string>"),
    ("language", "string"),
    ("duplicate_of", "string"),
    ("lemmas", "string"),
    ("n_tokens", "int32"),
    ("n_sentences", "int32"),
    ("topic_id", "int32"),
    ("topic_label", "string"),
    ("topic_probability", "float64"),
    ("topic_source", "string"),
    ("reply_to", "string"),
    ("reply_to_reason", "string"),
    ("stance", "string"),
    ("stance_confidence", "float64"),
    *((f"p_{label}", "float64") for label in STANCE_LABELS),
    ("stance_context", "string"),
    ("reply_stance", "string"),
    ("reply_stance_confidence", "float64"),
)

"""Export: the per-comment table, topic table, nested thread and manifest.

`build_*` functions are pure (records in, rows out); `write_*` functions
write one file each into a folder the runner gives them, which is a staging
folder that only becomes the artifact folder once every file is written.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pipeline.records import (COMMENT_COLUMNS, STANCE_LABELS, CleanComment, StanceAssignment,
                              Thread, TopicAssignment, TopicResult)

OUTLIER_LABEL = "(no topic)"


# rows built at a time where a writer takes them in chunks (parquet row groups): what a
# million-comment dump holds of its rows at once (docs/benchmarks.md, memory)
ROW_CHUNK = 50_000


class CommentRows(Sequence):
    """comments.jsonl's rows, one per comment in COMMENT_COLUMNS order, built when
    read from the stage outputs they come from, so a big dump never holds them all
    (each writer reads them once, in order; a million rows are a few GB as dicts)."""

    def __init__(self, thread: Thread, cleaned: Sequence[CleanComment], topics: TopicResult | None,
                 reply_targets: dict[str, tuple[str | None, str]],
                 stances: Sequence[StanceAssignment] | None = None) -> None:
        self._thread, self._cleaned, self._replies = thread, cleaned, reply_targets
        self._labels = {t.id: t.label for t in topics.topics} if topics else {}
        self._topic_of: dict[str, TopicAssignment] = {a.id: a for a in topics.assignments} if topics else {}
        self._stance_of = {s.id: s for s in stances} if stances else {}
        self._n = min(len(thread.comments), len(cleaned))

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(self._n))]
        if not -self._n <= index < self._n:
            raise IndexError(index)
        return self._row(index % self._n)

    def __iter__(self):
        return (self._row(i) for i in range(self._n))

    def _row(self, i: int) -> dict[str, Any]:
        comment, clean = self._thread.comments[i], self._cleaned[i]
        topic = self._topic_of.get(comment.id)
        stance = self._stance_of.get(comment.id)
        reply_to, reason = self._replies[comment.id]
        topic_id = topic.topic_id if topic else None
        row = {
            "article_id": self._thread.article.id,
            "comment_id": comment.id,
            "parent_id": comment.parent_id,
            "depth": comment.depth,
            "position": comment.position,
            "line": comment.line,
            "author": comment.author,
            "created_at": comment.created_at,
            "created_raw": comment.created_raw,
            "score": comment.score,
            "text_raw": comment.text,
            "text_clean": clean.text,
            "urls": list(clean.urls),
            "mentions": list(clean.mentions),
            "masked_words": list(clean.masked_words),
            "article_quotes": list(clean.article_quotes),
            "parent_quotes": list(clean.parent_quotes),
            "flags": list(clean.flags) + list(comment.status),
            "language": clean.language,
            "duplicate_of": clean.duplicate_of,
            "lemmas": clean.lemmas,
            "n_tokens": clean.n_tokens,
            "n_sentences": clean.n_sentences,
            "topic_id": topic_id,
            "topic_label": (None if topic_id is None
                            else OUTLIER_LABEL if topic_id < 0 else self._labels[topic_id]),
            "topic_probability": topic.probability if topic else None,
            "topic_source": topic.source if topic else None,
            "reply_to": reply_to,
            "reply_to_reason": reason,
            "stance": stance.stance if stance else None,
            "stance_confidence": stance.confidence if stance else None,
            **{f"p_{label}": (stance.probs[k] if stance and stance.probs else None)
               for k, label in enumerate(STANCE_LABELS)},
            "stance_context": stance.context if stance else None,
            "reply_stance": stance.reply_stance if stance else None,
            "reply_stance_confidence": stance.reply_confidence if stance else None,
        }
        return {name: row[name] for name, _ in COMMENT_COLUMNS}


def row_chunks(rows: Sequence[dict], size: int | None = None) -> Iterator[list[dict]]:
    """Lists of at most `size` (ROW_CHUNK) of the rows, in order: slices, so rows built
    as read (CommentRows) are built a chunk at a time."""
    size = size or ROW_CHUNK
    for start in range(0, len(rows), size):
        yield list(rows[start:start + size])


def build_comment_rows(thread: Thread, cleaned: Sequence[CleanComment],
                       topics: TopicResult | None,
                       reply_targets: dict[str, tuple[str | None, str]],
                       stances: Sequence[StanceAssignment] | None = None) -> CommentRows:
    """One row per comment, columns in COMMENT_COLUMNS order (built as read)."""
    return CommentRows(thread, cleaned, topics, reply_targets, stances)


def build_topic_rows(topics: TopicResult, comment_rows: Sequence[dict]) -> list[dict[str, Any]]:
    """One row per topic, then the outliers as topic -1 (one pass over the comment rows)."""
    wanted = {i for topic in topics.topics for i in topic.representative_ids}
    text_of: dict[str, str] = {}
    counts: dict[int, dict[str, int]] = {}
    members: dict[int, int] = {}
    with_text = 0
    for row in comment_rows:
        if row["comment_id"] in wanted:
            text_of[row["comment_id"]] = row["text_clean"]
        topic_id = row["topic_id"]
        if topic_id is None:
            continue
        with_text += 1
        members[topic_id] = members.get(topic_id, 0) + 1
        tally = counts.setdefault(topic_id, {f"n_{label}": 0 for label in STANCE_LABELS})
        if row["stance"] in STANCE_LABELS:
            tally[f"n_{row['stance']}"] += 1
    none = {f"n_{label}": 0 for label in STANCE_LABELS}
    rows = []
    for topic in topics.topics:
        rows.append({**counts.get(topic.id, none),
            "topic_id": topic.id, "label": topic.label, "size": topic.size,
            "share": round(topic.size / with_text, 4) if with_text else 0.0,
            "keywords": "; ".join(topic.keywords),
            "representative_ids": "; ".join(topic.representative_ids),
            "representative_comments": " | ".join(text_of[i] for i in topic.representative_ids),
        })
    outliers = members.get(-1, 0)
    if outliers:
        rows.append({**counts.get(-1, none),
                     "topic_id": -1, "label": OUTLIER_LABEL, "size": outliers,
                     "share": round(outliers / with_text, 4), "keywords": "",
                     "representative_ids": "", "representative_comments": ""})
    return rows


THREAD_FIELDS = ("comment_id", "author", "depth", "line", "text_raw", "text_clean", "flags", "topic_id",
                 "topic_label", "reply_to", "stance", "stance_confidence", "reply_stance",
                 "reply_stance_confidence")


def _thread_fields(row: dict) -> dict[str, Any]:
    return {key: row[key] for key in THREAD_FIELDS}


def _article_json(article) -> dict[str, Any]:
    return {"id": article.id, "title": article.title, "paragraphs": list(article.paragraphs),
            "source": article.source}


def build_thread_tree(thread: Thread, comment_rows: Sequence[dict]) -> dict[str, Any]:
    """The article and its comments nested as the dump nests them."""
    nodes = {}
    roots = []
    for row in comment_rows:
        node = _thread_fields(row)
        node["replies"] = []
        nodes[row["comment_id"]] = node
        parent = row["parent_id"]
        (nodes[parent]["replies"] if parent is not None else roots).append(node)
    return {"article": _article_json(thread.article), "comments": roots}


def write_jsonl(rows: Sequence[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def arrow_schema():
    import pyarrow as pa

    types = {"string": pa.string(), "int32": pa.int32(), "float64": pa.float64(),
             "bool": pa.bool_(), "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, types[kind]) for name, kind in COMMENT_COLUMNS])


def write_parquet(rows: Sequence[dict], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema()
    # rows built as read are written a row group per chunk, so a big dump is never one table in
    # memory; a list, held whole already, is one table as before
    chunks = row_chunks(rows) if isinstance(rows, CommentRows) else [list(rows)]
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        written = False
        for chunk in chunks:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            written = True
        if not written:  # a thread without comments: one empty row group, as write_table gave
            writer.write_table(schema.empty_table())


# what makes a spreadsheet read a cell as a formula (OWASP, CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _needs_quote(text: str) -> bool:
    """Text a spreadsheet would run, or that reads as our own quoted form."""
    return text.lstrip("'")[:1] in FORMULA_START


def csv_cell(value: Any) -> Any:
    """A cell as every CSV the pipeline writes has it: text that a spreadsheet
    would read as a formula gets a leading single quote (as OWASP advises);
    numbers we write stay numbers (a topic_id of -1 is not text)."""
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def csv_text(cell: str) -> str:
    """The text `csv_cell` was given, from what it wrote (for files read back)."""
    return cell[1:] if cell[:1] == "'" and _needs_quote(cell[1:]) else cell


def write_csv(rows: Sequence[dict], path: Path, columns: Sequence[str]) -> None:
    """Every CSV the pipeline writes goes through here, so every text cell is
    neutralised against formulas (csv_cell)."""
    # rows end in \n; the writer is told \r\n so that it also quotes a cell holding
    # a lone \r, which a reader would otherwise take for the end of the row
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\r\n")
    with path.open("w", encoding="utf-8", newline="") as handle:
        for row in itertools.chain([None], rows):
            buffer.seek(0)
            buffer.truncate()
            if row is None:
                writer.writeheader()
            else:
                writer.writerow({key: csv_cell(value) for key, value in row.items()})
            handle.write(buffer.getvalue()[:-2] + "\n")


def write_json(obj: Any, path: Path, depth: int = 0) -> None:
    """Indented JSON; `depth` is how deep the object nests (thread.json nests
    as deep as the thread), since the indenting encoder recurses per level."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * depth + 1000))
    try:
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            json.dump(obj, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
    finally:
        sys.setrecursionlimit(limit)


MAX_INDENT_LEVELS = 8  # thread.json indents comments by depth up to here, then stays flat


def write_json_list(items: Iterable[Any], path: Path) -> None:
    """A JSON array as write_json(list(items)) writes it, byte for byte, one item at a
    time (a big dump's Label Studio tasks never held as one list)."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        first = True
        for item in items:
            text = json.dumps(item, ensure_ascii=False, indent=2)
            handle.write(("[\n  " if first else ",\n  ") + text.replace("\n", "\n  "))
            first = False
        handle.write("[]\n" if first else "\n]\n")


def write_thread(tree: dict[str, Any], path: Path) -> None:
    """thread.json: one comment per line, nested as the thread is, indented by
    its depth up to MAX_INDENT_LEVELS. Indenting every level (json's indent)
    makes a 2,000-deep reply chain 145 MB; this grows with the content only.
    Written with an explicit stack: threads nest past Python's recursion limit."""
    _write_tree(path, tree["article"], tree["comments"], lambda node: node["replies"],
                lambda node: {k: v for k, v in node.items() if k != "replies"})


def write_thread_rows(thread: Thread, comment_rows: Sequence[dict], path: Path) -> None:
    """thread.json as write_thread(build_thread_tree(...)) writes it, byte for byte,
    without holding the tree: each row is read again when its turn comes (a big dump's
    rows are built as read, CommentRows), by its place in the parent's replies."""
    children: dict[int, list[int]] = {}
    place: dict[str, int] = {}
    for k, comment in enumerate(thread.comments[:len(comment_rows)]):
        place[comment.id] = k
        parent = comment.parent_id
        children.setdefault(-1 if parent is None else place[parent], []).append(k)
    _write_tree(path, _article_json(thread.article), children.get(-1, []), lambda k: children.get(k, []),
                lambda k: _thread_fields(comment_rows[k]))


def _write_tree(path: Path, article: dict, roots: Sequence, replies_of, fields_of) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('{"article": ' + json.dumps(article, ensure_ascii=False) + ',\n"comments": [')
        # (node, level, first among its siblings); None closes a node's replies
        stack: list[tuple[Any, int, bool] | None] = [
            (node, 1, index == 0) for index, node in reversed(list(enumerate(roots)))]
        while stack:
            item = stack.pop()
            if item is None:
                handle.write("]}")
                continue
            node, level, first = item
            fields = json.dumps(fields_of(node), ensure_ascii=False)
            handle.write(("\n" if first else ",\n") + "  " * min(level, MAX_INDENT_LEVELS)
                         + fields[:-1] + ', "replies": [')
            stack.append(None)
            stack.extend((reply, level + 1, index == 0)
                         for index, reply in reversed(list(enumerate(replies_of(node)))))
        handle.write("]}\n")


TOPIC_COLUMNS = ("topic_id", "label", "size", "share", *(f"n_{label}" for label in STANCE_LABELS),
                 "keywords", "representative_ids", "representative_comments")

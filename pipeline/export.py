"""Export: the per-comment table, topic table, nested thread and manifest.

`build_*` functions are pure (records in, rows out); `write_*` functions
write one file each into a folder the runner gives them, which is a staging
folder that only becomes the artifact folder once every file is written.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.records import (COMMENT_COLUMNS, STANCE_LABELS, CleanComment, StanceAssignment,
                              Thread, TopicAssignment, TopicResult)

OUTLIER_LABEL = "(no topic)"


def build_comment_rows(thread: Thread, cleaned: Sequence[CleanComment],
                       topics: TopicResult | None,
                       reply_targets: dict[str, tuple[str | None, str]],
                       stances: Sequence[StanceAssignment] | None = None) -> list[dict[str, Any]]:
    """One row per comment, columns in COMMENT_COLUMNS order."""
    labels = {t.id: t.label for t in topics.topics} if topics else {}
    assigned: dict[str, TopicAssignment] = (
        {a.id: a for a in topics.assignments} if topics else {})
    stance_of = {s.id: s for s in stances} if stances else {}
    rows = []
    for comment, clean in zip(thread.comments, cleaned):
        topic = assigned.get(comment.id)
        stance = stance_of.get(comment.id)
        reply_to, reason = reply_targets[comment.id]
        topic_id = topic.topic_id if topic else None
        row = {
            "article_id": thread.article.id,
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
                            else OUTLIER_LABEL if topic_id < 0 else labels[topic_id]),
            "topic_probability": topic.probability if topic else None,
            "topic_source": topic.source if topic else None,
            "reply_to": reply_to,
            "reply_to_reason": reason,
            "stance": stance.stance if stance else None,
            "stance_confidence": stance.confidence if stance else None,
            **{f"p_{label}": (stance.probs[i] if stance and stance.probs else None)
               for i, label in enumerate(STANCE_LABELS)},
            "stance_context": stance.context if stance else None,
            "reply_stance": stance.reply_stance if stance else None,
            "reply_stance_confidence": stance.reply_confidence if stance else None,
        }
        rows.append({name: row[name] for name, _ in COMMENT_COLUMNS})
    return rows


def build_topic_rows(topics: TopicResult, comment_rows: Sequence[dict]) -> list[dict[str, Any]]:
    """One row per topic, then the outliers as topic -1."""
    text_of = {row["comment_id"]: row["text_clean"] for row in comment_rows}
    with_text = sum(1 for row in comment_rows if row["topic_id"] is not None)
    rows = []
    for topic in topics.topics:
        rows.append({**_stance_counts(comment_rows, topic.id),
            "topic_id": topic.id, "label": topic.label, "size": topic.size,
            "share": round(topic.size / with_text, 4) if with_text else 0.0,
            "keywords": "; ".join(topic.keywords),
            "representative_ids": "; ".join(topic.representative_ids),
            "representative_comments": " | ".join(text_of[i] for i in topic.representative_ids),
        })
    outliers = sum(1 for row in comment_rows if row["topic_id"] == -1)
    if outliers:
        rows.append({**_stance_counts(comment_rows, -1),
                     "topic_id": -1, "label": OUTLIER_LABEL, "size": outliers,
                     "share": round(outliers / with_text, 4), "keywords": "",
                     "representative_ids": "", "representative_comments": ""})
    return rows


def _stance_counts(comment_rows: Sequence[dict], topic_id: int) -> dict[str, int]:
    members = [r for r in comment_rows if r["topic_id"] == topic_id]
    return {f"n_{label}": sum(1 for r in members if r["stance"] == label) for label in STANCE_LABELS}


def build_thread_tree(thread: Thread, comment_rows: Sequence[dict]) -> dict[str, Any]:
    """The article and its comments nested as the dump nests them."""
    nodes = {}
    roots = []
    for row in comment_rows:
        node = {key: row[key] for key in ("comment_id", "author", "depth", "line", "text_raw",
                                          "text_clean", "flags", "topic_id", "topic_label",
                                          "reply_to", "stance", "stance_confidence",
                                          "reply_stance", "reply_stance_confidence")}
        node["replies"] = []
        nodes[row["comment_id"]] = node
        parent = row["parent_id"]
        (nodes[parent]["replies"] if parent is not None else roots).append(node)
    article = thread.article
    return {"article": {"id": article.id, "title": article.title,
                        "paragraphs": list(article.paragraphs), "source": article.source},
            "comments": roots}


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
    table = pa.Table.from_pylist(list(rows), schema=schema)
    pq.write_table(table, path, compression="zstd")


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
        for row in [None, *rows]:
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


def write_thread(tree: dict[str, Any], path: Path) -> None:
    """thread.json: one comment per line, nested as the thread is, indented by
    its depth up to MAX_INDENT_LEVELS. Indenting every level (json's indent)
    makes a 2,000-deep reply chain 145 MB; this grows with the content only.
    Written with an explicit stack: threads nest past Python's recursion limit."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('{"article": ' + json.dumps(tree["article"], ensure_ascii=False)
                     + ',\n"comments": [')
        # (node, level, first among its siblings); None closes a node's replies
        stack: list[tuple[dict, int, bool] | None] = [
            (node, 1, index == 0) for index, node in reversed(list(enumerate(tree["comments"])))]
        while stack:
            item = stack.pop()
            if item is None:
                handle.write("]}")
                continue
            node, level, first = item
            fields = json.dumps({k: v for k, v in node.items() if k != "replies"}, ensure_ascii=False)
            handle.write(("\n" if first else ",\n") + "  " * min(level, MAX_INDENT_LEVELS)
                         + fields[:-1] + ', "replies": [')
            stack.append(None)
            stack.extend((reply, level + 1, index == 0)
                         for index, reply in reversed(list(enumerate(node["replies"]))))
        handle.write("]}\n")


TOPIC_COLUMNS = ("topic_id", "label", "size", "share", *(f"n_{label}" for label in STANCE_LABELS),
                 "keywords", "representative_ids", "representative_comments")

"""Export: the per-comment table, topic table, nested thread and manifest.

`build_*` functions are pure (records in, rows out); `write_*` functions
write one file each into a folder the runner gives them, which is a staging
folder that only becomes the artifact folder once every file is written.
"""
from __future__ import annotations

import csv
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


def write_csv(rows: Sequence[dict], path: Path, columns: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


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


TOPIC_COLUMNS = ("topic_id", "label", "size", "share", *(f"n_{label}" for label in STANCE_LABELS),
                 "keywords", "representative_ids", "representative_comments")

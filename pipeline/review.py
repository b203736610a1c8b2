"""Hand the annotations to human reviewers, and read their verdicts back.

Export: `review/label_studio.json` (tasks with the model's topic and stance
as pre-annotations), `review/label_studio_config.xml` (the labelling config
those tasks match) and `review/review.csv` for spreadsheet reviewers, who
fill the empty `reviewed_*` columns.

Import (`python -m pipeline review-import FILE`): either file type comes
back; agreement between model and reviewers is computed against the run's
own comments.jsonl, since Label Studio may return predictions as ids only
(label-studio #5654).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from pipeline.errors import PipelineError
from pipeline.export import csv_text
from pipeline.records import STANCE_LABELS, read_by_stance

REVIEW_COLUMNS = ("comment_id", "author", "depth", "parent_text", "text", "stance", "stance_confidence",
                  "topic_id", "topic_label", "reviewed_stance", "reviewed_topic_id", "notes")


def topic_choice(topic_id: int | None, label: str | None) -> str:
    return "-1: (no topic)" if topic_id is None or topic_id < 0 else f"{topic_id}: {label}"


def label_studio_config(topic_rows: Sequence[dict]) -> str:
    topics = "\n".join(f"    <Choice value={quoteattr(topic_choice(t['topic_id'], t['label']))}/>"
                       for t in topic_rows if t["topic_id"] >= 0)
    stances = "\n".join(f'    <Choice value="{label}"/>' for label in STANCE_LABELS)
    return f"""<View>
  <Header value="$article_title"/>
  <Text name="parent" value="$parent_text"/>
  <Text name="text" value="$text"/>
  <Header value="Stance of the comment toward the article"/>
  <Choices name="stance" toName="text" choice="single" showInline="true">
{stances}
  </Choices>
  <Header value="Topic"/>
  <Choices name="topic" toName="text" choice="single">
{topics}
    <Choice value="-1: (no topic)"/>
  </Choices>
</View>
"""


def label_studio_tasks(rows: Sequence[dict], article_title: str, model_version: str) -> Iterator[dict]:
    """label_studio.json's tasks one at a time, in row order."""
    text_of = {r["comment_id"]: r["text_raw"] for r in rows}
    for row in rows:
        result = []
        if row.get("stance"):
            result.append({"id": f"{row['comment_id']}-stance", "from_name": "stance", "to_name": "text",
                           "type": "choices", "value": {"choices": [row["stance"]]},
                           "score": row["stance_confidence"]})
        if row["topic_id"] is not None:
            result.append({"id": f"{row['comment_id']}-topic", "from_name": "topic", "to_name": "text",
                           "type": "choices",
                           "value": {"choices": [topic_choice(row["topic_id"], row["topic_label"])]},
                           "score": row["topic_probability"]})
        task = {"data": {"comment_id": row["comment_id"], "article_id": row["article_id"],
                         "article_title": article_title, "author": row["author"],
                         "text": row["text_raw"], "parent_text": text_of.get(row["reply_to"], "")}}
        if result:
            task["predictions"] = [{"model_version": model_version, "score": row.get("stance_confidence"),
                                    "result": result}]
        yield task


def review_rows(rows: Sequence[dict]) -> Iterator[dict]:
    """review.csv's rows, one at a time; export.write_csv guards every text cell against formulas."""
    text_of = {r["comment_id"]: r["text_raw"] for r in rows}
    return ({"comment_id": r["comment_id"], "author": r["author"], "depth": r["depth"],
             "parent_text": text_of.get(r["reply_to"], ""), "text": r["text_raw"],
             "stance": r.get("stance") or "", "stance_confidence": r.get("stance_confidence") or "",
             "topic_id": "" if r["topic_id"] is None else r["topic_id"],
             "topic_label": r["topic_label"] or "", "reviewed_stance": "", "reviewed_topic_id": "",
             "notes": ""} for r in rows)


def _choice(result: list[dict], name: str) -> str | None:
    for item in result:
        if item.get("from_name") == name:
            choices = (item.get("value") or {}).get("choices") or []
            return choices[0] if choices else None
    return None


def read_label_studio(path: Path) -> dict[str, dict]:
    """comment_id -> {"stance", "topic_id"} from a Label Studio JSON export:
    cancelled annotations skipped, the latest of the others taken."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PipelineError(f"not a Label Studio JSON export: {error}", path=path) from None
    if not isinstance(tasks, list):
        raise PipelineError("a Label Studio export is a JSON list of tasks", path=path)
    reviewed = {}
    for number, task in enumerate(tasks, 1):
        if not isinstance(task, dict) or not isinstance(task.get("data") or {}, dict):
            raise PipelineError(f"task {number} is not a Label Studio task object", path=path,
                                hint="export the project as JSON from Label Studio")
        comment_id = (task.get("data") or {}).get("comment_id")
        done = [a for a in task.get("annotations") or []
                if isinstance(a, dict) and not a.get("was_cancelled")]
        if comment_id is None or not done:
            continue
        latest = max(done, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""),
                                          str(a.get("id") or "")))
        result = latest.get("result") or []
        stance = _choice(result, "stance")
        if stance is not None and stance not in STANCE_LABELS:
            raise PipelineError(f"task {number}: stance {stance!r} is not a stance label", path=path,
                                hint=f"use one of {', '.join(STANCE_LABELS)}")
        reviewed[str(comment_id)] = {"stance": stance,
                                     "topic_id": _topic_number(_choice(result, "topic"), path, number)}
    return reviewed


def _topic_number(choice: str | None, path: Path, number: int) -> int | None:
    """'3: label' -> 3; '-1: (no topic)' or '(no topic)' -> -1."""
    if choice is None:
        return None
    head = choice.split(":", 1)[0].strip()
    if head.lstrip("-").isdigit():
        return int(head)
    if "no topic" in choice:
        return -1
    raise PipelineError(f"task {number}: topic choice {choice!r} does not start with a topic number",
                        path=path, hint="keep the choices of review/label_studio_config.xml")


def read_review_csv(path: Path) -> dict[str, dict]:
    """The reviewed rows of review.csv, as saved by a spreadsheet: UTF-8, or
    Windows-1252 as Excel writes it."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return _reviewed_rows(csv.DictReader(io.StringIO(text, newline="")), path)


def _reviewed_rows(reader: csv.DictReader, path: Path) -> dict[str, dict]:
    reviewed = {}
    missing = {"comment_id", "reviewed_stance", "reviewed_topic_id"} - set(reader.fieldnames or [])
    if missing:
        raise PipelineError(f"missing columns {sorted(missing)}", path=path, line=1,
                            hint="use the review.csv the pipeline wrote")
    for row in reader:
        number = reader.line_num  # the file line where this row ends
        stance = (row["reviewed_stance"] or "").strip().lower()
        topic = (row["reviewed_topic_id"] or "").strip()
        if not stance and not topic:
            continue
        if stance and stance not in STANCE_LABELS:
            raise PipelineError(f"reviewed_stance {stance!r} is not a stance label", path=path,
                                line=number, hint=f"use one of {', '.join(STANCE_LABELS)}")
        try:
            topic_id = int(float(topic)) if topic else None
        except ValueError:
            raise PipelineError(f"reviewed_topic_id {topic!r} is not a number", path=path,
                                line=number) from None
        reviewed[csv_text(row["comment_id"])] = {"stance": stance or None, "topic_id": topic_id}
    return reviewed


def agreement(rows: Sequence[dict], reviewed: dict[str, dict]) -> dict:
    """Model vs reviewers: stance accuracy and macro-F1, topic agreement per topic."""
    from sklearn.metrics import accuracy_score, f1_score

    by_id = {r["comment_id"]: r for r in rows}
    unknown = sorted(set(reviewed) - set(by_id))
    pairs = [(by_id[i]["stance"], v["stance"]) for i, v in reviewed.items()
             if i in by_id and v["stance"] and by_id[i]["stance"]]
    stance = {"reviewed": len(pairs)}
    if pairs:
        predicted, truth = zip(*pairs)
        stance.update(accuracy=round(accuracy_score(truth, predicted), 4),
                      macro_f1=round(f1_score(truth, predicted, labels=sorted(set(truth) | set(predicted)),
                                              average="macro", zero_division=0), 4))
    topics: dict[int, dict] = {}
    for comment_id, verdict in reviewed.items():
        row = by_id.get(comment_id)
        if row is None or verdict["topic_id"] is None or row["topic_id"] is None:
            continue
        entry = topics.setdefault(row["topic_id"], {"label": row["topic_label"], "reviewed": 0, "kept": 0})
        entry["reviewed"] += 1
        entry["kept"] += int(verdict["topic_id"] == row["topic_id"])
    for entry in topics.values():
        entry["agreement"] = round(entry["kept"] / entry["reviewed"], 4)
    return {"stance": stance, "topics": dict(sorted(topics.items())), "unknown_ids": unknown}


def stance_training_rows(rows: Sequence[dict], reviewed: dict[str, dict], target: str) -> list[dict]:
    """The reviewed stances as labelled comments for `make train-stance LABELLED=...`
    (pipeline/stance_train/labelled/README.md): the comment's cleaned text, the text
    of the comment it answers (`reply_to`), the stance toward `target` (the article,
    as the stance stage reads it). Comments without text or a reviewed stance are left out; a
    parent flagged other_language gives no parent text (the stage does not read it either)."""
    text_of = {row["comment_id"]: row["text_clean"] for row in rows if read_by_stance(row["flags"])}
    out = []
    for row in rows:
        stance = reviewed.get(row["comment_id"], {}).get("stance")
        if not stance or not row["text_clean"]:
            continue
        line = {"id": row["comment_id"], "target": target, "text": row["text_clean"], "label": stance}
        if text_of.get(row.get("reply_to")):
            line["parent_text"] = text_of[row["reply_to"]]
        out.append(line)
    return out


def corrected_rows(rows: Sequence[dict], reviewed: dict[str, dict]) -> list[dict]:
    out = []
    for row in rows:
        verdict = reviewed.get(row["comment_id"], {})
        out.append({"comment_id": row["comment_id"], "model_stance": row.get("stance"),
                    "reviewed_stance": verdict.get("stance"),
                    "stance": verdict.get("stance") or row.get("stance"),
                    "model_topic_id": row["topic_id"], "reviewed_topic_id": verdict.get("topic_id"),
                    "topic_id": verdict["topic_id"] if verdict.get("topic_id") is not None else row["topic_id"],
                    "reviewed": bool(verdict)})
    return out

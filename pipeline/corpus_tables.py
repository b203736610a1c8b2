"""The corpus's tables, from its per-comment rows (pipeline/corpus.py): topics
with totals, topics per thread (a long table), topics over time."""
from __future__ import annotations

from pathlib import Path

from pipeline import catalog, export

TOPIC_COLUMNS = ("topic_id", "label", "size", "share", "threads", "keywords")
THREAD_COLUMNS = ("topic_id", "label", "thread", "title", "comments", "share_of_thread")
TIME_COLUMNS = ("month", "topic_id", "label", "comments", "share_of_month")
COMMENT_TOPIC_COLUMNS = ("thread", "comment_id", "created_at", "thread_topic_id", "corpus_topic_id",
                         "corpus_topic_label", "corpus_similarity")


def build(rows: list[dict], model: dict, assigned: dict) -> dict[str, list[dict]]:
    """topics (one row per topic, outside as -1), topic_threads and
    topics_over_time (empty where no comment has a time)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["thread", "comment_id", "created_at", "corpus_topic_id"])
    frame = frame[frame["corpus_topic_id"].notna()].astype({"corpus_topic_id": "int64"})
    labels = {t["id"]: t["label"] for t in model["topics"]}
    labels[-1] = export.OUTLIER_LABEL
    with_text = len(frame)
    sizes = frame.groupby("corpus_topic_id").size()
    spread = frame.groupby("corpus_topic_id")["thread"].nunique()
    topic_rows = [{"topic_id": t["id"], "label": t["label"], "size": int(sizes.get(t["id"], 0)),
                   "share": round(int(sizes.get(t["id"], 0)) / with_text, 4) if with_text else 0.0,
                   "threads": int(spread.get(t["id"], 0)), "keywords": "; ".join(t["keywords"])}
                  for t in model["topics"]]
    if sizes.get(-1, 0):
        topic_rows.append({"topic_id": -1, "label": export.OUTLIER_LABEL, "size": int(sizes[-1]),
                           "share": round(int(sizes[-1]) / with_text, 4), "threads": int(spread[-1]),
                           "keywords": ""})

    per_thread = frame.groupby(["corpus_topic_id", "thread"]).size().rename("comments").reset_index()
    totals = frame.groupby("thread").size()
    thread_rows = [{"topic_id": int(r.corpus_topic_id), "label": labels.get(int(r.corpus_topic_id), ""),
                    "thread": r.thread, "title": assigned.get(r.thread, {}).get("title", ""),
                    "comments": int(r.comments), "share_of_thread": round(r.comments / totals[r.thread], 4)}
                   for r in per_thread.sort_values(["corpus_topic_id", "comments", "thread"],
                                                   ascending=[True, False, True]).itertuples()]

    when = pd.to_datetime(frame["created_at"], errors="coerce", utc=True, format="ISO8601")
    timed = frame.assign(month=when.dt.strftime("%Y-%m"))[when.notna()]
    time_rows = []
    if len(timed):
        months = timed.groupby("month").size()
        counts = timed.groupby(["month", "corpus_topic_id"]).size().rename("comments").reset_index()
        time_rows = [{"month": r.month, "topic_id": int(r.corpus_topic_id),
                      "label": labels.get(int(r.corpus_topic_id), ""), "comments": int(r.comments),
                      "share_of_month": round(r.comments / months[r.month], 4)}
                     for r in counts.sort_values(["month", "corpus_topic_id"]).itertuples()]
    return {"topics": topic_rows, "topic_threads": thread_rows, "topics_over_time": time_rows}


def write(tables: dict[str, list[dict]], rows: list[dict], folder: Path) -> None:
    """topics.csv, topic_threads.csv, topics_over_time.csv (where comments have
    times) and comment_topics.parquet / .csv into `folder`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    export.write_csv(tables["topics"], folder / catalog.TOPICS_CSV, TOPIC_COLUMNS)
    export.write_csv(tables["topic_threads"], folder / catalog.CORPUS_TOPIC_THREADS, THREAD_COLUMNS)
    if tables["topics_over_time"]:
        export.write_csv(tables["topics_over_time"], folder / catalog.CORPUS_TOPICS_OVER_TIME, TIME_COLUMNS)
    schema = pa.schema([("thread", pa.string()), ("comment_id", pa.string()), ("created_at", pa.string()),
                        ("thread_topic_id", pa.int32()), ("corpus_topic_id", pa.int32()),
                        ("corpus_topic_label", pa.string()), ("corpus_similarity", pa.float64())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / catalog.CORPUS_COMMENT_TOPICS_PARQUET,
                   compression="zstd")
    export.write_csv(rows, folder / catalog.CORPUS_COMMENT_TOPICS_CSV, COMMENT_TOPIC_COLUMNS)

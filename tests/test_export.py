"""What export writes from untrusted text: CSV cells that stay text, and a
thread.json whose size follows its content, however deep the thread."""
import csv
import json
import sys

import pytest

from pipeline import artifacts, export, review
from pipeline.records import (Article, CleanComment, Comment, Thread, Topic, TopicAssignment,
                              TopicResult)

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "'=quoted"]


def hostile_rows():
    """Comment rows whose ids, authors and texts all open like formulas."""
    article = Article(id="a", title="T", paragraphs=("Body.",), source="t.jsonl")
    comments = tuple(Comment(id=text, parent_id=None, depth=0, author=text, text=text, line=i + 2,
                             position=i) for i, text in enumerate(HOSTILE))
    cleaned = [CleanComment(id=c.id, text=c.text) for c in comments]
    topics = TopicResult(
        topics=(Topic(id=0, label="-minus label", keywords=("=kw", "@kw"), size=len(HOSTILE),
                      representative_ids=tuple(HOSTILE[:3])),),
        assignments=tuple(TopicAssignment(id=c.id, topic_id=0 if i else -1, probability=-0.5,
                                          source="cluster") for i, c in enumerate(comments)))
    thread = Thread(article, comments)
    rows = export.build_comment_rows(thread, cleaned, topics,
                                     {c.id: (None, "article") for c in comments})
    return thread, rows, export.build_topic_rows(topics, rows)


def read_cells(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def assert_no_formula(rows, numeric=()):
    for row in rows:
        for column, cell in row.items():
            if column in numeric:
                continue
            assert cell[:1] not in export.FORMULA_START, (column, cell)


def test_every_csv_the_pipeline_writes_keeps_formulas_as_text(tmp_path):
    thread, rows, topic_rows = hostile_rows()
    export.write_csv(topic_rows, tmp_path / "topics.csv", export.TOPIC_COLUMNS)
    artifacts.write_review(tmp_path / "review", thread, rows, topic_rows, "m")
    topics = read_cells(tmp_path / "topics.csv")
    assert_no_formula(topics, numeric={"topic_id", "share"})
    assert topics[0]["representative_ids"].startswith("'=HYPERLINK")
    assert topics[0]["label"] == "'-minus label" and topics[0]["keywords"] == "'=kw; @kw"
    assert [t["topic_id"] for t in topics] == ["0", "-1"]  # numbers we write stay numbers
    sheet = read_cells(tmp_path / "review" / "review.csv")
    assert_no_formula(sheet, numeric={"topic_id"})
    assert [r["comment_id"] for r in sheet] == ["'" + text for text in HOSTILE]
    assert sheet[0]["author"] == sheet[0]["text"] == "'" + HOSTILE[0]


def test_cells_read_back_as_written():
    for text in HOSTILE + ["plain", "'plain", "''=x", "", "'"]:
        assert export.csv_text(export.csv_cell(text)) == text
    assert export.csv_cell(-1) == -1 and export.csv_cell(-0.25) == -0.25


def test_a_filled_review_csv_finds_ids_that_open_like_formulas(tmp_path):
    thread, rows, topic_rows = hostile_rows()
    artifacts.write_review(tmp_path / "review", thread, rows, topic_rows, "m")
    path = tmp_path / "review" / "review.csv"
    sheet = read_cells(path)
    for row in sheet:
        row["reviewed_stance"] = "agree"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    assert set(review.read_review_csv(path)) == set(HOSTILE)


def chain_tree(depth):
    comments = tuple(Comment(id=f"c{i}", parent_id=f"c{i - 1}" if i else None, depth=i,
                             author="Ann", text="A reply.", line=i + 2, position=i)
                     for i in range(depth))
    thread = Thread(Article(id="a", title="T", paragraphs=(), source="t.jsonl"), comments)
    rows = export.build_comment_rows(thread, [CleanComment(id=c.id, text=c.text) for c in comments],
                                     None, {c.id: (c.parent_id, "parent") for c in comments})
    return export.build_thread_tree(thread, rows)


@pytest.fixture
def deep_recursion():
    """json's own reader and writer recurse once per level of a 2,000-deep chain."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    yield
    sys.setrecursionlimit(limit)


@pytest.mark.parametrize("depth", [2000])
def test_thread_json_of_a_deep_chain_grows_with_its_content_not_its_depth(tmp_path, depth,
                                                                           deep_recursion):
    sizes = {}
    for n in (depth // 2, depth):
        path = tmp_path / f"thread{n}.json"
        export.write_thread(chain_tree(n), path)
        tree = json.loads(path.read_text(encoding="utf-8"))
        node, levels = tree["comments"][0], 1
        while node["replies"]:
            (node,) = node["replies"]
            levels += 1
        assert levels == n and node["comment_id"] == f"c{n - 1}"  # still nested, every level
        sizes[n] = path.stat().st_size
    compact = len(json.dumps(chain_tree(depth), ensure_ascii=False, separators=(",", ":")))
    assert sizes[depth] < 2 * compact  # the indent is bounded, not 2 spaces per level
    assert sizes[depth] < 2.2 * sizes[depth // 2]  # twice the comments, about twice the bytes


def test_thread_json_reads_as_the_tree_it_was_given(tmp_path):
    tree = chain_tree(5)
    tree["comments"].append({**tree["comments"][0], "comment_id": "x", "replies": []})
    export.write_thread(tree, tmp_path / "thread.json")
    assert json.loads((tmp_path / "thread.json").read_text(encoding="utf-8")) == tree


def branching_thread(n=23):
    """n comments, replies under earlier ones (some deep, some siblings), with
    topics and stances, for the writers that take rows one at a time."""
    from pipeline.records import StanceAssignment

    article = Article(id="a", title="T", paragraphs=("Body.",), source="t.jsonl")
    comments, depth = [], {}
    for i in range(n):
        parent = None if i % 5 == 0 else f"c{i - 1 - i % 3 if i > 2 else 0}"
        depth[f"c{i}"] = 0 if parent is None else depth[parent] + 1
        comments.append(Comment(id=f"c{i}", parent_id=parent, depth=depth[f"c{i}"], author=f"u{i % 4}",
                                text=f"Comment {i}.\nSecond line", line=i + 2, position=i))
    comments = tuple(comments)
    topics = TopicResult(
        topics=(Topic(id=0, label="zero", keywords=("k",), size=sum(1 for i in range(n) if i % 3), representative_ids=("c1", "c2")),),
        assignments=tuple(TopicAssignment(id=c.id, topic_id=-1 if i % 3 == 0 else 0, probability=0.5,
                                          source="cluster") for i, c in enumerate(comments)))
    stances = [StanceAssignment(id=c.id, stance=("agree", "disagree", "unrelated")[i % 3], confidence=0.6,
                                probs=(0.6, 0.1, 0.1, 0.1, 0.1), reply_to=c.parent_id,
                                reply_to_reason="parent" if c.parent_id else "article")
               for i, c in enumerate(comments)]
    thread = Thread(article, comments)
    rows = export.build_comment_rows(thread, [CleanComment(id=c.id, text=c.text.lower()) for c in comments], topics,
                                     {c.id: (c.parent_id, "parent" if c.parent_id else "article") for c in comments},
                                     stances)
    return thread, topics, rows


def test_rows_built_as_read_write_what_a_list_of_them_writes(tmp_path, monkeypatch):
    """A big dump's rows are never all held: parquet in row groups of ROW_CHUNK rows,
    thread.json from the rows one at a time, the review tasks streamed; each file is
    what the whole list gives (the example dump's recorded hashes hold it byte for byte
    where the dump is one chunk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(export, "ROW_CHUNK", 4)
    thread, topics, rows = branching_thread()
    listed = list(rows)
    assert len(rows) == 23 and rows[-1] == listed[-1] and rows[3:5] == listed[3:5]
    assert [len(chunk) for chunk in export.row_chunks(rows, 4)] == [4] * 5 + [3]
    export.write_parquet(rows, tmp_path / "rows.parquet")
    parquet = pq.ParquetFile(tmp_path / "rows.parquet")
    assert parquet.metadata.num_row_groups == 6
    assert parquet.read().to_pylist() == listed
    export.write_parquet(listed, tmp_path / "list.parquet")
    assert pq.ParquetFile(tmp_path / "list.parquet").metadata.num_row_groups == 1
    assert pq.read_table(tmp_path / "list.parquet").to_pylist() == listed

    export.write_thread_rows(thread, rows, tmp_path / "rows.json")
    export.write_thread(export.build_thread_tree(thread, listed), tmp_path / "tree.json")
    assert (tmp_path / "rows.json").read_bytes() == (tmp_path / "tree.json").read_bytes()
    assert max(c.depth for c in thread.comments) >= 2 and len(json.loads(
        (tmp_path / "rows.json").read_text(encoding="utf-8"))["comments"]) == 5

    tasks = list(review.label_studio_tasks(rows, "T", "m"))
    export.write_json_list(review.label_studio_tasks(rows, "T", "m"), tmp_path / "streamed.json")
    export.write_json(tasks, tmp_path / "whole.json")
    assert (tmp_path / "streamed.json").read_bytes() == (tmp_path / "whole.json").read_bytes()
    export.write_json_list([], tmp_path / "none.json")
    export.write_json([], tmp_path / "none_whole.json")
    assert (tmp_path / "none.json").read_bytes() == (tmp_path / "none_whole.json").read_bytes()

    empty = export.build_comment_rows(Thread(thread.article, ()), [], None, {})
    export.write_parquet(empty, tmp_path / "empty.parquet")  # a thread without comments: as write_table wrote it
    pq.write_table(pa.Table.from_pylist([], schema=export.arrow_schema()), tmp_path / "empty_whole.parquet",
                   compression="zstd")
    assert (tmp_path / "empty.parquet").read_bytes() == (tmp_path / "empty_whole.parquet").read_bytes()

    counted = {r["topic_id"]: r for r in export.build_topic_rows(topics, rows)}
    for topic_id in (0, -1):
        members = [r for r in listed if r["topic_id"] == topic_id]
        assert counted[topic_id]["size"] == len(members)
        assert [counted[topic_id][f"n_{s}"] for s in ("agree", "disagree", "unrelated")] == \
            [sum(r["stance"] == s for r in members) for s in ("agree", "disagree", "unrelated")]
    assert counted[0]["representative_comments"] == "comment 1.\nsecond line | comment 2.\nsecond line"

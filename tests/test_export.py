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

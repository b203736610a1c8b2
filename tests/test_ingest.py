import json
import re

import pytest

from conftest import EXAMPLE_DUMP, REAL_DUMP, needs_shared
from pipeline.errors import PipelineError
from pipeline.ingest import open_dump, parse_dump


def parse(text: str | bytes, name: str = "dump.txt"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_dump(data, name)


def expected_parents(path):
    """Parents read off the raw file: the nearest header above, one level up."""
    parents, open_at_depth = [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"^( +)\u2022 ", line)
        if match:
            depth = len(match.group(1)) // 2 - 1
            parents.append((number, open_at_depth.get(depth - 1)))
            open_at_depth[depth] = number
    return parents


@needs_shared
def test_real_dump_figures():
    thread = parse_dump(REAL_DUMP.read_bytes(), str(REAL_DUMP))
    comments = thread.comments
    assert len(comments) == 103
    assert sum(c.depth == 0 for c in comments) == 32
    assert max(c.depth for c in comments) == 4
    assert sum(not c.text for c in comments) == 2
    assert len({c.author for c in comments}) == 54
    assert "Rüdiger Preiss" in {c.author for c in comments}
    assert thread.warnings == ()


@pytest.mark.parametrize("path", [pytest.param(REAL_DUMP, marks=needs_shared), EXAMPLE_DUMP],
                         ids=["real", "example"])
def test_every_reply_has_the_right_parent(path):
    thread = parse_dump(path.read_bytes(), str(path))
    line_of = {c.id: c.line for c in thread.comments}
    got = [(c.line, line_of.get(c.parent_id)) for c in thread.comments]
    assert got == expected_parents(path)


def test_example_dump_has_what_the_readme_promises(example_thread):
    comments = example_thread.comments
    assert len(comments) >= 40
    assert max(c.depth for c in comments) >= 3
    assert sum(not c.text for c in comments) == 1
    assert example_thread.article.title.startswith("City Votes")
    assert len(example_thread.article.paragraphs) == 5


def test_text_keeps_paragraphs_and_line_numbers():
    dump = ("Title\n\nBody one.\n\n  \u2022 Ann\n\n    First para.\n\n    Second para.\n\n"
            "    \u2022 Bob\n\n      Reply.\n\n  \u2022 Cy\n")
    thread = parse(dump)
    ann, bob, cy = thread.comments
    assert ann.text == "First para.\n\nSecond para." and ann.line == 5
    assert (bob.parent_id, bob.depth, bob.line) == (ann.id, 1, 11)
    assert cy.text == "" and cy.parent_id is None


def test_crlf_tabs_and_bom_read_like_plain_utf8():
    plain = "Title\n\nBody.\n\n  \u2022 Ann\n\n    Hi there.\n\n    \u2022 Bob\n\n      Hello.\n"
    odd = ("\ufeff" + plain.replace("\n", "\r\n")).encode("utf-8")
    assert [(c.author, c.depth, c.text) for c in parse(odd).comments] == \
        [(c.author, c.depth, c.text) for c in parse(plain).comments]


def test_windows_1252_is_decoded_with_a_warning():
    dump = "Caf\u00e9 news\n\nBody.\n\n  \u2022 Ren\u00e9\n\n    \u201cQuote\u201d here.\n"
    thread = parse(dump.encode("cp1252"))
    assert thread.comments[0].author == "René"
    assert any("Windows-1252" in w for w in thread.warnings)


def test_utf16_with_bom_is_read():
    dump = "Title\n\nBody.\n\n  \u2022 Ann\n\n    Hi.\n"
    assert parse(dump.encode("utf-16")).comments[0].text == "Hi."


def test_indent_jump_attaches_to_nearest_comment_with_warning():
    dump = "Title\n\nBody.\n\n  \u2022 Ann\n\n    Top.\n\n        \u2022 Bob\n\n          Deep.\n"
    thread = parse(dump)
    ann, bob = thread.comments
    assert bob.parent_id == ann.id and bob.depth == 1
    assert any(":9:" in w and "jumps" in w for w in thread.warnings)


def test_article_without_comments_is_kept_with_a_warning():
    thread = parse("Title\n\nJust an article, nobody commented.\n")
    assert thread.comments == () and thread.article.paragraphs
    assert any("no comment thread" in w for w in thread.warnings)


@pytest.mark.parametrize("data, line, words", [
    (b"", 1, "empty"),
    (b"   \n\n", 1, "empty"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", 1, "JPEG"),
    (b"\x00\x01\x02binary\x00", 1, "binary"),
    ("Title only\n".encode(), 1, "only a title"),
    ("  \u2022 Ann\n\n    Hi\n".encode(), 1, "first line must be the article title"),
    ("Title\n\nBody.\n\n   \u2022 Ann\n\n    Hi\n".encode(), 5, "not a multiple of 2"),
    ("Title\n\nBody.\n\n  \u2022 Ann\n\nHi\n".encode(), 7, "unindented"),
    ("Title\n\nBody.\n\n    \u2022 Ann\n\n    Hi\n".encode(), 7, "no deeper than its header"),
    (("x" * 5000).encode(), 1, "characters long"),
])
def test_not_a_dump_names_file_and_line(data, line, words):
    with pytest.raises(PipelineError) as caught:
        parse(data, "bad.txt")
    message = str(caught.value)
    assert message.startswith(f"bad.txt:{line}: ")
    assert words in message
    assert "\n" not in message


def jsonl(*objects) -> str:
    return "\n".join(json.dumps(o) for o in objects) + "\n"


ARTICLE = {"type": "article", "id": "a1", "title": "T", "body": "Para one.\n\nPara two."}


def test_jsonl_builds_the_tree_in_any_order():
    thread = parse(jsonl(ARTICLE,
                         {"type": "comment", "id": 2, "parent_id": 1, "author": "B", "text": "reply"},
                         {"type": "comment", "id": 1, "parent_id": None, "author": "A", "text": "top",
                          "created_at": "2024-01-01T10:00:00Z"}), "d.jsonl")
    top, reply = thread.comments  # parents first; position keeps the file order
    assert thread.article.paragraphs == ("Para one.", "Para two.")
    assert (reply.parent_id, reply.depth, top.depth) == ("1", 1, 0)
    assert (reply.position, top.position) == (0, 1)
    assert top.created_at == "2024-01-01T10:00:00Z" and reply.line == 2


def test_jsonl_title_may_start_with_a_brace_in_a_text_dump():
    thread = parse("{Breaking} news\n\nBody.\n\n  \u2022 Ann\n\n    Hi.\n", "x.txt")
    assert thread.article.title == "{Breaking} news" and len(thread.comments) == 1


def test_jsonl_keeps_line_separators_inside_strings():
    text = jsonl(ARTICLE, {"type": "comment", "id": 1, "text": "one\u2028two\u0085three"})
    thread = parse(text.replace("\\u2028", "\u2028").replace("\\u0085", "\u0085"), "d.jsonl")
    assert thread.comments[0].text == "one\u2028two\u0085three"


def test_jsonl_non_string_text_is_an_error():
    with pytest.raises(PipelineError, match=r"d\.jsonl:2: 'text' must be a string, got list"):
        parse(jsonl(ARTICLE, {"type": "comment", "id": 1, "text": ["a", "b"]}), "d.jsonl")


def test_jsonl_missing_parent_is_a_warning_not_a_loss():
    thread = parse(jsonl(ARTICLE, {"type": "comment", "id": "x", "parent_id": "ghost", "text": "hi"}),
                   "d.jsonl")
    assert thread.comments[0].parent_id is None
    assert any("d.jsonl:2:" in w and "ghost" in w for w in thread.warnings)


@pytest.mark.parametrize("lines, line, words", [
    ([ARTICLE, "{broken"], 2, "broken JSON"),
    ([ARTICLE, {"type": "comment", "id": 1, "text": "a"}, {"type": "comment", "id": 1, "text": "b"}],
     3, "duplicate comment id"),
    ([ARTICLE, {"type": "comment", "id": 1, "parent_id": 2}, {"type": "comment", "id": 2, "parent_id": 1}],
     2, "cycle"),
    ([{"type": "comment", "id": 1}], 1, "before the article"),
])
def test_jsonl_errors_name_the_line(lines, line, words):
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines)
    with pytest.raises(PipelineError) as caught:
        parse(text, "d.jsonl")
    assert f"d.jsonl:{line}:" in str(caught.value) and words in str(caught.value)


@pytest.mark.parametrize("value, shown", [(["a"], '["a"]'), ({"a": 1}, '{"a": 1}'), (True, "true")])
@pytest.mark.parametrize("key", ["id", "parent_id"])
def test_jsonl_ids_are_strings_or_numbers(key, value, shown):
    comment = {"type": "comment", "id": "c1", "parent_id": None, "text": "hi", key: value}
    with pytest.raises(PipelineError) as caught:
        parse(jsonl(ARTICLE, comment), "d.jsonl")
    message = str(caught.value)
    assert message.startswith(f"d.jsonl:2: '{key}' must be a string or a number, got {shown}")
    assert "write the" in message and "\n" not in message


def test_jsonl_numbers_and_strings_are_ids():
    thread = parse(jsonl(ARTICLE, {"type": "comment", "id": 7, "text": "a"},
                         {"type": "comment", "id": "r", "parent_id": 7, "text": "b"}), "d.jsonl")
    assert [(c.id, c.parent_id) for c in thread.comments] == [("7", None), ("r", "7")]


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\uDC00 then text"])
@pytest.mark.parametrize("key", ["text", "author", "id"])
def test_jsonl_lone_surrogate_is_an_error_naming_the_line(key, escape):
    line = jsonl(ARTICLE).rstrip("\n") + "\n" + '{"type": "comment", "id": "c1", "text": "ok", '
    line += f'"{key}": "x{escape}"}}\n'
    with pytest.raises(PipelineError) as caught:
        parse(line, "d.jsonl")
    assert str(caught.value).startswith(f"d.jsonl:2: '{key}' holds a \\u escape of half a UTF-16 pair")


def test_jsonl_surrogate_pairs_and_escaped_backslashes_are_fine():
    text = jsonl(ARTICLE).rstrip("\n") + "\n" + \
        '{"type": "comment", "id": "c1", "text": "\\ud83d\\ude02 and \\\\ud800"}\n'
    (comment,) = parse(text, "d.jsonl").comments
    assert comment.text == "\U0001F602 and \\ud800"
    comment.text.encode("utf-8")


@pytest.mark.parametrize("name, encoding", [("late.txt", "utf-8"), ("late.jsonl", "utf-8"),
                                            ("late_cp1252.txt", "cp1252")])
def test_a_nul_byte_anywhere_is_binary_data_naming_its_line(monkeypatch, name, encoding):
    import pipeline.ingest as ingest

    monkeypatch.setattr(ingest, "CHUNK", 64)  # the NUL well past the first read
    if name.endswith(".jsonl"):
        head = jsonl(ARTICLE, {"type": "comment", "id": "c1", "text": "hi " * 40})
        tail = '{"type": "comment", "id": "c2", "text": "te\x00xt"}\n'
    else:  # the \u201c is not UTF-8 once written as Windows-1252
        head = "Title\n\nBody.\n\n  \u2022 Ann\n\n    \u201cHi\u201d there. " + "Hi. " * 30 + "\n\n"
        tail = "  \u2022 Bob\n\n    te\x00xt\n"
    data = (head + tail).encode(encoding)
    with pytest.raises(PipelineError) as caught:
        parse(data, name)
    line = head.count("\n") + tail[:tail.index("\x00")].count("\n") + 1
    assert str(caught.value).startswith(f"{name}:{line}: binary data (NUL bytes)")


def test_open_dump_checks_the_whole_file_before_any_comment_is_read(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(jsonl(ARTICLE, *({"type": "comment", "id": i, "text": f"c {i}"} for i in range(50)))
                    + "{broken\n", encoding="utf-8")
    with path.open("rb") as handle, pytest.raises(PipelineError, match=r"d\.jsonl:52: broken JSON"):
        open_dump(handle, str(path))


@pytest.mark.parametrize("path", [pytest.param(REAL_DUMP, marks=needs_shared), EXAMPLE_DUMP],
                         ids=["real", "example"])
def test_streamed_comments_are_the_parsed_ones_every_time(path):
    whole = parse_dump(path.read_bytes(), str(path))
    with path.open("rb") as handle:
        dump = open_dump(handle, str(path))
        first, second = tuple(dump.comments()), tuple(dump.comments())
    assert first == second == whole.comments
    assert dump.n_comments == len(whole.comments)
    assert dump.authors == tuple(dict.fromkeys(c.author for c in whole.comments))


def test_jsonl_stream_reads_parents_first_from_a_file(tmp_path):
    rows = [{"type": "comment", "id": f"r{i}", "parent_id": f"t{i % 3}", "text": f"reply {i}"} for i in range(6)]
    rows += [{"type": "comment", "id": f"t{i}", "text": f"top {i}"} for i in range(3)]
    path = tmp_path / "late_parents.jsonl"
    path.write_text(jsonl(ARTICLE, *rows), encoding="utf-8")
    with path.open("rb") as handle:
        comments = list(open_dump(handle, str(path)).comments())
    assert [c.id for c in comments] == ["t0", "r0", "r3", "t1", "r1", "r4", "t2", "r2", "r5"]
    assert [c.text for c in comments[:2]] == ["top 0", "reply 0"]


def test_windows_1252_warning_names_the_line_even_across_a_read_boundary(monkeypatch):
    import pipeline.ingest as ingest

    monkeypatch.setattr(ingest, "CHUNK", 3)
    head = "Title\n\nBody.\n\n  \u2022 Ann\n\n    ".encode("utf-8")
    pad = b"x" * ((1 - len(head)) % 3)  # a 3-byte character split 2 + 1 by the reads
    bad = head + pad + "\u201c".encode("utf-8") + b"\x93\n    more\n"  # \x93: not UTF-8
    thread = parse(bad)
    assert any(w.startswith("dump.txt:7:") and "Windows-1252" in w for w in thread.warnings), thread.warnings


CUT_SHORT = "Title\n\nBody.\n\n  \u2022 Ann\n\n    Hi.\n\n  \u2022 Bob\n\n    Ends with "


@pytest.mark.parametrize("char, kept", [("\u201d", 1), ("\u201d", 2), ("\U0001F602", 3), ("\u00e9", 1)])
def test_a_dump_cut_inside_a_character_keeps_the_text_before_it(char, kept):
    data = (CUT_SHORT + "caf\u00e9 \u2014 " + char).encode("utf-8")
    thread = parse(data[: len(data) - len(char.encode("utf-8")) + kept])
    ann, bob = thread.comments
    assert (ann.text, bob.text) == ("Hi.", "Ends with caf\u00e9 \u2014")
    (warning,) = thread.warnings
    assert warning.startswith("dump.txt:11: the file ends inside a UTF-8 character")


def test_a_file_cut_inside_a_character_streams_the_same_across_read_boundaries(tmp_path, monkeypatch):
    import pipeline.ingest as ingest

    monkeypatch.setattr(ingest, "CHUNK", 3)
    path = tmp_path / "cut.txt"
    whole = (CUT_SHORT + "the \u201cend\u201d").encode("utf-8")
    path.write_bytes(whole[:-1])
    with path.open("rb") as handle:
        dump = open_dump(handle, str(path))
        first, second = tuple(dump.comments()), tuple(dump.comments())
    assert first == second and first[-1].text == "Ends with the \u201cend"
    assert dump.warnings[0].startswith(f"{path}:11: the file ends inside a UTF-8 character")


def test_a_jsonl_cut_inside_a_character_is_broken_json_on_its_last_line():
    """Not 'not UTF-8 and not Windows-1252' (\u201d holds a byte Windows-1252 lacks):
    what is wrong is the last line, cut short."""
    rows = [ARTICLE, {"type": "comment", "id": 1, "text": "\u201cfine\u201d"},
            {"type": "comment", "id": 2, "text": "caf\u00e9"}]
    data = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode("utf-8")
    cut = data[: data.rindex("\u00e9".encode("utf-8")) + 1]
    with pytest.raises(PipelineError, match=r"^d\.jsonl:3: broken JSON"):
        parse(cut, "d.jsonl")


def test_a_folder_run_does_not_follow_links_out_of_the_folder(tmp_path, caplog):
    from pipeline.runner import find_dumps

    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("Not for the pipeline\n\nKeys and notes.\n")
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "a.txt").write_text("Title\n\nBody.\n")
    (folder / "link_out.txt").symlink_to(outside / "secret.txt")
    (folder / "link_in.txt").symlink_to(folder / "a.txt")
    with caplog.at_level("WARNING", logger="pipeline"):
        assert find_dumps([str(folder)]) == [folder / "a.txt", folder / "link_in.txt"]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert str(folder / "link_out.txt") in warning and "outside the folder; skipped" in warning
    assert find_dumps([str(folder / "link_out.txt")]) == [folder / "link_out.txt"]  # named, it is run

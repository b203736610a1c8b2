"""The platform readers, on small fixtures written from each documented
schema (tests/data/formats/, invented text), and their errors."""
import json
from pathlib import Path

import pytest

from pipeline import ingest
from pipeline.errors import PipelineError
from pipeline.ingest import formats

DATA = Path(__file__).parent / "data" / "formats"


def threads(name: str, fmt: str = "auto", **options) -> list:
    path = DATA / name
    with path.open("rb") as handle:
        keys = ingest.thread_keys(handle, str(path), fmt, options)
        return [ingest.open_dump(handle, str(path), fmt, key, options).read() for key in keys]


def one(name: str, **kwargs):
    [thread] = threads(name, **kwargs)
    return thread


def by_id(thread):
    return {c.id: c for c in thread.comments}


def test_reddit_thread_tree_more_stubs_and_removed():
    thread = one("reddit_thread.json")
    c = by_id(thread)
    assert thread.format == "reddit" and thread.article.title == "Parks budget doubles"
    assert thread.article.paragraphs == ("The council & the mayor agreed.", "https://example.org/parks")
    assert (c["c2"].parent_id, c["c2"].depth, c["c1"].parent_id) == ("c1", 1, None)
    assert c["c2"].text.startswith("> Good news") and "&gt;" not in c["c2"].text
    assert c["c3"].status == ("removed",) and c["c1"].score == 3
    assert c["c1"].created_at == "2023-11-14T22:13:20Z" and c["c1"].created_raw == "1700000000.0"
    assert thread.missing == 11 and any("2 'more' stubs: 11 comments" in w for w in thread.warnings)


def test_reddit_morechildren_orphan_hangs_at_top_level_with_a_warning():
    thread = one("reddit_morechildren.json")
    c = by_id(thread)
    assert thread.format == "reddit-morechildren"
    assert c["m1"].parent_id is None and "parent_missing" in c["m1"].status and c["m2"].depth == 1
    assert any("'gone'" in w and "'m1'" in w for w in thread.warnings)


def test_pushshift_groups_by_link_id_and_takes_articles_from_submissions():
    found = threads("pushshift_comments.ndjson", submissions=DATA / "pushshift_submissions.ndjson")
    assert [t.article.id for t in found] == ["s1", "s2"]
    first, second = found
    assert first.article.title == "New bridge opens" and [c.id for c in first.comments] == ["p1", "p2"]
    assert first.comments[1].status == ("deleted",) and first.comments[1].line == 2
    assert second.article.title == "Reddit thread s2" and any("t3_s2" in w for w in second.warnings)
    assert second.comments[0].created_at == "2020-09-13T12:30:00Z"


def test_disqus_export_one_thread_per_page_quotes_deleted_and_orphans():
    first, second = threads("disqus_export.xml")
    assert (first.article.title, first.article.paragraphs) == ("Library hours extended", ("https://example.org/a",))
    c = by_id(first)
    assert c["1"].text == "Great for students & parents."
    assert c["2"].text == "> Great for students\n\nOnly on weekdays." and c["2"].parent_id == "1"
    assert c["3"].status == ("deleted", "parent_missing") and c["3"].parent_id is None
    assert second.article.title == "Market moves" and first.threads_in_file == 2


def test_disqus_api_posts_with_related_thread():
    thread = one("disqus_api.json")
    c = by_id(thread)
    assert thread.article.title == "Storm closes schools" and c["502"].parent_id == "501"
    assert c["501"].score == 3 and c["501"].created_at == "2011-02-01T08:00:00Z"


@pytest.mark.parametrize("name", ["ycd.jsonl", "ycd_pretty.json"])
def test_youtube_comment_downloader_lines_and_pretty(name):
    thread = one(name)
    c = by_id(thread)
    assert thread.format == "youtube-comment-downloader"
    assert c["Ya.r1"].parent_id == "Ya" and c["Ya"].score == 1200 and c["Yb"].score == 0
    assert c["Ya"].created_raw == "2 days ago" and c["Ya"].created_at == "2023-07-22T04:26:40Z"
    assert c["Ya.r1"].created_at is None and c["Ya"].status == ("hearted",)


def test_youtube_data_api_thread_with_replies():
    thread = one("youtube_api_threads.json")
    assert thread.article.id == "vid1" and by_id(thread)["T1.a"].parent_id == "T1"


def test_hackernews_algolia_story_html_and_deleted():
    thread = one("hn_algolia.json")
    c = by_id(thread)
    assert thread.article.title == "Show HN: a tide clock" and c["2"].parent_id is None
    assert c["2"].text == "Neat & simple.\n\nSource?" and c["3"].status == ("deleted",)


def test_hackernews_firebase_items_count_the_missing():
    thread = one("hn_firebase.json")
    assert [c.id for c in thread.comments] == ["101", "102"] and thread.comments[1].status == ("deleted",)
    assert thread.missing == 1


def test_wordpress_flags_unapproved_and_pingbacks_and_skips_posts_without_comments():
    thread = one("wordpress.xml")
    c = by_id(thread)
    assert thread.article.title == "Garden notes" and thread.article.paragraphs[0] == "Tomatoes did well."
    assert c["2"].status == ("unapproved",) and c["3"].status == ("pingback",) and c["2"].parent_id == "1"
    assert c["1"].created_at == "2019-06-01T10:00:00Z" and c["1"].created_raw == "2019-06-01 12:00:00"


def test_mastodon_root_is_the_article():
    thread = one("mastodon_context.json")
    assert thread.article.title == "Ferry timetable changes tomorrow"
    assert [(c.id, c.parent_id) for c in thread.comments] == [("2", None), ("3", "2")]
    assert thread.comments[0].author == "uma@example.social"


def test_bluesky_not_found_posts_stay_empty_and_flagged():
    thread = one("bluesky_thread.json")
    assert thread.article.title == "Bike lane opens on Main St" and thread.article.id == "root1"
    gone = [c for c in thread.comments if c.status == ("not_found",)]
    assert len(gone) == 1 and gone[0].text == "" and len(thread.comments) == 2


def test_facebook_parent_from_the_permalink():
    thread = one("facebook_comments.json")
    assert [(c.id, c.parent_id) for c in thread.comments] == [("901", None), ("902", "901")]
    assert thread.comments[0].created_at == "2021-08-10T18:45:03Z"


@pytest.mark.parametrize("name", ["comments.csv", "comments.tsv"])
def test_csv_and_tsv_columns_in_any_case(name):
    thread = one(name)
    assert thread.format == "csv" and by_id(thread)["2"].parent_id == "1"
    if name.endswith(".csv"):
        assert by_id(thread)["2"].text == "I disagree.\nStrongly." and by_id(thread)["1"].created_at


def test_every_format_has_a_fixture_that_sniffs_as_it():
    seen = {one_or_first(p).format for p in DATA.iterdir() if p.name != "pushshift_submissions.ndjson"}
    assert seen == set(formats.BY_NAME)


def one_or_first(path: Path):
    return threads(path.name)[0]


# --- bad input: one line, the file, the line or JSON path, the fix; nothing read --------------

def broken(tmp_path, name: str, text: str, fmt: str = "auto") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PipelineError) as caught, path.open("rb") as handle:
        for key in ingest.thread_keys(handle, str(path), fmt):
            ingest.open_dump(handle, str(path), fmt, key)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path)) and "(" in message
    return message


def test_a_disqus_export_is_no_longer_taken_for_a_text_dump(tmp_path):
    message = broken(tmp_path, "x.xml", '<?xml version="1.0"?>\n<other><a/></other>\n')
    assert "tried: reddit, " in message and "text" in message and "--format" in message


def _reddit_with(thing) -> str:
    return json.dumps([{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {"id": "a", "title": "T"}}]}},
                       {"kind": "Listing", "data": {"children": [thing]}}])


MALFORMED = {
    "reddit": ("r.json", _reddit_with({"kind": "t5", "data": {"id": "x"}}), "[1].data.children[0].kind"),
    "reddit-morechildren": ("m.json", '{"json": {"data": {"things": [{"kind": "t1"}]}}}', "json.data.things[0]"),
    "pushshift": ("p.ndjson", '{"id": "1", "link_id": "t3_a", "subreddit": "s", "body": "x"}\n{"id": \n',
                  "p.ndjson:2: broken JSON"),
    "disqus": ("d.xml", '<disqus xmlns="http://disqus.com"><post><message>x</message></post></disqus>',
               "<post> #1"),
    "disqus-api": ("a.json", '{"code": 0, "response": [{"message": "x", "thread": "1", "forum": "f"}]}',
                   "response[0]"),
    "youtube-comment-downloader": ("y.jsonl", '{"cid": "a", "text": "x"}\n{"cid": "", "text": "y"}\n', "y.jsonl:2"),
    "youtube-api": ("v.json", '{"kind": "youtube#commentListResponse", "items": [{"id": "x"}]}', "items[0]"),
    "hackernews-algolia": ("h.json", '{"id": 1, "type": "story", "created_at_i": 1, "children": [{"text": "x"}]}',
                           "children[0]"),
    "hackernews-firebase": ("f.json", '[{"id": 5, "type": "comment", "by": "x", "time": 1}]', "[0]"),
    "wordpress": ("w.xml", '<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><wp:post_id>1'
                           '</wp:post_id><wp:comment><wp:comment_content>x</wp:comment_content></wp:comment>'
                           '</item></channel></rss>', "<wp:comment> #1"),
    "mastodon": ("t.json", '{"ancestors": [{"content": "x"}], "descendants": []}', "ancestors[0]"),
    "bluesky": ("b.json", '{"thread": {"$type": "app.bsky.feed.defs#threadViewPost", "post": {}}}', "thread.post"),
    "facebook": ("fb.json", '{"data": [{"message": "x", "created_time": "2021-01-01T00:00:00+0000", '
                            '"permalink_url": "https://www.facebook.com/1/posts/2/"}]}', "data[0]"),
    "csv": ("c.csv", "id,parent,author,text\n1,,a,b\n", "c.csv:1: no column 'parent_id'"),
}


@pytest.mark.parametrize("fmt", sorted(MALFORMED))
def test_malformed_input_names_the_place_and_the_fix(tmp_path, fmt):
    name, text, where = MALFORMED[fmt]
    assert where in broken(tmp_path, name, text)


def test_csv_column_names_get_a_did_you_mean(tmp_path):
    assert "did you mean 'parent'?" in broken(tmp_path, "c.csv", "id,parent,author,text\n1,,a,b\n")


def test_a_forced_format_the_file_does_not_fit_is_an_error(tmp_path):
    message = broken(tmp_path, "c.json", (DATA / "mastodon_context.json").read_text(), fmt="reddit")
    assert "this is not reddit" in message


def test_xml_with_a_dtd_is_refused(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            '<disqus xmlns="http://disqus.com">&b;</disqus>')
    assert "DTD" in broken(tmp_path, "bomb.xml", bomb)


def test_every_format_has_a_malformed_case():
    assert set(MALFORMED) == set(formats.BY_NAME)


# --- the runner and the command line ------------------------------------------------------------

def test_a_file_of_many_threads_gives_one_dump_per_thread(tmp_path):
    from pipeline import runner
    from pipeline.config import load_config

    forced = load_config(None, ["ingest.format=disqus"])
    assert [key for _, _, key in ingest.split_threads([DATA / "disqus_export.xml"], ["d"],
                                                      forced["ingest"]["format"])] == ["10", "20"]
    config = load_config(None, [])
    files = [DATA / "disqus_export.xml", DATA / "comments.csv"]
    units = ingest.split_threads(files, runner.artifact_names(files), config["ingest"]["format"])
    assert [(name, key) for _, name, key in units] == [
        ("disqus_export_10", "10"), ("disqus_export_20", "20"), ("comments", None)]


def test_formats_command_lists_every_format(capsys):
    from pipeline.cli import main

    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}\n  reads:" in out for name in formats.NAMES)


def test_an_unknown_format_name_gets_a_did_you_mean(capsys):
    from pipeline.cli import main

    assert main(["run", str(DATA / "comments.csv"), "--format", "redit", "--out", "/nonexistent/x"]) == 2
    assert "did you mean 'reddit'?" in capsys.readouterr().err


def test_broken_xml_names_its_line(tmp_path):
    message = broken(tmp_path, "cut.xml", '<?xml version="1.0"?>\n<disqus xmlns="http://disqus.com">\n<post>\n')
    assert message.startswith(f"{tmp_path / 'cut.xml'}:4: broken XML: no element found")

"""Reddit: a thread's JSON (the post's Listing and the comments' Listing, as
`<thread URL>.json` or PRAW's request gives it), the /api/morechildren
response, and pushshift / Arctic-Shift dumps (one JSON object per line).

Ids lose their type prefix (`t1_`, `t3_`); a parent that is the post
(`t3_...`) makes a top-level comment. `more` stubs are not comments: they
are counted, and the comments they stand for are reported missing.
"""
from __future__ import annotations

from typing import Any

from pipeline.ingest.formats._base import (Format, Parsed, Post, Sample, as_int, make_article,
                                           name_of, plain_text, schema_error, text_of)

THREAD_FIX = "save the thread as <thread URL>.json (or PRAW's response) unchanged"
DELETED = {"[deleted]": "deleted", "[removed]": "removed"}


def _unprefixed(name: Any) -> str | None:
    value = text_of(name)
    return value.split("_", 1)[1] if value[:3] in ("t1_", "t3_") else (value or None)


def _status(data: dict) -> tuple[str, ...]:
    body = text_of(data.get("body")).strip()
    if body in DELETED:
        return (DELETED[body],)
    if text_of(data.get("author")) == "[deleted]" and not body:
        return ("deleted",)
    return ()


def _post(data: dict, line: int = 0) -> Post:
    parent = text_of(data.get("parent_id"))
    return Post(id=text_of(data.get("id")) or _unprefixed(data.get("name")) or "",
                parent_id=_unprefixed(parent) if parent.startswith("t1_") else None,
                author=name_of(data.get("author")), text=plain_text(data.get("body")), line=line,
                created_raw=None if data.get("created_utc") is None else text_of(data["created_utc"]),
                score=as_int(data.get("score")), status=_status(data))


def _article(data: dict, source: str):
    body = plain_text(data.get("selftext"))
    url = text_of(data.get("url"))
    if url and not data.get("is_self", not url) and url not in body:
        body = f"{body}\n\n{url}" if body else url
    return make_article(text_of(data.get("id")) or _unprefixed(data.get("name")) or "reddit",
                        data.get("title"), body, source)


def _is_listing(value: Any) -> bool:
    return isinstance(value, dict) and value.get("kind") == "Listing" and isinstance(value.get("data"), dict)


def _sniff_thread(sample: Sample) -> bool:
    doc = sample.document
    return isinstance(doc, list) and len(doc) == 2 and all(_is_listing(x) for x in doc)


def _walk(children: Any, path: str, sample: Sample, posts: list[Post], more: list[int]) -> None:
    if not isinstance(children, list):
        raise schema_error(sample, path, f"expected a list of things, got {type(children).__name__}",
                           THREAD_FIX)
    for index, thing in enumerate(children):
        where = f"{path}[{index}]"
        if not isinstance(thing, dict) or not isinstance(thing.get("data"), dict):
            raise schema_error(sample, where, "a thing without 'kind' and 'data'", THREAD_FIX)
        kind, data = thing.get("kind"), thing["data"]
        if kind == "more":
            more.append(max(as_int(data.get("count")) or 0, len(data.get("children") or ())))
            continue
        if kind != "t1":
            raise schema_error(sample, f"{where}.kind", f"{kind!r} where a comment (t1) or 'more' belongs",
                               THREAD_FIX)
        if not data.get("id") and not data.get("name"):
            raise schema_error(sample, f"{where}.data", "a comment without an id", THREAD_FIX)
        posts.append(_post(data))
        replies = data.get("replies")
        if _is_listing(replies):
            _walk(replies["data"].get("children", []), f"{where}.data.replies.data.children",
                  sample, posts, more)


def _missing_note(source: str, more: list[int]) -> list[str]:
    if not more:
        return []
    return [f"{source}: {len(more)} 'more' stubs: {sum(more)} comments are not in the file "
            "(fetch them with /api/morechildren or PRAW's replace_more)"]


def _read_thread(sample: Sample) -> list[Parsed]:
    post_listing, comment_listing = sample.document
    things = post_listing["data"].get("children") or []
    if not things or not isinstance(things[0], dict) or things[0].get("kind") != "t3":
        raise schema_error(sample, "[0].data.children[0]", "no post (t3) in the first Listing", THREAD_FIX)
    article = _article(things[0].get("data") or {}, sample.source)
    posts: list[Post] = []
    more: list[int] = []
    _walk(comment_listing["data"].get("children", []), "[1].data.children", sample, posts, more)
    return [Parsed(article.id, article, posts, _missing_note(sample.source, more), sum(more))]


def _sniff_morechildren(sample: Sample) -> bool:
    doc = sample.document
    return (isinstance(doc, dict) and isinstance(doc.get("json"), dict)
            and isinstance(doc["json"].get("data"), dict) and "things" in doc["json"]["data"])


def _read_morechildren(sample: Sample) -> list[Parsed]:
    posts: list[Post] = []
    more: list[int] = []
    _walk(sample.document["json"]["data"]["things"], "json.data.things", sample, posts, more)
    links = {text_of(t["data"].get("link_id")) for t in sample.document["json"]["data"]["things"]
             if t.get("kind") == "t1"}
    key = _unprefixed(sorted(links)[0]) if len(links) == 1 else "morechildren"
    article = make_article(key or "morechildren", f"More comments of Reddit thread {key}", "", sample.source)
    return [Parsed(article.id, article, posts, _missing_note(sample.source, more), sum(more))]


def _sniff_pushshift(sample: Sample) -> bool:
    first = sample.first_object
    if first is None or sample.document is not None and not isinstance(sample.document, dict):
        return False
    return "subreddit" in first and ("link_id" in first or "title" in first) and "kind" not in first


def _read_pushshift(sample: Sample) -> list[Parsed]:
    submissions: dict[str, dict] = {}
    threads: dict[str, list[Post]] = {}
    for line, obj in _lines_with_extra(sample):
        if "link_id" in obj and "body" in obj:
            if obj.get("id") is None:
                raise schema_error(sample, "", "a comment without an 'id'",
                                   "each comment line needs id, link_id and body", line=line)
            threads.setdefault(_unprefixed(obj["link_id"]) or "", []).append(_post(obj, line))
        elif "title" in obj and obj.get("id") is not None:
            submissions.setdefault(text_of(obj["id"]), obj)
        elif line > 0:
            raise schema_error(sample, "", "neither a comment (link_id, body) nor a submission (id, title)",
                               "give a pushshift or Arctic-Shift comments or submissions dump", line=line)
    keys = list(threads) or [k for k in submissions]
    parsed = []
    for key in keys:
        warnings = []
        if key in submissions:
            article = _article(submissions[key], sample.source)
        else:
            article = make_article(key, f"Reddit thread {key}", "", sample.source)
            warnings.append(f"{sample.source}: the submission t3_{key} is not given; the article is "
                            "its id only (give the submissions dump with --submissions FILE)")
        parsed.append(Parsed(key, article, threads.get(key, []), warnings))
    return parsed


def _lines_with_extra(sample: Sample):
    """The file's lines, then those of the submissions file given beside it
    (numbered from -1 down, so they are never taken for the file's lines)."""
    yield from sample.json_lines()
    extra = sample.options.get("submissions")
    if extra is not None:
        for number, obj in Sample(extra.read_text(encoding="utf-8"), str(extra)).json_lines():
            if "title" in obj:
                yield -number, obj


FORMATS = (
    Format("reddit", "a Reddit thread's JSON: the post and the comment tree; `more` stubs counted as missing",
           "append .json to the thread's URL and save the page, or PRAW: "
           "`reddit.request('GET', '/comments/ID', params={'limit': 500, 'raw_json': 1})`",
           _sniff_thread, _read_thread),
    Format("reddit-morechildren", "Reddit's /api/morechildren response: a flat list of comments with parent ids",
           "POST /api/morechildren with link_id and children (PRAW does it in replace_more)",
           _sniff_morechildren, _read_morechildren),
    Format("pushshift", "pushshift / Arctic-Shift NDJSON: comments of many threads, one dump per link_id; "
           "submissions lines (in the file or --submissions FILE) give the articles",
           "the monthly RC_/RS_ dumps (zstd -d) or Arctic-Shift's download tool, filtered to your threads",
           _sniff_pushshift, _read_pushshift),
)

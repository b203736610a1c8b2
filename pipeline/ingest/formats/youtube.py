"""YouTube: youtube-comment-downloader's output (JSON lines, or `--pretty`
JSON `{"comments": [...]}`) and the YouTube Data API v3 responses
(commentThreads.list, one commentThread, comments.list).

youtube-comment-downloader's fields changed over the years (`reply`,
`time_parsed`, `replies` came and went, `votes` turned from a number into a
string like "1.2K"); only `cid` and `text` are needed. A reply's `cid` is
`PARENT.REPLY`: its parent is the part before the dot. Its `time` is
relative ("2 days ago", in the viewer's language) and kept as written;
`time_parsed`, where given, is the UTC time.
"""
from __future__ import annotations

from pipeline.ingest.common import article_id_for
from pipeline.ingest.formats._base import (Format, Parsed, Post, Sample, as_int, html_text,
                                           make_article, name_of, plain_text, schema_error, text_of, utc)

YCD_FIX = "give youtube-comment-downloader's output unchanged (one JSON object per line, or --pretty)"
API_FIX = "give the Data API's response body unchanged (commentThreads.list or comments.list)"


def _is_ycd(obj) -> bool:
    return isinstance(obj, dict) and "cid" in obj and "text" in obj


def _sniff_ycd(sample: Sample) -> bool:
    doc = sample.document
    if isinstance(doc, dict) and isinstance(doc.get("comments"), list):
        return not doc["comments"] or _is_ycd(doc["comments"][0])
    return (doc is None or isinstance(doc, dict)) and _is_ycd(sample.first_object)


def _ycd_post(obj: dict, line: int, where: str, sample: Sample) -> Post:
    cid = obj.get("cid")
    if not isinstance(cid, str) or not cid:
        raise schema_error(sample, where, "a comment without a 'cid'", YCD_FIX, line=line or None)
    if not isinstance(obj.get("text", ""), str):
        raise schema_error(sample, f"{where}.text" if where else "",
                           f"'text' must be a string, got {type(obj['text']).__name__}", YCD_FIX,
                           line=line or None)
    parent = cid.split(".", 1)[0] if "." in cid else None
    raw_time = obj.get("time")
    return Post(id=cid, parent_id=parent, author=name_of(obj.get("author")), text=plain_text(obj.get("text")),
                line=line, created_raw=None if raw_time is None else text_of(raw_time),
                created_at=utc(obj.get("time_parsed")), score=as_int(obj.get("votes")),
                status=("hearted",) if obj.get("heart") is True else ())


def _read_ycd(sample: Sample) -> list[Parsed]:
    doc = sample.document
    if isinstance(doc, dict) and "comments" in doc:
        posts = [_ycd_post(obj if isinstance(obj, dict) else {}, 0, f"comments[{index}]", sample)
                 for index, obj in enumerate(doc["comments"])]
    else:
        posts = [_ycd_post(obj, line, "", sample) for line, obj in sample.json_lines()]
    key = article_id_for(sample.source)
    article = make_article(key, f"YouTube comments ({key})", "", sample.source)
    note = (f"{sample.source}: youtube-comment-downloader keeps no video title; the article is the "
            "file's name (fetch the title with the Data API's videos.list if stance needs it)")
    return [Parsed(key, article, posts, [note])]


API_KINDS = ("youtube#commentThreadListResponse", "youtube#commentThread", "youtube#commentListResponse",
             "youtube#comment")


def _sniff_api(sample: Sample) -> bool:
    doc = sample.document
    return isinstance(doc, dict) and doc.get("kind") in API_KINDS


def _api_post(comment: dict, where: str, sample: Sample, parent: str | None = None) -> tuple[str, Post]:
    if not isinstance(comment, dict) or not comment.get("id") or not isinstance(comment.get("snippet"), dict):
        raise schema_error(sample, where, "a comment without 'id' and 'snippet'", API_FIX)
    snippet = comment["snippet"]
    text = snippet.get("textOriginal")
    text = plain_text(text) if text is not None else html_text(snippet.get("textDisplay"))
    raw_time = snippet.get("publishedAt")
    return text_of(snippet.get("videoId")), Post(
        id=text_of(comment["id"]), parent_id=text_of(snippet.get("parentId")) or parent,
        author=name_of(snippet.get("authorDisplayName")), text=text,
        created_raw=None if raw_time is None else text_of(raw_time), score=as_int(snippet.get("likeCount")))


def _read_api(sample: Sample) -> list[Parsed]:
    doc = sample.document
    kind = doc["kind"]
    listed = kind.endswith("ListResponse")
    items = doc.get("items") if listed else [doc]
    if not isinstance(items, list):
        raise schema_error(sample, "items", "expected a list", API_FIX)
    by_video: dict[str, list[Post]] = {}
    for index, item in enumerate(items):
        where = f"items[{index}]" if listed else ""
        if "commentThread" in kind:
            snippet = item.get("snippet") if isinstance(item, dict) else None
            if not isinstance(snippet, dict):
                raise schema_error(sample, where, "a commentThread without 'snippet'", API_FIX)
            video, top = _api_post(snippet.get("topLevelComment"), f"{where}.snippet.topLevelComment".lstrip("."),
                                   sample)
            video = video or text_of(snippet.get("videoId"))
            posts = by_video.setdefault(video, [])
            posts.append(top)
            replies = (item.get("replies") or {}).get("comments") or []
            for number, reply in enumerate(replies):
                posts.append(_api_post(reply, f"{where}.replies.comments[{number}]".lstrip("."), sample,
                                       parent=top.id)[1])
        else:
            video, post = _api_post(item, where, sample)
            by_video.setdefault(video or (post.parent_id or post.id).split(".")[0], []).append(post)
    parsed = []
    for video, posts in by_video.items():
        key = video or article_id_for(sample.source)
        article = make_article(key, f"YouTube video {key}", f"https://www.youtube.com/watch?v={video}"
                               if video else "", sample.source)
        warnings = [f"{sample.source}: the Data API's comment responses hold no video title; "
                    "the article is the video's id and link"]
        parsed.append(Parsed(key, article, posts, warnings))
    return parsed


FORMATS = (
    Format("youtube-comment-downloader", "youtube-comment-downloader JSON lines or --pretty JSON, "
           "every schema year; a reply's parent from its cid",
           "pip install youtube-comment-downloader; "
           "youtube-comment-downloader --youtubeid ID --output ID.json [--pretty]",
           _sniff_ycd, _read_ycd),
    Format("youtube-api", "YouTube Data API v3: commentThreads.list (with part=snippet,replies), "
           "one commentThread, comments.list?parentId=...",
           "GET https://www.googleapis.com/youtube/v3/commentThreads?part=snippet,replies"
           "&videoId=ID&maxResults=100&textFormat=plainText&key=KEY (follow nextPageToken)",
           _sniff_api, _read_api),
)

"""Mastodon's status context, Bluesky's getPostThread and Facebook Graph
comments: the root post is the article, the replies are the comments.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from pipeline.ingest.formats._base import (Format, Parsed, Post, Sample, as_int, html_text,
                                           make_article, name_of, plain_text, schema_error, text_of)

MASTODON_FIX = "give the body of GET /api/v1/statuses/ID/context unchanged"
BLUESKY_FIX = "give the body of app.bsky.feed.getPostThread unchanged"
FACEBOOK_FIX = "give the Graph API's /POST_ID/comments response (or one comment node) unchanged"


# --- Mastodon -----------------------------------------------------------------------------------

def _sniff_mastodon(sample: Sample) -> bool:
    doc = sample.document
    return isinstance(doc, dict) and isinstance(doc.get("ancestors"), list) \
        and isinstance(doc.get("descendants"), list)


def _status_post(status: Any, where: str, sample: Sample) -> Post:
    if not isinstance(status, dict) or status.get("id") is None:
        raise schema_error(sample, where, "a status without an 'id'", MASTODON_FIX)
    account = status.get("account") if isinstance(status.get("account"), dict) else {}
    text = html_text(status.get("content"))
    if status.get("spoiler_text"):
        text = f"{plain_text(status['spoiler_text'])}\n\n{text}".strip()
    parent = status.get("in_reply_to_id")
    return Post(id=text_of(status["id"]), parent_id=None if parent is None else text_of(parent),
                author=name_of(account.get("acct") or account.get("username")), text=text,
                created_raw=text_of(status.get("created_at")) or None,
                score=as_int(status.get("favourites_count")))


def _read_mastodon(sample: Sample) -> list[Parsed]:
    doc = sample.document
    ancestors = [_status_post(s, f"ancestors[{i}]", sample) for i, s in enumerate(doc["ancestors"])]
    descendants = [_status_post(s, f"descendants[{i}]", sample) for i, s in enumerate(doc["descendants"])]
    if ancestors:
        root, posts = ancestors[0], ancestors[1:] + descendants
        warnings = []
    else:  # the context of a root status holds no ancestors: the root is the status asked about
        parents = {p.parent_id for p in descendants} - {p.id for p in descendants}
        key = sorted(parents)[0] if len(parents) == 1 else "mastodon"
        root, posts = Post(key, None, "(not in the file)", ""), descendants
        warnings = [f"{sample.source}: the status asked about is not in a context response; "
                    "the article is empty (save GET /api/v1/statuses/ID too)"]
    for post in posts:
        if post.parent_id == root.id:
            post.parent_id = None
    article = make_article(root.id, root.text.split("\n")[0][:200], root.text, sample.source)
    return [Parsed(root.id, article, posts, warnings)]


# --- Bluesky ------------------------------------------------------------------------------------

def _sniff_bluesky(sample: Sample) -> bool:
    doc = sample.document
    return isinstance(doc, dict) and isinstance(doc.get("thread"), dict) \
        and text_of(doc["thread"].get("$type")).startswith("app.bsky.feed.defs#")


def _bluesky_posts(view: dict, where: str, parent: str | None, sample: Sample, posts: list[Post]) -> None:
    kind = text_of(view.get("$type"))
    if kind.endswith("#notFoundPost") or kind.endswith("#blockedPost"):
        status = "not_found" if kind.endswith("#notFoundPost") else "blocked"
        posts.append(Post(id=text_of(view.get("uri")) or f"{where}", parent_id=parent, author="(unknown)",
                          text="", status=(status,)))
        return
    post = view.get("post")
    if not isinstance(post, dict) or not post.get("uri"):
        raise schema_error(sample, f"{where}.post", "a threadViewPost without 'post.uri'", BLUESKY_FIX)
    record = post.get("record") if isinstance(post.get("record"), dict) else {}
    author = post.get("author") if isinstance(post.get("author"), dict) else {}
    posts.append(Post(id=post["uri"], parent_id=parent, author=name_of(author.get("handle")),
                      text=plain_text(record.get("text")), created_raw=text_of(record.get("createdAt")) or None,
                      score=as_int(post.get("likeCount"))))
    replies = view.get("replies") or []
    if not isinstance(replies, list):
        raise schema_error(sample, f"{where}.replies", "expected a list", BLUESKY_FIX)
    for index, reply in enumerate(replies):
        if not isinstance(reply, dict):
            raise schema_error(sample, f"{where}.replies[{index}]", "expected an object", BLUESKY_FIX)
        _bluesky_posts(reply, f"{where}.replies[{index}]", post["uri"], sample, posts)


def _read_bluesky(sample: Sample) -> list[Parsed]:
    posts: list[Post] = []
    _bluesky_posts(sample.document["thread"], "thread", None, sample, posts)
    root, comments = posts[0], posts[1:]
    for post in comments:
        if post.parent_id == root.id:
            post.parent_id = None
    key = root.id.rsplit("/", 1)[-1]
    article = make_article(key, root.text.split("\n")[0][:200], root.text, sample.source)
    return [Parsed(key, article, comments)]


# --- Facebook -----------------------------------------------------------------------------------

def _is_comment_node(value: Any) -> bool:
    return isinstance(value, dict) and "message" in value and "created_time" in value \
        and ("id" in value or "permalink_url" in value)


def _sniff_facebook(sample: Sample) -> bool:
    doc = sample.document
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        return not doc["data"] or _is_comment_node(doc["data"][0])
    return _is_comment_node(doc)


def _facebook_ids(node: dict) -> tuple[str | None, str | None, str | None]:
    """(comment id, parent comment id, post id) from the node's id, parent
    and permalink_url (whose comment_id / reply_comment_id name them when
    the Graph API withholds `id`)."""
    link = urlparse(text_of(node.get("permalink_url")))
    query = parse_qs(link.query)
    post = re.search(r"/posts/(\d+)", link.path)
    comment = query.get("comment_id", [None])[0]
    reply = query.get("reply_comment_id", [None])[0]
    node_id = text_of(node.get("id")) or None
    parent = node.get("parent")
    parent_id = text_of(parent.get("id")) if isinstance(parent, dict) else None
    if node_id and "_" in node_id:
        post_id, node_id = node_id.split("_", 1)
    else:
        post_id = post.group(1) if post else None
    if reply:
        return node_id or reply, parent_id or comment, post_id
    return node_id or comment, parent_id.split("_")[-1] if parent_id else None, post_id


def _read_facebook(sample: Sample) -> list[Parsed]:
    doc = sample.document
    nodes = doc["data"] if "data" in doc else [doc]
    threads: dict[str, list[Post]] = {}
    for index, node in enumerate(nodes):
        where = f"data[{index}]" if "data" in doc else "$"
        if not _is_comment_node(node):
            raise schema_error(sample, where, "a comment without message and created_time", FACEBOOK_FIX)
        comment_id, parent_id, post_id = _facebook_ids(node)
        if not comment_id:
            raise schema_error(sample, where, "no 'id' and no comment_id in permalink_url",
                               "ask the Graph API for fields=id,message,created_time,parent,permalink_url")
        sender = node.get("from") if isinstance(node.get("from"), dict) else {}
        threads.setdefault(post_id or "facebook", []).append(Post(
            id=comment_id, parent_id=parent_id.split("_")[-1] if parent_id else None,
            author=name_of(sender.get("name")), text=plain_text(node.get("message")),
            created_raw=text_of(node.get("created_time")) or None, score=as_int(node.get("like_count")),
            status=("hidden",) if node.get("is_hidden") is True else ()))
    parsed = []
    for key, posts in threads.items():
        article = make_article(key, f"Facebook post {key}", "", sample.source)
        parsed.append(Parsed(key, article, posts, [f"{sample.source}: a comments response holds no post text; "
                                                   "the article is the post's id"]))
    return parsed


FORMATS = (
    Format("mastodon", "Mastodon status context: the first ancestor is the article, the rest are comments",
           "curl https://INSTANCE/api/v1/statuses/ID/context (ID: the thread's first status)",
           _sniff_mastodon, _read_mastodon),
    Format("bluesky", "Bluesky getPostThread: the root post is the article; not-found and blocked "
           "posts kept empty, flagged",
           "curl 'https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?uri=AT_URI&depth=1000'",
           _sniff_bluesky, _read_bluesky),
    Format("facebook", "Facebook Graph API comments (data[] with paging, or one comment node)",
           "GET /POST_ID/comments?filter=stream&fields=id,from,message,created_time,parent,"
           "like_count,permalink_url (follow paging.next)",
           _sniff_facebook, _read_facebook),
)

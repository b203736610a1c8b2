"""Hacker News: Algolia's items API (an item with nested `children`) and
search API (`{"hits": [...]}`), and the official Firebase API's items (one
item, or a list of them, with `kids` and `parent`).

The story is the article; a comment whose parent is the story is top
level. Comments are HTML (`<p>`, `&#x27;`), read as text. Deleted and dead
items stay, flagged.
"""
from __future__ import annotations

from typing import Any

from pipeline.ingest.formats._base import (Format, Parsed, Post, Sample, as_int, html_text,
                                           make_article, name_of, schema_error, text_of)

ALGOLIA_FIX = "give the body of https://hn.algolia.com/api/v1/items/ID (or search) unchanged"
FIREBASE_FIX = "give the items of https://hacker-news.firebaseio.com/v0/item/ID.json, one or a list"
STORY_TYPES = ("story", "job", "poll")


def _story_body(item: dict) -> str:
    return "\n\n".join(x for x in (html_text(item.get("text") or item.get("story_text")),
                                   text_of(item.get("url"))) if x)


def _is_algolia_item(doc: Any) -> bool:
    return isinstance(doc, dict) and "children" in doc and "created_at_i" in doc and "type" in doc


def _sniff_algolia(sample: Sample) -> bool:
    doc = sample.document
    if isinstance(doc, dict) and isinstance(doc.get("hits"), list):
        return not doc["hits"] or isinstance(doc["hits"][0], dict) and "objectID" in doc["hits"][0] \
            and "_tags" in doc["hits"][0]
    return _is_algolia_item(doc)


def _algolia_status(item: dict) -> tuple[str, ...]:
    return ("deleted",) if item.get("author") is None and not item.get("text") else ()


def _read_algolia(sample: Sample) -> list[Parsed]:
    doc = sample.document
    if "hits" in doc:
        return _read_hits(sample, doc["hits"])
    posts: list[Post] = []
    if doc.get("type") in STORY_TYPES:
        key = text_of(doc.get("id"))
        article = make_article(key, doc.get("title"), _story_body(doc), sample.source)
        stack = [(child, f"children[{i}]") for i, child in reversed(list(enumerate(doc["children"] or [])))]
    else:
        key = text_of(doc.get("story_id") or doc.get("id"))
        article = make_article(key, doc.get("story_title") or f"Hacker News story {key}", "", sample.source)
        stack = [(doc, "")]
    story = key
    while stack:
        item, where = stack.pop()
        if not isinstance(item, dict) or item.get("id") is None:
            raise schema_error(sample, where or "$", "an item without an 'id'", ALGOLIA_FIX)
        parent = text_of(item.get("parent_id")) or None
        posts.append(Post(id=text_of(item["id"]), parent_id=None if parent == story else parent,
                          author=name_of(item.get("author")), text=html_text(item.get("text")),
                          created_raw=text_of(item.get("created_at")) or None, score=as_int(item.get("points")),
                          status=_algolia_status(item)))
        children = item.get("children") or []
        if not isinstance(children, list):
            raise schema_error(sample, f"{where}.children".lstrip("."), "expected a list", ALGOLIA_FIX)
        stack.extend((child, f"{where}.children[{i}]".lstrip("."))
                     for i, child in reversed(list(enumerate(children))))
    return [Parsed(key, article, posts)]


def _read_hits(sample: Sample, hits: list) -> list[Parsed]:
    threads: dict[str, list[Post]] = {}
    articles: dict[str, dict] = {}
    for index, hit in enumerate(hits):
        if not isinstance(hit, dict) or hit.get("objectID") is None:
            raise schema_error(sample, f"hits[{index}]", "a hit without 'objectID'", ALGOLIA_FIX)
        if "comment" not in (hit.get("_tags") or []):
            continue
        story = text_of(hit.get("story_id"))
        articles.setdefault(story, hit)
        parent = text_of(hit.get("parent_id")) or None
        threads.setdefault(story, []).append(Post(
            id=text_of(hit["objectID"]), parent_id=None if parent == story else parent,
            author=name_of(hit.get("author")), text=html_text(hit.get("comment_text")),
            created_raw=text_of(hit.get("created_at")) or None, score=as_int(hit.get("points"))))
    return [Parsed(story, make_article(story, articles[story].get("story_title") or f"Hacker News story {story}",
                                       text_of(articles[story].get("story_url")), sample.source), posts)
            for story, posts in threads.items()]


def _firebase_items(doc: Any) -> list | None:
    items = doc if isinstance(doc, list) else [doc]
    if items and all(isinstance(i, dict) and "id" in i and "type" in i and ("by" in i or "deleted" in i)
                     and "time" in i for i in items):
        return items
    return None


def _sniff_firebase(sample: Sample) -> bool:
    return _firebase_items(sample.document) is not None


def _read_firebase(sample: Sample) -> list[Parsed]:
    items = _firebase_items(sample.document)
    by_id = {text_of(item["id"]): item for item in items}
    roots: dict[str, dict] = {}  # the story each item hangs under, or its topmost missing parent
    parsed: dict[str, Parsed] = {}
    for index, item in enumerate(items):
        item_id = text_of(item["id"])
        if item.get("type") in STORY_TYPES:
            parsed[item_id] = Parsed(item_id, make_article(item_id, item.get("title"), _story_body(item),
                                                           sample.source), [])
    for index, item in enumerate(items):
        item_id = text_of(item["id"])
        kind = item.get("type")
        if kind in STORY_TYPES:
            continue
        if kind == "pollopt":  # a poll's option: part of the poll, not a comment
            poll = text_of(item.get("poll"))
            if poll in parsed:
                article = parsed[poll].article
                option = f"Option: {html_text(item.get('text'))} ({as_int(item.get('score'))} votes)"
                parsed[poll].article = make_article(article.id, article.title, "\n\n".join(
                    (*article.paragraphs, option)), sample.source)
            continue
        node, seen = item, set()
        while text_of(node.get("parent")) in by_id and text_of(node.get("parent")) not in seen:
            seen.add(text_of(node.get("parent")))
            node = by_id[text_of(node["parent"])]
        root = text_of(node["id"]) if node.get("type") in STORY_TYPES else text_of(node.get("parent"))
        if not root:
            raise schema_error(sample, f"[{index}]" if isinstance(sample.document, list) else "$",
                               f"a {kind} without 'parent'", FIREBASE_FIX)
        if root not in parsed:
            parsed[root] = Parsed(root, make_article(root, f"Hacker News story {root}",
                                                     f"https://news.ycombinator.com/item?id={root}",
                                                     sample.source), [],
                                  [f"{sample.source}: story {root} is not in the file; its article is its link"])
        parent = text_of(item.get("parent"))
        status = tuple(flag for flag in ("deleted", "dead") if item.get(flag) is True)
        parsed[root].posts.append(Post(id=item_id, parent_id=None if parent == root else parent,
                                       author=name_of(item.get("by")), text=html_text(item.get("text")),
                                       created_raw=text_of(item.get("time")) or None,
                                       score=as_int(item.get("score")), status=status))
    for thread in parsed.values():
        story = by_id.get(thread.key)
        if story is None:
            continue
        expected = as_int(story.get("descendants")) or len(story.get("kids") or ())
        if expected > len(thread.posts):
            thread.missing = expected - len(thread.posts)
            thread.warnings.append(f"{sample.source}: story {thread.key} has {expected} comments, "
                                   f"{len(thread.posts)} are in the file (fetch each of 'kids' as an item too)")
    return list(parsed.values())


FORMATS = (
    Format("hackernews-algolia", "Hacker News via Algolia: an item with nested children, or search hits",
           "curl https://hn.algolia.com/api/v1/items/STORY_ID > story.json",
           _sniff_algolia, _read_algolia),
    Format("hackernews-firebase", "Hacker News' official API: one item or a JSON list of items "
           "(story, comments, polls); the story's missing kids counted",
           "for each id: curl https://hacker-news.firebaseio.com/v0/item/ID.json; save them as one JSON list",
           _sniff_firebase, _read_firebase),
)

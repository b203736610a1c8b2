"""Disqus: the XML export of a forum (threads and posts of many pages) and
the API 3.0 posts JSON (posts/list, threads/listPosts, with related=thread).

Each thread with posts is one dump; the thread's title and link are the
article. Disqus writes times in UTC, with or without the `Z`.
"""
from __future__ import annotations

from pipeline.ingest.formats._base import (Format, Parsed, Post, Sample, as_int, html_text,
                                           make_article, name_of, schema_error, text_of, utc)

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"
XML_FIX = "export the forum again from Disqus (Moderation > Export) and give the .xml unchanged"
API_FIX = "give the API's response body unchanged: {\"code\": 0, \"response\": [posts]}"


def _utc(value: str | None) -> str | None:
    if not value:
        return None
    return utc(value) or utc(value.strip() + "+00:00")  # Disqus's times are UTC


def _child(element, name: str) -> str:
    found = element.find(NS + name)
    return (found.text or "").strip() if found is not None else ""


def _sniff_xml(sample: Sample) -> bool:
    head = sample.text[:4096]
    return "http://disqus.com" in head and sample.xml_root is not None and sample.xml_root.tag == NS + "disqus"


def _read_xml(sample: Sample) -> list[Parsed]:
    root = sample.xml_root
    titles: dict[str, tuple[str, str]] = {}
    for thread in root.findall(NS + "thread"):
        key = thread.get(DSQ_ID)
        if key is None:
            raise schema_error(sample, f"<thread> #{len(titles) + 1}", "a thread without dsq:id", XML_FIX)
        titles[key] = (_child(thread, "title"), _child(thread, "link"))
    threads: dict[str, list[Post]] = {}
    for index, element in enumerate(root.findall(NS + "post"), 1):
        key = element.get(DSQ_ID)
        thread = element.find(NS + "thread")
        if key is None or thread is None or thread.get(DSQ_ID) is None:
            raise schema_error(sample, f"<post> #{index}", "a post without dsq:id or <thread dsq:id>", XML_FIX)
        parent = element.find(NS + "parent")
        author = element.find(NS + "author")
        status = tuple(flag for flag, tag in (("deleted", "isDeleted"), ("spam", "isSpam"))
                       if _child(element, tag).lower() == "true")
        raw_time = _child(element, "createdAt") or None
        threads.setdefault(thread.get(DSQ_ID), []).append(Post(
            id=key, parent_id=parent.get(DSQ_ID) if parent is not None else None,
            author=name_of(_child(author, "name") or _child(author, "username")) if author is not None
            else "(no name)",
            text=html_text(_child(element, "message")), created_raw=raw_time, created_at=_utc(raw_time),
            status=status))
    parsed = []
    for key, posts in threads.items():
        warnings = []
        if key not in titles:
            warnings.append(f"{sample.source}: thread {key} has posts but no <thread> element; "
                            "its article is empty")
        title, link = titles.get(key, ("", ""))
        article = make_article(key, title or f"Disqus thread {key}", link, sample.source)
        parsed.append(Parsed(key, article, posts, warnings))
    return parsed


def _sniff_api(sample: Sample) -> bool:
    doc = sample.document
    if isinstance(doc, dict) and "response" in doc and "code" in doc:
        doc = doc["response"]
    return (isinstance(doc, list) and bool(doc) and isinstance(doc[0], dict)
            and {"message", "thread", "forum"} <= doc[0].keys())


def _read_api(sample: Sample) -> list[Parsed]:
    doc = sample.document
    prefix = "response" if isinstance(doc, dict) else ""
    posts_in = doc["response"] if isinstance(doc, dict) else doc
    threads: dict[str, list[Post]] = {}
    articles: dict[str, dict] = {}
    for index, post in enumerate(posts_in):
        where = f"{prefix}[{index}]"
        if not isinstance(post, dict) or post.get("id") is None or post.get("thread") is None:
            raise schema_error(sample, where, "a post without 'id' or 'thread'", API_FIX)
        thread = post["thread"]
        if isinstance(thread, dict):  # related=thread
            key = text_of(thread.get("id"))
            articles.setdefault(key, thread)
        else:
            key = text_of(thread)
        author = post.get("author")
        status = tuple(flag for flag, field in (("deleted", "isDeleted"), ("spam", "isSpam"))
                       if post.get(field) is True)
        if post.get("isApproved") is False:
            status += ("unapproved",)
        raw_time = post.get("createdAt")
        likes, dislikes = as_int(post.get("likes")), as_int(post.get("dislikes"))
        threads.setdefault(key, []).append(Post(
            id=text_of(post["id"]), parent_id=None if post.get("parent") is None else text_of(post["parent"]),
            author=name_of(author.get("name") or author.get("username")) if isinstance(author, dict)
            else name_of(author),
            text=html_text(post.get("raw_message") or post.get("message")),
            created_raw=None if raw_time is None else text_of(raw_time), created_at=_utc(raw_time),
            score=None if likes is None else likes - (dislikes or 0), status=status))
    parsed = []
    for key, posts in threads.items():
        thread = articles.get(key, {})
        body = "\n\n".join(x for x in (html_text(thread.get("message")), text_of(thread.get("link"))) if x)
        article = make_article(key, thread.get("title") or f"Disqus thread {key}", body, sample.source)
        warnings = [] if thread else [f"{sample.source}: thread {key} came without its details "
                                      "(ask the API with related=thread for the title and link)"]
        parsed.append(Parsed(key, article, posts, warnings))
    return parsed


FORMATS = (
    Format("disqus", "Disqus XML export: every thread of a forum with its posts; one dump per thread "
           "with posts; deleted and spam posts kept, flagged",
           "Disqus admin > Moderation > Export (emailed as a .xml.gz; gunzip it)",
           _sniff_xml, _read_xml),
    Format("disqus-api", "Disqus API 3.0 posts JSON (posts/list, threads/listPosts); threads from related=thread",
           "curl 'https://disqus.com/api/3.0/threads/listPosts.json?api_key=KEY&forum=F&thread=ID"
           "&related=thread&limit=100' (follow cursor.next for more)",
           _sniff_api, _read_api),
)

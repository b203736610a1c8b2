"""WordPress: the WXR export (Tools > Export), every namespace version
(export/1.0 to 1.2, http or https). Each post with comments is one dump:
the post's title and content are the article. Pingbacks and trackbacks are
kept apart from comments by a flag, as are comments not approved (0, spam,
trash). Times are `comment_date_gmt` (UTC), the local `comment_date` kept raw.
"""
from __future__ import annotations

import re

from pipeline.ingest.formats._base import (Format, Parsed, Post, Sample, html_text, make_article,
                                           name_of, schema_error, utc)

FIX = "export again from WordPress (Tools > Export) and give the .xml unchanged"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
WP_NAMESPACE = re.compile(r"^\{https?://wordpress\.org/export/1\.\d+/\}")


def _wp(root) -> str:
    """The file's wp: namespace, as written in its first wp: element."""
    for element in root.iter():
        match = WP_NAMESPACE.match(element.tag)
        if match:
            return match.group(0)
    return "{http://wordpress.org/export/1.2/}"


def _sniff(sample: Sample) -> bool:
    head = sample.text[:4096]
    return ("wordpress.org/export/" in head and sample.xml_root is not None
            and sample.xml_root.tag == "rss")


def _value(element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "").strip() if found is not None else ""


def _read(sample: Sample) -> list[Parsed]:
    root = sample.xml_root
    wp = _wp(root)
    channel = root.find("channel")
    if channel is None:
        raise schema_error(sample, "<rss>", "no <channel>", FIX)
    parsed = []
    for number, item in enumerate(channel.findall("item"), 1):
        comments = item.findall(wp + "comment")
        if not comments:
            continue
        key = _value(item, wp + "post_id")
        warnings = []
        if not key:  # hand-made exports: the ?p=N of the link, else the item's place
            link_id = re.search(r"[?&]p=(\d+)", _value(item, "link"))
            key = link_id.group(1) if link_id else f"item{number}"
            warnings.append(f"{sample.source}: <item> #{number} has no <wp:post_id>; called {key}")
        body = "\n\n".join(x for x in (html_text(_value(item, CONTENT)), _value(item, "link")) if x)
        article = make_article(key, _value(item, "title"), body, sample.source)
        posts = []
        for index, comment in enumerate(comments, 1):
            comment_id = _value(comment, wp + "comment_id")
            if not comment_id:
                raise schema_error(sample, f"<item> #{number} (post {key}) <wp:comment> #{index}",
                                   "a comment without <wp:comment_id>", FIX)
            parent = _value(comment, wp + "comment_parent")
            kind = _value(comment, wp + "comment_type")
            approved = _value(comment, wp + "comment_approved")
            status = (kind,) if kind in ("pingback", "trackback") else ()
            if approved != "1":
                status += ({"spam": "spam", "trash": "deleted"}.get(approved, "unapproved"),)
            gmt = _value(comment, wp + "comment_date_gmt")
            posts.append(Post(id=comment_id, parent_id=parent if parent not in ("", "0") else None,
                              author=name_of(_value(comment, wp + "comment_author")),
                              text=html_text(_value(comment, wp + "comment_content")),
                              created_raw=_value(comment, wp + "comment_date") or None,
                              created_at=utc(f"{gmt}+00:00") if gmt and not gmt.startswith("0000") else None,
                              status=status))
        parsed.append(Parsed(key, article, posts, warnings))
    return parsed


FORMATS = (
    Format("wordpress", "WordPress WXR export (export/1.0-1.2): one dump per post with comments; "
           "pingbacks, trackbacks, unapproved and spam comments kept, flagged",
           "WordPress admin > Tools > Export > All content (or `wp export` with WP-CLI)",
           _sniff, _read),
)

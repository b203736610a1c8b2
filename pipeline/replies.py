"""Which comment a reply actually answers.

The structural parent is what the dump says, but sites cap nesting: below the
cap, a back-and-forth between two people is laid out as a run of siblings
under the last comment that had room, and each of them answers the one
before. Reply-level stance that trusts the structural parent there pairs the
wrong texts, so this module names the comment answered, and why:

- `mention`: the comment @mentions, or opens with the name of, an author who
  wrote earlier in the same conversation; it answers their latest comment.
- `capped_run`: at the thread's deepest level, a sibling whose author differs
  from the previous sibling's and already spoke in this exchange (wrote the
  parent or an earlier sibling) answers the previous sibling.
- `parent`: otherwise, the structural parent. Top-level comments answer the
  article: reply_to is None, reason `article`.
"""
from __future__ import annotations

from collections.abc import Sequence

from pipeline.clean import AuthorNames, author_key
from pipeline.records import CleanComment, Comment


def infer_reply_targets(comments: Sequence[Comment],
                        cleaned: Sequence[CleanComment]) -> dict[str, tuple[str | None, str]]:
    """comment id -> (id of the comment it answers or None, reason).
    One pass in thread order, constant work per comment: a flat thread of
    100,000 comments costs what 100,000 short threads do."""
    author_of = {c.id: author_key(c.author) for c in comments}
    authors = AuthorNames(c.author for c in comments)
    deepest = max((c.depth for c in comments), default=0)
    root_of: dict[str, str] = {}
    latest_by_author: dict[str, dict[str, Comment]] = {}  # root id -> lower-cased author -> latest comment
    last_sibling: dict[str | None, Comment] = {}  # parent id -> its latest reply so far
    spoke_before_last: dict[str | None, set[str]] = {}  # parent id -> authors of its earlier replies but the latest

    targets: dict[str, tuple[str | None, str]] = {}
    for comment, clean in zip(comments, cleaned):
        author = author_key(comment.author)  # one author whatever invisible characters the name holds
        root = root_of[comment.id] = (comment.id if comment.parent_id is None
                                      else root_of.get(comment.parent_id, comment.id))
        earlier = latest_by_author.setdefault(root, {})
        addressed = list(clean.mentions)
        named = authors.named_at_start(comment.text.strip().lstrip("@"))
        if named:
            addressed.append(named)
        target: tuple[str | None, str] | None = None
        for name in addressed:
            match = earlier.get(author_key(name).lower())
            if match is not None and author_key(match.author) != author:
                target = (match.id, "mention")
                break
        if target is None and comment.parent_id is None:
            target = (None, "article")
        previous = last_sibling.get(comment.parent_id)
        spoke = spoke_before_last.setdefault(comment.parent_id, set())
        if target is None and comment.depth == deepest and deepest > 0:
            if previous is not None and author_key(previous.author) != author:
                if author == author_of.get(comment.parent_id) or author in spoke:
                    target = (previous.id, "capped_run")
        targets[comment.id] = target or (comment.parent_id, "parent")
        if previous is not None:
            spoke.add(author_key(previous.author))
        last_sibling[comment.parent_id] = comment
        earlier[author.lower()] = comment
    return targets

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

from pipeline.clean import AuthorNames
from pipeline.records import CleanComment, Comment


def infer_reply_targets(comments: Sequence[Comment],
                        cleaned: Sequence[CleanComment]) -> dict[str, tuple[str | None, str]]:
    """comment id -> (id of the comment it answers or None, reason)."""
    by_id = {c.id: c for c in comments}
    authors = AuthorNames(c.author for c in comments)
    deepest = max((c.depth for c in comments), default=0)
    root_of: dict[str, str] = {}
    siblings_before: dict[str, list[Comment]] = {}
    seen_children: dict[str | None, list[Comment]] = {}
    for comment in comments:
        root_of[comment.id] = (comment.id if comment.parent_id is None
                               else root_of.get(comment.parent_id, comment.id))
        siblings_before[comment.id] = list(seen_children.get(comment.parent_id, []))
        seen_children.setdefault(comment.parent_id, []).append(comment)

    targets: dict[str, tuple[str | None, str]] = {}
    conversation: dict[str, list[Comment]] = {}  # root id -> comments so far, in order
    for comment, clean in zip(comments, cleaned):
        earlier = conversation.setdefault(root_of[comment.id], [])
        addressed = list(clean.mentions)
        named = authors.named_at_start(comment.text.strip().lstrip("@"))
        if named:
            addressed.append(named)
        target: tuple[str | None, str] | None = None
        for name in addressed:
            match = next((c for c in reversed(earlier)
                          if c.author.lower() == name.lower() and c.author != comment.author), None)
            if match is not None:
                target = (match.id, "mention")
                break
        if target is None and comment.parent_id is None:
            target = (None, "article")
        if target is None and comment.depth == deepest and deepest > 0:
            before = siblings_before[comment.id]
            if before and before[-1].author != comment.author:
                spoke = {by_id[comment.parent_id].author} | {c.author for c in before[:-1]}
                if comment.author in spoke:
                    target = (before[-1].id, "capped_run")
        targets[comment.id] = target or (comment.parent_id, "parent")
        earlier.append(comment)
    return targets

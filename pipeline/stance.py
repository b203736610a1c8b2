"""Stance: where each comment stands toward the article, and toward the
comment it answers.

The models (pipeline/stance_model/) read MiniLM embeddings of the comment,
the article and the comment answered, plus cheap lexical cues; the comment
embeddings come from the embed stage's cache, so only the article's
sentences are new work. The reply tree enters twice:

1. as features: the text of the comment answered (see replies.py: the
   structural parent, or the previous sibling in a capped run, or the
   comment whose author is @mentioned) is part of each reply's input;
2. as propagation: a reply's own reading is blended with what its parent's
   stance implies. A reply that agrees with its parent inherits the parent's
   stance toward the article, one that disagrees inherits the flipped stance
   (agree and disagree swap), weighted by how short and generic the reply is.
   So a bare "Of course." under a comment that agrees with the article comes
   out agree, not unrelated.

Comments are visited in dump order, which puts every parent before its
replies, so a parent's final stance is known when its replies are scored.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.records import (REPLY_LABELS, STANCE_LABELS, Article, CleanComment, Comment,
                              StanceAssignment)

WEIGHTS = Path(__file__).resolve().parent / "stance_model" / "weights"
# the fast mode's models, trained on the static embeddings (embed.backend: static)
WEIGHTS_STATIC = Path(__file__).resolve().parent / "stance_model" / "weights_static"


def weights_for(backend: str) -> Path:
    """The stance models that read this embedding backend's vectors: the onnx
    backends give MiniLM's vectors (cosine 0.99 and more), static its own."""
    return WEIGHTS_STATIC if backend == "static" else WEIGHTS


Encoder = Callable[[list[str]], np.ndarray]


@dataclass
class StanceModels:
    """The article-stance and reply-stance models, with their model card."""

    stance: object
    reply: object
    card: dict

    folder: Path = WEIGHTS

    @property
    def name(self) -> str:
        return f"{self.card['name']}-{self.card['version']}"

    @property
    def fingerprint(self) -> str:
        """Changes whenever a weights file does; keys the stage cache."""
        import hashlib

        digest = hashlib.sha256()
        for path in sorted(self.folder.iterdir()):
            if path.is_file():
                digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()[:16]


def load_models(folder: str | Path = WEIGHTS) -> StanceModels:
    import json

    from pipeline.errors import PipelineError
    from pipeline.stance_model.model import ReplyModel, StanceModel

    folder = Path(folder)
    try:
        card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
        return StanceModels(StanceModel.load(folder / "stance.npz"),
                            ReplyModel.load(folder / "reply.npz"), card, folder)
    except FileNotFoundError as error:
        raise PipelineError(f"stance model file missing: {error.filename}", path=folder,
                            hint="run make train-stance, or check out the repository again") from None


def article_target(article: Article) -> str:
    """What a comment's stance is toward: the title, then the body."""
    return f"{article.title}\n{article.body}".strip()


def score_comments(target: str, texts: Sequence[str], parent_texts: Sequence[str | None],
                   encode: Encoder, models: StanceModels) -> tuple[np.ndarray, np.ndarray]:
    """Each comment on its own, before the thread is used: stance toward
    `target` (n, 5) and, where there is a parent text, reply stance toward it
    (n, 3; NaN rows for comments without one). Rows are independent, so a
    thread can be scored in any batches, on any machine."""
    own = (models.stance.predict_proba([target] * len(texts), texts, parent_texts, encode)
           if len(texts) else np.zeros((0, len(STANCE_LABELS))))
    replies = [k for k, p in enumerate(parent_texts) if p]
    reply_probs = np.full((len(texts), len(REPLY_LABELS)), np.nan)
    if replies:
        reply_probs[replies] = models.reply.predict_proba(
            [parent_texts[k] for k in replies], [texts[k] for k in replies], encode)
    return own, reply_probs


def stance_inputs(article: Article, cleaned: Sequence[CleanComment],
                  reply_targets: dict[str, tuple[str | None, str]]) -> tuple[list[int], str, list[str],
                                                                           list[str | None]]:
    """The comments with text (their indices), the target, their texts and
    the texts of the comments they answer."""
    text_of = {c.id: c.text for c in cleaned}
    rows = [i for i, c in enumerate(cleaned) if c.text]
    answered = [reply_targets[cleaned[i].id][0] for i in rows]
    parent_texts = [text_of.get(a) or None if a else None for a in answered]
    return rows, article_target(article), [cleaned[i].text for i in rows], parent_texts


def annotate_stance(article: Article, comments: Sequence[Comment],
                    cleaned: Sequence[CleanComment],
                    reply_targets: dict[str, tuple[str | None, str]],
                    encode: Encoder, models: StanceModels,
                    scores: tuple[np.ndarray, np.ndarray] | None = None) -> list[StanceAssignment]:
    """One StanceAssignment per comment, in comment order. `scores` are
    score_comments' output where it ran elsewhere (the Ray executor)."""
    from pipeline.stance_model.model import propagate_from_parent, short_text_gate

    rows, target, texts, parent_texts = stance_inputs(article, cleaned, reply_targets)
    answered = [reply_targets[cleaned[i].id][0] for i in rows]
    own, reply_probs = scores if scores is not None else score_comments(target, texts, parent_texts,
                                                                        encode, models)
    gates = short_text_gate(texts) if rows else np.zeros(0)

    final: dict[str, np.ndarray] = {}
    moved: set[str] = set()
    for k, i in enumerate(rows):
        comment_id = cleaned[i].id
        probs = own[k]
        parent = answered[k]
        if parent in final and not np.isnan(reply_probs[k]).any():
            blended = propagate_from_parent(own[k:k + 1], final[parent][None], reply_probs[k:k + 1],
                                            gates[k:k + 1])[0]
            if blended.argmax() != probs.argmax():
                moved.add(comment_id)
            probs = blended
        final[comment_id] = probs / probs.sum()

    assignments = []
    reply_of = {cleaned[i].id: reply_probs[k] for k, i in enumerate(rows)}
    for comment, clean in zip(comments, cleaned):
        reply_to, reason = reply_targets[comment.id]
        probs = final.get(clean.id)
        if probs is None:
            assignments.append(StanceAssignment(id=comment.id, stance=None, confidence=None, probs=None,
                                                reply_to=reply_to, reply_to_reason=reason,
                                                context="no_text"))
            continue
        reply = reply_of[clean.id]
        has_reply = not np.isnan(reply).any()
        assignments.append(StanceAssignment(
            id=comment.id, stance=STANCE_LABELS[int(probs.argmax())],
            confidence=round(float(probs.max()), 4),
            probs=tuple(round(float(p), 4) for p in probs),
            reply_to=reply_to, reply_to_reason=reason,
            reply_stance=REPLY_LABELS[int(reply.argmax())] if has_reply else None,
            reply_confidence=round(float(reply.max()), 4) if has_reply else None,
            context="thread" if clean.id in moved else "text"))
    return assignments

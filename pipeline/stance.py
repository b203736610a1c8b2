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

That is the comment-at-a-time path (stance.thread: false). By default the
thread reader (stance_model/thread_reader.py) takes the per-comment scores and
decides the thread's comments together instead (read_thread).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.records import (REPLY_LABELS, STANCE_LABELS, Article, CleanComment, Comment,
                              StanceAssignment, not_read_context, read_by_stance)
from pipeline.stance_model._base import Encoder

WEIGHTS_ROOT = Path(__file__).resolve().parent / "stance_model" / "weights"
DEFAULT_METHOD = "stance-heads"


def weights_for(backend: str, method: str = DEFAULT_METHOD) -> Path:
    """The folder of a method trained on this embedding backend's vectors: the onnx
    backends give MiniLM's vectors (cosine 0.99 and more), static its own."""
    return WEIGHTS_ROOT / ("static" if backend == "static" else "minilm") / method


@dataclass
class StanceModels:
    """A fitted stance method (stance_model/methods.py) with its model card."""

    method: object
    card: dict
    folder: Path | None = None
    thread: object | None = None  # a ThreadReader (stance_model/thread_reader.py), where the folder has one

    @property
    def name(self) -> str:
        return f"{self.card['name']}-{self.card['version']}"

    def reader_for(self, section: dict | None):
        """The thread reader where stance.thread asks for it and the model has one."""
        return self.thread if (section is None or section.get("thread", True)) else None

    @property
    def fingerprint(self) -> str:
        """Changes whenever a weights file does; keys the stage cache."""
        return weights_fingerprint(self.folder)


def weights_fingerprint(folder: Path | None) -> str:
    """A hash of the files of a weights folder (none: an empty folder's)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()) if folder and folder.is_dir() else ():
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


TARGETS = ("title", "title_lead", "title_body")


def check_section(section: dict) -> None:
    """The stance config's values, before anything is loaded."""
    from pipeline.errors import PipelineError
    from pipeline.stance_model._base import METHOD_NAMES

    if section["method"] not in METHOD_NAMES:
        raise PipelineError(f"unknown stance method {section['method']!r}", path="stance.method",
                            hint="one of " + ", ".join(METHOD_NAMES))
    if section["target"] not in TARGETS:
        raise PipelineError(f"unknown stance target {section['target']!r}", path="stance.target",
                            hint="one of " + ", ".join(TARGETS))
    if section.get("labels"):
        read_labels(section["labels"])


def read_labels(path: str | Path) -> dict[str, str]:
    """A user's labels of comments ({comment id: stance}): JSON lines with "id" and "label"
    (or "stance"), as review-import's review/stance_labels.jsonl. Data only; a bad line is
    a one-line error with the file and line."""
    import json

    from pipeline.errors import PipelineError

    path = Path(path).expanduser()
    fix = 'each line {"id": "<comment id>", "label": one of ' + "/".join(STANCE_LABELS) + "}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PipelineError(f"cannot read the stance labels ({getattr(error, 'strerror', None) or error})",
                            path=path, hint="stance.labels names a JSONL file of your labels, e.g. "
                                            "artifacts/<dump>/review/stance_labels.jsonl") from None
    labels: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise PipelineError(f"not JSON ({error.msg})", path=path, line=number, hint=fix) from None
        label = row.get("label", row.get("stance")) if isinstance(row, dict) else None
        if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)) or isinstance(row.get("id"), bool) \
                or label not in STANCE_LABELS:
            raise PipelineError("not a stance label line", path=path, line=number, hint=fix)
        labels[str(row["id"])] = label
    return labels


def load_models(folder: str | Path) -> StanceModels:
    """The stance models in `folder`, loaded once per process: the run's own, and
    each executor worker's (the executor's setup for score_batch)."""
    folder = Path(folder).resolve()
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.glob("*")) if p.is_file())
    return _load_models(str(folder), stamp)


@lru_cache(maxsize=4)
def _load_models(folder: str | Path, stamp: tuple = ()) -> StanceModels:
    """load_models' work; `stamp` (the files' sizes and times) keys the cache, so
    weights trained again in the same process are read again."""
    from pipeline.errors import PipelineError
    from pipeline.stance_model.methods import load_method

    folder = Path(folder)
    if not (folder / "card.json").is_file():
        method = folder.name
        backend = "" if folder.parent.name == "minilm" else " --embed-backend static"
        hint = (f"train it: python -m pipeline.stance_train.train --method {method}{backend} (make train-stance "
                f"METHOD={method} for MiniLM's; it needs ../shared/data)")
        raise PipelineError(f"no trained weights for stance method '{method}' ({folder.parent.name} embeddings)",
                            path=folder, hint=hint)
    from pipeline.stance_model.thread_reader import ThreadReader

    try:
        method = load_method(folder)
        thread = ThreadReader.load(folder)
    except (FileNotFoundError, KeyError, ValueError, TypeError) as error:
        raise PipelineError(f"stance model files unreadable ({error})", path=folder,
                            hint="run make train-stance, or check out the repository again") from None
    return StanceModels(method, method.card, folder, thread)


def article_target(article: Article, part: str = "title_lead") -> str:
    """What a comment's stance is toward: the title alone, the title and the first
    paragraph (the lead), or the title and the whole body."""
    if not article.title.strip():
        return (article.paragraphs[0] if article.paragraphs else "").strip()
    if part == "title" or not article.paragraphs:
        return article.title.strip()
    if part == "title_lead":
        return f"{article.title}\n{article.paragraphs[0]}".strip()
    return f"{article.title}\n{article.body}".strip()


def score_comments(target: str, texts: Sequence[str], parent_texts: Sequence[str | None],
                   encode: Encoder, models: StanceModels, with_domain: bool = False) -> tuple[np.ndarray, ...]:
    """Each comment on its own, before the thread is used: stance toward
    `target` (n, 5) and, where there is a parent text, reply stance toward it
    (n, 3; NaN rows for comments without one); `with_domain`: also, from the same
    features, the domain model's shares (n, len(STANCE_SOURCES)), which the thread
    reader reads to decide whether the thread is a rumour post's replies, and the
    RumourEval head's answer in the five stances (n, 5), which it then reads them
    with. Rows are independent, so a thread can be scored in any batches, on any
    machine."""
    from pipeline.stance_model._base import STANCE_SOURCES, Pairs, compose, to_stances

    pairs = Pairs([target] * len(texts), list(texts), list(parent_texts))
    if len(texts):
        domain, heads = models.method.stance_parts(pairs, encode)
        own, rumour = compose(domain, heads), to_stances("rumoureval", heads["rumoureval"])
    else:
        own, rumour = np.zeros((0, len(STANCE_LABELS))), np.zeros((0, len(STANCE_LABELS)))
        domain = np.zeros((0, len(STANCE_SOURCES)))
    replies = [k for k, p in enumerate(parent_texts) if p]
    reply_probs = np.full((len(texts), len(REPLY_LABELS)), np.nan)
    if replies:
        reply_probs[replies] = models.method.reply_proba([parent_texts[k] for k in replies],
                                                         [texts[k] for k in replies], encode)
    if not with_domain:
        return own, reply_probs
    return own, reply_probs, domain, rumour


def score_batch(models: StanceModels, context: tuple[str, np.ndarray], items: Sequence[tuple]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The executor's per-batch function for stance: score_comments on items
    (text, its vector, the text it answers or None, that one's vector) toward
    `context` (the target text, its vector). Nothing is encoded here: every
    vector comes with the batch, so a worker needs no embedding model."""
    target, target_vector = context
    known = {target: target_vector, "": np.zeros_like(target_vector)}
    for text, vector, parent, parent_vector in items:
        known[text] = vector
        if parent:
            known[parent] = parent_vector

    def encode(texts: Sequence[str]) -> np.ndarray:
        return np.stack([known[t] for t in texts]) if len(texts) else np.zeros((0, len(target_vector)), np.float32)

    return score_comments(target, [item[0] for item in items], [item[2] for item in items], encode, models,
                          with_domain=True)


def stance_inputs(article: Article, cleaned: Sequence[CleanComment],
                  reply_targets: dict[str, tuple[str | None, str]],
                  target: str = "title_lead") -> tuple[list[int], str, list[str], list[str | None]]:
    """The comments the stance model reads (their indices: those with text that are not read
    as another language than English, which the models do not read), the target, their texts
    and the texts of the comments they answer (None where that one is not read either: a reply
    to it is read as a comment on the article alone, with no reply stance)."""
    text_of = {c.id: c.text for c in cleaned if read_by_stance(c.flags)}
    rows = [i for i, c in enumerate(cleaned) if c.text and read_by_stance(c.flags)]
    answered = [reply_targets[cleaned[i].id][0] for i in rows]
    parent_texts = [text_of.get(a) or None if a else None for a in answered]
    return rows, article_target(article, target), [cleaned[i].text for i in rows], parent_texts


def annotate_stance(article: Article, comments: Sequence[Comment],
                    cleaned: Sequence[CleanComment],
                    reply_targets: dict[str, tuple[str | None, str]],
                    encode: Encoder, models: StanceModels,
                    scores: tuple[np.ndarray, ...] | None = None,
                    target: str = "title_lead", adapt_priors: bool = False,
                    thread_reader=None, labels: dict[str, str] | None = None,
                    vectors: np.ndarray | None = None) -> list[StanceAssignment]:
    """One StanceAssignment per comment, in comment order. `scores` are
    score_comments' output with_domain where it ran already (the stage maps it on
    the executor).
    `adapt_priors`: re-estimate the thread's own label mix first (thread.adapt_priors).
    `thread_reader`: decide the thread's comments jointly (stance_model/thread_reader.py)
    instead of one by one with the short-reply propagation; `labels` ({comment id: stance},
    the user's): the reader adapted to those of this thread's comments first."""
    from pipeline.stance_model.thread import adapt_priors as adapt, propagate_from_parent, short_text_gate

    rows, target_text, texts, parent_texts = stance_inputs(article, cleaned, reply_targets, target)
    answered = [reply_targets[cleaned[i].id][0] for i in rows]
    own, reply_probs, domain, rumour = scores if scores is not None else score_comments(
        target_text, texts, parent_texts, encode, models, with_domain=True)
    if adapt_priors and len(own) and models.card.get("reference_priors"):
        own = adapt(own, np.array(models.card["reference_priors"]))
    gates = short_text_gate(texts) if rows else np.zeros(0)

    final: dict[str, np.ndarray] = {}
    moved: set[str] = set()
    deferred = False  # the reader left the thread to the pair model (its comments read as replies to a rumour)
    if thread_reader is not None and rows:
        read, reply_probs, note = read_thread(thread_reader, article, target_text, texts, answered,
                                        [cleaned[i].id for i in rows], [comments[i].author for i in rows],
                                        own, reply_probs, encode, labels,
                                        None if vectors is None else _rows_of(np.asarray(vectors), rows), domain,
                                        rumour)
        final = {cleaned[i].id: read[k] for k, i in enumerate(rows)}
        # `thread` where reading the thread changed the label from the comment's own reading
        moved = {cleaned[i].id for k, i in enumerate(rows) if read[k].argmax() != own[k].argmax()}
        deferred = bool(note.get("deferred"))
    for k, i in enumerate(rows if not final else ()):
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
                                                context=not_read_context(clean.text, clean.flags)))
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
            context="pair_model" if deferred else "thread" if clean.id in moved else "text"))
    return assignments


def _rows_of(matrix: np.ndarray, rows: list[int]) -> np.ndarray:
    """matrix[rows], without copying where the rows are all of it in order (every comment has
    text: a million comments' vectors are a GB)."""
    if len(rows) == len(matrix) and (not rows or rows[-1] == len(matrix) - 1):
        return matrix  # rows are increasing and distinct, so they are 0 .. n - 1
    return matrix[rows]


def thread_input(article: Article, target_text: str, texts: list[str], answered: list[str | None],
                 ids: list[str], authors: list[str], own: np.ndarray, reply_probs: np.ndarray,
                 encode: Encoder, vectors: np.ndarray | None = None, domain: np.ndarray | None = None,
                 rumour: np.ndarray | None = None):
    """What the thread reader reads of a thread's comments with text (rows as `ids`):
    `vectors` are the embed stage's where the stage has them (int8 vectors move with their
    batch-mates, so encoding them again can give other bits)."""
    from pipeline.stance_model.thread_reader import ThreadInput

    row_of = {comment_id: k for k, comment_id in enumerate(ids)}
    vectors = encode(list(texts)) if vectors is None else vectors
    target_vector, title_vector = encode([target_text, article.title.strip() or target_text])
    return ThreadInput(own=own, reply=reply_probs, vectors=vectors, target_vector=target_vector,
                       title_vector=title_vector, parent=[row_of.get(a) for a in answered],
                       authors=list(authors), texts=list(texts), target=target_text, domain=domain,
                       rumour=rumour)


def read_thread(reader, article: Article, target_text: str, texts: list[str], answered: list[str | None],
                ids: list[str], authors: list[str], own: np.ndarray, reply_probs: np.ndarray,
                encode: Encoder, labels: dict[str, str] | None = None,
                vectors: np.ndarray | None = None, domain: np.ndarray | None = None,
                rumour: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """The thread reader's stances and reply stances for the comments with text (the
    reader adapted first to the user's `labels` of them, where there are any), and its
    note on the thread (`deferred`: the thread was left to the pair model)."""
    thread = thread_input(article, target_text, texts, answered, ids, authors, own, reply_probs, encode, vectors,
                          domain, rumour)
    if labels and any(i in labels for i in ids):
        reader = reader.adapted(thread, labels, ids)
    P, R, note = reader.read(thread)
    return P, R, note

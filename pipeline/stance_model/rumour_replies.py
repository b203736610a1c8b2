"""How the stance stage reads a thread of replies to a rumour post (a thread the thread
reader defers: thread_reader.ThreadReader.defers): the pair model's RumourEval head times
a regression of rumour replies fitted on RumourEval-2019 train threads
(stance_train/threads.py: fit_rumour_replies). Its numbers live in thread_reader.json
(JSON, no code)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pipeline.errors import PipelineError
from pipeline.records import STANCE_LABELS
from pipeline.stance_model.features import cue_features, unit_rows


class Replies(Protocol):
    """What it reads of a thread (thread_reader.ThreadInput has these), rows in comment order."""

    texts: Sequence[str]
    vectors: np.ndarray             # (n, d)
    parent: Sequence[int | None]    # row of the comment answered, or None
    target_vector: np.ndarray       # (d,) the post's


@dataclass
class RumourReplies:
    """How the stage reads a thread of replies to a rumour post (a thread the reader defers):
    a logistic regression over each reply's cue words (features.cue_features), its parent's,
    the cosines of its vector to the post's and to its parent's, its unit vector and that
    vector times the post's, fitted on RumourEval-2019 train threads; its SDQC answer is
    multiplied with the pair model's RumourEval head (equal weight) and read as the five
    stances. On RumourEval's dev threads the product is above the head alone
    (docs/stance.md)."""

    coef: np.ndarray        # (4, features) in SDQC order as stances: agree, disagree, query, discuss
    intercept: np.ndarray   # (4,)
    mean: np.ndarray        # (features,)
    scale: np.ndarray       # (features,)
    card: dict = field(default_factory=dict)
    LABELS = ("agree", "disagree", "query", "discuss")
    CHUNK = 10_000  # rows at a time: a reply's features are twice its vector (float64: 65 MB a chunk)

    @staticmethod
    def features(t: Replies, rows: slice = slice(None)) -> np.ndarray:
        index = range(len(t.texts))[rows]
        post = unit_rows(t.target_vector)
        v = unit_rows(np.asarray(t.vectors[rows]))
        parents = [t.parent[k] for k in index]
        has = np.array([p is not None for p in parents], dtype=bool)
        pv = np.tile(post, (len(index), 1))  # a top-level reply's "parent" is the post
        own = cue_features([t.texts[k] for k in index])
        theirs = np.zeros_like(own)
        if has.any():
            answered = [p for p in parents if p is not None]
            pv[has] = unit_rows(np.asarray(t.vectors)[answered])
            theirs[has] = cue_features([t.texts[p] for p in answered])
        return np.hstack([own, (~has)[:, None], theirs, (v @ post)[:, None], np.sum(v * pv, 1)[:, None], v,
                          v * post]).astype(np.float64, copy=False)

    def proba(self, t: Replies) -> np.ndarray:
        """(n, 4) the regression's own answer, in LABELS order."""
        out = []
        for start in range(0, len(t.texts), self.CHUNK):
            X = self.features(t, slice(start, start + self.CHUNK))
            if X.shape[1] != len(self.mean):
                raise PipelineError(f"the thread reader's rumour replies regression reads {len(self.mean)} "
                                    f"features, this model's vectors give {X.shape[1]}",
                                    hint="retrain it for these vectors: make train-thread-reader")
            X -= self.mean
            X /= self.scale
            z = X @ self.coef.T + self.intercept
            z = np.exp(z - z.max(1, keepdims=True))
            out.append(z / z.sum(1, keepdims=True))
        return np.vstack(out) if out else np.zeros((0, len(self.LABELS)))

    def read(self, t: Replies, head: np.ndarray) -> np.ndarray:
        """(n, 5) stances: the head's (n, 5, as given in thread_reader.ThreadInput.rumour) times the regression's."""
        cols = [STANCE_LABELS.index(label) for label in self.LABELS]
        P = np.zeros((len(head), len(STANCE_LABELS)))
        head = np.asarray(head, np.float64)
        P[:, cols] = head[:, cols] * self.proba(t)
        total = P.sum(1, keepdims=True)
        none = total[:, 0] <= 0  # the two disagree entirely (extreme weights): the head alone
        P[none], total[none] = head[none], head[none].sum(1, keepdims=True)
        return P / np.maximum(total, 1e-300)

    def to_json(self) -> dict:
        return {"labels": list(self.LABELS), "coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
                "mean": self.mean.tolist(), "scale": self.scale.tolist(), "card": self.card}

    @classmethod
    def from_json(cls, spec: dict) -> "RumourReplies":
        if list(spec["labels"]) != list(cls.LABELS):
            raise KeyError("rumour reply labels differ from this code's")
        def numbers(x) -> bool:
            return (all(numbers(y) for y in x) if isinstance(x, list)
                    else isinstance(x, (int, float)) and not isinstance(x, bool))

        if not all(isinstance(spec[k], list) and numbers(spec[k]) for k in ("coef", "intercept", "mean", "scale")):
            raise ValueError("rumour reply weights must be lists of numbers")
        arrays = [np.array(spec[k], np.float64) for k in ("coef", "intercept", "mean", "scale")]
        coef, intercept, mean, scale = arrays
        if (not all(np.isfinite(a).all() for a in arrays) or mean.ndim != 1 or coef.shape != (len(cls.LABELS), len(mean))
                or intercept.shape != (len(cls.LABELS),) or scale.shape != mean.shape or not (scale > 0).all()):
            raise ValueError("rumour reply weights must be finite numbers of matching shapes (positive scales)")
        return cls(*arrays, card=spec.get("card", {}))

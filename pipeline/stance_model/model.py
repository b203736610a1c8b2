"""Stance of reader comments toward an article, and of a reply toward its parent.

Public API (called by pipeline/stance.py):
    StanceModel.load(path).predict_proba(targets, texts, parent_texts, encode) -> (n, 5)
        columns LABELS = agree, disagree, discuss, query, unrelated
    ReplyModel.load(path).predict_proba(parent_texts, texts, encode) -> (n, 3)
        columns REPLY_LABELS = agree, disagree, neutral
    propagate_from_parent(p_text, p_parent, p_reply, gate) -> (n, 5)
    short_text_gate(texts) -> (n,) in [0, 1]

The 5-way distribution is a hierarchy of calibrated softmax heads, each trained
only on the sources that really carry its labels:
    R  related / unrelated                        (FNC-1, ARC; RumourEval replies as related)
    S  agree / disagree / neutral, given related  two heads mixed by text length:
       S_short (comments: ARC, RumourEval), S_long (news bodies: FNC-1)
    Q  query / discuss, given neutral             (RumourEval)
P(unrelated)=1-r, P(agree)=r*s_a, P(disagree)=r*s_d, P(query)=r*s_n*q, P(discuss)=r*s_n*(1-q).
S and Q read dense MiniLM/lexical features plus a learned TF-IDF uni+bigram bag of
words of the text. Each head's temperature is fitted on a grouped training hold-out.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import minimize

from pipeline.stance_model.features import Encoder, Tfidf, dense_features, n_tokens

LABELS: tuple[str, ...] = ("agree", "disagree", "discuss", "query", "unrelated")
REPLY_LABELS: tuple[str, ...] = ("agree", "disagree", "neutral")
S_CLASSES = ("agree", "disagree", "neutral")
Q_CLASSES = ("query", "discuss")
R_CLASSES = ("unrelated", "related")


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


class Head:
    """Multinomial logistic regression over [standardised dense | sparse bag of words],
    with separate L2 strengths per block, fitted by L-BFGS; plus a temperature."""

    def __init__(self, classes: Sequence[str], lam: float = 0.02, lam_sparse: float = 1e-4) -> None:
        self.classes = tuple(classes)
        self.lam, self.lam_sparse = lam, lam_sparse
        self.mean = self.scale = self.W = self.V = self.b = None
        self.temperature = 1.0

    def fit(self, D: np.ndarray, B: sparse.csr_matrix | None, y: Sequence[str],
            w: np.ndarray | None = None, balanced: bool = True, maxiter: int = 250) -> "Head":
        k = len(self.classes)
        yi = np.array([self.classes.index(v) for v in y])
        w = np.ones(len(yi)) if w is None else np.asarray(w, np.float64)
        if balanced:  # equal total weight per class
            tot = np.bincount(yi, weights=w, minlength=k)
            w = w * (w.sum() / (k * np.maximum(tot, 1e-9)))[yi]
        w = w / w.sum()
        self.mean, self.scale = D.mean(0), D.std(0) + 1e-6
        Z = ((D - self.mean) / self.scale).astype(np.float64)
        Bs = B.astype(np.float64).tocsr() if B is not None else None
        d, s = Z.shape[1], (Bs.shape[1] if Bs is not None else 0)
        Y = np.zeros((len(yi), k))
        Y[np.arange(len(yi)), yi] = 1.0

        def f(theta):
            W = theta[:d * k].reshape(d, k)
            V = theta[d * k:d * k + s * k].reshape(s, k)
            b = theta[-k:]
            logits = Z @ W + b + (Bs @ V if s else 0.0)
            logits -= logits.max(1, keepdims=True)
            lse = np.log(np.exp(logits).sum(1, keepdims=True))
            loss = -(w * (Y * (logits - lse)).sum(1)).sum()
            G = (np.exp(logits - lse) - Y) * w[:, None]
            gW = Z.T @ G + self.lam * W
            gV = (Bs.T @ G + self.lam_sparse * V) if s else np.zeros((0, k))
            loss += 0.5 * self.lam * (W * W).sum() + 0.5 * self.lam_sparse * (V * V).sum()
            return loss, np.concatenate([gW.ravel(), np.asarray(gV).ravel(), G.sum(0)])

        res = minimize(f, np.zeros(d * k + s * k + k), jac=True, method="L-BFGS-B",
                       options={"maxiter": maxiter})
        th = res.x
        self.W = th[:d * k].reshape(d, k).astype(np.float32)
        self.V = th[d * k:d * k + s * k].reshape(s, k).astype(np.float32)
        self.b = th[-k:].astype(np.float32)
        return self

    def logits(self, D: np.ndarray, B: sparse.csr_matrix | None) -> np.ndarray:
        z = ((D - self.mean) / self.scale) @ self.W + self.b
        if B is not None and self.V.shape[0]:
            z = z + np.asarray(B @ self.V)
        return z

    def proba(self, D, B=None) -> np.ndarray:
        return softmax(self.logits(D, B) / self.temperature)

    def fit_temperature(self, D, B, y, w=None) -> float:
        """NLL-optimal temperature on held-out rows (keeps the argmax)."""
        z = self.logits(D, B)
        yi = np.array([self.classes.index(v) for v in y])
        w = np.ones(len(yi)) if w is None else w
        grid = np.exp(np.linspace(np.log(0.3), np.log(5.0), 120))
        nll = [-(w * np.log(softmax(z / T)[np.arange(len(yi)), yi] + 1e-12)).sum() for T in grid]
        self.temperature = float(grid[int(np.argmin(nll))])
        return self.temperature

    def to_arrays(self, p: str) -> dict[str, np.ndarray]:
        return {f"{p}_mean": self.mean.astype(np.float32), f"{p}_scale": self.scale.astype(np.float32),
                f"{p}_W": self.W.astype(np.float16), f"{p}_V": self.V.astype(np.float16), f"{p}_b": self.b,
                f"{p}_T": np.array(self.temperature)}

    @classmethod
    def from_arrays(cls, a: dict, p: str, classes: Sequence[str]) -> "Head":
        h = cls(classes)
        h.mean, h.scale, h.b = a[f"{p}_mean"], a[f"{p}_scale"], a[f"{p}_b"]
        h.W, h.V = a[f"{p}_W"].astype(np.float32), a[f"{p}_V"].astype(np.float32)
        h.temperature = float(a[f"{p}_T"])
        return h


def length_gate(texts: Sequence[str], tokens: float = 200.0, width: float = 0.35) -> np.ndarray:
    """Weight of the long-text (news body) S head: ~0 for comments, ~1 past `tokens`."""
    z = (np.log1p(n_tokens(texts)) - np.log1p(tokens)) / width
    return 1.0 / (1.0 + np.exp(-z))


class StanceModel:
    """5-way stance toward the target; see the module docstring."""

    DEFAULTS = dict(lam_rel=0.02, lam_stance=0.02, lam_query=0.05, lam_sparse=3e-4, use_parent=True,
                    long_tokens=200.0, overlap_features=20000, bow_features=30000)

    def __init__(self, **hp) -> None:
        self.hp = {**self.DEFAULTS, **hp}
        self.overlap: Tfidf | None = None
        self.bow: Tfidf | None = None
        self.heads: dict[str, Head] = {}

    # features -------------------------------------------------------------------------
    def features(self, targets, texts, parent_texts, encode: Encoder):
        D = dense_features(self.overlap, targets, texts, parent_texts, encode, self.hp["use_parent"])
        return D, self.bow.transform(texts), length_gate(texts, self.hp["long_tokens"])

    def proba_from_features(self, D, B, g) -> np.ndarray:
        h = self.heads
        r = h["rel"].proba(D)[:, 1]
        s = (1 - g)[:, None] * h["s_short"].proba(D, B) + g[:, None] * h["s_long"].proba(D, B)
        q = h["query"].proba(D, B)[:, 0]
        return np.stack([r * s[:, 0], r * s[:, 1], r * s[:, 2] * (1 - q), r * s[:, 2] * q, 1 - r], 1)

    def predict_proba(self, targets: Sequence[str], texts: Sequence[str],
                      parent_texts: Sequence[str | None] | None, encode: Encoder) -> np.ndarray:
        """(n, 5) probabilities in LABELS order."""
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)))
        return self.proba_from_features(*self.features(targets, texts, parent_texts, encode))

    # persistence ----------------------------------------------------------------------
    def save(self, path) -> None:
        arrays = {**self.overlap.to_arrays("overlap"), **self.bow.to_arrays("bow"),
                  "hp_json": np.array(json.dumps(self.hp))}
        for name, head in self.heads.items():
            arrays.update(head.to_arrays(name))
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path) -> "StanceModel":
        obj, a = _load_with_vocabularies(cls, path)
        obj.heads = {"rel": Head.from_arrays(a, "rel", R_CLASSES),
                     "s_short": Head.from_arrays(a, "s_short", S_CLASSES),
                     "s_long": Head.from_arrays(a, "s_long", S_CLASSES),
                     "query": Head.from_arrays(a, "query", Q_CLASSES)}
        return obj


class ReplyModel:
    """Stance of TEXT toward PARENT_TEXT: the stance featurizer with target := parent,
    plus the bag of words of the reply, one calibrated head."""

    DEFAULTS = dict(lam=0.2, lam_sparse=1e-3, overlap_features=20000, bow_features=30000)

    def __init__(self, **hp) -> None:
        self.hp = {**self.DEFAULTS, **hp}
        self.overlap: Tfidf | None = None
        self.bow: Tfidf | None = None
        self.head: Head | None = None

    def features(self, parent_texts, texts, encode: Encoder):
        return (dense_features(self.overlap, parent_texts, texts, None, encode, use_parent=False,
                               per_target=False),
                self.bow.transform(texts))

    def predict_proba(self, parent_texts: Sequence[str], texts: Sequence[str], encode: Encoder) -> np.ndarray:
        """(n, 3) probabilities in REPLY_LABELS order."""
        if len(texts) == 0:
            return np.zeros((0, len(REPLY_LABELS)))
        return self.head.proba(*self.features(parent_texts, texts, encode))

    def save(self, path) -> None:
        np.savez_compressed(path, **self.overlap.to_arrays("overlap"), **self.bow.to_arrays("bow"),
                            **self.head.to_arrays("reply"), hp_json=np.array(json.dumps(self.hp)))

    @classmethod
    def load(cls, path) -> "ReplyModel":
        obj, a = _load_with_vocabularies(cls, path)
        obj.head = Head.from_arrays(a, "reply", REPLY_LABELS)
        return obj


def _load_with_vocabularies(cls, path):
    """A model object with its hyper-parameters and two vocabularies, and the
    arrays of its npz (read without pickle) for the caller's heads."""
    a = dict(np.load(path, allow_pickle=False))
    obj = cls(**json.loads(str(a["hp_json"])))
    obj.overlap = Tfidf.from_arrays(a, "overlap", "overlap")
    obj.bow = Tfidf.from_arrays(a, "bow", "bow")
    return obj, a


def propagate_from_parent(p_text: np.ndarray, p_parent: np.ndarray, p_reply: np.ndarray,
                          gate: np.ndarray) -> np.ndarray:
    """A reply that agrees with its parent inherits the parent's stance toward the article,
    one that disagrees inherits it with agree and disagree swapped, a neutral one keeps
    its own reading. `gate` (per row, in [0, 1]) says how far to trust the inheritance."""
    p_text, p_parent, p_reply = (np.asarray(a, np.float64) for a in (p_text, p_parent, p_reply))
    flip = p_parent[:, [1, 0, 2, 3, 4]]
    inherited = p_reply[:, [0]] * p_parent + p_reply[:, [1]] * flip + p_reply[:, [2]] * p_text
    g = np.asarray(gate, np.float64)[:, None]
    return (1 - g) * p_text + g * inherited


def short_text_gate(texts: Sequence[str], max_tokens: int = 8) -> np.ndarray:
    """1 for replies of up to `max_tokens` tokens, falling linearly to 0 at twice that."""
    n = n_tokens(texts)
    return np.clip((2 * max_tokens - n) / max_tokens, 0.0, 1.0)

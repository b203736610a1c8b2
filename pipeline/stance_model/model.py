"""Stance of reader comments toward an article, and of a reply toward its parent.

Public API (called by pipeline/stance.py):
    StanceModel.load(path).predict_proba(targets, texts, parent_texts, encode) -> (n, 5)
        columns LABELS = agree, disagree, discuss, query, unrelated
    ReplyModel.load(path).predict_proba(parent_texts, texts, encode) -> (n, 3)
        columns REPLY_LABELS = agree, disagree, neutral
    propagate_from_parent(p_text, p_parent, p_reply, gate) -> (n, 5)
    short_text_gate(texts) -> (n,) in [0, 1]

The 5-way distribution is a hierarchy of softmax heads, each trained
only on the rows of the sources that really carry its labels:
    R  related / unrelated                        (FNC-1, ARC; RumourEval replies as related)
    S  agree / disagree / neutral, given related  two heads mixed by text length:
       S_short (comments: ARC, ARC's sentences, RumourEval), S_long (news bodies: FNC-1)
    Q  query / discuss, given neutral             (RumourEval)
P(unrelated)=1-r, P(agree)=r*s_a, P(disagree)=r*s_d, P(query)=r*s_n*q, P(discuss)=r*s_n*(1-q).
The heads sit on one shared hidden layer (a small multi-task network over the dense
MiniLM / lexical / sentiment features of features.py), trained as an ensemble of a
few seeds with torch; inference is numpy. One temperature on the composed
distribution is fitted on a grouped training hold-out.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from pipeline.stance_model.features import Encoder, Tfidf, dense_features, n_tokens

LABELS: tuple[str, ...] = ("agree", "disagree", "discuss", "query", "unrelated")
REPLY_LABELS: tuple[str, ...] = ("agree", "disagree", "neutral")
S_CLASSES = ("agree", "disagree", "neutral")
Q_CLASSES = ("query", "discuss")
R_CLASSES = ("unrelated", "related")
STANCE_HEADS = {"rel": R_CLASSES, "s_short": S_CLASSES, "s_long": S_CLASSES, "query": Q_CLASSES}


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def fit_temperature(logp: np.ndarray, yi: np.ndarray, w: np.ndarray) -> float:
    """The temperature T minimising the weighted NLL of softmax(logp / T) (a grid search)."""
    grid = np.exp(np.linspace(np.log(0.3), np.log(5.0), 120))
    nll = [-(w * np.log(softmax(logp / T)[np.arange(len(yi)), yi] + 1e-12)).sum() for T in grid]
    return float(grid[int(np.argmin(nll))])


class MLPHeads:
    """Softmax heads on one shared ReLU hidden layer over standardised dense features.

    `members` networks (seeds) are trained and their probabilities averaged; a head
    can get a temperature on the log of that average (fit_temperatures; the stance
    model instead calibrates its composed output). Training (torch, one thread,
    fixed seeds) repeats exactly on the same CPU type and torch build; inference
    needs only numpy.
    `fit` takes, per head, a label per row ("" where the head has no label) and a
    row weight; within each head, classes are re-weighted toward equal totals by `balance`."""

    DEFAULTS = dict(hidden=256, dropout=0.5, input_dropout=0.1, epochs=6, members=3, lr=1e-3,
                    weight_decay=1e-4, batch=256, balance=1.0, head_total="all_rows", seed=13)

    def __init__(self, heads: Mapping[str, Sequence[str]], **hp) -> None:
        self.heads = {k: tuple(v) for k, v in heads.items()}
        self.hp = {**self.DEFAULTS, **hp}
        self.mean = self.scale = None
        self.params: list[dict[str, np.ndarray]] = []
        self.temperature = {k: 1.0 for k in self.heads}

    def _targets(self, labels: Mapping[str, Sequence[str]], weights: Mapping[str, np.ndarray]):
        out = {}
        for name, classes in self.heads.items():
            y = np.array([classes.index(v) if v in classes else -1 for v in labels[name]], dtype=np.int64)
            w = np.where(y >= 0, np.asarray(weights[name], np.float64), 0.0)
            total = w.sum()
            mass = np.bincount(y[w > 0], weights=w[w > 0], minlength=len(classes))
            # class c's weight scaled by (share of c) ** -balance: 0 keeps the data's mix, 1 gives
            # every class the same total weight
            share = mass / max(total, 1e-12)
            w = w * (np.where(share > 0, share, 1.0) ** -self.hp["balance"])[np.maximum(y, 0)]
            total = w.sum()
            # a head's total weight in the shared layer: the number of rows it has labels for
            # (any weight above the caller's cut counts as a whole row), or of all rows
            size = (w > 0).sum() if self.hp["head_total"] == "labelled_rows" else len(w)
            out[name] = (np.maximum(y, 0), w / max(total, 1e-12) * size)
        return out

    def fit(self, X: np.ndarray, labels: Mapping[str, Sequence[str]],
            weights: Mapping[str, np.ndarray]) -> "MLPHeads":
        import torch

        hp = self.hp
        std = X.std(0)
        # columns that never vary in training stay inert instead of being blown up
        self.mean, self.scale = X.mean(0), np.where(std < 1e-6, 1.0, std)
        Z = torch.from_numpy(((X - self.mean) / self.scale).astype(np.float32))
        targets = {k: (torch.from_numpy(y), torch.from_numpy(w.astype(np.float32)))
                   for k, (y, w) in self._targets(labels, weights).items()}
        rows = np.flatnonzero(sum(w.numpy() for _, w in targets.values()) > 0)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the same sums in the same order on every run
        try:
            self.params = [self._fit_member(Z, targets, rows, hp["seed"] + m) for m in range(hp["members"])]
        finally:
            torch.set_num_threads(threads)
        return self

    def _fit_member(self, Z, targets, rows: np.ndarray, seed: int) -> dict[str, np.ndarray]:
        import torch

        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng():  # leaves the caller's random state alone
            torch.manual_seed(seed)
            return self._train(Z, targets, rows, gen)

    def _train(self, Z, targets, rows: np.ndarray, gen) -> dict[str, np.ndarray]:
        import torch
        from torch import nn

        hp = self.hp
        body = nn.Sequential(nn.Dropout(hp["input_dropout"]), nn.Linear(Z.shape[1], hp["hidden"]), nn.ReLU(),
                             nn.Dropout(hp["dropout"]))
        outs = nn.ModuleDict({k: nn.Linear(hp["hidden"], len(v)) for k, v in self.heads.items()})
        params = list(body.parameters()) + list(outs.parameters())
        opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        rows = torch.from_numpy(rows)
        for _ in range(hp["epochs"]):
            body.train()
            order = rows[torch.randperm(len(rows), generator=gen)]
            for i in range(0, len(order), hp["batch"]):
                b = order[i:i + hp["batch"]]
                h = body(Z[b])
                loss = sum((nn.functional.cross_entropy(outs[k](h), y[b], reduction="none") * w[b]).sum()
                           for k, (y, w) in targets.items()) / len(b)
                opt.zero_grad()
                loss.backward()
                opt.step()
        lin = body[1]
        member = {"W1": lin.weight.detach().numpy().T.copy(), "b1": lin.bias.detach().numpy().copy()}
        for k, layer in outs.items():
            member[f"W_{k}"] = layer.weight.detach().numpy().T.copy()
            member[f"b_{k}"] = layer.bias.detach().numpy().copy()
        return member

    def log_proba(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Per head, the log of the members' mean probabilities (before temperature)."""
        Z = ((X - self.mean) / self.scale).astype(np.float32)
        acc = {k: 0.0 for k in self.heads}
        for m in self.params:
            h = np.maximum(Z @ m["W1"] + m["b1"], 0.0)
            for k in self.heads:
                acc[k] = acc[k] + softmax(h @ m[f"W_{k}"] + m[f"b_{k}"])
        return {k: np.log(v / len(self.params) + 1e-12) for k, v in acc.items()}

    def proba(self, X: np.ndarray) -> dict[str, np.ndarray]:
        return {k: softmax(z / self.temperature[k]) for k, z in self.log_proba(X).items()}

    def fit_temperatures(self, X: np.ndarray, labels: Mapping[str, Sequence[str]],
                         weights: Mapping[str, np.ndarray]) -> dict[str, float]:
        """NLL-optimal temperature per head on held-out rows (keeps each argmax)."""
        for k, z in self.log_proba(X).items():
            classes = self.heads[k]
            rows = np.flatnonzero(np.isin(np.asarray(labels[k], dtype=object), classes)
                                  & (np.asarray(weights[k]) > 0))
            if len(rows):
                yi = np.array([classes.index(labels[k][i]) for i in rows])
                self.temperature[k] = fit_temperature(z[rows], yi, np.asarray(weights[k], np.float64)[rows])
        return dict(self.temperature)

    def to_arrays(self, p: str) -> dict[str, np.ndarray]:
        out = {f"{p}_mean": self.mean.astype(np.float32), f"{p}_scale": self.scale.astype(np.float32),
               f"{p}_meta": np.array(json.dumps({"heads": self.heads, "hp": self.hp,
                                                 "temperature": self.temperature,
                                                 "members": len(self.params)}))}
        for i, m in enumerate(self.params):
            out.update({f"{p}_{i}_{k}": v.astype(np.float16 if k.startswith("W") else np.float32)
                        for k, v in m.items()})
        return out

    @classmethod
    def from_arrays(cls, a: dict, p: str) -> "MLPHeads":
        meta = json.loads(str(a[f"{p}_meta"]))
        obj = cls(meta["heads"], **meta["hp"])
        obj.temperature = {k: float(v) for k, v in meta["temperature"].items()}
        obj.mean, obj.scale = a[f"{p}_mean"], a[f"{p}_scale"]
        prefix = [f"{p}_{i}_" for i in range(meta["members"])]
        obj.params = [{k[len(pre):]: v.astype(np.float32) for k, v in a.items() if k.startswith(pre)}
                      for pre in prefix]
        return obj


def length_gate(texts: Sequence[str], tokens: float = 200.0, width: float = 0.35) -> np.ndarray:
    """Weight of the long-text (news body) S head: ~0 for comments, ~1 past `tokens`."""
    z = (np.log1p(n_tokens(texts)) - np.log1p(tokens)) / width
    return 1.0 / (1.0 + np.exp(-z))


class StanceModel:
    """5-way stance toward the target; see the module docstring."""

    DEFAULTS = dict(use_parent=True, long_tokens=200.0, overlap_features=20000, arc_sentences=False)

    def __init__(self, **hp) -> None:
        self.hp = {**self.DEFAULTS, **hp}
        self.overlap: Tfidf | None = None
        self.net: MLPHeads | None = None
        self.temperature = 1.0  # of the composed 5-way distribution

    def features(self, targets, texts, parent_texts, encode: Encoder) -> np.ndarray:
        """Dense features plus the length gate as the last column."""
        D = dense_features(self.overlap, targets, texts, parent_texts, encode, self.hp["use_parent"])
        return np.hstack([D, length_gate(texts, self.hp["long_tokens"])[:, None]])

    def proba_from_features(self, X: np.ndarray, temperature: float | None = None) -> np.ndarray:
        """The heads composed into LABELS order, then one temperature on the result
        (so calibration never changes which label wins)."""
        h = self.net.proba(X)
        g = X[:, -1]
        r = h["rel"][:, 1]
        s = (1 - g)[:, None] * h["s_short"] + g[:, None] * h["s_long"]
        q = h["query"][:, 0]
        P = np.stack([r * s[:, 0], r * s[:, 1], r * s[:, 2] * (1 - q), r * s[:, 2] * q, 1 - r], 1)
        T = self.temperature if temperature is None else temperature
        return P if T == 1.0 else softmax(np.log(P + 1e-12) / T)

    def predict_proba(self, targets: Sequence[str], texts: Sequence[str],
                      parent_texts: Sequence[str | None] | None, encode: Encoder) -> np.ndarray:
        """(n, 5) probabilities in LABELS order."""
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)))
        return self.proba_from_features(self.features(targets, texts, parent_texts, encode))

    def save(self, path) -> None:
        np.savez_compressed(path, **self.overlap.to_arrays("overlap"), **self.net.to_arrays("net"),
                            hp_json=np.array(json.dumps(self.hp)), temperature=np.array(self.temperature))

    @classmethod
    def load(cls, path) -> "StanceModel":
        obj, a = _load_with_vocabulary(cls, path)
        obj.net = MLPHeads.from_arrays(a, "net")
        obj.temperature = float(a["temperature"])
        return obj


class ReplyModel:
    """Stance of TEXT toward PARENT_TEXT: the stance featurizer with target := parent,
    one calibrated head (agree / disagree / neutral) on a small network."""

    DEFAULTS = dict(overlap_features=20000)

    def __init__(self, **hp) -> None:
        self.hp = {**self.DEFAULTS, **hp}
        self.overlap: Tfidf | None = None
        self.net: MLPHeads | None = None

    def features(self, parent_texts, texts, encode: Encoder) -> np.ndarray:
        return dense_features(self.overlap, parent_texts, texts, None, encode, use_parent=False,
                              per_target=False)

    def predict_proba(self, parent_texts: Sequence[str], texts: Sequence[str], encode: Encoder) -> np.ndarray:
        """(n, 3) probabilities in REPLY_LABELS order."""
        if len(texts) == 0:
            return np.zeros((0, len(REPLY_LABELS)))
        return self.net.proba(self.features(parent_texts, texts, encode))["reply"]

    def save(self, path) -> None:
        np.savez_compressed(path, **self.overlap.to_arrays("overlap"), **self.net.to_arrays("net"),
                            hp_json=np.array(json.dumps(self.hp)))

    @classmethod
    def load(cls, path) -> "ReplyModel":
        obj, a = _load_with_vocabulary(cls, path)
        obj.net = MLPHeads.from_arrays(a, "net")
        return obj


def _load_with_vocabulary(cls, path):
    """A model object with its hyper-parameters and overlap vocabulary, and the
    arrays of its npz (read without pickle) for the caller's network."""
    a = dict(np.load(path, allow_pickle=False))
    obj = cls(**json.loads(str(a["hp_json"])))
    obj.overlap = Tfidf.from_arrays(a, "overlap")
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

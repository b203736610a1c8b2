"""The estimators behind the stance methods: softmax heads over a ReLU hidden layer
that reads a sparse block (term vectors) and a dense one, or over no hidden layer
(logistic regression, `hidden=0`).

One network carries one head per source; a row trains only its own source's head.
A method that wants one network per source (the baselines) fits one `Heads` per
source. Training uses torch on one thread with fixed seeds, so it repeats exactly
on the same CPU type and torch build; inference is numpy and scipy.
"""
from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def fit_temperature(logp: np.ndarray, yi: np.ndarray) -> float:
    """The temperature T minimising the NLL of softmax(logp / T) (a grid search)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(20.0), 200))
    nll = [-np.log(softmax(logp / T)[np.arange(len(yi)), yi] + 1e-12).sum() for T in grid]
    return float(grid[int(np.argmin(nll))])


def row_weights(y: np.ndarray, n_classes: int, balance: float) -> np.ndarray:
    """Class c's rows weighted by (share of c) ** -balance, mean 1: 0 keeps the data's
    mix, 1 gives every class the same total."""
    share = np.bincount(y, minlength=n_classes) / max(len(y), 1)
    w = np.where(share > 0, share, 1.0)[y] ** -balance
    return w / w.mean()


class Heads:
    """Softmax heads (name -> number of classes) on one hidden layer (or none).

    fit(Xs, Xd, head, y, w): Xs sparse (n, s) or None, Xd dense (n, d) or None,
    head (n,) the head index of each row, y its class within that head, w its weight."""

    DEFAULTS = dict(hidden=100, dropout=0.4, epochs=10, lr=1e-3, weight_decay=1e-4, batch=128,
                    seed=13, members=1)

    def __init__(self, heads: Mapping[str, int], **hp) -> None:
        self.heads = dict(heads)
        self.hp = {**self.DEFAULTS, **hp}

    # -- training (torch) ---------------------------------------------------------
    def fit(self, Xs, Xd, head: np.ndarray, y: np.ndarray, w: np.ndarray, monitor: tuple | None = None) -> "Heads":
        """`monitor`: held-out (Xs, Xd, head, y); each member keeps the epoch whose mean
        macro-F1 over the heads is highest there (early stopping), `epochs` at most."""
        import torch

        if Xd is not None:
            std = Xd.std(0)
            # a column that never varied in training reads as 0 whatever it holds later
            self.mean_, self.scale_ = Xd.mean(0), np.where(std < 1e-6, np.inf, std)
        else:
            self.mean_ = self.scale_ = np.zeros(0, np.float32)
        self.best_epochs_ = []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the same sums in the same order on every run
        try:
            with torch.random.fork_rng():
                self.params_ = [self._train(Xs, Xd, head, y, w, self.hp["seed"] + m, monitor)
                                for m in range(self.hp["members"])]
        finally:
            torch.set_num_threads(threads)
        self.temperature_ = {k: 1.0 for k in self.heads}
        return self

    def _dense(self, Xd, rows):
        return ((Xd[rows] - self.mean_) / self.scale_).astype(np.float32)

    def _train(self, Xs, Xd, head, y, w, seed: int, monitor=None) -> dict[str, np.ndarray]:
        import torch
        from torch import nn

        hp = self.hp
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        n_in = (Xs.shape[1] if Xs is not None else 0) + (Xd.shape[1] if Xd is not None else 0)
        width = hp["hidden"] or None
        first = nn.Linear(n_in, width) if width else None
        outs = nn.ModuleList([nn.Linear(width or n_in, k) for k in self.heads.values()])
        params = list(outs.parameters()) + (list(first.parameters()) if first else [])
        opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=hp["weight_decay"])
        drop = nn.Dropout(hp["dropout"])
        Xs = Xs.tocsr() if Xs is not None else None
        head_t, y_t, w_t = (torch.from_numpy(np.asarray(a)) for a in (head, y, w.astype(np.float32)))
        n = len(y)
        best = None
        for epoch in range(hp["epochs"]):
            order = torch.randperm(n, generator=gen).numpy()
            for i in range(0, n, hp["batch"]):
                b = np.sort(order[i:i + hp["batch"]])
                x = self._batch(Xs, Xd, b)
                h = drop(torch.relu(first(x))) if first else x
                loss = 0.0
                for k, out in enumerate(outs):
                    m = np.flatnonzero(head[b] == k)
                    if len(m):
                        ce = nn.functional.cross_entropy(out(h[m]), y_t[b][m], reduction="none")
                        loss = loss + (ce * w_t[b][m]).sum()
                opt.zero_grad()
                (loss / len(b)).backward()
                opt.step()
            if monitor is not None:
                score = self._monitor_score(self._member(first, outs), monitor)
                if best is None or score > best[0]:
                    best = (score, self._member(first, outs), epoch + 1)
        if best is not None:
            self.best_epochs_.append(best[2])
            return best[1]
        return self._member(first, outs)

    def _member(self, first, outs) -> dict[str, np.ndarray]:
        member = {}
        if first:
            member["W1"], member["b1"] = first.weight.detach().numpy().T.copy(), first.bias.detach().numpy().copy()
        for name, out in zip(self.heads, outs):
            member[f"W_{name}"] = out.weight.detach().numpy().T.copy()
            member[f"b_{name}"] = out.bias.detach().numpy().copy()
        return member

    def _monitor_score(self, member: dict, monitor) -> float:
        from sklearn.metrics import f1_score

        Xs, Xd, head, y = monitor
        saved = getattr(self, "params_", None)
        self.params_ = [member]
        scores = []
        for k, name in enumerate(self.heads):
            rows = np.flatnonzero(head == k)
            if len(rows):
                pred = self.log_proba(Xs[rows] if Xs is not None else None,
                                      Xd[rows] if Xd is not None else None, name).argmax(1)
                scores.append(f1_score(y[rows], pred, average="macro"))
        self.params_ = saved
        return float(np.mean(scores))

    def _batch(self, Xs, Xd, rows):
        import torch

        parts = []
        if Xs is not None:
            parts.append(torch.from_numpy(Xs[rows].toarray()))
        if Xd is not None:
            parts.append(torch.from_numpy(self._dense(Xd, rows)))
        return torch.cat(parts, 1) if len(parts) > 1 else parts[0]

    # -- inference (numpy) --------------------------------------------------------
    def log_proba(self, Xs, Xd, name: str) -> np.ndarray:
        """The log of the members' mean probabilities of head `name` (before temperature)."""
        n = Xs.shape[0] if Xs is not None else Xd.shape[0]
        acc = 0.0
        cut = Xs.shape[1] if Xs is not None else 0
        for m in self.params_:
            def linear(W, b):  # [Xs | standardised Xd] @ W + b, the sparse part kept sparse
                z = np.zeros((n, W.shape[1]), np.float32) + b
                if Xs is not None:
                    z = z + np.asarray(Xs @ W[:cut])
                if Xd is not None:
                    z = z + self._dense(Xd, slice(None)) @ W[cut:]
                return z
            if "W1" in m:
                h = np.maximum(linear(m["W1"], m["b1"]), 0.0)
                logits = h @ m[f"W_{name}"] + m[f"b_{name}"]
            else:
                logits = linear(m[f"W_{name}"], m[f"b_{name}"])
            acc = acc + softmax(logits)
        return np.log(acc / len(self.params_) + 1e-12)

    def proba(self, Xs, Xd, name: str) -> np.ndarray:
        return softmax(self.log_proba(Xs, Xd, name) / self.temperature_[name])

    def calibrate(self, Xs, Xd, name: str, y: np.ndarray) -> float:
        """The NLL-optimal temperature of head `name` on held-out rows (keeps each argmax)."""
        self.temperature_[name] = fit_temperature(self.log_proba(Xs, Xd, name), y)
        return self.temperature_[name]

    # -- storage ------------------------------------------------------------------
    def to_arrays(self, p: str) -> dict[str, np.ndarray]:
        out = {f"{p}_mean": self.mean_.astype(np.float32), f"{p}_scale": self.scale_.astype(np.float32),
               f"{p}_meta": np.array(json.dumps({"heads": self.heads, "hp": self.hp,
                                                 "temperature": self.temperature_,
                                                 "members": len(self.params_)}))}
        for i, m in enumerate(self.params_):
            for k, v in m.items():
                if k == "W1":  # the big one: int8 with a scale per hidden unit
                    scale = np.maximum(np.abs(v).max(0), 1e-12) / 127.0
                    out[f"{p}_{i}_W1"] = np.round(v / scale).astype(np.int8)
                    out[f"{p}_{i}_W1scale"] = scale.astype(np.float32)
                else:
                    out[f"{p}_{i}_{k}"] = v.astype(np.float16 if k.startswith("W") else np.float32)
        return out

    @classmethod
    def from_arrays(cls, a: Mapping, p: str) -> "Heads":
        meta = json.loads(str(a[f"{p}_meta"]))
        obj = cls(meta["heads"], **meta["hp"])
        obj.temperature_ = {k: float(v) for k, v in meta["temperature"].items()}
        obj.mean_, obj.scale_ = a[f"{p}_mean"], a[f"{p}_scale"]
        obj.params_ = []
        for i in range(meta["members"]):
            m = {k[len(f"{p}_{i}_"):]: np.asarray(v, np.float32) for k, v in a.items() if k.startswith(f"{p}_{i}_")}
            if "W1scale" in m:
                m["W1"] = m["W1"] * m.pop("W1scale")
            obj.params_.append(m)
        return obj

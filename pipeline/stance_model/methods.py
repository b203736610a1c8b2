"""The stance methods: which feature blocks (blocks.py) a method reads, and how its
heads (nets.py) are laid out. `stance.method` in the config picks one by name.

    minilm-lr     baseline: MiniLM pair and parent blocks, logistic regression per source
    tfidf-mlp     baseline: Riedel et al. 2017, term vectors + TF-IDF cosine, one hidden
                  layer per source
    joined-mlp    baseline: the two joined under one hidden layer per source
    stance-heads  the default: the joined blocks plus cues and sentiment under one shared
                  hidden layer with a head per source, an ensemble of seeds

Every method is fitted the same way (fit): the lexicon on the training texts, the
networks on each source's rows outside a grouped inner hold-out (whole claims,
threads or topics), then each head's temperature on that hold-out.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from scipy import sparse

from pipeline.stance_model._base import STANCE_SOURCES, SOURCES, Encoder, Pairs, StanceMethod
from pipeline.stance_model.blocks import Lexicon, featurize
from pipeline.stance_model.nets import Heads, row_weights

ALL_BLOCKS = ("lex", "pair", "parent", "cues")


def inner_mask(groups: np.ndarray, frac: float = 0.15, seed: int = 13) -> np.ndarray:
    """True for the rows of a grouped hold-out: whole groups, about `frac` of them."""
    g = np.unique(groups)
    held = np.random.default_rng(seed).choice(g, size=max(1, int(round(frac * len(g)))), replace=False)
    return np.isin(groups, held)


def as_pairs(ps) -> Pairs:
    return Pairs(list(ps.targets), list(ps.texts), list(ps.parents) if ps.parents is not None else None)


def lexicon_docs(train: Mapping) -> list[str]:
    return sorted({t for ps in train.values() for t in list(ps.texts) + list(ps.targets)})


def take(F: dict, rows) -> dict:
    return {k: v[rows] for k, v in F.items()}


class BlockMethod(StanceMethod):
    """A method = the blocks it reads + one network per source, or one shared."""

    name = "block-method"
    version = "1"
    blocks: tuple[str, ...] = ALL_BLOCKS
    NET: dict = {}
    SOURCE_POWER = 0.5  # a shared network weighs source s by n_s ** this (0: all alike, 1: by size)
    BALANCE = 0.5       # class weights (share ** -balance) within a source
    EARLY_STOP = True   # each member keeps its best epoch (of NET's epochs) on the inner hold-out:
    #                     the mean macro-F1 of its heads there

    def __init__(self, **net_hp) -> None:
        self.net_hp = {**self.NET, **net_hp}
        self.card = {"name": self.name, "version": self.version, "method": self.name}

    def _split(self, F: dict):
        Xs = F.get("lex")
        dense = [F[k] for k in self.blocks if k != "lex"]
        return Xs, (np.hstack(dense) if dense else None)

    def groups(self, names: list[str]) -> list[tuple[list[str], dict, bool]]:
        """The networks to fit: (their sources, hyper-parameters, early stopping): one per
        source here; StanceHeads shares one."""
        return [([s], self.net_hp, self.EARLY_STOP) for s in names]

    def features(self, pairs: Pairs, encode: Encoder) -> dict:
        return featurize(pairs, self.lexicon_, encode, self.blocks)

    def fit(self, train: Mapping, encode: Encoder, lexicon: Lexicon | None = None,
            features: Mapping | None = None) -> "BlockMethod":
        """train: {source: a labelled set (.targets, .texts, .parents, .labels, .groups)};
        `lexicon` and `features` (per source, with at least this method's blocks) may
        come precomputed, as when several methods are trained on the same splits."""
        self.lexicon_ = lexicon or Lexicon().fit(lexicon_docs(train))
        F = {s: ({k: features[s][k] for k in self.blocks} if features else
                 featurize(as_pairs(ps), self.lexicon_, encode, self.blocks)) for s, ps in train.items()}
        names = list(train)
        y = {s: np.array([SOURCES[s].index(v) for v in train[s].labels]) for s in names}
        held = {s: inner_mask(np.asarray(train[s].groups)) for s in names}
        heads = {s: len(SOURCES[s]) for s in names}
        self.nets_ = {}
        for group, net_hp, early_stop in self.groups(names):
            fit_rows = {s: np.flatnonzero(~held[s]) for s in group}
            sizes = np.array([len(fit_rows[s]) for s in group], float)
            share = sizes ** self.SOURCE_POWER / (sizes ** self.SOURCE_POWER).sum()
            parts = [take(F[s], fit_rows[s]) for s in group]
            w = np.concatenate([row_weights(y[s][fit_rows[s]], heads[s], self.BALANCE) * share[i]
                                * sizes.sum() / sizes[i] for i, s in enumerate(group)])
            head = np.concatenate([np.full(len(fit_rows[s]), i) for i, s in enumerate(group)])
            Xs, Xd = self._split(stack(parts))
            held_rows = {s: np.flatnonzero(held[s]) for s in group}
            monitor = (*self._split(stack([take(F[s], held_rows[s]) for s in group])),
                       np.concatenate([np.full(len(held_rows[s]), i) for i, s in enumerate(group)]),
                       np.concatenate([y[s][held_rows[s]] for s in group])) if early_stop else None
            net = Heads({s: heads[s] for s in group}, **net_hp).fit(
                Xs, Xd, head, np.concatenate([y[s][fit_rows[s]] for s in group]), w, monitor=monitor)
            for s in group:
                Xs_h, Xd_h = self._split(take(F[s], np.flatnonzero(held[s])))
                net.calibrate(Xs_h, Xd_h, s, y[s][held[s]])
                self.nets_[s] = net
        self._fit_domain(F, held, names)
        if set(STANCE_SOURCES) <= set(names):
            # the mix of the five stances on held-out reader comments (ARC, VAST): where a
            # thread's own mix is re-estimated from (stance.adapt_priors)
            ref = stack([take(F[s], np.flatnonzero(held[s])) for s in ("arc", "vast")])
            n = ref["pair" if "pair" in ref else "lex"].shape[0]
            self.card["reference_priors"] = [round(float(p), 4) for p in
                                             self.stance_proba(Pairs([""] * n, [""] * n), encode, ref).mean(0)]
        self.card.update(sources=names, hyper_parameters={
            "blocks": list(self.blocks), "balance": self.BALANCE, "source_power": self.SOURCE_POWER,
            "networks": [{"sources": g, **hp, "early_stop": es} for g, hp, es in self.groups(names)]},
                         temperatures={s: round(self.nets_[s].temperature_[s], 4) for s in names},
                         best_epochs={s: self.nets_[s].best_epochs_ for s in names})
        return self

    DOMAIN_NET = dict(hidden=0, dropout=0.0, epochs=3, lr=1e-3, weight_decay=1e-4, batch=256)

    def _fit_domain(self, F: dict, held: dict, names: list[str]) -> None:
        """Which source a pair looks like: logistic regression over the method's own
        blocks, each stance source the same total weight, calibrated on the hold-out."""
        present = [s for s in STANCE_SOURCES if s in names]
        rows = {s: np.flatnonzero(~held[s]) for s in present}
        y = np.concatenate([np.full(len(rows[s]), STANCE_SOURCES.index(s)) for s in present])
        Xs, Xd = self._split(stack([take(F[s], rows[s]) for s in present]))
        self.domain_ = Heads({"domain": len(STANCE_SOURCES)}, **self.DOMAIN_NET).fit(
            Xs, Xd, np.zeros(len(y), int), y, row_weights(y, len(STANCE_SOURCES), 1.0))
        held_rows = {s: np.flatnonzero(held[s]) for s in present}
        Xs, Xd = self._split(stack([take(F[s], held_rows[s]) for s in present]))
        self.domain_.calibrate(Xs, Xd, "domain", np.concatenate(
            [np.full(len(held_rows[s]), STANCE_SOURCES.index(s)) for s in present]))

    def domain_proba(self, pairs: Pairs, encode: Encoder, features: dict | None = None) -> np.ndarray:
        F = features if features is not None else self.features(pairs, encode)
        Xs, Xd = self._split({k: F[k] for k in self.blocks})
        return self.domain_.proba(Xs, Xd, "domain")

    def predict_proba(self, source: str, pairs: Pairs, encode: Encoder, features: dict | None = None) -> np.ndarray:
        if len(pairs) == 0:
            return np.zeros((0, len(SOURCES[source])))
        F = features if features is not None else self.features(pairs, encode)
        Xs, Xd = self._split({k: F[k] for k in self.blocks})
        return self.nets_[source].proba(Xs, Xd, source)

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {**self.lexicon_.to_arrays("lexicon"), "net_hp": np.array(json.dumps(self.net_hp))}
        nets = {id(n): n for n in self.nets_.values()}
        owner = {s: f"net{list(nets).index(id(n))}" for s, n in self.nets_.items()}
        for i, net in enumerate(nets.values()):
            arrays.update(net.to_arrays(f"net{i}"))
        arrays["owner"] = np.array(json.dumps(owner))
        arrays.update(self.domain_.to_arrays("domain"))
        np.savez_compressed(folder / "stance.npz", **arrays)
        (folder / "card.json").write_text(json.dumps(self.card, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "BlockMethod":
        folder = Path(folder)
        a = dict(np.load(folder / "stance.npz", allow_pickle=False))
        obj = cls(**json.loads(str(a["net_hp"])))
        obj.card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
        obj.lexicon_ = Lexicon.from_arrays(a, "lexicon")
        owner = json.loads(str(a["owner"]))
        nets = {p: Heads.from_arrays(a, p) for p in sorted(set(owner.values()))}
        obj.nets_ = {s: nets[p] for s, p in owner.items()}
        obj.domain_ = Heads.from_arrays(a, "domain")
        return obj


def stack(parts: list[dict]) -> dict:
    return {k: (sparse.vstack([p[k] for p in parts], format="csr") if sparse.issparse(parts[0][k])
                else np.vstack([p[k] for p in parts])) for k in parts[0]}


class MiniLMLR(BlockMethod):
    name = "minilm-lr"
    blocks = ("pair", "parent")
    NET = dict(hidden=0, dropout=0.0, epochs=10, lr=1e-3, weight_decay=1e-2, batch=128)


class TfidfMLP(BlockMethod):
    name = "tfidf-mlp"
    blocks = ("lex",)
    NET = dict(hidden=100, dropout=0.4, epochs=10)


class JoinedMLP(BlockMethod):
    name = "joined-mlp"
    blocks = ("lex", "pair", "parent")
    NET = dict(hidden=100, dropout=0.4, epochs=10)


class StanceHeads(BlockMethod):
    """One network shares its hidden layer among the sources of stance toward a claim,
    an article or a topic; the reply stance (Reddit: toward the comment answered, a
    different task) has a network of its own. Both average three seeds. The shared
    one trains 10 epochs: stopping it early at the best mean over its heads cost VAST
    and RumourEval more than it gained ARC (docs/stance.md); the reply network keeps
    its best of 12."""

    name = "stance-heads"
    version = "3.0"
    blocks = ALL_BLOCKS
    NET = dict(hidden=256, dropout=0.4, epochs=10, members=3)
    REPLY_NET = dict(hidden=100, dropout=0.4, epochs=12, members=3)
    REPLY_SOURCES = ("reddit",)

    def groups(self, names: list[str]) -> list[tuple[list[str], dict, bool]]:
        shared = [s for s in names if s not in self.REPLY_SOURCES]
        replies = [s for s in names if s in self.REPLY_SOURCES]
        return ([(shared, self.net_hp, False)] if shared else []) + (
            [(replies, self.REPLY_NET, True)] if replies else [])


METHODS: dict[str, type[BlockMethod]] = {m.name: m for m in (MiniLMLR, TfidfMLP, JoinedMLP, StanceHeads)}
BASELINES = ("minilm-lr", "tfidf-mlp", "joined-mlp")
DEFAULT = "stance-heads"


def load_method(folder: Path) -> BlockMethod:
    card = json.loads((Path(folder) / "card.json").read_text(encoding="utf-8"))
    return METHODS[card["method"]].load(folder)

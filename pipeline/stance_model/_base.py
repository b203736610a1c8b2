"""The interface every stance method has (the shipped model and the baselines alike).

A method is trained on several labelled sources at once, each in its own label
space (SOURCES), and answers per source: `predict_proba(source, pairs, encode)`
gives that source's labels in SOURCES order, and `domain_proba` how much a pair
looks like each source's pairs. The pipeline's five stances toward an article
(and stance-predict's toward any target) are composed from those answers the
same way for every method (`stance_proba`, compose), the reply stance toward the
comment answered is the Reddit answer (`reply_proba`), so swapping the method
(config `stance.method`) swaps only the estimator.

    fit(train: {source: Pairs}, encode) -> self     learning; state ends in `_`
    predict_proba(source, pairs, encode) -> (n, k)  k = len(SOURCES[source])
    save(folder) / load(folder)                     npz + card.json, no pickle
    card                                            name, version, figures
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Encoder = Callable[[list[str]], np.ndarray]

from pipeline.records import REPLY_LABELS, STANCE_LABELS as LABELS

# the names `stance.method` takes (methods.METHODS has their classes; a test keeps the two
# equal): here so that checking a config imports no scikit-learn
METHOD_NAMES = ("minilm-lr", "tfidf-mlp", "joined-mlp", "stance-heads")

# each source's own labels, as its corpus gives them (RumourEval's SDQC named as ours)
SOURCES: dict[str, tuple[str, ...]] = {
    "fnc1": ("agree", "disagree", "discuss", "unrelated"),   # headline vs news body
    "arc": ("agree", "disagree", "discuss", "unrelated"),    # reader comment vs debate headline
    "rumoureval": ("agree", "disagree", "query", "discuss"),  # reply vs rumour (support/deny/query/comment)
    "vast": ("pro", "con", "neutral"),                       # reader comment vs topic phrase
    "perspectrum": ("support", "undermine"),                 # perspective vs claim
    "reddit": ("agree", "disagree", "neutral"),              # reply vs the comment answered
}


@dataclass(frozen=True)
class Pairs:
    """What a stance is read from: a target (article, topic, claim or the comment
    answered), a text, and optionally the text a reply answers (parents)."""

    targets: Sequence[str]
    texts: Sequence[str]
    parents: Sequence[str | None] | None = None

    def __len__(self) -> int:
        return len(self.texts)


STANCE_SOURCES = ("fnc1", "arc", "rumoureval", "vast", "perspectrum")  # stance toward a claim or topic
REPLY_SOURCE = "reddit"  # a reply toward the comment it answers
# each source's label as one of the five stances
TO_STANCE = {"agree": "agree", "disagree": "disagree", "discuss": "discuss", "query": "query",
             "unrelated": "unrelated", "pro": "agree", "con": "disagree", "neutral": "discuss",
             "support": "agree", "undermine": "disagree"}
# and back: the five stances in a source's labels (None: the source has no such answer)
FROM_STANCE = {
    "fnc1": {"agree": "agree", "disagree": "disagree", "discuss": "discuss", "query": "discuss",
             "unrelated": "unrelated"},
    "rumoureval": {"agree": "agree", "disagree": "disagree", "query": "query", "discuss": "discuss",
                   "unrelated": "discuss"},
    "vast": {"agree": "pro", "disagree": "con", "discuss": "neutral", "query": "neutral", "unrelated": "neutral"},
    "perspectrum": {"agree": "support", "disagree": "undermine", "discuss": None, "query": None,
                    "unrelated": None},
}
FROM_STANCE["arc"] = FROM_STANCE["fnc1"]


def to_stances(source: str, P: np.ndarray) -> np.ndarray:
    """A source's probabilities (n, k) as the five stances (n, 5)."""
    out = np.zeros((len(P), len(LABELS)))
    for j, label in enumerate(SOURCES[source]):
        out[:, LABELS.index(TO_STANCE[label])] += P[:, j]
    return out


def as_source(P: np.ndarray, source: str) -> np.ndarray:
    """The five stances (n, 5) read in a source's labels (n, k), as a user of that
    corpus would map them; stances the source has no answer for are left out."""
    labels = SOURCES[source]
    out = np.zeros((len(P), len(labels)))
    for i, stance in enumerate(LABELS):
        target = FROM_STANCE[source][stance]
        if target is not None:
            out[:, labels.index(target)] += P[:, i]
    return out / np.maximum(out.sum(1, keepdims=True), 1e-12)


def compose(domain: np.ndarray, heads: dict[str, np.ndarray]) -> np.ndarray:
    """The five stances: each source's answer in the five labels, weighted by how
    much the pair looks like that source's pairs (`domain`, (n, len(STANCE_SOURCES)):
    a news body under a headline reads as FNC-1, a reader comment as ARC or VAST,
    a tweet answering a rumour as RumourEval)."""
    P = sum(domain[:, [i]] * to_stances(s, heads[s]) for i, s in enumerate(STANCE_SOURCES))
    return P / np.maximum(P.sum(1, keepdims=True), 1e-12)


class StanceMethod:
    """Base class: the composition shared by all methods. Subclasses implement
    fit, predict_proba, save and load."""

    name = "base"
    card: dict

    def fit(self, train: dict, encode: Encoder) -> "StanceMethod":
        raise NotImplementedError

    def predict_proba(self, source: str, pairs: Pairs, encode: Encoder, features: dict | None = None) -> np.ndarray:
        """`features`: the pairs' blocks where the caller has them already."""
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, folder: Path) -> "StanceMethod":
        raise NotImplementedError

    def features(self, pairs: Pairs, encode: Encoder) -> dict | None:
        """What predict_proba reads, computed once for all heads (None: nothing shared)."""
        return None

    def domain_proba(self, pairs: Pairs, encode: Encoder, features: dict | None = None) -> np.ndarray:
        """(n, len(STANCE_SOURCES)): how much each pair looks like each source's pairs."""
        raise NotImplementedError

    def stance_parts(self, pairs: Pairs, encode: Encoder, features: dict | None = None
                     ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """What the five stances are composed from: the domain shares and each stance
        source's answer in its own labels (non-empty `pairs`)."""
        features = features if features is not None else self.features(pairs, encode)
        return (self.domain_proba(pairs, encode, features),
                {s: self.predict_proba(s, pairs, encode, features=features) for s in STANCE_SOURCES})

    def stance_proba(self, pairs: Pairs, encode: Encoder, features: dict | None = None) -> np.ndarray:
        """(n, 5) in LABELS order, toward an article, headline, claim or topic (compose)."""
        if len(pairs) == 0:
            return np.zeros((0, len(LABELS)))
        return compose(*self.stance_parts(pairs, encode, features))

    def reply_proba(self, parents: Sequence[str], texts: Sequence[str], encode: Encoder,
                    features: dict | None = None) -> np.ndarray:
        """(n, 3) in REPLY_LABELS order: the reply toward the comment it answers
        (`features`: of the pairs (parents as targets, texts))."""
        if len(texts) == 0:
            return np.zeros((0, len(REPLY_LABELS)))
        return self.predict_proba(REPLY_SOURCE, Pairs(list(parents), list(texts)), encode, features=features)

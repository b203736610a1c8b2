"""The interface every stance method has (the shipped model and the baselines alike).

A method is trained on several labelled sources at once, each in its own label
space (SOURCES), and answers per source: `predict_proba(source, pairs, encode)`
gives that source's labels in SOURCES order. The pipeline's five stances toward
an article, and the reply stance toward the comment answered, are composed from
those per-source answers the same way for every method (`stance_proba`,
`reply_proba`), so swapping the method (config `stance.method`) swaps only the
estimator.

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


COMPOSED = ("arc", "vast", "rumoureval")  # the sources the five stances are read from


def compose(arc: np.ndarray, vast: np.ndarray, rumour: np.ndarray) -> np.ndarray:
    """The five stances from the per-source answers: off topic from ARC's reader
    comments (unrelated), the side from ARC's and VAST's reader comments averaged
    (agree / disagree / neither), and a question from RumourEval's query among
    what takes no side."""
    related = 1.0 - arc[:, 3]
    side = arc[:, :3] / np.maximum(arc[:, :3].sum(1, keepdims=True), 1e-12)
    side = (side + vast) / 2.0
    query = rumour[:, 2] / np.maximum(rumour[:, 2] + rumour[:, 3], 1e-12)
    P = np.stack([related * side[:, 0], related * side[:, 1], related * side[:, 2] * (1 - query),
                  related * side[:, 2] * query, arc[:, 3]], 1)
    return P / P.sum(1, keepdims=True)


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

    def stance_proba(self, pairs: Pairs, encode: Encoder, features: dict | None = None) -> np.ndarray:
        """(n, 5) in LABELS order, toward an article or topic (compose)."""
        if len(pairs) == 0:
            return np.zeros((0, len(LABELS)))
        return compose(*(self.predict_proba(s, pairs, encode, features=features) for s in COMPOSED))

    def reply_proba(self, parents: Sequence[str], texts: Sequence[str], encode: Encoder) -> np.ndarray:
        """(n, 3) in REPLY_LABELS order: the reply toward the comment it answers."""
        if len(texts) == 0:
            return np.zeros((0, len(REPLY_LABELS)))
        return self.predict_proba("reddit", Pairs(list(parents), list(texts)), encode)

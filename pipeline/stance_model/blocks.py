"""Feature blocks of a (target, text, parent) pair, shared by every stance method.

    pair     MiniLM [u, v, u*v, |u-v|, cos(u, v)]  (text u, target v; 4*384 + 1)
    parent   [p, u*p, cos(u, p), has parent]       (the text a reply answers; 2*384 + 2)
    lex      term frequencies of target and text over a 5,000-word vocabulary, L2-
             normalised, and their TF-IDF cosine (Riedel et al. 2017), sparse
    cues     cue counts, shape and VADER sentiment of the text and the target, and
             word overlap (features.py)

A method picks the blocks it reads. `Lexicon` is the only fitted part: the
vocabulary and idf, kept as plain arrays.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from pipeline.stance_model._base import Encoder, Pairs
from pipeline.stance_model.features import cue_features, rowwise_overlap, sentiment_features

TOKENS = r"(?u)\b[a-zA-Z][a-zA-Z0-9']+\b"


class Lexicon:
    """The Riedel vocabulary: the most frequent words of the training targets and
    texts (English stop words left out), with idf for the cosine."""

    def __init__(self, max_words: int = 5000) -> None:
        self.max_words = max_words

    def fit(self, docs: Sequence[str]) -> "Lexicon":
        counts = CountVectorizer(max_features=self.max_words, stop_words="english", lowercase=True,
                                 token_pattern=TOKENS).fit(docs)
        self.terms_ = np.array(sorted(counts.vocabulary_), dtype=str)
        self.idf_ = TfidfVectorizer(vocabulary=self.terms_.tolist(), token_pattern=TOKENS,
                                    sublinear_tf=False).fit(docs).idf_.astype(np.float32)
        return self

    def _vectorizers(self):
        if not hasattr(self, "_tf"):
            vocab = {t: i for i, t in enumerate(self.terms_.tolist())}
            self._tf = CountVectorizer(vocabulary=vocab, lowercase=True, token_pattern=TOKENS)
            self._tfidf = TfidfVectorizer(vocabulary=vocab, lowercase=True, token_pattern=TOKENS)
            self._tfidf.idf_ = self.idf_.astype(np.float64)
        return self._tf, self._tfidf

    def features(self, targets: Sequence[str], texts: Sequence[str]) -> sparse.csr_matrix:
        tf, tfidf = self._vectorizers()
        uniq, inverse = np.unique(np.asarray([t or "" for t in targets], dtype=object), return_inverse=True)
        uniq = uniq.tolist()
        t_tf = normalize(tf.transform(uniq).astype(np.float32))[inverse]
        x_tf = normalize(tf.transform([t or "" for t in texts]).astype(np.float32))
        cos = np.asarray(tfidf.transform(uniq)[inverse].multiply(tfidf.transform([t or "" for t in texts]))
                         .sum(1), np.float32)
        return sparse.hstack([t_tf, x_tf, sparse.csr_matrix(cos)], format="csr", dtype=np.float32)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_terms": self.terms_, f"{prefix}_idf": self.idf_}

    @classmethod
    def from_arrays(cls, a: dict, prefix: str) -> "Lexicon":
        obj = cls(len(a[f"{prefix}_terms"]))
        obj.terms_, obj.idf_ = a[f"{prefix}_terms"], a[f"{prefix}_idf"]
        return obj


def _encode_unique(texts: Sequence[str], encode: Encoder) -> np.ndarray:
    uniq, inverse = np.unique(np.asarray([t or "" for t in texts], dtype=object), return_inverse=True)
    return np.asarray(encode(uniq.tolist()), np.float32)[inverse]


def pair_block(pairs: Pairs, encode: Encoder) -> tuple[np.ndarray, np.ndarray]:
    """(pair, parent) dense blocks."""
    u = _encode_unique(pairs.texts, encode)
    v = _encode_unique(pairs.targets, encode)
    n = len(pairs)
    parents = list(pairs.parents) if pairs.parents is not None else [None] * n
    has_p = np.array([bool(p) for p in parents])
    p = np.zeros_like(u)
    if has_p.any():
        p[has_p] = _encode_unique([parents[i] for i in np.flatnonzero(has_p)], encode)
    pair = np.hstack([u, v, u * v, np.abs(u - v), np.sum(u * v, 1, keepdims=True)])
    parent = np.hstack([p, u * p, np.sum(u * p, 1, keepdims=True), has_p[:, None].astype(np.float32)])
    return pair.astype(np.float32), parent.astype(np.float32)


def cue_block(pairs: Pairs, lexicon: Lexicon) -> np.ndarray:
    """Cues and sentiment of the text, sentiment of the target, word overlap, lengths."""
    tf, _ = lexicon._vectorizers()
    x_lex = normalize(tf.transform([t or "" for t in pairs.texts]).astype(np.float32))
    t_lex = normalize(tf.transform([t or "" for t in pairs.targets]).astype(np.float32))
    s_x, s_t = sentiment_features(pairs.texts), sentiment_features(pairs.targets)
    lengths = np.log1p([[len(t or ""), len(x or "")] for t, x in zip(pairs.targets, pairs.texts)])
    return np.hstack([cue_features(pairs.texts), s_x, s_t, (s_x[:, 3] * s_t[:, 3])[:, None],
                      rowwise_overlap(x_lex.tocsr(), t_lex.tocsr()), lengths]).astype(np.float32)


def featurize(pairs: Pairs, lexicon: Lexicon, encode: Encoder, blocks: Sequence[str]) -> dict:
    """The named blocks of `pairs`."""
    out: dict = {}
    if {"pair", "parent"} & set(blocks):
        out["pair"], out["parent"] = pair_block(pairs, encode)
    if "lex" in blocks:
        out["lex"] = lexicon.features(pairs.targets, pairs.texts)
    if "cues" in blocks:
        out["cues"] = cue_block(pairs, lexicon)
    return {k: out[k] for k in blocks}

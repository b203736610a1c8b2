"""Features for the stance networks: MiniLM blocks, lexical overlap, cue counts, VADER sentiment.

Pure code, no file reads. ``encode(list[str]) -> (n, 384)`` L2-normalised
float32 MiniLM vectors is passed in, so production passes its cached embedder.
Everything on the target side is computed once per distinct target.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

Encoder = Callable[[list[str]], np.ndarray]

# Hand-written, generic English cue families, counted once per text (one regex each).
_W = r"(?<![\w'])(?:{})(?![\w'])"
CUES: dict[str, str] = {
    "negation": _W.format(r"not|no|never|none|nobody|nothing|neither|nor|cannot|can't|won't|don't|doesn't|"
                          r"didn't|isn't|aren't|wasn't|weren't|shouldn't|wouldn't|couldn't|hasn't|haven't|n't"),
    "refute": _W.format(r"fake|hoax|false|falsely|debunk\w*|den(?:y|ies|ied)|untrue|not true|lie|lies|lying|liar|"
                        r"myth|fabricat\w*|misleading|bogus|rumou?rs?|satire|retract\w*|wrong|nonsense|bullshit|bs|"
                        r"ridiculous|absurd|propaganda|conspiracy"),
    "doubt": _W.format(r"allegedly|reportedly|apparently|unconfirmed|unverified|claim\w*|suppos\w*|doubt\w*|"
                       r"skeptic\w*|sceptic\w*|suspicious|really|believe|unclear|uncertain"),
    "hedge": _W.format(r"may|might|could|perhaps|possibly|probably|seems?|appears?|likely|unlikely|suggests?|"
                       r"think|guess|maybe|if"),
    "source_req": _W.format(r"source|sources|proof|evidence|link|citation|confirm\w*|verify|verified|verification|"
                            r"official|credible|reliable|who says|says who"),
    "wh": _W.format(r"what|why|how|who|where|when|which|whose|is it|are they|is this|is that|did|does|do you"),
    "agree": _W.format(r"agree\w*|exactly|indeed|of course|absolutely|definitely|right|true|correct|yes|yeah|yep|"
                       r"well said|good point|great point|support\w*|totally|so true|thank\w*|confirmed|\+1"),
    "disagree": _W.format(r"disagree\w*|wrong|no|nope|nah|false|incorrect|nonsense|stupid|idiot\w*|ignorant|"
                          r"moron\w*|ridiculous|against|oppose\w*|however|but"),
    "positive": _W.format(r"good|great|best|better|love|like|happy|glad|benefit\w*|important|helpful|safe|fair|"
                          r"right|well|nice|awesome|brave|hero\w*|pray\w*|hope"),
    "negative": _W.format(r"bad|worse|worst|hate|awful|terrible|sad|horrible|harm\w*|danger\w*|evil|disgust\w*|"
                          r"shame\w*|sick|kill\w*|dead|death|attack\w*|terror\w*|fear|angry|fuck\w*|shit\w*|damn"),
    "pronoun_you": _W.format(r"you|your|you're|yours"),
    "pronoun_i": _W.format(r"i|i'm|i've|me|my|mine"),
    "report": _W.format(r"said|says|according|reported|reports|told|statement|spokes\w*|police|officials?|news|"
                        r"breaking"),
}
_CUE_RES = [re.compile(v, re.I) for v in CUES.values()]
TOKEN_RE = re.compile(r"[A-Za-z0-9']+")
_SENT_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_QSTART_RE = re.compile(r"(what|why|how|who|where|when|which|is|are|did|does|do|can|could|really)\b")

ANCHORS: tuple[str, ...] = (
    "Yes, I agree. It is true that {}",
    "Exactly right: {}",
    "No, I disagree. It is false that {}",
    "This is fake news and a lie: {}",
    "Is it true that {}? Any source or evidence?",
    "Something completely different, not about {}",
)


# A generic approval axis (stance of a comment toward what a text reports): its sign times
# the target's own position on the axis says agree vs disagree for evaluative comments.
APPROVAL = ("I strongly support this. It is a good thing and I am in favour of it.",
            "I strongly oppose this. It is a bad thing and I am against it.")


GENERIC_HEAD = "what the previous comment says"


def n_tokens(texts: Sequence[str]) -> np.ndarray:
    return np.array([len(TOKEN_RE.findall(t or "")) for t in texts], np.float32)


def split_sentences(text: str, max_sents: int = 40, min_chars: int = 15) -> list[str]:
    sents = [s.strip() for s in _SENT_RE.split(text or "") if len(s.strip()) >= min_chars]
    return sents[:max_sents] or [text or ""]


_VADER = None


def sentiment_features(texts: Sequence[str | None]) -> np.ndarray:
    """(n, 4) VADER neg, neu, pos, compound of each text (zeros for None); each distinct
    text is scored once, and only its first 2,000 characters (VADER reads words one
    by one, so a news body would otherwise cost more than its embedding)."""
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    out = np.zeros((len(texts), 4), np.float32)
    seen: dict[str, list[float]] = {}
    for i, t in enumerate(texts):
        if t is None:
            continue
        if t not in seen:
            s = _VADER.polarity_scores(t[:2000])
            seen[t] = [s["neg"], s["neu"], s["pos"], s["compound"]]
        out[i] = seen[t]
    return out


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """Per text: log1p count of each cue family, then shape features."""
    k = len(_CUE_RES)
    out = np.zeros((len(texts), k + 9), np.float32)
    for i, t in enumerate(texts):
        t = t or ""
        s = t.strip()
        first = s.split(None, 1)[0].lower() if s else ""
        n_tok = len(TOKEN_RE.findall(t))
        out[i] = [len(r.findall(t)) for r in _CUE_RES] + [
            t.count("?"), float(s.endswith("?")), float(bool(_QSTART_RE.match(first))), t.count("!"),
            len(_URL_RE.findall(t)), float(s.startswith("@")),
            sum(c.isupper() for c in t) / max(1, sum(c.isalpha() for c in t)), np.log1p(n_tok), float(n_tok <= 6)]
    for j in list(range(k + 1)) + [k + 3, k + 4]:
        out[:, j] = np.log1p(out[:, j])
    return out


class Tfidf:
    """A TfidfVectorizer over unigram content words (for word overlap) that saves as
    plain arrays (terms + idf)."""

    PARAMS = dict(lowercase=True, stop_words="english", sublinear_tf=True,
                  token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9]+\b", dtype=np.float32)

    def __init__(self, max_features: int = 20000, min_df: int = 2) -> None:
        self.vec = TfidfVectorizer(max_features=max_features, min_df=min_df, **self.PARAMS)

    def fit(self, docs: Sequence[str]) -> "Tfidf":
        self.vec.fit(docs)
        return self

    def transform(self, docs: Sequence[str]) -> sparse.csr_matrix:
        return self.vec.transform([d or "" for d in docs]).tocsr()

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_terms": np.array(self.vec.get_feature_names_out(), dtype=str),
                f"{prefix}_idf": self.vec.idf_.astype(np.float32)}

    @classmethod
    def from_arrays(cls, a: dict, prefix: str) -> "Tfidf":
        obj = cls()
        terms = a[f"{prefix}_terms"].tolist()
        obj.vec = TfidfVectorizer(vocabulary={t: i for i, t in enumerate(terms)}, **cls.PARAMS)
        obj.vec.idf_ = a[f"{prefix}_idf"].astype(np.float64)
        return obj


def rowwise_overlap(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
    """tf-idf cosine, Jaccard, |a&b|/|b|, |a&b|/|a| of aligned sparse rows."""
    cos = np.asarray(a.multiply(b).sum(1)).ravel()
    ab, bb = (a > 0).astype(np.float32), (b > 0).astype(np.float32)
    inter = np.asarray(ab.multiply(bb).sum(1)).ravel()
    na, nb = np.asarray(ab.sum(1)).ravel(), np.asarray(bb.sum(1)).ravel()
    return np.stack([cos, inter / np.maximum(1.0, na + nb - inter), inter / np.maximum(1.0, nb),
                     inter / np.maximum(1.0, na)], 1)


def _sentence_sims(x: np.ndarray, t_idx: np.ndarray, uniq_t: list[str], encode: Encoder) -> np.ndarray:
    """Max and top-3-mean cosine between each text and its target's sentences."""
    sents = [split_sentences(t) for t in uniq_t]
    emb = encode([s for ss in sents for s in ss])
    bounds = np.cumsum([0] + [len(s) for s in sents])
    out = np.zeros((len(x), 2), np.float32)
    for j in range(len(uniq_t)):
        rows = np.flatnonzero(t_idx == j) if len(uniq_t) > 1 else np.arange(len(x))
        if len(rows):
            sims = np.sort(x[rows] @ emb[bounds[j]:bounds[j + 1]].T, 1)
            out[rows, 0], out[rows, 1] = sims[:, -1], sims[:, -3:].mean(1)
    return out


def dense_features(overlap: Tfidf, targets: Sequence[str], texts: Sequence[str],
                   parents: Sequence[str | None] | None, encode: Encoder,
                   use_parent: bool = True, per_target: bool = True) -> np.ndarray:
    """(n, 4*384 + 63) or (n, 3*384 + 63) float32: x, x*t, x*polarity, [x*p], scalars.

    per_target=False is for targets that are themselves comments (the reply
    head, one target per reply): the anchor sentences are built once around a
    generic head instead of each target's first sentence, and the target counts
    as one sentence, so nothing is embedded per target beyond the target itself,
    which the pipeline has cached already."""
    n = len(texts)
    parents = list(parents) if parents is not None else [None] * n
    uniq_t, t_idx = np.unique(np.asarray([str(t) for t in targets], dtype=object), return_inverse=True)
    uniq_t = uniq_t.tolist()
    x = np.asarray(encode(list(texts)), np.float32)
    t = np.asarray(encode(uniq_t), np.float32)[t_idx]
    x_lex, t_lex = overlap.transform(texts), overlap.transform(uniq_t)[t_idx]
    if per_target:
        heads = [split_sentences(u, max_sents=1, min_chars=1)[0][:300] for u in uniq_t]
        anchors = np.asarray(encode([a.format(h) for h in heads for a in ANCHORS]), np.float32)
        anchors = anchors.reshape(len(uniq_t), len(ANCHORS), -1)[t_idx]
    else:
        generic = np.asarray(encode([a.format(GENERIC_HEAD) for a in ANCHORS]), np.float32)
        anchors = np.broadcast_to(generic, (n, *generic.shape))
    a_sims = np.einsum("nd,nkd->nk", x, anchors)
    polarity = anchors[:, :2].mean(1) - anchors[:, 2:4].mean(1)
    has_p = np.array([p is not None for p in parents])
    p = np.zeros_like(x)
    p_lex = np.zeros((n, 4), np.float32)
    if has_p.any():
        pt = [parents[i] for i in np.flatnonzero(has_p)]
        p[has_p] = encode(pt)
        p_lex[has_p] = rowwise_overlap(x_lex[has_p], overlap.transform(pt))
    ap = np.asarray(encode(list(APPROVAL)), np.float32)
    axis = ap[0] - ap[1]
    ax, at, apar = x @ axis, t @ axis, p @ axis
    s_x, s_p = sentiment_features(texts), sentiment_features(parents)
    s_t = sentiment_features(uniq_t)[t_idx]
    scal = np.hstack([
        np.stack([ax, at, ax * at, ax * apar, ax * np.sign(at)], 1),
        np.sum(x * t, 1, keepdims=True), a_sims,
        a_sims[:, :2].mean(1, keepdims=True) - a_sims[:, 2:4].mean(1, keepdims=True),
        (_sentence_sims(x, t_idx, uniq_t, encode) if per_target
         else np.repeat(np.sum(x * t, 1, keepdims=True), 2, axis=1)),
        rowwise_overlap(x_lex, t_lex),
        np.log1p(np.asarray([len(s) for s in uniq_t], np.float32))[t_idx][:, None],
        has_p[:, None].astype(np.float32), np.sum(x * p, 1, keepdims=True), np.sum(p * t, 1, keepdims=True),
        p_lex, cue_features(texts),
        s_x, s_t, s_p, (s_x[:, 3] * s_t[:, 3])[:, None], (s_x[:, 3] * s_p[:, 3])[:, None]])
    blocks = [x, x * t, x * polarity] + ([x * p] if use_parent else []) + [scal]
    return np.hstack(blocks).astype(np.float32)

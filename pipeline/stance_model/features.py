"""Text features for the stance methods (blocks.py's cues block): hand-written cue
counts, shape, VADER sentiment and word overlap. Pure code, no file reads."""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

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
_URL_RE = re.compile(r"https?://\S+|www\.\S+")
_QSTART_RE = re.compile(r"(what|why|how|who|where|when|which|is|are|did|does|do|can|could|really)\b")

def n_tokens(texts: Sequence[str]) -> np.ndarray:
    return np.array([len(TOKEN_RE.findall(t or "")) for t in texts], np.float32)


_VADER = None
# texts whose sentiment and cues are kept between calls: a batch's stance pairs and its reply
# pairs read the same comments (as texts, and as the parents replies answer)
MEMO = 16_384


def _vader():
    """VADER's analyser with its two per-word checks given only the words they read.
    For each sentiment word VADER lower-cases the whole text's word list, twice, to
    read at most three words either side of it (`_negation_check`,
    `_special_idioms_check`): quadratic in a text's length, most of the stance stage
    on long posts. Given the words from three before to two after (and the word's
    place among them), the checks read the same words and the same bounds, so the
    scores are VADER's own to the last bit (tests/test_stance_model.py)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    class Analyzer(SentimentIntensityAnalyzer):
        def _negation_check(self, valence, words, start_i, i):
            low = max(0, i - 3)
            return SentimentIntensityAnalyzer._negation_check(valence, words[low:i + 3], start_i, i - low)

        def _special_idioms_check(self, valence, words, i):
            low = max(0, i - 3)
            return SentimentIntensityAnalyzer._special_idioms_check(valence, words[low:i + 3], i - low)

    return Analyzer()


@lru_cache(maxsize=MEMO)
def _polarity(head: str) -> tuple[float, float, float, float]:
    global _VADER
    if _VADER is None:
        _VADER = _vader()
    s = _VADER.polarity_scores(head)
    return s["neg"], s["neu"], s["pos"], s["compound"]


def sentiment_features(texts: Sequence[str | None]) -> np.ndarray:
    """(n, 4) VADER neg, neu, pos, compound of each text (zeros for None); each distinct
    text is scored once (and kept for the next call: MEMO), and only its first 2,000
    characters (VADER reads words one by one, so a news body would otherwise cost more
    than its embedding)."""
    out = np.zeros((len(texts), 4), np.float32)
    for i, t in enumerate(texts):
        if t is not None:
            out[i] = _polarity(t[:2000])
    return out


@lru_cache(maxsize=MEMO)
def _cue_row(t: str) -> tuple[float, ...]:
    s = t.strip()
    first = s.split(None, 1)[0].lower() if s else ""
    n_tok = len(TOKEN_RE.findall(t))
    return (*[len(r.findall(t)) for r in _CUE_RES],
            t.count("?"), float(s.endswith("?")), float(bool(_QSTART_RE.match(first))), t.count("!"),
            len(_URL_RE.findall(t)), float(s.startswith("@")),
            sum(map(str.isupper, t)) / max(1, sum(map(str.isalpha, t))), np.log1p(n_tok), float(n_tok <= 6))


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """Per text: log1p count of each cue family, then shape features (each distinct text
    read once, and kept for the next call: MEMO)."""
    k = len(_CUE_RES)
    out = np.zeros((len(texts), k + 9), np.float32)
    for i, t in enumerate(texts):
        out[i] = _cue_row(t or "")
    for j in list(range(k + 1)) + [k + 3, k + 4]:
        out[:, j] = np.log1p(out[:, j])
    return out


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Each row (or a vector) at unit length, in float64."""
    X = np.asarray(X, np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-9)


def rowwise_overlap(a: sparse.csr_matrix, b: sparse.csr_matrix) -> np.ndarray:
    """Cosine (of the vectors given: L2-normalised term frequencies here), Jaccard,
    |a&b|/|b|, |a&b|/|a| of aligned sparse rows."""
    cos = np.asarray(a.multiply(b).sum(1)).ravel()
    ab, bb = (a > 0).astype(np.float32), (b > 0).astype(np.float32)
    inter = np.asarray(ab.multiply(bb).sum(1)).ravel()
    na, nb = np.asarray(ab.sum(1)).ravel(), np.asarray(bb.sum(1)).ravel()
    return np.stack([cos, inter / np.maximum(1.0, na + nb - inter), inter / np.maximum(1.0, nb),
                     inter / np.maximum(1.0, na)], 1)

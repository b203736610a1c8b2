"""Text features for the stance methods (blocks.py's cues block): hand-written cue
counts, shape, VADER sentiment and word overlap. Pure code, no file reads."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy import sparse

# Hand-written, generic English cue families, counted once per text. Each is one
# pattern (CUES, a match never inside a run of word characters and apostrophes), but
# the counts come from the text's runs (`_cue_counts`), not from twelve scans of it.
_W = r"(?<![\w'])(?:{})(?![\w'])"
CUE_ALTERNATIVES: dict[str, str] = {
    "negation": r"not|no|never|none|nobody|nothing|neither|nor|cannot|can't|won't|don't|doesn't|"
                r"didn't|isn't|aren't|wasn't|weren't|shouldn't|wouldn't|couldn't|hasn't|haven't|n't",
    "refute": r"fake|hoax|false|falsely|debunk\w*|den(?:y|ies|ied)|untrue|not true|lie|lies|lying|liar|"
              r"myth|fabricat\w*|misleading|bogus|rumou?rs?|satire|retract\w*|wrong|nonsense|bullshit|bs|"
              r"ridiculous|absurd|propaganda|conspiracy",
    "doubt": r"allegedly|reportedly|apparently|unconfirmed|unverified|claim\w*|suppos\w*|doubt\w*|"
             r"skeptic\w*|sceptic\w*|suspicious|really|believe|unclear|uncertain",
    "hedge": r"may|might|could|perhaps|possibly|probably|seems?|appears?|likely|unlikely|suggests?|"
             r"think|guess|maybe|if",
    "source_req": r"source|sources|proof|evidence|link|citation|confirm\w*|verify|verified|verification|"
                  r"official|credible|reliable|who says|says who",
    "wh": r"what|why|how|who|where|when|which|whose|is it|are they|is this|is that|did|does|do you",
    "agree": r"agree\w*|exactly|indeed|of course|absolutely|definitely|right|true|correct|yes|yeah|yep|"
             r"well said|good point|great point|support\w*|totally|so true|thank\w*|confirmed|\+1",
    "disagree": r"disagree\w*|wrong|no|nope|nah|false|incorrect|nonsense|stupid|idiot\w*|ignorant|"
                r"moron\w*|ridiculous|against|oppose\w*|however|but",
    "positive": r"good|great|best|better|love|like|happy|glad|benefit\w*|important|helpful|safe|fair|"
                r"right|well|nice|awesome|brave|hero\w*|pray\w*|hope",
    "negative": r"bad|worse|worst|hate|awful|terrible|sad|horrible|harm\w*|danger\w*|evil|disgust\w*|"
                r"shame\w*|sick|kill\w*|dead|death|attack\w*|terror\w*|fear|angry|fuck\w*|shit\w*|damn",
    "pronoun_you": r"you|your|you're|yours",
    "pronoun_i": r"i|i'm|i've|me|my|mine",
    "report": r"said|says|according|reported|reports|told|statement|spokes\w*|police|officials?|news|"
              r"breaking",
}
CUES: dict[str, str] = {name: _W.format(alts) for name, alts in CUE_ALTERNATIVES.items()}


def _split_alternatives(alts: str) -> list[str]:
    """The top-level alternatives of an alternation (a `|` inside a group stays)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(alts):
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            out.append(alts[start:i])
            start = i + 1
    return out + [alts[start:]]


# The shapes an alternative may take, so the runs give the counts the patterns give:
# a word (letters, apostrophes, `\w*`, `?`, a group of letters) matches one whole run;
# a phrase (two literal words and one space) two runs with a single space between; a
# literal "+" and a word, the run after a "+" that follows no word character.
_WORD_ALT = re.compile(r"(?:[a-z0-9']|\\w\*|\?|\(\?:[a-z|]+\))+")
_PHRASE_ALT = re.compile(r"[a-z0-9']+ [a-z0-9']+")
_PLUS_ALT = re.compile(r"\\\+([a-z0-9']+)")
_RUN_SPLIT = re.compile(r"([\w']+)")  # the patterns' edge: text between runs, each run, ...


def _cue_tables(alternatives: dict[str, str]):
    """Per cue: its words as one pattern, its phrases' first words and its phrases, its
    "+" words; an alternative of another shape raises (the runs could not count it)."""
    words, phrases, plus = [], [], []
    for name, alts in alternatives.items():
        w, p, q = [], [], []
        for alt in _split_alternatives(alts):
            if re.fullmatch(alt, "", re.I):
                raise ValueError(f"cue {name!r}: {alt!r} matches an empty string (no run to count it by)")
            if _WORD_ALT.fullmatch(alt):
                w.append(alt)
            elif _PHRASE_ALT.fullmatch(alt):
                p.append(alt)
            elif _PLUS_ALT.fullmatch(alt):
                q.append(_PLUS_ALT.fullmatch(alt).group(1))
            else:
                raise ValueError(f"cue {name!r}: {alt!r} is neither a word, a two-word phrase nor '+' and a word")
        compiled = [re.compile(f"(?:{'|'.join(x)})", re.I) if x else None for x in (w, p, q)]
        leads = re.compile(f"(?:{'|'.join(a.split(' ')[0] for a in p)})", re.I) if p else None
        # where a phrase's first word, or the word after "+", were also a word of the cue, or
        # the word after "+" began a phrase, which alternative the pattern takes first (and
        # whether a phrase then takes the next run) would decide the count: not handled
        for word in [a.split(" ")[0] for a in p] + q:
            if compiled[0] is not None and compiled[0].fullmatch(word):
                raise ValueError(f"cue {name!r}: {word!r} is both a word and begins a phrase")
        for word in q:
            if leads is not None and leads.fullmatch(word):
                raise ValueError(f"cue {name!r}: {word!r} follows a '+' and begins a phrase")
        words.append(compiled[0]), phrases.append((leads, compiled[1])), plus.append(compiled[2])
    return words, phrases, plus


_WORDS, _PHRASES, _PLUS = _cue_tables(CUE_ALTERNATIVES)
_ANY_WORD = re.compile("|".join(f"(?:{CUE_ALTERNATIVES[n]})" for n in CUES), re.I)
_ANY_SPECIAL = re.compile("|".join(r.pattern for r in [*(lead for lead, _ in _PHRASES), *_PLUS] if r is not None),
                          re.I)
_RUNS: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {}


def _run_cues(run: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """The cues a run is a word of, those a phrase of begins with it, and those whose
    "+" word it is (each distinct run read once, kept in _RUNS)."""
    got = _RUNS.get(run)
    if got is None:
        words = (tuple(f for f, r in enumerate(_WORDS) if r is not None and r.fullmatch(run))
                 if _ANY_WORD.fullmatch(run) else ())
        leads, plus = (), ()
        if _ANY_SPECIAL.fullmatch(run):
            leads = tuple(f for f, (lead, _) in enumerate(_PHRASES) if lead is not None and lead.fullmatch(run))
            plus = tuple(f for f, r in enumerate(_PLUS) if r is not None and r.fullmatch(run))
        got = _RUNS[run] = (words, leads, plus)
    return got


def _cue_counts(t: str) -> list[int]:
    """How many times each cue's pattern (CUES) matches in t, as `re.findall` counts
    them (tests/test_stance_model.py compares the two), from t's runs: each whole run
    that is a word of the cue, each phrase of two runs (its second run then taken), each
    "+" word."""
    if len(_RUNS) > 200_000:  # memory stays flat on a large corpus
        _RUNS.clear()
    parts = _RUN_SPLIT.split(t)
    runs, gaps = parts[1::2], parts[0::2]  # gaps[i] before runs[i], gaps[i + 1] after it
    counts = [0] * len(_WORDS)
    special = set()
    for run, n in Counter(runs).items():
        words, leads, plus = _run_cues(run)
        for f in words:
            counts[f] += n
        if leads or plus:
            special.add(run)
    if special:
        taken = [-1] * len(_WORDS)  # per cue, the last run a phrase took
        for i, run in enumerate(runs):
            if run not in special:
                continue
            _, leads, plus = _RUNS[run]
            for f in leads:
                if (i > taken[f] and i + 1 < len(runs) and gaps[i + 1] == " "
                        and _PHRASES[f][1].fullmatch(f"{run} {runs[i + 1]}")):
                    counts[f] += 1 - (f in _run_cues(runs[i + 1])[0])
                    taken[f] = i + 1
            for f in plus:
                gap = gaps[i]
                if i > taken[f] and gap.endswith("+") and (len(gap) > 1 or i == 0):
                    counts[f] += 1
    return counts


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
    return (*_cue_counts(t),
            t.count("?"), float(s.endswith("?")), float(bool(_QSTART_RE.match(first))), t.count("!"),
            len(_URL_RE.findall(t)), float(s.startswith("@")),
            sum(map(str.isupper, t)) / max(1, sum(map(str.isalpha, t))), np.log1p(n_tok), float(n_tok <= 6))


def cue_features(texts: Sequence[str]) -> np.ndarray:
    """Per text: log1p count of each cue family, then shape features (each distinct text
    read once, and kept for the next call: MEMO)."""
    k = len(CUES)
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

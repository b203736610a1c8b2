"""The thread as the unit of stance: all comments of a thread decided together.

The pair model (stance-heads) reads one (article, comment) pair at a time. On real
comment sections that is not enough (docs/stance.md, "Threads"): a third of a
thread is banter between readers, and which side a comment is on shows less in its
own words than in whom it answers and who wrote it. Read from the five labelled
news threads: a reply that agrees with its parent is on its parent's side and one
that disagrees is on the other (194 of 200 labelled pairs), and an author keeps
his side (616 of 621 pairs of the same author's comments). So the reader:

1. **Off topic**: a logistic regression over how close a comment is to the
   article, to its title and to the thread as a whole (absolute, and relative to
   the thread's other comments), whether it is a reply and how close to what it
   answers, and its length, gives P(unrelated).
2. **Sides**: each on-topic comment has a side m in [-1, 1] (agree .. disagree),
   found by mean-field inference on a signed graph: its own evidence (the pair
   model's agree-versus-disagree log-odds, and the article's side prior below)
   plus the sides of the comments it is linked to: its parent and its replies,
   weighted by the reply model's agree minus disagree (a disagreeing reply pulls
   to the other side), and the same author's other comments.
3. **The article's side** (`w_prior`, `w_tone`): the lead's VADER compound read
   as the article's sentiment toward its subject, as a prior for every comment or
   times the comment's own tone. Measured and kept at 0 in the shipped reader
   (docs/stance.md: it learnt one site's readers, not the article); `side_note`
   says in words how the side was read either way.

4. **Replies to a rumour post** (`defer_above`, rumour_replies.py): a thread whose
   comments the pair model's domain model reads as RumourEval's is not read as a
   news comment section: each comment gets the pair model's RumourEval head times
   a regression fitted on RumourEval's train threads.

The five stances: P(unrelated) from 1; the rest split into query (the pair
model's query share, for comments that ask), discuss (where the side is unsure:
1 - |m|, scaled by the pair model's discuss share) and agree / disagree by m.
The reply stance toward the comment answered follows the two sides where both
are on topic (same side: agree, other side: disagree), blended with the reply
model's own reading.

Parameters: a handful of numbers (thread_reader.json beside the pair model's
weights; JSON, no code), fitted by pipeline/stance_train/threads.py.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from pipeline.clean import author_key
from pipeline.records import REPLY_LABELS, STANCE_LABELS
from pipeline.stance_model.features import unit_rows
from pipeline.stance_model.rumour_replies import RumourReplies

FILE = "thread_reader.json"
NO_AUTHOR = {"", "(no name)", "[deleted]", "[removed]", "deleted", "anonymous", "guest"}
RELEVANCE_FEATURES = ("z_cos_target", "cos_target", "z_cos_title", "z_cos_thread", "cos_thread", "is_reply",
                      "cos_parent", "log_tokens")


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-6) if len(x) else x


@dataclass
class ThreadInput:
    """What the reader needs of one thread, rows in comment order."""

    own: np.ndarray          # (n, 5) the pair model's stances
    reply: np.ndarray        # (n, 3) its reply stances (NaN rows: no parent)
    vectors: np.ndarray      # (n, d) comment embeddings
    target_vector: np.ndarray  # (d,) the article target (title and lead)
    title_vector: np.ndarray   # (d,) the title alone
    parent: Sequence[int | None]  # row of the comment answered, or None
    authors: Sequence[str]
    texts: Sequence[str]
    target: str                   # the target's text, for the article's side
    domain: np.ndarray | None = None  # (n, len(STANCE_SOURCES)) the pair model's domain shares, where given
    rumour: np.ndarray | None = None  # (n, 5) its RumourEval head's answer in the five stances, where given
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def tone(self) -> np.ndarray:
        """VADER compound of each comment (computed once)."""
        if "tone" not in self._memo:
            from pipeline.stance_model.features import sentiment_features

            self._memo["tone"] = sentiment_features(list(self.texts))[:, 3].astype(np.float64)
        return self._memo["tone"]

    def article_sentiment(self) -> float:
        if "article" not in self._memo:
            self._memo["article"] = ThreadReader.article_sentiment(self.target)
        return self._memo["article"]

    def relevance_features(self) -> np.ndarray:
        if "relevance" not in self._memo:
            self._memo["relevance"] = self._relevance_features()
        return self._memo["relevance"]

    CHUNK = 50_000  # rows made unit length at a time: a million comments' float64 copy is GBs

    def _relevance_features(self) -> np.ndarray:
        n = len(self.texts)
        if n == 0:
            return np.zeros((0, len(RELEVANCE_FEATURES)))
        if n <= self.CHUNK:
            E = unit_rows(self.vectors)
            mean = E.mean(0)
        else:  # the same sums, chunk by chunk
            mean = sum(unit_rows(self.vectors[s:s + self.CHUNK]).sum(0) for s in range(0, n, self.CHUNK)) / n
        target, title, centre = unit_rows(self.target_vector), unit_rows(self.title_vector), unit_rows(mean)
        ca, ct, cc, cp = (np.zeros(n) for _ in range(4))
        parent = np.array([-1 if p is None else p for p in self.parent], dtype=np.int64)
        for s in range(0, n, self.CHUNK):
            rows = slice(s, s + self.CHUNK)
            chunk = E[rows] if n <= self.CHUNK else unit_rows(self.vectors[rows])
            ca[rows], ct[rows], cc[rows] = chunk @ target, chunk @ title, chunk @ centre
            for k in np.flatnonzero(parent[rows] >= 0):
                p = parent[s + k]
                cp[s + k] = chunk[k] @ (E[p] if n <= self.CHUNK else unit_rows(self.vectors[p]))
        is_reply = (parent >= 0).astype(np.float64)
        from pipeline.stance_model.features import n_tokens

        return np.column_stack([_z(ca), ca, _z(ct), _z(cc), cc, is_reply, cp, np.log1p(n_tokens(self.texts))])


@dataclass
class ThreadReader:
    """The fitted parameters (see the module's docstring) and how to read a thread."""

    relevance_coef: np.ndarray            # (len(RELEVANCE_FEATURES),) on standardised features
    relevance_intercept: float
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    w_pair: float = 0.5                   # the pair model's agree-vs-disagree log-odds
    w_prior: float = 0.0                  # the article's side prior (minus the lead's sentiment)
    bias: float = 0.0                     # a constant lean toward agree
    w_tone: float = 0.0                   # the comment's tone times the article's (same tone: agree)
    relevance_shift: float = 0.0          # added to the off-topic log-odds (the threshold)
    w_discuss: float = 1.0                # scales the discuss share (pair model's discuss x unsure side)
    unsure_power: float = 1.0             # how much an unsure side adds to discuss (0: the pair model's alone)
    pair_mix: float = 0.0                 # share of the pair model's own stances in the answer
    temperature: float = 1.0              # the stances' confidence, fitted on held-out labels (P ** (1 / T))
    w_author: float = 1.0                 # the same author's other comments (shared among them)
    w_reply: float = 1.0                  # reply edges, times the reply model's agree minus disagree
    defer_above: float = 2.0              # the thread's mean RumourEval domain share at or above which the
                                          # pair model's RumourEval reading is given (above 1: never)
    reply_blend: float = 0.5              # reply stance: weight of the two sides against the reply model
    rumour_replies: RumourReplies | None = None  # how a deferred thread is read, beside the RumourEval head
    iterations: int = 100
    card: dict = field(default_factory=dict)
    # the user's labels of the thread being read, (row, stance index), spread by likeness: each
    # comment's stances times the labels of the labelled comments nearest it (a softmax of cosine /
    # NEIGHBOUR_TAU, smoothed); set by adapted() for one thread, never saved
    labelled: tuple = ()
    NEIGHBOUR_TAU = 0.05
    NEIGHBOUR_SMOOTH = 0.1

    # ---- the parts
    def unrelated(self, features: np.ndarray) -> np.ndarray:
        x = (features - self.feature_mean) / self.feature_scale
        return 1 / (1 + np.exp(-(x @ self.relevance_coef + self.relevance_intercept + self.relevance_shift)))

    @staticmethod
    def article_sentiment(target: str) -> float:
        from pipeline.stance_model.features import sentiment_features

        return float(sentiment_features([target])[0, 3])

    def sides(self, t: ThreadInput, sentiment: float) -> np.ndarray:
        """m in [-1, 1] per comment: mean-field on the signed graph (agree > 0)."""
        n = len(t.texts)
        own = np.log(np.clip(np.asarray(t.own, np.float64), 1e-4, 1.0))
        unary = self.w_pair * (own[:, 0] - own[:, 1]) - self.w_prior * sentiment + self.bias
        if self.w_tone:
            unary = unary + self.w_tone * t.tone() * sentiment
        reply = np.nan_to_num(np.asarray(t.reply, np.float64), nan=0.0)
        rows, cols, weights = [], [], []
        for k, p in enumerate(t.parent):
            if p is not None:
                w = self.w_reply * (reply[k, 0] - reply[k, 1])
                rows += [k, p]; cols += [p, k]; weights += [w, w]
        # the same author's other comments pull k with w_author in all, each alike: w_author times
        # their mean side, from the author's sum (linear in the thread, where all the pairs of a
        # prolific author's comments would grow with the square of them)
        group = np.full(n, -1)
        names: dict[str, int] = {}
        for k, a in enumerate(t.authors):
            key = author_key(a).strip().lower()
            if key not in NO_AUTHOR:  # placeholders name nobody: their comments are not one author's
                group[k] = names.setdefault(key, len(names))
        sizes = np.bincount(group[group >= 0], minlength=len(names))
        linked = (group >= 0) & bool(self.w_author)
        linked[linked] = sizes[group[linked]] > 1
        members, others = group[linked], sizes[group[linked]] - 1.0

        def by_author(m: np.ndarray) -> np.ndarray:
            pull = np.zeros(n)
            if len(members):
                sums = np.bincount(members, weights=m[linked], minlength=len(names))
                pull[linked] = self.w_author * (sums[members] - m[linked]) / others
            return pull

        from scipy import sparse

        J = sparse.csr_matrix((weights, (rows, cols)), shape=(n, n))
        m = np.tanh(unary)
        for _ in range(self.iterations):  # damped, so strong links settle instead of swinging
            new = 0.5 * m + 0.5 * np.tanh(unary + J @ m + by_author(m))
            if np.abs(new - m).max() < 1e-6:
                return new
            m = new
        return m

    def read(self, t: ThreadInput) -> tuple[np.ndarray, np.ndarray, dict]:
        """(n, 5) stances, (n, 3) reply stances (NaN rows where no parent), and what
        was read of the article's side."""
        n = len(t.texts)
        if n == 0:
            return np.zeros((0, len(STANCE_LABELS))), np.zeros((0, len(REPLY_LABELS))), self.side_note(0.0)
        own = np.asarray(t.own, np.float64)
        sentiment = t.article_sentiment()
        if self.defers(t):
            return self.deferred_stances(t, own), np.array(t.reply, np.float64, copy=True), self.deferred_note(t)
        u = self.unrelated(t.relevance_features())
        m = self.sides(t, sentiment)
        asks = np.array(["?" in text for text in t.texts], np.float64)
        q = own[:, STANCE_LABELS.index("query")] * asks
        d = np.clip(self.w_discuss * own[:, STANCE_LABELS.index("discuss")] * (1 - np.abs(m)) ** self.unsure_power,
                    0.0, 1.0)
        on = (1 - u) * (1 - q)
        P = np.column_stack([on * (1 - d) * (1 + m) / 2, on * (1 - d) * (1 - m) / 2, on * d, (1 - u) * q, u])
        P /= P.sum(1, keepdims=True)
        P = (1 - self.pair_mix) * P + self.pair_mix * own / own.sum(1, keepdims=True)
        if self.temperature != 1.0:
            P = np.clip(P, 1e-12, None) ** (1 / self.temperature)
            P /= P.sum(1, keepdims=True)
        if self.labelled:
            P = P * self.neighbour_labels(t)
            P /= P.sum(1, keepdims=True)
        R = np.array(t.reply, np.float64, copy=True)
        for k, p in enumerate(t.parent):
            if p is None or np.isnan(R[k]).any():
                continue
            both_on = (1 - u[k]) * (1 - u[p])
            same = (1 + m[k] * m[p]) / 2  # the two sides agree
            by_sides = np.array([same, 1 - same, 0.0]) * both_on + np.array([0, 0, 1.0]) * (1 - both_on)
            R[k] = self.reply_blend * by_sides + (1 - self.reply_blend) * R[k]
        return P, R, self.side_note(sentiment)

    def neighbour_labels(self, t: ThreadInput) -> np.ndarray:
        """(n, 5): for each comment, the user's labels of the labelled comments weighted by
        their likeness to it (a softmax of the embeddings' cosine), smoothed toward uniform."""
        E = unit_rows(t.vectors)
        rows = [k for k, _ in self.labelled]
        Y = np.zeros((len(rows), len(STANCE_LABELS)))
        Y[np.arange(len(rows)), [label for _, label in self.labelled]] = 1.0
        S = E @ E[rows].T / self.NEIGHBOUR_TAU
        W = np.exp(S - S.max(1, keepdims=True))
        W /= W.sum(1, keepdims=True)
        return (1 - self.NEIGHBOUR_SMOOTH) * (W @ Y) + self.NEIGHBOUR_SMOOTH / len(STANCE_LABELS)

    def rumour_share(self, t: ThreadInput) -> float | None:
        """The thread's mean share of the pair model's RumourEval domain (how much its
        comments read as replies to a rumour post), where the domain shares are given."""
        if t.domain is None or not len(t.domain):
            return None
        from pipeline.stance_model._base import STANCE_SOURCES

        return float(np.asarray(t.domain, np.float64)[:, STANCE_SOURCES.index("rumoureval")].mean())

    def defers(self, t: ThreadInput) -> bool:
        """Whether the thread is left to the pair model: its comments read as replies to a
        rumour post (RumourEval's pairs), which the pair model was trained on and the reader,
        fitted on news comment sections, reads worse (docs/stance.md)."""
        share = self.rumour_share(t)
        return share is not None and share >= self.defer_above

    def deferred_stances(self, t: ThreadInput, own: np.ndarray) -> np.ndarray:
        """A deferred thread's stances: the pair model's RumourEval head times the rumour
        replies' regression where both are given, the head alone without the regression,
        the pair model's own answer without the head."""
        if t.rumour is None:
            return own / own.sum(1, keepdims=True)
        if self.rumour_replies is None:
            head = np.asarray(t.rumour, np.float64)
            return head / head.sum(1, keepdims=True)
        return self.rumour_replies.read(t, t.rumour)

    def deferred_reading(self) -> str:
        """The report's words for a thread left to the pair model (deferred_note's, without the share)."""
        return ("the thread's comments read as replies to a rumour post (the pair model's RumourEval domain share "
                f"at or above {self.defer_above:.2f}), so each comment's stance is " + self._deferred_words())

    def _deferred_words(self) -> str:
        return ("the pair model's reading of it as a reply to a rumour post (its RumourEval head"
                + (", with a regression of rumour replies" if self.rumour_replies is not None else "")
                + "), not the thread reader's")

    def deferred_note(self, t: ThreadInput) -> dict:
        share = self.rumour_share(t)
        return {"article_sentiment": round(t.article_sentiment(), 4), "deferred": True,
                "reading": f"the thread's comments read as replies to a rumour post (the pair model's RumourEval "
                           f"domain share {share:.2f}, at or above {self.defer_above:.2f}): each comment's stance "
                           "is " + self._deferred_words()}

    def uses_article_tone(self) -> bool:
        return bool(self.w_prior or self.w_tone)

    ADAPT_BIAS = tuple(np.linspace(-3, 3, 13))
    ADAPT_SHIFT = (-2.0, -1.0, 0.0, 1.0, 2.0)

    def adapted(self, t: ThreadInput, labels: dict[str, str], ids: Sequence[str]) -> "ThreadReader":
        """A copy fitted to one thread's own labels ({comment id: stance}; `ids` names
        t's rows): its lean toward agree (which side the thread's readers take the
        article to be on) and its off-topic threshold, the pair with the highest
        likelihood of the given labels (a weak pull toward the fitted values); then the
        labels themselves, spread to the comments most like each labelled one
        (neighbour_labels). Seconds, no retraining; with no labels, the reader as it is."""
        rows = [k for k, c in enumerate(ids) if labels.get(c) in STANCE_LABELS]
        if not rows or self.defers(t):
            return self
        gold = np.array([STANCE_LABELS.index(labels[ids[k]]) for k in rows])

        def loglik(bias: float, shift: float) -> float:
            P = replace(self, bias=bias, relevance_shift=self.relevance_shift + shift).read(t)[0]
            return float(np.log(np.clip(P[rows, gold], 1e-6, 1)).sum()) - 0.1 * ((bias - self.bias) ** 2 + shift ** 2)

        bias, shift = max(itertools.product(self.ADAPT_BIAS, self.ADAPT_SHIFT), key=lambda bs: loglik(*bs))
        return replace(self, bias=float(bias), relevance_shift=self.relevance_shift + float(shift),
                       labelled=tuple((k, STANCE_LABELS.index(labels[ids[k]])) for k in rows))

    def side_note(self, sentiment: float) -> dict:
        """What the reader took the article's side to be, in words a reader can check."""
        if not self.uses_article_tone():
            lean = ("leaning to agree where a comment's own words are unclear (readers mostly take the "
                    "article's side)" if self.bias > 0 else "with no lean either way")
            return {"article_sentiment": round(sentiment, 4),
                    "reading": "the article's side was not read from its tone: each comment's side comes from its "
                               f"own words toward the title and lead, {lean}, pulled toward the side of the "
                               "comment it answers (away from it where it disagrees) and of its author's other "
                               "comments"}
        if sentiment <= -0.05:
            words = ("the article reads as critical of its subject (lead sentiment {:+.2f}): comments against "
                     "that subject were read as agreeing with it").format(sentiment)
        elif sentiment >= 0.05:
            words = ("the article reads as favourable to its subject (lead sentiment {:+.2f}): comments against "
                     "that subject were read as disagreeing with it").format(sentiment)
        else:
            words = ("the article's tone is neutral (lead sentiment {:+.2f}): sides were read from the comments "
                     "and the reply tree alone").format(sentiment)
        return {"article_sentiment": round(sentiment, 4), "reading": words}

    # ---- files: JSON numbers only
    def to_json(self) -> dict:
        return {"relevance": {"features": list(RELEVANCE_FEATURES), "coef": self.relevance_coef.tolist(),
                              "intercept": self.relevance_intercept, "mean": self.feature_mean.tolist(),
                              "scale": self.feature_scale.tolist()},
                "sides": {"w_pair": self.w_pair, "w_prior": self.w_prior, "bias": self.bias, "w_tone": self.w_tone,
                          "relevance_shift": self.relevance_shift, "w_discuss": self.w_discuss,
                          "unsure_power": self.unsure_power, "pair_mix": self.pair_mix,
                          "w_author": self.w_author, "w_reply": self.w_reply, "iterations": self.iterations,
                          "defer_above": self.defer_above},
                "reply_blend": self.reply_blend, "temperature": self.temperature, "card": self.card,
                **({"rumour_replies": self.rumour_replies.to_json()} if self.rumour_replies is not None else {})}

    @classmethod
    def from_json(cls, spec: dict) -> "ThreadReader":
        rel = spec["relevance"]
        if list(rel["features"]) != list(RELEVANCE_FEATURES):
            raise KeyError("relevance features differ from this code's")
        numbers = [*rel["coef"], rel["intercept"], *rel["mean"], *rel["scale"], *spec["sides"].values(),
                   spec["reply_blend"], spec.get("temperature", 1.0)]
        if not all(isinstance(x, (int, float)) and np.isfinite(x) for x in numbers):
            raise ValueError("thread reader weights must be finite numbers")
        return cls(np.array(rel["coef"], np.float64), float(rel["intercept"]), np.array(rel["mean"], np.float64),
                   np.array(rel["scale"], np.float64), reply_blend=float(spec["reply_blend"]),
                   temperature=float(spec.get("temperature", 1.0)),
                   rumour_replies=RumourReplies.from_json(spec["rumour_replies"]) if "rumour_replies" in spec else None,
                   card=spec.get("card", {}), **{k: (int(v) if k == "iterations" else float(v))
                                                 for k, v in spec["sides"].items()})

    def save(self, folder: Path) -> None:
        (Path(folder) / FILE).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "ThreadReader | None":
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

"""Train the stance and reply models deterministically from ../shared/data/stance.

    python -m pipeline.stance_model.train [--data ../shared/data/stance] [--out pipeline/stance_model/weights]
                                          [--cache-dir .cache]

Training rows: the training parts of the grouped ARC / FNC-1 splits and RumourEval
train (see data.py); the validation slices are never read here except to write
their metrics into the card (evaluate.py). The networks are fitted without a
grouped 15% inner hold-out of the training rows, whose rows then fit the
temperatures of exactly the networks that ship. Hyper-parameters were chosen on
that inner hold-out too (see card.json). ARC comments also enter cut into sentences
(data.sentence_rows), so that short comments are not only RumourEval's tweets.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from pipeline.stage_cache import sha256_of
from pipeline.stance_model.data import (DEFAULT_DATA, FILES, LABELLED, REPO, SEED, PairSet, cli_inputs, inner_mask,
                                        load_labelled, load_splits, reply_rows, sentence_rows)
from pipeline.stance_model.features import Tfidf
from pipeline.stance_model.model import (LABELS, REPLY_LABELS, STANCE_HEADS, MLPHeads, ReplyModel, StanceModel,
                                         fit_temperature)

SOURCES = ("fnc1", "arc", "rumoureval")  # the shared data sets
NEWS = "news"  # labelled reader comments under news articles (data.LABELLED, and a user's own)
REAL = SOURCES + (NEWS,)  # whole comments and bodies, not cut sentences
QUERY_SOURCES = ("rumoureval", NEWS)  # the sources that tell query from discuss
# total training weight of each source (ARC's sentences: see data.sentence_rows)
# (news: 0.5, 1 and 2 tried on the inner hold-out)
SOURCE_WEIGHT = {"fnc1": 1.0, "arc": 1.0, "rumoureval": 1.0, "arc_sentences": 0.5, NEWS: 1.0}
# total weight of the labelled news replies against RumourEval's in the reply model (inner hold-out: 0.5, 1)
REPLY_NEWS_WEIGHT = 0.5
INNER: dict = {}  # inner hold-out macro-F1 per source and of the reply head (what tuning looked at)
RE_REL_WEIGHT = 0.3  # RumourEval replies only say "related" (no negatives): light in the R head
S_MAP = {"agree": "agree", "disagree": "disagree", "discuss": "neutral", "query": "neutral"}
MODEL_VERSION = "2.2"  # 1.0: linear heads, bag of words; 2.0: multi-task networks, sentiment; 2.1: + news
# comments; 2.2: + 10 news articles of short rebuttals and evidence questions
STANCE = dict(arc_sentences=True)  # chosen on the inner hold-out, with head_total
STANCE_NET = dict(balance=0.75, head_total="labelled_rows")  # inner hold-out: balance 0, 0.5, 0.75, 1 tried
REPLY_NET = dict(hidden=64, epochs=10, balance=0.5)  # ~2,800 labelled replies: a smaller network


def source_weights(sources, share: dict | None = None) -> np.ndarray:
    """Row weights giving each source present a total in proportion to its `share`
    (the same total for each where None); the mean row weight is 1."""
    names, inverse, counts = np.unique(np.asarray(sources), return_inverse=True, return_counts=True)
    s = np.array([1.0 if share is None else share[n] for n in names])
    return len(inverse) * s[inverse] / (s.sum() * counts[inverse])


def head_rows(labels, sources, g):
    """Per-head (mask, y, weight) for featurised rows. Each source's total weight is its
    share of SOURCE_WEIGHT before the heads' masks and class balancing."""
    labels, sources = np.asarray(labels), np.asarray(sources)
    base = source_weights(sources, SOURCE_WEIGHT)
    rel_y = np.where(labels == "unrelated", "unrelated", "related")
    related = labels != "unrelated"
    s_y = np.array([S_MAP.get(v, "") for v in labels])
    return {
        # a sentence cut from an on-topic comment need not be on topic itself: not for R
        "rel": (np.isin(sources, REAL), rel_y, np.where(sources == "rumoureval", RE_REL_WEIGHT, 1.0) * base),
        "s_short": (related, s_y, base * (1 - g)),
        "s_long": (related, s_y, base * g),
        "query": (np.isin(sources, QUERY_SOURCES) & np.isin(labels, ["query", "discuss"]), labels, base),
    }


def head_targets(labels, sources, g, rows: np.ndarray):
    """Per head, a label per row ("" where the head has none) and a row weight (0 outside `rows`)."""
    lab, wt = {}, {}
    for name, (mask, y, w) in head_rows(labels, sources, g).items():
        keep = mask & rows & (w > 1e-3)
        lab[name] = np.where(keep, y, "")
        wt[name] = np.where(keep, w, 0.0)
    return lab, wt


def inner_scores(P: np.ndarray, labels, sources) -> dict:
    """Macro-F1 of the 5-way output on the rows of each source (the inner hold-out's)."""
    from pipeline.stance_model.evaluate import slice_metrics

    labels, sources = np.asarray(labels), np.asarray(sources)
    out = {}
    for source, scheme in (("arc", "fnc"), ("fnc1", "fnc"), ("rumoureval", "re"), (NEWS, "all")):
        m = sources == source
        if m.any():
            out[source] = round(slice_metrics(P[m], labels[m].tolist(), scheme)["macro_f1"], 4)
    return out


def fit_stance_net(model: StanceModel, X, labels, sources, cal_mask, net_hp: dict | None = None) -> float:
    """Fit on the rows outside the inner hold-out, then the temperature of the composed
    distribution on the hold-out's whole comments and bodies (each source the
    same total weight). The network that ships is the one the temperature was fitted
    for: no refit on all rows, whose longer training would leave the temperature
    fitted for another network."""
    g, hp = X[:, -1], {**STANCE_NET, **(net_hp or {})}
    if not cal_mask.any():
        raise ValueError("the inner hold-out is empty: nothing to fit the temperature on")
    model.net = MLPHeads(STANCE_HEADS, **hp).fit(X, *head_targets(labels, sources, g, ~cal_mask))
    cal = cal_mask & np.isin(sources, REAL)
    P = model.proba_from_features(X[cal], temperature=1.0)
    yi = np.array([LABELS.index(v) for v in np.asarray(labels)[cal]])
    model.temperature = fit_temperature(np.log(P + 1e-12), yi, source_weights(np.asarray(sources)[cal]))
    INNER.update(inner_scores(model.proba_from_features(X[cal_mask]), np.asarray(labels)[cal_mask],
                              np.asarray(sources)[cal_mask]))
    return model.temperature


def stance_features(model: StanceModel, sets, encode):
    X = np.vstack([model.features(ps.targets, ps.texts, ps.parents, encode) for ps in sets])
    labels = [lab for ps in sets for lab in ps.labels]
    sources = [ps.source for ps in sets for _ in ps.labels]
    groups_of = {ps.source: ps.groups for ps in sets}
    # rows cut from a source's texts ("<source>_sentences") are held out with their claims
    cal = np.concatenate([inner_mask(ps.groups, universe=groups_of[ps.source.removesuffix("_sentences")])
                          for ps in sets])
    return X, labels, sources, cal


def fit_vocabulary(obj, sets) -> None:
    texts = sorted({t for ps in sets for t in ps.texts})
    targets = sorted({t for ps in sets for t in ps.targets})
    obj.overlap = Tfidf(obj.hp["overlap_features"]).fit(texts + targets)


def fit_reply(rm: ReplyModel, X, y, cal_mask, sources, net_hp: dict | None = None) -> float:
    """Like fit_stance_net, on RumourEval's depth-1 replies (their parent is the source
    post) and the labelled news replies (toward their parent comment): fitted outside
    the inner hold-out, calibrated on it. The news replies weigh REPLY_NEWS_WEIGHT
    times RumourEval's in total. (Adding ARC's claim and comment pairs as parent and
    reply was tried in 1.0 and 2.0 and scored lower there.)"""
    news = np.asarray(sources) == NEWS
    w = source_weights(sources, {"rumoureval": 1.0, NEWS: REPLY_NEWS_WEIGHT})
    hp = {**REPLY_NET, **(net_hp or {})}
    rm.net = MLPHeads({"reply": REPLY_LABELS}, **hp).fit(X, {"reply": np.where(~cal_mask, y, "")},
                                                          {"reply": np.where(~cal_mask, w, 0.0)})
    T = rm.net.fit_temperatures(X, {"reply": np.where(cal_mask, y, "")}, {"reply": np.where(cal_mask, w, 0.0)})
    pred = np.array(REPLY_LABELS)[rm.net.log_proba(X)["reply"].argmax(1)]
    for name, m in (("reply_re", cal_mask & ~news), ("reply_news", cal_mask & news)):
        if m.any():
            INNER[name] = round(float(f1_score(y[m], pred[m], labels=list(REPLY_LABELS), average="macro")), 4)
    return T["reply"]


def train(data: Path, encode, stance_hp: dict | None = None, net_hp: dict | None = None,
          reply_net_hp: dict | None = None, log: dict | None = None, labelled: PairSet | None = None):
    """`labelled`: the NEWS source (data.load_labelled); None reads the team's file."""
    log = {} if log is None else log
    INNER.clear()
    splits = load_splits(data)
    sets = [splits[s][0] for s in SOURCES]
    sets.append(labelled if labelled is not None else load_labelled([LABELLED], NEWS))
    model = StanceModel(**{**STANCE, **(stance_hp or {})})
    fit_vocabulary(model, sets)
    if model.hp["arc_sentences"]:
        sets.append(sentence_rows(splits["arc"][0], "arc_sentences"))
    t0 = time.time()
    X, labels, sources, cal = stance_features(model, sets, encode)
    log["stance_featurize_s"] = round(time.time() - t0, 1)
    t0 = time.time()
    log["temperatures"] = {"stance": fit_stance_net(model, X, labels, sources, cal, net_hp)}
    log["stance_fit_s"] = round(time.time() - t0, 1)
    del X
    rm = ReplyModel()
    rm.overlap = model.overlap
    par, txt, y, cal, src = [], [], [], [], []
    for ps in (ps for ps in sets if ps.reply_labels):  # RumourEval's and the news replies
        p, t, lab, grp = reply_rows(ps)
        par, txt, y, src = par + p, txt + t, y + lab, src + [ps.source] * len(lab)
        cal.append(inner_mask(grp, universe=ps.groups))  # the threads the stance model holds out
    log["temperatures"]["reply"] = fit_reply(rm, rm.features(par, txt, encode), np.array(y), np.concatenate(cal),
                                             src, reply_net_hp)
    rm.hp["trained_with_arc"] = False
    log["inner_holdout_macro_f1"] = dict(INNER)
    return model, rm, log


def _shown(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default=str(REPO / "pipeline" / "stance_model" / "weights"))
    ap.add_argument("--cache-dir", default=None, help="embedding cache (default: .cache under the repository)")
    ap.add_argument("--no-eval", action="store_true", help="skip writing validation metrics into the card")
    ap.add_argument("--embed-backend", default="torch", choices=("torch", "static"),
                    help="embeddings the model reads: torch (MiniLM, also for onnx and onnx-int8) or "
                         "static (the distilled model of embed.backend: static)")
    ap.add_argument("--labelled", action="append", default=[], metavar="FILE",
                    help="labelled comments of your own (format: pipeline/stance_model/labelled/README.md), "
                         "trained on beside the team's news_comments.jsonl; may repeat")
    args = ap.parse_args(argv)
    from pipeline.stance_model.data import make_encoder

    labelled = (LABELLED, *map(Path, args.labelled))
    data, news = cli_inputs(args.data, labelled, NEWS)
    t_start = time.time()
    encode = make_encoder(args.cache_dir, args.embed_backend)
    model, rm, log = train(data, encode, labelled=news)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "stance.npz")
    rm.save(out / "reply.npz")
    log["texts_embedded_this_run"] = encode.stats["encoded"]
    log["train_s"] = round(time.time() - t_start, 1)
    card = {"name": "comment-stance" + ("-static" if args.embed_backend == "static" else ""), "version": MODEL_VERSION,
            "labels": list(("agree", "disagree", "discuss", "query", "unrelated")),
            "reply_labels": list(REPLY_LABELS),
            "embedding": {"model": "all-MiniLM-L6-v2", "backend": args.embed_backend,
                          "fingerprint": encode.fingerprint},
            "trained_on": {**{f: sha256_of(data / f) for f in FILES},
                           **{_shown(f): sha256_of(f) for f in labelled}},
            "trained_on_note": "rumoureval2019_dev.jsonl and the held-out ARC / FNC-1 headlines are validation only",
            "hyperparameters": {"stance": model.hp, "stance_net": model.net.hp, "reply": rm.hp,
                                "reply_net": rm.net.hp, "split_seed": SEED, "source_weight": SOURCE_WEIGHT,
                                "inner_holdout": "grouped 15% of training rows (claims / threads / articles)",
                                "re_rel_weight": RE_REL_WEIGHT, "reply_news_weight": REPLY_NEWS_WEIGHT},
            "training_log": log}
    if not args.no_eval:  # the saved weights (float16), as the pipeline will load them
        from pipeline.stance_model.evaluate import evaluate
        card["validation"] = evaluate(data, StanceModel.load(out / "stance.npz"), ReplyModel.load(out / "reply.npz"),
                                      encode)
    (out / "card.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: card[k] for k in ("training_log",) + (("validation",) if "validation" in card else ())},
                     indent=1))


if __name__ == "__main__":
    main()

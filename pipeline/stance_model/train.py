"""Train the stance and reply models deterministically from ../shared/data/stance.

    python -m pipeline.stance_model.train [--data ../shared/data/stance] [--out pipeline/stance_model/weights]
                                          [--cache-dir .cache]

Training rows: the training parts of the grouped ARC / FNC-1 splits and RumourEval
train (see data.py); the validation slices are never read here except to write
their metrics into the card (evaluate.py). Temperatures are fitted on a grouped
15% inner hold-out of the training rows, then every head is refitted on all
training rows and keeps its temperature. Hyper-parameters were chosen on that
inner hold-out too (see card.json).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.metrics import f1_score

from pipeline.stage_cache import sha256_of
from pipeline.stance_model.data import (DEFAULT_DATA, FILES, REPO, SEED, check_data, inner_mask, load_splits,
                                        reply_rows)
from pipeline.stance_model.features import Tfidf
from pipeline.stance_model.model import (Q_CLASSES, R_CLASSES, REPLY_LABELS, S_CLASSES, Head, ReplyModel,
                                         StanceModel)

SOURCES = ("fnc1", "arc", "rumoureval")
INNER: dict = {}  # inner hold-out macro-F1 per head (what tuning looked at)
RE_REL_WEIGHT = 0.3  # RumourEval replies only say "related" (no negatives): light in the R head
S_MAP = {"agree": "agree", "disagree": "disagree", "discuss": "neutral", "query": "neutral"}


def head_rows(labels, sources, g):
    """Per-head (mask, y, weight) for featurised rows; each source has equal total weight."""
    labels, sources = np.asarray(labels), np.asarray(sources)
    base = np.zeros(len(labels))
    for s in SOURCES:
        m = sources == s
        base[m] = len(labels) / (len(SOURCES) * max(1, m.sum()))
    is_re = sources == "rumoureval"
    rel_y = np.where(labels == "unrelated", "unrelated", "related")
    related = labels != "unrelated"
    s_y = np.array([S_MAP.get(v, "") for v in labels])
    return {
        "rel": (np.ones(len(labels), bool), rel_y, np.where(is_re, RE_REL_WEIGHT, 1.0) * base),
        "s_short": (related, s_y, base * (1 - g)),
        "s_long": (related, s_y, base * g),
        "query": (is_re & np.isin(labels, ["query", "discuss"]), labels, base),
    }


def fit_stance_heads(model: StanceModel, D, B, g, labels, sources, cal_mask) -> dict:
    """Fit on ~cal rows, temperature on cal rows, refit on all rows keeping the temperature."""
    spec = {"rel": (R_CLASSES, model.hp["lam_rel"], None, False),
            "s_short": (S_CLASSES, model.hp["lam_stance"], model.hp["lam_sparse"], True),
            "s_long": (S_CLASSES, model.hp["lam_stance"], model.hp["lam_sparse"], True),
            "query": (Q_CLASSES, model.hp["lam_query"], model.hp["lam_sparse"], True)}
    temps = {}
    for name, (mask, y, w) in head_rows(labels, sources, g).items():
        classes, lam, lam_sp, balanced = spec[name]
        Bh = B if lam_sp is not None else None
        tr, cal = mask & ~cal_mask & (w > 1e-3), mask & cal_mask & (w > 1e-3)
        head = Head(classes, lam, lam_sp or 0.0)
        if cal_mask.any():
            head.fit(D[tr], None if Bh is None else Bh[tr], y[tr], w[tr], balanced)
            temps[name] = head.fit_temperature(D[cal], None if Bh is None else Bh[cal], y[cal], w[cal])
            pred = np.array(classes)[head.logits(D[cal], None if Bh is None else Bh[cal]).argmax(1)]
            INNER[name] = round(float(f1_score(y[cal], pred, average="macro")), 4)
        keep = mask & (w > 1e-3)
        head.fit(D[keep], None if Bh is None else Bh[keep], y[keep], w[keep], balanced)
        head.temperature = temps.get(name, 1.0)
        model.heads[name] = head
    return temps


def stance_features(model: StanceModel, sets, encode):
    parts = [model.features(ps.targets, ps.texts, ps.parents, encode) for ps in sets]
    D = np.vstack([p[0] for p in parts])
    B = sparse.vstack([p[1] for p in parts]).tocsr()
    g = np.concatenate([p[2] for p in parts])
    labels = [lab for ps in sets for lab in ps.labels]
    sources = [ps.source for ps in sets for _ in ps.labels]
    cal = np.concatenate([inner_mask(ps.groups) for ps in sets])
    return D, B, g, labels, sources, cal


def fit_vocabularies(obj, sets) -> None:
    texts = sorted({t for ps in sets for t in ps.texts})
    targets = sorted({t for ps in sets for t in ps.targets})
    obj.overlap = Tfidf("overlap", obj.hp["overlap_features"]).fit(texts + targets)
    obj.bow = Tfidf("bow", obj.hp["bow_features"], min_df=3).fit(texts)


def reply_data(splits, use_arc: bool):
    """RumourEval depth-1 replies (stance toward the source = their parent), optionally
    plus ARC related (claim, comment) pairs as (parent, reply)."""
    par, txt, y, grp = reply_rows(splits["rumoureval"][0])
    src = ["rumoureval"] * len(y)
    if use_arc:
        arc = splits["arc"][0]
        keep = [i for i, lab in enumerate(arc.labels) if lab != "unrelated"]
        par += [arc.targets[i] for i in keep]
        txt += [arc.texts[i] for i in keep]
        y += [{"discuss": "neutral"}.get(arc.labels[i], arc.labels[i]) for i in keep]
        grp = np.concatenate([grp, arc.groups[keep] + 10 ** 6])
        src += ["arc"] * len(keep)
    return par, txt, np.array(y), grp, np.array(src)


def fit_reply(rm: ReplyModel, D, B, y, grp, src, cal_mask) -> float:
    w = np.ones(len(y))
    for s in np.unique(src):  # each source the same total weight
        w[src == s] = len(y) / (len(np.unique(src)) * (src == s).sum())
    head = Head(REPLY_LABELS, rm.hp["lam"], rm.hp["lam_sparse"])
    head.fit(D[~cal_mask], B[~cal_mask], y[~cal_mask], w[~cal_mask], True)
    T = head.fit_temperature(D[cal_mask], B[cal_mask], y[cal_mask], w[cal_mask])
    re_cal = cal_mask & (src == "rumoureval")
    pred = np.array(REPLY_LABELS)[head.logits(D[re_cal], B[re_cal]).argmax(1)]
    INNER["reply_re"] = round(float(f1_score(y[re_cal], pred, average="macro")), 4)
    head.fit(D, B, y, w, True)
    head.temperature = T
    rm.head = head
    return T


def train(data: Path, encode, stance_hp: dict | None = None, reply_hp: dict | None = None,
          reply_arc: bool = False, log: dict | None = None):
    log = {} if log is None else log
    splits = load_splits(data)
    sets = [splits[s][0] for s in SOURCES]
    model = StanceModel(**(stance_hp or {}))
    fit_vocabularies(model, sets)
    t0 = time.time()
    D, B, g, labels, sources, cal = stance_features(model, sets, encode)
    log["stance_featurize_s"] = round(time.time() - t0, 1)
    t0 = time.time()
    log["temperatures"] = fit_stance_heads(model, D, B, g, labels, sources, cal)
    log["stance_fit_s"] = round(time.time() - t0, 1)
    del D, B
    rm = ReplyModel(**(reply_hp or {}))
    rm.overlap, rm.bow = model.overlap, model.bow
    par, txt, y, grp, src = reply_data(splits, reply_arc)
    Dr, Br = rm.features(par, txt, encode)
    log["temperatures"]["reply"] = fit_reply(rm, Dr, Br, y, grp, src,
                                             inner_mask(grp + np.where(src == "arc", 10 ** 7, 0)))
    rm.hp["trained_with_arc"] = reply_arc
    log["inner_holdout_macro_f1"] = dict(INNER)
    return model, rm, log


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--out", default=str(REPO / "pipeline" / "stance_model" / "weights"))
    ap.add_argument("--cache-dir", default=None, help="embedding cache (default: .cache under the repository)")
    ap.add_argument("--no-eval", action="store_true", help="skip writing validation metrics into the card")
    ap.add_argument("--embed-backend", default="torch", choices=("torch", "static"),
                    help="embeddings the model reads: torch (MiniLM, also for onnx and onnx-int8) or "
                         "static (the distilled model of embed.backend: static)")
    args = ap.parse_args(argv)
    from pipeline.errors import PipelineError
    from pipeline.stance_model.data import make_encoder

    try:
        data = check_data(Path(args.data).resolve() if not Path(args.data).is_absolute() else Path(args.data))
    except PipelineError as error:  # one line, exit status 2, like the project's CLI
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    np.random.seed(SEED)
    t_start = time.time()
    encode = make_encoder(args.cache_dir, args.embed_backend)
    model, rm, log = train(data, encode)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "stance.npz")
    rm.save(out / "reply.npz")
    log["texts_embedded_this_run"] = encode.stats["encoded"]
    log["train_s"] = round(time.time() - t_start, 1)
    card = {"name": "comment-stance" + ("-static" if args.embed_backend == "static" else ""), "version": "1.0",
            "labels": list(("agree", "disagree", "discuss", "query", "unrelated")),
            "reply_labels": list(REPLY_LABELS),
            "embedding": {"model": "all-MiniLM-L6-v2", "backend": args.embed_backend,
                          "fingerprint": encode.fingerprint},
            "trained_on": {f: sha256_of(data / f) for f in FILES},
            "trained_on_note": "rumoureval2019_dev.jsonl and the held-out ARC / FNC-1 headlines are validation only",
            "hyperparameters": {"stance": model.hp, "reply": rm.hp, "split_seed": SEED,
                                "inner_holdout": "grouped 15% of training rows (claims / threads)",
                                "re_rel_weight": RE_REL_WEIGHT},
            "training_log": log}
    if not args.no_eval:
        from pipeline.stance_model.evaluate import evaluate
        card["validation"] = evaluate(data, model, rm, encode)
    (out / "card.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: card[k] for k in ("training_log",) + (("validation",) if "validation" in card else ())},
                     indent=1))


if __name__ == "__main__":
    main()

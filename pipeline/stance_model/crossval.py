"""Grouped k-fold cross-validation of the stance model on the labelled news comments.

    python -m pipeline.stance_model.crossval [--data ../shared/data/stance] [--folds 5] [--cache-dir .cache]

The shipped model trains on every labelled news comment, so no held-out slice of
them is left for make eval-stance. This retrains the model k times, each time
without one fold of the articles (an article's comments stay together), and
scores the held-out comments through the pipeline's own stance logic
(evaluate.score_as_threads: a reply is read with the comment it answers). ARC,
FNC-1 and RumourEval train as always. It costs k trainings: about 1.5 minutes each
on 2 cores once the embeddings are cached.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from pipeline.stance_model.data import DEFAULT_DATA, LABELLED, SEED, PairSet, cli_inputs
from pipeline.stance_model.evaluate import score_as_threads, slice_metrics
from pipeline.stance_model.model import LABELS, REPLY_LABELS


def folds_of(groups: np.ndarray, folds: int, seed: int = SEED) -> np.ndarray:
    """Fold number of each row: whole groups (articles), dealt round-robin in a seeded order."""
    order = np.random.default_rng(seed).permutation(np.unique(groups))
    fold_of = dict(zip(order.tolist(), (np.arange(len(order)) % folds).tolist()))
    return np.array([fold_of[g] for g in groups.tolist()])


def crossval(data: Path, encode, news: PairSet, folds: int = 5, log=print) -> dict:
    from pipeline.stance import StanceModels
    from pipeline.stance_model.train import train

    fold = folds_of(news.groups, folds)
    rows = [{"id": str(i), "target": t, "text": x, "parent_text": p}
            for i, (t, x, p) in enumerate(zip(news.targets, news.texts, news.parents))]
    probs = np.zeros((len(news), len(LABELS)))
    reply_pred = [None] * len(news)
    per_fold = []
    for k in range(folds):
        model, rm, _ = train(data, encode, labelled=news.subset(fold != k))
        held = np.flatnonzero(fold == k)
        models = StanceModels(model, rm, {"name": "fold", "version": str(k)})
        found = score_as_threads([rows[i] for i in held], encode, models)
        for i in held:
            probs[i] = found[str(i)].probs
            reply_pred[i] = found[str(i)].reply_stance
        gold = [news.labels[i] for i in held]
        per_fold.append(round(slice_metrics(probs[held], gold, "all")["macro_f1"], 4))
        log(f"fold {k + 1}/{folds}: {len(held)} comments, macro-F1 {per_fold[-1]:.3f}")
    out = slice_metrics(probs, news.labels, "all")
    out["per_fold_macro_f1"] = per_fold
    replies = [i for i, r in enumerate(news.reply_labels) if r is not None]
    gold_r, pred_r = [news.reply_labels[i] for i in replies], [reply_pred[i] for i in replies]
    out["reply"] = {"n": len(replies), "accuracy": float(accuracy_score(gold_r, pred_r)),
                    "macro_f1": float(f1_score(gold_r, pred_r, labels=list(REPLY_LABELS), average="macro"))}
    return json.loads(json.dumps(out, default=float), parse_float=lambda s: round(float(s), 4))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--labelled", action="append", default=[], metavar="FILE",
                    help="more labelled comments, cross-validated with the team's (as train.py --labelled)")
    args = ap.parse_args(argv)
    from pipeline.stance_model.data import make_encoder
    from pipeline.stance_model.train import NEWS

    data, news = cli_inputs(args.data, (LABELLED, *map(Path, args.labelled)), NEWS)
    res = crossval(data, make_encoder(args.cache_dir), news, args.folds,
                   log=lambda line: print(line, file=sys.stderr))
    print(f"labelled news comments, {args.folds}-fold by article: n {res['n']}, macro-F1 {res['macro_f1']:.4f} "
          f"(folds {', '.join(f'{f:.3f}' for f in res['per_fold_macro_f1'])}), accuracy {res['accuracy']:.4f}, "
          f"ECE {res['ece15']:.4f}")
    print("  per-class F1: " + " ".join(f"{k}={v:.3f}" for k, v in res["per_class_f1"].items()))
    r = res["reply"]
    print(f"  reply stance: n {r['n']}, macro-F1 {r['macro_f1']:.4f}, accuracy {r['accuracy']:.4f}")


if __name__ == "__main__":
    main()

"""Validation metrics of the saved stance and reply models.

    python -m pipeline.stance_model.evaluate [--data ../shared/data/stance] [--weights pipeline/stance_model/weights]
                                             [--cache-dir .cache] [--json]

Slices (all kept out of training, see data.py): ARC and FNC-1 held-out headlines,
RumourEval 2019 dev replies (and all dev posts, source posts included, as the
task's official scoring counts them); reply stance on RumourEval dev depth-1 replies; and the
hand-written tests/data/stance_obvious.jsonl run through the pipeline's own logic;
and, where ../shared is beside the repository, its real dump through ingest, clean
and the stance stage, against labels of its comments (tests/data/, ids only).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

from pipeline.stance_model.data import DEFAULT_DATA, REPO, check_data, load_rumoureval, load_splits, reply_rows
from pipeline.stance_model.model import LABELS, REPLY_LABELS, ReplyModel, StanceModel

FNC4 = ["agree", "disagree", "discuss", "unrelated"]
SDQC = ["agree", "disagree", "query", "discuss"]
OBVIOUS = REPO / "tests" / "data" / "stance_obvious.jsonl"
# our labels of the real dump in ../shared/dumps (its file name and sha256, comment ids, labels: no text)
REAL_LABELS = REPO / "tests" / "data" / "real_dump_stance_labels.json"


def dumps_beside(data: Path) -> Path:
    """../shared/dumps, beside ../shared/data/stance."""
    return Path(data).parent.parent / "dumps"


DUMPS = dumps_beside(DEFAULT_DATA)


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    idx = np.clip(np.digitize(conf, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[idx == b].mean() - conf[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def fnc_score(gold, pred) -> float:
    """Official FNC-1 weighted score, % of the best possible."""
    def s(g, p):
        return (0.25 if (g == "unrelated") == (p == "unrelated") else 0.0) + (0.75 if g == p != "unrelated" else 0.0)
    return 100 * sum(s(g, p) for g, p in zip(gold, pred)) / sum(s(g, g) for g in gold)


def slice_metrics(P: np.ndarray, gold: list[str], scheme: str) -> dict:
    """FNC scheme: query counted as discuss. SDQC scheme: unrelated counted as comment
    (discuss). "all": the five labels as they are."""
    merge = {"fnc": {"query": "discuss"}, "re": {"unrelated": "discuss"}, "all": {}}[scheme]
    labs = {"fnc": FNC4, "re": SDQC, "all": LABELS}[scheme]
    pred = [merge.get(LABELS[i], LABELS[i]) for i in P.argmax(1)]
    out = {"n": len(gold), "macro_f1": float(f1_score(gold, pred, labels=labs, average="macro", zero_division=0)),
           "accuracy": float(accuracy_score(gold, pred)),
           "per_class_f1": dict(zip(labs, f1_score(gold, pred, labels=labs, average=None, zero_division=0)
                                    .round(4).tolist())),
           "ece15": ece(P.max(1), np.array(pred) == np.array(gold))}
    if scheme == "fnc":
        out["fnc_score"] = fnc_score(gold, pred)
    return out


def reply_metrics(P: np.ndarray, gold: list[str]) -> dict:
    pred = [REPLY_LABELS[i] for i in P.argmax(1)]
    maj = ["neutral"] * len(gold)
    return {"n": len(gold), "accuracy": float(accuracy_score(gold, pred)),
            "macro_f1": float(f1_score(gold, pred, labels=list(REPLY_LABELS), average="macro")),
            "per_class_f1": dict(zip(REPLY_LABELS, f1_score(gold, pred, labels=list(REPLY_LABELS), average=None,
                                                            zero_division=0).round(4).tolist())),
            "ece15": ece(P.max(1), np.array(pred) == np.array(gold)),
            "majority_accuracy": float(accuracy_score(gold, maj)),
            "majority_macro_f1": float(f1_score(gold, maj, labels=list(REPLY_LABELS), average="macro"))}


def score_as_threads(rows: list[dict], encode, models) -> dict:
    """Score (target, text, parent_text?) rows through the pipeline's own stance
    stage: each row is a comment under its target article, and a row with a
    parent_text is a reply to a comment holding that text. id -> assignment."""
    from pipeline.records import Article, CleanComment, Comment
    from pipeline.replies import infer_reply_targets
    from pipeline.stance import annotate_stance

    found = {}
    for target in dict.fromkeys(r["target"] for r in rows):
        title, _, body = target.partition("\n")
        article = Article(id="a", title=title, paragraphs=(body,) if body else (), source="rows")
        comments, wanted = [], set()
        for row in (r for r in rows if r["target"] == target):
            parent_id = None
            if row.get("parent_text"):
                parent_id = f"{row['id']}-parent"
                comments.append(Comment(parent_id, None, 0, "P", row["parent_text"], 0, len(comments)))
            comments.append(Comment(str(row["id"]), parent_id, 1 if parent_id else 0, "R", row["text"], 0,
                                    len(comments)))
            wanted.add(str(row["id"]))
        cleaned = [CleanComment(id=c.id, text=c.text) for c in comments]
        assignments = annotate_stance(article, comments, cleaned, infer_reply_targets(comments, cleaned),
                                      encode, models)
        found.update({a.id: a for a in assignments if a.id in wanted})
    return found


def obvious(models, encode, path: Path = OBVIOUS) -> dict:
    """The hand-written obvious cases, through the pipeline's stance stage."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = score_as_threads(rows, encode, models)
    out = [{"id": r["id"], "label": r["label"], "pred": found[r["id"]].stance, "p": found[r["id"]].probs,
            "reply_label": r.get("reply_label"), "reply_pred": found[r["id"]].reply_stance}
           for r in rows]
    n_rep = [o for o in out if o["reply_label"]]
    return {"stance_correct": sum(o["pred"] == o["label"] for o in out), "n": len(out),
            "reply_correct": sum(o["reply_pred"] == o["reply_label"] for o in n_rep), "n_reply": len(n_rep),
            "wrong": [o for o in out if o["pred"] != o["label"]
                      or (o["reply_label"] and o["reply_pred"] != o["reply_label"])]}


CONFIDENCE_BANDS = (0.0, 0.4, 0.5, 0.6, 0.8, 1.0)


def real_dump(models, encode, labels_path: Path = REAL_LABELS, dumps: Path = DUMPS) -> dict | None:
    """A real dump through ingest, clean, reply targets and the stance stage, as
    `make pipeline` runs it, against labels of its comments (ids and labels only;
    none of the dump's text is in this repository). None where the dump is not
    there; {"skipped": why} where it is not the dump that was labelled, or where
    the labels no longer fit what the pipeline makes of it."""
    from pipeline import clean, ingest
    from pipeline.config import load_config
    from pipeline.replies import infer_reply_targets
    from pipeline.stage_cache import sha256_of
    from pipeline.stance import annotate_stance

    spec = json.loads(labels_path.read_text(encoding="utf-8"))
    dump = dumps / spec["dump"]
    if not dump.is_file():
        return None
    if sha256_of(dump) != spec["sha256"]:
        return {"skipped": f"{dump} is not the file that was labelled (sha256 differs)"}
    with dump.open("rb") as handle:
        thread = ingest.open_dump(handle, str(dump)).read()
    config = load_config()["clean"]
    cleaned = clean.clean_comments(thread.comments, thread.article, config, clean.load_nlp(config["spacy_model"]))
    found = {a.id: a for a in annotate_stance(thread.article, thread.comments, cleaned,
                                              infer_reply_targets(thread.comments, cleaned), encode, models)}
    rows = spec["comments"]
    scored = {i for i, a in found.items() if a.stance is not None}
    misfits = sorted(scored ^ {r["id"] for r in rows}) + [
        r["id"] for r in rows if r["id"] in scored and bool(r.get("reply_stance")) != bool(found[r["id"]].reply_stance)]
    if misfits:
        return {"skipped": f"{labels_path.name} does not fit what the pipeline makes of {dump.name}: comments "
                           f"{misfits[:5]} are labelled without a stance, or scored without a label, or differ "
                           "on being a reply"}
    gold = [r["stance"] for r in rows]
    model = [found[r["id"]].stance for r in rows]
    out = {"dump": spec["dump"], "description": spec.get("description", ""),
           "stance": slice_metrics(np.array([found[r["id"]].probs for r in rows]), gold, "all")}
    majority = [max(LABELS, key=gold.count)] * len(gold)
    out["stance"].update(majority_label=majority[0], majority_accuracy=float(accuracy_score(gold, majority)),
                         majority_macro_f1=float(f1_score(gold, majority, labels=LABELS, average="macro",
                                                          zero_division=0)))
    conf = np.array([found[r["id"]].confidence for r in rows])
    right = np.array(model) == np.array(gold)
    bands = list(zip(CONFIDENCE_BANDS[:-1], CONFIDENCE_BANDS[1:]))
    out["stance"]["by_confidence"] = [
        {"from": lo, "to": hi, "n": int(m.sum()), "correct": int(right[m].sum())}
        for lo, hi in bands for m in [(conf >= lo) & ((conf < hi) if hi < 1.0 else (conf <= hi))]]
    a1, a2 = ([r["annotators"][k] for r in rows] for k in (0, 1))
    # how far the two annotators agreed, and the model with each: the scale for the figures above
    out["agreement"] = {
        "annotators_stance": {"raw": float(accuracy_score([a["stance"] for a in a1], [a["stance"] for a in a2])),
                              "kappa": float(cohen_kappa_score([a["stance"] for a in a1],
                                                               [a["stance"] for a in a2]))},
        "model_stance_kappa": [float(cohen_kappa_score(model, [a["stance"] for a in ann])) for ann in (a1, a2)]}
    replies = [r for r in rows if r.get("reply_stance")]
    if replies:
        gold_r = [r["reply_stance"] for r in replies]
        pred_r = [found[r["id"]].reply_stance for r in replies]
        out["reply"] = {"n": len(replies), "accuracy": float(accuracy_score(gold_r, pred_r)),
                        "macro_f1": float(f1_score(gold_r, pred_r, labels=list(REPLY_LABELS), average="macro",
                                                   zero_division=0)),
                        "majority_accuracy": max(map(gold_r.count, REPLY_LABELS)) / len(gold_r)}
        out["agreement"]["annotators_reply_kappa"] = float(cohen_kappa_score(
            [r["annotators"][0]["reply_stance"] for r in replies], [r["annotators"][1]["reply_stance"] for r in replies]))
    return out


def validation_slices(data: Path, splits=None) -> dict:
    """The stance slices kept out of training: name -> (PairSet, slice_metrics scheme)."""
    splits = splits or load_splits(data)
    out = {name: (splits[name][1], scheme) for name, scheme in (("arc", "fnc"), ("fnc1", "fnc"), ("rumoureval", "re"))}
    # the task's official scoring also counts the source posts (stance of a post toward itself)
    out["rumoureval_all_posts"] = (load_rumoureval(data, "dev", with_sources=True), "re")
    return out


def evaluate(data: Path, model: StanceModel, rm: ReplyModel, encode, splits=None) -> dict:
    splits = splits or load_splits(data)
    res = {name: slice_metrics(model.predict_proba(ps.targets, ps.texts, ps.parents, encode), ps.labels, scheme)
           for name, (ps, scheme) in validation_slices(data, splits).items()}
    par, txt, y, _ = reply_rows(splits["rumoureval"][1])
    res["reply_rumoureval_depth1"] = reply_metrics(rm.predict_proba(par, txt, encode), y)
    from pipeline.stance import StanceModels

    models = StanceModels(model, rm, {"name": "candidate", "version": "-"})
    if OBVIOUS.is_file():
        res["obvious"] = obvious(models, encode)
    if REAL_LABELS.is_file() and (found := real_dump(models, encode, dumps=dumps_beside(data))):
        res["real_dump"] = found
    return json.loads(json.dumps(res, default=float), parse_float=lambda s: round(float(s), 4))


def table(res: dict) -> str:
    lines = [f"{'slice':<26}{'n':>6}{'macro-F1':>10}{'acc':>8}{'FNC score':>11}{'ECE15':>8}  per-class F1"]
    for name in ("arc", "fnc1", "rumoureval", "rumoureval_all_posts", "reply_rumoureval_depth1"):
        r = res[name]
        fs = f"{r['fnc_score']:.2f}" if "fnc_score" in r else "-"
        pc = " ".join(f"{k}={v:.3f}" for k, v in r["per_class_f1"].items())
        lines.append(f"{name:<26}{r['n']:>6}{r['macro_f1']:>10.4f}{r['accuracy']:>8.4f}{fs:>11}{r['ece15']:>8.4f}  {pc}")
    r = res["reply_rumoureval_depth1"]
    lines.append(f"{'  majority baseline':<26}{r['n']:>6}{r['majority_macro_f1']:>10.4f}{r['majority_accuracy']:>8.4f}")
    if "obvious" in res:
        o = res["obvious"]
        lines.append(f"obvious set: stance {o['stance_correct']}/{o['n']}, reply {o['reply_correct']}/{o['n_reply']}")
        for w in o["wrong"]:
            lines.append(f"  wrong {w['id']}: gold {w['label']} pred {w['pred']} "
                         f"reply gold {w['reply_label']} pred {w['reply_pred']} p={w['p']}")
    if "real_dump" in res:
        lines.append(real_dump_lines(res["real_dump"]))
    return "\n".join(lines)


def real_dump_lines(r: dict) -> str:
    if "skipped" in r:
        return f"real dump: skipped, {r['skipped']}"
    s, a = r["stance"], r["agreement"]
    pc = " ".join(f"{k}={v:.3f}" for k, v in s["per_class_f1"].items())
    bands = ", ".join(f"{b['from']:.1f}-{b['to']:.1f} {b['correct']}/{b['n']}" for b in s["by_confidence"])
    lines = [f"real dump {r['dump']}: stance n={s['n']} macro-F1 {s['macro_f1']:.4f} acc {s['accuracy']:.4f} "
             f"ECE15 {s['ece15']:.4f}  {pc}",
             f"  majority baseline (always {s['majority_label']}): macro-F1 {s['majority_macro_f1']:.4f} "
             f"acc {s['majority_accuracy']:.4f}",
             f"  right by confidence: {bands}"]
    if "reply" in r:
        lines.append(f"  reply stance n={r['reply']['n']} macro-F1 {r['reply']['macro_f1']:.4f} "
                     f"acc {r['reply']['accuracy']:.4f} (majority class: acc {r['reply']['majority_accuracy']:.4f})")
    lines.append(f"  agreement (Cohen's kappa): annotators {a['annotators_stance']['kappa']:.3f} "
                 f"(raw {a['annotators_stance']['raw']:.3f}), model with each "
                 + " / ".join(f"{k:.3f}" for k in a["model_stance_kappa"])
                 + (f"; annotators on reply stance {a['annotators_reply_kappa']:.3f}" if "reply" in r else ""))
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--weights", default=str(REPO / "pipeline" / "stance_model" / "weights"))
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--embed-backend", default="torch", choices=("torch", "onnx", "onnx-int8", "static"),
                    help="embeddings to evaluate with (static needs the static weights)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from pipeline.errors import PipelineError
    from pipeline.stance_model.data import make_encoder

    try:
        data = check_data(args.data)
        w = Path(args.weights)
        model, rm = StanceModel.load(w / "stance.npz"), ReplyModel.load(w / "reply.npz")
    except PipelineError as error:
        raise SystemExit(f"error: {error}")
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error.filename}: stance weights missing (run python -m "
                         "pipeline.stance_model.train)")
    res = evaluate(data, model, rm, make_encoder(args.cache_dir, args.embed_backend))
    print(json.dumps(res, indent=1) if args.json else table(res))


if __name__ == "__main__":
    main()

"""Validation figures of a stance method, beside the baselines trained on the same splits in the same run.

    python -m pipeline.stance_train.evaluate [--data ../shared/data] [--weights pipeline/stance_model/weights/minilm]
                                             [--baselines minilm-lr,tfidf-mlp,joined-mlp] [--cache-dir .cache] [--json]

Slices (all kept out of training, data.py): ARC and FNC-1 held-out headlines,
RumourEval 2019 dev replies, VAST dev, Perspectrum dev, the held-out fifth of the
Reddit agreement set; each scored in its own labels by the method's head for that
source, with the majority baseline. Then, through the pipeline's own stance stage:
the hand-written tests/data/stance_obvious.jsonl, and, where ../shared is beside the
repository, its real dump against labels of its comments (tests/data/, ids only).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

from pipeline.backends import BACKENDS
from pipeline.stance_model._base import FROM_STANCE, LABELS, REPLY_LABELS, REPLY_SOURCE, SOURCES, as_source
from pipeline.stance_model.blocks import Lexicon, featurize
from pipeline.stance_model.methods import ALL_BLOCKS, BASELINES, METHODS, as_pairs, lexicon_docs, load_method
from pipeline.stance_train.data import DEFAULT_DATA, REPO, load_splits
from pipeline.stance_train.metrics import ece

OBVIOUS = REPO / "tests" / "data" / "stance_obvious.jsonl"
# our labels of the real dump in ../shared/dumps (its file name and sha256, comment ids, labels: no text)
REAL_LABELS = REPO / "tests" / "data" / "real_dump_stance_labels.json"
SLICES = ("arc", "fnc1", "rumoureval", "vast", "perspectrum", "reddit")


def dumps_beside(data: Path) -> Path:
    """../shared/dumps, beside ../shared/data."""
    return Path(data).parent / "dumps"


DUMPS = dumps_beside(DEFAULT_DATA)

def fnc_score(gold, pred) -> float:
    """Official FNC-1 weighted score, % of the best possible."""
    def s(g, p):
        return (0.25 if (g == "unrelated") == (p == "unrelated") else 0.0) + (0.75 if g == p != "unrelated" else 0.0)
    return 100 * sum(s(g, p) for g, p in zip(gold, pred)) / sum(s(g, g) for g in gold)


def slice_metrics(P: np.ndarray, gold: list[str], labels: tuple[str, ...]) -> dict:
    """Macro-F1 over `labels`, accuracy, per-class F1, ECE (15 bins), the FNC-1 score
    where the labels are FNC-1's, and the majority baseline's macro-F1 and accuracy."""
    labs = list(labels)
    pred = [labs[i] for i in P.argmax(1)]
    majority = [max(labs, key=list(gold).count)] * len(gold)
    out = {"n": len(gold), "macro_f1": float(f1_score(gold, pred, labels=labs, average="macro", zero_division=0)),
           "accuracy": float(accuracy_score(gold, pred)),
           "per_class_f1": dict(zip(labs, f1_score(gold, pred, labels=labs, average=None, zero_division=0)
                                    .round(4).tolist())),
           "ece15": ece(P.max(1), np.array(pred) == np.array(gold)),
           "majority_macro_f1": float(f1_score(gold, majority, labels=labs, average="macro", zero_division=0)),
           "majority_accuracy": float(accuracy_score(gold, majority))}
    if labs == list(SOURCES["fnc1"]):
        out["fnc_score"] = fnc_score(gold, pred)
    return out


def slice_features(splits: dict, encode, lexicon: Lexicon | None = None, train: dict | None = None,
                   with_train: bool = True):
    """The lexicon of the training texts and every block of every training set
    (`train`, by default the splits' own; left out with `with_train` false, when
    no method is fitted here) and slice, computed once for all the methods of a run."""
    train = train or {s: tr for s, (tr, _) in splits.items()}
    lexicon = lexicon or Lexicon().fit(lexicon_docs(train))
    feats = ({(s, "train"): featurize(as_pairs(ps), lexicon, encode, ALL_BLOCKS) for s, ps in train.items()}
             if with_train else {})
    feats.update({(s, "val"): featurize(as_pairs(val), lexicon, encode, ALL_BLOCKS) for s, (_, val) in splits.items()})
    return lexicon, feats


def score_slices(method, splits: dict, feats: dict, encode) -> dict:
    """Each slice as the product answers it: the five stances of stance_proba (what
    the stage and stance-predict give) read in the source's labels, the Reddit
    replies by reply_proba; `head_macro_f1` is the source's own head alone."""
    out = {}
    for s in (s for s in SLICES if s in splits):
        pairs, F, gold = as_pairs(splits[s][1]), feats[(s, "val")], splits[s][1].labels
        P = (method.reply_proba(pairs.targets, pairs.texts, encode, features=F) if s == REPLY_SOURCE
             else as_source(method.stance_proba(pairs, encode, features=F), s))
        out[s] = slice_metrics(P, gold, SOURCES[s])
        head = method.predict_proba(s, pairs, encode, features=F)
        out[s]["head_macro_f1"] = slice_metrics(head, gold, SOURCES[s])["macro_f1"]
    return out


def train_baselines(train: dict, feats: dict, lexicon: Lexicon, encode, names=BASELINES) -> dict:
    """Each baseline fitted on the same training sets as the shipped method."""
    return {name: METHODS[name]().fit(train, encode, lexicon=lexicon,
                                      features={s: feats[(s, "train")] for s in train}) for name in names}


def training_sets(splits: dict, card: dict) -> dict:
    """What the method was trained on: the splits' training sets, with the labelled
    comments its card names (train.py --labelled, the team's news comments) joined."""
    from pipeline.stance_train.data import FILES, load_labelled, with_labelled

    files = [REPO / name for name in card.get("trained_on", {}) if name not in FILES]
    train = {s: tr for s, (tr, _) in splits.items()}
    return with_labelled(train, load_labelled(files, "news")) if files else train


def evaluate(data: Path, method, encode, baselines=BASELINES, splits=None, thread_reader=None) -> dict:
    """{"slices": {slice: {method name: metrics}}, "pipeline": {method name: obvious / real dump}}.
    The method under test is scored as given (as saved weights); the baselines
    are trained here, on the same training sets (training_sets)."""
    splits = splits or load_splits(data)
    train = training_sets(splits, method.card)
    to_fit = [b for b in baselines if b != method.name]
    lexicon, feats = slice_features(splits, encode, getattr(method, "lexicon_", None), train,
                                    with_train=bool(to_fit))
    fitted = train_baselines(train, feats, lexicon, encode, to_fit)
    every = {method.name: method, **fitted}
    res = {"slices": {s: {} for s in SLICES}, "pipeline": {}}
    for name, m in every.items():
        for s, r in score_slices(m, splits, feats, encode).items():
            res["slices"][s][name] = r
        res["pipeline"][name] = pipeline_checks(m, encode, data, threads_too=m is method)
    if thread_reader is not None:  # the shipped stage: the same pair model, the thread read as a whole
        res["pipeline"][f"{method.name}+thread"] = pipeline_checks(method, encode, data, thread_reader)
    return json.loads(json.dumps(res, default=float), parse_float=lambda x: round(float(x), 4))


def pipeline_checks(method, encode, data: Path, thread_reader=None, threads_too: bool = True) -> dict:
    """The obvious cases, the real dump, RumourEval dev threads and the labelled news
    threads, through the pipeline's stance stage (with `thread_reader`: the thread read
    as a whole; the news threads are then each read by a reader fitted without them).
    `threads_too` false: without the IAC authors (the baselines' runs)."""
    from pipeline.stance import StanceModels
    from pipeline.stance_train import threads

    models = StanceModels(method, method.card, thread=thread_reader)
    out = {}
    if OBVIOUS.is_file():
        out["obvious"] = obvious(models, encode, thread_reader=thread_reader)
    if REAL_LABELS.is_file() and (found := real_dump(models, encode, dumps=dumps_beside(data),
                                                     thread_reader=thread_reader)):
        out["real_dump"] = found
    out["rumour_threads"] = rumour_threads(models, encode, data, thread_reader)
    if threads_too and (iac := threads.iac_authors(data, models, encode, thread_reader)) is not None:
        out["iac_authors"] = iac
    # each left-out reader defers where the shipped one does (fast mode's is 0.9, not MiniLM's 0.75)
    if thread_reader is not None and (news := threads.evaluate(data, models, encode,
                                                               defer_above=thread_reader.defer_above)):
        out["news_threads"] = news
    return out


def table(res: dict, shipped: str) -> str:
    lines = []
    for s, by_method in res["slices"].items():
        if not by_method:
            continue
        first = next(iter(by_method.values()))
        lines.append(f"{s} (n={first['n']}; majority: macro-F1 {first['majority_macro_f1']:.3f}, "
                     f"acc {first['majority_accuracy']:.3f})")
        for name, r in by_method.items():
            fs = f"  FNC {r['fnc_score']:.1f}" if "fnc_score" in r else ""
            pc = " ".join(f"{k}={v:.3f}" for k, v in r["per_class_f1"].items())
            mark = "*" if name == shipped else " "
            lines.append(f" {mark}{name:<14} macro-F1 {r['macro_f1']:.4f}  acc {r['accuracy']:.4f}  "
                         f"ECE {r['ece15']:.4f}{fs}  {pc}")
    for name, checks in res["pipeline"].items():
        if "obvious" in checks:
            o = checks["obvious"]
            lines.append(f"{name}: obvious set stance {o['stance_correct']}/{o['n']}, "
                         f"reply {o['reply_correct']}/{o['n_reply']}")
        if "real_dump" in checks:
            lines.append(f"{name}: " + real_dump_lines(checks["real_dump"]))
        r = checks["rumour_threads"]
        lines.append(f"{name}: RumourEval dev threads through the stance stage (SDQC): macro-F1 {r['macro_f1']:.4f} "
                     f"acc {r['accuracy']:.4f} (majority: macro-F1 {r['majority_macro_f1']:.4f})"
                     + (f"; {r['not_read_other_language']} labelled replies left out, read as another language"
                        if r.get("not_read_other_language") else ""))
        if "iac_authors" in checks:
            r = checks["iac_authors"]
            lines.append(f"{name}: IAC validation discussions ({r['discussions']}), author stance from the posts: "
                         f"macro-F1 {r['macro_f1']:.4f} acc {r['accuracy']:.4f} (n={r['n']} authors; majority: "
                         f"macro-F1 {r['majority_macro_f1']:.4f})")
        if "news_threads" in checks:
            from pipeline.stance_train.threads import table as news_table

            lines.append(news_table(checks["news_threads"]))
    return "\n".join(lines)


def score_as_threads(rows: list[dict], encode, models, **stage) -> dict:
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
                comments.append(Comment(parent_id, None, 0, f"P{row['id']}", row["parent_text"], 0, len(comments)))
            comments.append(Comment(str(row["id"]), parent_id, 1 if parent_id else 0, f"R{row['id']}", row["text"], 0,
                                    len(comments)))
            wanted.add(str(row["id"]))
        cleaned = [CleanComment(id=c.id, text=c.text) for c in comments]
        assignments = annotate_stance(article, comments, cleaned, infer_reply_targets(comments, cleaned),
                                      encode, models, **stage)
        found.update({a.id: a for a in assignments if a.id in wanted})
    return found


def obvious(models, encode, path: Path = OBVIOUS, thread_reader=None) -> dict:
    """The hand-written obvious cases, through the pipeline's stance stage."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = score_as_threads(rows, encode, models, thread_reader=thread_reader)
    out = [{"id": r["id"], "label": r["label"], "pred": found[r["id"]].stance, "p": found[r["id"]].probs,
            "reply_label": r.get("reply_label"), "reply_pred": found[r["id"]].reply_stance}
           for r in rows]
    n_rep = [o for o in out if o["reply_label"]]
    return {"stance_correct": sum(o["pred"] == o["label"] for o in out), "n": len(out),
            "reply_correct": sum(o["reply_pred"] == o["reply_label"] for o in n_rep), "n_reply": len(n_rep),
            "wrong": [o for o in out if o["pred"] != o["label"]
                      or (o["reply_label"] and o["reply_pred"] != o["reply_label"])]}


def rumour_threads(models, encode, data: Path, thread_reader=None) -> dict:
    """RumourEval dev through the pipeline's clean, reply targets and stance stage, thread by
    thread (thread_sets.rumour_threads); the five stances read as SDQC (unrelated as comment),
    macro-F1 over SDQC, with the majority baseline."""
    from pipeline.stance_train import thread_sets

    gold, P, not_read = [], [], 0
    for t in thread_sets.rumour_threads(data, "dev"):
        found = thread_sets.stage(t, models, encode, thread_reader)
        for comment_id, label in t.labels.items():
            if found[comment_id].probs is not None:
                gold.append(FROM_STANCE["rumoureval"][label["stance"]])
                P.append(found[comment_id].probs)
            else:
                not_read += found[comment_id].context == "other_language"
    # replies read as another language than English get no stance (left out above, counted here)
    return {**slice_metrics(as_source(np.array(P), "rumoureval"), gold, SOURCES["rumoureval"]),
            "not_read_other_language": not_read}


CONFIDENCE_BANDS = (0.0, 0.4, 0.5, 0.6, 0.8, 1.0)


def real_dump(models, encode, labels_path: Path = REAL_LABELS, dumps: Path = DUMPS,
              target: str = "title_lead", adapt_priors: bool = False, thread_reader=None) -> dict | None:
    """A real dump through ingest, clean, reply targets and the stance stage, as
    `make pipeline` runs it, against labels of its comments (ids and labels only;
    none of the dump's text is in this repository). None where the dump is not
    there; {"skipped": why} where it is not the dump that was labelled, or where
    the labels no longer fit what the pipeline makes of it."""
    from pipeline import clean, ingest
    from pipeline.tokens import worker_nlp
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
    cleaned = clean.clean_comments(thread.comments, thread.article, config, worker_nlp(config["spacy_model"], config["lemmatizer"]))
    found = {a.id: a for a in annotate_stance(thread.article, thread.comments, cleaned,
                                              infer_reply_targets(thread.comments, cleaned), encode, models,
                                              target=target, adapt_priors=adapt_priors,
                                              thread_reader=thread_reader)}
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
           "stance": slice_metrics(np.array([found[r["id"]].probs for r in rows]), gold, LABELS)}
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
    ap.add_argument("--weights", default=None, help="a method's folder (default: the shipped one for the backend)")
    ap.add_argument("--baselines", default=",".join(BASELINES),
                    help="comma-separated methods trained beside it on the same splits ('' for none)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--embed-backend", default="torch",
                    choices=("auto", *BACKENDS),
                    help="embeddings to evaluate with (static reads the static model's weights; auto: what "
                         "embed.backend: auto runs on this machine)")
    ap.add_argument("--max-seq-length", type=int, default=None,
                    help="embed with another embed.max_seq_length (word pieces; the model was trained on 256)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.embed_backend == "auto":
        from pipeline.machine import auto_backend

        args.embed_backend = auto_backend()
        print(f"embed.backend: auto is {args.embed_backend} on this machine")
    from pipeline.stance import weights_for
    from pipeline.stance_train.data import cli_inputs, make_encoder

    data, _ = cli_inputs(args.data)
    folder = Path(args.weights) if args.weights else weights_for(args.embed_backend)
    try:
        method = load_method(folder)
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error.filename}: stance weights missing (run make train-stance)")
    baselines = [b for b in args.baselines.split(",") if b]
    unknown = [b for b in baselines if b not in METHODS]
    if unknown:
        raise SystemExit(f"error: --baselines: unknown method {unknown[0]!r} (one of {', '.join(METHODS)})")
    from pipeline.stance_model.thread_reader import ThreadReader

    res = evaluate(data, method, make_encoder(args.cache_dir, args.embed_backend, args.max_seq_length), baselines,
                   thread_reader=ThreadReader.load(folder))
    print(json.dumps(res, indent=1) if args.json else table(res, method.name))


if __name__ == "__main__":
    main()

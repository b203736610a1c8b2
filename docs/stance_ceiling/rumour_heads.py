"""RumourEval-2019 dev threads: which reading of a rumour post's replies the stance stage
should give (issue 23, fourth round).

    PYTHONPATH=. python docs/stance_ceiling/rumour_heads.py [--data ../shared/data]

Every reply of the 38 dev threads, read as the stage reads a dump (thread_sets.rumour_threads:
the source post is the article, its replies the comments), scored in SDQC macro-F1:

1. the pair model's composed answer (its five sources mixed by the domain model), as the
   stage gave a deferred thread before reader 2.1;
2. its RumourEval head alone, on every dev thread (reader 2.1 gives it to the deferred ones);
3. stacked heads fitted on the RumourEval train threads (logistic regression, balanced
   classes, C chosen by grouped 5-fold cross-validation over train events): over the
   RumourEval head's and the composed answer's log-probabilities, the domain shares, the
   reply stance toward the parent, the reply's cue words and shape (features.cue_features:
   negation, refutation, doubt, requests for sources, question words and marks, links,
   length...), the parent's head and cues, and the cosine to the source ('scores+cues'); and
   over what rumour_replies.RumourReplies reads, with no model score (the reply's and its
   parent's cues, the cosines of its vector to the post's and the parent's, its unit vector
   and that times the post's: 'cues+vectors', which shares no row with the pair model's
   training outputs), alone and mixed with the head's log-probabilities (weights 0.25, 0.5,
   1; reader 2.1 ships weight 1 with C chosen by the grouped folds).

The train threads' head outputs are in-sample (the pair model was fitted on them), so the
cross-validation figures of (3) 'scores+cues' are not an estimate of anything; dev is the
figure. Prints a table; nothing is saved or shipped. onnx-int8 vectors from the cache.
"""
from __future__ import annotations

import json

import numpy as np
from _common import setup
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler


def main(argv=None) -> None:
    data, encode, models = setup(__doc__, argv)
    from pipeline.stance import stance_inputs
    from pipeline.stance_model._base import SOURCES, Pairs, as_source
    from pipeline.stance_model.features import CUES as CUE_FAMILIES
    from pipeline.stance_model.rumour_replies import RumourReplies
    from pipeline.stance_train.thread_sets import inputs, rumour_threads

    CUES = len(CUE_FAMILIES) + 9  # features.cue_features: the cue families, then shape

    labels = list(SOURCES["rumoureval"])  # agree disagree query discuss: support deny query comment
    event = {}
    for split in ("train", "dev"):
        for line in (data / "stance" / f"rumoureval2019_{split}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            event[str(row["thread_id"])] = row["event"]

    def rows(split: str) -> dict:
        out = {"head": [], "own": [], "X1": [], "X2": [], "y": [], "group": []}
        for t in rumour_threads(data, split):
            ti, ids = inputs(t, models, encode)
            _, target, texts, parents = stance_inputs(t.thread.article, t.cleaned, t.targets)
            head = models.method.predict_proba("rumoureval", Pairs([target] * len(texts), texts, parents), encode)
            own = as_source(ti.own, "rumoureval")
            mine = RumourReplies.features(ti)  # what the shipped reading reads
            tv = ti.target_vector / np.linalg.norm(ti.target_vector)
            for k, cid in enumerate(ids):
                if cid not in t.labels:
                    continue
                parent = ti.parent[k]
                v = ti.vectors[k] / np.linalg.norm(ti.vectors[k])
                own_cues, parent_cues = mine[k, :CUES], mine[k, CUES + 1:2 * CUES + 1]
                ph = [0.0] * 4 if parent is None else list(np.log(head[parent] + 1e-6))
                scores = (list(np.log(head[k] + 1e-6)) + list(np.log(own[k] + 1e-6)) + list(ti.domain[k])
                          + list(np.nan_to_num(ti.reply[k], nan=0.0)))
                out["X1"].append(scores + list(own_cues) + [parent is None] + list(parent_cues) + ph
                                 + [float(v @ tv)])
                out["X2"].append(mine[k])
                out["head"].append(head[k]), out["own"].append(own[k])
                out["y"].append(t.labels[cid]["stance"]), out["group"].append(event[t.name[3:]])
        return {k: np.array(v) if k not in ("y", "group") else np.array(v, dtype=object) for k, v in out.items()}

    train, dev = rows("train"), rows("dev")

    def f1(gold, pred) -> float:
        return f1_score(list(gold), list(pred), labels=labels, average="macro", zero_division=0)

    def by_class(gold, pred) -> str:
        per = f1_score(list(gold), list(pred), labels=labels, average=None, zero_division=0)
        return " ".join(f"{lab}={p:.3f}" for lab, p in zip(labels, per))

    print(f"RumourEval-2019 dev threads, {len(dev['y'])} labelled replies (train {len(train['y'])}); SDQC macro-F1")
    for name, P in (("1. the composed answer", dev["own"]), ("2. the RumourEval head alone", dev["head"])):
        pred = np.array(labels)[P.argmax(1)]
        print(f"{name:<42} {f1(dev['y'], pred):.3f}   {by_class(dev['y'], pred)}")
    for block in ("X1", "X2"):
        name = "scores+cues" if block == "X1" else "cues+vectors"
        scaler = StandardScaler().fit(train[block])
        Xtr, Xdv = scaler.transform(train[block]), scaler.transform(dev[block])
        for C in ((0.003, 0.01, 0.1, 1) if block == "X1" else (0.0003, 0.001, 0.003, 0.01)):
            cv = []
            for a, b in GroupKFold(5).split(Xtr, train["y"], train["group"]):
                m = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(Xtr[a], train["y"][a])
                cv.append(f1(train["y"][b], m.predict(Xtr[b])))
            m = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(Xtr, train["y"])
            P = m.predict_proba(Xdv)[:, [list(m.classes_).index(lab) for lab in labels]]
            pred = np.array(labels)[P.argmax(1)]
            line = f"3. {name}, C {C:<6} (train grouped CV {np.mean(cv):.3f})  dev {f1(dev['y'], pred):.3f}"
            if block == "X2":
                line += "; mixed with the head " + ", ".join(
                    f"{w}: {f1(dev['y'], np.array(labels)[(np.log(dev['head'] + 1e-6) + w * np.log(P + 1e-6)).argmax(1)]):.3f}"
                    for w in (0.25, 0.5, 1))
            print(line + f"   {by_class(dev['y'], pred)}")


if __name__ == "__main__":
    main()

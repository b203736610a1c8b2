"""Three measurements on the five labelled Fox threads, each thread left out in turn
(issue 23, third round): where is the news-thread figure lost, and do small supervised
heads on the reader's own inputs win it back?

    PYTHONPATH=. python docs/stance_ceiling/fox_heads.py

1. Where the loss is: each thread read by the reader fitted without it (the card's 0.411),
   then the same answers with every comment the reader calls agree or disagree, and whose
   label is agree or disagree, given its true side (an oracle for the article's side only;
   off topic, discuss and query stay as read).
2. Reply stance: the shipped reply model (the Reddit head) against a logistic regression
   fitted on the other four threads' labelled replies (agreed reply labels), over the reply
   model's log-probabilities ('reply'), the reply's cosine to its parent and both cosines to
   the article, the product of the two comments' pair-model sides, same author, VADER
   tone and its product with the parent's ('rel'), and the reply's cue counts ('cues');
   C in 0.01, 0.1, 1, plain or balanced classes (every setting printed).
3. Off topic: the reader's relevance regression (its eight features) against the same
   regression with the pair model's five log-probabilities, the cue counts and the parent's
   cosine to the article added, and against the eight with the comment embedding's first 8
   or 32 principal components (fitted on the four training threads); ROC AUC and F1 of
   unrelated-or-not over the labelled comments.

Inputs are the stance stage's own (pipeline/stance_train/thread_sets.py: inputs,
labelled_rows; threads.py: fit_reader), on onnx-int8 vectors. Prints a table; nothing is saved or shipped.
"""
from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score

FOUR = ("agree", "disagree", "discuss", "unrelated")
SIDES = ("agree", "disagree")


def unit(X):
    X = np.asarray(X, np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=-1, keepdims=True), 1e-9)


def main() -> None:
    from pipeline.clean import author_key
    from pipeline.records import REPLY_LABELS, STANCE_LABELS
    from pipeline.stance import load_models, weights_for
    from pipeline.stance_model.features import cue_features, sentiment_features
    from pipeline.stance_train.data import DEFAULT_DATA, make_encoder
    from pipeline.stance_train.thread_sets import inputs, labelled_rows, load_news_threads
    from pipeline.stance_train.threads import defer_above_for, fit_reader

    backend = "onnx-int8"
    encode = make_encoder(None, backend)
    models = load_models(weights_for(backend))
    threads = load_news_threads(DEFAULT_DATA)
    prepared = [(t, inputs(t, models, encode)) for t in threads]
    names = [t.name for t in threads]

    # 1. the oracle side
    gold, read, oracle = [], [], []
    for t, (ti, ids) in prepared:
        reader = fit_reader([p for p in prepared if p[0].name != t.name], defer_above=defer_above_for(backend))
        P = reader.read(ti)[0]
        rows, g = labelled_rows(ids, t.labels)
        p = [STANCE_LABELS[i] for i in P[rows].argmax(1)]
        gold += g
        read += p
        oracle += [b if a in SIDES and b in SIDES else a for a, b in zip(p, g)]
    for name, pred in (("reader, each thread left out", read), ("the same, sides from the labels", oracle)):
        per = f1_score(gold, pred, labels=list(FOUR), average=None, zero_division=0)
        print(f"1. {name:<34} macro-F1 {per.mean():.3f}  " + " ".join(f"{k} {v:.3f}" for k, v in zip(FOUR, per)))

    # 2. reply stance
    def reply_pairs(t, ti, ids):
        E, tv = unit(ti.vectors), unit(ti.target_vector)
        own = np.log(np.clip(np.asarray(ti.own, np.float64), 1e-4, 1))
        R = np.asarray(ti.reply, np.float64)
        cues, tone = cue_features(list(ti.texts)), sentiment_features(list(ti.texts))[:, 3]
        X, y = [], []
        for k, p in enumerate(ti.parent):
            label = (t.labels.get(ids[k]) or {}).get("reply_stance")
            if p is None or np.isnan(R[k]).any() or not label:
                continue
            same = float(author_key(ti.authors[k]).lower() == author_key(ti.authors[p]).lower())
            X.append({"reply": np.log(np.clip(R[k], 1e-4, 1)),
                      "rel": np.array([E[k] @ E[p], E[k] @ tv, E[p] @ tv, (own[k, 0] - own[k, 1]) * (own[p, 0] - own[p, 1]),
                                       same, tone[k], tone[k] * tone[p]]),
                      "cues": cues[k]})
            y.append(label)
        return X, y

    pairs = {t.name: reply_pairs(t, ti, ids) for t, (ti, ids) in prepared}
    g = [label for n in names for label in pairs[n][1]]
    shipped = [REPLY_LABELS[int(np.argmax(x["reply"]))] for n in names for x in pairs[n][0]]
    print(f"2. reply stance, {len(g)} agreed reply labels: the shipped reply model macro-F1 "
          f"{f1_score(g, shipped, labels=list(REPLY_LABELS), average='macro'):.3f}")
    for keys in (("reply",), ("reply", "rel"), ("reply", "rel", "cues"), ("rel", "cues")):
        for C in (0.01, 0.1, 1.0):
            for weight in (None, "balanced"):
                gold_r, pred_r = [], []
                for held in names:
                    def matrix(n):
                        return np.array([np.concatenate([x[k] for k in keys]) for x in pairs[n][0]])
                    Xtr = np.vstack([matrix(n) for n in names if n != held])
                    ytr = [label for n in names if n != held for label in pairs[n][1]]
                    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
                    lr = LogisticRegression(C=C, class_weight=weight, max_iter=5000).fit((Xtr - mu) / sd, ytr)
                    if pairs[held][0]:
                        pred_r += list(lr.predict((matrix(held) - mu) / sd))
                        gold_r += pairs[held][1]
                print(f"   head over {'+'.join(keys):<16} C {C:<5} {str(weight):<8} macro-F1 "
                      f"{f1_score(gold_r, pred_r, labels=list(REPLY_LABELS), average='macro'):.3f}")

    # 3. off topic
    parts = {}
    for t, (ti, ids) in prepared:
        rows, g3 = labelled_rows(ids, t.labels)
        E = unit(ti.vectors)
        ca = E @ unit(ti.target_vector)
        parent_cos = np.array([ca[p] if p is not None else ca[k] for k, p in enumerate(ti.parent)])
        extra = np.column_stack([np.log(np.clip(np.asarray(ti.own), 1e-4, 1)), cue_features(list(ti.texts)),
                                 parent_cos])
        parts[t.name] = (ti.relevance_features()[rows], extra[rows], E[rows], np.array([x == "unrelated" for x in g3]))

    def relevance(C, extra=False, components=0):
        ys, ps = [], []
        for held in names:
            train = [n for n in names if n != held]
            pca = PCA(components, random_state=0).fit(np.vstack([parts[n][2] for n in train])) if components else None

            def features(n):
                cols = [parts[n][0]] + ([parts[n][1]] if extra else []) + ([pca.transform(parts[n][2])] if pca else [])
                return np.hstack(cols)
            X, y = np.vstack([features(n) for n in train]), np.concatenate([parts[n][3] for n in train])
            mu, sd = X.mean(0), X.std(0) + 1e-9
            lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit((X - mu) / sd, y)
            ps.append(lr.predict_proba((features(held) - mu) / sd)[:, 1])
            ys.append(parts[held][3])
        y, p = np.concatenate(ys), np.concatenate(ps)
        return roc_auc_score(y, p), f1_score(y, p > 0.5)

    for label, kwargs in (("the reader's eight features", {}), ("+ pair model, cues, parent", {"extra": True}),
                          ("+ 8 embedding components", {"components": 8}),
                          ("+ 32 embedding components", {"components": 32})):
        for C in (0.01, 0.1, 1.0):
            auc, f1 = relevance(C, **kwargs)
            print(f"3. off topic, {label:<30} C {C:<5} AUC {auc:.3f}  F1 {f1:.3f}")


if __name__ == "__main__":
    main()

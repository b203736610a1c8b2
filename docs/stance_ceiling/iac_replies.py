"""Reply stance from a debate forum's author sides (issue 23, fourth round): does a reply
model fitted on the IAC train discussions read the Fox threads' replies better than the
shipped reply model (the Reddit agreement head)?

    PYTHONPATH=. python docs/stance_ceiling/iac_replies.py [--data ../shared/data]

Training pairs: every IAC post that answers another author's post where both authors have
a pro or anti label in that discussion (threads/iac/author_stance.jsonl, majority of the
annotators' votes): agree where the two labels are the same, disagree where they differ
(23,560 pairs in the 265 train discussions; the 68 validation discussions scored apart).
Author-level labels on reply pairs are noisy (the annotators' kappa was 0.22 to 0.60 per
topic) and have no neutral. Features: the two posts' unit vectors (onnx-int8, first 2,000
characters), their product, absolute difference and cosine, and both posts' cue words
(features.cue_features); logistic regression, balanced classes, C 0.001 / 0.01 / 0.1.

Scored on the Fox threads' 425 agreed reply labels (agree 117, disagree 265, neutral 43):
ROC AUC of agree against disagree on the sided replies, and the three-way macro-F1 when the
IAC model's agree-vs-disagree log-odds are added (weight 0.5 or 1) to the Reddit head's,
the head's neutral share kept. Prints a table; nothing is saved or shipped.
"""
from __future__ import annotations

import json

import numpy as np
from _common import setup
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.preprocessing import StandardScaler


def main(argv=None) -> None:
    data, encode, models = setup(__doc__, argv)
    from pipeline.records import REPLY_LABELS
    from pipeline.stance_model.features import cue_features
    from pipeline.stance_train.thread_sets import inputs, load_news_threads

    iac = data / "threads" / "iac"
    train_ids = set(json.loads((iac / "splits.json").read_text())["train"])
    side = {}
    for line in (iac / "author_stance.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["stance"] in ("pro", "anti"):
            side[(r["discussion_id"], r["author"])] = r["stance"]
    pairs = {"train": [], "validation": []}
    for line in (iac / "discussions.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        posts = {p["id"]: p for p in d["posts"]}
        for p in d["posts"]:
            q = posts.get(p["parent"])
            if q is None or not p["text"].strip() or not q["text"].strip() or p["author"] == q["author"]:
                continue
            a, b = side.get((d["discussion_id"], p["author"])), side.get((d["discussion_id"], q["author"]))
            if a and b:
                pairs["train" if d["discussion_id"] in train_ids else "validation"].append(
                    (q["text"][:2000], p["text"][:2000], "agree" if a == b else "disagree"))
    fox = []
    for t in load_news_threads(data):
        ti, ids = inputs(t, models, encode)
        for k, cid in enumerate(ids):
            label, parent = t.labels.get(cid, {}).get("reply_stance"), ti.parent[k]
            if label and parent is not None:
                fox.append((ti.texts[parent], ti.texts[k], label, ti.reply[k]))
    texts = sorted({x for rows in (*pairs.values(), fox) for row in rows for x in row[:2]})
    unit = {}
    for start in range(0, len(texts), 2000):
        for text, v in zip(texts[start:start + 2000], encode(texts[start:start + 2000])):
            unit[text] = v / np.linalg.norm(v)

    def features(rows) -> np.ndarray:
        P, U = np.stack([unit[r[0]] for r in rows]), np.stack([unit[r[1]] for r in rows])
        return np.hstack([U, P, U * P, np.abs(U - P), np.sum(U * P, 1, keepdims=True),
                          cue_features([r[1] for r in rows]), cue_features([r[0] for r in rows])])

    Xtr, ytr = features(pairs["train"]), np.array([r[2] for r in pairs["train"]])
    Xva, yva = features(pairs["validation"]), np.array([r[2] for r in pairs["validation"]])
    Xf, yf, R = features(fox), np.array([r[2] for r in fox]), np.array([r[3] for r in fox])
    print(f"IAC pairs: train {len(ytr)} (agree {np.mean(ytr == 'agree'):.2f}), validation {len(yva)}; "
          f"Fox replies {len(yf)}")
    ia, idis, ineu = (REPLY_LABELS.index(x) for x in ("agree", "disagree", "neutral"))
    sided = np.isin(yf, ["agree", "disagree"])
    head = R[:, ia] / (R[:, ia] + R[:, idis])
    print(f"the shipped reply model (Reddit head): Fox sided AUC {roc_auc_score(yf[sided] == 'agree', head[sided]):.3f}, "
          f"three-way macro-F1 {f1_score(yf, np.array(REPLY_LABELS)[R.argmax(1)], labels=list(REPLY_LABELS), average='macro'):.3f}")
    scaler = StandardScaler().fit(Xtr)
    for C in (0.001, 0.01, 0.1):
        m = LogisticRegression(C=C, class_weight="balanced", max_iter=2000).fit(scaler.transform(Xtr), ytr)
        agree = list(m.classes_).index("agree")
        pv, pf = (m.predict_proba(scaler.transform(X))[:, agree] for X in (Xva, Xf))
        line = (f"IAC model C {C:<5}: IAC validation AUC {roc_auc_score(yva == 'agree', pv):.3f}; "
                f"Fox sided AUC {roc_auc_score(yf[sided] == 'agree', pf[sided]):.3f}")
        for w in (0.5, 1.0):
            pa = 1 / (1 + np.exp(-(w * np.log(pf / (1 - pf)) + np.log(head / (1 - head)))))
            P = np.zeros_like(R)
            P[:, ia], P[:, idis], P[:, ineu] = (1 - R[:, ineu]) * pa, (1 - R[:, ineu]) * (1 - pa), R[:, ineu]
            line += (f"; with the head (w {w}): sided AUC {roc_auc_score(yf[sided] == 'agree', pa[sided]):.3f}, "
                     f"three-way {f1_score(yf, np.array(REPLY_LABELS)[P.argmax(1)], labels=list(REPLY_LABELS), average='macro'):.3f}")
        print(line)


if __name__ == "__main__":
    main()

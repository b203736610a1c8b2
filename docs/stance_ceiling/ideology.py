"""Does a comment's political lean tell a thread's agreeing comments from its disagreeing ones,
and the article's lean which side most readers take? (issue 23, points 2 and 3; ninth round)

    PYTHONPATH=. python docs/stance_ceiling/ideology.py [--data ../shared/data]

The readers of a partisan site mostly share one lean; whether they agree with a report depends
on whether its framing leans their way (fox31's states against the directive: agree; fox35's
Navy honouring Milk: disagree). No labelled news text says which lean a comment has, but
the IAC debate forum labels its authors pro or anti on ten topics, and most of those topics
split along the left-right line. A post's lean here: right where its author's label is pro on
death penalty or existence of god, anti on abortion (pro = pro-choice), gun control, gay
marriage, evolution, climate change, marijuana legalization or healthcare (the dataset
README's reading of pro per topic; communism vs capitalism, whose pro is uncertain, and every
discussion flagged `flip_suspected` are left out). Labels with a majority of at least 0.6.

A logistic regression on the posts' vectors (onnx-int8, the stance stage's cached encoder),
each (topic, lean) capped at 400 train and 150 validation posts, fitted on IAC's train
discussions; C chosen by ROC AUC on the validation discussions (grouped by discussion: no
discussion on both sides). Then, on each Fox thread and the real dump (team labels), with
nothing fitted on them:
- within the thread, the ROC AUC of the comment's P(right) for agree against disagree (0.5:
  no signal; far from 0.5 either way: a signal whose sign the article decides), beside the
  pair model's agree-versus-disagree log-odds (the reader's own evidence) in the same run;
- the same per author (the mean P(right) of an author's comments, each labelled comment
  given its author's mean);
- the article's P(right) (title and lead) and the thread's mean P(right), against the share
  of agree among its sided comments.
Prints a table; nothing is saved or shipped.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict

import numpy as np
from _common import labelled_threads, pair_log_odds, setup, sided
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

RIGHT_WHEN = {"death penalty": "pro", "existence of god": "pro", "abortion": "anti", "gun control": "anti",
              "gay marriage": "anti", "evolution": "anti", "climate change": "anti",
              "marijuana legalization": "anti", "healthcare": "anti"}
CAP = {"train": 400, "validation": 150}


def iac_posts(data) -> dict[str, tuple[list[str], list[int], list[str]]]:
    """split -> (texts, lean 1 right / 0 left, topic) of IAC posts by labelled authors."""
    folder = data / "threads" / "iac"
    splits = json.loads((folder / "splits.json").read_text())
    side = {int(d): s for s in ("train", "validation") for d in splits[s]}
    lean = {}
    for line in (folder / "author_stance.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["topic"] in RIGHT_WHEN and r["stance"] in ("pro", "anti") and r["majority_fraction"] >= 0.6:
            lean[(r["discussion_id"], r["author"])] = int(r["stance"] == RIGHT_WHEN[r["topic"]])
    pool = defaultdict(list)
    with open(folder / "discussions.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d["topic"] not in RIGHT_WHEN or d["stance_polarity_check"].get("flip_suspected"):
                continue
            for p in d["posts"]:
                y = lean.get((d["discussion_id"], p["author"]))
                if y is not None and len(p["text"].split()) >= 8:
                    pool[(side[d["discussion_id"]], d["topic"], y)].append(p["text"][:1500])
    rng = random.Random(0)
    out = {}
    for split in ("train", "validation"):
        texts, ys, topics = [], [], []
        for (s, topic, y), posts in sorted(pool.items()):
            if s == split:
                for t in rng.sample(posts, min(CAP[split], len(posts))):
                    texts.append(t); ys.append(y); topics.append(topic)
        out[split] = (texts, ys, topics)
    return out


def main(argv=None) -> None:
    data, encode, models = setup(__doc__, argv)
    from pipeline.stance_train.thread_sets import inputs

    posts = iac_posts(data)
    X = {s: encode(posts[s][0]) for s in posts}
    y = {s: np.array(posts[s][1]) for s in posts}
    print(f"IAC posts: train {len(y['train'])} (right {y['train'].mean():.2f}), "
          f"validation {len(y['validation'])} (right {y['validation'].mean():.2f})")
    best = None
    for C in (0.1, 1.0, 10.0):
        clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit(X["train"], y["train"])
        auc = roc_auc_score(y["validation"], clf.predict_proba(X["validation"])[:, 1])
        print(f"  C {C:<5} IAC validation AUC {auc:.3f}")
        if best is None or auc > best[0]:
            best = (auc, C, clf)
    auc, C, clf = best
    topics = np.array(posts["validation"][2])
    per = []
    for t in sorted(set(topics)):
        m = topics == t
        if 0 < y["validation"][m].sum() < m.sum():
            per.append(f"{t} {roc_auc_score(y['validation'][m], clf.predict_proba(X['validation'][m])[:, 1]):.2f}")
    print(f"chosen C {C}; validation AUC within each topic: " + ", ".join(per))

    print(f"\n{'thread':<10} {'sided':>5} {'agree':>6} {'AUC P(right)':>13} {'AUC author':>11} "
          f"{'AUC log-odds':>13} {'article':>8} {'comments':>9}")
    for t in labelled_threads(data):
        ti, ids = inputs(t, models, encode)
        right = clf.predict_proba(np.asarray(ti.vectors))[:, 1]
        odds = pair_log_odds(ti)
        by_author = defaultdict(list)
        authors = list(ti.authors)
        for k, a in enumerate(authors):
            by_author[a].append(right[k])
        author_mean = np.array([np.mean(by_author[a]) for a in authors])
        article = clf.predict_proba(np.asarray(ti.target_vector)[None, :])[0, 1]
        rows, share, auc_of = sided(t, ids)
        print(f"{t.name:<10} {len(rows):>5} {share:>6.2f} {auc_of(right):>13} {auc_of(author_mean):>11} "
              f"{auc_of(odds):>13} {article:>8.2f} {right.mean():>9.2f}")


if __name__ == "__main__":
    main()

"""Which comments to ask a user to label first (issue 23, point 6): the learning curve's labels
drawn at random (as `make eval-stance` draws them) against labels chosen before any is seen, from
what the run already has: k-means medoids of the thread's comment vectors (each cluster's most
central comment), farthest-point coverage of the vectors, the comments the reader is least sure of,
and one comment of each of the most prolific authors (authors keep their side). Each Fox thread
is read by a reader fitted without it and adapted from its k chosen labels (ThreadReader.adapted,
as shipped), the rest of its labelled comments scored; the real dump (team labels) by the shipped
reader. Only comments with a label can be chosen (the Fox threads' agreed labels, the team's on the
real dump), which a user's choice is not limited to. Not shipped."""
from __future__ import annotations

import time

import numpy as np

from _common import labelled_threads, setup

from pipeline.stance_model.features import unit_rows as unit  # each row at unit length, float64

K = (10, 20)


def medoids(ti, rows, k, seed=13):
    from sklearn.cluster import KMeans

    E = unit(np.asarray(ti.vectors)[rows])
    km = KMeans(k, n_init=10, random_state=seed).fit(E)
    picks = []
    for c in range(k):
        members = np.flatnonzero(km.labels_ == c)
        if len(members):
            picks.append(int(members[np.argmax(E[members] @ unit(km.cluster_centers_[c:c + 1])[0])]))
    return [rows[j] for j in picks]


def farthest(ti, rows, k):
    E = unit(np.asarray(ti.vectors)[rows])
    first = int(np.argmax(E @ unit(E.mean(0, keepdims=True))[0]))
    picks, closest = [first], E @ E[first]
    while len(picks) < k:
        j = int(np.argmin(closest))
        picks.append(j)
        closest = np.maximum(closest, E @ E[j])
    return [rows[j] for j in picks]


def least_sure(P, rows, k):
    return sorted(rows, key=lambda r: (P[r].max(), r))[:k]


def authors(ti, rows, k, seed=13):
    from collections import Counter

    count = Counter(ti.authors[r] for r in rows)
    picks, seen = [], set()
    for r in sorted(rows, key=lambda r: (-count[ti.authors[r]], -len(ti.texts[r]), r)):
        if ti.authors[r] not in seen:
            picks.append(r)
            seen.add(ti.authors[r])
    rest = [r for r in rows if r not in picks]
    rng = np.random.default_rng(seed)
    return (picks + [rest[j] for j in rng.permutation(len(rest))])[:k]


def main() -> None:
    data, encode, models = setup(__doc__)
    from sklearn.metrics import f1_score

    from pipeline.records import STANCE_LABELS
    from pipeline.stance_train import thread_sets as S, threads as T

    threads = labelled_threads(data)
    news = [t for t in threads if t.name != "real dump"]
    prepared = {t.name: S.inputs(t, models, encode) for t in threads}
    readers = {t.name: T.fit_reader([(u, prepared[u.name]) for u in news if u.name != t.name]) for t in news}
    readers["real dump"] = models.thread

    def run(group, choose, draws=1):
        out = {}
        for k in K:
            gold, pred = [], []
            for t in group:
                ti, ids = prepared[t.name]
                rows, g = S.labelled_rows(ids, t.labels)
                if k >= len(rows):
                    continue
                label_of = dict(zip(rows, g))
                P0 = readers[t.name].read(ti)[0]
                rng = np.random.default_rng(13)
                for _ in range(draws):
                    picks = set(choose(ti, rows, k, P0, rng))
                    given = {ids[r]: label_of[r] for r in picks}
                    P = readers[t.name].adapted(ti, given, ids).read(ti)[0]
                    rest = [r for r in rows if r not in picks]
                    gold += [label_of[r] for r in rest]
                    pred += [STANCE_LABELS[i] for i in P[rest].argmax(1)]
            out[k] = f1_score(gold, pred, labels=list(T.FOUR), average="macro", zero_division=0)
        return out

    strategies = [
        ("at random (5 draws, as make eval-stance)",
         lambda ti, rows, k, P, rng: [rows[j] for j in rng.choice(len(rows), size=k, replace=False)], 5),
        ("k-means medoids", lambda ti, rows, k, P, rng: medoids(ti, rows, k), 1),
        ("farthest-point coverage", lambda ti, rows, k, P, rng: farthest(ti, rows, k), 1),
        ("least sure first", lambda ti, rows, k, P, rng: least_sure(P, rows, k), 1),
        ("most prolific authors first", lambda ti, rows, k, P, rng: authors(ti, rows, k), 1),
    ]
    print("macro-F1 over agree/disagree/discuss/unrelated of the comments not chosen, by labels chosen; "
          "Fox threads pooled (each read by a reader fitted without it) | the real dump (team labels)")
    for name, choose, draws in strategies:
        start = time.perf_counter()
        fox, real = run(news, choose, draws), run([t for t in threads if t.name == "real dump"], choose, draws)
        print(f"{name:<42} " + " ".join(f"{k}: {fox[k]:.3f}" for k in K) + " | "
              + " ".join(f"{k}: {real[k]:.3f}" for k in K) + f"  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

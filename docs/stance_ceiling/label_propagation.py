"""Label propagation (Zhou et al. 2004) in place of the adapter's label spreading: a thread's
labels carried over a k-nearest-neighbour graph of its comments instead of straight from each
labelled comment by likeness (ThreadReader.neighbour_labels); the learning curve of issue 23,
point 6, for each, each Fox thread read by a reader fitted without it. Not shipped."""
from __future__ import annotations

import time

import numpy as np

from _common import setup


def propagation(alpha: float, k: int, tau: float = 0.05):
    """A neighbour_labels that propagates the labels over the thread's kNN graph (edge weight
    exp((cosine - 1) / tau), symmetric, normalised), `alpha` the share carried per step."""
    from pipeline.records import STANCE_LABELS
    from pipeline.stance_model.thread_reader import unit_rows

    def neighbour_labels(self, t):
        E = unit_rows(t.vectors)
        n = len(E)
        S = E @ E.T
        np.fill_diagonal(S, -np.inf)
        nearest = np.argsort(-S, 1)[:, :k]
        W = np.zeros((n, n))
        for i in range(n):
            W[i, nearest[i]] = np.exp((S[i, nearest[i]] - 1) / tau)
        W = (W + W.T) / 2
        d = np.sqrt(np.where(W.sum(1) == 0, 1, W.sum(1)))
        W = W / d[:, None] / d[None, :]
        Y = np.zeros((n, len(STANCE_LABELS)))
        for row, label in self.labelled:
            Y[row, label] = 1.0
        F = (1 - alpha) * np.linalg.solve(np.eye(n) - alpha * W, Y)  # the fixed point of F = aWF + (1-a)Y
        total = F.sum(1, keepdims=True)
        F = np.where(total > 0, F / np.where(total > 0, total, 1), 1 / len(STANCE_LABELS))
        return (1 - self.NEIGHBOUR_SMOOTH) * F + self.NEIGHBOUR_SMOOTH / len(STANCE_LABELS)
    return neighbour_labels


def main() -> None:
    data, encode, models = setup(__doc__)
    from pipeline.stance_model.thread_reader import ThreadReader
    from pipeline.stance_train import thread_sets as S, threads as T

    news = S.load_news_threads(data)
    prepared = [(t, S.inputs(t, models, encode)) for t in news]
    readers = {t.name: T.fit_reader([p for p in prepared if p[0].name != t.name]) for t in news}
    shipped = ThreadReader.neighbour_labels
    variants = [("shipped spreading (softmax of cosine / 0.05)", shipped)]
    variants += [(f"propagation alpha {a} k {k}", propagation(a, k)) for a in (0.5, 0.8, 0.95) for k in (5, 10, 20)]
    print("macro-F1 over agree/disagree/discuss/unrelated by labels given (the rest scored; 5 draws); "
          "per-class F1 at 20 labels")
    for name, spread in variants:
        ThreadReader.neighbour_labels = spread
        start = time.perf_counter()
        curve = T.learning_curve(news, [p[1] for p in prepared], readers)
        at20 = " ".join(f"{c}={f:.3f}" for c, f in curve["20"]["per_class_f1"].items())
        print(f"{name:<46} " + " ".join(f"{k}: {m['macro_f1']:.3f}" for k, m in curve.items())
              + f" | at 20: {at20} ({time.perf_counter() - start:.0f} s)", flush=True)
    ThreadReader.neighbour_labels = shipped


if __name__ == "__main__":
    main()

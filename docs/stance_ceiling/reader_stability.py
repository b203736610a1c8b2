"""How much of the thread reader's reading the vectors' last digits decide: each labelled Fox
thread read by a reader fitted without it (on the int8 graph's vectors), on the int8 graph's
vectors and on the float32 graph's; macro-F1 on each and the share of comments given the same
stance; then the same with each reading averaged over 16 draws of noise on the pair model's
scores (a smoother reader, sigma in log-probability). Not shipped."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from _common import setup


def main() -> None:
    data, encode, models = setup(__doc__)
    from sklearn.metrics import f1_score

    from pipeline.records import STANCE_LABELS
    from pipeline.stance_model.thread_reader import ThreadReader
    from pipeline.stance_train import thread_sets as S, threads as T
    from pipeline.stance_train.data import make_encoder

    news = S.load_news_threads(data)
    int8 = [(t, S.inputs(t, models, encode)) for t in news]
    fp32 = [(t, S.inputs(t, models, make_encoder(None, "onnx"))) for t in news]
    readers = {t.name: T.fit_reader([p for p in int8 if p[0].name != t.name]) for t in news}
    shipped = ThreadReader.read

    def averaged(sigma: float, draws: int = 16, seed: int = 7):
        def read(self, t):
            rng = np.random.default_rng(seed)
            own = np.asarray(t.own, np.float64)
            total, rest = 0.0, None
            for _ in range(draws):
                noisy = own * np.exp(sigma * rng.standard_normal(own.shape))
                P, *rest = shipped(self, replace(t, own=noisy / noisy.sum(1, keepdims=True), _memo=t._memo))
                total = total + P
            return (total / draws, *rest)
        return read

    print("each Fox thread left out; readers fitted on int8 vectors")
    for name, read in [("shipped reader", shipped)] + [(f"averaged, sigma {s}", averaged(s)) for s in (0.25, 0.5, 1.0)]:
        ThreadReader.read = read
        f1, argmax = {}, {}
        for tag, prepared in (("int8", int8), ("fp32", fp32)):
            gold, pred, argmax[tag] = [], [], []
            for t, (ti, ids) in prepared:
                P = readers[t.name].read(ti)[0]
                argmax[tag].append(P.argmax(1))
                rows, g = S.labelled_rows(ids, t.labels)
                gold += g
                pred += [STANCE_LABELS[i] for i in P[rows].argmax(1)]
            f1[tag] = f1_score(gold, pred, labels=list(S.FOUR), average="macro")
        same = np.concatenate([a == b for a, b in zip(argmax["int8"], argmax["fp32"])])
        print(f"{name:<22} macro-F1 int8 {f1['int8']:.3f} fp32 {f1['fp32']:.3f} | the same stance on both: "
              f"{same.mean():.3f} of {len(same)} comments", flush=True)
    ThreadReader.read = shipped


if __name__ == "__main__":
    main()

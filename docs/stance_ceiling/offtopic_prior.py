"""Each thread's own share of off-topic comments (issue 23, point 4): does re-estimating
it per thread (EM on the regression's outputs, Saerens et al. 2002) find the banter better
than the share the regression was fitted with?

    PYTHONPATH=. python docs/stance_ceiling/offtopic_prior.py [--data ../shared/data]

Threads differ: of the Fox threads' agreed labels 5% (fox44) to 73% (fox33) are unrelated,
of the real dump's team labels 14%. The reader's off-topic regression (its eight relevance
features, and the five that are not relative to the thread; balanced classes, so its prior
is one half; C 0.1 and 1) is fitted on four Fox threads and read on the fifth, and on the
real dump fitted on all five; EM then moves the prior to the thread's own estimated share
and the posteriors with it. Prints, per thread, the true share, the mean P(unrelated), the
EM share, and the F1 of unrelated at 0.5 without and with EM. Nothing is saved or shipped.
Inputs: the stage's own (thread_sets.inputs, onnx-int8 vectors: _common.setup).
"""
from __future__ import annotations

import numpy as np
from _common import labelled_threads, setup
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

ABSOLUTE = [1, 4, 5, 6, 7]  # cos_target, cos_thread, is_reply, cos_parent, log_tokens (RELEVANCE_FEATURES)


def em_prior(p: np.ndarray, prior: float = 0.5, rounds: int = 200) -> tuple[np.ndarray, float]:
    share, post = prior, p
    for _ in range(rounds):
        a, b = p * share / prior, (1 - p) * (1 - share) / (1 - prior)
        post = a / (a + b)
        if abs(post.mean() - share) < 1e-7:
            break
        share = float(post.mean())
    return post, share


def main(argv=None) -> None:
    data, encode, models = setup(__doc__, argv)
    from pipeline.stance_train.thread_sets import inputs

    threads = labelled_threads(data)
    sets = {}
    for t in threads:
        ti, ids = inputs(t, models, encode)
        rows = [k for k, c in enumerate(ids) if c in t.labels and t.labels[c]["stance"]]
        sets[t.name] = ti.relevance_features(), rows, np.array([t.labels[ids[k]]["stance"] == "unrelated"
                                                                 for k in rows])
    fox = [name for name in sets if name.startswith("fox")]
    for columns, about in ((slice(None), "all eight features"), (ABSOLUTE, "the five not relative to the thread")):
        for C in (0.1, 1.0):
            print(f"{about}, C {C}:")
            for held in [*fox, *(name for name in sets if name not in fox)]:
                X = np.vstack([sets[n][0][sets[n][1]][:, columns] for n in fox if n != held])
                y = np.concatenate([sets[n][2] for n in fox if n != held])
                mean, scale = X.mean(0), X.std(0) + 1e-9
                fit = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit((X - mean) / scale, y)
                p = fit.predict_proba((sets[held][0][:, columns] - mean) / scale)[:, 1]
                post, share = em_prior(p)
                rows, truth = sets[held][1], sets[held][2]
                print(f"  {held:<9} true share {truth.mean():.2f}  mean P {p.mean():.2f}  EM share {share:.2f}  "
                      f"F1 {f1_score(truth, p[rows] > 0.5):.3f} -> {f1_score(truth, post[rows] > 0.5):.3f}")


if __name__ == "__main__":
    main()

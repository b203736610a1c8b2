"""Where the article's side could come from (issue 23, point 3): within each labelled
thread, do the pair model's agree-versus-disagree log-odds or the comment's tone tell agree
from disagree, and does a thread's mean of either tell which side most of its readers take?

    PYTHONPATH=. python docs/stance_ceiling/side_signals.py [--data ../shared/data]

For each Fox thread and the real dump (team labels): the share of agree among the comments
labelled agree or disagree; the ROC AUC of the pair model's log P(agree) - log P(disagree)
(the reader's unary evidence) and of minus the comment's VADER compound (negative tone read
as agreeing) for agree against disagree; and the thread's mean of the log-odds and of the
tone over all its comments. Inputs: the stage's own (thread_sets.inputs, onnx-int8 vectors).
Prints a table; nothing is saved or shipped.
"""
from __future__ import annotations

import numpy as np
from _common import labelled_threads, pair_log_odds, setup, sided


def main(argv=None) -> None:
    data, encode, models = setup(__doc__, argv)
    from pipeline.stance_model.features import sentiment_features
    from pipeline.stance_train.thread_sets import inputs

    print(f"{'thread':<10} {'sided':>5} {'agree':>6} {'AUC log-odds':>13} {'AUC -tone':>10} "
          f"{'mean log-odds':>14} {'mean tone':>10}")
    for t in labelled_threads(data):
        ti, ids = inputs(t, models, encode)
        odds = pair_log_odds(ti)
        tone = sentiment_features(list(ti.texts))[:, 3].astype(np.float64)
        rows, share, auc = sided(t, ids)
        print(f"{t.name:<10} {len(rows):>5} {share:>6.2f} {auc(odds):>13} "
              f"{auc(-tone):>10} {odds.mean():>+14.2f} {tone.mean():>+10.2f}")


if __name__ == "__main__":
    main()

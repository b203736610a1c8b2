"""What the record scripts share: their command line, the offline environment, and the
shipped pair model with the onnx-int8 encoder (the cache's vectors); the labelled threads."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path


def setup(doc: str, argv=None):
    """(data folder, encode, models) for a script whose docstring is `doc`."""
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    args = ap.parse_args(argv)
    from pipeline.offline import go_offline

    go_offline()
    from pipeline.stance import load_models, weights_for
    from pipeline.stance_train.data import make_encoder

    return Path(args.data), make_encoder(None, "onnx-int8"), load_models(weights_for("onnx-int8"))


def labelled_threads(data: Path) -> list:
    """The labelled Fox threads (thread_sets.load_news_threads) and, where ../shared has it,
    the real dump with the team's labels, as LabelledThreads read and cleaned as the
    stage reads them (the fifth round's record scripts)."""
    import json

    from pipeline import clean, ingest
    from pipeline.tokens import load_nlp
    from pipeline.config import load_config
    from pipeline.replies import infer_reply_targets
    from pipeline.stance_train.evaluate import REAL_LABELS
    from pipeline.stance_train.thread_sets import LabelledThread, load_news_threads

    found = load_news_threads(data)
    spec = json.loads(REAL_LABELS.read_text(encoding="utf-8"))
    dump = Path(data).parent / "dumps" / spec["dump"]
    if dump.is_file():
        thread = ingest.parse_dump(dump.read_bytes(), str(dump))
        config = load_config()["clean"]
        cleaned = clean.clean_comments(thread.comments, thread.article, config,
                                       load_nlp(config["spacy_model"], config["lemmatizer"]))
        found.append(LabelledThread("real dump", thread, cleaned, infer_reply_targets(thread.comments, cleaned),
                                    {r["id"]: r for r in spec["comments"]}))
    return found


def pair_log_odds(ti):
    """The pair model's log P(agree) - log P(disagree) per row of a ThreadInput (the reader's
    own evidence of a side)."""
    import numpy as np

    own = np.log(np.clip(np.asarray(ti.own, np.float64), 1e-4, 1.0))
    return own[:, 0] - own[:, 1]


def sided(t, ids: list[str]):
    """(rows labelled agree or disagree, their share of agree, auc): `auc(scores)` is the ROC AUC
    of scores over all rows for agree against disagree on those rows, as text ('-' where the
    thread has one of the two alone)."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    rows = [k for k, c in enumerate(ids) if c in t.labels and t.labels[c]["stance"] in ("agree", "disagree")]
    agree = np.array([t.labels[ids[k]]["stance"] == "agree" for k in rows])
    if not 0 < agree.sum() < len(agree):
        return rows, (agree.mean() if rows else float("nan")), (lambda s: "-")
    return rows, agree.mean(), (lambda s: f"{roc_auc_score(agree, np.asarray(s)[rows]):.3f}")

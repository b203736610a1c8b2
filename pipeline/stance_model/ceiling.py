"""How far the one transformer this project can load goes on stance: all-MiniLM-L6-v2
fine-tuned end to end as a cross-encoder (article and comment read together).

    python -m pipeline.stance_model.ceiling [--data ../shared/data/stance] [--runs joint arc re]
                                            [--limit N] [--max-length 256] [--batch 32] [--lr X] [--epochs N]

Not part of the product: the shipped model reads the comment embeddings the
pipeline already has, and a cross-encoder must read every comment again with
its article. It is here so that the README's claim about the accuracy targets
can be checked. Same training and validation splits as train.py and
evaluate.py (it trains on the whole training split, where train.py keeps 15%
for its temperature), same metrics (evaluate.slice_metrics). Runs:
    joint  the five labels, trained on ARC, FNC-1 and RumourEval train, 3 epochs
    arc    ARC train alone, 4 epochs
    re     RumourEval train alone, 5 epochs
--lr and --epochs override the own values of every run named. The README's
figures also come from arc with --lr 5e-5 --epochs 8, arc with --lr 2e-5
--epochs 6 --batch 16 --max-length 384, and re with --lr 2e-5 --epochs 6; they
were measured with this script's first form (docs/stance_ceiling/). Every
epoch prints the validation figures; the README quotes the best epoch.
It trains at about 6 rows a second on 2 CPU cores (the joint run alone would
take about 6 hours there) and in minutes on a GPU, where torch is a CUDA build
(the project pins the CPU build).
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from pipeline.stance_model.data import DEFAULT_DATA, cli_inputs, load_splits
from pipeline.stance_model.evaluate import slice_metrics, validation_slices
from pipeline.stance_model.model import LABELS

RUNS = {  # name: (training sources, epochs, learning rate, validation slices of evaluate.validation_slices)
    "joint": (("arc", "fnc1", "rumoureval"), 3, 3e-5, ("arc", "fnc1", "rumoureval", "rumoureval_all_posts")),
    "arc": (("arc",), 4, 3e-5, ("arc",)),
    "re": (("rumoureval",), 5, 4e-5, ("rumoureval", "rumoureval_all_posts")),
}


def pair_inputs(ps, i: int) -> tuple[str, str]:
    """(article side, comment side): the comment answered, if any, after the comment."""
    text = ps.texts[i] if not ps.parents[i] else f"{ps.texts[i]} [SEP] {ps.parents[i][:300]}"
    return ps.targets[i][:600], text[:3000]


def run(name: str, train_sets: dict, slices: dict, limit: int | None, max_length: int, batch: int = 32,
        lr: float | None = None, epochs: int | None = None, seed: int = 13, log=print) -> dict:
    """`train_sets`: source -> PairSet; `slices`: name -> (PairSet, scheme), as
    evaluate.validation_slices gives them."""
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer

    from pipeline.embed import resolve_model_path

    sources, run_epochs, run_lr, scored = RUNS[name]
    epochs = run_epochs if epochs is None else epochs
    lr = run_lr if lr is None else lr
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = [(ps, i) for s in sources for ps in [train_sets[s]] for i in range(len(ps))[:limit]]
    labels = [lab for lab in LABELS if any(ps.labels[i] == lab for ps, i in rows)]  # the head's classes
    y = np.array([labels.index(ps.labels[i]) for ps, i in rows])
    share = np.bincount(y, minlength=len(labels)) / len(y)
    weight = share ** -0.75  # the stance net's re-balancing
    weight = torch.tensor(weight / weight[y].mean(), dtype=torch.float32, device=device)
    path = resolve_model_path("all-MiniLM-L6-v2")
    tok, bert = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path, add_pooling_layer=False)
    model = nn.ModuleDict({"bert": bert, "drop": nn.Dropout(0.1),
                           "head": nn.Linear(bert.config.hidden_size, len(labels))}).to(device)

    def logits(pairs):
        enc = tok(*map(list, zip(*[pair_inputs(ps, i) for ps, i in pairs])), truncation="longest_first",
                  max_length=max_length, padding=True, return_tensors="pt").to(device)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            return model["head"](model["drop"](model["bert"](**enc).last_hidden_state[:, 0])).float()

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(rows) / batch)
    warm = int(0.06 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / max(1, warm), max(0.0, (steps - s) / max(1, steps - warm))))
    log(f"{name}: {len(rows)} training rows from {', '.join(sources)} on {device}")
    result = {}
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.time()
        order = rng.permutation(len(rows))
        for start in range(0, len(rows), batch):
            idx = order[start:start + batch]
            loss = nn.functional.cross_entropy(logits([rows[j] for j in idx]), torch.from_numpy(y[idx]).to(device),
                                               weight=weight)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        seconds = time.time() - t0
        model.eval()
        result = {"epoch": epoch, "classes": labels, "train_rows_per_s": round(len(rows) / seconds, 1)}
        with torch.no_grad():
            for s in scored:
                ps, scheme = slices[s]
                n = len(ps) if limit is None else min(limit, len(ps))
                P = np.zeros((n, len(LABELS)))  # in LABELS' columns, as slice_metrics reads them
                P[:, [LABELS.index(lab) for lab in labels]] = np.concatenate(
                    [torch.softmax(logits([(ps, i) for i in range(k, min(n, k + 256))]), -1).cpu().numpy()
                     for k in range(0, n, 256)])
                m = slice_metrics(P, ps.labels[:n], scheme)
                result[s] = {k: round(m[k], 4) for k in ("macro_f1", "accuracy", "fnc_score") if k in m}
        log(json.dumps({"run": name, **result}))
    return result


def positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above 0")
        return value
    return parse


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--limit", type=positive(int), default=None,
                    help="at most N rows per training source and slice (a smoke run)")
    ap.add_argument("--max-length", type=positive(int), default=256, help="tokens of article and comment together")
    ap.add_argument("--batch", type=positive(int), default=32)
    ap.add_argument("--lr", type=positive(float), default=None, help="learning rate (default: the run's own)")
    ap.add_argument("--epochs", type=positive(int), default=None, help="epochs (default: the run's own)")
    args = ap.parse_args(argv)
    data, _ = cli_inputs(args.data)
    splits = load_splits(data)
    train_sets = {source: pair[0] for source, pair in splits.items()}
    slices = validation_slices(data, splits)
    for name in args.runs:
        run(name, train_sets, slices, args.limit, args.max_length, args.batch, args.lr, args.epochs,
            log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()

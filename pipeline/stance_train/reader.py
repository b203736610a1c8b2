"""Fit the thread reader on the labelled news threads, measure it (each thread read by a
reader fitted without it; RumourEval dev threads, the IAC validation authors, the real
dump), and save it with those figures beside the shipped pair model's weights.

    python -m pipeline.stance_train.reader [--data ../shared/data] [--embed-backend onnx-int8] [--no-save]
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from pipeline.backends import BACKENDS
from pipeline.stance_train.data import DEFAULT_DATA
from pipeline.stance_train.thread_sets import inputs, load_news_threads, prepare_rumours
from pipeline.stance_train.threads import (defer_above_for, evaluate, fit_reader, fit_rumour_replies, iac_authors,
                                           table)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--embed-backend", default="onnx-int8", choices=BACKENDS)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--no-save", action="store_true", help="measure only; leave the shipped reader as it is")
    ap.add_argument("--with-rumours", action="store_true",
                    help="fit the side weights on RumourEval train threads too (measured, not shipped: docs/stance.md)")
    args = ap.parse_args(argv)
    from pipeline.stance import load_models, weights_for
    from pipeline.stance_train.data import make_encoder

    encode = make_encoder(args.cache_dir, args.embed_backend)
    folder = weights_for(args.embed_backend)
    models = load_models(folder)
    defer_above = defer_above_for(args.embed_backend)
    res = evaluate(Path(args.data), models, encode, defer_above=defer_above)
    if res is None:
        raise SystemExit(f"error: {args.data}/threads/fox_labels/agreed.jsonl not found: pass --data with the "
                         "folder holding threads/ (../shared/data)")
    print(table(res))
    if not args.no_save:
        threads = load_news_threads(Path(args.data))
        rumours = prepare_rumours(Path(args.data), models, encode)
        reader = fit_reader([(t, inputs(t, models, encode)) for t in threads], rumours if args.with_rumours else [],
                            defer_above)
        if rumours:  # how a deferred thread (replies to a rumour post) is read, beside the RumourEval head
            reader = replace(reader, rumour_replies=fit_rumour_replies(rumours))
            print(f"replies to a rumour post: C {reader.rumour_replies.card['C']}, grouped CV macro-F1 "
                  f"{reader.rumour_replies.card['grouped_cv_macro_f1']}")
        reader.card = {"name": "thread-reader", "version": "2.1", "embed_backend": args.embed_backend,
                       "fitted_on": "threads/fox (five Fox News threads, agreed labels)"
                                    + ("; side weights also on RumourEval 2019 train threads" if args.with_rumours
                                       else ""),
                       "leave_one_thread_out": res}
        from pipeline.stance import StanceModels
        from pipeline.stance_train.evaluate import REAL_LABELS, dumps_beside, real_dump

        from pipeline.stance_train.evaluate import rumour_threads as rumour_dev

        shipped = StanceModels(models.method, models.card, folder, reader)
        found = real_dump(shipped, encode, dumps=dumps_beside(Path(args.data)),
                          thread_reader=reader) if REAL_LABELS.is_file() else None
        if found and "stance" in found:
            reader.card["real_dump"] = found
        # the other thread slices, beside the pair-at-a-time path (None)
        reader.card["rumour_dev_threads"] = {name: rumour_dev(models, encode, Path(args.data), r)
                                             for name, r in (("thread_reader", reader), ("pair_at_a_time", None))}
        reader.card["iac_validation_authors"] = {name: iac_authors(Path(args.data), models, encode, r)
                                                 for name, r in (("thread_reader", reader),
                                                                 ("pair_at_a_time", None))}
        for name, r in reader.card["rumour_dev_threads"].items():
            print(f"RumourEval dev threads, {name}: SDQC macro-F1 {r['macro_f1']:.4f}")
        for name, r in reader.card["iac_validation_authors"].items():
            if r:
                print(f"IAC validation authors, {name}: macro-F1 {r['macro_f1']:.4f} acc {r['accuracy']:.4f} "
                      f"(n={r['n']}; majority {r['majority_macro_f1']:.4f})")
        reader.save(folder)
        print(f"saved {folder}/thread_reader.json")


if __name__ == "__main__":
    main()

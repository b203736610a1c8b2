"""Train a stance method deterministically from ../shared/data, and write its card.

    python -m pipeline.stance_train.train [--data ../shared/data] [--method stance-heads]
                                          [--out pipeline/stance_model/weights/minilm/stance-heads]
                                          [--embed-backend torch] [--labelled FILE ...] [--no-news]
                                          [--cache-dir .cache] [--no-eval]

Training rows: the training parts of the grouped splits of data.py (ARC, FNC-1,
RumourEval, VAST, Perspectrum, Reddit agreement); the validation slices are never
read here except to write the figures into the card (evaluate.py, with the
baselines trained beside it on the same splits). Labelled reader comments of your
own (--labelled; the format of labelled/README.md) join ARC's rows (reader comment
toward an article; query counted as discuss) and, where they carry a reply_label,
the Reddit rows (reply toward the comment answered). The team's own written
comments (labelled/news_comments.jsonl) join the same way unless --no-news
(docs/stance.md: measured with and without).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from pipeline.records import STANCE_LABELS
from pipeline.stage_cache import sha256_of
from pipeline.stance_model.methods import DEFAULT, METHODS
from pipeline.stance_train.data import (DEFAULT_DATA, FILES, LABELLED, REPO, SEED, PairSet, load_splits,
                                        with_labelled)


def train(data: Path, encode, method: str = DEFAULT, labelled: PairSet | None = None, splits=None):
    """The fitted method and the splits it was trained on."""
    splits = splits or load_splits(data)
    sets = with_labelled({s: tr for s, (tr, _) in splits.items()}, labelled)
    return METHODS[method]().fit(sets, encode), splits


def _shown(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def main(argv=None) -> None:
    from pipeline.stance import weights_for
    from pipeline.stance_train.data import cli_inputs, make_encoder

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--method", default=DEFAULT, choices=tuple(METHODS))
    ap.add_argument("--out", default=None, help="default: the shipped folder of the method and backend")
    ap.add_argument("--cache-dir", default=None, help="embedding cache (default: .cache under the repository)")
    ap.add_argument("--no-eval", action="store_true", help="skip the validation figures in the card")
    ap.add_argument("--embed-backend", default="torch", choices=("torch", "static"),
                    help="embeddings the model reads: torch (MiniLM, also for onnx and onnx-int8) or "
                         "static (the distilled model of embed.backend: static)")
    ap.add_argument("--labelled", action="append", default=[], metavar="FILE",
                    help="labelled comments of your own (format: pipeline/stance_train/labelled/README.md); "
                         "may repeat")
    ap.add_argument("--no-news", action="store_true", help="leave out the team's written news comments")
    args = ap.parse_args(argv)
    files = [*([] if args.no_news else [LABELLED]), *map(Path, args.labelled)]
    data, labelled = cli_inputs(args.data, files, "news")
    t_start = time.time()
    encode = make_encoder(args.cache_dir, args.embed_backend)
    method, splits = train(data, encode, args.method, labelled)
    out = Path(args.out) if args.out else weights_for(args.embed_backend, args.method)
    seconds = round(time.time() - t_start, 1)
    method.card.update(
        name="comment-stance" + ("" if args.method == DEFAULT else f"-{args.method}")
             + ("-static" if args.embed_backend == "static" else ""),
        labels=list(STANCE_LABELS),
        embedding={"model": "all-MiniLM-L6-v2", "backend": args.embed_backend, "fingerprint": encode.fingerprint},
        trained_on={**{f: sha256_of(data / f) for f in FILES}, **{_shown(f): sha256_of(f) for f in files}},
        trained_on_note="the held-out ARC / FNC-1 headlines, RumourEval dev, VAST dev, Perspectrum dev and a "
                        "grouped fifth of the Reddit agreement set are validation only",
        split_seed=SEED,
        training={"seconds": seconds, "texts_embedded": encode.stats["encoded"], "cpu_threads": 1,
                  "hardware": "CPU (torch on one thread; no GPU needed)"})
    method.save(out)
    if not args.no_eval:  # the saved weights (float16), as the pipeline will load them
        from pipeline.stance_model.methods import load_method
        from pipeline.stance_train.evaluate import evaluate, table

        res = evaluate(data, load_method(out), encode, splits=splits)
        method.card["validation"] = res
        method.save(out)
        print(table(res, method.name))
    print(f"saved {_shown(out)} in {seconds} s (training) and {round(time.time() - t_start, 1)} s in all")


if __name__ == "__main__":
    main()

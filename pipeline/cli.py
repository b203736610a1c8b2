"""Command line: `comment-pipeline run ...` (or `python -m pipeline run ...`).

User mistakes (PipelineError) print one line and exit with status 2; an
interrupt exits with 130 and leaves earlier artifacts as they were, but for
the folders it names as swapped in whole before it came.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import warnings

from pipeline.offline import go_offline

go_offline()  # before any Hugging Face import: a missing model fails fast, never downloads

from pipeline.errors import INTERRUPTED, PipelineError  # noqa: E402

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

RUN_HELP = """\
Annotate comment-thread dumps: ingest, clean, replies, embed, topics,
stance, export.

Each dump's artifacts go to <output_dir>/<dump name>/ (default artifacts/):
comments.parquet and comments.jsonl (one row per comment), topics.csv,
thread.json (the nested reply tree), embeddings.npy, report.html with its
PNG plots, review/ (Label Studio tasks and config, review.csv) and
manifest.json. A folder run also writes <output_dir>/index.html. A rerun
keeps the files reviewers and you added or changed in a dump's folder.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="comment-pipeline",
                                     description="Topics and stance of reader comments.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the pipeline on dumps", description=RUN_HELP,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("inputs", nargs="+", metavar="DUMP",
                     help="a dump file (.txt or .jsonl) or a folder of them; several allowed")
    run.add_argument("--config", "-c", metavar="FILE", default=None,
                     help="YAML config; only the keys it changes are needed "
                          "(default: configs/default.yaml)")
    run.add_argument("--set", "-s", dest="overrides", action="append", default=[],
                     metavar="KEY=VALUE",
                     help="override one config key, e.g. --set topics.min_topic_size=5; "
                          "repeatable; applied after --config")
    run.add_argument("--out", metavar="DIR", default=None,
                     help="where artifacts go (same as --set output_dir=DIR)")
    run.add_argument("--format", "-f", metavar="NAME", default=None,
                     help="read every DUMP as this format (same as --set ingest.format=NAME); "
                          "default: found from each file's content; `formats` lists them")
    run.add_argument("--submissions", metavar="FILE", default=None,
                     help="pushshift: the submissions NDJSON that gives the threads their articles "
                          "(same as --set ingest.submissions=FILE)")
    run.add_argument("--quiet", "-q", action="store_true", help="only warnings and errors")
    commands.add_parser("formats", help="list the formats a dump may be in, and what each reads",
                        description="The formats ingest reads: found from a file's content, or named "
                                    "with run --format NAME.")

    pairs = commands.add_parser(
        "stance-predict", help="stance for your own (target, text) pairs",
        description="Score JSON lines {id, target, text, parent_text?} with the shipped stance "
                    "model; writes {id, stance, confidence, probs} per line, in input order.")
    pairs.add_argument("--in", dest="in_path", required=True, metavar="FILE",
                       help="pairs, one JSON object per line")
    pairs.add_argument("--out", dest="out_path", required=True, metavar="FILE",
                       help="predictions; replaced only when every input line was good")
    pairs.add_argument("--config", "-c", metavar="FILE", default=None,
                       help="YAML config (embed.* and cache_dir are used)")
    pairs.add_argument("--set", "-s", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override one config key; repeatable")
    pairs.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    reviewed = commands.add_parser(
        "review-import", help="read reviewers' labels back and measure agreement",
        description="Read a Label Studio JSON export or a filled-in review.csv, print how often "
                    "the reviewers agreed with the model (stance accuracy and macro-F1, topic "
                    "agreement per topic) and write review/corrected_labels.csv and "
                    "review/agreement.json into the run's artifact folder.")
    reviewed.add_argument("file", metavar="FILE", help="Label Studio export (.json) or review.csv")
    reviewed.add_argument("--artifacts", metavar="DIR", default=None,
                          help="the run's folder, artifacts/<dump name> (default: the folder "
                               "above FILE's review/ folder)")
    return parser


def _review_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.review_io import import_review

    report = import_review(Path(args.file), Path(args.artifacts) if args.artifacts else None)
    print(report)
    return 0


def _stance_predict(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.config import load_config
    from pipeline.pairs import predict_pairs
    from pipeline.runner import Resources

    resources = Resources(load_config(args.config, args.overrides))
    count = predict_pairs(Path(args.in_path), Path(args.out_path), resources.stance_models.method,
                          resources.encode, progress=not args.quiet, flush=resources.flush)
    print(f"{count} pairs scored by {resources.stance_models.name}: {args.out_path}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from pipeline import runner
    from pipeline.config import load_config

    overrides = list(args.overrides)
    if args.out:
        overrides.append(f"output_dir={args.out}")
    if args.format:
        overrides.append(f"ingest.format={args.format}")
    if args.submissions:
        overrides.append(f"ingest.submissions={args.submissions}")
    config = load_config(args.config, overrides)
    written = runner.run(args.inputs, config)
    for folder in written:
        print(folder)
    return 0


def _formats(args: argparse.Namespace) -> int:
    from pipeline.ingest.formats import listing

    for name, reads, collect in listing():
        print(f"{name}\n  reads:   {reads}\n  collect: {collect}")
    return 0


def _interrupt(signum, frame) -> None:
    INTERRUPTED.set()  # sticky: checked again at each stage boundary and before the swap
    raise KeyboardInterrupt  # SIGTERM unwinds like Ctrl-C: staging folders are removed


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    logging.basicConfig(level=logging.WARNING if getattr(args, "quiet", False) else logging.INFO,
                        format="%(levelname)s %(message)s", stream=sys.stderr)
    for noisy in ("BERTopic", "sentence_transformers", "transformers", "numba"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        commands = {"run": _run, "stance-predict": _stance_predict, "review-import": _review_import,
                    "formats": _formats}
        return commands[args.command](args)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as interrupt:
        replaced = getattr(interrupt, "replaced", [])
        if replaced:  # the interrupt came after these were swapped in whole
            print(f"interrupted: new artifacts in {', '.join(replaced)}; "
                  "everything else is unchanged", file=sys.stderr)
        else:
            print("interrupted: earlier artifacts are unchanged", file=sys.stderr)
        return EXIT_INTERRUPTED

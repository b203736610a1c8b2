"""Every file a run writes, named once (in the manner of Kedro's data catalog).

A dump's artifact folder, `<output_dir>/<dump name>/`:

    comments.parquet, comments.jsonl   one row per comment (export.py)
    topics.csv                         one row per topic
    embeddings.npy                     the comments' vectors, in row order
    thread.json                        the article and the reply tree
    report.html, <figure>.png          the report and its plots
    review/                            the review export; the user's area
    manifest.json                      what made the folder, hashes of the rest, written last

Beside the dumps' folders: index.html over a folder run, and `_corpus/`
where `topics.scope: corpus` (pipeline/corpus.py):

    topics.csv, topic_threads.csv      the corpus topics, and each topic's comments per thread
    topics_over_time.csv               where comments have times
    comment_topics.parquet, .csv       every comment's corpus topic beside its thread topic
    model/topics.json, centroids.npy, threads.json   the fitted model and the threads it assigned
    index.html, manifest.json          the corpus page, and what made the folder

The runner, the
artifacts writers, review-import, freshness checks and the swap read their
names from here; docs/artifacts.md describes what is in each.
"""
from __future__ import annotations

COMMENTS_PARQUET = "comments.parquet"
COMMENTS_JSONL = "comments.jsonl"
TOPICS_CSV = "topics.csv"
EMBEDDINGS = "embeddings.npy"
THREAD = "thread.json"
REPORT = "report.html"
MANIFEST = "manifest.json"
FIGURES = ("topic_sizes", "stance_by_topic", "stance_by_depth")  # report.html's plots, each <name>.png

# the review export (review/ in a dump's folder), and what review-import writes beside it
REVIEW = "review"
REVIEW_CSV = "review.csv"
LABEL_STUDIO_TASKS = "label_studio.json"
LABEL_STUDIO_CONFIG = "label_studio_config.xml"
CORRECTED_LABELS = "corrected_labels.csv"
AGREEMENT = "agreement.json"
STANCE_LABELS = "stance_labels.jsonl"

# beside the dumps' folders in output_dir
INDEX = "index.html"
CORPUS = "_corpus"  # the corpus topic model's folder (topics.scope: corpus)
RESERVED_NAMES = frozenset({INDEX, CORPUS})  # a dump's folder never takes one of these names

# in _corpus/ (INDEX, MANIFEST and TOPICS_CSV too)
CORPUS_TOPIC_THREADS = "topic_threads.csv"
CORPUS_TOPICS_OVER_TIME = "topics_over_time.csv"
CORPUS_COMMENT_TOPICS_PARQUET = "comment_topics.parquet"
CORPUS_COMMENT_TOPICS_CSV = "comment_topics.csv"
CORPUS_MODEL = "model"  # a folder
CORPUS_MODEL_TOPICS = "topics.json"
CORPUS_MODEL_CENTROIDS = "centroids.npy"
CORPUS_MODEL_THREADS = "threads.json"


def figure_file(name: str) -> str:
    """The PNG file of one of report.html's plots."""
    if name not in FIGURES:
        raise ValueError(f"not one of the report's figures: {name!r}")
    return f"{name}.png"

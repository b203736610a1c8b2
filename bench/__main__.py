"""make bench: speed and memory figures, printed as tables.

1. The stance stage against the embedding it reuses, on N comments of one
   article (default 10,000): embedding without a cache, then stance with the
   embeddings cached, as in a pipeline run.
2. Ingest and clean on JSONL dumps of growing size: comments per second and
   peak resident memory, each size in its own process.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def stance_vs_embed(n: int) -> list[tuple[str, str]]:
    from bench.corpus import sample_comments
    from pipeline.config import load_config
    from pipeline.runner import Resources
    from pipeline.stance import article_target
    from pipeline.records import Article

    texts, source = sample_comments(n)
    article = Article("bench", "Council votes to close a street to cars",
                      ("The council voted to close four blocks of a city street to private cars.",), "bench")
    with tempfile.TemporaryDirectory() as cache:
        resources = Resources(load_config(None, [f"cache_dir={cache}"]))
        resources.embedder  # load the model outside the timings
        models = resources.stance_models
        start = time.perf_counter()
        resources.embed(texts)
        embed_seconds = time.perf_counter() - start
        start = time.perf_counter()
        models.stance.predict_proba([article_target(article)] * n, texts, [None] * n, resources.encode)
        stance_seconds = time.perf_counter() - start
    return [("corpus", f"{n:,} comments from {source}"),
            ("embed (no cache)", f"{embed_seconds:.1f} s, {n / embed_seconds:,.0f} comments/s"),
            ("stance (embeddings cached)", f"{stance_seconds:.1f} s, {n / stance_seconds:,.0f} comments/s"),
            ("stance / embed time", f"{stance_seconds / embed_seconds:.3f}")]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--comments", type=int, default=10_000, help="comments for stance vs embed")
    parser.add_argument("--memory-sizes", default="5000,10000,20000,40000",
                        help="comma-separated dump sizes for the ingest/clean memory table ('' skips it)")
    parser.add_argument("--skip-stance", action="store_true", help="only the memory table")
    args = parser.parse_args()
    if not args.skip_stance:
        rows = stance_vs_embed(args.comments)
        width = max(len(name) for name, _ in rows)
        print("\nStance vs embedding")
        for name, value in rows:
            print(f"  {name:<{width}}  {value}")
    if args.memory_sizes:
        from bench.memory import measure, table

        sizes = [int(n) for n in args.memory_sizes.split(",")]
        print("\nIngest and clean on JSONL dumps (peak resident memory of the whole process)")
        print("\n".join(table(measure(sizes))), flush=True)


if __name__ == "__main__":
    main()

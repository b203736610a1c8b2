"""make bench: speed and memory figures, printed as tables (never asserted).

Sections (--only picks some; all by default):

  stance   the stance stage against the embedding it reuses, on N comments
  memory   ingest and clean on JSONL dumps of growing size, peak memory; then
           whole runs (fast mode, report off) of 10,000, 100,000 and 1,000,000
           comments as one dump and as a folder of 1,000-comment dumps: seconds
           and peak memory per stage (the million took 32 minutes as one dump and
           about two hours as a folder on the 2-core machine, beside other work)
  e2e      whole runs on the real dump, ~2,100 long posts (FNC-1 and ARC bodies)
           and corpora of 1,000 / 10,000 / 100,000 comments: comments/s per
           stage, wall time, peak memory, reruns, and the plain
           SentenceTransformer + BERTopic way
  backends embedding backends on 10,000 comments: throughput, agreement with
           the PyTorch reference, topics and stance with each
  sampling topics fitted on every comment against a fit on a quarter of them
  floor    the compute floor of the embedding stage on this machine
  ray      the Ray executor at one and two nodes (clusters started on this machine)
           against the local executor, where the time goes, and a folder of
           1,000 dumps through a two-node cluster
  quality  topics on ~4,000 long labelled debate posts (IAC, ../shared): outlier
           share, NPMI, diversity and NMI, today's defaults against the old ones
  corpus   a folder of 1,000+ small dumps as one corpus (topics.scope: corpus),
           then ten dumps added: wall time, assigned without refit, outside
"""
from __future__ import annotations

import argparse
import tempfile
import time

from pipeline.offline import go_offline

go_offline()

SECTIONS = ("stance", "memory", "e2e", "backends", "sampling", "floor", "quality", "corpus", "ray")


def stance_vs_embed(n: int) -> list[tuple[str, str]]:
    from bench.corpus import sample_comments
    from pipeline.config import load_config
    from pipeline.records import Article
    from pipeline.runner import Resources
    from pipeline.stance import article_target

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
        from pipeline.stance_model._base import Pairs

        models.method.stance_proba(Pairs([article_target(article)] * n, texts), resources.encode)
        stance_seconds = time.perf_counter() - start
    return [("corpus", f"{n:,} comments from {source}"),
            ("embed (no cache)", f"{embed_seconds:.1f} s, {n / embed_seconds:,.0f} comments/s"),
            ("stance (embeddings cached)", f"{stance_seconds:.1f} s, {n / stance_seconds:,.0f} comments/s"),
            ("stance / embed time", f"{stance_seconds / embed_seconds:.3f}")]


def floor(n: int) -> list[tuple[str, str]]:
    from bench.corpus import sample_comments
    from bench.floor import matmul_gflops, model_flops
    from pipeline.config import load_config
    from pipeline.embed import Embedder

    section = load_config()["embed"]
    texts, _ = sample_comments(n)
    embedder = Embedder.from_config({**section, "backend": "torch"}).load()
    need = model_flops(embedder.info_.path, texts, section["max_seq_length"], section["batch_size"])
    rate = matmul_gflops(need["d"], need["f"])
    start = time.perf_counter()
    embedder.encode(sorted(texts, key=len, reverse=True))
    actual = time.perf_counter() - start
    floor_s = need["flops"] / (rate * 1e9)
    rows = []
    for backend in dict.fromkeys(("onnx", section["backend"]) if section["backend"] != "torch" else ("onnx",)):
        other = Embedder.from_config({**section, "backend": backend}).load()
        other.encode(texts[:8])  # load (and build, once) outside the timing
        start = time.perf_counter()
        other.encode(texts)
        seconds = time.perf_counter() - start
        rows.append((f"embed stage ({backend}{', the default' if backend == section['backend'] else ''})",
                     f"{seconds:.1f} s ({n / seconds:,.0f} comments/s): {seconds / floor_s:.2f} times the "
                     f"float32 floor's time"))
    return [("corpus", f"{n:,} comments, {need['tokens']:,} word pieces "
                       f"(max {section['max_seq_length']} per comment)"),
            ("model work", f"{need['flops'] / 1e12:.2f} TFLOP ({need['flops'] / need['tokens'] / 1e6:.1f} "
                           f"MFLOP per word piece; padding in length-sorted batches adds "
                           f"{need['padded_flops'] / need['flops'] - 1:.1%})"),
            ("float32 matmul rate", f"{rate:.1f} GFLOP/s ({need['d']}x{need['f']} shapes, torch threads)"),
            ("compute floor", f"{floor_s:.1f} s ({n / floor_s:,.0f} comments/s)"),
            ("embed stage (PyTorch)", f"{actual:.1f} s ({n / actual:,.0f} comments/s): "
                                      f"{floor_s / actual:.0%} of the floor's speed, "
                                      f"{actual / floor_s:.2f} times its time"), *rows]


def _print_pairs(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run")
    parser.add_argument("--comments", type=int, default=10_000,
                        help="comments for the stance, backends and floor sections")
    parser.add_argument("--memory-sizes", default="10000,50000,200000",
                        help="comma-separated dump sizes for the memory section")
    parser.add_argument("--whole-sizes", default="10000,100000,1000000",
                        help="comma-separated corpus sizes for the memory section's whole runs")
    parser.add_argument("--whole-shapes", default="one dump,folder",
                        help="the whole runs' shapes: 'one dump', 'folder' or both, comma-separated")
    parser.add_argument("--per-dump", type=int, default=1000,
                        help="comments per dump in the memory section's folder runs")
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated corpus sizes for the e2e section")
    parser.add_argument("--posts", type=int, default=4000, help="long posts for the quality section")
    parser.add_argument("--dumps", type=int, default=1000, help="dumps for the corpus section")
    parser.add_argument("--no-plain", action="store_true", help="e2e without the plain-way comparison")
    parser.add_argument("--no-long", action="store_true", help="e2e without the long-post corpus")
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        help="config override for the e2e runs, e.g. embed.backend=onnx-int8")
    parser.add_argument("--ray-dumps", default="6x800",
                        help="the ray section's throughput folder: DUMPSxCOMMENTS")
    parser.add_argument("--ray-corpus", default="1000x10",
                        help="the ray section's many-dump folder: DUMPSxCOMMENTS")
    args = parser.parse_args()
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    if "stance" in only:
        _print_pairs("Stance vs embedding", stance_vs_embed(args.comments))
    if "memory" in only:
        from bench.memory import measure, table

        sizes = [int(n) for n in args.memory_sizes.split(",") if n]
        if sizes:
            print("\nIngest and clean, streamed, on JSONL dumps (peak resident memory of the whole process)")
            print("\n".join(table(measure(sizes))), flush=True)
        from bench.memory import whole_runs, whole_table

        totals = [int(n) for n in args.whole_sizes.split(",") if n]
        sets = args.sets or ["embed.backend=static"]
        print(f"\nWhole runs, one dump against a folder of {args.per_dump:,}-comment dumps (config: {sets}, "
              "report off; peak resident memory of the whole process)")
        shapes = tuple(s.strip() for s in args.whole_shapes.split(",") if s.strip())
        unknown_shapes = set(shapes) - {"one dump", "folder"}
        if unknown_shapes:
            parser.error(f"unknown --whole-shapes {sorted(unknown_shapes)}; choose 'one dump' or 'folder'")
        print("\n".join(whole_table(whole_runs(totals, args.per_dump, sets, shapes))), flush=True)
    if "e2e" in only:
        from bench import pipeline_bench
        from bench.corpus import ROOT

        real = sorted((ROOT.parent / "shared" / "dumps").glob("*.txt"))
        sizes = [int(n) for n in args.sizes.split(",") if n]
        print(f"\nWhole runs (ours: python -m pipeline run; config overrides: {args.sets or 'none'})")
        print(f"  models_dir built beforehand, as make pipeline does: {pipeline_bench.warm_models(args.sets):.1f} s",
              flush=True)
        rows = pipeline_bench.measure(sizes, real[0] if real else None, args.sets, not args.no_plain,
                                      not args.no_long)
        print("\n".join(pipeline_bench.table(rows)), flush=True)
    if "backends" in only:
        from bench import backends

        print(f"\nEmbedding backends on {args.comments:,} comments")
        print("\n".join(backends.table(backends.measure(args.comments))), flush=True)
    if "sampling" in only:
        from bench import backends

        n = max(args.comments, 2000)
        print(f"\nTopics on {n:,} comments: fitted on all, or on a quarter (topics.max_fit_comments)")
        print("\n".join(backends.sampling(n, n // 4)), flush=True)
    if "floor" in only:
        _print_pairs("Compute floor of the embedding stage", floor(args.comments))
    if "ray" in only:
        from bench import ray_bench

        dumps, per_dump = (int(x) for x in args.ray_dumps.split("x"))
        print(f"\nThe Ray executor on {dumps:,} dumps of {per_dump} comments (config overrides: "
              f"{args.sets or 'none'})")
        print("\n".join(ray_bench.table(ray_bench.measure(dumps, per_dump, args.sets))), flush=True)
        dumps, per_dump = (int(x) for x in args.ray_corpus.split("x"))
        print(f"\nA folder of {dumps:,} dumps through a two-node cluster (embed.backend=static, report off)")
        print("\n".join(ray_bench.corpus(dumps, per_dump, [*args.sets, "embed.backend=static",
                                                           "report.enabled=false"])), flush=True)
    if "quality" in only:
        from bench import topic_quality

        for corpus in topic_quality.CORPORA:
            rows, about = topic_quality.measure(corpus, args.posts, topic_quality.VARIANTS)
            print(f"\nTopic quality on long posts: {about}")
            print("\n".join(topic_quality.table(rows)), flush=True)
    if "corpus" in only:
        from bench import corpus_run

        _print_pairs(f"One corpus of {args.dumps:,} dumps, then ten more", corpus_run.measure(args.dumps))


if __name__ == "__main__":
    main()

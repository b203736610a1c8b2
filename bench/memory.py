"""Peak memory and speed of ingest and clean as the input grows.

Each size runs in a fresh process, so its peak resident memory (ru_maxrss)
is its own. The probe streams as a pipeline that never holds a dump would:
open_dump checks and indexes the file, then each comment is read, cleaned
and written to a JSONL spool. `ingest/s` is the checking pass; `clean/s`
covers reading the comments again, cleaning and writing them."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.corpus import ROOT, write_folder, write_jsonl_dump

PROBE = r"""
import json, resource, sys, time
from dataclasses import asdict
from pathlib import Path
from pipeline.clean import clean_stream
from pipeline.tokens import load_nlp
from pipeline.config import load_config
from pipeline.ingest import open_dump
path, spool = Path(sys.argv[1]), Path(sys.argv[2])
config = load_config()
nlp = load_nlp(config["clean"]["spacy_model"], config["clean"]["lemmatizer"])
nlp("warm up the pipeline once")
from pipeline.clean import identify_language
identify_language("load the language identifier before the baseline is read")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with path.open("rb") as handle, spool.open("w", encoding="utf-8") as out:
    start = time.perf_counter()
    dump = open_dump(handle, str(path))
    checked = time.perf_counter() - start
    after_check = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    for cleaned in clean_stream(dump.comments(), dump.article, config["clean"], nlp, dump.authors):
        out.write(json.dumps(asdict(cleaned), ensure_ascii=False) + "\n")
    clean = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"comments": dump.n_comments, "ingest_s": checked, "clean_s": clean,
                  "base_mb": base / 1024, "ingest_peak_mb": after_check / 1024, "peak_mb": peak / 1024}))
"""


def measure(sizes: list[int]) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            dump = write_jsonl_dump(Path(folder) / f"bench_{n}.jsonl", n)
            spool = dump.with_suffix(".clean.jsonl")
            out = subprocess.run([sys.executable, "-c", PROBE, str(dump), str(spool)], cwd=ROOT,
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["file_mb"] = dump.stat().st_size / 2**20
            results.append(row)
            dump.unlink()
            spool.unlink()
    return results


def table(results: list[dict]) -> list[str]:
    lines = [f"  {'comments':>9} {'file MB':>8} {'ingest/s':>10} {'clean/s':>9} {'peak MB':>8} "
             f"{'peak - models MB':>17}"]
    for r in results:
        lines.append(f"  {r['comments']:>9,} {r['file_mb']:>8.1f} {r['comments'] / r['ingest_s']:>10,.0f} "
                     f"{r['comments'] / r['clean_s']:>9,.0f} {r['peak_mb']:>8.0f} "
                     f"{r['peak_mb'] - r['base_mb']:>17.0f}")
    return lines


RUN = r"""
import json, logging, re, resource, sys, threading, time
from pathlib import Path
from pipeline import runner
from pipeline.config import load_config
inputs, out, cache, *sets = sys.argv[1:]
config = load_config(None, [f"output_dir={out}", f"cache_dir={cache}", "report.enabled=false", *sets])
# the resident memory every 0.1 s, its peak kept per stage (from the runner's log: 'dump: stage ...')
state = {"stage": "start", "peaks": {}}
class Stage(logging.Handler):
    def emit(self, record):
        found = re.match(r".*: (\w+) \.\.\.$", record.getMessage())
        if found:
            state["stage"] = found.group(1)
        elif " done in " in record.getMessage():
            state["stage"] = "writing" if state["stage"] == "export" else "between stages"
logging.getLogger("pipeline").addHandler(Stage())
logging.getLogger("pipeline").setLevel(logging.INFO)
def sample():
    page = resource.getpagesize()
    while True:
        with open("/proc/self/statm") as handle:
            rss = int(handle.read().split()[1]) * page / 2**20
        state["peaks"][state["stage"]] = max(state["peaks"].get(state["stage"], 0), rss)
        time.sleep(0.1)
threading.Thread(target=sample, daemon=True).start()
start = time.perf_counter()
folders = runner.run([inputs], config)
seconds = {}
for folder in folders:
    for name, facts in json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["stages"].items():
        seconds[name] = seconds.get(name, 0.0) + facts.get("seconds", 0.0)
print(json.dumps({"seconds": time.perf_counter() - start, "dumps": len(folders),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "stage_seconds": seconds, "stage_peak_mb": state["peaks"]}))
"""


def whole_runs(totals: list[int], per_dump: int, sets: list[str],
               shapes: tuple[str, ...] = ("one dump", "folder")) -> list[dict]:
    """Whole runs (every stage, report off) in fresh processes, empty caches: each
    total as one dump, and as a folder of dumps of `per_dump` comments (an outlet's
    threads), so the peak shows what grows with the corpus and what with a thread."""
    results = []
    with tempfile.TemporaryDirectory() as work:
        for total in totals:
            for shape in shapes:
                base = Path(work) / f"{total}-{shape.replace(' ', '_')}"
                if shape == "folder":
                    inputs = base / "dumps"
                    write_folder(inputs, total // per_dump, per_dump)
                else:
                    base.mkdir()
                    inputs = write_jsonl_dump(base / "dump.jsonl", total)
                out = subprocess.run([sys.executable, "-c", RUN, str(inputs), str(base / "out"), str(base / "cache"),
                                      *sets], cwd=ROOT, capture_output=True, text=True)
                if out.returncode:
                    raise RuntimeError(f"the run failed:\n{out.stderr[-3000:]}")
                results.append({"comments": total, "shape": shape, **json.loads(out.stdout.strip().splitlines()[-1])})
                print(f"  {total:,} comments, {shape}: {results[-1]}", file=sys.stderr, flush=True)
    return results


def whole_table(results: list[dict]) -> list[str]:
    lines = ["| comments | as | dumps | wall | comments/s | peak memory |", "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r['comments']:,} | {r['shape']} | {r['dumps']:,} | {r['seconds']:.0f} s | "
                     f"{r['comments'] / r['seconds']:,.0f} | {r['peak_mb']:,.0f} MB |")
    stages = list(dict.fromkeys(name for r in results for name in r.get("stage_seconds", {})))
    if stages:
        extra = ["between stages", "writing"]
        lines += ["", "Seconds per stage (summed over the dumps) and the peak resident memory while each ran "
                      "(sampled every 0.1 s, so '-' where a stage was quicker; 'between stages': hashing a stage's "
                      "output for the next one's key; 'writing': the artifact files):", "",
                  "| comments | as | " + " | ".join(stages + extra) + " |",
                  "| --- | --- |" + " --- |" * (len(stages) + len(extra))]
        for r in results:
            def peak(name):
                mb = r["stage_peak_mb"].get(name)
                return f"{mb:,.0f} MB" if mb else "-"
            cells = [f"{r['stage_seconds'].get(n, 0):,.0f} s, {peak(n)}" for n in stages] + [peak(n) for n in extra]
            lines.append(f"| {r['comments']:,} | {r['shape']} | " + " | ".join(cells) + " |")
    return lines

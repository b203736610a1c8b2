"""The long posts through the default run (bench's OURS), the code before the run-based cue counting
(a worktree of cb47163 at /tmp/before: `git worktree add /tmp/before cb47163`) and this checkout's,
alternately, each with an empty cache; seconds per stage from each run's manifest.

    .venv/bin/python docs/bench_runs/2026-12-07-cue-runs-ab.py 2     # from the project root
"""
import json, sys, tempfile, time, subprocess
from pathlib import Path
sys.path.insert(0, ".")  # run from the project root
from bench import pipeline_bench as pb
from bench.corpus import write_long_dump
roots = {"before": "/tmp/before", "after": "."}  # before: git worktree add /tmp/before cb47163
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 2
corpus = sys.argv[2] if len(sys.argv) > 2 else "long"
with tempfile.TemporaryDirectory() as folder:
    if corpus == "long":
        dump, n = write_long_dump(Path(folder) / "long_posts.jsonl")
    else:
        n = int(corpus); dump = pb.write_jsonl_dump(Path(folder) / f"corpus_{n}.jsonl", n)
    print(corpus, n, flush=True)
    for rep in range(reps):
        for name, root in (roots.items() if rep % 2 == 0 else reversed(list(roots.items()))):
            with tempfile.TemporaryDirectory() as work:
                out, cache = str(Path(work) / "a"), str(Path(work) / "c")
                start = time.perf_counter()
                r = subprocess.run([sys.executable, "-c", pb.OURS, str(dump), out, cache], cwd=root, capture_output=True, text=True)
                wall = time.perf_counter() - start
                assert r.returncode == 0, r.stderr[-2000:]
                res = json.loads(r.stdout.strip().splitlines()[-1])
                st = {k: round(v.get("seconds", 0), 2) for k, v in res["stages"].items() if isinstance(v, dict) and "seconds" in v}
                print(f"{name:7s} rep {rep}: wall {wall:6.1f} s  peak {res['peak_mb']:.0f} MB  {st}", flush=True)

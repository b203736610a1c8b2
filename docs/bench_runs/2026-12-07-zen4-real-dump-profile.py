"""The real dump once through runner.run under cProfile (fresh output and cache folders): where a small
run's seconds go. The record of docs/benchmarks.md's section on an AMD EPYC with AVX-512 bfloat16."""
import json, sys, time
t0 = time.time()
from pipeline import runner
from pipeline.config import load_config
dump, out, cache = sys.argv[1:4]
config = load_config(None, [f"output_dir={out}", f"cache_dir={cache}"])
import cProfile, pstats
pr = cProfile.Profile(); pr.enable()
[folder] = runner.run([dump], config)
pr.disable()
print(f"start->end of run {time.time()-t0:.2f}s; end at {time.time():.2f}")
pr.dump_stats(sys.argv[4]) if len(sys.argv) > 4 else pstats.Stats(pr).sort_stats("cumulative").print_stats(45)

"""300 long posts through each embedding backend, timed after loading (twice each): the record of
docs/benchmarks.md's section on a CPU without VNNI."""
import time, sys
sys.path.insert(0, ".")  # run from the project root
from pipeline.offline import go_offline
go_offline()
from bench.corpus import long_texts, write_jsonl_dump
from pipeline.embed import Embedder
from pipeline.config import load_config
texts = long_texts()[0][:300]
c = load_config()
for backend, bs in [("onnx-int8", 64), ("onnx", 64), ("onnx-int8", 16), ("torch", 32)]:
    e = Embedder.from_config({**c["embed"], "backend": backend, "batch_size": bs}).load().load_weights()
    e.encode(texts[:8])
    for r in range(2):
        t = time.perf_counter(); e.encode(texts); dt = time.perf_counter() - t
        print(f"{backend:<10} batch {bs:<3} 300 long posts {dt:.1f} s ({300/dt:.1f}/s)", flush=True)

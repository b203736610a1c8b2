"""300 long posts and 1,500 comments through each embedding backend, timed after loading (twice each):
the record of docs/benchmarks.md's section on a CPU with AVX-512 bfloat16 instructions and no AMX."""
import time, sys
sys.path.insert(0, ".")  # run from the project root
from pipeline.offline import go_offline
go_offline()
import numpy as np
from bench.corpus import long_texts, sample_comments
from pipeline.embed import Embedder
from pipeline.config import load_config
sets = {"300 long posts": long_texts()[0][:300], "1,500 comments": sample_comments(1500)[0]}
c = load_config()
ref = {}
for backend, bs in [("onnx-int8", 64), ("torch-bf16", 32), ("torch-bf16", 64), ("torch", 32), ("onnx-int8", 64)]:
    e = Embedder.from_config({**c["embed"], "backend": backend, "batch_size": bs}).load().load_weights()
    e.encode(["warm up", "a second text to warm up with"] * 4)
    for name, texts in sets.items():
        for r in range(2):
            t = time.perf_counter(); v = e.encode(texts); dt = time.perf_counter() - t
            print(f"{backend:<10} batch {bs:<3} {name} {dt:.1f} s ({len(texts)/dt:.1f}/s)", flush=True)
        if backend == "torch":
            ref[name] = v
        else:
            ref.setdefault(("v", backend, name), v)
for name in sets:
    for backend in ("onnx-int8", "torch-bf16"):
        cos = (ref[("v", backend, name)] * ref[name]).sum(1)
        print(f"cosine of {backend} to torch float32 on {name}: mean {cos.mean():.5f} min {cos.min():.4f}")

"""The fused int8 graph at several batch sizes (1: each text alone), on 300 long
posts and 1,500 comments of the bench's corpora: texts a second.

    .venv/bin/python docs/bench_runs/2026-12-07-int8-batch-sizes.py 1,4,16,64  (about 2 minutes on 2 cores)

The graph is the one `embed.backend: onnx-int8` runs (built into models_dir if absent)."""
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.corpus import long_texts, sample_comments  # noqa: E402
from pipeline.backends import ONNX_INT8_FILE, ONNX_RECIPE, OnnxEncoder, export_onnx  # noqa: E402
from pipeline.config import load_config, models_dir  # noqa: E402
from pipeline.embed import Embedder  # noqa: E402
from pipeline.models import resolve_model_path  # noqa: E402

model_path = resolve_model_path("all-MiniLM-L6-v2")
embedder = Embedder.from_config({**load_config()["embed"], "backend": "onnx-int8"}, models_dir(load_config())).load()
folder = export_onnx(model_path, embedder.models_dir / f"onnx-{embedder._weights}-{ONNX_RECIPE}")
long, _ = long_texts()
random.Random(0).shuffle(long)
for name, texts in (("long", long[:300]), ("short", sample_comments(1500)[0])):
    for batch in [int(b) for b in sys.argv[1].split(",")]:
        encoder = OnnxEncoder(model_path, folder / ONNX_INT8_FILE, 256, batch)
        encoder.encode(texts[:16])
        start = time.perf_counter()
        encoder.encode(texts)
        seconds = time.perf_counter() - start
        print(f"{name} bs={batch}: {seconds:.1f}s {len(texts) / seconds:.1f}/s", flush=True)

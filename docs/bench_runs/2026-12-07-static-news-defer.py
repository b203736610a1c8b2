"""The fast mode's news-thread figure with the left-out readers deferring at MiniLM's 0.75 and at the
shipped static reader's 0.9 (docs/benchmarks.md, the AMD EPYC with AVX-512 bfloat16)."""
import warnings; warnings.filterwarnings("ignore")
from pathlib import Path
from pipeline.offline import go_offline; go_offline()
from pipeline.stance import load_models, weights_for
from pipeline.stance_train.data import make_encoder
from pipeline.stance_train import threads
models = load_models(weights_for("static"))
encode = make_encoder("/work/main/.cache", "static")
for defer in (0.75, models.thread.defer_above):
    res = threads.evaluate(Path("/work/shared/data"), models, encode, with_curve=False, defer_above=defer)
    print(f"defer_above {defer}:"); print(threads.table(res))

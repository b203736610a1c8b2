"""Upper bound: all-MiniLM-L6-v2 fine-tuned as a cross-encoder on the project's exact splits."""
import gzip, json, os, sys, time, math
import numpy as np, torch
from torch import nn
from sklearn.metrics import f1_score, accuracy_score
from transformers import BertConfig, BertModel, AutoTokenizer
from safetensors.torch import load_file

SMOKE = "--smoke" in sys.argv
OUT = os.environ.get("OUT", "/tmp/out")
dev = "cuda" if torch.cuda.is_available() else "cpu"
HERE = os.path.dirname(os.path.abspath(__file__))
D = json.load(gzip.open(f"{HERE}/data.json.gz", "rt"))
T = D["texts"]
LABELS = ["agree", "disagree", "discuss", "query", "unrelated"]
FNC4 = ["agree", "disagree", "discuss", "unrelated"]
SDQC = ["agree", "disagree", "query", "discuss"]
tok = AutoTokenizer.from_pretrained(f"{HERE}/minilm")
cfg = BertConfig.from_json_file(f"{HERE}/minilm/config.json")
state = {k: v.float() for k, v in load_file(f"{HERE}/minilm/model16.safetensors").items() if "position_ids" not in k}
log = []
def say(*a):
    s = " ".join(str(x) for x in a); print(s, flush=True); log.append(s)

class XEnc(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.bert = BertModel(cfg, add_pooling_layer=False)
        missing, unexpected = self.bert.load_state_dict(state, strict=False)
        assert not [m for m in missing if "pooler" not in m], missing
        self.drop = nn.Dropout(0.1); self.head = nn.Linear(cfg.hidden_size, n)
    def forward(self, **b):
        h = self.bert(**b).last_hidden_state
        m = b["attention_mask"].unsqueeze(-1).float()
        return self.head(self.drop(torch.cat([h[:, 0]], -1)))

def rows(name, lim=None):
    r = D["sets"][name]
    return r[:lim] if lim else r

def first(t, n=1200):
    return t[:n]

def pair_text(r, with_parent):
    tgt, txt, par = T[r[0]], T[r[1]], (T[r[2]] if r[2] >= 0 else None)
    a = first(tgt, 600)
    b = txt if not (with_parent and par) else txt + " [SEP] " + par[:300]
    return a, first(b, 3000)

def encode(batch, with_parent, maxlen):
    a, b = zip(*[pair_text(r, with_parent) for r in batch])
    return tok(list(a), list(b), truncation="longest_first", max_length=maxlen, padding=True, return_tensors="pt")

def predict(model, rs, with_parent, maxlen, bs=256):
    model.eval(); out = []
    with torch.no_grad(), torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
        for i in range(0, len(rs), bs):
            b = {k: v.to(dev) for k, v in encode(rs[i:i + bs], with_parent, maxlen).items()}
            out.append(torch.softmax(model(**b).float(), -1).cpu().numpy())
    return np.concatenate(out)

def metrics(P, labels, gold, scheme):
    merge = {"fnc": {"query": "discuss"}, "re": {"unrelated": "discuss"}, "all": {}}[scheme]
    labs = {"fnc": FNC4, "re": SDQC, "all": LABELS}[scheme]
    pred = [merge.get(labels[i], labels[i]) for i in P.argmax(1)]
    gold = [merge.get(g, g) for g in gold]
    res = {"macro_f1": round(float(f1_score(gold, pred, labels=labs, average="macro")), 4),
           "acc": round(float(accuracy_score(gold, pred)), 4)}
    if scheme == "fnc":
        s = lambda g, p: (0.25 if (g == "unrelated") == (p == "unrelated") else 0) + (0.75 if g == p != "unrelated" else 0)
        res["fnc_score"] = round(100 * sum(s(g, p) for g, p in zip(gold, pred)) / sum(s(g, g) for g in gold), 2)
    return res

def run(name, train_sets, labels, evals, epochs=3, lr=3e-5, bs=32, maxlen=256, with_parent=True, balance=0.75, seed=13):
    torch.manual_seed(seed); rng = np.random.default_rng(seed)
    tr = [r for s in train_sets for r in rows(s, 300 if SMOKE else None)]
    y = np.array([labels.index(r[3]) if r[3] in labels else labels.index("discuss") for r in tr])
    share = np.bincount(y, minlength=len(labels)) / len(y)
    cw = torch.tensor(np.where(share > 0, share, 1) ** -balance, dtype=torch.float32)
    cw = (cw / (cw[y].mean())).to(dev)
    model = XEnc(len(labels)).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(tr) / bs); warm = int(0.06 * steps); k = 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / max(1, warm), max(0.0, (steps - s) / max(1, steps - warm))))
    say(f"== {name}: {len(tr)} train rows, labels {labels}, share {share.round(3).tolist()}")
    for ep in range(epochs):
        model.train(); t0 = time.time(); order = rng.permutation(len(tr))
        for i in range(0, len(order), bs):
            idx = order[i:i + bs]
            b = {k2: v.to(dev) for k2, v in encode([tr[j] for j in idx], with_parent, maxlen).items()}
            with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
                logits = model(**b).float()
            loss = nn.functional.cross_entropy(logits, torch.from_numpy(y[idx]).to(dev), weight=cw)
            opt.zero_grad(); loss.backward(); nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); sched.step()
        tt = time.time() - t0; t0 = time.time(); res = {}
        for ev, scheme in evals:
            rs = rows(ev, 300 if SMOKE else None)
            P = predict(model, rs, with_parent, maxlen)
            res[ev] = metrics(P, labels, [r[3] for r in rs], scheme)
        say(f"{name} epoch {ep + 1}: train {tt:.0f}s ({len(tr) / tt:.0f} rows/s), eval {time.time() - t0:.0f}s", json.dumps(res))
    return model

say("device", dev, torch.__version__, torch.cuda.get_device_name() if dev == "cuda" else "")
ALL_EVALS = [("arc_val", "fnc"), ("fnc1_val", "fnc"), ("rumoureval_val", "re"), ("rumoureval_allposts", "re"), ("news", "all")]
try:
    which = [a for a in sys.argv[1:] if not a.startswith("--")] or ["joint", "arc", "re"]
    if "joint" in which:
        run("joint5", ["arc_train", "fnc1_train", "rumoureval_train"], LABELS, ALL_EVALS, epochs=3)
    if "arc" in which:
        run("arc_only", ["arc_train"], FNC4, [("arc_val", "fnc")], epochs=4)
    if "sweep" in which:
        run("arc_lr5e-5_e8", ["arc_train"], FNC4, [("arc_val", "fnc")], epochs=8, lr=5e-5)
        run("arc_lr2e-5_e6_len384", ["arc_train"], FNC4, [("arc_val", "fnc")], epochs=6, lr=2e-5, bs=16, maxlen=384)
        run("re_lr2e-5_e6", ["rumoureval_train"], ["agree", "disagree", "query", "discuss"],
            [("rumoureval_val", "re"), ("rumoureval_allposts", "re")], epochs=6, lr=2e-5)
    if "re" in which:
        run("re_only", ["rumoureval_train"], ["agree", "disagree", "query", "discuss"],
            [("rumoureval_val", "re"), ("rumoureval_allposts", "re")], epochs=5, lr=4e-5)
finally:
    os.makedirs(OUT, exist_ok=True)
    open(f"{OUT}/xenc_log.txt", "w").write("\n".join(log) + "\n")

"""Export the project's exact train/validation splits as a compact gz JSON for a GPU upper-bound run."""
import gzip, json, sys
sys.path.insert(0, "/work/main")
from pipeline.stance_model.data import load_splits, load_rumoureval, load_labelled, LABELLED
from pathlib import Path

splits = load_splits(Path("/work/shared/data/stance"))
texts, idx = [], {}
def tid(t):
    if t is None: return -1
    if t not in idx:
        idx[t] = len(texts); texts.append(t)
    return idx[t]
def rows(ps, reply=False):
    out = []
    for i in range(len(ps)):
        r = [tid(ps.targets[i]), tid(ps.texts[i]), tid(ps.parents[i]), ps.labels[i], int(ps.groups[i])]
        if ps.reply_labels is not None:
            r.append(ps.reply_labels[i])
        out.append(r)
    return out
sets = {}
for s in ("arc", "fnc1", "rumoureval"):
    tr, va = splits[s]
    sets[f"{s}_train"], sets[f"{s}_val"] = rows(tr), rows(va)
sets["rumoureval_allposts"] = rows(load_rumoureval(Path("/work/shared/data/stance"), "dev", with_sources=True))
sets["news"] = rows(load_labelled([LABELLED], "news"))
out = Path("/work/main/gpux/data.json.gz"); out.parent.mkdir(exist_ok=True)
with gzip.open(out, "wt") as f:
    json.dump({"texts": texts, "sets": sets}, f)
print({k: len(v) for k, v in sets.items()}, len(texts), out.stat().st_size)

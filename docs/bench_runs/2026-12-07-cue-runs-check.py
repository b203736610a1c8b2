"""The stance cue counts from each text's runs (features._cue_counts) against `re.findall` of each
cue's own pattern (CUES), on real texts: the long posts (FNC-1 and ARC bodies), the Fox threads'
comments and the real dump's lines; both timed. Run from the project root with ../shared beside it."""
import glob, json, re, sys, time
sys.path.insert(0, ".")
from bench.corpus import long_texts
from pipeline.stance_model import features

patterns = [re.compile(p, re.I) for p in features.CUES.values()]
texts = list(long_texts()[0])
for path in sorted(glob.glob("../shared/data/threads/fox/*.jsonl")) + sorted(glob.glob("../shared/dumps/*")):
    for line in open(path, encoding="utf-8", errors="replace"):
        try:
            texts.append(json.loads(line).get("text") or "")
        except (ValueError, AttributeError):
            texts.append(line)
start = time.perf_counter()
reference = [[len(p.findall(t)) for p in patterns] for t in texts]
middle = time.perf_counter()
runs = [features._cue_counts(t) for t in texts]
end = time.perf_counter()
print(f"{len(texts):,} texts ({sum(map(len, texts)):,} characters): re.findall {middle - start:.2f} s, "
      f"runs {end - middle:.2f} s; texts whose counts differ: {sum(a != b for a, b in zip(reference, runs))}")

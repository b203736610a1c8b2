"""Exact against UMAP's own neighbours over seeds, on the bench's two labelled long-post corpora."""
import sys, time, numpy as np, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, ".")  # from the repository root: python docs/bench_runs/2026-12-07-quality-neighbours-seeds.py
from bench import topic_quality as tq
from pipeline.config import load_config
from pipeline.records import CleanComment
from pipeline.topics import PhraseAnalyzer, fit_topics
config = load_config()
for corpus in tq.CORPORA:
    read, _ = tq.CORPORA[corpus]
    texts, labels = read(4000)
    vectors = tq.embed(texts)
    cleaned = [CleanComment(id=str(i), text=t) for i, t in enumerate(texts)]
    an = PhraseAnalyzer(config["topics"]["ngram_max"]); docs = [set(an(t)) for t in texts]
    for nb in ("exact", "umap"):
        rows = []
        for seed in (0, 1, 2, 3):
            s = time.perf_counter()
            q = tq.quality(fit_topics(cleaned, vectors, {**config["topics"], "neighbours": nb}, seed), labels, docs)
            q["s"] = time.perf_counter() - s
            rows.append(q)
            print(corpus, nb, seed, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in q.items()}, flush=True)
        print(corpus, nb, "MEAN", {k: round(float(np.mean([r[k] for r in rows])), 4) for k in ("topics", "no_topic", "npmi", "diversity", "nmi", "s")}, flush=True)

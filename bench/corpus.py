"""Benchmark corpora built from real comment text.

With ../shared beside the project, comment bodies come from the ARC
comments and RumourEval posts there; without it, from the example dump's
comments (fewer distinct texts, so the embedding figures are flattering).
"""
from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_STANCE = ROOT.parent / "shared" / "data" / "stance"
EXAMPLE = ROOT / "examples" / "dumps" / "elm_street_bike_lane.txt"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def comment_texts() -> tuple[list[str], str]:
    """Distinct real comment texts, and where they came from."""
    texts: list[str] = []
    arc = SHARED_STANCE / "arc_train_bodies.csv"
    if arc.exists():
        csv.field_size_limit(10_000_000)
        with arc.open(encoding="utf-8") as handle:
            texts += [row["articleBody"].strip() for row in csv.DictReader(handle)]
        for name in ("rumoureval2019_train.jsonl", "rumoureval2019_dev.jsonl"):
            with (SHARED_STANCE / name).open(encoding="utf-8") as handle:
                texts += [json.loads(line)["text"].strip() for line in handle]
        source = "ARC comment bodies and RumourEval posts in ../shared"
    else:
        from pipeline.ingest import parse_dump

        thread = parse_dump(EXAMPLE.read_bytes(), str(EXAMPLE))
        texts = [c.text for c in thread.comments]
        source = "the example dump (../shared not found)"
    return list(dict.fromkeys(t for t in texts if t)), source


def sample_comments(n: int, seed: int = 0) -> tuple[list[str], str]:
    """n distinct comment texts: real ones while the pool lasts; past it, new
    comments of one to three real sentences drawn from different comments."""
    pool, source = comment_texts()
    rng = random.Random(seed)
    if n <= len(pool):
        return rng.sample(pool, n), source
    sentences = list(dict.fromkeys(s.strip() for text in pool for s in SENTENCE_END.split(text)
                                   if 3 <= len(s.split()) <= 60))
    texts, seen = list(pool), set(pool)
    while len(texts) < n:
        text = " ".join(rng.sample(sentences, rng.choice((1, 1, 2, 2, 3))))
        if text not in seen:
            seen.add(text)
            texts.append(text)
    rng.shuffle(texts)
    return texts, f"{source}; {n - len(pool):,} of them recombined from its sentences"


def write_jsonl_dump(path: Path, n: int, seed: int = 0) -> Path:
    """A JSONL dump of n real comment texts under one synthetic article: about
    a third top level, the rest replying to a random earlier comment."""
    texts, _ = sample_comments(n, seed)
    return _write_thread(path, texts, random.Random(seed), top_level=0.35)


def write_folder(folder: Path, dumps: int, per_dump: int, seed: int = 0) -> int:
    """`dumps` JSONL dumps of `per_dump` distinct real comments each; returns the comment count."""
    texts, _ = sample_comments(dumps * per_dump, seed)
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(dumps):
        _write_thread(folder / f"thread_{k:05d}.jsonl", texts[k * per_dump:(k + 1) * per_dump], rng, top_level=0.4)
    return dumps * per_dump


def _write_thread(path: Path, texts: list[str], rng: random.Random, top_level: float) -> Path:
    """texts as one thread under a synthetic article: each after the first
    top level with probability `top_level`, else a reply to a random earlier one."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"type": "article", "id": path.stem, "title": "A synthetic article",
                                 "body": "An article assembled for benchmarking."}) + "\n")
        for i, text in enumerate(texts):
            parent = None if i == 0 or rng.random() < top_level else f"c{rng.randrange(i)}"
            handle.write(json.dumps({"type": "comment", "id": f"c{i}", "parent_id": parent,
                                     "author": f"user{rng.randrange(max(1, len(texts) // 3))}",
                                     "text": text}) + "\n")
    return path


LONG_MIN_WORDS = 150  # a long post: several hundred words (FNC-1 bodies: median 302)


def long_texts() -> tuple[list[str], str]:
    """Distinct long posts (at least LONG_MIN_WORDS words): the FNC-1 and ARC
    bodies in ../shared, the newsgroup-like corpus of the e2e section. Empty
    where ../shared is absent."""
    texts: list[str] = []
    csv.field_size_limit(10_000_000)
    for name in ("fnc1_train_bodies.csv", "arc_train_bodies.csv"):
        path = SHARED_STANCE / name
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                texts += [row["articleBody"].strip() for row in csv.DictReader(handle)]
    texts = [t for t in dict.fromkeys(texts) if len(t.split()) >= LONG_MIN_WORDS]
    return texts, "FNC-1 and ARC bodies of 150 words or more in ../shared"


def write_long_dump(path: Path, seed: int = 0) -> tuple[Path, int]:
    """A JSONL dump of every long post, under one synthetic article, a fifth
    of them replies (a newsgroup thread): (path, number of posts)."""
    texts, _ = long_texts()
    rng = random.Random(seed)
    rng.shuffle(texts)
    return _write_thread(path, texts, rng, top_level=0.8), len(texts)

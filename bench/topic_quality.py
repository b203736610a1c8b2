"""Topic quality on long, labelled posts: outlier share, NPMI, diversity, NMI.

Two corpora from ../shared, each post labelled:
- `news`: the FNC-1 and ARC bodies of MIN_WORDS words or more (the long
  posts of the e2e section, bench/corpus.py), an FNC-1 body labelled by its
  claim group (bodies joined by the headlines FNC-1 relates them to), an
  ARC comment by the debate headline it answers;
- `debate`: posts of the IAC v1 4forums debates, labelled by their
  discussion's topic (abortion, gun control, evolution, ...).
Each is embedded once with the pipeline's default embedder and topics are
fitted with pipeline.topics.fit_topics, once per config variant, on the same
vectors, so the rows differ only by the variant.

- no topic: share of posts left in the outlier topic (-1)
- NPMI: mean normalised PMI of the pairs of each topic's top-10 keywords,
  counted as document co-occurrence in the corpus's own posts (Bouma 2009;
  a pair that never co-occurs scores -1)
- diversity: unique keywords among every topic's top 10, over 10 x topics
- NMI: normalised mutual information of the topics (outliers as one more
  group) against the discussion labels
"""
from __future__ import annotations

import csv
import itertools
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
IAC = SHARED / "threads" / "iac" / "discussions.jsonl"
MIN_WORDS = 100  # a long post: a paragraph or more
TOP_WORDS = 10
# the defaults before issue 25, the threshold alone, the neighbours UMAP finds itself, and today's defaults
VARIANTS = {"before: threshold 0.4, keywords from all": {"outlier_threshold": 0.4, "keywords_from": "all"},
            "threshold 0.3, keywords from all": {"outlier_threshold": 0.3, "keywords_from": "all"},
            "0.3, keywords from core, UMAP's own neighbours": {"neighbours": "umap"},
            "now (defaults): 0.3, core, exact neighbours": {}}


def news_posts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Up to n distinct FNC-1 and ARC bodies of MIN_WORDS words or more, with
    their claim group or debate headline, in a seeded order."""
    csv.field_size_limit(10_000_000)
    pairs: dict[str, str] = {}
    for name in ("fnc1", "arc"):
        with (SHARED / "stance" / f"{name}_train_bodies.csv").open(encoding="utf-8") as handle:
            bodies = {row["Body ID"]: " ".join(row["articleBody"].split()) for row in csv.DictReader(handle)}
        with (SHARED / "stance" / f"{name}_train_stances.csv").open(encoding="utf-8") as handle:
            related = [(row["Headline"], row["Body ID"]) for row in csv.DictReader(handle)
                       if row["Stance"] != "unrelated"]
        group = _components(related)  # a body's claim group: bodies linked through shared headlines
        for body_id, text in bodies.items():
            if len(text.split()) >= MIN_WORDS and body_id in group and text not in pairs:
                pairs[text] = f"{name}:{group[body_id]}"
    items = sorted(pairs.items())
    random.Random(seed).shuffle(items)
    return [t for t, _ in items[:n]], [label for _, label in items[:n]]


def _components(links: list[tuple[str, str]]) -> dict[str, str]:
    """Body id -> the first headline of its connected group (union-find)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for headline, body in links:
        parent[root("b:" + body)] = root("h:" + headline)
    return {node[2:]: root(node) for node in list(parent) if node.startswith("b:")}


def debate_posts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Up to n distinct posts of MIN_WORDS words or more and their discussion
    topic, a seeded sample with every topic's posts capped at n / 5."""
    by_topic: dict[str, list[str]] = {}
    with IAC.open(encoding="utf-8") as handle:
        for line in handle:
            discussion = json.loads(line)
            by_topic.setdefault(discussion["topic"], []).extend(
                " ".join(post["text"].split()) for post in discussion["posts"]
                if len(post["text"].split()) >= MIN_WORDS)
    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for topic in sorted(by_topic):
        texts = [t for t in dict.fromkeys(by_topic[topic]) if t not in seen]
        seen.update(texts)
        pairs += [(t, topic) for t in rng.sample(texts, min(len(texts), n // 5))]
    rng.shuffle(pairs)
    pairs = pairs[:n]
    return [t for t, _ in pairs], [label for _, label in pairs]


def npmi(topic_words: list[list[str]], documents: list[set[str]]) -> float:
    """Mean NPMI over every topic's keyword pairs, on document co-occurrence."""
    n_docs = len(documents)
    postings: dict[str, set[int]] = {}
    vocabulary = {w for words in topic_words for w in words}
    for index, terms in enumerate(documents):
        for term in terms & vocabulary:
            postings.setdefault(term, set()).add(index)
    scores = []
    for words in topic_words:
        for a, b in itertools.combinations(words, 2):
            docs_a, docs_b = postings.get(a, set()), postings.get(b, set())
            joint = len(docs_a & docs_b)
            if not joint:
                scores.append(-1.0)
                continue
            p_ab, p_a, p_b = joint / n_docs, len(docs_a) / n_docs, len(docs_b) / n_docs
            scores.append(1.0 if p_ab == 1 else float(np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)))
    return float(np.mean(scores)) if scores else float("nan")


def diversity(topic_words: list[list[str]]) -> float:
    total = sum(len(words) for words in topic_words)
    return len({w for words in topic_words for w in words}) / total if total else float("nan")


def quality(result, labels: list[str], documents: list[set[str]]) -> dict:
    from sklearn.metrics import normalized_mutual_info_score

    topic_of = [a.topic_id for a in result.assignments]
    words = [list(topic.keywords[:TOP_WORDS]) for topic in result.topics]
    return {"topics": len(result.topics),
            "no_topic": sum(t == -1 for t in topic_of) / len(topic_of),
            "npmi": npmi(words, documents), "diversity": diversity(words),
            "nmi": float(normalized_mutual_info_score(labels, topic_of))}


def embed(texts: list[str]) -> np.ndarray:
    """Vectors from the pipeline's default embedder, with an empty cache."""
    from pipeline.config import load_config
    from pipeline.runner import Resources

    with tempfile.TemporaryDirectory() as cache:
        resources = Resources(load_config(None, [f"cache_dir={cache}"]))
        return resources.embed(texts)[0]


CORPORA = {"news": (news_posts, "FNC-1 and ARC bodies of {words}+ words in {groups} claim groups and debates"),
           "debate": (debate_posts, "IAC 4forums posts of {words}+ words in {groups} discussion topics")}


def measure(corpus: str, n: int, variants: dict[str, dict]) -> tuple[list[dict], str]:
    """One row per variant (overrides of the topics section) on the same
    n posts and vectors; and a line that says what the corpus is."""
    from pipeline.config import load_config
    from pipeline.records import CleanComment
    from pipeline.topics import PhraseAnalyzer, fit_topics

    read, about = CORPORA[corpus]
    texts, labels = read(n)
    config = load_config()
    start = time.perf_counter()
    vectors = embed(texts)
    about = (f"{len(texts):,} " + about.format(words=MIN_WORDS, groups=len(set(labels)))
             + f" (../shared), embedded with {config['embed']['backend']} in {time.perf_counter() - start:.0f} s")
    cleaned = [CleanComment(id=str(i), text=text) for i, text in enumerate(texts)]
    analyzer = PhraseAnalyzer(config["topics"]["ngram_max"])
    documents = [set(analyzer(text)) for text in texts]
    rows = []
    for name, overrides in variants.items():
        section = {**config["topics"], **overrides}
        start = time.perf_counter()
        result = fit_topics(cleaned, vectors, section, config["seed"])
        rows.append({"variant": name, **quality(result, labels, documents),
                     "seconds": time.perf_counter() - start})
    return rows, about


def table(rows: list[dict]) -> list[str]:
    width = max(len(r["variant"]) for r in rows)
    lines = [f"  {'variant':<{width}}  topics  no topic   NPMI  diversity    NMI   fit s"]
    lines += [f"  {r['variant']:<{width}}  {r['topics']:>6}  {r['no_topic']:>8.1%}  {r['npmi']:>5.3f}  "
              f"{r['diversity']:>9.3f}  {r['nmi']:>5.3f}  {r['seconds']:>6.1f}" for r in rows]
    return lines

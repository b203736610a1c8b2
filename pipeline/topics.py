"""Topics: BERTopic (UMAP, HDBSCAN, c-TF-IDF) over the comment embeddings.

Comments with substantive text are clustered; outliers and near-empty
comments are then given the topic whose centroid they are closest to when the
cosine similarity clears `outlier_threshold` (BERTopic's "embeddings"
outlier strategy), and stay outliers (-1) otherwise. A thread with more than
`max_fit_comments` clusterable comments is clustered on a seeded random
sample of that many; the others join their nearest topic the same way
(source "nearest_topic", or "not_sampled" when no topic is close enough), and
its keywords are read from that sample too. Keywords are recomputed
with the same stop-word vectorizer, so stop words do not return to the labels
(BERTopic #1347), from the comments clustered into each topic
(`keywords_from: core`): the ones joined to it afterwards are its members but
not what it is about, and on long posts they lowered the keywords' NPMI
(bench/topic_quality.py).
"""
from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence

import numpy as np

from pipeline.records import CleanComment, Topic, TopicAssignment, TopicResult

OUTLIER = -1
log = logging.getLogger("pipeline")


def resolve_params(n_docs: int, config: dict) -> dict:
    """Concrete UMAP/HDBSCAN parameters for a corpus of `n_docs` comments.

    min_topic_size grows with the square root of the corpus: 4 for 50, 5 for 100
    comments, 16 for 1,000, 158 for 100,000; fixed sizes either shatter a
    big thread or put most of a small one in the outlier topic.
    """
    min_size = config["min_topic_size"]
    if min_size == "auto":
        min_size = max(4, round(math.sqrt(n_docs) / 2))
    min_samples = config["min_samples"]
    if min_samples == "auto":
        min_samples = max(1, round(min_size / 4))
    neighbors = config["n_neighbors"]
    if neighbors == "auto":
        neighbors = 15
    return {
        "min_topic_size": int(min_size),
        "min_samples": int(min_samples),
        "n_neighbors": int(max(2, min(neighbors, n_docs - 1))),
        "n_components": int(max(2, min(config["n_components"], n_docs - 2))),
    }


CONTRACTIONS = frozenset(
    "dont didnt doesnt isnt wasnt arent werent cant couldnt wouldnt shouldnt wont im ive id "
    "youre youve youd hes shes its thats theres theyre theyve weve were lets whats ill".split())
TOKEN = re.compile(r"(?u)\b[^\W\d_][\w'-]*[^\W_]\b")


class PhraseAnalyzer:
    """Lower-cased words and phrases of up to `ngram_max` words that never
    span a stop word. scikit-learn drops stop words before it builds
    n-grams, which glues 'five years is not watch' into 'years watch'."""

    def __init__(self, ngram_max: int) -> None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        self.ngram_max = ngram_max
        # BERTopic strips apostrophes before vectorising, so contractions arrive without them
        self.stop_words = ENGLISH_STOP_WORDS | CONTRACTIONS

    def __call__(self, text: str) -> list[str]:
        terms: list[str] = []
        run: list[str] = []
        for token in [*TOKEN.findall(text.lower()), ""]:
            if token and token not in self.stop_words:
                run.append(token)
                continue
            for n in range(1, self.ngram_max + 1):
                terms.extend(" ".join(run[i:i + n]) for i in range(len(run) - n + 1))
            run = []
        return terms


def _vectorizer(n_docs: int, ngram_max: int):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=PhraseAnalyzer(ngram_max), min_df=2 if n_docs >= 200 else 1)


def readable_label(keywords: Sequence[str], n_words: int) -> str:
    """The first `n_words` keywords, where a phrase takes the place of the
    words it is made of ('deir', 'ezzor', 'deir ezzor' gives 'deir ezzor')."""
    chosen: list[str] = []
    for keyword in keywords:
        words = set(keyword.split())
        covered = [c for c in chosen if set(c.split()) <= words]
        if covered:
            chosen[chosen.index(covered[0])] = keyword
            chosen = [c for c in chosen if c not in covered[1:]]
        elif not words <= {w for c in chosen for w in c.split()}:
            chosen.append(keyword)
    return ", ".join(chosen[:n_words])


def _umap(vectors: np.ndarray, params: dict, seed: int, neighbours: str = "exact"):
    """UMAP for the clustering (neighbours.umap_model: exact neighbours unless
    `neighbours: umap`). PCA instead of UMAP was measured and not kept: on the
    long-post corpus its topics matched FNC-1's claim groups at ARI 0.11 against
    UMAP's 0.29 (docs/benchmarks.md)."""
    from pipeline.neighbours import umap_model

    return umap_model(vectors, params["n_neighbors"], params["n_components"], min_dist=0.0, seed=seed,
                      exact=neighbours == "exact")


def topic_centroids(embeddings: np.ndarray, labels: np.ndarray, topic_ids: list[int]) -> np.ndarray:
    """Unit-length mean vector of each topic's rows (`labels` per row)."""
    centroids = np.stack([embeddings[labels == t].mean(axis=0) for t in topic_ids])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    return centroids / np.where(norms == 0, 1, norms)


def _no_topics(cleaned: Sequence[CleanComment], source: str, params: dict) -> TopicResult:
    assignments = tuple(
        TopicAssignment(id=c.id, topic_id=None, probability=None,
                        source="no_text" if not c.text else source)
        for c in cleaned)
    return TopicResult(topics=(), assignments=assignments, params=params)


def map_points(reduced: np.ndarray | None, embeddings: np.ndarray, fit_rows: np.ndarray,
               has_text: np.ndarray, seed: int) -> np.ndarray | None:
    """The report's 2-D map from the clustering's own UMAP (`reduced`: its
    n_components coordinates of the fitted comments), so the map costs no second
    UMAP fit: PCA of those coordinates; the comments with text that were not
    clustered (near-empty, repeats, left out of the sample) placed by a ridge
    regression from their vectors to the clustered comments' points."""
    if reduced is None or len(reduced) != len(fit_rows) or len(fit_rows) < 3:
        return None
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge

    points = np.full((len(has_text), 2), np.nan)
    points[fit_rows] = PCA(n_components=2, random_state=seed).fit_transform(np.asarray(reduced, np.float64))
    rest = np.flatnonzero(has_text)
    rest = rest[np.isnan(points[rest, 0])]
    if len(rest):
        points[rest] = Ridge(alpha=1.0).fit(embeddings[fit_rows], points[fit_rows]).predict(embeddings[rest])
    return points


def fit_topics(cleaned: Sequence[CleanComment], embeddings: np.ndarray, config: dict,
               seed: int) -> TopicResult:
    """Topics for one thread; `embeddings` has one row per comment."""
    has_text = np.array([bool(c.text) for c in cleaned], dtype=bool)
    # near-empty texts and repeated posts are not clustered (repeats would form a topic of their
    # own, BERTopic #1018); they join a topic afterwards if close enough to one
    substantive = has_text & np.array(["near_empty" not in c.flags and "duplicate" not in c.flags
                                       for c in cleaned], dtype=bool)
    fit_rows = np.flatnonzero(substantive)
    if len(fit_rows) < config["min_comments"]:
        return _no_topics(cleaned, "too_few", {"comments_clustered": int(len(fit_rows))})
    # a big thread is clustered on a seeded sample; the rest join their nearest topic below
    left_out = np.zeros(0, dtype=int)
    if len(fit_rows) > config["max_fit_comments"]:
        chosen = np.random.default_rng(seed).choice(len(fit_rows), config["max_fit_comments"],
                                                    replace=False)
        keep = np.zeros(len(fit_rows), dtype=bool)
        keep[chosen] = True
        fit_rows, left_out = fit_rows[keep], fit_rows[~keep]

    params = resolve_params(len(fit_rows), config)
    too_big = [key for key in ("min_topic_size", "min_samples") if params[key] > len(fit_rows)]
    if too_big:  # HDBSCAN cannot take more neighbours or a bigger topic than the thread has
        log.warning("topics: %s of %s is more than the %d comments this thread has to cluster, so it "
                    "gets no topics (set it lower, or auto)", " and ".join(too_big),
                    ", ".join(str(params[k]) for k in too_big), len(fit_rows))
        return _no_topics(cleaned, "too_few", {"comments_clustered": int(len(fit_rows))})
    from bertopic import BERTopic
    from hdbscan import HDBSCAN

    docs = [cleaned[i].text for i in fit_rows]
    hdbscan_model = HDBSCAN(min_cluster_size=params["min_topic_size"],
                            min_samples=params["min_samples"], metric="euclidean",
                            cluster_selection_method=config["cluster_selection"], prediction_data=True)
    vectorizer = _vectorizer(len(fit_rows), config["ngram_max"])
    model = BERTopic(umap_model=_umap(embeddings[fit_rows], params, seed, config["neighbours"]),
                     hdbscan_model=hdbscan_model, vectorizer_model=vectorizer, top_n_words=config["top_n_words"],
                     calculate_probabilities=False, verbose=False)
    # BERTopic resets its logger in __init__, and warns on every custom assignment passed to
    # update_topics, which is the design here
    logging.getLogger("BERTopic").setLevel(logging.ERROR)
    fit_labels, fit_probs = model.fit_transform(docs, embeddings[fit_rows])
    fit_labels = np.asarray(fit_labels)
    map_2d = map_points(getattr(model.umap_model, "embedding_", None), embeddings, fit_rows, has_text, seed)

    labels = np.full(len(cleaned), OUTLIER)
    probability = np.full(len(cleaned), np.nan)
    source = np.array(["no_text" if not t else "outlier" for t in has_text], dtype=object)
    labels[fit_rows] = fit_labels
    clustered = fit_rows[fit_labels != OUTLIER]
    probability[clustered] = np.asarray(fit_probs)[fit_labels != OUTLIER]
    source[clustered] = "cluster"

    topic_ids = sorted(set(fit_labels.tolist()) - {OUTLIER})
    if not topic_ids:
        return _no_topics(cleaned, "outlier", params)
    centroids = topic_centroids(embeddings, labels, topic_ids)
    source[left_out] = "not_sampled"  # stays so where no topic is close enough
    candidates = np.flatnonzero(has_text & (labels == OUTLIER))
    for start in range(0, len(candidates), 20_000):  # bounded memory on big threads
        rows = candidates[start:start + 20_000]
        similarity = embeddings[rows] @ centroids.T
        best = similarity.argmax(axis=1)
        score = similarity[np.arange(len(rows)), best]
        confident = score >= config["outlier_threshold"]
        chosen_rows = rows[confident]
        labels[chosen_rows] = np.array(topic_ids)[best[confident]]
        probability[chosen_rows] = score[confident]
        source[chosen_rows] = np.where(source[chosen_rows] == "not_sampled", "nearest_topic",
                                       "reassigned")

    # Number topics by final size, largest first, so topic 0 is the main one.
    sizes = {t: int((labels == t).sum()) for t in topic_ids}
    order = sorted(topic_ids, key=lambda t: (-sizes[t], t))
    renumber = {old: new for new, old in enumerate(order)}
    labels = np.array([renumber.get(int(t), OUTLIER) for t in labels])

    # a big thread's keywords are read from its seeded sample, as its topics were (c-TF-IDF over a
    # million comments holds every word of them at once); a thread clustered whole, from all of it
    text_rows = np.flatnonzero(has_text) if not len(left_out) else fit_rows
    described = labels.copy()
    if config["keywords_from"] == "core":  # joined comments dilute the keywords (NPMI, bench/topic_quality.py)
        described[source != "cluster"] = OUTLIER
    model.update_topics([cleaned[i].text for i in text_rows], topics=described[text_rows].tolist(),
                        vectorizer_model=_vectorizer(len(text_rows), config["ngram_max"]),
                        top_n_words=config["top_n_words"])
    centroids = topic_centroids(embeddings, labels, list(range(len(order))))
    topics = []
    for topic_id in range(len(order)):
        keywords = tuple(word for word, _ in (model.get_topic(topic_id) or []) if word)
        members = np.flatnonzero((labels == topic_id) & (source == "cluster"))
        closeness = embeddings[members] @ centroids[topic_id]
        ranked = members[np.lexsort((members, -closeness))]
        topics.append(Topic(
            id=topic_id, label=readable_label(keywords, config["label_words"]) or f"topic {topic_id}",
            keywords=keywords, size=int((labels == topic_id).sum()),
            representative_ids=tuple(cleaned[i].id for i in ranked[:config["representative_comments"]])))

    assignments = tuple(
        TopicAssignment(
            id=c.id, topic_id=None if not has_text[i] else int(labels[i]),
            probability=None if np.isnan(probability[i]) else round(float(probability[i]), 4),
            source=str(source[i]))
        for i, c in enumerate(cleaned))
    params["comments_clustered"] = int(len(fit_rows))
    params["comments_not_sampled"] = int(len(left_out))
    return TopicResult(topics=tuple(topics), assignments=assignments, params=params, map_2d=map_2d)

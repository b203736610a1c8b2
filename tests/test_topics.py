import re

import numpy as np
import pytest

from pipeline.clean import clean_comments
from pipeline.embed import embed_texts
from pipeline.neighbours import exact_neighbours
from pipeline.topics import PhraseAnalyzer, _umap, fit_topics, readable_label, resolve_params


def test_phrases_never_span_a_stop_word():
    terms = PhraseAnalyzer(2)("Five years is not watch the traffic in Deir Ezzor")
    assert "deir ezzor" in terms and "years" in terms
    assert "years watch" not in terms and "watch traffic" not in terms


def test_label_prefers_a_phrase_over_its_words():
    assert readable_label(["deir", "ezzor", "deir ezzor", "syria", "saa"], 3) == "deir ezzor, syria, saa"


@pytest.mark.parametrize("n, size", [(46, 4), (100, 5), (1000, 16), (100_000, 158)])
def test_auto_topic_size_grows_with_the_corpus(config, n, size):
    assert resolve_params(n, config["topics"])["min_topic_size"] == size


def test_tiny_thread_gets_no_topics_but_keeps_every_comment(config, nlp, example_thread):
    comments = example_thread.comments[:6]
    cleaned = clean_comments(comments, example_thread.article, config["clean"], nlp)
    result = fit_topics(cleaned, np.zeros((6, 384), np.float32), config["topics"], 42)
    assert result.topics == () and len(result.assignments) == 6
    assert {a.source for a in result.assignments} <= {"too_few", "no_text"}


@pytest.fixture(scope="session")
def example_inputs(config, nlp, embedder, example_thread):
    cleaned = clean_comments(example_thread.comments, example_thread.article, config["clean"], nlp)
    matrix, _, _ = embed_texts([c.text for c in cleaned], embedder.encode, lambda k: {}, 384)
    return cleaned, matrix


@pytest.mark.slow
def test_example_thread_has_several_readable_topics(config, example_inputs):
    cleaned, matrix = example_inputs
    result = fit_topics(cleaned, matrix, config["topics"], 42)
    assert 3 <= len(result.topics) <= 8
    assert [t.size for t in result.topics] == sorted((t.size for t in result.topics), reverse=True)
    outliers = sum(a.topic_id == -1 for a in result.assignments)
    assert outliers <= len(cleaned) // 5
    labels = " | ".join(t.label for t in result.topics)
    for stop_word in (" the", " and", "didnt", " is,"):
        assert stop_word not in labels
    # themes the example dump was written around each lead some topic
    for theme in ({"tax", "road", "pay", "potholes", "million"},
                  {"customers", "parking", "drive", "shops", "foot"}):
        assert any(theme & set(t.keywords[:4]) for t in result.topics), labels
    empty = [a for a, c in zip(result.assignments, cleaned) if "empty" in c.flags]
    assert empty and all(a.topic_id is None and a.source == "no_text" for a in empty)


@pytest.mark.slow
def test_same_input_same_topics(config, example_inputs):
    cleaned, matrix = example_inputs
    first = fit_topics(cleaned, matrix, config["topics"], 42)
    second = fit_topics(cleaned, matrix, config["topics"], 42)
    assert first == second


@pytest.mark.slow
def test_big_thread_is_clustered_on_a_sample_and_the_rest_join_nearest(config, example_inputs):
    cleaned, matrix = example_inputs
    section = {**config["topics"], "max_fit_comments": 30}
    result = fit_topics(cleaned, matrix, section, 42)
    assert result == fit_topics(cleaned, matrix, section, 42)
    assert result.params["comments_clustered"] == 30 and result.params["comments_not_sampled"] > 0
    by_source = {}
    for assignment in result.assignments:
        by_source.setdefault(assignment.source, []).append(assignment)
    joined = by_source.get("nearest_topic", [])
    assert joined and len(joined) + len(by_source.get("not_sampled", [])) == \
        result.params["comments_not_sampled"]
    assert all(a.topic_id in {t.id for t in result.topics} and a.probability >= section["outlier_threshold"] for a in joined)
    assert all(a.topic_id == -1 for a in by_source.get("not_sampled", []))
    # its keywords are read from the sample (c-TF-IDF over every comment of a million-comment thread
    # held all their words at once): words only comments outside the sample have are not among them,
    # with the joined comments counted in (keywords_from: all) too
    sampled = {a.id for a in result.assignments if a.source in ("cluster", "outlier", "reassigned")}
    words_in_sample = {w for c in cleaned if c.id in sampled  # BERTopic drops punctuation (car-free: carfree)
                       for w in re.findall(r"\w+", re.sub(r"[^\w\s]", "", c.text.lower()))}
    for joined_too in (result, fit_topics(cleaned, matrix, {**section, "keywords_from": "all"}, 42)):
        missing = [w for t in joined_too.topics for k in t.keywords for w in re.findall(r"\w+", k)
                   if w not in words_in_sample]
        assert not missing, missing


@pytest.mark.parametrize("key", ["min_topic_size", "min_samples"])
def test_a_topic_size_bigger_than_the_thread_gives_no_topics_and_a_warning(config, key, caplog):
    import logging

    from pipeline.records import CleanComment

    cleaned = [CleanComment(id=f"c{i}", text=f"comment number {i} about the bike lane") for i in range(20)]
    vectors = np.random.default_rng(0).normal(size=(20, 384)).astype(np.float32)
    section = dict(config["topics"], **{key: 50})
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        result = fit_topics(cleaned, vectors, section, 42)
    assert result.topics == () and {a.source for a in result.assignments} == {"too_few"}
    assert f"{key} of 50 is more than the 20 comments" in caplog.text


@pytest.mark.parametrize("budget", [1 << 24, 1000])  # one chunk, and chunks of three rows
def test_exact_neighbours_are_every_rows_nearest_by_cosine(budget):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(257, 24)).astype(np.float32) * rng.uniform(0.5, 3, size=(257, 1)).astype(np.float32)
    X[10] = X[11] * 2  # the same direction: distance 0 to each other, still itself first
    indices, distances = exact_neighbours(X, 6, budget=budget)
    assert indices.shape == distances.shape == (257, 6) and indices.dtype == np.int32
    assert (indices[:, 0] == np.arange(257)).all() and (distances[:, 0] == 0).all()
    assert (np.diff(distances, axis=1) >= 0).all()
    E = X / np.linalg.norm(X, axis=1, keepdims=True)
    cosine = E @ E.T
    np.fill_diagonal(cosine, np.inf)
    brute = np.argsort(-cosine, axis=1, kind="stable")[:, :6]
    assert (np.sort(indices, 1) == np.sort(brute, 1)).all()
    np.testing.assert_allclose(distances[:, 1:], 1 - np.take_along_axis(cosine, brute, 1)[:, 1:], atol=1e-5)
    assert indices[10, 1] == 11 and distances[10, 1] < 1e-6


def test_umap_is_given_the_exact_neighbours_unless_asked_for_its_own():
    X = np.random.default_rng(4).normal(size=(80, 16)).astype(np.float32)
    params = {"n_neighbors": 7, "n_components": 3}
    exact = _umap(X, params, seed=1)
    indices, distances = exact.precomputed_knn
    assert indices.shape == (80, 7) and (indices == exact_neighbours(X, 7)[0]).all()
    assert _umap(X, params, seed=1, neighbours="umap").precomputed_knn == (None, None, None)


def test_exact_neighbours_of_fewer_rows_than_k_and_umaps_own_above_the_cap(monkeypatch):
    from pipeline import neighbours

    X = np.random.default_rng(5).normal(size=(3, 8)).astype(np.float32)
    indices, distances = exact_neighbours(X, 5)  # k is cut to the rows there are
    assert indices.shape == (3, 3) and (indices[:, 0] == np.arange(3)).all()
    assert sorted(indices[1].tolist()) == [0, 1, 2]
    Y = np.random.default_rng(6).normal(size=(60, 8)).astype(np.float32)
    monkeypatch.setattr(neighbours, "EXACT_MAX_ROWS", 59)  # quadratic: above the cap, UMAP's own search
    assert neighbours.umap_model(Y, 5, 2, 0.0, seed=1).precomputed_knn == (None, None, None)
    monkeypatch.setattr(neighbours, "EXACT_MAX_ROWS", 60)
    assert neighbours.umap_model(Y, 5, 2, 0.0, seed=1).precomputed_knn[0].shape == (60, 5)

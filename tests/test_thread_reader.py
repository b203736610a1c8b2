"""The thread reader (stance_model/thread_reader.py): sides over the reply tree and
authors, off topic by closeness, the user's labels, its file, and its figures."""
import json
from dataclasses import replace

import numpy as np
import pytest

from conftest import SHARED
from pipeline.errors import PipelineError
from pipeline.records import STANCE_LABELS, Article, CleanComment, Comment
from pipeline.stance import load_models, read_labels, weights_for
from pipeline.stance_model.rumour_replies import RumourReplies
from pipeline.stance_model.thread_reader import RELEVANCE_FEATURES, ThreadInput, ThreadReader

AGREE, DISAGREE, UNRELATED = (STANCE_LABELS.index(s) for s in ("agree", "disagree", "unrelated"))


def reader(**weights) -> ThreadReader:
    """Nothing off topic (a large negative intercept); sides from the given weights."""
    k = len(RELEVANCE_FEATURES)
    return replace(ThreadReader(np.zeros(k), -8.0, np.zeros(k), np.ones(k)), **weights)


def thread(own, reply, parent, authors, vectors=None, target="A plain headline") -> ThreadInput:
    n = len(own)
    vectors = np.eye(n, 8)[:, ::-1] + 1.0 if vectors is None else vectors
    return ThreadInput(np.asarray(own, float), np.asarray(reply, float), np.asarray(vectors, float),
                       np.ones(vectors.shape[1]), np.ones(vectors.shape[1]), parent, authors,
                       ["a comment"] * n, target)


SURE_AGREE = [0.9, 0.02, 0.04, 0.02, 0.02]
UNSURE = [0.25, 0.25, 0.3, 0.1, 0.1]
NAN = [np.nan] * 3


def test_a_reply_takes_its_parents_side_or_the_other_by_the_reply_stance():
    r = reader(w_pair=1.0, w_reply=2.0, w_author=0.0)
    agrees = thread([SURE_AGREE, UNSURE], [NAN, [0.95, 0.03, 0.02]], [None, 0], ["a", "b"])
    disagrees = thread([SURE_AGREE, UNSURE], [NAN, [0.03, 0.95, 0.02]], [None, 0], ["a", "b"])
    assert r.read(agrees)[0][1].argmax() == AGREE
    assert r.read(disagrees)[0][1].argmax() == DISAGREE
    # without the reply edges the unsure reply has no side to take
    flat = reader(w_pair=1.0, w_reply=0.0).read(disagrees)[0][1]
    assert abs(flat[AGREE] - flat[DISAGREE]) < abs(r.read(disagrees)[0][1][AGREE] - r.read(disagrees)[0][1][DISAGREE])


def test_strong_links_settle_instead_of_swinging():
    """Undamped, a reply that fully agrees with its parent under strong links swung to the
    other side on every round (the answer hung on the round count)."""
    t = thread([SURE_AGREE, UNSURE], [NAN, [1.0, 0.0, 0.0]], [None, 0], ["a", "b"])
    for iterations in (29, 30, 100):
        m = reader(w_pair=1.0, w_reply=2.0, iterations=iterations).sides(t, 0.0)
        assert m[0] > 0 and m[1] > 0


def test_placeholder_authors_are_not_one_author():
    sure_disagree = [0.02, 0.9, 0.04, 0.02, 0.02]
    t = thread([sure_disagree, UNSURE], [NAN, NAN], [None, None], ["(no name)", "(no name)"])
    r = reader(w_pair=1.0, w_author=2.0)
    assert r.read(t)[0][1].argmax() == r.read(thread([UNSURE], [NAN], [None], ["x"]))[0][0].argmax()


def test_an_author_keeps_a_side_across_comments():
    sure_disagree = [0.02, 0.9, 0.04, 0.02, 0.02]
    t = thread([sure_disagree, UNSURE, UNSURE], [NAN, NAN, NAN], [None, None, None], ["x", "y", "x"])
    linked = reader(w_pair=1.0, w_author=2.0).read(t)[0]
    assert linked[2].argmax() == DISAGREE  # x's unsure comment sides with x's sure one
    assert linked[2][DISAGREE] > linked[1][DISAGREE]  # y's identical text does not


def test_an_authors_pull_is_the_mean_of_their_other_comments_in_linear_time():
    """Each comment is pulled by w_author times the mean side of its author's other
    comments (what one link to each of them, w_author / (n - 1) apiece, gives), from the
    author's sum: a prolific author of a big thread adds no pairs of comments."""
    rng = np.random.default_rng(3)
    n = 60
    own = rng.dirichlet(np.ones(5), n)
    authors = [f"u{rng.integers(6)}" if k % 7 else "(no name)" for k in range(n)]
    r = reader(w_pair=1.0, w_author=1.5, w_reply=0.0, bias=0.2, iterations=400)
    m = r.sides(thread(own, [NAN] * n, [None] * n, authors), 0.0)
    log = np.log(np.clip(own, 1e-4, 1.0))
    unary = r.w_pair * (log[:, 0] - log[:, 1]) + r.bias
    pull = np.zeros(n)
    for k, a in enumerate(authors):
        others = [j for j, b in enumerate(authors) if b == a and j != k] if a != "(no name)" else []
        pull[k] = r.w_author * np.mean(m[others]) if others else 0.0
    assert np.abs(m - np.tanh(unary + pull)).max() < 1e-4  # the fixed point of the pairwise links


def test_a_big_threads_relevance_features_are_computed_chunk_by_chunk_alike(monkeypatch):
    """A million comments are made unit length a chunk at a time (their float64 copy is
    GBs); the features are the ones the whole matrix gives."""
    rng = np.random.default_rng(5)
    n = 23
    t = thread(rng.dirichlet(np.ones(5), n), [NAN] * n, [None] + [int(rng.integers(k)) for k in range(1, n)],
               ["a"] * n, vectors=rng.normal(size=(n, 8)))
    whole = t.relevance_features()
    monkeypatch.setattr(ThreadInput, "CHUNK", 4)
    chunked = replace(t, _memo={}).relevance_features()
    assert chunked.shape == whole.shape == (n, len(RELEVANCE_FEATURES))
    assert np.abs(chunked - whole).max() < 1e-12 and np.abs(whole[:, RELEVANCE_FEATURES.index("cos_parent")]).sum() > 0


def test_a_comment_far_from_the_article_and_the_thread_reads_as_off_topic():
    shipped = load_models(weights_for("onnx-int8")).thread
    rng = np.random.default_rng(0)
    target = np.zeros(16)
    target[0] = 1.0
    near = 0.4 * target + rng.normal(size=(6, 16)) * np.r_[0.0, np.full(15, 0.25)]  # cosine about 0.4
    far = np.zeros((1, 16))
    far[0, 5] = 1.0
    vectors = np.vstack([near, far])
    t = ThreadInput(np.tile(UNSURE, (7, 1)), np.full((7, 3), np.nan), vectors, target, target,
                    [None] * 7, [str(i) for i in range(7)], ["some words in a comment here"] * 7, "A headline")
    P = shipped.read(t)[0]
    assert P[-1, UNRELATED] == P[:, UNRELATED].max()
    assert P[-1, UNRELATED] > 2 * P[:-1, UNRELATED].mean()


def test_the_users_labels_move_the_thread_and_no_labels_change_nothing():
    r = reader(w_pair=0.2, bias=0.5)
    t = thread([UNSURE] * 6, [NAN] * 6, [None] * 6, list("abcdef"))
    ids = [f"c{i}" for i in range(6)]
    before = r.read(t)[0]
    assert (before.argmax(1) == AGREE).all()
    adapted = r.adapted(t, {"c0": "disagree", "c1": "disagree", "c2": "disagree"}, ids)
    after = adapted.read(t)[0]
    assert adapted.bias < r.bias
    assert (after[3:].argmax(1) == DISAGREE).all()  # the comments nobody labelled follow
    assert r.adapted(t, {}, ids) is r and r.adapted(t, {"elsewhere": "agree"}, ids) is r


def test_the_users_labels_spread_to_the_comments_most_like_them():
    """Two kinds of comment (two directions of the embedding); one of each labelled: the
    unlabelled ones take the side of their own kind, where the reader alone gives them all one."""
    r = reader(w_pair=0.0)
    rng = np.random.default_rng(1)
    a, b = np.eye(8)[0], np.eye(8)[1]
    vectors = np.vstack([a + rng.normal(size=(4, 8)) * 0.1, b + rng.normal(size=(4, 8)) * 0.1])
    t = thread([UNSURE] * 8, [NAN] * 8, [None] * 8, list("abcdefgh"), vectors=vectors)
    ids = [f"c{i}" for i in range(8)]
    adapted = r.adapted(t, {"c0": "disagree", "c4": "agree"}, ids)
    assert len(set(replace(adapted, labelled=()).read(t)[0].argmax(1))) == 1
    after = adapted.read(t)[0]
    assert (after[1:4].argmax(1) == DISAGREE).all() and (after[5:].argmax(1) == AGREE).all()
    assert r.labelled == () and "labelled" not in json.dumps(adapted.to_json())  # never saved


def test_a_thread_that_reads_as_rumour_replies_is_left_to_the_pair_model():
    from pipeline.stance_model._base import STANCE_SOURCES

    r = reader(w_pair=1.0, bias=2.0, w_author=2.0, defer_above=0.7)
    own = [SURE_AGREE, UNSURE, [0.1, 0.1, 0.7, 0.05, 0.05]]
    t = thread(own, [NAN, [0.9, 0.05, 0.05], NAN], [None, 0, None], ["a", "b", "a"])
    shares = np.full((3, len(STANCE_SOURCES)), 0.05)
    rumour = STANCE_SOURCES.index("rumoureval")
    shares[:, rumour] = [0.9, 0.8, 0.6]  # mean 0.77
    t.domain = shares
    P, R, note = r.read(t)
    assert np.allclose(P, np.asarray(own) / np.sum(own, 1, keepdims=True)) and note["deferred"]
    assert np.allclose(R[1], [0.9, 0.05, 0.05])
    assert r.adapted(t, {"c0": "disagree"}, ["c0", "c1", "c2"]) is r
    shares[:, rumour] = [0.9, 0.6, 0.5]  # mean 0.67: the reader reads it
    read = r.read(t)[0]
    assert read[2].argmax() == AGREE and not r.read(t)[2].get("deferred")
    t.domain = None  # no domain shares given: the reader reads it
    assert np.allclose(r.read(t)[0], read)


def rumour_replies(d: int = 8, seed: int = 0) -> RumourReplies:
    rng = np.random.default_rng(seed)
    n = len(RumourReplies.features(thread([UNSURE], [NAN], [None], ["a"], np.ones((1, d))))[0])
    return RumourReplies(rng.normal(size=(4, n)), rng.normal(size=4), rng.normal(size=n), np.abs(rng.normal(size=n)) + 1)


def test_a_deferred_thread_is_read_by_the_rumour_head_times_the_rumour_replies_regression():
    from pipeline.stance_model._base import STANCE_SOURCES

    rng = np.random.default_rng(3)
    own = rng.dirichlet(np.ones(5), size=4)
    head = rng.dirichlet(np.ones(4), size=4)
    rumour = np.zeros((4, 5))
    rumour[:, [STANCE_LABELS.index(s) for s in RumourReplies.LABELS]] = head  # the head never says unrelated
    t = thread(own, [NAN, NAN, NAN, NAN], [None, 0, 1, None], list("abcd"), rng.normal(size=(4, 8)))
    t.texts = ["Is this true?", "No, it is a hoax", "source?", "RIP to the victims"]
    t.domain = np.full((4, len(STANCE_SOURCES)), 0.9)
    t.rumour = rumour
    model = rumour_replies()
    P = replace(reader(defer_above=0.75), rumour_replies=model).read(t)[0]
    Q = model.proba(t)
    expected = head * Q / (head * Q).sum(1, keepdims=True)
    assert np.allclose(P[:, [STANCE_LABELS.index(s) for s in RumourReplies.LABELS]], expected)
    assert np.allclose(P[:, UNRELATED], 0) and np.allclose(P.sum(1), 1)
    assert np.allclose(reader(defer_above=0.75).read(t)[0], rumour)  # no regression: the head alone
    t.rumour = None
    assert np.allclose(replace(reader(defer_above=0.75), rumour_replies=model).read(t)[0], own)  # no head given
    # a reply's parent counts: its cues and vector are in the features
    X = RumourReplies.features(t)
    t.parent = [None, None, 1, None]
    assert not np.allclose(RumourReplies.features(t)[1], X[1])


def test_the_rumour_replies_features_come_in_chunks_alike(monkeypatch):
    rng = np.random.default_rng(5)
    n = 7
    t = thread(rng.dirichlet(np.ones(5), size=n), [NAN] * n, [None, 0, 1, 0, None, 4, 5], list("abcabca"),
               rng.normal(size=(n, 8)))
    t.texts = [f"comment {k}?" * (k + 1) for k in range(n)]
    model = rumour_replies()
    whole = model.proba(t)
    monkeypatch.setattr(RumourReplies, "CHUNK", 3)
    assert np.allclose(model.proba(t), whole, rtol=0, atol=1e-12)


def test_the_rumour_replies_regression_fails_clearly_on_other_vectors_and_never_gives_nan():
    rng = np.random.default_rng(7)
    t = thread(rng.dirichlet(np.ones(5), size=3), [NAN] * 3, [None, 0, None], list("abc"), rng.normal(size=(3, 8)))
    assert RumourReplies.features(thread([], [], [], [], np.zeros((0, 8)))).shape == (0, RumourReplies.features(t).shape[1])
    with pytest.raises(PipelineError, match="make train-thread-reader"):
        rumour_replies(d=16).proba(t)  # weights for 16-dimensional vectors, these have 8
    model = rumour_replies()
    head = np.zeros((3, 5))
    head[:, [STANCE_LABELS.index(s) for s in RumourReplies.LABELS]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0.5, 0.5, 0, 0]]
    model.coef[:] = 0
    model.intercept[:] = [-800, -800, 0, 0]  # the regression says only query or discuss: no overlap with the head
    P = model.read(t, head)
    assert np.isfinite(P).all() and np.allclose(P, head / head.sum(1, keepdims=True))


def test_the_rumour_replies_weights_are_json_numbers_of_matching_shapes(tmp_path):
    shipped = load_models(weights_for("onnx-int8")).thread
    assert shipped.rumour_replies is not None and shipped.rumour_replies.card["C"] > 0
    spec = shipped.to_json()
    again = ThreadReader.from_json(json.loads(json.dumps(spec)))
    assert np.array_equal(again.rumour_replies.coef, shipped.rumour_replies.coef)
    bad = json.loads(json.dumps(spec))
    bad["rumour_replies"]["coef"][0][0] = float("inf")
    with pytest.raises(ValueError):
        ThreadReader.from_json(bad)
    bad = json.loads(json.dumps(spec))
    bad["rumour_replies"]["mean"] = bad["rumour_replies"]["mean"][:-1]
    with pytest.raises(ValueError):
        ThreadReader.from_json(bad)
    for value in ("1.5", True):
        bad = json.loads(json.dumps(spec))
        bad["rumour_replies"]["intercept"][0] = value
        with pytest.raises(ValueError):
            ThreadReader.from_json(bad)
    bad = json.loads(json.dumps(spec))
    bad["rumour_replies"]["labels"] = ["support", "deny", "query", "comment"]
    with pytest.raises(KeyError):
        ThreadReader.from_json(bad)
    del spec["rumour_replies"]  # an older reader file: the head alone
    assert ThreadReader.from_json(spec).rumour_replies is None


def test_the_reader_file_is_json_numbers_and_a_mismatch_is_a_clear_error(tmp_path):
    shipped = load_models(weights_for("onnx-int8")).thread
    assert shipped is not None
    shipped.save(tmp_path)
    again = ThreadReader.load(tmp_path)
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(shipped.to_json(), sort_keys=True)
    spec = json.loads((tmp_path / "thread_reader.json").read_text())
    spec["relevance"]["features"] = ["something", "else"]
    (tmp_path / "thread_reader.json").write_text(json.dumps(spec))
    with pytest.raises(KeyError):
        ThreadReader.load(tmp_path)
    spec = shipped.to_json()
    spec["sides"]["w_reply"] = float("nan")
    (tmp_path / "thread_reader.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError):
        ThreadReader.load(tmp_path)


def test_stance_thread_false_is_the_pair_at_a_time_path(embedder):
    models = load_models(weights_for("onnx-int8"))
    from pipeline.replies import infer_reply_targets
    from pipeline.stance import annotate_stance

    article = Article("a", "Town Bans Plastic Bags in All Shops", ("The mayor banned single-use bags.",), "x")
    comments = [Comment("c1", None, 0, "A", "Great decision, banning plastic bags is exactly right.", 1, 0),
                Comment("c2", "c1", 1, "B", "No, this ban is a mistake and will hurt small shops.", 2, 1),
                Comment("c3", None, 0, "C", "Anyone watch the game last night? What a finish.", 3, 2)]
    cleaned = [CleanComment(id=c.id, text=c.text) for c in comments]
    targets = infer_reply_targets(comments, cleaned)
    pair = annotate_stance(article, comments, cleaned, targets, embedder.encode, models,
                           thread_reader=models.reader_for({"thread": False}))
    whole = annotate_stance(article, comments, cleaned, targets, embedder.encode, models,
                            thread_reader=models.reader_for({"thread": True}))
    assert models.reader_for({"thread": False}) is None and models.reader_for({"thread": True}) is models.thread
    assert {a.context for a in whole} <= {"text", "thread"}
    assert whole[2].stance == "unrelated"  # the banter, by its distance from the article and the thread
    for a in whole:
        assert sum(a.probs) == pytest.approx(1, abs=1e-3)
    assert [a.id for a in pair] == ["c1", "c2", "c3"] and {a.context for a in pair} <= {"text", "thread"}
    assert [a.probs for a in pair] != [a.probs for a in whole]  # the thread reader reads them otherwise


def test_read_labels_takes_review_imports_file_and_names_a_bad_line(tmp_path):
    good = tmp_path / "stance_labels.jsonl"
    good.write_text('{"id": "c1", "target": "t", "text": "x", "label": "agree"}\n\n{"id": 7, "stance": "unrelated"}\n')
    assert read_labels(good) == {"c1": "agree", "7": "unrelated"}
    for bad, line in (('{"id": "c1", "label": "agree"}\n{"id": "c2", "label": "maybe"}\n', 2),
                      ('{"id": "c1", "label": "agree"}\nnot json\n', 2),
                      ('{"id": true, "label": "agree"}\n', 1), ('["c1", "agree"]\n', 1)):
        path = tmp_path / "bad.jsonl"
        path.write_text(bad)
        with pytest.raises(PipelineError) as error:
            read_labels(path)
        assert error.value.line == line and error.value.path == str(path) and error.value.hint
    with pytest.raises(PipelineError):
        read_labels(tmp_path / "missing.jsonl")


def test_the_stance_key_follows_the_labels_files_content(tmp_path):
    from types import SimpleNamespace

    from pipeline.stages import MODEL_FINGERPRINTS

    path = tmp_path / "labels.jsonl"
    path.write_text('{"id": "c1", "label": "agree"}\n')
    fingerprint = MODEL_FINGERPRINTS["stance_labels"]
    resources = SimpleNamespace(config={"stance": {"labels": str(path)}})
    first = fingerprint(resources)
    path.write_text('{"id": "c1", "label": "disagree"}\n')
    assert fingerprint(resources) != first
    assert fingerprint(SimpleNamespace(config={"stance": {"labels": ""}})) == ""
    from pipeline.stages import STAGES

    assert "stance_labels" in next(s for s in STAGES if s.name == "stance").models


def test_coordinate_ascent_keeps_to_the_grid_and_never_loses_ground():
    from pipeline.stance_train import threads

    start = reader(w_pair=0.7)  # 0.7 is not among GRID's values: replaced by the first
    target = {"w_pair": 1.0, "w_author": 2.0, "w_reply": 0.0}
    objective = lambda r: -sum(abs(getattr(r, k) - v) for k, v in target.items())  # noqa: E731
    found = threads.coordinate_ascent(start, objective)
    for name, values in threads.GRID.items():
        assert getattr(found, name) in values
    assert {k: getattr(found, k) for k in target} == target


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "data" / "threads" / "fox_labels").is_dir(), reason="../shared is not here")
def test_the_cards_news_thread_figures_come_back(tmp_path):
    """The leave-one-thread-out figures the shipped reader's card records, measured again
    the way the card measured them (make train-thread-reader: the cached embedder, so each
    distinct text is embedded once, as a run embeds it; on this CPU's vectors: within 0.03)
    and above the pair-at-a-time path's. Embedding a text anew in every call instead gives
    int8 vectors that differ a little from call to call (its activations are quantised per
    batch), and the reader's figure moved by up to 0.046 with that alone (docs/benchmarks.md)."""
    from pipeline.stance_train import threads
    from pipeline.stance_train.data import make_encoder

    models = load_models(weights_for("onnx-int8"))
    recorded = models.thread.card["leave_one_thread_out"]
    encode = make_encoder(tmp_path / "cache", models.thread.card["embed_backend"])
    again = threads.evaluate(SHARED / "data", models, encode, with_curve=False)
    for path in ("thread_reader", "pair_at_a_time"):
        assert again[path]["pooled"]["macro_f1"] == pytest.approx(recorded[path]["pooled"]["macro_f1"], abs=0.03)
    assert again["thread_reader"]["pooled"]["macro_f1"] > again["pair_at_a_time"]["pooled"]["macro_f1"] + 0.05


def test_eval_stance_reads_the_news_threads_with_the_shipped_readers_deferral(monkeypatch, tmp_path):
    """`make eval-stance` fits a reader without each news thread; those readers must defer where
    the shipped reader of that backend does (fast mode's 0.9: with MiniLM's 0.75, fox31 was left
    to the pair model and the static pass printed 0.21 against its card's 0.33)."""
    from types import SimpleNamespace

    from pipeline.stance_train import evaluate, threads

    seen = {}
    monkeypatch.setattr(evaluate, "OBVIOUS", tmp_path / "none.jsonl")
    monkeypatch.setattr(evaluate, "REAL_LABELS", tmp_path / "none.json")
    monkeypatch.setattr(evaluate, "rumour_threads", lambda *a, **k: {})
    monkeypatch.setattr(threads, "iac_authors", lambda *a, **k: None)
    monkeypatch.setattr(threads, "evaluate", lambda data, models, encode, **k: seen.update(k) or None)
    method = SimpleNamespace(card={})
    for backend in ("onnx-int8", "static"):
        reader = load_models(weights_for(backend)).thread
        evaluate.pipeline_checks(method, None, tmp_path, reader)
        assert seen["defer_above"] == reader.defer_above == threads.defer_above_for(backend)

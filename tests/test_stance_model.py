"""The stance estimators (stance_model: heads, methods, the composition) on small synthetic
data with a stand-in encoder, and the training tools' data handling (stance_train)."""
import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy import sparse

from conftest import ROOT, SHARED

from pipeline.stance_model._base import LABELS, REPLY_LABELS, SOURCES, Pairs
from pipeline.stance_model.methods import BASELINES, METHODS, inner_mask, load_method
from pipeline.stance_model.nets import Heads, fit_temperature, row_weights, softmax
from pipeline.stance_train.data import PairSet


def synthetic(n=600, d=12, s=30, seed=0):
    """Head a's class is the sign of dense column 0; head b's the bin of sparse column 3.
    Rows alternate between the heads; dense column 5 never varies."""
    rng = np.random.default_rng(seed)
    Xd = rng.normal(size=(n, d)).astype(np.float32)
    Xd[:, 5] = 3.0
    Xs = sparse.random(n, s, density=0.3, random_state=seed, format="csr", dtype=np.float32)
    head = np.arange(n) % 2
    y = np.where(head == 0, (Xd[:, 0] > 0).astype(int), np.digitize(Xs[:, 3].toarray().ravel(), [0.01, 0.5]))
    return Xs, Xd, head, y


@pytest.fixture(scope="module")
def fitted():
    Xs, Xd, head, y = synthetic()
    net = Heads({"a": 2, "b": 3}, hidden=16, epochs=40, members=2, batch=32, dropout=0.1)
    return (Xs, Xd, head, y), net.fit(Xs, Xd, head, y, np.ones(len(y)))


def accuracy(net, data, name, k):
    Xs, Xd, head, y = data
    rows = head == k
    return (net.proba(Xs[rows], Xd[rows], name).argmax(1) == y[rows]).mean()


def test_one_network_learns_each_head_from_its_own_rows(fitted):
    data, net = fitted
    assert accuracy(net, data, "a", 0) > 0.9  # from the dense block
    assert accuracy(net, data, "b", 1) > 0.8  # from the sparse block
    assert net.proba(data[0][:5], data[1][:5], "b").sum(1) == pytest.approx(np.ones(5), abs=1e-5)


def test_logistic_regression_is_the_network_without_a_hidden_layer():
    Xs, Xd, head, y = synthetic()
    lr = Heads({"a": 2, "b": 3}, hidden=0, dropout=0.0, epochs=30, batch=32).fit(None, Xd, head, y, np.ones(len(y)))
    assert "W1" not in lr.params_[0] and lr.params_[0]["W_a"].shape == (Xd.shape[1], 2)
    assert (lr.proba(None, Xd[head == 0], "a").argmax(1) == y[head == 0]).mean() > 0.9


def test_training_repeats_exactly_and_leaves_the_callers_random_state_alone(fitted):
    import torch

    data, net = fitted
    torch.manual_seed(7)
    before = torch.rand(3)
    torch.manual_seed(7)
    again = Heads({"a": 2, "b": 3}, hidden=16, epochs=40, members=2, batch=32, dropout=0.1).fit(
        data[0], data[1], data[2], data[3], np.ones(len(data[3])))
    assert torch.equal(torch.rand(3), before)
    for m1, m2 in zip(net.params_, again.params_):
        assert all(np.array_equal(m1[k], m2[k]) for k in m1)


def test_a_column_that_never_varied_stays_inert(fitted):
    data, net = fitted
    Xd = data[1][:20].copy()
    Xd[:, 5] = 1e6
    assert net.proba(data[0][:20], Xd, "a") == pytest.approx(net.proba(data[0][:20], data[1][:20], "a"))


def test_heads_save_and_load_as_plain_arrays(fitted, tmp_path):
    import copy

    data, net = fitted
    net = copy.deepcopy(net)  # the module's fixture stays as fitted
    net.calibrate(data[0][data[2] == 0], data[1][data[2] == 0], "a", data[3][data[2] == 0])
    np.savez(tmp_path / "h.npz", **net.to_arrays("h"))
    back = Heads.from_arrays(dict(np.load(tmp_path / "h.npz", allow_pickle=False)), "h")
    assert back.temperature_ == net.temperature_
    assert back.params_[0]["W1"].shape == net.params_[0]["W1"].shape
    assert np.abs(back.params_[0]["W1"] - net.params_[0]["W1"]).max() <= np.abs(net.params_[0]["W1"]).max() / 254 + 1e-6
    # int8 first layer, float16 heads: close, and the same answers
    assert back.proba(data[0], data[1], "a") == pytest.approx(net.proba(data[0], data[1], "a"), abs=0.03)
    assert (back.proba(data[0], data[1], "b").argmax(1) == net.proba(data[0], data[1], "b").argmax(1)).mean() > 0.98


def test_row_weights_balance_classes_as_far_as_asked():
    y = np.array([0] * 90 + [1] * 10)
    for balance, ratio in ((0.0, 1.0), (0.5, 3.0), (1.0, 9.0)):
        w = row_weights(y, 2, balance)
        assert w.mean() == pytest.approx(1.0) and w[-1] / w[0] == pytest.approx(ratio)


def test_fit_temperature_finds_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 3)) * 3
    y = np.array([rng.choice(3, p=p) for p in softmax(logits / 2.0)])
    assert fit_temperature(logits, y) == pytest.approx(2.0, rel=0.15)


def test_the_inner_hold_out_keeps_groups_whole_and_repeats():
    groups = np.repeat(np.arange(40), 5)
    held = inner_mask(groups)
    assert np.array_equal(held, inner_mask(groups)) and 0.1 < held.mean() < 0.2
    assert set(groups[held]).isdisjoint(groups[~held])


# --- methods on a toy corpus with a stand-in encoder ------------------------------------------

def fake_encode(texts):
    """A deterministic 384-d vector per text: the mean of hashed word vectors, so texts
    sharing words are close (like a sentence encoder, crudely)."""
    out = np.zeros((len(texts), 384), np.float32)
    for i, t in enumerate(texts):
        for w in re.findall(r"[a-z]+", t.lower()) or [""]:
            seed = int(hashlib.sha256(w.encode()).hexdigest()[:8], 16)
            out[i] += np.random.default_rng(seed).normal(size=384)
        out[i] /= np.linalg.norm(out[i]) or 1.0
    return out


WORDS = ("great wonderful support yes", "terrible awful against no", "maybe wonder perhaps", "cooking recipes garden")


def toy_set(source, n=80, seed=0):
    """Each source's label shows in the words of the text."""
    rng = np.random.default_rng(seed)
    labels = SOURCES[source]
    word_of = dict(zip(labels, WORDS))
    y = [labels[i % len(labels)] for i in range(n)]
    texts = [f"{word_of[lab]} comment {rng.integers(1000)}" for lab in y]
    targets = [f"topic {k % 7} about things" for k in range(n)]
    return PairSet(source, targets, texts, [None] * n, y, np.arange(n) % 7)


@pytest.fixture(scope="module")
def toy_train():
    return {s: toy_set(s, seed=i) for i, s in enumerate(SOURCES)}


@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_fits_saves_and_loads_and_answers_every_source(name, toy_train, tmp_path):
    cls = METHODS[name]
    method = cls(**({"epochs": 60, "members": 1} if cls.NET.get("hidden") else {"epochs": 40}))
    method.fit(toy_train, fake_encode)
    method.save(tmp_path / name)
    back = load_method(tmp_path / name)
    assert type(back) is cls and back.card["method"] == name
    for source, ps in toy_train.items():
        pairs = Pairs(ps.targets[:30], ps.texts[:30])
        P = back.predict_proba(source, pairs, fake_encode)
        assert P.shape == (30, len(SOURCES[source]))
        assert P == pytest.approx(method.predict_proba(source, pairs, fake_encode), abs=5e-3)
        assert (P.argmax(1) == [SOURCES[source].index(v) for v in ps.labels[:30]]).mean() > 0.8


def test_the_pipelines_stances_are_composed_from_the_source_heads(toy_train):
    from pipeline.stance_model._base import STANCE_SOURCES, as_source, compose, to_stances

    method = METHODS["minilm-lr"](epochs=40).fit(toy_train, fake_encode)
    pairs = Pairs(["topic 1 about things"] * 3, [f"{words} comment 5" for words in WORDS[:3]])
    P = method.stance_proba(pairs, fake_encode)
    assert P.shape == (3, len(LABELS)) and P.sum(1) == pytest.approx(np.ones(3))
    D = method.domain_proba(pairs, fake_encode)
    assert D.shape == (3, len(STANCE_SOURCES)) and D.sum(1) == pytest.approx(np.ones(3))
    heads = {s: method.predict_proba(s, pairs, fake_encode) for s in STANCE_SOURCES}
    assert P == pytest.approx(sum(D[:, [i]] * to_stances(s, heads[s]) for i, s in enumerate(STANCE_SOURCES)))
    assert [LABELS[i] for i in P[:2].argmax(1)] == ["agree", "disagree"]
    R = method.reply_proba(["a comment"] * 3, pairs.texts, fake_encode)
    assert R.shape == (3, len(REPLY_LABELS)) and R == pytest.approx(
        method.predict_proba("reddit", Pairs(["a comment"] * 3, pairs.texts), fake_encode))
    # a pair that looks wholly like one source gets that source's answer, in the five labels
    one = np.zeros((1, len(STANCE_SOURCES)))
    one[0, STANCE_SOURCES.index("vast")] = 1.0
    vast = np.array([[0.2, 0.5, 0.3]])
    assert compose(one, {s: (vast if s == "vast" else np.full((1, len(SOURCES[s])), 1 / len(SOURCES[s])))
                         for s in STANCE_SOURCES}) == pytest.approx(np.array([[0.2, 0.5, 0.3, 0.0, 0.0]]))
    # and read back in a source's labels: query is discuss for ARC and FNC-1, off topic is comment
    # for RumourEval, neither side is neutral for VAST, and Perspectrum has only the two sides
    five = np.array([[0.1, 0.2, 0.3, 0.15, 0.25]])
    assert as_source(five, "arc") == pytest.approx(np.array([[0.1, 0.2, 0.45, 0.25]]))
    assert as_source(five, "rumoureval") == pytest.approx(np.array([[0.1, 0.2, 0.15, 0.55]]))
    assert as_source(five, "vast") == pytest.approx(np.array([[0.1, 0.2, 0.7]]))
    assert as_source(five, "perspectrum") == pytest.approx(np.array([[1 / 3, 2 / 3]]))


def test_labelled_comments_join_arc_and_their_replies_join_reddit(toy_train):
    from pipeline.stance_train.data import with_labelled

    news = PairSet("news", ["Art A", "Art A", "Art B"], ["Yes.", "No way.", "Why?"], [None, "Yes.", None],
                   ["agree", "disagree", "query"], np.array([0, 0, 1]), None, [None, "disagree", None])
    sets = with_labelled(toy_train, news)
    arc, red = sets["arc"], sets["reddit"]
    assert arc.texts[-3:] == ["Yes.", "No way.", "Why?"] and arc.labels[-3:] == ["agree", "disagree", "discuss"]
    assert set(arc.groups[-3:]).isdisjoint(toy_train["arc"].groups)  # an article is its own group
    assert (red.targets[-1], red.texts[-1], red.labels[-1]) == ("Yes.", "No way.", "disagree")
    assert len(red) == len(toy_train["reddit"]) + 1 and sets["fnc1"] is toy_train["fnc1"]


def test_the_evaluation_trains_each_baseline_on_the_methods_training_sets(toy_train, monkeypatch):
    """evaluate's baselines: every one of BASELINES but the method under test, each
    fitted on the same training sets (a stand-in fit records what it was given)."""
    import pipeline.stance_train.evaluate as evaluate

    seen = {}

    def fake_fit(self, train, encode, lexicon=None, features=None):
        seen[self.name] = (set(train), {s: len(ps) for s, ps in train.items()}, features is not None)
        return self

    monkeypatch.setattr(METHODS["joined-mlp"], "fit", fake_fit)
    monkeypatch.setattr(METHODS["tfidf-mlp"], "fit", fake_fit)
    monkeypatch.setattr(METHODS["minilm-lr"], "fit", fake_fit)
    feats = {(s, "train"): {} for s in toy_train}
    fitted = evaluate.train_baselines(toy_train, feats, None, fake_encode, ["minilm-lr", "tfidf-mlp", "joined-mlp"])
    assert set(fitted) == set(BASELINES) == set(seen)
    assert all(v == (set(toy_train), {s: len(ps) for s, ps in toy_train.items()}, True) for v in seen.values())


@pytest.mark.skipif(not (SHARED / "data" / "stance_extra").is_dir(), reason="../shared/data is not here")
def test_the_validation_slices_share_no_group_with_training():
    from pipeline.stance_train.data import load_splits

    splits = load_splits(SHARED / "data")
    assert set(splits) == set(SOURCES)
    for source, (train, val) in splits.items():
        assert len(val) > 500 and set(val.labels) == set(SOURCES[source])
        if source in ("arc", "fnc1"):
            assert set(train.targets).isdisjoint(val.targets)  # headlines
        elif source == "reddit":
            assert set(train.targets).isdisjoint(val.targets)  # the quoted comments
        elif source == "rumoureval":
            assert set(train.targets).isdisjoint(val.targets)  # source posts
        elif source == "perspectrum":  # claims, and perspectives repeated under other claims
            assert set(train.targets).isdisjoint(val.targets) and set(train.texts).isdisjoint(val.texts)
        elif source == "vast":  # VAST dev is split by comment
            assert set(train.texts).isdisjoint(val.texts)
    # VAST was built from ARC's comments: neither trains on a comment the other's slice scores
    arc_val, vast_val = splits["arc"][1], splits["vast"][1]
    related = {x for x, y in zip(arc_val.texts, arc_val.labels) if y != "unrelated"}
    assert related.isdisjoint(splits["vast"][0].texts) and set(vast_val.texts).isdisjoint(splits["arc"][0].texts)
    reddit_val = set(splits["reddit"][1].texts) | set(splits["reddit"][1].targets)
    assert reddit_val.isdisjoint(splits["reddit"][0].texts) and reddit_val.isdisjoint(splits["reddit"][0].targets)


def write_lines(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" if isinstance(r, dict) else r + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_labelled_comments_load_with_articles_as_groups_and_replies_toward_their_parent(tmp_path):
    from pipeline.stance_train.data import load_labelled

    art_a, art_b = "Town bans cars\nThe council banned cars.", "Rates rise\nThe bank raised rates."
    path = write_lines(tmp_path / "mine.jsonl", [
        {"id": 1, "target": art_a, "text": "Great news.", "label": "agree"},
        {"id": 2, "target": art_b, "text": "Wrong call.", "label": "disagree"},
        "",
        {"id": 3, "target": art_a, "text": "Nonsense.", "parent_text": "Great news.", "label": "disagree",
         "reply_label": "disagree"}])
    ps = load_labelled([path])
    assert ps.source == "news" and ps.labels == ["agree", "disagree", "disagree"]
    assert ps.groups[0] == ps.groups[2] != ps.groups[1]
    assert ps.parents == [None, None, "Great news."]
    assert ps.reply_labels == [None, None, "disagree"]


@pytest.mark.parametrize("row, message", [
    ({"id": 1, "target": "t", "text": "x", "label": "positive"}, "mine.jsonl:2: label 'positive' is not a stance"),
    ({"id": 1, "target": "t", "text": "x"}, "mine.jsonl:2: label None is not a stance"),
    ({"id": 1, "target": "t", "text": "x", "label": "agree", "reply_label": "agree"},
     "mine.jsonl:2: reply_label needs the parent_text it is toward"),
    ({"id": 1, "target": "t", "text": "x", "parent_text": "p", "label": "agree", "reply_label": "yes"},
     "mine.jsonl:2: reply_label 'yes' is not one of agree/disagree/neutral"),
    ({"id": 1, "target": "t", "text": "  ", "label": "agree"}, "mine.jsonl:2: 'text' is empty"),
    ({"id": 9, "target": " t", "text": "ok ", "label": "agree"},
     "mine.jsonl:2: the same comment (target, text and parent_text) is already at "),
    ("{not json", "mine.jsonl:2: broken JSON"),
])
def test_a_malformed_labelled_line_is_named_with_its_line(tmp_path, row, message):
    from pipeline.errors import PipelineError
    from pipeline.stance_train.data import LABELLED_FIX, load_labelled

    path = write_lines(tmp_path / "mine.jsonl", [{"id": 0, "target": "t", "text": "ok", "label": "query"}, row])
    with pytest.raises(PipelineError) as caught:
        load_labelled([path])
    assert message in str(caught.value)
    assert str(caught.value).endswith(f"({LABELLED_FIX})")  # the fix names the labelled format


def test_the_shipped_labelled_comments_stay_apart_from_the_obvious_test_set():
    from pipeline.stance_train.data import LABELLED, load_labelled

    ps = load_labelled([LABELLED])
    obvious = [json.loads(line) for line in (ROOT / "tests" / "data" / "stance_obvious.jsonl").open()]
    words = lambda text: re.findall(r"[a-z0-9']+", text.lower())  # noqa: E731
    grams = lambda text: {tuple(w[i:i + 5]) for w in [words(text)] for i in range(len(w) - 4)}  # noqa: E731
    test_texts = [r["text"] for r in obvious] + [r["parent_text"] for r in obvious if r.get("parent_text")]
    train_texts = ps.texts + [p for p in ps.parents if p]
    test_grams = set().union(*map(grams, test_texts))
    assert [t for t in train_texts if grams(t) & test_grams] == []
    assert {tuple(words(t)) for t in train_texts}.isdisjoint(tuple(words(t)) for t in test_texts)  # short ones too
    assert {r["target"].split("\n")[0] for r in obvious}.isdisjoint(t.split("\n")[0] for t in ps.targets)


def test_a_reply_label_is_consistent_with_the_stances_of_reply_and_parent():
    """In the shipped set: agreeing with a comment that takes a side takes the same
    side; contradicting it takes the other."""
    from pipeline.stance_train.data import LABELLED, load_labelled

    ps = load_labelled([LABELLED])
    label_of = {(t, x): lab for t, x, lab in zip(ps.targets, ps.texts, ps.labels)}
    flip = {"agree": "disagree", "disagree": "agree"}
    wrong = []
    for target, text, parent, label, reply in zip(ps.targets, ps.texts, ps.parents, ps.labels, ps.reply_labels):
        side = label_of[(target, parent)] if parent else None
        if side in flip and reply in flip and label != (side if reply == "agree" else flip[side]):
            wrong.append(text)
    assert wrong == []


@pytest.mark.skipif(not (SHARED / "data" / "stance_extra").is_dir(), reason="../shared/data is not here")
def test_training_stops_on_a_malformed_labelled_file_before_writing_anything(tmp_path):
    bad = write_lines(tmp_path / "mine.jsonl", [{"id": 1, "target": "t", "text": "x", "label": "pro"}])
    out = tmp_path / "weights"
    command = [sys.executable, "-m", "pipeline.stance_train.train", "--data", str(SHARED / "data"),
               "--out", str(out), "--labelled", str(bad)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:1: label 'pro' is not a stance (each line is")
    assert not out.exists()


def test_prior_adaptation_moves_a_thread_toward_its_own_mix_and_leaves_a_matching_one():
    from pipeline.stance_model.thread import adapt_priors

    rng = np.random.default_rng(0)
    reference = np.array([0.5, 0.5])
    # posteriors of a classifier trained at 50/50, on a thread that is 90% class 0
    y = (rng.random(2000) > 0.9).astype(int)
    likelihood = np.where(y[:, None] == np.arange(2), 0.7, 0.3)
    P = likelihood * reference / (likelihood * reference).sum(1, keepdims=True)
    Q = adapt_priors(P, reference)
    assert Q.sum(1) == pytest.approx(np.ones(len(Q)))
    assert Q[:, 0].mean() > 0.85 > P[:, 0].mean()  # near the thread's own 90%
    assert adapt_priors(P, P.mean(0)) == pytest.approx(P, abs=1e-6)  # a thread like the reference stays


def test_the_stance_target_is_the_title_the_lead_or_the_body():
    from pipeline.records import Article
    from pipeline.stance import article_target

    article = Article("a", "Town bans cars", ("The council voted.", "Shops object."), "x")
    assert article_target(article, "title") == "Town bans cars"
    assert article_target(article, "title_lead") == "Town bans cars\nThe council voted."
    assert article_target(article, "title_body") == "Town bans cars\n" + article.body
    untitled = Article("b", "", ("Only a body.", "More."), "x")
    assert {article_target(untitled, p) for p in ("title", "title_lead", "title_body")} == {"Only a body."}


def test_the_method_names_a_config_is_checked_against_are_the_methods():
    from pipeline.stance_model._base import METHOD_NAMES
    from pipeline.stance_model.methods import METHODS

    assert sorted(METHOD_NAMES) == sorted(METHODS)


def test_vader_with_windowed_checks_scores_as_vader_does():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from pipeline.stance_model.features import _vader

    phrases = ["never so good", "not bad at all", "without doubt the best", "kind of great", "the shit",
               "NO GOOD at ALL", "no, no good", "I don't like it", "bad", "", "yeah right, the bomb",
               "cut the mustard", "kiss of death", "it isn't horrible", "never this bad, sort of ok",
               "Good. Bad! Not great?", "hardly the worst nor the best", "no or nor terrible",
               "we the people bad ass"]  # an idiom that starts at the sentiment word: the window reads ahead
    long_text = " ".join(phrases * 40)  # every check far from both ends, and near them
    plain, windowed = SentimentIntensityAnalyzer(), _vader()
    for text in [*phrases, long_text, " ".join(phrases)]:
        assert windowed.polarity_scores(text) == plain.polarity_scores(text), text


def test_cue_counts_from_runs_are_the_patterns_counts():
    """`_cue_counts` counts each cue from the text's runs; `re.findall` of the cue's own
    pattern is the reference: phrases that overlap ("who says who", "so true"), a phrase
    split by two spaces or a line, "+1" after a word or a space or at the start, words
    inside other words, apostrophes, and letters that match others only without case
    ("ſo" is "so", the Kelvin sign is "k"); then random strings built from the cues'
    own words and the characters at their edges."""
    import random

    from pipeline.stance_model.features import CUE_ALTERNATIVES, CUES, _cue_counts, _split_alternatives

    patterns = [re.compile(p, re.I) for p in CUES.values()]

    def reference(text):
        return [len(p.findall(text)) for p in patterns]

    crafted = ["who says who says who", "so true so true", "so  true", "so\ntrue", "Of course, of course!",
               "+1", "a+1", "a +1", "++1 +1x +1'", "x+1 (+1)", "not true not true", "nottrue not truer",
               "isn't it", "is it? is this, is that", "don't you", "do you do you", "n't", "'n't", "can't'",
               "debunked debunk's undebunked", "rumour rumor rumours rumors rumoursx", "denies denying",
               "ſo true", "KILLED \u212aill", "I'm i've I", "officials official officialss", "'yes' yes'",
               "", " ", "SO TRUE", "WHO SAYS", "well said well  said well", "good point great point"]
    for text in crafted:
        assert _cue_counts(text) == reference(text), text

    words = {"1", "x", "so", "ſo", "İs", "\u212aill"}
    for alts in CUE_ALTERNATIVES.values():
        for alt in _split_alternatives(alts):
            words.update(re.sub(r"\\w\*|\(\?:|\)|\?|\\", "", alt).replace("|", " ").split(" "))
    words = sorted(words)
    gaps = [" ", "  ", "+", " +", "++", "'", "-", "_", ".", ", ", "\n", "?", "é", "+ ", " '", ""]
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(gaps) + rng.choice(words) for _ in range(rng.randint(1, 10)))
        text = text.upper() if rng.random() < 0.3 else text
        assert _cue_counts(text) == reference(text), text


def test_a_cue_the_runs_cannot_count_is_refused():
    from pipeline.stance_model.features import _cue_tables

    assert _cue_tables({"ok": r"yes|of course|\+1|claim\w*"})
    for alts in (r"of course|of", r"yes|\d+", r"not really sure", r"a.b", r"s?", r"yes|(?:a|)", r"\+1|1 x"):
        with pytest.raises(ValueError):
            _cue_tables({"bad": alts})

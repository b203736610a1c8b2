"""The stance model's network (MLPHeads) and its training helpers, on small synthetic data,
and the labelled news comments it trains on."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHARED

from pipeline.stance_model.data import PairSet, inner_mask, sentence_rows
from pipeline.stance_model.model import MLPHeads, fit_temperature, softmax

HEADS = {"a": ("x", "y"), "b": ("p", "q", "r")}


def synthetic(n=600, d=12, seed=0):
    """Head a's label is the sign of column 0, head b's the bin of column 1; b has labels on
    half the rows only; column 5 never varies."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    X[:, 5] = 3.0
    a = np.where(X[:, 0] > 0, "x", "y")
    b = np.array(["p", "q", "r"])[np.digitize(X[:, 1], [-0.5, 0.5])]
    b[n // 2:] = ""
    return X, {"a": a, "b": b}, {"a": np.ones(n), "b": np.where(b != "", 1.0, 0.0)}


@pytest.fixture(scope="module")
def fitted():
    X, labels, weights = synthetic()
    return X, MLPHeads(HEADS, hidden=16, epochs=40, members=2, batch=32, dropout=0.1).fit(X, labels, weights)


def test_the_network_learns_both_heads(fitted):
    X, net = fitted
    Xt, labels, _ = synthetic(seed=1)
    p = net.proba(Xt)
    assert (np.array(HEADS["a"])[p["a"].argmax(1)] == labels["a"]).mean() > 0.9
    has_b = labels["b"] != ""
    assert (np.array(HEADS["b"])[p["b"][has_b].argmax(1)] == labels["b"][has_b]).mean() > 0.75
    assert np.allclose(p["b"].sum(1), 1.0, atol=1e-5)


def test_training_repeats_exactly(fitted):
    X, net = fitted
    again = MLPHeads(HEADS, hidden=16, epochs=40, members=2, batch=32, dropout=0.1).fit(X, *synthetic()[1:])
    for m1, m2 in zip(net.params, again.params):
        assert m1.keys() == m2.keys()
        assert all(np.array_equal(m1[k], m2[k]) for k in m1)


def test_training_leaves_the_callers_random_state_alone():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    X, labels, weights = synthetic(n=100)
    MLPHeads(HEADS, hidden=4, epochs=1, members=1).fit(X, labels, weights)
    assert torch.equal(torch.rand(3), expected)


def test_a_column_that_never_varied_stays_inert(fitted):
    X, net = fitted
    moved = X[:20].copy()
    moved[:, 5] = 3.001  # a standardiser dividing by std + 1e-6 would multiply this by ~1,000
    for head, p in net.proba(moved).items():
        assert np.abs(p - net.proba(X[:20])[head]).max() < 1e-3


def test_save_and_load_without_pickle_keeps_the_predictions(fitted, tmp_path):
    X, net = fitted
    net.temperature["a"] = 1.7
    np.savez_compressed(tmp_path / "net.npz", **net.to_arrays("net"))
    back = MLPHeads.from_arrays(dict(np.load(tmp_path / "net.npz", allow_pickle=False)), "net")
    net.temperature["a"] = 1.0
    assert back.temperature["a"] == 1.7 and back.heads == HEADS and back.hp == net.hp
    back.temperature["a"] = 1.0
    for head in HEADS:  # float16 weights: close, not equal
        assert np.abs(back.proba(X)[head] - net.proba(X)[head]).max() < 5e-3


def test_balance_decides_how_far_rare_classes_are_weighted_up():
    y = np.array(["x"] * 90 + ["y"] * 10 + [""] * 50)  # 50 rows this head has no label for
    weights = np.where(y != "", 1.0, 0.0)
    for balance, ratio in ((0.0, 9.0), (1.0, 1.0), (0.5, 3.0)):
        for head_total, total in (("all_rows", 150), ("labelled_rows", 100)):
            net = MLPHeads({"a": ("x", "y")}, balance=balance, head_total=head_total)
            yi, w = net._targets({"a": y}, {"a": weights})["a"]
            assert w[(yi == 0) & (y != "")].sum() / w[yi == 1].sum() == pytest.approx(ratio)
            assert w.sum() == pytest.approx(total) and not w[y == ""].any()


def test_fit_temperature_finds_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(4000, 3))
    truth = softmax(logits / 2.0)
    y = np.array([rng.choice(3, p=p) for p in truth])
    assert fit_temperature(logits, y, np.ones(len(y))) == pytest.approx(2.0, rel=0.1)


def test_sentence_rows_cut_long_related_comments_and_keep_labels_and_groups():
    ps = PairSet("arc", ["claim one", "claim two", "claim one"],
                 ["I agree with this fully. The reasons are many and good. Absolutely, definitely right.",
                  "Off topic rambling sentence here. Another unrelated sentence here. A third one about cats here.",
                  "One sentence only, nothing to cut here."],
                 [None] * 3, ["agree", "unrelated", "disagree"], np.array([4, 7, 4]))
    rows = sentence_rows(ps, "arc_sentences")
    assert rows.source == "arc_sentences"
    assert rows.texts == ["I agree with this fully.", "The reasons are many and good."]
    assert rows.labels == ["agree", "agree"]
    assert rows.groups.tolist() == [4, 4] and rows.targets == ["claim one", "claim one"]


def test_derived_rows_are_held_out_with_the_claims_they_come_from():
    groups = np.arange(40).repeat(3)
    held = sorted(set(groups[inner_mask(groups)]))
    kept = sorted(set(groups) - set(held))
    derived = np.array([held[0], kept[0], held[-1], held[-1], kept[1], kept[2]])
    expected = [True, False, True, True, False, False]
    assert inner_mask(derived, universe=groups).tolist() == expected
    assert inner_mask(derived).tolist() != expected  # a draw of its own would not match


def test_head_rows_give_sentence_rows_to_the_agree_disagree_head_only():
    from pipeline.stance_model.train import SOURCE_WEIGHT, head_rows

    labels = ["agree", "unrelated", "discuss", "agree", "query", "disagree", "agree", "query", "unrelated", "agree"]
    sources = ["arc", "arc", "fnc1", "rumoureval", "rumoureval", "arc_sentences", "arc_sentences",
               "news", "news", "news"]
    g = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    rows = head_rows(labels, sources, g)
    sent = np.array(sources) == "arc_sentences"
    assert not rows["rel"][0][sent].any() and rows["rel"][0][~sent].all()
    assert not rows["query"][0][sent].any()
    # labelled news comments teach query vs discuss like RumourEval, and related vs unrelated
    assert rows["query"][0].tolist() == [False, False, False, False, True, False, False, True, False, False]
    assert rows["rel"][1][8] == "unrelated" and rows["s_long"][1][9] == "agree"
    assert rows["s_short"][0][sent].all() and (rows["s_short"][2][sent] > 0).all()
    base = rows["s_short"][2] + rows["s_long"][2]  # g splits each row's base weight
    share = {s: base[np.array(sources) == s].sum() / base.sum() for s in SOURCE_WEIGHT}
    total = sum(SOURCE_WEIGHT.values())
    assert all(share[s] == pytest.approx(SOURCE_WEIGHT[s] / total) for s in SOURCE_WEIGHT)


def write_lines(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" if isinstance(r, dict) else r + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_labelled_comments_load_with_articles_as_groups_and_replies_toward_their_parent(tmp_path):
    from pipeline.stance_model.data import load_labelled, reply_rows

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
    assert reply_rows(ps)[:3] == (["Great news."], ["Nonsense."], ["disagree"])


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
    from pipeline.stance_model.data import LABELLED_FIX, load_labelled

    path = write_lines(tmp_path / "mine.jsonl", [{"id": 0, "target": "t", "text": "ok", "label": "query"}, row])
    with pytest.raises(PipelineError) as caught:
        load_labelled([path])
    assert message in str(caught.value)
    assert str(caught.value).endswith(f"({LABELLED_FIX})")  # the fix names the labelled format


def test_the_shipped_labelled_comments_stay_apart_from_the_obvious_test_set():
    from pipeline.stance_model.data import LABELLED, load_labelled

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
    assert len(set(ps.groups)) == 54 and len(ps) == 714


def test_a_reply_label_is_consistent_with_the_stances_of_reply_and_parent():
    """In the shipped set: agreeing with a comment that takes a side takes the same
    side; contradicting it takes the other."""
    from pipeline.stance_model.data import LABELLED, load_labelled

    ps = load_labelled([LABELLED])
    label_of = {(t, x): lab for t, x, lab in zip(ps.targets, ps.texts, ps.labels)}
    flip = {"agree": "disagree", "disagree": "agree"}
    wrong = []
    for target, text, parent, label, reply in zip(ps.targets, ps.texts, ps.parents, ps.labels, ps.reply_labels):
        side = label_of[(target, parent)] if parent else None
        if side in flip and reply in flip and label != (side if reply == "agree" else flip[side]):
            wrong.append(text)
    assert wrong == []


@pytest.mark.skipif(not (SHARED / "data" / "stance").is_dir(), reason="../shared/data/stance is not here")
def test_training_stops_on_a_malformed_labelled_file_before_writing_anything(tmp_path):
    bad = write_lines(tmp_path / "mine.jsonl", [{"id": 1, "target": "t", "text": "x", "label": "pro"}])
    out = tmp_path / "weights"
    command = [sys.executable, "-m", "pipeline.stance_model.train", "--data", str(SHARED / "data" / "stance"),
               "--out", str(out), "--labelled", str(bad)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}:1: label 'pro' is not a stance (each line is")
    assert not out.exists()


def test_cross_validation_folds_keep_each_article_whole_and_are_repeatable():
    from pipeline.stance_model.crossval import folds_of

    groups = np.repeat(np.arange(30), 12)
    fold = folds_of(groups, 5)
    assert all(len(set(fold[groups == g])) == 1 for g in range(30))
    assert np.bincount(fold).tolist() == [72] * 5
    assert (folds_of(groups, 5) == fold).all() and not (folds_of(groups, 5, seed=1) == fold).all()


def test_cross_validation_never_trains_on_the_articles_it_scores(monkeypatch):
    import pipeline.stance_model.crossval as crossval
    import pipeline.stance_model.train as train_module
    from pipeline.records import StanceAssignment
    from pipeline.stance_model.data import LABELLED, load_labelled

    news = load_labelled([LABELLED])
    trained_on, scored = [], []

    def fake_train(data, encode, labelled):
        trained_on.append(set(labelled.targets))
        return None, None, {}

    monkeypatch.setattr(train_module, "train", fake_train)

    def score(rows, encode, models):
        scored.append({r["target"] for r in rows})
        return {r["id"]: StanceAssignment(id=r["id"], stance="agree", confidence=1.0, probs=(1.0, 0, 0, 0, 0),
                                          reply_to=None, reply_to_reason="article", reply_stance="agree")
                for r in rows}

    monkeypatch.setattr(crossval, "score_as_threads", score)
    res = crossval.crossval(None, None, news, folds=5, log=lambda line: None)
    assert len(trained_on) == len(scored) == 5
    assert all(not (held & used) for held, used in zip(scored, trained_on))
    assert set().union(*scored) == set(news.targets) and res["n"] == len(news)


def test_source_weights_give_each_source_its_share_with_mean_one():
    from pipeline.stance_model.train import source_weights

    sources = ["a"] * 6 + ["b"] * 2 + ["c"] * 2
    equal = source_weights(sources)
    assert equal.mean() == pytest.approx(1.0)
    assert [equal[np.array(sources) == s].sum() for s in "abc"] == pytest.approx([10 / 3] * 3)
    shared = source_weights(sources, {"a": 1.0, "b": 0.5, "c": 2.0, "unused": 9.0})
    assert [shared[np.array(sources) == s].sum() for s in "abc"] == pytest.approx([10 / 3.5, 5 / 3.5, 20 / 3.5])


def test_the_cross_encoder_ceiling_script_trains_and_scores_on_the_projects_metrics(capsys):
    """pipeline/stance_model/ceiling.py, on six pairs: it fine-tunes the packaged MiniLM
    with a head over the labels its training rows have, and reports evaluate's ARC
    metrics for every epoch; its CLI turns away a count that is not above 0."""
    from pipeline.stance_model.ceiling import main, run

    claim = "The city will build a new bridge over the river."
    texts = ["Great, we need that bridge.", "A bridge is a waste of money.", "The old one is from 1950.",
             "My dog likes long walks.", "Finally a second crossing.", "Scrap the bridge plan."]
    labels = ["agree", "disagree", "discuss", "unrelated", "agree", "disagree"]
    ps = PairSet("arc", [claim] * 6, texts, [None] * 6, labels, np.arange(6))
    lines = []
    result = run("arc", {"arc": ps}, {"arc": (ps, "fnc")}, limit=None, max_length=32, epochs=2, log=lines.append)
    assert result["classes"] == ["agree", "disagree", "discuss", "unrelated"]  # no query: ARC has none
    assert lines[0].startswith("arc: 6 training rows from arc on ") and len(lines) == 3
    epochs = [json.loads(line) for line in lines[1:]]
    assert [e["epoch"] for e in epochs] == [1, 2] and set(epochs[-1]["arc"]) == {"macro_f1", "accuracy", "fnc_score"}
    with pytest.raises(SystemExit):
        main(["--epochs", "0"])
    assert "--epochs: 0 is not above 0" in capsys.readouterr().err

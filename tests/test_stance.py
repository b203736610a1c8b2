"""The stance stage, the shipped model on obvious cases, and the pairs CLI."""
import json
from collections import Counter
from functools import partial

import numpy as np
import pandas as pd
import pytest

from conftest import REAL_DUMP, ROOT, cli
from pipeline.records import STANCE_LABELS, Article, CleanComment, Comment
from pipeline.replies import infer_reply_targets
from pipeline.stance import annotate_stance, article_target as stance_target, load_models, score_comments, weights_for
from pipeline.stage_cache import sha256_of
from pipeline.stance_train.evaluate import REAL_LABELS, score_as_threads
from pipeline.stance_train.evaluate import real_dump as scored_dump

OBVIOUS = ROOT / "tests" / "data" / "stance_obvious.jsonl"


@pytest.fixture(scope="session")
def models():
    return load_models(weights_for("torch"))


@pytest.fixture(scope="session")
def encode(models, config):
    """The vectors the card's figures were measured on (its embedding backend);
    the default backend's figures are in docs/benchmarks.md."""
    from pipeline.embed import Embedder

    backend = models.card["embedding"]["backend"]
    return Embedder.from_config({**config["embed"], "backend": backend}).load().encode


def obvious_rows():
    return [json.loads(line) for line in OBVIOUS.read_text(encoding="utf-8").splitlines()]


def test_the_obvious_cases_come_out_as_the_model_card_says(encode, models):
    """The count the card records (what make eval-stance measured on these weights), and
    the cases it lists as wrong: a change of weights or of the stage that moves any case
    fails here. How many are right is in docs/stance.md; they are text the team wrote.
    Exact on any CPU: on torch's float vectors no case is within 0.005 of a tie, and
    fp32 ONNX's vectors, further from torch's than another CPU moves them, give the same."""
    rows = obvious_rows()
    found = score_as_threads(rows, encode, models)
    recorded = models.card["validation"]["pipeline"][models.card["method"]]["obvious"]
    right = sum(found[r["id"]].stance == r["label"] for r in rows)
    replies = [r for r in rows if "reply_label" in r]
    assert (right, len(rows)) == (recorded["stance_correct"], recorded["n"])
    assert sum(found[r["id"]].reply_stance == r["reply_label"] for r in replies) == recorded["reply_correct"]
    assert sorted(w["id"] for w in recorded["wrong"]) == sorted(
        r["id"] for r in rows if found[r["id"]].stance != r["label"]
        or ("reply_label" in r and found[r["id"]].reply_stance != r["reply_label"]))
    assert right >= len(rows) // 2  # and a floor: half of these plain cases at least


def test_obvious_off_topic_comments_are_unrelated_and_on_topic_ones_are_not(encode, models):
    rows = [r for r in obvious_rows() if "parent_text" not in r]
    found = score_as_threads(rows, encode, models)
    wrong = [(r["id"], r["text"][:50], r["label"], found[r["id"]].stance) for r in rows
             if (found[r["id"]].stance == "unrelated") != (r["label"] == "unrelated")]
    assert len(rows) - len(wrong) >= len(rows) - 2, wrong  # at most two of the 18 on the wrong side


def test_a_bare_agreement_inherits_its_parents_stance(encode, models):
    article = Article("a", "Town Bans Plastic Bags in All Shops", ("The mayor banned single-use bags.",), "x")
    comments = [Comment("c1", None, 0, "A", "Great decision, banning plastic bags is exactly right.", 1, 0),
                Comment("c2", "c1", 1, "B", "Of course.", 2, 1)]
    cleaned = [CleanComment(id=c.id, text=c.text) for c in comments]
    alone = annotate_stance(article, comments[1:], cleaned[1:], {"c2": (None, "article")}, encode, models)
    threaded = annotate_stance(article, comments, cleaned, infer_reply_targets(comments, cleaned),
                               encode, models)
    assert threaded[1].stance == "agree"
    assert threaded[1].probs[STANCE_LABELS.index("agree")] > alone[0].probs[STANCE_LABELS.index("agree")]


def test_comments_in_another_language_get_no_stance_and_say_why(encode, models):
    """The stance model reads English: a comment flagged other_language gets no stance
    (stance_context other_language), and the English comments around it are read as before."""
    article = Article("a", "Town Bans Plastic Bags in All Shops", ("The mayor banned single-use bags.",), "x")
    comments = [Comment("c1", None, 0, "A", "Great decision, banning plastic bags is exactly right.", 1, 0),
                Comment("c2", "c1", 1, "B", "Das ist doch Unsinn, die Stadt sollte lieber Radwege bauen.", 2, 1),
                Comment("c3", None, 0, "C", "No, this is a terrible idea for small shops.", 3, 2),
                Comment("c4", None, 0, "D", "", 4, 3)]
    flags = {"c2": ("other_language",), "c4": ("empty",)}
    cleaned = [CleanComment(id=c.id, text=c.text, flags=flags.get(c.id, ())) for c in comments]
    targets = infer_reply_targets(comments, cleaned)
    comments.append(Comment("c5", "c2", 2, "E", "Yes, exactly what I was going to say about it.", 5, 4))
    cleaned.append(CleanComment(id="c5", text=comments[-1].text))
    targets = infer_reply_targets(comments, cleaned)
    assert targets["c5"][0] == "c2"
    for reader in (None, models.thread):
        read = annotate_stance(article, comments, cleaned, targets, encode, models, thread_reader=reader)
        assert [(a.stance is None, a.context) for a in read][1:4] == [
            (True, "other_language"), (False, read[2].context), (True, "no_text")]
        # the English reply to it is read as a comment on the article alone: no reply stance
        assert read[4].stance is not None and read[4].reply_stance is None
        english = [comments[0], comments[2], Comment("c5", None, 0, "E", comments[4].text, 5, 4)]
        kept = [cleaned[0], cleaned[2], cleaned[4]]
        alone = annotate_stance(article, english, kept, infer_reply_targets(english, kept), encode, models,
                                thread_reader=reader)
        assert [a.probs for a in alone] == [read[0].probs, read[2].probs, read[4].probs]  # as if not there


def test_a_thread_left_to_the_pair_model_says_so_in_every_comment(encode, models):
    """Where the reader defers (the thread reads as replies to a rumour post), each comment's
    stance is the pair model's RumourEval head's (not the composed answer) times the rumour
    replies' regression, and stance_context says so (the report and the manifest count it)."""
    import dataclasses

    from pipeline.stance import thread_input

    article = Article("a", "Town Bans Plastic Bags in All Shops", ("The mayor banned single-use bags.",), "x")
    comments = [Comment("c1", None, 0, "A", "Great decision, banning plastic bags is exactly right.", 1, 0),
                Comment("c2", "c1", 1, "B", "No, this is a terrible idea for small shops.", 2, 1)]
    cleaned = [CleanComment(id=c.id, text=c.text) for c in comments]
    targets = infer_reply_targets(comments, cleaned)
    own, _, _, rumour = score_comments(stance_target(article), [c.text for c in cleaned], [None, cleaned[0].text],
                                       encode, models, with_domain=True)
    assert models.thread.rumour_replies is not None  # the shipped reader has one
    head_alone = dataclasses.replace(models.thread, defer_above=0.0, rumour_replies=None)  # every thread defers
    left = annotate_stance(article, comments, cleaned, targets, encode, models, thread_reader=head_alone)
    assert [a.context for a in left] == ["pair_model", "pair_model"]
    assert np.allclose([a.probs for a in left], rumour, atol=1e-4)  # each on its own (rounded)
    assert not np.allclose(rumour, own)  # the head alone, not the mix over the sources
    always = dataclasses.replace(models.thread, defer_above=0.0)
    left = annotate_stance(article, comments, cleaned, targets, encode, models, thread_reader=always)
    thread = thread_input(article, stance_target(article), [c.text for c in cleaned], [None, "c1"], ["c1", "c2"],
                          ["A", "B"], own, np.full((2, 3), np.nan), encode, rumour=rumour)
    expected = models.thread.rumour_replies.read(thread, rumour)
    assert [a.context for a in left] == ["pair_model", "pair_model"]
    assert np.allclose([a.probs for a in left], expected, atol=1e-4)
    assert not np.allclose(expected, rumour, atol=1e-3)
    never = dataclasses.replace(models.thread, defer_above=2.0)
    read = annotate_stance(article, comments, cleaned, targets, encode, models, thread_reader=never)
    assert "pair_model" not in {a.context for a in read}


def test_stage_on_the_example_dump(example_run):
    frame = pd.read_parquet(example_run.folder / "comments.parquet")
    has_text = frame["text_clean"] != ""
    assert frame.loc[has_text, "stance"].isin(STANCE_LABELS).all()
    assert frame.loc[~has_text, "stance"].isna().all()
    probs = frame.loc[has_text, [f"p_{label}" for label in STANCE_LABELS]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-3)
    assert np.allclose(probs.max(axis=1), frame.loc[has_text, "stance_confidence"], atol=1e-4)
    assert frame.loc[frame["depth"] == 0, "reply_stance"].isna().all()
    replies = frame[(frame["depth"] > 0) & has_text]
    assert replies["reply_stance"].isin(["agree", "disagree", "neutral"]).all()
    assert set(frame["stance_context"].dropna()) <= {"text", "thread", "no_text"}  # not left to the pair model
    topics = pd.read_csv(example_run.folder / "topics.csv")
    counts = topics[[f"n_{label}" for label in STANCE_LABELS]].sum(axis=1)
    assert (counts == topics["size"]).all()
    manifest = json.loads((example_run.folder / "manifest.json").read_text())
    assert manifest["models"]["stance"]["name"] == "comment-stance"
    assert manifest["stages"]["stance"]["model"].startswith("comment-stance-")


def test_real_dump_scoring_runs_the_pipelines_own_stance_logic(example_run, models, tmp_path):
    """Labels equal to what `make pipeline` wrote score 1.0; labels that are all wrong
    score 0 with the baselines and kappas of a hand count; labels that do not fit
    the thread, a changed dump and a missing one are not scored. Scored on the
    vectors the run used, from its embedding cache: encoded again, int8 vectors move
    with their batch-mates and the CPU's instruction sets (docs/caching.md), and a
    label near a tie with them."""
    from pipeline.runner import Resources

    encode = Resources(example_run.config).encode
    frame = pd.read_json(example_run.folder / "comments.jsonl", lines=True)
    frame = frame[frame["stance"].notna()]
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    dump = dumps / example_run.dump.name
    dump.write_bytes(example_run.dump.read_bytes())

    def labelled(rows, sha=sha256_of(dump)):
        path = tmp_path / "labels.json"
        path.write_text(json.dumps({"dump": dump.name, "sha256": sha, "comments": rows}))
        return path

    written = [{"stance": r.stance, "reply_stance": r.reply_stance if isinstance(r.reply_stance, str) else None}
               for r in frame.itertuples()]
    ids = frame["comment_id"].tolist()
    real_dump = partial(scored_dump, thread_reader=models.reader_for(example_run.config["stance"]))
    found = real_dump(models, encode, labelled([{"id": i, **w, "annotators": [w, w]} for i, w in zip(ids, written)]),
                      dumps)
    n, n_replies = len(ids), sum(1 for w in written if w["reply_stance"])
    assert (found["stance"]["n"], found["reply"]["n"]) == (n, n_replies) and n_replies > 0
    assert found["stance"]["accuracy"] == 1.0 and found["reply"]["accuracy"] == 1.0
    assert found["stance"]["macro_f1"] == pytest.approx(len({w["stance"] for w in written}) / len(STANCE_LABELS))
    assert found["agreement"]["model_stance_kappa"] == [1.0, 1.0]

    # every label moved to the next one: gold and the second annotator all wrong, the first one the model
    def shifted(w):
        nxt = {"agree": "disagree", "disagree": "neutral", "neutral": "agree", None: None}
        return {"stance": STANCE_LABELS[(STANCE_LABELS.index(w["stance"]) + 1) % len(STANCE_LABELS)],
                "reply_stance": nxt[w["reply_stance"]]}
    wrong = [shifted(w) for w in written]
    found = real_dump(models, encode, labelled([{"id": i, **x, "annotators": [w, x]}
                                                for i, w, x in zip(ids, written, wrong)]), dumps)
    stance_count = Counter(x["stance"] for x in wrong)
    reply_count = Counter(x["reply_stance"] for x in wrong if x["reply_stance"])
    assert found["stance"]["accuracy"] == 0.0 and found["reply"]["accuracy"] == 0.0
    assert found["stance"]["majority_label"] == max(STANCE_LABELS, key=lambda label: stance_count[label])
    assert found["stance"]["majority_accuracy"] == pytest.approx(max(stance_count.values()) / n)
    assert found["reply"]["majority_accuracy"] == pytest.approx(max(reply_count.values()) / n_replies)
    agreement = found["agreement"]
    assert agreement["annotators_stance"]["raw"] == 0.0
    assert agreement["model_stance_kappa"][0] == 1.0
    assert agreement["model_stance_kappa"][1] == pytest.approx(agreement["annotators_stance"]["kappa"])
    assert agreement["annotators_stance"]["kappa"] < 0.2
    assert agreement["annotators_reply_kappa"] < 0.2
    bands = found["stance"]["by_confidence"]
    assert sum(b["n"] for b in bands) == n and sum(b["correct"] for b in bands) == 0

    # one comment's label changed from the model's L to another label M the model also gives
    rows = [{"id": i, **w, "annotators": [w, w]} for i, w in zip(ids, written)]
    count = Counter(w["stance"] for w in written)
    L = written[0]["stance"]
    M = next(label for label in STANCE_LABELS if label != L and count[label])
    per_class = {label: 1.0 if count[label] else 0.0 for label in STANCE_LABELS}
    per_class[L] = 2 * (count[L] - 1) / (2 * (count[L] - 1) + 1)  # one false positive
    per_class[M] = 2 * count[M] / (2 * count[M] + 1)  # one false negative
    one_off = real_dump(models, encode, labelled([{**rows[0], "stance": M}] + rows[1:]), dumps)["stance"]
    assert one_off["accuracy"] == pytest.approx((n - 1) / n)
    assert one_off["macro_f1"] == pytest.approx(sum(per_class.values()) / len(STANCE_LABELS))

    assert "skipped" in real_dump(models, encode, labelled(rows[1:]), dumps)  # a scored comment without a label
    assert "skipped" in real_dump(models, encode, labelled(rows, sha="0" * 64), dumps)
    assert real_dump(models, encode, labelled(rows), tmp_path / "elsewhere") is None


@pytest.mark.skipif(not REAL_DUMP.exists(), reason="../shared/dumps is not here")
def test_real_dump_labels_cover_its_comments_and_hold_none_of_its_text(real_run):
    spec = json.loads(REAL_LABELS.read_text(encoding="utf-8"))
    assert spec["dump"] == REAL_DUMP.name and spec["sha256"] == sha256_of(REAL_DUMP)
    frame = pd.read_json(real_run.folder / "comments.jsonl", lines=True)
    with_text = frame[frame["text_clean"] != ""]
    rows = {r["id"]: r for r in spec["comments"]}
    assert list(rows) == with_text["comment_id"].tolist()
    replies = set(with_text.loc[with_text["reply_to"].notna(), "comment_id"])
    assert {i for i, r in rows.items() if r["reply_stance"]} == replies
    for r in rows.values():
        for labels in (r, *r["annotators"]):
            assert labels["stance"] in STANCE_LABELS
            assert (labels["reply_stance"] in ("agree", "disagree", "neutral")) == (r["id"] in replies)
    # ids and labels only: none of the dump's text
    assert set(spec) == {"dump", "sha256", "description", "labelled", "guide", "protocol", "comments"}
    assert all(set(r) <= {"id", "stance", "reply_stance", "annotators", "adjudicated"} for r in rows.values())
    assert all(set(a) == {"stance", "reply_stance"} for r in rows.values() for a in r["annotators"])


def test_pairs_cli_round_trip(tmp_path):
    pairs = [{"id": 1, "target": "Town bans plastic bags", "text": "Great idea, I support the ban."},
             {"id": "x", "target": "Town bans plastic bags", "text": "Source?", "parent_text": "It works."},
             {"id": 3, "target": "Town bans plastic bags", "text": ""},
             {"id": 4, "target": "plastic bag bans", "text": "Bans like this are a bad idea, I oppose them."}]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    result = cli("stance-predict", "--in", "pairs.jsonl", "--out", "out/preds.jsonl", "-q",
                 "--set", f"cache_dir={tmp_path / 'cache'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    preds = [json.loads(line) for line in (tmp_path / "out" / "preds.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == [1, "x", 3, 4]
    for pred in preds:
        assert set(pred["probs"]) == set(STANCE_LABELS)
        assert abs(sum(pred["probs"].values()) - 1) < 1e-3
        assert pred["stance"] == max(pred["probs"], key=pred["probs"].get)
        assert pred["confidence"] == pred["probs"][pred["stance"]]
    # a reply also gets its stance toward the comment it answers; the others do not
    assert [("reply_stance" in p) for p in preds] == [False, True, False, False]
    reply = preds[1]
    assert set(reply["reply_probs"]) == {"agree", "disagree", "neutral"}
    assert abs(sum(reply["reply_probs"].values()) - 1) < 1e-3
    assert reply["reply_stance"] == max(reply["reply_probs"], key=reply["reply_probs"].get)
    assert reply["reply_confidence"] == reply["reply_probs"][reply["reply_stance"]]


def test_pairs_cli_rejects_a_malformed_line_and_writes_nothing(tmp_path):
    (tmp_path / "pairs.jsonl").write_text(
        json.dumps({"id": 1, "target": "t", "text": "a"}) + "\n\n{not json\n")
    result = cli("stance-predict", "--in", "pairs.jsonl", "--out", "preds.jsonl", "-q",
                 "--set", f"cache_dir={tmp_path / 'cache'}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: pairs.jsonl:3: broken JSON")
    assert "Traceback" not in result.stderr
    assert not [p.name for p in tmp_path.iterdir() if "preds" in p.name]  # no output, no temp file

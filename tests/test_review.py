"""Review export and import: Label Studio JSON and the CSV, round trip."""
import csv
import io
import json
import shutil

import pytest

from conftest import cli
from pipeline.records import STANCE_LABELS



@pytest.fixture
def run_copy(example_run, tmp_path):
    """A private copy of the example artifacts, so imports can write beside them."""
    folder = tmp_path / example_run.folder.name
    shutil.copytree(example_run.folder, folder)
    return folder


def test_label_studio_tasks_match_the_config(example_run):
    review = example_run.folder / "review"
    tasks = json.loads((review / "label_studio.json").read_text(encoding="utf-8"))
    config = (review / "label_studio_config.xml").read_text(encoding="utf-8")
    assert len(tasks) == 48
    ids = [r["id"] for t in tasks for p in t.get("predictions", []) for r in p["result"]]
    assert len(ids) == len(set(ids))
    for task in tasks:
        for result in task.get("predictions", [{}])[0].get("result", []):
            assert result["to_name"] == "text" and result["type"] == "choices"
            assert f'<Choices name="{result["from_name"]}" toName="text"' in config
            choice = result["value"]["choices"][0].replace("&", "&amp;").replace('"', "&quot;")
            assert f'<Choice value="{choice}"/>' in config
    with_text = [t for t in tasks if t["data"]["text"]]
    assert all(any(r["from_name"] == "stance" for r in t["predictions"][0]["result"]) for t in with_text)


def test_label_studio_round_trip(run_copy):
    tasks = json.loads((run_copy / "review" / "label_studio.json").read_text(encoding="utf-8"))
    export = []
    flipped = 0
    for number, task in enumerate(t for t in tasks if "predictions" in t):
        result = json.loads(json.dumps(task["predictions"][0]["result"]))
        for item in result:
            if item["from_name"] == "stance" and number % 4 == 0:
                current = item["value"]["choices"][0]
                item["value"]["choices"] = [next(s for s in STANCE_LABELS if s != current)]
                flipped += 1
        annotations = [{"id": 1, "was_cancelled": True, "result": [], "updated_at": "2026-01-02"},
                       {"id": 2, "was_cancelled": False, "result": result, "updated_at": "2026-01-01"}]
        export.append({"id": 100 + number, "data": task["data"], "annotations": annotations,
                       "predictions": [7]})  # predictions as ids only, as Label Studio may return them
    path = run_copy / "review" / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    result = cli("review-import", str(path))
    assert result.returncode == 0, result.stderr
    agreement = json.loads((run_copy / "review" / "agreement.json").read_text())
    reviewed = len(export)
    assert agreement["stance"]["reviewed"] == reviewed
    assert agreement["stance"]["accuracy"] == pytest.approx((reviewed - flipped) / reviewed, abs=1e-4)
    assert all(entry["agreement"] == 1.0 for entry in agreement["topics"].values())
    assert "accuracy" in result.stdout
    with (run_copy / "review" / "corrected_labels.csv").open(encoding="utf-8") as handle:
        corrected = list(csv.DictReader(handle))
    changed = [r for r in corrected if r["reviewed_stance"] and r["reviewed_stance"] != r["model_stance"]]
    assert len(changed) == flipped and all(r["stance"] == r["reviewed_stance"] for r in changed)


def test_review_csv_round_trip(run_copy):
    path = run_copy / "review" / "review.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    target = next(r for r in rows if r["topic_id"] not in ("", "-1"))
    target["reviewed_stance"] = "query"
    target["reviewed_topic_id"] = "-1"
    reply = next(r for r in rows if r["depth"] != "0" and r["text"] and r is not target)
    reply["reviewed_stance"] = "disagree"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = cli("review-import", str(path))
    assert result.returncode == 0, result.stderr
    agreement = json.loads((run_copy / "review" / "agreement.json").read_text())
    assert agreement["stance"]["reviewed"] == 2
    assert agreement["stance"]["accuracy"] == ((target["stance"] == "query") + (reply["stance"] == "disagree")) / 2
    assert agreement["topics"][target["topic_id"]] == {"label": target["topic_label"], "reviewed": 1,
                                                       "kept": 0, "agreement": 0.0}
    # the reviewed stance, ready to train on (make train-stance LABELLED=...)
    from pipeline.stance_train.data import load_labelled

    labelled = run_copy / "review" / "stance_labels.jsonl"
    ps = load_labelled([labelled])
    comments = {c["comment_id"]: c for c in map(json.loads, (run_copy / "comments.jsonl").open(encoding="utf-8"))}
    thread = json.loads((run_copy / "thread.json").read_text(encoding="utf-8"))
    wanted = {target["comment_id"]: "query", reply["comment_id"]: "disagree"}
    order = [c for c in comments if c in wanted]  # the run's comment order
    assert ps.labels == [wanted[c] for c in order]
    assert ps.texts == [comments[c]["text_clean"] for c in order]
    assert ps.parents == [comments[comments[c]["reply_to"]]["text_clean"] if comments[c]["reply_to"] else None
                          for c in order]
    assert ps.parents[order.index(reply["comment_id"])] is not None
    assert all(t.startswith(thread["article"]["title"] + "\n") for t in ps.targets)
    assert "stance_labels.jsonl" in result.stdout


def test_review_csv_with_a_bad_label_names_the_line(run_copy):
    path = run_copy / "review" / "review.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[3]]))
    cells[header.index("reviewed_stance")] = "maybe"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    lines[3] = buffer.getvalue()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("review-import", str(path))
    assert result.returncode == 2
    assert "review.csv:4: reviewed_stance 'maybe' is not a stance label" in result.stderr


def _fill(path, verdicts: dict[int, str]) -> None:
    """Fill reviewed_stance in rows (by number) of review.csv, as a spreadsheet saves it."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for number, stance in verdicts.items():
        rows[number]["reviewed_stance"] = stance
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_review_workflow_twice_keeps_every_reviewer_file(example_run, tmp_path, caplog):
    """docs/review.md as a team follows it: run, fill the sheet in place, import,
    run again (same config, then another), import again. Every file the
    reviewers made or review-import wrote stays, byte for byte, and so does a
    note a user left in the dump's folder."""
    from pipeline import runner

    settings = dict(example_run.config, output_dir=str(tmp_path / "artifacts"))
    (folder,) = runner.run([str(example_run.dump)], settings)
    review = folder / "review"
    _fill(review / "review.csv", {1: "agree", 3: "query"})
    (review / "export.json").write_text("[]\n", encoding="utf-8")  # a Label Studio export saved here too
    (folder / "notes.txt").write_text("ask Ana about c3\n", encoding="utf-8")
    result = cli("review-import", str(review / "review.csv"))
    assert result.returncode == 0, result.stderr
    made = {p: p.read_bytes() for p in [*review.iterdir(), folder / "notes.txt"]
            if p.name not in ("label_studio.json", "label_studio_config.xml")}
    assert {p.name for p in made} >= {"review.csv", "export.json", "corrected_labels.csv", "agreement.json",
                                      "stance_labels.jsonl", "notes.txt"}

    with caplog.at_level("INFO", logger="pipeline"):
        runner.run([str(example_run.dump)], settings)  # the filled sheet does not make the run stale
    assert "up to date" in caplog.text
    assert {p: p.read_bytes() for p in made} == made
    manifest = (folder / "manifest.json").read_text()
    changed = dict(settings, topics=dict(settings["topics"], top_n_words=5))
    runner.run([str(example_run.dump)], changed)  # another config: the run's files are replaced
    assert (folder / "manifest.json").read_text() != manifest
    assert {p: p.read_bytes() for p in made} == made
    assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(".")]

    result = cli("review-import", str(review / "review.csv"))  # and import again
    assert result.returncode == 0, result.stderr
    assert (review / "review.csv").read_bytes() == made[review / "review.csv"]
    assert json.loads((review / "agreement.json").read_text())["stance"]["reviewed"] == 2


def test_stance_training_rows_give_no_parent_text_the_stage_does_not_read():
    """A reviewed English reply to a comment flagged other_language is labelled without that
    parent's text, as the stance stage reads it."""
    from pipeline.review import stance_training_rows

    rows = [{"comment_id": "a", "text_clean": "Das ist doch Unsinn, die Stadt sollte Radwege bauen.",
             "flags": ["other_language"], "reply_to": None},
            {"comment_id": "b", "text_clean": "Totally agree with the council here.", "flags": [], "reply_to": "a"},
            {"comment_id": "c", "text_clean": "No, it is a bad plan.", "flags": [], "reply_to": "b"}]
    out = stance_training_rows(rows, {"b": {"stance": "agree"}, "c": {"stance": "disagree"}}, "Town plan")
    assert [(r["id"], r.get("parent_text")) for r in out] == [
        ("b", None), ("c", "Totally agree with the council here.")]

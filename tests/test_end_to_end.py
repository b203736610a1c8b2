"""Whole runs through the public entry points, on the example and real dumps."""
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import recorded
from conftest import EXAMPLE_DUMP
from pipeline import machine, runner
from pipeline.errors import PipelineError
from pipeline.records import COMMENT_COLUMNS, STANCE_LABELS

pytestmark = pytest.mark.slow
ARTIFACTS = {"comments.parquet", "comments.jsonl", "topics.csv", "thread.json", "embeddings.npy",
             "manifest.json", "report.html", "topic_sizes.png", "stance_by_topic.png",
             "stance_by_depth.png", "review"}


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def count_nodes(nodes):
    return sum(1 + count_nodes(n["replies"]) for n in nodes)


def test_example_run_writes_every_artifact(example_run):
    assert {p.name for p in example_run.folder.iterdir()} == ARTIFACTS
    rows = read_jsonl(example_run.folder / "comments.jsonl")
    assert len(rows) == 48 and list(rows[0]) == [name for name, _ in COMMENT_COLUMNS]
    frame = pd.read_parquet(example_run.folder / "comments.parquet")
    assert frame["comment_id"].tolist() == [r["comment_id"] for r in rows]
    assert frame["topic_id"].isna().sum() == 1  # the empty comment: kept, no topic
    empty = frame[frame["flags"].apply(lambda f: "empty" in list(f))]
    assert len(empty) == 1 and empty.iloc[0]["author"] == "Kim Nguyen"


def test_topic_table_matches_the_comments(example_run):
    topics = pd.read_csv(example_run.folder / "topics.csv")
    frame = pd.read_parquet(example_run.folder / "comments.parquet")
    assert topics["size"].sum() == frame["topic_id"].notna().sum()
    for row in topics.itertuples():
        assert (frame["topic_id"] == row.topic_id).sum() == row.size
    labelled = frame.dropna(subset=["topic_id"]).merge(topics, on="topic_id")
    assert (labelled["topic_label"] == labelled["label"]).all()


def test_thread_json_nests_every_comment(example_run):
    tree = json.loads((example_run.folder / "thread.json").read_text(encoding="utf-8"))
    assert tree["article"]["title"].startswith("City Votes")
    assert count_nodes(tree["comments"]) == 48 and len(tree["comments"]) == 15
    deepest = tree["comments"][0]["replies"][0]["replies"][0]["replies"]
    assert [n["depth"] for n in deepest] == [3, 3]


def test_manifest_says_how_to_reproduce(example_run):
    manifest = json.loads((example_run.folder / "manifest.json").read_text())
    assert len(manifest["input"]["sha256"]) == 64
    assert manifest["config"]["seed"] == manifest["seed"] == 42
    assert {"bertopic", "sentence-transformers", "spacy", "torch"} <= set(manifest["versions"])
    assert set(manifest["stages"]) == {"ingest", "clean", "embed", "replies", "topics", "stance", "layout", "export"}
    assert manifest["stages"]["ingest"]["comments"] == 48
    assert manifest["stages"]["embed"]["encoded"] == manifest["stages"]["embed"]["texts"] == 47
    assert manifest["models"]["embedding"]["name"] == "all-MiniLM-L6-v2"
    # what the float kernels ran on, so two runs' bytes can be compared knowingly (docs/caching.md)
    assert manifest["machine"] == machine.describe() and "onnxruntime" in manifest["versions"]


def test_second_run_is_identical_and_embeds_nothing(example_run):
    first = (example_run.folder / "comments.jsonl").read_bytes()
    first_topics = (example_run.folder / "topics.csv").read_bytes()
    # without the stage cache, so every stage really runs again
    runner.run([str(example_run.dump)], dict(example_run.config, cache_stages=False))
    assert (example_run.folder / "comments.jsonl").read_bytes() == first
    assert (example_run.folder / "topics.csv").read_bytes() == first_topics
    stages = json.loads((example_run.folder / "manifest.json").read_text())["stages"]
    assert stages["embed"]["cache_hits"] == 47 and stages["embed"]["encoded"] == 0


def test_failed_run_leaves_previous_artifacts_untouched(example_run, tmp_path):
    before = {p.name: p.read_bytes() for p in example_run.folder.rglob("*") if p.is_file()}
    broken = tmp_path / EXAMPLE_DUMP.name  # same name, so the same artifact folder
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a dump")
    with pytest.raises(PipelineError, match="JPEG"):
        runner.run([str(broken)], example_run.config)
    after = {p.name: p.read_bytes() for p in example_run.folder.rglob("*") if p.is_file()}
    assert after == before
    leftovers = [p.name for p in example_run.folder.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_folder_run_writes_one_folder_per_dump(tmp_path, config):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for name in ("one", "two"):
        (dumps / f"{name}.jsonl").write_text(
            json.dumps({"type": "article", "title": f"Article {name}", "body": "Body."}) + "\n" +
            json.dumps({"type": "comment", "id": 1, "author": "A", "text": f"Comment on {name}."}) + "\n")
    (dumps / "notes.md").write_text("not a dump")
    settings = dict(config, output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"),
                    topics=dict(config["topics"], enabled=False))
    written = runner.run([str(dumps)], settings)
    assert [p.name for p in written] == ["one", "two"]
    assert read_jsonl(written[1] / "comments.jsonl")[0]["text_clean"] == "Comment on two."
    assert not (written[0] / "topics.csv").exists()


def test_dumps_named_dot_and_dot_dot_get_their_own_folders_and_lose_nothing(tmp_path, config):
    """`..jsonl` has the stem `.`: its folder was the output folder itself, and
    the swap deleted every other dump's artifacts with it."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for name in ("..jsonl", "...jsonl", "b.jsonl", "b.txt"):
        lines = [{"type": "article", "title": f"Article {name}", "body": "Body."},
                 {"type": "comment", "id": 1, "author": "A", "text": f"Comment on {name}."}]
        text = "\n".join(map(json.dumps, lines)) + "\n"
        if name.endswith(".txt"):
            text = f"Article {name}\n\nBody.\n\n  \u2022 A\n\n    Comment on {name}.\n"
        (dumps / name).write_text(text)
    out = tmp_path / "out"
    settings = dict(config, output_dir=str(out), cache_dir=str(tmp_path / "cache"),
                    topics=dict(config["topics"], enabled=False))
    written = runner.run([str(dumps)], settings)
    (out / "kept.txt").write_text("the user's own file in the output folder")
    (written[2] / "notes.txt").write_text("notes on b")
    again = runner.run([str(dumps)], dict(settings, seed=7))  # another config: every dump runs again
    assert again == written and len({p.name for p in written}) == 4
    assert all(p.parent == out and not p.name.startswith(".") for p in written)
    assert [read_jsonl(p / "comments.jsonl")[0]["text_clean"] for p in written] == [
        "Comment on ...jsonl.", "Comment on ..jsonl.", "Comment on b.jsonl.", "Comment on b.txt."]
    assert (out / "kept.txt").read_text() == "the user's own file in the output folder"
    assert (written[2] / "notes.txt").read_text() == "notes on b"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_folder_with_a_bad_dump_still_writes_the_good_ones(tmp_path, config):
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    shutil.copy(EXAMPLE_DUMP, dumps / "good.txt")
    (dumps / "bad.txt").write_bytes(b"")
    settings = dict(config, output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"),
                    topics=dict(config["topics"], enabled=False))
    with pytest.raises(PipelineError, match="1 of 2 dumps failed"):
        runner.run([str(dumps)], settings)
    assert (tmp_path / "out" / "good" / "comments.jsonl").exists()
    assert not (tmp_path / "out" / "bad").exists()


def test_real_dump_end_to_end(real_run):
    frame = pd.read_parquet(real_run.folder / "comments.parquet")
    assert len(frame) == 103 and frame["author"].nunique() == 54
    assert frame["depth"].max() == 4
    topics = pd.read_csv(real_run.folder / "topics.csv")
    assert (topics["topic_id"] >= 0).sum() >= 3
    assert (frame["topic_id"] == -1).sum() <= 20
    assert frame.loc[frame["text_raw"].str.contains("f\\*\\*k", regex=True), "masked_words"] \
        .apply(lambda words: "f**k" in list(words)).all()


def test_the_example_dump_gives_the_recorded_artifacts(example_run):
    """Byte for byte what was recorded where bytes can be the same: the same backend,
    CPU type and package versions (tests/data/example_artifacts.json keys each such
    machine's file hashes). On any other machine, the text columns exactly and the
    vectors, stances and topics within what another CPU moves (tests/recorded.py).
    A restructuring must move neither; a change that does (a new stance model, a new
    column) records anew on purpose and says why: RECORD_ARTIFACTS=1 pytest -k
    recorded_artifacts (this machine only); RECORD_ARTIFACTS=add adds this machine's
    hashes to a record it is within tolerance of."""
    backend = example_run.config["embed"]["backend"]
    spec = json.loads(recorded.RECORDED.read_text(encoding="utf-8"))
    mode = os.environ.get("RECORD_ARTIFACTS")
    if mode and mode != "add":
        spec = recorded.record(example_run.folder, backend, spec, keep_others=False)
        recorded.RECORDED.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert recorded.differences(example_run.folder, spec["reference"], np.load(recorded.REFERENCE_VECTORS)) == []
    if mode == "add":
        spec = recorded.record(example_run.folder, backend, spec, keep_others=True)
        recorded.RECORDED.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    same_machine = spec["exact"].get(recorded.exact_key(backend))
    if same_machine is not None:
        assert recorded.file_hashes(example_run.folder) == same_machine["files"]


def test_another_cpus_run_is_held_to_the_text_exactly_and_to_the_numbers_within_tolerance(example_run, tmp_path):
    """The comparison a machine without recorded hashes gets passes on this run
    and fails on a changed text, two rows swapped, swapped vectors, moved stances
    or shuffled topics."""
    spec = json.loads(recorded.RECORDED.read_text(encoding="utf-8"))
    vectors = np.load(recorded.REFERENCE_VECTORS)
    assert recorded.differences(example_run.folder, spec["reference"], vectors) == []

    def changed(edit_rows=None, edit_vectors=None) -> list[str]:
        folder = tmp_path / f"changed{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        rows = read_jsonl(example_run.folder / "comments.jsonl")
        embeddings = np.load(example_run.folder / "embeddings.npy")
        rows = edit_rows(rows) if edit_rows else rows
        np.save(folder / "embeddings.npy", edit_vectors(embeddings) if edit_vectors else embeddings)
        (folder / "comments.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return recorded.differences(folder, spec["reference"], vectors)

    def one_text(rows):
        rows[5]["text_clean"] += " Really."
        return rows

    def rotated(column, labels):
        def edit(rows):
            for row in rows:
                if row[column] is not None:
                    row[column] = labels[(labels.index(row[column]) + 1) % len(labels)]
            return rows
        return edit

    def shuffled_topics(rows):
        found = [r["topic_id"] for r in rows if r["topic_id"] is not None]
        order = iter(np.random.default_rng(0).permutation(found).tolist())
        return [dict(r, topic_id=next(order) if r["topic_id"] is not None else None) for r in rows]

    assert changed(one_text) == ["column text_clean differs"]
    assert "column comment_id differs" in changed(lambda rows: [rows[1], rows[0], *rows[2:]])
    assert changed(edit_vectors=lambda e: e[[1, 0, *range(2, len(e))]])[0].startswith("embeddings: cosine")
    assert changed(rotated("stance", list(STANCE_LABELS)))[0].startswith("stance: 0.")
    assert changed(rotated("reply_stance", ["agree", "disagree", "neutral"]))[0].startswith("reply_stance: 0.")
    assert changed(shuffled_topics)[0].startswith("topics: adjusted Rand")


def test_a_rerun_over_up_to_date_artifacts_does_nothing_and_an_edit_brings_it_back(tmp_path, example_run,
                                                                                   caplog):
    """Same dump, config, code and models as the manifest's run_key, files as
    the manifest lists them: the run leaves the folder alone. Into a new output
    folder every stage, the report's map included, comes from the stage cache."""
    settings = dict(example_run.config, output_dir=str(tmp_path / "out"))
    (folder,) = runner.run([str(example_run.dump)], settings)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {n: s.get("from_cache") for n, s in manifest["stages"].items() if "from_cache" in s} == \
        {"ingest": True, "clean": True, "topics": True, "stance": True, "layout": True}
    assert set(manifest["files"]) >= {"comments.jsonl", "report.html", "review/label_studio.json"}
    stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    with caplog.at_level("INFO", logger="pipeline"):
        assert runner.run([str(example_run.dump)], settings) == [folder]
    assert "up to date" in caplog.text
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == stamps  # nothing rewritten

    (folder / "topics.csv").write_text("edited by hand\n")
    runner.run([str(example_run.dump)], settings)
    assert (folder / "topics.csv").read_text() == (example_run.folder / "topics.csv").read_text()
    changed = dict(settings, topics=dict(settings["topics"], top_n_words=5))
    before = (folder / "manifest.json").read_text()
    runner.run([str(example_run.dump)], changed)
    assert (folder / "manifest.json").read_text() != before  # another config: run again


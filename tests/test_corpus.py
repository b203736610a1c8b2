"""Corpus scope (topics.scope: corpus): one topic model over a folder run's
threads, new threads assigned without refitting, topics.refit refits."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.conftest import EXAMPLE_DUMP

pytestmark = pytest.mark.slow  # folder runs of the whole pipeline (static embeddings, no stance)


def _write_dumps(folder: Path, names: list[str], offset: int) -> None:
    """JSONL dumps of different slices of the example's comments, a month apart."""
    from pipeline.ingest import parse_dump

    comments = parse_dump(EXAMPLE_DUMP.read_bytes(), str(EXAMPLE_DUMP)).comments
    for k, name in enumerate(names, start=offset):
        lines = [{"type": "article", "id": name, "title": f"Elm Street, part {k} <b>&",
                  "body": "The council voted to close four blocks of Elm Street to cars."}]
        picked = [c for i, c in enumerate(comments) if (i + k) % 4]  # three in four, shifted per dump
        lines += [{"type": "comment", "id": f"{name}-{c.id}", "parent_id": None, "author": c.author,
                   "text": c.text, "created_at": f"2024-{1 + k % 3:02d}-{1 + i % 28:02d}T10:00:00Z"}
                  for i, c in enumerate(picked)]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines),
                                              encoding="utf-8")


def _config(base: Path, *sets: str) -> dict:
    from pipeline.config import load_config

    return load_config(None, [f"output_dir={base / 'artifacts'}", f"cache_dir={base / 'cache'}",
                              "embed.backend=static", "stance.enabled=false", "topics.scope=corpus",
                              "topics.corpus_sample=60", *sets])


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory):
    """A four-thread folder run, then two more threads added and the folder run
    again, then a refit: what _corpus held after each."""
    from pipeline import runner

    base = tmp_path_factory.mktemp("corpus")
    dumps = base / "dumps"
    dumps.mkdir()
    _write_dumps(dumps, ["a", "b", "c", "d"], 0)
    first = runner.run([str(dumps)], _config(base))
    corpus = base / "artifacts" / "_corpus"
    snapshots = {"first": _hashes(corpus), "threads_first": {f.name: _hashes(f) for f in first}}
    snapshots["manifest_first"] = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    (corpus / "notes.txt").write_text("mine", encoding="utf-8")  # a user's file in _corpus
    _write_dumps(dumps, ["e", "f"], 4)
    second = runner.run([str(dumps)], _config(base))
    snapshots["second"] = _hashes(corpus)
    snapshots["manifest_second"] = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    snapshots["rows_second"] = pq.read_table(corpus / "comment_topics.parquet").to_pylist()
    snapshots["threads_second"] = {f.name: _hashes(f) for f in second}
    _write_dumps(dumps, ["a"], 1)  # one thread changes: it is assigned again, alone
    runner.run([str(dumps)], _config(base))
    snapshots["manifest_changed"] = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    snapshots["rows_changed"] = pq.read_table(corpus / "comment_topics.parquet").to_pylist()
    runner.run([str(dumps)], _config(base, "topics.refit=true"))
    snapshots["manifest_refit"] = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return base, first, second, snapshots


def test_a_folder_run_writes_one_corpus_model_with_every_comment_assigned(corpus_runs):
    base, first, _, snap = corpus_runs
    manifest = snap["manifest_first"]
    comments = sum(pq.read_metadata(f / "comments.parquet").num_rows for f in first)
    assert manifest["threads"] == 4 and manifest["comments"] == comments
    assert manifest["history"][0]["action"] == "fit" and manifest["topics"] >= 1
    assert manifest["sample"]["comments"] == 60 < manifest["sample"]["of"]
    for name in ("topics.csv", "topic_threads.csv", "topics_over_time.csv", "comment_topics.parquet",
                 "comment_topics.csv", "index.html", "manifest.json", "model/centroids.npy",
                 "model/topics.json", "model/threads.json"):
        assert name in snap["first"], name


def test_added_threads_are_assigned_without_refitting(corpus_runs):
    base, first, second, snap = corpus_runs
    assert snap["second"]["model/centroids.npy"] == snap["first"]["model/centroids.npy"]
    assert snap["second"]["model/topics.json"] == snap["first"]["model/topics.json"]
    last = snap["manifest_second"]["history"][-1]
    new_rows = [r for r in snap["rows_second"] if r["thread"] in ("e", "f")]
    with_text = [r for r in new_rows if r["corpus_topic_id"] is not None]
    assert last["action"] == "assign" and last["threads"] == 2
    assert last["comments_assigned"] == len(with_text)
    assert last["outside"] == sum(r["corpus_topic_id"] == -1 for r in with_text)
    assert snap["manifest_second"]["threads"] == 6
    assert {r["thread"] for r in snap["rows_second"]} == {f.name for f in second}
    assert len(snap["rows_second"]) == sum(pq.read_metadata(f / "comments.parquet").num_rows for f in second)
    # the four threads already in the corpus were not touched by the rerun, nor reassigned
    assert {n: snap["threads_second"][n] for n in snap["threads_first"]} == snap["threads_first"]


def test_a_changed_thread_is_assigned_again_and_its_old_rows_go(corpus_runs):
    snap = corpus_runs[3]
    last = snap["manifest_changed"]["history"][-1]
    assert last["action"] == "assign" and last["threads"] == 1
    ids = {r["comment_id"] for r in snap["rows_changed"] if r["thread"] == "a"}
    assert ids and all(i.startswith("a-") for i in ids) and ids != {
        r["comment_id"] for r in snap["rows_second"] if r["thread"] == "a"}
    assert len(snap["rows_changed"]) == len({(r["thread"], r["comment_id"]) for r in snap["rows_changed"]})


def test_refit_fits_again_over_every_thread(corpus_runs):
    history = corpus_runs[3]["manifest_refit"]["history"]
    assert [h["action"] for h in history] == ["fit", "assign", "assign", "refit"]
    assert history[-1]["threads"] == 6


def test_a_users_file_in_the_corpus_folder_is_kept(corpus_runs):
    folder = corpus_runs[0] / "artifacts" / "_corpus"
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_corpus_pass_changes_nothing_in_the_thread_folders(corpus_runs):
    from pipeline import corpus

    base, _, second, _ = corpus_runs
    before = {f.name: _hashes(f) for f in second}
    corpus.update(second, _config(base, "topics.refit=true"))
    assert {f.name: _hashes(f) for f in second} == before


def test_corpus_files_are_not_pickles_and_the_page_escapes_titles(corpus_runs):
    base = corpus_runs[0]
    folder = base / "artifacts" / "_corpus"
    for path in folder.rglob("*"):
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), path  # a pickle's first byte
    np.load(folder / "model" / "centroids.npy", allow_pickle=False)
    assert not [p.name for p in folder.rglob("*.yours*")]  # the corpus's own files are not taken for a user's
    json.loads((folder / "model" / "topics.json").read_text(encoding="utf-8"))
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "part 1 &lt;b&gt;&amp;" in page and "<b>&" not in page
    assert 'href="../a/report.html"' in page


def test_over_time_and_per_thread_tables_add_up(corpus_runs):
    import pandas as pd

    folder = corpus_runs[0] / "artifacts" / "_corpus"
    topics = pd.read_csv(folder / "topics.csv")
    per_thread = pd.read_csv(folder / "topic_threads.csv")
    over_time = pd.read_csv(folder / "topics_over_time.csv")
    rows = pd.read_parquet(folder / "comment_topics.parquet")
    assigned = rows["corpus_topic_id"].notna().sum()
    assert topics["size"].sum() == per_thread["comments"].sum() == over_time["comments"].sum() == assigned
    assert set(over_time["month"]) == {"2024-01", "2024-02", "2024-03"}


def test_assigning_many_threads_is_chunked_and_memory_mapped(tmp_path, capsys):
    """Throughput of the assignment on memory-mapped vectors (printed, not asserted)."""
    from pipeline import corpus

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3 * corpus.CHUNK + 7, 64)).astype(np.float32)
    np.save(tmp_path / "embeddings.npy", vectors)
    mapped = np.load(tmp_path / "embeddings.npy", mmap_mode="r")
    centroids = vectors[:20] / np.linalg.norm(vectors[:20], axis=1, keepdims=True)
    start = time.perf_counter()
    topic_ids, similarity = corpus.assign(mapped, np.ones(len(vectors), dtype=bool), centroids, 0.4)
    seconds = time.perf_counter() - start
    assert isinstance(mapped, np.memmap) and len(topic_ids) == len(vectors)
    assert (topic_ids[:20] == np.arange(20)).all()  # each centroid's own row takes it
    with capsys.disabled():
        print(f"\n  corpus.assign: {len(vectors):,} memory-mapped rows in {seconds:.2f} s "
              f"({len(vectors) / seconds:,.0f} rows/s)")


def test_a_corpus_too_small_for_topics_leaves_its_comments_outside_and_fits_again_later(tmp_path):
    from pipeline import runner

    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for name in ("x", "y"):
        lines = [{"type": "article", "id": name, "title": "Short", "body": "A short article."}]
        lines += [{"type": "comment", "id": f"{name}{i}", "parent_id": None, "author": "u",
                   "text": f"Comment number {i} about the street and the {name} lane."} for i in range(3)]
        (dumps / f"{name}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines),
                                             encoding="utf-8")
    runner.run([str(dumps)], _config(tmp_path))
    folder = tmp_path / "artifacts" / "_corpus"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["topics"] == 0 and manifest["outside"] == manifest["comments_with_text"] == 6
    _write_dumps(dumps, ["a", "b", "c"], 0)
    runner.run([str(dumps)], _config(tmp_path))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["history"][-1]["action"] == "refit" and manifest["topics"] >= 1
    assert manifest["threads"] == 5


def test_a_corpus_pass_over_threads_already_run_redoes_none_of_them(tmp_path):
    """The corpus keys are read by the corpus pass alone: threads run with topics.scope
    thread (by several drivers on slices of a folder, say) are up to date for a run with
    scope corpus, which only fits the corpus model (docs/ray.md)."""
    from pipeline import runner

    dumps = tmp_path / "dumps"
    dumps.mkdir()
    _write_dumps(dumps, ["a", "b"], 0)
    first = runner.run([str(dumps)], _config(tmp_path, "topics.scope=thread"))
    assert not (tmp_path / "artifacts" / "_corpus").exists()
    before = {f.name: _hashes(f) for f in first}
    again = runner.run([str(dumps)], _config(tmp_path, "topics.corpus_sample=40"))
    assert {f.name: _hashes(f) for f in again} == before  # manifests too: nothing was run again
    assert (tmp_path / "artifacts" / "_corpus" / "comment_topics.parquet").is_file()

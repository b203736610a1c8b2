"""The command line as a user meets it: one-line errors, exit status 2."""

import pytest

from conftest import ROOT, cli



def test_help_explains_every_option():
    result = cli("run", "--help")
    assert result.returncode == 0
    for option in ("--config", "--set", "--out", "--quiet", "DUMP", "comments.parquet"):
        assert option in result.stdout


@pytest.mark.parametrize("content, expected", [
    (b"", "bad.txt:1: the file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "bad.txt:1: this is a PNG image, not a text dump"),
    ("Title\n\nBody.\n\n  \u2022 Ann\n\nHi\n".encode(), "bad.txt:7: unindented line inside the comment thread"),
])
def test_bad_dump_is_one_line_exit_2_no_artifacts(tmp_path, content, expected):
    (tmp_path / "bad.txt").write_bytes(content)
    result = cli("run", "bad.txt", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {expected}")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "bad").exists()


def test_missing_dump_and_unknown_key(tmp_path):
    result = cli("run", "nope.txt", cwd=tmp_path)
    assert result.returncode == 2 and "error: nope.txt: no such file or folder" in result.stderr
    result = cli("run", "nope.txt", "--set", "topics.min_topic_sise=3", cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean 'topics.min_topic_size'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_folder(tmp_path):
    (tmp_path / "dumps").mkdir()
    result = cli("run", "dumps", cwd=tmp_path)
    assert result.returncode == 2 and "dumps: no dumps in this folder" in result.stderr


def test_a_folder_whose_dumps_are_in_subfolders_says_how_to_name_them(tmp_path):
    """A folder run reads the files at its top; exports kept by platform (reddit/, youtube/)
    get an error that counts them and names the fix, not 'no dumps'."""
    for sub, n in (("reddit", 2), ("youtube", 1), (".hidden", 4)):
        (tmp_path / "dumps" / sub).mkdir(parents=True)
        for k in range(n):
            (tmp_path / "dumps" / sub / f"t{k}.json").write_text("{}")
    (tmp_path / "dumps" / "notes").mkdir()
    (tmp_path / "dumps" / "notes" / "readme.md").write_text("not a dump")
    result = cli("run", "dumps", "--out", "out", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: dumps: no dumps in this folder itself; its subfolders hold 3 dump files (reddit/ 2, youtube/ 1) "
        '(a folder run reads the files at its top: name the subfolders, as in make pipeline DUMP="dumps/*/")')
    assert not (tmp_path / "out").exists()


def test_the_subfolders_named_by_a_glob_run_even_where_one_holds_no_dumps(tmp_path, caplog):
    """DUMP="dumps/*/" also names dumps/notes/, which holds none: it is skipped with a warning
    (one folder given alone and empty is still an error), and the artifacts of an earlier run
    kept in the folder are not counted as dumps."""
    import logging

    from pipeline import runner
    from pipeline.errors import PipelineError

    for sub in ("reddit", "youtube", "notes"):
        (tmp_path / "dumps" / sub).mkdir(parents=True)
    (tmp_path / "dumps" / "reddit" / "t.json").write_text("{}")
    (tmp_path / "dumps" / "youtube" / "v.jsonl").write_text("{}")
    (tmp_path / "dumps" / "notes" / "readme.md").write_text("not a dump")
    out = tmp_path / "dumps" / "artifacts" / "t"
    out.mkdir(parents=True)
    for name in ("manifest.json", "comments.jsonl", "topics.csv"):
        (out / name).write_text("{}")
    (tmp_path / "dumps" / "t").mkdir()  # a run's artifact folder written beside the dumps (output_dir=dumps)
    for name in ("manifest.json", "comments.jsonl", "topics.csv"):
        (tmp_path / "dumps" / "t" / name).write_text("{}")
    given = sorted(str(p) for p in (tmp_path / "dumps").glob("*/"))
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        found = runner.find_dumps(given)
    assert found == [tmp_path / "dumps" / "reddit" / "t.json", tmp_path / "dumps" / "youtube" / "v.jsonl"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'dumps' / 'artifacts'}: no dumps in this folder (a dump is a .txt, .jsonl, .json, .ndjson, "
        ".xml, .csv or .tsv file); skipped",
        f"{tmp_path / 'dumps' / 'notes'}: no dumps in this folder (a dump is a .txt, .jsonl, .json, .ndjson, "
        ".xml, .csv or .tsv file); skipped",
        f"{tmp_path / 'dumps' / 't'}: this folder holds a run's artifacts, not dumps (give the dumps the run "
        "read, or a folder of them); skipped"]
    with pytest.raises(PipelineError, match="no dumps in this folder"):
        runner.find_dumps([str(tmp_path / "dumps" / "notes")])
    with pytest.raises(PipelineError, match="holds a run's artifacts"):
        runner.find_dumps([str(tmp_path / "dumps" / "t")])
    # none of several holds a dump: the error is the one that says where the dumps are
    (tmp_path / "deeper" / "x").mkdir(parents=True)
    (tmp_path / "deeper" / "x" / "d.txt").write_text("T")
    with pytest.raises(PipelineError, match="its subfolders hold 1 dump file"):
        runner.find_dumps([str(tmp_path / "dumps" / "notes"), str(tmp_path / "deeper")])


def test_a_folder_run_says_which_subfolders_it_does_not_read(tmp_path, caplog):
    import logging

    from pipeline import runner

    (tmp_path / "month" / "late").mkdir(parents=True)
    (tmp_path / "month" / "a.jsonl").write_text("{}")
    (tmp_path / "month" / "late" / "b.jsonl").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        assert runner.find_dumps([str(tmp_path / "month")]) == [tmp_path / "month" / "a.jsonl"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'month'}: its subfolders hold 1 dump file (late/ 1), not read (a folder run reads the "
        "files at its top; name the subfolders too to run them)"]


@pytest.mark.slow
def test_the_wheel_carries_what_a_run_reads(tmp_path):
    """`pip install .` (not editable) gives a command that runs: the wheel holds the stance
    weights, the thread reader and the default config, and names the console script."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("comment_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for backend in ("minilm", "static"):
        for file in ("card.json", "stance.npz", "thread_reader.json"):
            assert f"pipeline/stance_model/weights/{backend}/stance-heads/{file}" in names
    assert any(n.endswith(".data/data/share/comment-pipeline/configs/default.yaml") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "comment-pipeline = " in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_counting_the_subfolders_dumps_stops_early_and_says_at_least(tmp_path, monkeypatch):
    """The count behind the messages reads a bounded number of entries (a folder of very many
    big subfolders is not listed whole to word a hint)."""
    from pipeline import dumps
    from pipeline.errors import PipelineError

    for sub, n in (("a", 3), ("b", 3), ("c", 3)):
        (tmp_path / "dumps" / sub).mkdir(parents=True)
        for k in range(n):
            (tmp_path / "dumps" / sub / f"t{k}.jsonl").write_text("{}")
    assert dumps._dumps_in_subfolders(tmp_path / "dumps").counts == {"a": 3, "b": 3, "c": 3}
    monkeypatch.setattr(dumps, "SUBFOLDER_ENTRIES", 5)
    with pytest.raises(PipelineError, match=r"its subfolders hold at least 5 dump files \(a/ 3, b/ 2\)"):
        dumps.find_dumps([str(tmp_path / "dumps")])
    monkeypatch.setattr(dumps, "SUBFOLDER_ENTRIES", 0)
    with pytest.raises(PipelineError, match=r"dumps: no dumps in this folder \(a dump is"):
        dumps.find_dumps([str(tmp_path / "dumps")])

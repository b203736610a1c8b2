"""The artifact folder swap (pipeline/swap.py) under a failure or a signal at
each of its steps: the old folder or the new one is always in place, a
user's files in it are never lost, and an interrupt is reported truthfully."""
import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from pipeline import artifacts, runner, swap
from pipeline.errors import INTERRUPTED, Interrupted, PipelineError
from pipeline.stage_cache import sha256_of

NAME = "dump"
OLD_RUN = {"comments.jsonl": b"old rows\n", "review/review.csv": b"comment_id,reviewed_stance\n"}
NEW_RUN = {"comments.jsonl": b"new rows\n", "review/review.csv": b"comment_id,reviewed_stance,x\n",
           "topics.csv": b"topic_id\n"}
USER = {"notes.txt": b"my notes\n", "review/review.csv": b"comment_id,reviewed_stance\nc1,agree\n",
        "review/export.json": b"[]\n", "review/agreement.json": b"{}\n"}
# what the user made, and where it is after the swap: their review sheet keeps its place
USER_AFTER = dict(USER)


def write_run(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    manifest = {"files": {rel: sha256_of(folder / rel) for rel in files}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def out(tmp_path):
    """An output folder with an earlier run's artifacts that a user has worked in."""
    out = tmp_path / "out"
    target = out / NAME
    target.mkdir(parents=True)
    write_run(target, OLD_RUN)
    for rel, data in USER.items():
        (target / rel).write_bytes(data)
    (out / "notes_beside.txt").write_bytes(b"kept beside the dumps' folders\n")
    return out


def new_run(out: Path) -> None:
    """A run's writes into a staged folder, as process_dump does them."""
    with artifacts.staged_folder(out, NAME) as staging:
        for rel, data in NEW_RUN.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_bytes(data)
        files = {rel: sha256_of(staging / rel) for rel in NEW_RUN}
        kept = artifacts.carry_user_files(out / NAME, staging)
        (staging / "manifest.json").write_text(json.dumps(
            {"files": {rel: d for rel, d in files.items() if rel not in kept}}))


def is_old(folder: Path) -> bool:
    found = contents(folder)
    return all(found.get(rel) == data for rel, data in {**OLD_RUN, **USER}.items())


def is_new(folder: Path) -> bool:
    found = contents(folder)
    expected = {**NEW_RUN, **USER_AFTER}
    return all(found.get(rel) == data for rel, data in expected.items())


def hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


def test_a_rerun_keeps_what_the_user_made_and_replaces_the_rest(out):
    new_run(out)
    target = out / NAME
    assert is_new(target)
    assert set(contents(target)) == set(NEW_RUN) | set(USER) | {"manifest.json"}
    assert hidden(out) == [] and (out / "notes_beside.txt").exists()
    # the reviewers' sheet is theirs now: the manifest no longer lists it as the run's
    assert "review/review.csv" not in json.loads((target / "manifest.json").read_text())["files"]
    new_run(out)  # and again: nothing doubles, nothing goes
    assert is_new(target) and set(contents(target)) == set(NEW_RUN) | set(USER) | {"manifest.json"}


def test_a_run_file_the_user_changed_is_kept_beside_the_new_one(out):
    (out / NAME / "comments.jsonl").write_bytes(b"rows fixed by hand\n")
    new_run(out)
    assert (out / NAME / "comments.jsonl").read_bytes() == NEW_RUN["comments.jsonl"]
    assert (out / NAME / "comments.yours.jsonl").read_bytes() == b"rows fixed by hand\n"
    new_run(out)
    assert not (out / NAME / "comments.yours-2.jsonl").exists()


# every call the swap makes that touches the disk, by (module, name)
STEPS = [(os, "replace"), (os, "link"), (shutil, "copy2"), (shutil, "rmtree"), (os, "walk"),
         (os, "mkdir"), (os, "symlink")]


def count_calls(monkeypatch, out) -> dict[str, int]:
    counts: dict[str, int] = {}
    for module, name in STEPS:
        real = getattr(module, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            counts[_name] = counts.get(_name, 0) + 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, counting)
    new_run(out)
    monkeypatch.undo()
    return counts


def each_step():
    """(name, call number) for every disk call of a clean run over `out`."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch, pytest.MonkeyPatch.context() as monkeypatch:
        out = Path(scratch) / "out"
        (out / NAME).mkdir(parents=True)
        write_run(out / NAME, OLD_RUN)
        for rel, data in USER.items():
            (out / NAME / rel).write_bytes(data)
        counts = count_calls(monkeypatch, out)
    return [(name, k) for name, n in sorted(counts.items()) for k in range(1, n + 1)]


STEP_CALLS = each_step()


def inject(monkeypatch, name: str, at: int, action) -> None:
    module = next(m for m, n in STEPS if n == name)
    real = getattr(module, name)
    calls = [0]

    def patched(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            action()
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, patched)


def test_the_steps_cover_the_swap():
    names = {name for name, _ in STEP_CALLS}
    assert {"replace", "link", "rmtree", "walk"} <= names
    assert sum(1 for name, _ in STEP_CALLS if name == "replace") >= 3  # aside, into place, to the trash


@pytest.mark.parametrize("name, at", STEP_CALLS)
def test_a_failure_at_any_step_loses_nothing(out, monkeypatch, name, at):
    def fail():
        raise OSError(5, "Input/output error")
    inject(monkeypatch, name, at, fail)
    try:
        new_run(out)
    except PipelineError as error:
        assert "cannot write artifacts" in str(error) or "put" in str(error)
    monkeypatch.undo()
    target = out / NAME
    assert is_old(target) or is_new(target), contents(target)
    swap.recover_under_lock(target)  # what the next run does first
    assert is_old(target) or is_new(target)
    assert hidden(out) == [] or all(".staging-" in n for n in hidden(out))
    new_run(out)  # and the next run finishes the job
    assert is_new(target) and hidden(out) == []


@pytest.fixture
def cli_handlers():
    from pipeline.cli import _interrupt

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for number in before:
        signal.signal(number, _interrupt)
    yield
    for number, handler in before.items():
        signal.signal(number, handler)
    INTERRUPTED.clear()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("name, at", STEP_CALLS)
def test_a_signal_at_any_step_leaves_one_whole_folder_and_says_which(out, monkeypatch, cli_handlers,
                                                                    name, at, sig):
    inject(monkeypatch, name, at, lambda: signal.raise_signal(sig))
    with pytest.raises(KeyboardInterrupt) as raised:
        new_run(out)
    monkeypatch.undo()
    target = out / NAME
    if isinstance(raised.value, Interrupted):  # after the swap: the new folder, whole
        assert raised.value.replaced == [str(target)]
        assert is_new(target)
    else:  # before it: the old one, as it was
        assert is_old(target)
    assert hidden(out) == []


def test_a_swap_killed_between_its_renames_is_put_back_by_the_next_run(out):
    target = out / NAME
    os.replace(target, out / f".{NAME}.old-0123abcd")  # what a kill between the renames leaves
    swap.recover_under_lock(target)
    assert is_old(target) and hidden(out) == []


def test_a_swap_killed_before_it_deleted_the_old_folder_is_finished_by_the_next_run(out):
    target = out / NAME
    old = out / f".{NAME}.old-0123abcd"
    os.replace(target, old)
    (old / "late_notes.txt").write_bytes(b"saved while the swap ran\n")
    target.mkdir()
    write_run(target, NEW_RUN)
    swap.recover_under_lock(target)
    assert hidden(out) == []
    assert (target / "late_notes.txt").read_bytes() == b"saved while the swap ran\n"
    assert (target / "notes.txt").read_bytes() == USER["notes.txt"]


def test_the_cli_does_not_claim_unchanged_artifacts_after_a_swap(monkeypatch, capsys, tmp_path):
    from pipeline import cli

    def interrupted_after_the_swap(inputs, config):
        raise Interrupted([tmp_path / "out" / "a"])
    monkeypatch.setattr(runner, "run", interrupted_after_the_swap)
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)
    assert cli.main(["run", "x.txt"]) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "earlier artifacts are unchanged" not in err
    assert f"new artifacts in {tmp_path / 'out' / 'a'}" in err


@pytest.mark.parametrize("files", [
    ["..txt", "b.txt"], ["...txt", "b.txt"], [".hidden.txt"], ["a.txt", "a.jsonl"], ["A.txt", "a.txt"],
    ["index.html.txt", "b.txt"], ["x" * 250 + ".txt", "x" * 250 + ".jsonl"], ["a\x01b.txt", "a_b.txt"],
])
def test_artifact_folder_names_are_safe_and_distinct(tmp_path, files):
    names = runner.artifact_names([tmp_path / name for name in files])
    out = tmp_path / "out"
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        assert name and name not in (".", "..", "index.html") and not name.startswith(".")
        assert len(name.encode()) <= runner.MAX_NAME_BYTES
        assert (out / name).resolve().parent == out.resolve()


def test_names_a_dump_can_give_are_kept_as_they_were():
    dumps = [Path("d/elm_street_bike_lane.txt"), Path("d/one.jsonl"), Path("e/one.jsonl"), Path("d/two.txt"),
             Path("d/two.jsonl")]
    assert runner.artifact_names(dumps) == ["elm_street_bike_lane", "one_jsonl", "e_one_jsonl",
                                            "two_txt", "two_jsonl"]


@pytest.mark.parametrize("name", [".", "..", "", ".hidden", "a/b"])
def test_an_unsafe_folder_name_is_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(ValueError):
        with artifacts.staged_folder(tmp_path / "out", name):
            pass
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []

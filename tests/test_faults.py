"""Interruptions and concurrent runs: earlier artifacts stay whole, caches stay sound."""
import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import EXAMPLE_DUMP, ROOT

KEPT = ("comments.jsonl", "topics.csv", "thread.json")


def start_run(tmp_path, out="out"):
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(EXAMPLE_DUMP), "--out", str(tmp_path / out),
         "--set", f"cache_dir={tmp_path / 'cache'}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(process, marker: str, timeout: float = 300) -> str:
    seen = ""
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        seen += line
        if marker in line:
            return seen
    raise AssertionError(f"never saw {marker!r}:\n{seen}")


@pytest.mark.parametrize("sig, stage", [(signal.SIGINT, "topics ..."), (signal.SIGTERM, "stance ..."),
                                        (signal.SIGTERM, "clean ...")])
def test_killed_run_keeps_old_artifacts_and_the_next_run_resumes(tmp_path, example_run, sig, stage):
    out = tmp_path / "out" / EXAMPLE_DUMP.stem
    out.mkdir(parents=True)
    (out / "comments.jsonl").write_text("previous artifacts\n")
    process = start_run(tmp_path)
    wait_for(process, stage)
    process.send_signal(sig)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    assert "earlier artifacts are unchanged" in rest and "Traceback" not in rest
    assert (out / "comments.jsonl").read_text() == "previous artifacts\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [EXAMPLE_DUMP.stem]  # no staging left

    process = start_run(tmp_path)
    process.communicate(timeout=600)
    assert process.returncode == 0
    for name in KEPT:
        assert (out / name).read_bytes() == (example_run.folder / name).read_bytes(), name
    stages = json.loads((out / "manifest.json").read_text())["stages"]
    assert stages["ingest"]["from_cache"] is True
    if stage != "clean ...":
        assert stages["clean"]["from_cache"] is True


@pytest.mark.slow
def test_changing_one_key_reruns_only_what_depends_on_it(tmp_path):
    first = start_run(tmp_path)
    first.communicate(timeout=600)
    process = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(EXAMPLE_DUMP), "--out", str(tmp_path / "out"),
         "--set", f"cache_dir={tmp_path / 'cache'}", "--set", "topics.outlier_threshold=0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stderr
    stages = json.loads((tmp_path / "out" / EXAMPLE_DUMP.stem / "manifest.json").read_text())["stages"]
    assert {name: facts.get("from_cache") for name, facts in stages.items()} == {
        "ingest": True, "clean": True, "embed": None, "replies": None, "topics": False, "stance": True,
        "layout": False, "export": None}  # the map comes from the topic stage's own UMAP, so it follows topics
    assert stages["embed"]["encoded"] == 0


def test_two_runs_at_once_on_the_same_dump(tmp_path, example_run):
    runs = [start_run(tmp_path), start_run(tmp_path)]
    for process in runs:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    out = tmp_path / "out" / EXAMPLE_DUMP.stem
    for name in KEPT:
        assert (out / name).read_bytes() == (example_run.folder / name).read_bytes(), name
    assert [p.name for p in (tmp_path / "out").iterdir()] == [EXAMPLE_DUMP.stem]
    shards = list((tmp_path / "cache" / "embeddings").rglob("*.json"))
    assert 1 <= len(shards) <= 2  # each run writes its own shard; neither is damaged


@pytest.mark.slow
def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    process = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(EXAMPLE_DUMP), "--out", str(blocker / "out"),
         "--set", f"cache_dir={tmp_path / 'cache'}", "--set", "topics.enabled=false",
         "--set", "stance.enabled=false"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 2
    assert "cannot write artifacts" in process.stderr and "Traceback" not in process.stderr
    assert blocker.read_text() == "a file where the output folder should be"


def test_unwritable_output_is_reported_before_any_stage_runs(tmp_path, config, monkeypatch):
    """Tests run as root, whom permissions do not stop: the output folder's
    place is taken by a file, which stops everyone."""
    from pipeline import runner
    from pipeline.errors import PipelineError

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the output folder was checked")

    monkeypatch.setattr(runner, "run_stages", no_work)
    monkeypatch.setattr(runner, "make_executor", no_work)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    settings = dict(config, output_dir=str(blocker / "out"), cache_dir=str(tmp_path / "cache"))
    with pytest.raises(PipelineError) as caught:
        runner.run([str(EXAMPLE_DUMP)], settings)
    assert str(caught.value).startswith(f"{blocker / 'out'}: cannot write artifacts: Not a directory")
    assert "choose a writable output_dir" in str(caught.value)
    assert blocker.read_text() == "a file where the output folder should be"


def test_full_disk_is_a_clear_error_and_keeps_old_artifacts(example_run, monkeypatch):
    import errno

    from pipeline import export, runner
    from pipeline.errors import PipelineError

    before = {p.name: p.read_bytes() for p in example_run.folder.rglob("*") if p.is_file()}

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export, "write_json", no_space)
    monkeypatch.setattr(runner, "up_to_date", lambda *args: False)  # whichever test ran before
    with pytest.raises(PipelineError, match="cannot write artifacts: No space left on device"):
        runner.run([str(example_run.dump)], example_run.config)
    after = {p.name: p.read_bytes() for p in example_run.folder.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in example_run.folder.parent.iterdir() if p.name.startswith(".")]


@pytest.fixture
def small_disk(tmp_path):
    """A real 256 KB file system (tmpfs): smaller than one run's artifacts."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'}); "
                    "the injected-ENOSPC test above covers the code path")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_a_really_full_disk_fails_cleanly_and_keeps_what_was_there(small_disk, example_run):
    old = small_disk / "artifacts" / example_run.folder.name
    old.mkdir(parents=True)
    (old / "comments.jsonl").write_text("the previous run's rows\n")
    process = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(example_run.dump), "--out", str(small_disk / "artifacts"),
         "--set", f"cache_dir={example_run.config['cache_dir']}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 2, process.stderr[-2000:]
    last = process.stderr.strip().splitlines()[-1]
    assert "No space left on device" in last and "Traceback" not in process.stderr, last
    assert sorted(p.name for p in (small_disk / "artifacts").iterdir()) == [old.name]  # no staging left
    assert [p.name for p in old.iterdir()] == ["comments.jsonl"]
    assert (old / "comments.jsonl").read_text() == "the previous run's rows\n"


def test_an_interrupt_a_library_swallowed_still_stops_before_the_swap(tmp_path):
    """A KeyboardInterrupt lost inside a library must not let the run replace
    the earlier artifacts: the flag set by the signal handler stops it."""
    from pipeline import artifacts
    from pipeline.errors import INTERRUPTED
    from pipeline.runner import RunLog
    from pipeline.stage_cache import StageCache

    earlier = tmp_path / "out" / "dump"
    earlier.mkdir(parents=True)
    (earlier / "comments.jsonl").write_text("earlier\n")
    INTERRUPTED.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            with RunLog("dump", StageCache(tmp_path / "cache", False)).stage("topics"):
                pass
        with pytest.raises(KeyboardInterrupt):
            with artifacts.staged_folder(tmp_path / "out", "dump") as staging:
                (staging / "comments.jsonl").write_text("new\n")
    finally:
        INTERRUPTED.clear()
    assert (earlier / "comments.jsonl").read_text() == "earlier\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["dump"]


SIGNAL_IN_THE_SWAP = """
import os, signal, sys
from pipeline import cli
real = os.replace
def replace(src, dst, *args, **kwargs):
    if ".staging-" in str(src):  # the new folder about to take the old one's place
        os.kill(os.getpid(), signal.SIGTERM)
    return real(src, dst, *args, **kwargs)
os.replace = replace
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_signal_inside_the_swap_waits_for_it_and_the_cli_says_what_happened(tmp_path, example_run):
    out = tmp_path / "out" / example_run.folder.name
    shutil.copytree(example_run.folder, out)
    (out / "notes.txt").write_text("mine\n")
    process = subprocess.run(
        [sys.executable, "-c", SIGNAL_IN_THE_SWAP, "run", str(example_run.dump), "--out", str(tmp_path / "out"),
         "--set", f"cache_dir={example_run.config['cache_dir']}", "--set", "seed=7"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert process.returncode == 130, process.stderr[-2000:]
    assert f"interrupted: new artifacts in {out}" in process.stderr
    assert "earlier artifacts are unchanged" not in process.stderr
    assert json.loads((out / "manifest.json").read_text())["config"]["seed"] == 7
    assert (out / "notes.txt").read_text() == "mine\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == [out.name]  # nothing hidden aside

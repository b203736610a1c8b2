"""The Ray executor gives the local run's artifacts byte for byte: on a local Ray
of two workers, and on a two-node Ray cluster started on this machine (`ray
start --head`, `ray start --address`, one CPU each). Ray's work happens under
the stage cache: a rerun the cache answers sends Ray nothing."""
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLE_DUMP, REAL_DUMP, cli

if os.environ.get("CI") and not os.environ.get("SKIP_RAY"):
    import ray  # noqa: F401  (CI installs the ray extra: a missing Ray is a failure there)
else:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

pytestmark = pytest.mark.slow


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def without_ray_address() -> dict:
    """A local Ray, not a cluster someone left in the environment."""
    return {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("ray")
    broken = base / "broken.jsonl"
    broken.write_text('{"type": "article", "title": "T"}\n{"type": "comment", "id": 1\n', encoding="utf-8")
    result = cli("run", str(EXAMPLE_DUMP), str(broken), "--out", str(base / "artifacts"),
                 "--set", f"cache_dir={base / 'cache'}", "--set", "executor=ray", "--set", "ray.workers=2",
                 "--set", "ray.batch_size=8", cwd=base, env=without_ray_address())
    return result, base


def test_ray_run_gives_the_local_artifacts_byte_for_byte(ray_run, example_run):
    result, base = ray_run
    folder = base / "artifacts" / EXAMPLE_DUMP.stem
    # every file the run wrote but the manifest (which says where it ran), by its sha256
    assert manifest(folder)["files"] == manifest(example_run.folder)["files"]
    about = manifest(folder)["executor"]
    assert about["name"] == "ray" and about["workers"] == 2
    # 48 comments in batches of 8 went to clean and stance, each call's model loaded on each worker
    assert about["map"]["pipeline.clean.clean_batch"]["batches"] == 6
    assert about["map"]["pipeline.stance.score_batch"]["items"] == 47
    assert {s for s, facts in manifest(folder)["stages"].items() if facts.get("ran_on") == "ray"} == \
        {"clean", "embed", "stance"}


def test_a_cached_rerun_does_no_ray_work(ray_run):
    """The same dump into a new folder with the stage cache filled: every stage
    from the cache, so Ray is not even started."""
    _, base = ray_run
    result = cli("run", str(EXAMPLE_DUMP), "--out", str(base / "again"), "--set", f"cache_dir={base / 'cache'}",
                 "--set", "executor=ray", "--set", "ray.workers=2", "--set", "ray.batch_size=8", cwd=base,
                 env=without_ray_address())  # the same batches: ray.batch_size is in clean's and stance's keys
    assert result.returncode == 0, result.stderr
    again = manifest(base / "again" / EXAMPLE_DUMP.stem)
    assert again["executor"]["map"] == {} and again["executor"]["ray_version"] is None
    assert all(facts.get("from_cache") for name, facts in again["stages"].items()
               if name in ("ingest", "clean", "topics", "stance", "layout"))
    assert not any("ran_on" in facts for facts in again["stages"].values())
    assert again["files"] == manifest(base / "artifacts" / EXAMPLE_DUMP.stem)["files"]


def test_ray_run_reports_a_bad_dump_and_keeps_the_good_one(ray_run):
    result, base = ray_run
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "broken.jsonl:2: broken JSON" in last and "Traceback" not in result.stderr
    assert (base / "artifacts" / EXAMPLE_DUMP.stem / "comments.jsonl").exists()
    assert not (base / "artifacts" / "broken").exists()


def test_the_executors_import_no_stage_module():
    """An executor is handed functions; it knows no stage (pipeline/executors/_base.py)."""
    stage_modules = {"ingest", "clean", "embed", "replies", "topics", "stance", "plots", "export", "stages"}
    for path in (Path(__file__).parent.parent / "pipeline" / "executors").glob("*.py"):
        imports = [line for line in path.read_text().splitlines()
                   if line.lstrip().startswith(("import pipeline", "from pipeline"))]
        for line in imports:
            module = line.split()[1].split(".")
            named = set(module[1:2]) | {n.strip(",") for n in line.split(" import ")[-1].split()}
            assert not (named & stage_modules), f"{path.name}: {line}"


def test_a_worker_error_reaches_the_user_as_the_projects_own():
    from pipeline.errors import PipelineError
    from pipeline.executors.ray import root_cause

    inner = PipelineError("broken JSON", path="d.jsonl", line=3)
    wrapped = RuntimeError("task failed")
    wrapped.cause = ValueError("wrapper")
    wrapped.cause.__cause__ = inner
    assert root_cause(wrapped) is inner
    plain = KeyError("x")
    assert root_cause(plain) is plain


# --- a two-node cluster on this machine ----------------------------------------------------------

@pytest.fixture(scope="module")
def two_nodes():
    """`ray start --head` and a second `ray start --address`, one CPU each (Ray 2.60
    asks for RAY_AUTH_MODE=disabled to run without a token); only those two stopped
    afterwards (bench/ray_bench.py's cluster)."""
    from bench.ray_bench import cluster

    with cluster(2) as env:
        yield env["RAY_ADDRESS"], env


def test_a_two_node_cluster_gives_the_local_artifacts(two_nodes, tmp_path):
    """Several threads (the example and, where ../shared is here, the real dump),
    on both nodes (batches of 8 go to two one-CPU actors, one a node), against a
    local run in the same test: every artifact byte for byte."""
    address, env = two_nodes
    folder = tmp_path / "dumps"
    folder.mkdir()
    shutil.copy(EXAMPLE_DUMP, folder)
    if REAL_DUMP.exists():
        shutil.copy(REAL_DUMP, folder)
    common = ["--set", "ray.batch_size=8"]
    local = cli("run", str(folder), "--out", str(tmp_path / "local"), "--set", f"cache_dir={tmp_path / 'c1'}",
                *common, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    cluster = cli("run", str(folder), "--out", str(tmp_path / "cluster"), "--set", f"cache_dir={tmp_path / 'c2'}",
                  "--set", "executor=ray", *common, cwd=tmp_path, env=dict(env, RAY_ADDRESS=address))
    assert cluster.returncode == 0, cluster.stderr
    names = sorted(p.stem for p in folder.iterdir())
    for name in names:
        ran = manifest(tmp_path / "cluster" / name)
        assert ran["executor"]["address"] == address and ran["executor"]["workers"] == 2
        assert ran["executor"]["nodes"] == 2, name  # both nodes did work for this thread
        assert ran["files"] == manifest(tmp_path / "local" / name)["files"], name

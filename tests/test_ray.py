"""The Ray executor on a local Ray of two workers gives the local run's artifacts."""
import json
import os

import pytest

from conftest import EXAMPLE_DUMP, cli

if os.environ.get("CI") and not os.environ.get("SKIP_RAY"):
    import ray  # noqa: F401  (CI installs the ray extra: a missing Ray is a failure there)
else:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("ray")
    broken = base / "broken.jsonl"
    broken.write_text('{"type": "article", "title": "T"}\n{"type": "comment", "id": 1\n', encoding="utf-8")
    # a local Ray, not a cluster someone left in the environment
    local = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    result = cli("run", str(EXAMPLE_DUMP), str(broken), "--out", str(base / "artifacts"),
                 "--set", f"cache_dir={base / 'cache'}", "--set", "executor=ray", "--set", "ray.workers=2",
                 cwd=base, env=local)
    return result, base / "artifacts"


def test_ray_run_gives_the_local_artifacts(ray_run, example_run):
    result, artifacts = ray_run
    folder = artifacts / EXAMPLE_DUMP.stem
    assert (folder / "topics.csv").read_bytes() == (example_run.folder / "topics.csv").read_bytes()
    # every column byte for byte but the thread reader's probabilities: it reads the article's
    # vector from the embedding cache, which Ray's workers fill in other batches (int8 vectors
    # move with their batch-mates, docs/caching.md); those within 0.03, the labels the same
    ray_rows = [json.loads(line) for line in (folder / "comments.jsonl").read_text().splitlines()]
    local_rows = [json.loads(line) for line in (example_run.folder / "comments.jsonl").read_text().splitlines()]
    assert len(ray_rows) == len(local_rows)
    for ray_row, local_row in zip(ray_rows, local_rows):
        floats = {k for k in local_row if k == "stance_confidence" or k.startswith("p_")}
        assert {k: v for k, v in ray_row.items() if k not in floats} == \
            {k: v for k, v in local_row.items() if k not in floats}
        for k in floats:
            assert (ray_row[k] is None) == (local_row[k] is None)
            assert local_row[k] is None or abs(ray_row[k] - local_row[k]) <= 0.03, (local_row["comment_id"], k)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["executor"]["name"] == "ray" and manifest["executor"]["workers"] == 2
    assert set(manifest["executor"]["seconds_all_dumps"]) == {"ingest", "clean", "embed", "stance"}
    assert all(manifest["stages"][s]["ran_on"] == "ray" for s in ("ingest", "clean", "stance"))


def test_ray_run_reports_a_bad_dump_and_keeps_the_good_one(ray_run):
    result, artifacts = ray_run
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "broken.jsonl:2: broken JSON" in last and "Traceback" not in result.stderr
    assert (artifacts / EXAMPLE_DUMP.stem / "comments.jsonl").exists()
    assert not (artifacts / "broken").exists()


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

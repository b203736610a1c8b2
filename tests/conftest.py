"""Shared fixtures. Models and full pipeline runs are session-scoped: loading
them and UMAP's first compile cost tens of seconds each."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.offline import go_offline

go_offline()

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DUMP = ROOT / "examples" / "dumps" / "elm_street_bike_lane.txt"
SHARED = ROOT.parent / "shared"
REAL_DUMP = SHARED / "dumps" / "southfront_deir_ezzor.txt"

def cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m pipeline ARGS` as a user types it, from `cwd`."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


needs_shared = pytest.mark.skipif(not REAL_DUMP.exists(), reason="../shared/dumps is not here")
FULL_RUNS = {"example_run", "real_run"}  # the fixtures below that run the whole pipeline


def pytest_collection_modifyitems(items):
    """A test that needs a full pipeline run is slow, in whichever file it is;
    tests that run the pipeline themselves carry the mark where they are."""
    for item in items:
        if FULL_RUNS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def config():
    from pipeline.config import load_config

    return load_config()


@pytest.fixture(scope="session")
def nlp(config):
    from pipeline.tokens import load_nlp

    return load_nlp(config["clean"]["spacy_model"], config["clean"]["lemmatizer"])


@pytest.fixture(scope="session")
def embedder(config):
    from pipeline.embed import Embedder

    return Embedder.from_config(config["embed"]).load()


@pytest.fixture(scope="session")
def example_thread():
    from pipeline.ingest import parse_dump

    return parse_dump(EXAMPLE_DUMP.read_bytes(), str(EXAMPLE_DUMP))


@dataclass
class Run:
    folder: Path  # artifacts/<dump name>/
    config: dict
    dump: Path


def _run_once(tmp_path_factory, dump: Path, tag: str) -> Run:
    from pipeline import runner
    from pipeline.config import load_config

    base = tmp_path_factory.mktemp(tag)
    config = load_config(None, [f"output_dir={base / 'artifacts'}", f"cache_dir={base / 'cache'}"])
    (folder,) = runner.run([str(dump)], config)
    return Run(folder, config, dump)


@pytest.fixture(scope="session")
def example_run(tmp_path_factory) -> Run:
    """One full run on the shipped example dump, with its own cache."""
    return _run_once(tmp_path_factory, EXAMPLE_DUMP, "example")


@pytest.fixture(scope="session")
def real_run(tmp_path_factory) -> Run:
    if not REAL_DUMP.exists():
        pytest.skip("../shared/dumps is not here")
    return _run_once(tmp_path_factory, REAL_DUMP, "real")

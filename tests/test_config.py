import pytest

from pipeline.config import load_config
from pipeline.errors import PipelineError


def test_defaults_load(config):
    assert config["topics"]["min_topic_size"] == "auto"
    assert config["embed"]["model"] == "all-MiniLM-L6-v2"


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("topics:\n  min_topic_size: 7\nembed:\n  batch_size: 16\n")
    config = load_config(path, ["topics.min_topic_size=5", "embed.cache=false"])
    assert config["topics"]["min_topic_size"] == 5
    assert config["embed"]["batch_size"] == 16 and config["embed"]["cache"] is False
    assert config["clean"]["near_empty_tokens"] == 3  # untouched keys keep their default


def test_unknown_key_names_closest_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 1\ntopics:\n  min_topic_sise: 7\n")
    with pytest.raises(PipelineError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}:3: unknown config key 'topics.min_topic_sise' "
                                 "(did you mean 'topics.min_topic_size'?)")


@pytest.mark.parametrize("override, expected", [
    ("embed.batch_size=big", "must be an integer"),
    ("topics.min_topic_size=many", "must be a number or 'auto'"),
    ("embed.cache=3", "must be true or false"),
    ("topics.cluster_selection=kmeans", "must be one of"),
    ("topics.min_topic_size=1", "must be at least 2"),
    ("topics.n_components=0", "must be at least 2"),
    ("topics.outlier_threshold=3", "at most 1"),
])
def test_wrong_type_names_expected_type(override, expected):
    with pytest.raises(PipelineError) as caught:
        load_config(None, [override])
    assert expected in str(caught.value) and str(caught.value).startswith("--set: ")


def test_broken_yaml_names_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("topics:\n  min_topic_size: [1\n")
    with pytest.raises(PipelineError, match=r"c\.yaml:\d+: invalid YAML"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(PipelineError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_the_configuration_doc_documents_every_key_with_its_default(config):
    from conftest import ROOT
    from pipeline.config import _flatten

    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key, value in _flatten(config).items():
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        assert f"| `{key}` | `{shown}` |" in doc, key

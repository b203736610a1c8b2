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


def test_broken_yaml_names_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("topics:\n  min_topic_size: [1\n")
    with pytest.raises(PipelineError, match=r"c\.yaml:\d+: invalid YAML"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(PipelineError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_the_configuration_doc_documents_every_key_with_its_default():
    from conftest import ROOT
    from pipeline.config import DEFAULT_CONFIG, _flatten, _read_yaml

    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key, value in _flatten(_read_yaml(DEFAULT_CONFIG)[0]).items():  # as written, before 'auto' is resolved
        shown = str(value).lower() if isinstance(value, bool) else str(value)
        assert f"| `{key}` | `{shown}` |" in doc, key


@pytest.mark.parametrize("override, expected", [
    ("embed.batch_size=big", "must be an integer"),
    ("topics.min_topic_size=many", "must be an integer or 'auto'"),
    ("embed.cache=3", "must be true or false"),
    ("topics.cluster_selection=kmeans", "must be one of"),
    ("topics.min_topic_size=1", "must be at least 2"),
    ("topics.n_components=0", "must be at least 2"),
    ("topics.outlier_threshold=3", "at most 1"),
    ("seed=-1", "'seed' must be at least 0"),
    ("seed=4294967296", "'seed' must be at most 4294967295"),  # numpy's RandomState takes 32 bits
    ("topics.outlier_threshold=.nan", "must be a finite number"),
    ("topics.outlier_threshold=-.inf", "must be a finite number"),
    ("topics.min_topic_size=2.5", "must be an integer or 'auto'"),
    ("ray.workers=0.5", "must be an integer or 'auto'"),
    ("clean.max_chars=99999999999", "must be at most 2147483647"),
    ("topics.ngram_max=1000", "must be at most 6"),
    ("topics.scope=outlet", "'topics.scope' must be one of thread, corpus"),
    ("topics.corpus_sample=5", "'topics.corpus_sample' must be at least 20"),
    ("topics.refit=yes-please", "'topics.refit' must be true or false"),
    ("output_dir=", "must be a non-empty string"),
    ("cache_dir=' '", "must be a non-empty string"),
    ("embed.device=gpu0", "must be cpu, cuda, cuda:N or mps"),
    ("embed.max_seq_length=1024", "more than the 512 word pieces"),
])
def test_every_value_is_checked_with_its_fix(override, expected):
    with pytest.raises(PipelineError) as caught:
        load_config(None, [override])
    message = str(caught.value)
    assert expected in message and message.startswith("--set: ") and "\n" not in message
    assert "(the default is" in message or "(set it to 512 or less)" in message


def test_max_seq_length_is_checked_against_the_model_with_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 1\nembed:\n  max_seq_length: 513\n")
    with pytest.raises(PipelineError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}:3: config key 'embed.max_seq_length' is 513, more than the 512 "
                                 "word pieces the model all-MiniLM-L6-v2 reads (set it to 512 or less)")
    assert load_config(None, ["embed.max_seq_length=512"])["embed"]["max_seq_length"] == 512


BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.parametrize("text, line", [
    ("seed: &s 7\noutput_dir: out\ncache_dir: *s\n", 1),
    (BILLION_LAUGHS, 1),
])
def test_yaml_anchors_and_aliases_are_refused(tmp_path, text, line):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line}: YAML anchors and aliases")


def test_yaml_nested_deeper_than_a_config_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(PipelineError, match=r"c\.yaml:1: YAML nested more than 8 levels deep"):
        load_config(path)
    with pytest.raises(PipelineError, match=r"--set: YAML anchors and aliases"):
        load_config(None, ["seed=[&x 1, *x]"])


def test_a_bad_value_stops_the_cli_before_any_stage(tmp_path):
    from conftest import EXAMPLE_DUMP, cli

    path = tmp_path / "c.yaml"
    path.write_text("topics:\n  outlier_threshold: .nan\n")
    process = cli("run", str(EXAMPLE_DUMP), "--config", str(path), "--out", str(tmp_path / "out"),
                  "--set", f"cache_dir={tmp_path / 'cache'}")
    assert process.returncode == 2
    assert process.stderr.strip().splitlines() == [
        f"error: {path}:2: config key 'topics.outlier_threshold' must be a finite number, got nan "
        "(the default is 0.3)"]
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_embed_backend_auto_is_the_machines_fastest_and_the_config_says_which():
    from pipeline.machine import auto_backend

    assert auto_backend("cpu", {"avx2", "avx512f", "amx_tile", "amx_bf16"}) == "torch-bf16"
    assert auto_backend("cpu", {"avx2", "avx512f", "avx512_bf16", "avx512_vnni"}) == "onnx-int8"  # no AMX
    assert auto_backend("cpu", set()) == "onnx-int8"  # not Linux, or nothing known
    assert auto_backend("cuda:0", {"amx_bf16"}) == "torch"
    config = load_config()
    assert config["embed"]["backend"] == auto_backend("cpu")  # resolved once, as the run records it
    assert load_config(None, ["embed.backend=onnx-int8"])["embed"]["backend"] == "onnx-int8"
    assert load_config(None, ["embed.device=cuda"])["embed"]["backend"] == "torch"
    with pytest.raises(PipelineError, match="embed.backend' must be one of auto, torch, torch-bf16"):
        load_config(None, ["embed.backend=bf16"])
    with pytest.raises(PipelineError, match="embed.backend' must be one of"):
        load_config(None, ["embed.backend=3"])

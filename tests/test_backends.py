"""Embedding backends built offline from the packaged model: ONNX (fp32, int8) and static."""
import logging

import numpy as np
import pytest

from pipeline import stance
from pipeline.backends import RECIPES
from pipeline.embed import Embedder, embed_texts
from pipeline.records import Article

pytestmark = pytest.mark.slow  # builds ONNX graphs and a static model (minutes on 2 cores)

@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def texts(example_thread):
    return [c.text for c in example_thread.comments if c.text]


BUILT = ["done", "int8_check.json", "model_pooled.onnx", "model_pooled_qint8.onnx"]


def backend(name, models_dir, config):
    return Embedder.from_config({**config["embed"], "backend": name}, models_dir).load()


@pytest.mark.parametrize("name, mean_cos, min_cos", [("onnx", 0.9999, 0.9999), ("onnx-int8", 0.99, 0.95),
                                                     ("torch-bf16", 0.9999, 0.999)])
def test_each_backend_gives_the_models_vectors(name, mean_cos, min_cos, models_dir, config, texts):
    onnx = backend(name, models_dir, config)
    vectors = onnx.encode(texts)
    torch = backend("torch", models_dir, config)
    reference = torch.encode(texts)
    cos = (vectors * reference).sum(axis=1)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert cos.mean() >= mean_cos and cos.min() >= min_cos
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert onnx.info_.fingerprint == f"{torch.info_.fingerprint}-{name}-{RECIPES[name]}"  # its own cache entries
    # order does not matter: each vector comes back to its own text's row (another text's vector
    # is at cosine 0.2 to 0.8). Not to the bit: where a kernel's result depends on a row's place in
    # its batch, two texts of equal length that swap places differ in the last bits (torch-bf16 on
    # an AVX-512 Xeon without bfloat16 instructions: 5.6e-4 at most, in two of 47 rows)
    np.testing.assert_allclose(onnx.encode(texts[::-1])[::-1], vectors, rtol=0, atol=2e-3)
    # the stage's path orders the texts itself (embed_texts: longest first, ties by key), so there a
    # reversed input gives the same vectors to the bit, on every backend and CPU
    forward = embed_texts(texts, onnx.encode, lambda keys: {}, vectors.shape[1])[0]
    np.testing.assert_array_equal(embed_texts(texts[::-1], onnx.encode, lambda keys: {}, vectors.shape[1])[0][::-1],
                                  forward)


def test_onnx_graph_is_built_once_and_whole(models_dir, config, texts):
    first = backend("onnx", models_dir, config)
    first.encode(texts[:2])
    built = sorted(p.name for p in models_dir.iterdir())
    assert len(built) == 1 and built[0].startswith("onnx-") and built[0].endswith(RECIPES["onnx"])
    folder = models_dir / built[0]
    stamp = (folder / "model_pooled.onnx").stat().st_mtime_ns
    backend("onnx-int8", models_dir, config).encode(texts[:2])
    assert (folder / "model_pooled.onnx").stat().st_mtime_ns == stamp


def _operators(graph):
    import onnx

    return {node.op_type for node in onnx.load(str(graph), load_external_data=False).graph.node}


def test_onnx_graphs_run_fused_attention(models_dir, config, texts):
    backend("onnx-int8", models_dir, config).encode(texts[:2])
    folder = next(models_dir.glob(f"onnx-*-{RECIPES['onnx']}"))
    assert sorted(p.name for p in folder.iterdir()) == BUILT
    assert {"Attention", "SkipLayerNormalization"} <= _operators(folder / "model_pooled.onnx")
    assert "QAttention" in _operators(folder / "model_pooled_qint8.onnx")


def test_int8_graph_is_checked_against_the_float32_graph(models_dir, config, texts, monkeypatch, caplog):
    import json

    from pipeline import backends

    backend("onnx-int8", models_dir, config).encode(texts[:2])
    folder = next(models_dir.glob(f"onnx-*-{RECIPES['onnx']}"))
    check = json.loads((folder / "int8_check.json").read_text())
    assert check["probe_texts"] == len(backends.PROBE_TEXTS)
    assert backends.INT8_MIN_COSINE <= check["mean_cosine"] < 1 and 0.9 <= check["min_cosine"] <= check["mean_cosine"]
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        backend("onnx-int8", models_dir, config).encode(texts[:2])
    assert "int8 graph" not in caplog.text
    # a model whose int8 copy drifts further than the packaged one's: every run on it says so
    monkeypatch.setattr(backends, "INT8_MIN_COSINE", check["mean_cosine"] + 0.001)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        backend("onnx-int8", models_dir, config).encode(texts[:2])
        backend("onnx", models_dir, config).encode(texts[:2])
    assert caplog.text.count(f"mean cosine of {check['mean_cosine']:.3f} to its float32 graph's") == 1
    assert "embed.backend: onnx runs the float32 graph" in caplog.text
    # a build from before the check is measured at its next run, and the figures kept
    (folder / "int8_check.json").unlink()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        backend("onnx-int8", models_dir, config)  # warns with no text to embed (a run from the cache)
    assert caplog.text.count("to its float32 graph's") == 1
    again = json.loads((folder / "int8_check.json").read_text())
    assert again["probe_texts"] == check["probe_texts"]
    assert abs(again["mean_cosine"] - check["mean_cosine"]) < 1e-3


def test_an_old_build_with_a_damaged_graph_is_not_checked_and_still_runs(models_dir, config, texts, tmp_path):
    import shutil

    backend("onnx-int8", models_dir, config).encode(texts[:2])
    built = next(models_dir.glob(f"onnx-*-{RECIPES['onnx']}"))
    folder = tmp_path / built.name
    shutil.copytree(built, folder)
    (folder / "int8_check.json").unlink()  # from before the check
    with (folder / "model_pooled.onnx").open("ab") as graph:  # damaged since
        graph.write(b"\0")
    int8 = backend("onnx-int8", tmp_path, config)
    assert not int8._int8_checked
    assert int8.encode(texts[:2]).shape[0] == 2
    assert not (folder / "int8_check.json").exists()


def test_a_graph_whose_fusion_changes_its_vectors_runs_unfused(tmp_path, config, texts, monkeypatch, caplog):
    from pipeline import backends

    monkeypatch.setattr(backends, "_same_vectors", lambda *graphs_and_tokenizer: False)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        vectors = backend("onnx", tmp_path, config).encode(texts)
    assert "runs unfused (the fused graph's vectors differ from the exported graph's)" in caplog.text
    folder = next(tmp_path.glob("onnx-*"))
    assert sorted(p.name for p in folder.iterdir()) == BUILT
    assert "Attention" not in _operators(folder / "model_pooled.onnx")
    reference = backend("torch", tmp_path, config).encode(texts)
    assert (vectors * reference).sum(axis=1).min() >= 0.9999


def test_static_backend_and_its_own_stance_models(models_dir, config, texts):
    static = backend("static", models_dir, config)
    vectors = static.encode(texts)
    assert vectors.shape == (len(texts), 256) and static.info_.dimension == 256
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    models = stance.load_models(stance.weights_for("static"))
    assert models.card["embedding"]["backend"] == "static"
    assert models.card["embedding"]["fingerprint"] == static.info_.fingerprint
    article = Article("a", "Council closes Elm Street to cars", ("The street closes in March.",), "x")
    from pipeline.stance_model._base import Pairs

    probs = models.method.stance_proba(Pairs([stance.article_target(article)] * 3, texts[:3]), static.encode)
    assert probs.shape == (3, 5) and np.allclose(probs.sum(axis=1), 1)


def test_onnx_encoder_tokenizes_as_the_models_own_tokenizer(models_dir, config, texts):
    """The onnx backends read tokenizer.json directly (no transformers import):
    the same word pieces, truncation and token types as AutoTokenizer."""
    from transformers import AutoTokenizer

    onnx = backend("onnx", models_dir, config)
    onnx.encode(texts[:1])
    mine = onnx.model_.tokenizer
    theirs = AutoTokenizer.from_pretrained(onnx.info_.path)
    long_text = " ".join(texts) * 3  # past max_seq_length word pieces
    for text in [*texts, long_text]:
        expected = theirs(text, truncation=True, max_length=config["embed"]["max_seq_length"])
        got = mine.encode(text)
        assert got.ids == expected["input_ids"] and got.type_ids == expected["token_type_ids"]
    assert len(mine.encode(long_text).ids) == config["embed"]["max_seq_length"]

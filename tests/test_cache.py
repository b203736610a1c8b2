"""The caches hold data only, and a damaged entry is a miss with a warning:
never code run, never a crash, never different output."""
from __future__ import annotations

import errno
import io
import json
import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline import stage_cache
from pipeline.cache import EmbeddingCache
from pipeline.records import CleanComment, StanceAssignment, Topic, TopicAssignment, TopicResult
from pipeline.stage_cache import MISS, StageCache

CLEANED = [CleanComment(id="c1", text="the bike lane", lemmas="bike lane", flags=("near_empty",),
                        n_tokens=3, language=None),
           CleanComment(id="c2", text="closing streets", lemmas="close street", urls=("http://x",))]
TOPICS = TopicResult(topics=(Topic(0, "bike, lane", ("bike", "lane"), 2, ("c1",)),),
                     assignments=(TopicAssignment("c1", 0, 0.93, "cluster"),
                                  TopicAssignment("c2", None, None, "no_text")),
                     params={"min_topic_size": 4, "ratio": float("nan"), "n": np.int64(7)})
STANCES = [StanceAssignment("c1", "agree", np.float32(0.5), (0.5, 0.1, 0.1, 0.2, 0.1), None, "article")]


def entry_files(cache: StageCache) -> list[Path]:
    return [p for p in cache.folder.rglob("*") if p.is_file()]


@pytest.mark.parametrize("value", [CLEANED, TOPICS, STANCES, np.arange(6, dtype=np.float64).reshape(3, 2)],
                         ids=["clean", "topics", "stance", "layout"])
def test_a_stage_entry_gives_back_the_same_records(tmp_path, value):
    cache = StageCache(tmp_path)
    cache.save("stage", "k1", value)
    again = StageCache(tmp_path).load("stage", "k1")
    assert stage_cache.content_hash(again) == stage_cache.content_hash(value)
    assert type(again) is type(value)
    if isinstance(value, TopicResult):
        assert type(again.params["n"]) is np.int64 and np.isnan(again.params["ratio"])
    if isinstance(value, list) and isinstance(value[0], StanceAssignment):
        assert type(again[0].confidence) is np.float32


@pytest.mark.parametrize("value", [CLEANED, TOPICS, STANCES, np.arange(6, dtype=np.float64).reshape(3, 2),
                                   {"a": (1, [2.5, None]), 3: "x", "nested": {"inf": float("-inf")}}],
                         ids=["clean", "topics", "stance", "layout", "mixed"])
def test_an_entry_is_written_piece_by_piece_as_the_whole_tagged_copy_would_be(value, tmp_path):
    """A stage output is written without building its tagged copy (a million comments'
    copy is a few GB), in the very bytes that copy gives, so entries written before
    still read, and the same output always makes the same entry."""
    from pipeline import cache_codec

    whole = json.dumps(cache_codec._encode(value), ensure_ascii=False, separators=(",", ":"),
                       allow_nan=False).encode("utf-8")
    cache_codec.write_entry_to(tmp_path / "entry", value, {"stage": "s", "key": "k"})  # what a save writes
    entry = (tmp_path / "entry").read_bytes()
    assert entry.partition(b"\n")[2] == whole
    again = cache_codec.read_entry(entry, {"stage": "s", "key": "k"})
    assert stage_cache.content_hash(again) == stage_cache.content_hash(value)
    with pytest.raises(TypeError):
        cache_codec.write_entry_to(tmp_path / "bad", [object()], {"stage": "s", "key": "k"})
    assert not (tmp_path / "bad").exists()  # found before the file is opened
    cache = StageCache(tmp_path / "cache")
    cache.save("stage", "k2", [object()])  # a value the cache cannot hold: a warning, and no file
    assert entry_files(cache) == [] and cache.load("stage", "k2") is MISS


@pytest.mark.parametrize("value", [CLEANED, TOPICS, STANCES, np.arange(6, dtype=np.float64).reshape(3, 2),
                                   {"b": (1, [2.5, None, {"z": 1, "a": np.float32(0.5)}]), 3: "x", "3": "y",
                                    "nested": {"inf": float("-inf"), "nan": float("nan")}, "é": {1, 2}}, [], {}, CLEANED * 2000],
                         ids=["clean", "topics", "stance", "layout", "mixed", "empty-list", "empty-dict", "long"])
def test_a_content_hash_is_fed_piece_by_piece_and_keys_stay_as_they_were(value):
    """Downstream stage keys hash the upstream output's content; fed piece by piece
    (a million comments' plain copy is GBs), it is the hash of the whole text as
    before, so the caches users have keep their keys."""
    import hashlib

    whole = json.dumps(stage_cache._plain(value), sort_keys=True, ensure_ascii=False, default=str)
    assert stage_cache.content_hash(value) == hashlib.sha256(whole.encode("utf-8")).hexdigest()[:32]


def damage_flip(path: Path) -> None:
    """One bit flipped in the lemma of the first comment."""
    data = bytearray(path.read_bytes())
    at = data.index(b"bike lane")
    data[at] ^= 0x01  # 'bike' becomes 'cike'
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [
    damage_flip,
    lambda path: path.write_bytes(b""),
    lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
], ids=["flipped-bit", "empty", "truncated"])
def test_a_damaged_stage_entry_is_a_miss_with_a_warning(tmp_path, caplog, damage):
    cache = StageCache(tmp_path)
    cache.save("clean", "k1", CLEANED)
    (path,) = entry_files(cache)
    damage(path)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        assert StageCache(tmp_path).load("clean", "k1") is MISS
    assert "damaged" in caplog.text and str(path) in caplog.text


def test_an_entry_under_another_key_is_a_miss(tmp_path):
    cache = StageCache(tmp_path)
    cache.save("clean", "k1", CLEANED)
    cache.save("clean", "k2", CLEANED[:1])
    (one, two) = sorted(entry_files(cache))
    one.write_bytes(two.read_bytes())
    assert {StageCache(tmp_path).load("clean", k) is MISS for k in ("k1", "k2")} == {True, False}


class Planted:
    """A pickle that writes a marker file when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_a_planted_pickle_in_the_cache_runs_no_code(tmp_path):
    cache = StageCache(tmp_path)
    cache.save("clean", "k1", CLEANED)
    (path,) = entry_files(cache)
    marker = tmp_path / "marker"
    for planted in (path, path.with_suffix(".pkl")):  # where entries are kept, and where pickles were
        planted.write_bytes(pickle.dumps(Planted(marker)))
    shards = tmp_path / "embeddings" / "m"
    shards.mkdir(parents=True)
    (shards / "s.npy").write_bytes(pickle.dumps(Planted(marker)))
    (shards / "s.json").write_text(json.dumps({"format": "comment-pipeline embedding shard 1",
                                               "sha256": "0", "keys": ["a"]}))
    assert StageCache(tmp_path).load("clean", "k1") is MISS
    assert EmbeddingCache(tmp_path, "m").lookup(["a"]) == {}
    assert not marker.exists()


# --- the embedding cache ---------------------------------------------------------------------

def filled_cache(tmp_path) -> tuple[dict[str, np.ndarray], Path]:
    vectors = {f"{i:064x}": np.full(3, i + 1, dtype=np.float32) for i in range(4)}
    EmbeddingCache(tmp_path, "m").store(vectors)
    (shard,) = (tmp_path / "embeddings" / "m").glob("*.npy")
    return vectors, shard


def zero_vectors(shard: Path) -> None:
    matrix = np.load(shard)
    np.save(shard, np.zeros_like(matrix))


def reorder_keys(shard: Path) -> None:
    index_file = shard.with_suffix(".json")
    if index_file.exists():
        index = json.loads(index_file.read_text())
        index["keys"] = index["keys"][::-1]
        index_file.write_text(json.dumps(index))
    else:  # the plain-text index of before
        keys = shard.with_suffix(".keys")
        keys.write_text("\n".join(keys.read_text().split()[::-1]) + "\n")


@pytest.mark.parametrize("damage", [
    lambda shard: shard.write_bytes(b""),
    lambda shard: shard.write_bytes(shard.read_bytes()[:-10]),
    zero_vectors,
    reorder_keys,
], ids=["empty", "truncated", "zeroed", "reordered-keys"])
def test_a_damaged_embedding_shard_is_a_miss_with_a_warning(tmp_path, caplog, damage):
    vectors, shard = filled_cache(tmp_path)
    damage(shard)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        assert EmbeddingCache(tmp_path, "m").lookup(sorted(vectors)) == {}
    assert "damaged" in caplog.text
    EmbeddingCache(tmp_path, "m").store(vectors)  # encoded again, into a shard that serves them
    found = EmbeddingCache(tmp_path, "m").lookup(sorted(vectors))
    assert {k: v.tolist() for k, v in found.items()} == {k: v.tolist() for k, v in vectors.items()}


def test_an_intact_shard_still_serves_where_another_is_damaged(tmp_path, caplog):
    vectors, shard = filled_cache(tmp_path)
    EmbeddingCache(tmp_path, "m").store(vectors)  # the same keys in a second shard
    shard.write_bytes(b"")
    found = EmbeddingCache(tmp_path, "m").lookup(sorted(vectors))
    assert {k: v.tolist() for k, v in found.items()} == {k: v.tolist() for k, v in vectors.items()}


# --- through a run --------------------------------------------------------------------------

def small_config(tmp_path, cache_dir):
    """Ingest, clean, embed and stance on the example dump: both caches are used."""
    from pipeline.config import load_config

    return load_config(None, [f"output_dir={tmp_path / 'out'}", f"cache_dir={cache_dir}",
                              "topics.enabled=false", "report.enabled=false"])


def cache_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
            and any(word in r.getMessage() for word in ("cache_dir ", "stage cache", "embedding cache"))]


@pytest.mark.slow
def test_a_cache_dir_that_is_a_file_means_a_run_without_cache(tmp_path, caplog):
    from conftest import EXAMPLE_DUMP
    from pipeline import runner

    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        (folder,) = runner.run([str(EXAMPLE_DUMP)], small_config(tmp_path, blocker))
    assert (folder / "comments.jsonl").exists()
    (warning,) = cache_warnings(caplog)
    assert f"cache_dir {blocker} cannot be used (a file, not a folder)" in warning
    assert blocker.read_text() == "a file where the cache folder should be"


def read_only(monkeypatch, root: Path) -> None:
    """Every write under `root` fails as on a read-only file system (the tests
    run as root, whom chmod does not stop)."""
    import builtins

    root_text = str(root)

    def under(path) -> bool:
        return isinstance(path, (str, os.PathLike)) and os.path.abspath(path).startswith(root_text)

    def refuse(path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    real_open, real_os_open, real_mkdir, real_replace = io.open, os.open, os.mkdir, os.replace

    def guarded_open(file, mode="r", *args, **kwargs):
        if under(file) and set(mode) & set("wax+"):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if under(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if under(path):
            refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def guarded_replace(source, target, *args, **kwargs):
        if under(target):
            refuse(target)
        return real_replace(source, target, *args, **kwargs)

    for module, name, guarded in ((io, "open", guarded_open), (builtins, "open", guarded_open),
                                  (os, "open", guarded_os_open), (os, "mkdir", guarded_mkdir),
                                  (os, "replace", guarded_replace)):
        monkeypatch.setattr(module, name, guarded)


@pytest.mark.slow
def test_a_read_only_cache_dir_means_a_run_without_cache(tmp_path, monkeypatch, caplog):
    from conftest import EXAMPLE_DUMP
    from pipeline import runner

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    read_only(monkeypatch, cache_dir)
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        (folder,) = runner.run([str(EXAMPLE_DUMP)], small_config(tmp_path, cache_dir))
    assert (folder / "comments.jsonl").exists()
    (warning,) = cache_warnings(caplog)
    assert "Read-only file system" in warning and "keeps no cache" in warning
    assert list(cache_dir.iterdir()) == []


def read_as_data(path: Path) -> None:
    """Read a file with a reader that cannot run code; raise if it fails."""
    data = path.read_bytes()
    assert not data.startswith(b"\x80"), f"{path} is a pickle"
    if path.suffix in (".npy", ".npz"):
        np.load(path, allow_pickle=False)
    elif path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        load_file(str(path))
    elif path.suffix == ".json" and path.parent.parent.name == "stages":
        head, _, body = data.partition(b"\n")
        json.loads(head), json.loads(body)
    elif path.suffix == ".json" or path.name == "done":
        json.loads(data)
    elif path.suffix in (".md", ".txt"):
        data.decode("utf-8")
    else:
        raise AssertionError(f"{path}: no data-only reader for this kind of file")


def test_every_file_a_run_keeps_in_its_caches_reads_as_data(example_run):
    from pipeline import backends
    from pipeline.config import models_dir

    cache_files = [p for p in Path(example_run.config["cache_dir"]).rglob("*") if p.is_file()]
    assert {p.parent.parent.name for p in cache_files} >= {"stages", "embeddings"}
    from pipeline.embed import Embedder

    # the build this run used (another kind of build in a shared models_dir may be another version's)
    embedder = Embedder.from_config(example_run.config["embed"], models_dir(example_run.config)).load()
    folder = embedder.models_dir / f"onnx-{embedder._weights}-{backends.RECIPES['onnx']}"
    built = [p for p in folder.rglob("*") if p.is_file() and p.suffix != ".onnx"]  # ONNX graphs: protobuf
    assert built  # the `done` list of the ONNX build at least; numba's own cache is not ours
    for path in cache_files + built:
        read_as_data(path)


def test_damaged_caches_give_the_same_artifacts(example_run, tmp_path, caplog):
    """Every entry of a filled cache damaged: every stage runs again, with a
    warning, and the artifacts are those of the run on an empty cache."""
    import shutil

    from pipeline import runner

    cache_dir = tmp_path / "cache"
    shutil.copytree(example_run.config["cache_dir"], cache_dir)
    for path in cache_dir.rglob("*"):
        if path.suffix == ".npy":
            path.write_bytes(b"")  # the 0-byte shard that crashed every later run
        elif path.is_file() and path.parent.parent.name == "stages":
            data = bytearray(path.read_bytes())
            data[-40] ^= 0x01
            path.write_bytes(bytes(data))
    config = dict(example_run.config, output_dir=str(tmp_path / "out"), cache_dir=str(cache_dir))
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        (folder,) = runner.run([str(example_run.dump)], config)
    for name in ("comments.jsonl", "topics.csv", "thread.json"):
        assert (folder / name).read_bytes() == (example_run.folder / name).read_bytes(), name
    stages = json.loads((folder / "manifest.json").read_text())["stages"]
    assert not any(facts.get("from_cache") for facts in stages.values())
    assert stages["embed"]["cache_hits"] == 0
    assert len([w for w in cache_warnings(caplog) if "damaged" in w]) >= 5


# --- models_dir --------------------------------------------------------------------------------

def test_a_damaged_built_model_is_built_again(tmp_path, caplog):
    from pipeline import backends

    builds = []

    def build(folder: Path) -> None:
        builds.append(folder)
        (folder / "graph.onnx").write_bytes(b"the graph " * 100)

    folder = tmp_path / "onnx-x-r1"
    backends._built(folder, build)
    backends._built(folder, build)
    assert len(builds) == 1  # built once, then used as it is
    graph = folder / "graph.onnx"
    for damage in (lambda: graph.write_bytes(graph.read_bytes()[:50]), lambda: graph.write_bytes(b""),
                   lambda: graph.write_bytes(graph.read_bytes().replace(b"graph", b"grape", 1))):
        damage()
        with caplog.at_level(logging.WARNING, logger="pipeline"):
            assert backends._built(folder, build) == folder
        assert graph.read_bytes() == b"the graph " * 100
        assert "damaged" in caplog.text
    assert len(builds) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["onnx-x-r1"]  # nothing left beside it


def test_a_shard_is_written_in_blocks_as_np_save_writes_it(tmp_path, monkeypatch):
    """A million new vectors are never stacked whole: the shard is filled block by block,
    and is the file np.save gives the stacked matrix."""
    from pipeline import cache as cache_module

    monkeypatch.setattr(cache_module, "STORE_BLOCK", 2)
    vectors = {f"k{i}": np.random.default_rng(i).random(4).astype(np.float32) for i in range(5)}
    store = EmbeddingCache(tmp_path, "fingerprint")
    store.store(vectors)
    (shard,) = [p for p in store.folder.glob("*.npy")]
    buffer = io.BytesIO()
    np.save(buffer, np.stack([vectors[k] for k in sorted(vectors)]), allow_pickle=False)
    assert shard.read_bytes() == buffer.getvalue()
    again = EmbeddingCache(tmp_path, "fingerprint").lookup(sorted(vectors))
    assert all(np.array_equal(again[k], vectors[k]) for k in vectors)

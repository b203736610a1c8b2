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

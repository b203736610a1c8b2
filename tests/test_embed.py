import numpy as np

from pipeline.cache import EmbeddingCache
from pipeline.embed import embed_texts


class CountingEncoder:
    """Stands in for the model: a vector from the text length, counting calls."""

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_each_distinct_text_is_encoded_once_longest_first():
    encode = CountingEncoder()
    matrix, new, hits = embed_texts(["aa", "b", "aa", "", "cccc"], encode, lambda keys: {}, 3)
    assert encode.seen == ["cccc", "aa", "b"]
    assert hits == 0 and len(new) == 3
    assert matrix[0].tolist() == matrix[2].tolist() == [2, 1, 0]
    assert not matrix[3].any()  # empty text: zero row, never sent to the model


def test_vectors_given_in_blocks_land_where_one_array_puts_them(tmp_path):
    """The embed stage's encoder gives its batches' vectors as blocks (a million
    vectors are never held twice); each lands on its texts' rows, cached ones too."""
    texts = ["aa", "b", "aa", "", "cccc", "dd", "b", "eeeee", "f"]
    cache = EmbeddingCache(tmp_path, "m")
    _, new, _ = embed_texts(["dd", "f"], CountingEncoder(), cache.lookup, 3)
    cache.store(new)
    whole, new_whole, hits = embed_texts(texts, CountingEncoder(), cache.lookup, 3)

    def in_blocks(batch):
        vectors = CountingEncoder()(batch)
        return [vectors[i:i + 2] for i in range(0, len(vectors), 2)]

    blocks, new_blocks, hits_blocks = embed_texts(texts, in_blocks, cache.lookup, 3)
    assert np.array_equal(whole, blocks) and hits == hits_blocks == 2
    assert sorted(new_whole) == sorted(new_blocks) and all(np.array_equal(new_whole[k], new_blocks[k]) for k in new_whole)
    assert whole[4].tolist() == [4, 1, 0] and not whole[3].any()


def test_second_pass_through_the_cache_encodes_nothing(tmp_path):
    cache = EmbeddingCache(tmp_path, "model-x")
    encode = CountingEncoder()
    first, new, _ = embed_texts(["one", "two"], encode, cache.lookup, 3)
    cache.store(new)
    again = CountingEncoder()
    second, new_again, hits = embed_texts(["two", "one", "three"], again,
                                          EmbeddingCache(tmp_path, "model-x").lookup, 3)
    assert again.seen == ["three"] and hits == 2
    assert second[0].tolist() == first[1].tolist()
    assert EmbeddingCache(tmp_path, "model-y").lookup(list(new)) == {}  # keyed by model too


def test_unfinished_shard_is_ignored(tmp_path):
    cache = EmbeddingCache(tmp_path, "m")
    _, new, _ = embed_texts(["one"], CountingEncoder(), cache.lookup, 3)
    cache.store(new)
    for keys in cache.folder.glob("*.json"):
        keys.unlink()  # as if the run died between writing vectors and keys
    assert EmbeddingCache(tmp_path, "m").lookup(list(new)) == {}


def test_packaged_model_embeds_offline(embedder):
    vectors = embedder.encode(["The council closed the street.", "The street was closed by the council.",
                               "My cat likes fish."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3

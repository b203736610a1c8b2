"""On-disk embedding cache, keyed by model fingerprint and text hash.

Each run that encodes something adds one shard: `<id>.npy` (the vectors,
float32, read without pickle) and `<id>.json` (one text hash per row, and the
sha256 of the vectors file and the keys together). The JSON file is renamed
into place last, so a shard without it is unfinished and ignored; two runs at
once write different shards and never the same file. A shard is checked
against its sha256 the first time a run reads it: one that is empty,
truncated, zeroed or reordered is a miss with a warning, and is removed, so
its texts are encoded again into a new shard.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import uuid
from pathlib import Path

import numpy as np

from pipeline.atomic import write_atomically

log = logging.getLogger("pipeline")
FORMAT = "comment-pipeline embedding shard 1"


def usable_cache_dir(root: str | Path) -> Path | None:
    """`root`, created if need be, where a run can write in it; None, with one
    warning, where it cannot (a file, or a read-only folder): the run then
    keeps no cache."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=root)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        why = "a file, not a folder" if root.is_file() else error.strerror or str(error)
        log.warning("cache_dir %s cannot be used (%s): this run keeps no cache and computes every "
                    "stage (set cache_dir to a writable folder)", root, why)
        return None
    return root


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _checksum(vectors: Path, keys: list[str]) -> str:
    digest = hashlib.sha256()
    with vectors.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    digest.update("\n".join(keys).encode("ascii"))
    return digest.hexdigest()


STORE_BLOCK = 50_000  # vectors stacked at a time when a shard is written


class EmbeddingCache:
    def __init__(self, root: str | Path, fingerprint: str) -> None:
        self.folder = Path(root) / "embeddings" / fingerprint
        self._index: dict[str, tuple[Path, int]] | None = None
        self._shards: dict[Path, dict] = {}  # vectors file: its JSON index
        self._checked: set[Path] = set()
        self._bad: set[Path] = set()  # damaged shards, skipped even where they cannot be removed

    def _damaged(self, vectors: Path, why: str) -> None:
        log.warning("embedding cache: shard %s is damaged (%s); its texts are encoded again", vectors, why)
        self._shards.pop(vectors, None)
        self._bad.add(vectors)
        self._index = None
        _remove(vectors.with_suffix(".json"), vectors)

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        index: dict[str, tuple[Path, int]] = {}
        if not self.folder.is_dir():
            return index
        for index_file in sorted(self.folder.glob("*.json")):
            vectors = index_file.with_suffix(".npy")
            if vectors in self._bad:
                continue
            if vectors not in self._shards:
                try:
                    shard = json.loads(index_file.read_text(encoding="utf-8"))
                    keys = shard["keys"]
                    if (shard.get("format") != FORMAT or not isinstance(keys, list)
                            or not all(isinstance(k, str) and k.isascii() for k in keys)
                            or not isinstance(shard.get("sha256"), str)):
                        raise ValueError("not a shard index of this version")
                except FileNotFoundError:
                    continue
                except (OSError, ValueError, KeyError, TypeError) as error:
                    self._damaged(vectors, f"{index_file.name}: {error}")
                    continue
                self._shards[vectors] = shard
            for row, key in enumerate(self._shards[vectors]["keys"]):
                index.setdefault(key, (vectors, row))
        return index

    def _open(self, vectors: Path) -> np.ndarray | None:
        """The shard's vectors (memory-mapped), checked against its sha256
        on first use; None for a damaged shard."""
        keys = self._shards[vectors]["keys"]
        try:
            if vectors not in self._checked:
                if _checksum(vectors, keys) != self._shards[vectors]["sha256"]:
                    raise ValueError("its content does not match its checksum")
                self._checked.add(vectors)
            matrix = np.load(vectors, mmap_mode="r", allow_pickle=False)
            if matrix.dtype != np.float32 or matrix.ndim != 2 or len(matrix) != len(keys):
                raise ValueError(f"a {matrix.dtype} array of shape {matrix.shape} for {len(keys)} keys")
        except (OSError, ValueError, EOFError) as error:
            self._damaged(vectors, str(error))
            return None
        return matrix

    def lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = list(keys)
        while wanted:  # again after a damaged shard: another shard may hold its keys
            if self._index is None:
                self._index = self._load_index()
            by_file: dict[Path, list[tuple[str, int]]] = {}
            for key in wanted:
                if key in self._index:
                    path, row = self._index[key]
                    by_file.setdefault(path, []).append((key, row))
            damaged = False
            for path, rows in by_file.items():
                matrix = self._open(path)
                if matrix is None:
                    damaged = True
                    continue
                for key, row in rows:
                    found[key] = np.array(matrix[row], dtype=np.float32)
            if not damaged:
                break
            wanted = [k for k in wanted if k not in found]
        return found

    def store(self, vectors_by_key: dict[str, np.ndarray]) -> None:
        if not vectors_by_key:
            return
        keys = sorted(vectors_by_key)
        shard = self.folder / uuid.uuid4().hex
        dimension = len(vectors_by_key[keys[0]])

        def write_vectors(path: Path) -> None:  # in blocks: a million vectors are never stacked whole
            out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(len(keys), dimension))
            for start in range(0, len(keys), STORE_BLOCK):
                out[start:start + STORE_BLOCK] = np.stack([vectors_by_key[k]
                                                           for k in keys[start:start + STORE_BLOCK]])
            out.flush()
            del out
            with path.open("rb+") as handle:
                os.fsync(handle.fileno())

        try:  # the vectors first, then the index that makes them visible
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(shard.with_suffix(".npy"), write_vectors)
            index = {"format": FORMAT, "sha256": _checksum(shard.with_suffix(".npy"), keys), "keys": keys}
            write_atomically(shard.with_suffix(".json"),
                             lambda path: path.write_text(json.dumps(index), encoding="utf-8"))
        except OSError as error:  # a cache that cannot be written only costs time on the next run
            log.warning("embedding cache: cannot keep the new vectors in %s (%s)", self.folder,
                        error.strerror or error)
            _remove(shard.with_suffix(".npy"))
            return
        if self._index is not None:
            self._shards[shard.with_suffix(".npy")] = index
            self._checked.add(shard.with_suffix(".npy"))
            for row, key in enumerate(keys):
                self._index.setdefault(key, (shard.with_suffix(".npy"), row))

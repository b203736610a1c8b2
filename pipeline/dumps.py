"""What a run reads: the dump files a user names, files or folders, in a stable order.

A folder is read at its top. Its subfolders are not read (an output folder kept inside it
would be read back), but they are counted, so that a folder of exports kept by platform gets
a message that says where its dumps are and how to name them."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import catalog
from pipeline.errors import PipelineError

log = logging.getLogger("pipeline")
DUMP_SUFFIXES = (".txt", ".jsonl", ".json", ".ndjson", ".xml", ".csv", ".tsv")
SUBFOLDER_ENTRIES = 20_000  # entries the subfolder count reads at most (a message, not the run's input)


def find_dumps(inputs: list[str]) -> list[Path]:
    """Expand files and folders into dump files, in a stable order. Among several inputs
    (DUMP="exports/*/"), a folder without dumps is skipped with a warning, and the run fails
    only if none of them holds any: with the error of the first whose subfolders hold dumps,
    which says where they are, or else of the first."""
    dumps: list[Path] = []
    skipped: list[tuple[PipelineError, bool]] = []  # (why, whether its subfolders hold dumps)
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found, error, below = _folder_dumps(path)
            if error is not None:
                if len(inputs) == 1:
                    raise error
                log.warning("%s; skipped", error)
                skipped.append((error, bool(below)))
            dumps.extend(found)
        elif path.is_file():
            dumps.append(path)
        else:
            raise PipelineError("no such file or folder", path=path,
                                hint="check the path given as DUMP")
    if not dumps and skipped:
        raise next((error for error, hinted in skipped if hinted), skipped[0][0])
    return dumps


@dataclass
class SubfolderDumps:
    """How many dump files each subfolder holds at its own top; `complete` false where the
    count stopped at SUBFOLDER_ENTRIES (the numbers are then lower bounds)."""

    counts: dict[str, int] = field(default_factory=dict)
    complete: bool = True

    def __bool__(self) -> bool:
        return bool(self.counts)

    def __str__(self) -> str:
        """'31 dump files (reddit/ 7, youtube/ 9, ...)', the first five folders named."""
        named = ", ".join(f"{name}/ {n}" for name, n in list(self.counts.items())[:5])
        more = f", and {len(self.counts) - 5} more folders" if len(self.counts) > 5 else ""
        total = sum(self.counts.values())
        return f"{'' if self.complete else 'at least '}{total} dump file{'s' if total != 1 else ''} ({named}{more})"


def _folder_dumps(path: Path) -> tuple[list[Path], PipelineError | None, SubfolderDumps]:
    """(the dump files at the folder's top, the error where it has none, what its subfolders hold)."""
    if _artifact_folder(path):
        return [], PipelineError("this folder holds a run's artifacts, not dumps", path=path,
                                 hint="give the dumps the run read, or a folder of them"), SubfolderDumps()
    found = sorted(p for p in path.iterdir()
                   if p.is_file() and p.suffix.lower() in DUMP_SUFFIXES and _inside(p, path))
    below = _dumps_in_subfolders(path)
    if found:
        if below:
            log.warning("%s: its subfolders hold %s, not read (a folder run reads the files at its top; "
                        "name the subfolders too to run them)", path, below)
        return found, None, below
    if below:
        return [], PipelineError(f"no dumps in this folder itself; its subfolders hold {below}", path=path,
                                 hint=f'a folder run reads the files at its top: name the subfolders, as in '
                                      f'make pipeline DUMP="{path}/*/"'), below
    return [], PipelineError("no dumps in this folder", path=path,
                             hint=f"a dump is a {', '.join(DUMP_SUFFIXES[:-1])} or {DUMP_SUFFIXES[-1]} file"), below


def _dumps_in_subfolders(folder: Path) -> SubfolderDumps:
    """The dump files each subfolder of `folder` holds at its own top: hidden folders, links to
    folders and this tool's own artifact folders left out; SUBFOLDER_ENTRIES entries read at
    most (where none was found by then, none is said)."""
    below = SubfolderDumps()
    budget = SUBFOLDER_ENTRIES
    for sub in sorted(folder.iterdir()):
        if sub.name.startswith(".") or sub.is_symlink() or not sub.is_dir():
            continue
        try:
            if _artifact_folder(sub):
                continue
            n = 0
            with os.scandir(sub) as entries:
                for entry in entries:
                    budget -= 1
                    if budget < 0:
                        break
                    n += Path(entry.name).suffix.lower() in DUMP_SUFFIXES and entry.is_file()
        except OSError:  # a subfolder that cannot be listed holds nothing this run could read
            continue
        if n:
            below.counts[sub.name] = n
        if budget < 0:
            below.complete = False
            break
    return below


def _artifact_folder(folder: Path) -> bool:
    """A dump's artifact folder, as a run writes it (its manifest beside its comments)."""
    return (folder / catalog.MANIFEST).is_file() and (folder / catalog.COMMENTS_JSONL).is_file()


def _inside(entry: Path, folder: Path) -> bool:
    """A folder run reads what is in the folder: a link in it that leads out
    of it (to ~/.ssh, to another user's files) is skipped with a warning."""
    if not entry.is_symlink() or entry.resolve().is_relative_to(folder.resolve()):
        return True
    log.warning("%s: a link to %s, outside the folder; skipped (give that file itself to run it)",
                entry, entry.resolve())
    return False

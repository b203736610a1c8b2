"""Writing a dump's artifact folder: staging and swapping it in, and the
files beside the tables (report, plots, review export, index)."""
from __future__ import annotations

import json
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator, Sequence

import numpy as np

from pipeline import catalog, export, plots, report, review
from pipeline.errors import PipelineError, check_interrupted
from pipeline.atomic import write_atomically
from pipeline.swap import carry_user_files, recover_under_lock, swap_folder

__all__ = ["safe_name", "artifact_names", "write_report", "write_review", "write_index", "staged_folder", "carry_user_files",
           "recover_under_lock", "write_atomically"]


RESERVED_NAMES = catalog.RESERVED_NAMES  # what a folder run writes beside the dumps' folders
MAX_NAME_BYTES = 200  # leaves room for the staging prefix and suffix within 255 bytes


def safe_name(text: str) -> str:
    """A folder name from part of a dump's name: leading dots, path separators
    and unprintable characters become `_`, so it is never hidden, `.`, `..`
    or empty, and never leaves the output folder; cut to MAX_NAME_BYTES."""
    body = text.lstrip(".")
    name = "_" * (len(text) - len(body)) + "".join(
        c if c.isprintable() and c not in "/\\" else "_" for c in body)
    return _cut(name, MAX_NAME_BYTES).strip() or "_"


def _cut(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def artifact_names(dumps: list[Path]) -> list[str]:
    """Folder names under artifacts/: the file stem (made safe by safe_name),
    made unique over the run, ignoring case, by the file's suffix, then its
    folder, then a counter."""
    def key(name: str) -> str:
        return name.casefold()

    bases = [safe_name(d.stem) for d in dumps]
    names: list[str] = []
    for index, dump in enumerate(dumps):
        base, suffix = bases[index], safe_name(dump.suffix.lstrip(".") or "dump")
        others = {key(b) for k, b in enumerate(bases) if k != index}
        candidates = [base] if key(base) not in others else []
        candidates += [safe_name(f"{base}_{suffix}"),
                       safe_name(f"{safe_name(dump.parent.name)}_{base}_{suffix}")]
        taken = {key(n) for n in names} | {key(n) for n in RESERVED_NAMES}
        name = next((c for c in candidates if key(c) not in taken and key(c) not in others), None)
        counter = 2
        while name is None or key(name) in taken:
            name = f"{_cut(candidates[-1], MAX_NAME_BYTES - 12)}-{counter}"
            counter += 1
        names.append(name)
    return names


def write_report(folder: Path, thread, rows: Sequence[dict], topic_rows: list[dict],
                 coords: np.ndarray | None, stance_card: dict | None, max_comments: int) -> None:
    """report.html and the PNG files of its plots; `coords`: the map's layout
    stage (pipeline/stages.py); `stance_card`: the stance model's card."""
    figures = plots.summary_plots(rows, topic_rows)
    for figure_name, (_, png) in figures.items():
        (folder / catalog.figure_file(figure_name)).write_bytes(png)
    html = report.build_report(thread.article, rows, topic_rows, coords, figures, stance_card, max_comments)
    (folder / catalog.REPORT).write_text(html, encoding="utf-8")


def write_review(folder: Path, thread, rows: list[dict], topic_rows: list[dict],
                 model_version: str) -> None:
    """Label Studio tasks and config, and a CSV, for human reviewers."""
    folder.mkdir()
    export.write_json_list(review.label_studio_tasks(rows, thread.article.title, model_version),
                           folder / catalog.LABEL_STUDIO_TASKS)
    (folder / catalog.LABEL_STUDIO_CONFIG).write_text(review.label_studio_config(topic_rows),
                                                    encoding="utf-8")
    export.write_csv(review.review_rows(rows), folder / catalog.REVIEW_CSV, review.REVIEW_COLUMNS)


def write_index(out_root: Path, folders: list[Path]) -> Path:
    """index.html over the dumps of a folder run, from their own artifacts."""
    entries = []
    for folder in folders:
        rows = export.read_jsonl(folder / catalog.COMMENTS_JSONL)
        manifest = json.loads((folder / catalog.MANIFEST).read_text(encoding="utf-8"))
        entries.append({"name": folder.name, "title": manifest["input"]["title"],
                        "comments": len(rows), "topics": manifest["stages"].get("topics", {}).get("topics", 0),
                        "stances": [r["stance"] for r in rows if r.get("stance")]})
    target = out_root / catalog.INDEX
    write_atomically(target, lambda path: path.write_text(report.build_index(entries), encoding="utf-8"))
    return target


@contextmanager
def staged_folder(out_root: Path, name: str) -> Iterator[Path]:
    """A fresh folder to write into; on success it replaces out_root/name
    (pipeline/swap.py: the old folder is never lost, the user's files in it
    are carried over when the writer calls carry_user_files)."""
    if name in ("", ".", "..") or name.startswith(".") or "/" in name or "\\" in name:
        raise ValueError(f"not a safe artifact folder name: {name!r}")
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        staging = out_root / f".{name}.staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as error:
        raise PipelineError(f"cannot write artifacts: {error.strerror}", path=out_root,
                            hint="choose a writable output_dir") from None
    try:
        yield staging
        check_interrupted()  # the last point before the earlier artifacts are replaced
        swap_folder(staging, out_root / name)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PipelineError(f"cannot write artifacts: {error.strerror}", path=out_root,
                            hint="check free disk space and permissions") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise



"""`python -m pipeline stance-predict`: stance for pairs a user brings.

Input: JSON lines `{"id", "target", "text", "parent_text" (optional)}`.
Output: JSON lines `{"id", "stance", "confidence", "probs": {label: p}}`, in
input order; a line with `parent_text` also gets `reply_stance`,
`reply_confidence` and `reply_probs` (the text toward the comment it answers).
The target may be an article (title and lead), a headline or a short topic phrase. The input is read and scored in chunks, so memory stays flat;
the output goes to a temporary file that replaces --out only when every line
was good, so a malformed line leaves no half-written file behind.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.records import REPLY_LABELS, STANCE_LABELS
from pipeline.atomic import write_atomically

CHUNK = 512
FLUSH_EVERY = 20  # chunks
FIX = 'each line is {"id": ..., "target": "...", "text": "...", "parent_text": "..." (optional)}'


def read_pairs(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, pair) for each non-blank line; malformed lines raise."""
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as error:
        raise PipelineError(f"cannot read pairs: {error.strerror}", path=path) from None
    with handle:
        try:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, _check(line, path, number)
        except UnicodeDecodeError:
            raise PipelineError("not UTF-8 text", path=path, hint="save the file as UTF-8") from None


def _check(line: str, path: Path, number: int) -> dict:
    try:
        pair = json.loads(line)
    except json.JSONDecodeError as error:
        raise PipelineError(f"broken JSON: {error.msg}", path=path, line=number, hint=FIX) from None
    if not isinstance(pair, dict):
        raise PipelineError("a line is not a JSON object", path=path, line=number, hint=FIX)
    if pair.get("id") is None:
        raise PipelineError("missing 'id'", path=path, line=number, hint=FIX)
    for key in ("target", "text"):
        if not isinstance(pair.get(key), str):
            raise PipelineError(f"'{key}' must be a string", path=path, line=number, hint=FIX)
    parent = pair.get("parent_text")
    if parent is not None and not isinstance(parent, str):
        raise PipelineError("'parent_text' must be a string or absent", path=path, line=number,
                            hint=FIX)
    return pair


def _chunks(pairs: Iterator[tuple[int, dict]], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for _, pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _scored(pair_id, row: np.ndarray, labels, prefix: str) -> dict:
    best = int(row.argmax())
    out = {"id": pair_id} if pair_id is not None else {}
    out.update({f"{prefix}stance": labels[best], f"{prefix}confidence": round(float(row[best]), 4),
                f"{prefix}probs": {label: round(float(p), 4) for label, p in zip(labels, row)}})
    return out


def predict_pairs(in_path: Path, out_path: Path, method, encode: Callable[[list[str]], np.ndarray],
                  progress: bool = True, flush: Callable[[], None] | None = None) -> int:
    """Score every pair in `in_path` into `out_path` with a stance method
    (stance_model._base.StanceMethod); returns the count."""
    from pipeline.stance_model._base import Pairs

    from tqdm import tqdm

    out_path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    bar = tqdm(unit=" pairs", disable=not progress, file=sys.stderr)

    def write(tmp: Path) -> None:
        nonlocal count
        with tmp.open("w", encoding="utf-8", newline="\n") as out:
            for chunk in _chunks(read_pairs(in_path), CHUNK):
                parents = [p.get("parent_text") or None for p in chunk]
                probs = method.stance_proba(Pairs([p["target"] for p in chunk], [p["text"] for p in chunk],
                                                  parents), encode)
                replies = [k for k, parent in enumerate(parents) if parent]
                reply = dict(zip(replies, method.reply_proba([parents[k] for k in replies],
                                                             [chunk[k]["text"] for k in replies], encode)))
                for k, (pair, row) in enumerate(zip(chunk, probs)):
                    line = _scored(pair["id"], row, STANCE_LABELS, "")
                    if k in reply:
                        line.update(_scored(None, reply[k], REPLY_LABELS, "reply_"))
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += len(chunk)
                bar.update(len(chunk))
                if flush is not None and count % (FLUSH_EVERY * CHUNK) == 0:
                    flush()  # new embeddings to the cache now and then, not a shard per chunk
        if flush is not None:
            flush()

    try:  # the predictions replace out_path only when every input line was good
        write_atomically(out_path, write)
    finally:
        bar.close()
    return count

"""Corpus scope: one topic model over every comment of every thread a folder
run wrote (an outlet's agenda), beside each thread's own topics.

A post-pass over finished artifact folders: it reads each thread's
comments.parquet and its embeddings.npy (memory-mapped) and nothing of the
runner. The first update, or one with `topics.refit`, fits the thread topic
code (pipeline/topics.py) on a seeded sample of at most `topics.corpus_sample`
comments and keeps the topics' centroids; every comment, sampled or not, then
takes the nearest centroid when its cosine clears `topics.outlier_threshold`
and is outside (-1) otherwise. Later updates assign only threads the corpus
has not seen, or whose embeddings or comments changed, to the same centroids
without refitting. The model is JSON and .npy (never a pickle: nothing read
back runs code), and `_corpus/` is written in a staging folder and swapped in
whole (pipeline/swap.py), as a dump's folder is.
"""
from __future__ import annotations

import datetime
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import __version__, catalog, corpus_tables, export, topics
from pipeline.artifacts import carry_user_files, recover_under_lock, staged_folder
from pipeline.corpus_page import build_page
from pipeline.errors import PipelineError
from pipeline.freshness import file_hashes
from pipeline.records import CleanComment
from pipeline.stage_cache import sha256_of

CORPUS = catalog.CORPUS  # artifacts/_corpus/, never a dump's folder (catalog.RESERVED_NAMES)
CHUNK = 20_000  # comments per similarity block: bounded memory however big the corpus
MODEL_FORMAT = 1
log = logging.getLogger("pipeline")


@dataclass
class ThreadRows:
    """What the corpus reads of one thread's artifacts."""

    name: str
    title: str
    comment_ids: list[str]
    created_at: list[str | None]
    thread_topic: list[int | None]
    has_text: np.ndarray
    substantive: np.ndarray  # clustered in a fit: text that is neither near-empty nor a repeat
    vectors: np.ndarray  # memory-mapped embeddings.npy
    hashes: dict[str, str]
    fingerprint: str | None


def read_thread(folder: Path) -> ThreadRows:
    """A thread's rows and its memory-mapped vectors, from its artifact folder."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not (folder / catalog.EMBEDDINGS).is_file():
        raise PipelineError("no embeddings.npy for the corpus topics", path=folder,
                            hint="topics.scope=corpus needs the embed stage: leave topics.enabled on")
    try:
        manifest = json.loads((folder / catalog.MANIFEST).read_text(encoding="utf-8"))
        table = pq.read_table(folder / catalog.COMMENTS_PARQUET,
                              columns=["comment_id", "created_at", "topic_id", "flags", "text_clean"])
        vectors = np.load(folder / catalog.EMBEDDINGS, mmap_mode="r")
    except (OSError, ValueError) as error:
        raise PipelineError(f"cannot read this thread's artifacts for the corpus: {error}", path=folder,
                            hint="run the pipeline on its dump again") from None
    if vectors.ndim != 2 or len(vectors) != table.num_rows:
        raise PipelineError(f"embeddings.npy has {vectors.shape} rows, comments.parquet {table.num_rows}",
                            path=folder, hint="run the pipeline on its dump again")
    has_text = pc.fill_null(pc.greater(pc.utf8_length(table["text_clean"]), 0), False).to_numpy(
        zero_copy_only=False)
    flags = table["flags"].to_pylist()
    substantive = has_text & np.array([not ({"near_empty", "duplicate"} & set(f or ())) for f in flags],
                                      dtype=bool)
    hashes = thread_hashes(folder, manifest)
    embedding = (manifest.get("models") or {}).get("embedding") or {}
    return ThreadRows(name=folder.name, title=(manifest.get("input") or {}).get("title") or "",
                      comment_ids=table["comment_id"].to_pylist(),
                      created_at=table["created_at"].to_pylist(), thread_topic=table["topic_id"].to_pylist(),
                      has_text=has_text, substantive=substantive, vectors=vectors, hashes=hashes,
                      fingerprint=embedding.get("fingerprint"))


def thread_hashes(folder: Path, manifest: dict | None = None) -> dict[str, str]:
    """SHA-256 of a thread's embeddings and comments: from its manifest (the
    run hashed every file it wrote), or from the files where it has none."""
    if manifest is None:
        manifest = _read_json(folder / catalog.MANIFEST)
    files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    return {name: files.get(name) or sha256_of(folder / name) for name in (catalog.EMBEDDINGS, catalog.COMMENTS_PARQUET)}


def _texts(folder: Path, rows: np.ndarray) -> list[str]:
    import pyarrow.parquet as pq

    column = pq.read_table(folder / catalog.COMMENTS_PARQUET, columns=["text_clean"])["text_clean"]
    return [column[int(i)].as_py() for i in rows]


def fit(threads: list[ThreadRows], folders: dict[str, Path], config: dict) -> tuple[dict, np.ndarray]:
    """The corpus model: topics fitted on a seeded sample of at most
    `topics.corpus_sample` substantive comments; (model, centroids)."""
    section, seed = config["topics"], config["seed"]
    counts = np.array([int(t.substantive.sum()) for t in threads])
    total = int(counts.sum())
    size = min(total, section["corpus_sample"])
    picked = np.sort(np.random.default_rng(seed).choice(total, size, replace=False))
    starts = np.concatenate([[0], np.cumsum(counts)])
    cleaned: list[CleanComment] = []
    blocks: list[np.ndarray] = []
    for index, thread in enumerate(threads):
        mine = picked[(picked >= starts[index]) & (picked < starts[index + 1])] - starts[index]
        if not len(mine):
            continue
        rows = np.flatnonzero(thread.substantive)[mine]
        cleaned += [CleanComment(id=f"{thread.name}\x00{thread.comment_ids[i]}", text=text)
                    for i, text in zip(rows, _texts(folders[thread.name], rows))]
        blocks.append(np.asarray(thread.vectors[rows], dtype=np.float32))
    vectors = np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)
    result = topics.fit_topics(cleaned, vectors, {**section, "max_fit_comments": max(size, 20)}, seed)
    labels = np.array([-1 if a.topic_id is None else a.topic_id for a in result.assignments])
    ids = [t.id for t in result.topics]
    centroids = (topics.topic_centroids(vectors, labels, ids) if ids
                 else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32))
    model = {
        "format": MODEL_FORMAT, "fitted_at": _now(), "pipeline_version": __version__,
        "embedding_fingerprint": next((t.fingerprint for t in threads if t.fingerprint), None),
        "sample": {"comments": int(size), "of": total, "seed": seed},
        "outlier_threshold": section["outlier_threshold"], "params": result.params,
        "topics": [{"id": t.id, "label": t.label, "keywords": list(t.keywords), "size_in_sample": t.size}
                   for t in result.topics],
    }
    return model, centroids.astype(np.float32)


def assign(vectors: np.ndarray, has_text: np.ndarray, centroids: np.ndarray,
           threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest topic per row, in blocks of CHUNK rows: (topic ids, -1 below the
    threshold and -2 for rows without text; cosines, NaN without text)."""
    topic_ids = np.full(len(vectors), -2, dtype=np.int32)
    similarity = np.full(len(vectors), np.nan, dtype=np.float32)
    for start in range(0, len(vectors), CHUNK):
        block = np.asarray(vectors[start:start + CHUNK], dtype=np.float32)
        text = has_text[start:start + CHUNK]
        if not len(centroids):
            topic_ids[start:start + CHUNK][text] = -1
            continue
        norms = np.linalg.norm(block, axis=1)
        scores = (block @ centroids.T) / np.where(norms == 0, 1, norms)[:, None]
        best = scores.argmax(axis=1)
        score = scores[np.arange(len(block)), best]
        ids = np.where(score >= threshold, best, -1)
        topic_ids[start:start + CHUNK] = np.where(text, ids, -2)
        similarity[start:start + CHUNK] = np.where(text, score, np.nan)
    return topic_ids, similarity


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _load_model(model_dir: Path) -> tuple[dict, np.ndarray, dict] | None:
    """The fitted model under _corpus/model/, or None where there is none or it
    cannot be read (then the update fits a new one, and says so)."""
    try:
        model = json.loads((model_dir / catalog.CORPUS_MODEL_TOPICS).read_text(encoding="utf-8"))
        assigned = json.loads((model_dir / catalog.CORPUS_MODEL_THREADS).read_text(encoding="utf-8"))
        centroids = np.load(model_dir / catalog.CORPUS_MODEL_CENTROIDS, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("corpus: the model in %s cannot be read (%s); fitting a new one", model_dir, error)
        return None
    if model.get("format") != MODEL_FORMAT or len(centroids) != len(model.get("topics", ())):
        log.warning("corpus: the model in %s is not one this version reads; fitting a new one", model_dir)
        return None
    return model, centroids, assigned


def _previous_rows(corpus_dir: Path) -> list[dict]:
    import pyarrow.parquet as pq

    path = corpus_dir / catalog.CORPUS_COMMENT_TOPICS_PARQUET
    return pq.read_table(path).to_pylist() if path.exists() else []


def update(folders: list[Path], config: dict) -> Path:
    """Fit or extend the corpus model with the threads in `folders` (artifact
    folders of one output_dir) and write `<output_dir>/_corpus/`."""
    start = time.perf_counter()
    out_root = Path(config["output_dir"])
    corpus_dir = out_root / CORPUS
    recover_under_lock(corpus_dir)
    section = config["topics"]
    loaded = None if section["refit"] else _load_model(corpus_dir / catalog.CORPUS_MODEL)
    named = {folder.name for folder in folders}
    if loaded is None:  # a fit is over every thread the corpus has had, and this run's
        before = _read_json(corpus_dir / catalog.CORPUS_MODEL / catalog.CORPUS_MODEL_THREADS)
        folders = list(folders) + [out_root / name for name in sorted(before)
                                   if name not in named and (out_root / name / catalog.MANIFEST).is_file()]
    else:  # only the threads it has not seen, or that changed since, are read and assigned
        folders = [f for f in folders if loaded[2].get(f.name, {}).get("hashes") != thread_hashes(f)]
    threads = [read_thread(folder) for folder in folders]
    fingerprints = {t.fingerprint for t in threads if t.fingerprint}
    if len(fingerprints) > 1:
        raise PipelineError("the threads of this corpus were embedded with different models", path=out_root,
                            hint="run every dump with the same embed settings, or give the corpus its own --out")
    if loaded and not len(loaded[1]) and threads:  # too few comments last time: try again with these
        log.info("corpus: the corpus model has no topics yet; fitting it again with the new threads")
        return update(folders, {**config, "topics": {**section, "refit": True}})
    known = loaded[0].get("embedding_fingerprint") if loaded else None
    if loaded and ((known and fingerprints - {known})
                   or any(t.vectors.shape[1] != loaded[1].shape[1] for t in threads if len(t.vectors))):
        log.warning("corpus: these threads were embedded with another model than the corpus model's; "
                    "refitting it")
        return update(folders, {**config, "topics": {**section, "refit": True}})
    paths = {folder.name: folder for folder in folders}
    history = _read_json(corpus_dir / catalog.MANIFEST).get("history", [])
    if loaded is None:
        model, centroids = fit(threads, paths, config)
        assigned_before: dict = {}
        previous: list[dict] = []
        todo = threads
        action = "refit" if (corpus_dir / catalog.CORPUS_MODEL).exists() else "fit"
    else:
        model, centroids, assigned_before = loaded
        todo = threads
        previous = [row for row in _previous_rows(corpus_dir) if row["thread"] not in paths]
        action = "assign"

    labels = {t["id"]: t["label"] for t in model["topics"]}
    threshold = model["outlier_threshold"]
    rows = list(previous)
    assigned = {name: info for name, info in assigned_before.items() if name not in paths}
    added = outside = comments = 0
    for thread in todo:
        topic_ids, similarity = assign(thread.vectors, thread.has_text, centroids, threshold)
        rows += [{"thread": thread.name, "comment_id": cid, "created_at": created,
                  "thread_topic_id": own, "corpus_topic_id": None if t == -2 else int(t),
                  "corpus_topic_label": None if t == -2 else labels.get(int(t), export.OUTLIER_LABEL),
                  "corpus_similarity": None if np.isnan(s) else round(float(s), 4)}
                 for cid, created, own, t, s in zip(thread.comment_ids, thread.created_at,
                                                    thread.thread_topic, topic_ids, similarity)]
        comments += int(thread.has_text.sum())
        outside += int((topic_ids == -1).sum())
        assigned[thread.name] = {"hashes": thread.hashes, "title": thread.title, "comments": len(topic_ids),
                                 "assigned_at": _now()}
        added += 1
    seconds = round(time.perf_counter() - start, 3)
    history.append({"at": _now(), "action": action, "threads": added, "comments_assigned": comments,
                    "outside": outside, "seconds": seconds})
    log.info("corpus: %s; %d threads (%d comments with text) assigned to %d topics, %d of them outside "
             "every topic (cosine under %s)", "fitted a new model" if action != "assign"
             else "no refit", added, comments, len(labels), outside, threshold)
    _write(corpus_dir, out_root, model, centroids, assigned, rows, history,
           keep_model=action == "assign")
    return corpus_dir


def _read_json(path: Path) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _write(corpus_dir: Path, out_root: Path, model: dict, centroids: np.ndarray, assigned: dict,
           rows: list[dict], history: list[dict], keep_model: bool) -> None:
    tables = corpus_tables.build(rows, model, assigned)
    with_text = [r for r in rows if r["corpus_topic_id"] is not None]
    manifest = {
        "pipeline_version": __version__, "fitted_at": model["fitted_at"], "sample": model["sample"],
        "outlier_threshold": model["outlier_threshold"], "topics": len(model["topics"]),
        "threads": len(assigned), "comments": len(rows), "comments_with_text": len(with_text),
        "outside": sum(1 for r in with_text if r["corpus_topic_id"] == -1),
        "history": history,
    }
    with staged_folder(out_root, CORPUS) as staging:
        (staging / catalog.CORPUS_MODEL).mkdir()
        if keep_model:  # the fitted model, byte for byte: nothing was refitted
            for name in (catalog.CORPUS_MODEL_TOPICS, catalog.CORPUS_MODEL_CENTROIDS):
                shutil.copy2(corpus_dir / catalog.CORPUS_MODEL / name, staging / catalog.CORPUS_MODEL / name)
        else:
            export.write_json(model, staging / catalog.CORPUS_MODEL / catalog.CORPUS_MODEL_TOPICS)
            np.save(staging / catalog.CORPUS_MODEL / catalog.CORPUS_MODEL_CENTROIDS, centroids, allow_pickle=False)
        export.write_json(assigned, staging / catalog.CORPUS_MODEL / catalog.CORPUS_MODEL_THREADS)
        corpus_tables.write(tables, rows, staging)
        (staging / catalog.INDEX).write_text(build_page(model, tables, manifest), encoding="utf-8")
        manifest["files"] = file_hashes(staging)  # what is not listed is a user's, kept by the swap
        kept = carry_user_files(corpus_dir, staging)
        manifest["files"] = {rel: digest for rel, digest in manifest["files"].items() if rel not in kept}
        manifest["user_files"] = sorted(kept)
        export.write_json(manifest, staging / catalog.MANIFEST)

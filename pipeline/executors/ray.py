"""The Ray executor: the per-comment work of a run spread over a Ray cluster.

`executor: ray` in the config (or `make pipeline EXECUTOR=ray`) runs

1. ingest as Ray Data `map_batches` over the dumps (each dump's comments read
   in tree order), then clean over the comments, on actors that load spaCy
   once each; duplicate marks, which depend on the comments before, are set
   afterwards in thread order;
2. embed over the distinct texts no cache has, on actors that load the model
   once each, in the same length-sorted batches as a local run;
3. stance scoring over the comments (each comment on its own, with its
   vector and its parent's shipped alongside), on actors that load the stance
   models once each.

The driver then does what needs a whole thread, as the local executor does:
reply targets, the topic fit on the gathered embeddings, stance propagation
down the reply tree and the export. Without RAY_ADDRESS a local Ray is
started on this machine; with it, the run joins that cluster, whose nodes
need this project installed and the dumps at the same path.
"""
from __future__ import annotations

import logging
import os
import pickle
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import clean, ingest, replies, stance
from pipeline.embed import Embedder, embed_texts
from pipeline.errors import PipelineError
from pipeline.executors._base import Executor
from pipeline.records import CleanComment, Thread


def _start(config: dict):
    """Ray, started locally or joined (RAY_ADDRESS); returns (ray, workers)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise PipelineError("executor 'ray' needs Ray, which is not installed", path="executor",
                            hint="pip install -e '.[ray]' (make pipeline EXECUTOR=ray does it)") from None
    workers = config["ray"]["workers"]
    if not ray.is_initialized():
        options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                       runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                                 "TOKENIZERS_PARALLELISM": "false"}})
        address = os.environ.get("RAY_ADDRESS")
        if address:
            import pipeline

            options["runtime_env"]["py_modules"] = [str(Path(pipeline.__file__).parent)]
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=os.cpu_count() if workers == "auto" else int(workers), **options)
    if workers == "auto":
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="The minimum number of concurrent actors")
    return ray, int(workers)


# --- the map_batches functions and actors (run on Ray workers) -------------------------------

def read_comments(batch: dict) -> dict:
    """Ingest: a batch of dumps in, their comments out (pickled records)."""
    names, seqs, blobs = [], [], []
    for name, path, source, fmt, thread, submissions in zip(batch["name"], batch["path"], batch["source"],
                                                          batch["format"], batch["thread"], batch["submissions"]):
        options = {"submissions": Path(str(submissions))} if submissions else {}
        with open(path, "rb") as handle:  # the absolute path; the source as the user wrote it
            dump = ingest.open_dump(handle, str(source), str(fmt), str(thread) or None, options)
            for seq, comment in enumerate(dump.comments()):
                names.append(name)
                seqs.append(seq)
                blobs.append(pickle.dumps(comment, protocol=pickle.HIGHEST_PROTOCOL))
    return {"name": np.array(names, dtype=object), "seq": np.array(seqs, dtype=np.int64),
            "comment": np.array(blobs, dtype=object)}


def _groups(names) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(names):
        groups[str(name)].append(row)
    return groups


class CleanWorker:
    """Clean: spaCy loaded once per actor; each comment on its own."""

    def __init__(self, threads: dict, section: dict) -> None:
        self.threads = threads  # dump name -> (article, authors)
        self.section = section
        self.nlp = clean.load_nlp(section["spacy_model"], section["lemmatizer"])
        self.cleaners: dict[str, clean.ChunkCleaner] = {}

    def __call__(self, batch: dict) -> dict:
        comments = [pickle.loads(blob) for blob in batch["comment"]]
        out = np.empty(len(comments), dtype=object)
        for name, rows in _groups(batch["name"]).items():
            if name not in self.cleaners:
                self.cleaners = {name: clean.ChunkCleaner(*self.threads[name], self.section, self.nlp)}
            for row, cleaned in zip(rows, self.cleaners[name]([comments[r] for r in rows])):
                out[row] = pickle.dumps(cleaned, protocol=pickle.HIGHEST_PROTOCOL)
        return {"name": batch["name"], "seq": batch["seq"], "comment": batch["comment"], "clean": out}


def _embedder(section: dict, models_dir: str) -> Embedder:
    return Embedder.from_config(section, models_dir).load()


class EmbedWorker:
    """Embed: the model loaded once per actor."""

    def __init__(self, section: dict, models_dir: str) -> None:
        self.embedder = _embedder(section, models_dir)

    def __call__(self, batch: dict) -> dict:
        return {"row": batch["row"], "vector": self.embedder.encode(list(batch["text"]))}


class StanceWorker:
    """Stance scores: the stance models (and, for the article's sentences,
    the embedding model) loaded once per actor; comment vectors come with
    the batch."""

    def __init__(self, targets: dict, section: dict, models_dir: str, weights: str) -> None:
        self.targets = targets  # dump name -> article target text
        self.models = stance.load_models(weights)
        self.embedder = _embedder(section, models_dir)
        self.memo: dict[str, np.ndarray] = {}

    def __call__(self, batch: dict) -> dict:
        known = dict(zip(batch["text"], batch["vector"]))
        known.update((p, v) for p, v, has in zip(batch["parent_text"], batch["parent_vector"],
                                                  batch["has_parent"]) if has)

        def encode(texts: list[str]) -> np.ndarray:
            missing = [t for t in dict.fromkeys(texts) if t not in known and t not in self.memo]
            if missing:  # the article and the models' fixed phrases, as a local run encodes them
                vectors, new, _ = embed_texts(missing, self.embedder.encode, lambda keys: {},
                                              self.embedder.info_.dimension)
                self.memo.update(zip(missing, vectors))
            return np.stack([known[t] if t in known else self.memo[t] for t in texts])

        own = np.zeros((len(batch["text"]), 5))
        reply = np.zeros((len(batch["text"]), 3))
        for name, rows in _groups(batch["name"]).items():
            parents = [str(batch["parent_text"][r]) if batch["has_parent"][r] else None for r in rows]
            own[rows], reply[rows] = stance.score_comments(
                self.targets[name], [str(batch["text"][r]) for r in rows], parents, encode, self.models)
        return {"name": batch["name"], "k": batch["k"], "own": own, "reply": reply}


# --- the driver --------------------------------------------------------------------------------

@dataclass
class Prepared:
    """A dump's ingest and clean output and its stance scores, computed on Ray."""

    thread: Thread
    cleaned: list[CleanComment]
    stance_scores: tuple[np.ndarray, np.ndarray] | None


class RayExecutor(Executor):
    """Ingest, clean, embed and stance scores for every dump on Ray, in
    `start`; the per-dump calls then hand out what it computed."""

    name = "ray"
    ran_elsewhere = ("ingest", "clean", "embed", "stance")

    def __init__(self, config: dict, resources) -> None:
        super().__init__(config, resources)
        self.prepared: dict[str, Prepared] = {}
        self.about_run: dict = {"name": self.name}

    def start(self, dumps: list[Path], names: list[str]) -> dict[str, PipelineError]:
        checked: dict[str, tuple[Path, ingest.Dump]] = {}
        failures: dict[str, PipelineError] = {}
        for path, name in zip(dumps, names):  # bad input fails here, as in a local run
            try:
                with path.open("rb") as handle:
                    checked[name] = (path, self.open_dump(handle, name, str(path)))
            except PipelineError as error:
                failures[name] = error
            except OSError as error:
                failures[name] = ingest.unreadable(path, error)
        if not checked:
            return failures
        resources = self.resources
        # a missing model package fails here with its one-line error, not inside an actor
        resources.nlp
        resources.embedder
        if self.config["stance"]["enabled"]:
            resources.stance_models

        ray, workers = _start(self.config)
        try:
            self.prepared, self.about_run = _prepare_on_ray(ray, workers, checked, self.config, resources,
                                                            self.threads)
        except ray.exceptions.RayError as error:
            cause = root_cause(error)
            if isinstance(cause, PipelineError):
                raise cause from None
            raise PipelineError(f"a Ray worker failed: {cause!r}".splitlines()[0],
                                hint="the workers' logs are under /tmp/ray/session_latest/logs") from None
        return failures

    def read_thread(self, name: str, path: Path) -> Thread:
        return self.prepared[name].thread

    def clean(self, name: str, thread: Thread) -> list[CleanComment]:
        return self.prepared[name].cleaned

    def stance_scores(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        return self.prepared[name].stance_scores

    def about(self) -> dict:
        return self.about_run


def root_cause(error: BaseException) -> BaseException:
    """The project's own error inside Ray's wrappers (RayTaskError.cause,
    UserCodeException.__cause__), or the innermost exception."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, PipelineError):
            return error
        inner = getattr(error, "cause", None) or error.__cause__ or error.__context__
        if inner is None:
            return error
        error = inner
    return error


def _prepare_on_ray(ray, workers: int, checked: dict, config: dict,
                    resources, threads_of: dict | None = None) -> tuple[dict[str, Prepared], dict]:
    """A Prepared per checked dump, and the manifest's executor entry."""
    from ray.data import ActorPoolStrategy

    pool = ActorPoolStrategy(size=workers)
    batch_size = config["ray"]["batch_size"]
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    submissions, threads_of = config["ingest"]["submissions"], threads_of or {}
    comments = ray.data.from_items([{"name": name, "path": str(path.resolve()), "source": str(path),
                                     "format": config["ingest"]["format"], "thread": threads_of.get(name) or "",
                                     "submissions": str(Path(submissions).resolve()) if submissions else ""}
                                    for name, (path, _) in checked.items()])
    comments = comments.map_batches(read_comments, batch_size=1, batch_format="numpy").materialize()
    seconds["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    threads = {name: (dump.article, dump.authors) for name, (_, dump) in checked.items()}
    cleaned_rows = comments.map_batches(CleanWorker, fn_constructor_kwargs={"threads": threads,
                                                                            "section": config["clean"]},
                                        batch_size=batch_size, batch_format="numpy", compute=pool)
    gathered: dict[str, list] = defaultdict(list)
    for batch in cleaned_rows.iter_batches(batch_format="numpy", batch_size=None):
        for name, seq, comment, cleaned in zip(batch["name"], batch["seq"], batch["comment"], batch["clean"]):
            gathered[str(name)].append((int(seq), comment, cleaned))
    prepared_threads: dict[str, tuple[Thread, list[CleanComment]]] = {}
    for name, (path, dump) in checked.items():
        rows = sorted(gathered.get(name, []), key=lambda r: r[0])
        thread = Thread(dump.article, tuple(pickle.loads(r[1]) for r in rows), dump.warnings)
        cleaned = list(clean.Duplicates().mark(pickle.loads(r[2]) for r in rows))
        prepared_threads[name] = (thread, cleaned)
    seconds["clean"] = time.perf_counter() - start

    start = time.perf_counter()
    resources.embed([c.text for _, cleaned in prepared_threads.values() for c in cleaned],
                    encode=lambda texts: _encode_on_ray(ray, texts, config, pool))
    resources.keep_pending()  # every dump's vectors stay at hand, cache or no cache
    seconds["embed"] = time.perf_counter() - start

    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if config["stance"]["enabled"]:
        start = time.perf_counter()
        scores = _score_on_ray(ray, prepared_threads, config, resources, pool)
        seconds["stance"] = time.perf_counter() - start

    about = {"name": "ray", "workers": workers, "address": os.environ.get("RAY_ADDRESS") or "local",
             "ray_version": ray.__version__,
             "seconds_all_dumps": {k: round(v, 3) for k, v in seconds.items()}}
    return {name: Prepared(thread, cleaned, scores.get(name))
            for name, (thread, cleaned) in prepared_threads.items()}, about


def _models_dir(config: dict) -> str:
    from pipeline.config import models_dir

    return str(models_dir(config).resolve())


def _encode_on_ray(ray, texts: list[str], config: dict, pool) -> np.ndarray:
    """Vectors for texts, in order, from EmbedWorker actors. The texts come
    sorted longest first (embed_texts), and each Ray batch is one forward
    pass of embed.batch_size texts, as in a local run."""
    section = config["embed"]
    dataset = ray.data.from_items([{"row": row, "text": text} for row, text in enumerate(texts)])
    dataset = dataset.map_batches(EmbedWorker, fn_constructor_kwargs={"section": section,
                                                                      "models_dir": _models_dir(config)},
                                  batch_size=section["batch_size"], batch_format="numpy", compute=pool)
    vectors: np.ndarray | None = None
    for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
        if vectors is None:
            vectors = np.zeros((len(texts), batch["vector"].shape[1]), dtype=np.float32)
        vectors[batch["row"]] = batch["vector"]
    return vectors


def _score_on_ray(ray, prepared_threads: dict, config: dict, resources,
                  pool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    items, targets, sizes = [], {}, {}
    for name, (thread, cleaned) in prepared_threads.items():
        reply_targets = replies.infer_reply_targets(thread.comments, cleaned)
        rows, target, texts, parent_texts = stance.stance_inputs(thread.article, cleaned, reply_targets,
                                                                 config["stance"]["target"])
        targets[name], sizes[name] = target, len(rows)
        if not rows:
            continue
        vectors = resources.encode(texts)
        parent_vectors = resources.encode([p or "" for p in parent_texts])
        for k, (text, parent) in enumerate(zip(texts, parent_texts)):
            items.append({"name": name, "k": k, "text": text, "parent_text": parent or "",
                          "has_parent": parent is not None, "vector": vectors[k],
                          "parent_vector": parent_vectors[k]})
    scores = {name: (np.zeros((n, 5)), np.zeros((n, 3))) for name, n in sizes.items()}
    if not items:
        return scores
    dataset = ray.data.from_items(items).map_batches(
        StanceWorker, fn_constructor_kwargs={"targets": targets, "section": config["embed"],
                                             "models_dir": _models_dir(config),
                                             "weights": str(resources.stance_models.folder)},
        batch_size=config["ray"]["batch_size"], batch_format="numpy", compute=pool)
    for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
        for name, k, own, reply in zip(batch["name"], batch["k"], batch["own"], batch["reply"]):
            scores[str(name)][0][k] = own
            scores[str(name)][1][k] = reply
    return scores

"""The stages of a run, each declared once, and the declaration is the call
(Kedro's node shape): a stage names its inputs (upstream outputs, or DUMP),
the config sections it reads and the run's resources it uses, and the runner
calls its function with exactly those, by name:

    run(<input>=<upstream output>, ..., config={<section>: ...}, <resource>=...)

A switched-off upstream stage's output arrives as None (export without
topics). The declaration also names the pipeline modules whose source the
stage runs, the installed distributions it imports and the model files it
loads, and its cache key is made of exactly these (`stage_key`): the content
hash of each input, the config sections, the code, the versions, the model
fingerprints. A key holds an upstream stage's output, not the upstream's key,
so a change that re-runs clean (a spaCy upgrade) re-runs topics and stance
only if clean's output changed. The runner (pipeline/runner.py) walks STAGES
in order and writes what export gives into the files the catalog names.

Resources a stage may use (`uses`), from the run's Resources: `executor`
(where per-comment work runs: `executor.map`, pipeline/executors/), `embed`
(vectors through the embedding cache), `encode` (vectors of a few texts),
`stance_models`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import (clean, embed as embedding, export, ingest, plots, replies, stage_cache, stance, tokens,
                      topics)
from pipeline.clean import author_key
from pipeline.config import models_dir
from pipeline.records import STANCE_LABELS

DUMP = "dump"  # the input of ingest: a Source (the file, its sha256, the thread it stands for)


@dataclass(frozen=True)
class Source:
    """What ingest reads: the dump file, its content hash (in the cache key) and,
    for a file that holds many threads, which one (ingest.thread_keys)."""

    path: Path
    sha256: str
    thread: str | None = None


@dataclass(frozen=True)
class Embedding:
    """The embed stage's output: a vector per cleaned comment, and what the
    embedding cache gave."""

    vectors: np.ndarray
    cache_hits: int
    encoded: int


@dataclass(frozen=True)
class Export:
    """The export stage's output: the rows the runner writes (catalog.py)."""

    comments: Sequence[dict]  # export.CommentRows: built as read, each writer reads them in turn
    topics: list[dict]


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[..., Any]  # called with its inputs, config=..., and its resources, by name
    describe: Callable[..., dict]  # describe(output, **the same arguments): the manifest's facts
    inputs: tuple[str, ...] = ()  # upstream stages whose output it reads (or DUMP)
    config: tuple[str, ...] = ()  # config sections, top-level keys (seed) or dotted keys (ray.batch_size) it reads
    uses: tuple[str, ...] = ()  # the run's resources it is called with (see the module's doc)
    modules: tuple[str, ...] = ()  # pipeline modules (or packages) whose source it runs
    packages: tuple[str, ...] = ()  # installed distributions it imports
    package_keys: tuple[str, ...] = ()  # config keys that name one more distribution (clean.spacy_model)
    models: tuple[str, ...] = ()  # model files it loads, by fingerprint (see MODEL_FINGERPRINTS)
    switch: str | None = None  # the config key that turns it off ("topics.enabled")
    only_if_read: bool = False  # runs only when a stage that runs reads its output
    only_with: tuple[str, ...] = ()  # runs only when these stages run for other stages' sake
    cached: bool = True  # kept in the stage cache
    notes: Callable[[Any], Iterable[str]] | None = None  # warnings its output carries, logged once
    content: Callable[[Any], Any] = lambda output: output  # what of its output a downstream key hashes

    def distributions(self, config: dict) -> tuple[str, ...]:
        named = (str(_lookup(config, key)).replace("_", "-") for key in self.package_keys)
        return self.packages + tuple(named)

    def versions(self, config: dict) -> dict[str, str | None]:
        """The installed version of every distribution the stage uses."""
        return {name: stage_cache.installed_version(name) for name in self.distributions(config)}

    def code(self) -> str:
        return stage_cache.code_version(*self.modules)

    def arguments(self, outputs: dict[str, Any], config: dict, resources: Callable[[str], Any]) -> dict:
        """What the stage is called with: its inputs from `outputs` (None for a stage
        switched off), its config sections, and its resources by name."""
        return {**{name: outputs.get(name) for name in self.inputs},
                "config": select(config, self.config),
                **{name: resources(name) for name in self.uses}}


def select(config: dict, keys: tuple[str, ...]) -> dict:
    """The part of the config that `keys` name, nested as in the config: a section
    whole, or one dotted key ({"ray": {"batch_size": 256}} for ray.batch_size)."""
    out: dict = {}
    for key in keys:
        *path, last = key.split(".")
        source, target = config, out
        for part in path:
            source, target = source[part], target.setdefault(part, {})
        target[last] = source[last]
    return out


def _lookup(config: dict, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value[part]
    return value


# keys no stage reads: the corpus pass's, after every dump is written (pipeline/corpus.py), so a dump's
# artifacts and stage outputs do not depend on them
CORPUS_ONLY = {"topics": ("scope", "refit", "corpus_sample")}


def dump_config(config: dict) -> dict:
    """The config less the keys only the corpus pass reads: what a dump's artifacts are made with."""
    return {name: ({k: v for k, v in value.items() if k not in CORPUS_ONLY[name]} if name in CORPUS_ONLY else value)
            for name, value in config.items()}


def stage_key(stage: Stage, config: dict, inputs: dict[str, str], versions: dict[str, str | None],
              models: dict[str, str]) -> str:
    """The stage's cache key from its declaration: `inputs` are the content
    hashes of what it reads, `versions` its distributions' versions,
    `models` its model files' fingerprints."""
    return stage_cache.stage_key(stage.name, {
        "inputs": {name: inputs[name] for name in stage.inputs},
        "config": select(dump_config(config), stage.config),
        "code": stage.code(),
        "packages": {name: versions.get(name) for name in stage.distributions(config)},
        "models": {name: models[name] for name in stage.models},
    })


# fingerprints of the model files a stage loads, each read from the run's Resources
MODEL_FINGERPRINTS: dict[str, Callable[[Any], str]] = {
    "embedding": lambda resources: resources.embedder.info_.fingerprint,
    # read from the files, so a run that turns out up to date loads no stance model
    "stance_weights": lambda resources: stance.weights_fingerprint(stance.weights_for(
        resources.config["embed"]["backend"], resources.config["stance"]["method"])),
    # the user's labels the thread reader adapts to (stance.labels): their content, not their name
    "stance_labels": lambda resources: (stage_cache.sha256_of(Path(resources.config["stance"]["labels"]).expanduser())
                                        if resources.config["stance"].get("labels") else ""),
}


# --- the stages' functions ----------------------------------------------------------------------

def _ingest(dump: Source, config: dict):
    with dump.path.open("rb") as handle:
        return ingest.open_dump(handle, str(dump.path), config["ingest"]["format"], dump.thread,
                                ingest.options_from(config)).read()


def _describe_ingest(thread, **_) -> dict:
    return {"format": thread.format, "threads_in_file": thread.threads_in_file,
            "comments": len(thread.comments),
            "replies": sum(1 for c in thread.comments if c.parent_id is not None),
            "deleted": sum(1 for c in thread.comments if {"deleted", "removed"} & set(c.status)),
            "missing": thread.missing,
            "orphans": sum(1 for c in thread.comments if "parent_missing" in c.status),
            "top_level": sum(1 for c in thread.comments if c.depth == 0),
            "max_depth": max((c.depth for c in thread.comments), default=None),
            "authors": len({author_key(c.author) for c in thread.comments}),
            "empty": sum(1 for c in thread.comments if not c.text.strip())}


def _clean(ingest, config: dict, executor):
    """Each comment on its own (any batches, any machine), then the duplicate
    marks, which depend on the comments before, in thread order."""
    section = config["clean"]
    authors = tuple(c.author for c in ingest.comments)
    context = (clean.cleaner_key(ingest.article, authors, section), ingest.article, authors, section)
    batches = executor.map(clean.clean_batch, list(ingest.comments), context=context,
                           setup=partial(tokens.worker_nlp, section["spacy_model"], section["lemmatizer"]),
                           batch_size=config["ray"]["batch_size"])
    return list(clean.Duplicates().mark(c for batch in batches for c in batch))


def _describe_clean(cleaned, **_) -> dict:
    return {flag: sum(1 for c in cleaned if flag in c.flags)
            for flag in ("empty", "near_empty", "link_only", "quote_only")}


def _embed(clean, config: dict, executor, embed) -> Embedding:
    """Vectors through the embedding cache; the texts no cache has are encoded
    by the executor, in the length-sorted batches a single process would form."""
    section = config["embed"]
    setup = partial(embedding.worker_encoder, section, str(models_dir(config)))

    def encode(texts: list[str]) -> list[np.ndarray]:  # the batches' vectors, in order (embed_texts places them)
        return executor.map(embedding.encode_batch, texts, setup=setup, context=False,  # no bar per batch
                            batch_size=section["batch_size"])

    vectors, hits, encoded = embed([c.text for c in clean], encode)
    return Embedding(vectors, hits, encoded)


def _describe_embed(embedding: Embedding, clean, **_) -> dict:
    return {"texts": sum(1 for c in clean if c.text),
            "cache_hits": embedding.cache_hits, "encoded": embedding.encoded}


def _replies(ingest, clean, config: dict) -> dict[str, tuple[str | None, str]]:
    """What each comment answers: read by stance and by the export."""
    return replies.infer_reply_targets(ingest.comments, clean)


def _describe_replies(targets: dict, **_) -> dict:
    reasons: dict[str, int] = {}
    for _, reason in targets.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    return dict(sorted(reasons.items()))


def _topics(clean, embed: Embedding, config: dict):
    return topics.fit_topics(clean, embed.vectors, config["topics"], config["seed"])


def _describe_topics(result, **_) -> dict:
    return {"topics": len(result.topics),
            "outliers": sum(1 for a in result.assignments if a.topic_id == -1), **result.params}


def _stance(ingest, clean, embed: Embedding, replies: dict, config: dict, executor, encode, stance_models):
    """Each comment's own scores (any batches, any machine: its vector and its
    parent's go with it), then the thread read as a whole, here."""
    section = config["stance"]
    rows, target, texts, parent_texts = stance.stance_inputs(ingest.article, clean, replies, section["target"])
    scores = None
    if rows:
        vector_of = {c.text: embed.vectors[i] for i, c in enumerate(clean) if c.text}
        items = [(text, vector_of[text], parent, vector_of[parent] if parent else None)
                 for text, parent in zip(texts, parent_texts)]
        batches = executor.map(stance.score_batch, items, setup=partial(stance.load_models, stance_models.folder),
                               context=(target, encode([target])[0]), batch_size=config["ray"]["batch_size"])
        scores = tuple(np.concatenate([batch[part] for batch in batches])
                       for part in range(4))  # own, reply, domain, the RumourEval head's reading
    return stance.annotate_stance(ingest.article, ingest.comments, clean, replies, encode, stance_models, scores,
                                  target=section["target"], adapt_priors=section["adapt_priors"],
                                  thread_reader=stance_models.reader_for(section),
                                  labels=stance.read_labels(section["labels"]) if section["labels"] else None,
                                  vectors=embed.vectors)


def _describe_stance(found, ingest, config: dict, stance_models, **_) -> dict:
    section = config["stance"]
    reader = stance_models.reader_for(section)
    out = {"model": stance_models.name, "thread_reader": reader is not None,
           "thread_reader_version": reader.card.get("version") if reader is not None else None,
           **{label: sum(1 for a in found if a.stance == label) for label in STANCE_LABELS},
           "moved_by_thread": sum(1 for a in found if a.context == "thread")}
    if reader is not None:
        # the reader left the thread to the pair model: its comments read as replies to a rumour post
        out["left_to_pair_model"] = any(a.context == "pair_model" for a in found)
        if section["labels"]:
            ids = {c.id for c in ingest.comments}
            out["adapted_to_labels"] = sum(1 for i in stance.read_labels(section["labels"]) if i in ids)
        target = stance.article_target(ingest.article, section["target"])
        out["article_side"] = (reader.deferred_reading() if out["left_to_pair_model"]
                               else reader.side_note(reader.article_sentiment(target))["reading"])
    return out


def _layout(clean, embed: Embedding, topics, config: dict) -> np.ndarray:
    has_text = np.array([bool(c.text) for c in clean], dtype=bool)
    return plots.layout_2d(embed.vectors, has_text, config["seed"], topics.map_2d if topics is not None else None)


def _describe_layout(coords: np.ndarray, **_) -> dict:
    return {"points": int(np.isfinite(coords[:, 0]).sum()) if len(coords) else 0}


def _export(ingest, clean, topics, replies: dict, stance, config: dict) -> Export:
    rows = export.build_comment_rows(ingest, clean, topics, replies, stance)
    return Export(rows, export.build_topic_rows(topics, rows) if topics is not None else [])


def _describe_export(out: Export, **_) -> dict:
    return {"rows": len(out.comments)}


# --- the declarations, in the order they run ---------------------------------------------------

INGEST = Stage(
    "ingest", _ingest, _describe_ingest,
    inputs=(DUMP,),
    config=("ingest",),
    modules=("ingest",),
    notes=lambda thread: thread.warnings)

CLEAN = Stage(
    "clean", _clean, _describe_clean,
    inputs=("ingest",),
    config=("clean", "ray.batch_size"),  # the batches each executor cuts (the same on every one)
    uses=("executor",),
    modules=("clean",),
    packages=("spacy", "py3langid", "spacy-lookups-data"),
    package_keys=("clean.spacy_model",))

# Not in the stage cache, so it has no key: the vectors are cached per text
# under the embedding model's fingerprint (cache.py), and topics and stance
# key on the vectors themselves.
EMBED = Stage(
    "embed", _embed, _describe_embed,
    inputs=("clean",),
    config=("embed", "models_dir"),
    uses=("executor", "embed"),
    only_if_read=True,
    cached=False,
    content=lambda embedding: embedding.vectors)

# Not cached either (a dictionary walk); stance and the export key on what it gives.
REPLIES = Stage(
    "replies", _replies, _describe_replies,
    inputs=("ingest", "clean"),
    only_if_read=True,
    cached=False)

TOPICS = Stage(
    "topics", _topics, _describe_topics,
    inputs=("clean", "embed"),
    config=("topics", "seed"),
    modules=("topics", "jit"),
    packages=("bertopic", "umap-learn", "hdbscan", "scikit-learn", "numpy"),
    switch="topics.enabled")

# The stance models' training and evaluation tools (stance_train/) are not what
# the stage runs, so editing them keeps its cache. The embedding model encodes
# the article's sentences, beyond the vectors of the comments.
STANCE = Stage(
    "stance", _stance, _describe_stance,
    inputs=("ingest", "clean", "embed", "replies"),
    config=("stance", "ray.batch_size"),  # float results can move with the rows scored together
    uses=("executor", "encode", "stance_models"),
    modules=("stance", "stance_model"),
    packages=("scikit-learn", "scipy", "numpy", "vaderSentiment"),
    models=("embedding", "stance_weights", "stance_labels"),
    switch="stance.enabled")

# The report's 2-D map of the comments: from the topic stage's own UMAP where topics ran
# (no second UMAP fit), else UMAP, or PCA on big threads; computed once per set of
# vectors, like a stage, so a rerun's report does not redraw it.
LAYOUT = Stage(
    "layout", _layout, _describe_layout,
    inputs=("clean", "embed", "topics"),
    config=("seed",),
    modules=("plots", "jit"),
    packages=("umap-learn", "scikit-learn", "numpy"),
    switch="report.enabled",
    only_with=("embed",))  # a map where the run embeds anyway (topics or stance on), never for its own sake

# The rows of the tables; the runner writes them, with the report and the review
# export, into the files pipeline/catalog.py names.
EXPORT = Stage(
    "export", _export, _describe_export,
    inputs=("ingest", "clean", "topics", "replies", "stance"),
    cached=False)

STAGES: tuple[Stage, ...] = (INGEST, CLEAN, EMBED, REPLIES, TOPICS, STANCE, LAYOUT, EXPORT)


def planned(config: dict, stages: tuple[Stage, ...] = STAGES) -> list[Stage]:
    """The stages a run with this config runs, in order: those not switched
    off, less an only_if_read stage that no stage left reads, and less an
    only_with stage whose stages do not run."""
    kept = [s for s in stages if s.switch is None or _lookup(config, s.switch)]
    leaders = [s for s in kept if not s.only_with]
    names = {s.name for s in leaders
             if not s.only_if_read or any(s.name in later.inputs for later in leaders)}
    return [s for s in kept if s.name in names or (s.only_with and set(s.only_with) <= names)]

"""The stages of a run, each declared once: what it runs and what its output
depends on, in the manner of DVC's dvc.yaml stages or Kedro's nodes.

A declaration names the stage's function, the config sections it reads, the
upstream outputs it reads, the pipeline modules whose source it runs, the
installed distributions it imports and the model files it loads. Its cache
key is made of exactly these (`stage_key`): the content hash of each input,
the config sections, the code, the versions, the model fingerprints. A key
holds an upstream stage's output, not the upstream's key, so a change that
re-runs clean (a spaCy upgrade) re-runs topics and stance only if clean's
output changed. The runner walks STAGES in order (pipeline/runner.py).

A stage's function takes a StageContext (the dump, the run's config,
resources and executor, the outputs so far) and returns its output records.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import plots, replies, stage_cache, stance, topics
from pipeline.clean import author_key
from pipeline.records import STANCE_LABELS

DUMP = "dump"  # the input of ingest: the file's sha256 and its path (the Article's source)


@dataclass
class StageContext:
    """What a stage's function may use: the dump being processed, the run's
    config, Resources and executor, and the outputs of the stages before."""

    name: str  # the dump's artifact name
    path: Path
    config: dict
    resources: Any
    executor: Any
    outputs: dict[str, Any] = field(default_factory=dict)
    thread: str | None = None  # which thread of a file that holds many (ingest.thread_keys)

    @cached_property
    def reply_targets(self) -> dict[str, tuple[str | None, str]]:
        """What each comment answers (replies.py): read by stance and by the export."""
        return replies.infer_reply_targets(self.outputs["ingest"].comments, self.outputs["clean"])


@dataclass(frozen=True)
class Embedding:
    """The embed stage's output: a vector per cleaned comment, and what the
    embedding cache gave."""

    vectors: np.ndarray
    cache_hits: int
    encoded: int


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[StageContext], Any]
    describe: Callable[[Any, StageContext], dict]  # the manifest's facts about the output
    config: tuple[str, ...] = ()  # config sections (or top-level keys: seed) it reads
    reads: tuple[str, ...] = ()  # upstream stages whose output it reads (or DUMP)
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


def _lookup(config: dict, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value[part]
    return value


def stage_key(stage: Stage, config: dict, inputs: dict[str, str], versions: dict[str, str | None],
              models: dict[str, str]) -> str:
    """The stage's cache key from its declaration: `inputs` are the content
    hashes of what it reads, `versions` its distributions' versions,
    `models` its model files' fingerprints."""
    return stage_cache.stage_key(stage.name, {
        "inputs": {name: inputs[name] for name in stage.reads},
        "config": {name: config[name] for name in stage.config},
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

def _ingest(ctx: StageContext):
    return ctx.executor.read_thread(ctx.name, ctx.path)


def _describe_ingest(thread, ctx: StageContext) -> dict:
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


def _clean(ctx: StageContext):
    return ctx.executor.clean(ctx.name, ctx.outputs["ingest"])


def _describe_clean(cleaned, ctx: StageContext) -> dict:
    return {flag: sum(1 for c in cleaned if flag in c.flags)
            for flag in ("empty", "near_empty", "link_only", "quote_only")}


def _embed(ctx: StageContext) -> Embedding:
    vectors, hits, encoded = ctx.resources.embed([c.text for c in ctx.outputs["clean"]])
    return Embedding(vectors, hits, encoded)


def _describe_embed(embedding: Embedding, ctx: StageContext) -> dict:
    return {"texts": sum(1 for c in ctx.outputs["clean"] if c.text),
            "cache_hits": embedding.cache_hits, "encoded": embedding.encoded}


def _topics(ctx: StageContext):
    return topics.fit_topics(ctx.outputs["clean"], ctx.outputs["embed"].vectors, ctx.config["topics"],
                             ctx.config["seed"])


def _describe_topics(result, ctx: StageContext) -> dict:
    return {"topics": len(result.topics),
            "outliers": sum(1 for a in result.assignments if a.topic_id == -1), **result.params}


def _stance(ctx: StageContext):
    thread, cleaned = ctx.outputs["ingest"], ctx.outputs["clean"]
    section = ctx.config["stance"]
    return stance.annotate_stance(thread.article, thread.comments, cleaned, ctx.reply_targets,
                                  ctx.resources.encode, ctx.resources.stance_models,
                                  ctx.executor.stance_scores(ctx.name),
                                  target=section["target"], adapt_priors=section["adapt_priors"],
                                  thread_reader=ctx.resources.stance_models.reader_for(section),
                                  labels=stance.read_labels(section["labels"]) if section["labels"] else None,
                                  vectors=ctx.outputs["embed"].vectors if "embed" in ctx.outputs else None)


def _describe_stance(found, ctx: StageContext) -> dict:
    models, section = ctx.resources.stance_models, ctx.config["stance"]
    reader = models.reader_for(section)
    out = {"model": models.name, "thread_reader": reader is not None,
           "thread_reader_version": reader.card.get("version") if reader is not None else None,
           **{label: sum(1 for a in found if a.stance == label) for label in STANCE_LABELS},
           "moved_by_thread": sum(1 for a in found if a.context == "thread")}
    if reader is not None:
        if section["labels"]:
            ids = {c.id for c in ctx.outputs["ingest"].comments}
            out["adapted_to_labels"] = sum(1 for i in stance.read_labels(section["labels"]) if i in ids)
        target = stance.article_target(ctx.outputs["ingest"].article, section["target"])
        out["article_side"] = reader.side_note(reader.article_sentiment(target))["reading"]
    return out


def _layout(ctx: StageContext) -> np.ndarray:
    has_text = np.array([bool(c.text) for c in ctx.outputs["clean"]], dtype=bool)
    return plots.layout_2d(ctx.outputs["embed"].vectors, has_text, ctx.config["seed"])


def _describe_layout(coords: np.ndarray, ctx: StageContext) -> dict:
    return {"points": int(np.isfinite(coords[:, 0]).sum()) if len(coords) else 0}


# --- the declarations, in the order they run ---------------------------------------------------

INGEST = Stage(
    "ingest", _ingest, _describe_ingest,
    config=("ingest",),
    reads=(DUMP,),
    modules=("ingest",),
    notes=lambda thread: thread.warnings)

CLEAN = Stage(
    "clean", _clean, _describe_clean,
    config=("clean",),
    reads=("ingest",),
    modules=("clean",),
    packages=("spacy", "py3langid", "spacy-lookups-data"),
    package_keys=("clean.spacy_model",))

# Not in the stage cache, so it has no key: the vectors are cached per text
# under the embedding model's fingerprint (cache.py), and topics and stance
# key on the vectors themselves.
EMBED = Stage(
    "embed", _embed, _describe_embed,
    reads=("clean",),
    only_if_read=True,
    cached=False,
    content=lambda embedding: embedding.vectors)

TOPICS = Stage(
    "topics", _topics, _describe_topics,
    config=("topics", "seed"),
    reads=("clean", "embed"),
    modules=("topics", "jit"),
    packages=("bertopic", "umap-learn", "hdbscan", "scikit-learn", "numpy"),
    switch="topics.enabled")

# The stance models' training and evaluation tools (stance_train/) are not what
# the stage runs, so editing them keeps its cache. clean is hashed for
# replies.py, which reads clean.AuthorNames;
# the embedding model encodes the article's sentences, beyond the vectors of
# the comments.
STANCE = Stage(
    "stance", _stance, _describe_stance,
    config=("stance",),
    reads=("ingest", "clean", "embed"),
    modules=("stance", "stance_model", "replies", "clean"),
    packages=("scikit-learn", "scipy", "numpy", "vaderSentiment"),
    models=("embedding", "stance_weights", "stance_labels"),
    switch="stance.enabled")

# The report's 2-D map of the comments (UMAP, or PCA on big threads): computed once
# per set of vectors, like a stage, so a rerun's report does not redraw it.
LAYOUT = Stage(
    "layout", _layout, _describe_layout,
    config=("seed",),
    reads=("clean", "embed"),
    modules=("plots", "jit"),
    packages=("umap-learn", "scikit-learn", "numpy"),
    switch="report.enabled",
    only_with=("embed",))  # a map where the run embeds anyway (topics or stance on), never for its own sake

STAGES: tuple[Stage, ...] = (INGEST, CLEAN, EMBED, TOPICS, STANCE, LAYOUT)


def planned(config: dict, stages: tuple[Stage, ...] = STAGES) -> list[Stage]:
    """The stages a run with this config runs, in order: those not switched
    off, less an only_if_read stage that no stage left reads, and less an
    only_with stage whose stages do not run."""
    kept = [s for s in stages if s.switch is None or _lookup(config, s.switch)]
    leaders = [s for s in kept if not s.only_with]
    names = {s.name for s in leaders
             if not s.only_if_read or any(s.name in later.reads for later in leaders)}
    return [s for s in kept if s.name in names or (s.only_with and set(s.only_with) <= names)]

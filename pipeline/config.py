"""Loads the run configuration: defaults, a user's YAML file, --set overrides.

configs/default.yaml is both the defaults and the schema: a key that is not
there is unknown, and a value must have the type of its default ("auto" keys
take "auto" or an integer), be finite and within the key's range, and
embed.max_seq_length within what the model reads. YAML anchors and aliases
are refused (a few nested aliases expand to gigabytes), as is nesting deeper
than any config needs. Mistakes raise PipelineError naming file, line and fix,
before any work.
"""
from __future__ import annotations

import copy
import difflib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from pipeline.backends import BACKENDS
from pipeline.errors import PipelineError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# a checkout's configs/default.yaml; installed with `pip install .`, the copy under the
# environment's share/ (pyproject.toml's data-files)
DEFAULT_CONFIG = next((p for p in (PROJECT_ROOT / "configs" / "default.yaml",
                                   Path(sys.prefix) / "share" / "comment-pipeline" / "configs" / "default.yaml")
                       if p.is_file()), PROJECT_ROOT / "configs" / "default.yaml")

Config = dict[str, Any]
CHOICES = {
    "topics.cluster_selection": ("leaf", "eom"),
    "topics.scope": ("thread", "corpus"),
    "topics.keywords_from": ("core", "all"),
    "topics.neighbours": ("exact", "umap"),
    "executor": ("local", "ray"),
    "embed.backend": ("auto", *BACKENDS),
    "clean.lemmatizer": ("lookup", "rule"),
}
# smallest value a number key takes ("auto" keys: when given a number)
MINIMUMS = {
    "clean.batch_size": 1, "clean.near_empty_tokens": 0, "clean.quote_min_words": 4,
    "clean.max_chars": 100, "embed.batch_size": 1, "embed.max_seq_length": 8,
    "topics.min_topic_size": 2, "topics.min_samples": 1, "topics.n_neighbors": 2,
    "topics.n_components": 2, "topics.min_comments": 4, "topics.outlier_threshold": -1.0,
    "topics.top_n_words": 1, "topics.label_words": 1, "topics.representative_comments": 0,
    "topics.ngram_max": 1, "topics.max_fit_comments": 20,
    "topics.corpus_sample": 20,
    "ray.workers": 1, "ray.batch_size": 1, "seed": 0, "report.max_comments": 1,
}
# largest value a number key takes; other integers stop at INT_MAX (they reach C code)
INT_MAX = 2**31 - 1
MAXIMUMS = {
    "seed": 2**32 - 1,  # what numpy's RandomState (UMAP's random_state) accepts
    "topics.outlier_threshold": 1.0,  # a cosine similarity
    "topics.ngram_max": 6,  # phrases per run of words grow with it
}
DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")
MAX_DEPTH = 8  # nesting of a config file: sections are one level deep


def models_dir(config: Config) -> Path:
    """Where built models go: the config's models_dir, `~` expanded."""
    return Path(config["models_dir"]).expanduser()


def _key_lines(text: str) -> dict[str, int]:
    """Map dotted keys to their 1-based line in a YAML text."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = f"{prefix}{key_node.value}"
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key + ".")

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, "")
    return lines


def _check_bounded(text: str, path: str | Path) -> None:
    """Refuse anchors, aliases and deep nesting before anything is built: a
    673-byte file of nested aliases expands to gigabytes (a "billion laughs")."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if path != "--set" else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise PipelineError("YAML anchors and aliases (&name, *name) are not allowed in a config",
                                    path=path, line=line, hint="write each value out where it is used")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise PipelineError(f"YAML nested more than {MAX_DEPTH} levels deep", path=path,
                                        line=line, hint="a config has sections of keys, one level deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the parse below reports it, with its line


def _read_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError("config file not found", path=path,
                            hint="pass an existing YAML file, e.g. configs/default.yaml") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PipelineError(f"cannot read config: {error}", path=path) from None
    _check_bounded(text, path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise PipelineError(f"invalid YAML: {problem}", path=path, line=line,
                            hint="fix the indentation or quoting there") from None
    return data, _key_lines(text)


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _type_name(key: str, default: Any) -> str:
    if key in CHOICES:
        return "one of " + ", ".join(CHOICES[key])
    if default == "auto":
        return "an integer or 'auto'"
    return {bool: "true or false", int: "an integer", float: "a number",
            str: "a string", list: "a list"}.get(type(default), type(default).__name__)


def _fits(key: str, default: Any, value: Any) -> bool:
    if key in CHOICES:  # a name, checked against its choices below (an 'auto' default there is one of them)
        return isinstance(value, str)
    if default == "auto":
        return value == "auto" or (isinstance(value, int) and not isinstance(value, bool))
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def _check_value(key: str, value: Any, default: Any, source: str, line: int | None) -> None:
    """A value of the right type: finite, in its key's range, a usable string."""
    where = {"path": source, "line": line}
    if isinstance(value, float) and not math.isfinite(value):
        raise PipelineError(f"config key '{key}' must be a finite number, got {value!r}", **where,
                            hint=f"the default is {default!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low = MINIMUMS.get(key)
        high = MAXIMUMS.get(key, INT_MAX if isinstance(value, int) else None)
        bound = (f"at least {low}" if low is not None and value < low else
                 f"at most {high}" if high is not None and value > high else None)
        if bound:
            raise PipelineError(f"config key '{key}' must be {bound}, got {value!r}", **where,
                                hint=f"the default is {default!r}")
    if isinstance(value, str) and value != "auto" and not (value == "" == default):  # "" where "" is the default: unset
        if not value.strip() or "\x00" in value:
            raise PipelineError(f"config key '{key}' must be a non-empty string without NUL bytes, "
                                f"got {value!r}", **where, hint=f"the default is {default!r}")
        if key == "embed.device" and not DEVICE.fullmatch(value):
            raise PipelineError(f"config key 'embed.device' must be cpu, cuda, cuda:N or mps, got {value!r}",
                                **where, hint="the default is 'cpu'")


def _check_model_limits(config: Config, sources: dict[str, tuple[str, int | None]]) -> None:
    """embed.max_seq_length within the positions the embedding model has
    (its config.json: max_position_embeddings; MiniLM: 512). A model that
    cannot be found yet is reported where it is first needed."""
    from pipeline.models import resolve_model_path

    try:
        model_config = Path(resolve_model_path(config["embed"]["model"])) / "config.json"
        positions = json.loads(model_config.read_text(encoding="utf-8"))["max_position_embeddings"]
    except (PipelineError, OSError, ValueError, KeyError, TypeError):
        return
    length = config["embed"]["max_seq_length"]
    if isinstance(positions, int) and length > positions:
        source, line = sources.get("embed.max_seq_length", (str(DEFAULT_CONFIG), None))
        raise PipelineError(f"config key 'embed.max_seq_length' is {length}, more than the {positions} "
                            f"word pieces the model {config['embed']['model']} reads", path=source,
                            line=line, hint=f"set it to {positions} or less")


def _apply(config: Config, defaults_flat: dict[str, Any], key: str, value: Any,
           source: str, line: int | None, sources: dict[str, tuple[str, int | None]]) -> None:
    if key not in defaults_flat:
        close = difflib.get_close_matches(key, list(defaults_flat), n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "see configs/default.yaml for the keys"
        raise PipelineError(f"unknown config key '{key}'", path=source, line=line, hint=hint)
    default = defaults_flat[key]
    if not _fits(key, default, value):
        raise PipelineError(
            f"config key '{key}' must be {_type_name(key, default)}, got {value!r}",
            path=source, line=line, hint=f"the default is {default!r}")
    _check_value(key, value, default, source, line)
    if key in CHOICES and value not in CHOICES[key]:
        raise PipelineError(f"config key '{key}' must be one of {', '.join(CHOICES[key])}, "
                            f"got {value!r}", path=source, line=line, hint=f"the default is {default!r}")
    sources[key] = (source, line)
    *parents, leaf = key.split(".")
    section = config
    for part in parents:
        section = section[part]
    section[leaf] = value


def parse_override(text: str) -> tuple[str, Any]:
    """Split a --set item "section.key=value"; the value is read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise PipelineError(f"--set takes key=value, got {text!r}",
                            hint="e.g. --set topics.min_topic_size=5")
    _check_bounded(raw, "--set")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Defaults, then the file at `path` (if any), then `overrides` in order."""
    defaults, _ = _read_yaml(DEFAULT_CONFIG)
    config = copy.deepcopy(defaults)
    defaults_flat = _flatten(defaults)
    sources: dict[str, tuple[str, int | None]] = {}
    if path is not None and Path(path).resolve() != DEFAULT_CONFIG:
        data, lines = _read_yaml(Path(path))
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise PipelineError("a config file must be a YAML mapping of keys", path=path, line=1)
        for key, value in _flatten(data).items():
            _apply(config, defaults_flat, key, value, str(path), lines.get(key), sources)
    for item in overrides:
        key, value = parse_override(item)
        _apply(config, defaults_flat, key, value, "--set", None, sources)
    _check_model_limits(config, sources)
    if config["embed"]["backend"] == "auto":  # the machine's fastest (machine.auto_backend); the run records which
        from pipeline.machine import auto_backend

        config["embed"]["backend"] = auto_backend(str(config["embed"]["device"]))
    return config

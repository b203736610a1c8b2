"""What the example dump's artifacts were recorded as (tests/data/example_artifacts.json),
and how a run is held to it: byte for byte where it can be, on the CPU type and
package versions of the recording; within tolerances elsewhere (docs/caching.md).

The columns ingest, clean and replies write come from text rules alone and are
exact on any machine. Vectors, topics and stances come from float kernels that
differ between CPU models (int8 ones the most: AVX2 without VNNI adds up
differently from AVX-512 VNNI), so another CPU is held to them by cosine and
by agreement of labels."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from pipeline import machine
from pipeline.records import COMMENT_COLUMNS
from pipeline.runner import package_versions

RECORDED = Path(__file__).resolve().parent / "data" / "example_artifacts.json"
REFERENCE_VECTORS = RECORDED.with_name("example_embeddings.f16.npy")  # float16: half the bytes, cosine intact
FILES = ("comments.jsonl", "comments.parquet", "topics.csv", "embeddings.npy")  # thread.json, report.html name the path
# what the float kernels decide; every other column must be equal on any machine
MODEL_COLUMNS = {"topic_id", "topic_label", "topic_probability", "topic_source", "stance", "stance_confidence",
                 "stance_context", "reply_stance", "reply_stance_confidence"} | {
                    name for name, _ in COMMENT_COLUMNS if name.startswith("p_")}
EXACT_COLUMNS = [name for name, _ in COMMENT_COLUMNS if name not in MODEL_COLUMNS]
# Floors for another CPU. Measured on the example dump against the int8 recording, runs with
# float vectors (embed.backend onnx, torch: the whole of int8's error) gave cosine 0.967 at least
# and 0.991 on average, 30 of 33 reply stances and topics with adjusted Rand 0.49 to 0.53 (another
# UMAP seed: 0.71; unrelated topics: 0); with today's reader (2026-12-07, an AMD EPYC with AVX2
# only) 43 of 47 stances (0.915), and the int8 graph on that CPU (no VNNI) cosine 0.957 at least,
# 0.990 on average, and 41 of 47 stances (0.872): the thread reader reads a linked group of
# comments on the other side where its evidence is close (docs/caching.md); stance floor 0.8.
MIN_COSINE, MEAN_COSINE = 0.95, 0.98
MIN_STANCE_AGREEMENT, MIN_REPLY_AGREEMENT, MIN_TOPIC_RAND = 0.8, 0.8, 0.3


def exact_key(backend: str) -> str:
    """Where byte-identical output can be asked for: the same backend, CPU type
    (model, instruction sets, cores) and package versions."""
    versions = hashlib.sha256(json.dumps(package_versions(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{backend} cpu:{machine.describe()['fingerprint']} versions:{versions}"


def file_hashes(folder: Path) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def column_hashes(frame: pd.DataFrame) -> dict[str, str]:
    return {name: hashlib.sha256(json.dumps(frame[name].tolist(), ensure_ascii=False).encode()).hexdigest()
            for name in EXACT_COLUMNS}


def read_comments(folder: Path) -> pd.DataFrame:
    rows = [json.loads(line) for line in (folder / "comments.jsonl").read_text(encoding="utf-8").splitlines()]
    return pd.DataFrame(rows, columns=[name for name, _ in COMMENT_COLUMNS])


def reference_of(folder: Path) -> dict:
    """What another CPU's run is compared with: the exact columns' hashes and the labels."""
    frame = read_comments(folder)
    def values(column: str) -> list:  # null for a missing one (pandas reads it as NaN)
        return [None if pd.isna(v) else v for v in frame[column].tolist()]

    return {"columns": column_hashes(frame), "stance": values("stance"), "reply_stance": values("reply_stance"),
            "topic_id": [None if t is None else int(t) for t in values("topic_id")]}


def record(folder: Path, backend: str, spec: dict, keep_others: bool) -> dict:
    """A new record from this run: the reference and this machine's file hashes;
    the other machines' hashes kept only when asked (keep_others: this run is
    within tolerance of the reference, so they still describe the same output)."""
    about = machine.describe()
    entry = {"backend": backend, "cpu": about["cpu"], "isa": about["isa"], "cpus": about["cpus"],
             "versions": package_versions(), "files": file_hashes(folder)}
    exact = dict(spec.get("exact", {})) if keep_others else {}
    exact[exact_key(backend)] = entry
    if not keep_others:
        np.save(REFERENCE_VECTORS, np.load(folder / "embeddings.npy").astype(np.float16))
    reference = spec["reference"] if keep_others else reference_of(folder)
    return {**{k: v for k, v in spec.items() if k not in ("exact", "reference", "files")},
            "reference": reference, "exact": exact}


def agreement(found: list, recorded: list) -> float:
    pairs = [(f, r) for f, r in zip(found, recorded) if r is not None]
    return sum(f == r for f, r in pairs) / max(1, len(pairs))


def differences(folder: Path, reference: dict, vectors: np.ndarray) -> list[str]:
    """How a run's artifacts differ from the reference beyond what another CPU
    may move; empty where they are within it."""
    frame = read_comments(folder)
    found = column_hashes(frame) if len(frame) == len(reference["stance"]) else {}
    problems = [f"{len(frame)} rows, recorded {len(reference['stance'])}"] if not found else []
    problems += [f"column {name} differs" for name, digest in found.items() if reference["columns"][name] != digest]
    embeddings = np.load(folder / "embeddings.npy")
    if embeddings.shape != vectors.shape:
        return problems + [f"embeddings {embeddings.shape}, recorded {vectors.shape}"]
    recorded = vectors.astype(np.float32)
    has_text = np.linalg.norm(recorded, axis=1) > 0
    if not np.array_equal(np.linalg.norm(embeddings, axis=1) > 0, has_text):
        problems.append("embeddings: zero rows where there is text, or text where there was none")
    cosine = (embeddings * recorded).sum(1)[has_text] / np.linalg.norm(recorded[has_text], axis=1)
    if cosine.min() < MIN_COSINE or cosine.mean() < MEAN_COSINE:
        problems.append(f"embeddings: cosine to the recorded ones {cosine.min():.3f} at least, "
                        f"{cosine.mean():.3f} on average (floors {MIN_COSINE}, {MEAN_COSINE})")
    if not found:
        return problems
    for column, floor in (("stance", MIN_STANCE_AGREEMENT), ("reply_stance", MIN_REPLY_AGREEMENT)):
        if not np.array_equal(frame[column].isna(), [r is None for r in reference[column]]):
            problems.append(f"{column}: given to other comments than recorded")
        elif agreement(frame[column].tolist(), reference[column]) < floor:
            problems.append(f"{column}: {agreement(frame[column].tolist(), reference[column]):.3f} "
                            f"of the recorded labels (floor {floor})")
    recorded_topics = np.array([np.nan if t is None else t for t in reference["topic_id"]], dtype=float)
    with_topic = ~np.isnan(recorded_topics)
    if not np.array_equal(frame["topic_id"].notna(), with_topic):
        problems.append("topic_id: given to other comments than recorded")
    elif (rand := adjusted_rand_score(recorded_topics[with_topic], frame["topic_id"][with_topic])) < MIN_TOPIC_RAND:
        problems.append(f"topics: adjusted Rand {rand:.3f} with the recorded ones (floor {MIN_TOPIC_RAND})")
    return problems

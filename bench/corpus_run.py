"""A folder of 1,000+ small dumps run as one corpus (topics.scope: corpus),
then ten more dumps added and the folder run again: the new threads are
assigned to the fitted topics without refitting.

The dumps are written into a temporary folder at bench time from real
comment texts (bench/corpus.py: ARC comment bodies and RumourEval posts in
../shared), each a JSONL thread of 5 to 25 comments with times over a year.
"""
from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

# fast mode: the static embedder; no stance or report (their time per dump is the thread stages' own)
SETTINGS = ["embed.backend=static", "stance.enabled=false", "report.enabled=false", "topics.scope=corpus"]


def write_dumps(folder: Path, n: int, start: int, texts: list[str], rng: random.Random) -> int:
    """n JSONL dumps named t00000...; returns how many comments they hold."""
    total = 0
    for k in range(start, start + n):
        size = rng.randint(5, 25)
        lines = [{"type": "article", "id": f"t{k:05d}", "title": f"Thread {k}",
                  "body": "An article assembled for benchmarking."}]
        for i, text in enumerate(rng.sample(texts, size)):
            day = rng.randrange(365)
            lines.append({"type": "comment", "id": f"c{i}", "parent_id": None if i == 0 or rng.random() < 0.4
                          else f"c{rng.randrange(i)}", "author": f"user{rng.randrange(50)}", "text": text,
                          "created_at": f"2024-{1 + day // 31 % 12:02d}-{1 + day % 28:02d}T12:00:00Z"})
        (folder / f"t{k:05d}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines),
                                                encoding="utf-8")
        total += size
    return total


def measure(n_dumps: int, added: int = 10, sets: list[str] = ()) -> list[tuple[str, str]]:
    from bench.corpus import comment_texts
    from pipeline import runner
    from pipeline.config import load_config

    texts, source = comment_texts()
    rng = random.Random(0)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as base:
        dumps = Path(base) / "dumps"
        dumps.mkdir()
        config = load_config(None, [f"output_dir={base}/artifacts", f"cache_dir={base}/cache",
                                    *SETTINGS, *sets])
        comments = write_dumps(dumps, n_dumps, 0, texts, rng)
        rows.append(("corpus", f"{n_dumps:,} dumps, {comments:,} comments from {source}; "
                               f"settings: {', '.join([*SETTINGS, *sets])}"))
        start = time.perf_counter()
        runner.run([str(dumps)], config)
        seconds = time.perf_counter() - start
        manifest = _manifest(base)
        fit = manifest["history"][-1]
        rows.append(("first run (threads + corpus fit)",
                     f"{seconds:.0f} s; corpus pass {fit['seconds']:.1f} s; {manifest['topics']} topics fitted "
                     f"on {manifest['sample']['comments']:,} of {manifest['sample']['of']:,} comments; "
                     f"{fit['comments_assigned']:,} comments assigned, {fit['outside']:,} "
                     f"({fit['outside'] / max(fit['comments_assigned'], 1):.1%}) outside"))
        centroids = (Path(base) / "artifacts" / "_corpus" / "model" / "centroids.npy").read_bytes()
        comments = write_dumps(dumps, added, n_dumps, texts, rng)
        start = time.perf_counter()
        runner.run([str(dumps)], config)
        seconds = time.perf_counter() - start
        manifest = _manifest(base)
        last = manifest["history"][-1]
        same = centroids == (Path(base) / "artifacts" / "_corpus" / "model" / "centroids.npy").read_bytes()
        rows.append((f"rerun with {added} dumps added",
                     f"{seconds:.0f} s; corpus pass {last['seconds']:.1f} s ({last['action']}, centroids "
                     f"{'unchanged' if same else 'CHANGED'}); {last['threads']} threads ({comments} comments, "
                     f"{last['comments_assigned']} with text) assigned without refit, {last['outside']} outside"))
        rows.append(("corpus after the rerun", f"{manifest['threads']:,} threads, {manifest['comments']:,} "
                                               f"comments, {manifest['outside']:,} outside every topic"))
    return rows


def _manifest(base: str) -> dict:
    return json.loads((Path(base) / "artifacts" / "_corpus" / "manifest.json").read_text(encoding="utf-8"))

"""The Ray executor: throughput at one and at two nodes, where the time goes,
and a corpus of many dumps.

Ray clusters are started on this machine (`ray start --head`, then `ray start
--address` for each further node, one CPU a node; Ray 2.60 runs without its
token with RAY_AUTH_MODE=disabled) and stopped afterwards. Each run is
`python -m pipeline run FOLDER` in a fresh process with an empty cache_dir,
beside the local executor on the same folder. The folder holds dumps of real
comment text (bench.corpus), written to a temporary folder at bench time.
Where the time goes comes from each dump's manifest: the stages' seconds in
the driver, and per function mapped on Ray its wall seconds in the driver,
the seconds inside the function on the workers and the seconds the workers
spent loading models (the first batch of each on each worker).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bench.corpus import ROOT, write_folder

RAY = Path(sys.executable).with_name("ray")
MAPPED = ("clean", "embed", "stance")  # the stages whose per-comment work goes to the executor
FUNCTIONS = {"pipeline.clean.clean_batch": "clean", "pipeline.embed.encode_batch": "embed",
             "pipeline.stance.score_batch": "stance"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def cluster(nodes: int) -> Iterator[dict]:
    """A Ray cluster of `nodes` one-CPU nodes on this machine; yields the
    environment a run joins it with. Each node is a `ray start --block` process of
    ours, stopped by stopping that process: a Ray the user runs on this machine is
    left alone (`ray stop` would stop every Ray here)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_AUTH_MODE"] = "disabled"
    address = f"127.0.0.1:{_free_port()}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--block"]
    started: list[subprocess.Popen] = []
    # `ray start --head` records its address here for ray.init() to find; put back what was there
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    before = current.read_bytes() if current.is_file() else None
    try:
        started.append(subprocess.Popen([str(RAY), "start", "--head", f"--port={address.split(':')[1]}",
                                         "--include-dashboard=false", *common], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_nodes(address, 1, env)
        for _ in range(nodes - 1):
            started.append(subprocess.Popen([str(RAY), "start", f"--address={address}", *common], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_nodes(address, nodes, env)
        yield dict(env, RAY_ADDRESS=address)
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        if before is None:
            current.unlink(missing_ok=True)
        else:
            current.write_bytes(before)


def _wait_for_nodes(address: str, nodes: int, env: dict, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = subprocess.run([str(RAY), "status", f"--address={address}"], env=env, capture_output=True, text=True)
        active = status.stdout.split("Pending:")[0] if status.returncode == 0 else ""
        if active.count("node_") >= nodes:
            return
        time.sleep(1)
    raise RuntimeError(f"the Ray cluster at {address} did not reach {nodes} node(s) in {timeout:.0f} s")


def run(folder: Path, sets: list[str], env: dict | None = None) -> dict:
    """One run of the folder in a fresh process, empty caches; its wall time and
    the manifests' figures summed over the dumps."""
    with tempfile.TemporaryDirectory() as work:
        out, cache = Path(work) / "artifacts", Path(work) / "cache"
        command = [sys.executable, "-m", "pipeline", "run", str(folder), "--out", str(out), "--quiet",
                   "--set", f"cache_dir={cache}", *[item for s in sets for item in ("--set", s)]]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode:
            raise RuntimeError(f"the run failed:\n{done.stderr[-3000:]}")
        stages: dict[str, float] = {}
        mapped: dict[str, dict[str, float]] = {}
        nodes: set[int] = set()
        dumps = comments = 0
        for manifest_path in out.glob("*/manifest.json"):
            manifest = json.loads(manifest_path.read_text())
            dumps += 1
            comments += manifest["stages"]["ingest"]["comments"]
            for name, facts in manifest["stages"].items():
                stages[name] = stages.get(name, 0.0) + facts.get("seconds", 0.0) + facts.get("write_seconds", 0.0)
            for fn, entry in manifest["executor"].get("map", {}).items():
                into = mapped.setdefault(FUNCTIONS.get(fn, fn), {})
                for key, value in entry.items():
                    into[key] = into.get(key, 0.0) + value
            nodes.add(manifest["executor"].get("nodes") or 1)
    return {"wall": wall, "dumps": dumps, "comments": comments, "stages": stages, "map": mapped,
            "nodes": max(nodes) if nodes else 0}


def measure(dumps: int, per_dump: int, sets: list[str], node_counts: tuple[int, ...] = (1, 2)) -> list[dict]:
    """The local executor, then Ray at each node count, on one folder."""
    rows = []
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "dumps"
        write_folder(folder, dumps, per_dump)
        rows.append({"executor": "local", **run(folder, sets)})
        for nodes in node_counts:
            with cluster(nodes) as env:
                rows.append({"executor": f"ray, {nodes} node{'s' if nodes > 1 else ''}",
                             **run(folder, [*sets, "executor=ray"], env)})
    return rows


def table(rows: list[dict]) -> list[str]:
    lines = ["| executor | dumps | comments | wall | comments/s | driver stages (s) | "
             "mapped on Ray: wall in the driver / inside the function on workers / loading models (s) | "
             "nodes that did work |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        driver = {k: v for k, v in row["stages"].items() if row["executor"] == "local" or k not in MAPPED}
        driver_text = ", ".join(f"{k} {v:.1f}" for k, v in sorted(driver.items(), key=lambda kv: -kv[1]) if v >= 0.05)
        mapped = "; ".join(f"{k} {v['seconds']:.1f} / {v.get('worker_seconds', v['seconds']):.1f} / "
                           f"{v.get('setup_seconds', 0.0):.1f}" for k, v in row["map"].items()) \
            if row["executor"] != "local" else "-"
        lines.append(f"| {row['executor']} | {row['dumps']:,} | {row['comments']:,} | {row['wall']:.1f} s | "
                     f"{row['comments'] / row['wall']:,.0f} | {driver_text} | {mapped} | "
                     f"{row['nodes'] if row['executor'] != 'local' else '-'} |")
    return lines


def corpus(dumps: int, per_dump: int, sets: list[str], nodes: int = 2) -> list[str]:
    """A folder of many dumps through a Ray cluster, once."""
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "dumps"
        write_folder(folder, dumps, per_dump, seed=1)
        with cluster(nodes) as env:
            row = run(folder, [*sets, "executor=ray"], env)
    return [f"  {row['dumps']:,} dumps, {row['comments']:,} comments on {nodes} nodes: {row['wall']:.1f} s "
            f"({row['comments'] / row['wall']:,.0f} comments/s, {row['wall'] / row['dumps']:.2f} s a dump); "
            f"driver stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items()
                                               if k not in MAPPED and v >= 0.05),
            "  mapped (driver wall / worker / loading, s): " + "; ".join(
                f"{k} {v['seconds']:.1f} / {v.get('worker_seconds', 0):.1f} / {v.get('setup_seconds', 0):.1f} "
                f"({int(v['batches']):,} batches)" for k, v in row["map"].items())]

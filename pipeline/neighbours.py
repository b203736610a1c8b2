"""UMAP on exact neighbours: the one place the project builds a UMAP (the topic
stage's clustering, and the report's map where no topic stage ran).

UMAP finds each point's neighbours itself: with pynndescent, which compiles its
`nn_descent` again in every process (numba cannot cache a function that takes
another compiled function, about 8 s), or below 4,096 points by computing every
pair's distance through a Python callable (10 s for 3,000). Here the neighbours
are found exactly, by matrix products, and handed to UMAP (`precomputed_knn`);
UMAP's compiled code is cached under models_dir (pipeline/jit.py).
docs/benchmarks.md, "Exact neighbours for UMAP", has the times and the topic
quality either way.
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np


def exact_neighbours(vectors: np.ndarray, k: int, budget: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k nearest rows by cosine, itself first at distance 0: (indices int32,
    distances float32 = 1 - cosine), what UMAP's `precomputed_knn` takes. Exact, by
    matrix products in row chunks of `budget` similarities (4 million: about 64 MB with
    their negation and their int64 order; memory bounded); which of several equally near
    rows make the k is numpy's argpartition's (the same on the same input), and the k are
    ordered by nearness, then row. UMAP's own search (pynndescent) is approximate and
    recompiles part of itself in every process (numba cannot cache a function that takes
    another compiled function, about 8 s), and below 4,096 rows UMAP computes every
    distance through a Python callable: both slower than this (docs/benchmarks.md)."""
    E = np.asarray(vectors, np.float32)
    E = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    n = len(E)
    k = min(k, n)
    indices, distances = np.empty((n, k), np.int32), np.empty((n, k), np.float32)
    chunk = max(1, min(n, budget // max(n, 1)))
    for start in range(0, n, chunk):
        S = E[start:start + chunk] @ E.T
        rows = np.arange(len(S))
        S[rows, start + rows] = np.inf  # itself first, whatever its rounding
        part = np.argpartition(-S, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(S), 1))
        sims = np.take_along_axis(S, part, 1)
        order = np.lexsort((part, -sims), axis=1)
        indices[start:start + chunk] = np.take_along_axis(part, order, 1)
        distances[start:start + chunk] = np.clip(1.0 - np.take_along_axis(sims, order, 1), 0.0, 2.0)
    return indices, distances


EXACT_MAX_ROWS = 50_000  # the exact search grows with the square of the rows: at 50,000 it costs what
                         # pynndescent does (docs/benchmarks.md), above that UMAP's own search is used


def umap_model(vectors: np.ndarray, n_neighbors: int, n_components: int, min_dist: float, seed: int,
               exact: bool = True):
    """An unfitted UMAP (cosine) to be fitted on `vectors`, given their exact neighbours
    unless `exact` is false or there are more than EXACT_MAX_ROWS of them (UMAP's own
    search then)."""
    knn = exact_neighbours(vectors, n_neighbors) if exact and len(vectors) <= EXACT_MAX_ROWS else (None, None, None)
    return _umap_class()(n_neighbors=n_neighbors, n_components=n_components, min_dist=min_dist,
                         metric="cosine", random_state=seed, n_jobs=1,
                         init="spectral" if len(vectors) > 50 else "random", precomputed_knn=knn)


def _umap_class():
    """UMAP (its compiled code cached: pipeline/jit.py, asked each time, as it may be
    told its folder late) whose fit does not warn that, given neighbours without a
    search index, it cannot transform new points: the project fits and transforms the
    same rows only."""
    from pipeline.jit import umap_class

    return _known_neighbours(umap_class())


@lru_cache(maxsize=2)
def _known_neighbours(base: type) -> type:
    class KnownNeighboursUMAP(base):
        def fit(self, *args, **kwargs):
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")
                return super().fit(*args, **kwargs)

    return KnownNeighboursUMAP

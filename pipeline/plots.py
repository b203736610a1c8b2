"""Figures for the report: summary charts (SVG inline, PNG beside) and the
2-D layout of the comment embeddings for the map."""
from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence

import numpy as np

from pipeline.records import STANCE_LABELS

STANCE_COLOURS = {"agree": "#2e7d32", "disagree": "#c62828", "discuss": "#1565c0",
                  "query": "#ef6c00", "unrelated": "#9e9e9e"}
TOPIC_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#17becf", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173")
OUTLIER_COLOUR = "#b0b0b0"


def topic_colour(topic_id: int | None) -> str:
    if topic_id is None or topic_id < 0:
        return OUTLIER_COLOUR
    return TOPIC_PALETTE[topic_id % len(TOPIC_PALETTE)]


def layout_2d(embeddings: np.ndarray, has_text: np.ndarray, seed: int,
              placed: np.ndarray | None = None) -> np.ndarray:
    """x, y in [0, 1] per comment (NaN where there is no text): `placed` where
    the topic stage gave every comment with text a point (from its own UMAP,
    topics.map_points), else UMAP on up to 5,000 comments, PCA beyond, where
    UMAP would dominate the run."""
    coords = np.full((len(embeddings), 2), np.nan)
    rows = np.flatnonzero(has_text)
    if len(rows) < 3:
        coords[rows] = 0.5
        return coords
    vectors = embeddings[rows]
    if placed is not None and len(placed) == len(embeddings) and not np.isnan(placed[rows]).any():
        points = np.asarray(placed, np.float64)[rows]
    elif len(rows) <= 5000:
        from pipeline.neighbours import umap_model

        points = umap_model(vectors, min(15, len(rows) - 1), 2, min_dist=0.1, seed=seed).fit_transform(vectors)
    else:
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(vectors)
    low, high = points.min(axis=0), points.max(axis=0)
    coords[rows] = (points - low) / np.where(high - low == 0, 1, high - low)
    return coords


def _figure_outputs(figure) -> tuple[str, bytes]:
    import matplotlib.pyplot as plt

    svg, png = io.StringIO(), io.BytesIO()
    figure.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    figure.savefig(png, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    text = svg.getvalue()
    return text[text.index("<svg"):], png.getvalue()


MAX_PLOTTED_TOPICS = 40


def _stacked(ax, categories: Sequence[str], counts: list[Counter], title: str) -> None:
    left = np.zeros(len(categories))
    for label in STANCE_LABELS:
        values = np.array([c.get(label, 0) for c in counts], dtype=float)
        ax.barh(categories, values, left=left, color=STANCE_COLOURS[label], label=label)
        left += values
    ax.invert_yaxis()
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(ncols=5, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.08), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def summary_plots(rows: Sequence[dict], topic_rows: Sequence[dict]) -> dict[str, tuple[str, bytes]]:
    """name -> (inline SVG, PNG bytes) for topic sizes, stance by topic and by depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "comment-pipeline", "font.size": 9,
                         "svg.fonttype": "path"})
    plots = {}
    # a big thread has hundreds of topics: the largest MAX_PLOTTED_TOPICS (topic ids run by size)
    topics = [t for t in topic_rows if t["topic_id"] >= 0]
    shown = topics[:MAX_PLOTTED_TOPICS]
    more = f" (the {len(shown)} largest of {len(topics)})" if len(shown) < len(topics) else ""
    if topics:
        figure, ax = plt.subplots(figsize=(7, 0.35 * len(shown) + 1))
        ax.barh([_short(t["label"]) for t in shown], [t["size"] for t in shown],
                color=[topic_colour(t["topic_id"]) for t in shown])
        ax.invert_yaxis()
        ax.set_title("Comments per topic" + more, loc="left", fontsize=11)
        ax.spines[["top", "right"]].set_visible(False)
        plots["topic_sizes"] = _figure_outputs(figure)
    by_depth: dict[int, Counter] = {}
    for r in rows:  # one pass: a big thread's rows are built as read
        if r.get("stance"):
            by_depth.setdefault(r["depth"], Counter())[r["stance"]] += 1
    if by_depth and topic_rows:
        listed = shown + [t for t in topic_rows if t["topic_id"] < 0]
        names = [_short(t["label"]) for t in listed]
        counts = [Counter({label: t[f"n_{label}"] for label in STANCE_LABELS}) for t in listed]
        figure, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.3))
        _stacked(ax, names, counts, "Stance by topic" + more)
        plots["stance_by_topic"] = _figure_outputs(figure)
    if by_depth:
        depths = sorted(by_depth)
        figure, ax = plt.subplots(figsize=(7, 0.35 * len(depths) + 1.3))
        _stacked(ax, [f"depth {d}" for d in depths], [by_depth[d] for d in depths], "Stance by reply depth")
        plots["stance_by_depth"] = _figure_outputs(figure)
    return plots


def _short(label: str, limit: int = 40) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"

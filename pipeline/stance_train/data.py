"""Training data (../shared/data), grouped splits, and the cached embedder.

The only module of the stance tools that reads the corpora. Validation slices,
grouped so that no target or thread is on both sides (seed 13):
* ARC, FNC-1: claim components (union-find over related headline-body edges) are
  held out whole until ~20% of headlines are; validation = pairs with a held-out
  headline; training drops pairs whose body is related to a held-out claim.
* RumourEval 2019: train / dev as shipped; depth-0 source posts dropped.
* VAST, Perspectrum: train / dev as shipped (VAST dev is split by comment,
  Perspectrum by claim).
* Reddit agreement: a grouped 20% of the quoted comments held out.
Each labelled set is a PairSet in its source's own labels (_base.SOURCES).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from pipeline.records import REPLY_LABELS, STANCE_LABELS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data"
SEED = 13
FILES = ("stance/arc_train_bodies.csv", "stance/arc_train_stances.csv", "stance/fnc1_train_bodies.csv",
         "stance/fnc1_train_stances.csv", "stance/rumoureval2019_train.jsonl", "stance/rumoureval2019_dev.jsonl",
         "stance_extra/vast_train.jsonl", "stance_extra/vast_dev.jsonl", "stance_extra/perspectrum_train.jsonl",
         "stance_extra/perspectrum_dev.jsonl", "stance_extra/subreddit_agreement.jsonl")
RE_MAP = {"support": "agree", "deny": "disagree", "query": "query", "comment": "discuss"}
# reader comments under news articles, written and labelled by the team (labelled/README.md)
LABELLED = REPO / "pipeline" / "stance_train" / "labelled" / "news_comments.jsonl"
LABELLED_FIX = ('each line is {"id", "target", "text", "parent_text" (optional), "label": one of '
                + "/".join(STANCE_LABELS) + ', "reply_label" (optional, with parent_text): '
                + "/".join(REPLY_LABELS) + "}")


@dataclass
class PairSet:
    source: str
    targets: list
    texts: list
    parents: list
    labels: list
    groups: np.ndarray
    depth: np.ndarray | None = None
    reply_labels: list | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, mask) -> "PairSet":
        idx = np.flatnonzero(mask)
        pick = lambda xs: None if xs is None else [xs[i] for i in idx]  # noqa: E731
        return PairSet(self.source, pick(self.targets), pick(self.texts), pick(self.parents),
                       pick(self.labels), self.groups[idx], None if self.depth is None else self.depth[idx],
                       pick(self.reply_labels))


def check_data(folder: str | Path) -> Path:
    from pipeline.errors import PipelineError

    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise PipelineError(f"stance training data not found ({', '.join(missing)})", path=folder,
                            hint="pass --data with the folder holding stance/ (ARC, FNC-1, RumourEval) and "
                                 "stance_extra/ (VAST, Perspectrum, Reddit agreement), as ../shared/data does")
    return folder


def _claim_components(df) -> dict:
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for h, b, s in zip(df.Headline, df["Body ID"], df.Stance):
        find("h:" + h)
        if s != "unrelated":
            ra, rb = find("h:" + h), find(f"b:{b}")
            if ra != rb:
                parent[ra] = rb
    roots = sorted({find("h:" + h) for h in df.Headline.unique()})
    rid = {r: i for i, r in enumerate(roots)}
    return {h: rid[find("h:" + h)] for h in df.Headline.unique()}


def cli_inputs(data, labelled=(), source: str = "news") -> tuple[Path, PairSet | None]:
    """For the stance_model commands: the checked data folder and, where `labelled`
    files are given, their comments (load_labelled). A problem with either ends the
    command before anything is embedded: one line on stderr naming the file (and
    line), exit status 2, like the project's CLI."""
    import sys

    from pipeline.errors import PipelineError

    try:
        return check_data(Path(data).resolve()), (load_labelled(labelled, source) if labelled else None)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def fnc_like_split(folder: Path, name: str, frac: float = 0.2, seed: int = SEED) -> tuple[PairSet, PairSet]:
    import pandas as pd

    df = pd.read_csv(folder / "stance" / f"{name}_train_stances.csv").merge(
        pd.read_csv(folder / "stance" / f"{name}_train_bodies.csv"), on="Body ID", how="left")
    comp = _claim_components(df)
    comps = np.array(sorted(set(comp.values())))
    np.random.default_rng(seed).shuffle(comps)
    per_comp = pd.Series(comp).value_counts()
    n_head, count, val = df.Headline.nunique(), 0, set()
    for c in comps:
        if count >= frac * n_head:
            break
        val.add(int(c))
        count += int(per_comp[c])
    groups = df.Headline.map(comp).to_numpy()
    is_val = np.isin(groups, list(val))
    val_bodies = set(df.loc[is_val & (df.Stance != "unrelated").to_numpy(), "Body ID"])
    is_train = ~is_val & ~df["Body ID"].isin(val_bodies).to_numpy()
    full = PairSet(name, df.Headline.tolist(), df.articleBody.tolist(), [None] * len(df), df.Stance.tolist(),
                   groups)
    return full.subset(is_train), full.subset(is_val)


def load_rumoureval(folder: Path, split: str, with_sources: bool = False) -> PairSet:
    """Replies toward the source post. Depth-1 replies get parent=None: their parent is the
    target, like a top-level comment under an article. with_sources keeps the source posts
    themselves (stance of a post toward itself), as the task's official scoring does."""
    import pandas as pd

    d = pd.read_json(folder / "stance" / f"rumoureval2019_{split}.jsonl", lines=True)
    d = d if with_sources else d[d.depth > 0]
    parents = [None if dep <= 1 else p for dep, p in zip(d.depth, d.parent_text)]
    return PairSet("rumoureval", d.source_text.tolist(), d.text.tolist(), parents,
                   [RE_MAP[lab] for lab in d.label], pd.factorize(d.thread_id)[0], d.depth.to_numpy())


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _grouped(source: str, rows: list[dict], target: str, text: str, group: str) -> PairSet:
    import pandas as pd

    return PairSet(source, [r[target] for r in rows], [r[text] for r in rows], [None] * len(rows),
                   [r["label"] for r in rows], pd.factorize(pd.Series([r[group] for r in rows]))[0])


def load_vast(folder: Path, split: str) -> PairSet:
    """VAST: a reader comment toward a topic phrase; grouped by comment."""
    return _grouped("vast", _jsonl(folder / "stance_extra" / f"vast_{split}.jsonl"), "target", "text", "text")


def load_perspectrum(folder: Path, split: str) -> PairSet:
    """Perspectrum: a perspective toward a claim; grouped by claim."""
    return _grouped("perspectrum", _jsonl(folder / "stance_extra" / f"perspectrum_{split}.jsonl"),
                    "claim", "perspective", "claim")


def reddit_split(folder: Path, frac: float = 0.2, seed: int = SEED) -> tuple[PairSet, PairSet]:
    """Reddit agreement: a reply toward the comment it answers (the target); a grouped
    `frac` of the quoted comments is held out."""
    from pipeline.stance_model.methods import inner_mask

    full = _grouped("reddit", _jsonl(folder / "stance_extra" / "subreddit_agreement.jsonl"),
                    "quote", "response", "quote")
    held = inner_mask(full.groups, frac, seed)
    return full.subset(~held), full.subset(held)


def load_labelled(paths, source: str = "news") -> PairSet:
    """Labelled comments: stance-predict's pair lines plus "label" (stance toward the
    target) and, on a reply, "reply_label" (toward parent_text). Rows under the same
    target (whitespace aside) form one group, an article, held out together. The same
    comment twice (target, text and parent_text) is an error: a file given twice, or a
    review imported twice, would otherwise count double."""
    from pipeline.errors import PipelineError
    from pipeline.pairs import read_pairs

    rows, groups, seen = [], [], {}
    for path in paths:
        try:
            lines = list(read_pairs(Path(path)))
        except PipelineError as error:  # the pair format's own fix does not mention the labels
            raise PipelineError(error.message, path=error.path, line=error.line, hint=LABELLED_FIX) from None
        for number, pair in lines:
            bad = partial(PipelineError, path=path, line=number, hint=LABELLED_FIX)
            for key in ("target", "text"):
                if not pair[key].strip():
                    raise bad(f"'{key}' is empty")
            if pair.get("label") not in STANCE_LABELS:
                raise bad(f"label {pair.get('label')!r} is not a stance")
            reply = pair.get("reply_label")
            if reply is not None and reply not in REPLY_LABELS:
                raise bad(f"reply_label {reply!r} is not one of " + "/".join(REPLY_LABELS))
            if reply is not None and not pair.get("parent_text"):
                raise bad("reply_label needs the parent_text it is toward")
            article = " ".join(pair["target"].split())
            key = (article, " ".join(pair["text"].split()), " ".join((pair.get("parent_text") or "").split()))
            if key in seen:
                raise bad("the same comment (target, text and parent_text) is already at " + seen[key])
            seen[key] = f"{path}:{number}"
            rows.append(pair)
            groups.append(article)
    if not rows:
        raise PipelineError("no labelled comments", path=", ".join(map(str, paths)), hint=LABELLED_FIX)
    parents = [r.get("parent_text") or None for r in rows]
    return PairSet(source, [r["target"] for r in rows], [r["text"] for r in rows], parents,
                   [r["label"] for r in rows], np.unique(groups, return_inverse=True)[1],
                   np.array([int(p is not None) for p in parents]), [r.get("reply_label") for r in rows])


def with_labelled(train: dict[str, PairSet], labelled: PairSet | None) -> dict[str, PairSet]:
    """The training sets with labelled comments joined to ARC (stance toward the
    article) and their labelled replies to Reddit (toward the comment answered).
    Their groups are offset past the source's own, so an article is held out whole."""
    if labelled is None or not len(labelled):
        return train
    out = dict(train)
    arc = train["arc"]
    out["arc"] = PairSet("arc", arc.targets + labelled.targets, arc.texts + labelled.texts,
                         arc.parents + [None] * len(labelled),
                         arc.labels + [("discuss" if v == "query" else v) for v in labelled.labels],
                         np.concatenate([arc.groups, labelled.groups + arc.groups.max() + 1]))
    rows = [i for i, r in enumerate(labelled.reply_labels or []) if r]
    if rows:
        red = train["reddit"]
        out["reddit"] = PairSet("reddit", red.targets + [labelled.parents[i] for i in rows],
                                red.texts + [labelled.texts[i] for i in rows], red.parents + [None] * len(rows),
                                red.labels + [labelled.reply_labels[i] for i in rows],
                                np.concatenate([red.groups, labelled.groups[rows] + red.groups.max() + 1]))
    return out


def load_splits(folder: str | Path) -> dict[str, tuple[PairSet, PairSet]]:
    """source -> (training set, validation slice). Beyond each corpus's own grouping,
    a training row goes where its text is in any slice: VAST was built from ARC's
    comments, Perspectrum repeats perspectives under other claims, and Reddit's reply
    chains quote the replies of other pairs."""
    folder = check_data(folder)
    splits = {"arc": fnc_like_split(folder, "arc"), "fnc1": fnc_like_split(folder, "fnc1"),
              "rumoureval": (load_rumoureval(folder, "train"), load_rumoureval(folder, "dev")),
              "vast": (load_vast(folder, "train"), load_vast(folder, "dev")),
              "perspectrum": (load_perspectrum(folder, "train"), load_perspectrum(folder, "dev")),
              "reddit": reddit_split(folder)}
    norm = lambda text: " ".join(text.split())  # noqa: E731
    arc_val, vast_val = splits["arc"][1], splits["vast"][1]
    # the comments whose stance a slice scores, kept out of the other corpus's training
    held = {"vast": {norm(x) for x, y in zip(arc_val.texts, arc_val.labels) if y != "unrelated"},
            "arc": {norm(x) for x in vast_val.texts}}
    for s in ("perspectrum", "reddit"):  # any text of a slice pair, on either side
        held[s] = {norm(t) for t in splits[s][1].texts + splits[s][1].targets}
    for s, texts in held.items():
        train, val = splits[s]
        both_sides = s in ("perspectrum", "reddit")
        keep = [norm(x) not in texts and not (both_sides and norm(t) in texts)
                for t, x in zip(train.targets, train.texts)]
        splits[s] = (train.subset(np.array(keep)), val)
    return splits


def make_encoder(cache_dir: str | Path | None = None, backend: str = "torch", max_seq_length: int | None = None):
    """The pipeline's own cached embedder (Resources.embed) with an embedding
    backend (and, where given, another embed.max_seq_length), as a plain encode
    function; `encode.stats["encoded"]` counts the texts that were new,
    `encode.fingerprint` names the embeddings."""
    from pipeline.config import load_config
    from pipeline.runner import Resources

    resources = Resources(load_config(None, [f"cache_dir={Path(cache_dir or REPO / '.cache')}",
                                             f"embed.backend={backend}",
                                             *([f"embed.max_seq_length={max_seq_length}"] if max_seq_length else [])]))
    stats = {"encoded": 0}

    def encode(texts: list[str]) -> np.ndarray:
        matrix, _, encoded = resources.embed(list(texts))
        if encoded:
            stats["encoded"] += encoded
            resources.flush()
        return matrix

    encode.stats = stats
    encode.fingerprint = resources.embedder.info_.fingerprint
    return encode

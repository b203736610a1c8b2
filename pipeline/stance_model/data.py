"""Training data (../shared/data/stance), grouped splits, and the cached embedder.

The only module of the package that reads files. Splits (seed 13):
* ARC, FNC-1: claim components (union-find over related headline-body edges) are
  held out whole until ~20% of headlines are; validation = pairs with a held-out
  headline; training drops pairs whose body is related to a held-out claim.
* RumourEval 2019: train / dev as shipped; depth-0 source posts dropped (evaluate.py's
  all-posts slice keeps them, as the task's official scoring does).
* inner_mask: a grouped 15% hold-out inside the training rows, used for
  temperatures and all tuning (validation slices are never used for fitting).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from pipeline.records import REPLY_LABELS, STANCE_LABELS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "stance"
SEED = 13
FILES = ("arc_train_bodies.csv", "arc_train_stances.csv", "fnc1_train_bodies.csv", "fnc1_train_stances.csv",
         "rumoureval2019_train.jsonl", "rumoureval2019_dev.jsonl")
RE_MAP = {"support": "agree", "deny": "disagree", "query": "query", "comment": "discuss"}
RE_REPLY_MAP = {"support": "agree", "deny": "disagree", "query": "neutral", "comment": "neutral"}
# reader comments under news articles, written and labelled by the team (labelled/README.md)
LABELLED = REPO / "pipeline" / "stance_model" / "labelled" / "news_comments.jsonl"
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
                            hint="pass --data with the folder holding the ARC, FNC-1 and RumourEval files")
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

    df = pd.read_csv(folder / f"{name}_train_stances.csv").merge(
        pd.read_csv(folder / f"{name}_train_bodies.csv"), on="Body ID", how="left")
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

    d = pd.read_json(folder / f"rumoureval2019_{split}.jsonl", lines=True)
    d = d if with_sources else d[d.depth > 0]
    parents = [None if dep <= 1 else p for dep, p in zip(d.depth, d.parent_text)]
    reply = [RE_REPLY_MAP[lab] if dep == 1 else None for dep, lab in zip(d.depth, d.label)]
    return PairSet("rumoureval", d.source_text.tolist(), d.text.tolist(), parents,
                   [RE_MAP[lab] for lab in d.label], pd.factorize(d.thread_id)[0], d.depth.to_numpy(), reply)


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


def load_splits(folder: str | Path) -> dict[str, tuple[PairSet, PairSet]]:
    folder = check_data(folder)
    return {"arc": fnc_like_split(folder, "arc"), "fnc1": fnc_like_split(folder, "fnc1"),
            "rumoureval": (load_rumoureval(folder, "train"), load_rumoureval(folder, "dev"))}


def inner_mask(groups: np.ndarray, frac: float = 0.15, seed: int = SEED,
               universe: np.ndarray | None = None) -> np.ndarray:
    """True for rows of a grouped inner hold-out (whole claims / threads). `universe`
    draws from another set's groups, so rows derived from it are held out with it."""
    g = np.unique(groups if universe is None else universe)
    held = np.random.default_rng(seed).choice(g, size=max(1, int(round(frac * len(g)))), replace=False)
    return np.isin(groups, held)


def sentence_rows(ps: PairSet, source: str) -> PairSet:
    """Short comments for training the agree / disagree / neutral head, cut from long
    ones: every sentence (split_sentences: 15 characters or more, the first 40; and 4
    words or more here) of a related comment of two such sentences or more, with the
    comment's label. Reader comments are often one or two sentences,
    while ARC's are paragraphs; without these, "short" would mean RumourEval's tweets,
    mostly comment."""
    from pipeline.stance_model.features import TOKEN_RE, split_sentences

    rows = []
    for i, (text, label) in enumerate(zip(ps.texts, ps.labels)):
        sents = [x for x in split_sentences(text) if len(TOKEN_RE.findall(x)) >= 4]
        if label != "unrelated" and len(sents) >= 2:
            rows += [(i, x) for x in sents]
    idx = [i for i, _ in rows]
    return PairSet(source, [ps.targets[i] for i in idx], [x for _, x in rows], [None] * len(rows),
                   [ps.labels[i] for i in idx], ps.groups[idx])


def reply_rows(ps: PairSet) -> tuple[list, list, list, np.ndarray]:
    """(parent_texts, texts, reply_labels, groups) of the rows that carry a reply label;
    a reply with no parent text answers the target (RumourEval's depth-1 replies)."""
    idx = [i for i, r in enumerate(ps.reply_labels or []) if r is not None]
    return ([ps.parents[i] or ps.targets[i] for i in idx], [ps.texts[i] for i in idx],
            [ps.reply_labels[i] for i in idx], ps.groups[idx])


def make_encoder(cache_dir: str | Path | None = None, backend: str = "torch"):
    """The pipeline's own cached embedder (Resources.embed) with an embedding
    backend, as a plain encode function; `encode.stats["encoded"]` counts the
    texts that were new, `encode.fingerprint` names the embeddings."""
    from pipeline.config import load_config
    from pipeline.runner import Resources

    resources = Resources(load_config(None, [f"cache_dir={Path(cache_dir or REPO / '.cache')}",
                                             f"embed.backend={backend}"]))
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

"""The labelled thread sets, each thread read as `make pipeline` reads a dump (ingest or
the corpus's own tree, clean, reply targets), for fitting and measuring the thread
reader (threads.py):

- the labelled news threads: ../shared/data/threads/fox/ (five Fox News comment
  sections) with the comments two independent passes labelled alike
  (fox_labels/agreed.jsonl; labels made outside the team);
- RumourEval 2019's train and dev threads (every reply labelled toward the source post);
- the IAC validation discussions, with their authors' stances (threads/iac).

And what the stage reads of a thread (`inputs`) and gives for it (`stage`).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.stance_model.thread_reader import ThreadInput

FOUR = ("agree", "disagree", "discuss", "unrelated")


@dataclass
class LabelledThread:
    name: str
    thread: object        # records.Thread
    cleaned: list
    targets: dict         # reply targets
    labels: dict          # comment id -> {"stance", "reply_stance", "clear"}
    group: str = ""       # what no fold may split (RumourEval: the news event)
    author_labels: dict = field(default_factory=dict)  # author -> "pro" / "anti" (IAC: labels by author)


def load_news_threads(data: Path, nlp=None, config: dict | None = None) -> list[LabelledThread]:
    """The labelled Fox threads, read and cleaned as `make pipeline` does ([] without them)."""
    from pipeline import clean, ingest
    from pipeline.tokens import worker_nlp
    from pipeline.config import load_config
    from pipeline.replies import infer_reply_targets

    folder = Path(data) / "threads"
    agreed = folder / "fox_labels" / "agreed.jsonl"
    if not agreed.is_file():
        return []
    labels: dict[str, dict] = {}
    for line in agreed.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels.setdefault(row["thread"], {})[row["id"]] = row
    config = config or load_config()["clean"]
    nlp = nlp or worker_nlp(config["spacy_model"], config["lemmatizer"])
    out = []
    for name in sorted(labels):
        path = folder / "fox" / f"{name}.jsonl"
        thread = ingest.parse_dump(path.read_bytes(), str(path))
        cleaned = clean.clean_comments(thread.comments, thread.article, config, nlp)
        out.append(LabelledThread(name, thread, cleaned, infer_reply_targets(thread.comments, cleaned), labels[name]))
    return out


RE_LABEL = {"support": "agree", "deny": "disagree", "query": "query", "comment": "discuss"}


def rumour_threads(data: Path, split: str, nlp=None, config: dict | None = None) -> list[LabelledThread]:
    """RumourEval 2019 threads (train or dev) as the stage reads a dump: the source post is
    the article, its replies the comments (their tree and authors as the corpus gives
    them), each labelled toward the source (support / deny / query / comment as agree /
    disagree / query / discuss)."""
    from pipeline import clean
    from pipeline.tokens import worker_nlp
    from pipeline.config import load_config
    from pipeline.records import Article, Comment, Thread
    from pipeline.replies import infer_reply_targets

    rows = [json.loads(line) for line in (Path(data) / "stance" / f"rumoureval2019_{split}.jsonl")
            .read_text(encoding="utf-8").splitlines() if line.strip()]
    config = config or load_config()["clean"]
    nlp = nlp or worker_nlp(config["spacy_model"], config["lemmatizer"])
    by_thread: dict[str, list[dict]] = {}
    for r in rows:
        by_thread.setdefault(str(r["thread_id"]), []).append(r)
    out = []
    for thread_id, posts in by_thread.items():
        source = next((r for r in posts if r["depth"] == 0), None)
        replies = [r for r in posts if r["depth"] > 0]
        if source is None or not replies:
            continue
        article = Article(id=thread_id, title=source["text"], paragraphs=(), source=f"rumoureval-{split}")
        comments, seen = [], set()
        for r in replies:
            parent = str(r["parent_id"]) if str(r["parent_id"]) in seen else None
            comments.append(Comment(str(r["id"]), parent, 0 if parent is None else r["depth"] - 1,
                                    str(r.get("author") or r["id"]), r["text"], 0, len(comments)))
            seen.add(str(r["id"]))
        cleaned = clean.clean_comments(comments, article, config, nlp)
        labels = {str(r["id"]): {"stance": RE_LABEL[r["label"]]} for r in replies}
        out.append(LabelledThread(f"re-{thread_id}", Thread(article, tuple(comments)), cleaned,
                                  infer_reply_targets(comments, cleaned), labels, str(source.get("event", ""))))
    return out


def stage(t: LabelledThread, models, encode, reader) -> dict:
    """The thread through the stance stage: comment id -> StanceAssignment."""
    from pipeline.stance import annotate_stance

    return {a.id: a for a in annotate_stance(t.thread.article, t.thread.comments, t.cleaned, t.targets, encode,
                                             models, thread_reader=reader)}


def inputs(t: LabelledThread, models, encode) -> tuple[ThreadInput, list[str]]:
    """What the reader reads of a thread (the stage's own inputs), and the rows' ids."""
    from pipeline.stance import score_comments, stance_inputs, thread_input

    rows, target, texts, parents = stance_inputs(t.thread.article, t.cleaned, t.targets)
    own, reply, domain, rumour = score_comments(target, texts, parents, encode, models, with_domain=True)
    ids = [t.cleaned[i].id for i in rows]
    return thread_input(t.thread.article, target, texts, [t.targets[c][0] for c in ids], ids,
                        [t.thread.comments[i].author for i in rows], own, reply, encode, domain=domain,
                        rumour=rumour), ids


def labelled_rows(ids: list[str], labels: dict) -> tuple[list[int], list[str]]:
    rows = [k for k, c in enumerate(ids) if c in labels and labels[c]["stance"] in FOUR]
    return rows, [labels[ids[k]]["stance"] for k in rows]


def prepare_rumours(data: Path, models, encode) -> list:
    """RumourEval train threads with the reader's inputs ([] where the file is not there)."""
    if not (Path(data) / "stance" / "rumoureval2019_train.jsonl").is_file():
        return []
    return [(t, inputs(t, models, encode)) for t in rumour_threads(data, "train")]


def iac_threads(data: Path, limit: int | None = None) -> tuple[list, Iterator[LabelledThread]] | None:
    """The IAC validation discussions (threads/iac, splits.json; None without them): their
    ids, and each discussion (one at a time) read as the stage reads a dump, the thread's
    topic as the article and each post under the post it answers, with its labelled
    authors' stances toward the topic (`author_labels`: the human pro / anti majority;
    ties and 'other' left out)."""
    folder = Path(data) / "threads" / "iac"
    if not (folder / "splits.json").is_file():
        return None
    wanted = json.loads((folder / "splits.json").read_text(encoding="utf-8"))["validation"][:limit]
    labels: dict[tuple, str] = {}
    for line in (folder / "author_stance.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["discussion_id"] in wanted and row["stance"] in ("pro", "anti"):
            labels[(row["discussion_id"], row["author"])] = row["stance"]
    return wanted, _iac_discussions(folder, wanted, labels)


def _iac_discussions(folder: Path, wanted: list, labels: dict[tuple, str]) -> Iterator[LabelledThread]:
    from pipeline import clean
    from pipeline.config import load_config
    from pipeline.records import Article, Comment, Thread
    from pipeline.replies import infer_reply_targets
    from pipeline.tokens import worker_nlp

    config = load_config()["clean"]
    nlp = worker_nlp(config["spacy_model"], config["lemmatizer"])
    with (folder / "discussions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            d = json.loads(line)
            if d["discussion_id"] not in wanted:
                continue
            article = Article(id=str(d["discussion_id"]), title=d["topic"], paragraphs=(), source="iac")
            posts = [p for p in d["posts"] if p["text"].strip()]
            ids = {p["id"] for p in posts}
            depth: dict = {}
            comments = []
            for p in posts:
                parent = p["parent"] if p["parent"] in ids and p["parent"] in depth else None
                depth[p["id"]] = 0 if parent is None else depth[parent] + 1
                comments.append(Comment(str(p["id"]), None if parent is None else str(parent), depth[p["id"]],
                                        p["author"], p["text"], 0, len(comments)))
            cleaned = clean.clean_comments(comments, article, config, nlp)
            authors = {author: stance for (discussion, author), stance in labels.items()
                       if discussion == d["discussion_id"]}
            yield LabelledThread(f"iac-{d['discussion_id']}", Thread(article, tuple(comments)), cleaned,
                                 infer_reply_targets(comments, cleaned), {}, author_labels=authors)

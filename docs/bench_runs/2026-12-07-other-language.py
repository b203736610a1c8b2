"""Which comments are read as another language than English, before and after the second reading
(pipeline.clean.read_language), on real English threads and the format samples, read as clean
reads them; and whether the language column itself moved. The record of docs/benchmarks.md's
section on an AMD EPYC with AVX-512 bfloat16 (issue 23: comments not in English get no stance).

    HF_HUB_OFFLINE=1 python docs/bench_runs/2026-12-07-other-language.py [--data ../shared/data]

Before: the flag was set where py3langid was at least 0.9 sure of a language other than English,
on texts of four space-separated words (the language column). Prints, per corpus: comments,
flagged before, flagged after, language column changed (and how many of those are texts with five
Chinese, Japanese or Korean characters, which the column now reads). No comment text is printed
(the threads stay in ../shared)."""
import argparse
import glob
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")  # run from the project root
from pipeline.offline import go_offline

go_offline()
from bench.corpus import sample_comments  # noqa: E402
from pipeline import clean, ingest  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.records import Article, Comment  # noqa: E402
from pipeline.tokens import worker_nlp  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="../shared/data")
data = Path(ap.parse_args().data)
config = load_config()["clean"]
nlp = worker_nlp(config["spacy_model"], config["lemmatizer"])
identifier = clean._identifier()


def old_language(text: str) -> str | None:
    text = text[:clean.LANGUAGE_ID_CHARS]
    if len(text.split()) < 4:
        return None
    code, p = identifier.classify(text)
    return code if p >= 0.9 else None


def count(name: str, comments, article=None) -> None:
    article = article or Article("a", "", (), "x")
    cleaned = clean.clean_comments(comments, article, config, nlp)
    before = after = moved = cjk = 0
    for c in cleaned:
        old = old_language(c.text)
        before += old not in (None, "en")
        flagged = "other_language" in c.flags
        after += flagged
        if old != c.language:
            moved += 1
            cjk += len(clean._UNSPACED.findall(c.text)) >= 5
    print(f"{name[:48]:<48} {len(cleaned):>6} {before:>7} {after:>6} {moved:>8} ({cjk} CJK)")


def comments_of(texts):
    return [Comment(f"c{i}", None, 0, f"a{i}", t, i + 1, i) for i, t in enumerate(texts)]


print(f"{'corpus':<48} {'comments':>6} {'before':>7} {'after':>6} {'language column changed':>8}")
fox = []
for f in sorted(glob.glob(str(data / "threads" / "fox" / "*.jsonl"))):
    fox += list(ingest.parse_dump(Path(f).read_bytes(), f).comments)
count("Fox threads (5)", fox)
for f in sorted(glob.glob(str(data.parent / "dumps" / "*"))):
    t = ingest.parse_dump(Path(f).read_bytes(), f)
    count("the real dump", t.comments, t.article)
for f in sorted(glob.glob("examples/dumps/*")):
    t = ingest.parse_dump(Path(f).read_bytes(), f)
    count("the example dump", t.comments, t.article)
count("3,000 bench comments (ARC, RumourEval)", comments_of(sample_comments(3000)[0]))
iac = data / "threads" / "iac"
if iac.is_dir():
    wanted = set(json.loads((iac / "splits.json").read_text())["validation"])
    texts = [p["text"] for line in open(iac / "discussions.jsonl", encoding="utf-8")
             for d in [json.loads(line)] if d["discussion_id"] in wanted for p in d["posts"] if p["text"].strip()]
    count("IAC validation posts", comments_of(texts))
rumour = data / "stance" / "rumoureval2019_dev.jsonl"
if rumour.is_file():
    count("RumourEval dev posts", comments_of([json.loads(l)["text"] for l in open(rumour, encoding="utf-8")]))
for f in sorted(glob.glob(str(data / "formats" / "*" / "*"))):
    if f.endswith(".md"):
        continue
    with open(f, "rb") as handle:
        keys = ingest.thread_keys(handle, f, "auto", {})
        threads = [ingest.open_dump(handle, f, "auto", k, {}).read() for k in keys]
    count(Path(f).name, [c for t in threads for c in t.comments])

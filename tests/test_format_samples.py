"""The real exports in ../shared/data/formats (MANIFEST.md there): each is
read, and its counts of threads, comments, replies, deleted, missing and
orphans are what the raw file says. The expected counts are taken from the
raw text here (patterns and plain json), not from the readers' code."""
import json
import re

import pytest

from conftest import SHARED
from pipeline import ingest

FORMATS = SHARED / "data" / "formats"
pytestmark = pytest.mark.skipif(not FORMATS.is_dir(), reason="../shared/data/formats is not here")
SAMPLES = sorted(p for p in FORMATS.rglob("*") if p.is_file() and p.suffix != ".md") if FORMATS.is_dir() else []


def read_all(path, **options):
    with path.open("rb") as handle:
        keys = ingest.thread_keys(handle, str(path), "auto", options)
        return [ingest.open_dump(handle, str(path), "auto", key, options).read() for key in keys]


def counted(threads) -> dict:
    comments = [c for t in threads for c in t.comments]
    return {"threads": len(threads), "comments": len(comments),
            "replies": sum(1 for c in comments if c.parent_id is not None),
            "deleted": sum(1 for c in comments if {"deleted", "removed"} & set(c.status)),
            "missing": sum(t.missing for t in threads),
            "orphans": sum(1 for c in comments if "parent_missing" in c.status)}


def _reddit_raw(text: str) -> dict:
    kinds = re.findall(r'"kind": "(t1|more)"', text)
    more = [max(int(m.group(1)), 0) for m in re.finditer(r'"kind": "more", "data": \{"count": (\d+)', text)]
    bodies = re.findall(r'"body": "\[(deleted|removed)\]"', text)
    return {"comments": kinds.count("t1"), "more_counts": more,
            "deleted": len(bodies)}


def expected(path) -> dict:
    """What the raw file holds, counted without the readers."""
    text = path.read_text(encoding="utf-8")
    name = path.name
    if name.startswith("thread_") and "praw" in name:
        raw = _reddit_raw(text)
        children = [len(json.loads("[" + m + "]")) for m in re.findall(r'"kind": "more", "data": \{[^{}]*?"children": \[([^\]]*)\]', text)]
        doc = json.loads(text)
        stubs, replies = [], []

        def walk(things):
            for thing in things:
                if thing["kind"] == "more":
                    stubs.append(max(thing["data"]["count"], len(thing["data"]["children"])))
                    continue
                replies.append(thing["data"]["parent_id"].startswith("t1_"))
                if isinstance(thing["data"].get("replies"), dict):
                    walk(thing["data"]["replies"]["data"]["children"])
        walk(doc[1]["data"]["children"])
        assert len(stubs) == len(children)
        assert len(replies) == raw["comments"]
        return {"threads": 1, "comments": raw["comments"], "replies": sum(replies),
                "deleted": raw["deleted"], "missing": sum(stubs), "orphans": 0}
    if name.startswith("api_morechildren"):
        things = json.loads(text)["json"]["data"]["things"]
        ids = {t["data"]["id"] for t in things}
        t1_parents = [t["data"]["parent_id"][3:] for t in things if t["data"]["parent_id"].startswith("t1_")]
        return {"threads": 1, "comments": len(things), "replies": sum(p in ids for p in t1_parents),
                "deleted": 0, "missing": 0, "orphans": sum(p not in ids for p in t1_parents)}
    if name.startswith("pushshift_dump_comments"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        ids = {(r["link_id"], r["id"]) for r in rows}
        t1 = [(r["link_id"], r["parent_id"][3:]) for r in rows if r["parent_id"].startswith("t1_")]
        return {"threads": len({r["link_id"] for r in rows}), "comments": len(rows),
                "replies": sum(p in ids for p in t1), "orphans": sum(p not in ids for p in t1),
                "deleted": sum(r["body"] in ("[deleted]", "[removed]") for r in rows), "missing": 0}
    if name.startswith("pushshift_dump_submissions"):
        return {"threads": len([line for line in text.splitlines() if line.strip()]), "comments": 0,
                "replies": 0, "deleted": 0, "missing": 0, "orphans": 0}
    if name.startswith("disqus_export") or name.startswith("isso_tests_disqus"):
        posts = re.findall(r"<post dsq:id=\"([^\"]+)\">(.*?)</post>", text, re.DOTALL)
        ids = {p for p, _ in posts}
        parents = [re.search(r'<parent dsq:id="([^"]+)"', body) for _, body in posts]
        threads = {re.search(r'<thread dsq:id="([^"]+)"', body).group(1) for _, body in posts}
        return {"threads": len(threads), "comments": len(posts),
                "replies": sum(1 for p in parents if p and p.group(1) in ids),
                "orphans": sum(1 for p in parents if p and p.group(1) not in ids),
                "deleted": sum("<isDeleted>true</isDeleted>" in body for _, body in posts), "missing": 0}
    if name.startswith("disqus_api3"):
        posts = json.loads(text)["response"]
        ids = {str(p["id"]) for p in posts}
        parents = [str(p["parent"]) for p in posts if p["parent"] is not None]
        return {"threads": len({p["thread"]["id"] for p in posts}), "comments": len(posts),
                "replies": sum(p in ids for p in parents), "orphans": sum(p not in ids for p in parents),
                "deleted": sum(p["isDeleted"] for p in posts), "missing": 0}
    if name.startswith("ycd_"):
        cids = re.findall(r'"cid": "([^"]+)"', text)
        distinct = set(cids)
        return {"threads": 1, "comments": len(distinct), "replies": sum("." in c for c in distinct),
                "deleted": 0, "missing": 0, "orphans": sum("." in c and c.split(".")[0] not in distinct
                                                           for c in distinct)}
    if name.startswith("wxr_") or name.startswith("isso_tests_wordpress"):
        items = [i for i in re.findall(r"<item>(.*?)</item>", text, re.DOTALL) if "<wp:comment>" in i]
        comments = [c for i in items for c in re.findall(r"<wp:comment>(.*?)</wp:comment>", i, re.DOTALL)]
        parents = [re.search(r"<wp:comment_parent>(\d*)</wp:comment_parent>", c).group(1) for c in comments]
        return {"threads": len(items), "comments": len(comments),
                "replies": sum(p not in ("", "0") for p in parents), "deleted": 0, "missing": 0, "orphans": 0}
    return None  # counted by hand below


BY_HAND = {  # counted by reading the file (see ../shared/data/formats/MANIFEST.md)
    "getPostThread_3ljphoefymc2l_jhroemer_mock.json": dict(threads=1, comments=3, replies=1, deleted=0,
                                                           missing=0, orphans=0),
    "context_mastodon.social_110446983926957470_MastodonPy.json": dict(threads=1, comments=1, replies=0,
                                                                       deleted=0, missing=0, orphans=1),
    "algolia_items_17_node-hacker-news-api.json": dict(threads=1, comments=3, replies=2, deleted=0,
                                                       missing=0, orphans=1),
    "algolia_search_by_date_comment_node-hacker-news-api.json": dict(threads=1, comments=1, replies=0,
                                                                     deleted=0, missing=0, orphans=0),
    # stories 8863 (71 descendants) and 121003 (16), a job, a poll (its 2 options are the poll's text,
    # 54 descendants: 71 + 16 + 54 = 141 missing) and comment 2921983 under story 2921506, not in the file
    "firebase_items_from_official_README.json": dict(threads=5, comments=1, replies=0, deleted=0,
                                                     missing=141, orphans=0),
    "graph_comment_model_python-facebook.json": dict(threads=1, comments=1, replies=0, deleted=0,
                                                     missing=0, orphans=0),
}


def _youtube_api(path) -> dict | None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not str(doc.get("kind", "")).startswith("youtube#"):
        return None
    items = doc.get("items", [doc])
    comments = replies = orphans = 0
    for item in items:
        if item["kind"] == "youtube#commentThread":
            comments += 1 + len(item.get("replies", {}).get("comments", []))
            replies += len(item.get("replies", {}).get("comments", []))
        else:
            comments += 1
            orphans += 1  # comments.list?parentId=: the parent is not in the response
    return {"threads": 1, "comments": comments, "replies": replies, "deleted": 0, "missing": 0,
            "orphans": orphans}


def _facebook(path) -> dict | None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if "data" not in doc:
        return None
    links = [c["permalink_url"] for c in doc["data"]]
    parents = {re.search(r"comment_id=(\d+)", link).group(1) for link in links if "reply_comment_id" not in link}
    reply_parents = [re.search(r"[?&]comment_id=(\d+)", link).group(1) for link in links if "reply_comment_id" in link]
    return {"threads": 1, "comments": len(links), "replies": sum(p in parents for p in reply_parents),
            "deleted": 0, "missing": 0, "orphans": sum(p not in parents for p in reply_parents)}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_is_read_with_the_counts_the_file_has(path):
    want = BY_HAND.get(path.name) or expected(path)
    if want is None and path.parent.name == "youtube":
        want = _youtube_api(path)
    if want is None and path.parent.name == "facebook":
        want = _facebook(path)
    assert want is not None, f"no expected counts for {path.name}"
    assert counted(read_all(path)) == want


def test_pushshift_comments_get_their_articles_from_the_submissions_file():
    comments = FORMATS / "reddit" / "pushshift_dump_comments_mixed_eras_PushshiftImporter.ndjson"
    submissions = FORMATS / "reddit" / "pushshift_dump_submissions_mixed_eras_PushshiftImporter.ndjson"
    titled = {json.loads(line)["id"]: json.loads(line)["title"]
              for line in submissions.read_text(encoding="utf-8").splitlines() if line.strip()}
    threads = read_all(comments, submissions=submissions)
    matched = [t for t in threads if t.article.id in titled]
    assert all(t.article.title == " ".join(titled[t.article.id].split()) for t in matched)


@pytest.mark.slow
def test_every_sample_runs_through_the_pipeline(tmp_path):
    """`make pipeline DUMP=<sample>` for each: every thread gets its artifact
    folder, and the manifest's ingest counts add up to the file's."""
    from pipeline import runner
    from pipeline.config import load_config

    config = load_config(None, [f"output_dir={tmp_path / 'artifacts'}", f"cache_dir={tmp_path / 'cache'}",
                                "report.enabled=false"])
    for path in SAMPLES:
        folders = runner.run([str(path)], config)
        facts = [json.loads((f / "manifest.json").read_text())["stages"]["ingest"] for f in folders]
        want = counted(read_all(path))
        assert len(folders) == want["threads"], path.name
        for key in ("comments", "replies", "deleted", "missing", "orphans"):
            assert sum(f[key] for f in facts) == want[key], (path.name, key)

"""_corpus/index.html: the corpus's topics, their spread over the threads, and
a link to each thread's report. Every text from a dump is escaped."""
from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from pipeline.report import CSP, STYLE, esc, user_plain, user_text

THREADS_PER_TOPIC = 10  # the page names a topic's biggest threads; topic_threads.csv has them all


def build_page(model: dict, tables: dict[str, list[dict]], manifest: dict) -> str:
    by_topic: dict[int, list[dict]] = defaultdict(list)
    for row in tables["topic_threads"]:
        by_topic[row["topic_id"]].append(row)
    topic_rows = "".join(
        f'<tr><td>{t["topic_id"]}</td><td>{user_text(t["label"])}</td><td>{t["size"]}</td>'
        f'<td>{t["share"]:.1%}</td><td>{t["threads"]}</td><td>{_thread_links(by_topic[t["topic_id"]])}</td></tr>'
        for t in tables["topics"])
    threads = sorted({r["thread"]: r["title"] for r in tables["topic_threads"]}.items())
    thread_rows = "".join(f"<li>{_link(name)} {user_text(title)}</li>" for name, title in threads)
    sample = model["sample"]
    last = manifest["history"][-1] if manifest["history"] else {}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{CSP}<title>Corpus topics</title><style>{STYLE}</style></head>
<body><main><h1>Corpus topics</h1>
<p>One topic model over {manifest["threads"]} threads ({manifest["comments_with_text"]} comments with text),
fitted {esc(model["fitted_at"])} on a seeded sample of {sample["comments"]} of {sample["of"]} comments.
Every comment takes the topic whose centre is nearest when the cosine is at least
{esc(model["outlier_threshold"])}; {manifest["outside"]} comments are outside every topic.
The last update ({esc(last.get("action", ""))}) assigned {last.get("threads", 0)} threads,
{last.get("outside", 0)} of their comments outside.</p>
<h2>Topics</h2>
<table id="topics"><thead><tr><th>id</th><th>label</th><th>comments</th><th>share</th><th>threads</th>
<th>biggest threads</th></tr></thead><tbody>{topic_rows}</tbody></table>
<h2>Threads</h2><ul id="threads">{thread_rows}</ul>
</main></body></html>
"""


def _link(name: str) -> str:
    return f'<a href="../{esc(quote(name))}/report.html" title="{user_plain(name)}">{user_text(name)}</a>'


def _thread_links(rows: list[dict]) -> str:
    shown = sorted(rows, key=lambda r: (-r["comments"], r["thread"]))[:THREADS_PER_TOPIC]
    more = len(rows) - len(shown)
    links = ", ".join(f'{_link(r["thread"])} ({r["comments"]})' for r in shown)
    return links + (f", and {more} more" if more > 0 else "")

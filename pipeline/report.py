"""report.html: one self-contained page per dump, and index.html over a run.

Comment text is untrusted. Every piece of it goes through `esc` (html.escape
with quotes) and lands only in element text or quoted attribute values; the
page's own script reads those values as data and never as markup. Shown as
text, it goes through `user_text`: isolated in <bdi>, so right-to-left text or
a bidirectional override cannot reorder the page around it, with its
invisible characters (zero-width, bidi controls) shown as their code points;
in attributes, titles and options (`user_plain`) they are written out as
[U+202E]. No external resource is linked: styles and the script are inline.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from html import escape
from urllib.parse import quote
from typing import Any

import numpy as np

from pipeline.clean import INVISIBLE, author_key
from pipeline.plots import STANCE_COLOURS, topic_colour
from pipeline.records import STANCE_LABELS

SHAPES = {"agree": "circle", "disagree": "square", "discuss": "triangle", "query": "diamond",
          "unrelated": "cross", None: "circle"}

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.numbers{display:flex;flex-wrap:wrap;gap:.6rem;padding:0;list-style:none}
.numbers li{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.4rem .8rem}
.numbers b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border:1px solid #ddd;padding:.35rem .5rem;vertical-align:top;text-align:left}
.mix{display:flex;height:12px;min-width:120px;border-radius:3px;overflow:hidden;background:#eee}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:.8rem;color:#fff;margin-left:.3rem}
.comment{margin-left:1.1rem;border-left:2px solid #e0e0e0;padding-left:.6rem}
.card{background:#fff;border:1px solid #e4e4e4;border-radius:5px;padding:.4rem .6rem;margin:.35rem 0}
.card.hidden{display:none}.card .meta{font-size:.85rem;color:#555}
.card p{margin:.3rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
.flag{color:#8a6d00;font-size:.8rem;margin-left:.3rem}
details>summary{cursor:pointer;color:#555;font-size:.85rem}
.filters{position:sticky;top:0;background:#fafafa;padding:.5rem 0;z-index:1}
svg.map{background:#fff;border:1px solid #ddd;width:100%;height:auto}
.legend span{margin-right:.8rem;font-size:.85rem}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}
.quiet{color:#777}
.invisible{font:.7rem monospace;color:#b00;border:1px solid #e0b0b0;border-radius:2px;padding:0 1px}
"""

CSP = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
       "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">")

SCRIPT = """
(function(){
  var topic=document.getElementById('f-topic'), stance=document.getElementById('f-stance');
  function apply(){
    var t=topic.value, s=stance.value, shown=0;
    document.querySelectorAll('.card').forEach(function(card){
      var ok=(t===''||card.dataset.topic===t)&&(s===''||card.dataset.stance===s);
      card.classList.toggle('hidden',!ok); if(ok){shown++;}
    });
    document.getElementById('shown').textContent=shown;
    document.querySelectorAll('.map .pt').forEach(function(p){
      var ok=(t===''||p.dataset.topic===t)&&(s===''||p.dataset.stance===s);
      p.style.opacity=ok?1:0.08;
    });
  }
  var params=new URLSearchParams(location.hash.slice(1));
  if(params.has('topic')){topic.value=params.get('topic');}
  if(params.has('stance')){stance.value=params.get('stance');}
  topic.addEventListener('change',apply); stance.addEventListener('change',apply);
  document.getElementById('expand').addEventListener('click',function(){
    document.querySelectorAll('details').forEach(function(d){d.open=true;});});
  apply();
})();
"""


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


_INVISIBLE = re.compile(f"[{INVISIBLE}]")
_WRITTEN_OUT = {ord(char): f"[U+{ord(char):04X}]" for char in INVISIBLE}


def user_text(value: Any) -> str:
    """Untrusted text as element content: escaped, isolated, invisible characters shown."""
    shown = _INVISIBLE.sub(lambda m: f'<span class="invisible" title="an invisible character">'
                                     f'U+{ord(m.group()):04X}</span>', esc(value))
    return f"<bdi>{shown}</bdi>"


def user_plain(value: Any) -> str:
    """Untrusted text where no markup goes (attributes, <title>, <option>)."""
    return esc(("" if value is None else str(value)).translate(_WRITTEN_OUT))


def _mix_bar(counts: Counter) -> str:
    total = sum(counts.values())
    if not total:
        return '<span class="quiet">-</span>'
    parts = "".join(
        f'<span style="width:{100 * counts[label] / total:.1f}%;background:{STANCE_COLOURS[label]}" '
        f'title="{label}: {counts[label]}"></span>' for label in STANCE_LABELS if counts[label])
    text = ", ".join(f"{label} {counts[label]}" for label in STANCE_LABELS if counts[label])
    return f'<div class="mix">{parts}</div><small>{esc(text)}</small>'


UNSURE = 0.5  # a stance below this confidence is counted as unsure


def _reader_note(reader: dict, this_run: dict) -> str:
    """The thread reader's part: how it read this thread, and its figures on labelled news threads."""
    text = " It read the thread as a whole: "
    if this_run.get("article_side"):
        text += esc(this_run["article_side"]) + "."
    loo = reader.get("leave_one_thread_out") or {}
    if loo:
        ours, pair = loo["thread_reader"]["pooled"], loo["pair_at_a_time"]["pooled"]
        text += (f" On {len(loo.get('threads', []))} news comment sections labelled outside the team, each read by "
                 f"a reader fitted without it, macro-F1 {ours['macro_f1']:.2f} (accuracy {ours['accuracy']:.0%}), "
                 f"where reading each comment on its own gets {pair['macro_f1']:.2f} and always answering agree "
                 f"{loo['thread_reader']['always_agree']['macro_f1']:.2f}.")
    return text


def _stance_note(rows: Sequence[dict], card: dict | None) -> str:
    """Who read the stances, how sure it was here, and how it did on the labelled real
    thread, from its model card (README: Stance, known limits)."""
    conf = [r["stance_confidence"] for r in rows if r.get("stance")]
    other = sum(1 for r in rows if r.get("stance_context") == "other_language")
    not_read = (f" {other:,} comment{' was' if other == 1 else 's were'} read as written in another language "
                "than English and given no stance: the model reads English only (flag other_language)."
                if other else "")
    if not conf:
        return f'<p class="quiet" id="stance-note">{not_read.strip()}</p>' if other else ""
    name = f"{card['name']}-{card['version']}" if card else "the stance model"
    text = f"Read by {esc(name)}, a model, not a person. Its median confidence here: {float(np.median(conf)):.2f}."
    text += not_read
    unsure = sum(c < UNSURE for c in conf) / len(conf)
    text += (f" {unsure:.0%} of its stances here are unsure (confidence below {UNSURE:.1f}): read those as a "
             "guess.")
    reader = (card or {}).get("thread_reader")
    if reader:
        text += _reader_note(reader, (card or {}).get("this_run") or {})
    validation = (card or {}).get("validation") or {}
    own = (card or {}).get("method")
    real = ((validation.get("pipeline") or {}).get(own) or {}).get("real_dump") or {}
    slices = validation.get("slices") or {}
    if slices and own:
        parts = []
        for source, by_method in slices.items():
            others = {n: r["macro_f1"] for n, r in by_method.items() if n != own}
            best = max(others, key=others.get) if others else None
            parts.append(f"{esc(source)} {by_method[own]['macro_f1']:.2f}"
                         + (f" ({esc(best)} {others[best]:.2f})" if best else ""))
        text += (" Its macro-F1 on held-out labelled slices of its training corpora, beside the best "
                 "baseline trained on the same splits: " + ", ".join(parts) + ".")
    if reader and "real_dump" in reader:
        real = reader["real_dump"]
    if "stance" in real:
        s, agreement = real["stance"], real["agreement"]
        kappas = " and ".join(f"{k:.2f}" for k in agreement["model_stance_kappa"])
        about = f" ({esc(real['description'])})" if real.get("description") else ""
        text += (f" On the one real thread the team has labelled{about}, it got {s['accuracy']:.0%} of the "
                 f"stances right, where always answering "
                 f"{esc(s['majority_label'])} gets {s['majority_accuracy']:.0%}; its Cohen's kappa with the two "
                 f"annotators was {kappas} (0 is chance; theirs with each other "
                 f"{agreement['annotators_stance']['kappa']:.2f}).")
        top = s["by_confidence"][-1]
        if top["n"]:
            text += f" Of its stances there at {top['from']:.1f} or above, {top['correct']} of {top['n']} were right."
    else:
        text += " Its card has no figures on a labelled real thread."
    return f'<p class="quiet" id="stance-note">{text} Read a sample before counting.</p>'


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    r = 5
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r}" height="{2 * r}" fill="{colour}"/>'
    if shape == "triangle":
        return f'<polygon points="{x:.1f},{y - r - 1:.1f} {x - r - 1:.1f},{y + r:.1f} {x + r + 1:.1f},{y + r:.1f}" fill="{colour}"/>'
    if shape == "diamond":
        return f'<polygon points="{x:.1f},{y - r - 1:.1f} {x + r + 1:.1f},{y:.1f} {x:.1f},{y + r + 1:.1f} {x - r - 1:.1f},{y:.1f}" fill="{colour}"/>'
    if shape == "cross":
        return (f'<path d="M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}M{x - r:.1f},{y + r:.1f}'
                f'L{x + r:.1f},{y - r:.1f}" stroke="{colour}" stroke-width="2.5"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>'


def _map(rows: Sequence[dict], coords: np.ndarray | None, limit: int) -> str:
    if coords is None or not np.isfinite(coords).any():
        return '<p class="quiet">No map: the embedding stage did not run.</p>'
    width, height, pad = 900, 560, 20
    placed = np.flatnonzero(np.isfinite(np.asarray(coords, np.float64)[:, 0]))
    note = ""
    if len(placed) > limit:  # a browser draws a few thousand points, not a million: a fixed random sample
        placed = np.sort(np.random.default_rng(0).choice(placed, limit, replace=False))
        note = (f" A random {limit:,} of the {int(np.isfinite(coords[:, 0]).sum()):,} comments placed "
                "(report.max_comments).")
    points = []
    for k in placed:
        row, (x, y) = rows[int(k)], coords[k]
        px, py = pad + x * (width - 2 * pad), pad + (1 - y) * (height - 2 * pad)
        tip = f"{row['author']} [{row['topic_label'] or '-'}; {row.get('stance') or '-'}]: {row['text_clean'][:200]}"
        topic = "" if row["topic_id"] is None else str(row["topic_id"])
        points.append(f'<g class="pt" data-topic="{esc(topic)}" data-stance="{esc(row.get("stance") or "")}">'
                      f'<title>{user_plain(tip)}</title>'
                      f'{_marker(SHAPES.get(row.get("stance"), "circle"), px, py, topic_colour(row["topic_id"]))}</g>')
    legend = "".join(f"<span>{_shape_symbol(label)} {label}</span>" for label in STANCE_LABELS)
    return (f'<svg class="map" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="map of comments by topic">{"".join(points)}</svg>'
            f'<p class="legend">Colour: topic (grey: no topic). Shape: stance. {legend}{note}</p>')


def _shape_symbol(label: str) -> str:
    return {"circle": "\u25cf", "square": "\u25a0", "triangle": "\u25b2", "diamond": "\u25c6",
            "cross": "\u2716"}[SHAPES[label]]


def _card(row: dict) -> str:
    badges = ""
    if row["topic_id"] is not None:
        badges += (f'<span class="badge" style="background:{topic_colour(row["topic_id"])}">'
                   f'{user_text(row["topic_label"])}</span>')
    if row.get("stance"):
        badges += (f'<span class="badge stance" style="background:{STANCE_COLOURS[row["stance"]]}">'
                   f'{esc(row["stance"])} {row["stance_confidence"]:.2f}</span>')
    if row.get("reply_stance"):
        badges += (f'<span class="badge" style="background:#555">{esc(row["reply_stance"])} to '
                   f'{user_text(row["reply_to"])}</span>')
    flags = "".join(f'<span class="flag">{esc(flag)}</span>' for flag in row["flags"])
    text = user_text(row["text_raw"]) if row["text_raw"] else '<span class="quiet">(no text)</span>'
    topic = "" if row["topic_id"] is None else str(row["topic_id"])
    return (f'<div class="card" id="{esc(row["comment_id"])}" data-topic="{esc(topic)}" '
            f'data-stance="{esc(row.get("stance") or "")}">'
            f'<div class="meta"><b>{user_text(row["author"])}</b> <span class="quiet">'
            f'{user_text(row["comment_id"])}, line {row["line"]}</span>{badges}{flags}</div>'
            f'<p>{text}</p></div>')


def _thread(rows: Sequence[dict], limit: int) -> tuple[str, int]:
    """The nested thread, its first `limit` comments in reading order, and how many
    those are; built with an explicit stack: threads can be thousands of replies deep,
    past Python's recursion limit."""
    ids, children = [], {}
    for k, row in enumerate(rows):
        ids.append(row["comment_id"])
        children.setdefault(row["parent_id"], []).append(k)
    parts: list[str] = []
    shown = 0
    stack: list[tuple[int, bool]] = [(k, False) for k in reversed(children.get(None, []))]
    while stack:
        k, closing = stack.pop()
        replies = children.get(ids[k], [])
        if closing:
            parts.append("</details></div>" if replies else "</div>")
            continue
        if shown >= limit:  # the rest are in comments.jsonl; open cards still close
            continue
        shown += 1
        parts.append(f'<div class="comment">{_card(rows[k])}')
        if replies:
            parts.append(f'<details open><summary>{len(replies)} repl{"y" if len(replies) == 1 else "ies"}'
                         '</summary>')
        stack.append((k, True))
        stack.extend((reply, False) for reply in reversed(replies))
    return "".join(parts), shown


def _topics_table(rows: Sequence[dict], topic_rows: Sequence[dict]) -> str:
    if not topic_rows:
        return '<p class="quiet">No topics: the thread is too small, or the topic stage is off.</p>'
    wanted = {i for topic in topic_rows for i in topic["representative_ids"].split("; ") if i}
    text_of = {r["comment_id"]: r["text_clean"] for r in rows if r["comment_id"] in wanted}
    body = []
    for topic in topic_rows:
        counts = Counter({label: topic[f"n_{label}"] for label in STANCE_LABELS})
        examples = "".join(f"<li>{user_text(text_of[i][:300])}</li>"
                           for i in topic["representative_ids"].split("; ") if i)
        body.append(
            f'<tr data-topic="{topic["topic_id"]}"><td>{topic["topic_id"]}</td>'
            f'<td><span class="badge" style="background:{topic_colour(topic["topic_id"])}">&nbsp;</span> '
            f'{user_text(topic["label"])}</td><td>{user_text(topic["keywords"])}</td><td>{topic["size"]}</td>'
            f'<td>{_mix_bar(counts)}</td><td><ul>{examples}</ul></td></tr>')
    return ('<table id="topics"><thead><tr><th>#</th><th>label</th><th>keywords</th><th>size</th>'
            f'<th>stance mix</th><th>representative comments</th></tr></thead><tbody>{"".join(body)}'
            '</tbody></table>')


def headline_numbers(rows: Sequence[dict], topic_rows: Sequence[dict]) -> dict[str, int]:
    """The page's counts, in one pass over the rows (a big thread's are built as read)."""
    authors, top, deepest, empty, flagged = set(), 0, 0, 0, 0
    for r in rows:
        authors.add(author_key(r["author"]))
        top += r["depth"] == 0
        deepest = max(deepest, r["depth"])
        empty += "empty" in r["flags"]
        flagged += bool(r["flags"])
    return {"comments": len(rows), "authors": len(authors), "top level": top, "deepest reply": deepest,
            "empty": empty, "flagged": flagged, "topics": sum(1 for t in topic_rows if t["topic_id"] >= 0)}


MAX_COMMENTS = 5_000  # report.max_comments's default


def build_report(article, rows: Sequence[dict], topic_rows: Sequence[dict],
                 coords: np.ndarray | None, plots: dict[str, tuple[str, bytes]],
                 stance_card: dict | None = None, max_comments: int = MAX_COMMENTS) -> str:
    """The report page; a thread of more than `max_comments` comments shows its first
    `max_comments` in the thread view and a random `max_comments` on the map (every
    count and figure is over all of them)."""
    numbers = "".join(f"<li><b>{value}</b>{esc(name)}</li>"
                      for name, value in headline_numbers(rows, topic_rows).items())
    stance_counts = Counter(r["stance"] for r in rows if r.get("stance"))
    topic_options = "".join(f'<option value="{t["topic_id"]}">{t["topic_id"]}: {user_plain(t["label"])}</option>'
                            for t in topic_rows)
    stance_options = "".join(f'<option value="{s}">{s}</option>' for s in STANCE_LABELS)
    figures = "".join(f'<figure id="plot-{name}">{svg}<figcaption class="quiet">{name}.png</figcaption>'
                      f'</figure>' for name, (svg, _) in plots.items())
    first = article.paragraphs[0] if article.paragraphs else ""
    thread_html, shown = _thread(rows, max_comments)
    cut = (f'<p class="quiet" id="cut">The first {shown:,} of the thread\'s {len(rows):,} comments, in thread '
           "order (report.max_comments); every comment is in comments.jsonl, comments.parquet and the "
           "review files.</p>" if shown < len(rows) else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{CSP}
<title>{user_plain(article.title)}: comment report</title><style>{STYLE}</style></head>
<body><main>
<p class="quiet">Comment report for {user_text(article.source)}</p>
<h1 id="title">{user_text(article.title)}</h1>
<p>{user_text(first)}</p>
<ul class="numbers" id="numbers">{numbers}</ul>
<h2>Stance toward the article</h2>
<div id="stance-mix">{_mix_bar(stance_counts) if stance_counts else '<p class="quiet">No stance annotations in this run.</p>'}</div>
{_stance_note(rows, stance_card)}
<h2>Topics</h2>
{_topics_table(rows, topic_rows)}
<h2>Map of the comments</h2>
<div id="map">{_map(rows, coords, max_comments)}</div>
<h2>Summaries</h2>
{figures or '<p class="quiet">No plots for this run.</p>'}
<h2>The thread</h2>
<div class="filters">Topic <select id="f-topic"><option value="">all</option>{topic_options}</select>
Stance <select id="f-stance"><option value="">all</option>{stance_options}</select>
<button id="expand" type="button">expand all</button>
<span class="quiet"><span id="shown">{shown}</span> of {shown} comments shown</span></div>
{cut}<div id="thread">{thread_html}</div>
</main><script>{SCRIPT}</script></body></html>
"""


def build_index(entries: Sequence[dict]) -> str:
    """entries: name, title, and headline numbers of each dump in a run."""
    body = "".join(
        f'<tr><td><a href="./{esc(quote(e["name"]))}/report.html">{user_text(e["name"])}</a></td>'
        f'<td>{user_text(e["title"])}</td><td>{e["comments"]}</td><td>{e["topics"]}</td>'
        f'<td>{_mix_bar(Counter(e["stances"]))}</td></tr>' for e in entries)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{CSP}<title>Comment reports</title><style>{STYLE}</style></head>
<body><main><h1>Comment reports</h1>
<table id="dumps"><thead><tr><th>dump</th><th>article</th><th>comments</th><th>topics</th>
<th>stance mix</th></tr></thead><tbody>{body}</tbody></table></main></body></html>
"""

"""report.html as a person meets it: opened in headless Chromium from disk."""
import os
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline import runner

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("REQUIRE_BROWSER"),
    reason="no chromium (apt-get install chromium); CI sets REQUIRE_BROWSER=1 and installs it")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]

HOSTILE = """Hostile markup test

An article about nothing in particular, written for the escaping test.

  \u2022 <b>Mallory</b>

    <script>document.title='pwned'</script> hello

  \u2022 Eve <img src=x onerror="document.body.dataset.pwned='1'">

    <img src=x onerror="document.body.dataset.pwned='1'"> look at this

    \u2022 Trudy

      <a href="javascript:document.body.dataset.pwned='1'">click me</a> javascript:alert(1)
"""


def browser(tmp_path: Path, url: str, *extra: str) -> str:
    assert CHROMIUM, "chromium is required here (REQUIRE_BROWSER is set)"
    result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, url],
                            capture_output=True, text=True, timeout=120)
    return result.stdout


def test_report_is_self_contained(example_run):
    html = (example_run.folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html


def html_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_report_says_how_sure_the_stance_model_was(example_run):
    from pipeline.report import _stance_note
    from pipeline.stance import load_models, weights_for

    comments = pd.read_parquet(example_run.folder / "comments.parquet")
    models = load_models(weights_for(example_run.config["embed"]["backend"]))
    card, reader = models.card, models.thread.card  # the default reads the thread as a whole
    real = reader["real_dump"]["stance"]  # the real dump as the thread reader read it
    html = (example_run.folder / "report.html").read_text(encoding="utf-8")
    note = re.search(r'<p class="quiet" id="stance-note">(.*?)</p>', html).group(1)
    assert f"Read by {card['name']}-{card['version']}" in note
    assert f"median confidence here: {comments['stance_confidence'].median():.2f}." in note
    unsure = (comments["stance_confidence"].dropna() < 0.5).mean()
    assert f"{unsure:.0%} of its stances here are unsure (confidence below 0.5)" in note
    manifest = json.loads((example_run.folder / "manifest.json").read_text())
    assert html_text(manifest["stages"]["stance"]["article_side"]) in note
    loo = reader["leave_one_thread_out"]
    assert (f"macro-F1 {loo['thread_reader']['pooled']['macro_f1']:.2f} (accuracy "
            f"{loo['thread_reader']['pooled']['accuracy']:.0%}), where reading each comment on its own gets "
            f"{loo['pair_at_a_time']['pooled']['macro_f1']:.2f}") in note
    assert f"got {real['accuracy']:.0%} of the stances right, where always answering {real['majority_label']}" in note
    top = real["by_confidence"][-1]
    assert (f"{top['correct']} of {top['n']} were right" in note) == bool(top["n"])
    # the held-out slices, the shipped method's macro-F1 beside the best baseline's, from the card
    arc = card["validation"]["slices"]["arc"]
    best = max((n for n in arc if n != card["method"]), key=lambda n: arc[n]["macro_f1"])
    assert f"arc {arc[card['method']]['macro_f1']:.2f} ({best} {arc[best]['macro_f1']:.2f})" in note
    rows = comments.to_dict("records")
    assert "no figures on a labelled real thread" in _stance_note(rows, {"name": "mine", "version": "1"})
    assert _stance_note([dict(r, stance=None) for r in rows], card) == ""
    assert "read as written in another language" not in note  # the example is English
    other = [dict(r, stance=None, stance_context="other_language") if k < 3 else r for k, r in enumerate(rows)]
    assert ("3 comments were read as written in another language than English and given no stance: the model "
            "reads English only (flag other_language).") in _stance_note(other, card)
    assert _stance_note([dict(r, stance=None, stance_context="other_language") for r in rows], card) == (
        f'<p class="quiet" id="stance-note">{len(rows)} comments were read as written in another language than '
        "English and given no stance: the model reads English only (flag other_language).</p>")


@pytest.mark.slow
def test_comment_text_is_escaped(tmp_path, config):
    dump = tmp_path / "hostile.txt"
    dump.write_text(HOSTILE, encoding="utf-8")
    settings = dict(config, output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    (folder,) = runner.run([str(dump)], settings)
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert "<img" not in html and "<a " not in html and "<b>Mallory" not in html
    assert html.count("<script>") == 1  # the report's own


@pytest.mark.slow
def test_index_links_are_escaped_and_relative(tmp_path, config):
    folder = tmp_path / "dumps"
    folder.mkdir()
    for name in ("javascript:alert(1).txt", "<b>plain.txt"):
        (folder / name).write_text("Title\n\nBody.\n\n  \u2022 Ann\n\n    A comment.\n", encoding="utf-8")
    settings = dict(config, output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"),
                    topics=dict(config["topics"], enabled=False), stance=dict(config["stance"], enabled=False))
    runner.run([str(folder)], settings)
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'href="./javascript%3Aalert%281%29/report.html"' in index
    assert 'href="./%3Cb%3Eplain/report.html"' in index and "&lt;b&gt;plain" in index
    assert "<b>plain" not in index and "Content-Security-Policy" in index


@pytest.mark.slow
@needs_browser
def test_hostile_comments_run_no_script_in_a_browser(tmp_path, config):
    dump = tmp_path / "hostile.txt"
    dump.write_text(HOSTILE, encoding="utf-8")
    settings = dict(config, output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    (folder,) = runner.run([str(dump)], settings)
    dom = browser(tmp_path, (folder / "report.html").as_uri(), "--dump-dom")
    assert "<title>Hostile markup test: comment report</title>" in dom
    assert "data-pwned" not in dom and "pwned" not in dom.split("<body")[0]
    assert "&lt;img src=x onerror=" in dom and "javascript:alert(1)" in dom


def cards(dom: str) -> list[str]:
    return re.findall(r'<div class="card( hidden)?" id="[^"]+" data-topic="[^"]*" data-stance="([^"]*)"', dom)


@needs_browser
def test_report_renders_with_the_right_counts(example_run, tmp_path):
    comments = pd.read_parquet(example_run.folder / "comments.parquet")
    topics = pd.read_csv(example_run.folder / "topics.csv")
    dom = browser(tmp_path, (example_run.folder / "report.html").as_uri(), "--dump-dom")
    table = dom.split('<table id="topics">')[1].split("</table>")[0]
    assert table.count("<tr data-topic=") == len(topics)
    map_svg = dom.split('<svg class="map"')[1].split("</svg>")[0]
    assert map_svg.count('class="pt"') == (comments["text_clean"] != "").sum()
    assert len(cards(dom)) == len(comments) == 48
    assert all(hidden == "" for hidden, _ in cards(dom))
    assert re.search(r'<span id="shown">48</span>', dom)
    for name in ("stance_by_topic", "topic_sizes", "stance_by_depth"):
        assert f'id="plot-{name}"' in dom and (example_run.folder / f"{name}.png").exists()


@needs_browser
def test_filtering_by_stance_hides_the_others(example_run, tmp_path):
    comments = pd.read_parquet(example_run.folder / "comments.parquet")
    stance = comments["stance"].value_counts().index[0]
    dom = browser(tmp_path, (example_run.folder / "report.html").as_uri() + f"#stance={stance}",
                  "--dump-dom")
    shown = [s for hidden, s in cards(dom) if not hidden]
    assert shown and set(shown) == {stance}
    assert len(shown) == (comments["stance"] == stance).sum()
    assert len(cards(dom)) - len(shown) == (comments["stance"] != stance).sum()


@needs_browser
def test_the_report_draws_as_a_picture(example_run, tmp_path):
    """The report as a browser draws it (docs/report.png is taken the same
    way, by hand): a PNG of the window's size, with text and coloured plots on it."""
    from PIL import Image

    target = tmp_path / "report.png"
    browser(tmp_path, (example_run.folder / "report.html").as_uri(), f"--screenshot={target}",
            "--window-size=1280,2400")
    with Image.open(target) as image:
        assert image.format == "PNG" and image.size == (1280, 2400)
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    dark = (pixels.max(axis=1) < 100).mean()  # text
    coloured = (pixels.max(axis=1) - pixels.min(axis=1) > 60).mean()  # the plots and stance colours
    assert len(colours) > 100 and counts.max() < 0.97 * len(pixels), (len(colours), counts.max() / len(pixels))
    assert dark > 0.002 and coloured > 0.002, (dark, coloured)


def test_bidi_overrides_and_zero_width_characters_are_isolated_and_shown():
    """Trojan Source in a comment: an override cannot reorder the page, an
    invisible character is shown, and names that differ only by them are one author."""
    from pipeline import export, report
    from pipeline.records import Article, CleanComment, Comment, Thread

    written = [("Lena", "plain"), ("Le\u200bna", "zero width"), ("\u202eLena\u202c", "override"),
               ("Bob", "transfer \u202e01$ ot\u202c 10$")]
    comments = tuple(Comment(id=f"c{i}", parent_id=None, depth=0, author=author, text=text,
                             line=i + 1, position=i) for i, (author, text) in enumerate(written))
    thread = Thread(Article(id="a", title="T\u2067itle", paragraphs=(), source="x.txt"), comments)
    rows = export.build_comment_rows(thread, [CleanComment(id=c.id, text=c.text) for c in comments],
                                     None, {c.id: (None, "article") for c in comments})
    assert [r["author"] for r in rows] == [a for a, _ in written]  # the artifacts keep names as written
    html = report.build_report(thread.article, rows, [], None, {})
    assert report.headline_numbers(rows, [])["authors"] == 2
    assert not set("\u200b\u202e\u202c\u2067") & set(html)
    assert "<b><bdi>Le<span class=\"invisible\" title=\"an invisible character\">U+200B</span>na</bdi></b>" in html
    assert "<title>T[U+2067]itle: comment report</title>" in html
    assert "<p><bdi>transfer <span class=\"invisible\"" in html


def test_a_thread_bigger_than_max_comments_shows_its_first_ones_and_says_so():
    """A million comments cannot be drawn in a browser: the thread view stops after
    report.max_comments in thread order (open replies still close), the map draws a
    random max_comments, and the headline counts are over the whole thread."""
    from html.parser import HTMLParser

    from pipeline import export, report
    from pipeline.records import Article, CleanComment, Comment, Thread

    comments, depth = [], {}
    for i in range(40):  # chains of replies under every fifth comment
        parent = None if i % 5 == 0 else f"c{i - 1}"
        depth[f"c{i}"] = 0 if parent is None else depth[parent] + 1
        comments.append(Comment(id=f"c{i}", parent_id=parent, depth=depth[f"c{i}"], author=f"a{i}",
                                text=f"text {i}", line=i + 1, position=i))
    thread = Thread(Article(id="a", title="T", paragraphs=(), source="x.txt"), tuple(comments))
    rows = export.build_comment_rows(thread, [CleanComment(id=c.id, text=c.text) for c in comments],
                                     None, {c.id: (c.parent_id, "parent") for c in comments})
    coords = np.random.default_rng(1).random((40, 2))

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open, self.cards, self.points = 0, [], 0

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            self.open += tag == "div"
            if "card" in (attrs.get("class") or "").split():
                self.cards.append(attrs["id"])
            self.points += tag == "g" and attrs.get("class") == "pt"

        def handle_endtag(self, tag):
            self.open -= tag == "div"

    whole, cut = Tags(), Tags()
    whole.feed(report.build_report(thread.article, rows, [], coords, {}))
    html = report.build_report(thread.article, rows, [], coords, {}, max_comments=12)
    cut.feed(html)
    assert whole.cards == [f"c{i}" for i in range(40)] and whole.points == 40 and 'id="cut"' not in \
        report.build_report(thread.article, rows, [], coords, {})
    assert cut.cards == [f"c{i}" for i in range(12)] and cut.open == whole.open == 0
    assert cut.points == 12 and "A random 12 of the 40 comments placed" in html
    assert "The first 12 of the thread's 40 comments, in thread order" in html
    assert '<span id="shown">12</span> of 12 comments shown' in html
    assert "<b>40</b>comments" in html  # the counts are over the whole thread

"""Dumps from the wild: what is not a dump fails cleanly, odd but valid ones run."""
import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE_DUMP, cli
from pipeline import runner
from pipeline.errors import PipelineError
from pipeline.ingest import parse_dump

B = "\u2022"



def make_big_line(path):
    with path.open("wb") as handle:
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)


NOT_A_DUMP = [
    ("empty.txt", lambda p: p.write_bytes(b""), "empty.txt:1: the file is empty"),
    ("binary.txt", lambda p: p.write_bytes(bytes(range(256)) * 20), "binary.txt:1: binary data"),
    ("photo.txt", lambda p: p.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(500)),
     "photo.txt:1: this is a JPEG image"),
    ("huge.txt", make_big_line, "huge.txt:1: the first line is 104,857,600 characters long"),
    ("folder", lambda p: p.mkdir(), "folder: no dumps in this folder"),
    ("late_nul.txt", lambda p: p.write_bytes(("Title\n\nBody.\n\n  \u2022 Ann\n\n    " + "Hi. " * 50_000
                                              + "\n\n  \u2022 Bob\n\n    a\x00b\n").encode()),
     "late_nul.txt:11: binary data (NUL bytes)"),
    ("list_id.jsonl", lambda p: p.write_text('{"type": "article", "title": "T"}\n'
                                             '{"type": "comment", "id": ["c1"], "text": "hi"}\n'),
     "list_id.jsonl:2: 'id' must be a string or a number"),
    ("surrogate.jsonl", lambda p: p.write_text('{"type": "article", "title": "T"}\n'
                                               '{"type": "comment", "id": "c1", "text": "a\\ud800"}\n'),
     "surrogate.jsonl:2: 'text' holds a \\u escape of half a UTF-16 pair"),
]


@pytest.mark.parametrize("name, make, expected", NOT_A_DUMP, ids=[n for n, _, _ in NOT_A_DUMP])
def test_not_a_dump(tmp_path, name, make, expected):
    make(tmp_path / name)
    result = cli("run", name, "--out", "out", "--set", f"cache_dir={tmp_path / 'cache'}", cwd=tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {expected}"), last
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def text_dump(comments, title="Odd dump", body="A body paragraph."):
    """comments: (depth, author, text) triples, written in the dump format."""
    lines = [title, "", body, ""]
    for depth, author, text in comments:
        lines += [" " * (2 * depth + 2) + f"{B} {author}", ""]
        if text:
            lines += [" " * (2 * depth + 4) + text, ""]
    return "\n".join(lines) + "\n"


ENGLISH = ["The council should fix the roads first.", "I like the new bike lane a lot.",
           "Parking will be hard for the shops now.", "Buses still run on the street, good."]


def odd_but_valid():
    plain = text_dump([(0, "Ann", ENGLISH[0]), (1, "Bob", ENGLISH[1]), (0, "Cy", ENGLISH[2])])
    return {
        "bom.txt": ("\ufeff" + plain).encode("utf-8"),
        "utf16.txt": plain.encode("utf-16"),
        "cp1252.txt": text_dump([(0, "Ren\u00e9", "\u201cCaf\u00e9\u201d is fine \u2013 really.")]).encode("cp1252"),
        "crlf.txt": plain.replace("\n", "\r\n").encode(),
        "tabs.txt": plain.replace("    ", "\t\t").encode(),
        "jump.txt": text_dump([(0, "Ann", ENGLISH[0]), (2, "Bob", ENGLISH[1])]).encode(),
        "long.txt": text_dump([(0, "Ann", " ".join(["word"] * 100_000)), (0, "Bob", ENGLISH[1])]).encode(),
        "deep.txt": text_dump([(d, f"user{d % 3}", f"Reply number {d} about the street plan.")
                               for d in range(200)]).encode(),
        "no_comments.txt": b"Just an article\n\nNobody commented on it.\n",
        "languages.txt": text_dump([(0, "Ann", "Das ist ein sehr guter Plan f\u00fcr die Stadt und die Kinder."),
                                    (0, "Bob", "C'est une tr\u00e8s mauvaise id\u00e9e pour les commer\u00e7ants."),
                                    (0, "Cy", ENGLISH[3])]).encode(),
        "emoji.txt": text_dump([(0, "Ann", "\U0001F602\U0001F602\U0001F44D"), (0, "Bob", ENGLISH[0])]).encode(),
        "child_first.jsonl": "\n".join(json.dumps(o) for o in [
            {"type": "article", "title": "Replies first", "body": "A body."},
            {"type": "comment", "id": "b", "parent_id": "a", "author": "Bob", "text": ENGLISH[1]},
            {"type": "comment", "id": "a", "parent_id": None, "author": "Ann", "text": ENGLISH[0]},
        ]).encode(),
        "chain.jsonl": "\n".join(json.dumps(o) for o in [
            {"type": "article", "title": "A long chain", "body": "A body."},
            *({"type": "comment", "id": i, "parent_id": i - 1 if i else None, "author": f"u{i % 2}",
               "text": f"Answer {i} in a long argument about parking."} for i in range(600))]).encode(),
        "spam.txt": text_dump([(0, f"bot{i}", "Buy cheap watches at my shop today!") for i in range(30)]
                              + [(0, "Ann", ENGLISH[0])]).encode(),
        # a download that stopped inside the last character (\u00e9 is 2 bytes)
        "cut_short.txt": text_dump([(0, "Ann", ENGLISH[0]), (0, "Bob", "See you at the caf\u00e9")])
        .rstrip("\n").encode()[:-1],
    }


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory, config):
    base = tmp_path_factory.mktemp("odd")
    folder = base / "dumps"
    folder.mkdir()
    for name, data in odd_but_valid().items():
        (folder / name).write_bytes(data)
    settings_ = dict(config, output_dir=str(base / "out"), cache_dir=str(base / "cache"))
    written = runner.run([str(folder)], settings_)
    return {p.name: pd.read_parquet(p / "comments.parquet") for p in written}, base / "out"


@pytest.mark.slow
def test_odd_dumps_all_run_to_completion(odd_run):
    frames, out = odd_run
    assert set(frames) == {name.rsplit(".", 1)[0] for name in odd_but_valid()}
    assert (out / "index.html").exists()


@pytest.mark.slow
def test_encodings_and_line_ends_read_alike(odd_run):
    frames, _ = odd_run
    texts = frames["bom"]["text_raw"].tolist()
    for name in ("utf16", "crlf", "tabs"):
        assert frames[name]["text_raw"].tolist() == texts, name
    assert frames["tabs"]["depth"].tolist() == frames["bom"]["depth"].tolist()
    assert frames["cp1252"]["author"].tolist() == ["Ren\u00e9"]
    assert frames["cut_short"]["text_raw"].tolist() == [ENGLISH[0], "See you at the caf"]


@pytest.mark.slow
def test_warnings_name_the_encoding_and_the_jump(odd_run):
    _, out = odd_run
    warnings = json.loads((out / "cp1252" / "manifest.json").read_text())["warnings"]
    assert any("Windows-1252" in w for w in warnings)
    jump = json.loads((out / "jump" / "manifest.json").read_text())
    assert any("jumps" in w for w in jump["warnings"])
    cut_short = json.loads((out / "cut_short" / "manifest.json").read_text())["warnings"]
    assert any("cut_short.txt:11: the file ends inside a UTF-8 character" in w for w in cut_short)


@pytest.mark.slow
def test_odd_shapes_keep_every_comment(odd_run):
    frames, _ = odd_run
    jump = frames["jump"]["parent_id"]
    assert jump.isna().tolist() == [True, False] and jump.iloc[1] == "c1"
    assert frames["deep"]["depth"].max() == 199 and len(frames["deep"]) == 200
    assert len(frames["no_comments"]) == 0
    long = frames["long"].iloc[0]
    assert "long" in list(long["flags"]) and len(long["text_raw"].split()) == 100_000


@pytest.mark.slow
def test_jsonl_replies_before_parents_and_deep_chains(odd_run):
    frames, out = odd_run
    child_first = frames["child_first"]
    assert child_first["comment_id"].tolist() == ["a", "b"]  # parents first
    assert child_first["position"].tolist() == [1, 0]  # the file order is kept
    chain = frames["chain"]
    assert chain["depth"].max() == 599 and (out / "chain" / "report.html").exists()


@pytest.mark.slow
def test_languages_emoji_and_duplicates_are_flagged(odd_run):
    frames, _ = odd_run
    languages = frames["languages"]
    assert languages["language"].tolist() == ["de", "fr", "en"]
    assert [("other_language" in list(f)) for f in languages["flags"]] == [True, True, False]
    assert "no_words" in list(frames["emoji"].iloc[0]["flags"])
    spam = frames["spam"]
    duplicates = spam[spam["flags"].apply(lambda f: "duplicate" in list(f))]
    assert len(duplicates) == 29 and set(duplicates["duplicate_of"]) == {"c1"}


def test_unknown_key_and_missing_model_package(tmp_path):
    result = cli("run", str(EXAMPLE_DUMP), "--set", "embed.batch_sise=3", cwd=tmp_path)
    assert result.returncode == 2 and "did you mean 'embed.batch_size'" in result.stderr
    result = cli("run", str(EXAMPLE_DUMP), "--out", "out", "--set", "clean.spacy_model=xx_no_such_model",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "spaCy pipeline 'xx_no_such_model' is not installed (pip install xx-no-such-model" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_wrong_or_untrained_stance_method_stops_the_run_before_any_work(tmp_path):
    result = cli("run", str(EXAMPLE_DUMP), "--out", "out", "--set", "stance.method=bert", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == (
        "error: stance.method: unknown stance method 'bert' (one of minilm-lr, tfidf-mlp, joined-mlp, stance-heads)")
    result = cli("run", str(EXAMPLE_DUMP), "--out", "out", "--set", "stance.method=tfidf-mlp",
                 "--set", f"cache_dir={tmp_path / 'cache'}", cwd=tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert "no trained weights for stance method 'tfidf-mlp'" in last
    assert "python -m pipeline.stance_train.train --method tfidf-mlp" in last
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache" / "stages").exists()


VALID_LINES = st.sampled_from([
    "Title", "", "Body text.", f"  {B} Ann", f"    {B} Bob", f"      {B} Cy", "    Some text.",
    "      Reply text.", "        Deep text.", f"   {B} Odd", "\t" + f"{B} Tab", "Unindented line",
    "  ", "\u00a0", "{\"type\": \"article\"}", "{broken", "\x00", "\ufeff",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(VALID_LINES, max_size=30), st.binary(max_size=64), st.integers(0, 3))
def test_parser_raises_nothing_but_its_own_error(lines, noise, where):
    """Random and mutated dumps: parse, or say what is wrong; never crash."""
    text = "\n".join(lines).encode("utf-8")
    cut = len(text) * where // 3
    for data in (text, text[:cut] + noise + text[cut:]):
        try:
            thread = parse_dump(data, "fuzz.txt")
        except PipelineError as error:
            assert "\n" not in str(error) and str(error).startswith("fuzz.txt")
        else:
            ids = {c.id for c in thread.comments}
            assert all(c.parent_id is None or c.parent_id in ids for c in thread.comments)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.fixed_dictionaries({"type": st.just("comment"), "id": st.integers(0, 6),
                           "parent_id": st.one_of(st.none(), st.integers(0, 7)),
                           "text": st.text(max_size=20)}),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)), max_size=12))
def test_jsonl_parser_raises_nothing_but_its_own_error(rows):
    lines = [json.dumps({"type": "article", "title": "T", "body": "B"})] + [json.dumps(r) for r in rows]
    try:
        thread = parse_dump("\n".join(lines).encode(), "fuzz.jsonl")
    except PipelineError as error:
        assert str(error).startswith("fuzz.jsonl:")
    else:
        depth = {c.id: c.depth for c in thread.comments}
        assert all(c.parent_id is None or depth[c.parent_id] == c.depth - 1 for c in thread.comments)

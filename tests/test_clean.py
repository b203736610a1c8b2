import sys

import pytest

from pipeline.clean import clean_comments, clean_stream, normalise
from pipeline.records import Article, Comment

ARTICLE = Article(id="a", title="Council closes Elm Street",
                  paragraphs=("The council voted on Tuesday to close four blocks of Elm Street to cars.",
                              "Work starts in March."), source="x.txt")


def comment(text: str, author: str = "Ann", index: int = 0) -> Comment:
    return Comment(id=f"c{index}", parent_id=None, depth=0, author=author, text=text,
                   line=index + 1, position=index)


@pytest.fixture
def clean_one(nlp, config):
    def run(text: str, authors: tuple[str, ...] = ()):
        comments = [comment(text)] + [comment("x", a, i + 1) for i, a in enumerate(authors)]
        return clean_comments(comments, ARTICLE, config["clean"], nlp)[0]
    return run


def test_normalise_quotes_dashes_spaces_and_invisibles():
    raw = "\u201cHi\u201d \u2013 it\u2019s\u00a0fine\u2026  \u200bok\nnext\tline &amp; <b>bold</b>"
    assert normalise(raw) == "\"Hi\" - it's fine... ok\nnext line & bold"


def test_urls_and_mentions_are_pulled_out(clean_one):
    cleaned = clean_one("@Pave Way IV see https://example.org/a?b=1, and www.example.com. @bob",
                        authors=("Pave Way IV",))
    assert cleaned.urls == ("https://example.org/a?b=1", "www.example.com")
    assert cleaned.mentions == ("Pave Way IV", "bob")
    assert "http" not in cleaned.text and "@" not in cleaned.text
    assert cleaned.text == "see, and."


def test_masked_profanity_is_one_token(clean_one, nlp):
    cleaned = clean_one("What a load of s**t, f***ing hell.")
    assert cleaned.masked_words == ("s**t", "f***ing")
    tokens = [t.text for t in nlp("What a load of s**t, f***ing hell.")]
    assert "s**t" in tokens and "f***ing" in tokens and "*" not in tokens


def test_quoted_article_sentence_is_marked_and_removed(clean_one):
    cleaned = clean_one("\u201cThe council voted on Tuesday to close four blocks of Elm Street\u201d "
                        "- about time!")
    assert cleaned.article_quotes == ("The council voted on Tuesday to close four blocks of Elm Street",)
    assert cleaned.text == "about time!"


def test_pasted_article_sentence_without_quotes_is_marked(clean_one):
    cleaned = clean_one("The council voted on Tuesday to close four blocks of Elm Street to cars. Good.")
    assert len(cleaned.article_quotes) == 1 and cleaned.text == "Good."


def test_a_short_shared_phrase_is_not_a_quote(clean_one):
    assert clean_one("I walk on Elm Street to work every day.").article_quotes == ()


@pytest.mark.parametrize("text, flags", [
    ("", ("empty",)),
    ("   ", ("empty",)),
    ("Of course.", ("near_empty",)),
    ("\U0001F602\U0001F602", ("no_words", "near_empty")),
    ("https://example.org/x", ("link_only", "near_empty")),
    ("The council voted on Tuesday to close four blocks of Elm Street to cars.", ("quote_only", "near_empty")),
    ("A real comment with enough words.", ()),
])
def test_flags_and_nothing_dropped(clean_one, text, flags):
    assert clean_one(text).flags == flags


def test_one_clean_record_per_comment_with_counts(nlp, config, example_thread):
    cleaned = clean_comments(example_thread.comments, example_thread.article, config["clean"], nlp)
    assert [c.id for c in cleaned] == [c.id for c in example_thread.comments]
    first = cleaned[0]
    assert first.n_sentences == 3 and first.n_tokens > 20
    assert "terrify" in first.lemmas.split() or "terrifying" in first.lemmas.split()


def test_other_scripts_are_words_not_duplicates(nlp, config):
    texts = ["\u042d\u0442\u043e \u043e\u0447\u0435\u043d\u044c \u043f\u043b\u043e\u0445\u043e\u0439 "
             "\u043f\u043b\u0430\u043d \u0434\u043b\u044f \u0433\u043e\u0440\u043e\u0434\u0430",
             "\u8fd9\u662f \u4e00\u4e2a \u5f88\u597d\u7684 \u8ba1\u5212 \u6211\u4eec \u652f\u6301",
             "\u0391\u03c5\u03c4\u03cc \u03b5\u03af\u03bd\u03b1\u03b9 \u03ad\u03bd\u03b1 "
             "\u03ba\u03b1\u03bb\u03cc \u03c3\u03c7\u03ad\u03b4\u03b9\u03bf"]
    comments = [comment(t, f"a{i}", i) for i, t in enumerate(texts)]
    cleaned = clean_comments(comments, ARTICLE, config["clean"], nlp)
    assert [c.duplicate_of for c in cleaned] == [None, None, None]


@pytest.mark.parametrize("text, language, other", [
    # the team's own sentences (not evidence, fixtures): py3langid is sure of German and Chinese
    ("Das ist doch Unsinn, die Stadt sollte lieber Radwege bauen.", "de", True),
    ("\u6211\u89c9\u5f97\u8fd9\u6761\u65b0\u95fb\u5199\u5f97\u5f88\u597d\uff0c\u5927\u5bb6\u5e94\u8be5"
     "\u591a\u770b\u770b", "zh", True),  # no spaces: five characters of the script are enough text
    # unsure which (Indonesian or Malay), sure it is not English
    ("Saya sangat setuju dengan pendapat bapak tentang jalan baru ini, semoga cepat selesai", None, True),
    # short English that misleads the identifier: unsure, and not read as another language
    ("@bob @ann lol that is SO true #truth", None, False),
    ("Oh wow, LOL, brilliant.", None, False),
    # laughter and the like: one word said four times is not four words of a language
    ("Haha haha haha haha", None, False),
    ("Ha ha ha ha ha", None, False),
    ("Tsk tsk tsk tsk", None, False),
    ("Ho ho ho ho", None, False),
    ("Hahaha hahahaha hahahahaha hahahahahaha", None, False),  # one syllable, however long
    ("smh tbh idk lmao", None, False),  # net abbreviations: under five different words
    ("Quid pro quo, folks, quid pro quo again", None, False),  # Latin phrases in English
    ("asdf qwer zxcv uiop hjkl", None, False),  # no language (py3langid's zxx)
    ("aaaa bbbb cccc dddd eeee ffff", "zxx", False),
    # emoji and fullwidth letters are not Chinese, Japanese or Korean text
    ("\U0001F602\U0001F602\U0001F602\U0001F602\U0001F602 ok", None, False),
    ("A real comment with enough words.", "en", False),
])
def test_comments_not_in_english_are_flagged_where_the_language_is_unsure_too(clean_one, text, language, other):
    cleaned = clean_one(text)
    assert cleaned.language == language
    assert ("other_language" in cleaned.flags) == other


def test_clean_stream_is_lazy_and_matches_the_list(nlp, config):
    section = {**config["clean"], "batch_size": 4}  # zones of 4 * 16 comments
    comments = [comment(f"Comment number {i} says the street plan word{i} is fine.", f"u{i % 7}", i)
                for i in range(200)]
    pulled = []

    def source():
        for c in comments:
            pulled.append(c.id)
            yield c

    stream = clean_stream(source(), ARTICLE, section, nlp, (c.author for c in comments))
    first = next(stream)
    assert first.id == "c0" and len(pulled) <= 64  # one zone read, not the whole input
    rest = list(stream)
    assert [first, *rest] == clean_comments(comments, ARTICLE, section, nlp)


def test_clean_lets_the_spacy_vocabulary_grow_only_to_its_budget(nlp, config, monkeypatch):
    from pipeline import tokens

    def word(i: int) -> str:  # letters only, unseen by the model: zqab, zqac, ...
        return "zq" + "".join(chr(97 + int(d)) for d in f"{i:04d}")

    list(clean_stream(iter([comment("warm")]), ARTICLE, config["clean"], nlp, ["Ann"]))  # the base is set
    before = len(nlp.vocab.strings)
    # 100 more strings allowed; chunks of 4 x 16 comments (192 new words each) are read outside a zone
    # until the vocabulary has grown past the budget, inside zones after
    monkeypatch.setattr(tokens, "VOCABULARY_GROWTH", before - nlp._clean_vocabulary_base + 100)
    comments = [comment(f"{word(3 * i)} {word(3 * i + 1)} {word(3 * i + 2)} are new words", index=i)
                for i in range(300)]
    cleaned = list(clean_stream(iter(comments), ARTICLE, {**config["clean"], "batch_size": 4}, nlp, ["Ann"]))
    assert word(897) in cleaned[-1].lemmas and word(0) in cleaned[0].lemmas
    assert 100 <= len(nlp.vocab.strings) - before < 300  # the first chunk's words stay, not all 900
    assert word(0) in nlp.vocab.strings and word(897) not in nlp.vocab.strings


def test_lookup_lemmas_read_once_per_word_are_the_lemmatizers(nlp, config):
    """LookupWords skips the lemmatizer and lowercase_lookup components: the same words and
    lemmas as the tokens those components lemmatize (capitals, stop words, masked words)."""
    from pipeline.tokens import LookupWords, words_and_lemmas

    texts = ["Cars VOTED for the Numbers, and f**k the s*d rules!", "The the THE were Running ran runs",
             "Voters' cars aren't ours: 3 dogs, 2 ca-ts & an e-mail http x@y.z"]
    words = LookupWords.of(nlp)
    assert words is not None
    for text in texts:
        assert words.read(nlp(text)) == words_and_lemmas(nlp(text))
    assert words.read(nlp(texts[0]))[1].split()[:2] == ["car", "vote"]


def test_author_names_that_differ_only_in_case_resolve_alike_in_any_order():
    from pipeline.clean import AuthorNames

    forward, backward = AuthorNames(["Lena", "lena", "Bo"]), AuthorNames(["Bo", "lena", "Lena"])
    assert forward.strip_mentions("hi @lena and @BO")[1] == backward.strip_mentions("hi @lena and @BO")[1]
    assert forward.named_at_start("LENA, no.") == backward.named_at_start("LENA, no.")


def calls_made(function, *args) -> int:
    """How many Python and built-in functions `function(*args)` calls: the work
    done, counted rather than timed."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    sys.setprofile(count)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return calls


def test_finding_mentions_grows_with_the_text_not_with_the_author_names():
    """A comment full of '@' once cost (number of '@') x (distinct name lengths)."""
    from pipeline.clean import AuthorNames

    def names(n: int) -> AuthorNames:  # n names of n different lengths
        return AuthorNames(["user", "Lena"] + [f"user {'x' * k}" for k in range(1, n)])

    def text(n_at: int) -> str:
        return "@ @us @user xxy @Lena. " * (n_at // 4)

    few, many = names(50), names(800)
    base = calls_made(few.strip_mentions, text(800))
    assert calls_made(many.strip_mentions, text(800)) < 1.5 * base  # 16 times the names
    assert calls_made(few.strip_mentions, text(3200)) < 4.4 * base  # 4 times the text
    assert many.strip_mentions(text(8))[1] == ["user", "Lena", "us"]  # 'user xxy' is no name


def test_lookup_lemmatizer_runs_no_tagger_and_rule_mode_keeps_the_tagger(nlp, config):
    """clean.lemmatizer: lookup (the default) lemmatizes from spaCy's table with
    no tagger; rule runs the tagger and POS rules. Tokens and sentences are the
    same either way: only the lemmas column depends on it."""
    from pipeline.tokens import load_nlp

    assert config["clean"]["lemmatizer"] == "lookup"
    assert "tagger" not in nlp.pipe_names and "tok2vec" not in nlp.pipe_names
    rule = load_nlp(config["clean"]["spacy_model"], "rule")
    assert "tagger" in rule.pipe_names
    text = "The cars were parked on the ground. A number of riders said so! Cars VOTED"
    fast, tagged = nlp(text), rule(text)
    assert [t.text for t in fast] == [t.text for t in tagged]
    assert len(list(fast.sents)) == len(list(tagged.sents)) == 3
    lookup = {t.text: t.lemma_ for t in fast}
    pos_aware = {t.text: t.lemma_ for t in tagged}
    assert lookup["cars"] == pos_aware["cars"] == "car" and lookup["said"] == pos_aware["said"] == "say"
    assert lookup["Cars"] == "car" and lookup["VOTED"] == "vote"  # capitals: their lower case's lemma
    assert pos_aware["number"] == "number" and pos_aware["ground"] == "ground"  # nouns, by their POS
    assert lookup["number"] == "numb" and lookup["ground"] == "grind"  # the table's one reading


def test_a_wrong_lemmatizer_is_a_config_error():
    from pipeline.config import load_config
    from pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match="clean.lemmatizer"):
        load_config(None, ["clean.lemmatizer=tagger"])


def test_a_replys_quoted_lines_are_quotes_of_the_parent(nlp, config):
    """Reddit's `> ` lines (and Disqus's <blockquote>, read as `> `) quote the
    comment answered: out of the clean text, kept in parent_quotes."""
    parent = comment("Bikes are faster than buses downtown.")
    reply = Comment(id="c1", parent_id="c0", depth=1, author="Bo", line=2, position=1,
                    text="> Bikes are faster than buses downtown.\n\nNot in winter.")
    quote_only = Comment(id="c2", parent_id="c0", depth=1, author="Cy", line=3, position=2,
                         text="> Bikes are faster")
    top = comment("> not a reply, so not a parent quote", index=3)
    _, cleaned, only, kept = clean_comments([parent, reply, quote_only, top], ARTICLE, config["clean"], nlp)
    assert cleaned.parent_quotes == ("Bikes are faster than buses downtown.",)
    assert cleaned.text == "Not in winter."
    assert only.text == "" and "quote_only" in only.flags
    assert kept.parent_quotes == () and "not a reply" in kept.text


def test_batches_of_two_threads_with_one_article_id_are_cleaned_with_their_own_authors(nlp, config):
    """clean_batch keeps a thread's cleaner for its next batch; two threads whose
    articles share an id (two saves of one page) but not their authors do not share it."""
    from pipeline.clean import clean_batch, cleaner_key

    section = config["clean"]
    text = [comment("@Bob Smith you are right about the lanes", "Zed")]
    found = []
    for authors in (("Alice Jones",), ("Bob Smith",), ("Alice Jones",)):
        context = (cleaner_key(ARTICLE, authors, section), ARTICLE, authors, section)
        found.append(clean_batch(nlp, context, text)[0].mentions)
    assert found == [("Bob",), ("Bob Smith",), ("Bob",)]

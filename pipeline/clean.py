"""Clean: normalise comment text for the stages that read it.

The raw text stays on the Comment; this stage returns a CleanComment per
comment with the normalised text and what was pulled out of it (URLs,
@mentions, sentences quoted from the article), masked profanity kept as one
token, and flags for comments with little or no text. No comment is dropped.
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import replace
from itertools import islice
from collections.abc import Iterable, Iterator, Sequence

from pipeline.records import Article, CleanComment, Comment
from pipeline.tokens import LOOKUP_PIPES, LookupWords, vocabulary_budget, words_and_lemmas

# characters that show nothing but can change what a reader sees: zero-width
# ones, and the bidirectional marks, embeddings, overrides and isolates that
# reorder the text around them (Trojan Source, CVE-2021-42574)
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
BIDI_CONTROLS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
INVISIBLE = ZERO_WIDTH + BIDI_CONTROLS
_DROP_INVISIBLE = str.maketrans(dict.fromkeys(INVISIBLE))
CHAR_MAP = str.maketrans({
    **dict.fromkeys(INVISIBLE),
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2033": '"', "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u2039": "'", "\u203a": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
    "\u2014": "-", "\u2015": "-", "\u2212": "-",
})
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)
SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?])(?=\s|$)")
MENTION = re.compile(r"(?<![\w@])@([\w][\w.\-]*)")
AT_SIGN = re.compile(r"(?<![\w@])@")
ADDRESS_END = re.compile(r"\s*[,:]")
MASKED_IN_TEXT = re.compile(r"(?<![\w*])(?:[A-Za-z]+\*+[A-Za-z]+|[A-Za-z]\*{2,})(?![\w*])")
FORMAT_TAG = re.compile(r"</?(?:b|i|u|em|strong|span|div|p|br|blockquote)\b[^>]*>", re.IGNORECASE)
QUOTED = re.compile(r'"([^"]+)"|\'([^\']{20,})\'')
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
WORD = re.compile(r"[^\W_]+")  # letters and digits of any script
SHINGLE = 4
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # Unicode's Cc (C0, DEL, C1) but tab and newline
ZONE_BATCHES = 16  # spaCy batches cleaned per chunk (tokens.vocabulary_budget: a memory zone or not)


def normalise(text: str) -> str:
    """Unicode NFKC, plain quotes and dashes, no invisible characters (INVISIBLE),
    HTML entities and formatting tags resolved, whitespace collapsed within
    paragraphs; paragraph breaks become one newline."""
    text = html.unescape(FORMAT_TAG.sub(" ", text))
    text = unicodedata.normalize("NFKC", text).translate(CHAR_MAP)
    text = CONTROL.sub("", text)
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text))
    return "\n".join(p for p in paragraphs if p)


def author_key(author: str) -> str:
    """Who wrote a comment, for counting and linking authors: the name as
    written but without invisible characters, so 'Lena' and 'Le\u200bna' (or
    one wrapped in a right-to-left override) are one author. Artifacts keep
    the name as written."""
    return author.translate(_DROP_INVISIBLE)


def _strip_urls(text: str) -> tuple[str, list[str]]:
    return URL.sub(" ", text), URL.findall(text)


class AuthorNames:
    """The thread's author names, found where a comment @mentions them or
    opens by addressing them. Names hold spaces ('@Pave Way IV') and
    typographic quotes (O’Neil, written O'Neil once the text is normalised),
    and a big thread has tens of thousands of authors, so a name is looked up
    by walking the text from the '@' through the sorted names that start as it
    does, one character at a time: the work per '@' is the length of what
    matches there, whatever the number and lengths of the names (trying every
    name length at every '@' made a comment full of '@' quadratic)."""

    def __init__(self, authors: Iterable[str]) -> None:
        by_key: dict[str, str] = {}
        for author in authors:
            key = _fold(normalise(author))
            if key:  # names equal but for case or quotes: the same one whatever the order
                by_key[key] = min(by_key.get(key, author), author)
        self._keys = sorted(by_key)
        self._authors = [by_key[key] for key in self._keys]

    def _name_at(self, text: str, start: int,
                 then: re.Pattern | None = None) -> tuple[str, int] | None:
        """The longest author name written at `start` and ending at a word
        boundary (and followed by `then`, if given): (author, end)."""
        keys, low, high, depth = self._keys, 0, len(self._keys), 0

        def char_at_depth(key: str) -> str:  # "" sorts first: the name that ends here
            return key[depth:depth + 1]

        found = None
        for end in range(start + 1, len(text) + 1):
            for char in _fold(text[end - 1]):
                if high - low == 1:  # one name left: compare with it directly
                    if not keys[low].startswith(char, depth):
                        return found
                else:
                    low = bisect_left(keys, char, low, high, key=char_at_depth)
                    high = bisect_right(keys, char, low, high, key=char_at_depth)
                    if low == high:  # no name goes on as the text does
                        return found
                depth += 1
            if (len(keys[low]) == depth and (end == len(text) or not _is_word_char(text[end]))
                    and (then is None or then.match(text, end))):
                found = self._authors[low], end
        return found

    def strip_mentions(self, text: str) -> tuple[str, list[str]]:
        """Pull out @mentions: thread authors first, then single @words."""
        found: list[str] = []
        pieces: list[str] = []
        kept_from = 0
        for at in AT_SIGN.finditer(text):
            start = at.end()
            if start < kept_from:
                continue
            named = self._name_at(text, start)
            if named is not None:
                found.append(named[0])
                pieces.append(text[kept_from:at.start()] + " ")
                kept_from = named[1]
        text = "".join(pieces) + text[kept_from:]
        found.extend(MENTION.findall(text))
        return MENTION.sub(" ", text), list(dict.fromkeys(found))

    def named_at_start(self, text: str) -> str | None:
        """An author addressed by name at the start: 'Lena, you'll see.'"""
        named = self._name_at(normalise(text), 0, then=ADDRESS_END)
        return named[0] if named else None


def _fold(text: str) -> str:
    """Lower case, a character at a time, so that a name and the text it is
    found in fold alike whatever surrounds them."""
    return "".join(char.lower() for char in text)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def _shingles(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def article_shingles(article: Article) -> set[tuple[str, ...]]:
    return _shingles(_words(normalise(f"{article.title}\n{article.body}")))


def _is_article_quote(span: str, shingles: set[tuple[str, ...]], min_words: int) -> bool:
    words = _words(span)
    if len(words) < max(min_words, SHINGLE) or not shingles:
        return False
    own = _shingles(words)
    return len(own & shingles) / len(own) >= 0.8


def _strip_article_quotes(text: str, shingles: set[tuple[str, ...]],
                          min_words: int) -> tuple[str, list[str]]:
    """Remove spans copied from the article: quoted ones first, then whole
    sentences pasted without quote marks."""
    quotes: list[str] = []

    def drop(match: re.Match) -> str:
        span = match.group(1) or match.group(2)
        if _is_article_quote(span, shingles, min_words):
            quotes.append(span.strip())
            return " "
        return match.group(0)

    text = QUOTED.sub(drop, text)
    kept_lines = []
    for line in text.split("\n"):
        sentences = []
        for sentence in SENTENCE_END.split(line):
            if _is_article_quote(sentence, shingles, min_words):
                quotes.append(sentence.strip())
            else:
                sentences.append(sentence)
        kept_lines.append(" ".join(sentences))
    return "\n".join(kept_lines), quotes


_LANGUAGE_ID = None


LANGUAGE_ID_CHARS = 2000  # what py3langid reads of a text (its time grows with the length)


NOT_ENGLISH_BELOW = 0.01  # P(English) under which a text is read as not English (other_language) ...
NOT_ENGLISH_TOP = 0.5     # ... where one other language has at least this (py3langid, normalised),
NOT_ENGLISH_WORDS = 5     # ... in a text of at least this many different words (or five CJK characters)
NOT_A_LANGUAGE = {"en", "zxx"}  # zxx: py3langid's "no linguistic content" (keyboard mashes, "aaaa bbbb")
# a short English text py3langid reads as Latin ("quid pro quo") is not a Latin comment: the
# second reading, which works where py3langid is unsure, does not count Latin
ENGLISH_LOOKALIKES = {"la"}
_REPEATS = re.compile(r"(\w{1,3}?)\1+")
_NOT_LANGUAGE = re.compile(r"[@#]\S+|https?://\S+|www\.\S+")  # mentions, tags and links: no language
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")  # kana, CJK, Hangul


def _identifier():
    global _LANGUAGE_ID
    if _LANGUAGE_ID is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _LANGUAGE_ID = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _LANGUAGE_ID


def read_language(text: str, min_words: int = 4, min_probability: float = 0.9) -> tuple[str | None, bool]:
    """(ISO 639-1 code of the text's language, or None when too short or unsure; whether it is
    read as not English: flag other_language, and no stance, which reads English only).

    The code: py3langid's answer where it is at least min_probability sure (short comments
    mislead every identifier), on texts of min_words words or five Chinese, Japanese or Korean
    characters (written without spaces). It reads the first LANGUAGE_ID_CHARS characters: on
    the bench's 2,112 long posts, 5,000 comments, the real dump and 2,280 comments of the
    format samples every answer is the whole text's (at 1,000 one of the samples' changed), in
    1.3 s instead of 2.2 s on the long posts.

    Not English: the code is known and not `en` (nor `zxx`, no language); or, where it is not
    known, the text with @mentions, #tags and links taken out holds NOT_ENGLISH_WORDS different
    words (or five CJK characters: "ha ha ha ha" and "hahaha hahahaha" are one word) and
    py3langid gives English under NOT_ENGLISH_BELOW and one other language, not Latin, at least
    NOT_ENGLISH_TOP. The second reading finds what the first leaves unsure, such as Indonesian read as half Malay
    (docs/bench_runs/2026-12-07-other-language.txt counts both readings on the format samples
    and on English threads)."""
    head, ranked = text[:LANGUAGE_ID_CHARS], None
    if len(text.split()) >= min_words or len(_UNSPACED.findall(text)) >= 5:
        ranked = _identifier().rank(head)
        code, probability = ranked[0]
        if probability >= min_probability:
            return code, code not in NOT_A_LANGUAGE
    bare = _NOT_LANGUAGE.sub(" ", head)
    if len(_distinct_words(bare)) < NOT_ENGLISH_WORDS and len(_UNSPACED.findall(bare)) < 5:
        return None, False
    if ranked is None or bare != head:  # one ranking serves both readings where nothing was taken out
        ranked = _identifier().rank(bare)
    best, probability = ranked[0]
    english = next((p for code, p in ranked if code == "en"), 0.0)
    return None, (best not in NOT_A_LANGUAGE and best not in ENGLISH_LOOKALIKES and probability >= NOT_ENGLISH_TOP
                  and english < NOT_ENGLISH_BELOW)


def _distinct_words(text: str) -> set[str]:
    """The text's different words, case folded, a repeated syllable counted once ("hahaha" and
    "hahahahaha" are one word, "ha")."""
    return {_REPEATS.sub(r"\1", w.casefold()) for w in text.split()}


def identify_language(text: str, min_words: int = 4, min_probability: float = 0.9) -> str | None:
    """The language code alone (read_language)."""
    return read_language(text, min_words, min_probability)[0]


def _duplicate_key(text: str) -> str:
    return " ".join(_words(text))


def _strip_parent_quotes(text: str) -> tuple[str, list[str]]:
    """A reply's `> ` lines quote the comment it answers (Reddit's markdown,
    Disqus's <blockquote>): taken out of what topics and stance read."""
    kept, quotes = [], []
    for line in text.split("\n"):
        if line.lstrip().startswith(">"):
            quote = line.lstrip().lstrip(">").strip()
            if quote:
                quotes.append(quote)
        else:
            kept.append(line)
    return "\n".join(kept), quotes


def _pre_clean(comment: Comment, authors: AuthorNames,
               shingles: set[tuple[str, ...]], min_words: int) -> dict:
    text = normalise(comment.text)
    text, parent_quotes = _strip_parent_quotes(text) if comment.parent_id else (text, [])
    text, urls = _strip_urls(text)
    text, mentions = authors.strip_mentions(text)
    text, quotes = _strip_article_quotes(text, shingles, min_words)
    # what is left around a removed span: "<quote> - well said" reads "well said"
    text = "\n".join(SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(line.split())).lstrip("-:;,. ")
                     for line in text.split("\n"))
    text = "\n".join(line for line in text.split("\n") if line)
    return {"text": text, "urls": tuple(urls), "mentions": tuple(mentions),
            "article_quotes": tuple(quotes), "parent_quotes": tuple(parent_quotes),
            "masked_words": tuple(MASKED_IN_TEXT.findall(text))}


def _flags(raw: str, fields: dict, n_words: int, near_empty_tokens: int,
           other_language: bool, long: bool) -> tuple[str, ...]:
    if not raw.strip():
        return ("empty",)
    flags = []
    if not fields["text"]:
        if fields["article_quotes"] or fields["parent_quotes"]:
            flags.append("quote_only")
        elif fields["urls"]:
            flags.append("link_only")
        else:
            flags.append("no_words")
    elif n_words == 0:
        flags.append("no_words")
    if n_words < near_empty_tokens:
        flags.append("near_empty")
    if other_language:
        flags.append("other_language")
    if long:
        flags.append("long")
    return tuple(flags)


def clean_comments(comments: Sequence[Comment], article: Article, config: dict,
                   nlp) -> list[CleanComment]:
    """One CleanComment per comment, in the same order."""
    return list(clean_stream(comments, article, config, nlp, (c.author for c in comments)))


def clean_stream(comments: Iterable[Comment], article: Article, config: dict, nlp,
                 authors: Iterable[str]) -> Iterator[CleanComment]:
    """Clean comments as they come: one CleanComment per comment, in order.
    `authors` are the thread's author names (for @mentions), known before the
    comments are read. What is kept between comments is a hash per distinct
    comment text (for duplicates), so memory does not grow with the text."""
    cleaner = ChunkCleaner(article, authors, config, nlp)
    duplicates = Duplicates()
    chunk = config["batch_size"] * ZONE_BATCHES
    iterator = iter(comments)
    while batch := list(islice(iterator, chunk)):
        yield from duplicates.mark(cleaner(batch))


_cleaner: dict = {}  # the last thread's ChunkCleaner in this process, by (context key, pipeline)


def clean_batch(nlp, context: tuple, comments: Sequence[Comment]) -> list[CleanComment]:
    """The executor's per-batch function for clean: `context` is (a key of what
    follows: cleaner_key, the article, its authors' names, the clean section). Pure
    but for the ChunkCleaner kept for the thread's next batch."""
    key, article, authors, section = context
    if _cleaner.get("key") != (key, id(nlp)):
        _cleaner.clear()
        _cleaner.update(key=(key, id(nlp)), cleaner=ChunkCleaner(article, authors, section, nlp))
    return _cleaner["cleaner"](comments)


def cleaner_key(article: Article, authors: Sequence[str], section: dict) -> str:
    """What a ChunkCleaner is built from, as one hash: two threads that share an
    article id but not their authors or text never share a cleaner."""
    digest = hashlib.sha256(repr((article.title, article.paragraphs, sorted(section.items()))).encode("utf-8"))
    for author in authors:
        digest.update(b"\0" + author.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class ChunkCleaner:
    """Cleans a list of one thread's comments, each on its own: everything
    but the duplicate marks, which depend on the comments before (Duplicates).
    Chunks can therefore be cleaned in any order, or on other machines."""

    def __init__(self, article: Article, authors: Iterable[str], config: dict, nlp) -> None:
        self.names = AuthorNames(authors)
        self.shingles = article_shingles(article)
        self.config = config
        self.nlp = nlp
        self.words = LookupWords.of(nlp)

    def __call__(self, comments: Sequence[Comment]) -> list[CleanComment]:
        config, limit = self.config, self.config["max_chars"]
        fields = [_pre_clean(c, self.names, self.shingles, config["quote_min_words"]) for c in comments]
        cleaned = []
        with vocabulary_budget(self.nlp):
            # spaCy sees at most max_chars of a comment: a 100,000-word post would
            # otherwise hold the whole batch up; the full text is kept all the same
            docs = self.nlp.pipe((f["text"][:limit] for f in fields), batch_size=config["batch_size"],
                                 disable=LOOKUP_PIPES if self.words else [])
            for comment, field_set, doc in zip(comments, fields, docs):
                n_words, lemmas = self.words.read(doc) if self.words else words_and_lemmas(doc)
                language, other = read_language(field_set["text"][:limit])
                cleaned.append(CleanComment(
                    id=comment.id, **field_set, language=language,
                    flags=_flags(comment.text, field_set, n_words, config["near_empty_tokens"],
                                 other, len(field_set["text"]) > limit),
                    n_tokens=len(doc), n_sentences=sum(1 for _ in doc.sents) if len(doc) else 0,
                    lemmas=lemmas))
        return cleaned


class Duplicates:
    """Marks a comment whose words repeat an earlier substantive comment's
    (flag `duplicate`, `duplicate_of` the first). Keeps a 16-byte hash per
    distinct text; comments must come in thread order."""

    def __init__(self) -> None:
        self.first_seen: dict[bytes, str] = {}

    def mark(self, cleaned: Iterable[CleanComment]) -> Iterator[CleanComment]:
        for clean in cleaned:
            if {"empty", "near_empty"} & set(clean.flags):
                yield clean
                continue
            key = hashlib.blake2b(_duplicate_key(clean.text).encode("utf-8"), digest_size=16).digest()
            first = self.first_seen.setdefault(key, clean.id)
            if first == clean.id:
                yield clean
                continue
            flags = [f for f in clean.flags if f != "long"] + ["duplicate"] + \
                ["long" for f in clean.flags if f == "long"]
            yield replace(clean, duplicate_of=first, flags=tuple(flags))

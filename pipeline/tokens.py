"""spaCy for clean: the pipeline it loads (tokens, sentences, lemmas), how much that
pipeline's vocabulary may grow, and each token's words and lemmas (clean.py reads
comments through these).
"""
from __future__ import annotations

import re
from functools import lru_cache

MASKED = re.compile(r"[A-Za-z]+\*+[A-Za-z]+|[A-Za-z]\*{2,}")  # masked profanity (f**k, s*d): one token


TAGGING = ["tok2vec", "tagger", "attribute_ruler", "lemmatizer"]
LOWERCASE_LOOKUP = "lowercase_lemma_lookup"


def _register_lowercase_lookup() -> None:
    """A component after spaCy's lookup lemmatizer: its table is keyed by the
    word as written, so 'Cars' or 'VOTED' at the start of a sentence or in
    capitals kept their own form; such a word takes its lower case's lemma."""
    from spacy.language import Language

    if Language.has_factory(LOWERCASE_LOOKUP):
        return

    @Language.factory(LOWERCASE_LOOKUP)
    def make(nlp, name):
        table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")

        def lowercase_lookup(doc):
            for token in doc:
                if token.lemma_ == token.text and token.lower_ != token.text:
                    token.lemma_ = table.get(token.lower_, token.lower_)
            return doc

        return lowercase_lookup


def load_nlp(name: str, lemmatizer: str = "lookup"):
    """A spaCy pipeline trimmed to what clean's columns need: tokens, the
    statistical sentence splitter (its own small network; no parser, no NER)
    and lemmas. `lookup` lemmatizes from spaCy's English table
    (spacy-lookups-data) and so runs no tagger: on long posts the tagger's
    tok2vec is 90% of clean's time, and its lemmas are the only column that
    needs it. `rule` runs the tagger and spaCy's POS-aware rules (better
    lemmas for words like 'number' or 'ground', which the table reads as
    'numb', 'grind'; 15 to 17 times the time)."""
    import spacy

    from pipeline.errors import PipelineError

    if lemmatizer == "rule":
        nlp = spacy.load(name, exclude=["ner", "parser"])
    else:
        nlp = spacy.load(name, exclude=["ner", "parser", *TAGGING])
        try:
            nlp.add_pipe("lemmatizer", config={"mode": "lookup"}).initialize()
        except ValueError as error:  # [E1004]: no lookup tables installed
            raise PipelineError(f"clean.lemmatizer lookup needs spaCy's lookup tables ({error})",
                                path="clean.lemmatizer",
                                hint="pip install spacy-lookups-data, or set clean.lemmatizer: rule") from None
        _register_lowercase_lookup()
        nlp.add_pipe(LOWERCASE_LOOKUP, after="lemmatizer")
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    elif "senter" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", before="lemmatizer" if "lemmatizer" in nlp.pipe_names else None)
    # masked profanity (f**k, s*d) is one token, not letters and asterisks
    nlp.tokenizer.token_match = MASKED.fullmatch
    return nlp


@lru_cache(maxsize=2)
def worker_nlp(name: str, lemmatizer: str = "lookup"):
    """load_nlp once per process: the run's own, and each executor worker's
    (the executor's setup for clean_batch)."""
    from pipeline.errors import PipelineError

    try:
        return load_nlp(name, lemmatizer)
    except OSError:
        package = name.replace("_", "-")
        raise PipelineError(f"spaCy pipeline '{name}' is not installed", path="clean.spacy_model",
                            hint=f"pip install {package}, or run make pipeline") from None


VOCABULARY_GROWTH = 250_000  # strings spaCy may add to its vocabulary (about 110 MB) before zones


def vocabulary_budget(nlp):
    """Where a chunk is read: outside a spaCy memory zone while the pipeline's
    vocabulary has grown by fewer than VOCABULARY_GROWTH strings since clean first
    used it (so at most that plus one chunk's new words), inside one after. Inside a
    zone the strings a chunk adds are freed when
    it closes, so the vocabulary stops growing with the corpus; but there spaCy's
    tokenizer caches no word at all, and splits every token's affixes anew (long
    posts: 5.1 s to tokenize inside zones, 1.8 s outside). The same tokens either
    way."""
    from contextlib import nullcontext

    strings = len(nlp.vocab.strings)
    base = getattr(nlp, "_clean_vocabulary_base", None)
    if base is None:
        base = nlp._clean_vocabulary_base = strings
    return nlp.memory_zone() if strings - base >= VOCABULARY_GROWTH else nullcontext()


def _is_word(token_text: str, is_alpha: bool) -> bool:
    return is_alpha or bool(MASKED.fullmatch(token_text))


def words_and_lemmas(doc) -> tuple[int, str]:
    """(words, the lower-cased lemmas of those not stop words) from the tokens' own lemmas."""
    words = [t for t in doc if _is_word(t.text, t.is_alpha)]
    return len(words), " ".join(t.lemma_.lower() for t in words if not t.is_stop)


LOOKUP_PIPES = ["lemmatizer", LOWERCASE_LOOKUP]


class LookupWords:
    """What the lookup lemmatizer and lowercase_lookup give a token depends on its text
    alone: so with `clean.lemmatizer: lookup` the two components are skipped and each
    distinct word is read once (is it a word, a stop word, its lower-cased lemma by the
    same table and the same lower-case rule), kept by its orth id (a hash of the text,
    the same in every memory zone; at most MAX words, then forgotten). The same columns
    as the components give (tests/test_clean.py), without a pass in Python over every
    token for each of them (clean of the bench's 2,112 long posts 11.3 s -> 10.1 s)."""

    MAX = 200_000

    def __init__(self, vocab, table) -> None:
        self.vocab, self.table, self.known = vocab, table, {}

    @classmethod
    def of(cls, nlp) -> "LookupWords | None":
        """The pipeline's own (kept on it, so a folder's threads share what was read)."""
        if LOWERCASE_LOOKUP not in nlp.pipe_names:  # rule: the tagger's lemmas, read from the tokens
            return None
        if getattr(nlp, "_clean_lookup_words", None) is None:
            nlp._clean_lookup_words = cls(nlp.vocab, nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup"))
        return nlp._clean_lookup_words

    def _entry(self, orth: int) -> tuple[bool, str | None]:
        text = self.vocab.strings[orth]
        lexeme = self.vocab[text]
        if not _is_word(text, lexeme.is_alpha):
            return False, None
        if lexeme.is_stop:
            return True, None
        lemma = self.table.get(text, text)
        if lemma == text and lexeme.lower_ != text:
            lemma = self.table.get(lexeme.lower_, lexeme.lower_)
        return True, lemma.lower()

    def read(self, doc) -> tuple[int, str]:
        from spacy.attrs import ORTH

        known, words, lemmas = self.known, 0, []
        for orth in doc.to_array(ORTH).tolist():
            entry = known.get(orth)
            if entry is None:
                if len(known) >= self.MAX:
                    known.clear()
                entry = known[orth] = self._entry(orth)
            if entry[0]:
                words += 1
                if entry[1] is not None:
                    lemmas.append(entry[1])
        return words, " ".join(lemmas)

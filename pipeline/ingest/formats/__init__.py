"""The readers of the thread exports people already have, and how one is
chosen: by the file's content (never its name), or by name (`--format`).

Each reader is a `Format` (formats/_base.py): name, what it reads, how to
collect it, `sniff`, `read`. The project's own shapes, `jsonl` and `text`,
are chosen here too, and are read by ingest/jsonl.py and ingest/text.py.
"""
from __future__ import annotations

from pipeline.errors import PipelineError
from pipeline.ingest.formats import disqus, hackernews, reddit, social, table, wordpress, youtube
from pipeline.ingest.formats._base import Format, Parsed, Sample, build

PLATFORM_FORMATS: tuple[Format, ...] = (*reddit.FORMATS, *disqus.FORMATS, *youtube.FORMATS,
                                        *hackernews.FORMATS, *wordpress.FORMATS, *social.FORMATS)
OWN_FORMATS = {
    "jsonl": ("the project's JSONL: an article line, then one comment per line (docs/dump-format.md)",
              "write it from your own data: {\"type\": \"article\", ...} then {\"type\": \"comment\", ...}"),
    "text": ("the project's text dump: title, body, then '\u2022 author' comment headers indented by depth",
             "save the article page with its comments as text"),
}
TABLE = table.FORMATS[0]
BY_NAME = {f.name: f for f in (*PLATFORM_FORMATS, TABLE)}
NAMES = (*BY_NAME, *OWN_FORMATS)

__all__ = ["BY_NAME", "NAMES", "Parsed", "Sample", "build", "choose", "listing", "read"]


def listing() -> list[tuple[str, str, str]]:
    """(name, what it reads, how to collect it) of every format, for `comment-pipeline formats`."""
    rows = [(f.name, f.description, f.collect) for f in (*PLATFORM_FORMATS, TABLE)]
    rows += [(name, *about) for name, about in OWN_FORMATS.items()]
    return rows


def check_name(name: str) -> None:
    if name not in NAMES and name not in ("", "auto"):
        import difflib
        close = difflib.get_close_matches(name, NAMES, n=1)
        raise PipelineError(f"unknown format {name!r}", path="ingest.format",
                            hint=(f"did you mean '{close[0]}'? " if close else "")
                            + "comment-pipeline formats lists them")


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line.strip().lstrip("\ufeff")
    return ""


def choose(head: str, whole, source: str) -> str:
    """The format's name, from the file's first characters (`head`) and, where
    they point to JSON or XML, the whole text (`whole()`, a Sample). A file
    that is JSON or XML of no known shape is an error naming what was tried."""
    first = _first_line(head)
    if not first.startswith(("{", "[", "<")):
        return "csv" if TABLE.sniff(Sample(head, source)) else "text"
    if first.startswith("{"):
        sample_line = Sample(first, source).first_object
        if sample_line is not None and sample_line.get("type") in ("article", "comment"):
            return "jsonl"
    sample = whole()
    for candidate in PLATFORM_FORMATS:
        if candidate.sniff(sample):
            return candidate.name
    if first.startswith('{"') and sample.document is None and sample.first_object is None:
        return "jsonl"  # a JSONL dump whose first line is broken: its reader says where
    if first.startswith("{") and not first.startswith('{"') and sample.document is None:
        return "text"  # a title may start with a brace
    shape = "XML" if first.startswith("<") else "JSON"
    raise PipelineError(f"{shape} of no shape this pipeline reads (tried: {', '.join(NAMES)})",
                        path=source, line=1,
                        hint="give --format NAME if it is one of them (comment-pipeline formats "
                             "lists what each reads), or convert it to the JSONL dump (docs/dump-format.md)")


_LAST: dict = {}


def read(name: str, sample: Sample, forced: bool) -> list[Parsed]:
    """The threads in a file of a platform format (or CSV). A forced format
    the content does not fit is an error; so is anything the reader did not
    expect. The last file's threads are kept, as a run reads one file once
    per thread."""
    reader = BY_NAME[name]
    key = (name, sample.source, sample.text, str(sample.options))
    if _LAST.get("key") == key:
        return _LAST["threads"]
    if forced and not reader.sniff(sample):
        raise PipelineError(f"this is not {name} ({reader.description})", path=sample.source,
                            hint=f"leave --format out to have the format found, or check the file is "
                                 f"what {reader.collect.split(';')[0]} writes")
    try:
        threads = reader.read(sample)
    except PipelineError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as error:
        raise PipelineError(f"does not fit the {name} schema ({type(error).__name__}: {error})",
                            path=sample.source,
                            hint=f"give the file as {reader.collect.split(';')[0]} writes it, unchanged") from None
    _LAST.clear()
    _LAST.update(key=key, threads=threads)
    return threads

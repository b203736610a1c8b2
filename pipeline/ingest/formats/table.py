"""CSV and TSV: a header row naming the columns `id`, `parent_id`, `author`,
`text` and optionally `created_at` (in any order and case; other columns are
ignored), then one comment per row. An empty parent_id is top level. The
file is one thread; its name is the article's title.
"""
from __future__ import annotations

import csv
import difflib
import io
import re

from pipeline.ingest.common import article_id_for
from pipeline.ingest.formats._base import Format, Parsed, Post, Sample, make_article, name_of, schema_error

REQUIRED = ("id", "parent_id", "author", "text")
OPTIONAL = ("created_at",)
FIX = "the first row names the columns: id, parent_id, author, text[, created_at]"
FIELD_NAME = re.compile(r'^\s*"?[A-Za-z_][\w .-]{0,40}"?\s*$')


def _header(sample: Sample) -> tuple[str, list[str]] | None:
    first = sample.text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    delimiter = "\t" if first.count("\t") >= first.count(",") else ","
    names = first.split(delimiter)
    if len(names) < 3 or not all(FIELD_NAME.match(name) and " " not in name.strip().strip('"')
                                 for name in names):
        return None
    return delimiter, [name.strip().strip('"') for name in names]


def _sniff(sample: Sample) -> bool:
    return _header(sample) is not None


def _read(sample: Sample) -> list[Parsed]:
    found = _header(sample)
    if found is None:
        raise schema_error(sample, "", "the first row is not a header of column names", FIX, line=1)
    delimiter, names = found
    lower = {name.lower(): index for index, name in enumerate(names)}
    for wanted in REQUIRED:
        if wanted not in lower:
            close = difflib.get_close_matches(wanted, list(lower), n=1, cutoff=0.5)
            hint = f"did you mean '{names[lower[close[0]]]}'? rename it to '{wanted}'" if close else FIX
            raise schema_error(sample, "", f"no column '{wanted}' (the header has: {', '.join(names)})",
                               hint, line=1)
    reader = csv.reader(io.StringIO(sample.text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    next(reader)
    posts = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise schema_error(sample, "", f"{len(row)} cells where the header has {len(names)}",
                               "quote cells that hold the delimiter or a line break", line=line)
        cell = {name: row[index] for name, index in lower.items()}
        if not cell["id"].strip():
            raise schema_error(sample, "", "a row without an id", "give every row an id", line=line)
        created = cell.get("created_at", "").strip() or None
        posts.append(Post(id=cell["id"].strip(), parent_id=cell["parent_id"].strip() or None,
                          author=name_of(cell["author"]), text=cell["text"].strip(), line=line,
                          created_raw=created))
    key = article_id_for(sample.source)
    return [Parsed(key, make_article(key, key.replace("_", " "), "", sample.source), posts)]


FORMATS = (
    Format("csv", "CSV or TSV with a header: id, parent_id, author, text[, created_at] (any case, any order)",
           "a spreadsheet saved as CSV (UTF-8) or TSV, one comment per row",
           _sniff, _read),
)

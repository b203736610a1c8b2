"""The stage cache's file format: data only, checksummed.

An entry is two parts: a first line of JSON, the header (the format, what
the entry is for, the size and sha256 of the body), and the body, JSON in
which every value that JSON has no type for is a one-key object: a record
of pipeline/records.py by name and fields, a tuple, a list, a dict (as
pairs), an array or a numpy scalar (dtype, shape, base64 bytes), a float
that is not finite. Only the record types listed here can come out of it;
nothing in a file names code to run, so an entry planted by someone else can
be wrong, but never more than wrong data. Reading raises DamagedEntry for
anything that is not an intact entry of this format for what was asked.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
from typing import Any

import numpy as np

from pipeline import records

FORMAT = "comment-pipeline stage cache 1"
RECORDS = {cls.__name__: cls for cls in (records.Article, records.Comment, records.Thread,
                                         records.CleanComment, records.Topic, records.TopicAssignment,
                                         records.TopicResult, records.StanceAssignment)}
FIELDS = {name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in RECORDS.items()}


class DamagedEntry(ValueError):
    """An entry that is empty, truncated, altered, or not one of ours."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):  # before int and float: np.float64 is a float
        if value.dtype.hasobject:
            raise TypeError("an object scalar")
        return {"scalar": [value.dtype.str, base64.b64encode(value.tobytes()).decode("ascii")]}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError("an object array")
        data = np.ascontiguousarray(value).tobytes()
        return {"ndarray": [value.dtype.str, list(value.shape), base64.b64encode(data).decode("ascii")]}
    name = type(value).__name__
    if RECORDS.get(name) is type(value):
        return {"record": [name, [_encode(getattr(value, f)) for f in FIELDS[name]]]}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(f"a {name} has no place in the stage cache")


def _decode(tagged: dict) -> Any:
    """json's object_hook: every object in a body is one tagged value, its
    contents already decoded."""
    if len(tagged) != 1:
        raise DamagedEntry("an object that is not a tagged value")
    ((tag, body),) = tagged.items()
    if tag == "tuple":
        return tuple(body)
    if tag == "list":
        return list(body)
    if tag == "dict":
        return {k: v for k, v in body}
    if tag == "float":
        if body not in ("nan", "inf", "-inf"):
            raise DamagedEntry(f"not a float: {body!r}")
        return float(body)
    if tag == "record":
        name, values = body
        if name not in RECORDS or len(values) != len(FIELDS[name]):
            raise DamagedEntry(f"not a record of this pipeline: {name!r}")
        return RECORDS[name](**dict(zip(FIELDS[name], values)))
    if tag in ("ndarray", "scalar"):
        dtype = np.dtype(body[0])
        if dtype.hasobject:
            raise DamagedEntry("an object array")
        data = base64.b64decode(body[-1], validate=True)
        if tag == "scalar":
            return np.frombuffer(data, dtype=dtype)[0]
        return np.frombuffer(data, dtype=dtype).reshape(body[1]).copy()
    raise DamagedEntry(f"unknown tag {tag!r}")


def _leaf(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _write(value: Any, out) -> None:
    """The body's JSON of `value`, written piece by piece: the text json.dumps(_encode(value))
    gives, without building the tagged copy of a whole stage output first (for a million
    comments that copy is a few GB; this holds only the text)."""
    name = type(value).__name__
    if isinstance(value, (tuple, list)) and type(value) in (tuple, list):
        out.write('{"tuple":[' if isinstance(value, tuple) else '{"list":[')
        for i, item in enumerate(value):
            if i:
                out.write(",")
            _write(item, out)
        out.write("]}")
    elif RECORDS.get(name) is type(value):
        out.write('{"record":[' + _leaf(name) + ",[")
        for i, field in enumerate(FIELDS[name]):
            if i:
                out.write(",")
            _write(getattr(value, field), out)
        out.write("]]}")
    elif isinstance(value, dict):
        out.write('{"dict":[')
        for i, (k, v) in enumerate(value.items()):
            out.write(",[" if i else "[")
            _write(k, out)
            out.write(",")
            _write(v, out)
            out.write("]")
        out.write("]}")
    else:
        out.write(_leaf(_encode(value)))


class Sink:
    """Where JSON text written piece by piece goes (this module's _write, stage_cache's
    content hash): hashed and counted, and written to `handle` where given, as UTF-8
    in blocks of about 64 KB."""

    def __init__(self, handle=None) -> None:
        self.digest, self.bytes, self.handle = hashlib.sha256(), 0, handle
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)
        if self.size > 1 << 16:
            self.flush()

    def flush(self) -> None:
        block = "".join(self.pieces).encode("utf-8")
        self.pieces.clear()
        self.size = 0
        self.digest.update(block)
        self.bytes += len(block)
        if self.handle is not None:
            self.handle.write(block)


def _header(sink: Sink, about: dict[str, str]) -> bytes:
    header = {"format": FORMAT, **about, "bytes": sink.bytes, "sha256": sink.digest.hexdigest()}
    return json.dumps(header, sort_keys=True).encode("utf-8") + b"\n"


def write_entry_to(path, value: Any, about: dict[str, str]) -> None:
    """An entry holding `value`, written into the file at `path`; `about` (stage and
    key) goes into the header and must match on reading. Never held whole: the body
    is encoded twice, once for its size and checksum (the header, which comes first),
    once into the file (a million comments' entry is hundreds of MB)."""
    counted = Sink()
    _write(value, counted)
    counted.flush()
    with open(path, "wb") as handle:
        handle.write(_header(counted, about))
        written = Sink(handle)
        _write(value, written)
        written.flush()
    if written.digest.digest() != counted.digest.digest():
        raise ValueError("the stage output changed while it was written")


def read_entry(data: bytes, about: dict[str, str]) -> Any:
    """The value an entry holds, checked against its header and `about`."""
    head, newline, body = data.partition(b"\n")
    if not newline:
        raise DamagedEntry("empty" if not data else "no header")
    try:
        header = json.loads(head)
    except ValueError:
        raise DamagedEntry("not a stage cache entry") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DamagedEntry("not a stage cache entry of this version")
    if any(header.get(k) != v for k, v in about.items()):
        raise DamagedEntry("an entry for another stage or key")
    if header.get("bytes") != len(body):
        raise DamagedEntry(f"{len(body)} bytes where {header.get('bytes')} were written")
    if header.get("sha256") != hashlib.sha256(body).hexdigest():
        raise DamagedEntry("its content does not match its checksum")
    try:
        return json.loads(body, object_hook=_decode)
    except DamagedEntry:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise DamagedEntry(f"unreadable: {error}") from None

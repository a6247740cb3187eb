"""Reading prospect files: CSV, JSON arrays and JSONL, streamed one record at a time.

`open_source` checks a file up front (exists, UTF-8 text, sound header) so file-level
problems raise `SeqcError` before the first record; `read_records` then streams
`RawRecord`s and `RecordError`s, and `load_prospects` passes them through the prospect
block's validator. Memory stays flat in the number of prospects. Kept apart from `fields`
because file formats, encodings and buffering change for reasons of their own, and the
validator has no need of them.
"""

from __future__ import annotations

import atexit
import codecs
import csv
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler import ir
from compiler.diagnostics import SeqcError
from compiler.prospects.fields import RecordValidator, compile_validator
from compiler.prospects.records import RawRecord, Record, RecordError, _BadNumber, show

_CHUNK = 1 << 16
_MAX_JSON_RECORD = 16 << 20
_JSON_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _json_hooks() -> json.JSONDecoder:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(items)
        if len(d) != len(items):
            seen: set[str] = set()
            dup = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            d = _DuplicateKeys(d)
            d.duplicate = dup
        return d

    def number(text: str) -> float | _BadNumber:
        f = float(text)
        return f if math.isfinite(f) else _BadNumber(text)

    return json.JSONDecoder(object_pairs_hook=pairs, parse_float=number, parse_constant=_BadNumber)


class _DuplicateKeys(dict):
    duplicate = ""


_DECODER = _json_hooks()
_NUMBER_TYPES = (int, float, _BadNumber)


def _record_of(row: int, value: Any) -> RawRecord | RecordError:
    if type(value) is dict:
        return RawRecord(row, value)
    if type(value) is _DuplicateKeys:
        return RecordError(row, None, f"duplicate key `{show(value.duplicate)}`")
    kind = "an array" if isinstance(value, list) else f"`{show(value)}`"
    return RecordError(row, None, f"expected a JSON object, got {kind}")


def detect_format(path: str | Path, head: str = "") -> str:
    """`csv`, `json` or `jsonl`: by extension, else by the first character of the text.

    A `.json` file that starts with `{` is read as JSONL (one object per line).
    """
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    first = head.lstrip(" \t\r\n")[:1]
    if fmt == "json" and first == "{":
        return "jsonl"
    if fmt is not None:
        return fmt
    return {"[": "json", "{": "jsonl"}.get(first, "csv")


@dataclass(frozen=True, slots=True)
class Source:
    """A prospect file that passed the file-level checks; `records()` streams it."""

    path: Path
    name: str
    format: str
    columns: tuple[str, ...] | None = None
    delimiter: str = ","

    def records(self) -> Iterator[RawRecord | RecordError]:
        reader = {"csv": _csv_records, "json": _json_array_records, "jsonl": _jsonl_records}[self.format]
        try:
            yield from reader(self)
        except UnicodeDecodeError as e:  # the file changed after the up-front check
            raise SeqcError(f"{self.name}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
        except OSError as e:
            raise SeqcError(f"{self.name}: cannot read ({e.strerror or e})") from None


def open_source(path: str | Path) -> Source:
    """Check a prospect file up front: it exists, is a readable UTF-8 text file, and its header is sound.

    `-` is standard input; it, a pipe (`<(…)`, `/dev/stdin`) or a device is copied once to a
    temporary file first (`_regular_file`).
    """
    name = str(path)
    try:
        path = _regular_file(name)
        head = _check_text(path, name)
    except FileNotFoundError:
        raise SeqcError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SeqcError(f"{name}: is a directory, not a prospect file") from None
    except PermissionError:
        raise SeqcError(f"{name}: permission denied") from None
    except OSError as e:
        raise SeqcError(f"{name}: cannot read ({e.strerror or e})") from None
    fmt = detect_format(path, head)
    if fmt == "csv":
        columns, delimiter = _csv_header(path, name)
        return Source(path, name, fmt, columns, delimiter)
    if fmt == "json" and not head.startswith("["):
        what = "an empty file" if not head else "something else"
        raise SeqcError(f"{name}: expected a JSON array of records, found {what}")
    return Source(path, name, fmt)


_COPIES: dict[str, Path] = {}  # stdin, pipes and devices, copied once per run


def _regular_file(name: str) -> Path:
    """A regular file holding what `name` reads: itself, or for `-` (standard input), a pipe or a
    device, a copy taken the first time (a prospect file is read more than once: the text check,
    the header, the records, `--jobs` slices; a pipe can be read only once). The copy is removed
    when seqc exits; it keeps the name's extension, which tells CSV from JSON."""
    if name in _COPIES:
        return _COPIES[name]
    if name != "-":
        try:
            mode = os.stat(name).st_mode
        except OSError:
            return Path(name)  # open_source says what is wrong with it
        if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
            return Path(name)
    elif sys.stdin is None or sys.stdin.isatty():
        raise SeqcError("-: standard input is a terminal; pipe a prospect file in, or name one")
    fd, copy = tempfile.mkstemp(prefix="seqc-prospects-", suffix="" if name == "-" else Path(name).suffix)
    atexit.register(_remove, copy)
    with os.fdopen(fd, "wb") as out:
        if name == "-":
            shutil.copyfileobj(sys.stdin.buffer, out, _CHUNK * 16)
        else:
            with open(name, "rb") as stream:
                shutil.copyfileobj(stream, out, _CHUNK * 16)
    _COPIES[name] = Path(copy)
    return Path(copy)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _check_text(path: Path, name: str) -> str:
    """Decode the whole file once as UTF-8 (BOM allowed) so bad bytes stop the run before any record.

    Returns the first characters, for format sniffing.
    """
    if path.is_dir():
        raise IsADirectoryError(name)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    head, lines = "", 0
    with open(path, "rb") as f:
        first = True
        while True:
            chunk = f.read(_CHUNK * 4)
            if first and chunk[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                raise SeqcError(f"{name}: is UTF-16 text; save it as UTF-8")
            if b"\0" in chunk:
                line = lines + chunk.count(b"\n", 0, chunk.index(b"\0")) + 1
                raise SeqcError(f"{name}: has NUL bytes (line {line}); not a text file")
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                at = max(0, min(e.start - (len(e.object) - len(chunk)), len(chunk)))
                line = lines + chunk.count(b"\n", 0, at) + 1
                bad = e.object[e.start:e.start + 1].hex()
                raise SeqcError(f"{name}: not UTF-8 text (byte 0x{bad} on line {line}); save it as UTF-8") from None
            if first:
                head = text.lstrip(" \t\r\n")[:64]
                first = False
            if not chunk:
                return head
            lines += chunk.count(b"\n")


def _csv_header(path: Path, name: str) -> tuple[tuple[str, ...], str]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        first = next((line for line in f if line.strip()), "")
        delimiter = _delimiter(first)
        f.seek(0)
        header: list[str] = []
        try:
            for header in csv.reader(f, delimiter=delimiter):
                if header:
                    break
        except csv.Error as e:
            raise SeqcError(f"{name}: unreadable CSV header ({e})") from None
    if not header:
        raise SeqcError(f"{name}: empty file, expected a header row")
    columns = tuple(c.strip() for c in header)
    seen: dict[str, int] = {}
    for i, column in enumerate(columns, 1):
        if not column:
            raise SeqcError(f"{name}: column {i} of the header has no name")
        if column in seen:
            raise SeqcError(f"{name}: column `{show(column)}` appears twice in the header "
                            f"(columns {seen[column]} and {i})")
        seen[column] = i
    return columns, delimiter


def _delimiter(first_line: str) -> str:
    """`,`; `;` or tab only when the header line has no comma but has those (spreadsheet exports)."""
    if "," in first_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in first_line:
            return candidate
    return ","


def _csv_records(source: Source) -> Iterator[RawRecord | RecordError]:
    with open(source.path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=source.delimiter)
        for cells in reader:  # the header (checked by _csv_header)
            if cells:
                break
        yield from _csv_rows(reader, source.columns or (), 0)


def _csv_rows(reader: Iterator[list[str]], header: tuple[str, ...], row: int) -> Iterator[RawRecord | RecordError]:
    """The records of a csv reader past the header; `row` rows come before them."""
    width = len(header)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            row += 1
            yield RecordError(row, None, f"unreadable CSV row ({e})")
            continue
        if not cells:
            continue
        row += 1
        if len(cells) == width:
            yield RawRecord(row, dict(zip(header, cells)))
        else:
            yield RecordError(row, None, f"has {len(cells)} cells, the header has {width} columns")


def _jsonl_records(source: Source) -> Iterator[RawRecord | RecordError]:
    with open(source.path, encoding="utf-8-sig") as f:
        yield from _jsonl_lines(f, 0)


def _jsonl_lines(lines: Iterable[str], row: int) -> Iterator[RawRecord | RecordError]:
    """The records of JSONL lines (blank ones skipped); `row` rows come before them."""
    decode = _DECODER.decode
    for line in lines:
        if not line.strip(" \t\r\n"):
            continue
        row += 1
        try:
            value = decode(line)
        except json.JSONDecodeError as e:
            column = min(e.pos, len(line.rstrip("\r\n"))) + 1
            yield RecordError(row, None, f"not valid JSON ({e.msg} at column {column})")
            continue
        except (ValueError, RecursionError) as e:  # too many digits; too deeply nested
            yield RecordError(row, None, f"not valid JSON ({show(str(e), 80)})")
            continue
        yield _record_of(row, value)


def _json_array_records(source: Source) -> Iterator[RawRecord | RecordError]:
    """Stream the elements of a top-level JSON array with `raw_decode` over a sliding buffer."""
    name = source.name
    decode = _DECODER.raw_decode
    with open(source.path, encoding="utf-8-sig") as f:
        buf, pos, eof = "", 0, False
        lines_before, column_before = 0, 0  # of the text dropped from the buffer's front

        def fill(need_more: bool) -> bool:
            nonlocal buf, pos, eof, lines_before, column_before
            if pos > _CHUNK:
                newline = buf.rfind("\n", 0, pos)
                if newline < 0:
                    column_before += pos
                else:
                    lines_before += buf.count("\n", 0, pos)
                    column_before = pos - newline - 1
                buf, pos = buf[pos:], 0
            if eof:
                return False
            more = f.read(max(_CHUNK, len(buf) - pos) if need_more else _CHUNK)
            eof = not more
            buf += more
            return bool(more)

        def fail(what: str, at: int) -> SeqcError:
            line = lines_before + buf.count("\n", 0, at) + 1
            newline = buf.rfind("\n", 0, at)
            column = at - newline if newline >= 0 else column_before + at + 1
            return SeqcError(f"{name}: not valid JSON at line {line}, column {column}: {what}")

        def skip_ws() -> str:
            nonlocal pos
            while True:
                pos = _JSON_WS.match(buf, pos).end()  # type: ignore[union-attr]
                if pos < len(buf) or not fill(False):
                    return buf[pos:pos + 1]

        if skip_ws() != "[":
            raise fail("expected `[`", pos)
        pos += 1
        row = 0
        if skip_ws() == "]":
            pos += 1
        else:
            while True:
                while True:
                    try:
                        value, end = decode(buf, pos)
                        # Only a number can look complete while cut: `1.5` of `1.5e3`.
                        if eof or type(value) not in _NUMBER_TYPES or len(buf) - pos > _MAX_JSON_RECORD or (
                                end < len(buf) and buf[end] not in _NUMBER_CHARS):
                            break
                    except json.JSONDecodeError as e:
                        if eof or len(buf) - pos > _MAX_JSON_RECORD:
                            raise fail(e.msg, e.pos) from None
                    except (ValueError, RecursionError) as e:
                        raise fail(show(str(e), 80), pos) from None
                    fill(True)
                row += 1
                pos = end
                yield _record_of(row, value)
                sep = skip_ws()
                pos += 1
                if sep == "]":
                    break
                if sep != ",":
                    raise fail("expected `,` or `]` after a record", pos - 1)
                skip_ws()
        if skip_ws():
            raise fail("unexpected data after the array", pos)


def read_records(path: str | Path) -> Iterator[RawRecord | RecordError]:
    """Stream the records of a CSV, JSON-array or JSONL file.

    File-level problems (missing, unreadable, not UTF-8, bad header) raise `SeqcError`
    before the first record; record-level problems are yielded as `RecordError`.
    """
    return open_source(path).records()


def load_prospects(path: str | Path, prospect: ir.Prospect) -> Iterator[Record | RecordError]:
    """Stream valid `Record`s and the `RecordError`s of bad ones (all errors of a row together).

    A CSV header that lacks a required field raises `SeqcError`: every row would fail.
    """
    return validated(open_prospects(path, prospect).records(), compile_validator(prospect))


def open_prospects(path: str | Path, prospect: ir.Prospect) -> Source:
    """`open_source`, and a CSV header that lacks a required field is a `SeqcError`."""
    source = open_source(path)
    if source.columns is not None:
        _check_columns(source.name, source.columns, prospect)
    return source


def validated(records: Iterable[RawRecord | RecordError],
              validator: RecordValidator) -> Iterator[Record | RecordError]:
    """Each raw record checked: the `Record`, or all the `RecordError`s of its row together."""
    check = validator.check
    for raw in records:
        if type(raw) is RecordError:
            yield raw
            continue
        result = check(raw)  # type: ignore[arg-type]
        if type(result) is list:
            yield from result
        else:
            yield result  # type: ignore[misc]


def _check_columns(name: str, columns: tuple[str, ...], prospect: ir.Prospect) -> None:
    missing = [f.name for f in prospect.fields if f.required and f.name not in columns]
    if not missing:
        return
    folded = {c.casefold(): c for c in columns}
    hints = [f"`{show(folded[m.casefold()])}` to `{m}`" for m in missing if m.casefold() in folded]
    listed = ", ".join(f"`{m}`" for m in missing)
    noun = "column" if len(missing) == 1 else "columns"
    hint = f"; column names are case-sensitive: rename {', '.join(hints)}" if hints else ""
    raise SeqcError(f"{name}: the header has no {noun} {listed}, which the prospect block requires{hint}")

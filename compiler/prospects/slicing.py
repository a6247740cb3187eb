"""Cutting a prospect file into slices of whole records, for worker processes to read and validate.

`preview --jobs N` hands each worker a slice of the file as a byte range; the worker reads,
parses and validates it itself, so the main process never builds a record. The main process only
finds where records end, and it does that with the same parser the worker uses (the csv
module for CSV, lines for JSONL): a quoted cell may hold newlines, so "every 512 lines"
would cut a record in two. A slice ends just after a record the parser returned, where
its state is fresh, so re-reading the slice from its first byte gives the same records,
errors and row numbers as reading the whole file.

A JSON array cannot be cut without decoding it, so its slices carry the decoded records.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from compiler.diagnostics import SeqcError
from compiler.prospects.reading import Source, _csv_rows, _json_array_records, _jsonl_lines
from compiler.prospects.records import RawRecord, RecordError


@dataclass(frozen=True, slots=True)
class Slice:
    """A run of whole records: `rows` rows after the first `first_row` of the file.

    CSV and JSONL slices are `size` bytes of the file from byte `start`, so handing one to
    a worker costs a few bytes whatever the records hold; a JSON array's slice carries
    its decoded records in `items`.
    """

    first_row: int
    rows: int
    start: int = 0
    size: int = 0
    items: tuple[RawRecord | RecordError, ...] = ()


def slices(source: Source, rows: int) -> Iterator[Slice]:
    """The file as consecutive slices of about `rows` rows each (a bad CSV row never ends one)."""
    cut = {"csv": _csv_slices, "jsonl": _jsonl_slices, "json": _json_slices}[source.format]
    try:
        yield from cut(source, rows)
    except UnicodeDecodeError as e:  # the file changed after the up-front check
        raise SeqcError(f"{source.name}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
    except OSError as e:
        raise SeqcError(f"{source.name}: cannot read ({e.strerror or e})") from None


def slice_records(source: Source, piece: Slice) -> Iterator[RawRecord | RecordError]:
    """The records of one slice, exactly as `source.records()` yields them at that place."""
    if source.format == "json":
        return iter(piece.items)
    try:
        with open(source.path, "rb") as f:
            f.seek(piece.start)
            data = f.read(piece.size)
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SeqcError(f"{source.name}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
    except OSError as e:
        raise SeqcError(f"{source.name}: cannot read ({e.strerror or e})") from None
    if len(data) != piece.size:
        raise SeqcError(f"{source.name}: the file changed while it was read")
    if source.format == "jsonl":
        # newline=None: the lines the whole-file reader sees (it reads with universal newlines)
        return _jsonl_lines(io.StringIO(text, newline=None), piece.first_row)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter)
    return _csv_rows(reader, source.columns or (), piece.first_row)


class _Lines:
    """The lines of a text file (newline="": split as the readers split them, nothing translated),
    with the rows counted and the lines taken since the last cut, and the byte offset of that cut."""

    def __init__(self, f: io.TextIOWrapper, at: int, rows: int) -> None:
        self.file = f
        self.taken: list[str] = []
        self.at = at
        self.rows = rows  # a slice's size
        self.row = self.first = 0

    def __iter__(self) -> Iterator[str]:
        taken = self.taken
        for line in self.file:
            taken.append(line)
            yield line

    def skip(self) -> None:
        """Drop what was taken (the header) from the next slice."""
        self.at += len("".join(self.taken).encode("utf-8"))
        self.taken.clear()

    def ended_row(self) -> Slice | None:
        """A row ended with the last line taken: the slice it completes, if it does."""
        self.row += 1
        return self.cut() if self.row - self.first >= self.rows else None

    def cut(self) -> Slice | None:
        """The rows since the last cut as a slice (None if there are none)."""
        if self.row == self.first:
            return None
        size = len("".join(self.taken).encode("utf-8"))
        self.taken.clear()
        piece = Slice(self.first, self.row - self.first, self.at, size)
        self.at += size
        self.first = self.row
        return piece


def _bom(source: Source) -> int:
    with open(source.path, "rb") as f:
        return 3 if f.read(3) == codecs.BOM_UTF8 else 0


def _csv_slices(source: Source, rows: int) -> Iterator[Slice]:
    with open(source.path, encoding="utf-8-sig", newline="") as f:
        lines = _Lines(f, _bom(source), rows)
        reader = csv.reader(iter(lines), delimiter=source.delimiter)
        for cells in reader:  # the header
            if cells:
                break
        lines.skip()
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                lines.row += 1  # counted as a row, as the reader does; never the end of a slice
                continue
            if cells and (piece := lines.ended_row()):
                yield piece
        if piece := lines.cut():
            yield piece


def _jsonl_slices(source: Source, rows: int) -> Iterator[Slice]:
    with open(source.path, encoding="utf-8-sig", newline="") as f:
        lines = _Lines(f, _bom(source), rows)
        for line in lines:
            if line.strip(" \t\r\n") and (piece := lines.ended_row()):
                yield piece
        if piece := lines.cut():
            yield piece


def _json_slices(source: Source, rows: int) -> Iterator[Slice]:
    items: list[RawRecord | RecordError] = []
    first = 0
    for item in _json_array_records(source):
        items.append(item)
        if len(items) >= rows:
            yield Slice(first, len(items), items=tuple(items))
            first += len(items)
            items = []
    if items:
        yield Slice(first, len(items), items=tuple(items))

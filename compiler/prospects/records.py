"""Record types: what the readers yield, what validation yields, and the counts over both.

`RawRecord` (a row as read), `Record` (a valid, converted row), `RecordError` (one problem
of one row), `Counts` (the last stderr line of a run) and `show`, which quotes untrusted
values in one-line messages. Every stage of the package and every consumer (preview,
leads, rules) needs these, and none of them needs the readers or the validator, so they
live apart and import nothing from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: `row` is its 1-based position (header not counted)."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Record:
    """A valid record: declared fields converted, missing optionals absent, extra columns as text."""

    row: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordError:
    """A bad record: `field` None means the record as a whole (a ragged row, a bad JSON line)."""

    row: int
    field: str | None
    reason: str

    def line(self) -> str:
        """`row N: field: reason`, one line whatever the data holds."""
        return f"row {self.row}: {'(record)' if self.field is None else show(self.field)}: {self.reason}"


@dataclass(slots=True)
class Counts:
    """Prospect counts for the last stderr line; `add` tallies what `load_prospects` yields."""

    read: int = 0
    valid: int = 0
    routed: int = 0
    rendered: int = 0
    rejected: int = 0
    unrouted: int = 0
    _last_rejected: int = field(default=0, init=False, repr=False, compare=False)

    def add(self, item: Record | RecordError) -> None:
        """Count a record once, however many errors it has (they arrive together)."""
        if isinstance(item, Record):
            self.read += 1
            self.valid += 1
        elif item.row != self._last_rejected:
            self._last_rejected = item.row
            self.read += 1
            self.rejected += 1

    def merge(self, other: Counts) -> None:
        """Add the counts of another run of records (one that holds whole rows)."""
        self.read += other.read
        self.valid += other.valid
        self.routed += other.routed
        self.rendered += other.rendered
        self.rejected += other.rejected
        self.unrouted += other.unrouted

    def line(self) -> str:
        return (f"prospects: {self.read} read, {self.valid} valid, {self.routed} routed, "
                f"{self.rendered} rendered, {self.rejected} rejected, {self.unrouted} unrouted")


def show(value: object, limit: int = 60) -> str:
    """A value made safe to quote in a one-line message: control and format characters escaped, cut at `limit`."""
    s = value if isinstance(value, str) else repr(value)
    cut = len(s) > limit
    s = s[:limit]
    if not s.isprintable() or "\\" in s:
        s = "".join(_escape_char(ch) for ch in s)
    return s + "…" if cut else s


def _escape_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch.isprintable():
        return ch
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    return named or (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")



# Lives with the record types because a `RawRecord` may hold one: the JSON readers (`reading`)
# make it and the field converters (`fields`) turn it into an error.
class _BadNumber:
    """A JSON token Python reads but JSON forbids or cannot hold (`NaN`, `1e999`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

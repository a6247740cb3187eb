"""Diagnostics are data: every phase yields `Diagnostic` records; rendering happens at the edge."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A 1-based, end-inclusive-line / end-exclusive-column source range."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int) -> Span:
        return cls(file, line, column, line, column + 1)

    def to(self, other: Span) -> Span:
        """The span from the start of self to the end of other."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: a code, a severity, a one-sentence message and where.

    `span` is None only for findings about inputs that have no source position
    (a prospect file, a command-line value); those carry `file` in the message.
    """

    code: str
    severity: Severity
    message: str
    span: Span | None
    help: str | None = None

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.column, self.code, self.message) if s else ("", 0, 0, self.code, self.message)

    def with_severity(self, severity: Severity) -> Diagnostic:
        return Diagnostic(self.code, severity, self.message, self.span, self.help)


class SeqcError(Exception):
    """A one-line user-facing error (usage or I/O): the CLI prints it and exits 2."""


def origin_of(e: BaseException) -> str:
    """` at FILE:LINE` of the innermost frame an exception passed, for a one-line internal error
    (an exception from a preview worker process carries its own as `origin`)."""
    if isinstance(getattr(e, "origin", None), str):
        return e.origin  # type: ignore[attr-defined]
    tb = e.__traceback__
    if tb is None:
        return ""
    while tb.tb_next is not None:
        tb = tb.tb_next
    return f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"

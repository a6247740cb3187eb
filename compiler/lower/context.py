"""What lowering passes share: the target, its capabilities, and where SEQ601s and notices go."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from compiler import ir
from compiler.capabilities import Capabilities
from compiler.diagnostics import Diagnostic, Severity, Span

SEQ601 = "SEQ601"


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning printed by `seqc compile` (stderr, exit code unchanged): an approximation the
    target makes, such as a touch landing on another day than `seqc plan` says."""

    message: str
    span: Span | None = None

    def line(self) -> str:
        where = f"{self.span.file}:{self.span.line}:{self.span.column}: " if self.span else ""
        return f"{where}warning: {self.message}"


@dataclass
class LowerContext:
    """Shared by the passes of one compile.

    `alternatives` are the other registered targets' capabilities, used to name a target that
    would take a construct this one rejects. `horizon` is the first day of the period zone
    equivalence is checked over.
    """

    target: str
    caps: Capabilities
    project: ir.Project
    alternatives: Mapping[str, Capabilities] = field(default_factory=dict)
    horizon: date = date(2026, 1, 1)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def reject(self, construct: str, span: Span | None, *, would: Callable[[Capabilities], bool] | None = None,
               hint: str | None = None) -> None:
        """Report SEQ601: this target cannot express `construct` (a noun phrase naming it).

        `would` tells whether another target's capabilities take the construct; the help names
        those targets, after `hint` (the lowering or change that would work here).
        """
        message = f"{self.target} cannot express {construct}"
        helps = [hint] if hint else []
        if would is not None:
            helps.append(self.takers(would))
        self.diagnostics.append(Diagnostic(SEQ601, Severity.ERROR, message, span, "; ".join(helps) or None))

    def takers(self, would: Callable[[Capabilities], bool]) -> str:
        """"lemlist and replyio take it" / "no other target takes it; --target csv lists it"."""
        names = sorted(n for n, c in self.alternatives.items() if c.sends and n != self.target and would(c))
        if names:
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
            return f"{listed} {'takes' if len(names) == 1 else 'take'} it"
        exports = sorted(n for n, c in self.alternatives.items() if not c.sends and n != self.target and would(c))
        tail = f"; --target {exports[0]} exports it for manual work" if exports else ""
        return f"no other registered target takes it{tail}"

    def notice(self, message: str, span: Span | None = None) -> None:
        self.notices.append(Notice(f"{self.target}: {message}", span))


def head_span(step: ir.Step) -> Span:
    """`day 1 linkedin invite`: from the start of a step to the end of its name."""
    s, n = step.span, step.name_span
    return Span(s.file, s.line, s.column, n.end_line, n.end_column)

"""The rule interface: one small class per code, pure over the project IR."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from compiler import ir
from compiler.diagnostics import Diagnostic, Severity, Span


@dataclass
class RuleContext:
    """What a rule may look at: the IR, and prospect records when `--prospects` was given.

    `cache` lets rules of one run share derived facts (landed schedules, template
    analyses) without recomputing them.
    """

    project: ir.Project
    prospects: Any = None
    cache: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, build):
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]


class Rule:
    """Base class. The docstring is the user doc: a summary line, then Why/Bad/Good."""

    code: ClassVar[str]
    severity: ClassVar[Severity]
    name: ClassVar[str]
    needs_prospects: ClassVar[bool] = False

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        return iter(())

    def diag(self, message: str, span: Span | None, help: str | None = None) -> Diagnostic:
        return Diagnostic(self.code, self.severity, message, span, help)

    @classmethod
    def summary(cls) -> str:
        return (inspect.getdoc(cls) or "").split("\n", 1)[0].rstrip(".")

    @classmethod
    def doc(cls) -> str:
        return inspect.getdoc(cls) or ""

    @classmethod
    def example(cls, label: str) -> str | None:
        """The text of the `Bad:` or `Good:` block of the doc (indented code below the label)."""
        lines = cls.doc().split("\n")
        for i, line in enumerate(lines):
            if line.strip().startswith(f"{label}:"):
                inline = line.split(":", 1)[1].strip()
                block = []
                for nxt in lines[i + 1:]:
                    if nxt.startswith("    ") or not nxt.strip():
                        block.append(nxt[4:] if nxt.startswith("    ") else "")
                    else:
                        break
                text = "\n".join(block).strip("\n")
                return text if text else inline or None
        return None


class CatalogEntry(Rule):
    """A code raised outside the rule engine (the parser, the template checker, targets)."""

"""Where a position in a `.seq` buffer is: the word under it, the block, condition or template around it.

Positions are 1-based line/column pairs counted in characters, like `Span`. Used by the
editor features in `compiler.lsp` (resolution, hover, completion).
"""

from __future__ import annotations

import re

from compiler import ir
from compiler.diagnostics import Span

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")



def contains(span: Span | None, file: str, line: int, column: int) -> bool:
    if span is None or span.file != file:
        return False
    if (line, column) < (span.line, span.column):
        return False
    return (line, column) <= (span.end_line, span.end_column)


def text_of_line(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def word_at(text: str, line: int, column: int, pattern: re.Pattern = IDENT) -> tuple[str, int, int] | None:
    """(word, start column, end column) of the `pattern` match under the 1-based position."""
    for m in pattern.finditer(text_of_line(text, line)):
        if m.start() + 1 <= column <= m.end() + 1:
            return m.group(0), m.start() + 1, m.end() + 1
    return None


def enclosing_sequence(project: ir.Project, file: str, line: int, column: int) -> ir.Sequence | None:
    for seq in project.sequences:
        if contains(seq.span, file, line, column):
            return seq
    return None


def in_template_expr(line_text: str, column: int) -> bool:
    """True when the position is inside an unclosed `{{ … }}` or `{% … %}` on its line."""
    before = line_text[: column - 1]
    opened = max(before.rfind("{{"), before.rfind("{%"))
    closed = max(before.rfind("}}"), before.rfind("%}"))
    return opened > closed


def lexical(line_text: str, column: int) -> str:
    """"comment", "string" or "code": what the position is in, judged from its line."""
    in_string = False
    i, end = 0, min(column - 1, len(line_text))
    while i < end:
        c = line_text[i]
        if in_string and c == "\\":
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        elif c == "#" and not in_string:
            return "comment"
        i += 1
    return "string" if in_string else "code"


def in_inline_template(project: ir.Project, file: str, line: int, column: int) -> bool:
    """Inside a string written in the .seq file (multi-line ones included)."""
    for seq in project.sequences:
        for step in seq.all_steps():
            for _, tpl in step.templates():
                if tpl.path is None and contains(tpl.span, file, line, column):
                    return True
    return False


def _cond_spans(project: ir.Project) -> list[Span]:
    spans: list[Span] = []
    for seq in project.sequences:
        for step in seq.all_steps():
            if step.guard is not None:
                spans.append(step.guard.span)
            spans.extend(b.cond.span for b in step.branches if b.cond is not None)
        spans.extend(ev.span for ev in seq.events)
    for camp in project.campaigns:
        spans.extend(r.span for r in camp.routes)
    return spans


def in_condition(project: ir.Project, file: str, line: int, column: int) -> bool:
    return any(contains(s, file, line, column) for s in _cond_spans(project))


def in_prospect(project: ir.Project, file: str, line: int, column: int) -> bool:
    return project.prospect is not None and contains(project.prospect.span, file, line, column)


def field_name_span(f: ir.Field) -> Span:
    return Span(f.span.file, f.span.line, f.span.column, f.span.line, f.span.column + len(f.name))

"""A fast reader for the templates most sequences are made of: text and `{{ name }}` values.

`template_analysis.analyze` reads a template's Jinja AST, and Jinja's parser is the largest single cost
of `seqc check` on a big project. Most outbound templates are plain text with `{{ first_name }}`
and `{{ title | default("there") }}` in it, and for those the AST says nothing a scan cannot.
`scan` recognises exactly that form and returns its pieces; for anything else (a tag, a
comment, whitespace control, another expression, a CR that Jinja would normalise) it returns
None and the caller parses with Jinja as before. Tests check the pieces against Jinja's AST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Words Jinja reads as constants or operators, never as a variable name.
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else", "true", "false", "none",
                       "True", "False", "None"})

# `{{ name }}` or `{{ name | default("text") }}` (also `d`, single quotes); spaces and tabs only,
# and a fallback without backslashes, braces or its own quote (those need Jinja's string rules).
_VALUE = re.compile(
    r"""\{\{[ \t]*(?P<name>[A-Za-z][A-Za-z0-9_]*)[ \t]*"""
    r"""(?:\|[ \t]*(?:default|d)[ \t]*\([ \t]*(?:"(?P<dq>[^"\\{}\n\r]*)"|'(?P<sq>[^'\\{}\n\r]*)')[ \t]*\)[ \t]*)?"""
    r"""\}\}"""
)


@dataclass(frozen=True, slots=True)
class Value:
    """`{{ name }}` (fallback None) or `{{ name | default("fallback") }}` on line `lineno`."""

    name: str
    lineno: int
    fallback: str | None = None


def scan(source: str) -> list[str | Value] | None:
    """The template as text pieces and values in order, or None when it is not that simple."""
    if "{%" in source or "{#" in source or "\r" in source:
        return None
    pieces: list[str | Value] = []
    pos, line = 0, 1
    while True:
        start = source.find("{{", pos)
        if start < 0:
            if pos < len(source):
                pieces.append(source[pos:])
            return pieces
        if start > pos:
            text = source[pos:start]
            pieces.append(text)
            line += text.count("\n")
        match = _VALUE.match(source, start)
        if match is None or match["name"] in _KEYWORDS:
            return None
        fallback = match["dq"] if match["dq"] is not None else match["sq"]
        pieces.append(Value(match["name"], line, fallback))
        pos = match.end()

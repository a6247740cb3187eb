"""Writing lowered `Text` in a tool's syntax, and formatting pre-rendered values the same way.

Bodies that a tool sends as HTML get paragraphs for blank lines and `<br/>` for single line
breaks; literal text is HTML-escaped, and `{` becomes `&#123;` (a mail client shows `{`),
so literal text or a prospect's value can never turn into a merge tag.
Pre-rendered custom-field values go through the same conversion (without the outer
paragraph), so a field dropped into the middle of a paragraph composes into valid HTML.
"""

from __future__ import annotations

import html
import re

from compiler import ir
from compiler.capabilities import MergeTags
from compiler.lower.program import Custom, Literal, Text, Var

_PARAGRAPH = re.compile(r"\n{2,}")
_NEWLINES = re.compile(r"[\r\n]+")


def escape_html(text: str) -> str:
    """Text as HTML content: `& < > {` escaped, line breaks as `<br/>`/paragraph breaks."""
    out = html.escape(text.replace("\r\n", "\n").replace("\r", "\n"), quote=False).replace("{", "&#123;")
    out = _PARAGRAPH.sub("</p><p>", out)
    return out.replace("\n", "<br/>")


def one_line(text: str) -> str:
    """Text for a header such as a subject: line breaks become single spaces, ends trimmed."""
    return _NEWLINES.sub(" ", text).strip()


def variable(merge: MergeTags, var: Var) -> str:
    """A prospect field or built-in as the tool's tag (with its fallback syntax when there is one)."""
    if var.name in ir.BUILTIN_VARIABLES:
        mapped = merge.builtins[var.name]
        return mapped if merge.is_complete(mapped) else merge.variable(mapped, var.fallback)
    return merge.variable(merge.fields.get(var.name, var.name), var.fallback)


def format_text(text: Text, merge: MergeTags, mode: str) -> str:
    """`text` in the tool's syntax. `mode`: "html" (a body), "text" (kept as is) or "line" (a subject)."""
    if mode == "html":
        return _html(text, merge)
    out = []
    for part in text.parts:
        if isinstance(part, Literal):
            out.append(part.text)
        elif isinstance(part, Var):
            out.append(variable(merge, part))
        else:
            out.append(merge.tag % part.name)
    joined = "".join(out)
    return one_line(joined) if mode == "line" else joined


def _html(text: Text, merge: MergeTags) -> str:
    parts = list(text.parts)
    # Merge neighbouring literals so a paragraph break split across them is still seen.
    merged: list = []
    for part in parts:
        if isinstance(part, Literal) and merged and isinstance(merged[-1], Literal):
            merged[-1] = Literal(merged[-1].text + part.text)
        else:
            merged.append(part)
    if merged and isinstance(merged[0], Literal):
        merged[0] = Literal(merged[0].text.lstrip("\r\n"))
    if merged and isinstance(merged[-1], Literal):
        merged[-1] = Literal(merged[-1].text.rstrip("\r\n"))
    out = []
    for part in merged:
        if isinstance(part, Literal):
            out.append(escape_html(part.text))
        elif isinstance(part, Var):
            tag = variable(merge, part)
            if part.fallback is not None:
                tag = variable(merge, Var(part.name, html.escape(part.fallback, quote=False)))
            out.append(tag)
        elif isinstance(part, Custom):
            out.append(merge.tag % part.name)
    body = "".join(out)
    return f"<p>{body}</p>" if body else ""


def format_value(value: str, fmt: str) -> str:
    """A pre-rendered custom-field value in its field's format ("html", "text" or "line").

    A "line" value has its line breaks collapsed to spaces but keeps its edge spaces: it may be
    a piece in the middle of a subject ("For {{ company }} {a|b}").
    """
    if fmt == "html":
        return escape_html(value)
    if fmt == "line":
        return _NEWLINES.sub(" ", value)
    return value

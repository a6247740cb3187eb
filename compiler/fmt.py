"""`seqc fmt`: one canonical layout for `.seq` files, comments kept, meaning checked.

The formatter works on the concrete syntax: the grammar is parsed a second time with every
token kept (`keep_all_tokens`), and comments are collected by a lexer callback, so nothing in
the file is lost. The tree is then printed with canonical whitespace (docs/fmt.md has the
rules), each comment re-attached by position: a comment after code stays at the end of the
line holding the token before it; a comment alone on its line stays alone, above the line
holding the token after it.

Two guarantees are checked on every run, not just in tests: the result parses to the same IR
as the input (spans aside; `exit on` events compared as a set, as the formatter sorts them),
and it keeps every comment. When a check fails the file is left untouched and an internal
error is reported; a second pass changing nothing is what the tests check.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from lark import Lark, Token, Tree

from compiler import ir
from compiler.diagnostics import Diagnostic
from compiler.ir_builder import ParseContext, decode_string
from compiler.parse import _KeepErrorTerminals, parse_text
from grammar import GRAMMAR_PATH

__all__ = ["FormatError", "FormatResult", "format_source", "format_text", "ir_view", "layout", "quote",
           "unified_diff"]

INDENT = "  "
COMMENT_COLUMN = 41        # trailing comments start at this column (0-based) or 3 spaces past the code
COMMENT_ALIGN_LIMIT = 60   # longer code lines do not push the column of their neighbours' comments
COMMENT_GAP = 3
ONE_LINE_LIMIT = 100       # a one-field `variant` stays on one line up to this width

_BLOCKS = frozenset({"prospect", "sequence", "campaign", "step", "path", "variant", "when", "otherwise",
                     "route", "sender", "compliance", "goals"})
# Items set apart by a blank line inside these blocks (any other blank line is kept, at most one).
_SPACED = {"sequence": frozenset({"step", "path"}),
           "campaign": frozenset({"route", "sender", "compliance", "goals"})}
_OWN_LAYOUT = frozenset({"field", "seq_window", "route_line", "exit_on", "on_event_within"})  # _Printer._<rule>
_NO_SPACE_BEFORE = frozenset({"RPAR", "RPAREN", "COMMA", "COLON"})
_SUPPRESSION = re.compile(r"#\s*seqc:\s*ignore", re.IGNORECASE)


class FormatError(Exception):
    """A file that cannot be formatted: syntax errors, or a result that failed its checks."""


@dataclass(frozen=True)
class FormatResult:
    """The outcome for one file.

    `formatted` is None when the file was not formatted: `diagnostics` then holds its SEQ001
    syntax errors, or `error` says why the formatter refused (an internal error).
    """

    file: str
    original: str
    formatted: str | None
    diagnostics: tuple[Diagnostic, ...] = ()
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted != self.original


# ---------------------------------------------------------------- public API


def format_text(text: str, file: str = "<text>") -> str:
    """The canonical form of `.seq` source text.

    Raises:
        FormatError: the text has syntax errors, or formatting could not be proven safe.
    """
    result = format_source(text, file)
    if result.formatted is None:
        raise FormatError(result.error or "; ".join(f"{d.span.line}:{d.span.column}: {d.message}"
                                                    for d in result.diagnostics if d.span))
    return result.formatted


def format_source(text: str, file: str = "<text>", *, base_dir: Path | None = None) -> FormatResult:
    """Format one file's text and check the result (never raises).

    Args:
        text: the source; a BOM and CR/CRLF line ends are accepted (the result has LF).
        file: the display path, used in diagnostics and in the IR both sides are compared on.
        base_dir: the `.seq` file's folder, so `file "…"` templates resolve as in `seqc check`.
    """
    norm = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        before = parse_text(norm, file, base_dir=base_dir, root=base_dir)
    except Exception as e:  # noqa: BLE001 - the parser is meant never to raise; fmt must not either
        return FormatResult(file, text, None, (), f"{file}: cannot format safely (parser: {type(e).__name__}: {e})")
    syntax = tuple(d for d in before.diagnostics if d.code == "SEQ001")
    if syntax:
        return FormatResult(file, text, None, syntax)
    try:
        formatted = layout(norm)
        problem = _verify(before, formatted, file, base_dir)
    except RecursionError:
        formatted, problem = None, "the file nests too deeply to check the result"
    except Exception as e:  # noqa: BLE001 - a formatter bug must never reach the user's file
        formatted, problem = None, f"{type(e).__name__}: {e}"
    if problem:
        return FormatResult(file, text, None, (), f"{file}: cannot format safely ({problem})")
    return FormatResult(file, text, formatted)


def ir_view(nodes: tuple[Any, ...] | list[Any]) -> list[Any]:
    """The span-free JSON view of top-level IR nodes that formatting must preserve.

    `exit on` lists are compared in the canonical order the formatter writes them in: an
    exit is a set of events, the order they are listed in means nothing.
    """
    view = [ir.to_json(n, spans=False) for n in nodes]
    for node in view:
        if node.get("kind") == "Sequence":
            node["exit_on"] = sorted(node["exit_on"], key=_exit_key)
    return view


def unified_diff(result: FormatResult) -> str:
    """A unified diff from the original text to the formatted one ("" when unchanged)."""
    if not result.changed:
        return ""
    lines = difflib.unified_diff(_lines(result.original), _lines(result.formatted),
                                 fromfile=result.file, tofile=result.file)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def _lines(text: str) -> list[str]:
    # Not str.splitlines: a form feed or U+2028 inside a comment or string is not a line end here.
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


# ---------------------------------------------------------------- checks


def _verify(before, formatted: str, file: str, base_dir: Path | None) -> str | None:
    after = parse_text(formatted, file, base_dir=base_dir, root=base_dir)
    if any(d.code == "SEQ001" for d in after.diagnostics):
        return "the result does not parse"
    if not ir.json_equal(ir_view(before.nodes), ir_view(after.nodes)):   # `!=` recurses per level
        return "the result means something else"
    if Counter(c[2].rstrip() for c in before.comments) != Counter(c[2].rstrip() for c in after.comments):
        return "a comment would be lost"
    return None


def _exit_key(name: str) -> tuple[int, str]:
    return (ir.EXIT_EVENTS.index(name) if name in ir.EXIT_EVENTS else len(ir.EXIT_EVENTS), name)


# ---------------------------------------------------------------- tokens


@functools.cache
def _cst_parser() -> Lark:
    """The project grammar with every token kept (the formatter needs keywords and punctuation)."""
    return Lark(GRAMMAR_PATH.read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                keep_all_tokens=True, maybe_placeholders=False, postlex=_KeepErrorTerminals(),
                lexer_callbacks={"COMMENT": _COMMENT_SINK})


class _CommentSink:
    sink: list[Token] | None = None

    def __call__(self, tok: Token) -> Token:
        if self.sink is not None:
            self.sink.append(tok)
        return tok


_COMMENT_SINK = _CommentSink()


def _tokens(node: Tree | Token) -> Iterator[Token]:
    """The tokens under `node` in source order (iterative: conditions may nest deeply)."""
    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Token):
            yield n
        else:
            stack.extend(reversed(n.children))


def quote(value: str) -> str:
    """A string value as a canonical `"…"` literal (printable characters as themselves)."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif not ch.isprintable() and ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


_DECODE_CTX = ParseContext(file="", base_dir=Path("."), root=Path("."))


def _long_string(tok: Token, depth: int) -> str:
    """A `\"\"\"…\"\"\"` string re-indented one level below its line (same value, same line offset)."""
    raw = str(tok)
    value = decode_string(_DECODE_CTX, tok)
    if raw[3:].split("\n", 1)[0].strip():
        # Text right after the opening quotes counts in the dedent, so the layout is the value.
        return raw if "\n" in raw else quote(value)
    pad = INDENT * (depth + 1)
    body = "\n".join(pad + line if line else "" for line in value.split("\n"))
    return f'"""\n{body}\n{pad}"""'


def _time_range(text: str) -> str:
    parts = []
    for part in re.sub(r"\s+", "", text).split("-"):
        hh, _, mm = part.partition(":")
        parts.append(f"{int(hh):02d}:{mm}")
    return "-".join(parts)


def _token_text(tok: Token, depth: int) -> str:
    if tok.type == "STRING":
        return quote(decode_string(_DECODE_CTX, tok))
    if tok.type == "LONG_STRING":
        return _long_string(tok, depth)
    if tok.type == "TIME_RANGE":
        return _time_range(str(tok))
    return str(tok)


def _space(prev: str | None, cur: str) -> bool:
    if prev is None or prev == "LPAR" or cur in _NO_SPACE_BEFORE:
        return False
    if cur == "LPAR" and prev == "NAME":       # has(phone), opened(opener), enum(a, b)
        return False
    return not (prev == "LBRACE" and cur == "RBRACE")


# ---------------------------------------------------------------- lines


@dataclass
class _Comment:
    text: str
    blank: bool = False        # a blank line before it in the source


@dataclass
class _Line:
    depth: int
    group: int                 # trailing comments align across the lines of one group
    align: tuple[int, str] | None = None
    cells: list[list[str]] = field(default_factory=lambda: [[]])
    leading: list[_Comment] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)
    blank: bool = False        # a blank line in the source before its first token
    force_blank: bool = False
    closing: bool = False      # a `}` line: never a blank line before it
    comment_depth: int | None = None
    has_token: bool = False
    last_type: str | None = None
    text: str = ""

    @property
    def opens(self) -> bool:
        return self.text.endswith("{")


class _Writer:
    """Collects lines of tokens and places each comment by its source position."""

    def __init__(self, text: str, comments: list[Token]) -> None:
        self.text = text
        self.comments = comments
        self.starts = [c.start_pos for c in comments]
        self.next = 0
        self.lines: list[_Line] = []
        self.cur: _Line | None = None
        self.last_line: _Line | None = None
        self.prev_end = 0
        self.tok_starts: list[int] = []       # every consumed token, with the line it went to
        self.tok_lines: list[_Line] = []

    def newline(self, depth: int, group: int, **kw: Any) -> _Line:
        self.cur = _Line(depth, group, **kw)
        self.lines.append(self.cur)
        return self.cur

    def comments_between(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self.starts, start, lo=self.next)
        return i < len(self.starts) and self.starts[i] < end

    def consume(self, tok: Token) -> None:
        """Account for `tok` (and the comments before it) without writing it."""
        self.flush(tok.start_pos)
        line = self.cur
        if not line.has_token:
            line.blank = self._blank_before(tok.start_pos)
            line.has_token = True
        self.prev_end = tok.end_pos
        self.last_line = line
        self.tok_starts.append(tok.start_pos)
        self.tok_lines.append(line)

    def put(self, text: str, kind: str) -> None:
        cell = self.cur.cells[-1]
        if cell and _space(self.cur.last_type, kind):
            cell.append(" ")
        cell.append(text)
        self.cur.last_type = kind

    def tok(self, tok: Token, text: str | None = None) -> None:
        self.consume(tok)
        self.put(_token_text(tok, self.cur.depth) if text is None else text, tok.type)

    def cell(self) -> None:
        self.cur.cells.append([])
        self.cur.last_type = None

    def flush(self, pos: float) -> None:
        while self.next < len(self.comments) and self.starts[self.next] < pos:
            c = self.comments[self.next]
            self.next += 1
            text = str(c).rstrip()
            line_start = self.text.rfind("\n", 0, c.start_pos) + 1
            alone = not self.text[line_start:c.start_pos].strip()
            if not alone and self.last_line is not None:
                self._trailing(text, line_start)
            else:
                blank = not self.cur.has_token and self._blank_before(c.start_pos)
                self.cur.leading.append(_Comment(text, blank))
            self.prev_end = c.end_pos

    def _trailing(self, text: str, line_start: int) -> None:
        # A `# seqc: ignore` after code covers its source line. When that line is split (a
        # one-line step laid out on several), it goes above the first of them: on a line of
        # its own it covers the block starting below it, which is what the source line held.
        if _SUPPRESSION.search(text):
            first = self.tok_lines[bisect.bisect_left(self.tok_starts, line_start)]
            if first is not self.last_line:
                first.leading.append(_Comment(text))
                return
        self.last_line.trailing.append(text)

    def _blank_before(self, pos: int) -> bool:
        return self.text.count("\n", self.prev_end, pos) >= 2


# ---------------------------------------------------------------- layout


def layout(text: str) -> str:
    """The canonical text of a source that parses without SEQ001 (lark errors propagate)."""
    comments: list[Token] = []
    _COMMENT_SINK.sink = comments
    try:
        tree = _cst_parser().parse(text)
    finally:
        _COMMENT_SINK.sink = None
    comments.sort(key=lambda c: c.start_pos)
    printer = _Printer(_Writer(text, comments))
    printer.top(tree)
    return _render(printer.w.lines)


class _Printer:
    def __init__(self, writer: _Writer) -> None:
        self.w = writer
        self.groups = 0

    def _group(self) -> int:
        self.groups += 1
        return self.groups

    def top(self, tree: Tree) -> None:
        for i, node in enumerate(tree.children):
            self.block(node, 0, 0, self._group(), force_blank=i > 0)
        w = self.w
        w.newline(0, 0)
        w.flush(float("inf"))

    # -- blocks
    def block(self, tree: Tree, depth: int, group: int, inner: int, *, force_blank: bool = False) -> None:
        w = self.w
        kids = tree.children
        lb = next(i for i, k in enumerate(kids) if isinstance(k, Token) and k.type == "LBRACE")
        header, items, lbrace, rbrace = kids[:lb], kids[lb + 1:-1], kids[lb], kids[-1]
        w.newline(depth, group, force_blank=force_blank)
        self.inline(header)
        inside_comments = w.comments_between(lbrace.end_pos, rbrace.start_pos)
        if not items and not inside_comments:
            w.tok(lbrace)
            w.tok(rbrace)
            return
        if tree.data == "variant" and not inside_comments and self._fits_one_line(header, items, depth):
            w.tok(lbrace)
            self.inline(items)
            w.tok(rbrace)
            return
        w.tok(lbrace)
        spaced = _SPACED.get(tree.data, frozenset())
        prev = None
        for item in items:
            force = prev is not None and (item.data in spaced or prev in spaced)
            self.item(item, depth + 1, inner, force)
            prev = item.data
        w.newline(depth, group, closing=True, comment_depth=depth + 1)
        w.tok(rbrace)

    def _fits_one_line(self, header: list, items: list, depth: int) -> bool:
        if len(items) != 1:
            return False
        text = _flat(header + ["{"] + items + ["}"], depth)
        return "\n" not in text and len(INDENT * depth + text) <= ONE_LINE_LIMIT

    def item(self, node: Tree, depth: int, group: int, force_blank: bool) -> None:
        kind = node.data
        if kind in _BLOCKS:
            inner = self._group() if kind == "step" else group
            self.block(node, depth, group, inner, force_blank=force_blank)
            return
        line = self.w.newline(depth, group, force_blank=force_blank)
        if kind in _OWN_LAYOUT:
            getattr(self, "_" + kind)(line, node.children)
        else:
            self.inline([node])

    # -- items with their own layout (named after grammar rules)
    def _field(self, line: _Line, kids: list) -> None:          # name:  type  required
        line.align = (line.group, "field")
        self.inline(kids[:2])
        self.w.cell()
        self.inline(kids[2:3])
        if len(kids) > 3:
            self.w.cell()
            self.w.tok(kids[3])

    def _seq_window(self, line: _Line, kids: list) -> None:     # window  CHANNEL  days hours
        line.align = (line.group, "window")
        self.w.tok(kids[0])
        self.w.cell()
        self.w.tok(kids[1])
        self.w.cell()
        self.inline(kids[2:])

    def _route_line(self, line: _Line, kids: list) -> None:     # sequence  if cond
        line.align = (line.group, "route")
        self.w.tok(kids[0])
        if len(kids) > 1:
            self.w.cell()
            self.inline(kids[1:])

    def _exit_on(self, line: _Line, kids: list) -> None:        # exit on replied, bounced, …
        self.inline(kids[:2])
        names = []
        for t in kids[2:]:
            self.w.consume(t)
            if t.type != "COMMA":
                names.append(str(t))
        self.w.put(", ".join(sorted(names, key=_exit_key)), "NAME")

    def _on_event_within(self, line: _Line, kids: list) -> None:   # within 1 day, within 3 days
        for i, k in enumerate(kids):
            if isinstance(k, Token) and k.type in ("DAY", "DAYS"):
                self.w.tok(k, "day" if str(kids[i - 1]) == "1" else "days")
            else:
                self.inline([k])

    def inline(self, nodes: list) -> None:
        toks = [t for n in nodes for t in _tokens(n)]
        for i, t in enumerate(toks):
            if t.type == "COMMA" and i + 1 < len(toks) and toks[i + 1].type in ("RPAR", "RPAREN"):
                self.w.consume(t)            # a trailing comma in `(a, b,)`
            else:
                self.w.tok(t)


def _flat(nodes: list, depth: int) -> str:
    """Nodes as one line of text without comments (for width checks)."""
    out: list[str] = []
    prev = None
    for n in nodes:
        for t in ([Token("LBRACE" if n == "{" else "RBRACE", n)] if isinstance(n, str) else _tokens(n)):
            if out and _space(prev, t.type):
                out.append(" ")
            out.append(_token_text(t, depth))
            prev = t.type
    return "".join(out)


# ---------------------------------------------------------------- rendering


def _render(lines: list[_Line]) -> str:
    lines = [ln for ln in lines if ln.has_token or ln.leading or ln.trailing]
    _cell_text(lines)
    columns = _comment_columns(lines)
    out: list[str] = []
    after_open = True                 # no blank line at the top of the file or after a `{`
    for ln in lines:
        pad = INDENT * ln.depth
        cpad = INDENT * (ln.comment_depth if ln.comment_depth is not None else ln.depth)
        # Only one comment can trail a line; the others go above it, ahead of the comments
        # already there, so a `# seqc: ignore` stays right above the block it covers.
        kept = _kept_trailing(ln.trailing) if ln.has_token else None
        moved = [t for i, t in enumerate(ln.trailing) if i != kept]
        items: list[tuple[str, bool, bool]] = [(cpad + t, False, False) for t in moved]
        items += [(cpad + c.text, c.blank, False) for c in ln.leading]
        if ln.has_token:
            code = pad + ln.text
            if kept is not None:
                last = code.rsplit("\n", 1)[-1]
                code += " " * max(COMMENT_GAP, columns.get(ln.group, 0) - len(last)) + ln.trailing[kept]
            items.append((code, ln.blank, True))
        if ln.force_blank and items:
            items[0] = (items[0][0], True, items[0][2])
        for text, blank, is_code in items:
            if blank and not after_open and not (is_code and ln.closing):
                out.append("")
            out.append(text)
            after_open = is_code and ln.opens
    return "\n".join(out) + "\n" if out else ""


def _kept_trailing(trailing: list[str]) -> int | None:
    """Which of a line's trailing comments stays at its end: the last suppression, else the last."""
    if not trailing:
        return None
    marks = [i for i, t in enumerate(trailing) if _SUPPRESSION.search(t)]
    return marks[-1] if marks else len(trailing) - 1


def _cell_text(lines: list[_Line]) -> None:
    """Join each line's cells, padding aligned columns (prospect fields, windows, routes)."""
    groups: dict[tuple[int, str], list[_Line]] = {}
    for ln in lines:
        cells = ["".join(c) for c in ln.cells]
        ln.cells = [[c] for c in cells]
        if ln.align:
            groups.setdefault(ln.align, []).append(ln)
        else:
            ln.text = " ".join(c for c in cells if c)
    for (_, kind), members in groups.items():
        rows = [[c[0] for c in ln.cells] for ln in members]
        if kind == "field":
            w0 = max(len(r[0]) for r in rows)
            w1 = max((len(r[1]) for r in rows if "(" not in r[1]), default=0)
            for ln, r in zip(members, rows):
                text = r[0].ljust(w0) + " " + r[1]
                if len(r) > 2:
                    text = r[0].ljust(w0) + " " + r[1].ljust(w1) + "  " + r[2]
                ln.text = text
        elif kind == "window":
            w1 = max(len(r[1]) for r in rows)
            for ln, r in zip(members, rows):
                ln.text = " ".join([r[0], r[1].ljust(w1), *r[2:]]).rstrip()
        else:  # route
            w0 = max((len(r[0]) for r in rows if len(r) > 1), default=0)
            for ln, r in zip(members, rows):
                ln.text = r[0].ljust(w0) + " " + r[1] if len(r) > 1 else r[0]


def _comment_columns(lines: list[_Line]) -> dict[int, int]:
    """Per group, the column trailing comments start at: past the group's longest commented line."""
    widths: dict[int, int] = {}
    for ln in lines:
        if ln.trailing and ln.has_token:
            last = (INDENT * ln.depth + ln.text).rsplit("\n", 1)[-1]
            if len(last) <= COMMENT_ALIGN_LIMIT:
                widths[ln.group] = max(widths.get(ln.group, 0), len(last))
    return {g: max(COMMENT_COLUMN, w + COMMENT_GAP) for g, w in widths.items()}

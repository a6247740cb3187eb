"""Parse events → IR nodes: the transformer the LALR parser calls as it reduces each rule.

`IRBuilder` runs inside the parser (lark's `transformer=` option), so no parse tree is built
and no recursion happens however deep conditions nest. It decodes literals (strings with
escapes, times, weekdays, dates) and reports the malformed ones (25:00, 2027-13-01, bad
escapes) as SEQ001 at the token; reads template files named by `file "…"` (regular files
inside the project only); and leaves everything semantic to the rules. `ParseContext`
carries one file's state through a parse; `compiler.parse` owns the parser and recovery.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Transformer

from compiler import ir
from compiler.diagnostics import Diagnostic, Severity, Span
from compiler.suggest import did_you_mean
from grammar import ROUTE_KEYWORDS

MAX_DIGITS = 18  # past this a number is a typo; Python caps int() at 4300 digits, floats overflow
MAX_DAY = 3650  # ten years: further is a typo, and dates past 9999 would overflow

_KEPT_TOKEN_TYPES = frozenset({"NAME", "STRING", "LONG_STRING", "NUMBER", "CHANNEL", "WEEKDAYS",
                               "TIME_RANGE", "DATE", "PERCENT", "COMPARE_OP", "SPLIT", "REQUIRED",
                               "PROSPECT", "NONE"})


@dataclass
class ParseContext:
    """Per-file state shared by the lexer callback and the transformer."""

    file: str                   # display path used in spans
    base_dir: Path              # folder of the .seq file (for `file "…"`)
    root: Path                  # project folder: template files must stay inside it
    diagnostics: list[Diagnostic] = field(default_factory=list)
    comments: list[Token] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)  # display path → text

    syntax_errors: int = 0      # once the parser has had to repair, semantic errors are unreliable
    muted: bool = False         # set while recovery feeds placeholder tokens to the parser

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        if self.muted or (self.syntax_errors and code != "SEQ001"):
            return
        self.diagnostics.append(Diagnostic(code, Severity.ERROR, message, span, help))


@dataclass(frozen=True)
class ParsedFile:
    file: str
    nodes: tuple[Any, ...]
    comments: tuple[tuple[int, int, str, bool], ...]   # (line, column, text, alone on its line)
    diagnostics: tuple[Diagnostic, ...]
    templates: dict[str, str]


def _tok_span(ctx: ParseContext, t: Token) -> Span:
    return Span(ctx.file, t.line, t.column, t.end_line, t.end_column)


def _span_of(ctx: ParseContext, items: list[Any]) -> Span:
    """The span from the first to the last positioned child (tokens or IR nodes)."""
    first = last = None
    for c in items:
        s = _item_span(ctx, c)
        if s is not None:
            first = s
            break
    for c in reversed(items):
        s = _item_span(ctx, c)
        if s is not None:
            last = s
            break
    if first is None or last is None:
        return Span(ctx.file, 1, 1, 1, 1)
    return first.to(last)


def _item_span(ctx: ParseContext, c: Any) -> Span | None:
    if isinstance(c, Token):
        return _tok_span(ctx, c) if c.line is not None else None
    span = getattr(c, "span", None)
    if isinstance(span, Span):
        return span
    if isinstance(c, tuple) and len(c) == 3 and isinstance(c[2], Span):
        return c[2]
    return None


def _kept(children: list[Any]) -> list[Any]:
    """Children without the keyword and punctuation tokens a `!rule` keeps."""
    return [c for c in children if not isinstance(c, Token) or c.type in _KEPT_TOKEN_TYPES]


# ---------------------------------------------------------------- reading text


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR as LF: the file loader, fmt, editors and Jinja all count a lone CR as a line end."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _NotRegularFile(OSError):
    """A FIFO, device or socket where a template file was expected."""


def _read_regular_file(path: Path) -> bytes:
    """The bytes of `path`, refusing anything but a regular file without blocking on it.

    Reading a FIFO waits for a writer and a device may never end, so the type is checked
    before the open, and again on the open descriptor in case the path was swapped in
    between (O_NONBLOCK keeps that open of a FIFO from waiting).
    """
    _require_regular(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as fh:
        _require_regular(os.fstat(fd).st_mode)
        return fh.read()


def _require_regular(mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError
    if not stat.S_ISREG(mode):
        raise _NotRegularFile


# ---------------------------------------------------------------- literal decoding

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "/": "/"}


def decode_string(ctx: ParseContext, tok: Token) -> str:
    """The value of a STRING or LONG_STRING token (escapes, dedent for triple quotes)."""
    raw = str(tok)
    if tok.type == "LONG_STRING":
        return _dedent_long(raw[3:-3])
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and _is_hex(body[i + 2:i + 6]):
            code = int(body[i + 2:i + 6], 16)
            if 0xD800 <= code <= 0xDFFF:
                # A lone surrogate is not a character: no UTF-8 output could hold it.
                col = tok.column + 1 + i
                ctx.error("SEQ001", f"`\\u{body[i + 2:i + 6]}` is half of a UTF-16 pair, not a character",
                          Span(ctx.file, tok.line, col, tok.line, col + 6),
                          help="write the character itself (the file is UTF-8)")
            else:
                out.append(chr(code))
            i += 6
        else:
            col = tok.column + 1 + i
            ctx.error("SEQ001", f"unknown escape `\\{nxt}` in a string",
                      Span(ctx.file, tok.line, col, tok.line, col + 1 + len(nxt)),
                      help='escapes are \\" \\\\ \\n \\t and \\u00e9')
            out.append(nxt)
            i += 2
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 4 and all(c in "0123456789abcdefABCDEF" for c in s)


def _dedent_long(text: str) -> str:
    lines = text.split("\n")
    if lines and not lines[0].strip():
        lines = lines[1:]
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return textwrap.dedent("\n".join(lines))


def _long_string_offset(tok: Token) -> int:
    """Lines between the token start and the first line of its dedented text."""
    raw = str(tok)
    if tok.type == "LONG_STRING" and not raw[3:].split("\n", 1)[0].strip():
        return 1
    return 0


def parse_time(text: str) -> int | None:
    """`HH:MM` → minutes of the day, or None when impossible (24:00 allowed as an end)."""
    hh, _, mm = text.strip().partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        return None
    h, m = int(hh), int(mm)
    if m > 59 or h > 24 or (h == 24 and m):
        return None
    return h * 60 + m


def parse_weekdays(text: str) -> tuple[tuple[int, ...] | None, str | None]:
    """`tue-thu`, `mon,wed,fri` → sorted weekday numbers, or an error message."""
    days: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        i, j = ir.WEEKDAYS.index(a), ir.WEEKDAYS.index(b or a)
        if j < i:
            return None, f"weekday range `{part}` runs backwards"
        days.update(range(i, j + 1))
    return tuple(sorted(days)), None


# ---------------------------------------------------------------- the builder


class IRBuilder(Transformer):
    """Callbacks named after grammar rules; each returns an IR node (or a small tuple)."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.ctx: ParseContext | None = None

    # -- helpers
    def _span(self, items: list[Any]) -> Span:
        return _span_of(self.ctx, items)

    def _tspan(self, t: Token) -> Span:
        return _tok_span(self.ctx, t)

    def _int(self, t: Token, what: str, minimum: int = 0) -> int:
        text = str(t)
        if len(text.lstrip("-")) > MAX_DIGITS:
            self.ctx.error("SEQ001", f"{what} `{text[:12]}…` has more than {MAX_DIGITS} digits", self._tspan(t))
            return minimum
        if "." in text or int(float(text)) < minimum:
            self.ctx.error("SEQ001", f"{what} must be a whole number of at least {minimum}, not `{text}`",
                           self._tspan(t))
            return max(minimum, int(float(text)))
        return int(text)

    def _day(self, t: Token) -> int:
        day = self._int(t, "a step's day")
        if day > MAX_DAY:
            self.ctx.error("SEQ001", f"day {day} is more than ten years after the track starts", self._tspan(t),
                           help=f"days run from 0 to {MAX_DAY}")
            return MAX_DAY
        return day

    def _date(self, t: Token) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(t))
        except ValueError:
            self.ctx.error("SEQ001", f"`{t}` is not a real date", self._tspan(t), help="dates are YYYY-MM-DD")
            return None

    def _string(self, t: Token) -> str:
        return decode_string(self.ctx, t)

    # -- top level
    def start(self, children):
        return children

    # -- prospect
    def prospect(self, children):
        fields = tuple(c for c in children if isinstance(c, ir.Field))
        return ir.Prospect(fields, self._span(children))

    def field(self, children):
        name, (type_name, values, _), *rest = children
        required = bool(rest)
        return ir.Field(str(name), type_name, required, self._span(children), values)

    def field_type(self, children):
        (t,) = children
        name = str(t)
        if name not in ir.FIELD_TYPES or name == "enum":
            hint = did_you_mean(name, ir.FIELD_TYPES) if name != "enum" else "write `enum(a, b, c)`"
            msg = f"unknown field type `{name}`" if name != "enum" else "`enum` needs its values: `enum(a, b)`"
            self.ctx.error("SEQ001", msg, self._tspan(t),
                           help=hint or "types are " + ", ".join(f"`{x}`" for x in ir.FIELD_TYPES))
        return (name, (), self._tspan(t))

    def enum_type(self, children):
        head, *values, _close = children
        if str(head) != "enum":
            self.ctx.error("SEQ001", f"`{head}(…)` is not a field type", self._tspan(head),
                           help="write `enum(a, b, c)` for a fixed set of values")
        return ("enum", tuple(str(v) for v in values), self._span(children))

    # -- sequence
    def sequence(self, children):
        kept = _kept(children)
        name_tok = kept[0]
        if str(name_tok) in ROUTE_KEYWORDS:
            self.ctx.error("SEQ001", f"a sequence cannot be named `{name_tok}`: a `route` line reads it as a keyword",
                           self._tspan(name_tok), help="rename the sequence")
        title = None
        if len(kept) > 1 and isinstance(kept[1], Token) and kept[1].type in ("STRING", "LONG_STRING"):
            title = self._string(kept[1])
        items: dict[str, Any] = {}
        windows, steps, events, paths = [], [], [], []
        for c in kept[1:]:
            if isinstance(c, ir.Step):
                steps.append(c)
            elif isinstance(c, ir.OnEvent):
                events.append(c)
            elif isinstance(c, ir.Path):
                paths.append(c)
            elif isinstance(c, ir.ChannelWindow):
                windows.append(c)
            elif isinstance(c, tuple) and len(c) == 3 and isinstance(c[0], str):
                key, value, span = c
                if key in items:
                    self.ctx.error("SEQ102", f"`{key}` is set twice in sequence `{name_tok}`", span,
                                   help="keep one")
                items[key] = (value, span)
        tier = items.get("tier")
        exit_on = items.get("exit")
        return ir.Sequence(
            name=str(name_tok), span=self._span(children), name_span=self._tspan(name_tok),
            file=self.ctx.file, title=title,
            tier=tier[0] if tier else None, tier_span=tier[1] if tier else None,
            timezone=items["timezone"][0] if "timezone" in items else None,
            windows=tuple(windows),
            holidays=items["holidays"][0] if "holidays" in items else None,
            exit_on=exit_on[0] if exit_on else ("replied", "bounced", "unsubscribed"),
            exit_span=exit_on[1] if exit_on else None,
            steps=tuple(steps), events=tuple(events), paths=tuple(paths),
        )

    def tier(self, children):
        (t,) = children
        return ("tier", str(t), self._tspan(t))

    def timezone_prospect(self, children):
        span = self._span(children)
        fallback = self._string(children[1]) if len(children) > 1 else None
        return ("timezone", ir.TimezoneSpec(True, fallback, span), span)

    def timezone_fixed(self, children):
        span = self._span(children)
        return ("timezone", ir.TimezoneSpec(False, self._string(children[0]), span), span)

    def holidays_prospect(self, children):
        span = self._span(children)
        return ("holidays", ir.HolidaySpec(True, None, span), span)

    def holidays_fixed(self, children):
        span = self._span(children)
        return ("holidays", ir.HolidaySpec(False, self._string(children[0]), span), span)

    def holidays_none(self, children):
        span = self._span(children)
        return ("holidays", ir.HolidaySpec(False, None, span), span)

    def exit_on(self, children):
        # Exit events are a set: keep them in one canonical order so the IR (and
        # `seqc fmt`, which sorts the list) does not depend on how they were written.
        names = list(dict.fromkeys(str(c) for c in children))
        order = {name: i for i, name in enumerate(ir.EXIT_EVENTS)}
        names.sort(key=lambda n: order.get(n, len(order)))
        return ("exit", tuple(names), self._span(children))

    def _window(self, children) -> ir.Window:
        days = None
        time_tok = children[-1]
        if len(children) > 1:
            days, err = parse_weekdays(str(children[0]))
            if err:
                self.ctx.error("SEQ001", err, self._tspan(children[0]), help="write days in week order, like `tue-thu`")
        a, _, b = str(time_tok).partition("-")
        start, end = parse_time(a), parse_time(b)
        if start is None or end is None or start >= 24 * 60:
            bad = a.strip() if start is None or start >= 24 * 60 else b.strip()
            self.ctx.error("SEQ001", f"`{bad}` is not a time of day", self._tspan(time_tok),
                           help="times are 24-hour HH:MM, from 00:00 to 23:59 (24:00 may end a window)")
            start, end = start or 0, end or 0
        return ir.Window(days, start, end, self._span(children))

    def seq_window(self, children):
        channel, *rest = children
        window = self._window(rest)
        return ir.ChannelWindow(str(channel), window, self._span(children))

    def step_window(self, children):
        return ("window", self._window(children), self._span(children))

    # -- steps
    def step(self, children):
        kept = _kept(children)
        day_tok, channel_tok, name_tok = kept[0], kept[1], kept[2]
        rest = kept[3:]
        title = None
        if rest and isinstance(rest[0], Token) and rest[0].type in ("STRING", "LONG_STRING"):
            title = self._string(rest[0])
            rest = rest[1:]
        guard = None
        if rest and isinstance(rest[0], tuple) and rest[0][0] == "guard":
            guard = rest[0][1]
            rest = rest[1:]
        name = str(name_tok)
        attrs: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        shared: dict[str, ir.Template] = {}
        variants: list[ir.Variant] = []
        branches: list[ir.Branch] = []
        for item in rest:
            if isinstance(item, ir.Variant):
                variants.append(item)
                continue
            if isinstance(item, ir.Branch):
                branches.append(item)
                continue
            key, value, span = item
            target = shared if key in ("subject", "body", "note", "script") else attrs
            if key in target:
                self.ctx.error("SEQ102", f"`{key}` is set twice in step `{name}`", span, help="keep one")
            target[key] = value
            spans[key] = span
        return ir.Step(
            name=name, day=self._day(day_tok), channel=str(channel_tok),
            span=self._span(children), name_span=self._tspan(name_tok), title=title, guard=guard,
            purpose=attrs.get("purpose"), purpose_span=spans.get("purpose"),
            action=attrs.get("action"), action_span=spans.get("action"),
            thread=attrs.get("thread"), thread_span=spans.get("thread"),
            window=attrs.get("window"),
            content=ir.Content(**shared),
            variants=tuple(variants),
            split=attrs.get("split"), split_span=spans.get("split"),
            branches=tuple(branches),
        )

    def guard(self, children):
        return ("guard", children[0], self._span(children))

    def _simple(key):  # noqa: N805 - a factory for one-token fields
        def build(self, children):
            (t,) = children
            return (key, str(t), self._tspan(t))
        return build

    purpose = _simple("purpose")
    action = _simple("action")
    thread = _simple("thread")

    def _text_field(key):  # noqa: N805
        def build(self, children):
            return (key, children[0], self._span(children))
        return build

    subject = _text_field("subject")
    body = _text_field("body")
    note = _text_field("note")
    script = _text_field("script")

    def split(self, children):
        (t,) = children
        return ("split", tuple(int(x) for x in str(t).split("/")), self._tspan(t))

    def _content(self, items, owner: str) -> ir.Content:
        values: dict[str, ir.Template] = {}
        for key, value, span in items:
            if key in values:
                self.ctx.error("SEQ102", f"`{key}` is set twice in {owner}", span, help="keep one")
            values[key] = value
        return ir.Content(**values)

    def variant(self, children):
        kept = _kept(children)
        name = kept[0]
        items = [c for c in kept[1:] if isinstance(c, tuple)]
        return ir.Variant(str(name), self._content(items, f"variant `{name}`"), self._span(children))

    def when(self, children):
        kept = _kept(children)
        cond = kept[0]
        items = [c for c in kept[1:] if isinstance(c, tuple)]
        return ir.Branch(cond, self._content(items, "a `when` branch"), self._span(children))

    def otherwise(self, children):
        items = [c for c in _kept(children) if isinstance(c, tuple)]
        return ir.Branch(None, self._content(items, "an `else` branch"), self._span(children))

    def inline_text(self, children):
        (t,) = children
        return ir.Template(self._string(t), self._tspan(t), None, _long_string_offset(t))

    def file_text(self, children):
        (t,) = children
        rel = self._string(t)
        span = self._span(children)
        display, text = self._load_template(rel, self._tspan(t))
        return ir.Template(text if text is not None else "", span, display, 0)

    def _load_template(self, rel: str, span: Span) -> tuple[str | None, str | None]:
        ctx = self.ctx
        if not rel or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
            ctx.error("SEQ101", f"template path `{rel}` must be relative to the .seq file", span,
                      help="write a path inside the project, like `templates/opener.txt.j2`")
            return None, None
        target = ctx.base_dir / rel
        try:
            resolved = target.resolve()
            root = ctx.root.resolve()
        except (OSError, RuntimeError) as e:  # Python 3.11 raises RuntimeError for a loop, 3.13 ELOOP
            if isinstance(e, RuntimeError) or e.errno == errno.ELOOP:
                ctx.error("SEQ101", f"template path `{rel}` is a loop of symbolic links", span,
                          help="point the link at a template file inside the project")
                return None, None
            resolved, root = None, None
        except ValueError:  # a NUL in the path
            resolved, root = None, None
        if resolved is None or not resolved.is_relative_to(root):
            ctx.error("SEQ101", f"template path `{rel}` leaves the project folder", span,
                      help="keep templates inside the project (no `..` or links that lead outside it)")
            return None, None
        display = _join_display(ctx.file, rel)
        try:
            data = _read_regular_file(resolved)
        except FileNotFoundError:
            ctx.error("SEQ101", f"template file `{rel}` not found", span,
                      help=f"create `{display}` or fix the path")
            return None, None
        except IsADirectoryError:
            ctx.error("SEQ101", f"template path `{rel}` is a folder, not a file", span)
            return None, None
        except _NotRegularFile:
            ctx.error("SEQ101", f"template path `{rel}` is not a regular file (a pipe, device or socket)", span,
                      help="point `file` at a text file inside the project")
            return None, None
        except OSError as e:
            ctx.error("SEQ101", f"template file `{rel}` cannot be read ({e.strerror})", span)
            return None, None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            ctx.error("SEQ101", f"template file `{rel}` is not UTF-8 text", span)
            return None, None
        if "\x00" in text:
            ctx.error("SEQ101", f"template file `{rel}` is binary, not text", span)
            return None, None
        text = normalize_newlines(text)
        ctx.templates[display] = text
        return display, text

    # -- events and paths
    def event(self, children):
        name, step, _close = children
        return ir.Event(str(name), str(step), self._span(children), self._tspan(step))

    def event_bare(self, children):
        (name,) = children
        return ir.Event(str(name), None, self._tspan(name))

    def on_event(self, children):
        kept = _kept(children)
        event, target = kept[0], kept[-1]
        return ir.OnEvent(event, str(target), self._span(children), self._tspan(target))

    def on_event_within(self, children):
        kept = _kept(children)
        event, days, target = kept[0], kept[1], kept[-1]
        return ir.OnEvent(event, str(target), self._span(children), self._tspan(target),
                          within_days=min(self._int(days, "`within` days", 1), MAX_DAY))

    def path(self, children):
        kept = _kept(children)
        name = kept[0]
        title = self._string(kept[1]) if len(kept) > 1 and isinstance(kept[1], Token) else None
        steps = tuple(c for c in kept if isinstance(c, ir.Step))
        return ir.Path(str(name), steps, self._span(children), self._tspan(name), title)

    # -- conditions
    def or_cond(self, children):
        ops: list[ir.Cond] = []
        for c in children:
            ops.extend(c.operands if isinstance(c, ir.Or) else (c,))
        return ir.Or(tuple(ops), self._span(children))

    def and_cond(self, children):
        ops: list[ir.Cond] = []
        for c in children:
            ops.extend(c.operands if isinstance(c, ir.And) else (c,))
        return ir.And(tuple(ops), self._span(children))

    def not_(self, children):
        return ir.Not(children[0], self._span(children))

    def compare(self, children):
        name, op, value = children
        return ir.Compare(str(name), str(op), value[0], self._span([name, value]))

    def in_(self, children):
        name, *values, close = children
        return ir.In(str(name), tuple(v[0] for v in values), self._span([name, close]))

    def contains(self, children):
        name, value = children
        return ir.Contains(str(name), self._string(value), self._span(children))

    def call(self, children):
        name, arg, _close = children
        if str(name) == "has":
            return ir.Has(str(arg), self._span(children))
        return ir.Event(str(name), str(arg), self._span(children), self._tspan(arg))

    def bare(self, children):
        (name,) = children
        if str(name) in ir.EVENTS:
            return ir.Event(str(name), None, self._tspan(name))
        return ir.Truthy(str(name), self._tspan(name))

    def literal(self, children):
        (t,) = children
        span = self._tspan(t)
        if t.type in ("STRING", "LONG_STRING"):
            return (self._string(t), None, span)
        if t.type == "DATE":
            return (self._date(t), None, span)
        text = str(t).rstrip("%")
        if len(text.lstrip("-")) > MAX_DIGITS:
            self.ctx.error("SEQ001", f"number `{text[:12]}…` has more than {MAX_DIGITS} digits", span)
            return (0, None, span)
        value: Any = float(text) if "." in text else int(text)
        return (value, None, span)

    # -- campaign
    def campaign(self, children):
        kept = _kept(children)
        name = kept[0]
        values: dict[str, Any] = {}
        for c in kept[1:]:
            if isinstance(c, tuple) and len(c) == 3 and isinstance(c[0], str):
                key, value, span = c
                if key in values:
                    self.ctx.error("SEQ102", f"`{key}` is set twice in campaign `{name}`", span, help="keep one")
                values[key] = value
        return ir.Campaign(
            name=str(name), span=self._span(children), name_span=self._tspan(name), file=self.ctx.file,
            start=values.get("start"), enroll_per_day=values.get("enroll"),
            routes=values.get("route", ()), sender=values.get("sender"),
            compliance=values.get("compliance"), crm=values.get("crm"), goals=values.get("goals", ()),
        )

    def start_date(self, children):
        return ("start", self._date(children[0]), self._span(children))

    def enroll(self, children):
        return ("enroll", self._int(children[0], "`enroll` per day", 1), self._span(children))

    def route(self, children):
        routes = tuple(c for c in children if isinstance(c, ir.Route))
        return ("route", routes, self._span(children))

    def route_line(self, children):
        name = children[0]
        cond = children[1] if len(children) > 1 else None
        return ir.Route(str(name), self._span(children), cond)

    def sender(self, children):
        values: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        for c in children:
            if isinstance(c, tuple):
                key, value, span = c
                if key in values:
                    self.ctx.error("SEQ102", f"`{key}` is set twice in `sender`", span, help="keep one")
                values[key], spans[key] = value, span
        return ("sender", ir.Sender(span=self._span(children), auth_span=spans.get("auth"), **values),
                self._span(children))

    def sender_from(self, children):
        return ("from_", self._string(children[0]), self._span(children))

    def sender_reply_to(self, children):
        return ("reply_to", self._string(children[0]), self._span(children))

    def sender_mailboxes(self, children):
        return ("mailboxes", self._int(children[0], "`mailboxes`", 1), self._span(children))

    def sender_daily_limit(self, children):
        return ("daily_limit", self._int(children[0], "`daily_limit`", 1), self._span(children))

    def sender_warmup(self, children):
        return ("warmup_since", self._date(children[0]), self._span(children))

    def sender_warmed(self, children):
        return ("warmup_since", None, self._span(children))

    def sender_auth(self, children):
        return ("auth", tuple(str(c) for c in children), self._span(children))

    def compliance(self, children):
        values: dict[str, Any] = {}
        for c in children:
            if isinstance(c, tuple):
                key, value, span = c
                if key in values:
                    self.ctx.error("SEQ102", f"`{key}` is set twice in `compliance`", span, help="keep one")
                values[key] = value
        return ("compliance", ir.Compliance(span=self._span(children), **values), self._span(children))

    def compliance_unsubscribe(self, children):
        return ("unsubscribe", children[0], self._span(children))

    def compliance_postal(self, children):
        return ("postal_address", self._string(children[0]), self._span(children))

    def compliance_basis(self, children):
        return ("lawful_basis", str(children[0]), self._span(children))

    def crm(self, children):
        return ("crm", str(children[0]), self._span(children))

    def goals(self, children):
        goals = tuple(c for c in children if isinstance(c, ir.Goal))
        return ("goals", goals, self._span(children))

    def goal(self, children):
        name = children[0]
        op = str(children[1]) if len(children) == 3 else None
        value = children[-1]
        text = str(value).rstrip("%")
        if len(text.lstrip("-")) > MAX_DIGITS:
            self.ctx.error("SEQ001", f"number `{text[:12]}…` has more than {MAX_DIGITS} digits", self._tspan(value))
            text = "0"
        return ir.Goal(str(name), float(text), self._span(children), op)


def _join_display(seq_display: str, rel: str) -> str:
    import posixpath
    base = posixpath.dirname(seq_display.replace("\\", "/"))
    return posixpath.normpath(posixpath.join(base, rel)) if base else posixpath.normpath(rel)

"""Source text → IR nodes: one cached LALR parser that builds the IR while it parses.

The transformer (`compiler.ir_builder.IRBuilder`) runs inside the LALR parser (lark's
`transformer=` option), so no parse tree is built and no recursion happens however deep
conditions nest. Syntax errors become SEQ001 diagnostics with the expected tokens in the
user's words; the parser then skips tokens until it can go on, so one file can report
several errors. Malformed literals are the builder's to report; everything semantic
(references, channels, windows) is left to the rules.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from compiler import ir
from compiler.diagnostics import Diagnostic, Severity, Span
from compiler.ir_builder import IRBuilder, ParseContext, ParsedFile, normalize_newlines
from compiler.suggest import did_you_mean
from grammar import GRAMMAR_PATH

__all__ = ["ParsedFile", "normalize_newlines", "parse_text", "parser", "syntax_diagnostic"]

MAX_ERRORS_PER_FILE = 20
MAX_REPAIRS_PER_FILE = 4 * MAX_ERRORS_PER_FILE  # repair tries, reported errors or not

# Terminal names as a user would say them.
_TOKEN_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "LONG_STRING": "a string",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "DATE": "a date (YYYY-MM-DD)",
    "TIME_RANGE": "a time range like `10:00-12:00`",
    "WEEKDAYS": "weekdays like `tue-thu`",
    "SPLIT": "a split like `50/50`",
    "CHANNEL": "a channel (`email`, `linkedin`, `call`, `task`)",
    "COMPARE_OP": "a comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)",
    "REQUIRED": "`required`",
    "PROSPECT": "`prospect`",
    "NONE": "`none`",
    "$END": "end of file",
}
_UNEXPECTED_NAMES = {
    "OPEN_STRING": "unterminated string",
    "BAD_NAME": "name `{value}`",
    "BAD_CHAR": "`{value}`",
    "$END": "end of file",
}

# ---------------------------------------------------------------- the parser


class _Comments:
    """Lexer callback target: the parser is cached, so the sink is swapped per parse."""

    sink: list[Token] | None = None

    def __call__(self, tok: Token) -> Token:
        if self.sink is not None:
            self.sink.append(tok)
        return tok


class _KeepErrorTerminals:
    """A no-op post-lexer whose only job is lark's `always_accept`.

    Terminals that no rule uses (the ones that describe bad input) are otherwise
    dropped from the grammar; accepted everywhere, they reach the parser as tokens
    it cannot take, so the error names them ("an unterminated string").
    """

    always_accept = ("OPEN_STRING", "BAD_NAME", "BAD_CHAR", "STRING", "LONG_STRING")

    def process(self, stream):
        return stream


_BUILDER = IRBuilder()
_COMMENTS = _Comments()


@functools.cache
def parser() -> Lark:
    """The one LALR parser (grammar analysis cached on disk by lark between runs)."""
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        transformer=_BUILDER,
        lexer_callbacks={"COMMENT": _COMMENTS},
        postlex=_KeepErrorTerminals(),
        cache=_cache_path(),
        maybe_placeholders=False,
    )


def _cache_path() -> str | bool:
    """A per-user lark cache file; parsing still works when it cannot be written."""
    import tempfile
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (os.path.join(base, "seqc"), tempfile.gettempdir()):
        try:
            os.makedirs(folder, exist_ok=True)
            if os.access(folder, os.W_OK):
                return os.path.join(folder, "grammar-lark-cache.tmp")
        except OSError:
            continue
    return False


def parse_text(text: str, file: str, *, base_dir: Path | None = None, root: Path | None = None) -> ParsedFile:
    """Parse one `.seq` source into top-level IR nodes plus diagnostics (never raises).

    CRLF and lone CR line ends count as LF, as they do for the file loader and fmt, so
    every span's line number means the same line wherever the text came from.
    """
    text = normalize_newlines(text)
    base = base_dir or Path(".")
    ctx = ParseContext(file=file, base_dir=base, root=root or base)
    _BUILDER.ctx = ctx
    _COMMENTS.sink = ctx.comments
    recovery = _Recovery(ctx)
    nodes: list[Any] = []
    try:
        result = parser().parse(text, on_error=recovery)
        if isinstance(result, list):
            nodes = [n for n in result if isinstance(n, (ir.Prospect, ir.Sequence, ir.Campaign))]
    except UnexpectedInput as e:
        ctx.muted = True
        recovery.record(e)
    finally:
        _BUILDER.ctx = None
        _COMMENTS.sink = None
    comments = tuple((t.line, t.column, str(t), _alone(text, t)) for t in ctx.comments)
    return ParsedFile(file, tuple(nodes), comments, tuple(ctx.diagnostics), dict(ctx.templates))


def _alone(text: str, tok: Token) -> bool:
    start = text.rfind("\n", 0, tok.start_pos) + 1
    return not text[start:tok.start_pos].strip()


class _Recovery:
    """`on_error` for lark: record a SEQ001, repair or skip, and go on.

    Repair first tries to insert one missing token (a `}`, a name, a string …)
    that lets the offending token be read; otherwise the token is skipped. Errors
    on a line that already has one, or right after skipped tokens, are the same
    mistake seen again and are not reported twice.

    Repairs are tried on throwaway parser states (`_trial`), each costing one copy of
    the state stack; after MAX_REPAIRS_PER_FILE tries, reported or not, bad tokens are
    only skipped, so a file of junk costs time linear in its size.
    """

    _INSERT_ORDER = ("RBRACE", "LBRACE", "NAME", "STRING", "NUMBER", "RPAR", "CHANNEL", "TIME_RANGE")
    _PLACEHOLDER = {"NAME": "_", "STRING": '""', "NUMBER": "0", "CHANNEL": "email", "TIME_RANGE": "00:00-00:01",
                    "RBRACE": "}", "LBRACE": "{", "RPAR": ")"}

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.count = 0
        self.repairs = 0
        self.last_end: int | None = None
        self.lines: set[int] = set()

    def __call__(self, e: UnexpectedInput) -> bool:
        # Recovery feeds tokens to the parser: the transformer callbacks that run
        # meanwhile describe placeholders, so what they report is dropped.
        self.ctx.muted = True
        try:
            self.record(e)
            if isinstance(e, UnexpectedToken) and e.token.type == "$END":
                return False
            if self.count >= MAX_ERRORS_PER_FILE:
                return False
            if isinstance(e, UnexpectedToken) and self.repairs < MAX_REPAIRS_PER_FILE:
                self.repairs += 1
                self._try_insert(e)
            return True
        finally:
            self.ctx.muted = False

    def _try_insert(self, e: UnexpectedToken) -> None:
        ip, tok = e.interactive_parser, e.token
        for kind in self._INSERT_ORDER:
            filler = Token(kind, self._PLACEHOLDER[kind], tok.start_pos, tok.line, tok.column,
                           tok.line, tok.column, tok.start_pos)
            after = _trial(ip.parser_state, filler)
            # The token was lexed for the state before the repair; read it again.
            retyped = _retype(tok, after) if after is not None else None
            if retyped is None:
                continue
            try:  # the trials say both are shifted; only now do the real callbacks run
                ip.feed_token(filler)
                ip.feed_token(retyped)
            except UnexpectedInput:
                pass
            return

    def record(self, e: UnexpectedInput) -> None:
        pos = getattr(e, "pos_in_stream", None)
        tok = getattr(e, "token", None)
        start = tok.start_pos if isinstance(tok, Token) and tok.start_pos is not None else pos
        line = getattr(e, "line", 0) or 0
        contiguous = self.last_end is not None and start is not None and _only_trivia_between(
            e, self.last_end, start)
        if isinstance(tok, Token) and tok.end_pos is not None:
            self.last_end = tok.end_pos
        elif start is not None:
            self.last_end = start + 1
        if contiguous or line in self.lines:
            return
        self.lines.add(line)
        self.count += 1
        self.ctx.syntax_errors += 1
        self.ctx.diagnostics.append(syntax_diagnostic(e, self.ctx.file))


def _trial(state: Any, token: Token) -> Any | None:
    """A throwaway copy of lark's ParserState after shifting `token`, or None if it is refused.

    lark's own copies deep-copy the value stack (the IR built so far), which made recovery
    quadratic. A trial needs only the state stack: it gets its own copy of that, an empty
    value stack and no callbacks, so no transformer code runs and nothing of the real parse
    can be changed by it.
    """
    conf = copy.copy(state.parse_conf)
    conf.callbacks = {}
    trial = type(state)(conf, state.lexer, list(state.state_stack), [])
    try:
        trial.feed_token(token, token.type == "$END")
    except UnexpectedToken:
        return None
    return trial


def _accepts(state: Any) -> set[str]:
    """The terminals `state` can shift next: lark's `accepts()`, with cheap trials."""
    return {t for t in state.parse_conf.states[state.position]
            if t.isupper() and _trial(state, Token(t, "")) is not None}


def _retype(tok: Token, state: Any) -> Token | None:
    """`tok` as the first terminal (by priority) that matches its text and `state` can shift."""
    for name, pattern in _retype_candidates():
        if pattern.fullmatch(str(tok)):
            retyped = Token.new_borrow_pos(name, str(tok), tok)
            if _trial(state, retyped) is not None:
                return retyped
    return None


@functools.cache
def _retype_candidates() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(name, compiled pattern) of the terminals a token may be re-read as, by priority."""
    error_terminals = _KeepErrorTerminals.always_accept[:3]
    terms = sorted(parser().terminals, key=lambda t: -t.priority)
    return tuple((t.name, re.compile(t.pattern.to_regexp())) for t in terms if t.name not in error_terminals)


def _only_trivia_between(e: UnexpectedInput, a: int, b: int) -> bool:
    ip = getattr(e, "interactive_parser", None)
    text = None
    try:
        text = ip.lexer_thread.state.text.text if ip is not None else None
    except AttributeError:
        text = None
    if text is None:
        return False
    gap = text[a:b]
    return all(line.split("#", 1)[0].strip() == "" for line in gap.split("\n"))


def syntax_diagnostic(e: UnexpectedInput, file: str) -> Diagnostic:
    """A SEQ001 for a lark error, in the user's words."""
    line = getattr(e, "line", None) or 1
    column = getattr(e, "column", None) or 1
    if line < 1:
        line = 1
    if column < 1:
        column = 1
    expected = _expected_names(e)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        what = _describe_token(tok)
        end_line = tok.end_line if tok.end_line else line
        end_col = tok.end_column if tok.end_column and tok.type != "$END" else column + 1
        if tok.type == "OPEN_STRING":
            end_line, end_col = line, column + 1
        span = Span(file, line, column, end_line, max(end_col, column + 1) if end_line == line else end_col)
        hint = _hint(tok, expected)
        if tok.type == "$END":
            text = _source_text(e) or ""
            line, column = _end_position(text)
            span = Span(file, line, column, line, column + 1)
            brace = _unclosed_brace(text)
            if brace is not None and "`}`" in expected:
                hint = f"the `{{` on line {brace[0]} is never closed: add the missing `}}`"
    elif isinstance(e, UnexpectedCharacters):
        what = f"`{e.char}`" if e.char.isprintable() else f"character U+{ord(e.char):04X}"
        span = Span(file, line, column, line, column + 1)
        hint = None
    else:  # pragma: no cover - lark raises only the two kinds above in LALR mode
        what, span, hint = "input", Span(file, line, column, line, column + 1), None
    message = f"unexpected {what}"
    if isinstance(e, UnexpectedToken) and e.token.type == "OPEN_STRING":
        message, expected = "unterminated string", []
    if what == "end of file" and expected == ["end of file"]:
        expected = []
    if expected:
        message += "; expected " + _or_list(expected)
    return Diagnostic("SEQ001", Severity.ERROR, message, span, hint)


def _source_text(e: UnexpectedInput) -> str | None:
    try:
        return e.interactive_parser.lexer_thread.state.text.text
    except AttributeError:
        return None


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character."""
    body = text.rstrip()
    if not body:
        return 1, 1
    return body.count("\n") + 1, len(body.rsplit("\n", 1)[-1]) + 1


def _unclosed_brace(text: str) -> tuple[int, int] | None:
    """(line, column) of the innermost `{` never closed, skipping strings and comments."""
    stack: list[tuple[int, int]] = []
    i, line, col, n = 0, 1, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith('"""', i):
            end = text.find('"""', i + 3)
            stop = n if end < 0 else end + 3
            chunk = text[i:stop]
            line += chunk.count("\n")
            col = len(chunk.rsplit("\n", 1)[-1]) + (col if "\n" not in chunk else 1)
            i = stop
            continue
        if ch == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            col += j + 1 - i
            i = j + 1
            continue
        if ch == "{":
            stack.append((line, col))
        elif ch == "}" and stack:
            stack.pop()
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return stack[-1] if stack else None


def _expected_names(e: UnexpectedInput) -> list[str]:
    raw: set[str] = set()
    ip = getattr(e, "interactive_parser", None)
    if ip is not None:
        # LALR merges look-ahead sets, so the state's raw `expected` can list tokens
        # from other contexts; `accepts()` tries each one for real.
        try:
            raw = _accepts(ip.parser_state)
        except Exception:  # noqa: BLE001 - fall back to the raw set below
            raw = set()
    raw = raw or set(getattr(e, "expected", None) or getattr(e, "allowed", None) or ())
    names: list[str] = []
    for term in sorted(raw):
        name = _TOKEN_NAMES.get(term)
        if name is None:
            try:
                pattern = parser().get_terminal(term).pattern
                name = f"`{pattern.value}`" if pattern.type == "str" else None
            except KeyError:
                name = None
        if name and name not in names and term not in ("OPEN_STRING", "BAD_NAME", "BAD_CHAR"):
            names.append(name)
    return names


def _or_list(items: list[str]) -> str:
    if len(items) > 8:
        items = items[:8] + ["…"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _describe_token(tok: Token) -> str:
    template = _UNEXPECTED_NAMES.get(tok.type)
    value = str(tok)
    if len(value) > 40:
        value = value[:37] + "…"
    value = "".join(ch if ch.isprintable() else "?" for ch in value)
    if template:
        return template.format(value=value)
    if tok.type in ("STRING", "LONG_STRING"):
        return "string"
    if tok.type == "NAME":
        return f"name `{value}`"
    return f"`{value}`"


def _hint(tok: Token, expected: list[str]) -> str | None:
    """A hint for the mistakes people actually make."""
    value = str(tok)
    channel_expected = _TOKEN_NAMES["CHANNEL"] in expected
    if tok.type == "OPEN_STRING":
        return 'close the string with `"` on the same line, or use `"""…"""` for text over several lines'
    if tok.type == "$END" and "`}`" in expected:
        return "a `{` is never closed: add the missing `}`"
    if channel_expected and tok.type in ("NAME", "BAD_NAME"):
        return did_you_mean(value, ir.CHANNELS) or "channels are `email`, `linkedin`, `call` and `task`"
    if value in ir.CHANNELS and "`day`" in expected:
        return f"a step starts with its day, then the channel: `day 0 {value} name {{ … }}`"
    if _TOKEN_NAMES["WEEKDAYS"] in expected and tok.type in ("NAME", "BAD_NAME"):
        return "weekdays are mon tue wed thu fri sat sun, in ranges like `tue-thu` or lists like `mon,wed,fri`"
    if tok.type == "BAD_NAME" and (value != value.lower() or "-" in value):
        return "names use lowercase letters, digits and `_`, like `first_call`"
    if value == ":" and "`required`" in expected:
        return "the field before this one has no type: write `name: text`"
    if value == ":":
        return 'fields are written without `:`, like `subject "…"`'
    if value == "=":
        return "compare with `==`"
    if value in ("&", "|"):
        return "combine conditions with `and` / `or`"
    if value == "}" and "`{`" not in expected and expected:
        return "an extra `}`, or something missing before it"
    if tok.type == "NUMBER" and value.startswith("-") and _TOKEN_NAMES["NUMBER"] not in expected:
        return None
    return None

"""Diagnostic renderers at the edge: text with caret snippets, JSON, GitHub workflow commands, SARIF.

Every phase produces `Diagnostic` records; only this module turns them into text. Renderers keep the
order they are given (the caller sorts with `Diagnostic.sort_key`) and return complete output that
ends with a newline (GitHub output is empty when there is nothing to report). Only `render_text`
ever emits ANSI escapes, and only with `color=True`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from urllib.parse import quote

from compiler.diagnostics import Diagnostic, Severity, Span

__all__ = [
    "RuleInfo",
    "artifact_uri",
    "counts",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
    "summary_line",
]

RuleInfo = tuple[Severity, str, str | None]
"""What SARIF needs to know about a rule: default severity, one-line summary, help URI."""

TAB_WIDTH = 4
MAX_SNIPPET_WIDTH = 100
ELLIPSIS = "..."
# A line is cut this many characters either side of the caret before it is measured: more than a
# snippet can show unless most characters are zero-width. Tabs in a cut line count from the cut.
_CUT_MARGIN = 2 * MAX_SNIPPET_WIDTH
_LINE_END = re.compile(r"\r\n|\r|\n")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

_COUNT_KEYS = {Severity.ERROR: "errors", Severity.WARNING: "warnings", Severity.INFO: "infos"}
_GITHUB_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_ANSI_COLORS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "34"}

# C0 controls and DEL are shown as their Unicode "control pictures" (U+2400 block), as rustc does;
# anything else a terminal might act on or mis-measure (C1 controls, bidi overrides and other format
# characters, line/paragraph separators, surrogates, private use, unassigned) becomes U+FFFD.
_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


# ---------------------------------------------------------------- counts


def counts(diags: Iterable[Diagnostic]) -> dict[str, int]:
    """Count diagnostics by severity.

    Returns:
        `{"errors": E, "warnings": W, "infos": I}`, in that key order.
    """
    tally = {"errors": 0, "warnings": 0, "infos": 0}
    for diag in diags:
        tally[_COUNT_KEYS[diag.severity]] += 1
    return tally


def summary_line(tally: Mapping[str, int]) -> str:
    """The closing line of text output, e.g. `2 errors, 1 warning, 0 infos in 3 files`.

    Args:
        tally: a `counts()` result, optionally with a `"files"` entry (the JSON `summary` object
            fits as is); without `"files"` the ` in N files` part is left off.
    """
    line = ", ".join(
        _plural(tally.get(key, 0), key.removesuffix("s")) for key in ("errors", "warnings", "infos")
    )
    if "files" in tally:
        line += f" in {_plural(tally['files'], 'file')}"
    return line


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# ---------------------------------------------------------------- text


def render_text(
    diags: Sequence[Diagnostic],
    sources: Mapping[str, str],
    *,
    color: bool = False,
    files: int | None = None,
) -> str:
    """Human-readable diagnostics with rustc/ruff-style caret snippets and a summary line.

    Args:
        diags: the diagnostics, already in display order.
        sources: file text by path (the `Span.file` value). A file missing here (a prospect CSV,
            a template that was not loaded), an empty file or a span past the end of its file
            gets the header line without a snippet.
        color: add ANSI colour (error red, warning yellow, info blue, bold code). The CLI passes
            True only when writing to a terminal.
        files: the number of files checked, for the summary; defaults to `len(sources)`.

    Source text, messages and paths are shown with control and other non-printable characters
    replaced, so a hostile input cannot emit terminal escape sequences.
    """
    lines = _SourceLines(sources)
    blocks = [_text_block(diag, lines, color) for diag in diags]
    tally = counts(diags) | {"files": len(sources) if files is None else files}
    return "\n\n".join([*blocks, summary_line(tally)]) + "\n"


class _SourceLines:
    """The lines of each source, split once per report (not once per diagnostic)."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.sources = sources
        self.split: dict[str, list[str]] = {}

    def line(self, file: str, number: int) -> str | None:
        """Line `number` (1-based) of `file`, or None when there is no such line or source."""
        lines = self.split.get(file)
        if lines is None:
            lines = self.split[file] = _split_lines(self.sources.get(file) or "")
        return lines[number - 1] if 1 <= number <= len(lines) else None


def _split_lines(text: str) -> list[str]:
    # CRLF and a lone CR end a line too: the parser and the file loader count them so.
    lines = _LINE_END.split(text)
    if lines[-1] == "":
        lines.pop()  # the end of the last line, not a line of its own
    return lines


def _text_block(diag: Diagnostic, sources: _SourceLines, color: bool) -> str:
    paint = _painter(color)
    sev = _ANSI_COLORS[diag.severity]
    code = paint(diag.code, "1", sev)
    message = _printable(diag.message)
    span = diag.span
    if span is None:
        lines = [f"{code} {message}"]
        gutter = 1
    else:
        lines = [f"{_printable(span.file)}:{span.line}:{span.column}: {code} {message}"]
        gutter = len(str(span.line))
        snippet = _snippet(span, sources.line(span.file, span.line))
        if snippet is not None:
            shown, pad, carets = snippet
            bar = " " * gutter + " |"
            lines += [bar, f"{span.line} |" + (f" {shown}" if shown else ""),
                      f"{bar} {' ' * pad}{paint('^' * carets, '1', sev)}"]
    if diag.help is not None:
        lines.append(f"{' ' * gutter} = {paint('help', '1')}: {_printable(diag.help)}")
    return "\n".join(lines)


def _painter(color: bool) -> Callable[..., str]:
    def paint(text: str, *sgr: str) -> str:
        return f"\x1b[{';'.join(sgr)}m{text}\x1b[0m" if color else text

    return paint


def _cell(ch: str) -> tuple[str, int]:
    """How one character is shown, and how many terminal columns it takes."""
    code = ord(ch)
    if code in _CONTROL_PICTURES:
        return _CONTROL_PICTURES[code], 1
    category = unicodedata.category(ch)
    if category in _UNSAFE_CATEGORIES:
        return "\ufffd", 1
    if category in ("Mn", "Me"):
        return ch, 0
    return ch, 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _printable(text: str) -> str:
    """One-line text (a message, a path) made safe for a terminal."""
    return "".join(" " if ch == "\t" else _cell(ch)[0] for ch in text)


def _cells(line: str) -> list[tuple[str, int]]:
    """The line as (shown text, width) per character, tabs expanded to TAB_WIDTH stops."""
    cells: list[tuple[str, int]] = []
    column = 0
    for ch in line:
        if ch == "\t":
            width = TAB_WIDTH - column % TAB_WIDTH
            cells.append((" " * width, width))
        else:
            cells.append(_cell(ch))
        column += cells[-1][1]
    return cells


def _snippet(span: Span, line: str | None) -> tuple[str, int, int] | None:
    """The shown source line, the caret offset within it and the caret count, or None."""
    if line is None:
        return None
    # Cells (the costly part) are made only for the part of the line a snippet can show.
    start = min(max(span.column, 1) - 1, len(line))
    lo, hi = max(start - _CUT_MARGIN, 0), min(start + _CUT_MARGIN, len(line))
    cells = _cells(line[lo:hi])
    n, start = len(cells), start - lo
    if span.end_line > span.line:
        end = n
    elif span.end_line == span.line:
        end = min(max(span.end_column - 1 - lo, start), n)
    else:
        end = start
    first, last = _window([width for _, width in cells], start, whole=(lo, hi) == (0, len(line)))
    lead = ELLIPSIS if first > 0 or lo > 0 else ""
    trail = ELLIPSIS if last < n or hi < len(line) else ""
    shown = lead + "".join(glyphs for glyphs, _ in cells[first:last]) + trail
    pad = len(lead) + sum(width for _, width in cells[first:start])
    carets = sum(width for _, width in cells[start:min(end, last)])
    return shown, pad, max(carets, 1)


def _window(widths: list[int], start: int, whole: bool = True) -> tuple[int, int]:
    """The slice of a long line to show: it contains `start`, with some context to its left.

    `whole` is False when `widths` is only a piece of the line, which then never fits as is.
    """
    n = len(widths)
    if whole and sum(widths) <= MAX_SNIPPET_WIDTH:
        return 0, n
    budget = MAX_SNIPPET_WIDTH - 2 * len(ELLIPSIS)
    first, used = start, 0
    while first > 0 and used + widths[first - 1] <= budget // 3:
        first -= 1
        used += widths[first]
    last = start
    while last < n and used + widths[last] <= budget:
        used += widths[last]
        last += 1
    while first > 0 and used + widths[first - 1] <= budget:  # near the end: fill from the left
        first -= 1
        used += widths[first]
    return first, last


# ---------------------------------------------------------------- json


def render_json(diags: Sequence[Diagnostic], *, files: int) -> str:
    """The `check --format json` object of SPEC §6.1.

    Each diagnostic has `code, severity, message, file, line, column, end_line, end_column` in that
    order, then `help` only when the diagnostic has one. Position fields are null when the
    diagnostic has no span. `end_column` is exclusive.
    """
    document = {
        "diagnostics": [_json_entry(diag) for diag in diags],
        "summary": {"files": files, **counts(diags)},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _json_entry(diag: Diagnostic) -> dict[str, object]:
    span = diag.span
    entry: dict[str, object] = {
        "code": diag.code,
        "severity": diag.severity.value,
        "message": diag.message,
        "file": span.file if span else None,
        "line": span.line if span else None,
        "column": span.column if span else None,
        "end_line": span.end_line if span else None,
        "end_column": span.end_column if span else None,
    }
    if diag.help is not None:
        entry["help"] = diag.help
    return entry


# ---------------------------------------------------------------- github


def render_github(diags: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one line per diagnostic.

    `::error file=F,line=L,col=C,endLine=EL,endColumn=EC,title=CODE::CODE message` (`warning`,
    `notice` for the other severities). `col`/`endColumn` are left off for a span over several
    lines, which GitHub does not accept; all positions are left off without a span. `help` follows
    the message on a second (escaped) line.
    """
    return "".join(_github_line(diag) + "\n" for diag in diags)


def _github_line(diag: Diagnostic) -> str:
    props: list[tuple[str, object]] = []
    span = diag.span
    if span is not None:
        props += [("file", span.file), ("line", span.line)]
        if span.end_line == span.line:
            props += [("col", span.column), ("endLine", span.end_line), ("endColumn", span.end_column)]
        else:
            props.append(("endLine", span.end_line))
    props.append(("title", diag.code))
    data = f"{diag.code} {diag.message}" + (f"\nhelp: {diag.help}" if diag.help is not None else "")
    properties = ",".join(f"{name}={_github_property(str(value))}" for name, value in props)
    return f"::{_GITHUB_LEVELS[diag.severity]} {properties}::{_github_data(data)}"


def _github_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_data(text).replace(":", "%3A").replace(",", "%2C")


# ---------------------------------------------------------------- sarif


def render_sarif(
    diags: Sequence[Diagnostic],
    rules: Mapping[str, RuleInfo],
    *,
    version: str | None = None,
) -> str:
    """A SARIF 2.1.0 log with one run, for GitHub code scanning and other SARIF viewers.

    Args:
        diags: the diagnostics, in result order.
        rules: the rule catalog by code: (default severity, one-line summary, help URI or None).
            Every catalog entry becomes a `tool.driver.rules` item, sorted by id; a diagnostic
            code missing from the catalog gets a bare rule entry so `ruleIndex` always resolves.
        version: the tool version to report; defaults to the installed `seqc` version, or "0".

    Columns count Unicode code points (`columnKind: unicodeCodePoints`), `endColumn` is
    exclusive. A diagnostic without a span has no `locations`.
    """
    ids = sorted(set(rules) | {diag.code for diag in diags})
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    run = {
        "tool": {
            "driver": {
                "name": "seqc",
                "version": version if version is not None else _tool_version(),
                "rules": [_sarif_rule(rule_id, rules.get(rule_id)) for rule_id in ids],
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(diag, index[diag.code]) for diag in diags],
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _tool_version() -> str:
    from compiler import __version__

    return __version__


def _sarif_rule(rule_id: str, info: RuleInfo | None) -> dict[str, object]:
    if info is None:
        return {"id": rule_id, "shortDescription": {"text": rule_id}}
    severity, summary, help_uri = info
    rule: dict[str, object] = {"id": rule_id, "shortDescription": {"text": summary}}
    if help_uri is not None:
        rule["helpUri"] = help_uri
    rule["defaultConfiguration"] = {"level": _SARIF_LEVELS[Severity(severity)]}
    return rule


def _sarif_result(diag: Diagnostic, rule_index: int) -> dict[str, object]:
    text = diag.message + (f"\nhelp: {diag.help}" if diag.help is not None else "")
    result: dict[str, object] = {
        "ruleId": diag.code,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVELS[diag.severity],
        "message": {"text": text},
    }
    if diag.span is not None:
        result["locations"] = [{"physicalLocation": _sarif_location(diag.span)}]
    return result


def _sarif_location(span: Span) -> dict[str, object]:
    # SARIF requires positive positions and an end that does not precede the start.
    line, column = max(span.line, 1), max(span.column, 1)
    end_line = max(span.end_line, line)
    end_column = max(span.end_column, 1 if end_line > line else column)
    return {
        "artifactLocation": {"uri": artifact_uri(span.file)},
        "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column},
    }


def artifact_uri(path: str) -> str:
    """A file path as a SARIF artifact URI: relative, forward slashes, percent-encoded.

    Backslashes count as separators; a leading `./` is dropped; an absolute path becomes a
    `file://` URI.
    """
    posix = path.replace("\\", "/")
    while posix.startswith("./"):
        posix = posix[2:]
    if re.match(r"[A-Za-z]:/", posix):
        return "file:///" + posix[:2] + quote(posix[2:])
    if posix.startswith("/"):
        return "file://" + quote(posix)
    return quote(posix)

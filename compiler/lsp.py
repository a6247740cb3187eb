"""`seqc lsp`: a language server for `.seq` files, and the editor features as plain functions.

The features work on an `Analysis` (a loaded, checked project) and 1-based line/column
positions counted in characters, like `Span`; they know nothing of the protocol, so tests
call them directly. `create_server` wires them to pygls (an optional dependency, `seqc[lsp]`),
which converts positions to the client's encoding (UTF-16 by default).

A document inside a folder is analysed as part of that folder's project (SPEC §1): every
`.seq` file of the folder is parsed, the open editor buffers instead of the files on disk,
so a rename in `sequence.seq` updates the SEQ101 in `campaign.seq` as you type. Templates
are read from disk (save a template to see its effect).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compiler import ir
from compiler.check import run_rules
from compiler.diagnostics import Diagnostic, SeqcError, Span
from compiler.parse import parse_text
from compiler.project import LoadedProject, assemble, load_text, read_source

__all__ = ["Analysis", "Completion", "Hover", "analyze", "complete", "create_server", "definition", "hover",
           "serve"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE = re.compile(r"SEQ\d{3}", re.IGNORECASE)
_EVENT_CALL = re.compile(r"\b(opened|clicked|replied|accepted|connected)\(\s*([a-z0-9_]*)$")


# ---------------------------------------------------------------- analysis


@dataclass
class Analysis:
    """One document analysed with its project: the IR, the sources and the checked diagnostics."""

    file: str                               # the document's display path (absolute path, or its URI)
    text: str
    loaded: LoadedProject
    diagnostics: list[Diagnostic]
    files: tuple[str, ...]                  # the project's `.seq` files (display paths)
    _plans: dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def project(self) -> ir.Project:
        return self.loaded.project

    def by_file(self) -> dict[str, list[Diagnostic]]:
        """Diagnostics per file, with an entry (maybe empty) for every `.seq` file of the project."""
        out: dict[str, list[Diagnostic]] = {f: [] for f in self.files}
        for d in self.diagnostics:
            out.setdefault(d.span.file if d.span is not None else self.file, []).append(d)
        return out


def _normalise(text: str) -> str:
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def analyze(text: str, path: Path | None, overlays: Mapping[str, str] | None = None, *,
            display: str | None = None) -> Analysis:
    """Parse and check the document `text` (at `path`) as part of its folder's project.

    Args:
        text: the editor buffer.
        path: the document's file; None for an unsaved (untitled) buffer, checked on its own.
        overlays: other open buffers, by absolute path; they replace those files' disk text.
        display: the name used in spans for an untitled buffer (default `untitled.seq`).
    """
    from compiler.config import RuleConfig, load_config

    text = _normalise(text)
    if path is None:
        name = display or "untitled.seq"
        loaded = load_text(text, file=name, root=Path.cwd())
        return Analysis(name, text, loaded, run_rules(loaded), (name,))
    path = Path(os.path.abspath(path))
    folder = path.parent
    overlays = {os.path.abspath(k): _normalise(v) for k, v in (overlays or {}).items()}
    overlays[str(path)] = text
    names: set[str] = set()
    with contextlib.suppress(OSError):   # a folder that vanished: the buffers are all there is
        names = {e.name for e in os.scandir(folder) if e.name.endswith(".seq") and e.is_file()}
    names |= {Path(p).name for p in overlays if Path(p).parent == folder and p.endswith(".seq")}
    parsed, sources, diagnostics = [], {}, []
    files = []
    for name in sorted(names):
        full = str(folder / name)
        files.append(full)
        source = overlays.get(full)
        if source is None:
            try:
                source, problem = read_source(folder / name, full)
            except SeqcError:
                continue
            if problem is not None:
                diagnostics.append(problem)
                continue
        sources[full] = source
        pf = parse_text(source, full, base_dir=folder, root=folder)
        parsed.append(pf)
        sources.update(pf.templates)
        diagnostics.extend(pf.diagnostics)
    loaded = LoadedProject(ir.Project(str(folder), ()), sources, diagnostics)
    loaded.project = assemble(str(folder), tuple(files), parsed, loaded.diagnostics)
    try:
        config = load_config(folder)
    except SeqcError:
        config = RuleConfig()
    return Analysis(str(path), text, loaded, run_rules(loaded, config), tuple(files))


# ---------------------------------------------------------------- positions


def _contains(span: Span | None, file: str, line: int, column: int) -> bool:
    if span is None or span.file != file:
        return False
    if (line, column) < (span.line, span.column):
        return False
    return (line, column) <= (span.end_line, span.end_column)


def _line_text(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def word_at(text: str, line: int, column: int, pattern: re.Pattern = _IDENT) -> tuple[str, int, int] | None:
    """(word, start column, end column) of the `pattern` match under the 1-based position."""
    for m in pattern.finditer(_line_text(text, line)):
        if m.start() + 1 <= column <= m.end() + 1:
            return m.group(0), m.start() + 1, m.end() + 1
    return None


def _enclosing_sequence(project: ir.Project, file: str, line: int, column: int) -> ir.Sequence | None:
    for seq in project.sequences:
        if _contains(seq.span, file, line, column):
            return seq
    return None


def _in_template_expr(line_text: str, column: int) -> bool:
    """True when the position is inside an unclosed `{{ … }}` or `{% … %}` on its line."""
    before = line_text[: column - 1]
    opened = max(before.rfind("{{"), before.rfind("{%"))
    closed = max(before.rfind("}}"), before.rfind("%}"))
    return opened > closed


def _lexical(line_text: str, column: int) -> str:
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


def _in_inline_template(project: ir.Project, file: str, line: int, column: int) -> bool:
    """Inside a string written in the .seq file (multi-line ones included)."""
    for seq in project.sequences:
        for step in seq.all_steps():
            for _, tpl in step.templates():
                if tpl.path is None and _contains(tpl.span, file, line, column):
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


def _in_condition(project: ir.Project, file: str, line: int, column: int) -> bool:
    return any(_contains(s, file, line, column) for s in _cond_spans(project))


def _in_prospect(project: ir.Project, file: str, line: int, column: int) -> bool:
    return project.prospect is not None and _contains(project.prospect.span, file, line, column)


def _field_name_span(f: ir.Field) -> Span:
    return Span(f.span.file, f.span.line, f.span.column, f.span.line, f.span.column + len(f.name))


# ---------------------------------------------------------------- resolution


@dataclass(frozen=True)
class Target:
    """What a name under the cursor refers to."""

    kind: str                  # step | path | sequence | field | builtin | code
    name: str
    span: Span | None          # its definition (None for built-ins and rule codes)
    node: object = None
    sequence: ir.Sequence | None = None


def resolve(analysis: Analysis, line: int, column: int) -> tuple[Target, int, int] | None:
    """The thing named at a position, with the start and end columns of the name."""
    code = word_at(analysis.text, line, column, _CODE)
    if code is not None:
        return Target("code", code[0].upper(), None), code[1], code[2]
    found = word_at(analysis.text, line, column)
    if found is None:
        return None
    word, start, end = found
    project, file = analysis.project, analysis.file
    line_text = _line_text(analysis.text, line)
    fields = {f.name: f for f in project.prospect.fields} if project.prospect else {}

    def field_target() -> Target | None:
        if word in fields:
            return Target("field", word, _field_name_span(fields[word]), fields[word])
        if word in ir.BUILTIN_VARIABLES:
            return Target("builtin", word, None)
        return None

    if _in_template_expr(line_text, column):
        t = field_target()
        return (t, start, end) if t else None
    if _lexical(line_text, column) != "code" or _in_inline_template(project, file, line, column):
        return None   # prose in a string or a comment names nothing (rule codes aside, above)
    if _in_prospect(project, file, line, column):
        t = field_target() if word in fields and line_text.lstrip().startswith(word) else None
        return (t, start, end) if t else None
    seq = _enclosing_sequence(project, file, line, column)
    in_cond = _in_condition(project, file, line, column)
    if seq is not None:
        step = _first_step(seq, word)
        if step is not None:
            return Target("step", word, step.name_span, step, seq), start, end
        path = seq.path(word)
        if path is not None:
            return Target("path", word, path.name_span, path, seq), start, end
    other = project.sequence(word)
    if other is not None and (seq is None or seq is other):
        return Target("sequence", word, other.name_span, other, other), start, end
    if in_cond:
        t = field_target()
        if t is not None:
            return t, start, end
    return None


def _first_step(seq: ir.Sequence, name: str) -> ir.Step | None:
    for step in seq.all_steps():
        if step.name == name:
            return step
    return None


def definition(analysis: Analysis, line: int, column: int) -> Span | None:
    """Where the step, path, sequence or field named at the position is defined."""
    found = resolve(analysis, line, column)
    return found[0].span if found is not None else None


# ---------------------------------------------------------------- hover


@dataclass(frozen=True)
class Hover:
    markdown: str
    span: Span               # the word hovered


def hover(analysis: Analysis, line: int, column: int) -> Hover | None:
    """Markdown for the rule code, step, path, sequence or field at the position."""
    found = resolve(analysis, line, column)
    if found is None:
        return None
    target, start, end = found
    text = {
        "code": _hover_code,
        "step": _hover_step,
        "path": _hover_path,
        "sequence": _hover_sequence,
        "field": _hover_field,
        "builtin": _hover_builtin,
    }[target.kind](analysis, target)
    if text is None:
        return None
    return Hover(text, Span(analysis.file, line, start, line, end))


def rule_markdown(code: str) -> str | None:
    """A rule's doc as Markdown: summary in bold, the `Bad:`/`Good:` examples as code blocks."""
    from compiler.rules import BY_CODE

    rule = BY_CODE.get(code.upper())
    if rule is None:
        return None
    head, _, rest = rule.doc().partition("\n")
    out = [f"**{rule.code}** · {rule.severity.value} · `{rule.name}`", "", head.strip()]
    block: list[str] = []
    for raw in rest.split("\n"):
        if raw.startswith("    "):
            block.append(raw[4:])
            continue
        if block:
            out += ["```seq", *block, "```"]
            block = []
        out.append(raw)
    if block:
        out += ["```seq", *block, "```"]
    return "\n".join(out).strip() + "\n"


def _hover_code(analysis: Analysis, target: Target) -> str | None:
    return rule_markdown(target.name)


def _plan(analysis: Analysis, seq: ir.Sequence):
    """The sequence's plan for an enrollment on a Monday (no holidays), cached per analysis."""
    from compiler import plan as plan_mod
    from compiler import timing

    if seq.name not in analysis._plans:
        try:
            analysis._plans[seq.name] = plan_mod.plan_sequence(
                seq, timing.REFERENCE_MONDAY, plan_mod.default_timezone(seq), None)
        except (SeqcError, ValueError):
            analysis._plans[seq.name] = None
    return analysis._plans[seq.name]


def _hover_step(analysis: Analysis, target: Target) -> str:
    step: ir.Step = target.node
    seq = target.sequence
    kind = step.channel
    if step.purpose:
        kind += f" · {step.purpose}"
    if step.action:
        kind += f" · {step.action}"
    lines = [f"**step `{step.name}`** — day {step.day}, {kind}"]
    if step.title:
        lines.append(f"_{step.title}_")
    plan = _plan(analysis, seq)
    touch = None
    if plan is not None:
        touch = next((t for t in plan.touches if t.step == step.name), None)
    if touch is not None:
        offset = (touch.date - plan.start).days
        landed = (f"lands **{touch.weekday}** for an enrollment on Monday "
                  f"({offset} day{'s' if offset != 1 else ''} after enrollment"
                  + (f", rolled from {touch.rolled_from.strftime('%a').lower()}" if touch.rolled_from else "")
                  + ")")
        lines.append(f"{landed}, window {touch.window_days} {touch.window}")
        if touch.track != "main":
            entry = next((e for e in plan.entries if e.track == touch.track), None)
            how = f", entered on `{entry.entered_by}`" if entry and entry.entered_by else ""
            lines.append(f"in path `{touch.track}`{how}")
    if step.guard is not None:
        from compiler.plan import cond_to_text

        lines.append(f"runs only `if {cond_to_text(step.guard)}`")
    return "\n\n".join(lines) + "\n"


def _hover_path(analysis: Analysis, target: Target) -> str:
    path: ir.Path = target.node
    seq = target.sequence
    steps = ", ".join(f"`{s.name}` (day {s.day}, {s.channel})" for s in path.steps) or "no steps"
    lines = [f"**path `{path.name}`**" + (f" — {path.title}" if path.title else ""), f"steps: {steps}"]
    from compiler.plan import cond_to_text

    entries = [f"`{cond_to_text(ev.event)}`" + (f" within {ev.within_days} days" if ev.within_days else "")
               for ev in seq.events if ev.target == path.name]
    lines.append("entered on " + ", ".join(entries) if entries else "no `on … ->` event leads here")
    return "\n\n".join(lines) + "\n"


def _hover_sequence(analysis: Analysis, target: Target) -> str:
    seq: ir.Sequence = target.node
    counted = sum(1 for s in seq.steps if s.channel in ("email", "call", "task"))
    lines = [f"**sequence `{seq.name}`**" + (f" — {seq.title}" if seq.title else ""),
             f"tier {seq.tier or '-'} · {counted} counted steps on the main track · "
             f"{len(seq.paths)} path{'s' if len(seq.paths) != 1 else ''}"]
    return "\n\n".join(lines) + "\n"


def _hover_field(analysis: Analysis, target: Target) -> str:
    f: ir.Field = target.node
    kind = f"enum({', '.join(f.enum_values)})" if f.type == "enum" else f.type
    need = "required" if f.required else "optional: guard it (`{% if x %}`, `has(x)`) or give a `default`"
    return f"**field `{f.name}`**: {kind}, {need}\n"


def _hover_builtin(analysis: Analysis, target: Target) -> str:
    return f"**`{target.name}`**: built-in, filled by the sending tool (previews take it from the campaign)\n"


# ---------------------------------------------------------------- completion


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str                 # keyword | field | step | path | sequence | function | value | variable
    detail: str | None = None
    insert: str | None = None


TOP_KEYWORDS = ("prospect", "sequence", "campaign")
SEQUENCE_KEYWORDS = ("tier", "timezone", "window", "holidays", "exit on", "day", "on", "path")
STEP_KEYWORDS = ("purpose", "subject", "body", "note", "script", "action", "thread", "window", "split",
                 "variant", "when", "else", "file")
CAMPAIGN_KEYWORDS = ("start", "enroll", "route", "sender", "compliance", "crm", "goals", "from", "reply_to",
                     "mailboxes", "daily_limit", "warmup since", "auth", "unsubscribe", "postal_address",
                     "lawful_basis")
_EVENT_CHANNELS = {"opened": ("email",), "clicked": ("email",), "replied": None, "accepted": ("linkedin",),
                   "connected": ("call",)}


def complete(analysis: Analysis, line: int, column: int, *, fallback: Analysis | None = None,
             trigger: str | None = None) -> list[Completion]:
    """Completions at a position: fields in templates and conditions, step names in events,
    path names after `->`, values after `purpose`/`action`/`tier`, keywords elsewhere.

    `fallback` (the last analysis without syntax errors) supplies names while the document
    is mid-edit and does not parse; `trigger` is the character that triggered the request.
    """
    line_text = _line_text(analysis.text, line)
    before = line_text[: column - 1]
    names = _Names(analysis, fallback, line, column)
    if _in_template_expr(line_text, column):
        if re.search(r"\|\s*[a-z_]*$", before):
            return [Completion("default", "function", "fallback for a missing value", 'default("")')]
        return names.variables()
    if _lexical(line_text, column) != "code" or _in_inline_template(analysis.project, analysis.file, line, column):
        return []     # prose in a string or a comment
    found = _after(before, names)
    if found is not None:
        return found
    if trigger is not None and trigger not in _IDENT_CHARS:
        return []     # a space or bracket with no specific context: nothing worth a popup
    return _keywords(names)


def _after(before: str, names: _Names) -> list[Completion] | None:
    """Completions decided by the text before the cursor (`opened(`, `-> `, `purpose ` …), if any."""
    m = _EVENT_CALL.search(before)
    if m:
        return names.steps(_EVENT_CHANNELS[m.group(1)], m.group(1))
    if re.search(r"\bhas\(\s*[a-z0-9_]*$", before):
        return names.fields()
    if re.search(r"\bthread\s+[a-z0-9_]*$", before):
        return names.steps(("email",), "thread")
    if re.search(r"->\s*[a-z0-9_]*$", before):
        return names.paths() + [Completion("end", "keyword", "stop the sequence")]
    if re.search(r"\bday\s+\d+\s+[a-z]*$", before) or (
            re.search(r"^\s*window\s+[a-z]*$", before) and names.sequence is not None and not names.in_step):
        return [Completion(c, "keyword", "channel") for c in ir.CHANNELS]
    for word, values, what in (("purpose", ir.PURPOSES, "email purpose"),
                               ("action", ir.LINKEDIN_ACTIONS, "LinkedIn action"), ("tier", ir.TIERS, "tier")):
        if re.search(rf"\b{word}\s+[a-z_]*$", before):
            return [Completion(v, "value", what) for v in values]
    if re.search(r"\bexit\s+on\s+([a-z]+\s*,\s*)*[a-z]*$", before):
        return [Completion(e, "value", "exit event") for e in ir.EXIT_EVENTS]
    if names.in_prospect and re.search(r":\s*[a-z]*$", before):
        return [Completion(t, "keyword", "field type", "enum(a, b)" if t == "enum" else None)
                for t in ir.FIELD_TYPES]
    if names.in_condition or re.search(r"\b(if|when|and|or|not)\s+[a-z0-9_]*$", before):
        return names.fields() + [
            Completion(e, "function", "behavioural event", f"{e}(") for e in ir.EVENTS
        ] + [Completion("has", "function", "the field is present", "has(")] + [
            Completion(k, "keyword") for k in ("and", "or", "not", "in", "contains")]
    return None


def _keywords(names: _Names) -> list[Completion]:
    """The keywords (or, in a `route` block, the sequence names) that can start a line here."""
    if names.in_route_block:
        return names.sequences()
    if names.in_prospect:
        return []
    if names.in_step:
        keywords = STEP_KEYWORDS
    elif names.sequence is not None:
        keywords = SEQUENCE_KEYWORDS
    elif names.in_campaign:
        keywords = CAMPAIGN_KEYWORDS
    else:
        keywords = TOP_KEYWORDS
    return [Completion(k, "keyword") for k in keywords]


_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class _Names:
    """The names visible at a position, from the current analysis or, failing that, the fallback."""

    def __init__(self, analysis: Analysis, fallback: Analysis | None, line: int, column: int) -> None:
        self.analysis = analysis
        sources = [analysis] + ([fallback] if fallback is not None else [])
        self.project = analysis.project
        self.sequence = None
        for a in sources:
            seq = _enclosing_sequence(a.project, a.file, line, column)
            if seq is not None:
                self.sequence = seq
                break
        if self.sequence is None and analysis.loaded.has_syntax_errors:
            # Mid-edit, lines have moved or the sequence did not parse: a file with one sequence means it.
            in_file = {s.name: s for a in reversed(sources) for s in a.project.sequences if s.file == a.file}
            if len(in_file) == 1:
                self.sequence = next(iter(in_file.values()))
        # While the buffer does not parse, its partial sequence may lack steps or paths the last good
        # version had: offer the names of both.
        self.variants = [self.sequence] if self.sequence is not None else []
        if self.sequence is not None and analysis.loaded.has_syntax_errors and fallback is not None:
            good = fallback.project.sequence(self.sequence.name)
            if good is not None and good is not self.sequence:
                self.variants.append(good)
        self.prospect = next((a.project.prospect for a in sources if a.project.prospect is not None), None)
        self.all_sequences = sorted({s.name for a in sources for s in a.project.sequences})
        file = analysis.file
        self.in_step = self.sequence is not None and any(
            _contains(s.span, file, line, column) for s in self.sequence.all_steps())
        self.in_prospect = any(_in_prospect(a.project, a.file, line, column) for a in sources)
        self.in_campaign = any(_contains(c.span, a.file, line, column) for a in sources for c in a.project.campaigns)
        self.in_condition = _in_condition(analysis.project, file, line, column)
        self.in_route_block = False
        for a in sources:
            for camp in a.project.campaigns:
                if camp.routes and _contains(camp.routes[0].span.to(camp.routes[-1].span), a.file, line, column):
                    self.in_route_block = True

    def fields(self) -> list[Completion]:
        if self.prospect is None:
            return []
        return [Completion(f.name, "field", f"{f.type}{'' if f.required else ', optional'}")
                for f in self.prospect.fields]

    def variables(self) -> list[Completion]:
        return self.fields() + [Completion(b, "variable", "built-in") for b in ir.BUILTIN_VARIABLES]

    def steps(self, channels: tuple[str, ...] | None, why: str) -> list[Completion]:
        out: dict[str, Completion] = {}
        for seq in self.variants:
            for step in seq.all_steps():
                if channels is not None and step.channel not in channels:
                    continue
                if why == "accepted" and step.action != "connect":
                    continue
                out.setdefault(step.name, Completion(step.name, "step", f"day {step.day} {step.channel}"))
        return list(out.values())

    def paths(self) -> list[Completion]:
        out: dict[str, Completion] = {}
        for seq in self.variants:
            for p in seq.paths:
                out.setdefault(p.name, Completion(p.name, "path", f"{len(p.steps)} steps"))
        return list(out.values())

    def sequences(self) -> list[Completion]:
        return [Completion(name, "sequence") for name in self.all_sequences]


# ---------------------------------------------------------------- the server (pygls)


def create_server():
    """A pygls `LanguageServer` with seqc's features registered (needs `seqc[lsp]`)."""
    from lsprotocol import types as lsp
    from pygls.lsp.server import LanguageServer
    from pygls.uris import to_fs_path

    from compiler import __version__

    severity = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
                "info": lsp.DiagnosticSeverity.Information}
    kinds = {"keyword": lsp.CompletionItemKind.Keyword, "field": lsp.CompletionItemKind.Field,
             "step": lsp.CompletionItemKind.Reference, "path": lsp.CompletionItemKind.Module,
             "sequence": lsp.CompletionItemKind.Class, "function": lsp.CompletionItemKind.Function,
             "value": lsp.CompletionItemKind.EnumMember, "variable": lsp.CompletionItemKind.Variable}

    class SeqcServer(LanguageServer):
        def __init__(self) -> None:
            super().__init__("seqc", __version__)
            self.analyses: dict[str, Analysis] = {}
            self.last_good: dict[str, Analysis] = {}
            self.published: dict[str, set[str]] = {}       # project folder -> URIs with diagnostics sent

        # -- paths and URIs

        def path_of(self, uri: str) -> Path | None:
            fs = to_fs_path(uri)
            return Path(fs) if fs else None

        def uri_of(self, file: str) -> str:
            for doc_uri in self.workspace.text_documents:
                p = self.path_of(doc_uri)
                if p is not None and os.path.abspath(p) == file:
                    return doc_uri
            return file if "://" in file or file.startswith("untitled:") else Path(file).as_uri()

        def lines_of(self, analysis: Analysis, file: str) -> list[str]:
            text = analysis.text if file == analysis.file else analysis.loaded.sources.get(file, "")
            return text.split("\n")

        def to_range(self, analysis: Analysis, span: Span) -> lsp.Range:
            lines = self.lines_of(analysis, span.file)
            codec = self.workspace.position_codec
            start = codec.position_to_client_units(lines, lsp.Position(span.line - 1, max(span.column - 1, 0)))
            end = codec.position_to_client_units(lines, lsp.Position(span.end_line - 1, max(span.end_column - 1, 0)))
            if (end.line, end.character) < (start.line, start.character):
                end = start
            return lsp.Range(start=start, end=end)

        def position(self, uri: str, pos: lsp.Position) -> tuple[int, int]:
            doc = self.workspace.get_text_document(uri)
            server_pos = doc.position_codec.position_from_client_units(doc.lines, pos)
            return server_pos.line + 1, server_pos.character + 1

        # -- analysis and diagnostics

        def overlays(self) -> dict[str, str]:
            out = {}
            for doc_uri, doc in self.workspace.text_documents.items():
                p = self.path_of(doc_uri)
                if p is not None and str(p).endswith(".seq"):
                    out[os.path.abspath(p)] = doc.source
            return out

        def refresh(self, uri: str) -> Analysis:
            doc = self.workspace.get_text_document(uri)
            path = self.path_of(uri)
            analysis = analyze(doc.source, path, self.overlays(), display=uri)
            self.analyses[uri] = analysis
            if not analysis.loaded.has_syntax_errors:
                self.last_good[uri] = analysis
            self.publish(analysis, uri, doc.version)
            return analysis

        def publish(self, analysis: Analysis, uri: str, version: int | None) -> None:
            key = analysis.project.root
            sent: set[str] = set()
            for file, diags in analysis.by_file().items():
                target = uri if file == analysis.file else self.uri_of(file)
                items = [self.to_diagnostic(analysis, d) for d in diags]
                self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
                    uri=target, diagnostics=items, version=version if target == uri else None))
                if items:
                    sent.add(target)
            for stale in self.published.get(key, set()) - sent - {self.uri_of(f) for f in analysis.files}:
                self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
            self.published[key] = sent

        def to_diagnostic(self, analysis: Analysis, d: Diagnostic) -> lsp.Diagnostic:
            span = d.span or Span(analysis.file, 1, 1, 1, 1)
            message = d.message + (f"\nhelp: {d.help}" if d.help else "")
            return lsp.Diagnostic(range=self.to_range(analysis, span), message=message,
                                  severity=severity[d.severity.value], code=d.code, source="seqc")

        def fallback(self, uri: str, analysis: Analysis) -> Analysis | None:
            """The last analysis of `uri` that parsed; for a buffer that never did, its file on disk."""
            good = self.last_good.get(uri)
            if good is not None or not analysis.loaded.has_syntax_errors:
                return good
            path = self.path_of(uri)
            if path is None or not path.is_file():
                return None
            try:
                disk = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            others = {k: v for k, v in self.overlays().items() if k != os.path.abspath(path)}
            candidate = analyze(disk, path, others)
            if candidate.loaded.has_syntax_errors:
                return None
            self.last_good[uri] = candidate
            return candidate

        def current(self, uri: str) -> Analysis:
            analysis = self.analyses.get(uri)
            doc = self.workspace.get_text_document(uri)
            if analysis is None or analysis.text != _normalise(doc.source):
                analysis = self.refresh(uri)
            return analysis

    server = SeqcServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SeqcServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SeqcServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SeqcServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SeqcServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        analysis = ls.analyses.pop(uri, None)
        ls.last_good.pop(uri, None)
        if analysis is None:
            return
        others = [u for u, a in ls.analyses.items() if a.project.root == analysis.project.root]
        if others:
            ls.refresh(others[0])
        else:   # nothing of this project is open any more: clear what was shown for it
            for stale in ls.published.pop(analysis.project.root, set()) | {uri}:
                ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=stale, diagnostics=[]))

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: SeqcServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        # A template, seqc.toml or a closed .seq file changed on disk: re-check one open document
        # of each project (that publishes the whole project).
        seen: set[str] = set()
        for uri, analysis in list(ls.analyses.items()):
            if analysis.project.root not in seen:
                seen.add(analysis.project.root)
                ls.refresh(uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: SeqcServer, params: lsp.HoverParams) -> lsp.Hover | None:
        uri = params.text_document.uri
        analysis = ls.current(uri)
        line, column = ls.position(uri, params.position)
        found = hover(analysis, line, column)
        if found is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=found.markdown),
                         range=ls.to_range(analysis, found.span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: SeqcServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        uri = params.text_document.uri
        analysis = ls.current(uri)
        line, column = ls.position(uri, params.position)
        span = definition(analysis, line, column)
        if span is None:
            return None
        return lsp.Location(uri=uri if span.file == analysis.file else ls.uri_of(span.file),
                            range=ls.to_range(analysis, span))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=["(", "{", " ", "|", ">"]))
    def on_completion(ls: SeqcServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        analysis = ls.current(uri)
        line, column = ls.position(uri, params.position)
        trigger = params.context.trigger_character if params.context is not None else None
        items = complete(analysis, line, column, fallback=ls.fallback(uri, analysis), trigger=trigger)
        return lsp.CompletionList(is_incomplete=False, items=[
            lsp.CompletionItem(label=c.label, kind=kinds.get(c.kind), detail=c.detail, insert_text=c.insert)
            for c in items])

    return server


def serve() -> None:
    """Run the language server over stdin/stdout until the client disconnects."""
    create_server().start_io()

"""The editor features of `seqc lsp` as plain functions: analysis, go to definition, hover, completion.

The features work on an `Analysis` (a loaded, checked project) and 1-based line/column
positions counted in characters, like `Span`; they know nothing of the protocol, so tests
call them directly. `compiler.lsp_server.create_server` wires them to pygls (an optional
dependency, `seqc[lsp]`); `compiler.lsp_positions` says where a position is.

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
from compiler.lsp_positions import (
    contains,
    enclosing_sequence,
    field_name_span,
    in_condition,
    in_inline_template,
    in_prospect,
    in_template_expr,
    lexical,
    text_of_line,
    word_at,
)
from compiler.parse import parse_text
from compiler.project import LoadedProject, assemble, load_text, read_source

__all__ = ["Analysis", "Completion", "Hover", "analyze", "complete", "definition", "hover"]

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


def normalise_buffer(text: str) -> str:
    """An editor buffer as the parser reads a file: no BOM, LF line ends."""
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

    text = normalise_buffer(text)
    if path is None:
        name = display or "untitled.seq"
        loaded = load_text(text, file=name, root=Path.cwd())
        return Analysis(name, text, loaded, run_rules(loaded), (name,))
    path = Path(os.path.abspath(path))
    folder = path.parent
    overlays = {os.path.abspath(k): normalise_buffer(v) for k, v in (overlays or {}).items()}
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
    line_text = text_of_line(analysis.text, line)
    fields = {f.name: f for f in project.prospect.fields} if project.prospect else {}

    def field_target() -> Target | None:
        if word in fields:
            return Target("field", word, field_name_span(fields[word]), fields[word])
        if word in ir.BUILTIN_VARIABLES:
            return Target("builtin", word, None)
        return None

    if in_template_expr(line_text, column):
        t = field_target()
        return (t, start, end) if t else None
    if lexical(line_text, column) != "code" or in_inline_template(project, file, line, column):
        return None   # prose in a string or a comment names nothing (rule codes aside, above)
    if in_prospect(project, file, line, column):
        t = field_target() if word in fields and line_text.lstrip().startswith(word) else None
        return (t, start, end) if t else None
    seq = enclosing_sequence(project, file, line, column)
    in_cond = in_condition(project, file, line, column)
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
    line_text = text_of_line(analysis.text, line)
    before = line_text[: column - 1]
    names = _Names(analysis, fallback, line, column)
    if in_template_expr(line_text, column):
        if re.search(r"\|\s*[a-z_]*$", before):
            return [Completion("default", "function", "fallback for a missing value", 'default("")')]
        return names.variables()
    if lexical(line_text, column) != "code" or in_inline_template(analysis.project, analysis.file, line, column):
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
            seq = enclosing_sequence(a.project, a.file, line, column)
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
            contains(s.span, file, line, column) for s in self.sequence.all_steps())
        self.in_prospect = any(in_prospect(a.project, a.file, line, column) for a in sources)
        self.in_campaign = any(contains(c.span, a.file, line, column) for a in sources for c in a.project.campaigns)
        self.in_condition = in_condition(analysis.project, file, line, column)
        self.in_route_block = False
        for a in sources:
            for camp in a.project.campaigns:
                if camp.routes and contains(camp.routes[0].span.to(camp.routes[-1].span), a.file, line, column):
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

"""Lowering passes: each rewrites one kind of construct into something the target can hold.

A pass is a function `(Program, LowerContext) -> Program`; a target lists the ones it needs
in `Capabilities.lowerings`, in order. A pass only lowers what it can; whatever is left is
reported by `compiler.lower.check`. Passes may report SEQ601 themselves when a lowering is
impossible for a reason only they can see (a pre-rendered fragment that needs a value only the
tool knows, such as the sending mailbox's name).
"""

from __future__ import annotations

import re
from dataclasses import replace

from compiler import ir
from compiler.lower import templates as tpl_mod
from compiler.lower.context import LowerContext, head_span
from compiler.lower.program import (
    Branched, Custom, CustomField, FieldValue, LSequence, LStep, Program, Text, Var, map_steps,
)
from compiler.lower.templates import Fragment, Translator
from compiler.lower.zones import map_zone
from compiler.plan import cond_to_text, step_window
from compiler.template_analysis import analyze, template_span

_SAFE_NAME = re.compile(r"[^a-z0-9_]+")


# ---------------------------------------------------------------- templates -> tool text


class _Fields:
    """Names and records the custom fields of a program; one name per distinct use."""

    def __init__(self, program: Program, ctx: LowerContext) -> None:
        self.ctx = ctx
        self.fields: dict[str, CustomField] = {f.name: f for f in program.fields}
        self.variables: list[str] = list(program.variables)
        prospect = program.project.prospect
        self.declared = tuple(f.name for f in prospect.fields) if prospect else ()
        leads = ctx.caps.leads
        self.reserved = set(self.declared)
        if leads is not None:
            self.reserved |= {leads.key, leads.campaign, *leads.columns.values()}
        self.cache: dict[tuple, Text] = {}

    def name(self, base: str, sequence: str) -> str:
        name = _SAFE_NAME.sub("_", base.lower()).strip("_") or "field"
        candidate, n = name, 1
        while candidate in self.reserved or (candidate in self.fields and self.fields[candidate].sequence != sequence):
            n += 1
            candidate = f"{name}_{n}"
        return candidate

    def program(self, program: Program) -> Program:
        return replace(program, fields=tuple(self.fields.values()), variables=tuple(self.variables))


def _format(step: ir.Step, field: str, body: str) -> str:
    if field == "subject":
        return "line"
    return "html" if field == "body" and step.channel == "email" and body == "html" else "text"


def _shared(lstep: LStep, field: str) -> bool:
    """Whether every variant has the same value for `field` (then names need no variant)."""
    values = {v.get(field) for v in lstep.variants}
    return len(values) <= 1


def _lower_field(reg: _Fields, lseq: LSequence, lstep: LStep, variant: str | None, field: str,
                 value: FieldValue, branches: bool) -> FieldValue:
    if isinstance(value, Text) or (isinstance(value, Branched) and not branches):
        return value
    if isinstance(value, ir.Template) and branches:
        return value  # plain templates are the other pass's job
    key = (lseq.name, lstep.name, field, value)
    if key in reg.cache:
        return reg.cache[key]
    ctx, merge = reg.ctx, reg.ctx.caps.merge
    assert merge is not None
    fmt = _format(lstep.step, field, ctx.caps.body)
    mode = "html" if fmt == "html" else "plain"
    base = f"{lstep.name}_{field}" if variant is None or _shared(lstep, field) else f"{lstep.name}_{variant}_{field}"
    template = value if isinstance(value, ir.Template) else next((t for _, t in value.arms if t is not None), None)
    pieces: list = []
    if isinstance(value, ir.Template):
        found = tpl_mod.template_units(value)
        if found is None:
            pieces = [Fragment(value.source)]
        else:
            pieces = Translator(merge, reg.declared, mode, found[1]).pieces(found[0])
    else:
        pieces = _branch_pieces(value, Translator(merge, reg.declared, mode))
    fragments = [p for p in pieces if isinstance(p, (Fragment, _Arms))]
    parts = []
    index = 0
    for piece in pieces:
        if isinstance(piece, (Fragment, _Arms)):
            index += 1
            name = reg.name(base if len(fragments) == 1 else f"{base}_{index}", lseq.name)
            arms = piece.arms if isinstance(piece, _Arms) else ((None, piece.source),)
            _check_prerenderable(ctx, arms, template, lstep, field)
            reg.fields[name] = CustomField(name, lseq.name, lstep.name, field, arms, fmt, template)
            parts.append(Custom(name))
        else:
            parts.append(piece)
            if isinstance(piece, Var):
                _check_variable(ctx, reg, piece, template, lstep, field)
    text = Text(tuple(parts))
    reg.cache[key] = text
    return text


class _Arms:
    """A branch-dependent fragment: (condition, source) per arm."""

    def __init__(self, arms: tuple[tuple[ir.Cond | None, str], ...]) -> None:
        self.arms = arms


def _branch_pieces(value: Branched, translator: Translator) -> list:
    found = [tpl_mod.template_units(t) for _, t in value.arms]
    if any(f is None or f[1] for f in found):  # a prelude or state: each arm is rendered whole
        return [_Arms(tuple((c, t.source if t else "") for c, t in value.arms))]
    arm_units = [f[0] for f in found]  # type: ignore[index]
    prefix, middles, suffix = tpl_mod.common_parts(arm_units)
    sources = [tpl_mod.to_source(m) for m in middles]
    if len(set(sources)) == 1:
        return translator.pieces(prefix + middles[0] + suffix)
    middle = _Arms(tuple((c, s) for (c, _), s in zip(value.arms, sources)))
    return [*translator.pieces(prefix), middle, *translator.pieces(suffix)]


def _check_prerenderable(ctx: LowerContext, arms, template: ir.Template | None, lstep: LStep, field: str) -> None:
    """A fragment seqc renders per prospect cannot hold a value only the tool knows at send time."""
    used = set()
    for _, source in arms:
        used |= analyze(source).names & set(ir.BUILTIN_VARIABLES)
    for name in sorted(used):
        span = _variable_span(template, name) if template is not None else head_span(lstep.step)
        ctx.reject(f"`{name}` inside the logic of the {field} of `{lstep.name}`", span,
                   hint=f"{ctx.target} fills `{name}` when it sends, so seqc cannot pre-render the text around it; "
                        f"move `{{{{ {name} }}}}` out of the `{{% … %}}` block or content branch "
                        "so it stays a merge tag")


def _check_variable(ctx: LowerContext, reg: _Fields, var: Var, template: ir.Template | None,
                    lstep: LStep, field: str) -> None:
    merge = ctx.caps.merge
    assert merge is not None
    if var.name in ir.BUILTIN_VARIABLES:
        mapped = merge.builtins.get(var.name)
        if mapped is None:
            span = _variable_span(template, var.name) if template is not None else head_span(lstep.step)
            ctx.reject(f"the built-in `{var.name}` (in the {field} of `{lstep.name}`)", span,
                       would=lambda c: c.merge is None or var.name in c.merge.builtins,
                       hint=f"{ctx.target} has no merge tag for it; write the value in the template")
        elif var.fallback is not None and merge.is_complete(mapped):
            ctx.notice(f"the fallback of `{var.name}` in `{lstep.name}` is dropped: "
                       f"{ctx.target} fills it from the sending account", template.span if template else None)
    elif var.name not in reg.variables:
        reg.variables.append(var.name)


def _variable_span(template: ir.Template, name: str):
    for lineno, line in enumerate(template.source.split("\n"), 1):
        if name in line:
            return template_span(template, lineno, name)
    return template.span


def _lower_templates(program: Program, ctx: LowerContext, branches: bool) -> Program:
    if ctx.caps.merge is None:
        return program
    reg = _Fields(program, ctx)

    def step(lseq: LSequence, lstep: LStep) -> LStep:
        variants = []
        for v in lstep.variants:
            for field, value in v.fields:
                v = v.with_field(field, _lower_field(reg, lseq, lstep, v.name, field, value, branches))
            variants.append(v)
        return replace(lstep, variants=tuple(variants))

    lowered = map_steps(program, step)
    order = {f: i for i, f in enumerate(reg.declared)}
    reg.variables.sort(key=lambda n: order.get(n, len(order)))
    return reg.program(lowered)


def branches_to_fields(program: Program, ctx: LowerContext) -> Program:
    """Content branches (`when … else`) -> one per-prospect custom field for the lines that differ.

    The text all arms share stays in the payload with the tool's merge tags; the differing
    lines are rendered for each prospect (first arm whose condition holds) into the leads file.
    """
    return _lower_templates(program, ctx, branches=True)


def templates_to_tags(program: Program, ctx: LowerContext) -> Program:
    """seqc templates -> the tool's merge tags; fallbacks and Jinja logic it cannot say -> custom fields."""
    return _lower_templates(program, ctx, branches=False)


# ---------------------------------------------------------------- channels and guards


_LINKEDIN = {"connect": "connection request", "message": "direct message", "view": "profile view",
             "inmail": "InMail", "voice": "voice note"}


def _describe(step: ir.Step) -> str:
    if step.channel == "linkedin":
        return f"LinkedIn: {_LINKEDIN.get(step.action or '', step.action or 'touch')}"
    return {"call": "Call", "task": "Task", "email": "Email (send by hand)"}.get(step.channel, step.channel)


def channels_to_tasks(program: Program, ctx: LowerContext) -> Program:
    """Touches the tool cannot send itself (LinkedIn, calls …) -> its manual-task step.

    The task starts with what to do ("LinkedIn: connection request"); the note or script follows.
    """
    task = ctx.caps.task
    if task is None:
        return program

    def step(_: LSequence, lstep: LStep) -> LStep:
        if lstep.kind is not None or lstep.channel == "email":
            return lstep
        return replace(lstep, kind=task.kind, manual=True, notes=(*lstep.notes, _describe(lstep.step)))

    return map_steps(program, step)


def guard_supported(caps, guard: ir.Cond | None) -> bool:
    """Whether `caps` can test `guard` natively."""
    if guard is None:
        return True
    for node in ir.walk_cond(guard):
        if isinstance(node, ir.Event) and node.event not in caps.guards:
            return False
        if isinstance(node, (ir.Compare, ir.In, ir.Contains, ir.Has, ir.Truthy)) and not caps.data_guards:
            return False
    return True


def guards_to_task_notes(program: Program, ctx: LowerContext) -> Program:
    """A guard on a manual task the tool cannot test -> "Only if …" in the task, for the human to check."""

    def step(_: LSequence, lstep: LStep) -> LStep:
        if not lstep.manual or guard_supported(ctx.caps, lstep.guard):
            return lstep
        note = f"Only if {cond_to_text(lstep.guard)}; otherwise skip this task."
        return replace(lstep, guard=None, notes=(*lstep.notes, note))

    return map_steps(program, step)


# ---------------------------------------------------------------- time zones


def campaign_window(seq: ir.Sequence) -> tuple[tuple[int, ...], int, int]:
    """The sequence's email window (days, start, end): what a one-schedule campaign sends in."""
    probe = ir.Step(name="", day=0, channel="email", span=seq.span, name_span=seq.span)
    return step_window(seq, probe)


def zone_names(seq: ir.Sequence) -> tuple[str, bool]:
    """(the zone a sequence falls back to, whether each prospect's own zone is used)."""
    spec = seq.timezone
    if spec is None:
        return "UTC", False
    return (spec.fallback or "UTC"), spec.prospect


def zones_to_campaigns(program: Program, ctx: LowerContext) -> Program:
    """Prospect time zones on a one-zone-per-campaign tool -> one campaign per zone group.

    Each prospect's zone (else the fallback) is mapped onto the tool's zone list by
    `compiler.lower.zones.map_zone`; a fixed or fallback zone with no counterpart is SEQ601.
    """
    schedule = ctx.caps.schedule
    if schedule.zone != "campaign":
        return program
    sequences = []
    for lseq in program.sequences:
        fallback, per_prospect = zone_names(lseq.seq)
        if schedule.zones is not None:
            _, start, end = campaign_window(lseq.seq)
            if map_zone(fallback, schedule.zones, start, end, ctx.horizon) is None:
                span = lseq.seq.timezone.span if lseq.seq.timezone else lseq.seq.name_span
                ctx.reject(f"the time zone {fallback} (sequence `{lseq.name}`)", span,
                           would=lambda c: c.schedule.zones is None,
                           hint=f"no zone in {ctx.target}'s list keeps {fallback}'s clock during the send window; "
                                "pick a nearby zone it lists")
        sequences.append(replace(lseq, zone_split=per_prospect))
    return replace(program, sequences=tuple(sequences))

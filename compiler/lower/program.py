"""The lowered program: a project's sequences as a target will emit them.

`lift` builds it from the IR (one `LStep` per step, one `LVariant` per A/B variant, the
variant's fields merged over the step's). Lowering passes then rewrite field values from
seqc templates into tool-neutral `Text` (literal text, variables, pre-rendered custom
fields) and settle channels, tasks and time zones; the check reports what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

from compiler import ir
from compiler.capabilities import Capabilities
from compiler.diagnostics import Span
from compiler.plan import step_window

FIELD_NAMES = ("subject", "body", "note", "script")


# ---------------------------------------------------------------- text


@dataclass(frozen=True, slots=True)
class Literal:
    text: str


@dataclass(frozen=True, slots=True)
class Var:
    """A prospect field or built-in the tool fills; `fallback` when the template gives one."""

    name: str
    fallback: str | None = None


@dataclass(frozen=True, slots=True)
class Custom:
    """A per-prospect field seqc renders into the leads file (see `CustomField`)."""

    name: str


Part = Union[Literal, Var, Custom]


@dataclass(frozen=True, slots=True)
class Text:
    """Message text a tool can hold: literal text, tool variables and custom fields, in order."""

    parts: tuple[Part, ...] = ()

    def variables(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if isinstance(p, Var))

    def customs(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parts if isinstance(p, Custom))


@dataclass(frozen=True, slots=True)
class Branched:
    """Content picked by prospect data: (condition, template) per arm, `else` last (condition None)."""

    arms: tuple[tuple[ir.Cond | None, ir.Template | None], ...]
    span: Span


FieldValue = Union[ir.Template, Branched, Text]


@dataclass(frozen=True, slots=True)
class CustomField:
    """A column of the leads file whose value seqc renders for each prospect.

    Attributes:
        name: the column and custom-variable name.
        sequence, step, field: where it is used (for messages).
        arms: (condition, Jinja source) pairs; the first whose condition holds (None always
            does) is rendered. A fragment of one template has a single arm.
        format: "html" (escaped, line breaks as HTML), "text", or "line" (one line: a subject).
        template: the template it came from (for spans).
    """

    name: str
    sequence: str
    step: str
    field: str
    arms: tuple[tuple[ir.Cond | None, str], ...]
    format: str
    template: ir.Template | None = None


# ---------------------------------------------------------------- steps and sequences


@dataclass(frozen=True, slots=True)
class LVariant:
    name: str | None
    weight: int | None
    fields: tuple[tuple[str, FieldValue], ...]

    def get(self, name: str) -> FieldValue | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def with_field(self, name: str, value: FieldValue) -> LVariant:
        return replace(self, fields=tuple((k, value if k == name else v) for k, v in self.fields))


@dataclass(frozen=True, slots=True)
class LStep:
    """One touch as the target will emit it.

    `kind` is the tool's step type (None while no capability or lowering carries the channel),
    `manual` marks a task for a human, `days`/`start`/`end` the step's window as `seqc plan`
    uses it, `gap` the fitted wait in days before this step (set by delay fitting), `notes`
    lines a lowering adds in front of a task's instructions.
    """

    step: ir.Step
    track: str
    kind: str | None
    manual: bool
    days: tuple[int, ...]
    start: int
    end: int
    guard: ir.Cond | None
    variants: tuple[LVariant, ...]
    gap: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def channel(self) -> str:
        return self.step.channel


@dataclass(frozen=True, slots=True)
class LTrack:
    name: str
    steps: tuple[LStep, ...]
    entry: tuple[ir.OnEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class LSequence:
    """A sequence; `zone_split` means one campaign per prospect time-zone group."""

    seq: ir.Sequence
    tracks: tuple[LTrack, ...]
    zone_split: bool = False

    @property
    def name(self) -> str:
        return self.seq.name

    @property
    def main(self) -> LTrack:
        return self.tracks[0]

    def steps(self):
        for track in self.tracks:
            yield from track.steps


@dataclass(frozen=True)
class Program:
    """The project lowered for one target.

    `fields` are the custom fields pre-rendered per prospect; `variables` the declared
    prospect fields the payloads use as tool variables (both go into the leads file).
    """

    target: str
    caps: Capabilities
    project: ir.Project
    sequences: tuple[LSequence, ...]
    fields: tuple[CustomField, ...] = ()
    variables: tuple[str, ...] = ()

    def sequence(self, name: str) -> LSequence | None:
        for s in self.sequences:
            if s.name == name:
                return s
        return None


# ---------------------------------------------------------------- lifting the IR


def _field_value(step: ir.Step, variant: ir.Variant | None, name: str) -> FieldValue | None:
    base = getattr(step.content, name)
    if variant is not None and getattr(variant.content, name) is not None:
        base = getattr(variant.content, name)
    if not any(getattr(b.content, name) is not None for b in step.branches):
        return base
    arms = tuple((b.cond, getattr(b.content, name) or base) for b in step.branches)
    return Branched(arms, step.branches[0].span)


def lift_step(seq: ir.Sequence, step: ir.Step, track: str, caps: Capabilities) -> LStep:
    """A step with its variants resolved and its native tool kind, if the target has one."""
    sources = list(step.variants) or [None]
    weights = step.split or (None,) * len(sources)
    variants = []
    for variant, weight in zip(sources, weights):
        fields = tuple((n, v) for n in FIELD_NAMES if (v := _field_value(step, variant, n)) is not None)
        variants.append(LVariant(variant.name if variant else None, weight if step.split else None, fields))
    native = caps.channels.get(step.channel)
    kind = native.kind_for(step.action) if native is not None and native.takes(step.action) else None
    days, start, end = step_window(seq, step)
    return LStep(step, track, kind, bool(native and native.manual and kind), days, start, end,
                 step.guard, tuple(variants))


def lift(project: ir.Project, caps: Capabilities, target: str) -> Program:
    """The program before any lowering: every track of every sequence."""
    sequences = []
    for seq in project.sequences:
        tracks = []
        for name, steps in seq.tracks():
            entry = tuple(e for e in seq.events if e.target == name) if name != "main" else ()
            tracks.append(LTrack(name, tuple(lift_step(seq, s, name, caps) for s in steps), entry))
        sequences.append(LSequence(seq, tuple(tracks)))
    return Program(target, caps, project, tuple(sequences))


def map_steps(program: Program, fn) -> Program:
    """`program` with `fn(lsequence, lstep)` applied to every step."""
    sequences = []
    for lseq in program.sequences:
        tracks = tuple(replace(t, steps=tuple(fn(lseq, s) for s in t.steps)) for t in lseq.tracks)
        sequences.append(replace(lseq, tracks=tracks))
    return replace(program, sequences=tuple(sequences))

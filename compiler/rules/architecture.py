"""SEQ0xx–SEQ1xx: the program is well formed — names resolve, tracks are ordered, branches make sense."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from compiler import ir
from compiler.diagnostics import Diagnostic, Severity
from compiler.rules.base import CatalogEntry, Rule, RuleContext
from compiler.suggest import did_you_mean


@dataclass(frozen=True)
class Placed:
    """A step with where it sits: its track and its index in that track."""

    step: ir.Step
    track: str
    index: int


def placements(seq: ir.Sequence) -> dict[str, Placed]:
    """Step name → first placement (duplicates are SEQ102's business)."""
    out: dict[str, Placed] = {}
    for track, steps in seq.tracks():
        for i, s in enumerate(steps):
            out.setdefault(s.name, Placed(s, track, i))
    return out


def path_entries(seq: ir.Sequence) -> dict[str, list[ir.OnEvent]]:
    out: dict[str, list[ir.OnEvent]] = {}
    for ev in seq.events:
        out.setdefault(ev.target, []).append(ev)
    return out


def guarded_events(cond: ir.Cond | None) -> Iterator[ir.Event]:
    if cond is not None:
        for node in ir.walk_cond(cond):
            if isinstance(node, ir.Event):
                yield node


def positive_events(cond: ir.Cond | None) -> Iterator[ir.Event]:
    """Events that must hold for the condition to hold (under `and`, not under `not`/`or`)."""
    stack = [cond] if cond is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Event):
            yield node
        elif isinstance(node, ir.And):
            stack.extend(node.operands)


def positive_has(cond: ir.Cond | None) -> set[str]:
    """Fields that `has(…)` requires for the condition to hold (under `and` only)."""
    out: set[str] = set()
    stack = [cond] if cond is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Has):
            out.add(node.field)
        elif isinstance(node, ir.And):
            stack.extend(node.operands)
    return out


def field_refs(cond: ir.Cond | None) -> Iterator[tuple[str, ir.Cond]]:
    if cond is not None:
        for node in ir.walk_cond(cond):
            if isinstance(node, (ir.Compare, ir.In, ir.Contains, ir.Has, ir.Truthy)):
                yield node.field, node


class SyntaxErrorEntry(CatalogEntry):
    """Syntax error: the text is not the seqc language.

    Why: nothing else can be checked until the file parses. The message says what
    was expected at that point, in the language's words, with a hint for the usual
    slips (a step's day before its channel, a missing `}`, `=` for `==`).
    Bad:
        sequence a { day 0 sms first { } }
    Good:
        sequence a { day 0 email first { subject "Hi" body "Hello" } }
    """

    code = "SEQ001"
    severity = Severity.ERROR
    name = "syntax"


class UnknownReference(Rule):
    """Reference to an unknown step, path, sequence, field or event.

    Why: a misspelt name would silently make a branch dead or a route empty; every
    name a condition, `thread`, `on … ->` or `route` uses must exist.
    Bad:
        day 3 email value if opened(opner) { thread opener body "…" }
    Good:
        day 3 email value if opened(opener) { thread opener body "…" }
    """

    code = "SEQ101"
    severity = Severity.ERROR
    name = "architecture.unknown-reference"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        fields = {f.name for f in ctx.project.prospect.fields} if ctx.project.prospect else set()
        for seq in ctx.project.sequences:
            steps = placements(seq)
            paths = {p.name for p in seq.paths}
            for step in seq.all_steps():
                yield from self._cond(step.guard, steps, fields, seq)
                for b in step.branches:
                    yield from self._cond(b.cond, steps, fields, seq)
                if step.thread is not None and step.thread not in steps:
                    yield self.diag(f"`thread {step.thread}` names no step of sequence `{seq.name}`",
                                    step.thread_span, did_you_mean(step.thread, steps))
            for ev in seq.events:
                yield from self._cond(ev.event, steps, fields, seq)
                if ev.target != "end" and ev.target not in paths:
                    yield self.diag(f"`-> {ev.target}` names no path of sequence `{seq.name}`", ev.target_span,
                                    did_you_mean(ev.target, paths | {"end"}) or "declare `path "
                                    f"{ev.target} {{ … }}` or use `-> end`")
            for name in seq.exit_on:
                if name not in ir.EXIT_EVENTS:
                    yield self.diag(f"unknown exit event `{name}`", seq.exit_span,
                                    did_you_mean(name, ir.EXIT_EVENTS) or "exit events are "
                                    + ", ".join(f"`{e}`" for e in ir.EXIT_EVENTS))
        names = {s.name for s in ctx.project.sequences}
        for camp in ctx.project.campaigns:
            for route in camp.routes:
                if route.sequence not in names:
                    yield self.diag(f"route to unknown sequence `{route.sequence}`", route.span,
                                    did_you_mean(route.sequence, names))
                yield from self._cond(route.cond, {}, fields, None)

    def _cond(self, cond, steps, fields, seq) -> Iterator[Diagnostic]:
        if cond is None:
            return
        for node in ir.walk_cond(cond):
            if isinstance(node, ir.Event):
                yield from self._event(node, steps, fields, seq)
            elif isinstance(node, (ir.Compare, ir.In, ir.Contains, ir.Has, ir.Truthy)):
                if node.field not in fields:
                    what = "field" if not isinstance(node, ir.Truthy) else "field or event"
                    yield self.diag(f"unknown {what} `{node.field}` in a condition", node.span,
                                    did_you_mean(node.field, fields | set(ir.EVENTS))
                                    or "declare it in the `prospect` block")

    def _event(self, ev: ir.Event, steps, fields, seq) -> Iterator[Diagnostic]:
        if ev.event not in ir.EVENTS:
            yield self.diag(f"unknown event `{ev.event}`", ev.span,
                            did_you_mean(ev.event, ir.EVENTS + ("has",)) or "events are "
                            + ", ".join(f"`{e}`" for e in ir.EVENTS))
            return
        if ev.step is None:
            if ev.event != "replied":
                yield self.diag(f"`{ev.event}` needs the step it watches", ev.span,
                                f"write `{ev.event}(step_name)`")
            return
        if seq is None:
            yield self.diag(f"`{ev.event}({ev.step})` in a route: routes see prospect data only", ev.span,
                            "route on prospect fields, like `employees < 200`")
            return
        if ev.step not in steps:
            yield self.diag(f"`{ev.event}({ev.step})` names no step of sequence `{seq.name}`",
                            ev.step_span or ev.span, did_you_mean(ev.step, steps))


class DuplicateName(Rule):
    """Duplicate name: two steps, paths, sequences, variants or fields with one name.

    Why: conditions, threads and routes refer to things by name; a duplicate makes
    the reference ambiguous. Step names are unique across a sequence's tracks.
    Bad:
        day 0 email opener { … }
        day 3 email opener { … }
    Good:
        day 0 email opener { … }
        day 3 email value { … }
    """

    code = "SEQ102"
    severity = Severity.ERROR
    name = "architecture.duplicate-name"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        p = ctx.project
        if p.prospect:
            yield from self._dupes(((f.name, f.span) for f in p.prospect.fields), "field")
        yield from self._dupes(((s.name, s.name_span) for s in p.sequences), "sequence")
        yield from self._dupes(((c.name, c.name_span) for c in p.campaigns), "campaign")
        for seq in p.sequences:
            yield from self._dupes(((s.name, s.name_span) for s in seq.all_steps()), "step")
            yield from self._dupes(((x.name, x.name_span) for x in seq.paths), "path")
            seen_windows: set[str] = set()
            for w in seq.windows:
                if w.channel in seen_windows:
                    yield self.diag(f"second `window {w.channel}` in sequence `{seq.name}`", w.span, "keep one")
                seen_windows.add(w.channel)
            for step in seq.all_steps():
                yield from self._dupes(((v.name, v.span) for v in step.variants), "variant")

    def _dupes(self, items, kind: str) -> Iterator[Diagnostic]:
        first: dict[str, object] = {}
        for name, span in items:
            if name in first:
                prev = first[name]
                yield self.diag(f"duplicate {kind} name `{name}`", span,
                                f"the first `{name}` is at line {prev.line}; rename one")
            else:
                first[name] = span


class StepsOutOfOrder(Rule):
    """Steps of a track out of day order.

    Why: `day N` counts from the start of the track; listing steps in the order they
    are sent keeps the file readable as the timeline it describes.
    Bad:
        day 7 email proof { … }
        day 3 email value { … }
    Good:
        day 3 email value { … }
        day 7 email proof { … }
    """

    code = "SEQ103"
    severity = Severity.ERROR
    name = "architecture.day-order"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            for track, steps in seq.tracks():
                for prev, cur in zip(steps, steps[1:]):
                    if cur.day < prev.day:
                        where = "the main track" if track == "main" else f"path `{track}`"
                        yield self.diag(
                            f"step `{cur.name}` (day {cur.day}) comes after `{prev.name}` (day {prev.day}) "
                            f"in {where}", cur.span, "list the steps of a track by day")


class NotSentBefore(Rule):
    """Condition or thread refers to a step that is not sent before it is evaluated.

    Why: `opened(x)` can only be true once `x` has gone out; a guard on a step of an
    earlier day, a later step, or a step in another path can never see the event.
    Events that lead into a path watch main-track steps.
    Bad:
        day 3 email value if opened(proof) { … }
        day 7 email proof { … }
    Good:
        day 3 email value if opened(opener) { … }
    """

    code = "SEQ104"
    severity = Severity.ERROR
    name = "architecture.not-sent-before"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            where = placements(seq)
            entries = path_entries(seq)
            for track, steps in seq.tracks():
                for i, step in enumerate(steps):
                    for ev in guarded_events(step.guard):
                        ref = where.get(ev.step or "")
                        if ref is not None and not self._before(ref, track, step, i, where, entries, strict=True):
                            yield self.diag(
                                f"`{step.name}` (day {step.day}) tests `{ev.event}({ev.step})`, "
                                f"which is not sent before it", ev.span,
                                "test a step sent on an earlier day of this track (or before the path)")
                    ref = where.get(step.thread or "")
                    if ref is not None and not self._before(ref, track, step, i, where, entries, strict=False):
                        yield self.diag(f"`{step.name}` threads on `{step.thread}`, which is not sent before it",
                                        step.thread_span, "thread on an earlier email")
            for ev in seq.events:
                ref = where.get(ev.event.step or "")
                if ref is not None and ref.track != "main":
                    yield self.diag(f"`on {ev.event.event}({ev.event.step})` watches a step of path `{ref.track}`",
                                    ev.event.span, "events that lead into paths watch main-track steps")

    @staticmethod
    def _before(ref: Placed, track: str, step: ir.Step, index: int, where, entries, *, strict: bool) -> bool:
        if ref.track == track:
            if ref.index >= index:
                return False
            return ref.step.day < step.day if strict else True
        if track != "main" and ref.track == "main":
            # A path starts when its event fires: the watched step and all before it were sent.
            for ev in entries.get(track, []):
                trigger = where.get(ev.event.step or "")
                if trigger is not None and trigger.track == "main" and ref.index <= trigger.index:
                    return True
            return False
        return False


class NeverRuns(Rule):
    """Step can never run: its guard contradicts itself, or its path is never entered.

    Why: dead branches look like coverage in review but send nothing.
    Bad:
        day 3 email value if opened(opener) and not opened(opener) { … }
    Good:
        day 3 email value if opened(opener) { … }
    """

    code = "SEQ105"
    severity = Severity.WARNING
    name = "architecture.never-runs"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            entries = path_entries(seq)
            for path in seq.paths:
                if path.name not in entries:
                    yield self.diag(f"path `{path.name}` is never entered", path.name_span,
                                    f"add `on clicked(step) -> {path.name}` or remove the path")
            for step in seq.all_steps():
                if step.guard is not None and _contradicts(step.guard):
                    yield self.diag(f"the guard of `{step.name}` can never hold", step.guard.span,
                                    "it requires a thing and its opposite")


def _contradicts(cond: ir.Cond) -> bool:
    """A conjunction that requires X and not X, or an empty numeric range on one field."""
    if not isinstance(cond, ir.And):
        return False
    # Operands are keyed by their source text (span-free, iterative, one pass over the
    # guard), as schedule._conjuncts does: a deep operand costs its size, not a recursion.
    from compiler.plan import cond_to_text

    pos, neg = set(), set()
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for op in cond.operands:
        if isinstance(op, ir.Not):
            neg.add(cond_to_text(op.operand))
        else:
            pos.add(cond_to_text(op))
        if isinstance(op, ir.Compare) and isinstance(op.value, (int, float)):
            if op.op in (">", ">="):
                low[op.field] = max(low.get(op.field, float("-inf")), op.value + (op.op == ">") * 1e-9)
            elif op.op in ("<", "<="):
                high[op.field] = min(high.get(op.field, float("inf")), op.value - (op.op == "<") * 1e-9)
    return bool(pos & neg) or any(low[f] > high[f] for f in low.keys() & high.keys())


class EventChannelMismatch(Rule):
    """`clicked(s)` where s has no link; `accepted(s)` where s is not a LinkedIn connect.

    Why: the event cannot happen, so the branch is dead. Opens and clicks come
    from emails, accepts from connection requests, connects from calls.
    Bad:
        day 0 email opener { subject "Hi" body "No link here" }
        day 3 email value if clicked(opener) { … }
    Good:
        day 0 email opener { subject "Hi" body "See https://example.com/guide" }
        day 3 email value if clicked(opener) { … }
    """

    code = "SEQ106"
    severity = Severity.ERROR
    name = "architecture.impossible-event"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        from compiler.template_analysis import analyze

        def has_link(source: str) -> bool:
            return analyze(source).links > 0

        for seq in ctx.project.sequences:
            where = placements(seq)
            conds = [s.guard for s in seq.all_steps()] + [ev.event for ev in seq.events]
            for cond in conds:
                for ev in guarded_events(cond):
                    ref = where.get(ev.step or "")
                    if ref is None:
                        continue
                    s = ref.step
                    problem = self._problem(ev.event, s, has_link)
                    if problem:
                        yield self.diag(problem, ev.span, self._help(ev.event, s))

    @staticmethod
    def _problem(event: str, s: ir.Step, has_link) -> str | None:
        if event in ("opened", "clicked") and s.channel != "email":
            return f"`{event}({s.name})` but `{s.name}` is a {s.channel} step, not an email"
        if event == "clicked" and not any(has_link(t.source) for name, t in s.templates() if name == "body"):
            return f"`clicked({s.name})` but step `{s.name}` has no link"
        if event == "accepted" and not (s.channel == "linkedin" and s.action == "connect"):
            return f"`accepted({s.name})` but `{s.name}` is not a LinkedIn connect"
        if event == "connected" and s.channel != "call":
            return f"`connected({s.name})` but `{s.name}` is not a call"
        return None

    @staticmethod
    def _help(event: str, s: ir.Step) -> str:
        return {
            "clicked": f"add a link to `{s.name}`, or test `opened({s.name})`",
            "opened": "test an email step",
            "accepted": "test a `linkedin` step with `action connect`",
            "connected": "test a `call` step",
        }.get(event, "")


class MessageNotAfterAccept(Rule):
    """LinkedIn message not guarded by `accepted(…)` of an earlier connect.

    Why: a LinkedIn message only reaches a 1st-degree connection; without the guard
    the step fails for everyone who has not accepted (InMail aside).
    Bad:
        day 1 linkedin invite { action connect }
        day 10 linkedin dm { action message body "Thanks for connecting" }
    Good:
        day 1 linkedin invite { action connect }
        day 10 linkedin dm if accepted(invite) { action message body "Thanks for connecting" }
    """

    code = "SEQ107"
    severity = Severity.WARNING
    name = "architecture.message-needs-accept"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            where = placements(seq)
            for step in seq.all_steps():
                if step.channel != "linkedin" or step.action != "message":
                    continue
                ok = any(ev.event == "accepted" and ev.step in where
                         and where[ev.step].step.action == "connect" for ev in positive_events(step.guard))
                if not ok:
                    connects = [s.name for s in seq.all_steps() if s.channel == "linkedin" and s.action == "connect"]
                    hint = (f"add `if accepted({connects[0]})`" if connects
                            else "send a connect request first and guard with `if accepted(step)`")
                    yield self.diag(f"LinkedIn message `{step.name}` is not guarded by `accepted(…)`",
                                    step.name_span, hint)


class BranchesAndSplits(Rule):
    """Content branch without `else`; variant split not summing to 100.

    Why: a prospect no `when` matches would get no body; a split that does not add
    up leaves the A/B test undefined.
    Bad:
        when funding_days_ago <= 90 { body file "growth.txt.j2" }
    Good:
        when funding_days_ago <= 90 { body file "growth.txt.j2" } else { body file "value.txt.j2" }
    """

    code = "SEQ108"
    severity = Severity.ERROR
    name = "architecture.branches-and-splits"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            for step in seq.all_steps():
                yield from self._branches(step)
                yield from self._split(step)

    def _branches(self, step: ir.Step) -> Iterator[Diagnostic]:
        if not step.branches:
            return
        elses = [b for b in step.branches if b.cond is None]
        if not elses:
            yield self.diag(f"content branches of `{step.name}` have no `else`", step.branches[-1].span,
                            "add `else { … }` for prospects no `when` matches")
        for extra in elses[1:]:
            yield self.diag(f"second `else` in step `{step.name}`", extra.span, "keep one")
        if elses and step.branches[-1].cond is not None:
            yield self.diag(f"`when` after `else` in step `{step.name}` is never used", step.branches[-1].span,
                            "move the `else` last")

    def _split(self, step: ir.Step) -> Iterator[Diagnostic]:
        if step.split is None:
            return
        if not step.variants:
            yield self.diag(f"`split` in step `{step.name}`, which has no variants", step.split_span,
                            "add `variant` blocks or remove the split")
        elif len(step.split) != len(step.variants):
            yield self.diag(f"`split` of `{step.name}` has {len(step.split)} parts for {len(step.variants)} variants",
                            step.split_span, "give one share per variant, in variant order")
        elif sum(step.split) != 100:
            yield self.diag(f"`split` of `{step.name}` sums to {sum(step.split)}, not 100", step.split_span,
                            "make the shares add up to 100")


RULES: tuple[type[Rule], ...] = (
    SyntaxErrorEntry,
    UnknownReference,
    DuplicateName,
    StepsOutOfOrder,
    NotSentBefore,
    NeverRuns,
    EventChannelMismatch,
    MessageNotAfterAccept,
    BranchesAndSplits,
)

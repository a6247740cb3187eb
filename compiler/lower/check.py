"""What is left after lowering, checked against the target's capabilities: SEQ601 for the rest.

Every check names the construct, points at its span and says which lowering or target
would take it. A rejected path is reported once, at the event that enters it; its steps are
not checked one by one.
"""

from __future__ import annotations

from compiler import ir
from compiler.capabilities import Capabilities
from compiler.lower.context import LowerContext, head_span
from compiler.lower.passes import campaign_window, guard_supported, zone_names
from compiler.lower.program import Branched, LSequence, LStep, LTrack, Program, Text
from compiler.plan import cond_to_text, step_window
from compiler.timing import format_hours, format_weekdays


def check(program: Program, ctx: LowerContext) -> None:
    """Report SEQ601 for every construct of `program` the target cannot express."""
    for lseq in program.sequences:
        _sequence(lseq, ctx)


def _sequence(lseq: LSequence, ctx: LowerContext) -> None:
    caps, seq = ctx.caps, lseq.seq
    if caps.sends and not lseq.main.steps:
        ctx.reject(f"the sequence `{lseq.name}`, which has no steps in its main track", seq.name_span,
                   hint="add a step")
    if caps.max_steps is not None and len(lseq.main.steps) > caps.max_steps:
        ctx.reject(f"{len(lseq.main.steps)} steps in `{lseq.name}` (at most {caps.max_steps})", seq.name_span,
                   would=lambda c: c.max_steps is None or c.max_steps >= len(lseq.main.steps))
    for event in seq.exit_on:
        if event not in caps.exits:
            ctx.reject(f"`exit on {event}`", seq.exit_span or seq.name_span,
                       would=lambda c, e=event: e in c.exits,
                       hint=f"remove `{event}` from `exit on` if the tool's own stop rules are enough")
    for on in seq.events:
        if on.target == "end" and not _ends(caps, on.event.event):
            ctx.reject(f"`on {cond_to_text(on.event)} -> end`", on.span, would=lambda c, e=on.event.event: _ends(c, e))
    _zones(lseq, ctx)
    _holidays(lseq, ctx)
    for track in lseq.tracks:
        if track.name != "main" and not _path_ok(track, lseq, ctx):
            continue
        for lstep in track.steps:
            _step(lstep, lseq, ctx)
        _threads(track, ctx)
    _windows(lseq, ctx)


def _ends(caps: Capabilities, event: str) -> bool:
    return event in caps.end_events or event in caps.exits


def _path_ok(track: LTrack, lseq: LSequence, ctx: LowerContext) -> bool:
    path = lseq.seq.path(track.name)
    bad = [on for on in track.entry if on.event.event not in ctx.caps.paths]
    if not track.entry and not ctx.caps.paths and path is not None:
        ctx.reject(f"the path `{track.name}`", path.name_span, would=lambda c: bool(c.paths))
        return False
    for on in bad:
        ctx.reject(f"the path `{track.name}` entered on `{cond_to_text(on.event)}`", on.span,
                   would=lambda c, e=on.event.event: e in c.paths,
                   hint="fold the path's steps into the main track with guards, where the target can test them")
    return not bad


def _channel_ok(caps: Capabilities, step: ir.Step) -> bool:
    native = caps.channels.get(step.channel)
    if native is not None and native.takes(step.action):
        return True
    return caps.task is not None and caps.lowers("channels_to_tasks") and step.channel != "email"


_LINKEDIN = {"connect": "connection request", "message": "message", "view": "profile view", "inmail": "InMail",
             "voice": "voice note"}


def _touch(step: ir.Step) -> str:
    if step.channel == "linkedin":
        return f"the LinkedIn {_LINKEDIN.get(step.action or '', 'touch')} `{step.name}`"
    return {"call": f"the call `{step.name}`", "task": f"the manual task `{step.name}`"}.get(
        step.channel, f"the {step.channel} touch `{step.name}`")


def _step(lstep: LStep, lseq: LSequence, ctx: LowerContext) -> None:
    caps, step = ctx.caps, lstep.step
    if lstep.kind is None:
        hint = None if caps.task is not None else f"{ctx.target} has no manual-task step to turn it into"
        ctx.reject(_touch(step), head_span(step), would=lambda c: _channel_ok(c, step), hint=hint)
        return
    if not guard_supported(caps, lstep.guard):
        assert lstep.guard is not None
        behaviour = any(isinstance(n, ir.Event) for n in ir.walk_cond(lstep.guard))
        hint = ("drop the guard to send the step to everyone" if behaviour else
                "route the prospects it excludes (with the campaign's `route`) to a sequence without this step")
        ctx.reject(f"the guard `{cond_to_text(lstep.guard)}` on `{step.name}`", lstep.guard.span,
                   would=lambda c: guard_supported(c, step.guard), hint=hint)
    _variants(lstep, ctx)
    for variant in lstep.variants:
        for _, value in variant.fields:
            if isinstance(value, Branched) and not caps.content_branches:
                ctx.reject(f"the content branches (`when … else`) of `{step.name}`", value.span,
                           would=lambda c: c.content_branches or c.lowers("branches_to_fields"),
                           hint="the branches_to_fields lowering renders them per prospect into the leads file")
                return


def _variants(lstep: LStep, ctx: LowerContext) -> None:
    step, limits = lstep.step, ctx.caps.variants
    count = len(step.variants)
    if count < 2:
        return
    span = step.variants[0].span
    if step.channel not in limits.channels:
        ctx.reject(f"A/B variants on the {step.channel} touch `{step.name}`", span,
                   would=lambda c: step.channel in c.variants.channels and (c.variants.max or count) >= count)
    elif limits.max is not None and count > limits.max:
        ctx.reject(f"{count} variants of `{step.name}` (at most {limits.max})", span,
                   would=lambda c: c.variants.max is None or c.variants.max >= count,
                   hint=f"keep {limits.max} variant{'s' if limits.max != 1 else ''}" if limits.max > 1 else None)
    if step.split and len(set(step.split)) > 1 and not limits.weights:
        ctx.reject(f"the uneven split {'/'.join(map(str, step.split))} of `{step.name}`",
                   step.split_span or span, would=lambda c: c.variants.weights,
                   hint="use an even split (or none): the tool divides prospects evenly")


def _subject(lstep: LStep) -> bool:
    for variant in lstep.variants:
        value = variant.get("subject")
        if isinstance(value, Text) and value.parts:
            return True
        if isinstance(value, ir.Template) and value.source:
            return True
        if isinstance(value, Branched):
            return True
    return False


def _threads(track: LTrack, ctx: LowerContext) -> None:
    model = ctx.caps.threading
    emails = [s for s in track.steps if s.channel == "email" and not s.manual and s.kind is not None]
    if model == "none":
        for lstep in emails:
            if lstep.step.thread:
                ctx.reject(f"`thread {lstep.step.thread}` on `{lstep.name}`", lstep.step.thread_span,
                           would=lambda c: c.threading != "none", hint="drop `thread` to send a new email")
        return
    if model != "empty_subject":
        return
    # An empty subject joins the thread of the latest email that had one: only that one can be named.
    root: str | None = None
    thread_of: dict[str, str | None] = {}
    for lstep in emails:
        target, has_subject = lstep.step.thread, _subject(lstep)
        if target is not None:
            if has_subject:
                ctx.reject(f"a subject on the threaded reply `{lstep.name}`", lstep.step.thread_span,
                           would=lambda c: c.threading in ("reference", "flag"),
                           hint=f"remove the subject: {ctx.target} sends an email with a subject as a new thread")
            elif target in thread_of and thread_of[target] != root:
                ctx.reject(f"`thread {target}` on `{lstep.name}`", lstep.step.thread_span,
                           would=lambda c: c.threading in ("reference", "flag"),
                           hint=f"{ctx.target} files a follow-up without a subject under the latest email with one "
                                f"(`{root}`); thread on that one")
            thread_of[lstep.name] = root
        elif has_subject:
            root = lstep.name
            thread_of[lstep.name] = root
        else:
            thread_of[lstep.name] = root


def _windows(lseq: LSequence, ctx: LowerContext) -> None:
    caps, seq = ctx.caps, lseq.seq
    if caps.schedule.per_step == "window":
        return
    campaign = campaign_window(seq)
    automated = [s for t in lseq.tracks for s in t.steps if s.kind is not None and not s.manual]
    reported: set[str] = set()  # channels whose window was rejected: once each, then go on to the steps
    for lstep in automated:
        own = (lstep.days, lstep.start, lstep.end)
        channel = step_window(seq, ir.Step(name="", day=0, channel=lstep.channel, span=seq.span, name_span=seq.span))
        window = lstep.step.window
        if window is not None and own != channel and not (caps.schedule.per_step == "time" and own[0] == channel[0]):
            ctx.reject(f"the send window of `{lstep.name}` ({format_weekdays(own[0])} {format_hours(own[1], own[2])})",
                       window.span, would=lambda c: c.schedule.per_step != "none",
                       hint=f"drop the step's `window` to send in the campaign's "
                            f"{format_weekdays(channel[0])} {format_hours(channel[1], channel[2])}")
        elif caps.schedule.windows == 1 and channel != campaign and lstep.channel not in reported:
            reported.add(lstep.channel)
            cw = seq.channel_window(lstep.channel)
            ctx.reject(f"a {lstep.channel} window that differs from the email window in `{lseq.name}`",
                       cw.span if cw else head_span(lstep.step), would=lambda c: c.schedule.windows != 1)


def _zones(lseq: LSequence, ctx: LowerContext) -> None:
    _, per_prospect = zone_names(lseq.seq)
    if per_prospect and ctx.caps.schedule.zone == "campaign" and not lseq.zone_split:
        spec = lseq.seq.timezone
        ctx.reject(f"per-prospect time zones in `{lseq.name}` (one zone per campaign)",
                   spec.span if spec else lseq.seq.name_span,
                   would=lambda c: c.schedule.zone == "prospect" or c.lowers("zones_to_campaigns"),
                   hint="the zones_to_campaigns lowering writes one campaign per zone group")


def _holidays(lseq: LSequence, ctx: LowerContext) -> None:
    spec = lseq.seq.holidays
    if spec is None or (not spec.prospect and spec.country is None):
        return
    known = ctx.caps.schedule.holidays
    if known is None:
        return
    if spec.country is not None and spec.country.upper() in known:
        return
    what = "`holidays prospect`" if spec.prospect else f'`holidays "{spec.country}"`'
    ctx.notice(f"{what} in `{lseq.name}` is not applied: the tool has no holiday calendar"
               f"{' for it' if known else ''}, so a touch due on a public holiday goes out that day", spec.span)

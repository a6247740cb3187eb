"""`--target lemlist`: an ordered, replayable lemlist API request plan per campaign, and a leads CSV.

Facts and their sources: docs/targets/lemlist.md. In short: a campaign is built call by call
(create it, set its schedule, then add steps one by one to the sequence its creation returned);
every channel has a step type (email, LinkedIn invite/message/visit/voice note, phone, manual
task); behaviour and lead data are tested by `conditional` steps, which end a sequence and
fork it into a "yes" and an "Else" sub-sequence; a step's `delay` is in days, counted on the
campaign's sending days only; one schedule (zone, weekdays, hours) per campaign;
`{{firstName}}`-style tags without a fallback syntax; HTML email bodies.

A plan file is `{"base_url", "campaign", "requests": [...]}`. Each request has an `id`, a
`method`, a `path` and usually a `body`; a path may hold `{ID.field.0.key}` references,
resolved from the JSON answer of the earlier request `ID` (see `resolve`). Bodies never hold
references: they are sent as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any, Union

from compiler import ir, timing
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import LowerContext, Notice, head_span
from compiler.lower.delays import WEEKDAYS, reference_monday, replay
from compiler.lower.passes import (
    branches_to_fields, campaign_window, channels_to_tasks, guards_to_task_notes, templates_to_tags, zones_to_campaigns,
)
from compiler.lower.program import LSequence, LStep, LTrack, Program, Text
from compiler.lower.text import format_text
from compiler.plan import cond_to_text, track_starts
from compiler.timing import format_weekdays
from targets.base import Artifact, CampaignGroup, CompileInput, Target

BASE_URL = "https://api.lemlist.com/api"

# seqc prospect field -> lemlist's default lead variable (also the leads-file column).
_LEAD_FIELDS = {
    "email": "email", "first_name": "firstName", "last_name": "lastName", "company": "companyName",
    "company_name": "companyName", "phone": "phone", "linkedin_url": "linkedinUrl",
}
# The condition keys seqc can use natively (the add-step `conditionKey` enum).
EVENT_KEYS = {"opened": "emailsOpened", "clicked": "emailsClicked", "accepted": "linkedinInviteAccepted"}
PRESENCE_KEYS = {"linkedinUrl": "hasLinkedinUrl", "phone": "hasPhoneNumber"}
#: Most lemlist steps (touches and conditions) one campaign may get from guards and paths.
MAX_NODES = 300
_MAX_DEPTH = 32

# ---------------------------------------------------------------- conditions: what lemlist can test


def _presence_key(name: str, leads: LeadFormat | None) -> str | None:
    column = leads.columns.get(name) if leads is not None else None
    return PRESENCE_KEYS.get(column) if column else None


def _classify(guard: ir.Cond, leads: LeadFormat | None) -> str:
    """"native", "other" (a test lemlist has no condition for) or "deep" (too nested to unfold)."""
    stack: list[tuple[ir.Cond, int]] = [(guard, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return "deep"
        if isinstance(node, ir.Not):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, (ir.And, ir.Or)):
            stack.extend((op, depth + 1) for op in node.operands)
        elif isinstance(node, ir.Event):
            if node.event not in EVENT_KEYS or node.step is None:
                return "other"
        elif not (isinstance(node, ir.Has) and _presence_key(node.field, leads)):
            return "other"
    return "native"


def _leaves(cond: ir.Cond):
    """The tests of a condition in reading order (depth is bounded by `_MAX_DEPTH`)."""
    if isinstance(cond, ir.Not):
        yield from _leaves(cond.operand)
    elif isinstance(cond, (ir.And, ir.Or)):
        for op in cond.operands:
            yield from _leaves(op)
    else:
        yield cond


def _fact(leaf: ir.Cond) -> tuple:
    return ("event", leaf.event, leaf.step) if isinstance(leaf, ir.Event) else ("has", leaf.field)


def _value(cond: ir.Cond, facts: dict, sent: frozenset[str]) -> bool | None:
    """Three-valued: what is known of `cond` on a line, None while some test is still open."""
    if isinstance(cond, ir.Not):
        v = _value(cond.operand, facts, sent)
        return None if v is None else not v
    if isinstance(cond, (ir.And, ir.Or)):
        values = [_value(op, facts, sent) for op in cond.operands]
        stop = isinstance(cond, ir.Or)  # the value that decides: True for `or`, False for `and`
        if stop in values:
            return stop
        return None if None in values else not stop
    if isinstance(cond, ir.Event) and cond.step not in sent:
        return False  # a touch never sent on this line cannot have been opened or accepted
    return facts.get(_fact(cond))


def _kind_of(event: str):
    if event == "accepted":
        return lambda s: s.channel == "linkedin" and s.step.action == "connect", "LinkedIn invite"
    return lambda s: s.channel == "email", "email"


def _history(lseq: LSequence, track: LTrack, index: int) -> list[list[LStep]]:
    """The touches sent before `track.steps[index]`, latest last: one list per way into the track."""
    before = list(track.steps[:index])
    if track.name == "main" or not track.entry:
        return [before]
    out = []
    for on in track.entry:
        for other in lseq.tracks:
            names = [s.name for s in other.steps]
            if on.event.step in names:
                out.append(list(other.steps[:names.index(on.event.step) + 1]) + before)
    return out or [before]


def _latest_problem(lseq: LSequence, track: LTrack, index: int, guard: ir.Cond) -> tuple[ir.Event, str] | None:
    """An event test lemlist would apply to another touch than the one the guard names."""
    for leaf in _leaves(guard):
        if not isinstance(leaf, ir.Event):
            continue
        matches, what = _kind_of(leaf.event)
        for history in _history(lseq, track, index):
            latest = next((s for s in reversed(history) if matches(s)), None)
            if latest is None or latest.name != leaf.step:
                found = f"`{latest.name}`" if latest else "none"
                return leaf, f"lemlist tests the latest {what} before the condition ({found})"
    return None


@dataclass(frozen=True, slots=True)
class ConditionedStep(LStep):
    """A step whose guard lemlist tests with conditional steps: the guard moves to `condition`,
    out of the check's sight (it only sees `guard`), and later passes keep it (they `replace`)."""

    condition: ir.Cond | None = None


def conditioned(lstep: LStep, guard: ir.Cond) -> ConditionedStep:
    values = {f.name: getattr(lstep, f.name) for f in fields(LStep)}
    return ConditionedStep(**{**values, "guard": None}, condition=guard)


def guards_to_conditions(program: Program, ctx: LowerContext) -> Program:
    """Guards lemlist can test (opened/clicked/accepted, has(linkedin_url), has(phone)) -> conditional steps.

    Such a guard moves from `guard` to `ConditionedStep.condition`, so the check sees nothing
    left to reject; a guard lemlist cannot test stays for the check (or for
    `guards_to_task_notes` on a task). Also rejects what only lemlist's step model rules out:
    text on a profile visit or voice note, an event test on another touch than the latest of
    its kind, paths that re-enter themselves, and sequences that unfold into too many steps.
    """
    sequences = []
    for lseq in program.sequences:
        tracks = []
        for track in lseq.tracks:
            steps = []
            for i, lstep in enumerate(track.steps):
                _check_text(lstep, ctx)
                guard = lstep.guard
                verdict = "other" if guard is None else _classify(guard, ctx.caps.leads)
                if guard is not None and verdict == "deep":
                    ctx.reject(f"the guard of `{lstep.name}` (nested deeper than {_MAX_DEPTH} levels)", guard.span,
                               hint="simplify the condition")
                elif guard is not None and verdict == "native":
                    problem = _latest_problem(lseq, track, i, guard)
                    if problem is not None:
                        leaf, why = problem
                        ctx.reject(f"`{cond_to_text(leaf)}` in the guard of `{lstep.name}`", leaf.span,
                                   hint=f"{why}; test that one, or move the step")
                    lstep = conditioned(lstep, guard)
                elif verdict == "deep":
                    lstep = replace(lstep, guard=None)
                steps.append(lstep)
            tracks.append(replace(track, steps=tuple(steps)))
        lseq = replace(lseq, tracks=tuple(tracks))
        if not _check_events(lseq, ctx):  # a rejected event may not unfold (a loop of paths)
            _check_size(lseq, ctx)
        sequences.append(lseq)
    return replace(program, sequences=tuple(sequences))


CAPABILITIES = Capabilities(
    channels={
        "email": StepKind("email"),
        "linkedin": StepKind("linkedinSend", actions=frozenset({"connect", "message", "view", "voice"}),
                             kinds={"connect": "linkedinInvite", "message": "linkedinSend", "view": "linkedinVisit",
                                    "voice": "linkedinVoiceNote"}),
        "call": StepKind("phone", manual=True),
        "task": StepKind("manual", manual=True),
    },
    task=StepKind("manual", manual=True),
    guards=frozenset(EVENT_KEYS),
    paths=frozenset(EVENT_KEYS),
    end_events=frozenset(EVENT_KEYS),
    exits=frozenset({"replied", "bounced", "unsubscribed", "booked"}),
    variants=Variants(max=2, weights=False),
    threading="empty_subject",
    # `delay` is the wait before a step, in days; only the schedule's sending days count.
    delay=DelayModel(anchor="later", unit="days", counts="sending_days", from_send=True),
    schedule=ScheduleModel(zone="campaign", zones=None, weekdays=True, windows=1, per_step="none"),
    merge=MergeTags(
        tag="{{%s}}",
        fields=_LEAD_FIELDS,
        builtins={"unsubscribe_url": "unsubscribe", "sender_name": "senderName",
                  "sender_first_name": "senderFirstName", "sender_email": "senderEmail"},
    ),
    body="html",
    leads=LeadFormat(key="email", columns={k: v for k, v in _LEAD_FIELDS.items() if k != "email"}),
    # Tasks are settled before guards become conditions, and guards become conditions before
    # the task-note pass, so a guard lemlist can test stays a condition rather than a note.
    lowerings=(branches_to_fields, templates_to_tags, channels_to_tasks, guards_to_conditions, guards_to_task_notes,
               zones_to_campaigns),
)


def _check_text(lstep: LStep, ctx: LowerContext) -> None:
    has_text = any(isinstance(v, Text) and v.parts for variant in lstep.variants for _, v in variant.fields)
    if lstep.kind == "linkedinSend" and not has_text:
        ctx.reject(f"the LinkedIn message `{lstep.name}` without text", head_span(lstep.step),
                   hint="lemlist needs the message's text: add a `body`")
    if lstep.kind not in ("linkedinVisit", "linkedinVoiceNote"):
        return
    if has_text:
        what = "profile visit" if lstep.kind == "linkedinVisit" else "voice note"
        ctx.reject(f"text on the LinkedIn {what} `{lstep.name}`", head_span(lstep.step),
                   hint="lemlist takes no text for it (a voice note is recorded in lemlist); drop the text, "
                        "or send a LinkedIn message")


def _check_events(lseq: LSequence, ctx: LowerContext) -> bool:
    """SEQ601 for events lemlist's conditions cannot follow; True when something was reported."""
    before = len(ctx.diagnostics)
    steps = {s.name: s for s in lseq.steps()}
    for on in lseq.seq.events:
        event = on.event
        if event.event not in EVENT_KEYS or event.step not in steps:
            continue  # the check reports unsupported events; SEQ101 unknown steps
        matches, what = _kind_of(event.event)
        if not matches(steps[event.step]):
            ctx.reject(f"`{cond_to_text(event)}` on a touch that is not an {what}", event.span,
                       hint=f"lemlist's `{EVENT_KEYS[event.event]}` condition follows an {what}")
    paths = {t.name for t in lseq.tracks if t.name != "main"}
    enters = {t.name: {on.target for on in lseq.seq.events if on.event.step in {s.name for s in t.steps}}
              for t in lseq.tracks}
    for start in sorted(paths):
        seen, todo = set(), [start]
        while todo:
            for nxt in enters.get(todo.pop(), ()):
                if nxt == start:
                    span = lseq.seq.path(start).name_span if lseq.seq.path(start) else lseq.seq.name_span
                    ctx.reject(f"the path `{start}`, which can lead back into itself", span,
                               hint="lemlist's branches form a tree; end the loop with `-> end`")
                    todo = []
                    break
                if nxt in paths and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return len(ctx.diagnostics) > before


def _check_size(lseq: LSequence, ctx: LowerContext) -> None:
    try:
        Planner(lseq, limit=MAX_NODES).nodes()
    except TooManySteps:
        ctx.reject(f"`{lseq.name}` as lemlist steps: its guards and paths unfold into more than {MAX_NODES} steps",
                   lseq.seq.name_span,
                   hint="lemlist's branches never join, so each condition copies the rest of the sequence into "
                        "both branches; guard fewer steps, or route prospects by data (the campaign's `route`) "
                        "to sequences without those guards")


# ---------------------------------------------------------------- the step tree


@dataclass
class Touch:
    """A step on a line: `delay` days (sending days) after the previous node of its line."""

    lstep: LStep
    track: str
    delay: int


@dataclass
class Fork:
    """A conditional step: ends its line; `window` days of waiting (None: until the event)."""

    key: str
    test: str
    window: int | None
    yes: list = field(default_factory=list)
    no: list = field(default_factory=list)
    on: ir.OnEvent | None = None


Node = Union[Touch, Fork]


class TooManySteps(Exception):
    """The tree passed `Planner.limit` steps while being built."""


class Planner:
    """Unfolds a lowered sequence into lemlist's tree of sequences (see docs/targets/lemlist.md).

    A guard is decided one test at a time: a conditional step per open test, placed where the
    step would be due (its window is the wait before the step, so the test sees the whole
    gap), the "yes" and "Else" sub-sequences each carrying the rest of the track. Prospect data
    once tested stays known down the tree; an event once seen stays seen. An `on EVENT(s)` adds
    a conditional right after `s`: its window is `within N` (else the wait until the next
    touch; after the last touch, no bound), "yes" holds the path (nothing for `-> end`).
    """

    def __init__(self, lseq: LSequence, leads: LeadFormat | None = None, limit: int | None = None) -> None:
        self.lseq = lseq
        self.count = 0
        self.limit = limit
        self.leads = leads if leads is not None else CAPABILITIES.leads
        self.tracks = {t.name: t for t in lseq.tracks}
        self.events: dict[str, list[ir.OnEvent]] = {}
        for on in lseq.seq.events:  # other events are the check's to reject
            if on.event.step is not None and on.event.event in EVENT_KEYS and on.target in (*self.tracks, "end"):
                self.events.setdefault(on.event.step, []).append(on)

    def nodes(self) -> list[Node]:
        main = self.lseq.main
        return self.line(main, 0, _gap(main, 0), {}, frozenset(), ("main",))

    def literal(self, leaf: ir.Cond) -> str:
        if isinstance(leaf, ir.Event):
            return EVENT_KEYS[leaf.event]
        key = _presence_key(leaf.field, self.leads)
        assert key is not None
        return key

    def line(self, track: LTrack, i: int, wait: int, facts: dict, sent: frozenset[str], stack: tuple) -> list[Node]:
        """The nodes from `track.steps[i]` on, `wait` days after the line's previous node.

        A negative `wait` is a debt: the previous node ended that many days late, so the next
        touch goes at once and the debt comes off the waits after it.
        """
        out: list[Node] = []
        steps = track.steps
        while i < len(steps):
            lstep = steps[i]
            guard = lstep.condition if isinstance(lstep, ConditionedStep) else None
            if guard is not None:
                verdict = _value(guard, facts, sent)
                if verdict is None:
                    leaf = next(x for x in _leaves(guard) if _value(x, facts, sent) is None)
                    window = max(wait, 0) if isinstance(leaf, ir.Event) else 0
                    fork = self.fork(self.literal(leaf), f"{cond_to_text(leaf)} (guard of `{lstep.name}`)", window)
                    fork.yes = self.line(track, i, wait - window, {**facts, _fact(leaf): True}, sent, stack)
                    fork.no = self.line(track, i, wait - window, {**facts, _fact(leaf): False}, sent, stack)
                    out.append(fork)
                    return out
                if not verdict:
                    wait, facts, i = wait + _gap(track, i + 1), _settled(facts), i + 1
                    continue
            sent, facts = sent | {lstep.name}, _settled(facts)
            out.append(self.touch(lstep, track.name, max(wait, 0)))
            debt = -min(wait, 0)
            events = self.events.get(lstep.name, [])
            if events:
                out.extend(self.after(track, i, events, debt, facts, sent, stack))
                return out
            wait, i = _gap(track, i + 1) - debt, i + 1
        return out

    def touch(self, lstep: LStep, track: str, delay: int) -> Touch:
        self._grow()
        return Touch(lstep, track, delay)

    def fork(self, key: str, test: str, window: int | None, on: ir.OnEvent | None = None) -> Fork:
        self._grow()
        return Fork(key, test, window, on=on)

    def _grow(self) -> None:
        self.count += 1
        if self.limit is not None and self.count > self.limit:
            raise TooManySteps(self.count)

    def after(self, track: LTrack, i: int, events: list[ir.OnEvent], debt: int, facts: dict,
              sent: frozenset[str], stack: tuple, waited: int = 0) -> list[Node]:
        """What follows touch `i`: a conditional per `on EVENT(step)`, then the rest of the track.

        `waited` counts the days the conditions before this one waited since the touch; `debt`
        the days the touch itself went out later than the fitted schedule (a window before it
        overran its wait), taken off the next waits so later touches land where they should.
        """
        last = i + 1 >= len(track.steps)
        following = None if last else _gap(track, i + 1) - debt - waited
        if not events:
            return [] if following is None else self.line(track, i + 1, following, facts, sent, stack)
        on, rest = events[0], events[1:]
        if on.target == "end" and last:
            return self.after(track, i, rest, debt, facts, sent, stack, waited)  # nothing left to stop
        # `within N days` is written as lemlist's window of N days; without it the condition waits
        # until the next touch is due (after the last touch: as long as it takes).
        window: int | None = None if following is None else max(following, 0)
        if on.within_days is not None:
            window = max(on.within_days - waited, 0)
        within = "" if on.within_days is None else f" within {on.within_days} days"
        fork = self.fork(EVENT_KEYS[on.event.event], f"on {cond_to_text(on.event)}{within} -> {on.target}", window, on=on)
        if on.target != "end":
            if on.target in stack:
                raise RuntimeError(f"lemlist: path `{on.target}` re-enters itself")
            path = self.tracks[on.target]
            first = _gap(path, 0) - debt - waited - (window or 0)
            fork.yes = self.line(path, 0, first, {**facts, _fact(on.event): True}, sent, (*stack, on.target))
        if window is not None:
            fork.no = self.after(track, i, rest, debt, facts, sent, stack, waited + window)
        return [fork]


def _gap(track: LTrack, i: int) -> int:
    if i >= len(track.steps):
        return 0
    return track.steps[i].gap or 0


def _settled(facts: dict) -> dict:
    """Facts that still hold later: prospect data, and events already seen (a miss may still change)."""
    return {k: v for k, v in facts.items() if k[0] == "has" or v}


# ---------------------------------------------------------------- replaying the tree against the plan


def _lines(nodes: list[Node], prefix: tuple = ()):
    """Every root-to-leaf line of the tree, as a tuple of nodes (forks included, in order)."""
    stack = [(nodes, prefix)]
    while stack:
        todo, before = stack.pop()
        line = list(before)
        for node in todo:
            line.append(node)
            if isinstance(node, Fork):
                stack.append((node.no, tuple(line)))
                stack.append((node.yes, tuple(line)))
                break
        else:
            yield tuple(line)


def tree_sends(model: DelayModel, line: tuple, campaign_days: frozenset[int], start: date) -> list[tuple[Touch, date]]:
    """When lemlist sends each touch of one line, for a lead started on `start` (conditions wait their window)."""
    gaps, gates = [], []
    for node in line:
        if isinstance(node, Touch):
            gaps.append(node.delay)
            gates.append(frozenset(node.lstep.days) if node.lstep.manual else campaign_days)
        else:
            gaps.append(node.window or 0)
            gates.append(campaign_days)
    dates = replay(model, gaps, gates, start)
    return [(node, d) for node, d in zip(line, dates) if isinstance(node, Touch)]


def drift(lseq: LSequence, nodes: list[Node], monday: date) -> dict[tuple[str, str], list[tuple[date, date, date]]]:
    """(track, step) -> [(enrolled, plan date, lemlist date)] where the tree strays from the fitted tracks.

    Differences the delay fitting already reported (a track on its own cannot follow the plan)
    are left out: these are the ones lemlist's conditions add (a window longer than the wait it
    replaces, a path entered when a window closes rather than when the event happens).
    """
    model = CAPABILITIES.delay
    assert model is not None
    days, _, _ = campaign_window(lseq.seq)
    gate = frozenset(days)
    found: dict[tuple[str, str], dict[date, tuple[date, date, date]]] = {}
    for w in WEEKDAYS:
        enrolled = monday + timedelta(days=w)
        starts = track_starts(lseq.seq, enrolled)
        linear: dict[tuple[str, str], date] = {}
        planned: dict[tuple[str, str], date] = {}
        for track in lseq.tracks:
            start = starts[track.name].start if track.name in starts else enrolled
            gates = [frozenset(s.days) if s.manual else gate for s in track.steps]
            for s, d in zip(track.steps, replay(model, [s.gap or 0 for s in track.steps], gates, start)):
                linear[(track.name, s.name)] = d
                planned[(track.name, s.name)] = timing.land_date(start, s.step.day, s.days)[0]
        for line in _lines(nodes):
            for touch, sent in tree_sends(model, line, gate, enrolled):
                key = (touch.track, touch.lstep.name)
                if sent != linear[key] and sent != planned[key]:
                    found.setdefault(key, {}).setdefault(enrolled, (enrolled, planned[key], sent))
    return {k: sorted(v.values()) for k, v in found.items()}


def _day(d: date) -> str:
    return f"{timing.WEEKDAY_NAMES[d.weekday()]} {d.isoformat()}"


# ---------------------------------------------------------------- references


_REF = re.compile(r"\{([A-Za-z0-9_:]+)((?:\.[A-Za-z0-9_]+)+)\}")


def resolve(path: str, answers: dict[str, Any]) -> str:
    """`path` with every `{ID.a.0.b}` replaced by `answers[ID]["a"][0]["b"]` (a KeyError if missing)."""

    def one(match: re.Match) -> str:
        value: Any = answers[match.group(1)]
        for part in match.group(2)[1:].split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
        if not isinstance(value, str):
            raise KeyError(f"{match.group(0)} is not a string")
        return value

    return _REF.sub(one, path)


# ---------------------------------------------------------------- emitting the plan


def _hhmm(minute: int) -> str:
    minute = min(max(minute, 0), 23 * 60 + 59)
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Lemlist(Target):
    """lemlist: one request plan per sequence and time-zone group, leads via CSV or the leads endpoint."""

    name = "lemlist"
    summary = "lemlist API request plan (campaign, schedule, steps, conditions; replayable) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        program = job.program
        assert program is not None
        self._notices(job)
        trees: dict[str, list[Node]] = {}
        out = []
        for group in job.campaigns:
            lseq = group.sequence
            if lseq.name not in trees:  # zone groups of one sequence share their tree and warnings
                trees[lseq.name] = Planner(lseq).nodes()
                self._drift(job, lseq, trees[lseq.name])
            nodes = trees[lseq.name]
            plan = {"base_url": BASE_URL, "campaign": group.key, "requests": self.plan(job, group, nodes)}
            text = json.dumps(plan, indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="lemlist.schema.json"))
        return out

    def _notices(self, job: CompileInput) -> None:
        campaign = job.loaded.project.campaign
        if campaign is None:
            return
        sender = campaign.sender
        parts = []
        if sender is not None and (sender.from_ or sender.mailboxes):
            parts.append("which accounts send (attach them in lemlist: `sendUserIds` takes lemlist user ids)")
        if campaign.start is not None:
            parts.append(f"the start date (start the campaign on {campaign.start.isoformat()})")
        if campaign.enroll_per_day is not None:
            parts.append(f"`enroll {campaign.enroll_per_day} per day` (lemlist has no pace for new leads: "
                         "add them at that pace)")
        if parts:
            job.notices.append(Notice(f"lemlist: the plan does not set {' nor '.join(parts)}; "
                                      "see docs/targets/lemlist.md", campaign.span))

    def _drift(self, job: CompileInput, lseq: LSequence, nodes: list[Node]) -> None:
        steps = {(t.name, s.name): s for t in lseq.tracks for s in t.steps}
        for (track, name), cases in sorted(drift(lseq, nodes, reference_monday(job.loaded.project)).items()):
            lstep = steps[(track, name)]
            where = f"day {lstep.step.day}" + ("" if track == "main" else f" of path `{track}`")
            text = "; ".join(f"enrolled {_day(e)}: plan {_day(p)}, lemlist {_day(s)}" for e, p, s in cases)
            why = ("lemlist starts a path when the window of its condition closes, not when the event happens"
                   if track != "main" else "a conditional step holds the track for its whole window")
            job.notices.append(Notice(
                f"lemlist: `{name}` ({where}) would not land where `seqc plan` puts it: {why} ({text})",
                head_span(lstep.step)))
        lasts = {t.steps[-1].name for t in lseq.tracks if t.steps}
        for on in lseq.seq.events:
            if on.within_days is None and on.event.step not in lasts and on.event.event in EVENT_KEYS:
                outcome = "end the sequence" if on.target == "end" else f"start `{on.target}`"
                job.notices.append(Notice(
                    f"lemlist: `{cond_to_text(on.event)}` is tested only until the touch after `{on.event.step}` "
                    f"is due; a later one does not {outcome} (give the event `within N days` to say so)", on.span))
        for lstep in lseq.steps():
            if lstep.kind == "linkedinVoiceNote":
                job.notices.append(Notice(f"lemlist: record the voice note of `{lstep.name}` in lemlist before "
                                          "launching (the API creates the step without audio)", head_span(lstep.step)))

    def plan(self, job: CompileInput, group: CampaignGroup, nodes: list[Node]) -> list[dict[str, Any]]:
        seq = group.sequence.seq
        zone = group.zone.zone if group.zone is not None else "UTC"
        days, start, end = campaign_window(seq)
        uses = {n.key for n in _walk(nodes) if isinstance(n, Fork)}
        requests: list[dict[str, Any]] = [
            {"id": "campaign", "method": "POST", "path": "/campaigns", "body": {"name": group.key, "timezone": zone}},
            {"id": "settings", "method": "PATCH", "path": "/campaigns/{campaign._id}", "body": {
                "stopOnEmailReplied": "replied" in seq.exit_on,
                "stopOnMeetingBooked": "booked" in seq.exit_on,
                "disableTrackOpen": "emailsOpened" not in uses,
                "disableTrackClick": "emailsClicked" not in uses,
            }},
            {"id": "schedule", "method": "PATCH", "path": "/schedules/{campaign.scheduleIds.0}", "body": {
                "name": f"{group.key}: {format_weekdays(days)} {_hhmm(start)}-{_hhmm(end)}",
                "timezone": zone, "start": _hhmm(start), "end": _hhmm(end),
                "weekdays": [d + 1 for d in days],  # lemlist counts 1 = Monday … 7 = Sunday
            }},
        ]
        self._emit_line(nodes, "{campaign.sequenceId}", "", requests, [0])
        return requests

    def _emit_line(self, nodes: list[Node], sequence: str, prefix: str, out: list, counter: list[int]) -> None:
        for node in nodes:
            if isinstance(node, Touch):
                rid = f"{prefix}{node.lstep.name}"
                path = f"/sequences/{sequence}/steps"
                out.append({"id": rid, "method": "POST", "path": path, "body": step_body(node)})
                if len(node.lstep.variants) == 2:
                    ab = f"{path}/{{{rid}._id}}/ab-test"
                    subject, message = _email(node.lstep, node.lstep.variants[1])
                    out.append({"id": f"{rid}:ab", "method": "POST", "path": ab})
                    out.append({"id": f"{rid}:b", "method": "PATCH", "path": ab,
                                "body": {"subject": subject, "message": message}})
                continue
            counter[0] += 1
            cid = f"c{counter[0]}"
            body: dict[str, Any] = {"type": "conditional", "conditionKey": node.key}
            if node.window is None:
                body["delayType"] = "waitUntil"
            else:
                body["delayType"] = "within"
                body["delay"] = node.window
            out.append({"id": cid, "method": "POST", "path": f"/sequences/{sequence}/steps", "note": node.test,
                        "body": body})
            out.append({"id": f"{cid}:branches", "method": "GET",
                        "path": f"/sequences/{sequence}/steps/{{{cid}._id}}/branches"})
            # The branches come in execution order, Else last: index 0 is "yes", 1 is Else.
            self._emit_line(node.yes, f"{{{cid}:branches.0.sequenceId}}", f"{cid}:yes:", out, counter)
            self._emit_line(node.no, f"{{{cid}:branches.1.sequenceId}}", f"{cid}:else:", out, counter)


def _walk(nodes: list[Node]):
    stack = [nodes]
    while stack:
        for node in stack.pop():
            yield node
            if isinstance(node, Fork):
                stack.extend((node.yes, node.no))


def _text(lstep: LStep, name: str, mode: str, variant=None) -> str | None:
    merge = CAPABILITIES.merge
    assert merge is not None
    value = (variant or lstep.variants[0]).get(name)
    if value is None:
        return None
    if not isinstance(value, Text):
        raise RuntimeError(f"lemlist: `{lstep.name}` has untranslated {name}")
    return format_text(value, merge, mode)


def _email(lstep: LStep, variant) -> tuple[str, str]:
    # An empty subject is lemlist's follow-up in the same thread (the check allows a thread only then).
    subject = "" if lstep.step.thread else (_text(lstep, "subject", "line", variant) or "")
    return subject, _text(lstep, "body", "html", variant) or ""


def step_body(touch: Touch) -> dict[str, Any]:
    """The add-step body of one touch."""
    lstep = touch.lstep
    kind = lstep.kind
    body: dict[str, Any] = {"type": kind, "delay": touch.delay}
    if kind == "email":
        body["subject"], body["message"] = _email(lstep, lstep.variants[0])
    elif kind in ("linkedinInvite", "linkedinSend"):
        message = _text(lstep, "note", "text") or _text(lstep, "body", "text")
        if message is not None:
            body["message"] = message
        elif kind == "linkedinSend":
            raise RuntimeError(f"lemlist: LinkedIn message `{lstep.name}` has no text")
    elif kind in ("phone", "manual"):
        # A touch lowered to a task starts with what to do ("LinkedIn: InMail"): that is its title.
        lowered = lstep.channel not in ("call", "task")
        notes = list(lstep.notes[1:] if lowered else lstep.notes)
        subject = _text(lstep, "subject", "line")
        texts = [f"Subject: {subject}"] if subject else []
        texts += [t for name in ("script", "note", "body") if (t := _text(lstep, name, "text"))]
        if kind == "manual":
            title = lstep.step.title or lstep.name.replace("_", " ")
            body["title"] = f"{lstep.notes[0]}: {title}" if lowered and lstep.notes else title
        if notes or texts:
            body["message"] = "\n\n".join([*notes, *texts])
    elif kind not in ("linkedinVisit", "linkedinVoiceNote"):
        raise RuntimeError(f"lemlist: step `{lstep.name}` reached emit with kind {kind!r}")
    return body

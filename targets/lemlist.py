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
from dataclasses import replace
from datetime import date
from typing import Any

from compiler import timing
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import LowerContext, Notice, head_span
from compiler.lower.delays import reference_monday
from compiler.lower.passes import (
    branches_to_fields, campaign_window, channels_to_tasks, guards_to_task_notes, templates_to_tags, zones_to_campaigns,
)
from compiler.lower.program import LSequence, LStep, Program, Text
from compiler.lower.text import format_text
from compiler.plan import cond_to_text
from compiler.timing import format_weekdays
from targets.base import Artifact, CampaignGroup, CompileInput, Target
from targets.lemlist_tree import (
    EVENT_KEYS, MAX_DEPTH, Fork, Node, Planner, TooManySteps, Touch, classify, conditioned, drift, kind_of,
    latest_problem,
)

BASE_URL = "https://api.lemlist.com/api"

# seqc prospect field -> lemlist's default lead variable (also the leads-file column).
_LEAD_FIELDS = {
    "email": "email", "first_name": "firstName", "last_name": "lastName", "company": "companyName",
    "company_name": "companyName", "phone": "phone", "linkedin_url": "linkedinUrl",
}
#: Most lemlist steps (touches and conditions) one campaign may get from guards and paths.
MAX_NODES = 300


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
                verdict = "other" if guard is None else classify(guard, ctx.caps.leads)
                if guard is not None and verdict == "deep":
                    ctx.reject(f"the guard of `{lstep.name}` (nested deeper than {MAX_DEPTH} levels)", guard.span,
                               hint="simplify the condition")
                elif guard is not None and verdict == "native":
                    problem = latest_problem(lseq, track, i, guard)
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
        matches, what = kind_of(event.event)
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
        Planner(lseq, CAPABILITIES.leads, limit=MAX_NODES).nodes()
    except TooManySteps:
        ctx.reject(f"`{lseq.name}` as lemlist steps: its guards and paths unfold into more than {MAX_NODES} steps",
                   lseq.seq.name_span,
                   hint="lemlist's branches never join, so each condition copies the rest of the sequence into "
                        "both branches; guard fewer steps, or route prospects by data (the campaign's `route`) "
                        "to sequences without those guards")


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
                trees[lseq.name] = Planner(lseq, CAPABILITIES.leads).nodes()
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
        monday = reference_monday(job.loaded.project)
        for (track, name), cases in sorted(drift(lseq, nodes, monday, CAPABILITIES.delay).items()):
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

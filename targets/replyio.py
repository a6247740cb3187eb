"""`--target replyio`: Reply.io API v3 request plans (schedule, sequence, steps) and a leads CSV.

A plan file is `{"base_url", "sequence", "params", "requests": [...]}`, run in order (lemlist's
layout). Each request has an `id`, a `method`, a `path` and a `body`. A path may hold
`{ID.field}` references to the JSON answer of the earlier request `ID`; in a body, a string that
is exactly `{ID.field}` is replaced by that value with its JSON type (`"{schedule.id}"` -> 42),
and `{params.name}` by the value the user put in the plan's `params` first.

Facts and their sources: docs/targets/replyio.md. In short: one sequence per seqc sequence with
email, LinkedIn, call and task steps; guards and paths become `condition` steps whose children
carry `parentId` and `ifConditionPositive`; a relative `delayInMinutes` on the step after each
gap; one schedule per sequence (weekday time ranges, the prospect's time zone, a holidays flag).

Reply's branches do not join again, so a condition sends the steps after it down both branches:
`if G` on a step is a condition in that step's slot whose "yes" branch holds the step and the
rest of the track, and whose "no" branch holds the rest of the track alone. `on EVENT(s) -> P`
is a condition right after `s` that waits for the event: "yes" holds the path, "no" the rest.
The tree and its scheduler replay are `targets/condtree.py`; this module declares what Reply
can express and writes the tree out as an ordered plan of API requests (see `plan`).
"""

from __future__ import annotations

import json
from typing import Any

from compiler import ir
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import LowerContext, Notice
from compiler.lower.passes import (
    branches_to_fields, campaign_window, guards_to_task_notes, templates_to_tags, zone_names,
)
from compiler.lower.program import LStep, LVariant, Program, Text
from compiler.lower.text import format_text
from compiler.timing import format_hours, format_weekdays
from targets.base import Artifact, CampaignGroup, CompileInput, Target
from targets.condtree import Node, build_tree, check_trees, fit_tree

#: seqc's own bound on the steps of one sequence's tree (Reply documents none): past it, the
#: copies of later steps that each guard adds make a sequence nobody can review in the editor.
MAX_TREE_STEPS = 120

BASE_URL = "https://api.reply.io"

# Contact fields: the v3 contact API names (POST /v3/contacts). The merge tags follow the API
# reference's examples (`{{firstName}}`, `{{companyName}}`); Reply's glossary writes `{{FirstName}}`.
# Which casing the editor expects is unverified: this table is the one place to change it.
_STANDARD = {
    "email": ("email", "email"),
    "first_name": ("firstName", "firstName"), "last_name": ("lastName", "lastName"),
    "company": ("company", "companyName"), "company_name": ("company", "companyName"),
    "title": ("title", "title"), "job_title": ("title", "title"),
    "phone": ("phone", "phone"), "linkedin_url": ("linkedInUrl", "linkedInUrl"),
    "country": ("country", "country"), "city": ("city", "city"), "state": ("state", "state"),
    "industry": ("industry", "industry"), "timezone": ("timeZoneId", "timeZoneId"),
}

# Condition vocabulary. Reply serves the list of condition properties from
# GET /v3/sequences/steps/contact-filter-properties; no readable source shows its values, so the
# names below are seqc's assumption, kept in this one place (docs/targets/replyio.md, "Verify").
EVENT_PROPERTIES = {"opened": "emailOpened", "clicked": "emailLinkClicked", "replied": "emailReplied",
                    "accepted": "linkedInInviteAccepted"}
OPERATORS = {"<": "lessThan", "<=": "lessThanOrEqual", ">": "greaterThan", ">=": "greaterThanOrEqual",
             "==": "equals", "!=": "notEquals"}

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Values the person replaying a plan fills in first (`params`; null until then), read by
#: `{params.<name>}`: the mailboxes (GET /v3/email-accounts) and LinkedIn accounts
#: (GET /v3/linkedin-accounts) that send the sequence.
PARAMS = ("email_account_ids", "linkedin_account_ids")


def condition_trees(program: Program, ctx: LowerContext) -> Program:
    """Guards and paths -> Reply condition steps: SEQ601 for what a tree of them cannot hold."""
    return check_trees(program, ctx, MAX_TREE_STEPS)


CAPABILITIES = Capabilities(
    channels={
        "email": StepKind("email"),
        "linkedin": StepKind("linkedIn", kinds={"connect": "connect", "message": "message", "view": "viewProfile",
                                                "inmail": "inMail", "voice": "voiceMessage"}),
        "call": StepKind("call", manual=True),
        "task": StepKind("task", manual=True),
    },
    task=StepKind("task", manual=True),
    # `connected` (a call answered) has no condition seqc knows of; a guard on it stays a task note.
    guards=frozenset({"opened", "clicked", "replied", "accepted"}),
    data_guards=True,
    paths=frozenset({"opened", "clicked", "replied", "accepted"}),
    end_events=frozenset({"opened", "clicked", "replied", "accepted"}),
    exits=frozenset({"replied", "bounced", "unsubscribed"}),
    variants=Variants(max=None, weights=False, channels=frozenset({"email", "linkedin"})),
    threading="empty_subject",
    # `delayInMinutes` waits before a step, counted from the previous step's send (Reply's help
    # centre: weekends count; the step then waits for the schedule).
    delay=DelayModel(anchor="later", unit="minutes", counts="calendar", from_send=True),
    # One schedule per sequence: hours per weekday, the contact's own zone (`useProspectTimezone`).
    # Holidays: `excludeHolidays` skips the calendars linked to the schedule in Reply, which seqc
    # neither creates nor checks, so no country counts as known here (see docs).
    schedule=ScheduleModel(zone="prospect", weekdays=True, windows=1, per_step="none", per_day_hours=True,
                           holidays=frozenset()),
    merge=MergeTags(
        tag="{{%s}}",
        fields={k: tag for k, (_, tag) in _STANDARD.items()},
        builtins={
            "unsubscribe_url": "optOutLink",
            "sender_first_name": "senderFirstName",
            "sender_name": "senderName",
            "sender_email": "senderEmail",
        },
        fallback=None,
    ),
    body="html",
    # Every declared field: a condition may test a field no template prints.
    leads=LeadFormat(key="email", columns={k: column for k, (column, _) in _STANDARD.items()},
                     campaign="sequence", all_fields=True),
    lowerings=(branches_to_fields, templates_to_tags, guards_to_task_notes, condition_trees),
)

def _time(minute: int) -> dict[str, int]:
    minute = min(max(minute, 0), 23 * 60 + 59)
    return {"hour": minute // 60, "minute": minute % 60}


class ReplyIo(Target):
    """Reply.io: one request plan per sequence (schedule, sequence, steps), leads via CSV or `/v3/contacts`."""

    name = "replyio"
    summary = "Reply.io API v3 request plans (schedule + sequence + condition steps) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        out = []
        for group in job.campaigns:
            plan = self.plan(job, group)
            text = json.dumps(plan, indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="replyio.schema.json"))
        return out

    # ------------------------------------------------------------ the plan

    def plan(self, job: CompileInput, group: CampaignGroup) -> dict[str, Any]:
        lseq = group.sequence
        project = job.loaded.project
        tree = build_tree(lseq)
        job.notices.extend(fit_tree(tree, lseq, project, CAPABILITIES, self.name))
        self._notices(job, lseq.seq)
        linkedin = any(n.lstep is not None and n.lstep.channel == "linkedin" for n in tree.nodes())
        params = {k: None for k in PARAMS if k == "email_account_ids" or linkedin}
        body = self.sequence_body(job, group, tree, linkedin)
        prospect = project.prospect
        types = {f.name: f.type for f in prospect.fields} if prospect is not None else {}
        requests = [{"id": "schedule", "method": "POST", "path": "/v3/schedules", "body": self.schedule(lseq.seq)},
                    {"id": "sequence", "method": "POST", "path": "/v3/sequences", "body": body}]
        if tree.branched:
            body["steps"] = []
            for node, parent, positive in tree.walk():
                step = self.step(node, types)
                step["parentId"] = f"{{{parent.key}.id}}" if parent is not None else None
                step["ifConditionPositive"] = positive
                requests.append({"id": node.key, "method": "POST", "path": "/v3/sequences/{sequence.id}/steps",
                                 "body": step})
        else:
            body["steps"] = [self.step(node, types) for node, _, _ in tree.walk()]
        return {"base_url": BASE_URL, "sequence": group.key, "params": params, "requests": requests}

    def _notices(self, job: CompileInput, seq: ir.Sequence) -> None:
        spec = seq.holidays
        if spec is not None and (spec.prospect or spec.country):
            job.notices.append(Notice(
                f"replyio: the schedule of `{seq.name}` turns on `excludeHolidays`; Reply skips the days of the "
                "holiday calendars linked to that schedule, which seqc does not create: link the calendar of each "
                "country you send to (POST /v3/schedules/{id}/holiday-calendar-links)", spec.span))
        if "replied" not in seq.exit_on:
            job.notices.append(Notice(
                f"replyio: `{seq.name}` leaves `replied` out of `exit on`, but the plan sets no reply handling: "
                "Reply's default applies; choose it in the sequence settings", seq.exit_span or seq.name_span))

    def sequence_body(self, job: CompileInput, group: CampaignGroup, tree, linkedin: bool) -> dict[str, Any]:
        seq = group.sequence.seq
        campaign = job.loaded.project.campaign
        events = tree.events()
        settings: dict[str, Any] = {}
        sender = campaign.sender if campaign is not None else None
        if sender is not None and sender.mailboxes and sender.daily_limit:
            settings["emailsCountPerDay"] = sender.mailboxes * sender.daily_limit
        if group.enroll_per_day is not None:
            settings["dailyThrottling"] = group.enroll_per_day
            settings["useDailyThrottling"] = True
        # Conditions on opens and clicks need the tracking they read; otherwise leave it off.
        settings["disableOpensTracking"] = "opened" not in events
        settings["enableLinksTracking"] = "clicked" in events
        if "replied" in seq.exit_on:
            settings["repliesHandlingType"] = "markAsFinished"
        body: dict[str, Any] = {"name": group.key, "scheduleId": "{schedule.id}",
                                "emailAccounts": "{params.email_account_ids}"}
        if linkedin:
            body["linkedInAccounts"] = "{params.linkedin_account_ids}"
        body["settings"] = settings
        return body

    def schedule(self, seq: ir.Sequence) -> dict[str, Any]:
        days, start, end = campaign_window(seq)
        fallback, per_prospect = zone_names(seq)
        spec = seq.holidays
        timings = []
        for index, name in enumerate(_WEEKDAYS):
            active = index in days
            ranges = [{"fromTime": _time(start), "toTime": _time(end)}] if active else []
            timings.append({"weekDay": name, "isActive": active, "timeRanges": ranges})
        return {
            "name": f"seqc {seq.name}: {format_weekdays(days)} {format_hours(start, end)}",
            "timezoneId": fallback,
            "useProspectTimezone": per_prospect,
            "excludeHolidays": spec is not None and (spec.prospect or spec.country is not None),
            "useFollowUpSchedule": False,
            "mainTimings": timings,
            "followUpTimings": [],
        }

    # ------------------------------------------------------------ steps

    def step(self, node: Node, types: dict[str, str]) -> dict[str, Any]:
        delay = CAPABILITIES.delay.in_unit(node.gap)  # type: ignore[union-attr]
        if node.lstep is None:
            return {"type": "condition", "delayInMinutes": delay,
                    "waitInMinutes": CAPABILITIES.delay.in_unit(node.wait),  # type: ignore[union-attr]
                    "conditions": [condition(node, types)]}
        lstep = node.lstep
        channel = lstep.channel
        if channel == "email" and lstep.kind == "email":
            return {"type": "email", "delayInMinutes": delay, "executionMode": "automatic",
                    "variants": [self.email(lstep, v) for v in lstep.variants]}
        if channel == "linkedin" and lstep.kind is not None and not lstep.manual:
            return self.linkedin(lstep, delay)
        if lstep.kind in ("call", "task") and lstep.manual:
            step: dict[str, Any] = {"type": lstep.kind, "delayInMinutes": delay}
            if lstep.kind == "task":
                step["actionType"] = "toDo"
            step["description"] = self.instructions(lstep)
            return step
        raise RuntimeError(f"replyio: step `{lstep.name}` reached emit unlowered")

    def email(self, lstep: LStep, variant: LVariant) -> dict[str, Any]:
        merge = CAPABILITIES.merge
        assert merge is not None
        subject, body = _text(lstep, variant, "subject"), _text(lstep, variant, "body")
        # An empty subject sends the email as a reply in the thread of the previous one.
        subject_text = "" if lstep.step.thread or subject is None else format_text(subject, merge, "line")
        return {"subject": subject_text, "message": format_text(body, merge, "html") if body else ""}

    def linkedin(self, lstep: LStep, delay: int) -> dict[str, Any]:
        merge = CAPABILITIES.merge
        assert merge is not None
        action = lstep.kind
        step: dict[str, Any] = {"type": "linkedIn", "actionType": action, "delayInMinutes": delay,
                                # A voice message needs a recording: Reply makes it a task for the rep.
                                "executionMode": "manual" if action == "voiceMessage" else "automatic"}
        if action == "viewProfile":
            return step
        variants = []
        for variant in lstep.variants:
            entry: dict[str, Any] = {}
            subject = _text(lstep, variant, "subject")
            if action == "inMail":
                entry["subject"] = format_text(subject, merge, "line") if subject else ""
            text = self.instructions(lstep, variant) if action == "voiceMessage" else _message(lstep, variant)
            entry["message"] = text
            entry["isEnabled"] = True
            variants.append(entry)
        step["variants"] = variants
        return step

    def instructions(self, lstep: LStep, variant: LVariant | None = None) -> str:
        """A task's text: lowering notes ("Only if …"), then the script, note or message."""
        merge = CAPABILITIES.merge
        assert merge is not None
        variant = variant or lstep.variants[0]
        parts = list(lstep.notes)
        for field in ("subject", "script", "note", "body"):
            value = _text(lstep, variant, field)
            if value is not None and value.parts:
                text = format_text(value, merge, "line" if field == "subject" else "text")
                parts.append(f"Subject: {text}" if field == "subject" else text)
        return "\n\n".join(parts)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def condition(node: Node, types: dict[str, str]) -> dict[str, Any]:
    """One test as a Reply condition: a property and one rule (`and`/`or`/`not` are nested steps)."""
    test = node.test
    if isinstance(test, ir.Event):
        # The step whose email or invite the event is about: a reference to its created id.
        value = f"{{{node.ref.key}.id}}" if node.ref is not None else ""
        return {"property": EVENT_PROPERTIES[test.event], "rules": [{"operator": "step", "value": value}]}
    if isinstance(test, (ir.Compare, ir.Contains, ir.Has, ir.Truthy)):
        prop = _STANDARD.get(test.field, (test.field, ""))[0]
        if isinstance(test, ir.Compare):
            rule = {"operator": OPERATORS[test.op], "value": _value(test.value)}
        elif isinstance(test, ir.Contains):
            rule = {"operator": "contains", "value": test.value}
        elif isinstance(test, ir.Truthy) and types.get(test.field) == "bool":
            rule = {"operator": "equals", "value": "true"}
        else:
            rule = {"operator": "isNotEmpty", "value": ""}
        return {"property": prop, "rules": [rule]}
    raise RuntimeError(f"replyio: no condition for {type(test).__name__}")


def _text(lstep: LStep, variant: LVariant, field: str) -> Text | None:
    value = variant.get(field)
    if value is not None and not isinstance(value, Text):
        raise RuntimeError(f"replyio: `{lstep.name}` has untranslated {field}")
    return value


def _message(lstep: LStep, variant: LVariant) -> str:
    merge = CAPABILITIES.merge
    assert merge is not None
    for field in ("body", "note"):
        value = _text(lstep, variant, field)
        if value is not None:
            return format_text(value, merge, "text")
    return ""

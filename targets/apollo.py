"""`--target apollo`: Apollo.io sequence plans (`POST /emailer_campaigns` with `emailer_steps`) and a leads CSV.

Facts and their sources: docs/targets/apollo.md. In short: a sequence ("emailer campaign") is
created in one call with its steps; only `auto_email` steps are sent by Apollo, the others
(`call`, `action_item`, `linkedin_step_*`) are tasks for a human; each email step holds one or
more `emailer_touches` (several = an A/B test) with a `new_thread` or `reply_to_thread` type;
`wait_time` + `wait_mode` is the wait before a step, counted from the previous one; there is no
branching step; the sending schedule is made in Apollo's UI and referenced by id.

A plan file has lemlist's layout, `{"base_url", "sequence", "params", "requests": [...]}`, here
with a single request. `params.emailer_schedule_id` is filled in by the user (null until then)
and read by the body's `"{params.emailer_schedule_id}"`.
"""

from __future__ import annotations

import json
from typing import Any

from compiler import ir
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import Notice
from compiler.lower.passes import (
    branches_to_fields, campaign_window, channels_to_tasks, guards_to_task_notes, templates_to_tags, zone_names,
)
from compiler.lower.program import LStep, LVariant, Text
from compiler.lower.text import format_text
from compiler.timing import format_hours, format_weekdays
from targets.base import Artifact, CampaignGroup, CompileInput, Target

BASE_URL = "https://api.apollo.io/api/v1"

# seqc field -> (Apollo's contact API field, which is also the leads column; Apollo's merge tag).
# `{{first_name}}` is seen in live-tested payloads; the other tags are the likely names (unverified).
_STANDARD = {
    "email": ("email", "email"),
    "first_name": ("first_name", "first_name"), "last_name": ("last_name", "last_name"),
    "company": ("organization_name", "company"), "company_name": ("organization_name", "company"),
    "title": ("title", "title"), "job_title": ("title", "title"),
    "phone": ("direct_phone", "phone"), "website": ("website_url", "website"),
    "linkedin_url": ("linkedin_url", "linkedin_url"),
}

CAPABILITIES = Capabilities(
    channels={
        "email": StepKind("auto_email"),
        # Apollo's LinkedIn steps are reminders for a human: one step type per action it knows.
        "linkedin": StepKind("linkedin_step_message", manual=True, actions=frozenset({"connect", "message", "view"}),
                             kinds={"connect": "linkedin_step_connect", "view": "linkedin_step_view_profile"}),
        "call": StepKind("call", manual=True),
        "task": StepKind("action_item", manual=True),
    },
    task=StepKind("action_item", manual=True),
    exits=frozenset({"replied", "bounced", "unsubscribed"}),
    variants=Variants(max=None, weights=False),
    # A touch of type `reply_to_thread` (with an empty subject) goes into the thread of the
    # latest email that started one, which is what an empty subject means to the check.
    threading="empty_subject",
    delay=DelayModel(anchor="later", unit="days", counts="calendar", from_send=True),
    # The schedule (days, hours, zone, "use the contact's time zone", skip US holidays) is made
    # in Apollo's UI; seqc says what to set (a compile warning) and references it by id.
    schedule=ScheduleModel(zone="prospect", weekdays=True, windows=1, per_step="none", per_day_hours=True,
                           holidays=frozenset({"US"})),
    merge=MergeTags(
        tag="{{%s}}",
        fields={k: tag for k, (_, tag) in _STANDARD.items()},
        builtins={
            "unsubscribe_url": "unsubscribe_link",
            "sender_first_name": "sender_first_name",
            "sender_name": "{{sender_first_name}} {{sender_last_name}}",
            "sender_email": "sender_email",
        },
        # Apollo's `{{#if x}}…{{#else}}…{{#endif}}` repeats the name, which a `MergeTags.fallback`
        # format cannot say: fallbacks are pre-rendered instead.
        fallback=None,
    ),
    body="html",
    leads=LeadFormat(key="email", columns={k: column for k, (column, _) in _STANDARD.items()}, campaign="sequence"),
    lowerings=(branches_to_fields, templates_to_tags, channels_to_tasks, guards_to_task_notes),
)


def apollo_html(html: str) -> str:
    """seqc's `<p>` paragraphs as Apollo keeps them: one `<div>`, `<br><br>` between paragraphs.

    Apollo's editor collapses `<p>` and sibling `<div>` blocks (reference notes, "Body
    formatting"); literal text was escaped before, so every `<p>` here is structural.
    """
    if not html:
        return ""
    if not (html.startswith("<p>") and html.endswith("</p>")):
        raise RuntimeError("apollo: unexpected body HTML")
    inner = html[3:-4].replace("</p><p>", "<br><br>").replace("<br/>", "<br>")
    return f"<div>{inner}</div>"


class Apollo(Target):
    """Apollo.io: one `emailer_campaigns` plan per sequence, leads via CSV or the contacts API."""

    name = "apollo"
    summary = "Apollo.io sequence plans (POST /emailer_campaigns with emailer_steps) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        out = []
        for group in job.campaigns:
            self._notices(job, group.sequence.seq)
            plan = {
                "base_url": BASE_URL,
                "sequence": group.key,
                "params": {"emailer_schedule_id": None},
                "requests": [{"id": "sequence", "method": "POST", "path": "/emailer_campaigns",
                              "body": self.campaign(group)}],
            }
            text = json.dumps(plan, indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="apollo.schema.json"))
        return out

    def _notices(self, job: CompileInput, seq: ir.Sequence) -> None:
        days, start, end = campaign_window(seq)
        zone, per_prospect = zone_names(seq)
        spec = seq.holidays
        us = spec is not None and not spec.prospect and (spec.country or "").upper() == "US"
        job.notices.append(Notice(
            f"apollo: `{seq.name}` needs a sending schedule made in Apollo (Settings > Sequences > Schedules): "
            f"{format_weekdays(days)} {format_hours(start, end)} in {zone}, \"use the contact's time zone\" "
            f"{'on' if per_prospect else 'off'}, \"skip US holidays\" {'on' if us else 'off'}; "
            "put its id in the plan's `params.emailer_schedule_id`", seq.name_span))
        if "replied" not in seq.exit_on:
            job.notices.append(Notice(
                f"apollo: `{seq.name}` leaves `replied` out of `exit on`, but Apollo finishes a contact who replies "
                "unless the sequence's ruleset says otherwise: change it in Apollo", seq.exit_span or seq.name_span))

    def campaign(self, group: CampaignGroup) -> dict[str, Any]:
        steps = group.sequence.main.steps
        return {
            "name": group.key,
            "permissions": "team_can_use",
            "active": False,
            "emailer_schedule_id": "{params.emailer_schedule_id}",
            "label_names": ["seqc"],
            "emailer_steps": [self.step(s) for s in steps],
        }

    def step(self, lstep: LStep) -> dict[str, Any]:
        if lstep.kind is None or lstep.gap is None:
            raise RuntimeError(f"apollo: step `{lstep.name}` reached emit unlowered")
        step: dict[str, Any] = {"type": lstep.kind, "wait_time": lstep.gap, "wait_mode": "day"}
        if lstep.kind == "auto_email":
            step["emailer_touches"] = [self.touch(lstep, v) for v in lstep.variants]
            return step
        if not lstep.manual:
            raise RuntimeError(f"apollo: step `{lstep.name}` of kind {lstep.kind} is neither email nor task")
        note = self.instructions(lstep)
        if note:
            step["note"] = note
        return step

    def touch(self, lstep: LStep, variant: LVariant) -> dict[str, Any]:
        merge = CAPABILITIES.merge
        assert merge is not None
        subject, body = _text(lstep, variant, "subject"), _text(lstep, variant, "body")
        threaded = bool(lstep.step.thread) or subject is None or not subject.parts
        template = {
            "subject": "" if threaded else format_text(subject, merge, "line"),  # type: ignore[arg-type]
            "body_html": apollo_html(format_text(body, merge, "html")) if body is not None else "",
        }
        return {"type": "reply_to_thread" if threaded else "new_thread", "emailer_template": template}

    def instructions(self, lstep: LStep) -> str:
        """A task's note: lowering notes ("LinkedIn: InMail", "Only if …"), then the step's text."""
        merge = CAPABILITIES.merge
        assert merge is not None
        if len(lstep.variants) != 1:
            raise RuntimeError(f"apollo: the task `{lstep.name}` has {len(lstep.variants)} variants")
        variant = lstep.variants[0]
        parts = list(lstep.notes)
        for field in ("subject", "script", "note", "body"):
            value = _text(lstep, variant, field)
            if value is not None and value.parts:
                text = format_text(value, merge, "line" if field == "subject" else "text")
                parts.append(f"Subject: {text}" if field == "subject" else text)
        return "\n\n".join(parts)


def _text(lstep: LStep, variant: LVariant, field: str) -> Text | None:
    value = variant.get(field)
    if value is not None and not isinstance(value, Text):
        raise RuntimeError(f"apollo: `{lstep.name}` has untranslated {field}")
    return value

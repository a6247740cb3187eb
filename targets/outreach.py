"""`--target outreach`: an Outreach API v2 (JSON:API) request plan per sequence, and a leads CSV.

Facts and their sources: docs/targets/outreach.md. In short: a sequence is four kinds of
record made in order — the `sequence`, its `sequenceStep`s (`auto_email`, `call`, `task`;
`interval` in seconds after the previous step, the first after enrollment), one `template`
per email variant and a `sequenceTemplate` linking each template to its step (several on one
step are an A/B test; `isReply` sends it in the previous email's thread). Later records need
the ids of earlier ones, so each file is a request plan (see `targets.engagement`). LinkedIn
touches and tasks become `task` steps. No branching. The schedule (days, hours, prospect time
zone) is set in Outreach's UI; the API has no field for it.

Prospect data a template needs beyond Outreach's standard variables (`{{first_name}}`,
`{{account.name}}` …) lives in Outreach's numbered custom prospect fields: seqc assigns
`custom1`, `custom2` … in leads-file column order and writes `{{customN}}` (`{{{customN}}}`
for pre-rendered HTML in a body, so Outreach does not escape it).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from compiler import ir, timing
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import Notice
from compiler.lower.passes import (
    branches_to_fields, campaign_window, channels_to_tasks, guards_to_task_notes, templates_to_tags, zone_names,
)
from compiler.lower.program import LSequence, LStep, LVariant, Program, Text
from compiler.lower.text import format_text
from targets.base import Artifact, CampaignGroup, CompileInput, Target
from targets.engagement import hhmm, ref, replies_in_thread, request, retag, task_text, text_value

BASE_URL = "https://api.outreach.io/api/v2"

# seqc field -> (Outreach variable, leads column). Prospect name and title are prospect
# variables; the company is the prospect's account (`{{account.name}}`).
_STANDARD = {
    "first_name": ("first_name", "first_name"), "last_name": ("last_name", "last_name"),
    "title": ("title", "title"), "job_title": ("title", "title"),
    "company": ("account.name", "company"), "company_name": ("account.name", "company"),
}
# Leads columns for fields that templates do not reach through a standard variable.
_COLUMNS = {"phone": "phone", "linkedin_url": "linkedin_url", "website": "website"}

CAPABILITIES = Capabilities(
    channels={
        "email": StepKind("auto_email"),
        "call": StepKind("call", manual=True),
        "task": StepKind("task", manual=True),
    },
    task=StepKind("task", manual=True),
    # A reply finishes (or not) via `primaryReplyAction`; Outreach itself stops on bounces and opt-outs.
    exits=frozenset({"replied", "bounced", "unsubscribed"}),
    variants=Variants(max=None, weights=False),  # several templates on a step; rotation not configurable
    threading="flag",  # sequenceTemplate.isReply: a reply in the previous email's thread
    # `interval` waits after the previous step; a step held by the schedule delays all later
    # ones (no catch-up); `scheduleIntervalType: calendar` counts calendar time.
    delay=DelayModel(anchor="later", unit="seconds", counts="calendar", from_send=True, first_wait=True),
    # One schedule per sequence, made in the UI: weekday time blocks, optionally the prospect's zone.
    schedule=ScheduleModel(zone="prospect", zones=None, weekdays=True, windows=1, per_step="none"),
    merge=MergeTags(
        tag="{{%s}}",
        fields={k: tag for k, (tag, _) in _STANDARD.items()},
        builtins={
            "sender_first_name": "sender.first_name",
            "sender_name": "{{sender.first_name}} {{sender.last_name}}",
            "sender_email": "sender.email",
        },
        fallback=None,  # `{{#if x}}…{{else}}…{{/if}}` is inferred, not documented: fallbacks are pre-rendered
    ),
    body="html",
    leads=LeadFormat(key="email", columns={**{k: col for k, (_, col) in _STANDARD.items()}, **_COLUMNS},
                     campaign="sequence"),
    lowerings=(branches_to_fields, templates_to_tags, channels_to_tasks, guards_to_task_notes, replies_in_thread),
)
MERGE: MergeTags = CAPABILITIES.merge  # type: ignore[assignment]
DAY_SECONDS = 86_400


def custom_fields(program: Program) -> dict[str, str]:
    """seqc name -> Outreach custom prospect field (`custom1` …) for every value a template
    reads that is not a standard variable: declared fields used as variables, then the
    pre-rendered fields, in leads-file column order."""
    names = [v for v in program.variables if v not in MERGE.fields]
    names += [f.name for f in program.fields if f.name not in names]
    return {name: f"custom{i}" for i, name in enumerate(names, 1)}


class Outreach(Target):
    """Outreach: one request plan per sequence (sequence, steps, templates, links), leads via CSV."""

    name = "outreach"
    summary = "Outreach API v2 request plans (sequence, sequenceSteps, templates, sequenceTemplates) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        program = job.program
        if program is None:
            raise RuntimeError("outreach: nothing was lowered")
        slots = custom_fields(program)
        job.notices.append(Notice(
            "outreach: the API cannot set a sequence's schedule: create the schedule each plan describes "
            "(`schedule`: days, hours, time zone) in Outreach and assign it to the sequence before adding prospects"))
        if slots:
            shown = ", ".join(f"{slot} = {name}" for name, slot in slots.items())
            job.notices.append(Notice(
                f"outreach: the templates read prospect custom fields ({shown}): check that your org does not "
                "use them for anything else, and map the leads columns to them on import"))
        out = []
        for group in job.campaigns:
            text = json.dumps(self.plan(group, slots), indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="outreach.schema.json"))
        return out

    # ------------------------------------------------------------ the plan

    def plan(self, group: CampaignGroup, slots: dict[str, str]) -> dict[str, Any]:
        lseq = group.sequence
        if any(t.steps for t in lseq.tracks[1:]):
            raise RuntimeError(f"outreach: `{lseq.name}` reached emit with a path")
        requests = [request("sequence", "POST", "/sequences", self.sequence(lseq, group))]
        for order, lstep in enumerate(lseq.main.steps, 1):
            step_id = f"step:{lstep.name}"
            requests.append(request(step_id, "POST", "/sequenceSteps", self.step(lstep, order, slots)))
            if lstep.manual:
                continue
            for variant in lstep.variants:
                suffix = f":{variant.name}" if variant.name else ""
                template_id = f"template:{lstep.name}{suffix}"
                requests.append(request(template_id, "POST", "/templates",
                                        self.template(lseq, lstep, variant, slots)))
                requests.append(request(f"link:{lstep.name}{suffix}", "POST", "/sequenceTemplates",
                                        self.link(lstep, step_id, template_id)))
        # The leads file is shared by every plan of a compile, so each lists every slot it fills.
        filled = {slot: name for name, slot in slots.items()}
        return {"base_url": BASE_URL, "requests": requests, "schedule": self.schedule(lseq.seq),
                "custom_fields": filled}

    def sequence(self, lseq: LSequence, group: CampaignGroup) -> dict[str, Any]:
        seq = lseq.seq
        reply = "finish" if "replied" in seq.exit_on else "continue"
        attributes: dict[str, Any] = {
            "name": seq.title or seq.name,
            "description": f"seqc sequence `{seq.name}`",
            "sequenceType": "interval",
            "scheduleIntervalType": "calendar",
            "shareType": "private",
            "primaryReplyAction": reply,
            "secondaryReplyAction": reply,
            "tags": ["seqc"],
        }
        if group.enroll_per_day is not None:
            attributes["throttleMaxAddsPerDay"] = group.enroll_per_day
        return {"data": {"type": "sequence", "attributes": attributes}}

    def step(self, lstep: LStep, order: int, slots: dict[str, str]) -> dict[str, Any]:
        if lstep.kind is None or lstep.gap is None:
            raise RuntimeError(f"outreach: step `{lstep.name}` reached emit unlowered")
        attributes: dict[str, Any] = {"stepType": lstep.kind, "order": order, "interval": lstep.gap * DAY_SECONDS}
        if lstep.manual:
            attributes["taskNote"] = task_text(_retagged(lstep, slots), MERGE, self.name)
        sequence = {"data": {"type": "sequence", "id": ref("sequence", "data.id")}}
        return {"data": {"type": "sequenceStep", "attributes": attributes, "relationships": {"sequence": sequence}}}

    def template(self, lseq: LSequence, lstep: LStep, variant: LVariant, slots: dict[str, str]) -> dict[str, Any]:
        subject = text_value(lstep, variant.get("subject"), self.name)
        body = text_value(lstep, variant.get("body"), self.name)
        # A reply (`isReply`) goes out with the thread's subject; the check refused one written here.
        subject_text = "" if lstep.step.thread or subject is None else format_text(retag(subject, slots), MERGE, "line")
        body_html = format_text(retag(body, slots, raw=True), MERGE, "html") if body is not None else ""
        name = f"{lseq.name}: {lstep.name}" + (f" ({variant.name})" if variant.name else "")
        attributes = {"name": name, "subject": subject_text, "bodyHtml": body_html,
                      "trackOpens": False, "trackLinks": False, "tags": ["seqc"]}
        return {"data": {"type": "template", "attributes": attributes}}

    @staticmethod
    def link(lstep: LStep, step_id: str, template_id: str) -> dict[str, Any]:
        return {"data": {
            "type": "sequenceTemplate",
            "attributes": {"isReply": lstep.step.thread is not None},
            "relationships": {
                "sequenceStep": {"data": {"type": "sequenceStep", "id": ref(step_id, "data.id")}},
                "template": {"data": {"type": "template", "id": ref(template_id, "data.id")}},
            },
        }}

    @staticmethod
    def schedule(seq: ir.Sequence) -> dict[str, Any]:
        """The schedule to make in Outreach's UI: the email window and whose clock it runs on."""
        days, start, end = campaign_window(seq)
        zone, per_prospect = zone_names(seq)
        return {
            "name": f"seqc {seq.name}: email {timing.format_weekdays(days)} {timing.format_hours(start, end)}",
            "days": [timing.WEEKDAY_NAMES[d] for d in days],
            "from": hhmm(start),
            "to": hhmm(end),
            "use_prospect_time_zone": per_prospect,
            "time_zone": zone,
        }


def _retagged(lstep: LStep, slots: dict[str, str]) -> LStep:
    """`lstep` with custom prospect fields renamed to Outreach's slots in every text field."""
    variants = []
    for variant in lstep.variants:
        for name, value in variant.fields:
            if isinstance(value, Text):
                variant = variant.with_field(name, retag(value, slots))
        variants.append(variant)
    return replace(lstep, variants=tuple(variants))

"""`--target hubspot`: what HubSpot's sequence APIs can take, per sequence, and a leads CSV.

Facts and their sources: docs/targets/hubspot.md. In short: the stable Sequences API (2026-03)
only reads sequences and enrolls contacts; sales email templates have no public create API. So
each file holds what a person builds by hand (the `templates`, and the `sequence` as HubSpot's
read API will show it once built: steps with `delayMillis` counted on business days, email
steps naming their template, tasks with a type), the stable calls seqc can make (contact
properties for the values templates read), and a per-lead enrollment plan. With the beta
option (`HubSpot(beta=True)`), the plan also creates the sequence through the 2026-09-beta
endpoint. Request plans follow `targets.engagement`.

HubSpot sends in the enrolling user's time zone, on business days, in one window per sequence:
a prospect time zone and other send days are SEQ601. Tokens are `{{ contact.firstname }}`-style;
fallbacks live in HubSpot's token editor, not in the text, so seqc pre-renders them.
"""

from __future__ import annotations

import json
from typing import Any

from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import Notice
from compiler.lower.passes import (
    branches_to_fields, campaign_window, channels_to_tasks, guards_to_task_notes, templates_to_tags, zone_names,
)
from compiler.lower.program import LSequence, LStep, Program
from compiler.lower.text import format_text
from targets.base import Artifact, CampaignGroup, CompileInput, Target
from targets.engagement import (
    business_days_only, param, ref, replies_in_thread, request, sender_address, task_text, text_value,
    zone_of_the_rep,
)

BASE_URL = "https://api.hubapi.com"
STABLE = "2026-03"
BETA = "2026-09-beta"

# seqc field -> HubSpot contact property (its token is `{{ contact.<property> }}`; also the leads column).
_PROPERTIES = {
    "email": "email", "first_name": "firstname", "last_name": "lastname",
    "company": "company", "company_name": "company", "title": "jobtitle", "job_title": "jobtitle",
    "phone": "phone", "website": "website", "city": "city", "state": "state", "country": "country",
}
# A declared field's type -> the contact property seqc creates for it (`type`, `fieldType`).
_PROPERTY_TYPES = {"int": ("number", "number"), "number": ("number", "number"), "date": ("date", "date")}
_TASK_SUBJECTS = {"CALL": "Call", "TODO": "Task", "LINKED_IN_CONNECT": "LinkedIn connection request",
                  "LINKED_IN_MESSAGE": "LinkedIn message"}


CAPABILITIES = Capabilities(
    channels={
        "email": StepKind("EMAIL"),
        "call": StepKind("CALL", manual=True),
        "task": StepKind("TODO", manual=True),
        "linkedin": StepKind("LINKED_IN_MESSAGE", manual=True, actions=frozenset({"connect", "message"}),
                             kinds={"connect": "LINKED_IN_CONNECT"}),
    },
    task=StepKind("TODO", manual=True),
    # Contacts unenroll on a reply, a booked meeting, a bounce or an unsubscribe.
    exits=frozenset({"replied", "bounced", "unsubscribed", "booked"}),
    variants=Variants(max=1),  # the beta has `variants[]`, but how a variant names its template is not documented
    threading="reference",  # emailPattern.threadEmailToStepOrder
    # `delayMillis` waits after the previous step, counted on business days
    # (`eligibleFollowUpDays: BUSINESS_DAYS`); the first step goes out at enrollment.
    delay=DelayModel(anchor="later", unit="milliseconds", counts="business_days", from_send=True, first_wait=False),
    # One window in minutes of the day, in the enrolling user's zone; no list of days.
    schedule=ScheduleModel(zone="user", zones=None, weekdays=False, windows=1, per_step="none"),
    merge=MergeTags(
        tag="{{ contact.%s }}",
        fields={k: v for k, v in _PROPERTIES.items()},
        builtins={
            "sender_first_name": "{{ sender.firstname }}",
            "sender_name": "{{ sender.firstname }} {{ sender.lastname }}",
            "sender_email": "{{ sender.email }}",
        },
        fallback=None,
    ),
    body="html",
    leads=LeadFormat(key="email", columns={k: v for k, v in _PROPERTIES.items() if k != "email"},
                     campaign="seqc_sequence"),
    lowerings=(branches_to_fields, templates_to_tags, channels_to_tasks, guards_to_task_notes, replies_in_thread,
               business_days_only, zone_of_the_rep),
)
MERGE: MergeTags = CAPABILITIES.merge  # type: ignore[assignment]
DELAY: DelayModel = CAPABILITIES.delay  # type: ignore[assignment]


class HubSpot(Target):
    """HubSpot: templates and a build sheet for the UI, property and enrollment calls; the sequence
    itself through the beta API when built with `beta=True` (`--hubspot-beta`)."""

    name = "hubspot"
    summary = ("HubSpot: sales templates + sequence build sheet, contact properties and enrollments "
               "(stable API); sequence create with the 2026-09 beta option")
    capabilities = CAPABILITIES

    def __init__(self, beta: bool = False) -> None:
        self.beta = beta

    def emit(self, job: CompileInput) -> list[Artifact]:
        program = job.program
        if program is None:
            raise RuntimeError("hubspot: nothing was lowered")
        properties = self.properties(program)
        job.notices.append(Notice(
            "hubspot: HubSpot's public API cannot create sales email templates: create each file's `templates` "
            "in HubSpot and put their ids into `params`" + ("" if self.beta else
            "; build the sequence as its `sequence` describes, or compile with the beta option")))
        out = []
        for group in job.campaigns:
            self._zone_notice(job, group.sequence)
            text = json.dumps(self.document(job, group, properties), indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="hubspot.schema.json"))
        return out

    @staticmethod
    def _zone_notice(job: CompileInput, lseq: LSequence) -> None:
        zone, _ = zone_names(lseq.seq)
        spec = lseq.seq.timezone
        job.notices.append(Notice(
            f"hubspot: `{lseq.name}` sends in the time zone of the user who enrolls its contacts: "
            f"enroll from a user set to {zone}", spec.span if spec else lseq.seq.name_span))

    # ------------------------------------------------------------ the document

    def document(self, job: CompileInput, group: CampaignGroup,
                 properties: list[dict[str, Any]]) -> dict[str, Any]:
        lseq = group.sequence
        if any(t.steps for t in lseq.tracks[1:]):
            raise RuntimeError(f"hubspot: `{lseq.name}` reached emit with a path")
        steps = lseq.main.steps
        order = {s.name: i for i, s in enumerate(steps)}
        templates = [self.template(lseq, s, order) for s in steps if not s.manual]
        params: dict[str, Any] = {"user_id": None, "sender_email": sender_address(job.loaded.project)}
        if not self.beta:
            params["sequence_id"] = None
        params.update((t["param"], None) for t in templates)
        built = [self.step(s, i, order) for i, s in enumerate(steps)]
        sequence = {"name": lseq.seq.title or lseq.name, "settings": self.settings(lseq), "steps": built}
        requests = [request(f"property:{p['name']}", "POST", "/crm/v3/properties/contacts", p) for p in properties]
        if self.beta:
            requests.append(request("sequence", "POST", f"/automation/sequences/{BETA}/serviceaccounts/sequences",
                                    self.beta_body(sequence)))
        sequence_id = ref("sequence") if self.beta else param("sequence_id")
        per_lead = [
            request("contact", "GET", "/crm/v3/objects/contacts/{lead.email}?idProperty=email"),
            request("enrollment", "POST", f"/automation/sequences/{STABLE}/enrollments?userId={param('user_id')}",
                    {"contactId": ref("contact"), "senderEmail": param("sender_email"), "sequenceId": sequence_id}),
        ]
        return {"base_url": BASE_URL, "params": params, "templates": templates, "sequence": sequence,
                "requests": requests, "per_lead": per_lead}

    @staticmethod
    def settings(lseq: LSequence) -> dict[str, Any]:
        _, start, end = campaign_window(lseq.seq)
        follow = [s for s in lseq.main.steps if s.channel == "email" and not s.manual][1:]
        # The sequence-wide switch only when every follow-up is a reply; otherwise each reply
        # says which step's thread it joins (`threadEmailToStepOrder`).
        return {"eligibleFollowUpDays": "BUSINESS_DAYS", "sendWindowStartMinute": start, "sendWindowEndMinute": end,
                "useThreadedFollowUps": bool(follow) and all(s.step.thread for s in follow)}

    def step(self, lstep: LStep, index: int, order: dict[str, int]) -> dict[str, Any]:
        if lstep.gap is None or lstep.kind is None:
            raise RuntimeError(f"hubspot: step `{lstep.name}` reached emit unlowered")
        out: dict[str, Any] = {"stepOrder": index, "delayMillis": DELAY.in_unit(lstep.gap)}
        if lstep.manual:
            out["actionType"] = "TASK"
            out["taskPattern"] = {"taskType": lstep.kind, "taskPriority": "NONE",
                                  "subject": f"{_TASK_SUBJECTS.get(lstep.kind, 'Task')}: {lstep.name}",
                                  "notes": task_text(lstep, MERGE, self.name)}
            return out
        pattern: dict[str, Any] = {"templateId": param(_template_param(lstep))}
        if lstep.step.thread is not None:
            pattern["threadEmailToStepOrder"] = order[lstep.step.thread]
        out["actionType"] = "EMAIL"
        out["emailPattern"] = pattern
        return out

    def template(self, lseq: LSequence, lstep: LStep, order: dict[str, int]) -> dict[str, Any]:
        if len(lstep.variants) != 1:
            raise RuntimeError(f"hubspot: `{lstep.name}` reached emit with variants")
        variant = lstep.variants[0]
        subject = text_value(lstep, variant.get("subject"), self.name)
        body = text_value(lstep, variant.get("body"), self.name)
        # A threaded follow-up goes out under the thread's subject; the template keeps it for reference.
        source = lstep
        while source.step.thread is not None:
            source = lseq.main.steps[order[source.step.thread]]
        if source is not lstep:
            subject = text_value(source, source.variants[0].get("subject"), self.name)
        return {
            "param": _template_param(lstep),
            "name": f"{lseq.name}: {lstep.name}",
            "subject": format_text(subject, MERGE, "line") if subject is not None else "",
            "body": format_text(body, MERGE, "html") if body is not None else "",
        }

    @staticmethod
    def beta_body(sequence: dict[str, Any]) -> dict[str, Any]:
        """The 2026-09-beta create body: the build sheet's steps, each with one active variant.

        Where a step's email template or task goes in the create body is not in the readable
        reference; seqc puts the read shape's `actionType` and pattern on the step (see the doc).
        """
        steps = [{**step, "branchNumber": 0, "dynamic": False,
                  "variants": [{"variantOrdinal": 0, "activated": True}]} for step in sequence["steps"]]
        return {"name": sequence["name"], "dynamic": False, "settings": sequence["settings"], "steps": steps}

    # ------------------------------------------------------------ contact properties

    @staticmethod
    def properties(program: Program) -> list[dict[str, Any]]:
        """Contact properties for the values templates read that HubSpot does not have built in."""
        declared = {f.name: f for f in program.project.prospect.fields} if program.project.prospect else {}
        out = []
        for name in program.variables:
            if name in MERGE.fields:
                continue
            kind, field_type = _PROPERTY_TYPES.get(declared[name].type, ("string", "text"))
            out.append(_property(name, f"seqc: {name}", kind, field_type,
                                 f"Prospect field `{name}` of the seqc project"))
        for custom in program.fields:
            out.append(_property(custom.name, f"seqc: {custom.step} {custom.field}", "string", "textarea",
                                 f"Pre-rendered by seqc for `{custom.step}` ({custom.field}) of `{custom.sequence}`"))
        return out


def _property(name: str, label: str, kind: str, field_type: str, description: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": kind, "fieldType": field_type,
            "groupName": "contactinformation", "description": description}


def _template_param(lstep: LStep) -> str:
    return f"template_{lstep.name}"

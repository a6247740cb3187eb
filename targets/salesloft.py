"""`--target salesloft`: a Salesloft cadence import document (`POST /v2/cadence_imports`) per sequence.

Facts and their sources: docs/targets/salesloft.md. In short: one call creates a cadence and
all its steps. `cadence_content.step_groups[]` are days, numbered absolutely from 1 (the
enrollment day), counted on business days; each group here holds one step (`Email`, `Phone`,
or `Other` for a manual task: LinkedIn touches and tasks). An automated email group sends
`at_time` (one time of day, in the person's or the user's zone); a reply joins an earlier
email's thread by naming that email's group (`previous_email_step_group_reference_id`). The
import has no branching and no A/B variants (SEQ601, naming a target that takes them), and
`{{first_name}}`-style dynamic tags with `{{My.first_name}}` for the sender.
"""

from __future__ import annotations

import json
from typing import Any

from compiler import timing
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import Notice
from compiler.lower.passes import (
    branches_to_fields, campaign_window, channels_to_tasks, guards_to_task_notes, templates_to_tags, zone_names,
)
from compiler.lower.program import LSequence, LStep
from compiler.lower.text import format_text
from targets.base import Artifact, CampaignGroup, CompileInput, Target
from targets.engagement import hhmm, replies_in_thread, task_text, text_value

# seqc field -> (Salesloft dynamic tag, leads column = the person field of the People API).
_STANDARD = {
    "first_name": ("first_name", "first_name"), "last_name": ("last_name", "last_name"),
    "title": ("title", "title"), "job_title": ("title", "title"),
    "company": ("company", "person_company_name"), "company_name": ("company", "person_company_name"),
    "city": ("city", "city"), "state": ("state", "state"),
}
_COLUMNS = {"phone": "phone", "linkedin_url": "linkedin_url", "country": "country"}
_WEEKEND = frozenset({5, 6})

CAPABILITIES = Capabilities(
    channels={
        "email": StepKind("Email"),
        "call": StepKind("Phone", manual=True),
        "task": StepKind("Other", manual=True),
    },
    task=StepKind("Other", manual=True),
    # remove_replied / remove_bounced / remove_people_when_meeting_booked; opt-outs always stop.
    exits=frozenset({"replied", "bounced", "unsubscribed", "booked"}),
    variants=Variants(max=1),  # A/B testing exists in the UI only: not in the import format
    threading="reference",
    # `day` is absolute, 1 = the day a person is added; cadence days are business days
    # (medium confidence, see the doc), and a late step does not push the later ones.
    delay=DelayModel(anchor="absolute", unit="days", counts="business_days", from_send=False, first_day=1),
    schedule=ScheduleModel(zone="prospect", zones=None, weekdays=True, windows=1, per_step="time"),
    merge=MergeTags(
        tag="{{%s}}",
        fields={k: tag for k, (tag, _) in _STANDARD.items()},
        builtins={"sender_first_name": "My.first_name", "sender_name": "My.name",
                  "sender_email": "My.email_address"},
        fallback=None,
    ),
    body="html",
    leads=LeadFormat(key="email_address", columns={**{k: col for k, (_, col) in _STANDARD.items()}, **_COLUMNS},
                     campaign="cadence"),
    lowerings=(branches_to_fields, templates_to_tags, channels_to_tasks, guards_to_task_notes, replies_in_thread),
)
MERGE: MergeTags = CAPABILITIES.merge  # type: ignore[assignment]


class Salesloft(Target):
    """Salesloft: one cadence import body per sequence; people via CSV import or the People API."""

    name = "salesloft"
    summary = "Salesloft cadence import bodies (POST /v2/cadence_imports) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        out = []
        for group in job.campaigns:
            self._notices(job, group.sequence)
            text = json.dumps(self.cadence(group), indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="salesloft.schema.json"))
        return out

    def _notices(self, job: CompileInput, lseq: LSequence) -> None:
        seq = lseq.seq
        days, start, end = campaign_window(seq)
        zone, per_prospect = zone_names(seq)
        if days != tuple(timing.BUSINESS_DAYS) and any(not s.manual for s in lseq.steps()):
            job.notices.append(Notice(
                f"salesloft: the import has no sending days: emails of `{seq.name}` go out on the business day "
                f"their cadence day falls on; limit the team's email schedule to {timing.format_weekdays(days)} "
                "in Salesloft to keep the plan's days", seq.name_span))
        if not per_prospect:
            job.notices.append(Notice(
                f"salesloft: `{seq.name}` sends at the cadence owner's local time (`timezone_mode: user`): "
                f"the owner's time zone must be {zone}", seq.timezone.span if seq.timezone else seq.name_span))

    def cadence(self, group: CampaignGroup) -> dict[str, Any]:
        lseq = group.sequence
        seq = lseq.seq
        if any(t.steps for t in lseq.tracks[1:]):
            raise RuntimeError(f"salesloft: `{lseq.name}` reached emit with a path")
        settings: dict[str, Any] = {
            "name": seq.title or seq.name,
            "target_daily_people": group.enroll_per_day or 0,
            "remove_replied": "replied" in seq.exit_on,
            "remove_bounced": "bounced" in seq.exit_on,
            "remove_people_when_meeting_booked": "booked" in seq.exit_on,
            "external_identifier": f"seqc:{seq.name}",
            "cadence_function": "outbound",
        }
        groups: list[dict[str, Any]] = []
        reference: dict[str, int] = {}
        day = CAPABILITIES.delay.first_day  # type: ignore[union-attr]
        for index, lstep in enumerate(lseq.main.steps, 1):
            if lstep.gap is None or lstep.kind is None:
                raise RuntimeError(f"salesloft: step `{lstep.name}` reached emit unlowered")
            day += lstep.gap
            reference[lstep.name] = index
            groups.append(self.group(lseq, lstep, day, index, reference))
        return {"settings": settings, "sharing_settings": {"team_cadence": False, "shared": False},
                "cadence_content": {"step_groups": groups}}

    def group(self, lseq: LSequence, lstep: LStep, day: int, index: int, reference: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = {"day": day, "due_immediately": False, "reference_id": index}
        if lstep.manual:
            out["automated"] = False
            out["automated_settings"] = {}
            out["steps"] = [{"enabled": True, "name": lstep.name, "type": lstep.kind,
                             "type_settings": {"instructions": task_text(lstep, MERGE, self.name)}}]
            return out
        _, per_prospect = zone_names(lseq.seq)
        out["automated"] = True
        out["automated_settings"] = {
            "send_type": "at_time",
            "time_of_day": hhmm(lstep.start),  # the window's opening: one time for everyone
            "timezone_mode": "person" if per_prospect else "user",
            "allow_send_on_weekends": bool(_WEEKEND & set(lstep.days)),
        }
        out["steps"] = [self.email(lstep, reference)]
        return out

    def email(self, lstep: LStep, reference: dict[str, int]) -> dict[str, Any]:
        if len(lstep.variants) != 1:
            raise RuntimeError(f"salesloft: `{lstep.name}` reached emit with variants")
        variant = lstep.variants[0]
        subject = text_value(lstep, variant.get("subject"), self.name)
        body = text_value(lstep, variant.get("body"), self.name)
        thread = lstep.step.thread
        # A reply keeps the subject of the thread it joins (the check refused one written here).
        template = {
            "title": lstep.name,
            "subject": "" if thread or subject is None else format_text(subject, MERGE, "line"),
            "body": format_text(body, MERGE, "html") if body is not None else "",
            "open_tracking": False,
            "click_tracking": False,
        }
        settings: dict[str, Any] = {"email_template": template}
        if thread is not None:
            if thread not in reference:
                raise RuntimeError(f"salesloft: `{lstep.name}` threads on `{thread}`, which is not an earlier step")
            settings = {"previous_email_step_group_reference_id": reference[thread], **settings}
        return {"enabled": True, "name": lstep.name, "type": "Email", "type_settings": settings}

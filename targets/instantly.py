"""`--target instantly`: Instantly API v2 campaign bodies (`POST /api/v2/campaigns`) and a leads CSV.

Facts and their sources: docs/targets/instantly.md. In short: email steps only; one linear
sequence (`sequences[0]`); the delay sits on the step BEFORE the gap (`steps[i].delay` is the
wait until step i+1, the last step 0); one schedule and one time zone per campaign, from a
closed list; HTML bodies; `{{firstName}}`-style tags with `{{name | fallback}}` fallbacks.
"""

from __future__ import annotations

import json
from typing import Any

from compiler import ir
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import Notice
from compiler.lower.passes import branches_to_fields, campaign_window, templates_to_tags, zones_to_campaigns
from compiler.lower.program import LStep, LVariant, Text
from compiler.lower.text import format_text
from compiler.timing import format_hours, format_weekdays
from targets.base import Artifact, CampaignGroup, CompileInput, Target

# `schedules[].timezone` is a closed enum. Pinned from the create-campaign request schema of the
# Instantly v2 OpenAPI document (as generated into the Stainless client, 2026); re-pin when it changes.
ZONES = frozenset({
    "Etc/GMT+12", "Etc/GMT+11", "Etc/GMT+10", "America/Anchorage", "America/Dawson", "America/Creston",
    "America/Chihuahua", "America/Boise", "America/Belize", "America/Chicago", "America/Bahia_Banderas",
    "America/Regina", "America/Bogota", "America/Detroit", "America/Indiana/Marengo", "America/Caracas",
    "America/Asuncion", "America/Glace_Bay", "America/Campo_Grande", "America/Anguilla", "America/Santiago",
    "America/St_Johns", "America/Sao_Paulo", "America/Argentina/La_Rioja", "America/Araguaina",
    "America/Godthab", "America/Montevideo", "America/Bahia", "America/Noronha", "America/Scoresbysund",
    "Atlantic/Cape_Verde", "Africa/Casablanca", "America/Danmarkshavn", "Europe/Isle_of_Man", "Atlantic/Canary",
    "Africa/Abidjan", "Arctic/Longyearbyen", "Europe/Belgrade", "Africa/Ceuta", "Europe/Sarajevo",
    "Africa/Algiers", "Africa/Windhoek", "Asia/Nicosia", "Asia/Beirut", "Africa/Cairo", "Asia/Damascus",
    "Europe/Bucharest", "Africa/Blantyre", "Europe/Helsinki", "Europe/Istanbul", "Asia/Jerusalem",
    "Africa/Tripoli", "Asia/Amman", "Asia/Baghdad", "Europe/Kaliningrad", "Asia/Aden", "Africa/Addis_Ababa",
    "Europe/Kirov", "Europe/Astrakhan", "Asia/Tehran", "Asia/Dubai", "Asia/Baku", "Indian/Mahe", "Asia/Tbilisi",
    "Asia/Yerevan", "Asia/Kabul", "Antarctica/Mawson", "Asia/Yekaterinburg", "Asia/Karachi", "Asia/Kolkata",
    "Asia/Colombo", "Asia/Kathmandu", "Antarctica/Vostok", "Asia/Dhaka", "Asia/Rangoon", "Antarctica/Davis",
    "Asia/Novokuznetsk", "Asia/Hong_Kong", "Asia/Krasnoyarsk", "Asia/Brunei", "Australia/Perth", "Asia/Taipei",
    "Asia/Choibalsan", "Asia/Irkutsk", "Asia/Dili", "Asia/Pyongyang", "Australia/Adelaide", "Australia/Darwin",
    "Australia/Brisbane", "Australia/Melbourne", "Antarctica/DumontDUrville", "Australia/Currie", "Asia/Chita",
    "Antarctica/Macquarie", "Asia/Sakhalin", "Pacific/Auckland", "Etc/GMT-12", "Pacific/Fiji", "Asia/Anadyr",
    "Asia/Kamchatka", "Etc/GMT-13", "Pacific/Apia",
})

# Lead API fields are snake_case while the tags are camelCase (reference notes, "Merge-tag syntax").
_STANDARD = {
    "first_name": ("first_name", "firstName"), "last_name": ("last_name", "lastName"),
    "company": ("company_name", "companyName"), "company_name": ("company_name", "companyName"),
    "title": ("job_title", "jobTitle"), "job_title": ("job_title", "jobTitle"),
    "website": ("website", "website"), "phone": ("phone", "phone"),
    "personalization": ("personalization", "personalization"),
}

CAPABILITIES = Capabilities(
    channels={"email": StepKind("email")},
    exits=frozenset({"replied", "bounced", "unsubscribed"}),
    variants=Variants(max=None, weights=False),
    threading="empty_subject",
    # `delay` waits AFTER a step; the first email has no wait (it goes out when the schedule
    # opens); a 0 delay between two emails is refused by common validators, so gaps are >= 1 day.
    delay=DelayModel(anchor="earlier", unit="days", counts="calendar", from_send=True, first_wait=False, min_gap=1),
    schedule=ScheduleModel(zone="campaign", zones=ZONES, weekdays=True, windows=1, per_step="none"),
    merge=MergeTags(
        tag="{{%s}}",
        fields={"email": "email", **{k: tag for k, (_, tag) in _STANDARD.items()}},
        builtins={
            "unsubscribe_url": "unsubscribe",
            "sender_first_name": "sendingAccountFirstName",
            "sender_name": "{{sendingAccountFirstName}} {{sendingAccountLastName}}",
            "sender_email": "sendingAccountEmail",
        },
        fallback="{{%s | %s}}",
        fallback_forbidden="|{}",
    ),
    body="html",
    leads=LeadFormat(key="email", columns={k: column for k, (column, _) in _STANDARD.items()}),
    lowerings=(branches_to_fields, templates_to_tags, zones_to_campaigns),
)

# Instantly numbers days "0".."6" from Sunday; seqc from Monday (0 = mon).
_DAY_KEYS = tuple(str(i) for i in range(7))


def _hhmm(minute: int) -> str:
    minute = min(max(minute, 0), 23 * 60 + 59)  # the field's pattern stops at 23:59
    return f"{minute // 60:02d}:{minute % 60:02d}"


class Instantly(Target):
    """Instantly: one campaign body per sequence and time-zone group, leads via CSV or `/leads/add`."""

    name = "instantly"
    summary = "Instantly API v2 campaign bodies (POST /api/v2/campaigns) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        campaign = job.loaded.project.campaign
        sender = campaign.sender if campaign is not None else None
        if sender is not None and (sender.from_ or sender.mailboxes):
            who = ", ".join(x for x in (sender.from_, sender.mailboxes and f"{sender.mailboxes} mailboxes") if x)
            job.notices.append(Notice(
                f"instantly: the sender ({who}) is not in the payloads: attach the sending accounts to each "
                "campaign (`email_list` or `email_tag_list`, see docs/targets/instantly.md)", sender.span))
        out = []
        for group in job.campaigns:
            text = json.dumps(self.campaign(job, group), indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="instantly.schema.json"))
        return out

    def campaign(self, job: CompileInput, group: CampaignGroup) -> dict[str, Any]:
        seq = group.sequence.seq
        project = job.loaded.project
        campaign = project.campaign
        steps = group.sequence.main.steps
        body: dict[str, Any] = {"name": group.key, "campaign_schedule": self.schedule(seq, group, campaign)}
        body["sequences"] = [{"steps": [self.step(s, steps[i + 1].gap if i + 1 < len(steps) else 0)
                                        for i, s in enumerate(steps)]}]
        body["stop_on_reply"] = "replied" in seq.exit_on
        body["stop_on_auto_reply"] = False
        body["insert_unsubscribe_header"] = True
        body["open_tracking"] = False
        body["link_tracking"] = False
        body["text_only"] = False
        sender = campaign.sender if campaign is not None else None
        if sender is not None and sender.mailboxes and sender.daily_limit:
            body["daily_limit"] = sender.mailboxes * sender.daily_limit
        if group.enroll_per_day is not None:
            body["daily_max_leads"] = group.enroll_per_day
        return body

    def schedule(self, seq: ir.Sequence, group: CampaignGroup, campaign: ir.Campaign | None) -> dict[str, Any]:
        days, start, end = campaign_window(seq)
        if group.zone is None:
            raise RuntimeError(f"instantly: campaign {group.key} has no time zone")
        shift = group.zone.shift
        sunday_first = {(d + 1) % 7 for d in days}
        entry = {
            "name": f"email {format_weekdays(days)} {format_hours(start, end)}"
                    + (f" (moved {shift:+d} min to keep local time)" if shift else ""),
            "timing": {"from": _hhmm(start + shift), "to": _hhmm(end + shift)},
            "days": {key: int(key) in sunday_first for key in _DAY_KEYS},
            "timezone": group.zone.zone,
        }
        schedule: dict[str, Any] = {}
        if campaign is not None and campaign.start is not None:
            schedule["start_date"] = campaign.start.isoformat()
        schedule["schedules"] = [entry]
        return schedule

    def step(self, lstep: LStep, delay: int | None) -> dict[str, Any]:
        if lstep.kind != "email" or delay is None:
            raise RuntimeError(f"instantly: step `{lstep.name}` reached emit unlowered")
        variants = [self.variant(lstep, v) for v in lstep.variants]
        return {"type": "email", "delay": delay, "delay_unit": "days", "variants": variants}

    def variant(self, lstep: LStep, variant: LVariant) -> dict[str, str]:
        merge = CAPABILITIES.merge
        assert merge is not None
        subject, body = variant.get("subject"), variant.get("body")
        for value in (subject, body):
            if value is not None and not isinstance(value, Text):
                raise RuntimeError(f"instantly: `{lstep.name}` has untranslated content")
        # An empty subject is Instantly's reply in the thread (the check allows a thread only then).
        subject_text = "" if lstep.step.thread or subject is None else format_text(subject, merge, "line")
        body_text = format_text(body, merge, "html") if body is not None else ""
        return {"subject": subject_text, "body": body_text}

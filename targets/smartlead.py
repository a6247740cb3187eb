"""`--target smartlead`: one Smartlead API v1 campaign file per sequence and zone group, and a leads CSV.

Facts and their sources: docs/targets/smartlead.md. In short: email steps only, linear; the
delay sits on the step AFTER the gap (`seq_delay_details.delay_in_days`, whole days, the first
step 0); a step with one variant carries `subject`/`email_body` itself, an A/B step carries
`seq_variants` instead; one schedule per campaign (any IANA zone, weekdays numbered from Sunday,
one `HH:MM` window); HTML bodies; `{{first_name}}`-style tags, `%sender-firstname%`-style sender
tokens, no fallback syntax (fallbacks are pre-rendered into the leads file).

Each file holds the bodies of the calls that set a campaign up (create, sequences, schedule,
settings) under one key each, so a script can post them in turn.
"""

from __future__ import annotations

import json
from typing import Any

from compiler import timing
from compiler.capabilities import Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower.context import Notice
from compiler.lower.passes import branches_to_fields, campaign_window, templates_to_tags, zones_to_campaigns
from compiler.lower.program import LSequence, LStep, LVariant, Text, Var
from compiler.lower.text import format_text
from targets.base import Artifact, CampaignGroup, CompileInput, Target

# seqc field name -> Smartlead's lead field; the merge tag of a standard field has the same name.
_STANDARD = {
    "first_name": "first_name", "last_name": "last_name",
    "company": "company_name", "company_name": "company_name",
    "phone": "phone_number", "phone_number": "phone_number",
    "website": "website", "company_url": "company_url", "location": "location",
    "linkedin_url": "linkedin_profile", "linkedin": "linkedin_profile", "linkedin_profile": "linkedin_profile",
}

# Sender and system values are `%token%`s filled per mailbox at send time, not `{{tags}}`.
# `%unsubscribe-text%` places the campaign's unsubscribe message (settings `unsubscribe_text`).
# No token for the sender's address or company was found: those built-ins are SEQ601.
TOKENS = {
    "sender_first_name": "%sender-firstname%",
    "sender_name": "%sender-name%",
    "unsubscribe_url": "%unsubscribe-text%",
}
#: The unsubscribe message `%unsubscribe-text%` shows (Smartlead links it to the opt-out page).
UNSUBSCRIBE_TEXT = "Unsubscribe"

CAPABILITIES = Capabilities(
    channels={"email": StepKind("email")},
    exits=frozenset({"replied", "bounced", "unsubscribed"}),
    variants=Variants(max=None, weights=True),  # MANUAL_EQUAL, or MANUAL_PERCENTAGE for a split
    threading="empty_subject",
    # Documented range 0-365 whole days; step 1 carries 0 (the lead starts when the schedule
    # opens). Counting calendar days from the previous send is an assumption (see the doc).
    delay=DelayModel(anchor="later", unit="days", counts="calendar", from_send=True, first_wait=False,
                     min_gap=0, max_gap=365),
    schedule=ScheduleModel(zone="campaign", zones=None, weekdays=True, windows=1, per_step="none"),
    merge=MergeTags(
        tag="{{%s}}",
        fields={"email": "email", **_STANDARD},
        builtins=TOKENS,
        fallback=None,
        # Single braces are spintax (`{a|b}`): literal text with a brace in a subject is pre-rendered.
        opener="{",
    ),
    body="html",
    leads=LeadFormat(key="email", columns=_STANDARD),
    lowerings=(branches_to_fields, templates_to_tags, zones_to_campaigns),
)

# seqc numbers weekdays from Monday (0 = mon), Smartlead from Sunday (0 = sun).
_SUNDAY_FIRST = {d: (d + 1) % 7 for d in range(7)}


def _hhmm(minute: int) -> str:
    minute = min(max(minute, 0), 23 * 60 + 59)
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _label(index: int) -> str:
    """Variant labels as Smartlead shows them: A, B, … Z, AA, AB …"""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _texts(lstep: LStep):
    for variant in lstep.variants:
        for _, value in variant.fields:
            if isinstance(value, Text):
                yield value


class Smartlead(Target):
    """Smartlead: a campaign file per sequence and time-zone group, leads via CSV or `/leads`."""

    name = "smartlead"
    summary = "Smartlead API v1 campaign files (create, sequences, schedule, settings) + leads CSV"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        self.notices(job)
        out = []
        for group in job.campaigns:
            text = json.dumps(self.campaign(job, group), indent=2, ensure_ascii=False) + "\n"
            out.append(Artifact(f"{group.key}.json", text, schema="smartlead.schema.json"))
        return out

    def notices(self, job: CompileInput) -> None:
        campaign = job.loaded.project.campaign
        sender = campaign.sender if campaign is not None else None
        if sender is not None and (sender.from_ or sender.mailboxes):
            who = ", ".join(x for x in (sender.from_, sender.mailboxes and f"{sender.mailboxes} mailboxes") if x)
            job.notices.append(Notice(
                f"smartlead: the sender ({who}) is not in the files: attach the sending accounts to each "
                "campaign (`POST /campaigns/{id}/email-accounts`, see docs/targets/smartlead.md)", sender.span))

    def campaign(self, job: CompileInput, group: CampaignGroup) -> dict[str, Any]:
        lseq = group.sequence
        if any(track.steps for track in lseq.tracks[1:]):
            raise RuntimeError(f"smartlead: a path of `{lseq.name}` reached emit")
        steps = lseq.main.steps
        return {
            "name": group.key,
            "sequences": [self.step(i, s) for i, s in enumerate(steps)],
            "schedule": self.schedule(job, group),
            "settings": self.settings(lseq),
        }

    def step(self, index: int, lstep: LStep) -> dict[str, Any]:
        delay = CAPABILITIES.delay
        assert delay is not None
        if lstep.kind != "email" or lstep.manual or lstep.gap is None:
            raise RuntimeError(f"smartlead: step `{lstep.name}` reached emit unlowered")
        out: dict[str, Any] = {"id": None, "seq_number": index + 1,
                               "seq_delay_details": {"delay_in_days": delay.in_unit(lstep.gap)}}
        contents = [self.content(lstep, v) for v in lstep.variants]
        if len(contents) == 1:
            # Client code reports that a one-element `seq_variants` is refused (docs/targets/smartlead.md):
            # a single version sits on the step itself.
            out.update(contents[0])
            return out
        weights = [v.weight for v in lstep.variants]
        even = len(set(weights)) == 1
        out["variant_distribution_type"] = "MANUAL_EQUAL" if even else "MANUAL_PERCENTAGE"
        variants = []
        for i, (variant, content) in enumerate(zip(lstep.variants, contents)):
            entry: dict[str, Any] = {"variant_label": _label(i), **content}
            if not even:
                entry["variant_distribution_percentage"] = variant.weight
            variants.append(entry)
        out["seq_variants"] = variants
        return out

    def content(self, lstep: LStep, variant: LVariant) -> dict[str, str]:
        merge = CAPABILITIES.merge
        assert merge is not None
        subject, body = variant.get("subject"), variant.get("body")
        for value in (subject, body):
            if value is not None and not isinstance(value, Text):
                raise RuntimeError(f"smartlead: `{lstep.name}` has untranslated content")
        # An empty subject makes the follow-up a reply in the thread ("Re: …"); the check allows
        # `thread` only then.
        subject_text = "" if lstep.step.thread or subject is None else format_text(subject, merge, "line")
        body_text = format_text(body, merge, "html") if body is not None else ""
        return {"subject": subject_text, "email_body": body_text}

    def schedule(self, job: CompileInput, group: CampaignGroup) -> dict[str, Any]:
        seq = group.sequence.seq
        if group.zone is None:
            raise RuntimeError(f"smartlead: campaign {group.key} has no time zone")
        days, start, end = campaign_window(seq)
        shift = group.zone.shift
        out: dict[str, Any] = {
            "timezone": group.zone.zone,
            "days_of_the_week": sorted(_SUNDAY_FIRST[d] for d in days),
            "start_hour": _hhmm(start + shift),
            "end_hour": _hhmm(end + shift),
        }
        campaign = job.loaded.project.campaign
        sender = campaign.sender if campaign is not None else None
        if sender is not None and sender.daily_limit:
            # Spacing per mailbox that lets each one reach its daily limit inside the window.
            out["min_time_btw_emails"] = max(1, (end - start) // sender.daily_limit)
        if group.enroll_per_day is not None:
            out["max_new_leads_per_day"] = group.enroll_per_day
        if campaign is not None and campaign.start is not None:
            midnight = timing.local_instant(campaign.start, 0, timing.zone(group.zone.zone))
            out["schedule_start_time"] = midnight.astimezone(timing.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return out

    def settings(self, lseq: LSequence) -> dict[str, Any]:
        seq = lseq.seq
        out: dict[str, Any] = {
            "track_settings": ["DONT_EMAIL_OPEN", "DONT_LINK_CLICK"],
            "stop_lead_settings": "REPLY_TO_AN_EMAIL" if "replied" in seq.exit_on else "NEVER",
            "send_as_plain_text": False,
        }
        uses_unsubscribe = any(isinstance(p, Var) and p.name == "unsubscribe_url"
                               for s in lseq.main.steps for t in _texts(s) for p in t.parts)
        if uses_unsubscribe:
            out["unsubscribe_text"] = UNSUBSCRIBE_TEXT
        return out

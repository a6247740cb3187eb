"""The capability model fits every tool in docs/targets: drafts for the tools not yet implemented.

The drafts below are the reference facts written as `Capabilities` (what a target module for
that tool would declare; conservative where a fact is unverified). They prove the model has a
field for each difference between the tools, and they double as a starting point for the
engineers adding those targets.
"""

from __future__ import annotations

import pytest

from compiler.capabilities import (
    Capabilities, DelayModel, LeadFormat, MergeTags, ScheduleModel, StepKind, Variants, describe,
)
from compiler.lower.passes import (
    branches_to_fields, channels_to_tasks, guards_to_task_notes, templates_to_tags, zones_to_campaigns,
)
from targets import REGISTRY

EMAIL_TOOL = (branches_to_fields, templates_to_tags, zones_to_campaigns)
TASK_TOOL = (branches_to_fields, templates_to_tags, channels_to_tasks, guards_to_task_notes)

DRAFTS = {
    "smartlead": Capabilities(
        channels={"email": StepKind("email")},
        variants=Variants(max=None, weights=True),  # MANUAL_PERCENTAGE
        threading="empty_subject",
        delay=DelayModel("later", "days", "calendar", first_wait=False, max_gap=365),
        schedule=ScheduleModel(zone="campaign"),  # any IANA name, one schedule per campaign
        merge=MergeTags("{{%s}}", fields={"first_name": "first_name", "company": "company_name"}),  # no fallback
        leads=LeadFormat(columns={"first_name": "first_name", "company": "company_name", "phone": "phone_number"}),
        lowerings=EMAIL_TOOL,
    ),
    "lemlist": Capabilities(
        channels={
            "email": StepKind("email"),
            "linkedin": StepKind("linkedinSend", actions=frozenset({"connect", "message", "view", "voice"}),
                                 kinds={"connect": "linkedinInvite", "view": "linkedinVisit",
                                        "voice": "linkedinVoiceNote"}),
            "call": StepKind("phone", manual=True),
            "task": StepKind("manual", manual=True),
        },
        task=StepKind("manual", manual=True),
        guards=frozenset({"opened", "clicked", "accepted"}),
        paths=frozenset({"opened", "clicked", "accepted"}),
        variants=Variants(max=2),
        delay=DelayModel("later", "days", "sending_days"),
        schedule=ScheduleModel(zone="campaign", windows=None),
        merge=MergeTags("{{%s}}", fields={"first_name": "firstName", "company": "companyName"}),
        lowerings=(*TASK_TOOL, zones_to_campaigns),
    ),
    "replyio": Capabilities(
        channels={"email": StepKind("email"), "linkedin": StepKind("linkedIn"), "call": StepKind("call", manual=True),
                  "task": StepKind("task", manual=True)},
        task=StepKind("task", manual=True),
        variants=Variants(max=None),
        delay=DelayModel("later", "minutes", "calendar"),
        schedule=ScheduleModel(zone="prospect", per_day_hours=True),
        merge=MergeTags("{{%s}}", fields={"first_name": "firstName"}),
        lowerings=TASK_TOOL,
    ),
    "outreach": Capabilities(
        channels={"email": StepKind("auto_email"), "call": StepKind("call", manual=True),
                  "task": StepKind("task", manual=True)},
        task=StepKind("task", manual=True),
        variants=Variants(max=None),
        threading="flag",
        delay=DelayModel("later", "seconds", "calendar"),
        schedule=ScheduleModel(zone="prospect"),
        merge=MergeTags("{{%s}}", fields={"first_name": "first_name", "company": "account.name"},
                        builtins={"sender_first_name": "sender.first_name"}),
        lowerings=TASK_TOOL,
    ),
    "salesloft": Capabilities(
        channels={"email": StepKind("Email"), "call": StepKind("Phone", manual=True),
                  "task": StepKind("Other", manual=True)},
        task=StepKind("Other", manual=True),
        threading="reference",
        delay=DelayModel("absolute", "days", "business_days", from_send=False, first_day=1),
        schedule=ScheduleModel(zone="prospect", per_step="time"),
        merge=MergeTags("{{%s}}", fields={"first_name": "first_name", "company": "company"},
                        builtins={"sender_first_name": "My.first_name"}),
        lowerings=TASK_TOOL,
    ),
    "apollo": Capabilities(
        channels={"email": StepKind("auto_email"), "call": StepKind("call", manual=True),
                  "task": StepKind("action_item", manual=True),
                  "linkedin": StepKind("linkedin_step_message", manual=True,
                                       actions=frozenset({"connect", "message", "view"}),
                                       kinds={"connect": "linkedin_step_connect",
                                              "view": "linkedin_step_view_profile"})},
        task=StepKind("action_item", manual=True),
        variants=Variants(max=None),
        threading="flag",
        delay=DelayModel("later", "days", "calendar"),
        schedule=ScheduleModel(zone="prospect", holidays=frozenset({"US"})),
        merge=MergeTags("{{%s}}", fields={"first_name": "first_name"}),
        lowerings=TASK_TOOL,
    ),
    "hubspot": Capabilities(
        channels={"email": StepKind("EMAIL"), "call": StepKind("CALL", manual=True)},
        task=StepKind("TODO", manual=True),
        threading="reference",
        delay=DelayModel("later", "milliseconds", "business_days"),
        schedule=ScheduleModel(zone="user", weekdays=False),
        merge=MergeTags("{{ contact.%s }}", fields={"first_name": "firstname", "company": "company"}),
        lowerings=TASK_TOOL,
    ),
}


@pytest.mark.parametrize("name", sorted(DRAFTS))
def test_every_tool_fits_the_model(name):
    caps = DRAFTS[name]
    cells = describe(caps)
    assert set(cells) == set(describe(REGISTRY["instantly"].capabilities))
    assert all(isinstance(v, str) and v for v in cells.values())


def test_delay_units_follow_the_cross_tool_conversion_rules():
    assert DRAFTS["replyio"].delay.in_unit(3) == 3 * 1440  # delayInMinutes
    assert DRAFTS["outreach"].delay.in_unit(2) == 2 * 86_400  # interval seconds
    assert DRAFTS["hubspot"].delay.in_unit(2) == 2 * 86_400_000  # delayMillis
    assert DRAFTS["smartlead"].delay.in_unit(4) == 4


def test_bad_values_are_refused():
    with pytest.raises(ValueError):
        DelayModel("sideways")
    with pytest.raises(ValueError):
        Capabilities(channels={}, threading="telepathy")


def test_lemlist_style_kinds_per_linkedin_action():
    linkedin = DRAFTS["lemlist"].channels["linkedin"]
    assert linkedin.kind_for("connect") == "linkedinInvite" and linkedin.kind_for("message") == "linkedinSend"
    assert not linkedin.takes("inmail") and linkedin.takes(None)


def test_registered_targets_declare_capabilities_or_export_the_ir():
    for name, cls in REGISTRY.items():
        assert cls.name == name and cls.summary
        if name != "ir":
            assert cls.capabilities is not None


def test_the_targets_readme_lists_every_registered_target():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "docs" / "targets" / "README.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines() if line.startswith("| `")}
    assert set(REGISTRY) <= rows, set(REGISTRY) - rows
    assert "## Request plans" in readme and "{params." in readme

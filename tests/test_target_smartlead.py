"""`--target smartlead`: payload shape, delays against an independent scheduler, schedule, merge tags, SEQ601."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import CASES
from email_tool_support import CAMPAIGN, PROSPECT

from compiler import ir, timing
from compiler.api import validate_artifact
from compiler.build import build
from compiler.capabilities import Capabilities, StepKind
from compiler.lower.delays import reference_monday
from compiler.plan import plan_sequence
from compiler.project import discover, load, load_text
from compiler.schemas import validator
from targets import capabilities, get_target
from targets.smartlead import CAPABILITIES

AB = """
sequence ab "A/B" {
  timezone "America/New_York"
  window email mon-fri 09:00-12:00

  day 0 email opener {
    variant a { subject "Quick question, {{ first_name }}" }
    variant b { subject "Ramp time at {{ company }}" }
    variant c { subject "Ramp, {{ first_name }}?" }
    body "Hi {{ first_name }}. {{ sender_first_name }}. Opt out: {{ unsubscribe_url }}"
  }
  day 7 email bump {
    thread opener
    body "Following up, {{ first_name }}. {{ sender_name }}"
  }
  day 14 email split_test {
    variant a { subject "Closing the loop" }
    variant b { subject "Last note for {{ company }}" }
    split 70/30
    body "Bye. {{ sender_first_name }}"
  }
}
"""


def compile_text(body: str, *, campaign: str = CAMPAIGN, prospects: Path | None = None,
                 alternatives: dict[str, Capabilities] | None = None):
    loaded = load_text(PROSPECT + body + campaign, root=Path("."))
    errors = [d for d in loaded.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    result = build(loaded, get_target("smartlead"), prospects_file=str(prospects) if prospects else None,
                   alternatives=alternatives if alternatives is not None else capabilities())
    return loaded, result


def payloads(result) -> dict[str, dict]:
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    for art in result.artifacts:
        validate_artifact(art)
    return {a.path: json.loads(a.text) for a in result.artifacts if a.path.endswith(".json")}


def only(result) -> dict:
    (payload,) = payloads(result).values()
    return payload


def messages(result) -> list[str]:
    return [d.message for d in result.diagnostics]


# ---------------------------------------------------------------- the sequence payload


def test_single_variant_steps_are_flat_and_ab_steps_carry_seq_variants():
    _, result = compile_text(AB)
    payload = only(result)
    assert list(payload) == ["name", "sequences", "schedule", "settings"]
    opener, bump, split_test = payload["sequences"]
    assert [s["seq_number"] for s in payload["sequences"]] == [1, 2, 3]
    assert all(s["id"] is None for s in payload["sequences"])

    assert "subject" not in opener and "email_body" not in opener
    assert opener["variant_distribution_type"] == "MANUAL_EQUAL"
    assert [v["variant_label"] for v in opener["seq_variants"]] == ["A", "B", "C"]
    assert [v["subject"] for v in opener["seq_variants"]] == [
        "Quick question, {{first_name}}", "Ramp time at {{company_name}}", "Ramp, {{first_name}}?"]
    assert all("variant_distribution_percentage" not in v for v in opener["seq_variants"])

    assert "seq_variants" not in bump and "variant_distribution_type" not in bump
    assert bump["subject"] == ""  # a threaded follow-up: Smartlead sends it as "Re: …"
    assert bump["email_body"] == "<p>Following up, {{first_name}}. %sender-name%</p>"

    assert split_test["variant_distribution_type"] == "MANUAL_PERCENTAGE"
    assert [(v["variant_label"], v["variant_distribution_percentage"]) for v in split_test["seq_variants"]] == [
        ("A", 70), ("B", 30)]


def test_a_one_element_seq_variants_or_a_missing_percentage_fails_the_schema():
    _, result = compile_text(AB)
    payload = only(result)
    check = validator("smartlead.schema.json")
    assert not list(check.iter_errors(payload))
    one = json.loads(json.dumps(payload))
    one["sequences"][0]["seq_variants"] = one["sequences"][0]["seq_variants"][:1]
    assert list(check.iter_errors(one))
    both = json.loads(json.dumps(payload))
    both["sequences"][1]["seq_variants"] = [{"variant_label": "A", "subject": "", "email_body": ""}] * 2
    assert list(check.iter_errors(both))  # flat fields and variants on one step
    missing = json.loads(json.dumps(payload))
    del missing["sequences"][2]["seq_variants"][0]["variant_distribution_percentage"]
    assert list(check.iter_errors(missing))


def test_delays_sit_on_the_later_step_in_whole_days():
    _, result = compile_text(AB)
    delays = [s["seq_delay_details"]["delay_in_days"] for s in only(result)["sequences"]]
    assert delays == [0, 7, 7]
    assert CAPABILITIES.delay is not None and CAPABILITIES.delay.in_unit(4) == 4


# ---------------------------------------------------------------- delays replayed by an independent scheduler


def smartlead_sends(payload: dict, enrolled: date) -> list[date]:
    """Smartlead as docs/targets/smartlead.md models it, written without compiler.lower.delays: step 1 on
    the first schedule day on or after enrollment; each later step `delay_in_days` calendar days after
    the previous send, then on the first schedule day from there. `days_of_the_week` counts from Sunday."""
    open_days = {(d - 1) % 7 for d in payload["schedule"]["days_of_the_week"]}

    def first_open(d: date) -> date:
        while d.weekday() not in open_days:
            d += timedelta(days=1)
        return d

    sends: list[date] = []
    for step in payload["sequences"]:
        delay = step["seq_delay_details"]["delay_in_days"]
        sends.append(first_open((sends[-1] if sends else enrolled) + timedelta(days=delay)))
    return sends


def plan_dates(seq: ir.Sequence, enrolled: date) -> list[date]:
    plan = plan_sequence(seq, enrolled, "UTC", None)  # weekdays only: holidays are a separate warning
    return [t.date for t in plan.touches if t.track == "main"]


def loaded_case(name: str):
    (source,) = discover([str(CASES / "targets" / name)])
    return load(source)


@pytest.mark.parametrize("body", [AB, """
sequence weekly "Weekly on tue-thu" {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  day 0 email one { subject "One" body "1" }
  day 7 email two { subject "Two" body "2" }
  day 14 email three { subject "Three" body "3" }
}
"""])
def test_smartlead_replay_equals_the_plan_for_every_enrollment_weekday(body):
    loaded, result = compile_text(body)
    payload = only(result)
    assert not [n for n in result.notices if "would not land" in n.message]
    seq = loaded.project.sequences[0]
    monday = reference_monday(loaded.project)
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        assert smartlead_sends(payload, enrolled) == plan_dates(seq, enrolled), enrolled


def test_where_smartlead_cannot_follow_the_plan_compile_warns_with_both_dates():
    source = loaded_case("delays")
    result = build(source, get_target("smartlead"), alternatives=capabilities())
    payload = only(result)
    seq = source.project.sequences[0]
    warned = " ".join(n.message for n in result.notices)
    differ = set()
    monday = reference_monday(source.project)
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        for step, tool, plan in zip(seq.steps, smartlead_sends(payload, enrolled), plan_dates(seq, enrolled)):
            if tool != plan:
                differ.add(step.name)
                assert f"plan {timing.WEEKDAY_NAMES[plan.weekday()]} {plan.isoformat()}" in warned
                assert f"smartlead {timing.WEEKDAY_NAMES[tool.weekday()]} {tool.isoformat()}" in warned
    # Wednesday enrollment: day 3 is a Saturday, sent Monday; Smartlead counts the next 4 days from
    # that Monday (Friday) where the plan says Wednesday.
    assert differ == {"proof", "breakup"}
    assert "`proof` (day 7) would not land" in warned and "`value`" not in warned
    assert [s["seq_delay_details"]["delay_in_days"] for s in payload["sequences"]] == [0, 3, 4, 7]


# ---------------------------------------------------------------- schedule and settings


def test_schedule_counts_days_from_sunday_and_keeps_the_zone_and_window():
    _, result = compile_text(AB)
    schedule = only(result)["schedule"]
    assert schedule == {
        "timezone": "America/New_York",  # any IANA name: no stand-in needed (unlike Instantly)
        "days_of_the_week": [1, 2, 3, 4, 5],
        "start_hour": "09:00",
        "end_hour": "12:00",
        "min_time_btw_emails": 6,  # 180 minutes / 30 a day per mailbox
        "max_new_leads_per_day": 12,
        "schedule_start_time": "2027-01-05T05:00:00.000Z",  # local midnight of `start`, in UTC
    }


def test_weekend_days_and_no_campaign():
    body = """
sequence weekend "Weekend" {
  timezone "Asia/Tokyo"
  window email sat,sun 08:30-10:00
  exit on bounced, unsubscribed
  day 0 email one { subject "One" body "1" }
}
"""
    _, result = compile_text(body, campaign="")
    payload = only(result)
    assert payload["schedule"] == {"timezone": "Asia/Tokyo", "days_of_the_week": [0, 6],
                                   "start_hour": "08:30", "end_hour": "10:00"}
    assert payload["settings"] == {"track_settings": ["DONT_EMAIL_OPEN", "DONT_LINK_CLICK"],
                                   "stop_lead_settings": "NEVER", "send_as_plain_text": False}


def test_settings_stop_on_reply_and_place_the_unsubscribe_message():
    _, result = compile_text(AB)
    settings = only(result)["settings"]
    assert settings["stop_lead_settings"] == "REPLY_TO_AN_EMAIL"
    assert settings["unsubscribe_text"] == "Unsubscribe"
    assert any("attach the sending accounts" in n.message for n in result.notices)


# ---------------------------------------------------------------- merge tags and the leads file


MERGE = """
sequence tags "Tags" {
  timezone "Europe/Madrid"
  window email tue-thu 10:00-12:00
  day 0 email opener {
    subject "For {{ company }}: {a|b}"
    body "Hi {{ first_name }} {{ last_name | default(\\"there\\") }} ({{ title }}, {{ phone }}) {{ sender_first_name }}"
  }
}
"""


def test_merge_tags_sender_tokens_and_prerendered_fallbacks(tmp_path):
    prospects = tmp_path / "p.csv"
    prospects.write_text("email,first_name,last_name,company,title,phone,linkedin_url\n"
                         "ana@x.example.com,Ana,Ruiz,North Co,VP,+34910000123,https://linkedin.example/ana\n"
                         "ben@x.example.com,Ben,,West Co,,,\n", encoding="utf-8")
    _, result = compile_text(MERGE, prospects=prospects)
    (step,) = payloads(result)["tags.json"]["sequences"]
    # Single braces are spintax in Smartlead: literal text with a brace in a subject is pre-rendered.
    assert step["subject"] == "For {{company_name}}{{opener_subject}}"
    assert step["email_body"] == ("<p>Hi {{first_name}} {{opener_body}} ({{title}}, {{phone_number}}) "
                                  "%sender-firstname%</p>")
    leads = list(csv.DictReader(io.StringIO(next(a.text for a in result.artifacts if a.path == "leads.csv"))))
    assert list(leads[0]) == ["campaign", "email", "first_name", "last_name", "company_name", "phone_number",
                              "linkedin_profile", "title", "opener_subject", "opener_body"]
    assert leads[0]["opener_subject"] == ": {a|b}" and leads[0]["opener_body"] == "Ruiz"
    assert leads[1]["opener_body"] == "there"  # no fallback syntax: the fallback is rendered per lead
    assert leads[0]["phone_number"] == "'+34910000123"  # spreadsheet guard, as for every target
    assert {row["campaign"] for row in leads} == {"tags"}


def test_a_prerendered_piece_of_a_subject_keeps_its_spaces(tmp_path):
    prospects = tmp_path / "p.csv"
    prospects.write_text("email,first_name,company\nana@x.example.com,Ana,North Co\n", encoding="utf-8")
    body = MERGE.replace('"For {{ company }}: {a|b}"', '"For {{ company }} {a|b}"')
    _, result = compile_text(body, prospects=prospects)
    leads = list(csv.DictReader(io.StringIO(next(a.text for a in result.artifacts if a.path == "leads.csv"))))
    assert leads[0]["opener_subject"] == " {a|b}"  # "For North Co {a|b}", not "For North Co{a|b}"


@pytest.mark.parametrize(("builtin", "expected"), [
    ("sender_first_name", "%sender-firstname%"),
    ("sender_name", "%sender-name%"),
    ("unsubscribe_url", "%unsubscribe-text%"),
])
def test_builtins_are_smartlead_tokens_in_subjects_and_bodies(builtin, expected):
    body = f"""
sequence tokens "Tokens" {{
  timezone "UTC"
  window email mon-fri 10:00-12:00
  day 0 email opener {{ subject "From {{{{ {builtin} }}}}" body "{{{{ {builtin} }}}}" }}
}}
"""
    _, result = compile_text(body)
    (step,) = only(result)["sequences"]
    assert step["subject"] == f"From {expected}"
    assert step["email_body"] == f"<p>{expected}</p>"


@pytest.mark.parametrize("builtin", ["sender_email", "sender_company"])
def test_builtins_without_a_smartlead_token_are_seq601(builtin):
    body = f"""
sequence tokens "Tokens" {{
  timezone "UTC"
  window email mon-fri 10:00-12:00
  day 0 email opener {{ subject "Hi" body "{{{{ {builtin} }}}}" }}
}}
"""
    _, result = compile_text(body)
    assert result.failed and not result.artifacts
    assert messages(result) == [f"smartlead cannot express the built-in `{builtin}` (in the body of `opener`)"]


def test_prospect_zones_become_one_campaign_per_zone_with_matching_leads(tmp_path):
    prospects = tmp_path / "p.csv"
    prospects.write_text("email,first_name,company,timezone\n"
                         "a@x.example.com,Ana,A,America/New_York\n"
                         "b@x.example.com,Ben,B,Europe/Paris\n"
                         "c@x.example.com,Cy,C,\n", encoding="utf-8")
    body = """
sequence local "Local time" {
  timezone prospect else "America/New_York"
  window email tue-thu 10:00-12:00
  day 0 email one { subject "Hi {{ first_name }}" body "1" }
}
"""
    _, result = compile_text(body, prospects=prospects)
    found = payloads(result)
    assert sorted(found) == ["local.America-New_York.json", "local.Europe-Paris.json"]
    assert found["local.Europe-Paris.json"]["schedule"]["timezone"] == "Europe/Paris"
    assert found["local.Europe-Paris.json"]["schedule"]["schedule_start_time"] == "2027-01-04T23:00:00.000Z"
    assert found["local.America-New_York.json"]["schedule"]["max_new_leads_per_day"] == 8  # 12 shared 2:1
    leads = list(csv.DictReader(io.StringIO(next(a.text for a in result.artifacts if a.path == "leads.csv"))))
    assert [(r["email"], r["campaign"]) for r in leads] == [
        ("a@x.example.com", "local.America-New_York"), ("b@x.example.com", "local.Europe-Paris"),
        ("c@x.example.com", "local.America-New_York")]


# ---------------------------------------------------------------- SEQ601


MULTI = """
sequence multi "Multichannel" {
  timezone "UTC"
  window email mon-fri 10:00-12:00
  window linkedin mon-fri 10:00-12:00
  window call mon-fri 10:00-12:00
  window task mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi" }
  day 1 linkedin invite { action connect }
  day 2 call ring { script "Call" }
  day 3 task research { note "Read their site" }
}
"""


def test_linkedin_calls_and_tasks_are_seq601():
    _, result = compile_text(MULTI)
    assert result.failed and not result.artifacts
    assert messages(result) == [
        "smartlead cannot express the LinkedIn connection request `invite`",
        "smartlead cannot express the call `ring`",
        "smartlead cannot express the manual task `research`",
    ]
    assert all(d.help and "smartlead has no manual-task step" in d.help for d in result.diagnostics)


BRANCHING = """
sequence branching "Branching" {
  timezone "UTC"
  window email mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi" }
  day 3 email nudge if opened(opener) { subject "Nudge" body "Saw you opened" }
  on clicked(opener) -> hot
  path hot {
    day 1 email hot_one { subject "Hot" body "Hot" }
  }
}
"""

# A tool that branches on opens and clicks (lemlist-like), registered only for this test.
BRANCHER = Capabilities(channels={"email": StepKind("email")}, guards=frozenset({"opened", "clicked"}),
                        paths=frozenset({"opened", "clicked"}))


def test_branching_is_seq601_naming_a_target_that_would_take_it():
    _, result = compile_text(BRANCHING, alternatives={"smartlead": CAPABILITIES, "brancher": BRANCHER})
    assert result.failed
    assert messages(result) == [
        "smartlead cannot express the guard `opened(opener)` on `nudge`",
        "smartlead cannot express the path `hot` entered on `clicked(opener)`",
    ]
    assert all("brancher takes it" in (d.help or "") for d in result.diagnostics)


def test_content_branches_are_lowered_not_rejected():
    body = """
sequence signals "Signals" {
  timezone "UTC"
  window email mon-fri 10:00-12:00
  day 0 email opener {
    subject "Hi {{ first_name }}"
    when funding_days_ago <= 90 { body "Congrats on the round." }
    else { body "Quick question." }
  }
}
"""
    _, result = compile_text(body)
    (step,) = only(result)["sequences"]
    assert step["email_body"] == "<p>{{opener_body}}</p>"


def test_uneven_splits_are_smartleads_and_instantly_names_it():
    loaded = load_text(PROSPECT + AB + CAMPAIGN, root=Path("."))
    result = build(loaded, get_target("instantly"), alternatives=capabilities())
    helps = [d.help or "" for d in result.diagnostics if "uneven split" in d.message]
    assert helps and "smartlead" in helps[0].rsplit("; ", 1)[-1]  # "… smartlead take(s) it"

"""`--target apollo`: sequence plans, step types, touches, bodies, what is rejected, and a scheduler replay."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from conftest import CASES

from compiler import ir, timing
from compiler.build import build
from compiler.plan import plan_sequence
from compiler.project import discover, load, load_text
from targets import capabilities, get_target
from targets.apollo import apollo_html

PROSPECT = """
prospect {
  email: email required
  first_name: text required
  company: text required
  title: text
  linkedin_url: url
  phone: phone
}
"""
CAMPAIGN = """
campaign launch { start 2027-01-05 }
"""
OPT_OUT = "Opt out: {{ unsubscribe_url }}"


def compile_text(body: str):
    loaded = load_text(PROSPECT + body + CAMPAIGN, root=Path("."))
    assert not [d for d in loaded.diagnostics if d.severity.value == "error"], loaded.diagnostics
    return loaded, build(loaded, get_target("apollo"), alternatives=capabilities())


def compile_case(name: str):
    folder = CASES / "targets" / name
    (source,) = discover([str(folder)])
    loaded = load(source)
    prospects = folder / "prospects.csv"
    return loaded, build(loaded, get_target("apollo"), alternatives=capabilities(),
                         prospects_file=str(prospects) if prospects.exists() else None)


def body_of(result) -> dict:
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    (art,) = [a for a in result.artifacts if a.path.endswith(".json")]
    plan = json.loads(art.text)
    (request,) = plan["requests"]
    assert (request["method"], request["path"]) == ("POST", "/emailer_campaigns")
    return request["body"]


# ---------------------------------------------------------------- an independent Apollo scheduler


def apollo_sends(body: dict, enrolled: date, email_days: set[int]) -> list[date]:
    """Apollo as documented: each step `wait_time` `wait_mode` after the previous one went out,
    then (emails) the first day the sending schedule is open. `email_days` is the schedule the
    compile warning asks the user to make. Written from docs/targets/apollo.md."""
    sends: list[date] = []
    anchor = enrolled
    for step in body["emailer_steps"]:
        assert step["wait_mode"] == "day"
        due = anchor + timedelta(days=step["wait_time"])
        while due.weekday() not in email_days:
            due += timedelta(days=1)
        sends.append(due)
        anchor = due
    return sends


def plan_dates(seq: ir.Sequence, enrolled: date) -> list[date]:
    plan = plan_sequence(seq, enrolled, "UTC", None)  # weekdays only: holidays are a separate warning
    return [t.date for t in plan.touches if t.track == "main"]


def test_replay_equals_the_plan_for_an_enrollment_on_each_weekday():
    loaded, result = compile_case("email_only")
    body = body_of(result)
    assert not [n for n in result.notices if "would not land" in n.message]
    seq = loaded.project.sequences[0]
    for offset in range(5):
        enrolled = date(2027, 1, 4) + timedelta(days=offset)
        assert apollo_sends(body, enrolled, {1, 2, 3}) == plan_dates(seq, enrolled), enrolled


def test_where_apollo_cannot_follow_the_plan_compile_warns_with_both_dates():
    loaded, result = compile_case("delays")
    body = body_of(result)
    seq = loaded.project.sequences[0]
    warned = " ".join(n.message for n in result.notices)
    differ = []
    for offset in range(5):
        enrolled = date(2027, 1, 4) + timedelta(days=offset)
        for step, tool, planned in zip(seq.steps, apollo_sends(body, enrolled, {0, 1, 2, 3, 4}),
                                       plan_dates(seq, enrolled)):
            if tool != planned:
                differ.append(step.name)
                assert f"plan {timing.WEEKDAY_NAMES[planned.weekday()]} {planned.isoformat()}" in warned
                assert f"apollo {timing.WEEKDAY_NAMES[tool.weekday()]} {tool.isoformat()}" in warned
    assert sorted(set(differ)) == ["breakup", "proof"]


# ---------------------------------------------------------------- the plan


def test_one_inactive_sequence_with_a_schedule_id_the_user_supplies():
    _, result = compile_case("email_only")
    plan = json.loads(next(a for a in result.artifacts if a.path == "starter.json").text)
    assert plan["base_url"] == "https://api.apollo.io/api/v1" and plan["params"] == {"emailer_schedule_id": None}
    body = plan["requests"][0]["body"]
    assert body["active"] is False and body["emailer_schedule_id"] == "{params.emailer_schedule_id}"
    (notice,) = [n.message for n in result.notices if "schedule" in n.message]
    assert "tue-thu 10:00-12:00 in America/New_York" in notice and "time zone\" on" in notice


def test_touches_threads_and_ab_variants():
    _, result = compile_case("email_only")
    steps = body_of(result)["emailer_steps"]
    assert [s["wait_time"] for s in steps] == [0, 7, 7]
    opener, value, breakup = steps
    assert [t["type"] for t in opener["emailer_touches"]] == ["new_thread", "new_thread"]  # an A/B test
    assert opener["emailer_touches"][0]["emailer_template"]["subject"] == "Quick question, {{first_name}}"
    assert value["emailer_touches"] == [{"type": "reply_to_thread", "emailer_template": {
        "subject": "", "body_html": value["emailer_touches"][0]["emailer_template"]["body_html"]}}]
    assert breakup["emailer_touches"][0]["type"] == "new_thread"


def test_bodies_are_one_div_with_double_breaks_between_paragraphs():
    assert apollo_html("<p>Hi,</p><p>One<br/>two.</p>") == "<div>Hi,<br><br>One<br>two.</div>"
    assert apollo_html("") == ""
    _, result = compile_case("email_only")
    html = body_of(result)["emailer_steps"][0]["emailer_touches"][0]["emailer_template"]["body_html"]
    assert html.startswith("<div>Hi {{first_name}},<br><br>") and "<p>" not in html and html.endswith("</div>")
    for tag in ("{{company}}", "{{sender_first_name}}", "{{unsubscribe_link}}", "{{opener_body}}"):
        assert tag in html


def test_linkedin_calls_and_tasks_are_steps_for_a_human():
    _, result = compile_text("""
sequence multi {
  window email mon-fri 10:00-12:00
  day 0 email opener { subject "Hi {{ first_name }}" body "Hi. """ + OPT_OUT + """" }
  day 1 linkedin look { action view }
  day 2 linkedin invite if has(linkedin_url) { action connect note "Hi {{ first_name }}, glad to connect." }
  day 3 linkedin mail { action inmail subject "About {{ company }}" body "One question." }
  day 5 call ring if has(phone) { script "Ask about onboarding at {{ company }}." }
  day 6 task research { note "Find the enablement lead at {{ company }}." }
  day 8 linkedin dm if accepted(invite) { action message body "Thanks, {{ first_name }}." }
}
""")
    steps = body_of(result)["emailer_steps"]
    assert [s["type"] for s in steps] == ["auto_email", "linkedin_step_view_profile", "linkedin_step_connect",
                                          "action_item", "call", "action_item", "linkedin_step_message"]
    assert all("emailer_touches" not in s for s in steps[1:])
    assert "note" not in steps[1]
    assert steps[2]["note"] == ("Only if has(linkedin_url); otherwise skip this task.\n\n"
                                "Hi {{first_name}}, glad to connect.")
    assert steps[3]["note"] == "LinkedIn: InMail\n\nSubject: About {{company}}\n\nOne question."
    assert steps[4]["note"].startswith("Only if has(phone)") and "{{company}}" in steps[4]["note"]
    assert steps[6]["note"].startswith("Only if accepted(invite)")


def test_leads_use_apollo_contact_fields():
    _, result = compile_case("email_only")
    header = next(a for a in result.artifacts if a.path == "leads.csv").text.splitlines()[0].split(",")
    assert header[:4] == ["sequence", "email", "first_name", "organization_name"]
    assert "opener_body" in header


# ---------------------------------------------------------------- what is rejected


def test_branching_is_rejected_naming_a_target_that_takes_it():
    _, guards = compile_case("guards")
    assert guards.failed
    messages = {d.message: d.help or "" for d in guards.diagnostics}
    behaviour = next(h for m, h in messages.items() if "opened(opener)" in m)
    assert "replyio" in behaviour
    _, paths = compile_case("paths")
    path = next(d for d in paths.diagnostics if "path `hot`" in d.message)
    assert "replyio" in (path.help or "")


def test_what_apollo_cannot_say():
    _, result = compile_case("unsupported")
    messages = " ".join(d.message for d in result.diagnostics)
    for construct in ("`exit on booked`", "uneven split", "`sender_company`", "send window of `third`",
                      "`thread opener`"):
        assert construct in messages

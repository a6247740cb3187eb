"""`--target replyio`: request plans, condition trees, merge tags, schedule, leads, and a scheduler replay."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import CASES

from compiler import ir, timing
from compiler.build import build
from compiler.plan import plan_sequence, track_starts
from compiler.project import discover, load, load_text
from targets import capabilities, get_target
from targets.condtree import build_tree
from targets.replyio import CAPABILITIES, EVENT_PROPERTIES, MAX_TREE_STEPS

PROSPECT = """
prospect {
  email: email required
  first_name: text required
  company: text required
  title: text
  country: country
  linkedin_url: url
  phone: phone
  employees: int
  vip: bool
}
"""
CAMPAIGN = """
campaign launch {
  start 2027-01-05
  enroll 10 per day
  sender { from "Dana <dana@mail.example.com>" mailboxes 2 daily_limit 30 }
}
"""
OPT_OUT = "Opt out: {{ unsubscribe_url }}"
REF = re.compile(r"^\{([a-z0-9_]+)\.([A-Za-z0-9_.]+)\}$")


def compile_text(body: str, target: str = "replyio"):
    loaded = load_text(PROSPECT + body + CAMPAIGN, root=Path("."))
    assert not [d for d in loaded.diagnostics if d.severity.value == "error"], loaded.diagnostics
    return loaded, build(loaded, get_target(target), alternatives=capabilities())


def plan_of(result) -> dict:
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    (art,) = [a for a in result.artifacts if a.path.endswith(".json")]
    return json.loads(art.text)


def compile_case(name: str):
    folder = CASES / "targets" / name
    (source,) = discover([str(folder)])
    loaded = load(source)
    prospects = folder / "prospects.csv"
    return loaded, build(loaded, get_target("replyio"), alternatives=capabilities(),
                         prospects_file=str(prospects) if prospects.exists() else None)


# ---------------------------------------------------------------- an independent Reply scheduler


def reply_tree(plan: dict) -> list[dict]:
    """The steps of a plan as a tree: each step dict gets `yes`/`no` child lists (conditions).

    Written from docs/targets/replyio.md: steps are created in order; a step with `parentId`
    hangs in its condition's "yes" (`ifConditionPositive` true) or "no" list, in creation order.
    """
    requests = {r["id"]: r for r in plan["requests"]}
    inline = requests["sequence"]["body"]["steps"]
    if inline:
        return [dict(s) for s in inline]
    roots: list[dict] = []
    made: dict[str, dict] = {}
    for r in plan["requests"]:
        if not r["path"].endswith("/steps"):
            continue
        step = dict(r["body"], yes=[], no=[])
        made[r["id"]] = step
        parent = step["parentId"]
        if parent is None:
            roots.append(step)
        else:
            match = REF.match(parent)
            assert match and match.group(1) in made, parent  # a parent is always created first
            made[match.group(1)]["yes" if step["ifConditionPositive"] else "no"].append(step)
    return roots


def reply_sends(plan: dict, enrolled: date, decide=lambda step: True) -> list[tuple[str, date]]:
    """Reply as documented: `delayInMinutes` after the previous step of the branch (its send, or a
    condition's check), weekends counted, then the first active schedule day. A condition is
    checked when due; its "no" side goes on after `waitInMinutes`. `decide(condition)` picks a side."""
    timings = plan["requests"][0]["body"]["mainTimings"]
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    open_days = {names.index(t["weekDay"]) for t in timings if t["isActive"]}
    sends = []

    def walk(steps: list[dict], anchor: date) -> None:
        for step in steps:
            due = anchor + timedelta(minutes=step["delayInMinutes"])
            if step["type"] == "condition":
                if decide(step):
                    walk(step["yes"], due)
                else:
                    walk(step["no"], due + timedelta(minutes=step["waitInMinutes"]))
                return
            while due.weekday() not in open_days:
                due += timedelta(days=1)
            sends.append((step["variants"][0]["subject"], due))
            anchor = due

    walk(reply_tree(plan), enrolled)
    return sends


def plan_dates(seq: ir.Sequence, enrolled: date, track: str = "main") -> list[date]:
    plan = plan_sequence(seq, enrolled, "UTC", None)  # weekdays only: holidays are a separate warning
    return [t.date for t in plan.touches if t.track == track]


def test_replay_equals_the_plan_for_an_enrollment_on_each_weekday():
    loaded, result = compile_case("email_only")
    plan = plan_of(result)
    assert not [n for n in result.notices if "would not land" in n.message]
    seq = loaded.project.sequences[0]
    for offset in range(5):
        enrolled = date(2027, 1, 4) + timedelta(days=offset)
        assert [d for _, d in reply_sends(plan, enrolled)] == plan_dates(seq, enrolled), enrolled


def test_where_reply_cannot_follow_the_plan_compile_warns_with_both_dates():
    loaded, result = compile_case("delays")
    plan = plan_of(result)
    seq = loaded.project.sequences[0]
    warned = " ".join(n.message for n in result.notices)
    differ = []
    for offset in range(5):
        enrolled = date(2027, 1, 4) + timedelta(days=offset)
        for step, (_, tool), planned in zip(seq.steps, reply_sends(plan, enrolled), plan_dates(seq, enrolled)):
            if tool != planned:
                differ.append(step.name)
                assert f"plan {timing.WEEKDAY_NAMES[planned.weekday()]} {planned.isoformat()}" in warned
                assert f"replyio {timing.WEEKDAY_NAMES[tool.weekday()]} {tool.isoformat()}" in warned
    assert sorted(set(differ)) == ["breakup", "proof"]


def test_the_no_side_of_an_event_condition_waits_and_says_so_with_both_dates():
    loaded, result = compile_text("""
sequence waits {
  window email mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi https://example.com/x. """ + OPT_OUT + """" }
  day 3 email second { subject "Two" body "Two. """ + OPT_OUT + """" }
  on clicked(opener) within 5 days -> hot
  path hot { day 1 email ask { subject "Ask" body "Ask. """ + OPT_OUT + """" } }
}
""")
    plan = plan_of(result)
    seq = loaded.project.sequences[0]
    notes = [n.message for n in result.notices if "would not land" in n.message]
    assert len(notes) == 1 and "`second` (day 3) without `clicked(opener)`" in notes[0]
    monday = date(2027, 1, 4)
    late = 0
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        no_click = reply_sends(plan, enrolled, decide=lambda step: False)
        planned = plan_dates(seq, enrolled)
        assert no_click[0][1] == planned[0]
        tool = no_click[1][1]
        if tool != planned[1]:  # five days of waiting push the day-3 email back
            late += 1
            assert f"plan {timing.WEEKDAY_NAMES[planned[1].weekday()]} {planned[1].isoformat()}" in notes[0]
            assert f"replyio {timing.WEEKDAY_NAMES[tool.weekday()]} {tool.isoformat()}" in notes[0]
        else:
            assert f"enrolled {timing.WEEKDAY_NAMES[enrolled.weekday()]} {enrolled.isoformat()}" not in notes[0]
        # The "yes" side starts the path at the click (at the earliest, the opener's send).
        clicked = reply_sends(plan, enrolled, decide=lambda step: True)
        path_start = track_starts(seq, enrolled)["hot"].start
        assert clicked[1] == ("Ask", timing.land_date(path_start, 1, (0, 1, 2, 3, 4))[0])
    assert late >= 3


def test_every_branch_of_a_guard_replays_onto_the_plan_when_nothing_is_deferred():
    loaded, result = compile_text("""
sequence weekly {
  window email tue-thu 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
  day 7 email nudge if has(title) { subject "For you" body "A note. """ + OPT_OUT + """" }
  day 14 email last { subject "Last" body "Bye. """ + OPT_OUT + """" }
}
""")
    plan = plan_of(result)
    seq = loaded.project.sequences[0]
    assert not [n for n in result.notices if "would not land" in n.message]
    for offset in range(5):
        enrolled = date(2027, 1, 4) + timedelta(days=offset)
        planned = plan_dates(seq, enrolled)
        assert [d for _, d in reply_sends(plan, enrolled, lambda s: True)] == planned
        assert [d for _, d in reply_sends(plan, enrolled, lambda s: False)] == [planned[0], planned[2]]


# ---------------------------------------------------------------- the plan and its references


def test_references_point_at_earlier_requests_or_params():
    for case in ("guards", "paths", "email_only", "branches"):
        _, result = compile_case(case)
        plan = plan_of(result)
        seen = {"params"}
        for request in plan["requests"]:
            for ref in re.findall(r"\{([a-z0-9_]+)\.[A-Za-z0-9_.]+\}", json.dumps(request["body"]) + request["path"]):
                assert ref in seen, (case, request["id"], ref)
            assert request["id"] not in seen
            seen.add(request["id"])
        assert [r["id"] for r in plan["requests"][:2]] == ["schedule", "sequence"]
        assert plan["requests"][1]["body"]["scheduleId"] == "{schedule.id}"
        assert set(plan["params"]) == {"email_account_ids"}


def test_a_linear_sequence_is_one_create_call_and_a_branched_one_adds_steps_one_by_one():
    _, linear = compile_case("email_only")
    plan = plan_of(linear)
    assert len(plan["requests"]) == 2 and len(plan["requests"][1]["body"]["steps"]) == 3
    assert all("parentId" not in s for s in plan["requests"][1]["body"]["steps"])
    _, branched = compile_case("guards")
    plan = plan_of(branched)
    assert plan["requests"][1]["body"]["steps"] == []
    steps = [r for r in plan["requests"] if r["path"] == "/v3/sequences/{sequence.id}/steps"]
    assert all("parentId" in r["body"] and "ifConditionPositive" in r["body"] for r in steps)


def test_guards_become_conditions_cut_into_single_tests():
    _, result = compile_case("guards")
    plan = plan_of(result)
    bodies = {r["id"]: r["body"] for r in plan["requests"]}
    leaders = bodies["if_for_leaders"]
    assert leaders["conditions"] == [{"property": "title", "rules": [{"operator": "contains", "value": "VP"}]}]
    assert leaders["delayInMinutes"] == 7 * 1440 and leaders["waitInMinutes"] == 0
    assert bodies["for_leaders"]["parentId"] == "{if_for_leaders.id}" and bodies["for_leaders"]["ifConditionPositive"]
    # `opened(opener) and not clicked(opener)`: opened? -> clicked? -> "no" sends the reminder.
    opened = bodies["if_reminder"]
    assert opened["conditions"][0]["property"] == EVENT_PROPERTIES["opened"]
    assert opened["conditions"][0]["rules"][0]["value"] == "{opener.id}"
    clicked = bodies["if_reminder_2"]
    assert clicked["parentId"] == "{if_reminder.id}" and clicked["ifConditionPositive"] is True
    assert bodies["reminder"]["parentId"] == "{if_reminder_2.id}" and bodies["reminder"]["ifConditionPositive"] is False
    # The reminder is reached once with `for_leaders` sent and once without.
    assert {"reminder", "reminder_2"} <= set(bodies)
    settings = bodies["sequence"]["settings"]
    assert settings["disableOpensTracking"] is False and settings["enableLinksTracking"] is True


def test_a_path_hangs_under_the_yes_side_of_a_waiting_condition():
    _, result = compile_case("paths")
    bodies = {r["id"]: r["body"] for r in plan_of(result)["requests"]}
    on = bodies["on_clicked_value"]
    assert on["delayInMinutes"] == 0 and on["waitInMinutes"] == 2 * 1440
    assert bodies["direct_ask"]["parentId"] == "{on_clicked_value.id}" and bodies["direct_ask"]["ifConditionPositive"]
    assert bodies["direct_ask"]["variants"][0]["subject"] == ""  # `thread value`: a reply in its thread
    assert bodies["breakup"]["ifConditionPositive"] is False
    assert bodies["breakup"]["delayInMinutes"] == 5 * 1440  # day 14 = day 7 + the 2-day wait + 5
    # `on opened(breakup) -> end` after the last step changes nothing and is left out.
    assert not [k for k in bodies if k.startswith("on_opened")]


def test_data_tests_are_asked_once_per_branch_and_events_of_unsent_steps_are_false():
    loaded, _ = compile_text("""
sequence social {
  window email mon-fri 10:00-12:00
  window linkedin mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
  day 1 linkedin invite if has(linkedin_url) { action connect note "Hi {{ first_name }}" }
  day 5 linkedin dm if accepted(invite) and has(linkedin_url) { action message body "Thanks" }
}
""")
    from compiler.lower import lower

    lowered = lower(loaded.project, CAPABILITIES, "replyio", capabilities())
    tree = build_tree(lowered.program.sequences[0])
    conditions = [n for n in tree.nodes() if n.lstep is None]
    # has(linkedin_url) once (for the invite); accepted(invite) only where the invite went out.
    assert [type(n.test).__name__ for n in conditions] == ["Has", "Event"]
    assert sum(1 for n in tree.nodes() if n.lstep is not None and n.lstep.name == "dm") == 1


def test_or_and_in_become_nested_conditions_that_repeat_the_step():
    _, result = compile_text("""
sequence routes {
  window email mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
  day 3 email local if country in ("DE", "AT") or vip { subject "Hallo" body "Hallo. """ + OPT_OUT + """" }
}
""")
    bodies = [r["body"] for r in plan_of(result)["requests"] if r["path"].endswith("/steps")]
    tests = [b["conditions"][0] for b in bodies if b["type"] == "condition"]
    assert tests == [
        {"property": "country", "rules": [{"operator": "equals", "value": "DE"}]},
        {"property": "country", "rules": [{"operator": "equals", "value": "AT"}]},
        {"property": "vip", "rules": [{"operator": "equals", "value": "true"}]},
    ]
    assert sum(1 for b in bodies if b["type"] == "email" and b["variants"][0]["subject"] == "Hallo") == 3


# ---------------------------------------------------------------- channels, tags, schedule, leads


def test_every_channel_has_its_step_type():
    _, result = compile_text("""
sequence multi {
  window email mon-fri 10:00-12:00
  window linkedin mon-fri 10:00-12:00
  day 0 email opener { subject "Hi {{ first_name }}" body "Hi. {{ sender_first_name }}. """ + OPT_OUT + """" }
  day 1 linkedin look { action view }
  day 2 linkedin invite { action connect note "Hi {{ first_name }}, glad to connect." }
  day 3 linkedin mail { action inmail subject "About {{ company }}" body "One question." }
  day 4 linkedin voice_note { action voice note "Say hello, mention {{ company }}." }
  day 5 call ring if has(phone) { script "Ask about onboarding at {{ company }}." }
  day 6 task research { note "Find the enablement lead at {{ company }}." }
}
""")
    plan = plan_of(result)
    steps = [r["body"] for r in plan["requests"] if r["path"].endswith("/steps")]
    by_type = [(s["type"], s.get("actionType")) for s in steps]
    assert ("linkedIn", "viewProfile") in by_type and ("linkedIn", "connect") in by_type
    assert ("linkedIn", "inMail") in by_type and ("linkedIn", "voiceMessage") in by_type
    assert ("call", None) in by_type and ("task", "toDo") in by_type
    look = next(s for s in steps if s.get("actionType") == "viewProfile")
    assert "variants" not in look
    invite = next(s for s in steps if s.get("actionType") == "connect")
    assert invite["variants"] == [{"message": "Hi {{firstName}}, glad to connect.", "isEnabled": True}]
    mail = next(s for s in steps if s.get("actionType") == "inMail")
    assert mail["variants"][0]["subject"] == "About {{companyName}}"
    voice = next(s for s in steps if s.get("actionType") == "voiceMessage")
    assert voice["executionMode"] == "manual" and "{{companyName}}" in voice["variants"][0]["message"]
    call = next(s for s in steps if s["type"] == "call")
    assert call["description"] == "Ask about onboarding at {{companyName}}."
    assert next(s for s in steps if s["type"] == "condition")["conditions"][0] == {
        "property": "phone", "rules": [{"operator": "isNotEmpty", "value": ""}]}
    assert plan["params"] == {"email_account_ids": None, "linkedin_account_ids": None}
    assert plan["requests"][1]["body"]["linkedInAccounts"] == "{params.linkedin_account_ids}"


def test_merge_tags_and_built_ins():
    _, result = compile_case("email_only")
    text = json.dumps(plan_of(result))
    for tag in ("{{firstName}}", "{{companyName}}", "{{senderFirstName}}", "{{optOutLink}}", "{{senderEmail}}"):
        assert tag in text
    assert "{{first_name}}" not in text
    _, rejected = compile_case("unsupported")
    assert any("sender_company" in d.message for d in rejected.diagnostics)


def test_schedule_with_prospect_zone_weekdays_and_holidays_flag():
    _, result = compile_text("""
sequence local {
  timezone prospect else "Europe/Berlin"
  window email tue-thu 09:30-11:00
  holidays prospect
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
}
""")
    schedule = plan_of(result)["requests"][0]["body"]
    assert schedule["timezoneId"] == "Europe/Berlin" and schedule["useProspectTimezone"] is True
    assert schedule["excludeHolidays"] is True
    active = [t["weekDay"] for t in schedule["mainTimings"] if t["isActive"]]
    assert active == ["Tuesday", "Wednesday", "Thursday"]
    assert schedule["mainTimings"][1]["timeRanges"] == [{"fromTime": {"hour": 9, "minute": 30},
                                                         "toTime": {"hour": 11, "minute": 0}}]
    assert any("excludeHolidays" in n.message for n in result.notices)


def test_leads_carry_every_declared_field_for_conditions():
    _, result = compile_case("branches")
    leads = next(a for a in result.artifacts if a.path == "leads.csv").text.splitlines()
    header = leads[0].split(",")
    assert header[:3] == ["sequence", "email", "firstName"]
    assert {"employees", "timeZoneId", "linkedInUrl", "opener_body"} <= set(header)


# ---------------------------------------------------------------- what is rejected


@pytest.mark.parametrize(("line", "expect"), [
    ("on clicked(second) -> hot", "without `within` after the last step"),
    ("on replied -> hot", "without a step"),
])
def test_events_a_condition_cannot_wait_for(line, expect):
    _, result = compile_text("""
sequence events {
  window email mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
  day 3 email second { subject "Two" body "Two https://example.com/x. """ + OPT_OUT + """" }
  """ + line + """
  path hot { day 1 email ask { subject "Ask" body "Ask. """ + OPT_OUT + """" } }
}
""")
    assert result.failed
    assert any(expect in d.message for d in result.diagnostics), [d.message for d in result.diagnostics]


def test_a_tree_too_large_to_review_is_rejected():
    steps = "\n".join(
        f'  day {7 * i} email s{i} if employees > {i} {{ subject "S{i}" body "Body {i}. {OPT_OUT}" }}'
        for i in range(1, 9))
    _, result = compile_text(f"""
sequence big {{
  window email tue-thu 10:00-12:00
  day 0 email opener {{ subject "Hi" body "Hi. {OPT_OUT}" }}
{steps}
}}
""")
    assert result.failed
    (diag,) = result.diagnostics
    assert f"more than {MAX_TREE_STEPS} steps" in diag.message and "8 guards" in (diag.help or "")


def test_a_guard_on_a_call_answer_stays_a_note_on_manual_steps():
    _, result = compile_text("""
sequence calls {
  window email mon-fri 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
  day 2 call first if has(phone) { script "Call." }
  day 4 task follow if connected(first) { note "Log the call." }
}
""")
    steps = plan_of(result)["requests"]
    task = next(r["body"] for r in steps if r["body"].get("type") == "task")
    assert task["description"].startswith("Only if connected(first)")


def test_a_reply_whose_thread_a_guard_leaves_out_is_rejected():
    _, result = compile_text("""
sequence threads {
  window email tue-thu 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi. """ + OPT_OUT + """" }
  day 7 email value if has(title) { subject "Value" body "Value. """ + OPT_OUT + """" }
  day 14 email nudge { thread value body "Back to it. """ + OPT_OUT + """" }
}
""")
    assert result.failed
    (diag,) = result.diagnostics
    assert "`thread value` on `nudge` in the branch where `value` is not sent" in diag.message

"""`--target lemlist`: the request plan, conditions and paths as a tree, delays on sending days, merge tags, SEQ601."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import CASES, ROOT
from email_tool_support import CAMPAIGN, PROSPECT

from compiler import timing
from compiler.api import validate_artifact
from compiler.build import build
from compiler.capabilities import Capabilities
from compiler.lower.delays import reference_monday
from compiler.plan import plan_sequence, track_starts
from compiler.project import discover, load, load_text
from compiler.schemas import validator
from targets import capabilities, get_target
from targets.lemlist import CAPABILITIES, MAX_NODES, resolve

# Every lemlist channel, a guard of each kind, and a path, on one tue-thu schedule for all channels.
MULTI = """
sequence multi "All channels" {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  window linkedin tue-thu 10:00-12:00
  window call tue-thu 10:00-12:00
  window task tue-thu 10:00-12:00

  day 0 email opener {
    variant a { subject "Hi {{ first_name }}" }
    variant b { subject "About {{ company }}" }
    body "Hi {{ first_name }}, a link: https://example.com/a. {{ sender_first_name }}. Opt out: {{ unsubscribe_url }}"
  }
  day 2 linkedin look if has(linkedin_url) { action view }
  day 7 linkedin invite if has(linkedin_url) {
    action connect
    note "Hi {{ first_name }}, glad to connect."
  }
  day 9 email value if opened(opener) and not clicked(opener) {
    thread opener
    body "A resource for {{ company }}: https://example.com/r. Opt out: {{ unsubscribe_url }}"
  }
  day 14 call ring if has(phone) { script "Ask {{ first_name }} about onboarding." }
  day 16 linkedin dm if accepted(invite) { action message body "Thanks for connecting, {{ first_name }}." }
  day 21 linkedin mail { action inmail subject "Onboarding" body "One question, {{ first_name }}." }
  day 23 linkedin voice_note if accepted(invite) { action voice }
  day 28 task research { note "Find the enablement lead at {{ company }}." }

  on clicked(value) within 2 days -> hot

  path hot {
    day 2 email direct_ask {
      thread value
      body "Worth 15 minutes, {{ first_name }}? Opt out: {{ unsubscribe_url }}"
    }
  }
}
"""


def compile_text(body: str, *, campaign: str = CAMPAIGN, prospects: Path | None = None,
                 alternatives: dict[str, Capabilities] | None = None):
    loaded = load_text(PROSPECT + body + campaign, root=Path("."))
    errors = [d for d in loaded.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    result = build(loaded, get_target("lemlist"), prospects_file=str(prospects) if prospects else None,
                   alternatives=alternatives if alternatives is not None else capabilities())
    return loaded, result


def compile_case(name: str, prospects: bool = False):
    (source,) = discover([str(CASES / "targets" / name)])
    loaded = load(source)
    file = CASES / "targets" / name / "prospects.csv"
    result = build(loaded, get_target("lemlist"), prospects_file=str(file) if prospects else None,
                   alternatives=capabilities())
    return loaded, result


def plans(result) -> dict[str, dict]:
    assert not result.diagnostics, [d.message for d in result.diagnostics]
    for art in result.artifacts:
        validate_artifact(art)
    return {a.path: json.loads(a.text) for a in result.artifacts if a.path.endswith(".json")}


def only(result) -> dict:
    (plan,) = plans(result).values()
    return plan


def by_id(plan: dict) -> dict[str, dict]:
    return {r["id"]: r for r in plan["requests"]}


def messages(result) -> list[str]:
    return [d.message for d in result.diagnostics]


# ---------------------------------------------------------------- a fake lemlist, written from the docs


class FakeLemlist:
    """Mints ids the way lemlist's answers carry them; a conditional gets a "yes" and an Else sub-sequence."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.sequences: dict[str, list[dict]] = {}
        self.branches: dict[str, list[dict]] = {}
        self.calls: list[tuple[str, str]] = []

    def new(self, prefix: str) -> str:
        return f"{prefix}_{next(self.ids)}"

    def __call__(self, method: str, path: str, body: dict | None) -> object:
        assert "{" not in path, f"unresolved reference in {path}"
        self.calls.append((method, path))
        if (method, path) == ("POST", "/campaigns"):
            seq = self.new("seq")
            self.sequences[seq] = []
            return {"_id": self.new("cam"), "sequenceId": seq, "scheduleIds": [self.new("skd")], "name": body["name"]}
        if m := re.fullmatch(r"/sequences/(seq_\d+)/steps", path):
            steps = self.sequences[m.group(1)]
            assert not steps or steps[-1]["type"] != "conditional", "a conditional ends its sequence"
            step = {"_id": self.new("stp"), **body}
            steps.append(step)
            if body["type"] == "conditional":
                yes, other = self.new("seq"), self.new("seq")
                self.sequences[yes], self.sequences[other] = [], []
                self.branches[step["_id"]] = [{"sequenceId": yes, "index": 0, "key": body["conditionKey"]},
                                              {"sequenceId": other, "fallback": True, "key": body["conditionKey"]}]
            return step
        if m := re.fullmatch(r"/sequences/seq_\d+/steps/(stp_\d+)/branches", path):
            return self.branches[m.group(1)]
        if path.endswith("/ab-test"):
            return {"stepId": path.split("/")[-2], "abTest": True}
        return {"ok": True}


def replay_plan(plan: dict, fake: FakeLemlist | None = None) -> tuple[FakeLemlist, dict]:
    fake = fake or FakeLemlist()
    answers: dict[str, object] = {}
    for request in plan["requests"]:
        answers[request["id"]] = fake(request["method"], resolve(request["path"], answers), request.get("body"))
    return fake, answers


# ---------------------------------------------------------------- an independent lemlist scheduler


def lemlist_sends(fake: FakeLemlist, answers: dict, schedule: dict, enrolled: date,
                  outcome=lambda key: True) -> list[tuple[str, date]]:
    """Walk the built campaign as lemlist runs it (docs/targets/lemlist.md, "Delays"): each step waits
    `delay` sending days after the previous node of its sequence and goes out on a sending day; a
    `within` condition waits its window the same way, then takes "yes" when `outcome(key)` holds."""
    sending = {d - 1 for d in schedule["weekdays"]}  # lemlist: 1 = Monday

    def open_day(d: date) -> date:
        while d.weekday() not in sending:
            d += timedelta(days=1)
        return d

    def advance(d: date, n: int) -> date:
        while n > 0:
            d += timedelta(days=1)
            n -= d.weekday() in sending
        return d

    out, now = [], enrolled
    seq = answers["campaign"]["sequenceId"]
    while True:
        for step in fake.sequences[seq]:
            if step["type"] == "conditional":
                now = advance(now, step.get("delay", 0))
                yes, other = fake.branches[step["_id"]]
                seq = yes["sequenceId"] if outcome(step["conditionKey"]) else other["sequenceId"]
                break
            now = open_day(advance(now, step["delay"]))
            out.append((step.get("subject") or step.get("message") or step["type"], now))
        else:
            return out


def plan_dates(seq, enrolled: date) -> list[date]:
    plan = plan_sequence(seq, enrolled, "UTC", None)  # weekdays only: holidays are a separate warning
    return [t.date for t in plan.touches if t.track == "main"]


# ---------------------------------------------------------------- capabilities


def test_capabilities_carry_every_channel_as_a_lemlist_step_type():
    linkedin = CAPABILITIES.channels["linkedin"]
    assert [linkedin.kind_for(a) for a in ("connect", "message", "view", "voice")] == [
        "linkedinInvite", "linkedinSend", "linkedinVisit", "linkedinVoiceNote"]
    assert not linkedin.takes("inmail")  # no InMail step in the API: it becomes a manual task
    assert CAPABILITIES.channels["call"].kind == "phone" and CAPABILITIES.task.kind == "manual"
    assert CAPABILITIES.guards == CAPABILITIES.paths == {"opened", "clicked", "accepted"}
    assert "booked" in CAPABILITIES.exits
    assert (CAPABILITIES.delay.anchor, CAPABILITIES.delay.counts) == ("later", "sending_days")


# ---------------------------------------------------------------- the plan


def test_the_plan_creates_the_campaign_then_edits_its_settings_and_own_schedule():
    _, result = compile_case("email_only")
    plan = only(result)
    first = plan["requests"][:3]
    assert [(r["id"], r["method"], r["path"]) for r in first] == [
        ("campaign", "POST", "/campaigns"),
        ("settings", "PATCH", "/campaigns/{campaign._id}"),
        ("schedule", "PATCH", "/schedules/{campaign.scheduleIds.0}"),
    ]
    assert first[0]["body"] == {"name": "starter.America-New_York", "timezone": "America/New_York"}
    assert first[1]["body"] == {"stopOnEmailReplied": True, "stopOnMeetingBooked": False,
                                "disableTrackOpen": True, "disableTrackClick": True}
    assert first[2]["body"]["weekdays"] == [2, 3, 4]  # tue-thu, 1 = Monday
    assert (first[2]["body"]["start"], first[2]["body"]["end"]) == ("10:00", "12:00")
    ids = [r["id"] for r in plan["requests"]]
    assert len(ids) == len(set(ids))


def test_every_reference_names_an_earlier_request_and_resolves_against_lemlist_answers():
    _, result = compile_text(MULTI)
    plan = only(result)
    seen: set[str] = set()
    for request in plan["requests"]:
        for ref in re.findall(r"\{([A-Za-z0-9_:]+)\.", request["path"]):
            assert ref in seen, (request["id"], ref)
        for value in request.get("body", {}).values():  # bodies are sent as written: no references
            assert not re.search(r"(?<!\{)\{[A-Za-z0-9_:]+(\.[A-Za-z0-9_]+)+\}(?!\})", str(value))
        seen.add(request["id"])
    fake, answers = replay_plan(plan)
    assert answers["c1:branches"][1]["fallback"] is True
    assert all(path.startswith("/") and "{" not in path for _, path in fake.calls)


def test_resolve_follows_keys_and_list_indexes_and_refuses_a_missing_answer():
    answers = {"campaign": {"_id": "cam_1", "scheduleIds": ["skd_9"]}, "c1:branches": [{"sequenceId": "seq_4"}]}
    assert resolve("/schedules/{campaign.scheduleIds.0}", answers) == "/schedules/skd_9"
    assert resolve("/sequences/{c1:branches.0.sequenceId}/steps", answers) == "/sequences/seq_4/steps"
    with pytest.raises(KeyError):
        resolve("/campaigns/{nope._id}", answers)


def test_the_replay_script_in_the_docs_runs_a_plan():
    text = (ROOT / "docs" / "targets" / "lemlist.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(#!/usr/bin/env python3.*?)```", text, re.S)
    namespace: dict = {"__name__": "lemlist_replay"}
    exec(compile(code, "lemlist_replay.py", "exec"), namespace)  # noqa: S102 - our own docs
    _, result = compile_text(MULTI)
    plan = only(result)
    fake = FakeLemlist()
    answers = namespace["run"](plan, fake)
    assert set(answers) == {r["id"] for r in plan["requests"]}
    assert sum(len(s) for s in fake.sequences.values()) == sum(
        1 for r in plan["requests"] if r["path"].endswith("/steps"))


# ---------------------------------------------------------------- steps and channels


def test_each_channel_becomes_its_step_type_with_its_text():
    _, result = compile_text(MULTI)
    fake, _ = replay_plan(only(result))
    steps = {}
    for seq in fake.sequences.values():
        for step in seq:
            steps.setdefault(step["type"], step)
    assert steps["email"]["message"].startswith("<p>Hi {{firstName}}, a link:")
    assert "{{senderFirstName}}" in steps["email"]["message"] and "{{unsubscribe}}" in steps["email"]["message"]
    assert steps["linkedinInvite"]["message"] == "Hi {{firstName}}, glad to connect."
    assert steps["linkedinSend"]["message"] == "Thanks for connecting, {{firstName}}."
    assert set(steps["linkedinVisit"]) == set(steps["linkedinVoiceNote"]) == {"_id", "type", "delay"}
    assert steps["phone"]["message"] == "Ask {{firstName}} about onboarding."
    manual = [s for seq in fake.sequences.values() for s in seq if s["type"] == "manual"]
    assert {m["title"] for m in manual} == {"LinkedIn: InMail: mail", "research"}
    inmail = next(m for m in manual if m["title"].startswith("LinkedIn"))
    assert inmail["message"] == "Subject: Onboarding\n\nOne question, {{firstName}}."


def test_ab_variants_add_variant_b_through_the_ab_test_endpoints():
    _, result = compile_text(MULTI)
    requests = by_id(only(result))
    assert requests["opener"]["body"]["subject"] == "Hi {{firstName}}"
    assert requests["opener:ab"]["method"] == "POST" and "body" not in requests["opener:ab"]
    assert requests["opener:ab"]["path"] == "/sequences/{campaign.sequenceId}/steps/{opener._id}/ab-test"
    assert requests["opener:b"]["method"] == "PATCH"
    assert requests["opener:b"]["body"]["subject"] == "About {{companyName}}"


def test_a_threaded_follow_up_has_an_empty_subject():
    _, result = compile_case("email_only")
    value = by_id(only(result))["value"]["body"]
    assert value["subject"] == "" and value["message"].startswith("<p>Hi {{firstName}},</p>")


def test_merge_tags_and_built_ins_and_the_leads_file():
    _, result = compile_case("email_only", prospects=True)
    leads = next(a for a in result.artifacts if a.path == "leads.csv")
    rows = list(csv.DictReader(io.StringIO(leads.text)))
    assert list(rows[0]) == ["campaign", "email", "firstName", "companyName", "opener_body", "value_body"]
    breakup = by_id(plans(result)["starter.America-New_York.json"])["breakup"]["body"]["message"]
    assert "{{senderName}} ({{senderEmail}})" in breakup


# ---------------------------------------------------------------- conditions and paths


def test_guards_become_conditionals_that_test_one_thing_at_a_time():
    _, result = compile_text(MULTI)
    plan = only(result)
    conditions = [(r["note"].split(" (")[0].removeprefix("on ").split(" ")[0], r["body"])
                  for r in plan["requests"] if r.get("body", {}).get("type") == "conditional"]
    keys = {note: body["conditionKey"] for note, body in conditions}
    assert keys == {"has(linkedin_url)": "hasLinkedinUrl", "opened(opener)": "emailsOpened",
                    "clicked(opener)": "emailsClicked", "clicked(value)": "emailsClicked",
                    "has(phone)": "hasPhoneNumber", "accepted(invite)": "linkedinInviteAccepted"}
    for note, body in conditions:
        if note.startswith("has("):
            assert (body["delayType"], body["delay"]) == ("within", 0)  # data: decided at once
    requests = by_id(plan)
    # The first test of the value guard waits the whole gap before `value`; the step then waits 0.
    opened = next(r for r in plan["requests"] if r.get("note") == "opened(opener) (guard of `value`)")
    assert opened["body"]["delay"] > 0
    assert requests["c1"]["note"] == "has(linkedin_url) (guard of `look`)"
    assert next(r for r in plan["requests"] if r.get("body", {}).get("conditionKey") == "emailsClicked"
                and r["note"].startswith("on "))["note"] == "on clicked(value) within 2 days -> hot"


def test_a_branch_does_not_test_again_what_it_knows():
    _, result = compile_text(MULTI)
    fake, answers = replay_plan(only(result))
    for outcome in (lambda key: True, lambda key: False):
        seq, tested = answers["campaign"]["sequenceId"], []
        while True:
            steps = fake.sequences[seq]
            if not steps or steps[-1]["type"] != "conditional":
                break
            last = steps[-1]
            tested.append(last["conditionKey"])
            seq = fake.branches[last["_id"]][0 if outcome(last["conditionKey"]) else 1]["sequenceId"]
        assert tested.count("hasLinkedinUrl") == 1 and tested.count("hasPhoneNumber") <= 1


def test_when_no_linkedin_url_the_branch_has_no_linkedin_touch_and_no_accepted_test():
    _, result = compile_text(MULTI)
    fake, answers = replay_plan(only(result))
    no_url = lambda key: key != "hasLinkedinUrl"  # noqa: E731
    seq, types = answers["campaign"]["sequenceId"], []
    while True:
        steps = fake.sequences[seq]
        types += [s.get("conditionKey", s["type"]) for s in steps]
        if not steps or steps[-1]["type"] != "conditional":
            break
        seq = fake.branches[steps[-1]["_id"]][0 if no_url(steps[-1]["conditionKey"]) else 1]["sequenceId"]
    assert not [t for t in types if t.startswith("linkedin") and t != "linkedinInviteAccepted"]
    assert "linkedinInviteAccepted" not in types


def test_a_path_is_a_conditional_after_its_step_with_the_within_window():
    _, result = compile_case("paths")
    requests = by_id(only(result))
    assert requests["c1"]["path"] == "/sequences/{campaign.sequenceId}/steps"
    assert requests["c1"]["body"] == {"type": "conditional", "conditionKey": "emailsClicked",
                                      "delayType": "within", "delay": 2}
    assert requests["c1:yes:direct_ask"]["path"] == "/sequences/{c1:branches.0.sequenceId}/steps"
    assert requests["c1:else:breakup"]["path"] == "/sequences/{c1:branches.1.sequenceId}/steps"
    assert not [r for r in requests if "opened" in requests[r].get("note", "")]  # `-> end` after the last step
    assert "disableTrackClick" in requests["settings"]["body"] and not requests["settings"]["body"]["disableTrackClick"]


def test_an_event_without_within_after_the_last_touch_waits_without_bound():
    body = """
sequence tail {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  day 0 email opener { subject "Hi" body "Hi {{ first_name }}. Opt out: {{ unsubscribe_url }}" }
  on opened(opener) -> warm
  path warm { day 2 email nudge { subject "Again" body "Hi again. Opt out: {{ unsubscribe_url }}" } }
}
"""
    _, result = compile_text(body)
    requests = by_id(only(result))
    assert requests["c1"]["body"] == {"type": "conditional", "conditionKey": "emailsOpened", "delayType": "waitUntil"}
    assert requests["c1:yes:nudge"]["body"]["delay"] == 2


# ---------------------------------------------------------------- delays


def test_replaying_the_built_campaign_gives_the_plan_dates_for_every_enrollment_weekday():
    loaded, result = compile_case("email_only")
    plan = only(result)
    fake, answers = replay_plan(plan)
    schedule = by_id(plan)["schedule"]["body"]
    seq = loaded.project.sequences[0]
    monday = date(2027, 1, 4)
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        sends = [d for _, d in lemlist_sends(fake, answers, schedule, enrolled)]
        assert sends == plan_dates(seq, enrolled), enrolled


def test_where_lemlist_cannot_follow_the_plan_compile_warns_with_both_dates():
    loaded, result = compile_case("delays")
    plan = only(result)
    fake, answers = replay_plan(plan)
    schedule = by_id(plan)["schedule"]["body"]
    seq = loaded.project.sequences[0]
    warned = " ".join(n.message for n in result.notices)
    monday = reference_monday(loaded.project)
    differ = []
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        tool = [d for _, d in lemlist_sends(fake, answers, schedule, enrolled)]
        for step, a, b in zip(seq.steps, tool, plan_dates(seq, enrolled)):
            if a != b:
                differ.append(step.name)
                assert f"plan {timing.WEEKDAY_NAMES[b.weekday()]} {b.isoformat()}" in warned
                assert f"lemlist {timing.WEEKDAY_NAMES[a.weekday()]} {a.isoformat()}" in warned
    assert differ and set(differ) == {n.message.split("`")[1] for n in result.notices if "would not land" in n.message}


def test_sending_days_make_a_two_day_delay_after_thursday_land_on_tuesday():
    body = """
sequence short {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  day 0 email a { subject "A" body "A. Opt out: {{ unsubscribe_url }}" }
  day 7 email b { subject "B" body "B. Opt out: {{ unsubscribe_url }}" }
}
"""
    _, result = compile_text(body)
    plan = only(result)
    assert by_id(plan)["b"]["body"]["delay"] == 3  # a week on a tue-thu schedule is three sending days
    fake, answers = replay_plan(plan)
    sends = lemlist_sends(fake, answers, by_id(plan)["schedule"]["body"], date(2027, 1, 7))  # a Thursday
    assert [d for _, d in sends] == [date(2027, 1, 7), date(2027, 1, 14)]


def test_a_path_entered_when_its_window_closes_is_warned_about_with_both_dates():
    loaded, result = compile_case("paths")
    plan = only(result)
    fake, answers = replay_plan(plan)
    schedule = by_id(plan)["schedule"]["body"]
    seq = loaded.project.sequences[0]
    warned = [n.message for n in result.notices if "`direct_ask`" in n.message]
    assert len(warned) == 1 and "window of its condition closes" in warned[0]
    enrolled = reference_monday(loaded.project)
    clicked = lemlist_sends(fake, answers, schedule, enrolled, outcome=lambda key: True)
    tool = clicked[-1][1]
    start = track_starts(seq, enrolled)["hot"].start
    planned = timing.land_date(start, 1, (1, 2, 3))[0]
    assert tool > planned
    assert f"plan {timing.WEEKDAY_NAMES[planned.weekday()]} {planned.isoformat()}, lemlist " \
           f"{timing.WEEKDAY_NAMES[tool.weekday()]} {tool.isoformat()}" in warned[0]


def test_a_window_longer_than_the_next_wait_delays_only_the_next_touch():
    body = """
sequence late {
  timezone "Europe/Berlin"
  window email mon-fri 10:00-12:00
  day 0 email a { subject "A" body "A https://example.com. Opt out: {{ unsubscribe_url }}" }
  day 1 email b { subject "B" body "B. Opt out: {{ unsubscribe_url }}" }
  day 3 email c { subject "C" body "C. Opt out: {{ unsubscribe_url }}" }
  on clicked(a) within 2 days -> end
}
"""
    _, result = compile_text(body)
    requests = by_id(only(result))
    assert requests["c1"]["body"]["delay"] == 2
    assert requests["c1:else:b"]["body"]["delay"] == 0 and requests["c1:else:c"]["body"]["delay"] == 1
    warned = [n.message for n in result.notices if "holds the track" in n.message]
    assert len(warned) == 1 and warned[0].startswith("lemlist: `b` (day 1)")


# ---------------------------------------------------------------- SEQ601


def test_a_test_on_an_earlier_email_than_the_latest_is_rejected():
    body = """
sequence stale {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  day 0 email a { subject "A" body "A. Opt out: {{ unsubscribe_url }}" }
  day 7 email b { subject "B" body "B. Opt out: {{ unsubscribe_url }}" }
  day 14 email c if opened(a) { subject "C" body "C. Opt out: {{ unsubscribe_url }}" }
}
"""
    _, result = compile_text(body)
    assert messages(result) == ["lemlist cannot express `opened(a)` in the guard of `c`"]
    assert "latest email before the condition (`b`)" in result.diagnostics[0].help


def test_data_tests_other_than_linkedin_url_and_phone_are_rejected_and_named_elsewhere():
    body = """
sequence data {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  day 0 email a { subject "A" body "A. Opt out: {{ unsubscribe_url }}" }
  day 7 email b if has(title) { subject "B" body "B. Opt out: {{ unsubscribe_url }}" }
  day 14 task t if funding_days_ago < 90 { note "Congratulate them." }
}
"""
    _, result = compile_text(body)
    assert messages(result) == ["lemlist cannot express the guard `has(title)` on `b`"]


def test_text_on_a_profile_visit_or_a_voice_note_is_rejected():
    body = """
sequence notes {
  timezone "Europe/Berlin"
  window email tue-thu 10:00-12:00
  window linkedin tue-thu 10:00-12:00
  day 0 email a { subject "A" body "A. Opt out: {{ unsubscribe_url }}" }
  day 2 linkedin v { action voice note "Say hi to {{ first_name }}" }
}
"""
    _, result = compile_text(body)
    assert messages(result) == ["lemlist cannot express text on the LinkedIn voice note `v`"]


def test_a_sequence_that_unfolds_into_too_many_steps_is_rejected():
    steps = "".join(f'  day {2 * i + 2} email e{i} if has(phone) or has(linkedin_url) {{ subject "S{i}" '
                    f'body "B{i}. Opt out: {{{{ unsubscribe_url }}}}" }}\n' for i in range(12))
    body = f"""
sequence huge {{
  timezone "Europe/Berlin"
  window email mon-fri 10:00-12:00
  day 0 email a {{ subject "A" body "A https://example.com. Opt out: {{{{ unsubscribe_url }}}}" }}
{steps}  on clicked(a) within 1 days -> end
}}
"""
    # Data facts stay known, so this stays small...
    _, result = compile_text(body)
    assert not result.diagnostics
    # ...but an open may still happen later, so "not opened" is tested again at every step.
    steps = "".join(f'  day {2 * i + 2} email e{i} if not opened({f"e{i - 1}" if i else "a"}) {{ subject "S{i}" '
                    f'body "B{i}. Opt out: {{{{ unsubscribe_url }}}}" }}\n' for i in range(20))
    body = body.replace(body[body.index("  day 2 "):body.index("  on clicked")], steps)
    _, result = compile_text(body)
    assert messages(result) == [f"lemlist cannot express `huge` as lemlist steps: its guards and paths unfold into "
                                f"more than {MAX_NODES} steps"]


def test_instantly_now_names_lemlist_for_behavioural_guards():
    loaded = load_text(PROSPECT + MULTI + CAMPAIGN, root=Path("."))
    result = build(loaded, get_target("instantly"), alternatives=capabilities())
    helps = [d.help for d in result.diagnostics if "opened(opener)" in d.message]
    assert helps and "lemlist" in helps[0]


def test_schema_refuses_a_within_condition_without_its_window():
    _, result = compile_text(MULTI)
    plan = only(result)
    check = validator("lemlist.schema.json")
    assert not list(check.iter_errors(plan))
    broken = json.loads(json.dumps(plan))
    cond = next(r for r in broken["requests"] if r.get("body", {}).get("type") == "conditional"
                and r["body"]["delayType"] == "within")
    del cond["body"]["delay"]
    assert list(check.iter_errors(broken))

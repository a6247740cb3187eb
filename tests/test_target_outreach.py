"""`--target outreach`: the request plan (records, order, references), tags, tasks, threads, delays, SEQ601."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import snapshot_ext
from engagement_support import (
    CASES, OPT_OUT, assert_drift_is_warned, assert_replay_equals_the_plan, compile_project, first_open,
    messages, payload, warnings, write_project,
)

from compiler.api import validate_artifact
from compiler.schemas import validator
from targets.engagement import resolve_body, resolve_path

WEEKDAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def run(plan: dict, params: dict | None = None) -> list[dict]:
    """Replay a plan against a fake Outreach: every create answers `{"data": {"id": n}}`."""
    answers: dict = {"params": params or {}}
    sent = []
    for n, req in enumerate(plan["requests"], 100):
        path = resolve_path(req["path"], answers)
        body = resolve_body(req.get("body"), answers)
        sent.append({"id": req["id"], "path": path, "body": body})
        answers[req["id"]] = {"data": {"id": n, "type": body["data"]["type"]}}
    return sent


def test_sales_team_plan_and_leads(snapshot):
    _, result = compile_project(CASES / "sales_team", "outreach", prospects=True)
    assert not result.diagnostics, messages(result)
    for art in result.artifacts:
        validate_artifact(art)
        suffix = art.path.rsplit(".", 1)[-1]
        assert art.text == snapshot(name=art.path, extension_class=snapshot_ext(suffix))
    text = "".join(f"{n.line()}\n" for n in result.notices)
    assert text == snapshot(name="stderr", extension_class=snapshot_ext("txt"))


def test_the_four_record_kinds_come_in_order_and_every_reference_resolves():
    _, result = compile_project(CASES / "sales_team", "outreach")
    plan = payload(result)
    kinds = [r["body"]["data"]["type"] for r in plan["requests"]]
    assert kinds[0] == "sequence"
    # Each email step is followed by its template and the link between them; tasks stand alone.
    assert kinds[1:5] == ["sequenceStep", "template", "sequenceTemplate", "sequenceStep"]
    ids = [r["id"] for r in plan["requests"]]
    assert len(ids) == len(set(ids))
    sent = run(plan)
    for req in sent:
        for rel in req["body"]["data"].get("relationships", {}).values():
            assert isinstance(rel["data"]["id"], int)  # a reference became the earlier answer's integer id
    link = next(r for r in sent if r["id"] == "link:value")
    step = next(i for i, r in enumerate(sent) if r["id"] == "step:value")
    assert link["body"]["data"]["relationships"]["sequenceStep"]["data"]["id"] == 100 + step


def test_a_reference_to_a_later_request_is_an_error():
    plan = {"requests": [{"id": "a", "method": "POST", "path": "/x/{b.data.id}", "body": {"data": {"type": "t"}}},
                         {"id": "b", "method": "POST", "path": "/y", "body": {"data": {"type": "t"}}}]}
    with pytest.raises(KeyError):
        run(plan)


def test_steps_types_intervals_and_task_notes():
    _, result = compile_project(CASES / "sales_team", "outreach")
    steps = [r["body"]["data"]["attributes"] for r in payload(result)["requests"] if r["path"] == "/sequenceSteps"]
    assert [s["stepType"] for s in steps] == ["auto_email", "task", "auto_email", "call", "task", "task",
                                              "auto_email"]
    assert all(s["interval"] % 86_400 == 0 for s in steps) and steps[0]["interval"] == 0
    assert [s["order"] for s in steps] == list(range(1, 8))
    invite, call = steps[1]["taskNote"], steps[3]["taskNote"]
    assert invite.splitlines() == ["LinkedIn: connection request",
                                   "Only if has(linkedin_url); otherwise skip this task.",
                                   "Hi {{first_name}}, I sent you a note about {{account.name}}."]
    assert call.startswith("Only if has(phone); otherwise skip this task.\nAsk {{first_name}}")
    assert all("taskNote" not in s for s in steps if s["stepType"] == "auto_email")


def test_merge_tags_builtins_and_custom_fields():
    _, result = compile_project(CASES / "sales_team", "outreach")
    plan = payload(result)
    templates = {r["id"]: r["body"]["data"]["attributes"] for r in plan["requests"] if r["path"] == "/templates"}
    opener, value, breakup = templates["template:opener"], templates["template:value"], templates["template:breakup"]
    assert opener["subject"] == "Ramp time at {{account.name}}"
    assert "&amp; onboarding &lt;noise&gt;" in opener["bodyHtml"]  # literal text is escaped, tags are not
    assert "{{sender.first_name}}" in opener["bodyHtml"]
    assert "{{sender.first_name}} {{sender.last_name}} ({{sender.email}})" in breakup["bodyHtml"]
    # The content branch is pre-rendered HTML: a triple-stash custom field, so Outreach does not escape it.
    assert "{{{custom1}}}" in value["bodyHtml"] and plan["custom_fields"] == {"custom1": "value_body"}
    assert "custom fields (custom1 = value_body)" in warnings(result)


def test_declared_fields_without_an_outreach_variable_use_custom_fields(tmp_path):
    project = write_project(tmp_path, f"""
        # seqc: ignore SEQ209
        sequence s {{
          tier smb
          timezone "Europe/Berlin"   # seqc: ignore SEQ410
          window email mon-fri 10:00-12:00   # seqc: ignore SEQ207
          day 0 email opener {{
            purpose opener
            subject "{{{{ first_name }}}}, about {{{{ funding_round | default("your round") }}}}"
            body "Hi {{{{ first_name }}}}, {{{{ employees }}}} people at {{{{ company }}}}. {OPT_OUT}"
          }}
        }}
        """)
    _, result = compile_project(project, "outreach")
    assert not result.diagnostics, messages(result)
    plan = payload(result)
    template = next(r for r in plan["requests"] if r["path"] == "/templates")["body"]["data"]["attributes"]
    assert plan["custom_fields"] == {"custom1": "employees", "custom2": "opener_subject"}
    assert template["subject"] == "{{first_name}}, about {{custom2}}"  # no fallback syntax: pre-rendered
    assert "{{custom1}} people at {{account.name}}" in template["bodyHtml"]


def test_ab_variants_are_several_templates_on_one_step(tmp_path):
    project = write_project(tmp_path, f"""
        # seqc: ignore SEQ209
        sequence s {{
          tier smb
          timezone prospect else "America/New_York"
          window email tue-thu 10:00-12:00
          day 0 email opener {{
            purpose opener
            variant a {{ subject "A for {{{{ first_name }}}}" }}
            variant b {{ subject "B for {{{{ company }}}}" }}
            body "Hi {{{{ first_name }}}}. {OPT_OUT}"
          }}
        }}
        """)
    _, result = compile_project(project, "outreach")
    assert not result.diagnostics, messages(result)
    plan = payload(result)
    ids = [r["id"] for r in plan["requests"]]
    assert ids == ["sequence", "step:opener", "template:opener:a", "link:opener:a", "template:opener:b",
                   "link:opener:b"]
    assert plan["schedule"] == {"name": "seqc s: email tue-thu 10:00-12:00", "days": ["tue", "wed", "thu"],
                                "from": "10:00", "to": "12:00", "use_prospect_time_zone": True,
                                "time_zone": "America/New_York"}


def test_an_uneven_split_and_a_reply_not_in_the_previous_thread_are_seq601(tmp_path):
    project = write_project(tmp_path, f"""
        # seqc: ignore SEQ209
        sequence s {{
          tier smb
          timezone "America/New_York"   # seqc: ignore SEQ410
          window email tue-thu 10:00-12:00
          day 0 email opener {{
            purpose opener
            variant a {{ subject "A" }}
            variant b {{ subject "B" }}
            split 70/30
            body "Hi {{{{ first_name }}}}. {OPT_OUT}"
          }}
          day 7 email second {{ purpose value_add subject "Second" body "Two. {OPT_OUT}" }}
          day 14 email third {{ purpose followup thread opener body "Three. {OPT_OUT}" }}
        }}
        """)
    _, result = compile_project(project, "outreach")
    text = messages(result)
    assert "the uneven split 70/30 of `opener`" in text
    assert "`thread opener` on `third`" in text and "email just before (here `second`)" in text
    assert "salesloft takes it" in text or "hubspot and salesloft take it" in text


def test_unsubscribe_url_branching_and_booked_are_seq601_naming_who_takes_them():
    _, result = compile_project("examples/outbound", "outreach")
    text = messages(result)
    assert "the built-in `unsubscribe_url`" in text and "outreach has no merge tag for it" in text
    assert "the path `hot` entered on `clicked(value)`" in text and "lemlist" in text
    assert "`exit on booked`" in text and "salesloft" in text
    assert not result.artifacts


def test_a_bad_plan_is_refused_by_the_schema():
    _, result = compile_project(CASES / "sales_team", "outreach")
    plan = payload(result)
    plan["requests"][1]["body"]["data"]["attributes"]["stepType"] = "linkedin"
    assert list(validator("outreach.schema.json").iter_errors(plan))


# ---------------------------------------------------------------- the scheduler


def outreach_sends(plan: dict, enrolled) -> list:
    """Outreach as documented: each step's `interval` (seconds) runs from the previous step's actual
    send (the first from enrollment); an email due outside the schedule's days waits for the next one,
    and the steps after it shift with it (no catch-up)."""
    days = {WEEKDAY[d] for d in plan["schedule"]["days"]}
    sends, anchor = [], enrolled
    for req in plan["requests"]:
        if req["path"] != "/sequenceSteps":
            continue
        seconds = req["body"]["data"]["attributes"]["interval"]
        anchor = first_open(anchor + timedelta(seconds=seconds), days)
        sends.append(anchor)
    return sends


def test_replay_equals_the_plan_for_every_enrollment_weekday():
    assert_replay_equals_the_plan("outreach", outreach_sends)


def test_where_outreach_cannot_follow_the_plan_compile_warns_with_both_dates():
    warned = assert_drift_is_warned("outreach", outreach_sends)
    assert "`opener`" not in warned


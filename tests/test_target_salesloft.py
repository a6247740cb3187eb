"""`--target salesloft`: the cadence import body (absolute days, step types, at_time, threads), SEQ601, delays."""

from __future__ import annotations

from conftest import snapshot_ext
from engagement_support import (
    CASES, OPT_OUT, add_business_days, assert_drift_is_warned, assert_replay_equals_the_plan, compile_project,
    first_open, messages, payload, warnings, write_project,
)

from compiler.api import validate_artifact
from compiler.schemas import validator


def groups(result) -> list[dict]:
    return payload(result)["cadence_content"]["step_groups"]


def test_sales_team_cadence_and_leads(snapshot):
    _, result = compile_project(CASES / "sales_team", "salesloft", prospects=True)
    assert not result.diagnostics, messages(result)
    for art in result.artifacts:
        validate_artifact(art)
        suffix = art.path.rsplit(".", 1)[-1]
        assert art.text == snapshot(name=art.path, extension_class=snapshot_ext(suffix))
    text = "".join(f"{n.line()}\n" for n in result.notices)
    assert text == snapshot(name="stderr", extension_class=snapshot_ext("txt"))


def test_days_are_absolute_from_one_and_each_group_holds_one_step():
    _, result = compile_project(CASES / "weekly", "salesloft")
    days = [g["day"] for g in groups(result)]
    # Weekly emails: 5 business days apart, day 1 being the day a person is added.
    assert days == [1, 6, 11, 16]
    assert all(len(g["steps"]) == 1 for g in groups(result))
    assert [g["reference_id"] for g in groups(result)] == [1, 2, 3, 4]


def test_step_types_and_task_instructions():
    _, result = compile_project(CASES / "sales_team", "salesloft")
    found = [(g["automated"], g["steps"][0]["type"], g["steps"][0]["name"]) for g in groups(result)]
    assert found == [(True, "Email", "opener"), (False, "Other", "invite"), (True, "Email", "value"),
                     (False, "Phone", "first_call"), (False, "Other", "research"), (False, "Other", "dm"),
                     (True, "Email", "breakup")]
    manual = [g for g in groups(result) if not g["automated"]]
    assert all(g["automated_settings"] == {} for g in manual)
    invite = manual[0]["steps"][0]["type_settings"]["instructions"]
    assert invite == ("LinkedIn: connection request\nOnly if has(linkedin_url); otherwise skip this task.\n"
                      "Hi {{first_name}}, I sent you a note about {{company}}.")


def test_at_time_is_the_window_opening_and_a_step_window_keeps_its_own_hours(tmp_path):
    project = write_project(tmp_path, f"""
        # seqc: ignore SEQ209
        sequence s {{
          tier smb
          timezone prospect else "America/New_York"
          window email tue-thu 10:00-12:00
          day 0 email opener {{ purpose opener subject "Hi {{{{ first_name }}}}" body "One. {OPT_OUT}" }}
          day 7 email proof {{
            purpose social_proof
            window 09:00-11:00
            subject "A story"
            body "Two. {OPT_OUT}"
          }}
        }}
        """)
    _, result = compile_project(project, "salesloft")
    assert not result.diagnostics, messages(result)
    settings = [g["automated_settings"] for g in groups(result)]
    assert [s["time_of_day"] for s in settings] == ["10:00", "09:00"]
    assert {s["timezone_mode"] for s in settings} == {"person"}
    assert not any(s["allow_send_on_weekends"] for s in settings)
    assert "limit the team's email schedule to tue-thu" in warnings(result)


def test_a_reply_names_the_group_of_the_email_it_threads_on():
    _, result = compile_project(CASES / "sales_team", "salesloft")
    value = groups(result)[2]["steps"][0]["type_settings"]
    assert value["previous_email_step_group_reference_id"] == groups(result)[0]["reference_id"]
    assert value["email_template"]["subject"] == ""
    assert "previous_email_step_group_reference_id" not in groups(result)[0]["steps"][0]["type_settings"]


def test_merge_tags_builtins_and_custom_fields():
    _, result = compile_project(CASES / "sales_team", "salesloft")
    bodies = [g["steps"][0]["type_settings"]["email_template"] for g in groups(result) if g["automated"]]
    assert bodies[0]["subject"] == "Ramp time at {{company}}"
    assert "{{My.first_name}}" in bodies[0]["body"] and "&amp; onboarding" in bodies[0]["body"]
    assert "{{value_body}}{{My.name}}" in bodies[1]["body"]
    assert "{{My.name}} ({{My.email_address}})" in bodies[2]["body"]


def test_exits_map_to_the_cadence_settings(tmp_path):
    project = write_project(tmp_path, f"""
        # seqc: ignore SEQ209
        sequence s {{
          tier smb
          timezone "America/New_York"   # seqc: ignore SEQ410
          exit on replied, booked
          day 0 email opener {{ purpose opener subject "Hi" body "One. {OPT_OUT}" }}
        }}
        """)
    _, result = compile_project(project, "salesloft")
    settings = payload(result)["settings"]
    assert (settings["remove_replied"], settings["remove_bounced"], settings["remove_people_when_meeting_booked"]) \
        == (True, False, True)
    assert settings["target_daily_people"] == 10 and settings["external_identifier"] == "seqc:s"


def test_variants_branching_and_unsubscribe_url_are_seq601_naming_who_takes_them():
    _, result = compile_project("examples/outbound", "salesloft")
    text = messages(result)
    assert "2 variants of `opener` (at most 1)" in text and "outreach" in text
    assert "the path `hot` entered on `clicked(value)`" in text and "lemlist" in text
    assert "the built-in `unsubscribe_url`" in text
    assert "`exit on booked`" not in text  # Salesloft removes people who book a meeting


def test_a_subject_on_a_reply_is_seq601():
    _, result = compile_project("tests/cases/targets/unsupported", "salesloft")
    assert "a subject on the threaded reply `fourth`" in messages(result)


def test_a_bad_body_is_refused_by_the_schema():
    _, result = compile_project(CASES / "weekly", "salesloft")
    body = payload(result)
    body["cadence_content"]["step_groups"][0]["day"] = 0
    assert list(validator("salesloft.schema.json").iter_errors(body))
    body = payload(result)
    body["cadence_content"]["step_groups"][0]["steps"][0]["type"] = "Phone"  # automated groups are emails
    assert list(validator("salesloft.schema.json").iter_errors(body))


# ---------------------------------------------------------------- the scheduler


def salesloft_sends(body: dict, enrolled) -> list:
    """Salesloft as documented: group `day` N is due on the (N-1)th business day after the day the
    person is added; an automated email goes out that day (no weekend sends), and a late step does
    not move the later ones."""
    return [first_open(add_business_days(enrolled, g["day"] - 1), {0, 1, 2, 3, 4})
            for g in body["cadence_content"]["step_groups"]]


def test_replay_equals_the_plan_for_every_enrollment_weekday():
    assert_replay_equals_the_plan("salesloft", salesloft_sends)


def test_where_salesloft_cannot_follow_the_plan_compile_warns_with_both_dates():
    assert_drift_is_warned("salesloft", salesloft_sends)

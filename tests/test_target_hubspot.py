"""`--target hubspot`: templates, build sheet, properties and enrollments (stable); the beta create body; SEQ601."""

from __future__ import annotations

from conftest import snapshot_ext
from engagement_support import (
    CASES, OPT_OUT, add_business_days, assert_drift_is_warned, assert_replay_equals_the_plan, compile_project,
    messages, payload, warnings, write_project,
)

from compiler.api import validate_artifact
from compiler.schemas import validator
from targets import get_target
from targets.engagement import resolve_body, resolve_path
from targets.hubspot import HubSpot

DAY_MS = 86_400_000


def test_sales_team_stable_document_and_leads(snapshot):
    _, result = compile_project(CASES / "sales_team", "hubspot", prospects=True)
    assert not result.diagnostics, messages(result)
    for art in result.artifacts:
        validate_artifact(art)
        suffix = art.path.rsplit(".", 1)[-1]
        assert art.text == snapshot(name=art.path, extension_class=snapshot_ext(suffix))
    text = "".join(f"{n.line()}\n" for n in result.notices)
    assert text == snapshot(name="stderr", extension_class=snapshot_ext("txt"))


def test_sales_team_beta_document(snapshot):
    _, result = compile_project(CASES / "sales_team", HubSpot(beta=True))
    assert not result.diagnostics, messages(result)
    (art,) = result.artifacts
    validate_artifact(art)
    assert art.text == snapshot(name=art.path, extension_class=snapshot_ext("json"))


def test_the_registry_target_is_the_stable_one():
    assert get_target("hubspot").beta is False
    _, result = compile_project(CASES / "weekly", "hubspot")
    doc = payload(result)
    assert all(r["id"] != "sequence" for r in doc["requests"])
    assert doc["params"]["sequence_id"] is None
    assert doc["per_lead"][1]["body"]["sequenceId"] == "{params.sequence_id}"


def test_beta_creates_the_sequence_and_enrolls_into_it():
    _, result = compile_project(CASES / "weekly", HubSpot(beta=True))
    doc = payload(result)
    create = doc["requests"][-1]
    assert create["path"] == "/automation/sequences/2026-09-beta/serviceaccounts/sequences"
    steps = create["body"]["steps"]
    assert [s["stepOrder"] for s in steps] == [0, 1, 2, 3]
    assert all(s["variants"] == [{"variantOrdinal": 0, "activated": True}] and s["branchNumber"] == 0 for s in steps)
    assert create["body"]["settings"] == doc["sequence"]["settings"]
    assert "sequence_id" not in doc["params"]
    # One lead, replayed: the contact's id and the created sequence's id reach the enrollment body.
    answers = {"params": {"user_id": "77", "sender_email": "dana@mail.example.com"}, "sequence": {"id": "900"},
               "lead": {"email": "ana+x@north.example.com"}}
    contact = doc["per_lead"][0]
    expected = "/crm/v3/objects/contacts/ana%2Bx%40north.example.com?idProperty=email"
    assert resolve_path(contact["path"], answers) == expected
    answers["contact"] = {"id": "501"}
    enroll = doc["per_lead"][1]
    assert resolve_path(enroll["path"], answers).endswith("enrollments?userId=77")
    assert resolve_body(enroll["body"], answers) == {"contactId": "501", "senderEmail": "dana@mail.example.com",
                                                     "sequenceId": "900"}


def test_steps_delays_in_business_day_milliseconds_and_task_types():
    _, result = compile_project(CASES / "sales_team", "hubspot")
    steps = payload(result)["sequence"]["steps"]
    assert steps[0]["delayMillis"] == 0
    assert all(s["delayMillis"] % DAY_MS == 0 for s in steps)
    kinds = [(s["actionType"], s.get("taskPattern", {}).get("taskType")) for s in steps]
    assert kinds == [("EMAIL", None), ("TASK", "LINKED_IN_CONNECT"), ("EMAIL", None), ("TASK", "CALL"),
                     ("TASK", "TODO"), ("TASK", "LINKED_IN_MESSAGE"), ("EMAIL", None)]
    assert steps[2]["emailPattern"] == {"templateId": "{params.template_value}", "threadEmailToStepOrder": 0}
    assert steps[3]["taskPattern"]["notes"].startswith("Only if has(phone); otherwise skip this task.")


def test_templates_use_contact_and_sender_tokens():
    _, result = compile_project(CASES / "sales_team", "hubspot")
    doc = payload(result)
    templates = {t["param"]: t for t in doc["templates"]}
    assert set(templates) == {"template_opener", "template_value", "template_breakup"}
    assert set(templates) <= set(doc["params"])
    assert templates["template_opener"]["subject"] == "Ramp time at {{ contact.company }}"
    assert "Hi {{ contact.firstname }}," in templates["template_opener"]["body"]
    assert "{{ contact.value_body }}{{ sender.firstname }} {{ sender.lastname }}" in templates["template_value"]["body"]
    # A threaded reply goes out under its thread's subject.
    assert templates["template_value"]["subject"] == templates["template_opener"]["subject"]
    assert "({{ sender.email }})" in templates["template_breakup"]["body"]


def test_contact_properties_for_the_values_templates_read(tmp_path):
    project = write_project(tmp_path, f"""
        # seqc: ignore SEQ209
        sequence s {{
          tier smb
          timezone "America/New_York"   # seqc: ignore SEQ410
          day 0 email opener {{
            purpose opener
            subject "{{{{ first_name }}}} at {{{{ company }}}}"
            body "About {{{{ employees }}}} people{{% if title %}}, {{{{ title }}}}{{% endif %}}. {OPT_OUT}"
          }}
        }}
        """)
    _, result = compile_project(project, "hubspot")
    assert not result.diagnostics, messages(result)
    props = {r["body"]["name"]: r["body"] for r in payload(result)["requests"]}
    assert (props["employees"]["type"], props["employees"]["fieldType"]) == ("number", "number")
    assert (props["opener_body"]["type"], props["opener_body"]["fieldType"]) == ("string", "textarea")
    assert "firstname" not in props and "company" not in props  # HubSpot's own properties


def test_send_days_prospect_zones_variants_and_unsubscribe_url_are_seq601():
    _, result = compile_project("examples/outbound", "hubspot")
    text = messages(result)
    assert "the email send days tue-thu of `smb`" in text and "window email mon-fri 10:00-12:00" in text
    assert "per-prospect time zones in `mid_market`" in text and 'timezone "America/New_York"' in text
    assert "2 variants of `opener` (at most 1)" in text
    assert "the built-in `unsubscribe_url`" in text
    assert "the path `hot` entered on `clicked(value)`" in text


def test_the_enrolling_user_zone_and_the_templates_are_warned_about():
    _, result = compile_project(CASES / "weekly", "hubspot")
    text = warnings(result)
    assert "enroll from a user set to America/New_York" in text
    assert "cannot create sales email templates" in text


def test_a_bad_document_is_refused_by_the_schema():
    _, result = compile_project(CASES / "weekly", "hubspot")
    doc = payload(result)
    doc["sequence"]["steps"][1]["delayMillis"] = 3_600_000  # not whole days
    assert list(validator("hubspot.schema.json").iter_errors(doc))


# ---------------------------------------------------------------- the scheduler


def hubspot_sends(doc: dict, enrolled) -> list:
    """HubSpot as documented: the first step at enrollment; each later step `delayMillis` after the
    previous one, counted on business days (`eligibleFollowUpDays: BUSINESS_DAYS`)."""
    sends, anchor = [], enrolled
    for step in doc["sequence"]["steps"]:
        anchor = add_business_days(anchor, step["delayMillis"] // DAY_MS)
        sends.append(anchor)
    return sends


def test_replay_equals_the_plan_for_every_enrollment_weekday():
    assert_replay_equals_the_plan("hubspot", hubspot_sends)


def test_where_hubspot_cannot_follow_the_plan_compile_warns_with_both_dates():
    assert_drift_is_warned("hubspot", hubspot_sends)

"""Lowering passes one at a time: template cutting, merge tags, branches, tasks, zones and the SEQ601 check."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from compiler import ir, timing
from compiler.capabilities import Capabilities, MergeTags, ScheduleModel, StepKind, Variants
from compiler.lower import lower
from compiler.lower.passes import channels_to_tasks, guards_to_task_notes, templates_to_tags, zones_to_campaigns
from compiler.lower.program import Custom, Literal, Text, Var
from compiler.lower.templates import Fragment, Translator, atoms, common_parts, template_units, to_source, units
from compiler.lower.text import escape_html, format_text, format_value
from compiler.lower.zones import map_zone
from compiler.project import load_text
from compiler.render import render
from targets import capabilities as registered
from targets.instantly import CAPABILITIES as INSTANTLY
from targets.instantly import ZONES

MERGE = INSTANTLY.merge
assert MERGE is not None
FIELDS = ("email", "first_name", "company", "title", "funding_round")

PROSPECT = """
prospect {
  email: email required
  first_name: text required
  company: text required
  title: text
  linkedin_url: url
  phone: phone
  funding_days_ago: int
}
"""


def project(body: str) -> ir.Project:
    loaded = load_text(PROSPECT + body, root=Path("."))
    errors = [d for d in loaded.diagnostics if d.severity.value == "error"]
    assert not errors, errors
    return loaded.project


def pieces(source: str, mode: str = "html"):
    found = template_units(ir.Template(source, None))  # type: ignore[arg-type]
    assert found is not None
    return Translator(MERGE, FIELDS, mode, found[1]).pieces(found[0])


# ---------------------------------------------------------------- cutting templates


def test_atoms_cut_at_the_top_level_only():
    found = atoms("Hi {{ first_name }},{% if title %} as {{ title }}{% else %}!{% endif %} bye{# note #}")
    assert [a.kind for a in found] == ["text", "expr", "text", "block", "text"]
    assert found[3].source == "{% if title %} as {{ title }}{% else %}!{% endif %}"
    nested = atoms("{% for x in [1] %}{% if x %}{{ x }}{% endif %}{% endfor %}tail")
    assert [a.kind for a in nested] == ["block", "text"]


def test_set_and_macro_become_a_prelude_and_reassignment_keeps_the_template_whole():
    found = atoms('{% set g = "Hi " ~ first_name %}{{ g }}!')
    assert [a.kind for a in found] == ["prelude", "expr", "text"]
    assert atoms('{% set g = 1 %}{{ g }}{% set g = 2 %}{{ g }}') is None
    units_, prelude = template_units(ir.Template('{% set g = first_name %}{{ g }} and {{ company }}', None))
    assert prelude == "{% set g = first_name %}"
    translated = Translator(MERGE, FIELDS, "html", prelude).pieces(units_)
    assert translated == [Fragment("{% set g = first_name %}{{ g }}"), Literal(" and "), Var("company")]


def test_literal_text_with_jinja_delimiters_is_quoted_when_rendered_as_source():
    text = 'a {{b}} "c" {% d %}\nend'
    source = to_source(list(text))
    assert render(source, {}, name="t") == text


@pytest.mark.parametrize(("source", "expected"), [
    ("{{ first_name }}", [Var("first_name")]),
    ('{{ title | default("your team") }}', [Var("title", "your team")]),
    ('{{ title | d("x") }}', [Var("title", "x")]),
    ('{{ title | default("") }}', [Var("title")]),
    ('{{ title | default(3) }}', [Var("title", "3")]),
    ('{{ title | default("A | B") }}', [Fragment('{{ title | default("A | B") }}')]),  # | ends the fallback
    ('{{ title | default("x", true) }}', [Fragment('{{ title | default("x", true) }}')]),
    ("{{ company | upper }}", [Fragment("{{ company | upper }}")]),
    ('{{ "a" ~ company }}', [Fragment('{{ "a" ~ company }}')]),
    ("{{ sender_first_name }}", [Var("sender_first_name")]),
])
def test_expressions_become_tags_only_when_the_tool_can_say_them(source, expected):
    assert pieces(source) == expected


def test_adjacent_fragments_merge_into_one_field():
    assert pieces("{{ company | upper }}{% if title %}x{% endif %} y") == [
        Fragment("{{ company | upper }}{% if title %}x{% endif %}"), Literal(" y")]


def test_a_subject_cannot_carry_a_literal_tag_opener():
    assert pieces("{% raw %}{{x}}{% endraw %} hi", mode="plain") == [Fragment('{{ "{{x}} hi" }}')]
    assert pieces("{% raw %}{{x}}{% endraw %} hi", mode="html") == [Literal("{{x}} hi")]


def test_common_parts_cut_at_lines_and_keep_blank_lines_with_the_difference():
    texts = ("Hi {{ first_name }},\n\nA one.\n\nBye\n", "Hi {{ first_name }},\n\nB two.\n\nBye\n")
    arms = [units(atoms(t)) for t in texts]
    prefix, middles, suffix = common_parts(arms)
    assert to_source(prefix) == "Hi {{ first_name }},\n\n"
    assert [to_source(m) for m in middles] == ["A one.\n\n", "B two.\n\n"]
    assert to_source(suffix) == "Bye\n"
    same = [list("same\n"), list("same\n")]
    assert common_parts(same)[1] == [[], []]


# ---------------------------------------------------------------- text in the tool's syntax


def test_html_bodies_get_paragraphs_breaks_and_escapes():
    text = Text((Literal("\nHi "), Var("first_name"), Literal(",\n\nA <b> & {braces}\nline\n"),
                 Custom("opener_body_1"), Var("title", "your <team>")))
    assert format_text(text, MERGE, "html") == (
        "<p>Hi {{firstName}},</p><p>A &lt;b&gt; &amp; &#123;braces}<br/>line<br/>"
        "{{opener_body_1}}{{jobTitle | your &lt;team&gt;}}</p>")


def test_subjects_are_one_line_and_builtins_use_the_tools_tags():
    text = Text((Literal("Hi\r\n"), Var("sender_name"), Literal(" "), Var("unsubscribe_url")))
    expected = "Hi {{sendingAccountFirstName}} {{sendingAccountLastName}} {{unsubscribe}}"
    assert format_text(text, MERGE, "line") == expected


def test_prerendered_values_use_the_fields_format():
    assert format_value("<x>\n\n{{y}}", "html") == "&lt;x&gt;</p><p>&#123;&#123;y}}"
    assert format_value("a\nb\r\nc", "line") == "a b c"
    assert format_value("a\nb", "text") == "a\nb"
    assert escape_html("plain") == "plain"


def test_a_prerendered_line_piece_keeps_its_edge_spaces():
    # The piece may sit mid-subject ("For {{company}}" + " {a|b}"): only line breaks collapse.
    assert format_value(" {a|b}\n", "line") == " {a|b} "
    assert format_text(Text((Literal(" a\n"),)), MERGE, "line") == "a"  # a whole subject is trimmed


@pytest.mark.parametrize(("mapped", "expected"), [
    ("senderName", "{{senderName}}"),
    ("sender.email", "{{sender.email}}"),
    ("{{a}} {{b}}", "{{a}} {{b}}"),
    ("%sender-firstname%", "%sender-firstname%"),
])
def test_a_builtin_mapping_that_is_not_a_bare_name_is_complete_text(mapped, expected):
    merge = MergeTags(tag="{{%s}}", builtins={"sender_name": mapped}, fallback="{{%s | %s}}")
    assert format_text(Text((Var("sender_name"),)), merge, "line") == expected
    assert format_text(Text((Var("sender_name"),)), merge, "html") == f"<p>{expected}</p>"


# ---------------------------------------------------------------- passes over a project

ONE_EMAIL = """
sequence s {
  timezone prospect else "America/New_York"
  window email tue-thu 10:00-12:00
  day 0 email opener {
    purpose opener
    variant a { subject "Hi {{ first_name }}" }
    variant b { subject "Yo {{ first_name }}" }
    when funding_days_ago <= 90 { body "Hi {{ first_name }},\\n\\nCongrats.\\n\\nOpt out: {{ unsubscribe_url }}" }
    else { body "Hi {{ first_name }},\\n\\nHello.\\n\\nOpt out: {{ unsubscribe_url }}" }
  }
}
"""


def test_branches_become_one_field_shared_by_the_variants():
    lowered = lower(project(ONE_EMAIL), INSTANTLY, "instantly")
    assert lowered.ok, lowered.diagnostics
    (field,) = lowered.program.fields
    assert field.name == "opener_body" and field.format == "html"
    assert [s for _, s in field.arms] == ["Congrats.\n\n", "Hello.\n\n"]
    assert isinstance(field.arms[0][0], ir.Compare) and field.arms[1][0] is None
    step = lowered.program.sequences[0].main.steps[0]
    bodies = {v.get("body") for v in step.variants}
    assert bodies == {Text((Literal("Hi "), Var("first_name"), Literal(",\n\n"), Custom("opener_body"),
                            Literal("Opt out: "), Var("unsubscribe_url")))}


def test_a_builtin_inside_prerendered_logic_is_seq601():
    source = ONE_EMAIL.replace("Congrats.", "Congrats, {{ sender_first_name }}.")
    lowered = lower(project(source), INSTANTLY, "instantly")
    assert [d.code for d in lowered.diagnostics] == ["SEQ601"]
    assert "sender_first_name" in lowered.diagnostics[0].message


TASKS = Capabilities(
    channels={"email": StepKind("email")}, task=StepKind("task", manual=True),
    schedule=ScheduleModel(zone="prospect"), merge=MergeTags("{{%s}}", builtins={"unsubscribe_url": "unsub"}),
    lowerings=(templates_to_tags, channels_to_tasks, guards_to_task_notes),
)
MULTI = """
sequence m {
  timezone prospect else "UTC"
  day 0 email opener { purpose opener subject "Hi" body "Hi {{ first_name }}. {{ unsubscribe_url }}" }
  day 2 linkedin invite if has(linkedin_url) { action connect note "Hi {{ first_name }}" }
  day 4 call ring if has(phone) and opened(opener) { script "Call {{ first_name }}" }
}
"""


def test_non_email_touches_become_tasks_and_guards_become_instructions():
    lowered = lower(project(MULTI), TASKS, "tasks")
    assert lowered.ok, lowered.diagnostics
    _, invite, ring = lowered.program.sequences[0].main.steps
    assert (invite.kind, invite.manual, invite.guard) == ("task", True, None)
    assert invite.notes == ("LinkedIn: connection request", "Only if has(linkedin_url); otherwise skip this task.")
    assert ring.notes[-1] == "Only if has(phone) and opened(opener); otherwise skip this task."
    without = lower(project(MULTI), replace(TASKS, lowerings=(templates_to_tags,)), "tasks")
    assert {d.message.split(" `")[0] for d in without.diagnostics} == {
        "tasks cannot express the LinkedIn connection request", "tasks cannot express the call"}


def _takers(help_text: str) -> set[str]:
    """The targets a SEQ601 help names as taking the construct ("a, b and c take it")."""
    for segment in help_text.split("; "):
        found = re.fullmatch(r"(.+) takes? it", segment)
        if found and not segment.startswith("no other registered target"):
            return set(re.split(r", | and ", found.group(1)))
    return set()


def test_seq601_names_the_targets_that_would_take_it():
    alternatives = {**registered(), "tasks": TASKS}
    lowered = lower(project(MULTI), INSTANTLY, "instantly", alternatives)
    assert lowered.diagnostics
    # A target takes a construct when lowering for it does not reject that construct.
    rejected = {name: {d.message.removeprefix(f"{name} cannot express ") for d in
                       lower(project(MULTI), caps, name, alternatives).diagnostics}
                for name, caps in alternatives.items() if caps.sends and name != "instantly"}
    for diagnostic in lowered.diagnostics:
        construct = diagnostic.message.removeprefix("instantly cannot express ")
        expected = {name for name, found in rejected.items() if construct not in found}
        assert "tasks" in expected and _takers(diagnostic.help or "") == expected, (diagnostic, expected)
        assert "csv" not in (diagnostic.help or "")  # an export is only named when no sending tool takes it
    alone = lower(project(MULTI), INSTANTLY, "instantly", {"instantly": INSTANTLY, "tasks": TASKS})
    assert {d.help for d in alone.diagnostics} == {"instantly has no manual-task step to turn it into; tasks takes it"}


WINDOWS = """
sequence w {
  timezone "UTC"
  window email mon-fri 10:00-12:00
  window linkedin tue-fri 11:00-13:00
  day 0 email opener { subject "Hi" body "Hi {{ unsubscribe_url }}" }
  day 1 linkedin invite { action connect note "Hi" }
  day 3 linkedin follow { action view }
  day 7 email proof { window 09:00-11:00 subject "Proof" body "Proof" }
}
"""


def test_every_window_error_is_reported_the_channel_window_once():
    one_window = Capabilities(
        channels={"email": StepKind("email"), "linkedin": StepKind("linkedin", actions=frozenset({"connect", "view"}))},
        schedule=ScheduleModel(zone="campaign", windows=1, per_step="none"),
        merge=MergeTags("{{%s}}", builtins={"unsubscribe_url": "unsub"}), lowerings=(templates_to_tags,))
    lowered = lower(project(WINDOWS), one_window, "one")
    assert sorted(d.message for d in lowered.diagnostics) == [
        "one cannot express a linkedin window that differs from the email window in `w`",
        "one cannot express the send window of `proof` (mon-fri 09:00-11:00)",
    ]


# ---------------------------------------------------------------- time zones

H = date(2026, 1, 1)


@pytest.mark.parametrize(("zone", "expected", "shift"), [
    ("America/New_York", "America/Detroit", 0),
    ("America/Toronto", "America/Detroit", 0),
    ("Europe/London", "Europe/Isle_of_Man", 0),
    ("Europe/Berlin", "Europe/Belgrade", 0),
    ("America/Chicago", "America/Chicago", 0),
    ("Asia/Kolkata", "Asia/Kolkata", 0),
    ("America/Phoenix", "America/Creston", 0),
    ("America/Los_Angeles", "America/Anchorage", -60),
    ("Pacific/Chatham", "Pacific/Auckland", -45),
])
def test_zones_map_to_a_listed_zone_with_the_same_clock(zone, expected, shift):
    choice = map_zone(zone, ZONES, 600, 720, H)
    assert choice is not None and (choice.zone, choice.shift) == (expected, shift)
    # The window opens at the same instant in both clocks, across a DST change.
    source, target = timing.zone(zone), timing.zone(choice.zone)
    for day in (date(2027, 3, 15), date(2027, 11, 8), date(2031, 6, 2)):
        instant = timing.local_instant(day, 600, source)
        assert instant.astimezone(target).replace(tzinfo=None) == datetime(day.year, day.month, day.day) + timedelta(
            minutes=600 + shift)


def test_zones_without_a_stand_in_are_none():
    assert map_zone("Australia/Lord_Howe", ZONES, 600, 720, H) is None  # a 30-minute DST shift
    assert map_zone("Not/AZone", ZONES, 600, 720, H) is None
    assert map_zone("America/Los_Angeles", ZONES, 0, 1440, H) is None  # a whole-day window cannot move


def test_per_prospect_zones_need_the_zone_lowering_on_one_zone_tools():
    no_zones = replace(INSTANTLY, lowerings=(templates_to_tags,))
    source = ONE_EMAIL.replace("when funding_days_ago <= 90", "when funding_days_ago <= 90")
    lowered = lower(project(source), replace(no_zones, content_branches=True), "x")
    assert any("per-prospect time zones" in d.message for d in lowered.diagnostics)
    ok = lower(project(source), INSTANTLY, "instantly")
    assert ok.program.sequences[0].zone_split
    assert zones_to_campaigns.__doc__


# ---------------------------------------------------------------- the check


def _messages(body: str, caps: Capabilities = INSTANTLY) -> list[str]:
    return [d.message for d in lower(project(body), caps, "instantly").diagnostics]


def test_variants_over_the_limit_and_uneven_splits():
    body = ONE_EMAIL.replace('variant b { subject "Yo {{ first_name }}" }',
                             'variant b { subject "Yo" }\n variant c { subject "Hey" }\n split 50/30/20')
    assert "instantly cannot express the uneven split 50/30/20 of `opener`" in _messages(body)
    two = replace(INSTANTLY, variants=Variants(max=2))
    assert "instantly cannot express 3 variants of `opener` (at most 2)" in _messages(body, two)


THREADS = """
sequence t {
  timezone prospect else "America/New_York"
  day 0 email a { purpose opener subject "A" body "x {{ unsubscribe_url }}" }
  day 3 email b { purpose value_add thread a body "y {{ unsubscribe_url }}" }
  day 6 email c { purpose followup subject "C" body "z {{ unsubscribe_url }}" }
  day 9 email d { purpose followup thread c body "w {{ unsubscribe_url }}" }
  day 12 email e { purpose breakup thread a body "v {{ unsubscribe_url }}" }
}
"""


def test_an_empty_subject_can_only_join_the_latest_thread():
    assert _messages(THREADS) == ["instantly cannot express `thread a` on `e`"]

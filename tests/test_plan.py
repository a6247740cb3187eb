"""compiler.plan: the guide's mid-market timing table from IR, its defaults, guards and renderers."""

from __future__ import annotations

import json
from datetime import date

import pytest
from conftest import snapshot_ext

from compiler import ir
from compiler.diagnostics import SeqcError, Span
from compiler.plan import (
    cond_to_text,
    default_holiday_country,
    default_start,
    default_timezone,
    plan_project,
    plan_sequence,
    render_json,
    render_markdown,
    render_table,
    step_window,
)
from compiler.timing import UnknownCountry, UnknownZone

S = Span("t.seq", 1, 1, 1, 2)
TUE_THU = (1, 2, 3)
MON_FRI = (0, 1, 2, 3, 4)


def window(days, start, end):
    return ir.Window(days, start * 60, end * 60, S)


def step(day, channel, name, **kw):
    return ir.Step(name=name, day=day, channel=channel, span=S, name_span=S, **kw)


def event(kind, name=None):
    return ir.Event(kind, name, S)


def mid_market(holidays=ir.HolidaySpec(True, None, S), **overrides):
    """SPEC §3.2's mid_market sequence (the guide's 5-touch, 3-channel table)."""
    fields = dict(
        name="mid_market", span=S, name_span=S, file="t.seq", title="Mid-market, 5 touches, 3 channels",
        tier="mid_market", timezone=ir.TimezoneSpec(True, "America/New_York", S),
        windows=(
            ir.ChannelWindow("email", window(TUE_THU, 10, 12), S),
            ir.ChannelWindow("linkedin", window(TUE_THU, 11, 13), S),
            ir.ChannelWindow("call", window(MON_FRI, 14, 16), S),
        ),
        holidays=holidays,
        steps=(
            step(0, "email", "opener", purpose="opener",
                 variants=(ir.Variant("a", ir.Content(), S), ir.Variant("b", ir.Content(), S))),
            step(1, "linkedin", "invite", action="connect"),
            step(3, "email", "value", purpose="value_add", thread="opener",
                 guard=ir.And((event("opened", "opener"), ir.Not(event("clicked", "opener"), S)), S),
                 branches=(ir.Branch(ir.Compare("funding_days_ago", "<=", 90, S), ir.Content(), S),
                           ir.Branch(None, ir.Content(), S))),
            step(5, "call", "first_call"),
            step(7, "email", "proof", purpose="social_proof", window=ir.Window(None, 9 * 60, 11 * 60, S)),
            step(10, "linkedin", "dm", action="message", guard=event("accepted", "invite")),
            step(14, "email", "breakup", purpose="breakup"),
        ),
        events=(ir.OnEvent(event("clicked", "value"), "hot", S, S, 2),),
        paths=(ir.Path("hot", (
            step(1, "email", "direct_ask", purpose="direct_ask", thread="value"),
            step(3, "call", "hot_call"),
        ), S, S),),
    )
    fields.update(overrides)
    return ir.Sequence(**fields)


# ---------------------------------------------------------------- the guide's table, as it lands

# Start Tue 2027-01-05. Email/LinkedIn tue-thu, calls mon-fri. Worked out by hand:
# day 3 = Fri 01-08 -> Tue 01-12; day 5 = Sun 01-10 -> Mon 01-11; day 7 = Tue 01-12;
# day 10 = Fri 01-15 -> Tue 01-19; day 14 = Tue 01-19. Path hot starts when value lands (01-12).
EXPECTED = [
    # track, step, channel, day, date, weekday, window, days, spacing, guard, rolled_from
    ("main", "opener", "email", 0, "2027-01-05", "tue", "10:00-12:00", "tue-thu", None, None, None),
    ("main", "invite", "linkedin", 1, "2027-01-06", "wed", "11:00-13:00", "tue-thu", 1, None, None),
    ("main", "value", "email", 3, "2027-01-12", "tue", "10:00-12:00", "tue-thu", 1,
     "opened(opener) and not clicked(opener)", "2027-01-08"),
    ("main", "first_call", "call", 5, "2027-01-11", "mon", "14:00-16:00", "mon-fri", 5, None, "2027-01-10"),
    ("main", "proof", "email", 7, "2027-01-12", "tue", "09:00-11:00", "tue-thu", 0, None, None),
    ("main", "dm", "linkedin", 10, "2027-01-19", "tue", "11:00-13:00", "tue-thu", 7, "accepted(invite)", "2027-01-15"),
    ("main", "breakup", "email", 14, "2027-01-19", "tue", "10:00-12:00", "tue-thu", 0, None, None),
    ("hot", "direct_ask", "email", 1, "2027-01-13", "wed", "10:00-12:00", "tue-thu", None, None, None),
    ("hot", "hot_call", "call", 3, "2027-01-15", "fri", "14:00-16:00", "mon-fri", 2, None, None),
]


@pytest.fixture
def md_snapshot(snapshot):
    """A `.md` file per assertion, so a reviewer sees the table rendered."""
    return snapshot.use_extension(snapshot_ext("md"))


@pytest.fixture
def plan():
    return plan_sequence(mid_market(), date(2027, 1, 5), "America/New_York", None)


def _row(t):
    return (t.track, t.step, t.channel, t.day, t.date.isoformat(), t.weekday, t.window, t.window_days,
            t.spacing_days, t.guard, t.rolled_from.isoformat() if t.rolled_from else None)


def test_rows_match_the_hand_worked_table(plan):
    assert [_row(t) for t in plan.touches] == EXPECTED
    assert (plan.sequence, plan.tier, plan.start, plan.timezone, plan.holidays) == (
        "mid_market", "mid_market", date(2027, 1, 5), "America/New_York", None)


def test_notes_explain_rolls_threads_variants_and_paths(plan):
    notes = {t.step: t.notes for t in plan.touches}
    assert notes["opener"] == ("opener", "variants a/b")
    assert notes["invite"] == ("connection request",)
    assert notes["value"] == ("value_add", "thread of opener", "content by prospect data (2 branches)",
                              "rolled from fri 2027-01-08")
    assert notes["first_call"] == ("rolled from sun 2027-01-10", "lands before value (day 3)")
    assert notes["direct_ask"][-1] == "path entered on clicked(value) within 2 days"
    assert [(e.track, e.start.isoformat(), e.entered_by) for e in plan.entries] == [
        ("main", "2027-01-05", None), ("hot", "2027-01-12", "clicked(value) within 2 days")]


def test_thanksgiving_rolls_with_the_holiday_named():
    # start Mon 2027-11-22: opener rolls to Tue; value (day 3) is Thanksgiving, next tue-thu day is Tue 11-30
    plan = plan_sequence(mid_market(), date(2027, 11, 22), "America/New_York", "US")
    by_step = {t.step: t for t in plan.touches}
    assert by_step["opener"].date == date(2027, 11, 23)
    assert by_step["value"].date == date(2027, 11, 30)
    assert "rolled from thu 2027-11-25 (holiday: Thanksgiving Day)" in by_step["value"].notes
    assert by_step["first_call"].date == date(2027, 11, 29)
    assert by_step["breakup"].date == date(2027, 12, 7)
    assert plan.holidays == "US"


def test_path_entry_takes_the_earliest_event_and_chains_through_paths():
    seq = mid_market(
        events=(
            ir.OnEvent(event("clicked", "value"), "hot", S, S, 2),
            ir.OnEvent(event("replied", "opener"), "hot", S, S),
            ir.OnEvent(event("clicked", "direct_ask"), "warm", S, S),
            ir.OnEvent(event("replied"), "end", S, S),
        ),
        paths=(
            ir.Path("warm", (step(2, "task", "handoff"),), S, S),
            ir.Path("hot", (step(1, "email", "direct_ask", purpose="direct_ask"),), S, S),
            ir.Path("lonely", (step(0, "task", "never"),), S, S),
        ),
    )
    plan = plan_sequence(seq, date(2027, 1, 5), "UTC", None)
    entries = {e.track: e for e in plan.entries}
    # replied(opener) can happen on 01-05, earlier than clicked(value) on 01-12
    assert entries["hot"].start == date(2027, 1, 5) and entries["hot"].entered_by == "replied(opener)"
    # warm is entered from a step of hot (direct_ask lands Wed 01-06)
    assert entries["warm"].start == date(2027, 1, 6)
    assert {t.step: t.date for t in plan.touches}["handoff"] == date(2027, 1, 8)
    assert entries["lonely"].entered_by is None
    assert [e.track for e in plan.entries] == ["main", "warm", "hot", "lonely"]


def test_path_waits_for_events_from_later_paths():
    # p is listed first, but its earliest entry comes from a step of q (01-06), not from main's value (01-15)
    seq = mid_market(
        windows=(),
        steps=(step(0, "email", "opener"), step(10, "email", "value")),
        events=(
            ir.OnEvent(event("clicked", "opener"), "q", S, S),
            ir.OnEvent(event("clicked", "value"), "p", S, S),
            ir.OnEvent(event("clicked", "q_step"), "p", S, S),
            ir.OnEvent(event("clicked", "p_step"), "p", S, S),  # a cycle: p entered from itself
        ),
        paths=(
            ir.Path("p", (step(1, "email", "p_step"),), S, S),
            ir.Path("q", (step(1, "email", "q_step"),), S, S),
        ),
    )
    entries = {e.track: e for e in plan_sequence(seq, date(2027, 1, 5), "UTC", None).entries}
    assert entries["q"].start == date(2027, 1, 5)  # q_step (day 1) lands 01-06
    assert (entries["p"].start, entries["p"].entered_by) == (date(2027, 1, 6), "clicked(q_step)")


def test_step_window_precedence():
    seq = mid_market()
    steps = {s.name: s for s in seq.all_steps()}
    assert step_window(seq, steps["proof"]) == (TUE_THU, 540, 660)       # own hours, channel days
    assert step_window(seq, steps["opener"]) == (TUE_THU, 600, 720)      # channel window
    bare = mid_market(windows=())
    assert step_window(bare, steps["opener"]) == (MON_FRI, 600, 720)     # default
    task = step(0, "task", "t", window=window((5,), 8, 9))
    assert step_window(bare, task) == ((5,), 480, 540)


# ---------------------------------------------------------------- defaults


@pytest.mark.parametrize(("campaign_start", "today", "expected"), [
    (date(2027, 1, 5), date(2030, 6, 1), date(2027, 1, 5)),
    (None, date(2027, 1, 6), date(2027, 1, 11)),   # wed -> next mon
    (None, date(2027, 1, 4), date(2027, 1, 11)),   # a monday -> the following one
    (None, date(2027, 1, 10), date(2027, 1, 11)),  # sunday
    (None, date(2027, 12, 31), date(2028, 1, 3)),
])
def test_default_start(campaign_start, today, expected):
    assert default_start(campaign_start, today) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    (ir.TimezoneSpec(True, "America/New_York", S), "America/New_York"),
    (ir.TimezoneSpec(False, "Europe/Berlin", S), "Europe/Berlin"),
    (ir.TimezoneSpec(True, None, S), "UTC"),
    (None, "UTC"),
])
def test_default_timezone(spec, expected):
    assert default_timezone(mid_market(timezone=spec)) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    (ir.HolidaySpec(False, "US", S), "US"),
    (ir.HolidaySpec(True, None, S), None),
    (ir.HolidaySpec(False, None, S), None),
    (None, None),
])
def test_default_holiday_country(spec, expected):
    assert default_holiday_country(mid_market(holidays=spec)) == expected


def _project(*sequences, start=None):
    campaign = ir.Campaign("q1", S, S, "t.seq", start=start)
    return ir.Project(".", ("t.seq",), sequences=sequences, campaigns=(campaign,))


def test_plan_project_applies_defaults():
    smb = mid_market(name="smb", tier="smb", holidays=ir.HolidaySpec(False, "GB", S),
                     timezone=ir.TimezoneSpec(False, "Europe/London", S))
    plans = plan_project(_project(mid_market(), smb, start=date(2027, 1, 5)), today=date(2030, 1, 1))
    assert [(p.sequence, p.start, p.timezone, p.holidays) for p in plans] == [
        ("mid_market", date(2027, 1, 5), "America/New_York", None),
        ("smb", date(2027, 1, 5), "Europe/London", "GB"),
    ]
    only = plan_project(_project(mid_market(), smb), today=date(2027, 1, 6), sequence="smb", tz="Asia/Tokyo",
                        holiday_country="jp")
    assert [(p.sequence, p.start, p.timezone, p.holidays) for p in only] == [
        ("smb", date(2027, 1, 11), "Asia/Tokyo", "JP")]


def test_plan_project_rejects_unknown_sequence_and_bad_inputs():
    project = _project(mid_market())
    with pytest.raises(SeqcError, match="no sequence named 'nope'"):
        plan_project(project, today=date(2027, 1, 1), sequence="nope")
    with pytest.raises(UnknownZone):
        plan_project(project, today=date(2027, 1, 1), tz="Mars/Base")
    with pytest.raises(UnknownCountry):
        plan_project(project, today=date(2027, 1, 1), holiday_country="XX")


# ---------------------------------------------------------------- guards back to source


def _and(*ops):
    return ir.And(ops, S)


def _or(*ops):
    return ir.Or(ops, S)


def _not(op):
    return ir.Not(op, S)


@pytest.mark.parametrize(("cond", "text"), [
    (event("opened", "opener"), "opened(opener)"),
    (event("replied"), "replied"),
    (_and(event("opened", "opener"), _not(event("clicked", "opener"))), "opened(opener) and not clicked(opener)"),
    (ir.Compare("employees", "<", 200, S), "employees < 200"),
    (ir.Compare("score", ">=", 0.3, S), "score >= 0.3"),
    (ir.Compare("tier_name", "==", 'say "hi"\\', S), 'tier_name == "say \\"hi\\"\\\\"'),
    (ir.Compare("verified", "==", True, S), "verified == true"),
    (ir.In("country", ("DE", "AT"), S), 'country in ("DE", "AT")'),
    (ir.Contains("title", "VP", S), 'title contains "VP"'),
    (ir.Has("phone", S), "has(phone)"),
    (ir.Truthy("is_customer", S), "is_customer"),
    (_not(ir.Compare("employees", "<", 200, S)), "not (employees < 200)"),
    (_not(_or(event("opened", "a"), event("clicked", "a"))), "not (opened(a) or clicked(a))"),
    (_and(_or(ir.Has("phone", S), ir.Has("linkedin_url", S)), event("opened", "a")),
     "(has(phone) or has(linkedin_url)) and opened(a)"),
    (_or(_and(ir.Has("phone", S), event("opened", "a")), event("replied")), "(has(phone) and opened(a)) or replied"),
    (_and(_and(ir.Has("a", S), ir.Has("b", S)), ir.Has("c", S)), "has(a) and has(b) and has(c)"),
    (_not(_not(event("opened", "a"))), "not not opened(a)"),
])
def test_cond_to_text(cond, text):
    assert cond_to_text(cond) == text


def test_cond_to_text_survives_deep_nesting():
    cond = event("opened", "a")
    for i in range(20_000):
        cond = _not(cond) if i % 2 else _and(cond, ir.Has("phone", S))
    text = cond_to_text(cond)
    assert text.count("not ") == 10_000 and text.count("has(phone)") == 10_000
    assert text.count("(") - text.count("has(") - text.count("opened(") == text.count(")") - 10_001


# ---------------------------------------------------------------- renderers


def test_render_json_follows_spec(plan):
    data = json.loads(render_json([plan]))
    assert list(data) == ["plans"]
    (p,) = data["plans"]
    assert list(p) == ["sequence", "tier", "start", "timezone", "touches"]
    assert (p["sequence"], p["tier"], p["start"], p["timezone"]) == (
        "mid_market", "mid_market", "2027-01-05", "America/New_York")
    first = p["touches"][0]
    assert list(first)[:10] == ["track", "step", "channel", "purpose", "day", "date", "weekday", "window",
                                "spacing_days", "guard"]
    assert first == {"track": "main", "step": "opener", "channel": "email", "purpose": "opener", "day": 0,
                     "date": "2027-01-05", "weekday": "tue", "window": "10:00-12:00", "spacing_days": None,
                     "guard": None, "notes": ["opener", "variants a/b"], "rolled_from": None}
    value = p["touches"][2]
    assert (value["date"], value["spacing_days"], value["rolled_from"], value["guard"]) == (
        "2027-01-12", 1, "2027-01-08", "opened(opener) and not clicked(opener)")
    assert [t["track"] for t in p["touches"]] == ["main"] * 7 + ["hot"] * 2
    assert render_json([plan]) == render_json([plan])


def test_render_json_snapshot(plan, json_snapshot):
    assert render_json([plan]) == json_snapshot


def test_render_table(plan, text_snapshot):
    text = render_table([plan])
    assert text == text_snapshot
    lines = text.splitlines()
    assert lines[0] == "mid_market — Mid-market, 5 touches, 3 channels"
    assert lines[1] == "tier mid_market · start 2027-01-05 (tue) · timezone America/New_York · holidays none"
    assert "path hot — on clicked(value) within 2 days, from tue 2027-01-12" in lines
    header = next(line for line in lines if line.startswith("Day"))
    value = next(line for line in lines if " value " in line)
    # columns line up: each value starts under its heading
    for heading, cell in [("Step", "value"), ("Window", "tue-thu 10:00-12:00"), ("Guard", "opened(opener)")]:
        assert value.index(cell) == header.index(heading)


def test_render_markdown(plan, md_snapshot):
    text = render_markdown([plan])
    assert text == md_snapshot
    assert text.startswith("### mid_market — Mid-market, 5 touches, 3 channels")
    assert "| day 3 | 2027-01-12 | tue | email | `value` | tue-thu 10:00-12:00 | 1 d | " \
           "`opened(opener) and not clicked(opener)` |" in text


def test_markdown_escapes_pipes():
    seq = mid_market(steps=(step(0, "email", "opener", purpose="opener",
                                 guard=ir.Contains("title", "VP | Sales", S)),),
                     paths=(), events=(), title="A | B")
    text = render_markdown([plan_sequence(seq, date(2027, 1, 5), "UTC", None)])
    assert "### mid_market — A \\| B" in text
    row = next(line for line in text.splitlines() if line.startswith("| day 0"))
    assert '`title contains "VP \\| Sales"`' in row
    assert row.replace("\\|", "").count("|") == 10


def test_renderers_handle_several_plans_and_empty_tracks(text_snapshot, md_snapshot):
    empty = mid_market(name="empty", title=None, tier=None, steps=(), paths=(), events=())
    plans = [plan_sequence(mid_market(), date(2027, 1, 5), "America/New_York", "US"),
             plan_sequence(empty, date(2027, 1, 5), "UTC", None)]
    assert render_table(plans) == text_snapshot
    assert render_markdown(plans) == md_snapshot
    assert "main track\nDay  Date  Weekday  Channel  Step  Window  Spacing  Guard  Notes\n(no touches)" in render_table(plans)
    assert json.loads(render_json(plans))["plans"][1] == {
        "sequence": "empty", "tier": None, "start": "2027-01-05", "timezone": "UTC", "touches": []}

"""Delays that reproduce the plan: each target's scheduler model replays its emitted delays onto `seqc plan`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import CASES

from compiler import ir, timing
from compiler.build import build
from compiler.capabilities import DelayModel
from compiler.lower import lower
from compiler.lower.delays import fit, reference_monday, replay
from compiler.lower.passes import campaign_window
from compiler.plan import plan_sequence, track_starts
from compiler.project import discover, load
from targets import REGISTRY, capabilities, get_target

TARGET_CASES = sorted(p for p in (CASES / "targets").iterdir() if p.is_dir())


def loaded(path: Path):
    (source,) = discover([str(path)])
    return load(source)


# ---------------------------------------------------------------- an independent Instantly scheduler


def instantly_sends(payload: dict, enrolled: date) -> list[date]:
    """Instantly as documented: email 1 on the first schedule day on or after enrollment, then each
    email `delay` days (stored on the step BEFORE the gap) after the previous send, deferred to the
    next schedule day. Written from docs/targets/instantly.md, independent of compiler.lower.delays."""
    days = payload["campaign_schedule"]["schedules"][0]["days"]
    open_days = {(int(k) - 1) % 7 for k, on in days.items() if on}  # "0" is Sunday

    def first_open(d: date) -> date:
        while d.weekday() not in open_days:
            d += timedelta(days=1)
        return d

    steps = payload["sequences"][0]["steps"]
    sends = [first_open(enrolled)]
    for step in steps[:-1]:
        assert step["delay_unit"] == "days"
        sends.append(first_open(sends[-1] + timedelta(days=step["delay"])))
    return sends


def plan_dates(seq: ir.Sequence, enrolled: date) -> list[date]:
    plan = plan_sequence(seq, enrolled, "UTC", None)  # weekdays only: holidays are a separate warning
    return [t.date for t in plan.touches if t.track == "main"]


def test_instantly_delays_replay_onto_the_plan_for_every_enrollment_weekday():
    project = TARGET_CASES[[p.name for p in TARGET_CASES].index("email_only")]
    result = build(loaded(project), get_target("instantly"), alternatives=capabilities())
    assert not result.diagnostics and not [n for n in result.notices if "would not land" in n.message]
    payload = json.loads(result.artifacts[0].text)
    seq = loaded(project).project.sequences[0]
    monday = date(2027, 1, 4)
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        assert instantly_sends(payload, enrolled) == plan_dates(seq, enrolled), enrolled


def test_where_instantly_cannot_follow_the_plan_compile_warns_with_both_dates():
    project = CASES / "targets" / "delays"
    source = loaded(project)
    result = build(source, get_target("instantly"), alternatives=capabilities())
    assert not result.diagnostics
    payload = json.loads(result.artifacts[0].text)
    seq = source.project.sequences[0]
    warned = " ".join(n.message for n in result.notices)
    monday = reference_monday(source.project)
    differ = []
    for offset in range(5):
        enrolled = monday + timedelta(days=offset)
        tool, plan = instantly_sends(payload, enrolled), plan_dates(seq, enrolled)
        for step, a, b in zip(seq.steps, tool, plan):
            if a != b:
                differ.append(step.name)
                assert f"plan {timing.WEEKDAY_NAMES[b.weekday()]} {b.isoformat()}" in warned
                assert f"instantly {timing.WEEKDAY_NAMES[a.weekday()]} {a.isoformat()}" in warned
    assert sorted(set(differ)) == ["breakup", "proof"]
    assert "`value`" not in warned and "`opener`" not in warned


# ---------------------------------------------------------------- every target's model, every case


def _cases_for(target: str):
    caps = REGISTRY[target].capabilities
    if caps is None or caps.delay is None:
        return []
    return [(target, p) for p in TARGET_CASES]


DELAY_CELLS = [cell for t in sorted(REGISTRY) for cell in _cases_for(t)]


@pytest.mark.parametrize(("target", "project"), DELAY_CELLS, ids=[f"{t}-{p.name}" for t, p in DELAY_CELLS])
def test_replay_equals_the_plan_except_where_compile_warned(target: str, project: Path):
    source = loaded(project)
    caps = REGISTRY[target].capabilities
    lowered = lower(source.project, caps, target)
    if not lowered.ok:
        pytest.skip("this target rejects the case (see its SEQ601 snapshot)")
    warned = {n.message.split("`")[1] for n in lowered.notices if "would not land" in n.message}
    monday = reference_monday(source.project)
    for lseq in lowered.program.sequences:
        days, _, _ = campaign_window(lseq.seq)
        for track in lseq.tracks:
            steps = track.steps
            gates = [frozenset(s.days if (caps.schedule.per_step != "none" or s.manual) else days) for s in steps]
            for offset in range(5):
                enrolled = monday + timedelta(days=offset)
                start = track_starts(lseq.seq, enrolled)[track.name].start
                sends = replay(caps.delay, [s.gap for s in steps], gates, start)
                for s, sent in zip(steps, sends):
                    planned = timing.land_date(start, s.step.day, s.days)[0]
                    assert sent == planned or s.name in warned, (s.name, enrolled, sent, planned)


# ---------------------------------------------------------------- the model covers the other tools' schedulers


@dataclass(frozen=True)
class _Step:  # the part of an LStep `fit` reads
    step: ir.Step
    days: tuple[int, ...]
    manual: bool = False


def _steps(days_written, window):
    from compiler.diagnostics import Span

    span = Span("t.seq", 1, 1, 1, 2)
    return tuple(_Step(ir.Step(name=f"s{i}", day=d, channel="email", span=span, name_span=span), window)
                 for i, d in enumerate(days_written))


MODELS = {
    "instantly": DelayModel("earlier", "days", "calendar", from_send=True, first_wait=False, min_gap=1),
    "smartlead-like (later, days)": DelayModel("later", "days", "calendar"),
    "lemlist-like (sending days)": DelayModel("later", "days", "sending_days"),
    "hubspot-like (business days, ms)": DelayModel("later", "milliseconds", "business_days"),
    "salesloft-like (absolute day 1)": DelayModel("absolute", "days", "calendar", from_send=False, first_day=1),
    "reply-like (minutes)": DelayModel("later", "minutes", "calendar"),
}
TUE_THU = (1, 2, 3)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_weekly_steps_on_a_tue_thu_window_fit_exactly_in_every_model(name):
    model = MODELS[name]
    steps = _steps((0, 7, 14), TUE_THU)
    monday = date(2027, 1, 4)
    enrolled = [monday + timedelta(days=k) for k in range(5)]
    result = fit(model, steps, enrolled, enrolled, [frozenset(TUE_THU)] * 3)
    assert all(not m for m in result.mismatches), (name, result)


def test_sending_day_counting_needs_fewer_days_than_calendar_counting():
    lemlist = MODELS["lemlist-like (sending days)"]
    assert replay(lemlist, [0, 2], [frozenset(TUE_THU)] * 2, date(2027, 1, 5)) == [date(2027, 1, 5), date(2027, 1, 7)]
    assert replay(lemlist, [0, 3], [frozenset(TUE_THU)] * 2, date(2027, 1, 5)) == [date(2027, 1, 5), date(2027, 1, 12)]
    hubspot = MODELS["hubspot-like (business days, ms)"]
    assert replay(hubspot, [0, 1], [frozenset(range(7))] * 2, date(2027, 1, 8)) == [date(2027, 1, 8), date(2027, 1, 11)]
    assert hubspot.in_unit(2) == 172_800_000 and MODELS["reply-like (minutes)"].in_unit(3) == 4320


def test_absolute_models_do_not_accumulate_deferrals():
    salesloft = MODELS["salesloft-like (absolute day 1)"]
    gate = frozenset(TUE_THU)
    # Enrolled on a Friday: day 0 waits for Tuesday, day 3 (Monday) also lands on Tuesday.
    assert replay(salesloft, [0, 3], [gate, gate], date(2027, 1, 8)) == [date(2027, 1, 12), date(2027, 1, 12)]
    relative = DelayModel("later", "days", "calendar")  # Tuesday + 3 is a Friday: on to the next Tuesday
    assert replay(relative, [0, 3], [gate, gate], date(2027, 1, 8)) == [date(2027, 1, 12), date(2027, 1, 19)]

"""Previews through time: routing, guards, paths and exits with and without `--events`, DST, enrollment."""

from __future__ import annotations

import datetime as dt

import pytest
from test_preview_helpers import MINI, MINI_EVENTS, MINI_PROSPECTS

from compiler.api import single_project
from compiler.diagnostics import SeqcError
from compiler.preview.events import EventLog, History, Occurrence
from compiler.preview.touches import Previewer, choose_variant, enrollment_date
from compiler.prospects import Record, load_prospects

START = dt.date(2027, 3, 10)


def previews(events: str | None = None, start: dt.date = START, path: str = MINI, prospects: str = MINI_PROSPECTS):
    _, loaded, _ = single_project(path)
    project = loaded.project
    log = EventLog.load(events, project) if events else None
    previewer = Previewer(project, events=log)
    records = [r for r in load_prospects(prospects, project.prospect) if isinstance(r, Record)]
    return {r.data["email"]: previewer.preview(r, start) for r in records}


def table(p) -> list[tuple[str, str, str, str]]:
    return [(t.track, t.step, t.status, t.local.isoformat()) for t in p.touches]


def timeline_text(result) -> str:
    lines = []
    for email, p in result.items():
        lines.append(f"{email}  {p.sequence or 'unrouted'}  ({p.route})  {p.timezone}")
        for t in p.touches:
            lines.append(f"  {t.track:<5} {t.step:<7} {t.status:<11} {t.local.isoformat()}  {t.utc:%Y-%m-%dT%H:%MZ}"
                         f"  variant={t.variant} branch={t.branch} guard={t.guard}  subject={t.subject!r}"
                         f"  reason={t.reason}")
    return "\n".join(lines) + "\n"


def test_without_events_snapshot(text_snapshot):
    assert timeline_text(previews()) == text_snapshot


def test_with_events_snapshot(text_snapshot):
    assert timeline_text(previews(MINI_EVENTS)) == text_snapshot


def test_without_events_guards_are_decided_by_data_or_left_conditional():
    result = previews()
    ana, dev = result["ana@growth.example"], result["dev@growth.example"]
    assert [(t.step, t.status) for t in ana.touches] == [
        ("opener", "send"), ("invite", "send"), ("bump", "conditional"), ("ring", "send"), ("last", "send"),
        ("ask", "conditional")]
    assert [(t.step, t.status) for t in dev.touches if t.status == "skipped"] == [("invite", "skipped"),
                                                                                   ("ring", "skipped")]
    ask = ana.touches[-1]
    assert (ask.track, ask.guard) == ("hot", "clicked(opener) within 3 days")
    assert ask.local.date() == dt.date(2027, 3, 11)  # the path is placed from the day the opener lands


def test_with_events_paths_exits_and_guards():
    result = previews(MINI_EVENTS)
    ana = result["ana@growth.example"]
    assert [(t.step, t.status) for t in ana.touches] == [
        ("opener", "send"), ("invite", "send"), ("bump", "send"), ("ring", "send"), ("last", "send")]
    assert ana.touches[2].branch == "when funding_days_ago <= 90"
    dev = result["dev@growth.example"]  # clicked the opener on Friday 12 March: into `hot`, on that date
    assert [(t.track, t.step, t.status) for t in dev.touches] == [
        ("main", "opener", "send"), ("main", "invite", "skipped"), ("main", "bump", "stopped"),
        ("main", "ring", "stopped"), ("main", "last", "stopped"), ("hot", "ask", "send")]
    assert dev.touches[-1].local.date() == dt.date(2027, 3, 15)  # day 1 is a Saturday: Monday
    assert dev.touches[2].reason == "clicked(opener) on 2027-03-12 moved the prospect to path hot"
    eve = result["eve@growth.example"]  # replied on 16 March at 09:00 Sydney time: later touches stop
    assert [(t.step, t.status) for t in eve.touches][-2:] == [("ring", "stopped"), ("last", "stopped")]
    assert eve.touches[-1].reason == "replied on 2027-03-16 ended the sequence"
    assert result["cleo@nowhere.example"].sequence is None


def test_dst_spring_forward_keeps_local_window():
    ana = previews()["ana@growth.example"]
    opener, bump = ana.touches[0], ana.touches[2]
    assert opener.local.utcoffset() == dt.timedelta(hours=-5)  # EST before 14 March 2027
    assert bump.local.utcoffset() == dt.timedelta(hours=-4)  # EDT after
    for t in ana.touches:
        if t.channel == "email":
            assert dt.time(10) <= t.local.time() < dt.time(12)
        assert t.utc == t.local.astimezone(dt.UTC)


def test_dst_fall_back():
    ana = previews(start=dt.date(2027, 11, 3))["ana@growth.example"]
    offsets = [t.local.utcoffset() for t in ana.touches if t.track == "main"]
    assert offsets[0] == dt.timedelta(hours=-4) and offsets[-1] == dt.timedelta(hours=-5)


def test_same_input_same_timeline():
    assert timeline_text(previews(MINI_EVENTS)) == timeline_text(previews(MINI_EVENTS))


@pytest.mark.parametrize(("index", "expected"), [
    (0, "2027-01-05"), (59, "2027-01-05"), (60, "2027-01-06"), (180, "2027-01-08"), (240, "2027-01-11"),
    (300, "2027-01-12"),
])
def test_enrollment_follows_enroll_per_day(index: int, expected: str):
    assert enrollment_date(dt.date(2027, 1, 5), 60, index).isoformat() == expected


def test_enrollment_from_a_weekend_start_and_without_a_rate():
    assert enrollment_date(dt.date(2027, 1, 9), 1, 0) == dt.date(2027, 1, 11)  # Saturday -> Monday
    assert enrollment_date(dt.date(2027, 1, 9), None, 500) == dt.date(2027, 1, 9)


def test_variants_follow_the_split():
    _, loaded, _ = single_project(MINI)
    opener = loaded.project.sequence("growth").step("opener")
    picks = [choose_variant(opener, f"p{i}@x.example").name for i in range(4000)]
    share = picks.count("a") / len(picks)
    assert 0.77 < share < 0.83  # split 80/20
    assert choose_variant(opener, "Ana@Growth.example ") == choose_variant(opener, "ana@growth.example")


def _occ(event, step, day, hour=12, row=1):
    at = dt.datetime(2027, 3, day, hour, tzinfo=dt.UTC)
    return Occurrence(event, step, at, at.date(), row)


def test_history_answers_as_of_a_time():
    h = History([_occ("clicked", "opener", 12), _occ("opened", "opener", 11)])
    assert h.happened("opened", "opener", dt.datetime(2027, 3, 11, 12, tzinfo=dt.UTC))
    assert not h.happened("opened", "opener", dt.datetime(2027, 3, 11, 11, tzinfo=dt.UTC))
    assert not h.happened("clicked", "bump", dt.datetime(2027, 3, 30, tzinfo=dt.UTC))
    assert h.first(("clicked", "replied")).event == "clicked"


def test_date_only_events_land_at_the_end_of_the_local_day(tmp_path):
    _, loaded, _ = single_project(MINI)
    f = tmp_path / "events.csv"
    f.write_text("Prospect,Event,Step,Date,Note\nana@growth.example,opened,opener,2027-03-10,x\n", encoding="utf-8")
    log = EventLog.load(str(f), loaded.project)
    import zoneinfo

    (occ,) = log.history("ANA@growth.example", zoneinfo.ZoneInfo("America/New_York")).occurrences
    assert occ.utc == dt.datetime(2027, 3, 11, 4, 59, 59, tzinfo=dt.UTC)  # 23:59:59 EST
    assert occ.date == dt.date(2027, 3, 10)


def test_bad_event_rows_are_reported(tmp_path):
    _, loaded, _ = single_project(MINI)
    f = tmp_path / "events.csv"
    f.write_text("prospect,step,event,date\n"
                 "x,opener,opened,2027-03-10\n"
                 "a@b.example,nope,opened,2027-03-10\n"
                 "a@b.example,opener,waved,2027-03-10\n"
                 "a@b.example,opener,opened,10/03/2027\n"
                 "a@b.example,,clicked,2027-03-10\n"
                 "a@b.example,,replied,2027-03-10T10:00+02:00\n", encoding="utf-8")
    log = EventLog.load(str(f), loaded.project)
    assert [(e.row, e.field) for e in log.errors] == [
        (1, "prospect"), (2, "step"), (3, "event"), (4, "date"), (5, "step")]
    assert log.rows == 6 and list(log.by_prospect) == ["a@b.example"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("", "empty file"),
    ("who,what\n", "the header has no column `prospect`"),
])
def test_events_file_problems_stop_the_run(tmp_path, content, message):
    _, loaded, _ = single_project(MINI)
    f = tmp_path / "events.csv"
    if content is not None:
        f.write_text(content, encoding="utf-8")
    with pytest.raises(SeqcError, match=message):
        EventLog.load(str(f), loaded.project)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
                                  "America/St_Johns", "Pacific/Chatham"])
def test_fast_landings_equal_the_scheduling_engine(zone: str):
    """The per-day landing plan gives exactly what `timing.land` gives, DST days included."""
    import zoneinfo

    from compiler import ir, timing
    from compiler.diagnostics import Span
    from compiler.preview.schedule import StepInfo, _land, forget_days

    tz = zoneinfo.ZoneInfo(zone)
    span = Span("t.seq", 1, 1, 1, 2)
    windows = [((0, 1, 2, 3, 4), 600, 720), ((0, 1, 2, 3, 4, 5, 6), 60, 240), ((6,), 0, 180)]
    for start in (dt.date(2027, 3, 10), dt.date(2027, 10, 1), dt.date(2027, 3, 25)):
        for days, lo, hi in windows:
            for n in range(0, 45, 4):
                info = StepInfo(ir.Step(f"s{n}", n, "email", span, span), "main", 0, days, lo, hi, None)
                for i in range(6):
                    email = f"p{i}@x.example"
                    want = timing.land(start, n, days, lo, hi, tz, timing.holiday_checker("US"),
                                       timing.send_key(email, info.step.name))
                    got = _land(info, start, tz, timing.holiday_checker("US"), email)
                    assert (got.date, got.local, got.utc, got.rolled_from) == (
                        want.date, want.local, want.utc, want.rolled_from)
                    assert got.local.utcoffset() == want.local.utcoffset()
        forget_days()

"""One prospect's timeline: which touches of the routed sequence happen, when, and why (before rendering).

Without an events file, every main-track touch is placed from the enrollment date; a guard
that reads only prospect data is decided (false: `skipped`), one that reads events stays
`conditional`; path touches are `conditional`, placed from the day the step their `on`
event watches lands (the earliest the event can happen, as `seqc plan` does).

With an events file the prospect is walked through the sequence: guards are evaluated at
each touch's send time, the first exit event (`exit on …`) stops every later touch, and an
`on EVENT(step) [within N days] -> path` event moves the prospect into the path on the
event's date (`-> end` stops the sequence).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compiler import ir, plan, timing
from compiler.plan import cond_to_text
from compiler.preview.events import History, Occurrence
from compiler.preview.model import CONDITIONAL, SEND, SKIPPED, STOPPED
from compiler.routing import predicate

_ENTRY_MEMO_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class StepInfo:
    """A step with what scheduling needs precomputed: its window and its guard as text."""

    step: ir.Step
    track: str
    index: int  # written position in its track
    days: tuple[int, ...]
    start: int
    end: int
    guard: str | None


@dataclass(slots=True)
class Slot:
    """A placed touch before rendering; `history` (None: events unknown) answers content branches."""

    info: StepInfo
    landing: timing.Landing
    status: str
    guard: str | None
    reason: str | None
    history: History | None = None
    stamps: tuple[str, str] | None = None  # the landing's local and UTC instants as JSON text, when known


class SequenceSchedule:
    """The precomputed shape of one sequence (windows, guard texts, tracks); shared by every prospect."""

    def __init__(self, seq: ir.Sequence) -> None:
        self.seq = seq
        self.tracks: dict[str, tuple[StepInfo, ...]] = {}
        for track, steps in seq.tracks():
            infos = []
            for i, step in enumerate(steps):
                days, start, end = plan.step_window(seq, step)
                infos.append(StepInfo(step, track, i, days, start, end,
                                      cond_to_text(step.guard) if step.guard is not None else None))
            self.tracks[track] = tuple(infos)
        self.threads = {step.name: _thread_chain(seq, step) for step in seq.all_steps()}
        self.contents: dict[tuple[str, str | None, int], Any] = {}  # (step, variant, branch) -> what to render
        self._entries: dict[tuple[dt.date, Any], dict[str, plan.TrackEntry]] = {}
        self._tracks: dict[tuple[str, dt.date, dt.tzinfo, Any], TrackPlan | None] = {}

    def forget(self) -> None:
        self._entries.clear()
        self._tracks.clear()

    def track_plan(self, track: str, start: dt.date, tz: dt.tzinfo,
                   calendar: timing.HolidayCheck) -> TrackPlan | None:
        """The day plans of a track's steps from `start` (shared by every prospect of that zone and
        calendar), or None when a step's window meets a DST change that day."""
        key = (track, start, tz, calendar)
        try:
            return self._tracks[key]
        except KeyError:
            pass
        if len(self._tracks) >= _ENTRY_MEMO_LIMIT:
            self._tracks.clear()
        found = self._tracks[key] = _track_plan(self.tracks[track], start, tz, calendar)
        return found

    def entries(self, enrolled: dt.date, calendar: timing.HolidayCheck) -> dict[str, plan.TrackEntry]:
        key = (enrolled, calendar)
        found = self._entries.get(key)
        if found is None:
            if len(self._entries) >= _ENTRY_MEMO_LIMIT:
                self._entries.clear()
            found = self._entries[key] = plan.track_starts(self.seq, enrolled, calendar)
        return found


def _thread_chain(seq: ir.Sequence, step: ir.Step) -> tuple[str, ...]:
    """The steps an email replies to (`thread`, followed), the thread's first message first."""
    chain: list[str] = []
    current = step
    while current.thread and current.thread not in chain and current.thread != step.name:
        chain.insert(0, current.thread)
        parent = seq.step(current.thread)
        if parent is None:
            break
        current = parent
    return tuple(chain)


_DAY_PLAN: dict[tuple, tuple[dt.date, dt.date | None, dt.datetime, dt.datetime] | None] = {}
_MINUTES = tuple(dt.timedelta(minutes=m) for m in range(timing.MINUTES_PER_DAY))


def forget_days() -> None:
    """Drop the per-day landing plans (called when enrollment moves to a new day)."""
    _DAY_PLAN.clear()


def _day_plan(track_start: dt.date, day: int, info: StepInfo, tz: dt.tzinfo, calendar: timing.HolidayCheck):
    """(landed date, written date if rolled, local midnight, its UTC instant) when one UTC offset holds
    across the window that day, else None (then `timing.land` resolves the DST edge)."""
    key = (track_start, day, info.days, info.start, info.end, tz, calendar)
    try:
        return _DAY_PLAN[key]
    except KeyError:
        pass
    d, rolled = timing.land_date(track_start, day, info.days, calendar)
    first = dt.datetime(d.year, d.month, d.day, info.start // 60, info.start % 60, tzinfo=tz)
    last = dt.datetime(d.year, d.month, d.day, (info.end - 1) // 60, (info.end - 1) % 60, tzinfo=tz)
    offset = first.utcoffset()
    plan_ = None
    if offset is not None and offset == first.replace(fold=1).utcoffset() == last.utcoffset() \
            == last.replace(fold=1).utcoffset():
        midnight = dt.datetime(d.year, d.month, d.day)
        plan_ = (d, rolled, midnight.replace(tzinfo=tz), (midnight - offset).replace(tzinfo=timing.UTC))
    _DAY_PLAN[key] = plan_
    return plan_


def _land(info: StepInfo, track_start: dt.date, tz: dt.tzinfo, calendar: timing.HolidayCheck,
          email: str, day_shift: int = 0) -> timing.Landing:
    """`timing.land` for one touch; the common case (no DST change inside the window that day) is
    served from a per-day plan: the same arithmetic, without redoing the day's work per prospect."""
    day = info.step.day + day_shift
    key = timing.send_key(email, info.step.name)
    plan_ = _day_plan(track_start, day, info, tz, calendar)
    if plan_ is None:
        return timing.land(track_start, day, info.days, info.start, info.end, tz, calendar, key)
    d, rolled, local0, utc0 = plan_
    step = _MINUTES[timing.minute_in_window(key, info.start, info.end)]
    return timing.Landing(d, local0 + step, utc0 + step, rolled)


@dataclass(frozen=True, slots=True)
class TrackPlan:
    """Per step of a track: (info, landed date, written date if rolled, local midnight, its UTC instant);
    `ordered` when the steps' windows cannot overlap in time, so written order is chronological."""

    days: tuple[tuple[StepInfo, dt.date, dt.date | None, dt.datetime, dt.datetime, _Clock | None], ...]
    ordered: bool


@dataclass(frozen=True, slots=True)
class _Clock:
    """What writing a landing's instants as text needs from its day plan, worked out once: formatting
    an aware datetime asks its zone for the offset every time, which costs more than the landing."""

    day: str  # local date, ISO
    offset: str  # "+01:00"
    utc_minute: int  # local midnight in UTC, minutes after the UTC day's start
    utc_days: tuple[str, str]  # that UTC day and the next, ISO

    @classmethod
    def of(cls, local0: dt.datetime, utc0: dt.datetime) -> _Clock | None:
        # The offset of the window, not of midnight: on a DST day they differ, and `utc0` is
        # midnight shifted by the window's offset (see `_day_plan`).
        seconds = round((local0.replace(tzinfo=None) - utc0.replace(tzinfo=None)).total_seconds())
        if seconds % 60 or utc0.second or utc0.microsecond:  # offsets with seconds: leave to isoformat
            return None
        sign, minutes = ("-" if seconds < 0 else "+"), abs(seconds) // 60
        day = utc0.date()
        return cls(local0.date().isoformat(), f"{sign}{minutes // 60:02d}:{minutes % 60:02d}",
                   utc0.hour * 60 + utc0.minute, (day.isoformat(), (day + dt.timedelta(days=1)).isoformat()))

    def stamps(self, minute: int) -> tuple[str, str]:
        """`isoformat(timespec="seconds")` of local midnight + `minute`, and of its UTC instant with `Z`."""
        carry, utc = divmod(self.utc_minute + minute, timing.MINUTES_PER_DAY)
        return (f"{self.day}T{_HHMM[minute]}:00{self.offset}", f"{self.utc_days[carry]}T{_HHMM[utc]}:00Z")


_HHMM = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(timing.MINUTES_PER_DAY))


def _track_plan(infos: tuple[StepInfo, ...], start: dt.date, tz: dt.tzinfo,
                calendar: timing.HolidayCheck) -> TrackPlan | None:
    days = []
    for info in infos:
        plan_ = _day_plan(start, info.step.day, info, tz, calendar)
        if plan_ is None:
            return None
        days.append((info, *plan_, _Clock.of(plan_[2], plan_[3])))
    minute = dt.timedelta(minutes=1)
    ordered = all(b[4] + b[0].start * minute > a[4] + (a[0].end - 1) * minute for a, b in zip(days, days[1:]))
    return TrackPlan(tuple(days), ordered)


def _planned(track: TrackPlan, email_key: str) -> list[tuple[StepInfo, timing.Landing, tuple[str, str] | None]]:
    """A prospect's landings from a shared track plan: only the minute in each window is theirs."""
    placed = []
    for info, d, rolled, local0, utc0, clock in track.days:
        minute = timing.minute_in_window(f"{email_key}\x1f{info.step.name}", info.start, info.end)
        step = _MINUTES[minute]
        placed.append((info, timing.Landing(d, local0 + step, utc0 + step, rolled),
                       clock.stamps(minute) if clock is not None else None))
    if not track.ordered:
        placed.sort(key=lambda p: (p[1].utc, p[0].index))
    return placed


def _chronological(infos: tuple[StepInfo, ...], track_start: dt.date, tz: dt.tzinfo,
                   calendar: timing.HolidayCheck, email: str,
                   not_before: dt.datetime | None = None) -> list[tuple[StepInfo, timing.Landing]]:
    placed = []
    for info in infos:
        landing = _land(info, track_start, tz, calendar, email)
        shift = 0
        while not_before is not None and landing.utc < not_before and shift < 7:
            shift += 1  # a path's day-0 touch cannot go out before the event that opened the path
            landing = _land(info, track_start, tz, calendar, email, shift)
        placed.append((info, landing))
    placed.sort(key=lambda p: (p[1].utc, p[0].index))
    return placed


def plan_unknown(sched: SequenceSchedule, data: Mapping[str, Any], email: str, enrolled: dt.date,
                 tz: dt.tzinfo, calendar: timing.HolidayCheck) -> list[Slot]:
    """The timeline when nothing is known about events."""
    slots = []
    email_key = email.strip().lower()

    def placed(track: str, start: dt.date) -> list[tuple[StepInfo, timing.Landing, tuple[str, str] | None]]:
        shared = sched.track_plan(track, start, tz, calendar)
        if shared is None:  # a DST change inside a window: land each touch on its own
            return [(info, landing, None) for info, landing in
                    _chronological(sched.tracks[track], start, tz, calendar, email)]
        return _planned(shared, email_key)

    for info, landing, stamps in placed("main", enrolled):
        slot = _guarded(info, landing, data, None, info.guard)
        slot.stamps = stamps
        slots.append(slot)
    entries = sched.entries(enrolled, calendar)
    for path in sched.seq.paths:
        entry = entries.get(path.name)
        start = entry.start if entry is not None else enrolled
        how = entry.entered_by if entry is not None and entry.entered_by else None
        for info, landing, stamps in placed(path.name, start):
            own = _decide(info.step.guard, data, None, landing.utc) if info.step.guard is not None else True
            guard = how or "never entered"
            if info.guard:
                guard = f"{guard} and {info.guard}"
            if own is False:
                slots.append(Slot(info, landing, SKIPPED, guard, f"guard is false: {info.guard}", None, stamps))
            else:
                reason = f"if the prospect enters path {path.name} ({how})" if how else \
                    f"path {path.name} has no `on … -> {path.name}` event"
                slots.append(Slot(info, landing, CONDITIONAL, guard, reason, None, stamps))
    return slots


def _decide(cond: ir.Cond, data: Mapping[str, Any], history: History | None, at: dt.datetime) -> bool | None:
    return predicate(cond)(data, history.lookup(at) if history is not None else None)


def _guarded(info: StepInfo, landing: timing.Landing, data: Mapping[str, Any], history: History | None,
             guard: str | None) -> Slot:
    if info.step.guard is None:
        return Slot(info, landing, SEND, None, None, history)
    value = _decide(info.step.guard, data, history, landing.utc)
    if value is True:
        return Slot(info, landing, SEND, guard, None, history)
    if value is False:
        return Slot(info, landing, SKIPPED, guard, f"guard is false: {guard}", history)
    return Slot(info, landing, CONDITIONAL, guard, f"depends on events: {guard}", history)


def walk_events(sched: SequenceSchedule, data: Mapping[str, Any], email: str, enrolled: dt.date,
                tz: dt.tzinfo, calendar: timing.HolidayCheck, history: History) -> list[Slot]:
    """The timeline a prospect with these events goes through (chronological)."""
    seq = sched.seq
    exit_at = history.first(seq.exit_on)
    slots: list[Slot] = []
    sent: dict[str, timing.Landing] = {}
    used: set[int] = set()
    track, start, entered = "main", enrolled, None
    while track is not None:
        placed = _chronological(sched.tracks.get(track, ()), start, tz, calendar, email, entered)
        move: tuple[ir.OnEvent, Occurrence] | None = None
        finished = True
        for i, (info, landing) in enumerate(placed):
            move = _next_move(seq, history, sent, entered, landing.utc, used, track)
            if exit_at is not None and exit_at.utc < landing.utc and (move is None or exit_at.utc <= move[1].utc):
                why = f"{exit_at.event} on {exit_at.date.isoformat()} ended the sequence"
                slots.extend(Slot(inf, lan, STOPPED, inf.guard, why) for inf, lan in placed[i:])
                return slots
            if move is not None:
                event, occ = move
                where = "ended the sequence" if event.target == "end" else f"moved the prospect to path {event.target}"
                why = f"{cond_to_text(event.event)} on {occ.date.isoformat()} {where}"
                slots.extend(Slot(inf, lan, STOPPED, inf.guard, why) for inf, lan in placed[i:])
                finished = False
                break
            slot = _guarded(info, landing, data, history, info.guard)
            slots.append(slot)
            if slot.status == SEND:
                sent[info.step.name] = landing
        if finished:
            move = _next_move(seq, history, sent, entered, None, used, track)
            if move is not None and exit_at is not None and exit_at.utc <= move[1].utc:
                move = None
        if move is None or move[0].target == "end":
            return slots
        used.add(move[1].row)
        track, start, entered = move[0].target, move[1].date, move[1].utc
    return slots


def _next_move(seq: ir.Sequence, history: History, sent: dict[str, timing.Landing], after: dt.datetime | None,
               before: dt.datetime | None, used: set[int], track: str) -> tuple[ir.OnEvent, Occurrence] | None:
    """The earliest `on EVENT(step) [within N days] -> target` that fires after `after` and before `before`."""
    best: tuple[ir.OnEvent, Occurrence] | None = None
    for on in seq.events:
        if on.target == track:
            continue
        step = on.event.step
        origin = sent.get(step) if step is not None else None
        if step is not None and origin is None:
            continue  # the watched step was not sent (yet): its event cannot count
        for occ in history.matching(on.event.event, step, after):
            if before is not None and occ.utc >= before:
                break
            if occ.row in used or (origin is not None and occ.utc < origin.utc):
                continue
            if on.within_days is not None and origin is not None and (occ.date - origin.date).days > on.within_days:
                break
            if best is None or occ.utc < best[1].utc:
                best = (on, occ)
            break
    return best

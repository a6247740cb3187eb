"""The schedule as it lands, shared by the cadence rules (SEQ205/206/210) and SEQ403.

A touch written for `day N` lands on the first day of its window on or after N days from
the start of its track, so two touches written days apart can land on one day. These
helpers land every track of a sequence for an enrollment on each weekday Monday to Friday
(a fixed reference week, no holidays) once per rule run (`RuleContext.memo`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from compiler import ir, timing
from compiler.plan import step_window
from compiler.rules.base import RuleContext

WEEKDAY_LONG = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class LandedTrack:
    """One track of a sequence, landed for an entry on each weekday mon–fri.

    `weeks[k].touches[i]` is where `steps[i]` lands for an entry on weekday k (written order kept).
    """

    track: str
    steps: tuple[ir.Step, ...]
    weeks: tuple[timing.EnrolledWeekday, ...]

    def where(self) -> str:
        return "the main track" if self.track == "main" else f"path `{self.track}`"

    def entry_word(self) -> str:
        return "enrolled" if self.track == "main" else f"entering path `{self.track}`"


def landed_tracks(ctx: RuleContext, seq: ir.Sequence) -> tuple[LandedTrack, ...]:
    """Every track of `seq` as it lands (memoized per sequence for the run)."""
    return ctx.memo(f"schedule.tracks:{id(seq)}", lambda: _land_tracks(seq, ctx.memo("schedule.landed", dict)))


_ENROLLED = tuple(timing.REFERENCE_MONDAY + timedelta(days=k) for k in timing.BUSINESS_DAYS)


def _land_tracks(seq: ir.Sequence, memo: dict) -> tuple[LandedTrack, ...]:
    out = []
    for track, steps in seq.tracks():
        per_step = []
        try:
            for s in steps:
                days = step_window(seq, s)[0]
                key = (s.day, days)
                landed = memo.get(key)
                if landed is None:  # the same (day, window days) recurs across sequences
                    landed = memo[key] = tuple(timing.land_date(e, s.day, days) for e in _ENROLLED)
                per_step.append(landed)
        except timing.TimingError:  # an impossible window: SEQ109's business
            continue
        weeks = tuple(
            timing.EnrolledWeekday(enrolled, tuple(
                timing.LandedTouch(s.name, s.day, *landed[k]) for s, landed in zip(steps, per_step)))
            for k, enrolled in enumerate(_ENROLLED))
        out.append(LandedTrack(track, steps, weeks))
    return tuple(out)


def day_name(d: date) -> str:
    return WEEKDAY_LONG[d.weekday()]


# ---------------------------------------------------------------- who gets what


def _conjuncts(cond: ir.Cond | None) -> tuple[frozenset[str], frozenset[str]]:
    """(atoms required true, atoms required false) under a top-level `and`, as canonical text."""
    if cond is None:
        return frozenset(), frozenset()
    from compiler.plan import cond_to_text

    pos: set[str] = set()
    neg: set[str] = set()
    for op in cond.operands if isinstance(cond, ir.And) else (cond,):
        if isinstance(op, ir.Not):
            neg.add(cond_to_text(op.operand))
        else:
            pos.add(cond_to_text(op))
    return frozenset(pos), frozenset(neg)


def exclusive(a: ir.Step, b: ir.Step) -> bool:
    """True when no prospect can get both steps: one guard requires X and the other `not X`.

    Anything else counts as "both may be sent" — guards only ever remove touches, and the
    cadence rules assume the worst.
    """
    pa, na = _conjuncts(a.guard)
    pb, nb = _conjuncts(b.guard)
    return bool(pa & nb or pb & na)


# ---------------------------------------------------------------- email volume (SEQ403)


def email_offsets(ctx: RuleContext, seq: ir.Sequence) -> dict[int, tuple[int, ...]]:
    """Per enrollment weekday, the calendar days after enrollment on which emails go out.

    The main track counts every email. A prospect who enters a path leaves the main track,
    so each path adds a scenario — the main track's emails up to the earliest day the path
    can be entered, then the path's emails — and each day counts the heavier scenario.
    """
    return ctx.memo(f"schedule.email-offsets:{id(seq)}", lambda: _email_offsets(ctx, seq))


def _email_offsets(ctx: RuleContext, seq: ir.Sequence) -> dict[int, tuple[int, ...]]:
    tracks = {t.track: t for t in landed_tracks(ctx, seq)}
    main = tracks.get("main")
    if main is None:
        return {}
    out: dict[int, tuple[int, ...]] = {}
    for week in main.weeks:
        enrolled = week.enrolled
        main_emails = [t.date for s, t in zip(main.steps, week.touches) if s.channel == "email"]
        worst = Counter((d - enrolled).days for d in main_emails)
        for path in seq.paths:
            entry = _entry_date(seq, path.name, main, week)
            if entry is None or path.name not in tracks:
                continue
            scenario = Counter((d - enrolled).days for d in main_emails if d <= entry)
            for s in path.steps:
                if s.channel == "email":
                    landed, _ = timing.land_date(entry, s.day, step_window(seq, s)[0])
                    scenario[(landed - enrolled).days] += 1
            for offset, n in scenario.items():
                worst[offset] = max(worst[offset], n)
        out[enrolled.weekday()] = tuple(sorted(worst.elements()))
    return out


def _entry_date(seq: ir.Sequence, path: str, main: LandedTrack,
                week: timing.EnrolledWeekday) -> date | None:
    """The earliest day an event can move a prospect from the main track into `path`."""
    landed = {s.name: t.date for s, t in zip(main.steps, week.touches)}
    best: date | None = None
    for ev in seq.events:
        if ev.target != path:
            continue
        step = ev.event.step
        when = min(landed.values(), default=None) if step is None else landed.get(step)
        if when is not None and (best is None or when < best):
            best = when
    return best

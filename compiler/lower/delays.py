"""Delays that reproduce the plan: fit each tool's delay fields to the landed days, replay, compare.

`seqc plan` lands `day N` on the first allowed day of its window on or after enrollment + N.
A tool's scheduler works differently: it adds a stored delay to the previous send (or counts
sending days, or takes an absolute day), then waits for its schedule to open. `replay` is a
small model of that scheduler, driven by the target's `DelayModel`:

    due(i)  = anchor(i) + gap(i)   counted in calendar, sending or business days
    send(i) = first schedule day on or after due(i)
    anchor(i) = send(i-1) when the tool measures from the actual send, else due(i-1);
                the track start for the first step and for absolute models (cumulative gaps)

`fit` picks each gap in turn so the replayed sends match the plan for as many enrollment
weekdays (mon-fri) as possible, preferring the written gap, then the gap the plan shows for
the reference enrollment. Where a match is impossible for some weekday, compile warns with
both dates. Holidays are left out of both sides here: no tool model knows them (a separate
warning says so), and a weekday comparison should not depend on the calendar year.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import date, timedelta

from compiler import ir, timing
from compiler.capabilities import DelayModel
from compiler.lower.context import LowerContext, head_span
from compiler.lower.passes import campaign_window
from compiler.lower.program import LSequence, LStep, LTrack, Program
from compiler.plan import track_starts

_BUSINESS = frozenset(timing.BUSINESS_DAYS)
_SEARCH = 14  # days past the latest plan gap a fitted delay may reach
WEEKDAYS = timing.BUSINESS_DAYS


def reference_monday(project: ir.Project) -> date:
    """The Monday of the campaign's start week (else a fixed Monday): the week compile compares."""
    campaign = project.campaign
    if campaign is not None and campaign.start is not None:
        return campaign.start - timedelta(days=campaign.start.weekday())
    return timing.REFERENCE_MONDAY


def _advance(d: date, n: int, counts: str, gate: frozenset[int]) -> date:
    if counts == "calendar" or n <= 0:
        return d + timedelta(days=max(n, 0))
    allowed = gate if counts == "sending_days" else _BUSINESS
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() in allowed:
            n -= 1
    return d


def _open(d: date, gate: frozenset[int]) -> date:
    for _ in range(7):
        if d.weekday() in gate:
            return d
        d += timedelta(days=1)
    return d


def _step(model: DelayModel, state: tuple[date, int], gap: int, gate: frozenset[int],
          start: date) -> tuple[date, tuple[date, int]]:
    """One step of the scheduler: (send date, state for the next step); state is (anchor, total gap)."""
    anchor, total = state
    if model.anchor == "absolute":
        due = _advance(start, total + gap, model.counts, gate)
    else:
        due = _advance(anchor, gap, model.counts, gate)
    send = _open(due, gate)
    return send, (send if model.from_send else due, total + gap)


def replay(model: DelayModel, gaps: list[int], gates: list[frozenset[int]], start: date) -> list[date]:
    """The send date of each step, for a track started on `start`, as the tool's scheduler would."""
    sends: list[date] = []
    state = (start, 0)
    for gap, gate in zip(gaps, gates):
        send, state = _step(model, state, gap, gate, start)
        sends.append(send)
    return sends


@dataclass(frozen=True, slots=True)
class Mismatch:
    """For one enrollment, where the plan lands a step and where the tool would send it."""

    enrolled: date
    plan: date
    tool: date


@dataclass(frozen=True, slots=True)
class Fit:
    gaps: tuple[int, ...]
    mismatches: tuple[tuple[Mismatch, ...], ...]  # per step


def _gates(steps: tuple[LStep, ...], campaign_days: tuple[int, ...], per_step: bool) -> list[frozenset[int]]:
    return [frozenset(s.days if (per_step or s.manual) else campaign_days) for s in steps]


def fit(model: DelayModel, steps: tuple[LStep, ...], starts: list[date], enrolled: list[date],
        gates: list[frozenset[int]], reference: int = 0) -> Fit:
    """Gaps for `steps` (one track) that replay onto the plan for the most enrollments.

    `starts[w]` is the track's start for enrollment `enrolled[w]`; `reference` indexes the
    enrollment whose plan gap breaks ties. Sequences of the same shape share one result.
    """
    shape = tuple((s.step.day, tuple(s.days)) for s in steps)
    return _fit(model, shape, tuple(starts), tuple(enrolled), tuple(gates), reference)


@functools.lru_cache(maxsize=1024)
def _fit(model: DelayModel, shape: tuple[tuple[int, tuple[int, ...]], ...], starts: tuple[date, ...],
         enrolled: tuple[date, ...], gates: tuple[frozenset[int], ...], reference: int) -> Fit:
    plans = [[timing.land_date(start, day, days)[0] for day, days in shape] for start in starts]
    states = [(start, 0) for start in starts]
    gaps: list[int] = []
    for i, (day, _) in enumerate(shape):
        gate = gates[i]
        written = day - (shape[i - 1][0] if i else 0)
        if i == 0 and not model.first_wait:
            candidates = [0]
        else:
            low = 0 if i == 0 else model.min_gap
            high = max((plans[w][i] - states[w][0]).days for w in range(len(starts))) + _SEARCH
            if model.max_gap is not None:
                high = min(high, model.max_gap)
            candidates = list(range(low, max(high, low) + 1))
        preferred = [written, (plans[reference][i] - states[reference][0]).days]
        best_key, best = None, None
        for gap in candidates:
            moved = [_step(model, states[w], gap, gate, starts[w]) for w in range(len(starts))]
            score = sum(send == plans[w][i] for w, (send, _) in enumerate(moved))
            rank = preferred.index(gap) if gap in preferred else len(preferred)
            key = (-score, rank, gap)
            if best_key is None or key < best_key:
                best_key, best = key, (gap, moved)
        assert best is not None
        gaps.append(best[0])
        states = [state for _, state in best[1]]
    mismatches = []
    sends_by_start = [replay(model, gaps, list(gates), start) for start in starts]
    for i in range(len(shape)):
        found = tuple(Mismatch(enrolled[w], plans[w][i], sends_by_start[w][i])
                      for w in range(len(starts)) if sends_by_start[w][i] != plans[w][i])
        mismatches.append(found)
    return Fit(tuple(gaps), tuple(mismatches))


def _day(d: date) -> str:
    return f"{timing.WEEKDAY_NAMES[d.weekday()]} {d.isoformat()}"


def fit_delays(program: Program, ctx: LowerContext) -> Program:
    """Set every step's `gap` from the target's delay model; warn where the tool strays from the plan."""
    model = ctx.caps.delay
    if model is None:
        return program
    monday = reference_monday(program.project)
    enrolled = [monday + timedelta(days=w) for w in WEEKDAYS]
    campaign = program.project.campaign
    reference = campaign.start.weekday() if campaign and campaign.start and campaign.start.weekday() < 5 else 0
    per_step = ctx.caps.schedule.per_step != "none"
    sequences = []
    for lseq in program.sequences:
        days, _, _ = campaign_window(lseq.seq)
        starts_by_track = [track_starts(lseq.seq, e) for e in enrolled]
        tracks = []
        for track in lseq.tracks:
            if not track.steps:
                tracks.append(track)
                continue
            starts = [s[track.name].start if track.name in s else e for s, e in zip(starts_by_track, enrolled)]
            result = fit(model, track.steps, starts, enrolled, _gates(track.steps, days, per_step), reference)
            _warn(ctx, lseq, track, result)
            steps = tuple(replace(s, gap=g) for s, g in zip(track.steps, result.gaps))
            tracks.append(replace(track, steps=steps))
        sequences.append(replace(lseq, tracks=tuple(tracks)))
    return replace(program, sequences=tuple(sequences))


def _warn(ctx: LowerContext, lseq: LSequence, track: LTrack, result: Fit) -> None:
    for lstep, found in zip(track.steps, result.mismatches):
        if not found:
            continue
        cases = "; ".join(f"enrolled {_day(m.enrolled)}: plan {_day(m.plan)}, {ctx.target} {_day(m.tool)}"
                          for m in found)
        ctx.notice(f"`{lstep.name}` (day {lstep.step.day}) would not land where `seqc plan` puts it ({cases})",
                   head_span(lstep.step))

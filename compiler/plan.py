"""`seqc plan`: a sequence's timing table (the guide's table, generated) as text, Markdown or JSON."""

from __future__ import annotations

import bisect
import json
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable

from compiler import ir, timing
from compiler.diagnostics import SeqcError

# Wording for the Notes column; LinkedIn actions read better as what the prospect sees.
_ACTION_NOTES = {
    "connect": "connection request",
    "message": "direct message",
    "view": "profile view",
    "inmail": "InMail",
    "voice": "voice note",
}
_FALLBACK_ZONE = "UTC"


@dataclass(frozen=True, slots=True)
class Touch:
    """One row of the plan: a step of a track, where it lands, and why."""

    track: str
    step: str
    channel: str
    purpose: str | None
    day: int
    date: date
    window: str
    window_days: str
    spacing_days: int | None
    guard: str | None
    notes: tuple[str, ...] = ()
    rolled_from: date | None = None

    @property
    def weekday(self) -> str:
        return timing.WEEKDAY_NAMES[self.date.weekday()]


@dataclass(frozen=True, slots=True)
class TrackEntry:
    """When a track starts: the main track at `start`, a path when its entry event can first happen."""

    track: str
    start: date
    entered_by: str | None  # e.g. "clicked(value) within 2 days"; None for the main track


@dataclass(frozen=True, slots=True)
class Plan:
    sequence: str
    title: str | None
    tier: str | None
    start: date
    timezone: str
    holidays: str | None
    entries: tuple[TrackEntry, ...]
    touches: tuple[Touch, ...]


# ---------------------------------------------------------------- defaults (SPEC §6.1)


def default_timezone(seq: ir.Sequence) -> str:
    """The zone a plan is shown in: the fixed zone or the prospect fallback, else UTC."""
    spec = seq.timezone
    return spec.fallback if spec is not None and spec.fallback else _FALLBACK_ZONE


def default_start(campaign_start: date | None, today: date) -> date:
    """The campaign's start, else the first Monday strictly after `today`."""
    if campaign_start is not None:
        return campaign_start
    return today + timedelta(days=7 - today.weekday())


def default_holiday_country(seq: ir.Sequence) -> str | None:
    """`holidays "US"` -> "US"; `holidays prospect` or none -> None (a plan has no one prospect)."""
    spec = seq.holidays
    return spec.country if spec is not None and not spec.prospect else None


# ---------------------------------------------------------------- windows and guards


def step_window(seq: ir.Sequence, step: ir.Step) -> tuple[tuple[int, ...], int, int]:
    """(weekdays, start minute, end minute) for a step: its own hours/days, else its channel's
    window in the sequence, else the default window of the channel."""
    default_days, start, end = timing.DEFAULT_WINDOWS.get(step.channel, timing.DEFAULT_WINDOWS["task"])
    days = default_days
    channel = seq.channel_window(step.channel)
    if channel is not None:
        start, end = channel.window.start, channel.window.end
        days = channel.window.days if channel.window.days is not None else days
    if step.window is not None:
        start, end = step.window.start, step.window.end
        days = step.window.days if step.window.days is not None else days
    return tuple(sorted(set(days))), start, end


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def cond_to_text(cond: ir.Cond) -> str:
    """A condition written back as source: `opened(opener) and not clicked(opener)`.

    Iterative (a deeply nested guard must not hit the recursion limit). `not` binds tighter
    than `and`, which binds tighter than `or`; parentheses are added only where needed, and
    around a comparison under `not` so it reads unambiguously.
    """
    out: list[str] = []
    stack: list[ir.Cond | str] = [cond]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        stack.extend(reversed(_expand(item)))
    return "".join(out)


def _expand(node: ir.Cond) -> list[ir.Cond | str]:
    """One level of a condition as text pieces and child nodes, in reading order."""
    if isinstance(node, ir.Event):
        return [node.event if node.step is None else f"{node.event}({node.step})"]
    if isinstance(node, ir.Compare):
        return [f"{node.field} {node.op} {_literal(node.value)}"]
    if isinstance(node, ir.In):
        return [f"{node.field} in ({', '.join(_literal(v) for v in node.values)})"]
    if isinstance(node, ir.Contains):
        return [f"{node.field} contains {_literal(node.value)}"]
    if isinstance(node, ir.Has):
        return [f"has({node.field})"]
    if isinstance(node, ir.Truthy):
        return [node.field]
    if isinstance(node, ir.Not):
        wrap = isinstance(node.operand, (ir.And, ir.Or, ir.Compare, ir.In, ir.Contains))
        return ["not ", *_wrapped(node.operand, wrap)]
    if isinstance(node, (ir.And, ir.Or)):
        joiner = " and " if isinstance(node, ir.And) else " or "
        pieces: list[ir.Cond | str] = []
        for i, operand in enumerate(node.operands):
            if i:
                pieces.append(joiner)
            # `or` under `and` needs parentheses; `and` under `or` would not, but reads better with them.
            pieces.extend(_wrapped(operand, isinstance(operand, (ir.And, ir.Or)) and type(operand) is not type(node)))
        return pieces
    raise TypeError(f"not a condition node: {type(node).__name__}")


def _wrapped(node: ir.Cond, wrap: bool) -> list[ir.Cond | str]:
    return ["(", node, ")"] if wrap else [node]


# ---------------------------------------------------------------- planning


def _event_text(event: ir.OnEvent) -> str:
    text = cond_to_text(event.event)
    return f"{text} within {event.within_days} days" if event.within_days is not None else text


def track_starts(
    seq: ir.Sequence, start: date, is_holiday: timing.HolidayCheck = timing.NO_HOLIDAYS
) -> dict[str, TrackEntry]:
    """Where each track starts. A path starts on the day the step named by an `on EVENT(step) -> path`
    lands (the earliest the event can happen); with several such events, the earliest. A path no
    resolvable event leads to starts with the main track."""
    entries = {"main": TrackEntry("main", start, None)}
    landed: dict[str, date] = {}
    pending = [p.name for p in seq.paths]
    # Paths may be entered from steps of other paths: resolve in passes. A path is placed once every
    # event leading to it is placed; when that stalls (a cycle, an unknown step), with what is known.
    partial = False
    while pending:
        for entry in list(entries.values()):
            for step in _track_steps(seq, entry.track):
                if step.name not in landed:
                    landed[step.name] = _landed(seq, step, entry.start, is_holiday)[0]
        placed = False
        for name in list(pending):
            entry, complete = _earliest_entry(seq, name, start, landed)
            if entry is not None and (complete or partial):
                entries[name] = entry
                pending.remove(name)
                placed = True
        if not placed:
            if partial:
                break
            partial = True
    for name in pending:
        entries[name] = TrackEntry(name, start, None)
    return entries


def _earliest_entry(
    seq: ir.Sequence, path: str, start: date, landed: dict[str, date]
) -> tuple[TrackEntry | None, bool]:
    """The earliest entry into `path` from the events placed so far, and whether all were placed."""
    best: TrackEntry | None = None
    complete = True
    for event in seq.events:
        if event.target != path:
            continue
        step = event.event.step
        when = min(landed.values(), default=start) if step is None else landed.get(step)
        if when is None:
            complete = False
            continue
        if best is None or when < best.start:
            best = TrackEntry(path, when, _event_text(event))
    return best, complete


def _track_steps(seq: ir.Sequence, track: str) -> tuple[ir.Step, ...]:
    if track == "main":
        return seq.steps
    path = seq.path(track)
    return path.steps if path is not None else ()


def _landed(
    seq: ir.Sequence, step: ir.Step, track_start: date, is_holiday: timing.HolidayCheck
) -> tuple[date, date | None]:
    days, _, _ = step_window(seq, step)
    return timing.land_date(track_start, step.day, days, is_holiday)


def plan_sequence(seq: ir.Sequence, start: date, tz_name: str, holiday_country: str | None) -> Plan:
    """The timing table of one sequence: one row per touch, main track then each path.

    Rows keep the written order; `spacing_days` counts calendar days from the touch of the same
    track that lands just before this one (written order breaks same-day ties), so it is never
    negative. A touch that rolling moves ahead of an earlier-written one says so in its notes.

    Raises:
        UnknownZone, UnknownCountry, EmptyWindow: for a bad `tz_name`, country or window.
    """
    timing.zone(tz_name)
    is_holiday = timing.holiday_checker(holiday_country)
    entries = track_starts(seq, start, is_holiday)
    touches: list[Touch] = []
    for track, steps in seq.tracks():
        entry = entries.get(track, TrackEntry(track, start, None))
        touches.extend(_plan_track(seq, track, steps, entry, is_holiday))
    ordered_entries = tuple(entries[t] for t, _ in seq.tracks() if t in entries)
    return Plan(
        seq.name, seq.title, seq.tier, start, tz_name,
        holiday_country.upper() if holiday_country else None, ordered_entries, tuple(touches),
    )


def _plan_track(
    seq: ir.Sequence, track: str, steps: Iterable[ir.Step], entry: TrackEntry, is_holiday: timing.HolidayCalendar
) -> list[Touch]:
    landed = [(step, *_landed(seq, step, entry.start, is_holiday)) for step in steps]
    # The touch before each one in time: landing order, written order breaking same-day ties.
    chronological = sorted(range(len(landed)), key=lambda i: (landed[i][1], i))
    previous = {i: (chronological[k - 1] if k else None) for k, i in enumerate(chronological)}
    # The first earlier step landing after a step is one that lands later than every step before
    # it: those "records" (dates increasing) are searched, not all earlier steps (4000 steps: 8M).
    records: list[date] = []
    record_steps: list[ir.Step] = []
    rows: list[Touch] = []
    for i, (step, when, rolled_from) in enumerate(landed):
        days, start_min, end_min = step_window(seq, step)
        notes = _step_notes(step)
        if i == 0 and entry.entered_by is not None:
            notes.append(f"path entered on {entry.entered_by}")
        if rolled_from is not None:
            notes.append(_rolled_note(rolled_from, when, days, is_holiday))
        k = bisect.bisect_right(records, when)
        if k < len(records):
            notes.append(f"lands before {record_steps[k].name} (day {record_steps[k].day})")
        if not records or when > records[-1]:
            records.append(when)
            record_steps.append(step)
        before = previous[i]
        rows.append(Touch(
            track=track, step=step.name, channel=step.channel, purpose=step.purpose, day=step.day,
            date=when, window=timing.format_hours(start_min, end_min), window_days=timing.format_weekdays(days),
            spacing_days=None if before is None else (when - landed[before][1]).days,
            guard=cond_to_text(step.guard) if step.guard is not None else None,
            notes=tuple(notes), rolled_from=rolled_from,
        ))
    return rows


def _step_notes(step: ir.Step) -> list[str]:
    notes = [step.title] if step.title else []
    if step.purpose:
        notes.append(step.purpose)
    if step.action:
        notes.append(_ACTION_NOTES.get(step.action, step.action))
    if step.thread:
        notes.append(f"thread of {step.thread}")
    if step.variants:
        names = "/".join(v.name for v in step.variants)
        split = f" {'/'.join(str(s) for s in step.split)}" if step.split else ""
        notes.append(f"variants {names}{split}")
    if step.branches:
        notes.append(f"content by prospect data ({len(step.branches)} branches)")
    return notes


def _rolled_note(written: date, landed: date, days: tuple[int, ...], is_holiday: timing.HolidayCalendar) -> str:
    note = f"rolled from {timing.WEEKDAY_NAMES[written.weekday()]} {written.isoformat()}"
    # Name the holidays that closed otherwise-open days, so the move is explained.
    skipped = [
        name for d in _dates(written, landed)
        if d.weekday() in days and (name := is_holiday.name(d)) is not None
    ]
    return f"{note} (holiday: {', '.join(skipped)})" if skipped else note


def _dates(first: date, stop: date) -> Iterable[date]:
    for i in range((stop - first).days):
        yield first + timedelta(days=i)


def plan_project(
    project: ir.Project,
    *,
    today: date,
    sequence: str | None = None,
    start: date | None = None,
    tz: str | None = None,
    holiday_country: str | None = None,
) -> tuple[Plan, ...]:
    """Plans for the project's sequences (or the one named), with SPEC §6.1 defaults.

    `today` is a parameter (never read from the clock here) so a plan is reproducible.
    `holiday_country` overrides every sequence's own `holidays` setting.

    Raises:
        SeqcError: for an unknown sequence name (and the timing errors of `plan_sequence`).
    """
    sequences = project.sequences
    if sequence is not None:
        chosen = project.sequence(sequence)
        if chosen is None:
            known = ", ".join(s.name for s in project.sequences) or "none"
            raise SeqcError(f"no sequence named {sequence!r} (sequences: {known})")
        sequences = (chosen,)
    campaign = project.campaign
    begin = start or default_start(campaign.start if campaign else None, today)
    return tuple(
        plan_sequence(
            seq, begin, tz or default_timezone(seq),
            holiday_country if holiday_country is not None else default_holiday_country(seq),
        )
        for seq in sequences
    )


# ---------------------------------------------------------------- renderers

_COLUMNS = ("Day", "Date", "Weekday", "Channel", "Step", "Window", "Spacing", "Guard", "Notes")


def _cells(touch: Touch) -> tuple[str, ...]:
    return (
        f"day {touch.day}", touch.date.isoformat(), touch.weekday, touch.channel, touch.step,
        f"{touch.window_days} {touch.window}",
        "-" if touch.spacing_days is None else f"{touch.spacing_days} d",
        touch.guard or "-", "; ".join(touch.notes) or "-",
    )


def _heading(plan: Plan) -> tuple[str, str]:
    title = f"{plan.sequence} — {plan.title}" if plan.title else plan.sequence
    facts = [
        f"tier {plan.tier or '-'}",
        f"start {plan.start.isoformat()} ({timing.WEEKDAY_NAMES[plan.start.weekday()]})",
        f"timezone {plan.timezone}",
        f"holidays {plan.holidays or 'none'}",
    ]
    return title, " · ".join(facts)


def _track_heading(entry: TrackEntry) -> str:
    if entry.track == "main":
        return "main track"
    start = f"{timing.WEEKDAY_NAMES[entry.start.weekday()]} {entry.start.isoformat()}"
    how = f"on {entry.entered_by}, from {start}" if entry.entered_by else f"never entered (shown from {start})"
    return f"path {entry.track} — {how}"


def _width(text: str) -> int:
    # East Asian wide characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _aligned(cells: Iterable[str], widths: list[int]) -> str:
    return "  ".join(_pad(c, w) for c, w in zip(cells, widths)).rstrip()


def render_table(plans: Iterable[Plan]) -> str:
    """Aligned plain-text tables, one per sequence, a block per track (columns aligned per sequence)."""
    blocks = []
    for plan in plans:
        title, facts = _heading(plan)
        widths = [_width(h) for h in _COLUMNS]
        for touch in plan.touches:
            widths = [max(w, _width(c)) for w, c in zip(widths, _cells(touch))]
        lines = [title, facts]
        for entry in plan.entries:
            rows = [_aligned(_cells(t), widths) for t in plan.touches if t.track == entry.track]
            lines += ["", _track_heading(entry), _aligned(_COLUMNS, widths), *(rows or ["(no touches)"])]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_code(text: str) -> str:
    """`text` as a code span; the fence outgrows any backtick run inside, `|` still escaped for tables."""
    longest = run = 0
    for c in text:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def render_markdown(plans: Iterable[Plan]) -> str:
    """GitHub-flavoured Markdown: a heading per sequence, a table per track (pasteable in a PR)."""
    blocks = []
    for plan in plans:
        title, facts = _heading(plan)
        lines = [f"### {_md_cell(title)}", "", _md_cell(facts)]
        for entry in plan.entries:
            lines += ["", f"**{_md_cell(_track_heading(entry))}**", ""]
            lines.append("| " + " | ".join(_COLUMNS) + " |")
            lines.append("|" + "|".join("---" for _ in _COLUMNS) + "|")
            touches = [t for t in plan.touches if t.track == entry.track]
            if not touches:
                lines[-2:] = ["_(no touches)_"]
            for touch in touches:
                cells = list(_cells(touch))
                cells[4] = _md_code(touch.step)
                cells[7] = _md_code(touch.guard) if touch.guard else "-"
                cells = [c if i in (4, 7) else _md_cell(c) for i, c in enumerate(cells)]
                lines.append("| " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """One PLAN object of SPEC §6.1 (`notes` and `rolled_from` follow the specified keys)."""
    return {
        "sequence": plan.sequence,
        "tier": plan.tier,
        "start": plan.start.isoformat(),
        "timezone": plan.timezone,
        "touches": [
            {
                "track": t.track, "step": t.step, "channel": t.channel, "purpose": t.purpose, "day": t.day,
                "date": t.date.isoformat(), "weekday": t.weekday, "window": t.window,
                "spacing_days": t.spacing_days, "guard": t.guard,
                "notes": list(t.notes),
                "rolled_from": t.rolled_from.isoformat() if t.rolled_from else None,
            }
            for t in plan.touches
        ],
    }


def render_json(plans: Iterable[Plan]) -> str:
    """`{"plans": [PLAN, …]}` per SPEC §6.1, deterministic."""
    return json.dumps({"plans": [plan_to_json(p) for p in plans]}, indent=2, ensure_ascii=False)

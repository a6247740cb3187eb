"""`--events FILE`: what prospects did (opened, clicked, replied …), to dry-run guards and paths.

The file is CSV with a header row naming the columns `prospect`, `step`, `event`, `date`
(any order, any case; other columns are ignored):

    prospect,step,event,date
    ana@example.com,opener,opened,2027-01-06
    ana@example.com,value,clicked,2027-01-11T14:05
    bo@example.com,,replied,2027-01-07T09:12:00+01:00

* `prospect` is the prospect's email address (case-insensitive).
* `event` is `opened`, `clicked`, `replied`, `accepted`, `connected`, `bounced`,
  `unsubscribed` or `booked`. `step` names a step of the project; it may be empty for
  `replied`, `bounced`, `unsubscribed` and `booked`.
* `date` is a date, or a date and time. A time without an offset is the prospect's local
  time. A date without a time means "some time that day": it is placed at the very end of
  that day in the prospect's time zone, so it counts for touches on later days and never
  for a touch sent the same day (the event may have come after it).

The file is read whole (it describes a cohort, not the whole list). File problems stop the
run (exit 2); a bad row is reported as `FILE: row N: column: reason` and skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from compiler import ir, timing
from compiler.diagnostics import SeqcError
from compiler.prospects import RecordError, show

EVENT_NAMES = ("opened", "clicked", "replied", "accepted", "connected", "bounced", "unsubscribed", "booked")
STEPLESS = frozenset({"replied", "bounced", "unsubscribed", "booked"})
COLUMNS = ("prospect", "step", "event", "date")
_ONE_SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class _Raw:
    row: int
    event: str
    step: str | None
    date: dt.date
    time: dt.time | None  # None: date only
    tz: dt.tzinfo | None  # an explicit offset in the file


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One event of one prospect, placed in time (`date` is the local date in the prospect's zone)."""

    event: str
    step: str | None
    utc: dt.datetime
    date: dt.date
    row: int


class History:
    """One prospect's events, in time order, answering the questions guards and paths ask."""

    __slots__ = ("occurrences",)

    def __init__(self, occurrences: Iterable[Occurrence] = ()) -> None:
        self.occurrences = tuple(sorted(occurrences, key=lambda o: (o.utc, o.row)))

    def happened(self, event: str, step: str | None, by: dt.datetime) -> bool:
        """Did `event` (of `step`; any step when None) happen at or before `by`?"""
        for o in self.occurrences:
            if o.utc > by:
                return False
            if o.event == event and (step is None or o.step == step):
                return True
        return False

    def lookup(self, by: dt.datetime):
        """An `EventLookup` for `routing.eval_cond` that answers as of `by`."""
        return lambda event, step: self.happened(event, step, by)

    def first(self, events: Iterable[str]) -> Occurrence | None:
        """The earliest occurrence of any of `events` (exit events)."""
        wanted = frozenset(events)
        return next((o for o in self.occurrences if o.event in wanted), None)

    def matching(self, event: str, step: str | None, after: dt.datetime | None) -> Iterable[Occurrence]:
        """Occurrences of `event` (of `step`) strictly after `after`, in time order."""
        for o in self.occurrences:
            if (after is None or o.utc > after) and o.event == event and (step is None or o.step == step):
                yield o


EMPTY_HISTORY = History()


class EventLog:
    """The events file, grouped by prospect; `history(email, zone)` places one prospect's events."""

    def __init__(self, path: str, by_prospect: dict[str, list[_Raw]], errors: list[RecordError], rows: int) -> None:
        self.path = path
        self.by_prospect = by_prospect
        self.errors = errors
        self.rows = rows

    def error_lines(self) -> list[str]:
        return [f"{show(self.path)}: {e.line()}" for e in self.errors]

    def history(self, email: str, tz: dt.tzinfo) -> History:
        raws = self.by_prospect.get(email.strip().lower())
        if not raws:
            return EMPTY_HISTORY
        return History(_place(r, tz) for r in raws)

    @classmethod
    def load(cls, path: str, project: ir.Project) -> EventLog:
        """Read and check the file against the project's step names (raises SeqcError for file problems)."""
        steps = {s.name for seq in project.sequences for s in seq.all_steps()}
        by_prospect: dict[str, list[_Raw]] = {}
        errors: list[RecordError] = []
        rows = 0
        for row, values in _rows(path):
            rows += 1
            parsed = _parse_row(row, values, steps)
            if isinstance(parsed, RecordError):
                errors.append(parsed)
            else:
                email, raw = parsed
                by_prospect.setdefault(email, []).append(raw)
        return cls(path, by_prospect, errors, rows)


def _rows(path: str) -> Iterable[tuple[int, dict[str, str]]]:
    name = show(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next((h for h in reader if any(c.strip() for c in h)), None)
            if header is None:
                raise SeqcError(f"{name}: empty file, expected a header row ({', '.join(COLUMNS)})")
            index = {c.strip().lower(): i for i, c in enumerate(header)}
            missing = [c for c in COLUMNS if c not in index]
            if missing:
                raise SeqcError(f"{name}: the header has no column {', '.join(f'`{m}`' for m in missing)} "
                                f"(expected {', '.join(COLUMNS)})")
            out = []
            for row, cells in enumerate((c for c in reader if any(x.strip() for x in c)), 1):
                out.append((row, {k: (cells[i].strip() if i < len(cells) else "") for k, i in index.items()
                                  if k in COLUMNS}))
            return out
    except FileNotFoundError:
        raise SeqcError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SeqcError(f"{name}: is a directory, not an events file") from None
    except UnicodeDecodeError as e:
        raise SeqcError(f"{name}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
    except csv.Error as e:
        raise SeqcError(f"{name}: unreadable CSV ({e})") from None
    except OSError as e:
        raise SeqcError(f"{name}: cannot read ({e.strerror or e})") from None


def _parse_row(row: int, values: dict[str, str], steps: set[str]) -> tuple[str, _Raw] | RecordError:
    email = values["prospect"].lower()
    if not email or "@" not in email or not email.isprintable():
        return RecordError(row, "prospect", f"expected a prospect's email address, got `{show(values['prospect'])}`")
    event = values["event"].lower()
    if event not in EVENT_NAMES:
        return RecordError(row, "event", f"unknown event `{show(values['event'])}` (expected one of "
                                         f"{', '.join(EVENT_NAMES)})")
    step = values["step"] or None
    if step is None and event not in STEPLESS:
        return RecordError(row, "step", f"`{event}` needs the step it happened on")
    if step is not None and step not in steps:
        return RecordError(row, "step", f"no step named `{show(step)}` in the project")
    when = _parse_when(values["date"])
    if when is None:
        return RecordError(row, "date", f"expected a date like 2027-01-05 or 2027-01-05T14:30, got "
                                        f"`{show(values['date'])}`")
    day, time, tz = when
    return email, _Raw(row, event, step, day, time, tz)


def _parse_when(text: str) -> tuple[dt.date, dt.time | None, dt.tzinfo | None] | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text), None, None
        stamp = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    return stamp.date(), stamp.time().replace(tzinfo=None), stamp.tzinfo


def _place(raw: _Raw, tz: dt.tzinfo) -> Occurrence:
    if raw.time is None:  # the last second of that local day
        utc = timing.local_instant(raw.date + dt.timedelta(days=1), 0, tz).astimezone(timing.UTC) - _ONE_SECOND
    elif raw.tz is not None:
        utc = dt.datetime.combine(raw.date, raw.time, raw.tz).astimezone(timing.UTC)
    else:
        utc = dt.datetime.combine(raw.date, raw.time, tz).astimezone(timing.UTC)
    return Occurrence(raw.event, raw.step, utc, utc.astimezone(tz).date(), raw.row)

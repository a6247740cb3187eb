"""Send-time resolution: channel windows, holidays, time zones, DST and mailbox warm-up (pure functions)."""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from types import MappingProxyType


from compiler.diagnostics import SeqcError

UTC = timezone.utc
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUSINESS_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
MINUTES_PER_DAY = 24 * 60

Weekdays = tuple[int, ...]
HolidayCheck = Callable[[date], bool]

# SPEC §3.2 defaults; the end minute is exclusive.
DEFAULT_WINDOWS: Mapping[str, tuple[Weekdays, int, int]] = MappingProxyType({
    "email": (BUSINESS_DAYS, 10 * 60, 12 * 60),
    "linkedin": (BUSINESS_DAYS, 11 * 60, 13 * 60),
    "call": (BUSINESS_DAYS, 14 * 60, 16 * 60),
    "task": (BUSINESS_DAYS, 9 * 60, 17 * 60),
})

# Warm-up (SPEC §5): 20 a day per mailbox, +10% compounded per full week.
WARMUP_START = 20
_GROWTH_NUM, _GROWTH_DEN = 11, 10

# Rolling forward further than this means the window can never open (e.g. every allowed day a holiday).
_MAX_ROLL_DAYS = 366
# Memo tables are bounded so a long-running process does not grow without limit.
_MEMO_LIMIT = 200_000


class TimingError(SeqcError, ValueError):
    """A timing input that cannot be scheduled (one line, user-facing)."""


class UnknownZone(TimingError):
    """Not an IANA time zone name known to this installation."""


class UnknownCountry(TimingError):
    """Not an ISO 3166-1 alpha-2 code with a public-holiday calendar."""


class EmptyWindow(TimingError):
    """A window that has no day (or no instant) on which it opens."""


# ---------------------------------------------------------------- formatting


def format_hours(start: int, end: int) -> str:
    """`600, 720` -> "10:00-12:00"."""
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def format_weekdays(days: Iterable[int]) -> str:
    """`(1, 2, 3)` -> "tue-thu"; `(0, 2, 4)` -> "mon,wed,fri"; runs of three or more become ranges."""
    ordered = sorted(set(days))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{WEEKDAY_NAMES[ordered[i]]}-{WEEKDAY_NAMES[ordered[j]]}")
        else:
            parts.extend(WEEKDAY_NAMES[k] for k in ordered[i:j + 1])
        i = j + 1
    return ",".join(parts)


# ---------------------------------------------------------------- time zones

# IANA names are ASCII words joined by "/"; this rejects paths ("../", "/etc"), blanks and junk
# before zoneinfo ever touches the file system.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
_ZONE_NAME_MAX = 64
# Names that exist on disk but mean "whatever this machine is set to": never reproducible.
_MACHINE_ZONES = frozenset({"localtime", "posixrules"})


@functools.cache
def _available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _MACHINE_ZONES


def zone_names() -> tuple[str, ...]:
    """Every IANA name `zone` accepts, sorted (for "did you mean" hints)."""
    return tuple(sorted(_available_zones()))


def is_valid_zone(name: object) -> bool:
    """True when `name` is an IANA time zone this installation can load."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= _ZONE_NAME_MAX
        and _ZONE_NAME.fullmatch(name) is not None
        and name in _available_zones()
    )


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The `ZoneInfo` for an IANA name, cached.

    Raises:
        UnknownZone: for anything that is not a known IANA name (with a "did you mean" when close).
    """
    if not is_valid_zone(name):
        raise UnknownZone(f"unknown time zone {_shown(name)}{_zone_hint(name)}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:  # a corrupt or unreadable file
        raise UnknownZone(f"cannot load time zone {_shown(name)}: {exc}") from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _zone_hint(name: object) -> str:
    if not isinstance(name, str) or not 0 < len(name) <= _ZONE_NAME_MAX:
        return ""
    by_lower = {z.lower(): z for z in _available_zones()}
    if name.lower() in by_lower:
        return f"; did you mean {by_lower[name.lower()]!r}?"
    close = difflib.get_close_matches(name.lower(), sorted(by_lower), n=1, cutoff=0.8)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


# ---------------------------------------------------------------- holidays


@functools.cache
def _holiday_countries() -> frozenset[str]:
    # Aliases such as "UK" are left out: prospect files carry ISO 3166-1 alpha-2 codes.
    import holidays as _holidays  # ~15 ms to import: only when a calendar is needed

    return frozenset(_holidays.list_supported_countries(include_aliases=False))


def is_known_country(code: object) -> bool:
    """True for an ISO 3166-1 alpha-2 code (any case) that has a holiday calendar."""
    return isinstance(code, str) and len(code) == 2 and code.upper() in _holiday_countries()


class HolidayCalendar:
    """National public holidays of one country (observed days included), loaded a year at a time.

    Call it with a date for a yes/no; `name(d)` gives the holiday's name. The calendar for
    `None` has no holidays. Instances are cached per country by `holiday_checker`, so they are
    stable dictionary keys for the scheduling memo.
    """

    __slots__ = ("country", "_names", "_years")

    def __init__(self, country: str | None) -> None:
        self.country = country
        self._names: dict[date, str] = {}
        self._years: set[int] = set()

    def __call__(self, d: date) -> bool:
        if self.country is None:
            return False
        if d.year not in self._years:
            self._load(d.year)
        return d in self._names

    def name(self, d: date) -> str | None:
        return self._names.get(d) if self(d) else None

    def _load(self, year: int) -> None:
        import holidays as _holidays

        calendar = _holidays.country_holidays(self.country, years=year)
        self._names.update(calendar.items())
        self._years.add(year)

    def __repr__(self) -> str:
        return f"HolidayCalendar({self.country!r})"


NO_HOLIDAYS = HolidayCalendar(None)


def holiday_checker(country: str | None) -> HolidayCalendar:
    """The cached holiday calendar of an ISO alpha-2 country (case-insensitive); None -> no holidays.

    Raises:
        UnknownCountry: for a code the `holidays` package has no calendar for.
    """
    if country is None:
        return NO_HOLIDAYS
    if not is_known_country(country):
        raise UnknownCountry(f"no public-holiday calendar for country {_shown(country)} (expected ISO 3166-1 alpha-2, e.g. \"US\")")
    return _calendar(country.upper())


@functools.cache
def _calendar(code: str) -> HolidayCalendar:
    return HolidayCalendar(code)


# ---------------------------------------------------------------- days


def land_date(
    track_start: date, day: int, weekdays: Iterable[int], is_holiday: HolidayCheck = NO_HOLIDAYS
) -> tuple[date, date | None]:
    """`track_start + day`, rolled forward to the next allowed weekday that is not a holiday.

    Returns:
        (landed date, the written date when it was moved, else None).

    Raises:
        EmptyWindow: when no weekday is allowed or no open day is found within a year.
    """
    allowed = _weekday_set(weekdays)
    written = track_start + timedelta(days=day)
    d = written
    for _ in range(_MAX_ROLL_DAYS):
        if d.weekday() in allowed and not is_holiday(d):
            return d, (written if d != written else None)
        d += timedelta(days=1)
    raise EmptyWindow(f"no open day within {_MAX_ROLL_DAYS} days after {written.isoformat()}")


def next_open_day(d: date, weekdays: Iterable[int], is_holiday: HolidayCheck = NO_HOLIDAYS) -> date:
    """The first allowed, non-holiday day strictly after `d`."""
    return land_date(d, 1, weekdays, is_holiday)[0]


def _weekday_set(weekdays: Iterable[int]) -> frozenset[int]:
    allowed = frozenset(weekdays)
    if not allowed:
        raise EmptyWindow("a window needs at least one weekday")
    if not allowed <= frozenset(range(7)):
        raise EmptyWindow(f"weekdays must be 0 (mon) to 6 (sun), got {sorted(allowed)}")
    return allowed


# ---------------------------------------------------------------- instants


def send_key(email: str, step: str) -> str:
    """The key that picks a prospect's minute in a step's window (case-insensitive on the email)."""
    return f"{email.strip().lower()}\x1f{step}"


def minute_in_window(key: str, start: int, end: int) -> int:
    """A minute in [start, end) picked from `key`: spread, and identical in every process.

    blake2b, not `hash()`: Python's string hash changes with PYTHONHASHSEED, and previews
    must be reproducible.
    """
    if not 0 <= start < end <= MINUTES_PER_DAY:
        raise EmptyWindow(f"window {start}-{end} (minutes) is empty or outside the day")
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return start + int.from_bytes(digest, "big") % (end - start)


def _wall(d: date, minute: int, tz: tzinfo, fold: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=tz, fold=fold)


def _gap_minutes(d: date, minute: int, tz: tzinfo) -> int:
    """How far the clock jumps over this wall time (0 when the wall time exists).

    PEP 495: in a gap, fold=0 reads the wall time with the offset before the jump and fold=1
    with the offset after it, so the later offset is the larger one exactly when the time is missing.
    """
    before = _wall(d, minute, tz).utcoffset()
    after = _wall(d, minute, tz, fold=1).utcoffset()
    if before is None or after is None or after <= before:
        return 0
    return -(-int((after - before).total_seconds()) // 60)


def local_instant(d: date, minute: int, tz: tzinfo) -> datetime:
    """The real local instant for wall time `minute` on `d` (an aware datetime, fold normalised).

    A wall time in a DST gap moves forward by the gap (02:30 on a US spring-forward day is
    03:30 EDT; 02:10 on Lord Howe's 30-minute jump is 02:40). A wall time that occurs twice
    (fall back) is its first occurrence (fold=0, still on daylight time).
    """
    return _wall(d, minute, tz).astimezone(UTC).astimezone(tz)


def window_instant(d: date, minute: int, start: int, end: int, tz: tzinfo) -> datetime | None:
    """Like `local_instant`, but never leaves the window [start, end) on day `d`.

    In a gap the time moves forward by the gap; if that passes the window's end it takes the
    first real minute after the gap in the window, else the last real minute before it. None
    when the window has no real minute that day (it lies wholly inside a gap).
    """
    gap = _gap_minutes(d, minute, tz)
    if not gap:
        return _wall(d, minute, tz)
    candidates = [minute + gap, *range(minute + 1, end), *range(minute - 1, start - 1, -1)]
    for candidate in candidates:
        if start <= candidate < end and not _gap_minutes(d, candidate, tz):
            return _wall(d, candidate, tz)
    return None


_ONE_MINUTE = tuple(timedelta(minutes=m) for m in range(MINUTES_PER_DAY))
_UNIFORM_MEMO: dict[tuple[date, tzinfo, int, int], tuple[datetime, datetime] | None] = {}


def _uniform_bases(d: date, tz: tzinfo, start: int, end: int) -> tuple[datetime, datetime] | None:
    """(local midnight, UTC instant of local midnight at the window's offset) when one offset holds
    for the whole window on `d`; None when a transition falls inside it."""
    memo_key = (d, tz, start, end)
    try:
        return _UNIFORM_MEMO[memo_key]
    except KeyError:
        pass
    first, last = _wall(d, start, tz), _wall(d, end - 1, tz)
    offset = first.utcoffset()
    # Equal offsets at both ends under both folds: no gap or fold inside (zones never change
    # twice within a day and back again).
    uniform = offset is not None and offset == first.replace(fold=1).utcoffset() == last.utcoffset() \
        == last.replace(fold=1).utcoffset()
    result = None
    if uniform:
        midnight = datetime(d.year, d.month, d.day)
        result = (midnight.replace(tzinfo=tz), (midnight - offset).replace(tzinfo=UTC))
    if len(_UNIFORM_MEMO) >= _MEMO_LIMIT:
        _UNIFORM_MEMO.clear()
    _UNIFORM_MEMO[memo_key] = result
    return result


@dataclass(frozen=True, slots=True)
class Landing:
    """Where one touch lands: local date, local and UTC instants, and the written date if it moved."""

    date: date
    local: datetime
    utc: datetime
    rolled_from: date | None


_DATE_MEMO: dict[tuple[date, int, Weekdays, HolidayCheck], tuple[date, date | None]] = {}


def land(
    track_start: date,
    day: int,
    weekdays: Weekdays,
    start_min: int,
    end_min: int,
    tz: tzinfo | str,
    is_holiday: HolidayCheck,
    key: str,
) -> Landing:
    """Resolve one touch: roll the day, pick the minute from `key`, place it in the zone.

    `weekdays` must be a tuple (it is part of a memo key); `key` is usually `send_key(email, step)`.
    A window that lies wholly in a DST gap on the landed day moves the touch to the next open day.
    """
    if isinstance(tz, str):
        tz = zone(tz)
    memo_key = (track_start, day, weekdays, is_holiday)
    landed = _DATE_MEMO.get(memo_key)
    if landed is None:
        landed = land_date(track_start, day, weekdays, is_holiday)
        if len(_DATE_MEMO) >= _MEMO_LIMIT:
            _DATE_MEMO.clear()
        _DATE_MEMO[memo_key] = landed
    d, rolled_from = landed
    minute = minute_in_window(key, start_min, end_min)
    bases = _uniform_bases(d, tz, start_min, end_min)
    if bases is not None:
        step = _ONE_MINUTE[minute]
        return Landing(d, bases[0] + step, bases[1] + step, rolled_from)
    return _land_across_transition(d, rolled_from, minute, weekdays, start_min, end_min, tz, is_holiday)


def _land_across_transition(
    d: date, rolled_from: date | None, minute: int, weekdays: Weekdays,
    start: int, end: int, tz: tzinfo, is_holiday: HolidayCheck,
) -> Landing:
    written = rolled_from or d
    for _ in range(_MAX_ROLL_DAYS):
        local = window_instant(d, minute, start, end, tz)
        if local is not None:
            return Landing(d, local, local.astimezone(UTC), written if d != written else None)
        d = next_open_day(d, weekdays, is_holiday)
    raise EmptyWindow(f"window {format_hours(start, end)} never opens after {written.isoformat()}")


def clear_caches() -> None:
    """Forget memoised landings (tests, or after the zone database changes)."""
    _DATE_MEMO.clear()
    _UNIFORM_MEMO.clear()


# ---------------------------------------------------------------- warm-up and volume


@functools.cache
def _weeks_to_reach(daily_limit: int) -> int:
    weeks = 0
    while _compound(weeks) < daily_limit:
        weeks += 1
    return weeks


def _compound(weeks: int) -> int:
    # Exact integer arithmetic: 20 × 1.1^w in floats can land a hair under a whole number.
    return WARMUP_START * _GROWTH_NUM ** weeks // _GROWTH_DEN ** weeks


def warmup_allowance(day: date, since: date | None, daily_limit: int) -> int:
    """Emails one mailbox may send on `day`.

    20 a day in the first week after `since`, then +10% for each full week (compounded,
    rounded down), never above `daily_limit`. `since` None means fully warmed. Before
    `since` the mailbox is not warming yet and may send nothing.
    """
    if daily_limit <= 0:
        return 0
    if since is None:
        return daily_limit
    if day < since:
        return 0
    weeks = (day - since).days // 7
    if weeks >= _weeks_to_reach(daily_limit):
        return daily_limit
    return min(daily_limit, _compound(weeks))


def daily_capacity(day: date, since: date | None, mailboxes: int, daily_limit: int) -> int:
    """Emails all mailboxes together may send on `day`."""
    return max(mailboxes, 0) * warmup_allowance(day, since, daily_limit)


def planned_email_volume(
    start: date, enroll_per_day: int, offsets_by_weekday: Mapping[int, Iterable[int]], days: int
) -> tuple[tuple[date, int], ...]:
    """Emails planned on each of `days` calendar days from `start`.

    `enroll_per_day` prospects enter every business day (mon-fri) from `start`, and each one
    entering on weekday w gets an email `o` calendar days later for every `o` in
    `offsets_by_weekday[w]` (the main track's emails as they land; see `EnrolledWeekday.offsets`).
    Every email is counted: guards and replies can only lower the real volume.
    """
    offsets = {w: tuple(offsets_by_weekday.get(w, ())) for w in BUSINESS_DAYS}
    volume = [0] * max(days, 0)
    for i in range(len(volume)):
        enrolled = start + timedelta(days=i)
        if enrolled.weekday() not in offsets:
            continue
        for offset in offsets[enrolled.weekday()]:
            if 0 <= i + offset < len(volume):
                volume[i + offset] += enroll_per_day
    return tuple((start + timedelta(days=i), n) for i, n in enumerate(volume))


@dataclass(frozen=True, slots=True)
class Overload:
    """A day on which the planned emails exceed what the warming mailboxes may send."""

    date: date
    planned: int
    capacity: int

    @property
    def excess(self) -> int:
        return self.planned - self.capacity


def volume_horizon(
    start: date, offsets_by_weekday: Mapping[int, Iterable[int]], since: date | None, daily_limit: int
) -> int:
    """Days from `start` after which nothing new can happen: the pipeline is full (volume repeats
    weekly) and the mailboxes are fully warmed (capacity is flat), plus one week."""
    longest = max((o for offs in offsets_by_weekday.values() for o in offs), default=0)
    settled = start + timedelta(days=longest)
    if since is not None:
        warmed = since + timedelta(days=7 * _weeks_to_reach(max(daily_limit, 0)))
        settled = max(settled, warmed + timedelta(days=longest))
    return (settled - start).days + 8


def first_over_capacity(
    start: date,
    enroll_per_day: int,
    offsets_by_weekday: Mapping[int, Iterable[int]],
    since: date | None,
    mailboxes: int,
    daily_limit: int,
    horizon_days: int | None = None,
) -> Overload | None:
    """The first day from `start` whose planned emails exceed `mailboxes` × the warm-up allowance.

    With no `horizon_days`, checks until volume and capacity stop changing, which decides
    the question for an open-ended enrollment.
    """
    offsets = {w: tuple(o) for w, o in offsets_by_weekday.items()}
    if horizon_days is None:
        horizon_days = volume_horizon(start, offsets, since, daily_limit)
    for day, planned in planned_email_volume(start, enroll_per_day, offsets, horizon_days):
        capacity = daily_capacity(day, since, mailboxes, daily_limit)
        if planned > capacity:
            return Overload(day, planned, capacity)
    return None


# ---------------------------------------------------------------- schedule as it lands

# Any Monday works without holidays; a fixed one keeps results reproducible.
REFERENCE_MONDAY = date(2001, 1, 1)


@dataclass(frozen=True, slots=True)
class LandedTouch:
    step: str
    day: int
    date: date
    rolled_from: date | None


@dataclass(frozen=True, slots=True)
class EnrolledWeekday:
    """One enrollment (on `enrolled`) and where each touch lands for it."""

    enrolled: date
    touches: tuple[LandedTouch, ...]

    @property
    def weekday(self) -> str:
        return WEEKDAY_NAMES[self.enrolled.weekday()]

    def offsets(self, steps: Iterable[str] | None = None) -> tuple[int, ...]:
        """Calendar days from enrollment to each landed touch (only `steps` when given)."""
        wanted = None if steps is None else frozenset(steps)
        return tuple((t.date - self.enrolled).days for t in self.touches if wanted is None or t.step in wanted)


def enrollment_landings(
    touches: Iterable[tuple[str, int, Iterable[int]]],
    reference_monday: date = REFERENCE_MONDAY,
    is_holiday: HolidayCheck = NO_HOLIDAYS,
) -> tuple[EnrolledWeekday, ...]:
    """For an enrollment on each weekday mon-fri of the week of `reference_monday`, where each
    `(step, day, weekdays)` of one track lands."""
    if reference_monday.weekday() != 0:
        raise ValueError(f"{reference_monday.isoformat()} is not a Monday")
    touches = [(name, day, tuple(days)) for name, day, days in touches]
    weeks = []
    for offset in BUSINESS_DAYS:
        enrolled = reference_monday + timedelta(days=offset)
        landed = tuple(
            LandedTouch(name, day, *land_date(enrolled, day, days, is_holiday)) for name, day, days in touches
        )
        weeks.append(EnrolledWeekday(enrolled, landed))
    return tuple(weeks)


def offsets_by_weekday(
    landings: Iterable[EnrolledWeekday], steps: Iterable[str] | None = None
) -> dict[int, tuple[int, ...]]:
    """`{weekday: offsets}` from `enrollment_landings`, ready for `first_over_capacity`."""
    wanted = None if steps is None else tuple(steps)
    return {week.enrolled.weekday(): week.offsets(wanted) for week in landings}


@dataclass(frozen=True, slots=True)
class Gap:
    """The closest two consecutive touches come, for the enrollment weekday where it is worst."""

    days: int
    enrolled: date
    first: LandedTouch
    second: LandedTouch

    @property
    def weekday(self) -> str:
        return WEEKDAY_NAMES[self.enrolled.weekday()]


def closest_gap(landings: Iterable[EnrolledWeekday], steps: Iterable[str] | None = None) -> Gap | None:
    """The smallest calendar gap between touches (among `steps`) as they land, over all enrollment
    weekdays; ties go to the earlier enrollment weekday, then the earlier pair. None with < 2 touches."""
    wanted = None if steps is None else frozenset(steps)
    best: Gap | None = None
    for week in landings:
        chosen = [t for t in week.touches if wanted is None or t.step in wanted]
        ordered = sorted(chosen, key=lambda t: t.date)  # stable: written order breaks same-day ties
        for a, b in zip(ordered, ordered[1:]):
            gap = (b.date - a.date).days
            if best is None or gap < best.days:
                best = Gap(gap, week.enrolled, a, b)
    return best

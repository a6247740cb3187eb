"""Mapping a prospect's time zone onto a tool's closed list of zone names.

Some tools take one time zone per campaign from a fixed list that leaves out common zones
(Instantly has no `America/New_York`). seqc picks a listed zone whose clock agrees with the
prospect's at the opening and the closing minute of the send window on every day of the
next `YEARS` years: the same UTC offset and the same DST dates, as far as sending can tell.

When no listed zone agrees exactly, a zone whose clock differs by the same amount on every
one of those days will do, with the window moved by that amount (Los Angeles 10:00-12:00 is
Boise 11:00-13:00: both follow the US DST rules, one hour apart), provided the moved window
stays inside the day. Among candidates seqc prefers no shift, then the smallest shift, then
a zone in the same area (`America/…` for `America/…`), then the first name alphabetically.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from compiler import timing

YEARS = 10
_UTC = timezone.utc


@dataclass(frozen=True, slots=True)
class ZoneChoice:
    """The listed `zone` standing in for `source`, and the minutes to add to the window."""

    source: str
    zone: str
    shift: int = 0

    @property
    def exact(self) -> bool:
        return self.source == self.zone


def map_zone(name: str, zones: frozenset[str], start: int, end: int, horizon: date) -> ZoneChoice | None:
    """The listed zone for `name` and a window of minutes [start, end), or None if none fits."""
    if name in zones:
        return ZoneChoice(name, name)
    if not timing.is_valid_zone(name):
        return None
    return _best(name, tuple(sorted(zones)), start, end, horizon)


@functools.lru_cache(maxsize=512)
def _best(name: str, zones: tuple[str, ...], start: int, end: int, horizon: date) -> ZoneChoice | None:
    source = timing.zone(name)
    probes = (datetime(horizon.year, 1, 15, 12, tzinfo=_UTC), datetime(horizon.year, 7, 15, 12, tzinfo=_UTC))
    area = name.split("/", 1)[0]
    candidates = []
    for candidate in zones:
        if not timing.is_valid_zone(candidate):
            continue
        tz = timing.zone(candidate)
        diffs = {_minutes(p.astimezone(tz).utcoffset()) - _minutes(p.astimezone(source).utcoffset()) for p in probes}
        if len(diffs) != 1:
            continue
        shift = diffs.pop()
        if start + shift < 0 or end + shift > timing.MINUTES_PER_DAY:
            continue
        candidates.append((shift != 0, abs(shift), candidate.split("/", 1)[0] != area, candidate, shift))
    for *_, candidate, shift in sorted(candidates):
        if _agrees(name, candidate, shift, start, end, horizon):
            return ZoneChoice(name, candidate, shift)
    return None


def _minutes(delta: timedelta | None) -> int:
    return int(delta.total_seconds() // 60) if delta is not None else 0


def _agrees(name: str, candidate: str, shift: int, start: int, end: int, horizon: date) -> bool:
    """Whether `candidate`'s clock reads the window's first and last minute + `shift` on every day."""
    source, target = timing.zone(name), timing.zone(candidate)
    day = horizon
    last = date(horizon.year + YEARS, horizon.month, min(horizon.day, 28))
    one = timedelta(days=1)
    while day < last:
        for minute in (start, end - 1):
            instant = timing.local_instant(day, minute, source)
            wall = instant.astimezone(target).replace(tzinfo=None)
            minutes = instant.hour * 60 + instant.minute + shift
            expected = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
            if wall != expected:
                return False
        day += one
    return True

"""compiler.timing: windows, zones, DST, holidays, warm-up and volume, against hand-computed tables."""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import sys
import zoneinfo
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import timing
from compiler.timing import (
    BUSINESS_DAYS,
    NO_HOLIDAYS,
    EmptyWindow,
    UnknownCountry,
    UnknownZone,
    daily_capacity,
    first_over_capacity,
    holiday_checker,
    land,
    land_date,
    local_instant,
    minute_in_window,
    planned_email_volume,
    warmup_allowance,
    window_instant,
    zone,
)

UTC = timezone.utc
MON_FRI = (0, 1, 2, 3, 4)
TUE_THU = (1, 2, 3)
SUN = (6,)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def d(text: str) -> date:
    return date.fromisoformat(text)


# ---------------------------------------------------------------- zones


@pytest.mark.parametrize("name", ["America/New_York", "Europe/London", "Asia/Kathmandu", "Pacific/Chatham", "UTC"])
def test_known_zones_load(name):
    assert timing.is_valid_zone(name)
    assert zone(name).key == name
    assert zone(name) is zone(name)


@pytest.mark.parametrize("name", [
    "", " ", "../etc/passwd", "/etc/localtime", "America/../Europe/Paris", "America/New_York/..",
    "Mars/Olympus_Mons", "America/New York", "localtime", "a" * 10_000, "Europe\\Berlin", "UTC\x00",
])
def test_unknown_zones_are_rejected(name):
    assert not timing.is_valid_zone(name)
    with pytest.raises(UnknownZone):
        zone(name)


@pytest.mark.parametrize("name", [None, 5, b"UTC"])
def test_non_string_zone_is_rejected(name):
    assert not timing.is_valid_zone(name)
    with pytest.raises(UnknownZone):
        zone(name)


def test_unknown_zone_suggests_the_right_spelling():
    with pytest.raises(UnknownZone, match="did you mean 'America/New_York'"):
        zone("america/new_york")
    with pytest.raises(UnknownZone, match="did you mean 'Europe/Berlin'"):
        zone("Europe/Berln")


def test_unknown_zone_is_a_value_error_with_one_line():
    with pytest.raises(ValueError) as info:
        zone("x" * 500)
    assert "\n" not in str(info.value) and len(str(info.value)) < 120


# ---------------------------------------------------------------- local instants (wall time -> instant)

# (zone, date, wall time) -> expected local ISO and UTC ISO, all worked out by hand from the offsets.
INSTANTS = [
    ("America/New_York", "2027-01-05", "10:00", "2027-01-05T10:00:00-05:00", "2027-01-05T15:00:00+00:00"),
    ("America/New_York", "2027-07-06", "10:00", "2027-07-06T10:00:00-04:00", "2027-07-06T14:00:00+00:00"),
    ("Europe/London", "2027-01-05", "10:00", "2027-01-05T10:00:00+00:00", "2027-01-05T10:00:00+00:00"),
    ("Europe/London", "2027-07-06", "10:00", "2027-07-06T10:00:00+01:00", "2027-07-06T09:00:00+00:00"),
    ("Australia/Sydney", "2027-01-05", "10:00", "2027-01-05T10:00:00+11:00", "2027-01-04T23:00:00+00:00"),
    ("Australia/Sydney", "2027-07-06", "10:00", "2027-07-06T10:00:00+10:00", "2027-07-06T00:00:00+00:00"),
    ("Australia/Lord_Howe", "2027-01-05", "10:00", "2027-01-05T10:00:00+11:00", "2027-01-04T23:00:00+00:00"),
    ("Australia/Lord_Howe", "2027-07-06", "10:00", "2027-07-06T10:00:00+10:30", "2027-07-05T23:30:00+00:00"),
    ("Asia/Kathmandu", "2027-01-05", "10:00", "2027-01-05T10:00:00+05:45", "2027-01-05T04:15:00+00:00"),
    ("Pacific/Chatham", "2027-01-05", "10:00", "2027-01-05T10:00:00+13:45", "2027-01-04T20:15:00+00:00"),
    ("Pacific/Chatham", "2027-07-06", "10:00", "2027-07-06T10:00:00+12:45", "2027-07-05T21:15:00+00:00"),
    # year ends: the UTC instant is in the other year
    ("Australia/Sydney", "2027-12-31", "10:00", "2027-12-31T10:00:00+11:00", "2027-12-30T23:00:00+00:00"),
    ("Pacific/Kiritimati", "2028-01-01", "09:00", "2028-01-01T09:00:00+14:00", "2027-12-31T19:00:00+00:00"),
    ("America/Los_Angeles", "2027-12-31", "17:30", "2027-12-31T17:30:00-08:00", "2028-01-01T01:30:00+00:00"),
    # US spring forward (2027-03-14, 02:00 -> 03:00): a missing time moves forward by the gap
    ("America/New_York", "2027-03-14", "01:45", "2027-03-14T01:45:00-05:00", "2027-03-14T06:45:00+00:00"),
    ("America/New_York", "2027-03-14", "02:30", "2027-03-14T03:30:00-04:00", "2027-03-14T07:30:00+00:00"),
    ("America/New_York", "2027-03-14", "03:00", "2027-03-14T03:00:00-04:00", "2027-03-14T07:00:00+00:00"),
    # US fall back (2027-11-07, 02:00 -> 01:00): a repeated time is its first occurrence (EDT)
    ("America/New_York", "2027-11-07", "01:30", "2027-11-07T01:30:00-04:00", "2027-11-07T05:30:00+00:00"),
    ("America/New_York", "2027-11-07", "02:00", "2027-11-07T02:00:00-05:00", "2027-11-07T07:00:00+00:00"),
    # UK (2027-03-28 01:00 -> 02:00; 2027-10-31 02:00 -> 01:00)
    ("Europe/London", "2027-03-28", "01:30", "2027-03-28T02:30:00+01:00", "2027-03-28T01:30:00+00:00"),
    ("Europe/London", "2027-10-31", "01:30", "2027-10-31T01:30:00+01:00", "2027-10-31T00:30:00+00:00"),
    # Lord Howe's half-hour DST (2027-10-03 02:00 -> 02:30; 2027-04-04 02:00 -> 01:30)
    ("Australia/Lord_Howe", "2027-10-03", "02:10", "2027-10-03T02:40:00+11:00", "2027-10-02T15:40:00+00:00"),
    ("Australia/Lord_Howe", "2027-04-04", "01:45", "2027-04-04T01:45:00+11:00", "2027-04-03T14:45:00+00:00"),
    # Chatham (2027-09-26 02:45 -> 03:45; 2027-04-04 03:45 -> 02:45)
    ("Pacific/Chatham", "2027-09-26", "03:00", "2027-09-26T04:00:00+13:45", "2027-09-25T14:15:00+00:00"),
    ("Pacific/Chatham", "2027-04-04", "03:00", "2027-04-04T03:00:00+13:45", "2027-04-03T13:15:00+00:00"),
]


@pytest.mark.parametrize(("tz", "day", "wall", "local", "utc"), INSTANTS)
def test_local_instant(tz, day, wall, local, utc):
    got = local_instant(d(day), hm(wall), zone(tz))
    assert got.isoformat() == local
    assert got.astimezone(UTC).isoformat() == utc


# A window that straddles the transition: the instant never leaves the window.
# (zone, date, window, chosen wall minute) -> expected local ISO, or None when the window has no real minute.
WINDOW_INSTANTS = [
    # 01:30-03:30 on US spring-forward day: 02:15 + 1 h gap = 03:15 still inside
    ("America/New_York", "2027-03-14", "01:30", "03:30", "02:15", "2027-03-14T03:15:00-04:00"),
    # 02:45 + 1 h = 03:45 is past the end; the first real minute after the gap is 03:00
    ("America/New_York", "2027-03-14", "01:30", "03:30", "02:45", "2027-03-14T03:00:00-04:00"),
    ("America/New_York", "2027-03-14", "01:30", "03:30", "01:59", "2027-03-14T01:59:00-05:00"),
    # 01:30-02:30: nothing real after the gap inside the window -> the last real minute before it
    ("America/New_York", "2027-03-14", "01:30", "02:30", "02:10", "2027-03-14T01:59:00-05:00"),
    # wholly inside the gap
    ("America/New_York", "2027-03-14", "02:00", "03:00", "02:30", None),
    ("Australia/Lord_Howe", "2027-10-03", "02:00", "02:30", "02:10", None),
    ("Australia/Lord_Howe", "2027-10-03", "01:30", "03:00", "02:10", "2027-10-03T02:40:00+11:00"),
    # fall back windows: first occurrence
    ("America/New_York", "2027-11-07", "00:30", "02:30", "01:30", "2027-11-07T01:30:00-04:00"),
    ("Pacific/Chatham", "2027-04-04", "02:00", "04:00", "03:15", "2027-04-04T03:15:00+13:45"),
]


@pytest.mark.parametrize(("tz", "day", "start", "end", "wall", "expected"), WINDOW_INSTANTS)
def test_window_instant_stays_in_window(tz, day, start, end, wall, expected):
    got = window_instant(d(day), hm(wall), hm(start), hm(end), zone(tz))
    assert (got.isoformat() if got else None) == expected


# ---------------------------------------------------------------- land: full resolution

# The key is chosen (with an independent blake2b) so that it picks the minute `at`.
# (track start, day, weekdays, window, at, zone, holidays) -> (date, local ISO, UTC ISO, rolled_from)
LANDINGS = [
    ("2027-01-05", 0, TUE_THU, "10:00-10:01", "10:00", "America/New_York", None,
     "2027-01-05", "2027-01-05T10:00:00-05:00", "2027-01-05T15:00:00+00:00", None),
    # day 3 from a Tuesday is a Friday: tue-thu rolls it to the next Tuesday
    ("2027-01-05", 3, TUE_THU, "10:00-10:01", "10:00", "America/New_York", None,
     "2027-01-12", "2027-01-12T10:00:00-05:00", "2027-01-12T15:00:00+00:00", "2027-01-08"),
    ("2027-01-05", 5, MON_FRI, "14:00-14:01", "14:00", "Europe/London", None,
     "2027-01-11", "2027-01-11T14:00:00+00:00", "2027-01-11T14:00:00+00:00", "2027-01-10"),
    ("2027-01-04", 1, MON_FRI, "10:00-10:01", "10:00", "Asia/Kathmandu", None,
     "2027-01-05", "2027-01-05T10:00:00+05:45", "2027-01-05T04:15:00+00:00", None),
    ("2027-01-04", 1, MON_FRI, "09:30-09:31", "09:30", "Pacific/Chatham", "NZ",
     "2027-01-05", "2027-01-05T09:30:00+13:45", "2027-01-04T19:45:00+00:00", None),
    ("2027-07-05", 1, MON_FRI, "11:00-11:01", "11:00", "Australia/Lord_Howe", "AU",
     "2027-07-06", "2027-07-06T11:00:00+10:30", "2027-07-06T00:30:00+00:00", None),
    # holidays: New Year 2027 (Fri) -> Mon; Thanksgiving 2027-11-25 -> Fri; 2027-12-31 is New Year's observed
    ("2027-01-01", 0, MON_FRI, "10:00-10:01", "10:00", "America/New_York", "US",
     "2027-01-04", "2027-01-04T10:00:00-05:00", "2027-01-04T15:00:00+00:00", "2027-01-01"),
    ("2027-11-22", 3, MON_FRI, "10:00-10:01", "10:00", "America/Chicago", "US",
     "2027-11-26", "2027-11-26T10:00:00-06:00", "2027-11-26T16:00:00+00:00", "2027-11-25"),
    ("2027-12-30", 1, MON_FRI, "10:00-10:01", "10:00", "America/New_York", "US",
     "2028-01-03", "2028-01-03T10:00:00-05:00", "2028-01-03T15:00:00+00:00", "2027-12-31"),
    # Christmas 2027: US observes Fri 24th; the UK observes Mon 27th and Tue 28th
    ("2027-12-24", 0, MON_FRI, "10:00-10:01", "10:00", "America/New_York", "US",
     "2027-12-27", "2027-12-27T10:00:00-05:00", "2027-12-27T15:00:00+00:00", "2027-12-24"),
    ("2027-12-24", 0, MON_FRI, "10:00-10:01", "10:00", "Europe/London", "GB",
     "2027-12-24", "2027-12-24T10:00:00+00:00", "2027-12-24T10:00:00+00:00", None),
    ("2027-12-27", 0, MON_FRI, "10:00-10:01", "10:00", "Europe/London", "GB",
     "2027-12-29", "2027-12-29T10:00:00+00:00", "2027-12-29T10:00:00+00:00", "2027-12-27"),
    # UK Spring Bank Holiday 2027-05-31 (Mon)
    ("2027-05-28", 1, MON_FRI, "10:00-10:01", "10:00", "Europe/London", "GB",
     "2027-06-01", "2027-06-01T10:00:00+01:00", "2027-06-01T09:00:00+00:00", "2027-05-29"),
    # Tag der Deutschen Einheit 2028-10-03 (Tue); Thanksgiving is no German holiday
    ("2028-10-03", 0, MON_FRI, "10:00-10:01", "10:00", "Europe/Berlin", "DE",
     "2028-10-04", "2028-10-04T10:00:00+02:00", "2028-10-04T08:00:00+00:00", "2028-10-03"),
    ("2027-11-25", 0, MON_FRI, "10:00-10:01", "10:00", "Europe/Berlin", "DE",
     "2027-11-25", "2027-11-25T10:00:00+01:00", "2027-11-25T09:00:00+00:00", None),
    # a Sunday window straddling US spring-forward: 02:30 does not exist -> 03:30 (window 01:30-04:00)
    ("2027-03-14", 0, SUN, "01:30-04:00", "02:30", "America/New_York", None,
     "2027-03-14", "2027-03-14T03:30:00-04:00", "2027-03-14T07:30:00+00:00", None),
    # Samoa skipped 2011-12-30 entirely: the touch moves to the next day that exists
    ("2011-12-30", 0, tuple(range(7)), "10:00-10:01", "10:00", "Pacific/Apia", None,
     "2011-12-31", "2011-12-31T10:00:00+14:00", "2011-12-30T20:00:00+00:00", "2011-12-30"),
    # window wholly inside Lord Howe's gap that Sunday: the touch moves to the next Sunday
    ("2027-10-03", 0, SUN, "02:00-02:30", "02:10", "Australia/Lord_Howe", None,
     "2027-10-10", "2027-10-10T02:10:00+11:00", "2027-10-09T15:10:00+00:00", "2027-10-03"),
]


@pytest.mark.parametrize(
    ("start", "day", "weekdays", "window", "at", "tz", "country", "landed", "local", "utc", "rolled"), LANDINGS
)
def test_land(start, day, weekdays, window, at, tz, country, landed, local, utc, rolled):
    lo, hi = (hm(t) for t in window.split("-"))
    key = _key_for_minute(hm(at), lo, hi)
    got = land(d(start), day, weekdays, lo, hi, zone(tz), holiday_checker(country), key)
    assert got.date.isoformat() == landed
    assert got.local.isoformat() == local
    assert got.utc.isoformat() == utc
    assert (got.rolled_from.isoformat() if got.rolled_from else None) == rolled
    assert got.utc.tzinfo is UTC and got.local.tzinfo is zone(tz)


def _key_for_minute(minute: int, start: int, end: int) -> str:
    """A key whose hash picks `minute` (searched with an independent blake2b, not the code under test)."""
    for i in range(100_000):
        key = f"probe{i}"
        h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
        if start + h % (end - start) == minute:
            return key
    raise AssertionError("no key found")


def test_land_accepts_a_zone_name():
    a = land(d("2027-01-05"), 0, MON_FRI, 600, 601, "Asia/Kathmandu", NO_HOLIDAYS, "k")
    assert a.utc.isoformat() == "2027-01-05T04:15:00+00:00"


def test_land_is_the_same_on_a_cold_and_a_warm_memo():
    args = (d("2027-03-12"), 2, SUN, hm("01:30"), hm("03:30"), zone("America/New_York"), NO_HOLIDAYS)
    keys = [f"p{i}@example.com\x1fopener" for i in range(200)]
    timing.clear_caches()
    cold = [land(*args, k) for k in keys]
    warm = [land(*args, k) for k in keys]
    assert cold == warm


# ---------------------------------------------------------------- land_date and holidays


@pytest.mark.parametrize(("start", "day", "weekdays", "country", "expected", "rolled"), [
    ("2027-01-04", 0, MON_FRI, None, "2027-01-04", None),
    ("2027-01-08", 1, MON_FRI, None, "2027-01-11", "2027-01-09"),
    ("2027-01-08", 0, TUE_THU, None, "2027-01-12", "2027-01-08"),
    ("2027-01-04", 2, (0, 2, 4), None, "2027-01-06", None),
    ("2027-01-04", 3, (0, 2, 4), None, "2027-01-08", "2027-01-07"),
    ("2027-01-04", -1, MON_FRI, None, "2027-01-04", "2027-01-03"),
    ("2027-01-01", 0, MON_FRI, "US", "2027-01-04", "2027-01-01"),
    ("2027-11-25", 0, MON_FRI, "us", "2027-11-26", "2027-11-25"),
    ("2027-11-25", 0, TUE_THU, "US", "2027-11-30", "2027-11-25"),
    ("2027-05-03", 0, MON_FRI, "GB", "2027-05-04", "2027-05-03"),
    ("2028-10-03", 0, TUE_THU, "DE", "2028-10-04", "2028-10-03"),
    ("2027-12-24", 0, range(7), "DE", "2027-12-24", None),
    ("2027-12-25", 0, range(7), "DE", "2027-12-27", "2027-12-25"),
])
def test_land_date(start, day, weekdays, country, expected, rolled):
    got, rolled_from = land_date(d(start), day, tuple(weekdays), holiday_checker(country))
    assert got.isoformat() == expected
    assert (rolled_from.isoformat() if rolled_from else None) == rolled


@pytest.mark.parametrize("weekdays", [(), (7,), (-1,)])
def test_land_date_rejects_windows_without_days(weekdays):
    with pytest.raises(EmptyWindow):
        land_date(d("2027-01-04"), 0, weekdays)


def test_land_date_gives_up_when_every_open_day_is_a_holiday():
    with pytest.raises(EmptyWindow, match="no open day"):
        land_date(d("2027-01-04"), 0, MON_FRI, lambda _: True)


@pytest.mark.parametrize(("country", "day", "name"), [
    ("US", "2027-11-25", "Thanksgiving Day"),
    ("US", "2027-12-24", "Christmas Day (observed)"),
    ("US", "2027-12-31", "New Year's Day (observed)"),
    ("DE", "2028-10-03", "German Unity Day"),
    ("GB", "2027-05-31", "Spring Bank Holiday"),
    ("GB", "2027-05-04", None),
    ("US", "2027-11-26", None),
])
def test_holiday_names(country, day, name):
    calendar = holiday_checker(country)
    assert calendar(d(day)) is (name is not None)
    assert calendar.name(d(day)) == name


def test_holiday_calendars_are_cached_per_country():
    assert holiday_checker("US") is holiday_checker("us")
    assert holiday_checker(None) is NO_HOLIDAYS and not NO_HOLIDAYS(d("2027-12-25"))


@pytest.mark.parametrize("code", ["US", "us", "DE", "GB", "NP", "NZ"])
def test_known_countries(code):
    assert timing.is_known_country(code)


@pytest.mark.parametrize("code", ["UK", "XX", "USA", "", "U", 49, "../"])
def test_unknown_countries(code):
    assert not timing.is_known_country(code)
    with pytest.raises(UnknownCountry):
        holiday_checker(code)


# ---------------------------------------------------------------- minute in window


def test_minute_in_window_is_stable_across_hash_seeds():
    code = "from compiler.timing import minute_in_window as m; print([m(f'p{i}@x.io\\x1fopener', 600, 720) for i in range(20)])"
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_minute_in_window_matches_an_independent_blake2b():
    for i in range(50):
        key = f"p{i}@example.com\x1fvalue"
        h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
        assert minute_in_window(key, 600, 720) == 600 + h % 120


def test_minute_in_window_spreads():
    minutes = [minute_in_window(timing.send_key(f"p{i}@example.com", "opener"), 600, 720) for i in range(2400)]
    assert min(minutes) >= 600 and max(minutes) <= 719
    # 120 buckets, 20 expected each: every minute is used and none is crowded
    counts = [minutes.count(m) for m in range(600, 720)]
    assert min(counts) >= 5 and max(counts) <= 40


def test_send_key_ignores_email_case_and_spaces():
    assert timing.send_key(" Ana@Example.com ", "opener") == timing.send_key("ana@example.com", "opener")
    assert timing.send_key("ana@example.com", "opener") != timing.send_key("ana@example.com", "value")


@pytest.mark.parametrize(("start", "end"), [(600, 600), (700, 600), (-1, 10), (0, 1441)])
def test_minute_in_window_rejects_empty_windows(start, end):
    with pytest.raises(EmptyWindow):
        minute_in_window("k", start, end)


# ---------------------------------------------------------------- property: instants are real, in window, on open days

ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "posixrules"})


@st.composite
def windows(draw):
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(start + 1, 1440))
    days = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1))))
    return days, start, end


def _real_minutes(day: date, start: int, end: int, tz) -> list[int]:
    """Minutes of [start, end) that exist on `day`, by round-tripping each through UTC."""
    real = []
    for m in range(start, end):
        wall = datetime(day.year, day.month, day.day, m // 60, m % 60)
        back = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back == wall:
            real.append(m)
    return real


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tz_name=st.sampled_from(ZONES),
    start=st.dates(date(2000, 1, 1), date(2060, 12, 31)),
    day=st.integers(0, 60),
    window=windows(),
    country=st.sampled_from([None, "US", "DE", "GB", "NP"]),
    email=st.emails(),
)
def test_landings_are_real_in_window_and_on_open_days(tz_name, start, day, window, country, email):
    weekdays, lo, hi = window
    tz = zone(tz_name)
    is_holiday = holiday_checker(country)
    key = timing.send_key(email, "step")
    got = land(start, day, weekdays, lo, hi, tz, is_holiday, key)

    # round trip UTC -> local gives the same wall time and offset
    back = got.utc.astimezone(tz)
    assert back.replace(tzinfo=None) == got.local.replace(tzinfo=None)
    assert back.utcoffset() == got.local.utcoffset()
    assert got.local.astimezone(UTC) == got.utc
    # inside the window, on the landed date, on an allowed weekday, not a holiday
    minute = got.local.hour * 60 + got.local.minute
    assert lo <= minute < hi and got.local.second == 0
    assert got.local.date() == got.date
    assert got.date.weekday() in weekdays
    assert not is_holiday(got.date)
    # never earlier than written; every skipped day was closed
    written = start + timedelta(days=day)
    assert got.date >= written
    assert got.rolled_from == (written if got.date != written else None)
    skipped = written
    while skipped < got.date:
        assert skipped.weekday() not in weekdays or is_holiday(skipped) or not _real_minutes(skipped, lo, hi, tz)
        skipped += timedelta(days=1)
    # the minute is the key's minute whenever that wall time exists that day
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    chosen = lo + h % (hi - lo)
    if chosen in _real_minutes(got.date, chosen, chosen + 1, tz):
        assert minute == chosen


DST_ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago",
             "America/Havana", "Asia/Beirut", "Africa/Cairo", "Pacific/Apia", "America/St_Johns", "Antarctica/Troll"]


@functools.cache
def _transition_days(tz_name: str, year: int) -> tuple[date, ...]:
    """Days of `year` whose offset at the end differs from the start (found by scanning, not by timing)."""
    tz = zoneinfo.ZoneInfo(tz_name)
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        first = datetime(day.year, day.month, day.day, tzinfo=tz).utcoffset()
        last = datetime(day.year, day.month, day.day, 23, 59, tzinfo=tz).utcoffset()
        if first != last:
            days.append(day)
        day += timedelta(days=1)
    return tuple(days) or (date(year, 1, 1),)


@st.composite
def transition_days(draw):
    tz_name = draw(st.sampled_from(DST_ZONES))
    return tz_name, draw(st.sampled_from(_transition_days(tz_name, draw(st.integers(2009, 2040)))))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=transition_days(), window=windows(), email=st.emails())
def test_landings_on_transition_days(where, window, email):
    tz_name, day = where
    _, lo, hi = window
    tz = zone(tz_name)
    got = land(day, 0, tuple(range(7)), lo, hi, tz, NO_HOLIDAYS, timing.send_key(email, "s"))
    assert got.utc.astimezone(tz).replace(tzinfo=None) == got.local.replace(tzinfo=None)
    assert got.local.astimezone(UTC) == got.utc
    assert lo <= got.local.hour * 60 + got.local.minute < hi
    real = _real_minutes(day, lo, hi, tz)
    assert (got.date == day) == bool(real)
    if real:
        assert got.local.hour * 60 + got.local.minute in real


# ---------------------------------------------------------------- warm-up

SINCE = d("2027-01-01")


@pytest.mark.parametrize(("day", "since", "limit", "expected"), [
    ("2027-01-01", SINCE, 40, 20),   # first day
    ("2027-01-07", SINCE, 40, 20),   # day 6: still week 0
    ("2027-01-08", SINCE, 40, 22),   # 20 × 1.1
    ("2027-01-15", SINCE, 40, 24),   # 24.2
    ("2027-01-22", SINCE, 40, 26),   # 26.62
    ("2027-01-29", SINCE, 40, 29),   # 29.282
    ("2027-02-05", SINCE, 40, 32),   # 32.21
    ("2027-02-12", SINCE, 40, 35),   # 35.43
    ("2027-02-19", SINCE, 40, 38),   # 38.97
    ("2027-02-26", SINCE, 40, 40),   # 42.87, capped
    ("2027-02-26", SINCE, 1000, 42),
    ("2027-07-30", SINCE, 1000, 348),  # week 30: 20 × 1.1^30 = 348.99
    ("2031-01-01", SINCE, 50, 50),
    ("2026-12-31", SINCE, 40, 0),    # before warm-up starts
    ("2027-01-01", SINCE, 15, 15),   # a limit under the starting volume
    ("2027-01-01", None, 40, 40),    # fully warmed
    ("2027-01-01", SINCE, 0, 0),
])
def test_warmup_allowance(day, since, limit, expected):
    assert warmup_allowance(d(day), since, limit) == expected


def test_daily_capacity_multiplies_mailboxes():
    assert daily_capacity(d("2027-01-08"), SINCE, 4, 40) == 88
    assert daily_capacity(d("2027-01-08"), None, 4, 40) == 160
    assert daily_capacity(d("2027-01-08"), SINCE, 0, 40) == 0


# ---------------------------------------------------------------- as it lands: enrollment weekdays, gaps, volume

REF = d("2001-01-01")  # a Monday


def test_enrollment_landings_follow_each_weekday():
    weeks = timing.enrollment_landings([("opener", 0, MON_FRI), ("value", 3, MON_FRI)], REF)
    assert [w.weekday for w in weeks] == ["mon", "tue", "wed", "thu", "fri"]
    # day 3 from wed/thu/fri is sat/sun/mon: the first two roll to monday
    assert [w.offsets() for w in weeks] == [(0, 3), (0, 3), (0, 5), (0, 4), (0, 3)]
    assert timing.offsets_by_weekday(weeks, ["value"]) == {0: (3,), 1: (3,), 2: (5,), 3: (4,), 4: (3,)}
    assert weeks[2].touches[1].rolled_from == d("2001-01-06")


def test_closest_gap_names_the_worst_enrollment_day():
    # email tue-thu: enrolled tuesday, value (day 3, a friday) rolls onto proof's tuesday
    weeks = timing.enrollment_landings(
        [("opener", 0, TUE_THU), ("value", 3, TUE_THU), ("proof", 7, TUE_THU)], REF
    )
    assert [tuple(t.date.isoformat() for t in w.touches) for w in weeks] == [
        ("2001-01-02", "2001-01-04", "2001-01-09"),  # mon: opener rolls to tue
        ("2001-01-02", "2001-01-09", "2001-01-09"),  # tue
        ("2001-01-03", "2001-01-09", "2001-01-10"),  # wed
        ("2001-01-04", "2001-01-09", "2001-01-11"),  # thu
        ("2001-01-09", "2001-01-09", "2001-01-16"),  # fri: opener and value both tuesday
    ]
    gap = timing.closest_gap(weeks)
    assert (gap.days, gap.weekday, gap.first.step, gap.second.step) == (0, "tue", "value", "proof")
    only = timing.closest_gap(weeks, ["opener", "proof"])
    assert (only.days, only.weekday) == (7, "mon")  # a week apart for every weekday: the first wins
    assert timing.closest_gap(weeks, ["opener"]) is None


def test_enrollment_landings_need_a_monday():
    with pytest.raises(ValueError):
        timing.enrollment_landings([("a", 0, MON_FRI)], d("2001-01-02"))


OFFSETS = {0: (0, 3), 1: (0, 3), 2: (0, 5), 3: (0, 4), 4: (0, 3)}


def test_planned_email_volume():
    volume = planned_email_volume(d("2027-01-04"), 10, OFFSETS, 14)
    assert [n for _, n in volume] == [10, 10, 10, 20, 20, 0, 0, 40, 10, 10, 20, 20, 0, 0]
    assert volume[0][0] == d("2027-01-04") and volume[-1][0] == d("2027-01-17")


def test_planned_volume_starting_on_a_weekend_enrolls_from_monday():
    volume = planned_email_volume(d("2027-01-02"), 10, OFFSETS, 4)
    assert [n for _, n in volume] == [0, 0, 10, 10]


@pytest.mark.parametrize(("since", "mailboxes", "limit", "expected"), [
    ("2027-01-04", 1, 40, ("2027-01-11", 40, 22)),   # monday of week 2: 10 openers + 3 × 10 rolled value emails
    ("2027-01-04", 2, 40, None),                      # 40 a day in week 1, 44 after
    (None, 1, 40, None),                              # fully warmed: 40 fits
    (None, 1, 39, ("2027-01-11", 40, 39)),
    ("2027-01-11", 4, 40, ("2027-01-04", 10, 0)),     # warm-up has not started
])
def test_first_over_capacity(since, mailboxes, limit, expected):
    got = first_over_capacity(d("2027-01-04"), 10, OFFSETS, since and d(since), mailboxes, limit)
    if expected is None:
        assert got is None
    else:
        assert (got.date.isoformat(), got.planned, got.capacity) == expected
        assert got.excess == expected[1] - expected[2]


def test_first_over_capacity_looks_far_enough_by_default():
    late = {w: (0, 30) for w in BUSINESS_DAYS}  # the second email only starts a month in
    got = first_over_capacity(d("2027-01-04"), 10, late, None, 1, 15)
    assert (got.date, got.planned, got.capacity) == (d("2027-02-03"), 20, 15)
    assert first_over_capacity(d("2027-01-04"), 10, late, None, 1, 15, horizon_days=20) is None


def test_volume_horizon_covers_warmup_and_pipeline():
    # 40/day takes 8 weeks from 20; the longest email is 30 days out
    assert timing.volume_horizon(d("2027-01-04"), {0: (0, 30)}, d("2027-01-04"), 40) == 56 + 30 + 8


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(("days", "text"), [
    ((1, 2, 3), "tue-thu"), ((0, 1, 2, 3, 4), "mon-fri"), ((0, 2, 4), "mon,wed,fri"),
    ((0, 1), "mon,tue"), ((0, 1, 2, 4, 5, 6), "mon-wed,fri-sun"), ((6,), "sun"),
])
def test_format_weekdays(days, text):
    assert timing.format_weekdays(days) == text


def test_default_windows():
    assert timing.DEFAULT_WINDOWS["email"] == (MON_FRI, 600, 720)
    assert timing.DEFAULT_WINDOWS["linkedin"] == (MON_FRI, 660, 780)
    assert timing.DEFAULT_WINDOWS["call"] == (MON_FRI, 840, 960)
    assert timing.DEFAULT_WINDOWS["task"] == (MON_FRI, 540, 1020)
    assert timing.format_hours(540, 1020) == "09:00-17:00"

"""Benchmark: send times per second through `timing.land` vs a bare zoneinfo conversion loop.

Run from the repository root:  .venv/bin/python bench/schedule.py [--prospects N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compiler import timing  # noqa: E402

UTC = timezone.utc
ZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Kolkata",
         "Asia/Kathmandu", "Australia/Sydney", "Australia/Lord_Howe", "Pacific/Chatham", "America/Sao_Paulo")
COUNTRIES = ("US", "US", "GB", "DE", "IN", "NP", "AU", "AU", "NZ", "BR")
# The guide's mid-market sequence: (step, day, channel); email/LinkedIn tue-thu as in SPEC §3.2.
STEPS = (("opener", 0, "email"), ("invite", 1, "linkedin"), ("value", 3, "email"), ("first_call", 5, "call"),
         ("proof", 7, "email"), ("dm", 10, "linkedin"), ("breakup", 14, "email"))
WINDOWS = {"email": ((1, 2, 3), 600, 720), "linkedin": ((1, 2, 3), 660, 780), "call": ((0, 1, 2, 3, 4), 840, 960)}
CAMPAIGN_START = date(2027, 1, 4)


def prospects(n: int) -> list[tuple[str, date, int]]:
    """(email, enrollment date, zone index): 60 enrolled per business day, zones round-robin."""
    out = []
    business = [CAMPAIGN_START + timedelta(days=i) for i in range(400)
                if (CAMPAIGN_START + timedelta(days=i)).weekday() < 5]
    for i in range(n):
        out.append((f"prospect{i}@example{i % 97}.com", business[(i // 60) % len(business)], i % len(ZONES)))
    return out


def run_land(people: list[tuple[str, date, int]]) -> int:
    zones = [timing.zone(z) for z in ZONES]
    calendars = [timing.holiday_checker(c) for c in COUNTRIES]
    land, send_key = timing.land, timing.send_key
    count = 0
    for email, enrolled, z in people:
        tz, holidays = zones[z], calendars[z]
        for name, day, channel in STEPS:
            days, start, end = WINDOWS[channel]
            land(enrolled, day, days, start, end, tz, holidays, send_key(email, name))
            count += 1
    return count


def run_bare(people: list[tuple[str, date, int]]) -> int:
    """Only the conversion: wall time in the zone -> UTC, no rolling, hashing or DST care."""
    zones = [timing.zone(z) for z in ZONES]
    count = 0
    for i, (_, enrolled, z) in enumerate(people):
        tz = zones[z]
        for _, day, channel in STEPS:
            minute = WINDOWS[channel][1] + i % 120
            d = enrolled + timedelta(days=day)
            datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=tz).astimezone(UTC)
            count += 1
    return count


def best_rate(fn, people, repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        timing.clear_caches()  # every round starts cold: memo filling is part of the cost
        t0 = time.perf_counter()
        count = fn(people)
        best = min(best, time.perf_counter() - t0)
    return count / best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    people = prospects(args.prospects)
    run_land(people[:1000])  # load zones and holiday years outside the timed rounds
    land_rate, n = best_rate(run_land, people, args.repeat)
    bare_rate, _ = best_rate(run_bare, people, args.repeat)
    print(f"python {sys.version.split()[0]}, {args.prospects:,} prospects x {len(STEPS)} steps = {n:,} touches,"
          f" best of {args.repeat}")
    print(f"timing.land          {land_rate:>12,.0f} touches/s")
    print(f"bare zoneinfo loop   {bare_rate:>12,.0f} conversions/s")
    print(f"ratio (bare / land)  {bare_rate / land_rate:>12.2f}x")


if __name__ == "__main__":
    main()

"""Benchmark: prospect records/s, compiled validator vs a reused jsonschema validator.

Run from the repository root:

    .venv/bin/python bench/prospects.py [--records 50000] [--file-rows 200000]

Every figure is measured in this process on the same generated records (the SPEC §3.1
prospect block, 13 fields, about 3% bad records). Figures go in docs/prospects.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compiler import ir  # noqa: E402
from compiler import prospects as pr  # noqa: E402
from compiler.diagnostics import Span  # noqa: E402

SPAN = Span("bench.seq", 1, 1, 1, 2)
FIELDS = [
    ("email", "email", True), ("first_name", "text", True), ("company", "text", True), ("title", "text", False),
    ("timezone", "timezone", False), ("country", "country", False), ("linkedin_url", "url", False),
    ("phone", "phone", False), ("employees", "int", False), ("funding_round", "text", False),
    ("funding_days_ago", "int", False), ("new_vp_days_ago", "int", False), ("email_status", "enum", False),
]
STATUSES = ("verified", "risky", "invalid", "unknown")
PROSPECT = ir.Prospect(tuple(
    ir.Field(name, ftype, required, SPAN, STATUSES if ftype == "enum" else ()) for name, ftype, required in FIELDS
), SPAN)
ZONES = ("America/New_York", "Europe/Berlin", "Europe/London", "Asia/Tokyo", "America/Los_Angeles")
COUNTRIES = ("US", "DE", "GB", "FR", "JP", "CA")


def csv_record(rng: random.Random, i: int) -> dict[str, str]:
    """One record as a CSV row gives it: every value text, some optional cells empty, some bad."""
    record = {
        "email": f"user{i}@company{i % 997}.com", "first_name": rng.choice(("Ann", "Bob", "Chloé", "Dev")),
        "company": f"Company {i % 997}, Inc", "title": rng.choice(("VP Sales", "CRO", "", "Head of Growth")),
        "timezone": rng.choice(ZONES), "country": rng.choice(COUNTRIES),
        "linkedin_url": f"https://www.linkedin.com/in/user-{i}", "phone": f"+1 (415) 555-{i % 10000:04d}",
        "employees": str(rng.randrange(5, 20000)), "funding_round": rng.choice(("Series A", "Seed", "")),
        "funding_days_ago": rng.choice(("", str(rng.randrange(400)))), "new_vp_days_ago": "",
        "email_status": rng.choice(STATUSES),
    }
    if rng.random() < 0.03:
        record[rng.choice(("email", "timezone", "employees", "country"))] = rng.choice(("n/a", "Mars/Base", "1,200"))
    return record


def rate(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """Records per second of `fn` over `items` (best of three runs)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--file-rows", type=int, default=200_000)
    args = parser.parse_args()

    rng = random.Random(20270105)
    raw = [csv_record(rng, i) for i in range(args.records)]
    compiled = pr.RecordValidator(PROSPECT)
    normalized = [compiled.normalize(r)[0] for r in raw]  # typed: what a JSONL file would hold
    js_items = normalized[: min(len(normalized), 20_000)]
    js_formats = pr.schema_validator(PROSPECT)
    js_plain = type(js_formats)(pr.prospect_schema(PROSPECT))

    agree = sum(bool(compiled.normalize(d)[1]) == (not js_formats.is_valid(d)) for d in js_items)
    results = {
        "compiled, CSV text (convert + check)": rate(compiled.normalize, raw),
        "compiled, typed records (check)": rate(compiled.normalize, normalized),
        "jsonschema Draft202012Validator, formats on": rate(js_formats.is_valid, js_items),
        "jsonschema Draft202012Validator, formats off": rate(js_plain.is_valid, js_items),
    }

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "prospects.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            import csv

            writer = csv.DictWriter(f, fieldnames=[name for name, _, _ in FIELDS], lineterminator="\n")
            writer.writeheader()
            for i in range(args.file_rows):
                writer.writerow(raw[i % len(raw)])
        start = time.perf_counter()
        counts = pr.Counts()
        for item in pr.load_prospects(path, PROSPECT):
            counts.add(item)
        file_rate = counts.read / (time.perf_counter() - start)

    print(f"python {sys.version.split()[0]}, {args.records} records, 13 fields")
    for label, value in results.items():
        print(f"  {label:<46} {value:>10,.0f} records/s")
    label = f"load_prospects, CSV file of {args.file_rows} rows"
    print(f"  {label:<46} {file_rate:>10,.0f} records/s  ({counts.line()})")
    ratio = results["compiled, typed records (check)"] / results["jsonschema Draft202012Validator, formats on"]
    print(f"compiled / jsonschema (formats on): {ratio:.1f}x; verdicts agree on {agree}/{len(js_items)} records")


if __name__ == "__main__":
    main()

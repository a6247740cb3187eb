"""Helpers for the Outreach, Salesloft and HubSpot target tests: compiling, small projects, calendars.

The calendar helpers are written from the targets' docs (docs/targets/<tool>.md, "Delays"),
independently of `compiler.lower.delays`, so a replay test checks the emitted numbers against
the tool's documented scheduler rather than against seqc's own model of it.
"""

from __future__ import annotations

import json
import textwrap
from datetime import date, timedelta
from pathlib import Path

from compiler import ir
from compiler.build import BuildResult, build
from compiler.plan import plan_sequence
from compiler.project import LoadedProject, discover, load
from targets import capabilities, get_target
from targets.base import Target

CASES = Path("tests/cases/engagement")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

PROSPECT = """
prospect {
  email:            email     required
  first_name:       text      required
  last_name:        text
  company:          text      required
  title:            text
  timezone:         timezone
  linkedin_url:     url
  phone:            phone
  employees:        int       required
  funding_round:    text
  funding_days_ago: int
}
"""

CAMPAIGN = """
campaign launch {
  start 2027-01-05
  enroll 10 per day
  sender {
    from "Dana Reyes <dana@mail.example.com>"
    mailboxes 2
    daily_limit 40
    auth spf dkim dmarc
  }
  compliance {
    unsubscribe "Reply \\"stop\\" to opt out."
    postal_address "Example Inc., 1 Main St, Springfield, IL 62701, USA"
  }
  crm hubspot
}
"""

#: A line every email body of an inline project ends with (the campaign's declared opt-out).
OPT_OUT = 'Reply \\"stop\\" to opt out.'


def loaded(path: Path | str) -> LoadedProject:
    (source,) = discover([str(path)])
    return load(source)


def compile_project(path: Path | str, target: str | Target, prospects: bool = False) -> tuple[LoadedProject,
                                                                                             BuildResult]:
    """Build `path` for `target` (a name or an instance, e.g. `HubSpot(beta=True)`)."""
    source = loaded(path)
    tool = get_target(target) if isinstance(target, str) else target
    leads = Path(path) / "prospects.csv"
    result = build(source, tool, prospects_file=str(leads) if prospects and leads.exists() else None,
                   alternatives=capabilities())
    return source, result


def write_project(tmp_path: Path, sequence: str, prospect: str = PROSPECT) -> Path:
    """A one-sequence project in `tmp_path` (the prospect block and a campaign with a text opt-out)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "project.seq").write_text(textwrap.dedent(prospect) + textwrap.dedent(sequence) + CAMPAIGN,
                                        encoding="utf-8")
    return folder


def payload(result: BuildResult, name: str | None = None) -> dict:
    arts = [a for a in result.artifacts if a.path.endswith(".json") and (name is None or a.path == name)]
    assert len(arts) == 1, [a.path for a in result.artifacts]
    return json.loads(arts[0].text)


def messages(result: BuildResult) -> str:
    return "\n".join(f"{d.message} | {d.help}" for d in result.diagnostics)


def warnings(result: BuildResult) -> str:
    return "\n".join(n.message for n in result.notices)


# ---------------------------------------------------------------- calendars


def first_open(d: date, days: set[int]) -> date:
    """The first day on or after `d` whose weekday is in `days` (0 = Monday)."""
    while d.weekday() not in days:
        d += timedelta(days=1)
    return d


def add_business_days(d: date, n: int) -> date:
    """`d` plus `n` business days (mon-fri); 0 keeps `d`."""
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def plan_dates(seq: ir.Sequence, enrolled: date) -> list[date]:
    """Where `seqc plan` lands each main-track step for an enrollment on `enrolled` (no holidays)."""
    plan = plan_sequence(seq, enrolled, "UTC", None)
    return [t.date for t in plan.touches if t.track == "main"]


def week_of(start: date) -> list[date]:
    """Monday to Friday of the week holding `start`."""
    monday = start - timedelta(days=start.weekday())
    return [monday + timedelta(days=k) for k in range(5)]


def day_text(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()]} {d.isoformat()}"


# ---------------------------------------------------------------- scheduler replay, shared by the three targets


def assert_replay_equals_the_plan(target: str, sends) -> None:
    """`sends(payload, enrolled)`, the tool's documented scheduler, lands every step of the
    `weekly` case where `seqc plan` does, for an enrollment on each weekday; no drift warning."""
    source, result = compile_project(CASES / "weekly", target)
    assert not result.diagnostics and "would not land" not in warnings(result)
    body, seq = payload(result), source.project.sequences[0]
    for enrolled in week_of(source.project.campaign.start):
        assert sends(body, enrolled) == plan_dates(seq, enrolled), enrolled


def assert_drift_is_warned(target: str, sends) -> str:
    """Where the tool's scheduler leaves the plan (the `drift` case), compile warns with both dates
    for each enrollment weekday and names every step that moves. Returns the warnings."""
    source, result = compile_project(CASES / "drift", target)
    assert not result.diagnostics
    body, seq = payload(result), source.project.sequences[0]
    warned = warnings(result)
    differ = set()
    for enrolled in week_of(source.project.campaign.start):
        for step, tool, planned in zip(seq.steps, sends(body, enrolled), plan_dates(seq, enrolled)):
            if tool != planned:
                differ.add(step.name)
                assert f"enrolled {day_text(enrolled)}: plan {day_text(planned)}, {target} {day_text(tool)}" in warned
    assert differ and all(f"`{name}`" in warned for name in differ)
    return warned

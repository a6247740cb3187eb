"""`--target csv`: one row per touch, for any tool (or for a human doing the touches by hand).

Nothing is lowered: every channel, guard, path, variant and content branch is written out as
seqc has it, templates as their seqc (Jinja) source, with the landed day and date for the
reference enrollment (the campaign's `start`, else a fixed Monday), as `seqc plan` shows them.
A step with variants gets a row per variant, a step with content branches a row per branch.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from compiler import ir, timing
from compiler.capabilities import Capabilities, LeadFormat, ScheduleModel, StepKind, Variants
from compiler.leads import csv_text
from compiler.lower.program import Branched, LVariant, Text
from compiler.plan import cond_to_text, default_holiday_country, default_timezone, plan_sequence
from targets.base import Artifact, CampaignGroup, CompileInput, Target

COLUMNS = ("sequence", "track", "entered_on", "step", "channel", "action", "purpose", "day", "landed_day", "date",
           "weekday", "window", "guard", "thread", "variant", "split", "when", "subject", "body")

_ALL_EVENTS = frozenset(ir.EVENTS)

CAPABILITIES = Capabilities(
    channels={c: StepKind(c) for c in ir.CHANNELS},
    guards=_ALL_EVENTS,
    data_guards=True,
    paths=_ALL_EVENTS,
    end_events=_ALL_EVENTS,
    exits=frozenset(ir.EXIT_EVENTS),
    content_branches=True,
    variants=Variants(max=None, weights=True, channels=frozenset(ir.CHANNELS)),
    threading="reference",
    schedule=ScheduleModel(zone="prospect", weekdays=True, windows=None, per_step="window",
                           per_day_hours=True, holidays=None),
    body="text",
    leads=LeadFormat(key="email", campaign="sequence", all_fields=True),
    sends=False,
)


def reference_start(project: ir.Project) -> date:
    campaign = project.campaign
    return campaign.start if campaign is not None and campaign.start is not None else timing.REFERENCE_MONDAY


class CsvTarget(Target):
    """A spreadsheet of touches: `<sequence>.csv`, and with prospects `leads.csv` (all fields + sequence)."""

    name = "csv"
    summary = "one row per touch (any tool, or by hand) + leads CSV with every declared field"
    capabilities = CAPABILITIES

    def emit(self, job: CompileInput) -> list[Artifact]:
        start = reference_start(job.loaded.project)
        return [Artifact(f"{g.key}.csv", csv_text(list(COLUMNS), self.rows(g, start)), schema="csv.schema.json",
                         format="csv") for g in job.campaigns]

    def rows(self, group: CampaignGroup, start: date) -> list[list[str]]:
        seq = group.sequence.seq
        plan = plan_sequence(seq, start, default_timezone(seq), default_holiday_country(seq))
        touches = {(t.track, t.step): t for t in plan.touches}
        entries = {e.track: e for e in plan.entries}
        rows = []
        for track in group.sequence.tracks:
            entry = entries.get(track.name)
            entered = "" if track.name == "main" else (entry.entered_by if entry and entry.entered_by else "never")
            for lstep in track.steps:
                touch = touches[(track.name, lstep.name)]
                track_start = entry.start if entry is not None else start
                common = {
                    "sequence": seq.name, "track": track.name, "entered_on": entered, "step": lstep.name,
                    "channel": lstep.channel, "action": lstep.step.action or "", "purpose": lstep.step.purpose or "",
                    "day": str(lstep.step.day), "landed_day": str((touch.date - track_start).days),
                    "date": touch.date.isoformat(), "weekday": touch.weekday,
                    "window": f"{touch.window_days} {touch.window}", "guard": touch.guard or "",
                    "thread": lstep.step.thread or "",
                }
                for variant in lstep.variants:
                    for when, fields in _arms(variant):
                        row = dict(common, variant=variant.name or "", when=when,
                                   split="" if variant.weight is None else str(variant.weight),
                                   subject=fields.get("subject", ""), body=_text(fields))
                        rows.append([row[c] for c in COLUMNS])
        return rows


def _source(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, ir.Template):
        return value.source
    raise RuntimeError(f"csv: unexpected field value {type(value).__name__}")


def _arms(variant: LVariant) -> list[tuple[str, dict[str, str]]]:
    """(`when` text, field sources) per content branch arm; one plain entry without branches."""
    branched = [(name, v) for name, v in variant.fields if isinstance(v, Branched)]
    if any(isinstance(v, Text) for _, v in variant.fields):
        raise RuntimeError("csv: templates were lowered, but this target keeps seqc source")
    if not branched:
        return [("", {name: _source(v) for name, v in variant.fields})]
    arms = branched[0][1].arms
    out = []
    for i, (cond, _) in enumerate(arms):
        fields = {}
        for name, value in variant.fields:
            fields[name] = _source(value.arms[i][1]) if isinstance(value, Branched) else _source(value)
        out.append(("else" if cond is None else cond_to_text(cond), fields))
    return out


def _text(fields: dict[str, str]) -> str:
    return fields.get("body") or fields.get("note") or fields.get("script") or ""

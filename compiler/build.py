"""`seqc compile` as a function: lower, check, read prospects, group campaigns, emit — nothing written.

The caller (`compiler.api.compile_command`) validates every artifact against its schema and
writes them atomically; this module only decides what they are. It never imports a concrete
target: it is handed one, and the other targets' capabilities for SEQ601 suggestions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from compiler.capabilities import Capabilities
from compiler.diagnostics import Diagnostic, SeqcError
from compiler.leads import Leads, build_leads, check_leads
from compiler.lower import HORIZON_START, Notice, lower
from compiler.lower.passes import campaign_window, zone_names
from compiler.lower.program import LSequence, Program
from compiler.lower.zones import ZoneChoice, map_zone
from compiler.project import LoadedProject
from targets.base import Artifact, CampaignGroup, CompileInput, Target


@dataclass
class BuildResult:
    """Everything `seqc compile` reports: files, SEQ601s, warnings, prospect lines and counts."""

    artifacts: list[Artifact] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    counts_line: str | None = None
    failed: bool = False


def build(loaded: LoadedProject, target: Target, *, prospects_file: str | None = None, strict: bool = False,
          alternatives: Mapping[str, Capabilities] | None = None) -> BuildResult:
    """Compile a checked project for `target` (see module doc)."""
    caps = target.capabilities
    if caps is None:
        if prospects_file is not None:
            raise SeqcError(f"--target {target.name} writes no leads file; drop --prospects")
        return BuildResult(artifacts=target.emit(CompileInput(loaded)))
    lowered = lower(loaded.project, caps, target.name, alternatives)
    result = BuildResult(diagnostics=list(lowered.diagnostics), notices=list(lowered.notices))
    program = lowered.program
    if prospects_file is not None and not result.diagnostics:
        result.diagnostics.extend(check_leads(program))
    if result.diagnostics:
        result.failed = True
        return result
    horizon = _horizon(program)
    leads = build_leads(program, prospects_file, horizon) if prospects_file is not None else None
    if leads is not None:
        result.lines = list(leads.lines)
        result.counts_line = leads.counts.line()
        if strict and leads.lines:
            result.failed = True
            return result
    groups = campaign_groups(program, leads, horizon)
    job = CompileInput(loaded, program, groups, leads is not None)
    result.artifacts = target.emit(job)
    result.notices.extend(job.notices)
    if leads is not None:
        keys = {(g.sequence.name, g.zone if g.sequence.zone_split else None): g.key for g in groups}
        text = leads.text(keys, caps.leads.campaign)  # type: ignore[union-attr]
        result.artifacts.append(Artifact("leads.csv", text, format="csv"))
    return result


def _horizon(program: Program):
    campaign = program.project.campaign
    start = campaign.start if campaign is not None and campaign.start is not None else HORIZON_START
    return max(start, HORIZON_START)


def zone_key(choice: ZoneChoice) -> str:
    """`America/Detroit` -> `America-Detroit`; a moved window adds `.shift+60m`."""
    text = choice.zone.replace("/", "-")
    return text + (f".shift{choice.shift:+d}m" if choice.shift else "")


def campaign_groups(program: Program, leads: Leads | None, horizon) -> tuple[CampaignGroup, ...]:
    """One group per sequence, or per zone group for split sequences, in a stable order.

    A split sequence gets the groups its prospects fall in; without prospects (or when none
    are routed to it), the group of its fallback zone, so every sequence has a campaign.
    """
    caps = program.caps
    counts: dict[tuple[str, ZoneChoice | None], int] = {}
    for lead in leads.rows if leads is not None else ():
        key = (lead.sequence, lead.zone)
        counts[key] = counts.get(key, 0) + 1
    planned: list[tuple[LSequence, ZoneChoice | None, int]] = []
    for lseq in program.sequences:
        fallback, _ = zone_names(lseq.seq)
        default = _fixed_zone(lseq, fallback, caps, horizon)
        if lseq.zone_split:
            found = sorted(((z, n) for (s, z), n in counts.items() if s == lseq.name and z is not None),
                           key=lambda item: (item[0].zone, item[0].shift))
            for zone, n in found or [(default, 0)]:
                planned.append((lseq, zone, n))
        else:
            planned.append((lseq, default, counts.get((lseq.name, None), 0)))
    campaign = program.project.campaign
    total = campaign.enroll_per_day if campaign is not None else None
    weights = [n for _, _, n in planned] if leads is not None else [1] * len(planned)
    per_day = shares(total, weights) if total is not None else [None] * len(planned)
    groups = []
    for (lseq, zone, n), daily in zip(planned, per_day):
        key = f"{lseq.name}.{zone_key(zone)}" if lseq.zone_split and zone is not None else lseq.name
        groups.append(CampaignGroup(lseq, key, zone, n, daily))
    return tuple(groups)


def _fixed_zone(lseq: LSequence, name: str, caps: Capabilities, horizon) -> ZoneChoice | None:
    if caps.schedule.zone != "campaign":
        return None
    if caps.schedule.zones is None:
        return ZoneChoice(name, name)
    _, start, end = campaign_window(lseq.seq)
    choice = map_zone(name, caps.schedule.zones, start, end, horizon)
    return ZoneChoice(choice.zone, choice.zone, choice.shift) if choice is not None else None


def shares(total: int, weights: list[int]) -> list[int | None]:
    """`total` split in proportion to `weights` (largest remainder), at least 1 where the weight is not 0.

    The minimum of 1 keeps a small group's campaign moving; the sum can then pass `total` by
    at most the number of such groups.
    """
    whole = sum(weights)
    if whole == 0:
        return [None if w == 0 else 1 for w in weights]
    exact = [total * w / whole for w in weights]
    base = [int(x) for x in exact]
    left = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return [max(b, 1) if w else None for b, w in zip(base, weights)]

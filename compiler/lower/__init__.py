"""Lowering: from the IR to what one target can hold, or SEQ601 for what it cannot.

    lift(project)                       every step, variant and field, with native step kinds
      -> caps.lowerings, in order       e.g. branches_to_fields, templates_to_tags,
                                        channels_to_tasks, guards_to_task_notes, zones_to_campaigns
      -> check                          SEQ601 for whatever is still unsupported
      -> fit_delays                     the tool's delay fields, replayed against the plan

Nothing is written and no prospect file is read here; `compiler.build` does that once the
program is known to be complete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from compiler import ir
from compiler.capabilities import Capabilities
from compiler.diagnostics import Diagnostic
from compiler.lower.check import check
from compiler.lower.context import LowerContext, Notice
from compiler.lower.delays import fit_delays
from compiler.lower.passes import (
    branches_to_fields, channels_to_tasks, guards_to_task_notes, templates_to_tags, zones_to_campaigns,
)
from compiler.lower.program import Program, lift

#: The first day zone equivalence is checked from when the campaign starts earlier (the
#: zone lists were pinned in 2026; see docs/targets/README.md).
HORIZON_START = date(2026, 1, 1)


@dataclass(frozen=True)
class Lowered:
    """The result of lowering: a complete program, or the SEQ601s that stop it."""

    program: Program
    diagnostics: tuple[Diagnostic, ...]
    notices: tuple[Notice, ...]

    @property
    def ok(self) -> bool:
        return not self.diagnostics


def lower(project: ir.Project, caps: Capabilities, target: str,
          alternatives: Mapping[str, Capabilities] | None = None) -> Lowered:
    """Run the target's lowerings over `project`, check the rest, fit the delays.

    Args:
        project: a project that passed `seqc check` (no error diagnostics).
        caps: the target's capabilities.
        target: the target's name, for messages.
        alternatives: every registered target's capabilities by name, to suggest one that
            would take a rejected construct.
    """
    campaign = project.campaign
    start = campaign.start if campaign is not None and campaign.start is not None else HORIZON_START
    ctx = LowerContext(target, caps, project, alternatives or {}, max(start, HORIZON_START))
    program = lift(project, caps, target)
    for lowering in caps.lowerings:
        program = lowering(program, ctx)
    check(program, ctx)
    if not ctx.diagnostics:
        program = fit_delays(program, ctx)
    diagnostics = sorted(ctx.diagnostics, key=Diagnostic.sort_key)
    return Lowered(program, tuple(_unique(diagnostics)), tuple(_unique(ctx.notices)))


def _unique(items):
    seen = set()
    out = []
    for item in items:
        key = (item.code, item.message, item.span) if isinstance(item, Diagnostic) else (item.message, item.span)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


__all__ = [
    "Lowered", "Notice", "Program", "branches_to_fields", "channels_to_tasks", "guards_to_task_notes", "lower",
    "templates_to_tags", "zones_to_campaigns",
]

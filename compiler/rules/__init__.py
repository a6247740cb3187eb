"""The rule catalog: every code seqc can report, each a small registered class.

Families (the hundreds digit): 0xx syntax, 1xx architecture, 2xx cadence,
3xx personalization, 4xx deliverability and compliance, 6xx targets. Each family
module lists its rules in `RULES`; this module joins the lists (no metaclass magic).
"""

from __future__ import annotations

from compiler.rules import architecture, cadence, deliverability, personalization, settings
from compiler.rules.base import CatalogEntry, Rule, RuleContext


class UnsupportedByTarget(CatalogEntry):
    """Construct not supported by the chosen target.

    Why: a sending tool that cannot express a branch, a channel or a variant would
    drop it on import; seqc refuses to compile instead, names the construct and
    the lowering or target that would take it. Raised by `seqc compile`.
    Bad:
        seqc compile examples/outbound --target salesloft   # variants: no A/B in Salesloft imports
    Good:
        seqc compile examples/outbound --target outreach
    """

    code = "SEQ601"
    severity = architecture.Severity.ERROR
    name = "targets.unsupported"


ALL_RULES: tuple[type[Rule], ...] = tuple(sorted(
    (*architecture.RULES, *settings.RULES, *cadence.RULES, *personalization.RULES, *deliverability.RULES,
     UnsupportedByTarget),
    key=lambda r: r.code,
))
BY_CODE: dict[str, type[Rule]] = {r.code: r for r in ALL_RULES}

__all__ = ["ALL_RULES", "BY_CODE", "CatalogEntry", "Rule", "RuleContext"]

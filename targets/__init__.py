"""The target registry: one line per sending tool."""

from __future__ import annotations

from compiler.diagnostics import SeqcError
from compiler.suggest import did_you_mean
from compiler.capabilities import Capabilities
from targets.apollo import Apollo
from targets.base import Artifact, CampaignGroup, CompileInput, Target
from targets.csvrows import CsvTarget
from targets.hubspot import HubSpot
from targets.instantly import Instantly
from targets.ir import IRTarget
from targets.replyio import ReplyIo
from targets.outreach import Outreach
from targets.salesloft import Salesloft
from targets.lemlist import Lemlist
from targets.smartlead import Smartlead

REGISTRY: dict[str, type[Target]] = {
    "apollo": Apollo,
    "csv": CsvTarget,
    "hubspot": HubSpot,
    "instantly": Instantly,
    "ir": IRTarget,
    "replyio": ReplyIo,
    "outreach": Outreach,
    "salesloft": Salesloft,
    "lemlist": Lemlist,
    "smartlead": Smartlead,
}


def get_target(name: str, **options) -> Target:
    """The target called `name` (built with target `options`), or a one-line error with a suggestion."""
    cls = REGISTRY.get(name)
    if cls is None:
        hint = did_you_mean(name, REGISTRY)
        known = ", ".join(sorted(REGISTRY))
        raise SeqcError(f"unknown target `{name}`" + (f"; {hint}" if hint else "") + f" (targets: {known})")
    return cls(**options)


def capabilities() -> dict[str, Capabilities]:
    """Every registered target's capabilities by name (targets that export the IR have none)."""
    return {name: cls.capabilities for name, cls in sorted(REGISTRY.items()) if cls.capabilities is not None}


__all__ = ["Artifact", "CampaignGroup", "CompileInput", "REGISTRY", "Target", "capabilities", "get_target"]

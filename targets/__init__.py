"""The target registry: one line per sending tool."""

from __future__ import annotations

from compiler.diagnostics import SeqcError
from compiler.suggest import did_you_mean
from targets.base import Artifact, CompileInput, Target
from targets.ir import IRTarget

REGISTRY: dict[str, type[Target]] = {
    "ir": IRTarget,
}


def get_target(name: str) -> Target:
    """The target called `name`, or a one-line error with a suggestion."""
    cls = REGISTRY.get(name)
    if cls is None:
        hint = did_you_mean(name, REGISTRY)
        known = ", ".join(sorted(REGISTRY))
        raise SeqcError(f"unknown target `{name}`" + (f"; {hint}" if hint else "") + f" (targets: {known})")
    return cls()


__all__ = ["Artifact", "CompileInput", "REGISTRY", "Target", "get_target"]

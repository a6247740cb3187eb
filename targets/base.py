"""What every target is: a name, its capabilities, and an `emit` from IR to artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from compiler.project import LoadedProject


@dataclass(frozen=True)
class Artifact:
    """One output file: a path relative to `DIR/<target>/` and its exact text."""

    path: str
    text: str
    schema: str | None = None   # schema file in targets/schemas/ the text must validate against


@dataclass(frozen=True)
class CompileInput:
    """What a target compiles: the checked project and, optionally, prospect records."""

    loaded: LoadedProject
    prospects: Any = None


class Target:
    """Base class: subclasses set `name`, `summary` and implement `emit`."""

    name: ClassVar[str]
    summary: ClassVar[str]

    def emit(self, job: CompileInput) -> list[Artifact]:
        raise NotImplementedError

"""What every target is: a name, its capabilities as data, and an `emit` from the lowered program.

A target module is small: a `Target` subclass with `name`, `summary`, `capabilities` (what
the tool can express and which lowerings close the gap) and `emit`, which turns each
`CampaignGroup` of the lowered program into files. Lowering, the SEQ601 check, delay
fitting, routing and the leads file are shared (`compiler.build`); `emit` may assume every
construct it sees is supported and raises for anything unexpected rather than skipping it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from compiler.project import LoadedProject

if TYPE_CHECKING:
    from compiler.capabilities import Capabilities
    from compiler.lower.program import LSequence, Program
    from compiler.lower.zones import ZoneChoice


@dataclass(frozen=True)
class Artifact:
    """One output file: a path relative to `DIR/<target>/` and its exact text.

    `schema` names the file in targets/schemas/ the content must validate against before
    anything is written; `format` says how to read the text for that ("json", or "csv":
    the rows as an array of objects keyed by the header).
    """

    path: str
    text: str
    schema: str | None = None
    format: str = "json"


@dataclass(frozen=True)
class CampaignGroup:
    """One campaign a target writes: a sequence, for one time-zone group of its prospects.

    Attributes:
        sequence: the lowered sequence.
        key: the file stem (`<key>.json`) and the leads file's campaign column value.
        zone: the tool's zone (and the minutes the window moves) when the target takes a
            zone list or one zone per campaign; None otherwise.
        leads: prospects routed to this campaign (0 without `--prospects`).
        enroll_per_day: this campaign's share of the campaign's `enroll N per day`.
    """

    sequence: LSequence
    key: str
    zone: ZoneChoice | None = None
    leads: int = 0
    enroll_per_day: int | None = None


@dataclass(frozen=True)
class CompileInput:
    """What a target compiles: the checked project and, for lowering targets, the program.

    `notices` collects warnings `emit` wants printed (something the payload leaves for the user
    to do in the tool); compile prints them to stderr without failing.
    """

    loaded: LoadedProject
    program: Program | None = None
    campaigns: tuple[CampaignGroup, ...] = ()
    with_prospects: bool = False
    notices: list = field(default_factory=list)


class Target:
    """Base class: subclasses set `name`, `summary`, `capabilities` and implement `emit`.

    `capabilities` None means the target exports the IR itself (no lowering, no leads).
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    capabilities: ClassVar[Capabilities | None] = None

    def emit(self, job: CompileInput) -> list[Artifact]:
        raise NotImplementedError

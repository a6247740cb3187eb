"""What a sending tool can express, as data. Each target declares one `Capabilities`.

The compiler lowers a sequence with the passes a target lists in `lowerings`, then checks
what is left against these fields and reports SEQ601 for the rest (see `compiler.lower`).
Nothing here knows a concrete tool: the values live in `targets/<tool>.py`, and their
sources in `docs/targets/<tool>.md`.

The fields answer the questions an exporter has to settle for every tool:

* which channels it carries, natively or only as a task for a human (`channels`, `task`);
* which behaviour it can branch on (`guards`, `data_guards`, `paths`, `end_events`, `exits`);
* how many A/B variants a step may have, and whether splits may be uneven (`variants`);
* where a delay is stored, in what unit, and which days it counts (`delay`);
* whose clock the send window runs on, which zone names it takes, how many windows (`schedule`);
* its merge-tag and fallback syntax and built-in tags (`merge`), its body format (`body`);
* how its leads file is laid out (`leads`) and hard limits (`max_steps`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lowering passes take and return a Program (compiler.lower.program)
    Lowering = Callable[[Any, Any], Any]
else:
    Lowering = Callable

#: How a delay value is anchored: on the step before the gap, on the step after it, or as an
#: absolute day number counted from enrollment.
DELAY_ANCHORS = ("earlier", "later", "absolute")
#: Which days a delay counts: every calendar day, only the tool's sending-schedule days, or mon-fri.
DELAY_COUNTS = ("calendar", "sending_days", "business_days")
#: Seconds in one unit of a delay field.
UNIT_SECONDS = MappingProxyType({"days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1, "milliseconds": 0})
#: Whose clock a send window runs on.
ZONE_MODES = ("campaign", "prospect", "user")
#: How a tool makes an email a reply in an earlier email's thread.
THREADING = ("none", "empty_subject", "reference", "flag")
#: A `MergeTags.builtins` value that is a tool variable's name (written with the tag syntax).
_BARE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class StepKind:
    """How a tool carries one seqc channel.

    Attributes:
        kind: the tool's step type (`"email"`, `"linkedinInvite"`, `"Phone"` …).
        manual: True when a human does the touch (a task the tool reminds them of).
        actions: the LinkedIn actions (`connect`, `message` …) this kind takes; None means all.
        kinds: a tool step type per LinkedIn action, when the tool has one type per action.
    """

    kind: str
    manual: bool = False
    actions: frozenset[str] | None = None
    kinds: Mapping[str, str] = field(default_factory=dict)

    def kind_for(self, action: str | None) -> str:
        return self.kinds.get(action, self.kind) if action else self.kind

    def takes(self, action: str | None) -> bool:
        return action is None or self.actions is None or action in self.actions


@dataclass(frozen=True, slots=True)
class Variants:
    """A/B testing: at most `max` alternatives per step (1: none; None: no documented limit)."""

    max: int | None = 1
    weights: bool = False
    channels: frozenset[str] = frozenset({"email"})


@dataclass(frozen=True, slots=True)
class DelayModel:
    """How the tool stores the wait between touches and how its scheduler applies it.

    Attributes:
        anchor: "earlier" (the gap sits on the step before it; the last step carries 0),
            "later" (on the step after it; the first carries the wait after enrollment) or
            "absolute" (each step carries its day number).
        unit: the unit of the delay field (days, hours, minutes, seconds, milliseconds).
        counts: which days elapse: "calendar", "sending_days" (only the schedule's days) or
            "business_days" (mon-fri).
        from_send: True when a delay runs from the actual send of the previous step (a touch
            deferred by the schedule pushes the later ones), False when from its due time.
        first_wait: whether the first step may wait after enrollment.
        first_day: the absolute day number of the enrollment day (absolute anchors).
        min_gap: the smallest gap in days the tool accepts between two consecutive steps.
        max_gap: the largest gap in days it accepts, if limited.
    """

    anchor: str
    unit: str = "days"
    counts: str = "calendar"
    from_send: bool = True
    first_wait: bool = True
    first_day: int = 0
    min_gap: int = 0
    max_gap: int | None = None

    def __post_init__(self) -> None:
        if self.anchor not in DELAY_ANCHORS or self.counts not in DELAY_COUNTS or self.unit not in UNIT_SECONDS:
            raise ValueError(f"bad delay model {self!r}")

    def in_unit(self, days: int) -> int:
        """`days` whole days in the tool's unit."""
        if self.unit == "milliseconds":
            return days * 86_400_000
        return days * 86_400 // UNIT_SECONDS[self.unit]


@dataclass(frozen=True, slots=True)
class ScheduleModel:
    """When and in whose clock a tool sends.

    Attributes:
        zone: "campaign" (one time zone per campaign), "prospect" (the tool can send in each
            prospect's zone) or "user" (the rep's zone).
        zones: the closed list of zone names the tool accepts, or None for any IANA name.
        weekdays: whether sending days can be restricted.
        windows: how many distinct send windows one campaign can have (None: no limit).
        per_step: "none", "time" (a send time per step) or "window" (a window per step).
        per_day_hours: whether each weekday can have its own hours.
        holidays: countries whose public holidays the tool skips by itself; None when the
            target keeps seqc's own dates (an export such as csv).
    """

    zone: str = "campaign"
    zones: frozenset[str] | None = None
    weekdays: bool = True
    windows: int | None = 1
    per_step: str = "none"
    per_day_hours: bool = False
    holidays: frozenset[str] | None = frozenset()


@dataclass(frozen=True, slots=True)
class MergeTags:
    """A tool's personalisation syntax.

    Attributes:
        tag: format of a variable, `%s` standing for its name (`"{{%s}}"`).
        fields: seqc prospect field name -> the tool's variable for its standard lead field
            (`first_name` -> `firstName`); other declared fields are custom variables named
            as the field.
        builtins: seqc built-in variable -> the tool's variable name (a bare, possibly dotted,
            identifier such as `senderName` or `sender.email`, written with `tag`), or else a
            complete text written as is (`{{a}} {{b}}`, `%sender-firstname%`). A built-in
            missing here has no equivalent.
        fallback: format of a variable with a fallback, `%s` the name then the text
            (`"{{%s | %s}}"`); None when the tool has no fallback syntax.
        fallback_forbidden: characters a fallback text cannot contain in this syntax.
        opener: the text that starts a tag; literal text containing it cannot be sent as is.
    """

    tag: str
    fields: Mapping[str, str] = field(default_factory=dict)
    builtins: Mapping[str, str] = field(default_factory=dict)
    fallback: str | None = None
    fallback_forbidden: str = ""
    opener: str = "{{"

    def is_complete(self, mapped: str) -> bool:
        """Whether a `builtins` value is complete text (anything but a bare, possibly dotted, name)."""
        return _BARE_NAME.fullmatch(mapped) is None

    def variable(self, name: str, fallback: str | None = None) -> str:
        if fallback is not None and self.fallback is not None:
            return self.fallback % (name, fallback)
        return self.tag % name


@dataclass(frozen=True, slots=True)
class LeadFormat:
    """The tool's leads file: which column holds what.

    Attributes:
        key: the column holding the prospect's address (filled from the field named `email`,
            else the first field of type email).
        columns: seqc prospect field name -> the tool's standard lead column. Declared fields
            a payload uses that are not listed here go into columns named as the field.
        campaign: the column naming the campaign (payload file stem) a row belongs to.
        all_fields: write every declared field (True) or only those the payloads use.
    """

    key: str = "email"
    columns: Mapping[str, str] = field(default_factory=dict)
    campaign: str = "campaign"
    all_fields: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Everything a target can express, and the lowerings that make up the difference.

    Attributes:
        channels: seqc channel -> how the tool carries it natively (a missing channel is not
            carried; `task` may still take it when `channels_to_tasks` is a lowering).
        task: the tool's manual-task step kind, if it has one.
        guards: behavioural events (`opened`, `clicked`, `replied`, `accepted`, `connected`)
            a step guard may test natively.
        data_guards: whether a step guard may test prospect data natively.
        paths: events that may move a prospect onto a path natively.
        end_events: events that may end the sequence (`on EVENT -> end`) natively.
        exits: `exit on` events the tool honours.
        content_branches: whether `when … else` content is native (else lowered or rejected).
        variants: A/B testing limits.
        threading: how a reply in an earlier thread is made (see `THREADING`).
        delay: the delay model; None when the target writes plan dates itself.
        schedule: the schedule model.
        merge: the merge-tag syntax; None when templates are exported as seqc Jinja.
        body: "html" or "text" for email bodies.
        leads: the leads file layout; None when the tool takes no leads file.
        max_steps: most steps one campaign may have.
        sends: False for exports that no tool sends from (csv, ir): never suggested in SEQ601.
        lowerings: the passes that run before the check, in order.
    """

    channels: Mapping[str, StepKind]
    schedule: ScheduleModel = ScheduleModel()
    task: StepKind | None = None
    guards: frozenset[str] = frozenset()
    data_guards: bool = False
    paths: frozenset[str] = frozenset()
    end_events: frozenset[str] = frozenset()
    exits: frozenset[str] = frozenset({"replied", "bounced", "unsubscribed"})
    content_branches: bool = False
    variants: Variants = Variants()
    threading: str = "none"
    delay: DelayModel | None = None
    merge: MergeTags | None = None
    body: str = "html"
    leads: LeadFormat | None = None
    max_steps: int | None = None
    sends: bool = True
    lowerings: tuple[Lowering, ...] = ()

    def __post_init__(self) -> None:
        if self.threading not in THREADING or self.schedule.zone not in ZONE_MODES:
            raise ValueError(f"bad capabilities: threading {self.threading!r}, zone {self.schedule.zone!r}")
        object.__setattr__(self, "channels", _frozen(self.channels))

    def lowers(self, name: str) -> bool:
        """Whether the lowering pass called `name` runs for this target."""
        return any(getattr(p, "__name__", "") == name for p in self.lowerings)


# ---------------------------------------------------------------- describing capabilities


def _events(events: frozenset[str]) -> str:
    return ", ".join(sorted(events)) or "-"


def describe(caps: Capabilities) -> dict[str, str]:
    """One short cell per capability, for `seqc targets` (keys are the row labels)."""
    channels = []
    for channel in ("email", "linkedin", "call", "task"):
        kind = caps.channels.get(channel)
        if kind is not None:
            channels.append(f"{channel}{' (task)' if kind.manual else ''}")
        elif caps.task is not None and caps.lowers("channels_to_tasks"):
            channels.append(f"{channel}→task")
    linkedin = caps.channels.get("linkedin")
    actions = "-" if linkedin is None else ("all" if linkedin.actions is None else ", ".join(sorted(linkedin.actions)))
    branches = "native" if caps.content_branches else (
        "→ custom fields" if caps.lowers("branches_to_fields") else "-")
    v = caps.variants
    limit = "any" if v.max is None else f"≤{v.max}"
    variants = "-" if v.max == 1 else f"{limit}, {'weighted' if v.weights else 'even'}"
    d = caps.delay
    delay = "plan dates" if d is None else f"{d.anchor} step, {d.unit}, {d.counts.replace('_', ' ')}"
    s = caps.schedule
    zone = {"campaign": "one zone per campaign", "prospect": "prospect's zone", "user": "rep's zone"}[s.zone]
    if s.zones is not None:
        zone += f" ({len(s.zones)} names)"
    if caps.lowers("zones_to_campaigns"):
        zone += " → split by zone"
    windows = "any" if s.windows is None else str(s.windows)
    schedule = f"{zone}; {windows} window{'s' if s.windows != 1 else ''}; per step: {s.per_step}"
    m = caps.merge
    tags = "seqc Jinja" if m is None else m.tag % m.fields.get("first_name", "first_name")
    fallback = "Jinja" if m is None else (m.fallback % ("x", "text") if m.fallback else "pre-rendered")
    return {
        "channels": ", ".join(channels) or "-",
        "linkedin actions": actions,
        "guards": _events(caps.guards) + ("; prospect data" if caps.data_guards else ""),
        "paths on": _events(caps.paths),
        "exit on": _events(caps.exits),
        "content branches": branches,
        "variants": variants,
        "threads": caps.threading.replace("_", " "),
        "delays": delay,
        "schedule": schedule,
        "merge tags": tags,
        "fallbacks": fallback,
        "body": caps.body,
        "lowerings": ", ".join(getattr(p, "__name__", "?") for p in caps.lowerings) or "-",
    }

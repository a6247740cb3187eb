"""The seqc intermediate representation: frozen, typed, JSON-serialisable nodes.

Everything downstream (rules, scheduling, targets, previews) reads these nodes and
nothing else. Days and windows stay symbolic here; `compiler.timing` resolves them.
Every node carries a `Span` so any phase can point back at the source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterator, Union

from compiler.diagnostics import Span

CHANNELS = ("email", "linkedin", "call", "task")
PURPOSES = ("opener", "value_add", "social_proof", "direct_ask", "breakup", "reengage", "followup")
LINKEDIN_ACTIONS = ("connect", "message", "view", "inmail", "voice")
TIERS = ("smb", "mid_market", "enterprise")
EVENTS = ("opened", "clicked", "replied", "accepted", "connected")
EXIT_EVENTS = ("replied", "bounced", "unsubscribed", "booked")
FIELD_TYPES = ("text", "int", "number", "bool", "date", "email", "url", "phone", "timezone", "country", "enum")
BUILTIN_VARIABLES = ("unsubscribe_url", "sender_name", "sender_first_name", "sender_email", "sender_company")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GOAL_METRICS = ("reply_rate", "positive_reply_rate", "booked_rate", "unsubscribe_rate", "spam_rate")
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")


# ---------------------------------------------------------------- prospect


@dataclass(frozen=True, slots=True)
class Field:
    """One declared prospect field: `employees: int required`."""

    name: str
    type: str
    required: bool
    span: Span
    enum_values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prospect:
    fields: tuple[Field, ...]
    span: Span

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Event:
    """`opened(opener)`, `replied` (step None): a behavioural trigger."""

    event: str
    step: str | None
    span: Span
    step_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    """`employees < 200`; a comparison on a missing field is false."""

    field: str
    op: str
    value: Any
    span: Span


@dataclass(frozen=True, slots=True)
class In:
    """`country in ("DE", "AT")`."""

    field: str
    values: tuple[Any, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Contains:
    """`title contains "VP"` (case-insensitive substring)."""

    field: str
    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Has:
    """`has(phone)`: the field is present and not empty."""

    field: str
    span: Span


@dataclass(frozen=True, slots=True)
class Truthy:
    """A bare `bool` field used as a condition."""

    field: str
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    operand: Cond
    span: Span


@dataclass(frozen=True, slots=True)
class And:
    """n-ary and; chains are flattened so long chains do not nest deeply."""

    operands: tuple[Cond, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Cond, ...]
    span: Span


Cond = Union[Event, Compare, In, Contains, Has, Truthy, Not, And, Or]


def walk_cond(cond: Cond) -> Iterator[Cond]:
    """Yield every node of a condition, iteratively (conditions may nest deeply)."""
    stack: list[Cond] = [cond]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, (And, Or)):
            stack.extend(reversed(node.operands))


def cond_depth(cond: Cond, limit: int) -> int:
    """How deep `cond` nests (a single test is 1), iteratively; past `limit` it stops at `limit + 1`."""
    deepest, stack = 0, [(cond, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if isinstance(node, Not):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, (And, Or)):
            stack.extend((child, depth + 1) for child in node.operands)
    return deepest


# ---------------------------------------------------------------- templates and steps


@dataclass(frozen=True, slots=True)
class Template:
    """A Jinja template: an inline string or the text of a `file "…"` reference.

    `path` is the template file's display path — the `.seq` file's folder as the user
    named it joined with the path after `file` — or None when inline. `span` points at
    the string or file reference in the `.seq` file. For an inline string, Jinja line
    n is `.seq` line `span.line + line_offset + n - 1` (`line_offset` is 1 when a
    triple-quoted string starts with a blank line that the dedent drops).
    """

    source: str
    span: Span
    path: str | None = None
    line_offset: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """Allowed weekdays (0=mon … 6=sun) and a [start, end) range in minutes of the day.

    `days` is None in a step override that only sets hours (the channel's days stay).
    """

    days: tuple[int, ...] | None
    start: int
    end: int
    span: Span

    @property
    def hours(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


@dataclass(frozen=True, slots=True)
class Content:
    """The message fields a step, a variant or a content branch can set."""

    subject: Template | None = None
    body: Template | None = None
    note: Template | None = None
    script: Template | None = None

    def templates(self) -> Iterator[tuple[str, Template]]:
        for name in ("subject", "body", "note", "script"):
            value = getattr(self, name)
            if value is not None:
                yield name, value

    def merged(self, override: Content) -> Content:
        """This content with every field `override` sets replaced."""
        return Content(**{
            name: getattr(override, name) if getattr(override, name) is not None else getattr(self, name)
            for name in ("subject", "body", "note", "script")
        })


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    content: Content
    span: Span


@dataclass(frozen=True, slots=True)
class Branch:
    """One arm of `when COND { … } else { … }`; `cond` is None for `else`."""

    cond: Cond | None
    content: Content
    span: Span


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    day: int
    channel: str
    span: Span
    name_span: Span
    title: str | None = None
    guard: Cond | None = None
    purpose: str | None = None
    purpose_span: Span | None = None
    action: str | None = None
    action_span: Span | None = None
    thread: str | None = None
    thread_span: Span | None = None
    window: Window | None = None
    content: Content = Content()
    variants: tuple[Variant, ...] = ()
    split: tuple[int, ...] | None = None
    split_span: Span | None = None
    branches: tuple[Branch, ...] = ()

    def all_contents(self) -> Iterator[Content]:
        """Every complete content this step can send (shared × variant × branch)."""
        variants = [v.content for v in self.variants] or [Content()]
        branches = [b.content for b in self.branches] or [Content()]
        for v in variants:
            for b in branches:
                yield self.content.merged(v).merged(b)

    def templates(self) -> Iterator[tuple[str, Template]]:
        """Every template written in this step, each once."""
        yield from self.content.templates()
        for v in self.variants:
            yield from v.content.templates()
        for b in self.branches:
            yield from b.content.templates()


@dataclass(frozen=True, slots=True)
class OnEvent:
    """`on clicked(value) within 2 days -> hot`; target "end" stops the sequence."""

    event: Event
    target: str
    span: Span
    target_span: Span
    within_days: int | None = None


@dataclass(frozen=True, slots=True)
class Path:
    name: str
    steps: tuple[Step, ...]
    span: Span
    name_span: Span
    title: str | None = None


@dataclass(frozen=True, slots=True)
class TimezoneSpec:
    """`timezone prospect else "America/New_York"` or `timezone "Europe/Berlin"`."""

    prospect: bool
    fallback: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class HolidaySpec:
    """`holidays prospect` (the prospect's country), `holidays "US"` or `holidays none`."""

    prospect: bool
    country: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class ChannelWindow:
    channel: str
    window: Window
    span: Span


@dataclass(frozen=True, slots=True)
class Sequence:
    name: str
    span: Span
    name_span: Span
    file: str
    title: str | None = None
    tier: str | None = None
    tier_span: Span | None = None
    timezone: TimezoneSpec | None = None
    windows: tuple[ChannelWindow, ...] = ()
    holidays: HolidaySpec | None = None
    exit_on: tuple[str, ...] = ("replied", "bounced", "unsubscribed")
    exit_span: Span | None = None
    steps: tuple[Step, ...] = ()
    events: tuple[OnEvent, ...] = ()
    paths: tuple[Path, ...] = ()

    def tracks(self) -> Iterator[tuple[str, tuple[Step, ...]]]:
        """("main", steps) then (path name, steps) for each path."""
        yield "main", self.steps
        for p in self.paths:
            yield p.name, p.steps

    def all_steps(self) -> Iterator[Step]:
        for _, steps in self.tracks():
            yield from steps

    def step(self, name: str) -> Step | None:
        for s in self.all_steps():
            if s.name == name:
                return s
        return None

    def path(self, name: str) -> Path | None:
        for p in self.paths:
            if p.name == name:
                return p
        return None

    def channel_window(self, channel: str) -> ChannelWindow | None:
        for w in self.windows:
            if w.channel == channel:
                return w
        return None


# ---------------------------------------------------------------- campaign


@dataclass(frozen=True, slots=True)
class Route:
    """One line of `route { … }`; `cond` None is the fallback."""

    sequence: str
    span: Span
    cond: Cond | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    span: Span
    from_: str | None = None
    reply_to: str | None = None
    mailboxes: int | None = None
    daily_limit: int | None = None
    warmup_since: dt.date | None = None
    auth: tuple[str, ...] = ()
    auth_span: Span | None = None


@dataclass(frozen=True, slots=True)
class Compliance:
    span: Span
    unsubscribe: Template | None = None
    postal_address: str | None = None
    lawful_basis: str | None = None


@dataclass(frozen=True, slots=True)
class Goal:
    """`reply_rate 5%` (op None: a target to reach) or `spam_rate < 0.08%` (a ceiling)."""

    metric: str
    value: float
    span: Span
    op: str | None = None


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    span: Span
    name_span: Span
    file: str
    start: dt.date | None = None
    enroll_per_day: int | None = None
    routes: tuple[Route, ...] = ()
    sender: Sender | None = None
    compliance: Compliance | None = None
    crm: str | None = None
    goals: tuple[Goal, ...] = ()


# ---------------------------------------------------------------- project


@dataclass(frozen=True, slots=True)
class Suppression:
    """`# seqc: ignore SEQ206` covering lines first..last of a file."""

    file: str
    first_line: int
    last_line: int
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Project:
    """One namespace of `.seq` files (a folder, or the files named on the command line)."""

    root: str
    files: tuple[str, ...]
    prospect: Prospect | None = None
    sequences: tuple[Sequence, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    suppressions: tuple[Suppression, ...] = field(default=(), compare=False)

    def sequence(self, name: str) -> Sequence | None:
        for s in self.sequences:
            if s.name == name:
                return s
        return None

    @property
    def campaign(self) -> Campaign | None:
        return self.campaigns[0] if self.campaigns else None


# ---------------------------------------------------------------- JSON


def to_json(node: Any, *, spans: bool = True) -> Any:
    """A plain-JSON view of any IR node (stable key order: field order).

    Iterative: a guard may nest thousands of levels deep, and a recursive walk would hit
    the interpreter's recursion limit. Each container is made with placeholder slots (so
    key order is field order, as a recursive build gives) and its children go on a stack
    of (value, container, slot) to fill in later.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(node, root, 0)]
    while stack:
        value, parent, slot = stack.pop()
        parent[slot] = _json_shell(value, spans, stack)
    return root[0]


def _json_shell(node: Any, spans: bool, stack: list[tuple[Any, Any, Any]]) -> Any:
    """The JSON value of `node` alone; its children are pushed on `stack` to be filled in."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        out: dict[str, Any] = {"kind": type(node).__name__}
        for name, key in _json_fields(type(node), spans):
            value = getattr(node, name)
            out[key] = value   # a placeholder unless a plain scalar (most fields: no trip through the stack)
            if type(value) not in _PLAIN:
                stack.append((value, out, key))
        return out
    if isinstance(node, (tuple, list)):
        items = list(node)
        stack.extend((x, items, i) for i, x in enumerate(node) if type(x) not in _PLAIN)
        return items
    if isinstance(node, dt.date):
        return node.isoformat()
    return node


_PLAIN = frozenset({str, int, float, bool, type(None)})  # values that are their own JSON view
_FIELD_KEYS: dict[tuple[type, bool], tuple[tuple[str, str], ...]] = {}


def _json_fields(cls: type, spans: bool) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON key) pairs of a dataclass, cached: `dataclasses.fields` is slow per node."""
    found = _FIELD_KEYS.get((cls, spans))
    if found is None:
        found = tuple((f.name, f.name.rstrip("_")) for f in dataclasses.fields(cls)
                      if spans or not (f.name == "span" or f.name.endswith("_span")))
        _FIELD_KEYS[(cls, spans)] = found
    return found


def json_equal(a: Any, b: Any) -> bool:
    """`a == b` for plain JSON values (dicts, lists, scalars), without recursion.

    Python's `==` on nested dicts recurses in C once per level and shares the recursion
    limit, so comparing the views of two deeply nested guards raises RecursionError.
    """
    stack: list[tuple[Any, Any]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, dict) or isinstance(y, dict):
            if not (isinstance(x, dict) and isinstance(y, dict)) or x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list) or isinstance(y, list):
            if not (isinstance(x, list) and isinstance(y, list)) or len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif not (x is y or x == y):   # `is` first, as list equality does (NaN)
            return False
    return True


def json_text(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, byte for byte up to `MAX_INDENT_LEVEL`
    levels of nesting, without recursion.

    The standard encoder recurses once per container when it indents, so a guard nested a
    few hundred levels deep hits the recursion limit, and thousands take minutes (every
    chunk is passed up through every enclosing generator). Deeper than `MAX_INDENT_LEVEL`,
    lines keep that level's indent: the text stays the same JSON, and its size linear in the
    depth (a 3 000-level guard's IR was 975 MB of mostly spaces). Keys must be strings, as in
    the output of `to_json`.
    """
    out: list[str] = []
    # Pending work, popped from the end: literal text (str) or a (value, level) pair to encode.
    stack: list[str | tuple[Any, int]] = [(value, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            out.append(_json_open(*item, stack))
    return "".join(out)


_INDENT = "  "
MAX_INDENT_LEVEL = 64  # no real document nests this deep; a generated guard may


def _json_open(value: Any, level: int, stack: list[str | tuple[Any, int]]) -> str:
    """The text `value` starts with; what follows it (items, separators, the close) goes on `stack`."""
    if isinstance(value, dict):
        return _json_container("{", "}", [(f"{_json_key(k)}: ", v) for k, v in value.items()], level, stack)
    if isinstance(value, (list, tuple)):
        return _json_container("[", "]", [("", v) for v in value], level, stack)
    return _json_scalar(value)


def _json_container(open_: str, close: str, items: list[tuple[str, Any]], level: int,
                    stack: list[str | tuple[Any, int]]) -> str:
    if not items:
        return open_ + close
    inner = _newline(level + 1)
    stack.append(_newline(level) + close)
    for i in range(len(items) - 1, -1, -1):   # pushed in reverse: popped in order
        prefix, child = items[i]
        stack.append((child, level + 1))
        stack.append(prefix)
        stack.append(inner)   # not concatenated: the shared indent is not copied per line
        if i:
            stack.append(",")
    return open_


@functools.lru_cache(maxsize=None)
def _newline(level: int) -> str:
    # Shared: a guard nested thousands of levels deep repeats indents thousands of characters long.
    return "\n" + _INDENT * min(level, MAX_INDENT_LEVEL)


def _json_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"keys must be str, not {type(key).__name__}")
    return json.encoder.encode_basestring(key)


def _json_scalar(value: Any) -> str:
    """A leaf as json.dumps writes it (NaN and infinities as JavaScript spells them)."""
    if isinstance(value, str):
        return json.encoder.encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

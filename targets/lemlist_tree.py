"""lemlist's step tree: guards and paths unfolded into conditional steps, and replayed against the plan.

lemlist branches with `conditional` steps that end a sequence and fork it into a "yes" and an
"Else" sub-sequence that never join. `Planner` unfolds a lowered sequence into that tree (one
conditional per open test of a guard, one after a touch per `on EVENT(s)`), carrying what each
branch already knows; `drift` replays every root-to-leaf line with lemlist's delay rules and
reports the touches that land elsewhere than `seqc plan` says. Which conditions lemlist can
test at all (opened, clicked, accepted, has a LinkedIn URL or a phone) is decided here too: the
tree and the lowering pass (`targets.lemlist.guards_to_conditions`) must agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Union

from compiler import ir, timing
from compiler.capabilities import DelayModel, LeadFormat
from compiler.lower.delays import WEEKDAYS, replay
from compiler.lower.passes import campaign_window
from compiler.lower.program import LSequence, LStep, LTrack
from compiler.plan import cond_to_text, track_starts

# The condition keys seqc can use natively (the add-step `conditionKey` enum).
EVENT_KEYS = {"opened": "emailsOpened", "clicked": "emailsClicked", "accepted": "linkedinInviteAccepted"}
PRESENCE_KEYS = {"linkedinUrl": "hasLinkedinUrl", "phone": "hasPhoneNumber"}
MAX_DEPTH = 32


# ---------------------------------------------------------------- conditions: what lemlist can test


def _presence_key(name: str, leads: LeadFormat | None) -> str | None:
    column = leads.columns.get(name) if leads is not None else None
    return PRESENCE_KEYS.get(column) if column else None


def classify(guard: ir.Cond, leads: LeadFormat | None) -> str:
    """"native", "other" (a test lemlist has no condition for) or "deep" (too nested to unfold)."""
    stack: list[tuple[ir.Cond, int]] = [(guard, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "deep"
        if isinstance(node, ir.Not):
            stack.append((node.operand, depth + 1))
        elif isinstance(node, (ir.And, ir.Or)):
            stack.extend((op, depth + 1) for op in node.operands)
        elif isinstance(node, ir.Event):
            if node.event not in EVENT_KEYS or node.step is None:
                return "other"
        elif not (isinstance(node, ir.Has) and _presence_key(node.field, leads)):
            return "other"
    return "native"


def _leaves(cond: ir.Cond):
    """The tests of a condition in reading order (depth is bounded by `MAX_DEPTH`)."""
    if isinstance(cond, ir.Not):
        yield from _leaves(cond.operand)
    elif isinstance(cond, (ir.And, ir.Or)):
        for op in cond.operands:
            yield from _leaves(op)
    else:
        yield cond


def _fact(leaf: ir.Cond) -> tuple:
    return ("event", leaf.event, leaf.step) if isinstance(leaf, ir.Event) else ("has", leaf.field)


def _value(cond: ir.Cond, facts: dict, sent: frozenset[str]) -> bool | None:
    """Three-valued: what is known of `cond` on a line, None while some test is still open."""
    if isinstance(cond, ir.Not):
        v = _value(cond.operand, facts, sent)
        return None if v is None else not v
    if isinstance(cond, (ir.And, ir.Or)):
        values = [_value(op, facts, sent) for op in cond.operands]
        stop = isinstance(cond, ir.Or)  # the value that decides: True for `or`, False for `and`
        if stop in values:
            return stop
        return None if None in values else not stop
    if isinstance(cond, ir.Event) and cond.step not in sent:
        return False  # a touch never sent on this line cannot have been opened or accepted
    return facts.get(_fact(cond))


def kind_of(event: str):
    if event == "accepted":
        return lambda s: s.channel == "linkedin" and s.step.action == "connect", "LinkedIn invite"
    return lambda s: s.channel == "email", "email"


def _history(lseq: LSequence, track: LTrack, index: int) -> list[list[LStep]]:
    """The touches sent before `track.steps[index]`, latest last: one list per way into the track."""
    before = list(track.steps[:index])
    if track.name == "main" or not track.entry:
        return [before]
    out = []
    for on in track.entry:
        for other in lseq.tracks:
            names = [s.name for s in other.steps]
            if on.event.step in names:
                out.append(list(other.steps[:names.index(on.event.step) + 1]) + before)
    return out or [before]


def latest_problem(lseq: LSequence, track: LTrack, index: int, guard: ir.Cond) -> tuple[ir.Event, str] | None:
    """An event test lemlist would apply to another touch than the one the guard names."""
    for leaf in _leaves(guard):
        if not isinstance(leaf, ir.Event):
            continue
        matches, what = kind_of(leaf.event)
        for history in _history(lseq, track, index):
            latest = next((s for s in reversed(history) if matches(s)), None)
            if latest is None or latest.name != leaf.step:
                found = f"`{latest.name}`" if latest else "none"
                return leaf, f"lemlist tests the latest {what} before the condition ({found})"
    return None


@dataclass(frozen=True, slots=True)
class ConditionedStep(LStep):
    """A step whose guard lemlist tests with conditional steps: the guard moves to `condition`,
    out of the check's sight (it only sees `guard`), and later passes keep it (they `replace`)."""

    condition: ir.Cond | None = None


def conditioned(lstep: LStep, guard: ir.Cond) -> ConditionedStep:
    values = {f.name: getattr(lstep, f.name) for f in fields(LStep)}
    return ConditionedStep(**{**values, "guard": None}, condition=guard)


# ---------------------------------------------------------------- the tree


@dataclass
class Touch:
    """A step on a line: `delay` days (sending days) after the previous node of its line."""

    lstep: LStep
    track: str
    delay: int


@dataclass
class Fork:
    """A conditional step: ends its line; `window` days of waiting (None: until the event)."""

    key: str
    test: str
    window: int | None
    yes: list = field(default_factory=list)
    no: list = field(default_factory=list)
    on: ir.OnEvent | None = None


Node = Union[Touch, Fork]


class TooManySteps(Exception):
    """The tree passed `Planner.limit` steps while being built."""


class Planner:
    """Unfolds a lowered sequence into lemlist's tree of sequences (see docs/targets/lemlist.md).

    A guard is decided one test at a time: a conditional step per open test, placed where the
    step would be due (its window is the wait before the step, so the test sees the whole
    gap), the "yes" and "Else" sub-sequences each carrying the rest of the track. Prospect data
    once tested stays known down the tree; an event once seen stays seen. An `on EVENT(s)` adds
    a conditional right after `s`: its window is `within N` (else the wait until the next
    touch; after the last touch, no bound), "yes" holds the path (nothing for `-> end`).
    """

    def __init__(self, lseq: LSequence, leads: LeadFormat | None, limit: int | None = None) -> None:
        self.lseq = lseq
        self.count = 0
        self.limit = limit
        self.leads = leads
        self.tracks = {t.name: t for t in lseq.tracks}
        self.events: dict[str, list[ir.OnEvent]] = {}
        for on in lseq.seq.events:  # other events are the check's to reject
            if on.event.step is not None and on.event.event in EVENT_KEYS and on.target in (*self.tracks, "end"):
                self.events.setdefault(on.event.step, []).append(on)

    def nodes(self) -> list[Node]:
        main = self.lseq.main
        return self.line(main, 0, _gap(main, 0), {}, frozenset(), ("main",))

    def literal(self, leaf: ir.Cond) -> str:
        if isinstance(leaf, ir.Event):
            return EVENT_KEYS[leaf.event]
        key = _presence_key(leaf.field, self.leads)
        assert key is not None
        return key

    def line(self, track: LTrack, i: int, wait: int, facts: dict, sent: frozenset[str], stack: tuple) -> list[Node]:
        """The nodes from `track.steps[i]` on, `wait` days after the line's previous node.

        A negative `wait` is a debt: the previous node ended that many days late, so the next
        touch goes at once and the debt comes off the waits after it.
        """
        out: list[Node] = []
        steps = track.steps
        while i < len(steps):
            lstep = steps[i]
            guard = lstep.condition if isinstance(lstep, ConditionedStep) else None
            if guard is not None:
                verdict = _value(guard, facts, sent)
                if verdict is None:
                    leaf = next(x for x in _leaves(guard) if _value(x, facts, sent) is None)
                    window = max(wait, 0) if isinstance(leaf, ir.Event) else 0
                    fork = self.fork(self.literal(leaf), f"{cond_to_text(leaf)} (guard of `{lstep.name}`)", window)
                    fork.yes = self.line(track, i, wait - window, {**facts, _fact(leaf): True}, sent, stack)
                    fork.no = self.line(track, i, wait - window, {**facts, _fact(leaf): False}, sent, stack)
                    out.append(fork)
                    return out
                if not verdict:
                    wait, facts, i = wait + _gap(track, i + 1), _settled(facts), i + 1
                    continue
            sent, facts = sent | {lstep.name}, _settled(facts)
            out.append(self.touch(lstep, track.name, max(wait, 0)))
            debt = -min(wait, 0)
            events = self.events.get(lstep.name, [])
            if events:
                out.extend(self.after(track, i, events, debt, facts, sent, stack))
                return out
            wait, i = _gap(track, i + 1) - debt, i + 1
        return out

    def touch(self, lstep: LStep, track: str, delay: int) -> Touch:
        self._grow()
        return Touch(lstep, track, delay)

    def fork(self, key: str, test: str, window: int | None, on: ir.OnEvent | None = None) -> Fork:
        self._grow()
        return Fork(key, test, window, on=on)

    def _grow(self) -> None:
        self.count += 1
        if self.limit is not None and self.count > self.limit:
            raise TooManySteps(self.count)

    def after(self, track: LTrack, i: int, events: list[ir.OnEvent], debt: int, facts: dict,
              sent: frozenset[str], stack: tuple, waited: int = 0) -> list[Node]:
        """What follows touch `i`: a conditional per `on EVENT(step)`, then the rest of the track.

        `waited` counts the days the conditions before this one waited since the touch; `debt`
        the days the touch itself went out later than the fitted schedule (a window before it
        overran its wait), taken off the next waits so later touches land where they should.
        """
        last = i + 1 >= len(track.steps)
        following = None if last else _gap(track, i + 1) - debt - waited
        if not events:
            return [] if following is None else self.line(track, i + 1, following, facts, sent, stack)
        on, rest = events[0], events[1:]
        if on.target == "end" and last:
            return self.after(track, i, rest, debt, facts, sent, stack, waited)  # nothing left to stop
        # `within N days` is written as lemlist's window of N days; without it the condition waits
        # until the next touch is due (after the last touch: as long as it takes).
        window: int | None = None if following is None else max(following, 0)
        if on.within_days is not None:
            window = max(on.within_days - waited, 0)
        within = "" if on.within_days is None else f" within {on.within_days} days"
        test = f"on {cond_to_text(on.event)}{within} -> {on.target}"
        fork = self.fork(EVENT_KEYS[on.event.event], test, window, on=on)
        if on.target != "end":
            if on.target in stack:
                raise RuntimeError(f"lemlist: path `{on.target}` re-enters itself")
            path = self.tracks[on.target]
            first = _gap(path, 0) - debt - waited - (window or 0)
            fork.yes = self.line(path, 0, first, {**facts, _fact(on.event): True}, sent, (*stack, on.target))
        if window is not None:
            fork.no = self.after(track, i, rest, debt, facts, sent, stack, waited + window)
        return [fork]


def _gap(track: LTrack, i: int) -> int:
    if i >= len(track.steps):
        return 0
    return track.steps[i].gap or 0


def _settled(facts: dict) -> dict:
    """Facts that still hold later: prospect data, and events already seen (a miss may still change)."""
    return {k: v for k, v in facts.items() if k[0] == "has" or v}


# ---------------------------------------------------------------- replaying the tree against the plan


def _lines(nodes: list[Node], prefix: tuple = ()):
    """Every root-to-leaf line of the tree, as a tuple of nodes (forks included, in order)."""
    stack = [(nodes, prefix)]
    while stack:
        todo, before = stack.pop()
        line = list(before)
        for node in todo:
            line.append(node)
            if isinstance(node, Fork):
                stack.append((node.no, tuple(line)))
                stack.append((node.yes, tuple(line)))
                break
        else:
            yield tuple(line)


def tree_sends(model: DelayModel, line: tuple, campaign_days: frozenset[int], start: date) -> list[tuple[Touch, date]]:
    """When lemlist sends each touch of one line, for a lead started on `start` (conditions wait their window)."""
    gaps, gates = [], []
    for node in line:
        if isinstance(node, Touch):
            gaps.append(node.delay)
            gates.append(frozenset(node.lstep.days) if node.lstep.manual else campaign_days)
        else:
            gaps.append(node.window or 0)
            gates.append(campaign_days)
    dates = replay(model, gaps, gates, start)
    return [(node, d) for node, d in zip(line, dates) if isinstance(node, Touch)]


def drift(lseq: LSequence, nodes: list[Node], monday: date, model: DelayModel
          ) -> dict[tuple[str, str], list[tuple[date, date, date]]]:
    """(track, step) -> [(enrolled, plan date, lemlist date)] where the tree strays from the fitted tracks.

    Differences the delay fitting already reported (a track on its own cannot follow the plan)
    are left out: these are the ones lemlist's conditions add (a window longer than the wait it
    replaces, a path entered when a window closes rather than when the event happens).
    """
    days, _, _ = campaign_window(lseq.seq)
    gate = frozenset(days)
    found: dict[tuple[str, str], dict[date, tuple[date, date, date]]] = {}
    for w in WEEKDAYS:
        enrolled = monday + timedelta(days=w)
        starts = track_starts(lseq.seq, enrolled)
        linear: dict[tuple[str, str], date] = {}
        planned: dict[tuple[str, str], date] = {}
        for track in lseq.tracks:
            start = starts[track.name].start if track.name in starts else enrolled
            gates = [frozenset(s.days) if s.manual else gate for s in track.steps]
            for s, d in zip(track.steps, replay(model, [s.gap or 0 for s in track.steps], gates, start)):
                linear[(track.name, s.name)] = d
                planned[(track.name, s.name)] = timing.land_date(start, s.step.day, s.days)[0]
        for line in _lines(nodes):
            for touch, sent in tree_sends(model, line, gate, enrolled):
                key = (touch.track, touch.lstep.name)
                if sent != linear[key] and sent != planned[key]:
                    found.setdefault(key, {}).setdefault(enrolled, (enrolled, planned[key], sent))
    return {k: sorted(v.values()) for k, v in found.items()}

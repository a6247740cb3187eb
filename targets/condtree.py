"""Condition trees: a sequence's guards and paths as two-way condition steps whose branches never join.

Some tools branch with a condition step that has a "yes" and a "no" child list and no way back
to a common continuation (Reply.io's `parentId`/`ifConditionPositive`). A seqc sequence maps onto
such a tree as follows:

* `day N <step> if G`: G is cut into single tests (`and`/`or`/`not` become nested conditions);
  the step and the rest of its track go under "yes", the rest of the track alone under "no".
  The conditions sit in the step's time slot. A test on an event of a step this branch never
  sent is false, so it needs no condition.
* `on EVENT(s) [within N days] -> P`: a condition right after `s` that waits N days (without
  `within`: until the track's next step is due) for the event; "yes" holds the path's steps,
  "no" the rest of the track. `-> end` leaves "yes" empty; after a track's last step it changes
  nothing and is left out.

`fit_tree` then picks each node's wait so the tool's scheduler, replayed along every branch,
sends each touch where `seqc plan` lands it for an enrollment on each weekday, and returns a
warning for every touch that cannot. The scheduler is the target's `DelayModel`; a condition is
evaluated when due (no schedule gate), and the "no" side of an event condition continues once
its wait is over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from compiler import ir, timing
from compiler.capabilities import Capabilities
from compiler.lower.context import LowerContext, Notice, head_span
from compiler.lower.delays import WEEKDAYS, fit, reference_monday, replay
from compiler.lower.passes import campaign_window
from compiler.lower.program import LSequence, LStep, Program, Text
from compiler.plan import cond_to_text, track_starts

_ALL_DAYS = frozenset(range(7))
_SEARCH = 14  # days past the latest plan gap a fitted wait may reach (as compiler.lower.delays)
_RESERVED = frozenset({"params", "schedule", "sequence"})


Known = dict[str, bool]  # tests already decided on a branch (source text -> outcome)
Then = Callable[[Known], "list[Node]"]  # the nodes after a decision, given what the branch knows


@dataclass(eq=False)
class Node:
    """One step of the tool: a touch (`lstep`) or a condition (`test`, with `yes` and `no` children).

    Attributes:
        key: a unique name in the plan, usable in `{key.id}` references.
        track: the seqc track the node belongs to (its day counts from that track's start).
        day: the day of the slot the node fills in its track.
        test: a single test (Event, Compare, Contains, Has, Truthy) for a condition.
        ref: for a test on an event of a step, the node that sent that step in this branch.
        guarded: for a condition deciding a guard, the guarded step.
        on: for a condition entering a path (or ending), the `on` line.
        wait: days a condition waits for its event before taking "no".
        skips: for a guard's condition, whether its "yes" and its "no" side leave the step out.
        gap: the fitted wait in days before the node, after the previous node of its branch.
    """

    key: str
    track: str
    day: int
    lstep: LStep | None = None
    test: ir.Cond | None = None
    ref: Node | None = None
    guarded: LStep | None = None
    on: ir.OnEvent | None = None
    wait: int = 0
    skips: tuple[bool, bool] = (False, False)
    yes: list[Node] = field(default_factory=list)
    no: list[Node] = field(default_factory=list)
    gap: int = 0


@dataclass
class Tree:
    """The nodes of one sequence, from the first step (`roots` is the main branch)."""

    roots: list[Node]

    @property
    def branched(self) -> bool:
        return any(n.lstep is None for n in self.nodes())

    def nodes(self) -> Iterator[Node]:
        for node, _, _ in self.walk():
            yield node

    def walk(self) -> Iterator[tuple[Node, Node | None, bool | None]]:
        """(node, parent condition, True/False for its "yes"/"no" list) in creation order:
        a condition before its "yes" list, then its "no" list."""
        stack: list[tuple[list[Node], int, Node | None, bool | None]] = [(self.roots, 0, None, None)]
        while stack:
            nodes, i, parent, positive = stack.pop()
            if i >= len(nodes):
                continue
            node = nodes[i]
            yield node, parent, positive
            stack.append((nodes, i + 1, parent, positive))
            if node.lstep is None:
                stack.append((node.no, 0, node, False))
                stack.append((node.yes, 0, node, True))

    def events(self) -> set[str]:
        """The behavioural events the tree's conditions test."""
        return {n.test.event for n in self.nodes() if isinstance(n.test, ir.Event)}


# ---------------------------------------------------------------- building


class _Builder:
    def __init__(self, lseq: LSequence, limit: int | None = None) -> None:
        self.lseq = lseq
        self.tracks = {t.name: t for t in lseq.tracks}
        self.events: dict[str, list[ir.OnEvent]] = {}
        for on in lseq.seq.events:
            if on.event.step is not None:
                self.events.setdefault(on.event.step, []).append(on)
        self.used: dict[str, int] = {}
        self.count = 0
        self.limit = limit

    def key(self, base: str) -> str:
        n = self.used.get(base, 0) + 1
        self.used[base] = n
        self.count += 1
        if self.limit is not None and self.count > self.limit:
            raise _TooBig(self.count)
        key = base if n == 1 and base not in _RESERVED else f"{base}_{n}"
        while key in _RESERVED:
            key += "_"
        return key

    def track(self, name: str, i: int, sent: dict[str, Node], known: Known) -> list[Node]:
        steps = self.tracks[name].steps
        if i >= len(steps):
            return []
        lstep = steps[i]

        def send(facts: Known) -> list[Node]:
            node = Node(self.key(lstep.name), name, lstep.step.day, lstep=lstep)
            return [node, *self.after(name, i, lstep, {**sent, lstep.name: node}, facts)]

        def skip(facts: Known) -> list[Node]:
            return self.track(name, i + 1, sent, facts)

        if lstep.guard is None:
            return send(known)
        send.sends, skip.sends = True, False  # type: ignore[attr-defined]
        return self.decide(lstep.guard, send, skip, known, sent, name, lstep)

    def decide(self, cond: ir.Cond, yes: Then, no: Then, known: Known, sent: dict[str, Node], track: str,
               lstep: LStep) -> list[Node]:
        def again(c: ir.Cond, y: Then, n: Then, facts: Known) -> list[Node]:
            return self.decide(c, y, n, facts, sent, track, lstep)

        if isinstance(cond, ir.Not):
            return again(cond.operand, no, yes, known)
        if isinstance(cond, (ir.And, ir.Or)):
            # Operands the branch already knows the outcome of are passed over in a loop, not by a
            # continuation each: a chain of thousands of repeated tests must not recurse per term.
            deciding = isinstance(cond, ir.Or)   # the outcome that ends the chain: True for or
            operands = cond.operands
            for i, operand in enumerate(operands):
                outcome = _settled(operand, known, sent)
                if outcome is None:
                    operands = operands[i:]
                    break
                if outcome is deciding:
                    return (yes if deciding else no)(known)
            else:
                return (no if deciding else yes)(known)
            first, rest = operands[0], operands[1:]
            if not rest:
                return again(first, yes, no, known)
            tail = rest[0] if len(rest) == 1 else type(cond)(tuple(rest), cond.span)
            if isinstance(cond, ir.And):
                return again(first, lambda facts: again(tail, yes, no, facts), no, known)
            return again(first, yes, lambda facts: again(tail, yes, no, facts), known)
        if isinstance(cond, ir.In):
            alternatives = tuple(ir.Compare(cond.field, "==", v, cond.span) for v in cond.values)
            return again(ir.Or(alternatives, cond.span) if len(alternatives) > 1 else alternatives[0], yes, no, known)
        ref = None
        if isinstance(cond, ir.Event) and cond.step is not None:
            ref = sent.get(cond.step)
        outcome = _settled(cond, known, sent)
        if outcome is not None:
            return yes(known) if outcome else no(known)
        key = cond_to_text(cond)
        node = Node(self.key(f"if_{lstep.name}"), track, lstep.step.day, test=cond, ref=ref, guarded=lstep,
                    skips=(getattr(yes, "sends", None) is False, getattr(no, "sends", None) is False))
        node.yes = yes({**known, key: True})
        node.no = no(known if isinstance(cond, ir.Event) else {**known, key: False})
        return [node]

    def after(self, track: str, i: int, lstep: LStep, sent: dict[str, Node], known: Known) -> list[Node]:
        events = self.events.get(lstep.name, [])
        steps = self.tracks[track].steps
        following = steps[i + 1].step.day - lstep.step.day if i + 1 < len(steps) else None

        def chain(k: int, waited: int) -> list[Node]:
            if k == len(events):
                return self.track(track, i + 1, sent, known)
            on = events[k]
            window = on.within_days if on.within_days is not None else following
            wait = max((window or 0) - waited, 0)
            rest = chain(k + 1, waited + wait)
            if on.target == "end" and not rest:
                return rest  # the track ends here anyway
            node = Node(self.key(f"on_{on.event.event}_{lstep.name}"), track, lstep.step.day, test=on.event,
                        ref=sent[lstep.name], on=on, wait=wait)
            happened = {**known, cond_to_text(on.event): True}
            node.yes = [] if on.target == "end" else self.track(on.target, 0, sent, happened)
            node.no = rest
            return [node]

        return chain(0, 0)


def _settled(cond: ir.Cond, known: Known, sent: dict[str, Node]) -> bool | None:
    """The outcome `_Builder.decide` reaches for `cond` without asking (no condition node), or None.

    Only single tests, `in` lists and `not` of those: an `and`/`or` operand is left to `decide`,
    so settling a chain costs its length, not its depth.
    """
    negated = False
    while isinstance(cond, ir.Not):
        cond, negated = cond.operand, not negated
    if isinstance(cond, (ir.And, ir.Or)):
        return None
    if isinstance(cond, ir.In):   # `decide` asks `field == v` for each value in turn
        outcome: bool | None = False
        for v in cond.values:
            outcome = _settled(ir.Compare(cond.field, "==", v, cond.span), known, sent)
            if outcome is not False:
                break
    elif isinstance(cond, ir.Event) and cond.step is not None and cond.step not in sent:
        outcome = False   # that step was not sent on this branch: the event cannot have happened
    else:
        # A test decided earlier on this branch is not asked again: prospect data does not change,
        # and an event that happened stays happened (one that had not may still come).
        outcome = known.get(cond_to_text(cond))
    return outcome if outcome is None else outcome != negated


class _TooBig(Exception):
    def __init__(self, count: int) -> None:
        self.count = count


def build_tree(lseq: LSequence) -> Tree:
    """The condition tree of a sequence that `tree_problems` found none in."""
    return Tree(_Builder(lseq).track("main", 0, {}, {}))


def tree_size(lseq: LSequence, limit: int) -> int | None:
    """How many tool steps the tree has, or None when it has more than `limit`."""
    builder = _Builder(lseq, limit)
    try:
        builder.track("main", 0, {}, {})
    except _TooBig:
        return None
    return builder.count


def tree_problems(lseq: LSequence, ctx: LowerContext) -> bool:
    """Report SEQ601 for what a condition tree cannot hold; True when something was reported."""
    seq = lseq.seq
    tracks = {t.name: t for t in lseq.tracks}
    track_of = {s.name: t.name for t in lseq.tracks for s in t.steps}
    found = False
    for on in seq.events:
        step = on.event.step
        if step is None:
            ctx.reject(f"`on {cond_to_text(on.event)} -> {on.target}` without a step", on.span,
                       hint=f"{ctx.target} waits for an event after a given step; name it, "
                            f"e.g. `{on.event.event}(<step>)`")
            found = True
            continue
        track = tracks.get(track_of.get(step, ""))
        last = track is not None and track.steps[-1].name == step
        if last and on.within_days is None and on.target != "end":
            ctx.reject(f"`on {cond_to_text(on.event)} -> {on.target}` without `within` after the last step of "
                       f"its track", on.span,
                       hint=f"{ctx.target} waits a set time for the event: add `within N days`")
            found = True
    cycle = _cycle(lseq, track_of)
    if cycle is not None:
        ctx.reject(f"the cycle of paths {' -> '.join(cycle)}", seq.name_span,
                   hint="a condition tree cannot return to a path it came from; end one of them")
        found = True
    return found


def _cycle(lseq: LSequence, track_of: dict[str, str]) -> list[str] | None:
    edges: dict[str, list[str]] = {}
    for on in lseq.seq.events:
        if on.event.step in track_of and on.target != "end":
            edges.setdefault(track_of[on.event.step], []).append(on.target)
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        if state.get(name) == 1:
            return path[path.index(name):] + [name]
        if state.get(name) == 2:
            return None
        state[name] = 1
        for target in edges.get(name, []):
            found = visit(target, [*path, name])
            if found is not None:
                return found
        state[name] = 2
        return None

    return visit("main", [])


def _has_subject(lstep: LStep) -> bool:
    return any(isinstance(v.get("subject"), Text) and v.get("subject").parts for v in lstep.variants)


def _threads(tree: Tree, ctx: LowerContext) -> None:
    """With empty-subject threading, a reply joins the latest email with a subject on its branch:
    SEQ601 where a guard leaves the named one out (or a later one in)."""
    reported = _linear_thread_errors(tree)  # the shared check reports those already

    def visit(nodes: list[Node], root: str | None, thread_of: dict[str, str | None]) -> None:
        for node in nodes:
            lstep = node.lstep
            if lstep is None:
                visit(node.yes, root, thread_of)
                visit(node.no, root, thread_of)
                return
            if lstep.channel != "email" or lstep.manual:
                continue
            target = lstep.step.thread
            if target is not None and thread_of.get(target, "") != root and lstep.name not in reported:
                reported.add(lstep.name)
                ctx.reject(f"`thread {target}` on `{lstep.name}` in the branch where `{target}` is "
                           f"{'not sent' if target not in thread_of else 'not the latest email with a subject'}",
                           lstep.step.thread_span,
                           hint=f"{ctx.target} files a follow-up without a subject under the latest email with one; "
                                f"give `{lstep.name}` the same guard as `{target}`, or a subject of its own")
            if _has_subject(lstep) and target is None:
                root = lstep.name
            thread_of = {**thread_of, lstep.name: root}

    visit(tree.roots, None, {})


def _linear_thread_errors(tree: Tree) -> set[str]:
    """Replies whose thread is wrong even with every step sent (`compiler.lower.check` names them)."""
    out: set[str] = set()
    tracks: dict[str, list[LStep]] = {}
    for node in tree.nodes():
        if node.lstep is not None and node.lstep not in tracks.setdefault(node.track, []):
            tracks[node.track].append(node.lstep)
    for steps in tracks.values():
        root: str | None = None
        thread_of: dict[str, str | None] = {}
        for lstep in sorted(steps, key=lambda s: s.step.day):
            if lstep.channel != "email" or lstep.manual:
                continue
            target = lstep.step.thread
            if target is not None and (_has_subject(lstep) or (target in thread_of and thread_of[target] != root)):
                out.add(lstep.name)
            if _has_subject(lstep) and target is None:
                root = lstep.name
            thread_of[lstep.name] = root
    return out


def check_trees(program: Program, ctx: LowerContext, limit: int) -> Program:
    """SEQ601 for events a tree cannot hold, for trees of more than `limit` steps, and (with
    empty-subject threading) for replies a guard separates from their thread."""
    for lseq in program.sequences:
        if tree_problems(lseq, ctx):
            continue
        if tree_size(lseq, limit) is not None:
            if ctx.caps.threading == "empty_subject":
                _threads(build_tree(lseq), ctx)
            continue
        guards = sum(1 for t in lseq.tracks for s in t.steps if s.guard is not None)
        ctx.reject(f"`{lseq.name}` as a condition tree of more than {limit} steps", lseq.seq.name_span,
                   hint=f"{ctx.target}'s branches never join, so each of the {guards} guards copies the steps "
                        "after it into both branches; guard fewer steps, or route prospects by data "
                        "(the campaign's `route`) to sequences without those guards")
    return program


# ---------------------------------------------------------------- delays


@dataclass(frozen=True)
class _Case:
    enrolled: date
    plan: date
    tool: date


def _day(d: date) -> str:
    return f"{timing.WEEKDAY_NAMES[d.weekday()]} {d.isoformat()}"


def _choose(caps: Capabilities, anchors: list[date], plans: list[date], gate: frozenset[int],
            preferred: list[int]) -> tuple[int, list[date]]:
    model = caps.delay
    assert model is not None
    high = max((p - a).days for p, a in zip(plans, anchors)) + _SEARCH
    best_key, best = None, (0, anchors)
    for gap in range(0, max(high, 0) + 1):
        sends = [replay(model, [gap], [gate], a)[0] for a in anchors]
        score = sum(s == p for s, p in zip(sends, plans))
        rank = preferred.index(gap) if gap in preferred else len(preferred)
        key = (-score, rank, gap)
        if best_key is None or key < best_key:
            best_key, best = key, (gap, sends)
    return best


def fit_tree(tree: Tree, lseq: LSequence, project: ir.Project, caps: Capabilities, target: str) -> list[Notice]:
    """Set every node's `gap`; warnings for touches a branch sends on another day than the plan.

    A case the linear model of `compiler.lower.delays` already warns about (the same touch,
    enrollment and dates, with every step sent and no event) is not repeated.
    """
    seq = lseq.seq
    monday = reference_monday(project)
    enrolled = [monday + timedelta(days=w) for w in WEEKDAYS]
    campaign = project.campaign
    reference = campaign.start.weekday() if campaign and campaign.start and campaign.start.weekday() < 5 else 0
    per_step = caps.schedule.per_step != "none"
    email_days, _, _ = campaign_window(seq)
    starts = [track_starts(seq, e) for e in enrolled]

    def start(track: str, w: int) -> date:
        return starts[w][track].start if track in starts[w] else enrolled[w]

    def gate(lstep: LStep) -> frozenset[int]:
        return frozenset(lstep.days if (per_step or lstep.manual) else email_days)

    known = _linear_cases(lseq, caps, enrolled, start, gate, reference)
    found: dict[tuple[str, tuple[str, ...]], list[_Case]] = {}

    def visit(nodes: list[Node], anchors: list[date], prev: int, context: tuple[str, ...]) -> None:
        for node in nodes:
            lstep = node.lstep
            if lstep is not None:
                plans = [timing.land_date(start(node.track, w), lstep.step.day, lstep.days)[0] for w in range(5)]
                preferred = [lstep.step.day - prev, (plans[reference] - anchors[reference]).days]
                node.gap, anchors = _choose(caps, anchors, plans, gate(lstep), preferred)
                prev = lstep.step.day
                cases = [_Case(enrolled[w], plans[w], anchors[w]) for w in range(5) if anchors[w] != plans[w]]
                cases = [c for c in cases if (lstep.name, c.enrolled, c.plan, c.tool) not in known]
                if cases:
                    found.setdefault((lstep.name, context), []).extend(cases)
                continue
            if node.on is None:  # a guard: decided when the guarded step is due
                plans = [start(node.track, w) + timedelta(days=node.day) for w in range(5)]
                node.gap, anchors = _choose(caps, anchors, plans, _ALL_DAYS, [node.day - prev])
                prev = node.day
                assert node.guarded is not None
                skipped = f"with `{node.guarded.name}` skipped"
                for side, skips in zip((node.yes, node.no), node.skips):
                    visit(side, anchors, prev, (*context, skipped) if skips else context)
                return
            node.gap = 0  # right after the step whose event it waits for
            on = node.on
            visit(node.yes, anchors, 0, (*context, f"on the path `{on.target}`"))
            waited = [a + timedelta(days=node.wait) for a in anchors]
            visit(node.no, waited, prev + node.wait, (*context, f"without `{cond_to_text(on.event)}`"))
            return

    visit(tree.roots, list(enrolled), 0, ())
    # One warning per touch: the distinct cases of all its branches, and where to look.
    by_step: dict[str, tuple[LStep, list[tuple[str, ...]], set[_Case]]] = {}
    for (name, context), cases in found.items():
        lstep = next(n.lstep for n in tree.nodes() if n.lstep is not None and n.lstep.name == name)
        entry = by_step.setdefault(name, (lstep, [], set()))
        entry[1].append(context)
        entry[2].update(cases)
    notices = []
    for lstep, contexts, cases in sorted(by_step.values(), key=lambda e: (e[0].step.span.line, e[0].name)):
        text = "; ".join(f"enrolled {_day(c.enrolled)}: plan {_day(c.plan)}, {target} {_day(c.tool)}"
                         for c in sorted(cases, key=lambda c: (c.enrolled, c.plan, c.tool)))
        shown = sorted(contexts, key=lambda c: (len(c), c))
        where = ", ".join(shown[0])
        if len(shown) > 1:
            where = f"in {len(shown)} branches (e.g. {where or 'with every step sent'})"
        notices.append(Notice(f"{target}: `{lstep.name}` (day {lstep.step.day}){' ' + where if where else ''} would "
                              f"not land where `seqc plan` puts it ({text})", head_span(lstep.step)))
    return notices


def _linear_cases(lseq: LSequence, caps: Capabilities, enrolled: list[date], start, gate,
                  reference: int) -> set[tuple[str, date, date, date]]:
    """What `compiler.lower.delays` already warns about: each track with every step sent."""
    out = set()
    for track in lseq.tracks:
        if not track.steps:
            continue
        starts = [start(track.name, w) for w in range(5)]
        result = fit(caps.delay, track.steps, starts, enrolled, [gate(s) for s in track.steps], reference)
        for lstep, cases in zip(track.steps, result.mismatches):
            out |= {(lstep.name, m.enrolled, m.plan, m.tool) for m in cases}
    return out


__all__ = ["Node", "Tree", "build_tree", "check_trees", "fit_tree", "tree_problems", "tree_size"]

"""Conditions over prospect data (and events), and the campaign's `route`: which sequence takes a prospect.

Conditions see a record as read from a prospect file (`compiler.prospects.Record.data`):
declared fields converted to their type, missing values absent. SPEC §3.2 semantics:

* a comparison on a missing (absent, None or blank) field is false, `!=` included;
  `has(x)` tests presence and `not` simply negates;
* text compares without case (`==`, `in`, `contains`, ordering); text that reads as a number
  compares as that number, but a number never equals text;
* a date literal compares with ISO dates (text or `datetime.date`); a boolean is not a number;
* behavioural events (`opened(x)`) are not prospect data: `eval_cond` answers them through an
  optional `lookup(event, step)`, and without one they are unknown (None), so logic is
  three-valued (False and unknown is False, True or unknown is True).

Evaluation is iterative: a condition nested tens of thousands deep does not hit Python's
recursion limit.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from compiler import ir

EventLookup = Callable[[str, "str | None"], bool]

_MISSING = object()
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _value(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name, _MISSING)
    if value is None or (isinstance(value, str) and not value.strip()):
        return _MISSING
    return value


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)
            return None if math.isnan(number) else number
    return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _pair(value: Any, literal: Any) -> tuple[Any, Any] | None:
    """Both sides in one comparable type, or None when they are of different kinds."""
    if isinstance(literal, bool):
        return (value, literal) if isinstance(value, bool) else None
    if isinstance(literal, dt.date):
        d = _date(value)
        return (d, literal) if d is not None else None
    if isinstance(literal, (int, float)):
        n = _number(value)
        return (n, literal) if n is not None else None
    if isinstance(literal, str):
        if isinstance(value, str):
            return value.strip().casefold(), literal.casefold()
        return None
    return None


def _compare(op: str, value: Any, literal: Any) -> bool:
    pair = _pair(value, literal)
    if pair is None:
        return op == "!="  # different kinds never equal each other and do not order
    a, b = pair
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    try:
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _leaf(node: ir.Cond, data: Mapping[str, Any], lookup: EventLookup | None) -> bool | None:
    if isinstance(node, ir.Event):
        return None if lookup is None else bool(lookup(node.event, node.step))
    if isinstance(node, ir.Has):
        return _value(data, node.field) is not _MISSING
    value = _value(data, getattr(node, "field", ""))
    if value is _MISSING:
        return False
    if isinstance(node, ir.Truthy):
        return value is True or (not isinstance(value, bool) and bool(value))
    if isinstance(node, ir.Compare):
        return _compare(node.op, value, node.value)
    if isinstance(node, ir.In):
        return any(_compare("==", value, v) for v in node.values)
    if isinstance(node, ir.Contains):
        return isinstance(value, str) and node.value.casefold() in value.casefold()
    raise TypeError(f"not a condition node: {type(node).__name__}")


def _and(values: Sequence[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: Sequence[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def eval_cond(cond: ir.Cond, data: Mapping[str, Any], lookup: EventLookup | None = None) -> bool | None:
    """True, False, or None (unknown: it depends on an event and there is no `lookup`)."""
    results: dict[int, bool | None] = {}
    stack: list[tuple[ir.Cond, bool]] = [(cond, False)]
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, ir.Not):
            if not expanded:
                stack.extend(((node, True), (node.operand, False)))
                continue
            inner = results.pop(id(node.operand))
            results[id(node)] = None if inner is None else not inner
        elif isinstance(node, (ir.And, ir.Or)):
            if not expanded:
                stack.append((node, True))
                stack.extend((child, False) for child in node.operands)
                continue
            values = [results.pop(id(child)) for child in node.operands]
            results[id(node)] = _and(values) if isinstance(node, ir.And) else _or(values)
        else:
            results[id(node)] = _leaf(node, data, lookup)
    return results[id(cond)]


# ---------------------------------------------------------------- compiled conditions
#
# Routing and previews evaluate the same few conditions for every prospect of a list, so each
# condition is turned once into nested closures (no isinstance dispatch, no stack, literals
# converted ahead). `eval_cond` stays the reference: tests check both agree on random inputs.

Predicate = Callable[[Mapping[str, Any], "EventLookup | None"], "bool | None"]

#: Conditions nested deeper than this are evaluated by the iterative `eval_cond`: calling nested
#: closures recurses once per level.
_MAX_COMPILED_DEPTH = 40
_PREDICATES: dict[int, tuple[ir.Cond, Predicate]] = {}  # id → (the node, kept alive; its predicate)
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def predicate(cond: ir.Cond) -> Predicate:
    """`cond` as a function `(data, lookup) -> True | False | None`, same answers as `eval_cond`."""
    found = _PREDICATES.get(id(cond))
    if found is not None and found[0] is cond:
        return found[1]
    if ir.cond_depth(cond, _MAX_COMPILED_DEPTH) > _MAX_COMPILED_DEPTH:
        def fn(data: Mapping[str, Any], lookup: EventLookup | None, _c: ir.Cond = cond) -> bool | None:
            return eval_cond(_c, data, lookup)
    else:
        fn = _compile(cond)
    if len(_PREDICATES) > 4096:  # conditions of many projects in one process (tests, the LSP)
        _PREDICATES.clear()
    _PREDICATES[id(cond)] = (cond, fn)
    return fn


def _compile(node: ir.Cond) -> Predicate:
    if isinstance(node, ir.Not):
        inner = _compile(node.operand)

        def negate(data, lookup):
            value = inner(data, lookup)
            return None if value is None else not value
        return negate
    if isinstance(node, (ir.And, ir.Or)):
        parts = tuple(_compile(child) for child in node.operands)
        # three-valued: a decisive value (False for and, True for or) wins over unknown
        decisive = isinstance(node, ir.Or)

        def combine(data, lookup):
            unknown = False
            for part in parts:
                value = part(data, lookup)
                if value is decisive:
                    return decisive
                if value is None:
                    unknown = True
            return None if unknown else not decisive
        return combine
    if isinstance(node, ir.Event):
        event, step = node.event, node.step
        return lambda data, lookup: None if lookup is None else bool(lookup(event, step))
    if isinstance(node, ir.Has):
        field = node.field
        return lambda data, lookup: _value(data, field) is not _MISSING
    return _compile_leaf(node)


def _compile_leaf(node: ir.Cond) -> Predicate:
    field = getattr(node, "field", "")
    if isinstance(node, ir.Truthy):
        test: Callable[[Any], bool] = lambda v: v is True or (not isinstance(v, bool) and bool(v))
    elif isinstance(node, ir.Compare):
        test = _comparison(node.op, node.value)
    elif isinstance(node, ir.In):
        tests = tuple(_comparison("==", v) for v in node.values)
        test = lambda v: any(t(v) for t in tests)
    elif isinstance(node, ir.Contains):
        needle = node.value.casefold()
        test = lambda v: isinstance(v, str) and needle in v.casefold()
    else:
        raise TypeError(f"not a condition node: {type(node).__name__}")

    def leaf(data, lookup):
        value = _value(data, field)
        return False if value is _MISSING else test(value)
    return leaf


def _comparison(op: str, literal: Any) -> Callable[[Any], bool]:
    """`_compare(op, value, literal)` with the literal's kind decided once."""
    if isinstance(literal, str) and op in ("==", "!="):
        folded, equal = literal.casefold(), op == "=="

        def text(value: Any) -> bool:
            if not isinstance(value, str):
                return not equal  # different kinds never equal each other
            return (value.strip().casefold() == folded) is equal
        return text
    if isinstance(literal, (int, float)) and not isinstance(literal, bool) and op in _ORDER:
        order = _ORDER[op]

        def number(value: Any) -> bool:
            if type(value) is int:  # the common case: an `int` field, already converted
                return order(value, literal)
            n = _number(value)
            return False if n is None else order(n, literal)
        return number
    return lambda value: _compare(op, value, literal)


def holds(cond: ir.Cond | None, data: Mapping[str, Any], lookup: EventLookup | None = None) -> bool:
    """Whether `cond` is certainly true (no condition always holds; unknown does not)."""
    return cond is None or predicate(cond)(data, lookup) is True


def route_record(routes: Sequence[ir.Route], data: Mapping[str, Any]) -> ir.Route | None:
    """The first route line whose condition holds (a line without one is the fallback), or None."""
    for line in routes:
        if line.cond is None or holds(line.cond, data):
            return line
    return None


def route_sequence(project: ir.Project, data: Mapping[str, Any]) -> ir.Sequence | None:
    """The sequence that takes a prospect, or None (unrouted: the caller reports it).

    A project without a campaign `route` sends everyone to its only sequence; with several
    sequences and no route nobody is routed.
    """
    campaign = project.campaign
    if campaign is None or not campaign.routes:
        return project.sequences[0] if len(project.sequences) == 1 else None
    chosen = route_record(campaign.routes, data)
    return project.sequence(chosen.sequence) if chosen is not None else None


def route_text(route: ir.Route | None) -> str:
    """Why a prospect went where it did: the route's condition, "fallback" or "unrouted"."""
    if route is None:
        return "unrouted"
    if route.cond is None:
        return "fallback"
    from compiler.plan import cond_to_text

    return cond_to_text(route.cond)

"""`compiler.routing`: conditions over prospect data (and events), and the campaign's `route`."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import ir
from compiler.diagnostics import Span
from compiler.project import load_text
from compiler.routing import eval_cond, holds, predicate, route_record, route_sequence, route_text

PROSPECT = """
prospect {
  email: email required
  employees: int
  revenue: number
  title: text
  country: country
  founded: date
  public: bool
  phone: phone
}
"""


def cond(text: str) -> ir.Cond:
    """The IR of a route condition written in seqc syntax."""
    loaded = load_text(PROSPECT + f"sequence a {{ day 0 email x {{ subject \"s\" body \"b\" }} }}\n"
                       f"campaign c {{ route {{ a if {text} }} }}\n")
    assert not [d for d in loaded.diagnostics if d.code == "SEQ001"], loaded.diagnostics
    route = loaded.project.campaign.routes[0]
    assert route.cond is not None
    return route.cond


ROWS = [
    # (condition, record, expected)
    ("employees < 200", {"employees": 199}, True),
    ("employees < 200", {"employees": 200}, False),
    ("employees < 200", {}, False),  # missing: a comparison is false
    ("employees < 200", {"employees": "  "}, False),  # blank counts as missing
    ("not employees < 200", {}, True),  # `not` simply negates
    ("employees >= 200", {}, False),
    ("employees != 5", {}, False),  # missing: even `!=` is false
    ("employees == 5", {"employees": "5"}, True),  # text that reads as a number is that number
    ("employees == \"5\"", {"employees": 5}, False),  # a number never equals text
    ("employees != \"5\"", {"employees": 5}, True),
    ("revenue > 1.5", {"revenue": 2}, True),
    ("title contains \"vp\"", {"title": "VP of Sales"}, True),  # case-insensitive
    ("title contains \"VP\"", {"title": "Director"}, False),
    ("title contains \"VP\"", {}, False),
    ("title == \"ceo\"", {"title": "CEO"}, True),  # text compares without case
    ("country in (\"DE\", \"AT\")", {"country": "AT"}, True),
    ("country in (\"de\", \"at\")", {"country": "DE"}, True),
    ("country in (\"DE\", \"AT\")", {"country": "FR"}, False),
    ("country in (\"DE\", \"AT\")", {}, False),
    ("has(phone)", {"phone": "+1 415 555 0100"}, True),
    ("has(phone)", {"phone": ""}, False),
    ("has(phone)", {}, False),
    ("not has(phone)", {}, True),
    ("founded < 2020-01-01", {"founded": "2019-05-01"}, True),
    ("founded < 2020-01-01", {"founded": "2021-05-01"}, False),
    ("public", {"public": True}, True),
    ("public", {"public": False}, False),
    ("public", {}, False),
    ("employees < 200 and country == \"DE\"", {"employees": 10, "country": "DE"}, True),
    ("employees < 200 or country == \"DE\"", {"country": "DE"}, True),
    ("(employees < 200 or has(phone)) and not country in (\"US\")", {"phone": "+1 415 555 0100", "country": "GB"},
     True),
]


@pytest.mark.parametrize(("text", "record", "expected"), ROWS, ids=[f"{r[0]}|{r[1]}" for r in ROWS])
def test_condition_table(text: str, record: dict, expected: bool):
    c = cond(text)
    assert eval_cond(c, record) is expected
    assert predicate(c)(record, None) is expected  # the compiled form agrees


SPAN = Span("t.seq", 1, 1, 1, 2)


def test_events_are_three_valued():
    opened = ir.Event("opened", "opener", SPAN)
    data_false = ir.Has("phone", SPAN)
    both = ir.And((opened, data_false), SPAN)
    either = ir.Or((opened, ir.Not(data_false, SPAN)), SPAN)
    assert eval_cond(opened, {}) is None  # unknown without an events lookup
    assert eval_cond(both, {}) is False  # False and unknown
    assert eval_cond(either, {}) is True  # unknown or True
    assert eval_cond(ir.Not(opened, SPAN), {}) is None
    assert eval_cond(opened, {}, lambda event, step: event == "opened" and step == "opener") is True
    assert eval_cond(ir.Event("replied", None, SPAN), {}, lambda event, step: step is None) is True
    assert holds(opened, {}) is False  # unknown does not hold
    assert holds(None, {}) is True


def test_deep_nesting_does_not_recurse():
    node: ir.Cond = ir.Has("phone", SPAN)
    for _ in range(50_000):
        node = ir.Not(node, SPAN)
    assert eval_cond(node, {"phone": "x"}) is True  # an even number of `not`s


def test_route_first_match_fallback_and_unrouted():
    loaded = load_text(PROSPECT + """
sequence small { day 0 email x { subject "s" body "b" } }
sequence mid { day 0 email x { subject "s" body "b" } }
sequence rest { day 0 email x { subject "s" body "b" } }
campaign c { route {
  small if employees < 200
  mid   if employees < 2000
  rest
} }
""")
    project = loaded.project
    routes = project.campaign.routes
    assert route_record(routes, {"employees": 10}).sequence == "small"
    assert route_record(routes, {"employees": 500}).sequence == "mid"
    assert route_record(routes, {"employees": 5000}).sequence == "rest"
    assert route_record(routes, {}).sequence == "rest"  # missing: both comparisons false, the fallback takes it
    assert route_sequence(project, {"employees": 10}).name == "small"
    assert route_text(routes[0]) == "employees < 200"
    assert route_text(routes[2]) == "fallback"
    assert route_text(None) == "unrouted"
    assert route_record(routes[:2], {"employees": 5000}) is None  # no fallback: unrouted, reported


def test_project_without_route():
    one = load_text(PROSPECT + 'sequence only { day 0 email x { subject "s" body "b" } }\n').project
    assert route_sequence(one, {}).name == "only"
    two = load_text(PROSPECT + 'sequence a { day 0 email x { subject "s" body "b" } }\n'
                               'sequence b { day 0 email x { subject "s" body "b" } }\n').project
    assert route_sequence(two, {}) is None


def test_dates_and_odd_values():
    assert eval_cond(cond("founded == 2020-01-01"), {"founded": dt.date(2020, 1, 1)}) is True
    assert eval_cond(cond("founded == 2020-01-01"), {"founded": "not a date"}) is False
    assert eval_cond(cond("employees > 1"), {"employees": True}) is False  # a boolean is not a number
    assert eval_cond(cond("employees > 1"), {"employees": float("nan")}) is False


# ---------------------------------------------------------------- compiled conditions = the interpreter

FIELDS = ("employees", "title", "country", "founded", "public")
VALUES = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.sampled_from(["", "  ", "3", " 3 ", "de", "DE", "VP Sales", "2020-01-01", "x"]),
                   st.dates(dt.date(2019, 1, 1), dt.date(2021, 1, 1)))
LITERALS = st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.booleans(), st.sampled_from(["de", "3", "vp", ""]),
                     st.just(dt.date(2020, 1, 1)))
LEAVES = st.one_of(
    st.builds(ir.Compare, st.sampled_from(FIELDS), st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), LITERALS,
              st.just(SPAN)),
    st.builds(ir.In, st.sampled_from(FIELDS), st.lists(LITERALS, min_size=1, max_size=3).map(tuple), st.just(SPAN)),
    st.builds(ir.Contains, st.sampled_from(FIELDS), st.sampled_from(["vp", "DE", ""]), st.just(SPAN)),
    st.builds(ir.Has, st.sampled_from(FIELDS), st.just(SPAN)),
    st.builds(ir.Truthy, st.sampled_from(FIELDS), st.just(SPAN)),
    st.builds(ir.Event, st.sampled_from(["opened", "clicked"]), st.sampled_from([None, "a"]), st.just(SPAN)),
)
CONDS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.builds(ir.Not, inner, st.just(SPAN)),
    st.builds(ir.And, st.lists(inner, min_size=2, max_size=3).map(tuple), st.just(SPAN)),
    st.builds(ir.Or, st.lists(inner, min_size=2, max_size=3).map(tuple), st.just(SPAN)),
), max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(CONDS, st.dictionaries(st.sampled_from(FIELDS), VALUES), st.sampled_from([None, "yes", "no"]))
def test_compiled_condition_agrees_with_the_interpreter(c, record, events):
    lookup = None if events is None else (lambda event, step: (events == "yes") == (event == "opened"))
    assert predicate(c)(record, lookup) is eval_cond(c, record, lookup)


def test_very_deep_condition_is_not_compiled_into_recursion():
    node: ir.Cond = ir.Has("phone", SPAN)
    for _ in range(5000):
        node = ir.Not(ir.And((node, ir.Has("phone", SPAN)), SPAN), SPAN)
    assert predicate(node)({"phone": "x"}, None) is eval_cond(node, {"phone": "x"})

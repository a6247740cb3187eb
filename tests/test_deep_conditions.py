"""Deeply nested and very long guards: the IR's JSON helpers, the IR schema, and the passes that walk guards.

test_scale.py drives whole stages with 600-level and 5000-term guards; these pin the pieces: the
iterative JSON writer and comparison are exact stand-ins for `json.dumps` and `==`, the schema picks a
condition's definition by `kind` and still rejects bad IR, deep IR is validated in pieces with full
error paths, and the passes that were fixed give the answers they gave before.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from conftest import recursion_limit

from compiler import ir, ir_schema
from compiler.api import validate_artifact
from compiler.diagnostics import Span
from compiler.project import load_text
from compiler.schemas import validator
from targets.base import Artifact, CompileInput
from targets.ir import IRTarget

PROSPECT = "prospect {\n  email: email required\n  first_name: text required\n  employees: int\n  b: bool\n}\n"
S = Span("t.seq", 1, 1, 1, 2)


def guarded(cond: str) -> str:
    return (PROSPECT + 'sequence s {\n  tier smb\n  day 0 email a { purpose opener subject "Hi" '
            'body "Hi {{ first_name }} {{ unsubscribe_url }}" }\n'
            f'  day 3 email b if {cond} {{ subject "Then" body "More {{{{ unsubscribe_url }}}}" }}\n}}\n')


def ir_doc(text: str) -> dict:
    (art,) = IRTarget().emit(CompileInput(load_text(text, "t.seq")))
    return json.loads(art.text)


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [{"k": value}]
    return value


# ---------------------------------------------------------------- JSON helpers


@pytest.mark.parametrize("value", [
    {}, [], (), 0, -7, 10**30, 1.5, -0.0, 1e300, float("nan"), float("inf"), float("-inf"), True, False, None,
    "", 'quote " backslash \\ newline \n tab \t nul \x00 é \u2028 😀', [1, [], {}, [[]], {"a": {}}],
    {"a": 1.5, "b": [1, 2, {"c": None}], "d": "x", "é": (True, False)}, nested(5),
], ids=repr)
def test_json_text_is_json_dumps_with_indent_2(value):
    assert ir.json_text(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_json_text_of_a_project_is_json_dumps():
    loaded = load_text(guarded("opened(a) and not (b or employees > 3)"), "t.seq")
    doc = {"ir_version": 1, "project": ir.to_json(loaded.project)}
    assert ir.json_text(doc) == json.dumps(doc, indent=2, ensure_ascii=False)


@pytest.mark.usefixtures("default_recursion_limit")
def test_json_text_stops_indenting_deeper_and_stays_the_same_json():
    shallow = nested(ir.MAX_INDENT_LEVEL // 2 - 1)  # two levels per step of `nested`
    assert ir.json_text(shallow) == json.dumps(shallow, indent=2, ensure_ascii=False)
    deep = nested(3000)
    text = ir.json_text(deep)
    assert max(len(line) - len(line.lstrip(" ")) for line in text.splitlines()) == 2 * ir.MAX_INDENT_LEVEL
    # linear in the depth: two lines of at most 2 x 64 spaces a level (with the indent growing, 6 000
    # levels were ~72 MB)
    assert len(text) < 300 * 6000
    assert ir.json_equal(_loads_deep(text), deep)


def _loads_deep(text: str):
    with recursion_limit(100_000):  # json.loads recurses; only this check reads the text back
        return json.loads(text)


def test_json_text_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        ir.json_text({"a": object()})
    with pytest.raises(TypeError):
        ir.json_text({1: "non-string key"})


@pytest.mark.parametrize(("a", "b"), [
    ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}), ({"a": 1}, {"a": 1, "b": 2}), ([1, 2], [1, 2, 3]),
    ([1], (1,)), ({"a": [1]}, {"a": {"0": 1}}), (1, 1.0), (1, True), ("1", 1), (None, []), ([[]], [{}]),
])
def test_json_equal_is_eq(a, b):
    assert ir.json_equal(a, b) == (a == b)
    assert ir.json_equal(b, a) == (b == a)


@pytest.mark.usefixtures("default_recursion_limit")
def test_json_helpers_do_not_recurse():
    cond: ir.Cond = ir.Truthy("b", S)
    for i in range(3000):
        cond = ir.Not(cond, S) if i % 2 else ir.And((ir.Truthy("b", S), cond), S)
    view = ir.to_json(cond, spans=False)
    assert ir.json_equal(view, ir.to_json(cond, spans=False))
    assert not ir.json_equal(view, ir.to_json(ir.Not(cond, S), spans=False))
    text = ir.json_text(view)
    assert text.startswith('{\n  "kind": "Not",\n  "operand": {\n    "kind": "And",')


# ---------------------------------------------------------------- the IR schema


def test_conditions_are_picked_by_kind_not_tried_in_turn():
    schema = ir_schema.ir_schema()
    cond = schema["$defs"]["Cond"]
    kinds = ["Event", "Compare", "In", "Contains", "Has", "Truthy", "Not", "And", "Or"]
    assert cond["properties"]["kind"] == {"enum": kinds}
    assert [b["then"] for b in cond["allOf"]] == [{"$ref": f"#/$defs/{k}"} for k in kinds]
    assert schema["$defs"]["Not"]["properties"]["operand"] == {"$ref": "#/$defs/Cond"}
    assert schema["$defs"]["Step"]["properties"]["guard"] == {"if": {"type": "null"}, "else": {"$ref": "#/$defs/Cond"}}
    assert "Cond" not in json.dumps([d.get("anyOf") for d in _all_objects(schema)])   # no anyOf over node kinds


def _all_objects(value):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            yield v
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _guard_errors(mutate) -> list[tuple[list, str]]:
    doc = ir_doc(guarded("opened(a) and not (b or employees > 3)"))
    mutate(doc["project"]["sequences"][0]["steps"][1]["guard"])
    return [(list(e.path)[5:], e.validator) for e in validator("ir.schema.json").iter_errors(doc)]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda g: None, []),
    (lambda g: g.update(kind="Xor"), [(["guard", "kind"], "enum")]),
    (lambda g: g.pop("kind"), [(["guard"], "required")]),
    (lambda g: g["operands"][1]["operand"].update(extra=1),
     [(["guard", "operands", 1, "operand"], "additionalProperties")]),
    (lambda g: g["operands"][1]["operand"]["operands"][1].update(op=3),
     [(["guard", "operands", 1, "operand", "operands", 1, "op"], "type")]),
    (lambda g: g["operands"][0].pop("event"), [(["guard", "operands", 0], "required")]),
    (lambda g: g["operands"].append("b"), [(["guard", "operands", 2], "type")]),
])
def test_the_ir_schema_still_rejects_bad_conditions_and_says_where(mutate, expected):
    assert sorted(_guard_errors(mutate)) == sorted(expected)


def test_a_null_guard_is_valid_and_a_wrong_type_is_not():
    doc = ir_doc(guarded("b"))
    steps = doc["project"]["sequences"][0]["steps"]
    assert steps[0]["guard"] is None
    assert list(validator("ir.schema.json").iter_errors(doc)) == []
    steps[0]["guard"] = "b"
    assert [list(e.path)[-1] for e in validator("ir.schema.json").iter_errors(doc)] == ["guard"]


def test_a_valid_deep_guard_has_no_error_in_pieces():
    doc = ir_doc(guarded("(b and (b or " * 100 + "b" + "))" * 100))
    assert list(ir_schema.iter_errors(validator("ir.schema.json"), doc)) == []


def _deep_doc(pairs: int) -> dict:
    return ir_doc(guarded("not (b and " * pairs + "employees > 1" + ")" * pairs))


def _deep_node(doc: dict, levels: int) -> tuple[dict, list]:
    """The And node `levels` not/and pairs down the guard, and its path."""
    node = doc["project"]["sequences"][0]["steps"][1]["guard"]
    path = ["project", "sequences", 0, "steps", 1, "guard"]
    for _ in range(levels):
        node = node["operand"]["operands"][1]
        path += ["operand", "operands", 1]
    return node, path


@pytest.mark.parametrize("cut", [1, 2, 5, ir_schema.CUT])
def test_validating_in_pieces_gives_the_errors_of_one_pass(monkeypatch, cut):
    doc = _deep_doc(12)
    node, _ = _deep_node(doc, 7)
    node["operand"]["operands"][0]["extra"] = 1
    _deep_node(doc, 11)[0]["operand"]["operands"][1]["op"] = 7
    doc["project"]["sequences"][0]["steps"][1]["guard"]["span"] = "here"
    check = validator("ir.schema.json")
    whole = sorted((list(e.path), e.message) for e in check.iter_errors(json.loads(json.dumps(doc))))
    monkeypatch.setattr(ir_schema, "CUT", cut)
    pieces = sorted((list(e.path), e.message) for e in ir_schema.iter_errors(check, doc))
    assert pieces == whole
    assert len(whole) == 3


@pytest.mark.usefixtures("cli_recursion_limit")
def test_an_error_deep_in_a_long_guard_is_reported_with_its_path():
    doc = _deep_doc(400)   # 1 200 JSON levels: jsonschema alone would need ~15 frames for each
    validate_artifact(Artifact("project.json", json.dumps(doc), schema="ir.schema.json"))
    node, path = _deep_node(doc, 350)
    node["operand"]["operands"][0]["field"] = 3
    with pytest.raises(RuntimeError) as info:
        validate_artifact(Artifact("project.json", json.dumps(doc), schema="ir.schema.json"))
    assert f"at {'/'.join(map(str, [*path, 'operand', 'operands', 0, 'field']))}: 3 is not of type 'string'" \
        in str(info.value)


# ---------------------------------------------------------------- csv artifacts


def test_a_csv_cell_over_the_csv_modules_limit_is_read_and_the_limit_is_left_alone():
    from compiler.build import build
    from targets import capabilities, get_target

    result = build(load_text(guarded("b"), "t.seq"), get_target("csv"), alternatives=capabilities())
    (art,) = result.artifacts
    rows = list(csv.DictReader(art.text.splitlines()))
    rows[0]["guard"] = "b or " * 40_000 + "b"   # 200 005 characters
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    limit = csv.field_size_limit()
    validate_artifact(Artifact(art.path, out.getvalue(), schema=art.schema, format="csv"))
    assert csv.field_size_limit() == limit


# ---------------------------------------------------------------- passes over guards


def _rule_codes(text: str) -> list[str]:
    from compiler.check import run_rules

    return [d.code for d in run_rules(load_text(text, "t.seq"))]


def test_seq105_keys_operands_by_their_text():
    assert "SEQ105" in _rule_codes(guarded("(b or employees > 3) and not (b or employees > 3)"))
    assert "SEQ105" not in _rule_codes(guarded("(b or employees > 3) and not (b or employees > 4)"))
    deep = "(b or (b and " * 200 + "b" + "))" * 200
    assert "SEQ105" in _rule_codes(guarded(f"{deep} and not {deep}"))


def _replyio_tree(cond: str):
    from compiler.lower import lower
    from targets import capabilities, get_target
    from targets.condtree import build_tree

    target = get_target("replyio")
    program = lower(load_text(guarded(cond), "t.seq").project, target.capabilities, target.name,
                    capabilities()).program
    (lseq,) = program.sequences
    tree = build_tree(lseq)
    return [(n.key, n.test and ir.to_json(n.test, spans=False)) for n in tree.nodes()]


@pytest.mark.parametrize(("long", "short"), [
    (" and ".join(["b"] * 3000), "b"),
    (" or ".join(["employees > 1"] * 3000), "employees > 1"),
    (" and ".join(["b", "not b"] + ["employees > 1"] * 3000), "b and not b"),
    (" or ".join(['not employees in (1, 2)'] * 3000), "not employees in (1, 2)"),
])
def test_a_condition_tree_asks_a_repeated_test_once(long, short):
    assert _replyio_tree(long) == _replyio_tree(short)


def test_the_plan_names_the_first_earlier_step_a_touch_lands_before():
    from compiler.plan import plan_project

    text = (PROSPECT + 'sequence s {\n  tier smb\n'
            + "".join(f'  day {d} task t{i} {{ note "n" }}\n' for i, d in enumerate((3, 10, 12, 5, 11, 1))) + "}\n")
    (plan,) = plan_project(load_text(text, "t.seq").project, today=date(2027, 1, 4))
    notes = {t.step: [n for n in t.notes if n.startswith("lands before")] for t in plan.touches}
    assert notes == {"t0": [], "t1": [], "t2": [], "t3": ["lands before t1 (day 10)"],
                     "t4": ["lands before t2 (day 12)"], "t5": ["lands before t0 (day 3)"]}

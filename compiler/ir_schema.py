"""The JSON Schema of `seqc compile --target ir`, derived from the IR dataclasses.

Deriving it (rather than writing it by hand) keeps it true as the IR grows; the
shipped copy in targets/schemas/ir.schema.json is checked against this in tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any, Iterator

from compiler import ir
from compiler.diagnostics import Span

IR_VERSION = 1


def ir_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = _ref(ir.Project, defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://seqc.dev/schemas/ir.schema.json",
        "title": "seqc IR",
        "type": "object",
        "required": ["ir_version", "project"],
        "additionalProperties": False,
        "properties": {"ir_version": {"const": IR_VERSION}, "project": root},
        "$defs": dict(sorted(defs.items())),
    }


def _ref(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    name = cls.__name__
    if name not in defs:
        defs[name] = {}  # placeholder first: the IR is recursive (Not → Cond)
        hints = typing.get_type_hints(cls)
        props: dict[str, Any] = {"kind": {"const": name}}
        required = ["kind"]
        for f in dataclasses.fields(cls):
            key = f.name.rstrip("_")
            props[key] = _schema(hints[f.name], defs)
            required.append(key)
        defs[name] = {"type": "object", "required": required, "additionalProperties": False,
                      "properties": props}
    return {"$ref": f"#/$defs/{name}"}


# Unions of node kinds that get a named definition (`Cond | None` is this union plus null).
_NAMED_UNIONS = {frozenset(typing.get_args(ir.Cond)): "Cond"}


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(tp), defs)
    if origin is tuple:
        args = typing.get_args(tp)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else typing.Union[args]  # noqa: UP007
        return {"type": "array", "items": _schema(item, defs)}
    if tp is type(None):
        return {"type": "null"}
    if tp is Any:
        return {}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if tp is dt.date:
        return {"type": "string", "format": "date"}
    if dataclasses.is_dataclass(tp) or tp is Span:
        return _ref(tp, defs)
    raise TypeError(f"no JSON Schema for IR type {tp!r}")


def _union(members: tuple[Any, ...], defs: dict[str, Any]) -> dict[str, Any]:
    """`anyOf` the members, with a union of several node kinds as one member picked by `kind`."""
    nodes = tuple(m for m in members if dataclasses.is_dataclass(m))
    if len(nodes) < 2:
        return {"anyOf": [_schema(m, defs) for m in members]}
    rest = [m for m in members if m not in nodes]
    if not rest:
        return _by_kind(nodes, defs)
    if rest == [type(None)]:   # not `anyOf`: a bad node's own errors are reported, not "not valid under any"
        return {"if": {"type": "null"}, "else": _by_kind(nodes, defs)}
    return {"anyOf": [_by_kind(nodes, defs), *(_schema(m, defs) for m in rest)]}


def _by_kind(nodes: tuple[type, ...], defs: dict[str, Any]) -> dict[str, Any]:
    """One node of several kinds, validated against its own kind's definition only.

    Not `anyOf` over the kinds: a validator tries each alternative in full, so an `and`
    under an `or` is checked twice, and each level below doubles the work. Here `if`
    only reads `kind` and exactly one `then` applies.
    """
    name = _NAMED_UNIONS.get(frozenset(nodes))
    if name is not None and name in defs:
        return {"$ref": f"#/$defs/{name}"}
    if name is not None:
        defs[name] = {}  # placeholder first: Cond is recursive (Not → Cond)
    names = [n.__name__ for n in nodes]
    # `type` and `required` in the `if`: without them it holds for anything but an object of
    # another kind, and a string would be checked against every kind.
    branches = [{"if": {"type": "object", "required": ["kind"], "properties": {"kind": {"const": n.__name__}}},
                 "then": _ref(n, defs)} for n in nodes]
    schema = {"type": "object", "required": ["kind"], "properties": {"kind": {"enum": names}},
              "allOf": branches}
    if name is None:
        return schema
    defs[name] = schema
    return {"$ref": f"#/$defs/{name}"}


# ---------------------------------------------------------------- validating deep documents

CUT = 32  # condition levels checked in one validator call (jsonschema recurses ~15 frames a level)
_COND_CHILDREN = {"Not": "operand", "And": "operands", "Or": "operands"}
_STUB = ir.to_json(ir.Truthy("", Span("", 1, 1, 1, 1)))  # a valid condition, standing in for a cut one

# A piece of the document: (the piece it was cut from, or -1 for the document; its path in that
# piece; the condition itself).
Piece = tuple[int, tuple[Any, ...], Any]


def iter_errors(validator: Any, doc: Any) -> Iterator[Any]:
    """`validator.iter_errors(doc)` for an IR document, without recursing per condition level.

    jsonschema recurses about fifteen frames for each level of a condition, so a guard nested a
    few hundred levels deep hits the recursion limit. The operands of a condition CUT levels down
    are cut out (`doc` is changed: a valid stub takes their place) and validated on their own
    against `#/$defs/Cond`, again in pieces; their errors get their full path back. Every node is
    still checked once, against the schema of its position.
    """
    pieces = _cut(doc)
    yield from validator.iter_errors(doc)
    if not pieces:
        return
    cond = validator.evolve(schema={"$ref": "#/$defs/Cond"})  # $ref resolves in the IR schema
    for i, (_, _, node) in enumerate(pieces):
        for error in cond.iter_errors(node):
            error.path.extendleft(reversed(_full_path(pieces, i)))
            yield error


def _cut(doc: Any) -> list[Piece]:
    """Cut every condition's operands CUT condition levels below its piece's top (iteratively)."""
    pieces: list[Piece] = []
    # (value, index of its piece, path in the piece, `not`/`and`/`or` levels above it in the piece)
    stack: list[tuple[Any, int, tuple[Any, ...], int]] = [(doc, -1, (), 0)]
    while stack:
        value, piece, path, level = stack.pop()
        if isinstance(value, list):
            stack.extend((v, piece, (*path, i), level) for i, v in enumerate(value) if isinstance(v, (dict, list)))
            continue
        if not isinstance(value, dict):
            continue
        kind = value.get("kind")
        child = _COND_CHILDREN.get(kind) if isinstance(kind, str) else None
        level += child is not None
        for key, v in list(value.items()):
            slots = _cut_operands(value, key) if key == child and level >= CUT else None
            if slots is None:
                if isinstance(v, (dict, list)):
                    stack.append((v, piece, (*path, key), level))
                continue
            for slot, operand in slots:
                pieces.append((piece, (*path, *slot), operand))
                stack.append((operand, len(pieces) - 1, (), 0))
    return pieces


def _cut_operands(node: dict[str, Any], key: str) -> list[tuple[tuple[Any, ...], Any]] | None:
    """The operands under `node[key]` as (path from node, operand), each replaced by the stub;
    None when `operands` is not a list (the schema rejects that: it is left in place)."""
    if key == "operand":
        found = [((key,), node[key])]
        node[key] = _STUB
        return found
    operands = node[key]
    if not isinstance(operands, list):
        return None
    node[key] = [_STUB] * len(operands)
    return [((key, i), op) for i, op in enumerate(operands)]


def _full_path(pieces: list[Piece], i: int) -> list[Any]:
    """The path of piece `i` from the document's root (built only for an error: it is long)."""
    parts: list[tuple[Any, ...]] = []
    while i >= 0:
        i, path, _ = pieces[i]
        parts.append(path)
    return [p for path in reversed(parts) for p in path]

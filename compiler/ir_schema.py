"""The JSON Schema of `seqc compile --target ir`, derived from the IR dataclasses.

Deriving it (rather than writing it by hand) keeps it true as the IR grows; the
shipped copy in targets/schemas/ir.schema.json is checked against this in tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from typing import Any

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


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema(a, defs) for a in typing.get_args(tp)]}
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

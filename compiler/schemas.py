"""The JSON Schemas shipped in targets/schemas/, loaded once and compiled into validators."""

from __future__ import annotations

import functools
import json
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "targets" / "schemas"


@functools.cache
def schema(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


@functools.cache
def validator(name: str):
    """A reusable draft 2020-12 validator (jsonschema is imported only when needed)."""
    from jsonschema import Draft202012Validator

    doc = schema(name)
    Draft202012Validator.check_schema(doc)
    return Draft202012Validator(doc, format_checker=Draft202012Validator.FORMAT_CHECKER)

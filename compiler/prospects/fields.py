"""Field conversion and validation: the `prospect` block as per-field converters and as a JSON Schema.

`RecordValidator` compiles the block to one conversion-and-check function per declared
field and turns a `RawRecord` into a `Record` or its `RecordError`s (the fast path).
`prospect_schema` states the same contract as a JSON Schema (draft 2020-12) for a record
*after* normalisation; tests prove the two agree. Kept apart from `reading` so the contract
can be used, tested and benchmarked on plain values without any file.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from typing import Any, Callable

from compiler import ir
from compiler.prospects.records import RawRecord, Record, RecordError, _BadNumber, show
from compiler.prospects.reference import (
    TIMEZONE_PATTERN,
    _TIMEZONE_RE,
    _time_zone_folded,
    country_names,
    is_time_zone,
    time_zones,
)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
TIMEZONE_FORMAT = "iana-time-zone"
"""A custom JSON Schema `format`: an IANA time zone name (see `format_checker`)."""

# Patterns are written for both Python `re` and ECMA-262 (what JSON Schema names):
# explicit ASCII classes, never \d \s \w, whose meaning differs between the two.
EMAIL_PATTERN = (
    r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$"
)
URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}"
    r"(?::[0-9]{1,5})?(?:[/?#][^\x00-\x20\x7f-\x9f\x22<>\\^`{|}\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]*)?$"
)
PHONE_PATTERN = r"^\+?\(?[0-9](?:[ ().-]*[0-9]){6,14}\)?(?: *(?:[Ee][Xx][Tt]\.?|[Xx]|#) *[0-9]{1,6})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
EMAIL_MAX, URL_MAX = 254, 2048

_EMAIL_RE = re.compile(EMAIL_PATTERN)
_URL_RE = re.compile(URL_PATTERN)
_PHONE_RE = re.compile(PHONE_PATTERN)
_DATE_RE = re.compile(DATE_PATTERN)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(?:[,.' ][0-9]{3})+")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}

# ---------------------------------------------------------------- schema


def prospect_schema(prospect: ir.Prospect) -> dict[str, Any]:
    """The `prospect` block as a JSON Schema (draft 2020-12) for one normalised record.

    Deterministic: properties and `required` in declaration order. Extra columns are
    allowed as flat values. Format assertion must be on (`format_checker()`) for
    `date` and time zones to be fully checked; the patterns hold without it.
    """
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "seqc prospect record",
        "type": "object",
        "properties": {f.name: field_schema(f) for f in prospect.fields},
        "required": [f.name for f in prospect.fields if f.required],
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    }


def field_schema(f: ir.Field) -> dict[str, Any]:
    """The JSON Schema of one declared field."""
    s: dict[str, Any]
    if f.type == "text":
        s = {"type": "string"}
    elif f.type == "int":
        s = {"type": "integer"}
    elif f.type == "number":
        s = {"type": "number"}
    elif f.type == "bool":
        s = {"type": "boolean"}
    elif f.type == "date":
        s = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
    elif f.type == "email":
        s = {"type": "string", "format": "email", "maxLength": EMAIL_MAX, "pattern": EMAIL_PATTERN}
    elif f.type == "url":
        s = {"type": "string", "maxLength": URL_MAX, "pattern": URL_PATTERN}
    elif f.type == "phone":
        s = {"type": "string", "pattern": PHONE_PATTERN}
    elif f.type == "timezone":
        s = {"type": "string", "format": TIMEZONE_FORMAT, "pattern": TIMEZONE_PATTERN}
    elif f.type == "country":
        s = {"type": "string", "enum": sorted(country_names())}
    elif f.type == "enum":
        s = {"type": "string", "enum": list(f.enum_values)}
    else:
        raise ValueError(f"unknown field type {f.type!r}")
    s["x-seqc-type"] = f.type
    return s


def format_checker() -> Any:
    """A `jsonschema.FormatChecker` with the standard formats and `iana-time-zone`."""
    import jsonschema

    checker = jsonschema.FormatChecker()
    checker.checks(TIMEZONE_FORMAT)(lambda value: not isinstance(value, str) or is_time_zone(value))
    return checker


def schema_validator(prospect: ir.Prospect) -> Any:
    """A reusable `jsonschema.Draft202012Validator` for the schema, format assertion on (tests, bench)."""
    import jsonschema

    return jsonschema.Draft202012Validator(prospect_schema(prospect), format_checker=format_checker())


# ---------------------------------------------------------------- conversion

_MISSING = object()


class _Bad:
    """A value that failed its check: why, and the value as the schema would see it."""

    __slots__ = ("reason", "value")

    def __init__(self, reason: str, value: Any) -> None:
        self.reason = reason
        self.value = value


_NOUNS = {
    "text": "text", "int": "an integer", "number": "a number", "bool": "true or false",
    "date": "a date (YYYY-MM-DD)", "email": "an email address", "url": "an http(s) URL",
    "phone": "a phone number", "timezone": "an IANA time zone name",
    "country": "an ISO 3166-1 alpha-2 country code", "enum": "one of the listed values",
}


def _wrong_type(ftype: str, value: Any) -> _Bad:
    if isinstance(value, _BadNumber):
        return _Bad(f"`{show(value.text)}` is not a number JSON can hold", value.text)
    if isinstance(value, dict):
        got = "an object"
    elif isinstance(value, list):
        got = "an array"
    elif isinstance(value, bool):
        got = f"the boolean `{'true' if value else 'false'}`"
    elif isinstance(value, (int, float)):
        got = f"the number `{show(value)}`"
    else:
        got = f"`{show(value)}`"
    return _Bad(f"expected {_NOUNS[ftype]}, got {got}", value)


def _text(v: Any) -> Any:
    if type(v) is str:
        s = v.strip()
        return s if s else _MISSING
    return _wrong_type("text", v)


def _int(v: Any) -> Any:
    t = type(v)
    if t is str:
        s = v.strip()
        if not s:
            return _MISSING
        if _INT_RE.fullmatch(s):
            try:
                return int(s)
            except ValueError:  # more digits than int() accepts (CVE-2020-10735 limit)
                return _Bad(f"integer `{show(s)}` is too long", s)
        hint = (" (write it without thousands separators)" if _GROUPED_RE.fullmatch(s)
                else " (not a whole number)" if _NUMBER_RE.fullmatch(s) else "")
        return _Bad(f"expected an integer, got `{show(s)}`{hint}", s)
    if t is int:
        return v
    if t is float and math.isfinite(v) and v.is_integer():
        return int(v)
    return _wrong_type("int", v)


def _number(v: Any) -> Any:
    t = type(v)
    if t is str:
        s = v.strip()
        if not s:
            return _MISSING
        if _NUMBER_RE.fullmatch(s):
            n: int | float = int(s) if _INT_RE.fullmatch(s) and len(s) < 4000 else float(s)
            if math.isfinite(n):
                return n
            return _Bad(f"number `{show(s)}` is out of range", s)
        hint = " (use a point for decimals and no thousands separators)" if "," in s else ""
        return _Bad(f"expected a number, got `{show(s)}`{hint}", s)
    if t is int or (t is float and math.isfinite(v)):
        return v
    return _wrong_type("number", v)


def _bool(v: Any) -> Any:
    t = type(v)
    if t is str:
        s = v.strip()
        if not s:
            return _MISSING
        b = _BOOLS.get(s.lower()) if s.isascii() else None
        if b is None:
            return _Bad(f"expected true/false, yes/no or 1/0, got `{show(s)}`", s)
        return b
    if t is bool:
        return v
    return _wrong_type("bool", v)


def _string_check(ftype: str, check: Callable[[str], str | _Bad]) -> Callable[[Any], Any]:
    """A converter for a string type: strip, missing when empty, then `check`."""

    def convert(v: Any) -> Any:
        if type(v) is str:
            s = v.strip()
            return check(s) if s else _MISSING
        return _wrong_type(ftype, v)

    return convert


def _check_date(s: str) -> str | _Bad:
    if _DATE_RE.fullmatch(s):
        try:
            dt.date.fromisoformat(s)
            return s
        except ValueError:
            return _Bad(f"`{show(s)}` is not a calendar date", s)
    return _Bad(f"expected a date like 2027-01-05, got `{show(s)}`", s)


def _check_email(s: str) -> str | _Bad:
    if len(s) <= EMAIL_MAX and _EMAIL_RE.fullmatch(s):
        return s
    hint = " (non-ASCII addresses need SMTPUTF8; not supported)" if not s.isascii() else ""
    return _Bad(f"not an email address: `{show(s)}`{hint}", s)


def _check_url(s: str) -> str | _Bad:
    if len(s) <= URL_MAX and _URL_RE.fullmatch(s):
        return s
    return _Bad(f"not an http(s) URL: `{show(s)}`", s)


def _check_phone(s: str) -> str | _Bad:
    if _PHONE_RE.fullmatch(s):
        return s
    return _Bad(f"not a phone number: `{show(s)}`", s)


def _check_time_zone(s: str) -> str | _Bad:
    if s in time_zones() and _TIMEZONE_RE.fullmatch(s):
        return s
    canonical = _time_zone_folded().get(s.lower()) if s.isascii() else None
    if canonical is not None:
        return canonical
    return _Bad(f"unknown time zone `{show(s)}` (expected an IANA name like `Europe/Berlin`)", s)


_COUNTRY_HINTS = {"UK": "GB", "EL": "GR"}


def _check_country(s: str) -> str | _Bad:
    code = s.upper() if s.isascii() else s
    if code in country_names():
        return code
    guess = _COUNTRY_HINTS.get(code) or _country_by_name().get(s.casefold())
    hint = f" (did you mean `{guess}`?)" if guess else ""
    if len(s) == 2:
        return _Bad(f"unknown country code `{show(s)}`{hint}", s)
    return _Bad(f"expected an ISO 3166-1 alpha-2 code like `DE`, got `{show(s)}`{hint}", s)


@functools.cache
def _country_by_name() -> dict[str, str]:
    return {name.casefold(): code for code, name in country_names().items()}


def _enum_check(values: tuple[str, ...]) -> Callable[[str], str | _Bad]:
    exact = frozenset(values)
    folded = {v.lower(): v for v in values if v.isascii()}
    listed = ", ".join(values)

    def check(s: str) -> str | _Bad:
        if s in exact:
            return s
        canonical = folded.get(s.lower()) if s.isascii() else None
        if canonical is not None:
            return canonical
        return _Bad(f"expected one of {listed}; got `{show(s)}`", s)

    return check


def _extra(v: Any) -> Any:
    """An undeclared column: kept verbatim as text; numbers and booleans become their JSON text."""
    t = type(v)
    if t is str:
        return v if v and not v.isspace() else _MISSING
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if t is float and math.isfinite(v):
        return repr(v)
    if isinstance(v, _BadNumber):
        return _Bad(f"`{show(v.text)}` is not a number JSON can hold", v.text)
    kind = "object" if isinstance(v, dict) else "array" if isinstance(v, list) else type(v).__name__
    return _Bad(f"nested {kind}; prospect records are flat (text, numbers, true/false)", v)


def converter(f: ir.Field) -> Callable[[Any], Any]:
    """The conversion-and-check function of one declared field (internal sentinel results)."""
    simple = {"text": _text, "int": _int, "number": _number, "bool": _bool}
    if f.type in simple:
        return simple[f.type]
    checks: dict[str, Callable[[str], str | _Bad]] = {
        "date": _check_date, "email": _check_email, "url": _check_url, "phone": _check_phone,
        "timezone": _check_time_zone, "country": _check_country,
    }
    check = _enum_check(f.enum_values) if f.type == "enum" else checks.get(f.type)
    if check is None:
        raise ValueError(f"unknown field type {f.type!r}")
    return _string_check(f.type, check)


class RecordValidator:
    """The prospect block compiled to one conversion-and-check function per field (the fast path)."""

    def __init__(self, prospect: ir.Prospect) -> None:
        self.prospect = prospect
        self._convert = {f.name: converter(f) for f in prospect.fields}
        self._required = tuple(f.name for f in prospect.fields if f.required)
        self._order = {f.name: i for i, f in enumerate(prospect.fields)}

    def normalize(self, values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """(data, errors): converted values, and (field, reason) for each bad or missing field.

        For a bad field `data` holds the stripped input, so the JSON Schema sees what
        the user wrote and rejects it too.
        """
        data: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        convert = self._convert
        for key, value in values.items():
            if value is None:
                continue
            result = convert.get(key, _extra)(value)
            if result is _MISSING:
                continue
            if type(result) is _Bad:
                errors.append((key, result.reason))
                data[key] = result.value
            else:
                data[key] = result
        for name in self._required:
            if name not in data:
                errors.append((name, "missing required field"))
        if len(errors) > 1:
            last = len(self._order)
            errors.sort(key=lambda e: self._order.get(e[0], last))
        return data, errors

    def check(self, raw: RawRecord) -> Record | list[RecordError]:
        data, errors = self.normalize(raw.values)
        if errors:
            return [RecordError(raw.row, name, reason) for name, reason in errors]
        return Record(raw.row, data)


@functools.lru_cache(maxsize=16)
def compile_validator(prospect: ir.Prospect) -> RecordValidator:
    """The cached `RecordValidator` of a prospect block."""
    return RecordValidator(prospect)

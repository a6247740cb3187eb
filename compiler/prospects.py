"""Prospect data: read CSV/JSON/JSONL files, compile the `prospect` block to a JSON Schema and a fast validator.

Prospect values are untrusted data. They are read, converted to the declared type and
validated here, and never evaluated: text stays a plain `str`. Escaping for the output a
value lands in (HTML, CSV formula prefixes, email headers) is the job of that output.

Pipeline, one record at a time so memory stays flat in the number of prospects::

    read_records(path)  ->  RawRecord(row, values) | RecordError     (file format)
    RecordValidator     ->  Record(row, data)      | RecordError...  (prospect block)
    load_prospects(path, prospect) does both.

The JSON Schema from `prospect_schema` describes a record *after* normalisation
(`Record.data`): missing values absent, CSV text converted to the declared type.
`RecordValidator` is the same contract compiled to per-field Python functions;
tests prove the two agree.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from compiler import ir
from compiler.diagnostics import SeqcError

DATA_DIR = Path(__file__).parent / "data"
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
TIMEZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
EMAIL_MAX, URL_MAX = 254, 2048

_EMAIL_RE = re.compile(EMAIL_PATTERN)
_URL_RE = re.compile(URL_PATTERN)
_PHONE_RE = re.compile(PHONE_PATTERN)
_TIMEZONE_RE = re.compile(TIMEZONE_PATTERN)
_DATE_RE = re.compile(DATE_PATTERN)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(?:[,.' ][0-9]{3})+")
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}

# ---------------------------------------------------------------- data files


def _data_lines(name: str) -> list[list[str]]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]


@functools.cache
def country_names() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name, the officially assigned codes (`data/iso3166_alpha2.txt`)."""
    return {row[0]: row[1] for row in _data_lines("iso3166_alpha2.txt")}


@functools.cache
def gdpr_countries() -> frozenset[str]:
    """Codes of the countries where the GDPR or the UK GDPR applies (`data/gdpr_countries.txt`)."""
    return frozenset(row[0] for row in _data_lines("gdpr_countries.txt"))


@functools.cache
def role_local_parts() -> frozenset[str]:
    """Local parts of role addresses such as `info` or `noreply` (`data/role_addresses.txt`)."""
    return frozenset(row[0] for row in _data_lines("role_addresses.txt"))


@functools.cache
def time_zones() -> frozenset[str]:
    """Valid IANA zone names: the `tzdata` package's list, else what `zoneinfo` finds."""
    try:
        import importlib.resources

        text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
        names = set(text.split())
    except (ImportError, OSError):
        import zoneinfo

        names = set(zoneinfo.available_timezones())
    return frozenset(names - {"Factory", "localtime", "posixrules"})


@functools.cache
def _time_zone_folded() -> dict[str, str]:
    return {name.lower(): name for name in time_zones()}


def is_time_zone(name: object) -> bool:
    """True for an IANA zone name such as `Europe/Berlin` (exact spelling; no paths)."""
    return isinstance(name, str) and name in time_zones() and bool(_TIMEZONE_RE.fullmatch(name))


# ---------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: `row` is its 1-based position (header not counted)."""

    row: int
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Record:
    """A valid record: declared fields converted, missing optionals absent, extra columns as text."""

    row: int
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordError:
    """A bad record: `field` None means the record as a whole (a ragged row, a bad JSON line)."""

    row: int
    field: str | None
    reason: str

    def line(self) -> str:
        """`row N: field: reason`, one line whatever the data holds."""
        return f"row {self.row}: {'(record)' if self.field is None else show(self.field)}: {self.reason}"


@dataclass(slots=True)
class Counts:
    """Prospect counts for the last stderr line; `add` tallies what `load_prospects` yields."""

    read: int = 0
    valid: int = 0
    routed: int = 0
    rendered: int = 0
    rejected: int = 0
    unrouted: int = 0
    _last_rejected: int = field(default=0, init=False, repr=False, compare=False)

    def add(self, item: Record | RecordError) -> None:
        """Count a record once, however many errors it has (they arrive together)."""
        if isinstance(item, Record):
            self.read += 1
            self.valid += 1
        elif item.row != self._last_rejected:
            self._last_rejected = item.row
            self.read += 1
            self.rejected += 1

    def line(self) -> str:
        return (f"prospects: {self.read} read, {self.valid} valid, {self.routed} routed, "
                f"{self.rendered} rendered, {self.rejected} rejected, {self.unrouted} unrouted")


def show(value: object, limit: int = 60) -> str:
    """A value made safe to quote in a one-line message: control and format characters escaped, cut at `limit`."""
    s = value if isinstance(value, str) else repr(value)
    cut = len(s) > limit
    s = s[:limit]
    if not s.isprintable() or "\\" in s:
        s = "".join(_escape_char(ch) for ch in s)
    return s + "…" if cut else s


def _escape_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch.isprintable():
        return ch
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    return named or (f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")


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


class _BadNumber:
    """A JSON token Python reads but JSON forbids or cannot hold (`NaN`, `1e999`)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


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


# ---------------------------------------------------------------- reading

_CHUNK = 1 << 16
_MAX_JSON_RECORD = 16 << 20
_JSON_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _json_hooks() -> json.JSONDecoder:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(items)
        if len(d) != len(items):
            seen: set[str] = set()
            dup = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            d = _DuplicateKeys(d)
            d.duplicate = dup
        return d

    def number(text: str) -> float | _BadNumber:
        f = float(text)
        return f if math.isfinite(f) else _BadNumber(text)

    return json.JSONDecoder(object_pairs_hook=pairs, parse_float=number, parse_constant=_BadNumber)


class _DuplicateKeys(dict):
    duplicate = ""


_DECODER = _json_hooks()
_NUMBER_TYPES = (int, float, _BadNumber)


def _record_of(row: int, value: Any) -> RawRecord | RecordError:
    if type(value) is dict:
        return RawRecord(row, value)
    if type(value) is _DuplicateKeys:
        return RecordError(row, None, f"duplicate key `{show(value.duplicate)}`")
    kind = "an array" if isinstance(value, list) else f"`{show(value)}`"
    return RecordError(row, None, f"expected a JSON object, got {kind}")


def detect_format(path: str | Path, head: str = "") -> str:
    """`csv`, `json` or `jsonl`: by extension, else by the first character of the text.

    A `.json` file that starts with `{` is read as JSONL (one object per line).
    """
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    first = head.lstrip(" \t\r\n")[:1]
    if fmt == "json" and first == "{":
        return "jsonl"
    if fmt is not None:
        return fmt
    return {"[": "json", "{": "jsonl"}.get(first, "csv")


@dataclass(frozen=True, slots=True)
class Source:
    """A prospect file that passed the file-level checks; `records()` streams it."""

    path: Path
    name: str
    format: str
    columns: tuple[str, ...] | None = None
    delimiter: str = ","

    def records(self) -> Iterator[RawRecord | RecordError]:
        reader = {"csv": _csv_records, "json": _json_array_records, "jsonl": _jsonl_records}[self.format]
        try:
            yield from reader(self)
        except UnicodeDecodeError as e:  # the file changed after the up-front check
            raise SeqcError(f"{self.name}: not UTF-8 text ({e.reason}); save it as UTF-8") from None
        except OSError as e:
            raise SeqcError(f"{self.name}: cannot read ({e.strerror or e})") from None


def open_source(path: str | Path) -> Source:
    """Check a prospect file up front: it exists, is a readable UTF-8 text file, and its header is sound."""
    name = str(path)
    path = Path(path)
    try:
        head = _check_text(path, name)
    except FileNotFoundError:
        raise SeqcError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise SeqcError(f"{name}: is a directory, not a prospect file") from None
    except PermissionError:
        raise SeqcError(f"{name}: permission denied") from None
    except OSError as e:
        raise SeqcError(f"{name}: cannot read ({e.strerror or e})") from None
    fmt = detect_format(path, head)
    if fmt == "csv":
        columns, delimiter = _csv_header(path, name)
        return Source(path, name, fmt, columns, delimiter)
    if fmt == "json" and not head.startswith("["):
        what = "an empty file" if not head else "something else"
        raise SeqcError(f"{name}: expected a JSON array of records, found {what}")
    return Source(path, name, fmt)


def _check_text(path: Path, name: str) -> str:
    """Decode the whole file once as UTF-8 (BOM allowed) so bad bytes stop the run before any record.

    Returns the first characters, for format sniffing.
    """
    if path.is_dir():
        raise IsADirectoryError(name)
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    head, lines = "", 0
    with open(path, "rb") as f:
        first = True
        while True:
            chunk = f.read(_CHUNK * 4)
            if first and chunk[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                raise SeqcError(f"{name}: is UTF-16 text; save it as UTF-8")
            if b"\0" in chunk:
                line = lines + chunk.count(b"\n", 0, chunk.index(b"\0")) + 1
                raise SeqcError(f"{name}: has NUL bytes (line {line}); not a text file")
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                at = max(0, min(e.start - (len(e.object) - len(chunk)), len(chunk)))
                line = lines + chunk.count(b"\n", 0, at) + 1
                bad = e.object[e.start:e.start + 1].hex()
                raise SeqcError(f"{name}: not UTF-8 text (byte 0x{bad} on line {line}); save it as UTF-8") from None
            if first:
                head = text.lstrip(" \t\r\n")[:64]
                first = False
            if not chunk:
                return head
            lines += chunk.count(b"\n")


def _csv_header(path: Path, name: str) -> tuple[tuple[str, ...], str]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        first = next((line for line in f if line.strip()), "")
        delimiter = _delimiter(first)
        f.seek(0)
        header: list[str] = []
        try:
            for header in csv.reader(f, delimiter=delimiter):
                if header:
                    break
        except csv.Error as e:
            raise SeqcError(f"{name}: unreadable CSV header ({e})") from None
    if not header:
        raise SeqcError(f"{name}: empty file, expected a header row")
    columns = tuple(c.strip() for c in header)
    seen: dict[str, int] = {}
    for i, column in enumerate(columns, 1):
        if not column:
            raise SeqcError(f"{name}: column {i} of the header has no name")
        if column in seen:
            raise SeqcError(f"{name}: column `{show(column)}` appears twice in the header "
                            f"(columns {seen[column]} and {i})")
        seen[column] = i
    return columns, delimiter


def _delimiter(first_line: str) -> str:
    """`,`; `;` or tab only when the header line has no comma but has those (spreadsheet exports)."""
    if "," in first_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in first_line:
            return candidate
    return ","


def _csv_records(source: Source) -> Iterator[RawRecord | RecordError]:
    header = source.columns or ()
    width = len(header)
    with open(source.path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=source.delimiter)
        for cells in reader:  # the header (checked by _csv_header)
            if cells:
                break
        row = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                row += 1
                yield RecordError(row, None, f"unreadable CSV row ({e})")
                continue
            if not cells:
                continue
            row += 1
            if len(cells) == width:
                yield RawRecord(row, dict(zip(header, cells)))
            else:
                yield RecordError(row, None, f"has {len(cells)} cells, the header has {width} columns")


def _jsonl_records(source: Source) -> Iterator[RawRecord | RecordError]:
    decode = _DECODER.decode
    with open(source.path, encoding="utf-8-sig") as f:
        row = 0
        for line in f:
            if not line.strip(" \t\r\n"):
                continue
            row += 1
            try:
                value = decode(line)
            except json.JSONDecodeError as e:
                column = min(e.pos, len(line.rstrip("\r\n"))) + 1
                yield RecordError(row, None, f"not valid JSON ({e.msg} at column {column})")
                continue
            except (ValueError, RecursionError) as e:  # too many digits; too deeply nested
                yield RecordError(row, None, f"not valid JSON ({show(str(e), 80)})")
                continue
            yield _record_of(row, value)


def _json_array_records(source: Source) -> Iterator[RawRecord | RecordError]:
    """Stream the elements of a top-level JSON array with `raw_decode` over a sliding buffer."""
    name = source.name
    decode = _DECODER.raw_decode
    with open(source.path, encoding="utf-8-sig") as f:
        buf, pos, eof = "", 0, False
        lines_before, column_before = 0, 0  # of the text dropped from the buffer's front

        def fill(need_more: bool) -> bool:
            nonlocal buf, pos, eof, lines_before, column_before
            if pos > _CHUNK:
                newline = buf.rfind("\n", 0, pos)
                if newline < 0:
                    column_before += pos
                else:
                    lines_before += buf.count("\n", 0, pos)
                    column_before = pos - newline - 1
                buf, pos = buf[pos:], 0
            if eof:
                return False
            more = f.read(max(_CHUNK, len(buf) - pos) if need_more else _CHUNK)
            eof = not more
            buf += more
            return bool(more)

        def fail(what: str, at: int) -> SeqcError:
            line = lines_before + buf.count("\n", 0, at) + 1
            newline = buf.rfind("\n", 0, at)
            column = at - newline if newline >= 0 else column_before + at + 1
            return SeqcError(f"{name}: not valid JSON at line {line}, column {column}: {what}")

        def skip_ws() -> str:
            nonlocal pos
            while True:
                pos = _JSON_WS.match(buf, pos).end()  # type: ignore[union-attr]
                if pos < len(buf) or not fill(False):
                    return buf[pos:pos + 1]

        if skip_ws() != "[":
            raise fail("expected `[`", pos)
        pos += 1
        row = 0
        if skip_ws() == "]":
            pos += 1
        else:
            while True:
                while True:
                    try:
                        value, end = decode(buf, pos)
                        # Only a number can look complete while cut: `1.5` of `1.5e3`.
                        if eof or type(value) not in _NUMBER_TYPES or len(buf) - pos > _MAX_JSON_RECORD or (
                                end < len(buf) and buf[end] not in _NUMBER_CHARS):
                            break
                    except json.JSONDecodeError as e:
                        if eof or len(buf) - pos > _MAX_JSON_RECORD:
                            raise fail(e.msg, e.pos) from None
                    except (ValueError, RecursionError) as e:
                        raise fail(show(str(e), 80), pos) from None
                    fill(True)
                row += 1
                pos = end
                yield _record_of(row, value)
                sep = skip_ws()
                pos += 1
                if sep == "]":
                    break
                if sep != ",":
                    raise fail("expected `,` or `]` after a record", pos - 1)
                skip_ws()
        if skip_ws():
            raise fail("unexpected data after the array", pos)


def read_records(path: str | Path) -> Iterator[RawRecord | RecordError]:
    """Stream the records of a CSV, JSON-array or JSONL file.

    File-level problems (missing, unreadable, not UTF-8, bad header) raise `SeqcError`
    before the first record; record-level problems are yielded as `RecordError`.
    """
    return open_source(path).records()


def load_prospects(path: str | Path, prospect: ir.Prospect) -> Iterator[Record | RecordError]:
    """Stream valid `Record`s and the `RecordError`s of bad ones (all errors of a row together).

    A CSV header that lacks a required field raises `SeqcError`: every row would fail.
    """
    source = open_source(path)
    if source.columns is not None:
        _check_columns(source.name, source.columns, prospect)
    return _validated(source.records(), compile_validator(prospect))


def _validated(records: Iterator[RawRecord | RecordError],
               validator: RecordValidator) -> Iterator[Record | RecordError]:
    check = validator.check
    for raw in records:
        if type(raw) is RecordError:
            yield raw
            continue
        result = check(raw)  # type: ignore[arg-type]
        if type(result) is list:
            yield from result
        else:
            yield result  # type: ignore[misc]


def _check_columns(name: str, columns: tuple[str, ...], prospect: ir.Prospect) -> None:
    missing = [f.name for f in prospect.fields if f.required and f.name not in columns]
    if not missing:
        return
    folded = {c.casefold(): c for c in columns}
    hints = [f"`{show(folded[m.casefold()])}` to `{m}`" for m in missing if m.casefold() in folded]
    listed = ", ".join(f"`{m}`" for m in missing)
    noun = "column" if len(missing) == 1 else "columns"
    hint = f"; column names are case-sensitive: rename {', '.join(hints)}" if hints else ""
    raise SeqcError(f"{name}: the header has no {noun} {listed}, which the prospect block requires{hint}")


# ---------------------------------------------------------------- hygiene


def normalize_email(email: str) -> str:
    """The key two addresses share when they are the same mailbox for dedupe: trimmed, lower-case."""
    return email.strip().lower()


def is_role_address(email: str) -> bool:
    """True for addresses that reach a function, not a person (`info@`, `sales@`, `noreply@` …)."""
    local, at, _ = email.strip().rpartition("@")
    if not at:
        return False
    return local.split("+", 1)[0].lower() in role_local_parts()


def is_gdpr_country(code: str | None) -> bool:
    """True when the GDPR or the UK GDPR applies to a prospect in this country (EU, EEA, UK)."""
    return isinstance(code, str) and code.strip().upper() in gdpr_countries()


class DuplicateTracker:
    """Remembers normalised emails as records stream by; `first_row` finds repeats."""

    def __init__(self, field_name: str = "email") -> None:
        self.field_name = field_name
        self._seen: dict[str, int] = {}

    def first_row(self, record: Record) -> int | None:
        """The row that first had this record's address, or None (and remember it)."""
        value = record.data.get(self.field_name)
        if not isinstance(value, str):
            return None
        first = self._seen.setdefault(normalize_email(value), record.row)
        return None if first == record.row else first


def duplicates(records: Iterable[Record], field_name: str = "email") -> Iterator[tuple[Record, int]]:
    """(record, first row) for every record whose address an earlier record already had."""
    tracker = DuplicateTracker(field_name)
    for record in records:
        first = tracker.first_row(record)
        if first is not None:
            yield record, first

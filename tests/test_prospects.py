"""Prospect files: reading, the compiled schema and validator, hostile data, streaming."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import ir
from compiler import prospects as pr
from compiler.diagnostics import SeqcError, Span
from compiler.prospects import reading, reference

DATA = Path(__file__).parent / "data"
SPAN = Span("prospect.seq", 1, 1, 1, 2)


def prospect(**fields: str) -> ir.Prospect:
    """`prospect(email="email!", status="enum(a, b)")`: a trailing `!` marks a required field."""
    out = []
    for name, spec in fields.items():
        required = spec.endswith("!")
        ftype = spec.rstrip("!")
        values: tuple[str, ...] = ()
        if ftype.startswith("enum("):
            values = tuple(v.strip() for v in ftype[5:-1].split(","))
            ftype = "enum"
        out.append(ir.Field(name, ftype, required, SPAN, values))
    return ir.Prospect(tuple(out), SPAN)


SPEC_PROSPECT = prospect(
    email="email!", first_name="text!", company="text!", title="text", timezone="timezone",
    country="country", linkedin_url="url", phone="phone", employees="int", funding_round="text",
    funding_days_ago="int", new_vp_days_ago="int", email_status="enum(verified, risky, invalid, unknown)",
)
ALL_TYPES = prospect(
    t="text", i="int", n="number", b="bool", d="date", e="email", u="url", p="phone", z="timezone",
    c="country", s="enum(verified, risky)",
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def load(path: Path, p: ir.Prospect = SPEC_PROSPECT) -> list[pr.Record | pr.RecordError]:
    return list(pr.load_prospects(path, p))


def lines(items: list) -> list[str]:
    return [i.line() if isinstance(i, pr.RecordError) else f"row {i.row}: ok" for i in items]


# ---------------------------------------------------------------- types


def one(ftype: str, value: object) -> tuple[dict, list]:
    return pr.RecordValidator(prospect(f=ftype)).normalize({"f": value})


GOOD = [
    ("text", " Ann ", "Ann"),
    ("text", "Ann\r\nBcc: x@evil.test", "Ann\r\nBcc: x@evil.test"),
    ("int", "42", 42),
    ("int", " -7 ", -7),
    ("int", "+3", 3),
    ("int", 1200, 1200),
    ("int", 1200.0, 1200),
    ("number", "3.5", 3.5),
    ("number", "42", 42),
    ("number", "-.5e3", -500.0),
    ("number", 2, 2),
    ("number", 2.25, 2.25),
    ("bool", "true", True),
    ("bool", "No", False),
    ("bool", "YES", True),
    ("bool", "1", True),
    ("bool", "0", False),
    ("bool", False, False),
    ("date", "2027-01-05", "2027-01-05"),
    ("date", "2028-02-29", "2028-02-29"),
    ("email", "ann@acme.io", "ann@acme.io"),
    ("email", " Ann.Lee+sales@mail.acme.co.uk ", "Ann.Lee+sales@mail.acme.co.uk"),
    ("email", "o'brien@acme.io", "o'brien@acme.io"),
    ("url", "https://www.linkedin.com/in/ann-lee", "https://www.linkedin.com/in/ann-lee"),
    ("url", "http://acme.io", "http://acme.io"),
    ("url", "HTTPS://acme.io:8443/a?b=c&d=%20#top", "HTTPS://acme.io:8443/a?b=c&d=%20#top"),
    ("phone", "+1 (415) 555-0100", "+1 (415) 555-0100"),
    ("phone", "+44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
    ("phone", "415.555.0100 ext. 12", "415.555.0100 ext. 12"),
    ("phone", "+4930123456 x7", "+4930123456 x7"),
    ("phone", "1234567", "1234567"),
    ("timezone", "Europe/Berlin", "Europe/Berlin"),
    ("timezone", "America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("timezone", "UTC", "UTC"),
    ("timezone", "Etc/GMT+5", "Etc/GMT+5"),
    ("timezone", "europe/berlin", "Europe/Berlin"),
    ("country", "DE", "DE"),
    ("country", " gb ", "GB"),
    ("enum(verified, risky, invalid, unknown)", "risky", "risky"),
    ("enum(verified, risky, invalid, unknown)", "Verified", "verified"),
]


@pytest.mark.parametrize(("ftype", "value", "expected"), GOOD)
def test_good_values_convert(ftype: str, value: object, expected: object) -> None:
    data, errors = one(ftype, value)
    assert errors == []
    assert data == {"f": expected}
    assert type(data["f"]) is type(expected)


BAD = [
    ("text", 42, "expected text, got the number `42`"),
    ("text", True, "expected text, got the boolean `true`"),
    ("text", {"a": 1}, "expected text, got an object"),
    ("text", ["a"], "expected text, got an array"),
    ("int", "abc", "expected an integer, got `abc`"),
    ("int", "1,200", "expected an integer, got `1,200` (write it without thousands separators)"),
    ("int", "1.200.000", "thousands separators"),
    ("int", "12.5", "expected an integer, got `12.5` (not a whole number)"),
    ("int", "1e3", "not a whole number"),
    ("int", "\u0661\u0662", "expected an integer"),  # Arabic-Indic digits: int() takes them, we do not
    ("int", "1_000", "expected an integer"),
    ("int", "9" * 5000, "is too long"),
    ("int", 12.5, "expected an integer, got the number `12.5`"),
    ("int", True, "expected an integer, got the boolean `true`"),
    ("number", "3,5", "expected a number, got `3,5` (use a point"),
    ("number", "nan", "expected a number"),
    ("number", "inf", "expected a number"),
    ("number", "1e999", "number `1e999` is out of range"),
    ("number", False, "expected a number, got the boolean `false`"),
    ("bool", "maybe", "expected true/false, yes/no or 1/0, got `maybe`"),
    ("bool", 1, "expected true or false, got the number `1`"),
    ("date", "05/01/2027", "expected a date like 2027-01-05, got `05/01/2027`"),
    ("date", "2027-02-30", "`2027-02-30` is not a calendar date"),
    ("date", "20270105", "expected a date"),
    ("date", "2027-01-05T10:00:00Z", "expected a date"),
    ("email", "ann@", "not an email address: `ann@`"),
    ("email", "ann", "not an email address"),
    ("email", "ann@acme", "not an email address"),
    ("email", "ann@@acme.io", "not an email address"),
    ("email", "ann..lee@acme.io", "not an email address"),
    ("email", "Ann <ann@acme.io>", "not an email address"),
    ("email", "ann@acme.io\r\nBcc: x@evil.test", "not an email address: `ann@acme.io\\r\\nBcc: x@evil.test`"),
    ("email", "jörg@firma.de", "non-ASCII addresses need SMTPUTF8"),
    ("email", "a" * 65 + "@acme.io", "not an email address"),
    ("email", "a@" + "b" * 250 + ".io", "not an email address"),
    ("url", "javascript:alert(1)", "not an http(s) URL: `javascript:alert(1)`"),
    ("url", "ftp://acme.io", "not an http(s) URL"),
    ("url", "www.acme.io", "not an http(s) URL"),
    ("url", "https://linkedin.com@evil.test/x", "not an http(s) URL"),
    ("url", 'https://acme.io/"><script>', "not an http(s) URL"),
    ("url", "https://acme.io/a b", "not an http(s) URL"),
    ("url", "https://acme.io/" + "a" * 2048, "not an http(s) URL"),
    ("phone", "call me", "not a phone number: `call me`"),
    ("phone", "12345", "not a phone number"),
    ("phone", "+1 415 555 0100 0000 0000", "not a phone number"),
    ("phone", "=1+2", "not a phone number"),
    ("phone", 4155550100, "expected a phone number, got the number `4155550100`"),
    ("timezone", "Mars/Base", "unknown time zone `Mars/Base`"),
    ("timezone", "../../etc/passwd", "unknown time zone `../../etc/passwd`"),
    ("timezone", "/usr/share/zoneinfo/UTC", "unknown time zone"),
    ("timezone", "Europe\\Berlin", "unknown time zone `Europe\\\\Berlin`"),
    ("timezone", "localtime", "unknown time zone"),
    ("timezone", "Factory", "unknown time zone"),
    ("timezone", "+02:00", "unknown time zone"),
    ("country", "UK", "unknown country code `UK` (did you mean `GB`?)"),
    ("country", "XX", "unknown country code `XX`"),
    ("country", "Germany", "expected an ISO 3166-1 alpha-2 code like `DE`, got `Germany` (did you mean `DE`?)"),
    ("country", "ß", "got `ß`"),  # "ß".upper() == "SS" (South Sudan): no case games outside ASCII
    ("enum(verified, risky)", "maybe", "expected one of verified, risky; got `maybe`"),
    ("enum(verified, risky)", 1, "expected one of the listed values, got the number `1`"),
]


@pytest.mark.parametrize(("ftype", "value", "reason"), BAD)
def test_bad_values_are_reported(ftype: str, value: object, reason: str) -> None:
    _, errors = one(ftype, value)
    assert len(errors) == 1
    field, message = errors[0]
    assert field == "f"
    assert reason in message
    assert "\n" not in message and "\r" not in message


@pytest.mark.parametrize("ftype", sorted(set(ir.FIELD_TYPES) - {"enum"}) + ["enum(a, b)"])
@pytest.mark.parametrize("value", ["", "   ", "\t\r\n", None])
def test_empty_values_are_missing(ftype: str, value: object) -> None:
    assert pr.RecordValidator(prospect(f=ftype)).normalize({"f": value}) == ({}, [])
    assert pr.RecordValidator(prospect(f=ftype + "!")).normalize({"f": value}) == (
        {}, [("f", "missing required field")])


def test_every_field_type_has_a_schema_and_a_converter() -> None:
    for ftype in ir.FIELD_TYPES:
        f = ir.Field("f", ftype, False, SPAN, ("a",) if ftype == "enum" else ())
        assert pr.field_schema(f)["x-seqc-type"] == ftype
        assert callable(pr.converter(f))


# ---------------------------------------------------------------- schema


def test_schema_shape_and_determinism() -> None:
    schema = pr.prospect_schema(SPEC_PROSPECT)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert list(schema["properties"]) == [f.name for f in SPEC_PROSPECT.fields]
    assert schema["required"] == ["email", "first_name", "company"]
    assert schema["properties"]["employees"]["type"] == "integer"
    assert schema["properties"]["email_status"]["enum"] == ["verified", "risky", "invalid", "unknown"]
    countries = schema["properties"]["country"]["enum"]
    assert len(countries) == 249 and countries == sorted(countries) and "DE" in countries
    assert schema["properties"]["timezone"]["format"] == pr.TIMEZONE_FORMAT
    assert json.dumps(schema) == json.dumps(pr.prospect_schema(SPEC_PROSPECT))


def test_schema_accepts_a_normalised_record_and_rejects_bad_ones() -> None:
    validator = pr.schema_validator(SPEC_PROSPECT)
    good = {"email": "ann@acme.io", "first_name": "Ann", "company": "Acme", "timezone": "Europe/Berlin",
            "country": "DE", "employees": 40, "extra column": "kept"}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "timezone": "Mars/Base"})
    assert not validator.is_valid({**good, "employees": "40"})
    assert not validator.is_valid({**good, "nested": {"a": 1}})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "email"})


# Values near every boundary of every type, then padded and mixed with arbitrary data.
SAMPLES = [v for _, v, _ in GOOD] + [v for _, v, _ in BAD if not (isinstance(v, str) and len(v) > 300)] + [
    "", " ", "0", "-0", "00", "1.", ".5", "1e5", "true", "TRUE", "yes", "2027-13-01", "0000-01-01",
    "a@b.co", "a@b.c", "a@b-.co", "a@-b.co", "x@y.z1", "http://a.b", "https://a.b:99999", "https://xn--bcher-kva.ch/",
    "+", "(415) 555-0100", "555-0100 #12", "Europe/Berlin ", "EUROPE/BERLIN", "Etc/GMT-14", "US/Eastern", "de", "gb",
    "Verified", "risky", "İ", "K", 0, -1, 10**20, 1.0, 0.5, -2.5e-8, True, False, [], {}, [1], {"k": "v"},
]
values = st.one_of(
    st.sampled_from(SAMPLES),
    st.builds(lambda v, a, b: f"{a}{v}{b}", st.sampled_from([s for s in SAMPLES if isinstance(s, str)]),
              st.sampled_from(["", " ", "\t", "\n", "\r\n", "\u00a0", "\u2028"]),
              st.sampled_from(["", " ", "\n", "\x0b", "\u3000"])),
    st.text(max_size=12),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
AGREEMENT_PROSPECT = prospect(
    t="text!", i="int", n="number", b="bool", d="date", e="email!", u="url", p="phone", z="timezone",
    c="country", s="enum(verified, risky)",
)
records = st.fixed_dictionaries(
    {}, optional={f.name: values for f in AGREEMENT_PROSPECT.fields}
).flatmap(lambda d: st.dictionaries(st.text(max_size=4), values, max_size=2).map(lambda extra: {**extra, **d}))


def schema_error_fields(validator: jsonschema.Draft202012Validator, data: dict) -> set[str]:
    fields = set()
    for error in validator.iter_errors(data):
        if error.path:
            fields.add(error.path[0])
        else:
            assert error.validator == "required"
            fields.update(name for name in error.validator_value if name not in data)
    return fields


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_compiled_validator_agrees_with_jsonschema(record: dict) -> None:
    """The fast path and the JSON Schema (run by the real `jsonschema`) flag the same fields.

    `data` is what the schema sees: converted values for good fields, the stripped
    input for bad ones, missing values absent.
    """
    data, errors = pr.RecordValidator(AGREEMENT_PROSPECT).normalize(record)
    validator = pr.schema_validator(AGREEMENT_PROSPECT)
    assert {f for f, _ in errors} == schema_error_fields(validator, data)


def test_agreement_on_a_hand_written_corpus() -> None:
    validator = pr.schema_validator(ALL_TYPES)
    compiled = pr.RecordValidator(ALL_TYPES)
    short = {"t": "text", "i": "int", "n": "number", "b": "bool", "d": "date", "e": "email", "u": "url",
             "p": "phone", "z": "timezone", "c": "country", "s": "enum(verified, risky)"}
    for name, ftype in short.items():
        for table in (GOOD, BAD):
            for row_type, value, _ in table:
                if row_type.split("(")[0] == ftype.split("(")[0]:
                    data, errors = compiled.normalize({name: value})
                    assert {f for f, _ in errors} == schema_error_fields(validator, data), (name, value)


# ---------------------------------------------------------------- CSV


def test_csv_bom_quoted_newlines_commas_and_extra_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "\ufeffemail,first_name,company,notes\r\n"
                 'ann@acme.io,Ann,"Acme, Inc","line one\r\nline two"\r\n'
                 'bob@acme.io,Bob,"Bob ""The Builder"" Ltd",\r\n')
    items = load(path)
    assert items == [
        pr.Record(1, {"email": "ann@acme.io", "first_name": "Ann", "company": "Acme, Inc",
                      "notes": "line one\r\nline two"}),
        pr.Record(2, {"email": "bob@acme.io", "first_name": "Bob", "company": 'Bob "The Builder" Ltd'}),
    ]


def test_csv_row_numbers_count_records_not_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", 'email,first_name,company\n\na@x.io,"A\nB",X\n\nbad,C,Y\n,,\nd@x.io,D\n')
    assert lines(load(path)) == [
        "row 1: ok",
        "row 2: email: not an email address: `bad`",
        "row 3: email: missing required field",
        "row 3: first_name: missing required field",
        "row 3: company: missing required field",
        "row 4: (record): has 2 cells, the header has 3 columns",
    ]


def test_csv_ragged_rows_are_record_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "email,first_name,company\na@x.io,A,X,extra\nb@x.io\nc@x.io,C,Z\n")
    assert lines(load(path)) == [
        "row 1: (record): has 4 cells, the header has 3 columns",
        "row 2: (record): has 1 cells, the header has 3 columns",
        "row 3: ok",
    ]


def test_csv_truncated_last_line_is_a_record(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", 'email,first_name,company\na@x.io,A,X\nb@x.io,B,"Trunc')
    items = load(path)
    assert items[1] == pr.Record(2, {"email": "b@x.io", "first_name": "B", "company": "Trunc"})


def test_csv_oversized_cell_is_a_record_error_and_reading_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", f"email,first_name,company\na@x.io,A,{'x' * 200_000}\nb@x.io,B,Y\n")
    items = load(path)
    assert isinstance(items[0], pr.RecordError) and "field larger than field limit" in items[0].reason
    assert items[1] == pr.Record(2, {"email": "b@x.io", "first_name": "B", "company": "Y"})


def test_csv_header_names_are_trimmed_and_semicolons_detected(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", " email ;first_name;company\nann@acme.io;Ann;Acme, Inc\n")
    assert load(path) == [pr.Record(1, {"email": "ann@acme.io", "first_name": "Ann", "company": "Acme, Inc"})]


def test_csv_header_only_has_no_records(tmp_path: Path) -> None:
    assert load(write(tmp_path, "p.csv", "email,first_name,company\n")) == []


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty file, expected a header row"),
    ("\ufeff\n\n", "empty file, expected a header row"),
    ("email,first_name,email\n", "column `email` appears twice in the header (columns 1 and 3)"),
    ("email,,first_name\n", "column 2 of the header has no name"),
    ("email,first_name,company,\n", "column 4 of the header has no name"),
    ("Email,first_name\n", "the header has no columns `email`, `company`, which the prospect block "
                           "requires; column names are case-sensitive: rename `Email` to `email`"),
    ("email,first_name\n", "the header has no column `company`, which the prospect block requires"),
])
def test_csv_header_problems_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, "p.csv", content)
    with pytest.raises(SeqcError) as e:
        load(path)
    assert str(e.value) == f"{path}: {message}"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("latin1.csv", (DATA / "latin1.csv").read_bytes(), "not UTF-8 text (byte 0xe9 on line 2); save it as UTF-8"),
    ("garbage.csv", bytes(range(256)) * 4, "has NUL bytes (line 1); not a text file"),
    ("garbage.jsonl", b"\x89PNG\r\n\x1a\n\xff\xfe\xfd", "not UTF-8 text (byte 0x89 on line 1)"),
    ("utf16.csv", "email,first_name\n".encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    ("nul.csv", b"email,first_name\na@x.io,A\x00\n", "has NUL bytes (line 2)"),
    ("late.jsonl", b'{"email": "a@x.io"}\n' * 30000 + b'{"email": "\xe9"}\n', "(byte 0xe9 on line 30001)"),
])
def test_unreadable_encodings_are_one_line_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(SeqcError) as e:
        pr.load_prospects(path, SPEC_PROSPECT)  # raised up front, before any record
    assert str(e.value).startswith(f"{path}: ")
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_file_directory_and_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SeqcError, match=r"^.*nope\.csv: no such file$"):
        pr.read_records(tmp_path / "nope.csv")
    with pytest.raises(SeqcError, match=r": is a directory, not a prospect file$"):
        pr.read_records(tmp_path)
    path = write(tmp_path, "p.csv", "email\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(reading, "open", denied, raising=False)
    with pytest.raises(SeqcError, match=r"p\.csv: permission denied$"):
        pr.read_records(path)


# ---------------------------------------------------------------- JSON and JSONL


def test_jsonl_types_nulls_nested_blank_and_truncated_lines() -> None:
    p = prospect(email="email!", first_name="text!", employees="int", title="text")
    assert lines(load(DATA / "prospects.jsonl", p)) == [
        "row 1: ok",
        "row 2: ok",
        "row 3: first_name: expected text, got an object",
        "row 4: employees: expected an integer, got the boolean `true`",
        "row 5: (record): not valid JSON (Expecting ',' delimiter at column 45)",
    ]
    first, second = load(DATA / "prospects.jsonl", p)[:2]
    assert first.data == {"email": "ann@acme.io", "first_name": "Ann", "employees": 40, "vip": "true", "score": "1.5"}
    assert second.data == {"email": "bob@acme.io", "first_name": "Bob", "employees": 1200}


@pytest.mark.parametrize(("line", "reason"), [
    ('[1, 2]', "(record): expected a JSON object, got an array"),
    ('"ann@acme.io"', "(record): expected a JSON object, got `ann@acme.io`"),
    ('{"email": "a@x.io", "email": "b@x.io"}', "(record): duplicate key `email`"),
    ('{"email": "a@x.io", "n": NaN}', "n: `NaN` is not a number JSON can hold"),
    ('{"email": "a@x.io", "n": 1e999}', "n: `1e999` is not a number JSON can hold"),
    ('{"email": "a@x.io", "tags": ["a", "b"]}', "tags: nested array; prospect records are flat"),
    ('{"email": "a@x.io", "n": ' + "9" * 5000 + "}", "(record): not valid JSON (Exceeds the limit"),
    ('{"email": ' + "[" * 100_000 + "]" * 100_000 + "}", "(record): not valid JSON ("),
])
def test_jsonl_bad_lines_are_record_errors(tmp_path: Path, line: str, reason: str) -> None:
    path = write(tmp_path, "p.jsonl", line + '\n{"email": "ok@x.io"}\n')
    items = load(path, prospect(email="email!", n="number"))
    assert items[0].line().startswith(f"row 1: {reason}")
    assert items[-1] == pr.Record(2, {"email": "ok@x.io"})


def test_json_array_is_streamed_with_the_same_rules(tmp_path: Path) -> None:
    records = [{"email": "ann@acme.io", "first_name": "Ann", "company": "Acme", "employees": 40},
               {"email": "bob@acme.io", "first_name": "Bob", "company": None, "phone": "+1 415 555 0100"},
               [1], {"email": "c@acme.io", "first_name": "C", "company": "C", "country": "de"}]
    path = write(tmp_path, "p.json", json.dumps(records, indent=2))
    assert lines(load(path)) == [
        "row 1: ok",
        "row 2: company: missing required field",
        "row 3: (record): expected a JSON object, got an array",
        "row 4: ok",
    ]
    assert load(path)[3].data["country"] == "DE"


@pytest.mark.parametrize(("content", "message"), [
    ("", "expected a JSON array of records, found an empty file"),
    ('"text"', "expected a JSON array of records, found something else"),
    ("[", "not valid JSON at line 1, column 2: Expecting value"),
    ('[{"a": 1},]', "not valid JSON at line 1, column 11: Expecting value"),
    ('[{"a": 1}\n{"a": 2}]', "not valid JSON at line 2, column 1: expected `,` or `]` after a record"),
    ('[{"a": 1}] x', "not valid JSON at line 1, column 12: unexpected data after the array"),
    ('[{"a": 1}, {"a": 2', "not valid JSON at line 1, column 19: Expecting ',' delimiter"),
    ('[1, 2.5e', "not valid JSON at line 1, column 8: expected `,` or `]` after a record"),
])
def test_broken_json_arrays_are_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = write(tmp_path, "p.json", content)
    with pytest.raises(SeqcError) as e:
        list(pr.read_records(path))
    assert str(e.value) == f"{path}: {message}"


@pytest.mark.parametrize("chunk", [3, 64, 1 << 16])
@pytest.mark.parametrize("newlines", [False, True])
def test_json_array_error_position_survives_buffer_shifts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          chunk: int, newlines: bool) -> None:
    sep = ",\n" if newlines else ", "
    text = "[" + sep.join(['{"email": "a@x.io"}'] * 500) + sep + '{"email" 1}]'
    monkeypatch.setattr(reading, "_CHUNK", chunk)
    path = write(tmp_path, "p.json", text)
    with pytest.raises(SeqcError) as e:
        list(pr.read_records(path))
    at = text.index('{"email" 1}') + len('{"email" ')
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    assert str(e.value) == f"{path}: not valid JSON at line {line}, column {column}: Expecting ':' delimiter"


def test_empty_json_array_and_empty_jsonl(tmp_path: Path) -> None:
    assert list(pr.read_records(write(tmp_path, "p.json", " [ ] \n"))) == []
    assert list(pr.read_records(write(tmp_path, "p.jsonl", ""))) == []
    assert list(pr.read_records(write(tmp_path, "q.jsonl", "\n \n"))) == []


@pytest.mark.parametrize(("name", "content", "fmt"), [
    ("p.csv", "email\n", "csv"), ("p.CSV", "email\n", "csv"), ("p.json", "[]", "json"),
    ("p.json", '{"email": "a@x.io"}\n', "jsonl"), ("p.jsonl", "{}", "jsonl"), ("p.ndjson", "{}", "jsonl"),
    ("p.txt", " [ ]", "json"), ("p", '{"a": 1}', "jsonl"), ("p.dat", "email\n", "csv"),
])
def test_format_by_extension_then_sniffing(tmp_path: Path, name: str, content: str, fmt: str) -> None:
    assert pr.open_source(write(tmp_path, name, content)).format == fmt


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=5), json_values, max_size=4) | json_values, max_size=8),
       st.sampled_from([None, 0, 1, 3]), st.integers(min_value=1, max_value=9))
def test_json_array_streaming_matches_json_loads(items: list, indent: int | None, chunk: int) -> None:
    """Tiny read chunks put every token across a buffer boundary."""
    import tempfile

    text = json.dumps(items, indent=indent, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), "p.json", text)
        old = reading._CHUNK
        reading._CHUNK = chunk
        try:
            got = list(pr.read_records(path))
        finally:
            reading._CHUNK = old
    assert len(got) == len(items)
    for row, (item, value) in enumerate(zip(got, items), 1):
        assert item.row == row
        if isinstance(value, dict) and len(set(value)) == len(value):
            assert item == pr.RawRecord(row, value)
        else:
            assert isinstance(item, pr.RecordError)


# ---------------------------------------------------------------- hostile data


def test_hostile_values_are_kept_verbatim_as_plain_strings() -> None:
    p = prospect(email="email!", first_name="text!", company="text", title="text", website="text", employees="int")
    ann, bob, carl, dana = load(DATA / "hostile.csv", p)
    assert ann.data["first_name"] == "Ann\r\nBcc: list@evil.test"
    assert ann.data["company"] == "=cmd|' /C calc'!A0"
    assert ann.data["title"] == "<script>alert(1)</script>"
    assert bob.data["first_name"] == "{{ 7*7 }}"
    assert bob.data["company"] == "@SUM(1+1)"
    assert bob.data["title"] == "{% for x in y %}"
    assert bob.data["website"] == "javascript:alert(1)"
    assert carl.line() == "row 3: employees: expected an integer, got `x`"
    assert list(pr.read_records(DATA / "hostile.csv"))[2].values["first_name"] == "Carl \u202eevil"
    assert dana.data == {"email": "dana@acme.io", "first_name": "=?UTF-8?Q?=0A?=Bcc:x",
                         "company": "O'Brien & Sons, \"Ltd\"", "title": "VP"}
    for item in (ann, bob, dana):
        assert all(type(v) in (str, int) for v in item.data.values())


def test_hostile_field_names_and_values_stay_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "p.jsonl", json.dumps({"email": "a\r\nBcc: x@evil.test", "bad\nkey\u202e": {"x": 1}}))
    got = lines(load(path, prospect(email="email!")))
    assert got == ["row 1: email: not an email address: `a\\r\\nBcc: x@evil.test`",
                   "row 1: bad\\nkey\\u202e: nested object; prospect records are flat (text, numbers, true/false)"]


def test_show_escapes_and_cuts() -> None:
    assert pr.show("plain") == "plain"
    assert pr.show("a\\b") == "a\\\\b"
    assert pr.show("\x00\x1b[31m\u200b") == "\\u0000\\u001b[31m\\u200b"
    assert pr.show("x" * 100) == "x" * 60 + "…"


# ---------------------------------------------------------------- counts and hygiene


def test_counts_count_each_rejected_row_once(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "email,first_name,company\n,,\na@x.io,A,X\nbad,B,Y\n")
    counts = pr.Counts()
    for item in load(path):
        counts.add(item)
    counts.routed = counts.rendered = 1
    assert counts.line() == "prospects: 3 read, 1 valid, 1 routed, 1 rendered, 2 rejected, 0 unrouted"
    assert pr.Counts(62, 60, 59, 59, 2, 1).line() == \
        "prospects: 62 read, 60 valid, 59 routed, 59 rendered, 2 rejected, 1 unrouted"


@pytest.mark.parametrize(("email", "role"), [
    ("info@acme.io", True), ("Sales@Acme.io", True), ("support+eu@acme.io", True), ("no-reply@acme.io", True),
    ("noreply@acme.io", True), ("postmaster@acme.io", True), (" admin@acme.io ", True),
    ("ann@acme.io", False), ("info.ann@acme.io", False), ("sales", False), ("", False),
])
def test_is_role_address(email: str, role: bool) -> None:
    assert pr.is_role_address(email) is role


@pytest.mark.parametrize(("code", "gdpr"), [
    ("DE", True), ("fr", True), ("GR", True), ("NO", True), ("IS", True), ("LI", True), ("GB", True),
    ("RE", True), ("AX", True), ("US", False), ("CH", False), ("EL", False), ("UK", False), ("", False), (None, False),
])
def test_is_gdpr_country(code: str | None, gdpr: bool) -> None:
    assert pr.is_gdpr_country(code) is gdpr


def test_duplicates_by_normalised_email() -> None:
    records = [pr.Record(1, {"email": "Ann@X.com"}), pr.Record(2, {"email": "bob@x.com"}),
               pr.Record(3, {"email": " ann@x.com "}), pr.Record(4, {}), pr.Record(5, {"email": "ANN@x.COM"})]
    assert [(r.row, first) for r, first in pr.duplicates(records)] == [(3, 1), (5, 1)]


def test_data_files() -> None:
    countries = pr.country_names()
    assert len(countries) == 249 and all(len(c) == 2 and c.isupper() for c in countries)
    assert countries["DE"] == "Germany" and "UK" not in countries and "XK" not in countries
    assert pr.gdpr_countries() <= set(countries) and len(pr.gdpr_countries()) == 38
    roles = pr.role_local_parts()
    assert {"info", "sales", "support", "admin", "noreply", "abuse", "postmaster"} <= roles
    assert all(r == r.lower().strip() for r in roles)
    for name in ("iso3166_alpha2.txt", "gdpr_countries.txt", "role_addresses.txt"):
        assert "Source" in (reference.DATA_DIR / name).read_text(encoding="utf-8")


def test_time_zones_reject_paths_and_come_from_tzdata() -> None:
    assert pr.is_time_zone("America/New_York")
    assert not pr.is_time_zone("../zoneinfo/UTC")
    assert not pr.is_time_zone("")
    assert not pr.is_time_zone(None)
    assert len(pr.time_zones()) > 400


# ---------------------------------------------------------------- streaming


def _csv(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("email,first_name,company\n")
        f.writelines(f'u{i}@example.com,Ann,"Acme, Inc"\n' for i in range(n))
    return path


def _json_array(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        f.writelines(f'{{"email": "u{i}@example.com", "first_name": "Ann", "n": {i}}},\n' for i in range(n - 1))
        f.write('{"email": "last@example.com"}\n]\n')
    return path


def _peak(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in pr.read_records(path))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("make", "small", "large"), [(_csv, 20_000, 200_000), (_json_array, 5_000, 50_000)])
def test_reading_streams_in_flat_memory(tmp_path: Path, make, small: int, large: int) -> None:
    """Ten times the rows must not need much more memory (loading them would need ~10x)."""
    n_small, peak_small = _peak(make(tmp_path / "small", small))
    n_large, peak_large = _peak(make(tmp_path / "large", large))
    assert (n_small, n_large) == (small, large)
    assert peak_large < 1.5 * peak_small + 256 * 1024
    assert peak_large < 4 * 1024 * 1024


def test_validation_keeps_no_state_between_records(tmp_path: Path) -> None:
    path = _csv(tmp_path / "p.csv", 5000)
    tracemalloc.start()
    try:
        items = pr.load_prospects(path, SPEC_PROSPECT)
        for _ in zip(range(500), items):
            pass
        after_500 = tracemalloc.get_traced_memory()[0]
        for _ in items:
            pass
        assert tracemalloc.get_traced_memory()[0] < after_500 + 64 * 1024
    finally:
        tracemalloc.stop()

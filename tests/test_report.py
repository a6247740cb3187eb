"""Diagnostic renderers: text snippets, JSON (SPEC §6.1), GitHub workflow commands, SARIF 2.1.0."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from compiler import report
from compiler.diagnostics import Diagnostic, Severity, Span
from compiler.report import (
    artifact_uri,
    counts,
    render_github,
    render_json,
    render_sarif,
    render_text,
    summary_line,
)

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO
F = "examples/mid_market/sequence.seq"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class JSONFileSnapshot(SingleFileSnapshotExtension):
    """Stores the snapshot as a real .json file, byte for byte (key order included)."""

    file_extension = "json"
    _write_mode = WriteMode.TEXT


def diag(code="SEQ106", sev=E, message="m", span=None, help=None) -> Diagnostic:
    return Diagnostic(code, sev, message, span, help)


def sp(line, column, end_line=None, end_column=None, file=F) -> Span:
    end_line = line if end_line is None else end_line
    end_column = column + 1 if end_column is None else end_column
    return Span(file, line, column, end_line, end_column)


# ---------------------------------------------------------------- text

STYLE_SOURCE = "\n" * 23 + "    day 3 email value if clicked(opener) {\n" + "    }\n"
CONTROL_SOURCE = "day 1 \x1b[31mred\x07 x\n"
LONG = "a" * 300 + " target " + "b" * 300

TEXT_CASES = [
    pytest.param(
        [diag(message="`clicked(opener)` but step `opener` has no link", span=sp(24, 26, 24, 41),
              help="add a link to `opener`, or test `opened(opener)`")],
        {F: STYLE_SOURCE},
        "examples/mid_market/sequence.seq:24:26: SEQ106 `clicked(opener)` but step `opener` has no link\n"
        "   |\n"
        "24 |     day 3 email value if clicked(opener) {\n"
        "   |                          ^^^^^^^^^^^^^^^\n"
        "   = help: add a link to `opener`, or test `opened(opener)`\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="single-line-style-example",
    ),
    pytest.param(
        [diag("SEQ105", W, "step `a` can never run", sp(1, 6, 3, 2))],
        {F: "step a {\n  body\n}\n"},
        f"{F}:1:6: SEQ105 step `a` can never run\n"
        "  |\n"
        "1 | step a {\n"
        "  |      ^^^\n"
        "\n"
        "0 errors, 1 warning, 0 infos in 1 file\n",
        id="multi-line-span-underlines-to-end-of-first-line",
    ),
    pytest.param(
        [diag(span=sp(1, 8, 1, 13))],
        {F: "\tday 3\temail x\n"},
        f"{F}:1:8: SEQ106 m\n"
        "  |\n"
        "1 |     day 3   email x\n"
        "  |             ^^^^^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="tabs-expand-to-stops-in-line-and-carets",
    ),
    pytest.param(
        [diag(span=sp(1, 9, 1, 11)), diag(span=sp(1, 6, 1, 8))],
        {F: 'say "日本 hi"\n'},
        f"{F}:1:9: SEQ106 m\n"
        "  |\n"
        '1 | say "日本 hi"\n'
        "  |           ^^\n"
        "\n"
        f"{F}:1:6: SEQ106 m\n"
        "  |\n"
        '1 | say "日本 hi"\n'
        "  |      ^^^^\n"
        "\n"
        "2 errors, 0 warnings, 0 infos in 1 file\n",
        id="wide-characters-take-two-columns",
    ),
    pytest.param(
        [diag(message="bad \x1b]0;pwned\x07 name", span=sp(1, 17), help="x\u202ey")],
        {F: CONTROL_SOURCE},
        f"{F}:1:17: SEQ106 bad \u241b]0;pwned\u2407 name\n"
        "  |\n"
        "1 | day 1 \u241b[31mred\u2407 x\n"
        "  |                 ^\n"
        "  = help: x\ufffdy\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="control-characters-replaced-everywhere",
    ),
    pytest.param(
        [diag(span=sp(1, 302, 1, 308))],
        {F: LONG},
        f"{F}:1:302: SEQ106 m\n"
        "  |\n"
        "1 | ..." + "a" * 30 + " target " + "b" * 56 + "...\n"
        "  | " + " " * 34 + "^^^^^^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="long-line-truncated-around-column",
    ),
    pytest.param(
        [diag(span=sp(1, 1, 1, 4))],
        {F: LONG},
        f"{F}:1:1: SEQ106 m\n"
        "  |\n"
        "1 | " + "a" * 94 + "...\n"
        "  | ^^^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="long-line-at-start-no-leading-ellipsis",
    ),
    pytest.param(
        [diag(span=sp(1, 607, 1, 608))],
        {F: LONG},
        f"{F}:1:607: SEQ106 m\n"
        "  |\n"
        "1 | ..." + "b" * 94 + "\n"
        "  | " + " " * 95 + "^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="long-line-at-end-fills-from-left",
    ),
    pytest.param(
        [diag(span=sp(1, 50_002, 1, 50_008))],
        {F: "a" * 50_000 + " target " + "b" * 50_000 + "\n"},
        f"{F}:1:50002: SEQ106 m\n"
        "  |\n"
        "1 | ..." + "a" * 30 + " target " + "b" * 56 + "...\n"
        "  | " + " " * 34 + "^^^^^^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="very-long-line-shows-the-same-window",
    ),
    pytest.param(
        [diag(span=sp(2, 1, 2, 2)), diag(span=sp(3, 2, 3, 3))],
        {F: "# a\rb c\r\nde\r"},
        f"{F}:2:1: SEQ106 m\n"
        "  |\n"
        "2 | b c\n"
        "  | ^\n"
        "\n"
        f"{F}:3:2: SEQ106 m\n"
        "  |\n"
        "3 | de\n"
        "  |  ^\n"
        "\n"
        "2 errors, 0 warnings, 0 infos in 1 file\n",
        id="lone-cr-ends-a-line-as-for-the-parser",
    ),
    pytest.param(
        [diag("SEQ302", W, "field `x` is not in the prospect file", sp(3, 1, file="prospects.csv"), help="add it")],
        {F: "x\n"},
        "prospects.csv:3:1: SEQ302 field `x` is not in the prospect file\n"
        "  = help: add it\n"
        "\n"
        "0 errors, 1 warning, 0 infos in 1 file\n",
        id="missing-source-no-snippet",
    ),
    pytest.param(
        [diag(span=sp(10, 1)), diag(span=sp(3, 1)), diag(span=sp(0, 1)), diag(span=sp(-4, -4))],
        {F: "a\nb\n"},
        f"{F}:10:1: SEQ106 m\n\n{F}:3:1: SEQ106 m\n\n{F}:0:1: SEQ106 m\n\n{F}:-4:-4: SEQ106 m\n\n"
        "4 errors, 0 warnings, 0 infos in 1 file\n",
        id="span-past-eof-or-before-start-no-snippet",
    ),
    pytest.param(
        [diag(span=sp(1, 1))],
        {F: ""},
        f"{F}:1:1: SEQ106 m\n\n1 error, 0 warnings, 0 infos in 1 file\n",
        id="empty-file-no-snippet",
    ),
    pytest.param(
        [diag(span=sp(1, 50, 1, 60)), diag(span=sp(2, 3, 2, 1))],
        {F: "abc\r\nde\r\n"},
        f"{F}:1:50: SEQ106 m\n"
        "  |\n"
        "1 | abc\n"
        "  |    ^\n"
        "\n"
        f"{F}:2:3: SEQ106 m\n"
        "  |\n"
        "2 | de\n"
        "  |   ^\n"
        "\n"
        "2 errors, 0 warnings, 0 infos in 1 file\n",
        id="column-past-end-of-line-and-crlf-and-empty-range-one-caret",
    ),
    pytest.param(
        [diag(span=sp(1, 2, 1, 3))],
        {F: "e\u0301x\n"},
        f"{F}:1:2: SEQ106 m\n"
        "  |\n"
        "1 | e\u0301x\n"
        "  |  ^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="zero-width-span-still-one-caret",
    ),
    pytest.param(
        [diag(span=sp(2, 1, 2, 1))],
        {F: "a\n\nb\n"},
        f"{F}:2:1: SEQ106 m\n"
        "  |\n"
        "2 |\n"
        "  | ^\n"
        "\n"
        "1 error, 0 warnings, 0 infos in 1 file\n",
        id="blank-line-no-trailing-space",
    ),
    pytest.param(
        [diag("SEQ501", I, "prospects.csv: row 3: email: not an address", None, help="fix row 3")],
        {},
        "SEQ501 prospects.csv: row 3: email: not an address\n"
        "  = help: fix row 3\n"
        "\n"
        "0 errors, 0 warnings, 1 info in 0 files\n",
        id="span-none",
    ),
    pytest.param([], {F: "x\n", "b.seq": "y\n"}, "0 errors, 0 warnings, 0 infos in 2 files\n", id="nothing-found"),
]


@pytest.mark.parametrize(("diags", "sources", "expected"), TEXT_CASES)
def test_render_text(diags, sources, expected):
    assert render_text(diags, sources) == expected


@pytest.mark.parametrize(("diags", "sources", "expected"), TEXT_CASES)
def test_render_text_color_only_adds_ansi(diags, sources, expected):
    coloured = render_text(diags, sources, color=True)
    assert ANSI.sub("", coloured) == expected
    assert ("\x1b[" in coloured) == bool(diags)


def test_render_text_colours_by_severity():
    diags = [diag("SEQ106", E, "e", sp(1, 1)), diag("SEQ201", W, "w", sp(1, 1)), diag("SEQ401", I, "i", None, help="h")]
    out = render_text(diags, {F: "x\n"}, color=True)
    assert out == (
        f"{F}:1:1: \x1b[1;31mSEQ106\x1b[0m e\n"
        "  |\n"
        "1 | x\n"
        "  | \x1b[1;31m^\x1b[0m\n"
        "\n"
        f"{F}:1:1: \x1b[1;33mSEQ201\x1b[0m w\n"
        "  |\n"
        "1 | x\n"
        "  | \x1b[1;33m^\x1b[0m\n"
        "\n"
        "\x1b[1;34mSEQ401\x1b[0m i\n"
        "  = \x1b[1mhelp\x1b[0m: h\n"
        "\n"
        "1 error, 1 warning, 1 info in 1 file\n"
    )


def test_render_text_files_override_and_sanitised_path():
    out = render_text([diag(span=sp(1, 1, file="a\x1b[2J.seq"))], {}, files=3)
    assert out == "a\u241b[2J.seq:1:1: SEQ106 m\n\n1 error, 0 warnings, 0 infos in 3 files\n"


def test_gutter_widens_with_line_number():
    source = "x\n" * 12345
    out = render_text([diag(span=sp(12345, 1), help="h")], {F: source})
    assert out.splitlines()[1:5] == ["      |", "12345 | x", "      | ^", "      = help: h"]


UNSAFE_TEXT = st.one_of(st.text(), st.text(alphabet="\x1b\x9b\t\n\r\x00\x07\u202e\u2028\u0301日é a{}"))


@settings(max_examples=300, deadline=None)
@given(
    source=UNSAFE_TEXT,
    message=UNSAFE_TEXT,
    help=st.none() | UNSAFE_TEXT,
    positions=st.tuples(*[st.integers(-3, 60)] * 4),
    in_sources=st.booleans(),
)
def test_render_text_never_raises_nor_escapes(source, message, help, positions, in_sources):
    span = Span(F, *positions)
    diags = [diag(message=message, span=span, help=help), diag(message=message, span=None)]
    out = render_text(diags, {F: source} if in_sources else {})
    assert "\x1b" not in out
    assert all(ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp") for ch in out)
    assert out.endswith(" in 1 file\n" if in_sources else " in 0 files\n")


# ---------------------------------------------------------------- counts and summary


def test_counts():
    diags = [diag(sev=E), diag(sev=W), diag(sev=W), diag(sev=I)]
    assert counts(diags) == {"errors": 1, "warnings": 2, "infos": 1}
    assert list(counts([])) == ["errors", "warnings", "infos"]


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        ({"errors": 2, "warnings": 1, "infos": 0, "files": 3}, "2 errors, 1 warning, 0 infos in 3 files"),
        ({"files": 1, "errors": 1, "warnings": 0, "infos": 1}, "1 error, 0 warnings, 1 info in 1 file"),
        ({"errors": 0, "warnings": 0, "infos": 0}, "0 errors, 0 warnings, 0 infos"),
    ],
)
def test_summary_line(tally, expected):
    assert summary_line(tally) == expected


# ---------------------------------------------------------------- json


def test_render_json_structure():
    diags = [
        diag("SEQ201", W, "step `bump` is 1 day after `opener`", sp(3, 5, 3, 20)),
        diag("SEQ106", E, "`clicked(opener)` but step `opener` has no link", sp(24, 26, 24, 41), help="add a link"),
        diag("SEQ501", I, "prospects.csv: row 2: café is not a time zone", None),
    ]
    parsed = json.loads(render_json(diags, files=2))
    assert parsed == {
        "diagnostics": [
            {"code": "SEQ201", "severity": "warning", "message": "step `bump` is 1 day after `opener`",
             "file": F, "line": 3, "column": 5, "end_line": 3, "end_column": 20},
            {"code": "SEQ106", "severity": "error", "message": "`clicked(opener)` but step `opener` has no link",
             "file": F, "line": 24, "column": 26, "end_line": 24, "end_column": 41, "help": "add a link"},
            {"code": "SEQ501", "severity": "info", "message": "prospects.csv: row 2: café is not a time zone",
             "file": None, "line": None, "column": None, "end_line": None, "end_column": None},
        ],
        "summary": {"files": 2, "errors": 1, "warnings": 1, "infos": 1},
    }
    keys = ["code", "severity", "message", "file", "line", "column", "end_line", "end_column"]
    assert [list(d) for d in parsed["diagnostics"]] == [keys, [*keys, "help"], keys]
    assert list(parsed) == ["diagnostics", "summary"]
    assert list(parsed["summary"]) == ["files", "errors", "warnings", "infos"]


def test_render_json_exact_text():
    out = render_json([diag("SEQ201", W, "café", sp(3, 5, 3, 20))], files=1)
    assert out == (
        '{\n  "diagnostics": [\n    {\n      "code": "SEQ201",\n      "severity": "warning",\n'
        '      "message": "café",\n      "file": "examples/mid_market/sequence.seq",\n      "line": 3,\n'
        '      "column": 5,\n      "end_line": 3,\n      "end_column": 20\n    }\n  ],\n'
        '  "summary": {\n    "files": 1,\n    "errors": 0,\n    "warnings": 1,\n    "infos": 0\n  }\n}\n'
    )


def test_render_json_empty():
    assert json.loads(render_json([], files=0)) == {
        "diagnostics": [],
        "summary": {"files": 0, "errors": 0, "warnings": 0, "infos": 0},
    }


# ---------------------------------------------------------------- github


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        pytest.param(
            diag("SEQ106", E, "`clicked(opener)` but step `opener` has no link", sp(24, 26, 24, 41)),
            f"::error file={F},line=24,col=26,endLine=24,endColumn=41,title=SEQ106::"
            "SEQ106 `clicked(opener)` but step `opener` has no link",
            id="error",
        ),
        pytest.param(diag("SEQ201", W, "w", sp(1, 2)),
                     f"::warning file={F},line=1,col=2,endLine=1,endColumn=3,title=SEQ201::SEQ201 w", id="warning"),
        pytest.param(diag("SEQ401", I, "i", sp(1, 2)),
                     f"::notice file={F},line=1,col=2,endLine=1,endColumn=3,title=SEQ401::SEQ401 i", id="info-is-notice"),
        pytest.param(diag("SEQ105", W, "w", sp(2, 3, 5, 1)),
                     f"::warning file={F},line=2,endLine=5,title=SEQ105::SEQ105 w", id="multi-line-drops-columns"),
        pytest.param(diag("SEQ501", E, "prospects.csv: row 3", None),
                     "::error title=SEQ501::SEQ501 prospects.csv: row 3", id="span-none"),
        pytest.param(diag(message="50% off, a: b", span=sp(1, 1)),
                     f"::error file={F},line=1,col=1,endLine=1,endColumn=2,title=SEQ106::SEQ106 50%25 off, a: b",
                     id="data-escapes-percent-keeps-colon-comma"),
        pytest.param(diag(message="a\r\nb\n::error::x", span=None),
                     "::error title=SEQ106::SEQ106 a%0D%0Ab%0A::error::x", id="data-escapes-newlines"),
        pytest.param(diag(message="m", span=sp(1, 1, file="dir,x/a:b%\n.seq")),
                     "::error file=dir%2Cx/a%3Ab%25%0A.seq,line=1,col=1,endLine=1,endColumn=2,title=SEQ106::SEQ106 m",
                     id="property-escapes"),
        pytest.param(diag(message="m", span=None, help="use `a`, not 100%"),
                     "::error title=SEQ106::SEQ106 m%0Ahelp: use `a`, not 100%25", id="help-on-second-line"),
    ],
)
def test_render_github(d, expected):
    assert render_github([d]) == expected + "\n"


def test_render_github_keeps_order_and_is_empty_for_nothing():
    diags = [diag("SEQ2", W, "b", sp(9, 1)), diag("SEQ1", E, "a", sp(1, 1))]
    assert [line.split("::")[2] for line in render_github(diags).splitlines()] == ["SEQ2 b", "SEQ1 a"]
    assert render_github([]) == ""


# ---------------------------------------------------------------- sarif

RULES = {
    "SEQ201": (W, "Spacing between touches is too short", "https://seqc.dev/rules/SEQ201"),
    "SEQ106": (E, "Event condition on a step that cannot produce it", None),
    "SEQ401": (I, "Sender warm-up not declared", None),
}
SARIF_DIAGS = [
    diag("SEQ106", E, "`clicked(opener)` but step `opener` has no link", sp(24, 26, 24, 41), help="add a link"),
    diag("SEQ201", W, "step `bump` is 1 day after `opener`", sp(3, 5, 7, 2, file="examples/smb dir/séq.seq")),
    diag("SEQ401", I, "no warm-up", sp(1, 1, file="examples\\win\\a.seq")),
    diag("SEQ999", E, "internal: unexpected node", None),
]


def test_render_sarif_structure():
    log = json.loads(render_sarif(SARIF_DIAGS, RULES, version="1.2.3"))
    assert list(log) == ["$schema", "version", "runs"]
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("seqc", "1.2.3")
    assert [r["id"] for r in driver["rules"]] == ["SEQ106", "SEQ201", "SEQ401", "SEQ999"]
    assert driver["rules"][1] == {
        "id": "SEQ201",
        "shortDescription": {"text": "Spacing between touches is too short"},
        "helpUri": "https://seqc.dev/rules/SEQ201",
        "defaultConfiguration": {"level": "warning"},
    }
    assert [r.get("defaultConfiguration", {}).get("level") for r in driver["rules"]] == ["error", "warning", "note", None]
    assert "helpUri" not in driver["rules"][0]
    assert driver["rules"][3] == {"id": "SEQ999", "shortDescription": {"text": "SEQ999"}}

    results = run["results"]
    assert [r["ruleId"] for r in results] == ["SEQ106", "SEQ201", "SEQ401", "SEQ999"]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert [r["level"] for r in results] == ["error", "warning", "note", "error"]
    assert results[0]["message"] == {"text": "`clicked(opener)` but step `opener` has no link\nhelp: add a link"}
    assert results[0]["locations"] == [{
        "physicalLocation": {
            "artifactLocation": {"uri": F},
            "region": {"startLine": 24, "startColumn": 26, "endLine": 24, "endColumn": 41},
        }
    }]
    location = results[1]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "examples/smb%20dir/s%C3%A9q.seq"
    assert location["region"] == {"startLine": 3, "startColumn": 5, "endLine": 7, "endColumn": 2}
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "examples/win/a.seq"
    assert "locations" not in results[3]
    assert run["columnKind"] == "unicodeCodePoints"


def test_render_sarif_snapshot(snapshot):
    assert render_sarif(SARIF_DIAGS, RULES, version="1.2.3") == snapshot.use_extension(JSONFileSnapshot)


def test_render_sarif_is_deterministic_and_keeps_order():
    reordered = list(reversed(SARIF_DIAGS))
    assert render_sarif(SARIF_DIAGS, RULES, version="1") == render_sarif(SARIF_DIAGS, dict(reversed(RULES.items())), version="1")
    ids = [r["ruleId"] for r in json.loads(render_sarif(reordered, RULES, version="1"))["runs"][0]["results"]]
    assert ids == ["SEQ999", "SEQ401", "SEQ201", "SEQ106"]


def test_render_sarif_version_is_the_package_version(monkeypatch):
    import compiler

    monkeypatch.setattr(compiler, "__version__", "9.9")
    log = json.loads(render_sarif([], {}))
    assert log["runs"][0]["tool"]["driver"] == {"name": "seqc", "version": "9.9", "rules": []}
    assert log["runs"][0]["results"] == []


def test_render_sarif_region_is_always_valid():
    bad = [diag(span=Span(F, 0, 0, -1, 0)), diag(span=Span(F, 5, 9, 5, 3)), diag(span=Span(F, 2, 4, 6, 0))]
    regions = [r["locations"][0]["physicalLocation"]["region"]
               for r in json.loads(render_sarif(bad, {}, version="0"))["runs"][0]["results"]]
    assert regions == [
        {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
        {"startLine": 5, "startColumn": 9, "endLine": 5, "endColumn": 9},
        {"startLine": 2, "startColumn": 4, "endLine": 6, "endColumn": 1},
    ]


def test_render_sarif_accepts_severity_values_as_strings():
    rules = {"SEQ201": ("warning", "short", None)}
    driver = json.loads(render_sarif([], rules, version="0"))["runs"][0]["tool"]["driver"]
    assert driver["rules"][0]["defaultConfiguration"] == {"level": "warning"}


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("examples/a.seq", "examples/a.seq"),
        ("examples/a b.seq", "examples/a%20b.seq"),
        ("examples\\win\\x.seq", "examples/win/x.seq"),
        ("ünï.seq", "%C3%BCn%C3%AF.seq"),
        ("./././a.seq", "a.seq"),
        ("a#b?c%d.seq", "a%23b%3Fc%25d.seq"),
        ("odd:name.seq", "odd%3Aname.seq"),
        ("/abs/dir/a.seq", "file:///abs/dir/a.seq"),
        ("C:\\work\\a b.seq", "file:///C:/work/a%20b.seq"),
    ],
)
def test_artifact_uri(path, uri):
    assert artifact_uri(path) == uri

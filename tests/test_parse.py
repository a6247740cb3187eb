"""Parsing and the 1xx/3xx checks: examples parse, the IR is stable, and bad inputs are located exactly.

The table `EXPECTED` pairs every file in tests/cases/{syntax,semantic}/ with the diagnostics it
must produce: code, line and (where meaningful) column, plus optionally a piece of text the
message or help must (or must not) contain. Cases are checked with the families they are about
(`FAMILIES`: syntax, architecture, personalization); cadence and deliverability rules have cases
of their own. Each case file says its intent in its first line. A case listed in `KNOWN_BUGS` is
an open bug: the table holds what *should* happen, and the test is a strict xfail.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import CASES, EXAMPLE_PROJECTS, EXAMPLES, SEMANTIC_CASES, SYNTAX_CASES

from compiler import api, ir
from compiler.check import run_rules
from compiler.config import RuleConfig
from compiler.diagnostics import Diagnostic
from compiler.parse import parse_text, parser
from compiler.project import discover, load, load_text
from compiler.report import render_text


class Expect(NamedTuple):
    code: str
    line: int
    column: int | None = None   # None: the column is not meaningful for this case
    text: str | None = None     # must appear in the message or the help
    not_text: str | None = None  # must appear in neither (a misleading hint)


E = Expect

EXPECTED: dict[str, list[Expect]] = {
    # ---------------------------------------------------------------- syntax (SEQ001)
    "syntax/assign_instead_of_compare.seq": [E("SEQ001", 7, 33, "compare with `==`")],
    "syntax/bad_escape.seq": [E("SEQ001", 4, 20, "unknown escape `\\q`")],
    "syntax/channel_typo.seq": [E("SEQ001", 3, 9, "did you mean `email`?")],
    "syntax/colon_after_field.seq": [E("SEQ001", 4, 12, "without `:`")],
    "syntax/comment_only.seq": [],
    "syntax/dashed_name.seq": [E("SEQ001", 3, 14, "names use lowercase letters, digits and `_`")],
    "syntax/day_before_channel.seq": [E("SEQ001", 3, 3, "a step starts with its day, then the channel")],
    "syntax/double_ampersand.seq": [E("SEQ001", 7, 40, "`and` / `or`")],
    "syntax/enum_without_values.seq": [E("SEQ001", 4, 11, "enum(a, b", "did you mean `enum`")],
    "syntax/fractional_day.seq": [E("SEQ001", 3, 7, "whole number")],
    "syntax/garbage.seq": [E("SEQ001", 2, 1, "unexpected `@`")],
    "syntax/impossible_date.seq": [E("SEQ001", 3, 9, "not a real date")],
    "syntax/misspelt_keyword.seq": [E("SEQ001", 2, 1, "`sequence`")],
    "syntax/missing_step_name.seq": [E("SEQ001", 3, 15, "expected a name")],
    "syntax/negative_day.seq": [E("SEQ001", 3, 7, "`-2`")],
    "syntax/several_errors.seq": [E("SEQ001", 3, 9, "`sms`"), E("SEQ001", 10, 9, "`fax`"),
                                  E("SEQ001", 13, 16, "`mon-fry`")],
    "syntax/short_unicode_escape.seq": [E("SEQ001", 4, 17, "\\u00e9")],
    "syntax/step_window_bad_time.seq": [E("SEQ001", 4, 12, "`09:75` is not a time of day")],
    "syntax/stray_closing_brace.seq": [E("SEQ001", 5, 1, "unexpected `}`", "missing before this `}`")],
    "syntax/time_hour_25.seq": [E("SEQ001", 3, 24, "`25:00` is not a time of day")],
    "syntax/time_minute_60.seq": [E("SEQ001", 3, 24, "`12:60` is not a time of day")],
    "syntax/unclosed_sequence_brace.seq": [E("SEQ001", 7, 4, "never closed")],
    "syntax/unclosed_step_brace.seq": [E("SEQ001", 6, 3, "unexpected name `day`")],
    "syntax/unknown_field_type.seq": [E("SEQ001", 4, 14, "did you mean `int`?")],
    "syntax/unknown_weekday.seq": [E("SEQ001", 3, 16, "weekdays are mon tue wed")],
    "syntax/unterminated_long_string.seq": [E("SEQ001", 5, 10, "unterminated string")],
    "syntax/unterminated_string.seq": [E("SEQ001", 4, 13, "unterminated string")],
    "syntax/uppercase_sequence_name.seq": [E("SEQ001", 2, 10, "lowercase")],
    "syntax/uppercase_step_name.seq": [E("SEQ001", 3, 15, "lowercase")],
    "syntax/weekday_range_backwards.seq": [E("SEQ001", 3, 16, "runs backwards")],
    "syntax/window_without_hours.seq": [E("SEQ001", 4, 1, "expected a time range")],
    "syntax/wrong_channel.seq": [E("SEQ001", 3, 9, "channels are `email`, `linkedin`, `call` and `task`")],
    # ---------------------------------------------------------------- semantic
    "semantic/accepted_not_connect.seq": [E("SEQ106", 13, 24, "not a LinkedIn connect")],
    "semantic/branch_without_else.seq": [E("SEQ108", 17, 5, "no `else`")],
    "semantic/broken_jinja.seq": [E("SEQ305", 14, 10, "template syntax error")],
    "semantic/call_optional_phone.seq": [E("SEQ304", 13, 14, "`phone`")],
    "semantic/clicked_without_link.seq": [E("SEQ106", 13, 24, "has no link")],
    "semantic/day_order.seq": [E("SEQ103", 14, 3, "`value` (day 3)")],
    "semantic/duplicate_field_setting.seq": [E("SEQ102", 14, 13, "`subject` is set twice")],
    "semantic/duplicate_sequence.seq": [E("SEQ102", 14, 10, "duplicate sequence name `onboarding`")],
    "semantic/duplicate_step.seq": [E("SEQ102", 13, 15, "duplicate step name `opener`")],
    "semantic/duplicate_step_across_tracks.seq": [E("SEQ102", 15, 17, "duplicate step name `opener`")],
    "semantic/duplicate_variant.seq": [E("SEQ102", 14, 5, "duplicate variant name `a`")],
    "semantic/guarded_ok.seq": [],
    "semantic/later_step_in_condition.seq": [E("SEQ104", 12, 25, "`opened(value)`")],
    "semantic/linkedin_message_unguarded.seq": [E("SEQ107", 14, 18, "`dm`")],
    "semantic/linkedin_without_url_field.seq": [E("SEQ304", 9, 18, "`linkedin_url`")],
    "semantic/missing_template_file.seq": [E("SEQ101", 14, 15, "not found")],
    "semantic/same_day_condition.seq": [E("SEQ104", 13, 24, "`opened(opener)`")],
    "semantic/second_prospect_block.seq": [E("SEQ102", 11, 1, "second `prospect` block")],
    "semantic/split_not_100.seq": [E("SEQ108", 15, 11, "sums to 90")],
    "semantic/split_parts_mismatch.seq": [E("SEQ108", 15, 11, "3 parts for 2 variants")],
    "semantic/suppress_above_block.seq": [E("SEQ107", 19, 18, "`dm_again`")],
    "semantic/suppress_on_line.seq": [],
    "semantic/suppress_other_code.seq": [E("SEQ107", 14, 18, "`dm`")],
    "semantic/template_path_absolute.seq": [E("SEQ101", 14, 15, "must be relative")],
    "semantic/template_path_dotdot.seq": [E("SEQ101", 14, 15, "leaves the project folder")],
    "semantic/thread_on_later_step.seq": [E("SEQ104", 13, 12, "threads on `value`")],
    "semantic/undefined_template_variable.seq": [E("SEQ301", 13, 33, "frist_name")],
    "semantic/unknown_exit_event.seq": [E("SEQ101", 12, None, "did you mean `bounced`?")],
    "semantic/unknown_field_in_condition.seq": [E("SEQ101", 12, 25, "`headcount`")],
    "semantic/unknown_holiday_country.seq": [E("SEQ109", 12, 12, "`XX`")],
    "semantic/unknown_path_target.seq": [E("SEQ101", 13, 39, "did you mean `hot`?"),
                                         E("SEQ105", 14, 8, "never entered")],
    "semantic/unknown_purpose.seq": [E("SEQ109", 13, 13, "did you mean `opener`?")],
    "semantic/unknown_route_sequence.seq": [E("SEQ101", 17, 5, "`enterprize`")],
    "semantic/unknown_step_in_condition.seq": [E("SEQ101", 13, 31, "did you mean `opener`?")],
    "semantic/unknown_tier.seq": [E("SEQ109", 12, 8, "`startup`")],
    "semantic/unknown_timezone.seq": [E("SEQ109", 12, 12, "did you mean `America/New_York`?")],
}

# Open bugs (reported; see the final report): the table above says what should happen.
KNOWN_BUGS: dict[str, str] = {}  # case file → open bug (strict xfail); empty: all fixed

FAMILIES = ("SEQ0", "SEQ1", "SEQ3")
ALL_CASES = sorted(SYNTAX_CASES + SEMANTIC_CASES)
LARK_LEAKS = re.compile(r"__ANON|Token\(|Unexpected(Token|Characters|EOF|Input)|VisitError|\blark\b|\$END",
                        re.IGNORECASE)


def case_key(path: Path) -> str:
    return path.relative_to(CASES).as_posix()


def check_text(text: str, file: str, root: Path | None = None, select: tuple[str, ...] = FAMILIES) -> list[Diagnostic]:
    """Parse + rules (of the `select`ed families) for one file, as `seqc check` would for a one-file project."""
    return run_rules(load_text(text, file, root=root), RuleConfig(select=select))


def check_case(path: Path) -> list[Diagnostic]:
    return check_text(path.read_text(encoding="utf-8"), path.as_posix(), root=path.parent)


def located(diags: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in diags]


def assert_no_lark_leaks(diags: list[Diagnostic]) -> None:
    terminals = {t.name for t in parser().terminals}
    for d in diags:
        for text in (d.message, d.help or ""):
            assert not LARK_LEAKS.search(text), text
            if d.code == "SEQ001":  # parser messages must name tokens in the user's words
                words = set(re.findall(r"\b[A-Z_][A-Z0-9_]+\b", text))
                assert not words & terminals, f"terminal name in {text!r}"


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize("project", EXAMPLE_PROJECTS, ids=str)
def test_example_project_parses_without_syntax_errors(project: Path):
    (source,) = discover([project.as_posix()])
    loaded = load(source)
    assert [d for d in loaded.diagnostics if d.code == "SEQ001"] == []
    assert loaded.project.sequences


@pytest.mark.parametrize("path", EXAMPLES, ids=str)
def test_example_file_parses_alone(path: Path):
    parsed = parse_text(path.read_text(encoding="utf-8"), path.as_posix(), base_dir=path.parent, root=path.parent)
    assert [d for d in parsed.diagnostics if d.code == "SEQ001"] == []
    assert parsed.nodes, "every example file holds at least one block"
    for node in parsed.nodes:
        assert node.span.file == path.as_posix()


@pytest.mark.parametrize("project", EXAMPLE_PROJECTS, ids=str)
def test_example_project_checks_without_errors(project: Path):
    result = api.check_paths([project.as_posix()])
    assert [d for d in result.diagnostics if d.severity.value == "error"] == []


def compile_ir(path: str) -> str:
    from compiler.cli import run
    from click.testing import CliRunner

    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        with pytest.raises(SystemExit) as exit_info:
            run(["compile", path, "--target", "ir"])
    assert exit_info.value.code == 0, err.getvalue().decode()
    return out.getvalue().decode("utf-8")


def test_ir_of_outbound_matches_snapshot(json_snapshot):
    text = compile_ir("examples/outbound")
    assert text == json_snapshot


def test_ir_of_outbound_is_deterministic():
    assert compile_ir("examples/outbound") == compile_ir("examples/outbound/")


def test_ir_validates_against_shipped_schema():
    from jsonschema import Draft202012Validator

    schema = json.loads(Path("targets/schemas/ir.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    doc = json.loads(compile_ir("examples/outbound"))
    errors = list(Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
                  .iter_errors(doc))
    assert errors == []
    assert doc["project"]["root"] == "examples/outbound"
    assert doc["project"]["files"][0] == "examples/outbound/campaign.seq"


def test_shipped_ir_schema_is_the_derived_one():
    from compiler.ir_schema import ir_schema

    shipped = Path("targets/schemas/ir.schema.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == ir_schema()
    assert shipped == json.dumps(ir_schema(), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- the bad-input table


def test_every_case_file_is_in_the_table_and_states_its_intent():
    keys = {case_key(p) for p in ALL_CASES}
    assert keys == set(EXPECTED), "add new case files to EXPECTED (and drop removed ones)"
    assert len(keys) >= 40
    for path in ALL_CASES:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert first.startswith("# ") and len(first) > 20, f"{path}: first line must state the intent"


def _case_params():
    for path in ALL_CASES:
        key = case_key(path)
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])] if key in KNOWN_BUGS else []
        yield pytest.param(path, id=key, marks=marks)


@pytest.mark.parametrize("path", list(_case_params()))
def test_case(path: Path):
    diags = check_case(path)
    expected = EXPECTED[case_key(path)]
    got = [(d.code, d.span.line, d.span.column if e.column is not None else None)
           for d, e in zip(diags, expected)]
    assert len(diags) == len(expected), [(d.code, d.span.line, d.span.column, d.message) for d in diags]
    assert got == [(e.code, e.line, e.column) for e in expected], [d.message for d in diags]
    for d, e in zip(diags, expected):
        assert d.span.file == path.as_posix()
        if e.text is not None:
            assert e.text in d.message or e.text in (d.help or ""), (d.message, d.help)
        if e.not_text is not None:
            assert e.not_text not in d.message and e.not_text not in (d.help or ""), (d.message, d.help)
    assert_no_lark_leaks(diags)


@pytest.mark.parametrize("path", SYNTAX_CASES, ids=lambda p: p.name)
def test_syntax_error_rendering(path: Path, text_snapshot):
    text = path.read_text(encoding="utf-8")
    diags = check_text(text, path.as_posix(), root=path.parent)
    rendered = render_text(diags, {path.as_posix(): text}, color=False)
    assert "\x1b[" not in rendered
    assert not LARK_LEAKS.search(rendered)
    assert rendered == text_snapshot


def test_syntax_errors_never_leak_parser_internals():
    """Every case, plus inputs aimed at lark's own names for things."""
    texts = [p.read_text(encoding="utf-8") for p in ALL_CASES] + [
        "sequence a { day 0 email x { subject \"s\" body \"b\" } ",  # end of input
        "sequence a { day 0 email x if ( { } }",
        "sequence a { on -> }",
        "campaign c { goals { reply_rate < } }",
        "prospect { a: enum( }",
        "sequence a { day 0 email x { split 50/ } }",
        "\"\"\"",
        "}{",
        "sequence a { window email 10:00-12:00 10:00-12:00 }",
    ]
    for text in texts:
        assert_no_lark_leaks(check_text(text, "input.seq", select=()))


# ---------------------------------------------------------------- more exact locations (open bugs)


def test_event_span_covers_the_closing_parenthesis():
    diags = check_case(CASES / "semantic" / "clicked_without_link.seq")
    span = diags[0].span
    #                     `  day 3 email value if clicked(opener) {`: cols 24..38
    assert (span.line, span.column, span.end_line, span.end_column) == (13, 24, 13, 39)


def test_missing_field_type_reports_once_with_a_full_span():
    text = "prospect {\n  email: email required\n  title: \n  company: text\n}\n"
    diags = check_text(text, "input.seq")
    for d in diags:
        assert d.span.end_line is not None and d.span.end_column is not None, d
    messages = [d.message for d in diags]
    assert len(messages) == len(set(messages)), messages


def test_recovery_placeholder_is_not_reported_as_a_template_path():
    text = 'sequence a {\n  day 0 email x { subject "s" body file "nope\n  }\n}\n'
    diags = check_text(text, "input.seq")
    assert [d.code for d in diags] == ["SEQ001"], [d.message for d in diags]


@pytest.mark.parametrize("day", ["3000000", "1000000000", "99999999999999999999"])
def test_huge_day_does_not_crash_the_rules(day: str):
    text = (f'sequence a {{\n  day 0 email x {{ subject "s" body "b" }}\n'
            f'  day {day} email y {{ subject "t" body "c" }}\n}}\n')
    diags = check_text(text, "input.seq", select=())
    assert [(d.code, d.span.line) for d in diags] == [("SEQ001", 3)]


def test_nul_in_template_path_is_a_diagnostic():
    text = 'sequence a {\n  day 0 email x { subject "s" body file "a\\u0000b" }\n}\n'
    diags = check_text(text, "input.seq")
    assert [(d.code, d.span.line) for d in diags] == [("SEQ101", 2)]


@pytest.mark.parametrize(("text", "fields"), [
    ("prospect {\n  title: text\n  required: bool\n}\n", {"title": False, "required": False}),
    ("prospect {\n  title: text required\n  required: bool required\n}\n", {"title": True, "required": True}),
    ("prospect {\n  required: bool\n  done: bool required\n}\n", {"required": False, "done": True}),
    ("prospect {\n  a: text required  # flag\n  required : int\n}\n", {"a": True, "required": False}),
], ids=["after-optional", "after-required", "first", "spaced-colon"])
def test_a_field_may_be_named_required(text: str, fields: dict[str, bool]):
    parsed = parse_text(text, "input.seq")
    assert parsed.diagnostics == ()
    assert {f.name: f.required for f in parsed.nodes[0].fields} == fields


@pytest.mark.parametrize("name", ["if", "and", "or", "not", "in", "contains"])
def test_a_sequence_named_like_a_route_keyword_is_a_located_error(name: str):
    # `route { a\n if\n b }` reads as `a if b`: such a sequence could never be routed to
    text = f'sequence {name} {{\n  day 0 email x {{ subject "s" body "b" }}\n}}\n'
    diags = parse_text(text, "input.seq").diagnostics
    assert [(d.code, d.span.line, d.span.column, d.message) for d in diags] == [
        ("SEQ001", 1, 10, f"a sequence cannot be named `{name}`: a `route` line reads it as a keyword")]


# ---------------------------------------------------------------- literals


def _only_step(text: str) -> ir.Step:
    parsed = parse_text(text, "input.seq")
    assert parsed.diagnostics == ()
    (seq,) = parsed.nodes
    return seq.steps[0]


def test_triple_quoted_string_is_dedented_and_trimmed():
    step = _only_step(
        'sequence a {\n'
        '  day 0 email x {\n'
        '    subject "s"\n'
        '    body """\n'
        '      Hi {{ first_name }},\n'
        '\n'
        '        indented line\n'
        '      Bye\n'
        '      """\n'
        '  }\n'
        '}\n'
    )
    body = step.content.body
    assert body.source == "Hi {{ first_name }},\n\n  indented line\nBye"
    assert (body.span.line, body.span.column) == (4, 10)
    assert body.line_offset == 1


def test_triple_quoted_string_on_one_line():
    step = _only_step('sequence a { day 0 email x { subject """Say "hi" """ body "b" } }')
    assert step.content.subject.source == 'Say "hi" '


@pytest.mark.parametrize(("literal", "value"), [
    (r'"Caf\u00e9"', "Café"),
    (r'"tab\there"', "tab\there"),
    (r'"two\nlines"', "two\nlines"),
    (r'"a \"quoted\" word"', 'a "quoted" word'),
    (r'"back\\slash"', "back\\slash"),
    (r'"\u00E9\u00e9"', "éé"),
    ('"日本語 ok"', "日本語 ok"),
])
def test_string_escapes(literal: str, value: str):
    step = _only_step(f"sequence a {{ day 0 email x {{ subject {literal} body \"b\" }} }}")
    assert step.content.subject.source == value


def test_one_line_program_with_everything_on_it():
    text = ('prospect { email: email required employees: int } '
            'sequence a "A" { tier smb day 0 email x { subject "s" body "b" } '
            'day 3 email y if opened(x) and employees < 10 { thread x body "c" } } '
            'campaign c { route { a } }')
    parsed = parse_text(text, "input.seq")
    assert parsed.diagnostics == ()
    assert [type(n).__name__ for n in parsed.nodes] == ["Prospect", "Sequence", "Campaign"]


def test_crlf_and_bom_source_is_read_like_lf(tmp_path: Path):
    body = 'sequence a {\n  day 0 sms x { body "b" }\n}\n'
    (tmp_path / "a.seq").write_bytes(b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode())
    diags = _check_dir(tmp_path)
    assert located(diags) == [("SEQ001", 2, 9)]


@pytest.mark.parametrize(("text", "where"), [
    ('sequence a "日本語" { day 0 sms x { body "b" } }', (1, 26, 1, 29)),   # columns count code points
    ('sequence a {\n\tday 0 sms x { body "b" }\n}\n', (2, 8, 2, 11)),    # a tab is one column
    ('sequence a {\r\n  day 0 sms x { body "b" }\r\n}\r\n', (2, 9, 2, 12)),
], ids=["unicode", "tab", "crlf"])
def test_columns_count_characters(text: str, where: tuple[int, int, int, int]):
    (d,) = check_text(text, "input.seq")
    assert (d.span.line, d.span.column, d.span.end_line, d.span.end_column) == where


@pytest.mark.parametrize("end", ["\r", "\r\n"], ids=["lone-cr", "crlf"])
def test_cr_ends_a_line_as_for_files_and_fmt(end: str):
    # A lone CR ends the comment, as the file loader and fmt (which turn it into LF) read it.
    (d,) = parse_text(f"# note{end}more words\nsequence s {{ }}\n", "input.seq").diagnostics
    assert (d.code, d.span.line, d.span.column) == ("SEQ001", 2, 1)
    text = f"# a{end}sequence s {{{end}  day 0 email x {{ subject \"s\" body \"b\" }}{end}}}{end}"
    parsed = parse_text(text, "input.seq")
    assert parsed.diagnostics == ()
    assert parsed.nodes[0].steps[0].span.line == 3
    assert parsed.comments == ((1, 1, "# a", True),)


def test_error_recovery_work_grows_linearly(monkeypatch):
    # Each repair try copies the parser's state stack (as deep as the condition nests): the tries
    # per file are capped, so 4x the nesting and 4x the junk cost about 4x, not 16x.
    from compiler import parse

    trial, copied = parse._trial, [0]

    def counting(state, token):
        copied[0] += len(state.state_stack) + len(state.value_stack)
        return trial(state, token)

    monkeypatch.setattr(parse, "_trial", counting)

    def work(depth: int) -> int:
        copied[0] = 0
        guard = "(b and (b or " * depth + "b" + " @" * depth + "))" * depth   # junk where the stack is deep
        diags = parse_text(f"sequence s {{ day 0 email a if {guard} }}", "junk.seq").diagnostics
        assert diags and all(d.code == "SEQ001" for d in diags)
        return copied[0]

    small, big = work(100), work(400)
    assert big <= 6 * small, (small, big)


def test_errors_per_file_are_capped():
    text = "".join(f"sequence s{i} {{ day 0 sms x {{ }} }}\n" for i in range(30))
    diags = check_text(text, "input.seq")
    assert [(d.code, d.span.line) for d in diags] == [("SEQ001", i) for i in range(1, 21)]


# ---------------------------------------------------------------- files on disk


def _check_dir(folder: Path, select: tuple[str, ...] = FAMILIES) -> list[Diagnostic]:
    return api.check_paths([str(folder)], select=select).diagnostics


def test_binary_file_is_one_syntax_error(tmp_path: Path):
    (tmp_path / "bin.seq").write_bytes(b"sequence a {\n  tier smb\x00\x01\x02\xff\n}\n")
    diags = _check_dir(tmp_path)
    assert located(diags) == [("SEQ001", 2, 1)]
    assert "binary" in diags[0].message


def test_non_utf8_file_is_located_at_the_bad_byte(tmp_path: Path):
    (tmp_path / "latin1.seq").write_bytes('sequence a "Caf\u00e9" {\n}\n'.encode("latin-1"))
    diags = _check_dir(tmp_path)
    assert located(diags) == [("SEQ001", 1, 16)]
    assert "0xe9" in diags[0].message and diags[0].help == "save the file as UTF-8"


def test_non_utf8_on_a_later_line(tmp_path: Path):
    (tmp_path / "a.seq").write_bytes(b"sequence a {\n  tier smb\n  day 0 email x { subject \"\xc3\xa9\xff\" }\n}\n")
    diags = _check_dir(tmp_path)
    assert located(diags) == [("SEQ001", 3, 29)]


def test_empty_file_has_no_diagnostics(tmp_path: Path):
    (tmp_path / "empty.seq").write_bytes(b"")
    result = api.check_paths([str(tmp_path)])
    assert result.diagnostics == [] and not result.failed and result.files == 1


def test_whitespace_only_file_has_no_diagnostics():
    assert check_text(" \n\t\n\n", "input.seq") == []


def _template_project(tmp_path: Path, ref: str) -> Path:
    proj = tmp_path / "proj"
    (proj / "templates").mkdir(parents=True)
    (proj / "a.seq").write_text(
        'prospect { email: email required }\n'
        'sequence a {\n'
        '  day 0 email x {\n'
        '    subject "s"\n'
        f'    body file "{ref}"\n'
        '  }\n'
        '}\n', encoding="utf-8")
    return proj


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_template_leaving_the_project(tmp_path: Path):
    proj = _template_project(tmp_path, "templates/link.txt.j2")
    (tmp_path / "outside.txt").write_text("secret", encoding="utf-8")
    os.symlink(tmp_path / "outside.txt", proj / "templates" / "link.txt.j2")
    diags = _check_dir(proj)
    assert located(diags) == [("SEQ101", 5, 15)]
    assert "leaves the project folder" in diags[0].message
    assert "secret" not in json.dumps([d.message for d in diags])


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinked_folder_leaving_the_project(tmp_path: Path):
    proj = _template_project(tmp_path, "shared/body.txt.j2")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "body.txt.j2").write_text("Hello", encoding="utf-8")
    os.symlink(tmp_path / "elsewhere", proj / "shared")
    assert located(_check_dir(proj)) == [("SEQ101", 5, 15)]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_inside_the_project_is_fine(tmp_path: Path):
    proj = _template_project(tmp_path, "templates/alias.txt.j2")
    (proj / "templates" / "real.txt.j2").write_text("Hello", encoding="utf-8")
    os.symlink(proj / "templates" / "real.txt.j2", proj / "templates" / "alias.txt.j2")
    assert _check_dir(proj) == []


@pytest.mark.parametrize(("ref", "message"), [
    ("../outside.txt.j2", "leaves the project folder"),
    ("templates/../../outside.txt.j2", "leaves the project folder"),
    ("/etc/hostname", "must be relative"),
    ("", "must be relative"),
    ("templates", "is a folder"),
    ("templates/missing.txt.j2", "not found"),
])
def test_template_path_problems(tmp_path: Path, ref: str, message: str):
    proj = _template_project(tmp_path, ref)
    (tmp_path / "outside.txt.j2").write_text("Hello", encoding="utf-8")
    diags = _check_dir(proj)
    assert located(diags) == [("SEQ101", 5, 15)]
    assert message in diags[0].message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_template_swapped_for_a_fifo_after_the_check_is_refused(tmp_path: Path, monkeypatch):
    # The type is checked again on the opened descriptor: a path swapped between the two must
    # not block (O_NONBLOCK) nor be read.
    from compiler import ir_builder

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    monkeypatch.setattr(ir_builder.os, "stat", lambda path, *a, **k: regular)
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(ir_builder._read_regular_file(fifo))
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            outcome.append(e)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert outcome, "reading the FIFO blocked"
    assert isinstance(outcome[0], ir_builder._NotRegularFile)


def test_template_file_that_is_not_utf8(tmp_path: Path):
    proj = _template_project(tmp_path, "templates/body.txt.j2")
    (proj / "templates" / "body.txt.j2").write_bytes(b"Hello \xff")
    diags = _check_dir(proj)
    assert located(diags) == [("SEQ101", 5, 15)]
    assert "not UTF-8" in diags[0].message


# ---------------------------------------------------------------- suppressions and seqc.toml

UNGUARDED_DM = (
    'prospect {\n'
    '  email: email required\n'
    '  linkedin_url: url required\n'
    '}\n'
    'sequence a {\n'
    '  day 0 email x { subject "s" body "b" }\n'
    '  day 1 linkedin invite { action connect }\n'
    '  day 5 linkedin dm { action message body "Thanks" }\n'
    '}\n'
)


def _project(tmp_path: Path, text: str, toml: str | None = None) -> Path:
    (tmp_path / "a.seq").write_text(text, encoding="utf-8")
    if toml is not None:
        (tmp_path / "seqc.toml").write_text(toml, encoding="utf-8")
    return tmp_path


def test_unguarded_message_is_a_warning_by_default(tmp_path: Path):
    result = api.check_paths([str(_project(tmp_path, UNGUARDED_DM))], select=("SEQ1",))
    assert [(d.code, d.severity.value, d.span.line, d.span.column) for d in result.diagnostics] == [
        ("SEQ107", "warning", 8, 18)]
    assert not result.failed


def test_seqc_toml_ignore(tmp_path: Path):
    result = api.check_paths([str(_project(tmp_path, UNGUARDED_DM, '[rules]\nignore = ["SEQ107"]\n'))],
                             select=("SEQ1",))
    assert result.diagnostics == []


def test_seqc_toml_ignore_by_prefix(tmp_path: Path):
    result = api.check_paths([str(_project(tmp_path, UNGUARDED_DM, '[rules]\nignore = ["SEQ1"]\n'))],
                             select=("SEQ1",))
    assert result.diagnostics == []


def test_seqc_toml_severity(tmp_path: Path):
    result = api.check_paths([str(_project(tmp_path, UNGUARDED_DM, '[rules]\nseverity = {SEQ107 = "error"}\n'))],
                             select=("SEQ1",))
    assert [(d.code, d.severity.value) for d in result.diagnostics] == [("SEQ107", "error")]
    assert result.failed


def test_seqc_toml_select(tmp_path: Path):
    text = UNGUARDED_DM.replace("day 1 linkedin invite", "day 7 linkedin invite")  # + SEQ103
    result = api.check_paths([str(_project(tmp_path, text, '[rules]\nselect = ["SEQ103"]\n'))])
    assert [d.code for d in result.diagnostics] == ["SEQ103"]


def test_seqc_toml_never_hides_syntax_errors(tmp_path: Path):
    result = api.check_paths([str(_project(tmp_path, "sequence A {}\n", '[rules]\nignore = ["SEQ0", "SEQ001"]\n'))])
    assert [d.code for d in result.diagnostics] == ["SEQ001"]


@pytest.mark.parametrize("toml", [
    '[rules]\nignore = ["FOO"]\n',
    '[rules]\nseverity = {SEQ107 = "fatal"}\n',
    '[rules\n',
    'rules = 3\n',
])
def test_bad_seqc_toml_is_a_usage_error(tmp_path: Path, toml: str):
    from compiler.diagnostics import SeqcError

    with pytest.raises(SeqcError) as info:
        api.check_paths([str(_project(tmp_path, UNGUARDED_DM, toml))])
    assert "seqc.toml" in str(info.value) and "\n" not in str(info.value)


def test_suppression_comment_on_the_line(tmp_path: Path):
    text = UNGUARDED_DM.replace('body "Thanks" }\n', 'body "Thanks" }  # seqc: ignore SEQ107\n')
    assert _check_dir(_project(tmp_path, text)) == []


def test_suppression_comment_above_a_block(tmp_path: Path):
    text = UNGUARDED_DM.replace(
        '  day 5 linkedin dm { action message body "Thanks" }\n',
        '  # seqc: ignore SEQ107\n  day 5 linkedin dm {\n    action message\n    body "Thanks"\n  }\n'
        '  day 9 linkedin dm2 {\n    action message\n    body "Again"\n  }\n')
    diags = _check_dir(_project(tmp_path, text))
    assert located(diags) == [("SEQ107", 13, 18)]


def test_suppression_comment_lists_several_codes(tmp_path: Path):
    text = UNGUARDED_DM.replace('body "Thanks" }\n', 'body "Thanks" }  # seqc: ignore SEQ206, SEQ107\n')
    assert _check_dir(_project(tmp_path, text)) == []


def test_suppression_does_not_reach_the_next_line(tmp_path: Path):
    text = UNGUARDED_DM.replace('  day 1 linkedin invite { action connect }\n',
                                '  day 1 linkedin invite { action connect }  # seqc: ignore SEQ107\n')
    assert [d.code for d in _check_dir(_project(tmp_path, text))] == ["SEQ107"]


# ---------------------------------------------------------------- templates (SEQ301/SEQ305)


def test_template_errors_are_located_inside_the_template(tmp_path: Path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "body.txt.j2").write_text(
        "Hi {{ first_name }},\n\nline three {{ first_name }\nmore\n", encoding="utf-8")
    (tmp_path / "a.seq").write_text(
        'prospect {\n  email: email required\n  first_name: text required\n}\n'
        'sequence a {\n'
        '  day 0 email x {\n'
        '    subject "Hi"\n'
        '    body file "templates/body.txt.j2"\n'
        '  }\n'
        '  day 3 email y {\n'
        '    subject "Hi {{ frist_name }}"\n'
        '    body """\n'
        '      Hello {{ first_name }},\n'
        '\n'
        '      {{ first_name }\n'
        '      """\n'
        '  }\n'
        '}\n', encoding="utf-8")
    diags = _check_dir(tmp_path)
    where = [(d.code, Path(d.span.file).relative_to(tmp_path).as_posix(), d.span.line) for d in diags]
    assert sorted(where) == [
        ("SEQ301", "a.seq", 11),                  # subject of `y`
        ("SEQ305", "a.seq", 15),                  # line 3 of the triple-quoted body
        ("SEQ305", "templates/body.txt.j2", 3),   # line 3 of the template file
    ]
    (seq301,) = [d for d in diags if d.code == "SEQ301"]
    assert seq301.span.column == 20 and "did you mean `first_name`?" in seq301.message

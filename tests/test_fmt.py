"""seqc fmt: idempotence and IR equality (examples, messy cases, generated programs), comment placement, CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from compiler import fmt as fmt_mod
from compiler.cli_fmt import collect_files, fmt
from compiler.fmt import FormatError, format_source, format_text, ir_view, quote
from compiler.parse import parse_text
from compiler.project import load_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.relative_to(ROOT) for p in (ROOT / "examples").rglob("*.seq"))
MESSY = sorted(p.relative_to(ROOT) for p in (ROOT / "tests" / "cases" / "fmt").glob("*.seq"))


class SeqSnapshot(SingleFileSnapshotExtension):
    """One real `.seq` file per snapshot, byte for byte."""

    file_extension = "seq"
    _write_mode = WriteMode.TEXT


def _formatted(path: Path) -> str:
    result = format_source(path.read_text(encoding="utf-8"), path.as_posix(), base_dir=path.parent)
    assert result.error is None, result.error
    assert not result.diagnostics, result.diagnostics
    return result.formatted


def assert_safe(source: str, formatted: str, file: str = "t.seq", base_dir: Path | None = None) -> None:
    """black's two checks: a second pass changes nothing; the IR (spans aside) is the same."""
    before = parse_text(source, file, base_dir=base_dir, root=base_dir)
    after = parse_text(formatted, file, base_dir=base_dir, root=base_dir)
    assert not [d for d in after.diagnostics if d.code == "SEQ001"]
    assert ir_view(after.nodes) == ir_view(before.nodes)
    assert sorted(c[2].rstrip() for c in after.comments) == sorted(c[2].rstrip() for c in before.comments)
    again = format_source(formatted, file, base_dir=base_dir)
    assert again.formatted == formatted, "a second pass changed the text"


# ---------------------------------------------------------------- examples and messy cases


@pytest.mark.parametrize("path", EXAMPLES, ids=str)
def test_example_is_stable_and_equivalent(path):
    formatted = _formatted(path)
    assert_safe(path.read_text(encoding="utf-8"), formatted, path.as_posix(), path.parent)


@pytest.mark.parametrize("path", EXAMPLES, ids=str)
def test_example_is_already_formatted(path):
    assert _formatted(path) == path.read_text(encoding="utf-8"), f"run `seqc fmt {path}`"


@pytest.mark.parametrize("path", MESSY, ids=lambda p: p.stem)
def test_messy_case_is_stable_and_equivalent(path):
    formatted = _formatted(path)
    assert formatted != path.read_text(encoding="utf-8"), "a messy case should need formatting"
    assert_safe(path.read_text(encoding="utf-8"), formatted, path.as_posix(), path.parent)


@pytest.mark.parametrize("path", MESSY, ids=lambda p: p.stem)
def test_messy_case_snapshot(path, snapshot):
    assert _formatted(path) == snapshot.use_extension(SeqSnapshot)


@pytest.mark.parametrize("path", EXAMPLES, ids=str)
def test_example_tokens_on_one_line(path):
    """Every token of an example on one line, comments dropped: same IR, same layout rules."""
    tree_tokens = " ".join(str(t) for t in fmt_mod._tokens(fmt_mod._cst_parser().parse(
        path.read_text(encoding="utf-8"))))
    formatted = format_text(tree_tokens, path.as_posix())
    assert_safe(tree_tokens, formatted, path.as_posix())


def test_syntax_error_is_not_formatted():
    result = format_source("sequence s { day x email a {} }\n", "bad.seq")
    assert result.formatted is None and not result.changed
    assert [d.code for d in result.diagnostics] == ["SEQ001"]
    with pytest.raises(FormatError):
        format_text("sequence s {")


def test_empty_and_comment_only_files():
    assert format_text("") == ""
    assert format_text("\n\n  \n") == ""
    assert format_text("  # only a comment   \n\n\n# another") == "# only a comment\n\n# another\n"


def test_crlf_and_bom_become_lf():
    assert format_text("\ufeffsequence s {\r\n  tier smb\r\n}\r\n") == "sequence s {\n  tier smb\n}\n"


# ---------------------------------------------------------------- layout rules


LAYOUT_CASES = {
    "prospect columns": (
        "prospect { email: email required first_name: text required title: text "
        "timezone: timezone status: enum(a,b,) required }",
        "prospect {\n"
        "  email:      email     required\n"
        "  first_name: text      required\n"
        "  title:      text\n"
        "  timezone:   timezone\n"
        "  status:     enum(a, b)  required\n"
        "}\n",
    ),
    "exit order and windows": (
        "sequence s { exit on booked,unsubscribed , bounced,replied window email mon-fri 9:00 - 12:00 "
        "window linkedin tue 11:00-13:00 }",
        "sequence s {\n"
        "  exit on replied, bounced, unsubscribed, booked\n"
        "  window email    mon-fri 09:00-12:00\n"
        "  window linkedin tue 11:00-13:00\n"
        "}\n",
    ),
    "blank lines between steps, kept at most one elsewhere": (
        "sequence s {\n  tier smb\n\n\n\n  timezone \"UTC\"\n  day 0 email a { purpose opener\n\n\n"
        "  subject \"x\" }\n  day 3 email b {}\n  on opened(a) -> p\n  on clicked(a) -> p\n"
        "  path p { day 1 email c {}\n day 2 email d {} }\n}",
        "sequence s {\n  tier smb\n\n  timezone \"UTC\"\n\n  day 0 email a {\n    purpose opener\n\n"
        "    subject \"x\"\n  }\n\n  day 3 email b {}\n\n  on opened(a) -> p\n  on clicked(a) -> p\n\n"
        "  path p {\n    day 1 email c {}\n    day 2 email d {}\n  }\n}\n",
    ),
    "variants: one field on one line, more fields expanded": (
        "sequence s { day 0 email a { variant a {subject \"A\"} variant b { subject \"B\" body \"b\" } } }",
        "sequence s {\n  day 0 email a {\n    variant a { subject \"A\" }\n    variant b {\n"
        "      subject \"B\"\n      body \"b\"\n    }\n  }\n}\n",
    ),
    "conditions and routes": (
        "campaign c { route { smb if(employees<200 and not has( phone )) or country in(\"DE\",\"AT\",) "
        "enterprise_long } } sequence s { on clicked(a) within 1 days -> end }",
        "campaign c {\n  route {\n    smb if (employees < 200 and not has(phone)) or country in (\"DE\", \"AT\")\n"
        "    enterprise_long\n  }\n}\n\nsequence s {\n  on clicked(a) within 1 day -> end\n}\n",
    ),
    "strings re-quoted": (
        'sequence s "T\\u00e9st \\/ \\"q\\"" { day 0 email a { subject """One line""" '
        'body "tab\there\\u00a0" } }',
        'sequence s "Tést / \\"q\\"" {\n  day 0 email a {\n    subject "One line"\n'
        '    body "tab\\there\\u00a0"\n  }\n}\n',
    ),
    "triple-quoted text re-indented": (
        'sequence s {\nday 0 email a {\nbody """\n        Hi,\n\n          indented\n        Bye\n"""\n}\n}',
        'sequence s {\n  day 0 email a {\n    body """\n      Hi,\n\n        indented\n      Bye\n'
        '      """\n  }\n}\n',
    ),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_CASES))
def test_layout(case):
    source, expected = LAYOUT_CASES[case]
    assert format_text(source) == expected
    assert_safe(source, expected)


@pytest.mark.parametrize("value", ["", "plain", 'q"uote', "back\\slash", "new\nline\ttab\r", "\x00\x1b",
                                   "é ü 日本 🙂", "\u00a0\u200b\u2028", "{{ first_name }}"])
def test_quote_round_trips(value):
    source = f"sequence s {quote(value)} {{}}\n"
    (node,) = parse_text(source, "q.seq").nodes
    assert node.title == value


# ---------------------------------------------------------------- comments


COMMENT_CASES = {
    "trailing comments align per block": (
        "sequence s { # head\n tier smb # t\n timezone prospect else \"America/New_York\" # tz\n"
        " day 0 email a { purpose opener # p\n } }",
        "sequence s {                             # head\n"
        "  tier smb                                    # t\n"
        "  timezone prospect else \"America/New_York\"   # tz\n\n"
        "  day 0 email a {\n"
        "    purpose opener                       # p\n"
        "  }\n"
        "}\n",
    ),
    "own-line comments stay above the next item, at its indentation": (
        "# file\n\n\n# about s\nsequence s {\n# first\n\n      # second, blank kept above\n"
        "tier smb\n        # last in block\n}\n# end of file",
        "# file\n\n# about s\nsequence s {\n  # first\n\n  # second, blank kept above\n"
        "  tier smb\n  # last in block\n}\n# end of file\n",
    ),
    "comments inside empty blocks keep them open": (
        "prospect { # why empty\n} sequence s { path p {\n # todo\n } }",
        "prospect {                               # why empty\n}\n\n"
        "sequence s {\n  path p {\n    # todo\n  }\n}\n",
    ),
    "a comment in a variant keeps it on several lines": (
        "sequence s { day 0 email a { variant a { subject \"A\" # test\n } variant b { subject \"B\" } # one\n } }",
        "sequence s {\n  day 0 email a {\n    variant a {\n      subject \"A\"                        # test\n"
        "    }\n    variant b { subject \"B\" }            # one\n  }\n}\n",
    ),
    "two comments for one line: the first moves above, a suppression stays put": (
        "sequence s {\n  # seqc: ignore SEQ206\n  day 0 # c1\n  email a # c2\n  { }\n"
        "  day 1 linkedin b # seqc: ignore SEQ207\n  { # c3\n  }\n}",
        "sequence s {\n  # c1\n  # seqc: ignore SEQ206\n  day 0 email a {}                       # c2\n\n"
        "  # c3\n  day 1 linkedin b {                     # seqc: ignore SEQ207\n  }\n}\n",
    ),
    "comments inside an exit list and a condition": (
        "sequence s { exit on unsubscribed, # u\n replied\n"
        " day 0 email a if opened(x) # why\n  and not clicked(x)\n # alone inside\n { } }",
        "sequence s {\n  exit on replied, unsubscribed                      # u\n\n"
        "  # alone inside\n  day 0 email a if opened(x) and not clicked(x) {}   # why\n}\n",
    ),
    "blank line kept between a comment and its block": (
        "sequence s {\n  tier smb\n\n  # section: steps\n\n  day 0 email a {}\n}\n",
        "sequence s {\n  tier smb\n\n  # section: steps\n\n  day 0 email a {}\n}\n",
    ),
}


@pytest.mark.parametrize("case", sorted(COMMENT_CASES))
def test_comment_placement(case):
    source, expected = COMMENT_CASES[case]
    assert format_text(source) == expected
    assert_safe(source, expected)


def _covered_steps(text: str) -> set[tuple[str, tuple[str, ...]]]:
    """(step name, codes) for every step header line a `# seqc: ignore` covers."""
    loaded = load_text(text, "s.seq")
    covered = set()
    for seq in loaded.project.sequences:
        for step in seq.all_steps():
            for s in loaded.project.suppressions:
                if s.first_line <= step.span.line <= s.last_line:
                    covered.add((step.name, s.codes))
    return covered


def test_suppressions_cover_the_same_steps():
    source = ("sequence s {\n  # seqc: ignore SEQ206\n  day 0 email a { purpose opener\n subject \"x\" }\n"
              "  day 0 linkedin b { action connect } # seqc: ignore SEQ207\n"
              "day 2 email c {}\n   # seqc: ignore SEQ205, SEQ208\n  day 2 email d { subject \"x\" }\n}\n")
    formatted = format_text(source)
    assert _covered_steps(formatted) == _covered_steps(source) == {
        ("a", ("SEQ206",)), ("b", ("SEQ207",)), ("d", ("SEQ205", "SEQ208"))}


# ---------------------------------------------------------------- generated programs

NAMES = st.sampled_from(["opener", "value", "proof", "a", "b", "hot", "x_1", "invite", "smb", "mid_market"])
FIELDS = st.sampled_from(["employees", "country", "title", "phone", "funding_days_ago", "is_vip", "email"])
SEP = st.sampled_from([" ", "  ", "\t", "\n", "\n\n", "\n\n\n    ", " \t\n "])
COMMENT_TEXT = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12)
TIME = st.tuples(st.integers(0, 22), st.integers(0, 59)).map(lambda t: (f"{t[0]}", f"{t[1]:02d}"))


@st.composite
def string_lit(draw, max_size=12):
    value = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=max_size))
    escaped = draw(st.integers(0, 2 ** max_size - 1))     # which characters to write as \uXXXX
    out = []
    for i, ch in enumerate(value):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r":
            out.append({"\n": "\\n", "\r": "\\r"}[ch])
        elif ord(ch) <= 0xFFFF and escaped >> i & 1:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return ['"' + "".join(out) + '"']


@st.composite
def long_lit(draw):
    line = st.text(st.characters(blacklist_characters='\n\r"', blacklist_categories=("Cs",)), max_size=10)
    lines = draw(st.lists(st.tuples(st.sampled_from(["", " ", "    ", "\t"]), line), max_size=4))
    body = "\n".join(pad + text for pad, text in lines)
    head = draw(st.sampled_from(["\n", "", "   \n", "x"]))
    tail = draw(st.sampled_from(["\n    ", "", "\n"]))
    return ['"""' + head + body + tail + '"""']


def text_value():
    path = st.sampled_from(['"t.txt.j2"', '"templates/x.txt"', '"../out.txt"', '"/abs.txt"', '""'])
    return st.one_of(string_lit(), long_lit(), path.map(lambda p: ["file", p]))


def literal():
    return st.one_of(string_lit(4), st.sampled_from([["200"], ["-3"], ["0.5"], ["5%"], ["2027-01-05"]]))


def conditions():
    atom = st.one_of(
        st.tuples(FIELDS, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), literal()).map(
            lambda t: [t[0], t[1], *t[2]]),
        st.tuples(FIELDS, st.lists(literal(), min_size=1, max_size=3), st.booleans()).map(
            lambda t: [t[0], "in", "(", *sum(([*v, ","] for v in t[1]), [])[: None if t[2] else -1], ")"]),
        st.tuples(FIELDS, string_lit(4)).map(lambda t: [t[0], "contains", *t[1]]),
        st.tuples(st.sampled_from(["opened", "clicked", "replied", "accepted", "has"]), NAMES).map(
            lambda t: [t[0], "(", t[1], ")"]),
        FIELDS.map(lambda f: [f]),
    )
    return st.recursive(atom, lambda inner: st.one_of(
        inner.map(lambda c: ["not", *c]),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: [*t[0], t[1], *t[2]]),
        inner.map(lambda c: ["(", *c, ")"]),
    ), max_leaves=6)


def weekdays():
    return st.sampled_from(["mon-fri", "tue-thu", "mon,wed,fri", "sat", "mon-tue,thu"])


def time_range():
    return st.tuples(TIME, TIME, st.sampled_from(["-", " - "])).map(
        lambda t: [f"{t[0][0]}:{t[0][1]}{t[2]}{int(t[1][0]) + 1:02d}:{t[1][1]}"])


def content_item():
    return st.tuples(st.sampled_from(["subject", "body", "note", "script"]), text_value()).map(
        lambda t: [t[0], *t[1]])


def braced(head, items):
    return st.tuples(head, st.lists(items, max_size=3)).map(lambda t: [*t[0], "{", *sum(t[1], []), "}"])


def step():
    item = st.one_of(
        content_item(),
        st.tuples(st.sampled_from(["purpose", "action", "thread"]), NAMES).map(list),
        st.tuples(st.just("window"), st.one_of(st.just([]), weekdays().map(lambda w: [w])), time_range()).map(
            lambda t: [t[0], *t[1], *t[2]]),
        st.sampled_from([["split", "50/50"], ["split", "30/30/40"]]),
        braced(NAMES.map(lambda n: ["variant", n]), content_item()),
        braced(conditions().map(lambda c: ["when", *c]), content_item()),
        braced(st.just(["else"]), content_item()),
    )
    head = st.tuples(st.sampled_from(["0", "3", "14", "007"]), st.sampled_from(["email", "linkedin", "call", "task"]),
                     NAMES, st.one_of(st.just([]), string_lit()), st.one_of(st.just([]), conditions())).map(
        lambda t: ["day", t[0], t[1], t[2], *t[3], *(["if", *t[4]] if t[4] else [])])
    return braced(head, item)


def sequence():
    item = st.one_of(
        NAMES.map(lambda n: ["tier", n]),
        st.one_of(st.just(["timezone", "prospect"]), string_lit().map(lambda s: ["timezone", "prospect", "else", *s]),
                  string_lit().map(lambda s: ["timezone", *s])),
        st.tuples(st.sampled_from(["email", "linkedin", "call", "task"]), st.one_of(st.just([]), weekdays().map(
            lambda w: [w])), time_range()).map(lambda t: ["window", t[0], *t[1], *t[2]]),
        st.one_of(st.just(["holidays", "prospect"]), st.just(["holidays", "none"]),
                  string_lit().map(lambda s: ["holidays", *s])),
        st.lists(st.sampled_from(["replied", "bounced", "unsubscribed", "booked"]), min_size=1, max_size=4).map(
            lambda names: ["exit", "on", *sum(([n, ","] for n in names), [])[:-1]]),
        step(),
        st.tuples(st.one_of(st.tuples(st.sampled_from(["opened", "clicked"]), NAMES).map(
            lambda t: [t[0], "(", t[1], ")"]), st.just(["replied"])),
            st.one_of(st.just([]), st.sampled_from([["within", "1", "day"], ["within", "3", "days"]])),
            NAMES).map(lambda t: ["on", *t[0], *t[1], "->", t[2]]),
        braced(st.tuples(NAMES, st.one_of(st.just([]), string_lit())).map(lambda t: ["path", t[0], *t[1]]), step()),
    )
    head = st.tuples(NAMES, st.one_of(st.just([]), string_lit())).map(lambda t: ["sequence", t[0], *t[1]])
    return st.tuples(head, st.lists(item, max_size=6)).map(lambda t: [*t[0], "{", *sum(t[1], []), "}"])


def prospect():
    ftype = st.one_of(st.sampled_from(["text", "int", "email", "timezone", "country"]).map(lambda t: [t]),
                      st.lists(NAMES, min_size=1, max_size=3).map(
                          lambda vs: ["enum", "(", *sum(([v, ","] for v in vs), [])[:-1], ")"]))
    field = st.tuples(FIELDS, ftype, st.booleans()).map(
        lambda t: [t[0], ":", *t[1], *(["required"] if t[2] else [])])
    return braced(st.just(["prospect"]), field)


def campaign():
    item = st.one_of(
        st.just(["start", "2027-01-05"]), st.just(["enroll", "60", "per", "day"]), NAMES.map(lambda n: ["crm", n]),
        braced(st.just(["route"]), st.one_of(NAMES.map(lambda n: [n]), st.tuples(NAMES, conditions()).map(
            lambda t: [t[0], "if", *t[1]]))),
        braced(st.just(["sender"]), st.one_of(
            string_lit().map(lambda s: ["from", *s]), st.just(["mailboxes", "4"]), st.just(["daily_limit", "40"]),
            st.just(["warmup", "since", "2026-12-01"]), st.just(["warmup", "none"]),
            st.lists(st.sampled_from(["spf", "dkim", "dmarc"]), min_size=1).map(lambda a: ["auth", *a]))),
        braced(st.just(["compliance"]), st.one_of(
            text_value().map(lambda t: ["unsubscribe", *t]), string_lit().map(lambda s: ["postal_address", *s]),
            st.just(["lawful_basis", "legitimate_interest"]))),
        braced(st.just(["goals"]), st.tuples(st.sampled_from(["reply_rate", "spam_rate"]), st.sampled_from(
            [[], ["<"]]), st.sampled_from(["5%", "0.08%", "3"])).map(lambda t: [t[0], *t[1], t[2]])),
    )
    return st.tuples(NAMES, st.lists(item, max_size=5)).map(lambda t: ["campaign", t[0], "{", *sum(t[1], []), "}"])


@st.composite
def programs(draw):
    tokens = sum(draw(st.lists(st.one_of(prospect(), sequence(), campaign()), max_size=3)), [])
    out = []
    for tok in tokens:
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(f" #{draw(COMMENT_TEXT)}\n")
        elif kind == 1:
            out.append(f"\n{draw(SEP)}# seqc: ignore SEQ206{draw(COMMENT_TEXT)}\n")
        else:
            out.append(draw(SEP))
        out.append(tok)
    out.append(draw(st.sampled_from(["", "\n", " # end", "\n\n# last\n"])))
    return "".join(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs(source):
    parsed = parse_text(source, "gen.seq")
    assert not [d for d in parsed.diagnostics if d.code == "SEQ001"], (parsed.diagnostics, source)
    result = format_source(source, "gen.seq")
    assert result.error is None, result.error
    assert_safe(source, result.formatted, "gen.seq")


def _pieces(text: str) -> list[tuple[str, bool]]:
    """Tokens and comments of a source in order; True marks a comment."""
    comments: list = []
    fmt_mod._COMMENT_SINK.sink = comments
    try:
        tokens = list(fmt_mod._tokens(fmt_mod._cst_parser().parse(text)))
    finally:
        fmt_mod._COMMENT_SINK.sink = None
    both = [(t.start_pos, str(t), False) for t in tokens] + [(c.start_pos, str(c), True) for c in comments]
    return [(value, is_comment) for _, value, is_comment in sorted(both)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.data())
def test_respaced_examples(path, data):
    """An example with random whitespace between its tokens (comments kept in order) formats back."""
    out = []
    for value, is_comment in _pieces(path.read_text(encoding="utf-8")):
        out.append(data.draw(SEP) + value + ("\n" if is_comment else ""))
    source = "".join(out)
    formatted = format_text(source, path.as_posix())
    assert_safe(source, formatted, path.as_posix())


# ---------------------------------------------------------------- the command


MESSY_TEXT = "sequence s { tier smb day 0 email a { purpose opener } }\n"
CLEAN_TEXT = format_text(MESSY_TEXT)


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    (tmp_path / "proj" / ".hidden").mkdir()
    (tmp_path / "proj" / "b.seq").write_text(MESSY_TEXT)
    (tmp_path / "proj" / "a.seq").write_text(CLEAN_TEXT)
    (tmp_path / "proj" / "sub" / "c.seq").write_text(MESSY_TEXT)
    (tmp_path / "proj" / ".hidden" / "d.seq").write_text(MESSY_TEXT)
    (tmp_path / "proj" / "notes.txt").write_text(MESSY_TEXT)
    return tmp_path / "proj"


def test_collect_files_sorted_recursive_skips_hidden(tmp_path):
    proj = _tree(tmp_path)
    os.chdir(tmp_path)
    try:
        files, missing = collect_files(["proj", "proj/b.seq", "nope"])
    finally:
        os.chdir(ROOT)
    assert [d for _, d in files] == ["proj/a.seq", "proj/b.seq", "proj/sub/c.seq"]
    assert missing == ["nope"]
    assert (proj / ".hidden" / "d.seq").exists()


def test_cli_check_names_files_and_writes_nothing(tmp_path):
    proj = _tree(tmp_path)
    result = CliRunner().invoke(fmt, ["--check", str(proj)])
    assert result.exit_code == 1, result.output
    assert f"would reformat {proj.as_posix()}/b.seq" in result.stderr
    assert f"would reformat {proj.as_posix()}/sub/c.seq" in result.stderr
    assert "a.seq" not in result.stderr.replace("would reformat", "")
    assert "2 files would be reformatted, 1 file already formatted" in result.stderr
    assert (proj / "b.seq").read_text() == MESSY_TEXT
    clean = CliRunner().invoke(fmt, ["--check", str(proj / "a.seq")])
    assert clean.exit_code == 0 and "would reformat" not in clean.stderr


def test_cli_diff_prints_unified_diff_and_writes_nothing(tmp_path):
    proj = _tree(tmp_path)
    target = (proj / "b.seq").as_posix()
    result = CliRunner().invoke(fmt, ["--diff", target])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"--- {target}\n+++ {target}\n@@ ")
    assert "-sequence s { tier smb day 0 email a { purpose opener } }\n" in result.stdout
    assert "+  day 0 email a {\n" in result.stdout
    assert (proj / "b.seq").read_text() == MESSY_TEXT
    both = CliRunner().invoke(fmt, ["--check", "--diff", target])
    assert both.exit_code == 1 and both.stdout == result.stdout


def test_cli_writes_atomically_and_is_stable(tmp_path):
    proj = _tree(tmp_path)
    (proj / "b.seq").chmod(0o640)
    result = CliRunner().invoke(fmt, [str(proj)])
    assert result.exit_code == 0, result.output
    assert "reformatted" in result.stderr and "2 files reformatted, 1 file left unchanged" in result.stderr
    assert (proj / "b.seq").read_text() == CLEAN_TEXT
    assert (proj / "b.seq").stat().st_mode & 0o777 == 0o640
    assert (proj / ".hidden" / "d.seq").read_text() == MESSY_TEXT
    assert sorted(p.name for p in proj.iterdir()) == [".hidden", "a.seq", "b.seq", "notes.txt", "sub"]
    again = CliRunner().invoke(fmt, ["--check", str(proj)])
    assert again.exit_code == 0, again.output


def test_cli_crlf_file_is_rewritten_with_lf(tmp_path):
    path = tmp_path / "w.seq"
    path.write_bytes(CLEAN_TEXT.replace("\n", "\r\n").encode())
    assert CliRunner().invoke(fmt, ["--check", str(path)]).exit_code == 1
    assert CliRunner().invoke(fmt, [str(path)]).exit_code == 0
    assert path.read_bytes() == CLEAN_TEXT.encode()


def test_cli_syntax_error_reported_and_untouched(tmp_path):
    bad = tmp_path / "bad.seq"
    bad.write_text("sequence s { day x email a {} }\n")
    good = tmp_path / "good.seq"
    good.write_text(MESSY_TEXT)
    result = CliRunner().invoke(fmt, [str(bad), str(good)])
    assert result.exit_code == 1
    assert "SEQ001" in result.stderr and "1 file with syntax errors" in result.stderr
    assert bad.read_text() == "sequence s { day x email a {} }\n"
    assert good.read_text() == CLEAN_TEXT


def test_cli_missing_path_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(fmt, [str(tmp_path / "nope.seq")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


def test_cli_refuses_a_result_that_changes_meaning(tmp_path, monkeypatch):
    path = tmp_path / "m.seq"
    path.write_text(MESSY_TEXT)
    monkeypatch.setattr(fmt_mod, "layout", lambda text: text.replace("day 0", "day 1"))
    result = CliRunner().invoke(fmt, [str(path)])
    assert result.exit_code == 3
    assert "internal error" in result.stderr and "means something else" in result.stderr
    assert path.read_text() == MESSY_TEXT
    monkeypatch.setattr(fmt_mod, "layout", lambda text: text.replace("# keep", ""))
    path.write_text("# keep\n" + MESSY_TEXT)
    assert CliRunner().invoke(fmt, [str(path)]).exit_code == 3


def test_cli_binary_file_is_a_syntax_error(tmp_path):
    path = tmp_path / "bin.seq"
    path.write_bytes(b"sequence s {\x00}")
    result = CliRunner().invoke(fmt, [str(path)])
    assert result.exit_code == 1 and "SEQ001" in result.stderr
    assert path.read_bytes() == b"sequence s {\x00}"


@pytest.mark.parametrize("depth", [300, 5000])
def test_deep_conditions_never_raise(depth):
    source = "sequence s { day 0 email a if " + "(" * depth + "x" + ")" * depth + " and " + "not " * depth + "y {} }"
    result = format_source(source, "deep.seq")
    if depth == 300:
        assert result.error is None
        assert_safe(source, result.formatted, "deep.seq")
    elif result.formatted is None:   # deeper than the IR comparison can recurse (the CLI raises the limit)
        assert "nests too deeply" in result.error
    else:
        assert format_source(result.formatted, "deep.seq").formatted == result.formatted

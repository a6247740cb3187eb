"""`seqc compile` end to end: hostile leads data, the stderr contract, stdout vs -o, exit codes, `seqc targets`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from conftest import CASES

from compiler.cli import run
from compiler.cli_targets import capability_table, targets_command
from compiler.leads import FORMULA_PREFIXES, Lead, Leads, csv_text, safe_cell
from targets import REGISTRY

EMAIL_ONLY = CASES / "targets" / "email_only"
BRANCHES = CASES / "targets" / "branches"


def seqc(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            run(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    stdout, stderr = out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")
    assert "Traceback" not in stdout + stderr
    return code, stdout, stderr


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


# ---------------------------------------------------------------- leads with hostile data

HOSTILE = [
    ("email", "first_name", "company", "title", "timezone", "employees"),
    ("a@x.example.com", "=HYPERLINK(\"http://evil\")", "+Plus Co", "-minus", "Europe/Paris", "10"),
    ("b@x.example.com", "@at", "Tab\tCo", "\tVP", "", "20"),
    ("c@x.example.com", "Zoë 😀", "Line\r\nBreak Inc", "<script>alert(1)</script>", "Asia/Tokyo", "30"),
    ("d@x.example.com", "Dana", "Quote \"Co\", Ltd", "{{ unsubscribe }} & <b>", "America/Los_Angeles", "40"),
    ("e@x.example.com", "Eve", "Carriage", "\rCR first", "", "50"),
]


_CELL = st.text(alphabet=st.sampled_from(['a', 'é', ',', '"', '\n', '\r', '\t', '=', '+', '-', '@', ' ']), max_size=6)


@given(rows=st.lists(st.tuples(st.sampled_from(["s1", "s2"]), st.lists(_CELL, min_size=3, max_size=3)), max_size=8),
       keys=st.tuples(_CELL, _CELL))
def test_leads_text_is_csv_text_of_the_rows_with_their_campaign_keys(rows, keys):
    # rows are kept as their written-out CSV line; the file must be what csv_text writes for them
    header = ["campaign", "email", "first_name", "company"]
    leads = Leads(header)
    for sequence, cells in rows:
        leads.rows.append(Lead(sequence, None, leads.line_rest(dict(zip(header[1:], cells)))))
    key_of = {("s1", None): keys[0], ("s2", None): keys[1]}
    expected = csv_text(header, [[key_of[(sequence, None)], *cells] for sequence, cells in rows])
    assert leads.text(key_of, "campaign") == expected


def write_csv(path: Path, table) -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(table)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_leads_file_is_formula_safe_quoted_utf8_and_keeps_values(tmp_path):
    prospects = write_csv(tmp_path / "p.csv", HOSTILE)
    code, _, err = seqc("compile", str(EMAIL_ONLY), "--target", "instantly", "-o", str(tmp_path / "out"),
                        "--prospects", str(prospects))
    assert code == 0, err
    text = (tmp_path / "out" / "instantly" / "leads.csv").read_bytes().decode("utf-8")  # valid UTF-8
    assert "\r\n" not in text.replace("Line\r\nBreak", "")  # our line ends are \n; the value keeps its own
    table = list(csv.reader(io.StringIO(text)))
    header, body = table[0], table[1:]
    assert len(body) == 5 and all(len(r) == len(header) for r in body)
    for row in table:
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES), cell  # every dangerous start is neutralised
    by_email = {r[header.index("email")]: dict(zip(header, r)) for r in body}
    assert by_email["a@x.example.com"]["first_name"] == "'=HYPERLINK(\"http://evil\")"
    assert by_email["a@x.example.com"]["company_name"] == "'+Plus Co"
    assert by_email["b@x.example.com"]["first_name"] == "'@at"
    assert by_email["c@x.example.com"]["company_name"] == "Line\r\nBreak Inc"  # quoted, not split into rows
    assert by_email["c@x.example.com"]["first_name"] == "Zoë 😀"
    assert by_email["d@x.example.com"]["company_name"] == 'Quote "Co", Ltd'
    # The pre-rendered fragment is HTML: markup and braces from the data cannot become tags or markup.
    fragment = by_email["d@x.example.com"]["opener_body"]
    assert "&lt;b&gt;" in fragment and "&#123;&#123;" in fragment and "<b>" not in fragment
    assert "<script>" not in by_email["c@x.example.com"]["opener_body"]
    assert err.strip().splitlines()[-1].startswith("prospects: 5 read, 5 valid, 5 routed, 5 rendered")


def test_safe_cell_follows_owasp():
    for prefix in FORMULA_PREFIXES:
        assert safe_cell(prefix + "x") == "'" + prefix + "x"
    assert safe_cell("plain") == "plain" and safe_cell("") == ""


def test_bad_unrouted_and_unmappable_records_are_reported_and_left_out(tmp_path):
    table = [
        ("email", "first_name", "company", "title", "timezone", "employees"),
        ("ok@x.example.com", "Ok", "Fine", "", "Europe/Berlin", "5"),
        ("not-an-email", "Bad", "Co", "", "", "5"),
        ("lh@x.example.com", "Lord", "Howe", "", "Australia/Lord_Howe", "5"),
        ("nofirst@x.example.com", "", "Co", "", "", "five"),
    ]
    prospects = write_csv(tmp_path / "p.csv", table)
    code, _, err = seqc("compile", str(EMAIL_ONLY), "--target", "instantly", "-o", str(tmp_path / "out"),
                        "--prospects", str(prospects))
    assert code == 0
    lines = err.strip().splitlines()
    assert "row 2: email: not an email address: `not-an-email`" in lines
    assert any(line.startswith("row 3: timezone: instantly has no time zone") for line in lines)
    assert "row 4: first_name: missing required field" in lines
    assert any(line.startswith("row 4: employees:") for line in lines)
    assert lines[-1] == "prospects: 4 read, 2 valid, 2 routed, 1 rendered, 2 rejected, 0 unrouted"
    assert [r["email"] for r in rows(tmp_path / "out" / "instantly" / "leads.csv")] == ["ok@x.example.com"]
    strict, _, _ = seqc("compile", str(EMAIL_ONLY), "--target", "instantly", "-o", str(tmp_path / "strict"),
                        "--prospects", str(prospects), "--strict")
    assert strict == 1 and not (tmp_path / "strict").exists()


def test_branch_fields_are_rendered_per_prospect():
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        code, _, err = seqc("compile", str(BRANCHES), "--target", "instantly", "-o", out,
                            "--prospects", str(BRANCHES / "prospects.csv"))
        assert code == 0, err
        leads = {r["email"]: r for r in rows(Path(out) / "instantly" / "leads.csv")}
    assert leads["ana@north.example.com"]["opener_body"].startswith("Congrats on the Series B.")
    assert leads["cara@big.example.com"]["opener_body"].startswith("At Big Corp's size")
    assert leads["ben@west.example.com"]["follow_subject"] == "A quick follow-up"


# ---------------------------------------------------------------- stdout, -o and exit codes


def test_one_payload_goes_to_stdout_and_more_need_dash_o(tmp_path):
    code, out, _ = seqc("compile", str(CASES / "targets" / "delays"), "--target", "instantly")
    assert code == 0 and json.loads(out)["sequences"][0]["steps"][0]["type"] == "email"
    code, out, err = seqc("compile", str(EMAIL_ONLY), "--target", "instantly",
                          "--prospects", str(EMAIL_ONLY / "prospects.csv"))
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]  # warnings and prospect lines come first; the error is one line
    assert last.startswith("seqc: error: --target instantly writes 4 files") and last.endswith("give -o DIR")


def test_seq601_exits_1_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    (out / "instantly").mkdir(parents=True)
    (out / "instantly" / "keep.json").write_text("{}")
    code, stdout, err = seqc("compile", str(CASES / "targets" / "channels"), "--target", "instantly", "-o", str(out))
    assert code == 1 and stdout == ""
    assert "SEQ601 instantly cannot express the call `ring`" in err
    assert (out / "instantly" / "keep.json").read_text() == "{}"  # the previous output is untouched


def test_unknown_target_is_a_usage_error_with_a_suggestion():
    code, _, err = seqc("compile", str(EMAIL_ONLY), "--target", "instantlyy")
    assert code == 2 and "did you mean `instantly`?" in err


def test_ir_takes_no_prospects():
    code, _, err = seqc("compile", str(EMAIL_ONLY), "--target", "ir", "--prospects", str(EMAIL_ONLY / "prospects.csv"))
    assert code == 2 and "writes no leads file" in err


@pytest.mark.parametrize("target", ["csv", "instantly"])
def test_two_runs_write_byte_identical_files(tmp_path, target):
    for name in ("one", "two"):
        code, _, err = seqc("compile", str(EMAIL_ONLY), "--target", target, "-o", str(tmp_path / name),
                            "--prospects", str(EMAIL_ONLY / "prospects.csv"))
        assert code == 0, err
    one = {p.name: p.read_bytes() for p in (tmp_path / "one" / target).iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two" / target).iterdir()}
    assert one == two and len(one) >= 2


# ---------------------------------------------------------------- seqc targets


def test_targets_table_lists_every_registered_target():
    text = capability_table()
    for name in REGISTRY:
        assert f"\n{name} " in text
    result = CliRunner().invoke(targets_command, ["instantly"])
    assert result.exit_code == 0
    assert "zones_to_campaigns" in result.output and "{{firstName}}" in result.output
    bad = CliRunner().invoke(targets_command, ["nope"])
    assert bad.exit_code != 0

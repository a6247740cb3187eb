"""`seqc check --launch` (the 10-point checklist) and `seqc check --prospects` (data-aware rules).

The CLI runs in-process through the console entry point, as in tests/test_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import api
from compiler.cli import run
from compiler.launch import FAILED, PASSED, UNCHECKABLE, checklist, render

EXAMPLE = "examples/outbound"
EXAMPLE_CSV = "examples/outbound/prospects.csv"


def seqc(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            run(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    assert "Traceback" not in stdout + stderr
    return code, stdout, stderr


def _statuses(paths: list[str], **kw) -> dict[str, str]:
    report = checklist(api.check_paths(paths, **kw))
    (project,) = report.projects
    return {item.title: item.status for item in project.items}


# ---------------------------------------------------------------- the example


def test_launch_on_the_example_without_prospects(text_snapshot):
    code, out, _ = seqc("check", EXAMPLE, "--launch")
    assert code == 0  # list hygiene is not checkable offline without the file; nothing fails
    assert out == text_snapshot


def test_launch_on_the_example_with_prospects(text_snapshot):
    code, out, err = seqc("check", EXAMPLE, "--launch", "--prospects", EXAMPLE_CSV)
    assert code == 1  # the example's list has risky and unknown rows on purpose (examples/README.md)
    assert err.splitlines()[-1] == "prospects: 65 read, 65 valid, 65 routed, 0 rendered, 0 rejected, 0 unrouted"
    assert out == text_snapshot


def test_launch_ignores_select(tmp_path: Path):
    # --select must not switch the gate off: SEQ412 still fails list hygiene.
    statuses = _statuses([EXAMPLE], select=("SEQ2",), prospects_file=EXAMPLE_CSV)
    assert statuses["List hygiene"] == FAILED
    assert statuses["Authentication"] == PASSED


CAMPAIGN_WITHOUT_CRM = (
    'prospect {\n  email: email required\n  first_name: text required\n}\n'
    'sequence s {\n  timezone prospect else "UTC"\n'
    '  day 0 email opener { subject "Hi" body "Hi {{ first_name }}\\n{{ unsubscribe_url }}" }\n}\n'
    "COMMENT" "campaign c {\n"
    '  sender { from "a@b.example.com" reply_to "a@b.example.com" auth spf dkim dmarc }\n}\n'
)


@pytest.mark.parametrize(("comment", "status"), [
    ("", FAILED),
    ("# CRM logging happens in the sending tool's own HubSpot sync\n# seqc: ignore SEQ409\n", PASSED),
], ids=["reported", "suppressed"])
def test_launch_honours_suppression_comments(tmp_path: Path, comment: str, status: str):
    (tmp_path / "a.seq").write_text(CAMPAIGN_WITHOUT_CRM.replace("COMMENT", comment), encoding="utf-8")
    assert _statuses([str(tmp_path)])["CRM logging"] == status


def test_launch_items_fail_and_name_locations(tmp_path: Path):
    (tmp_path / "a.seq").write_text(
        "prospect {\n  email: email required\n  first_name: text required\n  timezone: timezone\n}\n"
        'sequence s {\n  timezone "Europe/Berlin"\n'
        '  day 0 email opener { purpose opener subject "Hi" body "Hi {{ first_name }}" }\n}\n'
        "campaign c {\n  start 2027-01-05\n  enroll 500 per day\n"
        '  sender { from "a@b.example.com" mailboxes 1 warmup since 2027-01-05 auth spf }\n}\n',
        encoding="utf-8")
    report = checklist(api.check_paths([str(tmp_path)]))
    items = {i.title: i for i in report.projects[0].items}
    assert report.failed
    expected = {
        "List hygiene": UNCHECKABLE, "Domain warm-up": FAILED, "Authentication": FAILED,
        "Personalization fields": PASSED, "A/B test setup": FAILED, "Reply routing": FAILED,
        "Unsubscribe handling": FAILED, "Time zone alignment": FAILED, "Compliance": FAILED, "CRM logging": FAILED,
    }
    assert {t: i.status for t, i in items.items()} == expected
    assert any("a.seq:8:" in f and "SEQ401" in f for f in items["Unsubscribe handling"].findings)
    assert any("SEQ410" in f for f in items["Time zone alignment"].findings)
    assert any("has no `variant` blocks" in f for f in items["A/B test setup"].findings)
    text = render(report)
    assert "4. Personalization fields" in text and "1 passed, 8 failed, 1 not checkable" in text


def test_launch_with_syntax_errors_fails_every_item(tmp_path: Path):
    (tmp_path / "a.seq").write_text("sequence a { day 0 sms x { } }\n", encoding="utf-8")
    code, out, _ = seqc("check", str(tmp_path), "--launch")
    assert code == 1
    assert "0 passed, 10 failed, 0 not checkable" in out


def test_launch_goes_to_stderr_with_machine_formats():
    code, out, err = seqc("check", EXAMPLE, "--launch", "--format", "json")
    assert code == 0
    assert out.lstrip().startswith("{") and "Pre-launch checklist" in err


# ---------------------------------------------------------------- --prospects


def test_bad_records_go_to_stderr_with_the_counts():
    code, out, err = seqc("check", EXAMPLE, "--prospects", "tests/data/hostile.csv", "--select", "SEQ412")
    assert code == 0
    lines = err.splitlines()
    assert lines[-1].startswith("prospects: 4 read, 2 valid")
    assert all(line.startswith("row ") for line in lines[:-1]) and len(lines) == 3, lines


def test_strict_makes_bad_records_fatal():
    code, _, _ = seqc("check", EXAMPLE, "--prospects", "tests/data/hostile.csv", "--strict", "--select", "SEQ9")
    assert code == 1


@pytest.mark.parametrize("args", [
    ("--prospects", "tests/data/no_such_file.csv"),
    ("--prospects", "tests/data/latin1.csv"),
])
def test_unreadable_prospect_files_are_usage_errors(args):
    code, _, err = seqc("check", EXAMPLE, *args)
    assert code == 2 and err.startswith("seqc: error:")


def test_data_rules_use_the_file():
    result = api.check_paths([EXAMPLE], prospects_file=EXAMPLE_CSV)
    codes = {d.code for d in result.diagnostics if d.severity.value != "info"}
    assert codes == {"SEQ412"}, [d.message for d in result.diagnostics]
    (d,) = [d for d in result.diagnostics if d.code == "SEQ412"]
    assert d.span is None and d.message.startswith(f"{EXAMPLE_CSV}: 12 of 65 prospects are not marked verified")

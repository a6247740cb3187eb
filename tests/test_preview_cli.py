"""`seqc preview` on the command line: exit codes, stderr lines and counts, outputs, --limit/--sample/--strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_preview_helpers import EXAMPLE, EXAMPLE_PROSPECTS, HOSTILE, MINI, MINI_PROSPECTS, seqc


def test_counts_are_the_last_stderr_line_and_unrouted_are_listed():
    r = seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "jsonl")
    assert r.code == 0
    assert r.err_lines == [
        "unrouted: row 3 (cleo@nowhere.example)",
        "prospects: 5 read, 5 valid, 4 routed, 4 rendered, 0 rejected, 1 unrouted",
    ]
    assert "cleo@" not in r.out


def test_bad_records_are_reported_and_the_rest_still_run():
    r = seqc("preview", EXAMPLE, "--prospects", HOSTILE, "--format", "jsonl")
    assert r.code == 0
    assert r.err_lines == [
        "row 5: email: not an email address: `not-an-email`",
        "row 5: timezone: unknown time zone `Mars/Base` (expected an IANA name like `Europe/Berlin`)",
        "row 5: employees: expected an integer, got `1,200` (write it without thousands separators)",
        "row 6: first_name: missing required field",
        "row 6: linkedin_url: not an http(s) URL: `javascript:alert(1)`",
        "prospects: 7 read, 5 valid, 5 routed, 5 rendered, 2 rejected, 0 unrouted",
    ]
    assert {json.loads(line)["row"] for line in r.out.splitlines()} == {1, 2, 3, 4, 7}


def test_strict_makes_a_bad_record_fatal_and_writes_nothing(tmp_path: Path):
    out = tmp_path / "site"
    r = seqc("preview", EXAMPLE, "--prospects", HOSTILE, "--format", "html", "-o", str(out), "--strict")
    assert r.code == 1
    assert r.err_lines[-1] == "prospects: 7 read, 5 valid, 0 routed, 0 rendered, 2 rejected, 0 unrouted"
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("args", "message"), [
    (["--prospects", "nope.csv"], "seqc: error: nope.csv: no such file"),
    (["--prospects", "tests/data/latin1.csv"], "seqc: error: tests/data/latin1.csv: not UTF-8 text"),
    (["--prospects", EXAMPLE_PROSPECTS, "--format", "eml"], "seqc: error: --format eml writes a folder of files"),
    (["--prospects", EXAMPLE_PROSPECTS, "--limit", "2", "--sample", "2"], "seqc: error: give --limit or --sample"),
    (["--prospects", EXAMPLE_PROSPECTS, "--events", "nope.csv"], "seqc: error: nope.csv: no such file"),
    (["--prospects", EXAMPLE_PROSPECTS, "--start", "tomorrow"], "seqc: error: --start 'tomorrow' is not a date"),
])
def test_usage_and_file_problems_exit_2_with_one_line(args, message):
    r = seqc("preview", EXAMPLE, *args)
    assert r.code == 2
    assert len(r.err_lines) == 1 and r.err_lines[0].startswith(message), r.err
    assert r.out == ""


def test_a_project_with_errors_exits_1(tmp_path: Path):
    (tmp_path / "a.seq").write_text('prospect { email: email required }\n'
                                    'sequence a { day 0 email x if opened(nope) { subject "s" body "b" } }\n')
    (tmp_path / "p.csv").write_text("email\na@b.example\n")
    r = seqc("preview", str(tmp_path), "--prospects", str(tmp_path / "p.csv"))
    assert r.code == 1 and "SEQ101" in r.err


def test_output_folder_files(tmp_path: Path):
    for fmt, name in (("jsonl", "preview.jsonl"), ("text", "preview.txt"), ("mbox", "preview.mbox")):
        r = seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", fmt, "-o", str(tmp_path))
        assert r.code == 0 and r.out == ""
        assert r.err_lines[-2] == f"wrote {tmp_path / name}"
        assert (tmp_path / name).stat().st_size > 0
    jsonl = (tmp_path / "preview.jsonl").read_bytes()
    assert jsonl == seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "jsonl").raw
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.jsonl", "preview.mbox", "preview.txt"]


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path):
    (tmp_path / "keep.txt").write_text("mine")
    r = seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "html", "-o", str(tmp_path))
    assert r.code == 2 and "holds files seqc preview did not write" in r.err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_a_previous_preview_is_replaced_whole(tmp_path: Path):
    out = tmp_path / "eml"
    assert seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "eml", "-o", str(out)).code == 0
    before = len(list(out.iterdir()))
    assert seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "eml", "-o", str(out)).code == 0
    assert len(list(out.iterdir())) == 5 < before  # 4 prospect folders and the marker; nothing left over
    assert [p.name for p in tmp_path.iterdir()] == ["eml"]  # no staging folders left behind


def test_limit_takes_the_first_valid_prospects():
    r = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "jsonl", "--limit", "3")
    assert {json.loads(line)["row"] for line in r.out.splitlines()} == {1, 2, 3}
    assert r.err_lines[-1] == "prospects: 3 read, 3 valid, 3 routed, 3 rendered, 0 rejected, 0 unrouted"


def test_sample_is_deterministic_and_in_file_order():
    def rows(*extra):
        r = seqc("preview", EXAMPLE, "--prospects", EXAMPLE_PROSPECTS, "--format", "jsonl", *extra)
        assert r.code == 0
        return [json.loads(line)["row"] for line in r.out.splitlines()]

    first, again = rows("--sample", "7"), rows("--sample", "7", "--jobs", "2")
    assert first == again
    assert len(set(first)) == 7 and first == sorted(first)
    assert set(rows("--sample", "3")) <= set(first)  # a smaller sample is part of a larger one
    assert len(set(rows("--sample", "1000"))) == 65


def test_enrollment_follows_the_campaign_rate(tmp_path: Path):
    many = tmp_path / "many.csv"
    lines = ["email,first_name,company,employees"] + [f"p{i}@x.example,P{i},X Co,10" for i in range(130)]
    many.write_text("\n".join(lines) + "\n")
    r = seqc("preview", EXAMPLE, "--prospects", str(many), "--format", "jsonl")
    openers = [json.loads(line) for line in r.out.splitlines() if '"step": "opener"' in line]
    days = [o["send_at_local"][:10] for o in openers]
    assert days[:60] == ["2027-01-05"] * 60  # enroll 60 per day, from the campaign's start
    assert days[60] == "2027-01-06" and days[120] == "2027-01-07"


def test_start_option_moves_enrollment():
    r = seqc("preview", MINI, "--prospects", MINI_PROSPECTS, "--format", "jsonl", "--start", "2027-06-01")
    assert json.loads(r.out.splitlines()[0])["send_at_local"].startswith("2027-06-01")

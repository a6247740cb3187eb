"""The `seqc` command line: exit codes (SPEC §6), output formats (§6.1), `rules`, `--version`.

Most tests run the real console entry point (`compiler.cli.run`, which owns the exit-code and
no-traceback wrapper) in-process under click's CliRunner isolation; a few run the installed
`seqc` script as a subprocess to cover the process boundary itself.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT

from compiler.cli import main, run

SEQC = Path(sys.executable).with_name("seqc")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


def seqc(*args: str) -> Result:
    """Run `seqc ARGS` in-process through the console entry point."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            run(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    result = Result(code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"))
    assert "Traceback" not in result.all, result.all
    return result


def write_project(folder: Path, text: str, name: str = "a.seq") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


# The tests below are about the command line, not the rules: they look at the syntax,
# architecture and personalization families only, so new cadence or deliverability rules
# do not change what these tiny projects report.
SCOPE = ("--select", "SEQ0,SEQ1,SEQ3")

PROSPECT = 'prospect {\n  email: email required\n  linkedin_url: url required\n}\n'
CLEAN = PROSPECT + 'sequence a {\n  day 0 email x { subject "s" body "b" }\n}\n'
WARNING_ONLY = PROSPECT + (
    'sequence a {\n'
    '  day 0 email x { subject "s" body "b" }\n'
    '  day 1 linkedin invite { action connect }\n'
    '  day 5 linkedin dm { action message body "Thanks" }\n'  # SEQ107 (warning), line 8
    '}\n'
)
WITH_ERROR = PROSPECT + (
    'sequence a {\n'
    '  day 0 email x if opened(nope) { subject "s" body "b" }\n'  # SEQ101, line 6
    '}\n'
)
SYNTAX_ERROR = 'sequence a {\n  day 0 sms x { body "b" }\n}\n'


# ---------------------------------------------------------------- exit codes


def test_clean_project_exits_0(tmp_path: Path):
    r = seqc("check", *SCOPE, str(write_project(tmp_path, CLEAN)))
    assert (r.code, r.err) == (0, "")
    assert r.out == "0 errors, 0 warnings, 0 infos in 1 file\n"


OUTBOUND_FILES = len([p for p in EXAMPLES if p.parent == Path("examples/outbound")])


@pytest.mark.parametrize(("path", "files"), [
    ("examples/outbound", OUTBOUND_FILES),
    ("examples/outbound/", OUTBOUND_FILES),
    ("examples/outbound/smb.seq", OUTBOUND_FILES),  # a file stands for its folder's project
    ("examples", len(EXAMPLES)),
])
def test_examples_check_exits_0(path: str, files: int):
    r = seqc("check", path)
    assert r.code == 0, r.all
    assert r.out.endswith(f" in {files} files\n") and r.out.splitlines()[-1].startswith("0 errors,")


def test_warnings_alone_exit_0(tmp_path: Path):
    r = seqc("check", *SCOPE, str(write_project(tmp_path, WARNING_ONLY)))
    assert r.code == 0
    assert "SEQ107" in r.out and "0 errors, 1 warning, 0 infos in 1 file" in r.out


def test_strict_makes_warnings_fail(tmp_path: Path):
    assert seqc("check", *SCOPE, "--strict", str(write_project(tmp_path, WARNING_ONLY))).code == 1


def test_errors_exit_1(tmp_path: Path):
    r = seqc("check", *SCOPE, str(write_project(tmp_path, WITH_ERROR)))
    assert r.code == 1
    assert f"{tmp_path}/a.seq:6:27: SEQ101 " in r.out
    assert r.err == ""


def test_syntax_error_exits_1_with_caret_snippet(tmp_path: Path):
    r = seqc("check", str(write_project(tmp_path, SYNTAX_ERROR)))
    assert r.code == 1
    assert r.out.splitlines()[:4] == [
        f"{tmp_path}/a.seq:2:9: SEQ001 unexpected name `sms`; expected a channel (`email`, `linkedin`, `call`, `task`)",
        "  |",
        '2 |   day 0 sms x { body "b" }',
        "  |         ^^^",
    ]


def test_ignore_and_select_on_the_command_line(tmp_path: Path):
    path = str(write_project(tmp_path, WARNING_ONLY))
    assert "SEQ107" in seqc("check", path).out
    assert "SEQ107" not in seqc("check", "--ignore", "SEQ107", path).out
    assert "SEQ107" not in seqc("check", "--select", "SEQ2,SEQ3", path).out
    assert "SEQ107" in seqc("check", "--select", "seq1", path).out
    assert seqc("check", "--strict", "--select", "SEQ1", "--ignore", "SEQ107", path).code == 0
    assert seqc("check", "--strict", "--select", "SEQ1", path).code == 1


def one_line_error(r: Result) -> str:
    assert r.code == 2, r.all
    assert r.out == ""
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    return lines[0]


def test_missing_path_exits_2_with_one_line():
    assert one_line_error(seqc("check", "no/such/folder")) == "seqc: error: no/such/folder: no such file or folder"


def test_missing_path_among_good_ones_exits_2():
    one_line_error(seqc("check", "examples/outbound", "nope.seq"))


def test_non_seq_file_exits_2():
    assert "not a .seq file" in one_line_error(seqc("check", "examples/outbound/prospects.csv"))


def test_folder_without_seq_files_exits_2(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    assert "no .seq files" in one_line_error(seqc("check", str(tmp_path)))


def test_unknown_target_exits_2_with_suggestion():
    line = one_line_error(seqc("compile", "examples/outbound", "--target", "irr"))
    assert "unknown target `irr`" in line and "did you mean `ir`?" in line


@pytest.mark.parametrize("codes", ["FOO", "SEQ1x", "E501", "SEQ-1"])
def test_bad_select_exits_2(codes: str):
    line = one_line_error(seqc("check", "examples/outbound", "--select", codes))
    assert "is not a rule code or prefix" in line


def test_bad_ignore_exits_2():
    one_line_error(seqc("check", "examples/outbound", "--ignore", "nope"))


@pytest.mark.parametrize("args", [
    ["check"],                                          # missing PATHS
    ["check", "examples/outbound", "--format", "xml"],  # bad choice
    ["check", "examples/outbound", "--no-such-flag"],
    ["no-such-command"],
    ["compile", "examples/outbound"],                   # missing --target
])
def test_click_usage_errors_exit_2(args: list[str]):
    r = seqc(*args)
    assert r.code == 2
    assert r.out == ""
    assert "Error:" in r.err


def test_bad_seqc_toml_exits_2(tmp_path: Path):
    write_project(tmp_path, CLEAN)
    (tmp_path / "seqc.toml").write_text("[rules]\nignore = [\"bogus\"]\n", encoding="utf-8")
    assert "seqc.toml" in one_line_error(seqc("check", str(tmp_path)))


def test_binary_and_non_utf8_sources_exit_1(tmp_path: Path):
    (tmp_path / "a.seq").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "b.seq").write_bytes(b"sequence \xff {}")
    r = seqc("check", "--format", "json", str(tmp_path))
    assert r.code == 1
    doc = json.loads(r.out)
    assert [(d["code"], Path(d["file"]).name, d["line"], d["column"]) for d in doc["diagnostics"]] == [
        ("SEQ001", "a.seq", 1, 1), ("SEQ001", "b.seq", 1, 10)]


def test_empty_file_exits_0(tmp_path: Path):
    (tmp_path / "empty.seq").write_bytes(b"")
    r = seqc("check", str(tmp_path))
    assert (r.code, r.out) == (0, "0 errors, 0 warnings, 0 infos in 1 file\n")


def test_field_without_type_does_not_crash(tmp_path: Path):
    text = "prospect {\n  email: email required\n  title: \n  company: text\n}\n"
    r = seqc("check", str(write_project(tmp_path, text)))
    assert r.code == 1, r.err


def test_nul_in_template_path_does_not_crash(tmp_path: Path):
    text = 'sequence a {\n  day 0 email x { subject "s" body file "a\\u0000b" }\n}\n'
    r = seqc("check", str(write_project(tmp_path, text)))
    assert r.code == 1, r.err


# ---------------------------------------------------------------- --format json (SPEC §6.1)


DIAG_KEYS = ["code", "severity", "message", "file", "line", "column", "end_line", "end_column"]


def test_json_format_structure(tmp_path: Path):
    write_project(tmp_path / "proj", WITH_ERROR)
    write_project(tmp_path / "proj", 'sequence b {\n'
                                     '  day 0 email y { subject "s" body "b" }\n'
                                     '  day 1 linkedin invite { action connect }\n'
                                     '  day 5 linkedin dm { action message body "Thanks" }\n'  # SEQ107, line 4
                                     '}\n', name="b.seq")
    r = seqc("check", *SCOPE, "--format", "json", str(tmp_path / "proj") + "/")
    assert r.code == 1 and r.err == ""
    doc = json.loads(r.out)
    assert list(doc) == ["diagnostics", "summary"]
    assert doc["summary"] == {"files": 2, "errors": 1, "warnings": 1, "infos": 0}
    assert list(doc["summary"]) == ["files", "errors", "warnings", "infos"]
    first, second = doc["diagnostics"]
    for d in doc["diagnostics"]:
        assert list(d)[:8] == DIAG_KEYS and set(d) <= set(DIAG_KEYS) | {"help"}
        assert d["severity"] in ("error", "warning", "info")
        assert isinstance(d["line"], int) and d["line"] >= 1 and d["column"] >= 1
    assert (first["code"], first["severity"], first["file"], first["line"], first["column"]) == (
        "SEQ101", "error", f"{tmp_path}/proj/a.seq", 6, 27)
    assert (first["end_line"], first["end_column"]) == (6, 31)
    assert (second["code"], second["severity"], second["file"], second["line"], second["column"]) == (
        "SEQ107", "warning", f"{tmp_path}/proj/b.seq", 4, 18)
    assert r.out.endswith("}\n") and r.out.startswith('{\n  "diagnostics": [')


def test_json_file_is_the_path_as_given():
    doc = json.loads(seqc("check", "--format", "json", "--select", "SEQ0", "./examples/outbound").out)
    assert doc == {"diagnostics": [], "summary": {"files": OUTBOUND_FILES, "errors": 0, "warnings": 0, "infos": 0}}


def test_json_paths_are_relative_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_project(tmp_path / "camp", WITH_ERROR)
    monkeypatch.chdir(tmp_path)
    doc = json.loads(seqc("check", *SCOPE, "--format", "json", "camp").out)
    assert [d["file"] for d in doc["diagnostics"]] == ["camp/a.seq"]
    doc = json.loads(seqc("check", *SCOPE, "--format", "json", "camp/a.seq").out)
    assert [d["file"] for d in doc["diagnostics"]] == ["camp/a.seq"]
    doc = json.loads(seqc("check", *SCOPE, "--format", "json", ".").out)
    assert [d["file"] for d in doc["diagnostics"]] == ["camp/a.seq"]


def test_json_is_printed_even_for_syntax_errors(tmp_path: Path):
    r = seqc("check", "--format", "json", str(write_project(tmp_path, SYNTAX_ERROR)))
    (d,) = json.loads(r.out)["diagnostics"]
    assert (d["code"], d["line"], d["column"], d["end_line"], d["end_column"]) == ("SEQ001", 2, 9, 2, 12)
    assert d["help"].startswith("channels are")


# ---------------------------------------------------------------- github and sarif


def test_github_format(tmp_path: Path):
    r = seqc("check", *SCOPE, "--format", "github", str(write_project(tmp_path, WITH_ERROR + "\n" + 'sequence b {\n'
                                                                 '  day 0 email y { subject "s" body "b" }\n'
                                                                 '  day 1 linkedin i { action connect }\n'
                                                                 '  day 2 linkedin m { action message body "x" }\n'
                                                                 '}\n')))
    assert r.code == 1
    lines = r.out.splitlines()
    assert len(lines) == 2
    pattern = re.compile(r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),.*::(SEQ\d{3}) ")
    parsed = [pattern.match(line).groups() for line in lines]
    assert parsed == [("error", f"{tmp_path}/a.seq", "6", "27", "SEQ101"),
                      ("warning", f"{tmp_path}/a.seq", "12", "18", "SEQ107")]


def test_github_format_is_empty_without_findings(tmp_path: Path):
    r = seqc("check", *SCOPE, "--format", "github", str(write_project(tmp_path, CLEAN)))
    assert (r.code, r.out) == (0, "")


def test_sarif_format(tmp_path: Path):
    r = seqc("check", *SCOPE, "--format", "sarif", str(write_project(tmp_path, WITH_ERROR)))
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["version"] == "2.1.0" and "sarif" in doc["$schema"]
    (run_,) = doc["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "seqc"
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(ids) and {"SEQ001", "SEQ101", "SEQ107"} <= set(ids)
    (result,) = run_["results"]
    assert result["ruleId"] == "SEQ101" and result["level"] == "error"
    assert driver["rules"][result["ruleIndex"]]["id"] == "SEQ101"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (6, 27)


def test_sarif_without_findings(tmp_path: Path):
    doc = json.loads(seqc("check", *SCOPE, "--format", "sarif", str(write_project(tmp_path, CLEAN))).out)
    assert doc["runs"][0]["results"] == []


# ---------------------------------------------------------------- --version and rules


def test_version():
    r = seqc("--version")
    assert (r.code, r.out) == (0, f"seqc {metadata.version('seqc')}\n")
    assert seqc("-V").out == r.out


def test_rules_lists_every_code():
    from compiler.rules import ALL_RULES

    r = seqc("rules")
    assert r.code == 0
    lines = r.out.splitlines()
    assert [line.split()[0] for line in lines] == [rule.code for rule in ALL_RULES]
    for code in ("SEQ001", "SEQ101", "SEQ102", "SEQ103", "SEQ104", "SEQ105", "SEQ106", "SEQ107", "SEQ108",
                 "SEQ109", "SEQ301", "SEQ302", "SEQ304", "SEQ305", "SEQ601"):
        assert re.search(rf"^{code}  [EWI]  ", r.out, re.MULTILINE), code


@pytest.mark.parametrize("code", ["SEQ107", "seq107"])
def test_rules_prints_one_doc(code: str):
    r = seqc("rules", code)
    assert r.code == 0
    assert r.out.startswith("SEQ107 (warning, architecture.message-needs-accept)\n\n")
    assert "Why:" in r.out and "Bad:" in r.out and "Good:" in r.out
    assert "accepted(invite)" in r.out


def test_every_rule_doc_has_why_bad_and_good():
    from compiler.rules import ALL_RULES

    for rule in ALL_RULES:
        doc = seqc("rules", rule.code).out
        assert all(part in doc for part in ("Why:", "Bad:", "Good:")), rule.code


def test_unknown_rule_exits_2_with_suggestion():
    line = one_line_error(seqc("rules", "SEQ999"))
    assert "no rule SEQ999" in line and "did you mean" in line


def test_help_lists_the_commands():
    r = seqc("--help")
    assert r.code == 0
    for command in ("check", "compile", "rules"):
        assert re.search(rf"^\s+{command}\b", r.out, re.MULTILINE), command


def test_main_group_is_click_testable(tmp_path: Path):
    """The click group itself works under CliRunner.invoke (as other test modules use it)."""
    result = CliRunner().invoke(main, ["check", *SCOPE, str(write_project(tmp_path, WITH_ERROR))])
    assert result.exit_code == 1 and "SEQ101" in result.output


# ---------------------------------------------------------------- no traceback, ever


NASTY = [
    b"",
    b"\x00" * 10,
    b"\xff\xfe\x00s\x00e\x00q",
    "sequence a { day 0 email x { subject \"\u202e\x1b[31m\" body \"b\" } }".encode(),
    b"sequence a {" * 200,
    b"(" * 5000,
    b"sequence a { day 0 email x if " + b"not " * 3000 + b"replied { subject \"s\" body \"b\" } }",
    b"sequence a { day 0 email x if " + b"(" * 3000 + b"replied" + b")" * 3000 + b" { subject \"s\" body \"b\" } }",
    b"sequence a { day 99999999999999999999 email x { subject \"s\" body \"b\" } }",
    b"campaign c { enroll 0 per day sender { mailboxes -1 daily_limit 1.5 } start 0000-01-01 }",
    b"sequence a { window email sun-mon 23:59-00:00 }",
    b'sequence a { day 0 email x { subject "{{" body "{% for %}" } }',
    b'sequence a { day 0 email x { subject "s" body file "" } }',
]


@pytest.mark.parametrize("data", NASTY, ids=lambda d: repr(d[:24]) if isinstance(d, bytes) else None)
@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_no_traceback_for_nasty_input(tmp_path: Path, data: bytes, fmt: str):
    (tmp_path / "a.seq").write_bytes(data)
    r = seqc("check", "--format", fmt, str(tmp_path))
    assert r.code in (0, 1), r.all
    assert "internal error" not in r.all
    if fmt == "json":
        json.loads(r.out)


@pytest.mark.parametrize("args", [
    ["check", "examples"],
    ["check", "--format", "sarif", "examples/outbound"],
    ["compile", "examples/outbound", "--target", "ir"],
    ["rules"],
    ["rules", "SEQ305"],
    ["check", "tests/cases/syntax"],
    ["check", "tests/cases/semantic"],
    ["check", "tests/cases"],
])
def test_no_traceback_for_repo_inputs(args: list[str]):
    r = seqc(*args)
    assert r.code in (0, 1)
    assert "internal error" not in r.all


# ---------------------------------------------------------------- the installed script


def _script(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(SEQC), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, **kwargs)


@pytest.mark.skipif(not SEQC.exists(), reason="the seqc script is not installed next to this Python")
def test_script_version_and_exit_codes(tmp_path: Path):
    v = _script("--version")
    assert (v.returncode, v.stdout) == (0, f"seqc {metadata.version('seqc')}\n")
    missing = _script("check", "no/such/path")
    assert missing.returncode == 2
    assert missing.stderr == "seqc: error: no/such/path: no such file or folder\n"
    bad = _script("check", str(write_project(tmp_path, SYNTAX_ERROR)))
    assert bad.returncode == 1 and "SEQ001" in bad.stdout
    for proc in (v, missing, bad):
        assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.skipif(not SEQC.exists(), reason="the seqc script is not installed next to this Python")
@pytest.mark.parametrize("command", [
    "compile examples/outbound --target ir",
    "preview examples/outbound --prospects {many} --format jsonl",
    "preview examples/outbound --prospects {many} --format jsonl --jobs 2",
])
def test_script_survives_a_closed_pipe(command: str, tmp_path: Path):
    # `seqc … | head`: the reader leaving is not an error (exit 0, nothing on stderr)
    head, *rows = (ROOT / "examples/outbound/prospects.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    many = tmp_path / "many.csv"  # ~12 MB of previews: far more than a pipe holds
    many.write_text(head + "".join(rows) * 30, encoding="utf-8")
    command = command.format(many=many)
    proc = subprocess.run(["bash", "-c", f"'{SEQC}' {command} | head -c 20 >/dev/null; echo ${{PIPESTATUS[0]}}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (proc.stdout, proc.stderr) == ("0\n", "")


PIPED = [  # (how the prospect file arrives, the command line around it)
    ("stdin as -", "cat examples/outbound/prospects.csv | '{seqc}' preview examples/outbound --prospects - {rest}"),
    ("/dev/stdin", "cat examples/outbound/prospects.csv | '{seqc}' preview examples/outbound --prospects /dev/stdin {rest}"),
    ("process substitution", "'{seqc}' preview examples/outbound --prospects <(cat examples/outbound/prospects.csv) {rest}"),
]


@pytest.mark.skipif(not SEQC.exists(), reason="the seqc script is not installed next to this Python")
@pytest.mark.parametrize("rest", ["--format jsonl", "--format jsonl --jobs 2", "--format jsonl --strict"])
@pytest.mark.parametrize(("how", "command"), PIPED, ids=[p[0] for p in PIPED])
def test_a_piped_prospect_file_previews_as_the_file_does(how: str, command: str, rest: str):
    # a pipe can be read once; the file is read several times (check, header, records, slices)
    file = _script("preview", "examples/outbound", "--prospects", "examples/outbound/prospects.csv", *rest.split())
    piped = subprocess.run(["bash", "-c", command.format(seqc=SEQC, rest=rest)], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert file.returncode == 0 and file.stdout.count("\n") > 400
    assert (piped.returncode, piped.stdout, piped.stderr) == (file.returncode, file.stdout, file.stderr)


@pytest.mark.skipif(not SEQC.exists(), reason="the seqc script is not installed next to this Python")
def test_compile_takes_prospects_from_stdin(tmp_path: Path):
    with open(ROOT / "examples/outbound/prospects.csv", "rb") as f:
        piped = subprocess.run([str(SEQC), "compile", "examples/outbound", "--target", "csv", "--prospects", "-",
                                "-o", str(tmp_path / "a")], cwd=ROOT, stdin=f, capture_output=True, timeout=60)
    named = _script("compile", "examples/outbound", "--target", "csv", "--prospects",
                    "examples/outbound/prospects.csv", "-o", str(tmp_path / "b"))
    assert piped.returncode == named.returncode == 0
    assert (tmp_path / "a" / "csv" / "leads.csv").read_bytes() == (tmp_path / "b" / "csv" / "leads.csv").read_bytes()


@pytest.mark.skipif(not SEQC.exists(), reason="the seqc script is not installed next to this Python")
def test_empty_stdin_is_one_line():
    r = _script("preview", "examples/outbound", "--prospects", "-", stdin=subprocess.DEVNULL)
    assert (r.returncode, r.stderr) == (2, "seqc: error: -: empty file, expected a header row\n")

"""Hostile sources, hostile templates, hostile paths and injected faults: nothing crashes, leaks or half-writes.

* The fuzz corpus: every `tests/regressions/crash-*.seq` saved by `bench/fuzz.py` is replayed through
  the fuzzer's own oracle (check, reports, IR, plan, fmt, every target).
* Template sandbox: the Jinja SSTI payloads of the safety reference (T2, T3, T8, T9 and the classic
  `cycler`/`lipsum` routes) in inline and file templates are refused by `seqc check` with a located
  SEQ305, never run (no file created, no environment variable printed); runaway templates stop with
  an error that names the template.
* Paths: `file "…"` with `..`, absolute, drive and UNC paths, symlinks (file, folder, loop) leaving
  the project, projects named through a symlink, and outputs that must stay inside `-o`.
* Faults, through the real `seqc` script (so `compiler.cli.run` owns the exit code): missing,
  unreadable, non-UTF-8 and truncated inputs, an output folder under a file, a full disk (simulated
  with RLIMIT_FSIZE, and `/dev/full` for stdout), SIGINT and SIGKILL in the middle of `compile -o`.

Open bugs are strict xfails whose reason says what goes wrong; docs/reliability.md lists them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from compiler import api, render
from compiler.diagnostics import SeqcError
from compiler.output import write_tree

SEQC = Path(sys.executable).with_name("seqc")
REGRESSIONS = ROOT / "tests" / "regressions"
EXAMPLE = ROOT / "examples" / "outbound"


def _load_fuzz():
    spec = importlib.util.spec_from_file_location("seqc_bench_fuzz", ROOT / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fuzz = _load_fuzz()


# ---------------------------------------------------------------- helpers


def run_seqc(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300,
             preexec=None) -> subprocess.CompletedProcess:
    """The installed `seqc` script as a subprocess (the real `run()` wrapper and exit codes)."""
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([str(SEQC), *args], capture_output=True, text=True, cwd=cwd, env=full_env,
                          timeout=timeout, preexec_fn=preexec)


def assert_one_line_error(r: subprocess.CompletedProcess, code: int = 2) -> str:
    """Exit `code`, no traceback, and stderr is one `seqc: error: …` line."""
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("seqc: error: "), r.stderr
    return lines[0]


PROSPECT = ('prospect {\n  email: email required\n  first_name: text required\n  company: text required\n'
            '  title: text\n}\n')


def step_project(folder: Path, body: str, *, templates: dict[str, str] | None = None, name: str = "a.seq") -> Path:
    """A one-sequence project whose single email step has `body` (a `"…"`, `\"\"\"…\"\"\"` or `file "…"`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(
        PROSPECT + 'sequence s {\n  tier smb\n  day 0 email opener {\n    purpose opener\n    subject "Hi"\n'
        f'    body {body}\n  }}\n}}\n', encoding="utf-8")
    for rel, text in (templates or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


BODY_LINE = 12  # the `body` line of `step_project`'s a.seq


def diagnostics(folder: Path, code: str | None = None):
    result = api.check_paths([str(folder)])
    return [d for d in result.diagnostics if code is None or d.code == code]


def long_string(text: str) -> str:
    return '"""' + text + '"""'


# ---------------------------------------------------------------- the fuzz corpus

# Saved fuzz findings that are open bugs (file → what goes wrong). A fixed bug turns its
# xfail into a failure: delete the line, and the file stays as a regression case.
OPEN_CRASHES: dict[str, str] = {}


def _corpus():
    for path in sorted(REGRESSIONS.glob("crash-*.seq")):
        reason = OPEN_CRASHES.get(path.name)
        marks = [pytest.mark.xfail(strict=True, raises=fuzz.Finding, reason=reason)] if reason else []
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", list(_corpus()))
def test_saved_fuzz_case_runs_clean(path: Path):
    fuzz.exercise(fuzz.read_case(path), seconds=10)  # a case over 10 s is a hang finding


def test_every_open_crash_file_exists():
    missing = sorted(set(OPEN_CRASHES) - {p.name for p in REGRESSIONS.glob("crash-*.seq")})
    assert missing == []


def test_fuzzer_is_reproducible():
    corpus, gen = fuzz.load_corpus(), fuzz.GrammarGen()
    first = [fuzz.make_case(3, n, corpus, gen) for n in range(25)]
    assert [fuzz.make_case(3, n, corpus, gen) for n in range(25)] == first
    assert len({repr(case) for case, _ in first}) > 20


def test_fuzz_smoke_run_finds_nothing_new(tmp_path: Path):
    """A few seconds of fuzzing: only signatures already saved in tests/regressions may show up."""
    known = set(fuzz.known_signatures(seconds=3))
    corpus, gen = fuzz.load_corpus(), fuzz.GrammarGen()
    new = {}
    for number in range(40):
        data, label = fuzz.make_case(11, number, corpus, gen)
        try:
            fuzz.exercise(data, seconds=30)
        except fuzz.Finding as f:
            if f.signature not in known and not f.signature.startswith("hang@"):
                new.setdefault(f.signature, (number, label, f.detail))
    assert new == {}


# ---------------------------------------------------------------- template sandbox

MARKER = "/tmp/seqc-ssti-marker"
CANARY = "seqc-canary-6f1d0b"

# (id, template): the safety reference's payloads and the usual SSTI entry points. Each tries to
# create MARKER or print the environment; `check` must refuse each with SEQ305 at its line.
SSTI = [
    ("T2-subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    ("T2-class", "{{ ''.__class__ }}"),
    ("T3-str-format", "{{ '{0.__class__}'.format(first_name) }}"),
    ("T3-format-map", "{{ '{x.__class__}'.format_map({'x': first_name}) }}"),
    ("T3-attr-format", "{{ first_name|attr('format') }}"),
    ("T3-stored-format", "{% set f = '{0.__class__}'.format %}{{ f(first_name) }}"),
    ("T3-format-filter", "{{ '%s'|format(first_name) }}"),
    ("T3-attr-escaped", "{{ first_name|attr('\\x5f\\x5fclass\\x5f\\x5f') }}"),
    ("T3-getitem-dunder", "{{ first_name['__class__'] }}"),
    ("cycler-popen", "{{ cycler.__init__.__globals__.os.popen('touch " + MARKER + "').read() }}"),
    ("lipsum-os", "{{ lipsum.__globals__['os'].environ }}"),
    ("joiner-globals", "{{ joiner.__init__.__globals__ }}"),
    ("namespace-globals", "{{ namespace.__init__.__globals__ }}"),
    ("self-globals", "{{ self.__init__.__globals__ }}"),
    ("config", "{{ config.items() }}"),
    ("request-env", "{{ request.environ }}"),
    ("range-globals", "{{ range.__globals__['os'].environ }}"),
    ("method-globals", "{{ first_name.upper.__globals__ }}"),
    ("map-attribute", "{{ [first_name]|map(attribute='__class__')|first }}"),
    ("map-format", "{{ ['{0.__class__}']|map('format', first_name)|list }}"),
    ("for-subclasses", "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}"),
    ("macro-default", "{% macro m(x=first_name.__class__) %}{% endmacro %}"),
    ("T4-include", "{% include '/etc/passwd' %}"),
    ("T4-extends", "{% extends '../../etc/passwd' %}"),
    ("T4-import", "{% import 'x' as y %}"),
    ("T8-safe", "{{ first_name|safe }}"),
    ("T8-xmlattr", "{{ {'onclick': first_name}|xmlattr }}"),
    ("T9-do-append", "{% do first_name.append('x') %}"),
    ("printf", "{{ '%s' % first_name }}"),
]
# Payloads `check` used to let through (now refused by check too; the sandbox refuses them when rendering).
SSTI_CHECK_GAPS = {
    "dynamic-dunder": ("{{ first_name[('_' * 2) ~ 'class' ~ ('_' * 2)] }}",
                       "a subscript built at run time is not refused by check (render refuses it)"),
    "list-append": ("{{ [].append(1) }}", "mutating methods are not refused by check (the immutable sandbox "
                                           "refuses them when rendering)"),
}


def _ssti_cases():
    for name, tpl in SSTI:
        yield pytest.param(tpl, id=name)
    for name, (tpl, _) in SSTI_CHECK_GAPS.items():
        yield pytest.param(tpl, id=name)


@pytest.mark.parametrize("payload", list(_ssti_cases()))
@pytest.mark.parametrize("where", ["inline", "file"])
def test_ssti_payload_is_refused_by_check_at_its_line(tmp_path: Path, payload: str, where: str):
    if where == "inline":
        proj = step_project(tmp_path / "p", long_string(payload))
        expect_file, expect_line = "a.seq", BODY_LINE
    else:
        proj = step_project(tmp_path / "p", 'file "templates/evil.txt.j2"',
                            templates={"templates/evil.txt.j2": "Hi {{ first_name }},\n" + payload + "\n"})
        expect_file, expect_line = "templates/evil.txt.j2", 2
    found = diagnostics(proj, "SEQ305")
    assert found, f"no SEQ305 for {payload}"
    d = found[0]
    assert d.severity.value == "error"
    assert d.span.file == f"{proj}/{expect_file}" and d.span.line == expect_line, d
    assert not os.path.exists(MARKER)


@pytest.mark.parametrize("payload", [tpl for _, tpl in SSTI] + [tpl for tpl, _ in SSTI_CHECK_GAPS.values()])
def test_ssti_payload_never_runs_when_rendered(payload: str):
    with pytest.raises(render.RenderError) as info:
        render.render(payload, {"first_name": "Ann", "email": "ann@example.com"}, name="templates/evil.txt.j2")
    assert "templates/evil.txt.j2" in str(info.value)
    assert not os.path.exists(MARKER)


def test_ssti_payloads_through_the_cli_create_nothing_and_leak_nothing(tmp_path: Path):
    proj = tmp_path / "p"
    proj.mkdir()
    payloads = [tpl for _, tpl in SSTI]
    steps = "".join(f'  day {i * 3} email s{i} {{ subject "Hi" body {long_string(tpl)} }}\n'
                    for i, tpl in enumerate(payloads))
    (proj / "a.seq").write_text(PROSPECT + "sequence s {\n" + steps + "}\n", encoding="utf-8")
    env = {"SEQC_SECRET": CANARY}
    for args in (["check", str(proj)], ["check", str(proj), "--format", "json"], ["plan", str(proj)],
                 ["compile", str(proj), "--target", "ir", "-o", str(tmp_path / "out")]):
        r = run_seqc(*args, env=env)
        assert r.returncode == 1, (args, r.stderr[-500:])
        assert "Traceback" not in r.stdout + r.stderr
        assert CANARY not in r.stdout + r.stderr
    r = run_seqc("check", str(proj), "--format", "json", env=env)
    lines = {d["line"] for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "SEQ305"}
    assert lines >= set(range(8, 8 + len(payloads))), "every payload's line has its SEQ305"
    assert not os.path.exists(MARKER)
    assert not (tmp_path / "out").exists(), "nothing is written when check fails"


def test_prospect_data_is_never_template_source():
    """T1: a scraped value that looks like Jinja is printed as text, not evaluated."""
    for value in ("{{ 7*7 }}", "{% for x in range(10) %}x{% endfor %}", "{{ ''.__class__ }}"):
        out = render.render("Hi {{ first_name }}", {"first_name": value}, name="t")
        assert out == f"Hi {value}"


# Runaway templates: each stops with RenderLimitError naming the template (and fast: the budget
# is counted in loop steps and characters, not wall time).
RUNAWAY = [
    ("huge-repeat", "{{ 'A' * 10**9 }}"),
    ("huge-power", "{{ 10 ** 100000 }}"),
    ("nested-loops", "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}"),
    ("triple-loops", "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                     "{% endfor %}{% endfor %}{% endfor %}"),
    ("big-range", "{% for i in range(10**7) %}x{% endfor %}"),
    ("recursive-macro", "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}"),
    ("ljust", "{{ 'a'.ljust(2**31) }}"),
    ("replace-blowup", "{{ ('a' * 1000)|replace('a', 'a' * 1000)|replace('a', 'a' * 1000) }}"),
    ("wordwrap", "{{ ('a ' * 400000)|wordwrap(1) }}"),
    ("list-repeat-loop", "{% for x in (range(1000)|list) * 1000 %}{% endfor %}"),
]
# 'ab' doubled 25 times is 67 million characters: past the 10 million a render may build.
DOUBLING = {
    "concat-doubling": "{% set a = 'ab' %}" + "{% set a = a ~ a %}" * 25 + "{{ a|length }}",
    "plus-doubling": "{% set a = 'ab' %}" + "{% set a = a + a %}" * 25 + "{{ a|length }}",
    "join-tripling": "{% set a = 'ab' %}" + "{% set a = a.join([a, a]) %}" * 16 + "{{ a|length }}",
}


def _runaway_cases():
    for name, tpl in RUNAWAY:
        yield pytest.param(tpl, id=name)
    for name, tpl in DOUBLING.items():
        yield pytest.param(tpl, id=name)


@pytest.mark.parametrize("template", list(_runaway_cases()))
def test_runaway_template_stops_with_an_error_naming_it(template: str):
    with pytest.raises(render.RenderLimitError) as info:
        render.render(template, {"first_name": "Ann"}, name="templates/smb/opener.txt.j2")
    assert str(info.value).startswith("templates/smb/opener.txt.j2")


def test_printing_a_function_is_refused():
    with pytest.raises(render.RenderError):
        render.render("Hi {{ first_name.upper }}", {"first_name": "Ann"}, name="t")


def test_runaway_subject_is_an_error_at_check(tmp_path: Path):
    proj = tmp_path / "p"
    proj.mkdir()
    loops = "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}"
    (proj / "a.seq").write_text(PROSPECT + 'sequence s {\n  tier smb\n  day 0 email opener {\n    purpose opener\n'
                                f'    subject "{loops}"\n    body "Hi {{{{ first_name }}}} {{{{ unsubscribe_url }}}}"\n'
                                '  }\n}\n', encoding="utf-8")
    errors = [d for d in diagnostics(proj) if d.severity.value == "error"]
    assert any(d.span.line == 11 and "opener" in d.message for d in errors), errors


# ---------------------------------------------------------------- paths


SECRET = "SECRET-b6a1 {{ first_name }}"


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    """`outside/` with a secret file and folder; `proj/templates/` with links into and out of the project."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (outside / "dir" / "t.txt").write_text(SECRET, encoding="utf-8")
    templates = tmp_path / "proj" / "templates"
    templates.mkdir(parents=True)
    (templates / "ok.txt").write_text("Hi {{ first_name }} {{ unsubscribe_url }}", encoding="utf-8")
    (templates / "link.txt").symlink_to("../../outside/secret.txt")
    (templates / "dirlink").symlink_to("../../outside/dir")
    (templates / "abs.txt").symlink_to(outside / "secret.txt")
    (templates / "loop1").symlink_to("loop2")
    (templates / "loop2").symlink_to("loop1")
    (templates / "inlink.txt").symlink_to("ok.txt")
    return tmp_path


ESCAPES = [
    ("dotdot", "../outside/secret.txt"),
    ("dotdot-inside-first", "templates/../../outside/secret.txt"),
    ("absolute", "/etc/passwd"),
    ("absolute-outside", "{outside}/secret.txt"),
    ("file-symlink-out", "templates/link.txt"),
    ("absolute-symlink", "templates/abs.txt"),
    ("dir-symlink-out", "templates/dirlink/t.txt"),
    ("symlink-loop", "templates/loop1"),
    ("windows-drive", "C:\\\\outside\\\\secret.txt"),
    ("unc", "\\\\\\\\host\\\\share\\\\secret.txt"),
]


@pytest.mark.parametrize("rel", [pytest.param(r, id=i) for i, r in ESCAPES])
def test_template_path_leaving_the_project_is_refused(hostile_tree: Path, rel: str):
    rel = rel.replace("{outside}", str(hostile_tree / "outside"))
    proj = step_project(hostile_tree / "proj", f'file "{rel}"')
    found = diagnostics(proj)
    errors = [d for d in found if d.code == "SEQ101" and "template" in d.message]
    assert errors, found
    assert errors[0].span.file == f"{proj}/a.seq" and errors[0].span.line == BODY_LINE
    loaded = api.check_paths([str(proj)]).sources
    assert all("SECRET-b6a1" not in text for text in loaded.values())


def test_symlink_inside_the_project_is_followed(hostile_tree: Path):
    proj = step_project(hostile_tree / "proj", 'file "templates/inlink.txt"')
    assert [d for d in diagnostics(proj) if d.code in ("SEQ101", "SEQ305")] == []


def test_project_named_through_a_symlink(hostile_tree: Path):
    proj = step_project(hostile_tree / "proj", 'file "templates/ok.txt"')
    link = hostile_tree / "link-to-proj"
    link.symlink_to(proj, target_is_directory=True)
    direct = api.check_paths([str(proj)])
    through = api.check_paths([str(link)])
    assert [d.code for d in through.diagnostics] == [d.code for d in direct.diagnostics]
    assert not any(d.code == "SEQ101" for d in through.diagnostics)
    r = run_seqc("compile", str(link), "--target", "ir", "-o", str(hostile_tree / "out"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (hostile_tree / "out").iterdir()) == ["ir"]


def test_folder_search_does_not_follow_a_symlink_loop(hostile_tree: Path):
    proj = step_project(hostile_tree / "tree" / "proj", '"Hi {{ unsubscribe_url }}"')
    (proj / "templates").mkdir()
    (proj / "templates" / "up").symlink_to("../..", target_is_directory=True)
    (hostile_tree / "tree" / "self").symlink_to(".", target_is_directory=True)
    r = run_seqc("check", str(hostile_tree / "tree"), "--format", "json", timeout=60)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
    assert json.loads(r.stdout)["summary"]["files"] == 1


def test_seq_symlink_leaving_the_project_is_refused(hostile_tree: Path):
    proj = step_project(hostile_tree / "proj", 'file "templates/ok.txt"')
    secret = hostile_tree / "outside" / "creds"
    secret.write_text("API_TOKEN=hunter2\n", encoding="utf-8")
    (proj / "evil.seq").symlink_to(secret)
    r = run_seqc("check", str(proj))
    assert "hunter2" not in r.stdout + r.stderr
    assert r.returncode in (1, 2)


def test_template_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path):
    proj = step_project(tmp_path / "p", 'file "templates/pipe.txt"')
    (proj / "templates").mkdir()
    fifo = proj / "templates" / "pipe.txt"
    os.mkfifo(fifo)
    opened = threading.Event()

    def unblock() -> None:  # keeps a blocked read from hanging the test: write, then close
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.05)
                continue
            opened.set()
            os.write(fd, b"Hi {{ first_name }}")
            os.close(fd)
            return

    writer = threading.Thread(target=unblock, daemon=True)
    writer.start()
    found = diagnostics(proj, "SEQ101")
    writer.join()
    assert not opened.is_set(), "seqc opened the FIFO for reading"
    assert found and found[0].span.line == BODY_LINE


@pytest.mark.parametrize("rel", ["../escape.json", "/tmp/abs.json", "a/../../escape.json", "..", "", ".",
                                 "a/./../../b.json", "..\\escape.json", "a/\\..\\..\\b.json"])
def test_write_tree_refuses_paths_outside_its_folder(tmp_path: Path, rel: str):
    out = tmp_path / "out"
    with pytest.raises(SeqcError):
        write_tree(out, "ir", [("ok.json", "{}"), (rel, "{}")])
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []
    assert not (out / "ir").exists()
    assert [p.name for p in out.iterdir()] == [], "the staging folder is removed"


def _targets() -> list[str]:
    from targets import REGISTRY

    return sorted(REGISTRY)


HOSTILE_VALUES = ["../../../../tmp/seqc-escape", "/etc/passwd", "..", "CON", "a" * 300, "Ann\r\nBcc: x@evil.test",
                  "=HYPERLINK(\"http://x\")", "\u202eevil", "{{ 7*7 }}", "Europe/../../etc", "NUL.txt"]


def hostile_prospects(path: Path) -> Path:
    """The example's columns, every cell of some rows a path-like or injection value."""
    import csv

    with open(EXAMPLE / "prospects.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    columns = list(rows[0])
    block = api.check_paths([str(EXAMPLE)]).projects[0].project.prospect
    text_fields = [f.name for f in block.fields if f.type == "text"]
    out = rows[:5]
    for i, value in enumerate(HOSTILE_VALUES):
        row = dict(rows[i % len(rows)])
        for col in text_fields:   # typed fields stay valid, so the row reaches names and templates
            row[col] = value
        row["email"] = f"h{i}@example.com"
        out.append(row)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    return path


@pytest.mark.parametrize("data", ["example", "hostile"])
@pytest.mark.parametrize("target", _targets())
def test_compile_writes_only_inside_its_output_folder(tmp_path: Path, target: str, data: str):
    out = tmp_path / "deep" / "out"
    prospects = EXAMPLE / "prospects.csv" if data == "example" else hostile_prospects(tmp_path / "hostile.csv")
    before = set(tmp_path.rglob("*"))
    args = ["compile", str(EXAMPLE), "--target", target, "-o", str(out)]
    if target != "ir":
        args += ["--prospects", str(prospects)]
    r = run_seqc(*args)
    assert r.returncode in (0, 1), r.stderr[-400:]
    assert "Traceback" not in r.stderr
    created = set(tmp_path.rglob("*")) - before
    assert all(p == out or out in p.parents or p in out.parents for p in created), created
    assert not Path("/tmp/seqc-escape").exists()
    if r.returncode == 0:
        assert sorted(p.name for p in out.iterdir()) == [target], "no staging or old folders are left"
        for p in (out / target).rglob("*"):
            assert p.resolve().is_relative_to(out.resolve())


def test_output_folder_honours_the_umask(tmp_path: Path):
    old = os.umask(0o022)
    try:
        write_tree(tmp_path / "out", "ir", [("a.json", "{}")])
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "ir").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "out" / "ir" / "a.json").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- faults through the real script


def test_missing_path(tmp_path: Path):
    for cmd in (["check"], ["plan"], ["compile", "--target", "ir"]):
        r = run_seqc(*cmd, str(tmp_path / "nope"))
        assert "no such file or folder" in assert_one_line_error(r)


def test_missing_prospect_file(tmp_path: Path):
    r = run_seqc("compile", str(EXAMPLE), "--target", "csv", "--prospects", str(tmp_path / "nope.csv"))
    assert_one_line_error(r)


def test_folder_given_as_prospect_file(tmp_path: Path):
    r = run_seqc("compile", str(EXAMPLE), "--target", "csv", "--prospects", str(tmp_path))
    assert_one_line_error(r)


def test_template_path_that_is_a_folder(tmp_path: Path):
    proj = step_project(tmp_path / "p", 'file "templates"')
    (proj / "templates").mkdir()
    found = diagnostics(proj, "SEQ101")
    assert found and found[0].span.line == BODY_LINE and "folder" in found[0].message


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.skipif(_is_root(), reason="runs as root: chmod 000 does not stop root from reading, and the venv's "
                                       "interpreter is not reachable by an unprivileged user to drop to")
def test_unreadable_seq_file(tmp_path: Path):
    proj = step_project(tmp_path / "p", '"Hi"')
    (proj / "a.seq").chmod(0)
    try:
        r = run_seqc("check", str(proj))
        assert "cannot be read" in assert_one_line_error(r)
    finally:
        (proj / "a.seq").chmod(0o644)


@pytest.mark.skipif(_is_root(), reason="runs as root: chmod 000 does not stop root from reading")
def test_unreadable_template(tmp_path: Path):
    proj = step_project(tmp_path / "p", 'file "t.txt"', templates={"t.txt": "Hi"})
    (proj / "t.txt").chmod(0)
    try:
        found = diagnostics(proj, "SEQ101")
        assert found and "cannot be read" in found[0].message
    finally:
        (proj / "t.txt").chmod(0o644)


def test_non_utf8_seq_file_is_located(tmp_path: Path):
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "a.seq").write_bytes(b'sequence s {\n  day 0 email a { subject "caf\xe9" body "b" }\n}\n')
    r = run_seqc("check", str(proj), "--format", "json")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    (d,) = json.loads(r.stdout)["diagnostics"]
    assert (d["code"], d["line"], d["column"]) == ("SEQ001", 2, 31)
    assert "0xe9" in d["message"]


def test_non_utf8_byte_after_a_bom_is_located(tmp_path: Path):
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "a.seq").write_bytes(b'\xef\xbb\xbfsequence s {\n  day 0 email a { subject "caf\xe9" body "b" }\n}\n')
    r = run_seqc("check", str(proj), "--format", "json")
    (d,) = json.loads(r.stdout)["diagnostics"]
    assert (d["line"], d["column"]) == (2, 31) and "0xe9" in d["message"]


@pytest.mark.parametrize("args", [["check", "--format", "json"], ["check", "--format", "github"],
                                  ["check", "--format", "sarif"], ["compile", "--target", "ir"]],
                         ids=["check-json", "check-github", "check-sarif", "compile-ir"])
def test_surrogate_escape_in_a_string(tmp_path: Path, args: list[str]):
    """`\\ud800` escapes once decoded to lone surrogates that no UTF-8 output could hold (fixed: SEQ001)."""
    proj = tmp_path / "p"
    proj.mkdir()
    # check: the surrogate reaches a message (SEQ109 quotes the calendar); compile: it reaches the IR.
    holidays = '  holidays "\\udfff"\n' if args[0] == "check" else ""
    (proj / "a.seq").write_text('sequence s {\n' + holidays + '  day 0 email a { subject "x\\ud800" '
                                'body "b {{ unsubscribe_url }}" }\n}\n', encoding="utf-8")
    r = run_seqc(args[0], str(proj), *args[1:])
    assert r.returncode in (0, 1) and "internal error" not in r.stderr, r.stderr


@pytest.mark.parametrize("data", [b"\x00", b"sequence s {\x00}", b"\xff\xfe" + "sequence".encode("utf-16-le"),
                                  b"\xef\xbb\xbf", b"\xed\xa0\x80", b"sequence s { day 0 email a { subject \"\xc3"],
                         ids=["nul", "nul-inside", "utf16", "bom-only", "encoded-surrogate", "truncated-utf8"])
def test_binary_and_broken_encodings(tmp_path: Path, data: bytes):
    proj = tmp_path / "p"
    proj.mkdir()
    (proj / "a.seq").write_bytes(data)
    r = run_seqc("check", str(proj), "--format", "json")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    for d in json.loads(r.stdout)["diagnostics"]:
        assert d["line"] >= 1 and d["column"] >= 1


def test_truncated_examples_never_crash():
    """Every example cut at 40 places (mid-token, mid-string, mid-escape): located diagnostics only."""
    rng = random.Random(5)
    for path in EXAMPLES:
        text = (ROOT / path).read_text(encoding="utf-8")
        for cut in sorted(rng.sample(range(len(text)), 40)):
            fuzz.exercise(text[:cut], stages=("plan",), seconds=60)


def test_output_folder_under_a_file(tmp_path: Path):
    blocker = tmp_path / "somefile"
    blocker.write_text("x", encoding="utf-8")
    r = run_seqc("compile", str(EXAMPLE), "--target", "ir", "-o", str(blocker / "sub"))
    assert "cannot write output" in assert_one_line_error(r)
    assert blocker.read_text(encoding="utf-8") == "x"


def _fsize_limit(limit: int):
    def preexec() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # so write() fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_full_disk_keeps_the_previous_output(tmp_path: Path):
    """A full disk, simulated with RLIMIT_FSIZE (write fails with EFBIG, as it would with ENOSPC)."""
    out = tmp_path / "out"
    assert run_seqc("compile", str(EXAMPLE), "--target", "ir", "-o", str(out)).returncode == 0
    before = (out / "ir" / "project.json").read_bytes()
    r = run_seqc("compile", str(EXAMPLE), "--target", "ir", "-o", str(out), preexec=_fsize_limit(10_000))
    assert "cannot write output" in assert_one_line_error(r)
    assert (out / "ir" / "project.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["ir"], "the staging folder is removed"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [["check", "--format", "json"], ["plan"], ["compile", "--target", "ir"]],
                         ids=["check", "plan", "compile"])
def test_full_stdout_is_an_io_error(args: list[str]):
    with open("/dev/full", "w") as full:
        r = subprocess.run([str(SEQC), args[0], str(EXAMPLE), *args[1:]], stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2():
    r = run_seqc("compile", str(EXAMPLE), "--target", "nope")
    assert "unknown target" in assert_one_line_error(r)
    r = run_seqc("check", "--no-such-flag", str(EXAMPLE))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = run_seqc("plan", str(EXAMPLE), "--start", "2027-02-30")
    assert_one_line_error(r)
    r = run_seqc("plan", str(EXAMPLE), "--tz", "Mars/Olympus")
    assert_one_line_error(r)


# ---------------------------------------------------------------- interrupts during compile -o


def big_project(folder: Path, steps: int, marker: str = "") -> Path:
    """A project slow enough to interrupt: one sequence of `steps` emails, each with two templates."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [PROSPECT, f'sequence s "big{marker}" {{\n  tier enterprise\n']
    for i in range(steps):
        lines.append(f'  day {i} email step_{i} {{ purpose followup subject "Note {i} for {{{{ company }}}}" '
                     f'body "Hi {{{{ first_name }}}}, {marker} {i}. {{{{ unsubscribe_url }}}}" }}\n')
    lines.append("}\n")
    (folder / "a.seq").write_text("".join(lines), encoding="utf-8")
    return folder


def _default_sigint() -> None:
    # A background shell starts children with SIGINT ignored; Python then never raises KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _state(out: Path) -> bytes | None:
    path = out / "ir" / "project.json"
    return path.read_bytes() if path.exists() else None


@pytest.fixture(scope="module")
def interrupt_setup(tmp_path_factory):
    """Previous output A (a small project), the new output B (a big one), and how long B takes."""
    base = tmp_path_factory.mktemp("interrupt")
    small = big_project(base / "small", 3, "old")
    big = big_project(base / "big", 300, "new")
    previous = base / "previous"
    assert run_seqc("compile", str(small), "--target", "ir", "-o", str(previous)).returncode == 0
    started = time.monotonic()
    assert run_seqc("compile", str(big), "--target", "ir", "-o", str(base / "reference")).returncode == 0
    duration = time.monotonic() - started
    return base, big, previous, _state(previous), _state(base / "reference"), duration


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_compile_leaves_previous_or_new_output_never_a_mix(interrupt_setup, sig):
    base, big, previous, old, new, duration = interrupt_setup
    rng = random.Random(int(sig))
    outcomes = []
    for attempt in range(20):
        out = base / f"out-{sig.name}-{attempt}"
        shutil.copytree(previous, out)
        proc = subprocess.Popen([str(SEQC), "compile", str(big), "--target", "ir", "-o", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_default_sigint)
        # Random moments, weighted to the end of the run where the files are written.
        time.sleep(rng.uniform(0.35, 1.1) * duration)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
        state = _state(out)
        assert state in (None, old, new), f"attempt {attempt}: a half-written project.json"
        leftovers = sorted(p.name for p in out.iterdir() if p.name != "ir")
        assert all(re.fullmatch(r"\.ir\.(tmp|old)-\w+", n) for n in leftovers), leftovers
        if sig == signal.SIGINT:
            assert "Traceback" not in stderr, stderr
            # 0: finished first; 2: `seqc: interrupted`; -2: the signal came during interpreter shutdown,
            # after the last line was printed (Python has restored the default handler by then).
            assert proc.returncode in (0, 2, -signal.SIGINT), (proc.returncode, stderr)
            if proc.returncode == 2:
                assert stderr.strip().splitlines()[-1] == "seqc: interrupted"
                assert not any(n.startswith(".ir.tmp-") for n in leftovers), "SIGINT cleans its staging folder"
        outcomes.append("old" if state == old else "new" if state == new else "none")
    assert "old" in outcomes, outcomes   # at least some interrupts landed before the swap


# The file-system calls `write_tree` makes when it replaces a previous output, in order.
WRITE_PROTOCOL = ("mkdtemp staging", "open a.json", "fsync a.json", "open b.json", "fsync b.json", "mkdtemp old",
                  "replace old aside", "replace staging in", "rmtree old")


@pytest.mark.parametrize("kill_at", range(len(WRITE_PROTOCOL) + 1),
                         ids=[*(f"before-{c.replace(' ', '-')}" for c in WRITE_PROTOCOL), "not-killed"])
def test_write_tree_killed_before_every_step(tmp_path: Path, kill_at: int):
    """SIGKILL simulated right before each file-system call of `write_tree` (in a forked child)."""
    out = tmp_path / "out"
    write_tree(out, "ir", [("a.json", "old-a"), ("b.json", "old-b")])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only ever leaves through os._exit
        try:
            import builtins
            import tempfile

            calls = [0]

            def counted(fn):
                def wrapper(*args, **kwargs):
                    if calls[0] == kill_at:
                        os._exit(137)
                    calls[0] += 1
                    return fn(*args, **kwargs)
                return wrapper

            os.replace, os.fsync = counted(os.replace), counted(os.fsync)
            tempfile.mkdtemp, shutil.rmtree = counted(tempfile.mkdtemp), counted(shutil.rmtree)
            builtins.open = counted(builtins.open)
            write_tree(out, "ir", [("a.json", "new-a"), ("b.json", "new-b")])
            os._exit(0 if calls[0] == len(WRITE_PROTOCOL) else 99)
        finally:
            os._exit(98)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == (0 if kill_at == len(WRITE_PROTOCOL) else 137)
    files = {p.name: p.read_text(encoding="utf-8") for p in (out / "ir").iterdir()} if (out / "ir").exists() else None
    assert files in (None, {"a.json": "old-a", "b.json": "old-b"}, {"a.json": "new-a", "b.json": "new-b"}), files
    if kill_at != WRITE_PROTOCOL.index("replace staging in"):
        assert files is not None, "only a kill between the two renames leaves no `ir/` (SPEC allows: none)"


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError], ids=["ctrl-c", "oserror"])
def test_write_tree_failing_between_the_renames_restores_the_previous_output(tmp_path: Path, monkeypatch, exc):
    out = tmp_path / "out"
    write_tree(out, "ir", [("a.json", "old-a")])
    real_replace, calls = os.replace, []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise exc()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises((exc, SeqcError)):
        write_tree(out, "ir", [("a.json", "new-a")])
    monkeypatch.undo()
    assert (out / "ir" / "a.json").read_text(encoding="utf-8") == "old-a"


def test_interrupt_during_startup_prints_no_traceback(tmp_path: Path):
    hook = tmp_path / "hook"
    hook.mkdir()
    # Deterministic stand-in for an early Ctrl-C: SIGINT arrives while `click` is being imported.
    (hook / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "class _Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            sys.meta_path.remove(self)\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Interrupt())\n", encoding="utf-8")
    r = subprocess.run([str(SEQC), "check", str(EXAMPLE)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(hook)}, preexec_fn=_default_sigint)
    assert "Traceback" not in r.stderr, r.stderr[-300:]
    assert r.stderr.strip() == "seqc: interrupted"


# ---------------------------------------------------------------- previews (names from data, templates, interrupts)


def _has_preview() -> bool:
    return subprocess.run([str(SEQC), "preview", "--help"], capture_output=True).returncode == 0


needs_preview = pytest.mark.skipif(not _has_preview(), reason="`seqc preview` is not there yet")
SAFE_NAME = re.compile(r"^(\.seqc-preview|[A-Za-z0-9][A-Za-z0-9._-]*)$")  # the marker, then slugs


@needs_preview
@pytest.mark.parametrize("data", ["example", "hostile"])
@pytest.mark.parametrize("fmt", ["eml", "mbox", "html", "jsonl", "text"])
def test_preview_writes_only_inside_its_folder_with_safe_names(tmp_path: Path, fmt: str, data: str):
    out = tmp_path / "deep" / "out"
    prospects = EXAMPLE / "prospects.csv" if data == "example" else hostile_prospects(tmp_path / "hostile.csv")
    before = set(tmp_path.rglob("*"))
    r = run_seqc("preview", str(EXAMPLE), "--prospects", str(prospects), "--format", fmt, "-o", str(out))
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-400:]
    created = set(tmp_path.rglob("*")) - before
    assert created and all(p == out or out in p.parents or p in out.parents for p in created), created
    for p in out.rglob("*"):
        assert p.resolve().is_relative_to(out.resolve())
        assert SAFE_NAME.match(p.name), p.name
    assert not Path("/tmp/seqc-escape").exists()


@needs_preview
def test_runaway_template_in_preview_names_the_template(tmp_path: Path):
    loops = "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}"
    proj = step_project(tmp_path / "p", 'file "templates/loop.txt.j2"',
                        templates={"templates/loop.txt.j2": f"Hi {{{{ first_name }}}},\n{loops}\n{{{{ unsubscribe_url }}}}\n"})
    (proj / "p.csv").write_text("email,first_name,company\na@example.com,Ann,Acme\n", encoding="utf-8")
    r = run_seqc("preview", str(proj), "--prospects", str(proj / "p.csv"), "--format", "jsonl")
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr
    assert "templates/loop.txt.j2):2" in r.stderr and "loop iterations" in r.stderr, r.stderr


@needs_preview
def test_ssti_template_in_preview_never_runs(tmp_path: Path):
    payload = "{{ cycler.__init__.__globals__.os.popen('touch " + MARKER + "').read() }}{{ lipsum.__globals__['os'].environ }}"
    proj = step_project(tmp_path / "p", 'file "templates/evil.txt.j2"',
                        templates={"templates/evil.txt.j2": "Hi {{ first_name }}\n" + payload + "\n"})
    (proj / "p.csv").write_text("email,first_name,company\na@example.com,Ann,Acme\n", encoding="utf-8")
    for fmt in ("jsonl", "eml"):
        args = ["preview", str(proj), "--prospects", str(proj / "p.csv"), "--format", fmt]
        if fmt == "eml":
            args += ["-o", str(tmp_path / "out")]
        r = run_seqc(*args, env={"SEQC_SECRET": CANARY})
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert CANARY not in r.stdout + r.stderr
    assert not os.path.exists(MARKER)
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def preview_setup(tmp_path_factory):
    """A prospect file big enough that `preview --format html` takes a while, and its complete output."""
    import csv

    base = tmp_path_factory.mktemp("preview-kill")
    with open(EXAMPLE / "prospects.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(base / "many.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for i in range(1500):
            row = dict(rows[i % len(rows)])
            row["email"] = f"p{i}.{row['email']}"
            writer.writerow(row)
    args = ["preview", str(EXAMPLE), "--prospects", str(base / "many.csv"), "--format", "html"]
    assert run_seqc(*args, "--limit", "5", "-o", str(base / "previous")).returncode == 0
    started = time.monotonic()
    assert run_seqc(*args, "-o", str(base / "reference")).returncode == 0
    return base, args, time.monotonic() - started


def _tree(folder: Path) -> dict[str, bytes] | None:
    if not folder.exists():
        return None
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@needs_preview
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_preview_leaves_previous_or_new_output_never_a_mix(preview_setup, sig):
    base, args, duration = preview_setup
    old, new = _tree(base / "previous"), _tree(base / "reference")
    rng = random.Random(100 + int(sig))
    for attempt in range(10):
        out = base / f"out-{sig.name}-{attempt}"
        shutil.copytree(base / "previous", out)
        proc = subprocess.Popen([str(SEQC), *args, "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=_default_sigint)
        time.sleep(rng.uniform(0.35, 1.1) * duration)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=300)
        assert _tree(out) in (None, old, new), f"attempt {attempt}: a mix of old and new preview files"
        if sig == signal.SIGINT:
            assert "Traceback" not in stderr, stderr


def test_template_symlink_loop_is_named_as_a_loop(hostile_tree: Path):
    proj = step_project(hostile_tree / "proj", 'file "templates/loop1"')
    errors = [d for d in diagnostics(proj) if d.code == "SEQ101"]
    assert [(e.span.line, e.message) for e in errors] == [
        (BODY_LINE, "template path `templates/loop1` is a loop of symbolic links")]

"""Scale edges: long sequences, big projects, deep conditions, long prospect files.

No test here asserts a wall-clock time (docs/reliability.md has the timings, from bench/fuzz.py and
the commands listed there). Instead:

* big inputs must complete with the right diagnostics;
* every pipeline stage and every rule must scale linearly: the work for a 4× bigger input is
  compared with the work for the smaller one (CPU time, best of three, or an operation count where
  one exists), and a ratio near 16 means a quadratic pass;
* nothing may hit Python's recursion limit: the in-process tests pin the interpreter's default
  limit (1000, what an API user has), the CLI tests run the real script (which raises it to 10 000);
* a prospect file streams: peak traced memory for 100 000 rows is close to that for 10 000.

Open bugs are strict xfails naming the function to fix; docs/reliability.md lists them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from compiler import ir
from compiler import plan as plan_mod
from compiler.check import run_rules
from compiler.config import RuleConfig
from compiler.project import load_text
from compiler.rules import ALL_RULES, CatalogEntry, RuleContext

SEQC = Path(sys.executable).with_name("seqc")
TODAY = dt.date(2027, 1, 4)

PROSPECT = ('prospect {\n  email: email required\n  first_name: text required\n  company: text required\n'
            '  phone: phone required\n  employees: int\n  b: bool\n  country: country\n}\n')
CHANNELS = ("email", "call", "task")


def long_sequence(steps: int, name: str = "s", max_day: int = 3650) -> str:
    """One mid-market sequence of `steps` touches (email, call, task in turn) over at most `max_day` days."""
    lines = [f'sequence {name} "long" {{\n  tier mid_market\n']
    for i in range(steps):
        day, channel = i * max_day // steps, CHANNELS[i % 3]
        if channel == "email":
            lines.append(f'  day {day} email e{i} {{ purpose followup subject "Note {i} for {{{{ company }}}}" '
                         f'body "Hi {{{{ first_name }}}}, point {i} of {steps}. Opt out: {{{{ unsubscribe_url }}}}" }}\n')
        elif channel == "call":
            lines.append(f'  day {day} call c{i} {{ script "Call {{{{ first_name }}}} about point {i}." }}\n')
        else:
            lines.append(f'  day {day} task t{i} {{ note "Research {{{{ company }}}} ({i})." }}\n')
    lines.append("}\n")
    return "".join(lines)


# Rules to leave out of the big functional tests because they compare every pair of touches
# (none since SEQ205 sweeps in landing order and SEQ208 uses a prefix filter).
QUADRATIC_RULES: tuple[str, ...] = ()


def check_text(text: str, ignore=QUADRATIC_RULES):
    loaded = load_text(text, "big.seq")
    return loaded, run_rules(loaded, RuleConfig().merged((), tuple(ignore)))


# ---------------------------------------------------------------- big inputs complete


def test_4000_step_sequence_is_checked_planned_and_compiled():
    loaded, diags = check_text(PROSPECT + long_sequence(4000))
    assert [d for d in diags if d.severity.value == "error"] == []
    codes = {d.code for d in diags}
    assert {"SEQ201", "SEQ210"} <= codes, codes   # far more touches, and a far longer cycle, than the tier's
    (plan,) = plan_mod.plan_project(loaded.project, today=TODAY)
    plan_json = json.loads(plan_mod.render_json([plan]))
    assert len(plan_json["plans"][0]["touches"]) == 4000
    from compiler.api import validate_artifact
    from targets.base import CompileInput
    from targets.ir import IRTarget

    (artifact,) = IRTarget().emit(CompileInput(loaded))
    validate_artifact(artifact)
    assert len(json.loads(artifact.text)["project"]["sequences"][0]["steps"]) == 4000


def test_5mb_project_is_checked(tmp_path: Path):
    from compiler import api

    (tmp_path / "prospect.seq").write_text(PROSPECT, encoding="utf-8")
    for f in range(17):
        (tmp_path / f"s{f}.seq").write_text(long_sequence(3000, f"s{f}"), encoding="utf-8")
    size = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert size > 5_000_000
    result = api.check_paths([str(tmp_path)], ignore=QUADRATIC_RULES)
    assert result.files == 18
    assert not result.failed, [d for d in result.diagnostics if d.severity.value == "error"][:3]
    assert sum(d.code == "SEQ201" for d in result.diagnostics) == 17


# ---------------------------------------------------------------- deep conditions

DEPTH = 600
SHAPES = {
    "parens": "(" * DEPTH + "employees > 1" + ")" * DEPTH,
    "not": "not " * DEPTH + "b",
    "not-paren": "not (" * DEPTH + "b" + ")" * DEPTH,
    "and-nested": "(b and " * DEPTH + "b" + ")" * DEPTH,
    "and-chain-5000": " and ".join(["employees > 1"] * 5000),
    "or-chain-5000": " or ".join(['country in ("DE", "AT")'] * 5000),
    "and-or-alternating": "(b and (b or " * (DEPTH // 2) + "b" + "))" * (DEPTH // 2),
    "not-and-alternating": "not (b and " * (DEPTH // 2) + "b" + ")" * (DEPTH // 2),
}


def guarded(cond: str) -> str:
    return (PROSPECT + 'sequence s {\n  tier smb\n  day 0 email a { purpose opener subject "Hi" '
            'body "Hi {{ first_name }} {{ unsubscribe_url }}" }\n'
            f'  day 3 email b if {cond} {{ subject "Then" body "More {{{{ unsubscribe_url }}}}" }}\n}}\n')


def _stage_parse(text):
    loaded = load_text(text, "deep.seq")
    assert not loaded.has_syntax_errors, loaded.diagnostics[:2]


def _stage_rules(text):
    run_rules(load_text(text, "deep.seq"))


def _stage_to_json(text):
    # through seqc's own writer (what the ir target prints): the stdlib's json.dumps recurses once
    # per container, and 600 alternating and/or levels are 1 200 containers
    doc = ir.to_json(load_text(text, "deep.seq").project)
    assert ir.json_text(doc).startswith("{\n")


def _stage_plan(text):
    plans = plan_mod.plan_project(load_text(text, "deep.seq").project, today=TODAY)
    plan_mod.render_json(plans)
    plan_mod.render_table(plans)


def _stage_ir_target(text):
    from targets.base import CompileInput
    from targets.ir import IRTarget

    IRTarget().emit(CompileInput(load_text(text, "deep.seq")))


def _stage_fmt(text):
    fmt = pytest.importorskip("compiler.fmt")
    assert fmt.format_text(fmt.format_text(text, "deep.seq"), "deep.seq") == fmt.format_text(text, "deep.seq")


STAGES = {"parse": _stage_parse, "rules": _stage_rules, "to_json": _stage_to_json, "plan": _stage_plan,
          "ir-target": _stage_ir_target, "fmt": _stage_fmt}
DEEP_BUGS: dict[tuple[str, str], str] = {}  # (shape, stage) → open bug (strict xfail); empty: all fixed


def _deep_cases():
    for shape in SHAPES:
        for stage in STAGES:
            reason = DEEP_BUGS.get((shape, stage))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(shape, stage, id=f"{shape}-{stage}", marks=marks)


@pytest.mark.usefixtures("default_recursion_limit")
@pytest.mark.parametrize(("shape", "stage"), list(_deep_cases()))
def test_deep_condition_in_process(shape: str, stage: str):
    STAGES[stage](guarded(SHAPES[shape]))


def run_seqc(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(SEQC), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NO_COLOR": "1"})


def _cli_cases():
    for shape in SHAPES:
        for command in ("check", "plan", "compile"):
            yield pytest.param(shape, command, id=f"{shape}-{command}")


@pytest.mark.parametrize(("shape", "command"), list(_cli_cases()))
def test_deep_condition_through_the_cli(tmp_path: Path, shape: str, command: str):
    (tmp_path / "a.seq").write_text(guarded(SHAPES[shape]), encoding="utf-8")
    args = [command, str(tmp_path)] + (["--target", "ir"] if command == "compile" else [])
    r = run_seqc(*args)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr


def _target_names() -> list[str]:
    from targets import REGISTRY

    return sorted(REGISTRY)


TARGET_DEEP_BUGS: dict[tuple[str, str], str] = {}


def _target_cases():
    for shape in SHAPES:
        for target in _target_names():
            reason = TARGET_DEEP_BUGS.get((shape, target))
            if reason and reason.startswith("exponential"):
                continue   # it would not finish; the operation-count test covers it
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(shape, target, id=f"{shape}-{target}", marks=marks)


@pytest.mark.usefixtures("cli_recursion_limit")
@pytest.mark.parametrize(("shape", "target"), list(_target_cases()))
def test_deep_condition_through_every_target(shape: str, target: str):
    """What `seqc compile --target T` does, in-process: lower, SEQ601, emit, schema-validate."""
    from compiler.api import validate_artifact
    from compiler.build import build
    from targets import capabilities, get_target

    loaded, diags = check_text(guarded(SHAPES[shape]), ignore=())
    assert not [d for d in diags if d.severity.value == "error"]
    result = build(loaded, get_target(target), alternatives=capabilities())
    if result.failed or any(d.severity.value == "error" for d in result.diagnostics):
        return   # SEQ601 (the target cannot express it) is a fine answer
    for art in result.artifacts:
        validate_artifact(art)


def test_very_deep_condition_through_the_cli(tmp_path: Path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.seq").write_text(guarded("not (b and " * 3000 + "b" + ")" * 3000), encoding="utf-8")
    # to a file: the test need not hold the IR in memory as well (15 MB; 975 MB while indents grew with depth)
    r = run_seqc("compile", str(tmp_path / "p"), "--target", "ir", "-o", str(tmp_path / "out"))
    assert r.returncode == 0 and "internal error" not in r.stderr, r.stderr
    assert (tmp_path / "out" / "ir").is_dir()


# ---------------------------------------------------------------- linear work


def _cpu(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


SMALL, BIG = 250, 1000   # 4× the steps: linear work grows ~4×, quadratic ~16×
LINEAR = 8.0             # the ratio between the two above which a pass counts as superlinear
NOISE = 0.05             # CPU seconds under which a rule is too fast to measure


@pytest.fixture(scope="module")
def projects():
    return {n: load_text(PROSPECT + long_sequence(n, max_day=n), "big.seq") for n in (SMALL, BIG)}


def _rule_cases():
    quadratic: dict[str, str] = {}
    for rule in ALL_RULES:
        if issubclass(rule, CatalogEntry) or rule.needs_prospects:
            continue
        reason = quadratic.get(rule.code)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(rule, id=rule.code, marks=marks)


@pytest.mark.parametrize("rule", list(_rule_cases()))
def test_rules_scale_linearly(projects, rule):
    def work(n: int):  # a fresh context each run: rules memoize schedules and similarities in it
        return lambda: list(rule().check(RuleContext(projects[n].project)))

    small, big = _cpu(work(SMALL)), _cpu(work(BIG))
    if big < NOISE:
        return
    assert big / max(small, NOISE / 16) < LINEAR, f"{rule.code}: {small:.3f}s for {SMALL} steps, {big:.3f}s for {BIG}"


def _stage_cases():
    yield pytest.param("parse", id="parse")
    yield pytest.param("to_json", id="to_json")
    yield pytest.param("plan", id="plan")


@pytest.mark.parametrize("stage", list(_stage_cases()))
def test_pipeline_stages_scale_linearly(projects, stage: str):
    texts = {n: PROSPECT + long_sequence(n * 4, max_day=n * 4) for n in (SMALL, BIG)}

    def work(n: int):
        if stage == "parse":
            return lambda: load_text(texts[n], "big.seq")
        loaded = load_text(texts[n], "big.seq")
        if stage == "to_json":
            return lambda: ir.to_json(loaded.project)
        return lambda: plan_mod.plan_project(loaded.project, today=TODAY)

    small, big = _cpu(work(SMALL)), _cpu(work(BIG))
    assert big / max(small, NOISE / 16) < LINEAR, f"{stage}: {small:.3f}s for {SMALL * 4} steps, {big:.3f}s"


def test_error_recovery_work_is_linear(monkeypatch):
    import lark.parsers.lalr_parser_state as state

    original, copied = state.deepcopy, [0]

    def counting(value, memo=None):
        memo = {} if memo is None else memo
        result = original(value, memo)
        copied[0] += len(memo)
        return result

    monkeypatch.setattr(state, "deepcopy", counting)

    def work(n: int) -> int:
        copied[0] = 0
        text = ("sequence s {\n" + "".join(f'  day {i} email s{i} {{ subject "x" body "y" }}\n' for i in range(n))
                + "  " + " @" * n + "\n}\n")
        loaded = load_text(text, "junk.seq")
        assert loaded.has_syntax_errors
        return copied[0]

    small, big = work(50), work(200)
    assert big <= LINEAR * max(small, 1000), (small, big)


def test_ir_schema_validation_is_linear(monkeypatch):
    from jsonschema import Draft202012Validator

    from compiler.api import validate_artifact
    from targets.base import CompileInput
    from targets.ir import IRTarget

    original, calls = Draft202012Validator.descend, [0]

    def descend(self, *args, **kwargs):
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Draft202012Validator, "descend", descend)

    def work(depth: int) -> int:
        (art,) = IRTarget().emit(CompileInput(load_text(guarded("(b and (b or " * depth + "b" + "))" * depth))))
        calls[0] = 0
        validate_artifact(art)
        return calls[0]

    small, big = work(4), work(8)
    assert big <= 4 * small, (small, big)


def test_text_report_scales_with_the_number_of_diagnostics():
    from compiler import report
    from compiler.diagnostics import Diagnostic, Severity, Span

    def work(n: int):
        source = "\n".join(f"  day {i} email s{i} {{ subject \"x\" }}" for i in range(n)) + "\n"
        diags = [Diagnostic("SEQ101", Severity.ERROR, "m", Span("f.seq", i + 1, 3, i + 1, 6)) for i in range(n)]
        return lambda: report.render_text(diags, {"f.seq": source}, color=False, files=1)

    small, big = _cpu(work(SMALL * 4)), _cpu(work(BIG * 4))
    assert big / max(small, NOISE / 16) < LINEAR, (small, big)


def test_text_report_cost_per_diagnostic_does_not_grow_with_the_line():
    from compiler import report
    from compiler.diagnostics import Diagnostic, Severity, Span

    def work(width: int):
        source = "y" * width + "\n"
        diags = [Diagnostic("SEQ101", Severity.ERROR, "m", Span("f.seq", 1, 3 + i, 1, 5 + i)) for i in range(100)]
        return lambda: report.render_text(diags, {"f.seq": source}, color=False, files=1)

    small, big = _cpu(work(5_000)), _cpu(work(40_000))
    assert big / max(small, NOISE / 16) < 3, (small, big)   # the snippet is a window of the line


# ---------------------------------------------------------------- prospect files stream


def _prospect_file(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["email", "first_name", "company", "phone", "employees", "b", "country"])
        for i in range(rows):
            out.writerow([f"p{i}@c{i % 97}.example.com", "Ann", f"Company {i % 97}", f"+1415555{i % 10000:04d}",
                          str(10 + i % 5000), "true", ("US", "DE", "GB")[i % 3]])


def test_prospect_file_streams_in_flat_memory(tmp_path: Path):
    from compiler import prospects

    loaded = load_text(PROSPECT, "p.seq")
    peaks = {}
    for rows in (10_000, 100_000):
        path = tmp_path / f"p{rows}.csv"
        _prospect_file(path, rows)
        tracemalloc.start()
        try:
            count = sum(1 for r in prospects.load_prospects(path, loaded.project.prospect)
                        if isinstance(r, prospects.Record))
            peaks[rows] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert count == rows
    assert peaks[100_000] < 2 * peaks[10_000], peaks

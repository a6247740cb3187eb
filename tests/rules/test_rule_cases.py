"""Rule cases: `tests/rules/cases/SEQxxx/fail_*.seq` fire SEQxxx, `pass_*.seq` do not.

Each case is a one-file project whose first line says what it shows. A case with a
`.csv` of the same name is checked with that prospect file, as `seqc check --prospects`
would. A failing case snapshots its rendered diagnostics (only the rule under test), one
real `.txt` file per case under `tests/rules/__snapshots__/`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.check import run_rules
from compiler.config import RuleConfig
from compiler.diagnostics import Diagnostic
from compiler.project import load_text
from compiler.report import render_text
from compiler.rules import BY_CODE
from compiler.rules.data import load_sample

CASES = Path("tests/rules/cases")
ROOT = Path(__file__).resolve().parents[2]
ALL = sorted(p.relative_to(ROOT) for p in (ROOT / CASES).glob("SEQ*/*.seq"))
FAIL = [p for p in ALL if p.name.startswith("fail_")]
PASS = [p for p in ALL if p.name.startswith("pass_")]


def _id(path: Path) -> str:
    return f"{path.parent.name}-{path.stem}"


def run_case(path: Path) -> tuple[list[Diagnostic], dict[str, str]]:
    """The diagnostics of the case's own rule, and the sources for rendering."""
    code = path.parent.name
    text = path.read_text(encoding="utf-8")
    loaded = load_text(text, path.as_posix(), root=path.parent)
    csv = path.with_suffix(".csv")
    sample = load_sample(csv.as_posix(), loaded.project) if csv.exists() else None
    diags = run_rules(loaded, RuleConfig(select=(code,)), prospects=sample)
    return diags, loaded.sources


def test_every_rule_has_cases_and_every_case_states_its_intent():
    codes = {p.parent.name for p in ALL}
    wanted = {c for c in BY_CODE if c[3] in "24" or c == "SEQ303"}
    assert wanted <= codes, sorted(wanted - codes)
    for code in wanted:
        names = [p.name for p in ALL if p.parent.name == code]
        assert any(n.startswith("fail_") for n in names) and any(n.startswith("pass_") for n in names), code
    for path in ALL:
        assert path.name.startswith(("fail_", "pass_")), path
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert first.startswith("# ") and len(first) > 20, f"{path}: the first line must state the intent"


@pytest.mark.parametrize("path", FAIL, ids=_id)
def test_fail_case(path: Path, text_snapshot):
    diags, sources = run_case(path)
    code = path.parent.name
    assert diags and all(d.code == code for d in diags), [d.message for d in diags]
    for d in diags:
        assert not d.message.endswith("."), d.message
        assert d.help, f"{code} has no help line"
    assert render_text(diags, sources, color=False) == text_snapshot


@pytest.mark.parametrize("path", PASS, ids=_id)
def test_pass_case(path: Path):
    diags, _ = run_case(path)
    assert diags == [], [d.message for d in diags]

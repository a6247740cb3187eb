"""Every rule's doc runs: the Bad example fires the rule, the Good example does not.

The examples are fragments; `harness.build_project` embeds each into a minimal project
that passes every rule, so a Good example is checked in a realistic setting and a Bad
one fires for the reason its doc gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import build_project, check_built

from compiler.rules import ALL_RULES, CatalogEntry
from compiler.rules.base import Rule

CODES = [r.code for r in ALL_RULES]


def _rule(code: str) -> type[Rule]:
    return next(r for r in ALL_RULES if r.code == code)


def test_base_project_is_clean(tmp_path: Path):
    built = build_project("", tmp_path)
    diags = check_built(built)
    assert [(d.code, d.message) for d in diags if d.severity.value != "info"] == []


@pytest.mark.parametrize("code", CODES)
def test_doc_has_why_bad_and_good(code: str):
    rule = _rule(code)
    doc = rule.doc()
    assert rule.summary(), code
    assert "\nWhy:" in doc, code
    assert rule.example("Bad") and rule.example("Good"), code
    assert rule.name


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("label", ["Bad", "Good"])
def test_doc_example(code: str, label: str, tmp_path: Path):
    rule = _rule(code)
    built = build_project(rule.example(label), tmp_path)
    if built.skipped:
        assert issubclass(rule, CatalogEntry), f"{code}: {built.skipped}"
        pytest.skip(f"{code} is raised outside the rule engine ({built.skipped})")
    found = [d for d in check_built(built, code) if d.code == code]
    text = (tmp_path / "project.seq").read_text(encoding="utf-8")
    if label == "Bad":
        assert found, f"{code}: the Bad example does not fire\n{text}"
    else:
        assert not found, f"{code}: the Good example fires: {[d.message for d in found]}\n{text}"

"""docs/rules.md carries the current catalog, and `seqc rules [CODE]` prints it."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import api
from compiler.diagnostics import SeqcError
from compiler.rules import ALL_RULES, BY_CODE
from compiler.rules.catalog import END, START, markdown, splice

DOC = Path("docs/rules.md")


def test_docs_rules_md_is_generated_from_the_rules():
    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text
    assert splice(text) == text, "regenerate: .venv/bin/python -m compiler.rules.catalog docs/rules.md"


def test_every_code_has_a_section():
    generated = markdown()
    for rule in ALL_RULES:
        assert f'<a id="{rule.code.lower()}"></a>' in generated
        assert f"### {rule.code} · {rule.severity.value}" in generated


def test_rules_lists_every_code_with_severity():
    lines = api.rules_text(None).splitlines()
    assert [line.split()[0] for line in lines] == [r.code for r in ALL_RULES]
    assert all(line.split()[1] in "EWI" for line in lines)


@pytest.mark.parametrize("code", sorted(BY_CODE))
def test_rules_code_prints_the_doc(code: str):
    text = api.rules_text(code.lower())
    assert text.startswith(f"{code} (")
    assert "Why:" in text and "Bad:" in text and "Good:" in text


def test_unknown_code_suggests_one():
    with pytest.raises(SeqcError, match="SEQ205"):
        api.rules_text("SEQ2O5")

"""The example × target matrix: every project compiled for every registered target, as real-file snapshots.

A cell is either the files the target writes (payloads, `leads.csv` when the project has a
`prospects.csv`, and the compile warnings) or the rendered SEQ601 diagnostics. Targets come
from `sorted(REGISTRY)`, so a new target gets a column of cells automatically; review its
snapshots after `pytest --snapshot-update`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CASES, EXAMPLE_PROJECTS, ROOT, snapshot_ext

from compiler import report
from compiler.api import validate_artifact
from compiler.build import build
from compiler.project import discover, load
from targets import REGISTRY, capabilities, get_target

TARGET_CASES = sorted(p.relative_to(ROOT) for p in (ROOT / CASES / "targets").iterdir() if p.is_dir())
PROJECTS = [*EXAMPLE_PROJECTS, *TARGET_CASES]
TARGETS = sorted(REGISTRY)
SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_matrix"


def _id(path: Path) -> str:
    return path.name if path.parent.name == "targets" else "-".join(path.parts)


def compile_cell(project: Path, target_name: str):
    (source,) = discover([str(project)])
    loaded = load(source)
    target = get_target(target_name)
    prospects = project / "prospects.csv"
    with_leads = target.capabilities is not None and target.capabilities.leads is not None and prospects.exists()
    result = build(loaded, target, prospects_file=str(prospects) if with_leads else None,
                   alternatives=capabilities())
    return loaded, result


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("project", PROJECTS, ids=_id)
def test_matrix(project: Path, target: str, snapshot):
    loaded, result = compile_cell(project, target)
    if result.diagnostics:
        assert all(d.code == "SEQ601" for d in result.diagnostics)
        text = report.render_text(result.diagnostics, loaded.sources, color=False)
        assert text == snapshot(name="SEQ601", extension_class=snapshot_ext("txt"))
        return
    assert not result.failed
    assert result.artifacts, "a compile that succeeds writes at least one file"
    for art in result.artifacts:
        validate_artifact(art)  # the schema gate compile applies before writing
        suffix = art.path.rsplit(".", 1)[-1]
        assert art.text == snapshot(name=art.path, extension_class=snapshot_ext(suffix))
    if result.notices or result.lines:
        text = "".join(f"{line}\n" for line in [*(n.line() for n in result.notices), *result.lines])
        assert text == snapshot(name="stderr", extension_class=snapshot_ext("txt"))


@pytest.mark.parametrize("target", [t for t in TARGETS if REGISTRY[t].capabilities is not None])
def test_output_is_deterministic(target: str):
    for project in PROJECTS:
        _, first = compile_cell(project, target)
        _, second = compile_cell(project, target)
        assert [(a.path, a.text) for a in first.artifacts] == [(a.path, a.text) for a in second.artifacts]
        assert first.diagnostics == second.diagnostics


def _schema_for(path: Path) -> tuple[str, str] | None:
    """(schema file, format) for a stored matrix snapshot, from the target in its name."""
    name = path.name
    if "[SEQ601]" in name or "[stderr]" in name or "[leads.csv]" in name:
        return None
    target = name.split("[", 1)[1].split("]", 1)[0].rsplit("-", 1)[1]
    suffix = path.suffix.lstrip(".")
    if target == "ir":
        return "ir.schema.json", "json"
    return f"{target}.schema.json", suffix


def test_every_snapshot_matches_its_schema():
    from compiler.schemas import validator

    checked = 0
    for path in sorted(SNAPSHOTS.glob("*")):
        found = _schema_for(path)
        if found is None:
            continue
        schema, fmt = found
        text = path.read_text(encoding="utf-8")
        if fmt == "csv":
            import csv
            import io

            data = list(csv.DictReader(io.StringIO(text)))
        else:
            data = json.loads(text)
        errors = list(validator(schema).iter_errors(data))
        assert not errors, f"{path.name}: {errors[0].message}"
        checked += 1
    assert checked, "no matrix snapshots found; run pytest --snapshot-update"


def test_every_cell_of_the_examples_is_a_file_or_a_seq601():
    """The outbound example is multichannel: email-only targets must reject it, not drop touches."""
    _, result = compile_cell(EXAMPLE_PROJECTS[0], "instantly")
    assert result.failed and result.diagnostics
    messages = " ".join(d.message for d in result.diagnostics)
    for touch in ("LinkedIn", "call", "path `hot`", "guard"):
        assert touch in messages

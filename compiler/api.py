"""What the commands do, as functions: load, check, plan, compile. The CLI only wires flags to these."""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from compiler.check import failed, run_rules
from compiler.config import RuleConfig, load_config
from compiler.diagnostics import Diagnostic, SeqcError
from compiler.project import LoadedProject, ProjectSource, discover, load


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    files: int = 0
    failed: bool = False
    projects: list[LoadedProject] = field(default_factory=list)
    prospects: dict[str, Any] = field(default_factory=dict)  # project display path -> ProspectSample


def load_checked(source: ProjectSource, *, select=(), ignore=(), strict=False, prospects=None,
                 loaded: LoadedProject | None = None):
    """Load one project (unless given) and run the rules with its `seqc.toml` merged with the command line."""
    config = load_config(source.root).merged(tuple(select), tuple(ignore))
    loaded = loaded if loaded is not None else load(source)
    return loaded, run_rules(loaded, config, prospects=prospects, strict=strict)


def check_paths(paths: list[str], *, select=(), ignore=(), strict=False,
                prospects_file: str | None = None) -> CheckResult:
    """`seqc check`: every project the paths name, diagnostics merged in a stable order."""
    result = CheckResult()
    bad_records = False
    for source in discover(paths):
        loaded = load(source)
        prospects = None
        if prospects_file is not None:
            prospects = _prospect_sample(source, loaded, prospects_file)
            result.prospects[source.display] = prospects
            bad_records = bad_records or bool(prospects.errors)
        loaded, diags = load_checked(source, select=select, ignore=ignore, strict=strict, prospects=prospects,
                                     loaded=loaded)
        result.projects.append(loaded)
        result.diagnostics.extend(diags)
        result.sources.update(loaded.sources)
        result.files += len(source.files)
    # --strict makes a bad prospect record fatal, like any diagnostic.
    result.failed = failed(result.diagnostics, strict=strict) or (strict and bad_records)
    return result


def _prospect_sample(source: ProjectSource, loaded: LoadedProject, prospects_file: str):
    """The prospect file as the data-aware rules read it; bad records and the counts go to stderr."""
    from compiler.rules.data import load_sample

    if loaded.project.prospect is None:
        raise SeqcError(f"{source.display}: --prospects needs a `prospect` block in the project")
    sample = load_sample(prospects_file, loaded.project)
    for error in sample.errors:
        click.echo(error.line(), err=True)
    click.echo(sample.counts.line(), err=True)
    return sample


def single_project(path: str) -> tuple[ProjectSource, LoadedProject, list[Diagnostic]]:
    """The one project a `plan`/`compile`/`preview` path names, checked; errors printed."""
    sources = discover([path])
    if len(sources) > 1:
        names = ", ".join(s.display for s in sources)
        raise SeqcError(f"{path} holds several projects ({names}); name one")
    source = sources[0]
    loaded, diags = load_checked(source)
    return source, loaded, diags


def report_errors(loaded: LoadedProject, diags: list[Diagnostic]) -> bool:
    """Print error diagnostics to stderr; True when there were any."""
    from compiler import report

    errors = [d for d in diags if d.severity.value == "error"]
    if errors:
        click.echo(report.render_text(errors, loaded.sources, color=False), err=True, nl=False)
    return bool(errors)


def parse_date_option(text: str | None, flag: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise SeqcError(f"{flag} {text!r} is not a date (YYYY-MM-DD)") from None


def plan_command(path: str, *, sequence_name: str | None, start: str | None, tz: str | None, fmt: str) -> int:
    from compiler import plan as plan_mod
    from compiler import timing

    start_date = parse_date_option(start, "--start")
    if tz is not None and not timing.is_valid_zone(tz):
        raise SeqcError(f"--tz {tz!r} is not a known IANA time zone (like America/New_York)")
    _, loaded, diags = single_project(path)
    if report_errors(loaded, diags):
        return 1
    plans = plan_mod.plan_project(loaded.project, today=dt.date.today(), sequence=sequence_name,
                                  start=start_date, tz=tz)
    render = {"table": plan_mod.render_table, "markdown": plan_mod.render_markdown,
              "json": plan_mod.render_json}[fmt]
    text = render(plans)
    click.echo(text, nl=not text.endswith("\n"))
    return 0


def compile_command(path: str, target_name: str, *, out_dir: str | None, prospects_file: str | None,
                    strict: bool, options: dict | None = None) -> int:
    """`seqc compile`: lower, check (SEQ601), emit, validate every file, write atomically or to stdout.

    stderr gets, in order: approximation warnings, SEQ601 diagnostics (exit 1, nothing written),
    prospect problems (`row N: field: reason`), the "wrote" line, and the prospect counts last.
    """
    from compiler.build import build
    from targets import capabilities, get_target

    if options and target_name != "hubspot":
        raise SeqcError("--hubspot-beta needs --target hubspot")
    target = get_target(target_name, **(options or {}))
    _, loaded, diags = single_project(path)
    if report_errors(loaded, diags):
        return 1
    result = build(loaded, target, prospects_file=prospects_file, strict=strict, alternatives=capabilities())
    for notice in result.notices:
        click.echo(notice.line(), err=True)
    if report_errors(loaded, result.diagnostics):
        return 1
    for line in result.lines:
        click.echo(line, err=True)
    artifacts = result.artifacts
    if result.failed:
        _echo_counts(result.counts_line)
        return 1
    paths = [a.path for a in artifacts]
    if len(set(paths)) != len(paths):
        raise RuntimeError(f"--target {target_name} produced two files with one name: {sorted(paths)}")
    for art in artifacts:
        validate_artifact(art)
    if out_dir is None:
        if len(artifacts) != 1:
            names = ", ".join(a.path for a in artifacts)
            raise SeqcError(f"--target {target_name} writes {len(artifacts)} files ({names}); give -o DIR")
        sys.stdout.write(artifacts[0].text)
        _echo_counts(result.counts_line)
        return 0
    from compiler.output import write_tree

    final = write_tree(out_dir, target.name, [(a.path, a.text) for a in artifacts])
    click.echo(f"wrote {len(artifacts)} file{'s' if len(artifacts) != 1 else ''} to {final}", err=True)
    _echo_counts(result.counts_line)
    return 0


def _echo_counts(line: str | None) -> None:
    if line is not None:
        click.echo(line, err=True)


def validate_artifact(art) -> None:
    """Check an artifact against its schema before anything is written (JSON, or CSV rows as objects)."""
    if art.schema is None:
        return
    from compiler.schemas import validator

    if getattr(art, "format", "json") == "csv":
        data = _csv_rows(art.text)
    else:
        data = json.loads(art.text)
    check = validator(art.schema)
    if art.schema == "ir.schema.json":   # in pieces: a guard may nest deeper than jsonschema can recurse
        from compiler.ir_schema import iter_errors

        found = iter_errors(check, data)
    else:
        found = check.iter_errors(data)
    errors = sorted(found, key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "(root)"
        raise RuntimeError(f"{art.path} does not match {art.schema} at {where}: {first.message}")


def _csv_rows(text: str) -> list[dict[str, str]]:
    """The rows of a CSV artifact as objects, however long a cell (a long guard's text is one cell).

    The csv module refuses fields over its limit (131 072 characters by default); the limit is
    process-wide, so it is raised for this read only.
    """
    import csv
    import io

    before = csv.field_size_limit()
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            break
        except OverflowError:  # sys.maxsize does not fit a C long on some platforms (Windows)
            limit //= 2
    try:
        return list(csv.DictReader(io.StringIO(text)))
    finally:
        csv.field_size_limit(before)


def rules_text(code: str | None) -> str:
    from compiler.rules import ALL_RULES, BY_CODE

    if code is None:
        width = max(len(r.name) for r in ALL_RULES)
        lines = [f"{r.code}  {r.severity.value[0].upper()}  {r.name.ljust(width)}  {r.summary()}" for r in ALL_RULES]
        return "\n".join(lines) + "\n"
    rule = BY_CODE.get(code.upper())
    if rule is None:
        from compiler.suggest import did_you_mean

        hint = did_you_mean(code.upper(), BY_CODE)
        raise SeqcError(f"no rule {code}" + (f"; {hint}" if hint else "") + " (`seqc rules` lists them)")
    return f"{rule.code} ({rule.severity.value}, {rule.name})\n\n{rule.doc()}\n"


def project_root(loaded: LoadedProject) -> Path:
    return Path(loaded.project.root)

"""Running the rules over a loaded project and filtering what they find."""

from __future__ import annotations

from compiler.config import RuleConfig
from compiler.diagnostics import Diagnostic, Severity
from compiler.project import LoadedProject
from compiler.rules import ALL_RULES, CatalogEntry, RuleContext


def run_rules(loaded: LoadedProject, config: RuleConfig = RuleConfig(), *, prospects=None,
              strict: bool = False) -> list[Diagnostic]:
    """All diagnostics for a project: load problems, then every enabled rule, filtered and sorted.

    A project with syntax errors reports only those: rules on a half-parsed
    program would mostly report the syntax errors again, in worse words.
    """
    found = list(loaded.diagnostics)
    if not loaded.has_syntax_errors:
        ctx = RuleContext(loaded.project, prospects)
        for rule_cls in ALL_RULES:
            if issubclass(rule_cls, CatalogEntry) or not config.enabled(rule_cls.code):
                continue
            if rule_cls.needs_prospects and prospects is None:
                continue
            found.extend(rule_cls().check(ctx))
    return finalize(found, loaded, config, strict=strict)


def finalize(found: list[Diagnostic], loaded: LoadedProject, config: RuleConfig, *,
             strict: bool = False) -> list[Diagnostic]:
    """Selection, severity overrides, `# seqc: ignore` suppressions, de-duplication and order."""
    out: dict[tuple, Diagnostic] = {}
    suppressions = loaded.project.suppressions
    for d in found:
        if d.code != "SEQ001" and not config.enabled(d.code):
            continue
        if d.span is not None and _suppressed(d, suppressions):
            continue
        d = d.with_severity(config.severity_for(d.code, d.severity))
        out.setdefault((d.code, d.message, d.span), d)
    return sorted(out.values(), key=Diagnostic.sort_key)


def _suppressed(d: Diagnostic, suppressions) -> bool:
    for s in suppressions:
        if s.file == d.span.file and s.first_line <= d.span.line <= s.last_line and d.code in s.codes:
            return True
    return False


def failed(diagnostics: list[Diagnostic], *, strict: bool) -> bool:
    """Exit 1 when any error (or, with --strict, any diagnostic at all) was found."""
    if strict:
        return bool(diagnostics)
    return any(d.severity is Severity.ERROR for d in diagnostics)

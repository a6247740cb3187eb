"""`seqc check --launch`: the guide's 10-point pre-launch checklist, built from the rules' findings.

Each item is passed, failed (with the findings behind it: code, file, line) or not checkable
offline (with what would make it checkable). The checklist runs every rule with its default
severity whatever `--select`/`--ignore`/`seqc.toml` say — a launch gate cannot be switched
off by a flag — but honours `# seqc: ignore CODE` comments, which accept a finding in the
source for everyone to review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from compiler import ir
from compiler.check import run_rules
from compiler.config import RuleConfig
from compiler.diagnostics import Diagnostic, Severity, Span
from compiler.rules.deliverability import CRM_MARK, REPLY_MARK

PASSED, FAILED, UNCHECKABLE = "passed", "failed", "not checkable"
PERSONALIZATION = ("SEQ301", "SEQ302", "SEQ303", "SEQ304", "SEQ305")


@dataclass(frozen=True)
class Item:
    """One checklist line: its status, a one-line reason, the codes it maps to, and the findings."""

    number: int
    title: str
    status: str
    detail: str
    codes: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()  # "file:line:col: CODE message" lines


@dataclass(frozen=True)
class ProjectChecklist:
    project: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Report:
    projects: tuple[ProjectChecklist, ...]

    @property
    def failed(self) -> bool:
        """True when any checkable item failed (the CLI exits 1)."""
        return any(item.status == FAILED for p in self.projects for item in p.items)


def checklist(result) -> Report:
    """The checklist for every project of a `CheckResult` (`api.check_paths`)."""
    out = []
    for loaded in result.projects:
        sample = result.prospects.get(loaded.project.root)
        diags = run_rules(loaded, RuleConfig(), prospects=sample)
        out.append(ProjectChecklist(loaded.project.root, tuple(_items(loaded, diags, sample))))
    return Report(tuple(out))


# ---------------------------------------------------------------- the ten items


class _Facts:
    """What the item functions look at: the IR, the findings by code, the prospect file."""

    def __init__(self, project: ir.Project, diags: list[Diagnostic], sample) -> None:
        self.project = project
        self.campaign = project.campaign
        self.sample = sample
        self.diags = diags

    def found(self, *codes: str, severities=(Severity.ERROR, Severity.WARNING),
              where: Callable[[Diagnostic], bool] | None = None) -> list[Diagnostic]:
        return [d for d in self.diags if d.code in codes and d.severity in severities and (where is None or where(d))]


def _items(loaded, diags: list[Diagnostic], sample) -> Iterable[Item]:
    if loaded.has_syntax_errors:
        lines = _lines(d for d in diags if d.code == "SEQ001")
        for number, (title, _) in enumerate(_ITEMS, 1):
            yield Item(number, title, FAILED, "the project has syntax errors; fix them first", ("SEQ001",), lines)
        return
    facts = _Facts(loaded.project, diags, sample)
    for number, (title, build) in enumerate(_ITEMS, 1):
        status, detail, codes, findings = build(facts)
        yield Item(number, title, status, detail, codes, tuple(_lines(findings)))


def _lines(findings: Iterable[Diagnostic | str]) -> list[str]:
    return [d if isinstance(d, str) else f"{_where(d.span)}{d.code} {d.message}" for d in findings]


def _where(span: Span | None) -> str:
    return f"{span.file}:{span.line}:{span.column}: " if span is not None else ""


def _no_campaign(codes: tuple[str, ...]):
    return FAILED, "the project has no `campaign` block to declare it in", codes, []


def _list_hygiene(f: _Facts):
    codes = ("SEQ412",)
    if f.sample is None:
        return UNCHECKABLE, "needs the prospect file: `seqc check --launch --prospects FILE`", codes, []
    warnings = f.found(*codes)
    infos = f.found(*codes, severities=(Severity.INFO,))
    rejected = len(f.sample.errors)
    if warnings or rejected:
        parts = [f"{rejected} record{'s' if rejected != 1 else ''} rejected (listed on stderr)"] if rejected else []
        if warnings:
            parts.append(f"{f.sample.file} has addresses that should not be mailed as they are")
        return FAILED, "; ".join(parts), codes, warnings
    if infos:
        return UNCHECKABLE, "no verification status to read: " + infos[0].message.split(": ", 2)[-1], codes, infos
    n = len(f.sample.records)
    return PASSED, f"{n} prospects in {f.sample.file}: verified, no duplicates, no role addresses", codes, []


def _warmup(f: _Facts):
    codes = ("SEQ403",)
    c = f.campaign
    if c is None:
        return _no_campaign(codes)
    if c.start is None or c.enroll_per_day is None or c.sender is None:
        return (UNCHECKABLE, "declare `start`, `enroll N per day` and a `sender` with `mailboxes` to check the "
                "planned volume", codes, [])
    found = f.found(*codes)
    if found:
        return FAILED, "planned emails exceed what the warming mailboxes may send", codes, found
    basis = (f"split by the routes of {f.sample.file}" if f.sample is not None
             else "worst case: every enrollee on the heaviest sequence")
    return PASSED, f"planned volume stays within warm-up capacity ({basis})", codes, []


def _authentication(f: _Facts):
    codes = ("SEQ404",)
    if f.campaign is None:
        return _no_campaign(codes)
    found = f.found(*codes)
    if found:
        return FAILED, "SPF, DKIM and DMARC are not all declared", codes, found
    return PASSED, "SPF, DKIM and DMARC declared (DNS records are not looked up offline: verify them)", codes, []


def _personalization(f: _Facts):
    found = f.found(*PERSONALIZATION)
    if found:
        return FAILED, "templates do not match the prospect block", PERSONALIZATION, found
    detail = "every template uses declared fields, guards optional ones, parses, and greets by first name"
    if f.sample is not None:
        detail += f"; try a few leads with `seqc preview --prospects {f.sample.file} --limit 5`"
    return PASSED, detail, PERSONALIZATION, []


def _ab_test(f: _Facts):
    tested = [(seq, step) for seq in f.project.sequences for step in seq.all_steps()
              if step.channel == "email" and len(step.variants) >= 2]
    if tested:
        names = ", ".join(f"`{step.name}` ({seq.name})" for seq, step in tested[:4])
        return PASSED, f"variants on {names}" + (", …" if len(tested) > 4 else ""), (), []
    openers = [f"{_where(step.name_span)}`{step.name}` of `{seq.name}` has no `variant` blocks"
               for seq in f.project.sequences for step in seq.steps[:1] if step.channel == "email"]
    return FAILED, "no email has `variant` blocks to test subject lines or hooks", (), openers


def _reply_routing(f: _Facts):
    codes = ("SEQ409",)
    if f.campaign is None:
        return _no_campaign(codes)
    found = f.found(*codes, where=lambda d: REPLY_MARK in d.message)
    if found:
        return FAILED, "replies have no monitored inbox", codes, found
    return PASSED, f"replies go to {f.campaign.sender.reply_to}", codes, []


def _unsubscribe(f: _Facts):
    codes = ("SEQ401",)
    found = f.found(*codes)
    if found:
        return FAILED, "some emails carry no opt-out", codes, found
    return (PASSED, "every email carries the opt-out (the sending tool must honour it within 2 days: "
            "not checkable offline)", codes, [])


def _time_zones(f: _Facts):
    codes = ("SEQ410",)
    found = f.found(*codes)
    fixed = [f"{_where(seq.timezone.span if seq.timezone else seq.name_span)}sequence `{seq.name}` does not "
             "send in the prospect's time zone (`timezone prospect else \"Zone\"`)"
             for seq in f.project.sequences if seq.timezone is None or not seq.timezone.prospect]
    if found or fixed:
        return FAILED, "send times are not in each prospect's own time zone", codes, [*found, *fixed]
    detail = "every sequence sends in the prospect's time zone"
    tz = next((x for x in f.project.prospect.fields if x.type == "timezone"), None) if f.project.prospect else None
    if f.sample is not None and tz is not None:
        missing = sum(1 for r in f.sample.records if tz.name not in r.data)
        if missing:
            detail += f"; {missing} prospect{'s' if missing != 1 else ''} without one get the fallback zone"
    return PASSED, detail, codes, []


def _compliance(f: _Facts):
    codes = ("SEQ402", "SEQ411")
    c = f.campaign
    if c is None:
        return _no_campaign(codes)
    found = f.found(*codes)
    if found:
        return FAILED, "postal address or lawful basis missing", codes, found
    infos = f.found("SEQ411", severities=(Severity.INFO,))
    if infos:
        return (UNCHECKABLE, "no lawful basis declared; whether any prospect is in the EU/EEA/UK needs "
                "`--prospects FILE`", codes, infos)
    basis = c.compliance.lawful_basis if c.compliance else None
    if basis:
        return (PASSED, f"postal address and lawful basis (`{basis}`) declared; review consent rules for your "
                "data (GDPR, CCPA, Germany's UWG) with counsel", codes, [])
    if f.sample is None:
        return UNCHECKABLE, "no lawful basis declared; EU/EEA/UK exposure needs `--prospects FILE`", codes, []
    return PASSED, f"postal address declared; no prospect in {f.sample.file} is in the EU/EEA/UK", codes, []


def _crm(f: _Facts):
    codes = ("SEQ409",)
    if f.campaign is None:
        return _no_campaign(codes)
    found = f.found(*codes, where=lambda d: CRM_MARK in d.message)
    if found:
        return FAILED, "touches are not logged to a CRM", codes, found
    return PASSED, f"touches and replies logged to `{f.campaign.crm}`", codes, []


_ITEMS = (
    ("List hygiene", _list_hygiene),
    ("Domain warm-up", _warmup),
    ("Authentication", _authentication),
    ("Personalization fields", _personalization),
    ("A/B test setup", _ab_test),
    ("Reply routing", _reply_routing),
    ("Unsubscribe handling", _unsubscribe),
    ("Time zone alignment", _time_zones),
    ("Compliance", _compliance),
    ("CRM logging", _crm),
)


# ---------------------------------------------------------------- text


def render(report: Report) -> str:
    """The checklist as plain text: one block per project, a line per item, findings indented."""
    blocks = []
    width = max(len(title) for title, _ in _ITEMS)
    for project in report.projects:
        lines = [f"Pre-launch checklist: {project.project}"]
        for item in project.items:
            codes = f" [{', '.join(item.codes)}]" if item.codes else ""
            lines.append(f"{item.number:>3}. {item.title.ljust(width)}  {item.status.ljust(13)}  "
                         f"{item.detail}{codes}")
            lines.extend(f"       {finding}" for finding in item.findings)
        tally = {s: sum(1 for i in project.items if i.status == s) for s in (PASSED, FAILED, UNCHECKABLE)}
        lines.append(f"{tally[PASSED]} passed, {tally[FAILED]} failed, {tally[UNCHECKABLE]} not checkable")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

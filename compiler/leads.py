"""The leads file: valid prospects, routed to their campaign, with pre-rendered custom fields.

One row per valid, routed prospect, in file order. Columns: the campaign the row belongs to,
the address, the tool's standard lead columns for the declared fields it has, the declared
fields the payloads use as custom variables, then the custom fields seqc renders per
prospect (content branches, fallbacks and template logic the tool cannot express).

Prospect values are untrusted. Every cell is made safe for spreadsheets (OWASP CSV
injection: a cell starting with `= + - @`, a tab or a carriage return gets a leading `'`),
the file is UTF-8 with `\\n` line ends, and a value with line breaks or quotes is quoted.
Bad records are reported as `row N: field: reason` and left out; so are records no route
takes and records whose fields cannot be rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler import ir
from compiler.capabilities import LeadFormat
from compiler.diagnostics import Diagnostic, SeqcError, Severity
from compiler.lower.passes import campaign_window, zone_names
from compiler.lower.program import CustomField, LSequence, Program
from compiler.lower.text import format_value
from compiler.lower.zones import ZoneChoice, map_zone
from compiler.prospects import Counts, Record, RecordError, load_prospects, show
from compiler.render import RenderError, prospect_context, render
from compiler.routing import holds, route_sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix `'`)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


_SPECIAL = (",", '"', "\r", "\n")


def _quoted(cell: str) -> str:
    # Quote any cell holding a separator, a quote or a line break of any kind: Python's csv module
    # leaves a lone "\r" unquoted when the line terminator is "\n", which would split the row.
    if any(ch in cell for ch in _SPECIAL):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """Deterministic RFC 4180 CSV with `\\n` line ends; every cell formula-safe and quoted when needed."""
    lines = [",".join(_cell_text(c) for c in row) for row in [header, *rows]]
    return "".join(line + "\n" for line in lines)


def _cell_text(cell: str) -> str:
    return _quoted(safe_cell(cell))


def key_field(prospect: ir.Prospect) -> ir.Field | None:
    """The field holding the prospect's address: `email`, else the first field of type email."""
    named = prospect.field("email")
    if named is not None:
        return named
    return next((f for f in prospect.fields if f.type == "email"), None)


@dataclass(frozen=True, slots=True)
class Lead:
    """One row: the campaign (sequence + zone group) it goes to, and the rest of its CSV line.

    The campaign column comes first and its value (the campaign's key) is known only once
    every row is read; the other cells are kept already written out (`,cell,cell…`), which
    holds a row in far less memory than a dict of cells (a 100,000-lead compile: 269 → 99 MB peak).
    """

    sequence: str
    zone: ZoneChoice | None
    rest: str


@dataclass
class Leads:
    """The routed rows, the record problems (`row N: field: reason`) and the counts."""

    header: list[str]
    rows: list[Lead] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def text(self, keys: dict[tuple[str, ZoneChoice | None], str], campaign_column: str) -> str:
        """The file: `csv_text` of the header and every row, with each row's campaign key filled in."""
        assert self.header[0] == campaign_column
        parts = [",".join(_cell_text(c) for c in self.header), "\n"]
        for lead in self.rows:
            parts += (_cell_text(keys[(lead.sequence, lead.zone)]), lead.rest, "\n")
        return "".join(parts)

    def line_rest(self, cells: dict[str, str]) -> str:
        """A row's cells after the campaign column, as they stand in the file."""
        return "".join("," + _cell_text(cells.get(column, "")) for column in self.header[1:])


def check_leads(program: Program) -> list[Diagnostic]:
    """SEQ601 when the project cannot feed this target's leads file at all."""
    prospect = program.project.prospect
    layout = program.caps.leads
    if layout is None:
        return [Diagnostic("SEQ601", Severity.ERROR, f"{program.target} takes no leads file",
                           prospect.span if prospect else None, "compile without --prospects")]
    if prospect is not None and key_field(prospect) is None:
        return [Diagnostic("SEQ601", Severity.ERROR,
                           f"{program.target} cannot express leads without an address: the prospect block "
                           "declares no `email` field", prospect.span,
                           "declare `email: email required` in the prospect block")]
    return []


def header(program: Program) -> list[str]:
    """The leads file's columns, in a fixed order (see module doc)."""
    layout: LeadFormat = program.caps.leads  # type: ignore[assignment]
    prospect = program.project.prospect
    assert prospect is not None
    columns = [layout.campaign, layout.key]
    declared = [f.name for f in prospect.fields]
    for name in declared:
        if name in layout.columns and layout.columns[name] not in columns:
            columns.append(layout.columns[name])
    used = set(program.variables)
    for name in declared:
        if name not in layout.columns and (layout.all_fields or name in used) and name not in columns:
            columns.append(name)
    for custom in program.fields:
        if custom.name not in columns:
            columns.append(custom.name)
    return columns


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _zone(lseq: LSequence, program: Program, data: dict, horizon) -> tuple[ZoneChoice | None, str | None]:
    """The zone group of a prospect (None for sequences not split), or why there is none."""
    if not lseq.zone_split:
        return None, None
    fallback, per_prospect = zone_names(lseq.seq)
    name = data.get("timezone") if per_prospect and isinstance(data.get("timezone"), str) else fallback
    zones = program.caps.schedule.zones
    if zones is None:
        return ZoneChoice(name, name), None
    _, start, end = campaign_window(lseq.seq)
    choice = map_zone(name, zones, start, end, horizon)
    if choice is None:
        return None, f"{program.target} has no time zone that keeps {name}'s clock in the send window"
    # A campaign is one listed zone (and window shift), whichever prospect zones map onto it.
    return ZoneChoice(choice.zone, choice.zone, choice.shift), None


def _render(custom: CustomField, data: dict, ctx) -> str:
    for cond, source in custom.arms:
        if holds(cond, data):
            return format_value(render(source, ctx, name=f"{custom.step}.{custom.field}"), custom.format)
    return ""


def build_leads(program: Program, path: str, horizon) -> Leads:
    """Read, validate, route and render every prospect of `path` for `program`'s target."""
    prospect = program.project.prospect
    if prospect is None:
        raise SeqcError("--prospects needs a `prospect` block in the project")
    layout: LeadFormat = program.caps.leads  # type: ignore[assignment]
    key = key_field(prospect)
    assert key is not None
    leads = Leads(header(program))
    by_sequence: dict[str, list[CustomField]] = {}
    for custom in program.fields:
        by_sequence.setdefault(custom.sequence, []).append(custom)
    wanted = set(leads.header)
    for item in load_prospects(path, prospect):
        leads.counts.add(item)
        if isinstance(item, RecordError):
            leads.lines.append(item.line())
            continue
        lead = _lead(program, layout, key, item, by_sequence, wanted, horizon, leads)
        if lead is not None:
            leads.rows.append(lead)
    return leads


def _lead(program: Program, layout: LeadFormat, key: ir.Field, record: Record,
          by_sequence: dict[str, list[CustomField]], wanted: set[str], horizon, leads: Leads) -> Lead | None:
    data = record.data
    seq = route_sequence(program.project, data)
    lseq = program.sequence(seq.name) if seq is not None else None
    if lseq is None:
        leads.counts.unrouted += 1
        leads.lines.append(f"row {record.row}: (record): no route takes this prospect")
        return None
    leads.counts.routed += 1
    zone, problem = _zone(lseq, program, data, horizon)
    if problem is not None:
        leads.lines.append(f"row {record.row}: timezone: {problem}")
        return None
    cells = {layout.key: _cell(data.get(key.name))}
    for f in program.project.prospect.fields:  # declared fields only: extra file columns stay out
        column = layout.columns.get(f.name, f.name)
        if column in wanted and column not in cells:
            cells[column] = _cell(data.get(f.name))
    ctx = prospect_context(program.project.prospect, data)
    for custom in by_sequence.get(lseq.name, ()):
        try:
            cells[custom.name] = _render(custom, data, ctx)
        except RenderError as exc:
            leads.lines.append(f"row {record.row}: {custom.step}.{custom.field}: {show(exc.message, 200)}")
            return None
    leads.counts.rendered += 1
    return Lead(lseq.name, zone, leads.line_rest(cells))


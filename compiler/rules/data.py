"""What the rules read besides the bare IR: prospect records, typical values, word lists, step contents.

`seqc check --prospects FILE` loads the file once into a `ProspectSample` (valid records,
rejected ones, counts, and the sequence each record routes to); the data-aware rules
(SEQ403, SEQ406, SEQ410, SEQ411, SEQ412) find it in `RuleContext.prospects`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler import ir
from compiler.prospects import Counts, Record, RecordError, load_prospects

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

#: Sample values for subjects rendered without a prospect file (SEQ406): realistic, a bit long.
SAMPLE_BY_NAME = {
    "first_name": "Alexandra", "firstname": "Alexandra", "given_name": "Alexandra",
    "last_name": "Richardson", "lastname": "Richardson", "family_name": "Richardson",
    "full_name": "Alexandra Richardson", "name": "Alexandra Richardson",
    "company": "Northwind Analytics", "company_name": "Northwind Analytics", "account": "Northwind Analytics",
    "organization": "Northwind Analytics", "organisation": "Northwind Analytics",
    "title": "VP of Sales Enablement", "job_title": "VP of Sales Enablement", "role": "VP of Sales Enablement",
    "industry": "Financial services", "city": "San Francisco", "funding_round": "Series B",
}
SAMPLE_BY_TYPE = {
    "text": "Northwind Analytics", "int": 250, "number": 12.5, "bool": True, "date": "2027-01-05",
    "email": "alexandra.richardson@northwind-analytics.com", "url": "https://www.linkedin.com/in/alexandra-richardson",
    "phone": "+1 415 555 0134", "timezone": "America/New_York", "country": "US",
}
TYPICAL_PERCENTILE = 0.9


# ---------------------------------------------------------------- the prospect file


@dataclass(frozen=True)
class ProspectSample:
    """A prospect file as the rules see it.

    `routes[i]` is the name of the sequence `records[i]` routes to (None: no route takes it).
    """

    file: str
    prospect: ir.Prospect
    records: tuple[Record, ...]
    errors: tuple[RecordError, ...]
    counts: Counts
    routes: tuple[str | None, ...]

    def routed_to(self, sequence: str) -> list[Record]:
        return [r for r, s in zip(self.records, self.routes) if s == sequence]


def load_sample(path: str, project: ir.Project) -> ProspectSample:
    """Read and validate every record of `path` against the project's prospect block, and route it.

    Raises:
        SeqcError: for file-level problems (missing, not UTF-8, a header without a required column).
    """
    from compiler.routing import route_sequence

    assert project.prospect is not None
    counts = Counts()
    records: list[Record] = []
    errors: list[RecordError] = []
    routes: list[str | None] = []
    for item in load_prospects(path, project.prospect):
        counts.add(item)
        if isinstance(item, Record):
            records.append(item)
            seq = route_sequence(project, item.data)
            routes.append(seq.name if seq is not None else None)
            if seq is None:
                counts.unrouted += 1
            else:
                counts.routed += 1
        else:
            errors.append(item)
    return ProspectSample(path, project.prospect, tuple(records), tuple(errors), counts, tuple(routes))


def rows_text(rows: Iterable[int], limit: int = 5) -> str:
    """`rows 3, 7, 9, …` (or `row 3`), listing at most `limit` rows."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:limit]) + (", …" if len(rows) > limit else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def field_of_type(prospect: ir.Prospect | None, ftype: str, preferred: str) -> ir.Field | None:
    """The field named `preferred` if it has type `ftype`, else the first field of that type."""
    if prospect is None:
        return None
    named = prospect.field(preferred)
    if named is not None and named.type == ftype:
        return named
    return next((f for f in prospect.fields if f.type == ftype), None)


# ---------------------------------------------------------------- typical values (SEQ406)


def sample_value(f: ir.Field) -> Any:
    """A realistic value for a field when there is no prospect file."""
    if f.name in SAMPLE_BY_NAME and f.type == "text":
        return SAMPLE_BY_NAME[f.name]
    if f.type == "enum":
        return max(f.enum_values, key=len) if f.enum_values else "value"
    return SAMPLE_BY_TYPE.get(f.type, "Northwind Analytics")


def typical_record(prospect: ir.Prospect | None, sample: ProspectSample | None) -> dict[str, Any]:
    """One made-up record with a typical value per field.

    With a prospect file, each field gets the value at the 90th percentile of length among
    the records that have one (long, but not one outlier); fields no record fills, and
    every field without a file, get a sample value by name or type.
    """
    out: dict[str, Any] = {}
    for f in prospect.fields if prospect else ():
        values = [r.data[f.name] for r in sample.records if f.name in r.data] if sample else []
        if values:
            values.sort(key=lambda v: len(str(v)))
            out[f.name] = values[max(math.ceil(TYPICAL_PERCENTILE * len(values)) - 1, 0)]
        else:
            out[f.name] = sample_value(f)
    return out


def sender_builtins(campaign: ir.Campaign | None) -> dict[str, str]:
    """Values for the built-in variables, from the campaign's sender where it says them."""
    import email.utils

    name, address = "Dana Reyes", "dana@example.com"
    if campaign is not None and campaign.sender is not None and campaign.sender.from_:
        parsed_name, parsed_address = email.utils.parseaddr(campaign.sender.from_)
        name, address = parsed_name or name, parsed_address or address
    company = "Acme Inc."
    if campaign is not None and campaign.compliance is not None and campaign.compliance.postal_address:
        company = campaign.compliance.postal_address.split(",")[0].strip() or company
    return {"sender_name": name, "sender_first_name": name.split()[0], "sender_email": address,
            "sender_company": company, "unsubscribe_url": "https://example.com/unsubscribe/3f9a1c"}


# ---------------------------------------------------------------- spam wording (SEQ405)


@functools.cache
def spam_phrases() -> tuple[str, ...]:
    """The phrases of `compiler/data/spam_phrases.txt` (sources in its header)."""
    text = (DATA_DIR / "spam_phrases.txt").read_text(encoding="utf-8")
    return tuple(line.strip().casefold() for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))


@functools.cache
def _spam_pattern() -> re.Pattern[str]:
    # Longest first, so "100% free" wins over "free".
    phrases = sorted(spam_phrases(), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)", re.IGNORECASE)


def spam_hits(text: str) -> list[str]:
    """The spam phrases in `text`, each once, in order of appearance."""
    seen: list[str] = []
    for m in _spam_pattern().finditer(text):
        hit = m.group(0).casefold()
        if hit not in seen:
            seen.append(hit)
    return seen


# ---------------------------------------------------------------- unsubscribe (SEQ401)


def unsubscribe_requirement(campaign: ir.Campaign | None) -> tuple[frozenset[str], str | None, str]:
    """What every email body must contain: (variables, literal text, how to name it).

    A declared `unsubscribe "{{ unsubscribe_url }}"` asks for the variables it uses; a
    declared plain text (a link, "reply STOP") asks for that text; with nothing declared,
    every email needs `{{ unsubscribe_url }}`.
    """
    from compiler.template_analysis import analyze

    declared = campaign.compliance.unsubscribe if campaign and campaign.compliance else None
    if declared is None:
        return frozenset({"unsubscribe_url"}), None, "`{{ unsubscribe_url }}`"
    names = analyze(declared.source).names
    if names:
        shown = ", ".join(f"`{{{{ {n} }}}}`" for n in sorted(names))
        return names, None, shown
    text = " ".join(declared.source.split())
    return frozenset(), text.casefold(), f"\"{text}\""


def has_unsubscribe(source: str, names: frozenset[str], text: str | None) -> bool:
    if text is not None:
        return text in " ".join(source.split()).casefold()
    return all(uses_variable(source, n) for n in names)


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "0%"


def describe_counts(values: Mapping[str, int]) -> str:
    """`4 risky, 3 unknown, 5 empty`, largest first."""
    return ", ".join(f"{n} {k}" for k, n in sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


def plural(n: int, noun: str, verb: tuple[str, str] | None = None) -> str:
    """`1 prospect`, `3 prospects`; with `verb=("is", "are")`, `1 prospect is`, `3 prospects are`."""
    text = f"{n} {noun}" if n == 1 else f"{n} {noun}s"
    return f"{text} {verb[0] if n == 1 else verb[1]}" if verb else text


# ---------------------------------------------------------------- what a step can send


def step_contents(step: ir.Step):
    """(label, content) for every content the step can send; the label names the variant or branch."""
    variants = [(f" (variant `{v.name}`)", v.content) for v in step.variants] or [("", ir.Content())]
    branches = [(_branch_label(b, i), b.content) for i, b in enumerate(step.branches, 1)] or [("", ir.Content())]
    for vl, vc in variants:
        for bl, bc in branches:
            yield vl + bl, step.content.merged(vc).merged(bc)


def _branch_label(branch: ir.Branch, index: int) -> str:
    return " (its `else` branch)" if branch.cond is None else f" (its `when` branch {index})"


def labelled_templates(step: ir.Step, field: str) -> list[tuple[str, ir.Template]]:
    """Each distinct template of `field` the step can send, with the first label it is sent under."""
    out: list[tuple[str, ir.Template]] = []
    for label, content in step_contents(step):
        tpl = getattr(content, field)
        if tpl is not None and all(tpl is not t for _, t in out):
            out.append((label, tpl))
    return out


# ---------------------------------------------------------------- template text, cheaply


def analysis(ctx, source: str):
    """`template_analysis.analyze(source)`, kept for the whole rule run (its own cache is bounded)."""
    memo = ctx.memo("data.analysis", dict)
    info = memo.get(source)
    if info is None:
        from compiler.template_analysis import analyze

        info = memo[source] = analyze(source)
    return info


# Jinja's default delimiters. The heuristic rules (SEQ208 similarity, SEQ405 wording, SEQ401's
# variable test) read tags with this pattern rather than Jinja's lexer, which costs ten times
# more; SEQ301/302/305 and rendering use the real parser.
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def static_parts(source: str) -> tuple[str, ...]:
    """The template's own text: the pieces outside `{{ }}`, `{% %}` and `{# #}`."""
    return tuple(part for part in _TAG.split(source) if part)


def uses_variable(source: str, name: str) -> bool:
    """True when `name` appears in a `{{ }}` or `{% %}` tag of the template (comments aside)."""
    if name not in source:
        return False
    word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)")
    return any(m.group(0)[1] != "#" and word.search(m.group(0)) for m in _TAG.finditer(source))


@functools.lru_cache(maxsize=16384)
def static_text(source: str) -> str:
    """`static_parts` joined by NUL (so no phrase spans a value), lower-cased."""
    return "\x00".join(static_parts(source)).casefold()


_SIMPLE_TAG = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_]*) *\}\}")


def simple_render(source: str, values: Mapping[str, Any]) -> str | None:
    """Render a template that is only text and plain `{{ name }}` tags without Jinja; None if it is more.

    Gives what `render.render` gives for such a template (Jinja prints a value with `str`),
    without compiling it. None also when a name has no value (SEQ302 reports that).
    """
    parts = _SIMPLE_TAG.split(source)
    texts, names = parts[0::2], parts[1::2]
    if any("{{" in t or "{%" in t or "{#" in t for t in texts):
        return None
    out = [texts[0]]
    for name, text in zip(names, texts[1:]):
        v = values.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        out += (str(v), text)
    return "".join(out)

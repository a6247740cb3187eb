"""Embed a rule doc's Bad/Good fragment into a minimal, clean project and check it.

A rule's doc examples are fragments: a step or two, a sequence setting, a campaign part, a
step field, a whole block, or the rows of a prospect CSV. `build_project` reads what the
fragment is, item by item, and puts each item where it belongs in a base project that
passes every rule (prospect block + one sequence + one campaign + a clean prospect file):

* `day N …` steps: if one of them is `day 0`, they are the whole main track; otherwise
  they join the base steps (a step with a base step's name replaces it). Written order is
  kept; base steps go before the first fragment step with a later day.
* `tier`, `timezone`, `window CHANNEL …`, `holidays`, `exit`: replace the base setting;
  `on … -> …` and `path …` are added.
* step fields (`subject`, `body`, `purpose`, `variant`, `when`, `else`, `split`, …): go into
  the base `opener` step, replacing a field of the same name.
* campaign parts (`start`, `enroll`, `route`, `sender`, `compliance`, `crm`, `goals`):
  replace the base part; `name: type` lines replace or add prospect fields.
* a `prospect`, `sequence` or `campaign` block replaces the base block; CSV rows (a header
  naming `email`) replace the prospect file.

`{ … }` in a step, or a bare `…` among its fields, stands for the fields the step needs
(a subject and body with an unsubscribe line for an email, `action connect` for LinkedIn,
a script for a call, a note for a task). Template files a fragment names are created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from compiler.check import run_rules
from compiler.config import RuleConfig
from compiler.diagnostics import Diagnostic
from compiler.project import discover, load
from compiler.rules.data import load_sample

PROSPECT_FIELDS = {
    "email": "email required",
    "first_name": "text required",
    "company": "text required",
    "title": "text",
    "timezone": "timezone",
    "country": "country",
    "phone": "phone",
    "linkedin_url": "url",
    "employees": "int",
    "funding_round": "text",
    "funding_days_ago": "int",
    "email_status": "enum(verified, risky, invalid, unknown)",
}
SEQUENCE_SETTINGS = {
    "timezone": 'timezone prospect else "America/New_York"',
    "window email": "window email tue-thu 10:00-12:00",
}
_UNSUB = "\\n\\nOpt out: {{ unsubscribe_url }}"
BASE_STEPS = (
    "day 0 email opener {\n    purpose opener\n    subject \"Ramp time at {{ company }}\"\n"
    "    body \"Hi {{ first_name }},\\n\\nNew reps at {{ company }} take months to reach quota; teams like yours "
    f"cut six weeks off that with scored practice calls. Worth a short chat?{_UNSUB}\"\n  }}",
    "day 7 email value {\n    purpose value_add\n    thread opener\n"
    "    body \"Hi {{ first_name }},\\n\\nIn case it helps either way, here is the onboarding checklist we give "
    f"new sales managers: https://example.com/checklist{_UNSUB}\"\n  }}",
    "day 14 email breakup {\n    purpose breakup\n    subject \"Closing the loop\"\n"
    "    body \"Hi {{ first_name }},\\n\\nI haven't heard back, so I will stop here. If ramp time becomes a "
    f"priority at {{{{ company }}}}, just reply to this thread.{_UNSUB}\"\n  }}",
)
CAMPAIGN_PARTS = {
    "start": "start 2027-01-05",
    "enroll": "enroll 20 per day",
    "route": "route { s }",
    "sender": ('sender {\n    from "Dana Reyes <dana@mail.example.com>"\n    reply_to "dana@example.com"\n'
               "    mailboxes 5\n    daily_limit 40\n    warmup since 2026-10-01\n    auth spf dkim dmarc\n  }"),
    "compliance": ('compliance {\n    unsubscribe "{{ unsubscribe_url }}"\n'
                   '    postal_address "Acme Inc., 100 Main St, Springfield, IL 62701, USA"\n'
                   "    lawful_basis legitimate_interest\n  }"),
    "crm": "crm hubspot",
}
PROSPECTS_CSV = (
    "email,first_name,company,title,timezone,country,employees,email_status\n"
    "alexandra.richardson@northwind.example.com,Alexandra,Northwind Analytics,VP Sales,America/New_York,US,250,verified\n"
    "jonas.becker@kesselwerk.example.de,Jonas,Kesselwerk GmbH,Head of Sales,Europe/Berlin,DE,900,verified\n"
)
DEFAULT_TEMPLATE = "Hi {{ first_name }},\n\nA short note about {{ company }}.\n\nOpt out: {{ unsubscribe_url }}\n"

SEQUENCE_WORDS = {"tier", "timezone", "holidays", "exit", "on", "path"}
CAMPAIGN_WORDS = {"start", "enroll", "route", "sender", "compliance", "crm", "goals"}
CONTENT_WORDS = {"subject", "body", "note", "script", "purpose", "thread", "variant", "split", "when", "else",
                 "action"}
BLOCK_WORDS = {"prospect", "sequence", "campaign"}
_STEP_HEAD = re.compile(r"day\s+(\d+)\s+(\w+)\s+(\w+)")
_FIELD = re.compile(r"(\w+)\s*:")
_FILE_REF = re.compile(r'\bfile\s+"([^"]+)"')
_CSV_HEADER = re.compile(r"[\w ]+(,[\w ]+)+")
_BODIES = (
    "Quick one: how long does a new rep at {{ company }} take to close a first deal?",
    "Teams your size usually lose a quarter to shadowing before new hires sell on their own.",
    "Here is the two-page playbook three sales leaders used for their last hiring class.",
    "One customer moved onboarding to practice calls and took seven weeks off ramp.",
    "If onboarding is not on your list this quarter, I will leave it there.",
    "A benchmark we just published shows where teams like yours land on ramp time.",
)


@dataclass
class Built:
    """A project folder ready to check, and whether it carries a prospect file."""

    root: Path
    prospects: Path | None
    skipped: str | None = None


@dataclass
class _Parts:
    prospect: dict[str, str] = field(default_factory=lambda: dict(PROSPECT_FIELDS))
    settings: dict[str, str] = field(default_factory=lambda: dict(SEQUENCE_SETTINGS))
    steps: list[str] | None = None  # fragment steps, in written order
    extras: list[str] = field(default_factory=list)  # `on` and `path` items
    content: list[str] = field(default_factory=list)  # step fields for the opener
    campaign: dict[str, str] = field(default_factory=lambda: dict(CAMPAIGN_PARTS))
    blocks: dict[str, str] = field(default_factory=dict)
    csv: str = PROSPECTS_CSV


# ---------------------------------------------------------------- splitting a fragment into items


def items(fragment: str) -> list[str]:
    """Top-level items: split at line ends outside braces and strings, and after a closing `}`."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    i, n = 0, len(fragment)
    while i < n:
        ch = fragment[i]
        if fragment.startswith('"""', i):
            end = fragment.find('"""', i + 3)
            end = n if end < 0 else end + 3
            cur.append(fragment[i:end])
            i = end
            continue
        if ch == '"':
            j = i + 1
            while j < n and fragment[j] != '"':
                j += 2 if fragment[j] == "\\" else 1
            cur.append(fragment[i:j + 1])
            i = j + 1
            continue
        if ch == "#":
            end = fragment.find("\n", i)
            end = n if end < 0 else end
            if depth:
                cur.append(fragment[i:end])
            i = end
            continue
        cur.append(ch)
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                _flush(out, cur)
        elif ch == "\n" and depth == 0:
            _flush(out, cur)
        i += 1
    _flush(out, cur)
    return out


def _flush(out: list[str], cur: list[str]) -> None:
    text = "".join(cur).strip()
    cur.clear()
    if text:
        out.append(text)


def _strip_strings(text: str) -> str:
    return re.sub(r'"""[\s\S]*?"""|"(?:\\.|[^"\\])*"', '""', text)


# ---------------------------------------------------------------- placeholders


def expand_step(item: str, counter: list[int]) -> str:
    """Replace `…` (outside strings) in a step with the fields its channel needs."""
    head = _STEP_HEAD.match(item)
    bare = _strip_strings(item)
    if head is None or "…" not in bare:
        return item
    channel, name = head.group(2), head.group(3)
    present = set(re.findall(r"\b(subject|body|note|script|thread|action)\b", bare.split("{", 1)[1]))
    fields = []
    if channel == "email":
        if "subject" not in present and "thread" not in present:
            fields.append(f'subject "{name.replace("_", " ").capitalize()} for {{{{ company }}}}"')
        if "body" not in present:
            text = _BODIES[counter[0] % len(_BODIES)]
            counter[0] += 1
            fields.append(f'body "Hi {{{{ first_name }}}},\\n\\n{text}{_UNSUB}"')
    elif channel == "linkedin" and "action" not in present:
        fields.append("action connect")
    elif channel == "call" and "script" not in present:
        fields.append('script "Ask {{ first_name }} about onboarding at {{ company }}."')
    elif channel == "task" and "note" not in present:
        fields.append('note "Review {{ company }} in the CRM."')
    out, i = [], 0
    while i < len(item):  # drop the ellipses that are not inside strings
        if item.startswith('"""', i):
            end = item.find('"""', i + 3) + 3
            out.append(item[i:end])
            i = end
        elif item[i] == '"':
            j = i + 1
            while j < len(item) and item[j] != '"':
                j += 2 if item[j] == "\\" else 1
            out.append(item[i:j + 1])
            i = j + 1
        else:
            out.append("" if item[i] == "…" else item[i])
            i += 1
    text = "".join(out).rstrip()
    assert text.endswith("}"), item
    return text[:-1].rstrip() + " " + " ".join(fields) + " }"


# ---------------------------------------------------------------- classifying


def _classify(parts: _Parts, item: str, counter: list[int]) -> None:
    word = item.split(None, 1)[0].rstrip("{")
    if word == "day":
        parts.steps = (parts.steps or []) + [expand_step(item, counter)]
    elif word in BLOCK_WORDS and (word != "prospect" or item.startswith("prospect {")):
        parts.blocks[word] = item
    elif word == "window":
        channel = item.split()[1] if len(item.split()) > 1 else ""
        if channel in ("email", "linkedin", "call", "task"):
            parts.settings[f"window {channel}"] = item
        else:
            parts.content.append(item)
    elif word in SEQUENCE_WORDS:
        if word in ("on", "path"):
            parts.extras.append(item)
        else:
            parts.settings[word] = item
    elif word in CAMPAIGN_WORDS:
        parts.campaign[word] = item
    elif word in CONTENT_WORDS:
        parts.content.append(item)
    elif _FIELD.match(item):
        for line in item.splitlines():
            m = _FIELD.match(line.strip())
            if m:
                parts.prospect[m.group(1)] = line.strip().split(":", 1)[1].strip()
    else:
        raise ValueError(f"the doc-example harness cannot place {item!r}")


def _steps(parts: _Parts) -> list[str]:
    base = list(BASE_STEPS)
    opener = base[0]
    if parts.content:
        opener = _with_content(opener, parts.content)
        base[0] = opener
    fragment = parts.steps
    if not fragment:
        return base
    days = [int(_STEP_HEAD.match(s).group(1)) for s in fragment]
    if 0 in days:
        return fragment
    names = {_STEP_HEAD.match(s).group(3) for s in fragment}
    out = list(fragment)
    for step in base:
        head = _STEP_HEAD.match(step)
        if head.group(3) in names:
            continue
        day = int(head.group(1))
        at = next((k for k, s in enumerate(out) if s in fragment and int(_STEP_HEAD.match(s).group(1)) > day),
                  len(out))
        out.insert(at, step)
    return out


def _with_content(step: str, content: list[str]) -> str:
    """The base opener with the fragment's step fields (same-named simple fields replaced)."""
    lines = step.splitlines()
    head, body, tail = lines[0], lines[1:-1], lines[-1]
    replaced = {c.split(None, 1)[0] for c in content if c.split(None, 1)[0] in ("subject", "body", "purpose",
                                                                                 "thread", "split")}
    kept = [line for line in body if line.split(None, 1)[0] not in replaced]
    if any(c.startswith("variant") for c in content):
        kept = [line for line in kept if not line.strip().startswith("subject")]
    return "\n".join([head, *kept, *("    " + c for c in content), tail])


def build_project(fragment: str, folder: Path) -> Built:
    """Write the base project with `fragment` embedded into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    stripped = fragment.strip()
    if stripped.startswith("seqc "):
        return Built(folder, None, skipped="a command line, not a project fragment")
    parts = _Parts()
    first = stripped.splitlines()[0] if stripped else ""
    if _CSV_HEADER.fullmatch(first) and "email" in first.split(","):
        parts.csv = stripped + "\n"
    else:
        counter = [0]
        for item in items(fragment):
            _classify(parts, item, counter)
    text = _render(parts)
    (folder / "project.seq").write_text(text, encoding="utf-8")
    for ref in _FILE_REF.findall(text):
        path = folder / ref
        if not path.exists() and ".." not in Path(ref).parts and not Path(ref).is_absolute():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(DEFAULT_TEMPLATE, encoding="utf-8")
    csv_path = folder / "prospects.csv"
    csv_path.write_text(parts.csv, encoding="utf-8")
    return Built(folder, csv_path)


def _render(parts: _Parts) -> str:
    blocks = []
    if "prospect" in parts.blocks:
        blocks.append(parts.blocks["prospect"])
    else:
        fields = "\n".join(f"  {name}: {decl}" for name, decl in parts.prospect.items())
        blocks.append(f"prospect {{\n{fields}\n}}")
    if "sequence" in parts.blocks:
        blocks.append(parts.blocks["sequence"])
    else:
        body = [*parts.settings.values(), *_steps(parts), *parts.extras]
        blocks.append('sequence s "Harness" {\n' + "\n".join("  " + b for b in body) + "\n}")
    if "campaign" in parts.blocks:
        blocks.append(parts.blocks["campaign"])
    else:
        blocks.append("campaign c {\n" + "\n".join("  " + p for p in parts.campaign.values()) + "\n}")
    return "# generated by tests/rules/harness.py\n" + "\n\n".join(blocks) + "\n"


def check_built(built: Built, code: str | None = None) -> list[Diagnostic]:
    """Run the rules (only `code`, if given) on a built project, with its prospect file."""
    (source,) = discover([built.root.as_posix()])
    loaded = load(source)
    sample = None
    if built.prospects is not None and loaded.project.prospect is not None and not loaded.has_syntax_errors:
        sample = load_sample(built.prospects.as_posix(), loaded.project)
    config = RuleConfig(select=(code,)) if code else RuleConfig()
    return run_rules(loaded, config, prospects=sample)

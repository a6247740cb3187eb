"""The rule catalog as Markdown, for docs/rules.md (generated from the rule classes' docstrings).

    .venv/bin/python -m compiler.rules.catalog docs/rules.md    # rewrite the generated part

Only the text between the `<!-- catalog:start -->` and `<!-- catalog:end -->` markers is
generated; the rest of the file is written by hand. A test checks the two agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

from compiler.rules import ALL_RULES
from compiler.rules.base import Rule

START, END = "<!-- catalog:start -->", "<!-- catalog:end -->"
FAMILIES = {"0": "Syntax", "1": "Architecture", "2": "Cadence", "3": "Personalization",
            "4": "Deliverability and compliance", "6": "Targets"}


def _example_lang(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    if first.startswith("seqc "):
        return "sh"
    if "," in first and "email" in first.split(",") and "{" not in first:
        return "csv"
    return "seq"


def rule_markdown(rule: type[Rule]) -> str:
    """One rule: a heading with code, severity and name, the summary, the rationale, Bad and Good."""
    lines = rule.doc().split("\n")
    body: list[str] = []
    for line in lines[1:]:
        if line.strip().startswith(("Bad:", "Good:")):
            break
        body.append(line)
    why = " ".join(" ".join(body).split())
    if why.startswith("Why:"):
        rest = why[len("Why:"):].strip()
        why = "**Why.** " + rest[:1].upper() + rest[1:]
    out = [f'<a id="{rule.code.lower()}"></a>', f"### {rule.code} · {rule.severity.value} · `{rule.name}`", "",
           rule.summary() + ".", "", why, ""]
    for label in ("Bad", "Good"):
        example = rule.example(label)
        if example:
            out += [f"{label}:", "", f"```{_example_lang(example)}", example, "```", ""]
    return "\n".join(out)


def markdown() -> str:
    """The generated part of docs/rules.md: the index table, then every rule by family."""
    out = [START, "", "| code | severity | name | summary |", "|---|---|---|---|"]
    out += [f"| [{r.code}](#{r.code.lower()}) | {r.severity.value} | `{r.name}` | {r.summary().replace('|', '/')} |"
            for r in ALL_RULES]
    family = None
    for rule in ALL_RULES:
        digit = rule.code[3]
        if digit != family:
            family = digit
            out += ["", f"## {FAMILIES.get(digit, 'Other')} (SEQ{digit}xx)", ""]
        out.append(rule_markdown(rule))
    out += [END]
    return "\n".join(out)


def splice(document: str) -> str:
    """`document` with its generated part replaced by the current catalog."""
    head, _, rest = document.partition(START)
    _, _, tail = rest.partition(END)
    return head + markdown() + tail


if __name__ == "__main__":  # pragma: no cover
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/rules.md")
    path.write_text(splice(path.read_text(encoding="utf-8")), encoding="utf-8")

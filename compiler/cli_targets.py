"""`seqc targets [NAME]`: the registered targets and what each can express, as a table.

Registered on the main group by the CLI (`main.add_command(targets_command)`).
"""

from __future__ import annotations

import textwrap
import unicodedata

import click


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


#: The two matrices `seqc targets` prints (as in docs/targets/README.md): what a tool can
#: send and branch on, then how it times and personalises. `seqc targets NAME` shows all rows.
MATRICES = (
    ("channels, branching, variants",
     ("channels", "linkedin actions", "guards", "paths on", "exit on", "content branches", "variants")),
    ("timing and personalisation", ("threads", "delays", "schedule", "merge tags", "fallbacks", "body")),
)
_WRAP = 18


def _wrapped(text: str, width: int = _WRAP) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    cells = [[_wrapped(c) for c in row] for row in [header, *rows]]
    widths = [max(_width(line) for row in cells for line in row[i]) for i in range(len(header))]
    out = []
    for n, row in enumerate(cells):
        height = max(len(c) for c in row)
        for k in range(height):
            parts = [_pad(c[k] if k < len(c) else "", w) for c, w in zip(row, widths)]
            out.append("  ".join(parts).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def capability_table() -> str:
    """The capability matrices: a row per target (the IR export has no capabilities: "n/a")."""
    from compiler.capabilities import describe
    from targets import REGISTRY

    names = sorted(REGISTRY)
    cells = {n: describe(c) if (c := REGISTRY[n].capabilities) is not None else {} for n in names}
    blocks = []
    for title, labels in MATRICES:
        rows = [[n, *(cells[n].get(label, "n/a") for label in labels)] for n in names]
        blocks.append("\n".join([title, *_table(["target", *labels], rows)]))
    return "\n\n".join(blocks) + "\n\n(seqc targets NAME: every capability and the lowerings of one target)\n"


def target_detail(name: str) -> str:
    """One target's capabilities, one per line, with its summary and docs page."""
    from compiler.capabilities import describe
    from targets import get_target

    target = get_target(name)
    lines = [f"{target.name}: {target.summary}", f"docs: docs/targets/{target.name}.md"]
    if target.capabilities is None:
        lines.append("exports the IR itself: every construct, no lowering, no leads file")
    else:
        described = describe(target.capabilities)
        width = max(len(k) for k in described)
        lines += [f"  {k.ljust(width)}  {v}" for k, v in described.items()]
    return "\n".join(lines) + "\n"


@click.command("targets")
@click.argument("name", required=False)
def targets_command(name: str | None) -> None:
    """List export targets and their capabilities (channels, branching, delays, merge tags …)."""
    text = capability_table() if name is None else target_detail(name)
    click.echo(text, nl=False)

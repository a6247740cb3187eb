"""`--format text`: a readable timeline per prospect, for a terminal or a file.

Every touch of the timeline is shown, skipped and stopped ones too (with the reason).
Prospect values are shown as data: control characters (terminal escapes, CR, bidi
overrides) are printed escaped (`\\x1b`, `\\r`, `\\u202e`), never sent to the terminal.
"""

from __future__ import annotations

from compiler import timing
from compiler.preview.formats import Chunk, Format
from compiler.preview.model import CONDITIONAL, SKIPPED, STOPPED, PreviewTouch, ProspectPreview
from compiler.prospects import show

_INDENT = "      "


def _one_line(value: object, limit: int = 120) -> str:
    return show(value if isinstance(value, str) else str(value), limit)


def _block(text: str) -> str:
    """Multi-line text, indented, with every control character but newline and tab escaped."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() or ch in "\n\t" else show(ch) for ch in text)
    lines = text.rstrip("\n").split("\n")
    return "\n".join((_INDENT + line).rstrip() for line in lines)


def _when(t: PreviewTouch) -> str:
    day = timing.WEEKDAY_NAMES[t.local.weekday()].capitalize()
    offset = t.local.isoformat(timespec="minutes")[-6:]
    return f"{day} {t.local:%Y-%m-%d %H:%M} {offset} ({t.utc:%H:%M} UTC)"


def _touch(t: PreviewTouch) -> str:
    label = t.step if t.track == "main" else f"{t.track}/{t.step}"
    extras = []
    if t.variant:
        extras.append(f"variant {t.variant}")
    if t.branch:
        extras.append(f"content {t.branch}")
    if t.guard and t.status not in (SKIPPED, STOPPED):
        extras.append(f"if {t.guard}")
    head = f"  {_when(t)}  {t.channel:<8}  {label}"
    if extras:
        head += "  [" + "; ".join(_one_line(e) for e in extras) + "]"
    lines = [head]
    if t.status == SKIPPED:
        lines.append(f"{_INDENT}skipped: {_one_line(t.reason or '')}")
    elif t.status == STOPPED:
        lines.append(f"{_INDENT}not sent: {_one_line(t.reason or '')}")
    else:
        if t.status == CONDITIONAL and t.reason:
            lines.append(f"{_INDENT}conditional: {_one_line(t.reason)}")
        if t.subject is not None:
            lines.append(f"{_INDENT}Subject: {_one_line(t.subject, 300)}")
            lines.append("")
        if t.body:
            lines.append(_block(t.body))
    return "\n".join(lines)


def render_prospect(p: ProspectPreview) -> str:
    who = ", ".join(_one_line(v) for v in (p.name, p.data.get("title"), p.data.get("company")) if v)
    lines = [f"row {p.row}  {_one_line(p.email)}" + (f"  {who}" if who else "")]
    if not p.routed:
        lines.append("  unrouted: no route takes this prospect")
        return "\n".join(lines) + "\n\n"
    facts = [f"sequence {p.sequence} (route: {_one_line(p.route)})", f"enrolled {p.enrolled}",
             f"zone {p.timezone}", f"holidays {p.holidays or 'none'}"]
    lines.append("  " + ", ".join(facts))
    lines.extend(f"  note: {_one_line(n)}" for n in p.notes)
    if p.error:
        lines.append(f"  error: {_one_line(p.error, 300)}")
        return "\n".join(lines) + "\n\n"
    for t in p.touches:
        lines.append("")
        lines.append(_touch(t))
    return "\n".join(lines) + "\n\n"


class TextFormat(Format):
    name = "text"
    stream_file = "preview.txt"

    def prospect(self, p: ProspectPreview) -> Chunk:
        return Chunk(render_prospect(p))

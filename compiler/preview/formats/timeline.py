"""The per-prospect timeline drawing: an inline SVG, one lane per channel, one marker per touch.

SVG geometry and colours are attributes, not CSS, so the page's strict Content Security
Policy (no inline `style` attributes) still allows them. Every text node is escaped.
"""

from __future__ import annotations

import datetime as dt

from markupsafe import Markup, escape

from compiler.preview.model import CONDITIONAL, SEND, SKIPPED, ProspectPreview

LANES = ("email", "linkedin", "call", "task")
COLORS = {"email": "#2f5bea", "linkedin": "#0a8f7a", "call": "#c2410c", "task": "#7c3aed"}
_WIDTH, _LEFT, _RIGHT, _TOP, _LANE = 960, 92, 24, 34, 46


def _day(p: ProspectPreview, when: dt.datetime) -> int:
    enrolled = p.enrolled if isinstance(p.enrolled, dt.date) else when.date()
    return (when.date() - enrolled).days


def svg(p: ProspectPreview) -> Markup:
    """The timeline of a prospect's touches (days since enrollment on x, channel lanes on y)."""
    touches = list(p.touches)
    lanes = [lane for lane in LANES if any(t.channel == lane for t in touches)] or ["email"]
    last = max([_day(p, t.local) for t in touches] + [14])
    span = last + 2
    scale = (_WIDTH - _LEFT - _RIGHT) / span
    height = _TOP + _LANE * len(lanes) + 14
    parts = [f'<svg viewBox="0 0 {_WIDTH} {height}" role="img" aria-label="Timeline of touches by day and channel">']
    step = 7 if span <= 70 else 14 if span <= 140 else 28
    for d in range(0, span + 1, step):
        x = _LEFT + d * scale
        parts.append(f'<line x1="{x:.1f}" y1="{_TOP - 8}" x2="{x:.1f}" y2="{height - 10}" stroke="#e3e7ee"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{_TOP - 14}" text-anchor="middle">day {d}</text>')
    for i, lane in enumerate(lanes):
        y = _TOP + _LANE * i + _LANE / 2
        parts.append(f'<text class="lane" x="8" y="{y + 4:.1f}">{lane}</text>')
        parts.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_WIDTH - _RIGHT}" y2="{y:.1f}" stroke="#cfd6e1"/>')
    seen: dict[tuple[str, int], int] = {}
    for index, t in enumerate(touches, 1):
        d = _day(p, t.local)
        lane = lanes.index(t.channel) if t.channel in lanes else 0
        stack = seen.get((t.channel, d), 0)
        seen[(t.channel, d)] = stack + 1
        x = _LEFT + d * scale
        y = _TOP + _LANE * lane + _LANE / 2
        color = COLORS.get(t.channel, "#5f6b7a")
        label = escape(f"{t.step} · {t.local:%a %Y-%m-%d %H:%M} · {t.status}")
        if t.status == SEND:
            marker = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{color}"/>'
        elif t.status == CONDITIONAL:
            marker = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="#ffffff" stroke="{color}" '
                      f'stroke-width="2.5" stroke-dasharray="3 2"/>')
        else:
            fill = "#d1d5db" if t.status == SKIPPED else "#eef0f3"
            marker = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{fill}" stroke="#9aa3af"/>'
                      f'<line x1="{x - 4:.1f}" y1="{y - 4:.1f}" x2="{x + 4:.1f}" y2="{y + 4:.1f}" stroke="#6b7280"/>')
        text_y = y - 11 - 11 * stack
        parts.append(f'<a href="#t-{index}"><title>{label}</title>{marker}'
                     f'<text class="step" x="{x:.1f}" y="{text_y:.1f}" text-anchor="middle">{escape(t.step)}</text></a>')
    parts.append("</svg>")
    return Markup("".join(parts))


LEGEND = Markup(
    '<div class="legend"><span>● scheduled</span><span>◌ conditional (depends on events)</span>'
    '<span>⊘ skipped or stopped</span></div>'
)

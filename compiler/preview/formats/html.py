"""`--format html`: a static site, `DIR/index.html` plus one page per prospect under `DIR/p/`.

The index lists every prospect (route, sequence, touch counts) with a small search and
sequence filter; each prospect page draws the timeline by day and channel, lists every
touch with its guard or reason, and shows each email as the prospect will read it.

Safety: all prospect data goes through `markupsafe.escape` (text and quoted attribute
values); the only links are the site's own relative pages and http(s)/mailto URLs
(`htmltext.safe_href`); each page carries a Content-Security-Policy meta tag that allows
no network access at all, and only the site's own stylesheet and filter script, by hash.
Site pieces are plain Python string building (no second template engine).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

from markupsafe import Markup, escape

from compiler.preview.formats import Chunk, Format
from compiler.preview.formats.eml import folder_name
from compiler.preview.formats.htmltext import link, paragraphs
from compiler.preview.formats.timeline import LEGEND, svg
from compiler.preview.model import CONDITIONAL, OUTPUT_STATUSES, SEND, PreviewTouch, ProspectPreview
from compiler.prospects import Counts

_STATUS_TEXT = {"send": "scheduled", "conditional": "conditional", "skipped": "skipped", "stopped": "not sent"}


@functools.cache
def asset(name: str) -> str:
    return resources.files("compiler.preview").joinpath("site", name).read_text(encoding="utf-8")


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@functools.cache
def csp(with_script: bool) -> str:
    script = f"'{_hash(asset('filter.js'))}'" if with_script else "'none'"
    return (f"default-src 'none'; style-src '{_hash(asset('style.css'))}'; script-src {script}; "
            "img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'")


def head(title: str, *, with_script: bool) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{csp(with_script)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n<style>{asset('style.css')}</style>\n</head>\n"
    )


def page_href(p: ProspectPreview) -> str:
    return f"p/{folder_name(p)}.html"


def _pills(p: ProspectPreview) -> Markup:
    if not p.routed:
        return Markup('<span class="pill unrouted">unrouted</span>')
    if p.error:
        return Markup('<span class="pill error">error</span>')
    counts = p.counts()
    out = [Markup('<span class="pill {0}" title="{1}">{2} {1}</span>').format(k, _STATUS_TEXT[k], n)
           for k, n in counts.items() if n]
    return Markup("").join(out)


def _first_touch(p: ProspectPreview) -> str:
    sent = [t for t in p.touches if t.status in OUTPUT_STATUSES]
    return f"{sent[0].local:%Y-%m-%d}" if sent else "—"


def index_row(p: ProspectPreview) -> str:
    name = p.name or p.email
    return str(Markup(
        '<tr data-sequence="{seq}"><td class="num">{row}</td>'
        '<td><a href="{href}">{name}</a><div class="email">{email}</div></td>'
        "<td>{company}</td><td>{sequence}</td><td class=\"nowrap\"><code>{route}</code></td><td>{pills}</td>"
        '<td class="nowrap">{first}</td></tr>\n'
    ).format(
        seq=p.sequence or "", row=p.row, href=page_href(p), name=name, email=p.email,
        company=p.data.get("company") or "", sequence=p.sequence or "—", route=p.route,
        pills=_pills(p), first=_first_touch(p),
    ))


class HtmlFormat(Format):
    name = "html"
    stream_file = "index.html"
    tree = True
    needs_dir = True

    def begin(self) -> str:
        info = self.info
        title = f"Preview · {info.campaign or info.project}"
        options = Markup("").join(Markup('<option value="{0}">{0}</option>').format(name) for name, _ in info.sequences)
        facts = [f"project {info.project}", f"first enrollment {info.start.isoformat()}",
                 f"from {info.sender.name} <{info.sender.email}>"]
        if info.events:
            facts.append(f"events {info.events}")
        return head(title, with_script=True) + str(Markup(
            '<body>\n<div class="wrap">\n<header class="top"><h1>{title}</h1><span class="sub">{facts}</span></header>\n'
            '<div class="filters"><input id="q" type="search" placeholder="Filter by name, email, company, route…" '
            'aria-label="Filter prospects" autocomplete="off">'
            '<select id="seq" aria-label="Sequence"><option value="">All sequences</option>{options}</select>'
            '<span class="count"><span id="shown">0</span> shown</span></div>\n'
            '<table id="prospects">\n<thead><tr><th>Row</th><th>Prospect</th><th>Company</th><th>Sequence</th>'
            "<th>Route</th><th>Touches</th><th>First touch</th></tr></thead>\n<tbody>\n"
        ).format(title=title, facts=" · ".join(facts), options=options))

    def prospect(self, p: ProspectPreview) -> Chunk:
        page = prospect_page(self.info, p)
        return Chunk(index_row(p), [(page_href(p), page.encode("utf-8"))])

    def end(self, counts: Counts) -> str:
        return ("</tbody>\n</table>\n" + str(Markup("<footer>{}</footer>\n").format(counts.line()))
                + f"</div>\n<script>{asset('filter.js')}</script>\n</body>\n</html>\n")


# ---------------------------------------------------------------- prospect pages


def _fact(label: str, value: object) -> Markup:
    return Markup("<div><dt>{}</dt><dd>{}</dd></div>").format(label, value if value not in (None, "") else "—")


def _facts(p: ProspectPreview) -> Markup:
    d = p.data
    seq = p.sequence or "unrouted"
    if p.sequence_title:
        seq = f"{seq} — {p.sequence_title}"
    items = [
        _fact("Email", p.email), _fact("Company", d.get("company")), _fact("Title", d.get("title")),
        _fact("Sequence", seq), _fact("Route", Markup("<code>{}</code>").format(p.route)),
        _fact("Enrolled", p.enrolled), _fact("Time zone", p.timezone), _fact("Holidays", p.holidays or "none"),
        _fact("Country", d.get("country")), _fact("Phone", d.get("phone")),
    ]
    if d.get("linkedin_url"):
        items.append(_fact("LinkedIn", link(str(d["linkedin_url"]))))
    return Markup('<dl class="facts">{}</dl>').format(Markup("").join(items))


def _touch(info, p: ProspectPreview, t: PreviewTouch, index: int) -> Markup:
    label = t.step if t.track == "main" else f"{t.track} / {t.step}"
    bits = []
    if t.purpose:
        bits.append(escape(t.purpose.replace("_", " ")))
    if t.action:
        bits.append(escape(f"action {t.action}"))
    if t.variant:
        bits.append(escape(f"variant {t.variant}"))
    if t.branch:
        bits.append(Markup("content <code>{}</code>").format(t.branch))
    if t.guard:
        bits.append(Markup("if <code>{}</code>").format(t.guard))
    meta = Markup(" · ").join(bits)
    reason = Markup('<div class="meta">{}</div>').format(t.reason) if t.reason and t.status != SEND else Markup("")
    content = Markup("")
    if t.status in OUTPUT_STATUSES:
        if t.channel == "email":
            content = _mail(info, p, t)
        elif t.body:
            content = Markup('<div class="note">{}</div>').format(paragraphs(t.body))
    offset = t.local.isoformat(timespec="minutes")[-6:]
    return Markup(
        '<article class="card touch {channel} {status}" id="t-{index}"><div class="touch-head">'
        '<span class="when">{when}</span><span class="utc">{offset} · {utc} UTC</span>'
        '<span class="badge {channel}">{channel}</span><span class="step">{label}</span>'
        '<span class="pill {status}">{status_text}</span></div>'
        '<div class="meta">day {day} · {meta}</div>{reason}{content}</article>\n'
    ).format(channel=t.channel, status=t.status, index=index, when=f"{t.local:%a %Y-%m-%d %H:%M}", offset=offset,
             utc=f"{t.utc:%Y-%m-%d %H:%M}", label=label, status_text=_STATUS_TEXT[t.status], day=t.day, meta=meta,
             reason=reason, content=content)


def _mail(info, p: ProspectPreview, t: PreviewTouch) -> Markup:
    sender = info.sender
    to = f"{p.name} <{p.email}>" if p.name else p.email
    return Markup(
        '<div class="mail"><div class="headers"><div class="subject">{subject}</div>'
        "<div><span>From</span> {sender}</div><div><span>To</span> {to}</div>"
        "<div><span>Date</span> {date}</div></div><div class=\"body\">{body}</div></div>"
    ).format(subject=t.subject or "(no subject)", sender=f"{sender.name} <{sender.email}>", to=to,
             date=f"{t.local:%a, %d %b %Y %H:%M} ({p.timezone})", body=paragraphs(t.body or ""))


def prospect_page(info, p: ProspectPreview) -> str:
    title = p.name or p.email
    if not p.routed:
        status = Markup('<div class="card error-box">No route takes this prospect: nothing is sent.</div>')
    elif p.error:
        status = Markup('<div class="card error-box">{}</div>').format(p.error)
    else:
        status = Markup("")
    notes = Markup("").join(Markup('<div class="meta">note: {}</div>').format(n) for n in p.notes)
    timeline = Markup("")
    if p.touches:
        conditional = any(t.status == CONDITIONAL for t in p.touches)
        timeline = Markup('<section class="card timeline"><h2>Timeline</h2>{}{}</section>\n').format(
            svg(p), LEGEND if conditional or len(p.touches) > 1 else "")
    touches = Markup("").join(_touch(info, p, t, i) for i, t in enumerate(p.touches, 1))
    body = Markup(
        '<body>\n<div class="wrap">\n<a class="back" href="../index.html">← All prospects</a>\n'
        '<section class="card"><h1 class="name">{title}</h1><div class="sub">row {row}</div>{facts}{notes}</section>\n'
        "{status}{timeline}{touches}</div>\n</body>\n</html>\n"
    ).format(title=title, row=p.row, facts=_facts(p), notes=notes, status=status, timeline=timeline, touches=touches)
    return head(f"{title} · preview", with_script=False) + str(body)

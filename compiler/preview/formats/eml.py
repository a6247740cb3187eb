"""`--format eml`: one RFC 5322 message per email touch, `DIR/<prospect>/<NN>-<step>.eml`.

`<prospect>` is a folder name made from the data but safe by construction: the address as
an ASCII slug, the record's row and a short hash of the address
(`jose-garcia-solano-coffee-example-com-1-4c1d2e`): no path separators, no dots, unique
because rows are unique. `NN` numbers the prospect's emails in send order.

Each message is multipart/alternative (the rendered text, and the same text as simple
HTML, as sending tools deliver plain-text emails), dated at the touch's `send_at`, with a
deterministic Message-ID, threading headers (`In-Reply-To`, `References`, `Subject: Re: …`)
for `thread` steps, and RFC 8058 one-click unsubscribe headers.
"""

from __future__ import annotations

from compiler.preview.formats import Chunk, Format, RunInfo
from compiler.preview.formats.htmltext import paragraphs
from compiler.preview.formats.rfc5322 import Message, address, build_message, mailbox
from compiler.preview.model import OUTPUT_STATUSES, PreviewTouch, ProspectPreview, digest, slug, unsubscribe_url

HTML_PART = ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
             '<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.5;">\n'
             '{}</body></html>\n')


def folder_name(p: ProspectPreview) -> str:
    """The prospect's folder (and page) name: slug, row and a short hash; never a path."""
    return f"{slug(p.email) or 'prospect'}-{p.row}-{digest(p.email.strip().lower(), size=3)}"


def message_id(info: RunInfo, p: ProspectPreview, step: str) -> str:
    return f"{digest(info.campaign or info.project, p.key, step, size=12)}@{info.sender.domain}"


def build_touch_message(info: RunInfo, p: ProspectPreview, t: PreviewTouch) -> str:
    """The RFC 5322 text (CRLF line ends) of one email touch."""
    sender = info.sender
    to_addr = address(p.email)
    to = mailbox(p.name, to_addr) if to_addr else "undisclosed-recipients:;"
    refs = tuple(message_id(info, p, s) for s in t.thread)
    extra = [("X-Seqc-Sequence", p.sequence or ""), ("X-Seqc-Step", t.step if t.track == "main" else f"{t.track}/{t.step}"),
             ("X-Seqc-Row", str(p.row))]
    if t.variant:
        extra.append(("X-Seqc-Variant", t.variant))
    if t.status != "send":
        extra.append(("X-Seqc-Status", t.status))
    if t.guard:
        extra.append(("X-Seqc-Guard", t.guard))
    return build_message(Message(
        date=t.local,
        from_=mailbox(sender.name, sender.email),
        to=to,
        subject=t.subject,
        message_id=message_id(info, p, t.step),
        text=t.body or "",
        html=HTML_PART.format(paragraphs(t.body or "")),
        reply_to=sender.reply_to,
        in_reply_to=refs[-1] if refs else None,
        references=refs,
        list_unsubscribe=unsubscribe_url(sender.campaign, p.email),
        extra=tuple(extra),
    ))


def email_touches(p: ProspectPreview) -> list[PreviewTouch]:
    return [t for t in p.touches if t.channel == "email" and t.status in OUTPUT_STATUSES]


class EmlFormat(Format):
    name = "eml"
    tree = True
    needs_dir = True

    def prospect(self, p: ProspectPreview) -> Chunk:
        folder = folder_name(p)
        files = [(f"{folder}/{t.number:02d}-{t.step}.eml", build_touch_message(self.info, p, t).encode("utf-8"))
                 for t in email_touches(p)]
        return Chunk("", files)

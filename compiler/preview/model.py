"""What a preview is made of: one `ProspectPreview` per record, one `PreviewTouch` per touch, the sender.

These are plain values (not frozen: a frozen dataclass costs a `object.__setattr__` per field,
and previews build millions) made in a worker and handed to a format; treat them as read-only.
They hold rendered text, never templates. Prospect values in them are untrusted: each format escapes them for
where they land.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compiler import ir

#: Touch statuses. `send` and `conditional` touches are output by every format;
#: `skipped` (guard false) and `stopped` (exit event, or the prospect moved to a path)
#: only by `text` and `html`, which show the whole timeline.
SEND, CONDITIONAL, SKIPPED, STOPPED = "send", "conditional", "skipped", "stopped"
OUTPUT_STATUSES = frozenset({SEND, CONDITIONAL})

UNSUBSCRIBE_BASE = "https://unsubscribe.invalid/"


@dataclass(slots=True)
class PreviewTouch:
    """One touch of one prospect: where it lands, why, and what it says."""

    track: str
    step: str
    channel: str
    day: int
    local: datetime
    utc: datetime
    status: str
    guard: str | None = None
    reason: str | None = None  # why skipped, stopped or conditional (human text)
    purpose: str | None = None
    action: str | None = None
    variant: str | None = None
    branch: str | None = None  # the `when` condition that chose the content, `else`, or None
    subject: str | None = None
    body: str | None = None
    thread: tuple[str, ...] = ()  # steps this email replies to, the thread's first message first
    number: int = 0  # 1-based position among the prospect's output emails (0 for other touches)
    stamps: tuple[str, str] | None = None  # `local` and `utc` as JSON text (ISO 8601), when the schedule had them

    @property
    def sent(self) -> bool:
        return self.status in OUTPUT_STATUSES


@dataclass(slots=True)
class ProspectPreview:
    """A record's preview: its route and touches, or why it has none (unrouted, render error)."""

    row: int
    email: str
    data: dict[str, Any]
    sequence: str | None = None
    sequence_title: str | None = None
    route: str = "unrouted"
    timezone: str | None = None
    holidays: str | None = None
    enrolled: Any = None  # datetime.date
    touches: tuple[PreviewTouch, ...] = ()
    error: str | None = None
    notes: tuple[str, ...] = ()
    key: str = field(default="")  # stable id: file names, Message-IDs

    @property
    def routed(self) -> bool:
        return self.sequence is not None

    @property
    def name(self) -> str:
        """First and last name as the data has them (may be empty)."""
        parts = [self.data.get("first_name"), self.data.get("last_name")]
        return " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())

    def counts(self) -> dict[str, int]:
        out = {SEND: 0, CONDITIONAL: 0, SKIPPED: 0, STOPPED: 0}
        for t in self.touches:
            out[t.status] += 1
        return out


# ---------------------------------------------------------------- sender and built-ins


@dataclass(frozen=True, slots=True)
class Sender:
    """The campaign's sender as previews show it, and the built-in template variables."""

    name: str
    first_name: str
    email: str
    company: str
    reply_to: str | None
    campaign: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2] or "seqc.invalid"

    @classmethod
    def from_campaign(cls, campaign: ir.Campaign | None) -> Sender:
        """Built-ins from `sender.from` ("Dana Reyes <dana@mail.acme.io>") and the postal address.

        `sender_company` is the first part of `postal_address` (the legal name, "Acme Inc."),
        else the from-domain's name ("mail.acme.io" -> "Acme"). Anything the campaign leaves
        out shows as a visible placeholder such as `[sender_name]`.
        """
        sender = campaign.sender if campaign else None
        name, addr = email.utils.parseaddr(sender.from_ or "") if sender else ("", "")
        name, addr = clean_line(name), clean_line(addr)
        if not addr or "@" not in addr or not addr.isascii() or " " in addr:
            addr = ""
        postal = campaign.compliance.postal_address if campaign and campaign.compliance else None
        company = clean_line(postal.split(",")[0]) if postal else ""
        if not company and addr:
            company = _company_from_domain(addr.rpartition("@")[2])
        reply_to = None
        if sender and sender.reply_to:
            reply_to = email.utils.parseaddr(sender.reply_to)[1] or None
        return cls(
            name=name or "[sender_name]",
            first_name=name.split()[0] if name else "[sender_first_name]",
            email=addr or "sender@seqc.invalid",
            company=company or "[sender_company]",
            reply_to=reply_to if reply_to and reply_to.isascii() and "@" in reply_to else None,
            campaign=campaign.name if campaign else "",
        )

    def builtins(self, prospect_email: str) -> dict[str, str]:
        return {
            "unsubscribe_url": unsubscribe_url(self.campaign, prospect_email),
            "sender_name": self.name,
            "sender_first_name": self.first_name,
            "sender_email": self.email,
            "sender_company": self.company,
        }


_GENERIC_LABELS = frozenset({"mail", "email", "e", "m", "mx", "smtp", "send", "go", "www", "hello", "outbound", "news"})


def _company_from_domain(domain: str) -> str:
    labels = [p for p in domain.lower().split(".") if p]
    core = labels[:-1] if len(labels) > 1 else labels
    while len(core) > 1 and core[0] in _GENERIC_LABELS:
        core = core[1:]
    if len(core) > 1 and len(core[-1]) <= 3 and core[-1] in ("co", "com", "org", "net", "ac", "gov"):
        core = core[:-1]  # acme.co.uk
    word = core[-1] if core else domain
    return word[:1].upper() + word[1:]


def digest(*parts: str, size: int = 8) -> str:
    """A short stable hex digest of text parts (blake2b: the same in every process and on every machine)."""
    h = hashlib.blake2b(digest_size=size)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def unsubscribe_url(campaign: str, prospect_email: str) -> str:
    """A deterministic placeholder unsubscribe link (`.invalid` never resolves)."""
    return UNSUBSCRIBE_BASE + digest(campaign, prospect_email.strip().lower(), size=10)


# ---------------------------------------------------------------- text hygiene

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def clean_line(value: Any) -> str:
    """One line of text for a header, a title or a file name: breaks become spaces,
    other control and format characters (bidi overrides, zero-width) are dropped."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = _LINE_BREAKS.sub(" ", text)
    if not text.isprintable():  # str.isprintable is False for Cc, Cf (bidi, zero-width) and odd spaces
        text = "".join(ch if ch.isprintable() else (" " if ch.isspace() else "") for ch in text)
    return " ".join(text.split())


def slug(text: str, limit: int = 40) -> str:
    """ASCII lower-case letters, digits and single hyphens (may be empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-")

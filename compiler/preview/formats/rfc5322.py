"""A small, fast RFC 5322 / MIME message builder for previews (string building, no `email` package).

Why not `email.message.EmailMessage`: it is about 20× slower, and its Message-IDs and MIME
boundaries are random. Every value here is made safe before it reaches a header:

* `clean_line` turns CR, LF and every other control or format character into a space or
  drops it, so data can never start a header line (no header injection).
* Text that is not plain ASCII, or that holds `=?` (which a reader would decode as an
  encoded word), becomes RFC 2047 encoded words (`=?utf-8?b?…?=`, at most 75 characters
  each, folded onto continuation lines), so header lines stay within 78 characters.
* Display names are quoted (`"Doe, John"`) or encoded; addresses are built, never parsed.
* Bodies are quoted-printable (`binascii.b2a_qp`, lines ≤ 76), so the boundary
  `=_seqc_…` can never occur inside a part, and a line starting `From ` is written
  `=46rom ` (mbox-safe). Message-IDs and boundaries are hashes of stable inputs.

`build_message` returns the message with CRLF line ends (RFC 5322 on the wire);
`to_mbox_lines` converts for mbox files.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import re
from dataclasses import dataclass
from datetime import datetime

from compiler.preview.model import clean_line

CRLF = "\r\n"
MAX_LINE = 78
_WORD_BYTES = 39  # 52 base64 characters: "=?utf-8?b?" + 52 + "?=" = 64, leaving room for "Subject: "
_ATOM_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_ADDR_SPEC = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9.-]{1,253}")


def encoded_words(text: str) -> str:
    """`text` as RFC 2047 B-encoded words joined by folding whitespace (UTF-8 never split mid-character)."""
    data = text.encode("utf-8")
    words = []
    i = 0
    while i < len(data):
        j = min(i + _WORD_BYTES, len(data))
        while j < len(data) and (data[j] & 0xC0) == 0x80:
            j -= 1
        words.append("=?utf-8?b?" + base64.b64encode(data[i:j]).decode("ascii") + "?=")
        i = j
    return (CRLF + " ").join(words)


def _needs_encoding(text: str) -> bool:
    return not text.isascii() or "=?" in text or any(len(w) > 900 for w in text.split(" "))


def fold(line: str) -> str:
    """Fold an ASCII header line at spaces so lines stay within 78 characters where words allow."""
    if len(line) <= MAX_LINE:
        return line
    words = line.split(" ")
    lines: list[str] = []
    current = words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) > MAX_LINE and current.strip():
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return CRLF.join(lines)


def unstructured(name: str, value: object) -> str:
    """`Name: value` for free text (Subject, X- headers), data-safe."""
    text = clean_line(value)
    if _needs_encoding(text):
        return f"{name}: {encoded_words(text)}"
    return fold(f"{name}: {text}")


def address(addr: str) -> str | None:
    """The address if it is a plain ASCII addr-spec, else None (never repaired into something else)."""
    addr = addr.strip()
    return addr if _ADDR_SPEC.fullmatch(addr) and ".." not in addr else None


def mailbox(display: object, addr: str) -> str:
    """`Display Name <addr>` with the name quoted or encoded as needed; the bare address without a name."""
    name = clean_line(display)
    if not name:
        return addr
    if _needs_encoding(name):
        phrase = encoded_words(name)
    elif _ATOM_PHRASE.fullmatch(name):
        phrase = name
    else:
        phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{phrase} <{addr}>"


def quoted_printable(text: str) -> str:
    """UTF-8 quoted-printable body with CRLF line ends (any CR, LF or CRLF in `text` is a line end)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    if data.startswith(b"From "):
        data = b"=46rom " + data[5:]
    data = data.replace(b"\nFrom ", b"\n=46rom ")
    out = data.decode("ascii")
    if not out.endswith("\n"):
        out += "\n"
    return out.replace("\n", CRLF)


@dataclass(frozen=True, slots=True)
class Message:
    """What a preview message holds; `build_message` serialises it."""

    date: datetime
    from_: str  # already a mailbox (`mailbox(...)`)
    to: str  # already a mailbox, or a group such as `undisclosed-recipients:;`
    subject: str | None
    message_id: str  # without angle brackets
    text: str
    html: str | None = None
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    list_unsubscribe: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # (X- header name, value)


def address_header(name: str, value: str) -> str:
    """`Name: mailbox` folded: at spaces, and before `<addr>` when encoded words fill the line."""
    lines = f"{name}: {value}".split(CRLF)
    last = lines[-1]
    if len(last) > MAX_LINE and " <" in last:
        cut = last.rindex(" <")
        lines[-1:] = [last[:cut], last[cut:]]
    return CRLF.join(fold(line) if len(line) > MAX_LINE and "=?" not in line else line for line in lines)


def build_message(m: Message) -> str:
    """The message as RFC 5322 text with CRLF line ends (multipart/alternative when `html` is set)."""
    h = [
        f"Date: {email.utils.format_datetime(m.date)}",
        address_header("From", m.from_),
        address_header("To", m.to),
    ]
    if m.reply_to:
        h.append(address_header("Reply-To", m.reply_to))
    h.append(unstructured("Subject", m.subject or ""))
    h.append(f"Message-ID: <{m.message_id}>")
    if m.in_reply_to:
        h.append(f"In-Reply-To: <{m.in_reply_to}>")
    if m.references:
        h.append(fold("References: " + " ".join(f"<{r}>" for r in m.references)))
    if m.list_unsubscribe:
        h.append(f"List-Unsubscribe: <{m.list_unsubscribe}>")
        h.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    h.append("MIME-Version: 1.0")
    for name, value in m.extra:
        h.append(unstructured(name, value))
    text_part = quoted_printable(m.text)
    if m.html is None:
        h.append("Content-Type: text/plain; charset=utf-8")
        h.append("Content-Transfer-Encoding: quoted-printable")
        return CRLF.join(h) + CRLF + CRLF + text_part
    boundary = "=_seqc_" + m.message_id.partition("@")[0][-24:]
    h.append(f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"')
    part = "Content-Type: text/{kind}; charset=utf-8" + CRLF + "Content-Transfer-Encoding: quoted-printable" + CRLF
    return (CRLF.join(h) + CRLF + CRLF
            + f"--{boundary}{CRLF}" + part.format(kind="plain") + CRLF + text_part
            + f"--{boundary}{CRLF}" + part.format(kind="html") + CRLF + quoted_printable(m.html)
            + f"--{boundary}--{CRLF}")


_FROM_LINE = re.compile(r"^(>*From )", re.MULTILINE)


def to_mbox(message: str, envelope_from: str, when: datetime) -> str:
    """One mboxrd entry: the `From ` separator line, LF line ends, `>From ` quoting, a blank line after."""
    body = message.replace(CRLF, "\n")
    body = _FROM_LINE.sub(r">\1", body)
    stamp = when.strftime("%a %b %d %H:%M:%S %Y")
    return f"From {envelope_from} {stamp}\n{body}\n"

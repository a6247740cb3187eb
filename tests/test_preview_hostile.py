"""Hostile prospect data: never an injected header, an executed template, a terminal escape or a live tag."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_preview_helpers import EXAMPLE, HOSTILE, seqc

from compiler.preview.formats.htmltext import linkify, paragraphs, safe_href
from compiler.preview.formats.rfc5322 import Message, build_message, mailbox, to_mbox, unstructured
from compiler.preview.model import clean_line, slug

HEADERS = {"date", "from", "to", "reply-to", "subject", "message-id", "in-reply-to", "references",
           "list-unsubscribe", "list-unsubscribe-post", "mime-version", "content-type",
           "x-seqc-sequence", "x-seqc-step", "x-seqc-row", "x-seqc-variant", "x-seqc-status", "x-seqc-guard"}


def test_data_is_never_template_source():
    r = seqc("preview", EXAMPLE, "--prospects", HOSTILE, "--format", "jsonl")
    bob = [json.loads(line) for line in r.out.splitlines() if '"bob@acme.example"' in line]
    assert bob and any("{{ 7*7 }}" in row["body"] for row in bob)
    assert not any("49" in (row["body"] or "") for row in bob)
    assert any('=HYPERLINK("http://x/?"&A1,"Hi")' in row["body"] for row in bob)  # text in an email is text


def test_eml_headers_cannot_be_injected(tmp_path: Path):
    out = tmp_path / "eml"
    assert seqc("preview", EXAMPLE, "--prospects", HOSTILE, "--format", "eml", "-o", str(out)).code == 0
    files = sorted(out.rglob("*.eml"))
    assert len(files) >= 10
    for path in files:
        raw = path.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]  # a line break in a name may only break a line of the body
        assert b"\r\nBcc:" not in head and b"\r\nX-Evil" not in head and b"\x1b" not in raw
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert not msg.defects
        assert {k.lower() for k in msg} <= HEADERS, list(msg)
        for key in ("To", "Subject"):
            assert "\n" not in str(msg[key]) and "\r" not in str(msg[key])
        assert len(msg["To"].addresses) == 1
    ann = email.message_from_bytes(next(out.glob("ann-*/01-*.eml")).read_bytes(), policy=email.policy.default)
    assert ann["To"].addresses[0].display_name == "Ann Bcc: list@evil.test Lee"
    assert ann["To"].addresses[0].addr_spec == "ann@acme.example"
    dana = email.message_from_bytes(next(out.glob("dana-*/01-*.eml")).read_bytes(), policy=email.policy.default)
    assert dana["To"].addresses[0].addr_spec == "dana@acme.example"  # `<ceo@bank.example>` stays in the name
    assert "=?UTF-8?Q?=0A?=Bcc:x" in dana["To"].addresses[0].display_name  # the encoded word is shown as text


def test_text_output_escapes_terminal_controls():
    r = seqc("preview", EXAMPLE, "--prospects", HOSTILE)
    assert "\x1b" not in r.out and "\u202e" not in r.out and "\r" not in r.out
    assert "\\u001b[31mred" in r.out and "\\u202e" in r.out


def test_html_escapes_everything(tmp_path: Path):
    out = tmp_path / "site"
    assert seqc("preview", EXAMPLE, "--prospects", HOSTILE, "--format", "html", "-o", str(out)).code == 0
    pages = [out / "index.html", *sorted((out / "p").glob("*.html"))]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
        assert 'href="javascript:' not in html.lower()
        hrefs = re.findall(r'href="([^"]*)"', html)
        assert all(h.startswith(("https://", "http://", "mailto:", "p/", "../index.html", "#t-")) for h in hrefs), hrefs
        assert html.count("<script>") == (1 if page.name == "index.html" else 0)
        assert 'http-equiv="Content-Security-Policy"' in html
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert "O&#39;Brien &amp; Sons, &#34;Ltd&#34;" in index


# ---------------------------------------------------------------- the builders, fuzzed

NASTY = st.text(alphabet=st.sampled_from(list("aZ é山\r\n\t\x00\x0b\x1b\u202e\u2028=?<>\",;:\\@()")) | st.characters(),
                max_size=120)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(name=NASTY, subject=NASTY, body=st.text(max_size=300))
def test_built_messages_parse_back(name: str, subject: str, body: str):
    when = dt.datetime(2027, 1, 5, 10, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    raw = build_message(Message(
        date=when, from_=mailbox("Dana Reyes", "dana@mail.acme.example"), to=mailbox(name, "ann@acme.example"),
        subject=subject, message_id="abc123@mail.acme.example", text=body, html=str(paragraphs(body)),
        list_unsubscribe="https://unsubscribe.invalid/x", extra=(("X-Seqc-Guard", subject),),
    )).encode("ascii")
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert all(line[:1] in (b" ", b"\t") or b":" in line for line in lines)  # every line is a header or a fold
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert {k.lower() for k in msg} <= HEADERS
    assert msg["Subject"] == clean_line(subject)
    assert msg["X-Seqc-Guard"] == clean_line(subject)
    assert msg["To"].addresses[0].addr_spec == "ann@acme.example"
    shown = msg["To"].addresses[0].display_name
    if b"To: =?utf-8?b?" in raw:
        # CPython's address parser puts a space between adjacent encoded words of a display name
        # (RFC 2047 says to drop it; its own generator folds names exactly as seqc does).
        assert shown.replace(" ", "") == clean_line(name).replace(" ", "")
    else:
        assert shown == clean_line(name)
    expected = body.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == expected
    assert msg.get_body(("html",)) is not None
    entry = to_mbox(raw.decode("ascii"), "dana@mail.acme.example", when)
    assert not re.search(r"^From ", entry.split("\n", 1)[1], re.MULTILINE)


@given(NASTY)
def test_clean_line_and_slug(text: str):
    line = clean_line(text)
    assert line.isprintable() and "\n" not in line and line == line.strip()
    assert re.fullmatch(r"[a-z0-9-]*", slug(text))


def test_unstructured_encodes_what_a_reader_would_decode():
    assert unstructured("Subject", "=?UTF-8?Q?=0A?=Bcc:x").startswith("Subject: =?utf-8?b?")
    assert unstructured("Subject", "Plain subject") == "Subject: Plain subject"
    assert unstructured("Subject", "a\r\nBcc: x") == "Subject: a Bcc: x"


def test_links_are_only_http_https_mailto():
    assert safe_href("javascript:alert(1)") is None
    assert safe_href(" JavaScript:alert(1)") is None
    assert safe_href("data:text/html,hi") is None
    assert safe_href("https://ok.example/a b") is None
    assert safe_href("https://ok.example/a") == "https://ok.example/a"
    html = str(linkify('see https://x.example/a?b=1&c="2" and javascript:alert(1) <b>'))
    assert '<a href="https://x.example/a?b=1&amp;c=' in html
    assert "javascript:alert(1) &lt;b&gt;" in html

"""Plain text to safe HTML: escaping, paragraphs, and links that can only be http(s) or mailto.

Every character of data goes through `markupsafe.escape`; an `href` is written only for a
URL this module matched itself (`http://`, `https://`, `mailto:`), quoted and escaped, so a
`javascript:` URL or markup in a name is shown as text and never becomes active.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_LINK = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]'\""
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def safe_href(url: object) -> str | None:
    """The URL when it is http(s) or mailto and holds no space or control character, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url.lower().startswith(SAFE_SCHEMES) or not url.isprintable() or any(c.isspace() for c in url):
        return None
    return url


def link(url: str, text: str | None = None) -> Markup:
    """`<a href="…">…</a>` for a safe URL, else the escaped text alone."""
    href = safe_href(url)
    label = escape(text if text is not None else url)
    if href is None:
        return Markup(label)
    return Markup('<a href="{}" rel="noopener noreferrer nofollow">{}</a>').format(href, label)


def linkify(text: str) -> Markup:
    """Escaped text with http(s)/mailto URLs turned into links."""
    out: list[str] = []
    pos = 0
    for m in _LINK.finditer(text):
        url = m.group(0)
        stripped = url.rstrip(_TRAILING)
        end = m.start() + len(stripped)
        out.append(str(escape(text[pos:m.start()])))
        out.append(str(link(stripped)))
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def paragraphs(text: str) -> Markup:
    """`<p>` per blank-line-separated block, `<br>` for single line breaks, links made clickable."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks = [b for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    html = "".join("<p>" + str(linkify(b)).replace("\n", "<br>\n") + "</p>\n" for b in blocks)
    return Markup(html)

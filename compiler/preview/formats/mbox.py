"""`--format mbox`: every email touch in one mboxrd file (`DIR/preview.mbox`, or stdout).

One file instead of one per message: writing many small files is bound by the file
system, one stream is not. The messages are exactly those of `--format eml`, with LF line
ends, a `From ` separator line per message (the sender and the send time in UTC) and
mboxrd quoting (`>From `). Mail clients (Thunderbird, mutt, Apple Mail) open it as a folder.
"""

from __future__ import annotations

from compiler.preview.formats import Chunk, Format
from compiler.preview.formats.eml import build_touch_message, email_touches
from compiler.preview.formats.rfc5322 import to_mbox
from compiler.preview.model import ProspectPreview


class MboxFormat(Format):
    name = "mbox"
    stream_file = "preview.mbox"

    def prospect(self, p: ProspectPreview) -> Chunk:
        sender = self.info.sender.email
        return Chunk("".join(to_mbox(build_touch_message(self.info, p, t), sender, t.utc) for t in email_touches(p)))

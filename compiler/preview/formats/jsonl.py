"""`--format jsonl`: one JSON object per touch, with exactly the keys of SPEC §6.1, in that order.

Only touches that go out are lines: `send`, and `conditional` ones (their `guard` says on
what they depend; without `--events` a path touch's guard is its entry event). Skipped and
stopped touches are left out. Serialised with `json.dumps(ensure_ascii=False)` and the
default separators, as in the SPEC's example: the same input gives the same bytes.
"""

from __future__ import annotations

import json

from compiler.preview.formats import Chunk, Format
from compiler.preview.model import OUTPUT_STATUSES, ProspectPreview

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses for str (C-accelerated)


def _s(value: str | None) -> str:
    return "null" if value is None else _str(value)


#: (track, step, channel, variant) → that part of a line: the same for every prospect taking the step
_STEP_TEXT: dict[tuple[str, str, str, str | None], str] = {}


def _step_text(track: str, step: str, channel: str, variant: str | None) -> str:
    key = (track, step, channel, variant)
    text = _STEP_TEXT.get(key)
    if text is None:
        if len(_STEP_TEXT) > 65_536:
            _STEP_TEXT.clear()
        text = _STEP_TEXT[key] = f'{_s(track)}, "step": {_s(step)}, "channel": {_s(channel)}, "variant": {_s(variant)}'
    return text


def touch_lines(p: ProspectPreview) -> str:
    """The same bytes as `json.dumps(obj, ensure_ascii=False) + "\\n"` for each of `touch_objects(p)`,
    built directly (about 8x faster; tests compare the two)."""
    head = f'{{"prospect": {_s(p.email)}, "row": {int(p.row)}, "sequence": {_s(p.sequence)}, "track": '
    zone = _s(p.timezone)
    out = []
    for t in p.touches:
        if t.status not in OUTPUT_STATUSES:
            continue
        local, utc = t.stamps or (t.local.isoformat(timespec="seconds"), f'{t.utc.isoformat(timespec="seconds")[:19]}Z')
        out.append(
            f'{head}{_step_text(t.track, t.step, t.channel, t.variant)}, '
            f'"send_at_local": "{local}", "send_at_utc": "{utc}", "timezone": {zone}, '
            f'"guard": {_s(t.guard)}, "subject": {_s(t.subject)}, "body": {_s(t.body)}}}\n')
    return "".join(out)


def touch_objects(p: ProspectPreview) -> list[dict]:
    """The SPEC §6.1 objects of a prospect's touches (also used by tests)."""
    out = []
    for t in p.touches:
        if t.status not in OUTPUT_STATUSES:
            continue
        out.append({
            "prospect": p.email, "row": p.row, "sequence": p.sequence, "track": t.track, "step": t.step,
            "channel": t.channel, "variant": t.variant,
            "send_at_local": t.local.isoformat(timespec="seconds"),
            "send_at_utc": t.utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": p.timezone, "guard": t.guard, "subject": t.subject, "body": t.body,
        })
    return out


class JsonlFormat(Format):
    name = "jsonl"
    stream_file = "preview.jsonl"

    def prospect(self, p: ProspectPreview) -> Chunk:
        return Chunk(touch_lines(p))

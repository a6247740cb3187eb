"""Shared by the sales-engagement targets (Outreach, Salesloft, HubSpot): request plans, task text, checks.

These tools hold more than an email campaign (calls and manual tasks, replies threaded on a
named step, schedules kept in the tool's UI), and two of them are set up by several API calls
whose later bodies need ids returned by earlier ones. Three things live here:

* **Request plans.** The convention of `targets.lemlist`: a plan is `{"base_url", "requests":
  [{"id", "method", "path", "body"}, …]}`, run in order, and `{ID.a.0.b}` stands for
  `answer["a"][0]["b"]` of the earlier request `ID` (its JSON answer as returned; so Outreach's
  JSON:API `{sequence.data.id}`). The id `params` is the plan's own `params` object: values the
  user fills in before running (a user id, ids of things made by hand). One extension: a body
  may hold a reference too, but only as a whole JSON string value (`"id": "{step:opener.data.id}"`),
  which is replaced by the value it names with its JSON type (an integer id stays an integer);
  JSON:API relationships need this. `resolve_path` and `resolve_body` do both; the target docs
  (docs/targets/outreach.md, "Request plans") show a runner.
* **Task text.** What a human reads on a call or manual task: the lowering's notes first
  ("LinkedIn: connection request", "Only if has(phone); otherwise skip this task."), then the
  step's note, script or message in the tool's merge tags.
* **Checks the shared check does not make (yet).** Lowering passes that only report SEQ601:
  a threaded reply's subject (these tools reply with the thread's own subject), a thread that a
  "reply to the previous email" flag cannot reach, send days on a tool that only knows business
  days, and prospect time zones on a tool that sends in the rep's zone. They read the target's
  `Capabilities`, so they would move into `compiler.lower.check` unchanged.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote

from compiler import ir, timing
from compiler.capabilities import MergeTags
from compiler.lower.context import LowerContext
from compiler.lower.passes import campaign_window, zone_names
from compiler.lower.program import Branched, Custom, LStep, LTrack, Program, Text, Var
from compiler.lower.text import format_text

#: A reference to an earlier answer: `{ID.a.0.b}` (see the module doc; lemlist's syntax).
REFERENCE = re.compile(r"\{([A-Za-z0-9_:]+)((?:\.[A-Za-z0-9_]+)+)\}")

#: Fields of a manual step that make up a task's instructions, in reading order.
_TASK_FIELDS = ("subject", "note", "body", "script")


# ---------------------------------------------------------------- request plans


def ref(request_id: str, path: str = "id") -> str:
    """The reference to `path` (dot-separated) in the answer to request `request_id`."""
    return "{%s.%s}" % (request_id, path)


def param(name: str) -> str:
    """The reference to a value of the plan's `params`."""
    return ref("params", name)


def _lookup(match: re.Match, answers: dict[str, Any]) -> Any:
    value: Any = answers[match.group(1)]
    for part in match.group(2)[1:].split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def resolve_path(path: str, answers: dict[str, Any]) -> str:
    """`path` with every reference replaced by the value it names, percent-encoded (KeyError if missing)."""

    def one(match: re.Match) -> str:
        value = _lookup(match, answers)
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise KeyError(f"{match.group(0)} is not a string or an integer")
        return quote(str(value), safe="")

    return REFERENCE.sub(one, path)


def resolve_body(body: Any, answers: dict[str, Any]) -> Any:
    """`body` with every string that is exactly one reference replaced by the value it names."""
    if isinstance(body, dict):
        return {k: resolve_body(v, answers) for k, v in body.items()}
    if isinstance(body, list):
        return [resolve_body(v, answers) for v in body]
    if isinstance(body, str):
        match = REFERENCE.fullmatch(body)
        if match is not None:
            return _lookup(match, answers)
    return body


def request(request_id: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """One call of a request plan."""
    out: dict[str, Any] = {"id": request_id, "method": method, "path": path}
    if body is not None:
        out["body"] = body
    return out


def sender_address(project: ir.Project) -> str | None:
    """The address of the campaign's `sender { from … }`, if one is declared."""
    campaign = project.campaign
    sender = campaign.sender if campaign is not None else None
    if sender is None or not sender.from_:
        return None
    address = parseaddr(sender.from_)[1]
    return address or None


# ---------------------------------------------------------------- text


def text_value(lstep: LStep, value: Any, target: str) -> Text | None:
    """A field value that lowering turned into `Text` (anything else is an internal error)."""
    if value is None or isinstance(value, Text):
        return value
    raise RuntimeError(f"{target}: `{lstep.name}` has untranslated content ({type(value).__name__})")


def has_subject(lstep: LStep) -> bool:
    """Whether any variant of `lstep` has a non-empty subject."""
    for variant in lstep.variants:
        value = variant.get("subject")
        if isinstance(value, Text) and value.parts:
            return True
        if isinstance(value, ir.Template) and value.source.strip():
            return True
        if isinstance(value, Branched):
            return True
    return False


def task_text(lstep: LStep, merge: MergeTags, target: str) -> str:
    """A call or task's instructions: the lowering's notes, then the step's own text."""
    lines = list(lstep.notes)
    if len(lstep.variants) != 1:
        raise RuntimeError(f"{target}: the task `{lstep.name}` has {len(lstep.variants)} variants")
    variant = lstep.variants[0]
    for name in _TASK_FIELDS:
        value = text_value(lstep, variant.get(name), target)
        if value is None or not value.parts:
            continue
        written = format_text(value, merge, "line" if name == "subject" else "text").strip()
        lines.append(f"Subject: {written}" if name == "subject" else written)
    return "\n".join(lines)


def retag(text: Text, names: dict[str, str], *, raw: bool = False) -> Text:
    """`text` with prospect fields and custom fields renamed to the tool's field names.

    `names` maps a seqc name (a declared field used as a variable, or a pre-rendered custom
    field) to the tool's. With `raw`, a custom field is written so a Handlebars-style tool
    inserts its value unescaped (`{{{x}}}`): used for pre-rendered HTML in a body.
    """
    parts = []
    for part in text.parts:
        if isinstance(part, Var) and part.name in names:
            parts.append(Var(names[part.name], part.fallback))
        elif isinstance(part, Custom):
            name = names.get(part.name, part.name)
            parts.append(Custom("{%s}" % name if raw else name))
        else:
            parts.append(part)
    return Text(tuple(parts))


def hhmm(minute: int) -> str:
    """Minutes after midnight as `HH:MM` (at most 23:59)."""
    minute = min(max(minute, 0), 23 * 60 + 59)
    return f"{minute // 60:02d}:{minute % 60:02d}"


# ---------------------------------------------------------------- checks (SEQ601)


def _emails(track: LTrack) -> list[LStep]:
    return [s for s in track.steps if s.channel == "email" and not s.manual and s.kind is not None]


def replies_in_thread(program: Program, ctx: LowerContext) -> Program:
    """SEQ601 for a threaded reply the tool cannot send as written (a check: nothing is rewritten).

    On these tools a reply takes the subject of the thread it joins, so a subject written on a
    `thread X` step would be dropped: it is reported. Where the tool marks a step only as "reply
    to the previous email" (`threading == "flag"`, Outreach's `isReply`), `thread X` must name an
    email of the same thread as the email just before it.
    """
    flag = ctx.caps.threading == "flag"
    for lseq in program.sequences:
        for track in lseq.tracks:
            if track.name != "main" and not ctx.caps.paths:
                continue  # the check reports the path itself
            root: dict[str, str] = {}
            previous: LStep | None = None
            for lstep in _emails(track):
                target = lstep.step.thread
                if target is None:
                    root[lstep.name] = lstep.name
                    previous = lstep
                    continue
                root[lstep.name] = root.get(target, target)
                if has_subject(lstep):
                    ctx.reject(f"a subject on the threaded reply `{lstep.name}`", lstep.step.thread_span,
                               hint=f"remove the subject: {ctx.target} sends a reply with the subject of "
                                    f"`{target}`'s thread")
                if flag and (previous is None or root.get(previous.name) != root[lstep.name]):
                    before = f"`{previous.name}`" if previous is not None else "none"
                    ctx.reject(f"`thread {target}` on `{lstep.name}`", lstep.step.thread_span,
                               would=lambda c: c.threading == "reference",
                               hint=f"{ctx.target} can only reply in the thread of the email just before "
                                    f"(here {before}); thread on that one, or drop `thread`")
                previous = lstep
    return program


def business_days_only(program: Program, ctx: LowerContext) -> Program:
    """SEQ601 for send days a tool that only knows "business days" cannot hold (a check).

    With `schedule.weekdays` False the tool sends automated emails on every weekday, mon-fri,
    and has no list of days: an email window on other days would be silently widened, and
    the delays fitted to it would be wrong.
    """
    if ctx.caps.schedule.weekdays:
        return program
    business = tuple(timing.BUSINESS_DAYS)
    for lseq in program.sequences:
        days, start, end = campaign_window(lseq.seq)
        automated = any(s.kind is not None and not s.manual for s in lseq.steps())
        if days == business or not automated:
            continue
        window = lseq.seq.channel_window("email")
        ctx.reject(f"the email send days {timing.format_weekdays(days)} of `{lseq.name}`",
                   window.span if window else lseq.seq.name_span,
                   would=lambda c: c.schedule.weekdays,
                   hint=f"{ctx.target} sends on every business day and takes no list of days; "
                        f"write `window email mon-fri {timing.format_hours(start, end)}`")
    return program


def zone_of_the_rep(program: Program, ctx: LowerContext) -> Program:
    """SEQ601 for `timezone prospect` on a tool that sends in the enrolling user's zone (a check)."""
    if ctx.caps.schedule.zone != "user":
        return program
    for lseq in program.sequences:
        spec = lseq.seq.timezone
        if spec is None or not spec.prospect:
            continue
        fixed, _ = zone_names(lseq.seq)
        ctx.reject(f"per-prospect time zones in `{lseq.name}`", spec.span,
                   would=lambda c: c.schedule.zone != "user",
                   hint=f"{ctx.target} sends in the time zone of the user who enrolls the contact; "
                        f'write `timezone "{fixed}"` and enroll from a user in that zone')
    return program


__all__ = [
    "REFERENCE", "business_days_only", "has_subject", "hhmm", "param", "ref", "replies_in_thread", "request",
    "resolve_body", "resolve_path", "retag", "sender_address", "task_text", "text_value", "zone_of_the_rep",
]

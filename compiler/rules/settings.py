"""SEQ109: settings that name something that does not exist or do not fit their place.

This code is seqc's own addition to SPEC §4 (documented in docs/language.md): the
spec has no code for an unknown time zone, holiday country, purpose or channel
field, and each needs a located error rather than a failure later on.
"""

from __future__ import annotations

from collections.abc import Iterator

from compiler import ir
from compiler.diagnostics import Diagnostic, Severity
from compiler.rules.base import Rule, RuleContext
from compiler.suggest import did_you_mean

# Which message fields each channel (and LinkedIn action) takes.
_FIELDS = {
    "email": {"subject", "body"},
    "call": {"script"},
    "task": {"note"},
}
_LINKEDIN_FIELDS = {
    "connect": {"note"},
    "message": {"body"},
    "inmail": {"subject", "body"},
    "voice": {"script", "body"},
    "view": set(),
}


class InvalidSetting(Rule):
    """Setting with a value that does not exist or a field its channel does not take.

    Why: an unknown time zone, holiday country, tier, purpose or LinkedIn action,
    a window that ends before it starts, or a `script` on an email would otherwise
    fail (or be ignored) only when the sequence runs.
    Bad:
        timezone "America/Nwe_York"
    Good:
        timezone "America/New_York"
    """

    code = "SEQ109"
    severity = Severity.ERROR
    name = "architecture.invalid-setting"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        from compiler import timing

        fields = {f.name: f for f in ctx.project.prospect.fields} if ctx.project.prospect else {}
        for seq in ctx.project.sequences:
            if seq.tier is not None and seq.tier not in ir.TIERS:
                yield self.diag(f"unknown tier `{seq.tier}`", seq.tier_span,
                                did_you_mean(seq.tier, ir.TIERS) or "tiers are `smb`, `mid_market`, `enterprise`")
            yield from self._timezone(seq, fields, timing)
            yield from self._holidays(seq, fields, timing)
            for cw in seq.windows:
                yield from self._window(cw.window, f"`window {cw.channel}`")
            for step in seq.all_steps():
                yield from self._step(step)

    def _timezone(self, seq: ir.Sequence, fields, timing) -> Iterator[Diagnostic]:
        tz = seq.timezone
        if tz is None:
            return
        if tz.fallback is not None and not timing.is_valid_zone(tz.fallback):
            yield self.diag(f"unknown time zone `{tz.fallback}`", tz.span,
                            did_you_mean(tz.fallback, timing.zone_names())
                            or "use an IANA name like `America/New_York`")
        if tz.prospect and "timezone" not in fields:
            yield self.diag("`timezone prospect` but the prospect block has no `timezone` field", tz.span,
                            "add `timezone: timezone` to the prospect block")
        if tz.prospect and tz.fallback is None and "timezone" in fields and not fields["timezone"].required:
            yield self.diag("`timezone prospect` without a fallback for prospects with no time zone", tz.span,
                            'add `else "America/New_York"` (or mark the field required)')

    def _holidays(self, seq: ir.Sequence, fields, timing) -> Iterator[Diagnostic]:
        h = seq.holidays
        if h is None:
            return
        if h.country is not None and not timing.is_known_country(h.country):
            yield self.diag(f"no public holiday calendar for `{h.country}`", h.span,
                            "use an ISO 3166-1 alpha-2 country code like `US`, `GB` or `DE`")
        if h.prospect and "country" not in fields:
            yield self.diag("`holidays prospect` but the prospect block has no `country` field", h.span,
                            "add `country: country` to the prospect block")

    def _window(self, w: ir.Window, what: str) -> Iterator[Diagnostic]:
        if w.end <= w.start:
            yield self.diag(f"{what} ends at or before it starts ({w.hours})", w.span,
                            "write the earlier time first; the end is exclusive")

    def _step(self, step: ir.Step) -> Iterator[Diagnostic]:
        if step.window is not None:
            yield from self._window(step.window, f"the window of `{step.name}`")
        if step.purpose is not None:
            if step.purpose not in ir.PURPOSES:
                yield self.diag(f"unknown purpose `{step.purpose}`", step.purpose_span,
                                did_you_mean(step.purpose, ir.PURPOSES)
                                or "purposes are " + ", ".join(f"`{p}`" for p in ir.PURPOSES))
            elif step.channel != "email":
                yield self.diag(f"`purpose` on {step.channel} step `{step.name}`", step.purpose_span,
                                "purposes describe emails; LinkedIn and calls are social touches")
        if step.channel == "linkedin":
            if step.action is None:
                yield self.diag(f"LinkedIn step `{step.name}` has no `action`", step.name_span,
                                "add `action connect`, `message`, `view`, `inmail` or `voice`")
            elif step.action not in ir.LINKEDIN_ACTIONS:
                yield self.diag(f"unknown LinkedIn action `{step.action}`", step.action_span,
                                did_you_mean(step.action, ir.LINKEDIN_ACTIONS))
        elif step.action is not None:
            yield self.diag(f"`action` on {step.channel} step `{step.name}`", step.action_span,
                            "`action` belongs to LinkedIn steps")
        if step.thread is not None and step.channel != "email":
            yield self.diag(f"`thread` on {step.channel} step `{step.name}`", step.thread_span,
                            "only emails thread")
        yield from self._fields(step)

    def _fields(self, step: ir.Step) -> Iterator[Diagnostic]:
        allowed = (_LINKEDIN_FIELDS.get(step.action or "", {"note", "body", "subject", "script"})
                   if step.channel == "linkedin" else _FIELDS[step.channel])
        for name, tpl in step.templates():
            if name not in allowed:
                fits = ", ".join(f"`{f}`" for f in sorted(allowed)) or "no message fields"
                yield self.diag(f"`{name}` does not apply to {self._kind(step)} `{step.name}`", tpl.span,
                                f"this step takes {fits}")
        if step.channel == "email":
            for content in step.all_contents():
                if content.body is None:
                    yield self.diag(f"email `{step.name}` has no body"
                                    + (" in every variant/branch" if step.variants or step.branches else ""),
                                    step.name_span, 'add `body "…"` or `body file "…"`')
                    break
                if content.subject is None and step.thread is None:
                    yield self.diag(f"email `{step.name}` has no subject", step.name_span,
                                    'add `subject "…"`, or `thread` it to an earlier email to send it as a reply')
                    break

    @staticmethod
    def _kind(step: ir.Step) -> str:
        if step.channel == "linkedin":
            return f"LinkedIn {step.action or ''} step".replace("  ", " ")
        return f"{step.channel} step"


RULES = (InvalidSetting,)

"""`seqc new`: a project skeleton from the guide's sequence planning framework.

The guide's framework (define the ICP, the sales cycle, the email types, the timing, the
personalization and the success metrics) becomes four files and a template folder:

- `prospect.seq`: the static fields, plus the ones the chosen channels need
  (`linkedin_url` for LinkedIn, `phone` for calls), and `email_status` for list hygiene;
- `sequence.seq`: the tier's step count, the email types in the guide's order (opener,
  value-add, social proof, break-up), the guide's timing, guarded social and phone touches,
  and a behavioural branch (a click on the value-add moves the prospect to a direct ask);
- `campaign.seq`: routing, a sender with authentication, compliance (unsubscribe, postal
  address, lawful basis), CRM logging and the tier's benchmark goals;
- `templates/*.txt.j2`: starter copy for every email, each ending with the unsubscribe link.

Timing is the guide's: mid-market is its timing table step for step (days 0, 1, 3, 5, 7,
10, 14), or its generic 5-step cadence (0, 3, 7, 14, 21) without a call; SMB runs three
emails a week apart within its 1-3 week cycle; enterprise spaces touches 7 days apart (the
guide's 5-7) over 6 weeks. Windows are the guide's tue-thu sweet spot and hours, except
where the guide's own day offsets, once rolled onto tue-thu, would put two emails or an email
and a LinkedIn touch on the same day (SEQ205/SEQ206): each such exception is explained in a
comment of the generated file. The layouts were chosen so that, for an enrollment on any
weekday, emails keep the tier's spacing, no LinkedIn touch shares a day with an email, the
opener lands first and each channel keeps its written order (tests/test_new.py checks it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from compiler.capabilities import Capabilities
from compiler.diagnostics import SeqcError
from grammar import ROUTE_KEYWORDS

TIERS = ("smb", "mid_market", "enterprise")
CHANNELS = ("email", "linkedin", "call")
DEFAULT_CHANNELS = CHANNELS
RESERVED = ROUTE_KEYWORDS  # a sequence so named could never be routed to
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

# The guide's tier table: step count, cycle, and the conversion benchmarks as goals.
TIER_FACTS = {
    "smb": {"steps": 3, "label": "SMB", "cycle": "short (1-3 weeks)", "buyer": "a single decision maker",
            "goals": ("8%", "30%", "2%", "0.5%", "0.1%")},
    "mid_market": {"steps": 5, "label": "Mid-market", "cycle": "medium (3-6 weeks)",
                   "buyer": "a primary buyer and a stakeholder", "goals": ("5%", "40%", "1.5%", "0.3%", "0.08%")},
    "enterprise": {"steps": 7, "label": "Enterprise", "cycle": "long (6+ weeks)",
                   "buyer": "a committee of stakeholders", "goals": ("3%", "50%", "0.5%", "0.2%", "0.05%")},
}


@dataclass(frozen=True)
class Touch:
    """One step of the generated main track (or of the `hot` path)."""

    day: int
    channel: str
    name: str
    comment: str
    purpose: str | None = None     # emails
    action: str | None = None      # LinkedIn


@dataclass(frozen=True)
class Layout:
    """Days and windows for one tier and channel mix."""

    touches: tuple[Touch, ...]
    windows: tuple[tuple[str, str, str], ...]       # (channel, days, hours)
    timing: str                                     # where the days come from in the guide
    window_note: str                                # why the windows are what they are


@dataclass(frozen=True)
class Fit:
    """What the skeleton leaves out so that it compiles to one sending tool (`seqc new --target`).

    Derived from the target's capabilities: the `hot` path needs click-triggered paths, each
    `exit on` event must be one the tool honours, A/B variants need room for two, the
    `{{ unsubscribe_url }}` link needs a tool variable (else the opt-out is a reply line and the
    tool's own unsubscribe setting), a per-prospect time zone and tue-thu windows need a
    schedule that can express them.
    """

    target: str | None = None
    hot_path: bool = True
    exits: tuple[str, ...] = ("replied", "bounced", "unsubscribed", "booked")
    variants: bool = True
    unsubscribe_tag: bool = True
    prospect_zone: bool = True
    weekdays: bool = True
    one_window: bool = False  # every channel sends in the email window
    channels: tuple[str, ...] = CHANNELS  # the channels the tool carries, natively or as tasks

    @classmethod
    def for_target(cls, name: str, caps: Capabilities) -> Fit:
        merge = caps.merge
        carried = tuple(c for c in CHANNELS if c in caps.channels or (caps.task is not None and c != "email"))
        return cls(
            target=name,
            hot_path="clicked" in caps.paths,
            exits=tuple(e for e in cls.exits if e in caps.exits),
            variants=caps.variants.max is None or caps.variants.max >= 2,
            unsubscribe_tag=merge is None or "unsubscribe_url" in merge.builtins,
            prospect_zone=caps.schedule.zone in ("prospect", "campaign"),  # "campaign": split per zone
            weekdays=caps.schedule.weekdays,
            one_window=caps.schedule.windows == 1,
            channels=carried,
        )

    def notes(self, channels: tuple[str, ...] = ("email",)) -> list[str]:
        """What was left out, in the words of a generated comment."""
        if self.target is None:
            return []
        out = []
        if not self.hot_path:
            out.append("no `hot` path (the tool cannot branch on a click)")
        if "booked" not in self.exits:
            out.append("no `exit on booked` (stop the sequence from your CRM when a meeting is booked)")
        if not self.variants:
            out.append("no A/B variants on the opener (the import format takes one version)")
        if not self.unsubscribe_tag:
            out.append("the opt-out is a reply line: turn on the tool's own unsubscribe link setting")
        if not self.prospect_zone:
            out.append("one time zone for everyone (the tool sends on the sending user's clock)")
        if not self.weekdays:
            out.append("mon-fri windows (the tool does not restrict sending days)")
        if self.one_window and len(channels) > 1:
            out.append("one send window for every channel (the tool has one schedule per campaign)")
        return out


#: The opt-out for tools without an unsubscribe variable: every template says it, `compliance` declares it.
_REPLY_OPT_OUT = 'Reply "stop" and I won\'t write again.'


# ---------------------------------------------------------------- the email types

_EMAILS = {
    "opener": ("opener", "Cold opener: short, specific, the first name in the first line, no link."),
    "value": ("value_add", "Value-add follow-up: something useful either way, one link (a click is the signal "
                           "the `hot` path listens for). Sent as a reply in the opener's thread."),
    "proof": ("social_proof", "Social proof: how a team like theirs solved the problem."),
    "stakeholder": ("followup", "Follow-up for the wider buying group: ask who else owns the problem."),
    "objection": ("value_add", "Second value-add: answer the objection you hear most."),
    "checkin": ("followup", "Short check-in with one new fact, before the break-up."),
    "breakup": ("breakup", "Break-up: say you are stepping back; the last email of the track."),
}


def _email(day: int, name: str) -> Touch:
    purpose, comment = _EMAILS[name]
    return Touch(day, "email", name, comment, purpose=purpose)


def _linkedin(day: int, name: str, action: str) -> Touch:
    comment = {
        "view": "Social touch: a profile view puts a face to the name before the invite.",
        "connect": "Social touch: a connection request with a brief note (not counted as a step).",
        "message": "Social touch: a direct message, only once the invite was accepted.",
    }[action]
    return Touch(day, "linkedin", name, comment, action=action)


def _call(day: int, name: str, comment: str) -> Touch:
    return Touch(day, "call", name, comment)


def layout(tier: str, channels: tuple[str, ...]) -> Layout:
    """The guide's touches for a tier and channel mix, with windows that keep them apart."""
    build = {"smb": _smb, "mid_market": _mid_market, "enterprise": _enterprise}.get(tier)
    if build is None:
        raise SeqcError(f"unknown tier {tier!r} (tiers: {', '.join(TIERS)})")
    touches, windows, timing, note = build("linkedin" in channels, "call" in channels)
    if channels == ("email",):
        note += " Email only: SEQ209 notes that the sequence has no social or phone touch (info only)."
    touches.sort(key=lambda t: t.day)   # stable: written order for equal days
    used = {t.channel for t in touches}
    return Layout(tuple(touches), tuple(w for w in windows if w[0] in used), timing, note)


_Parts = tuple[list[Touch], list[tuple[str, str, str]], str, str]


def _smb(li: bool, call: bool) -> _Parts:
    touches = [_email(0, "opener"), _email(7, "value"), _email(14, "breakup")]
    if li:
        touches += [_linkedin(1, "invite", "connect"), _linkedin(8, "dm", "message")]
    if call:
        touches.append(_call(10, "first_call", "Phone, 2-4 pm local: SMB has no follow-up email to give up, "
                                               "so the call is a fourth counted touch (one over the tier's 3)."))
    windows = [("email", "tue-thu", "10:00-12:00"), ("linkedin", "wed,thu", "11:00-13:00"),
               ("call", "tue-thu", "14:00-16:00")]
    timing = ("three emails a week apart (days 0, 7, 14), inside the 1-3 week SMB cycle"
              + ("; the LinkedIn invite the day after the opener, as in the guide's table" if li else ""))
    note = "Emails a week apart land on one weekday, 7 days from each other, whatever the enrollment day."
    if li:
        note += (" LinkedIn keeps to wed,thu, which for every enrollment day keeps it off the days the emails "
                 "land (SEQ206).")
    return touches, windows, timing, note


def _mid_market(li: bool, call: bool) -> _Parts:
    if call:
        touches = [_email(0, "opener"), _email(3, "value"),
                   _call(5, "first_call", "Phone, 2-4 pm local: voicemail if no answer; check the CRM first."),
                   _email(7, "proof"), _email(14, "breakup")]
        timing = ("the guide's timing table for a 5-step, 3-channel mid-market sequence, step for step "
                  "(days 0, 1, 3, 5, 7, 10, 14)" if li else
                  "the guide's mid-market timing table without its LinkedIn touches (days 0, 3, 5, 7, 14)")
    else:
        touches = [_email(0, "opener"), _email(3, "value"), _email(7, "proof"), _email(14, "stakeholder"),
                   _email(21, "breakup")]
        timing = ("the guide's 5-step cadence (days 0, 3, 7, 14, 21)"
                  + (", with the timing table's LinkedIn touches on days 1 and 10" if li else ""))
    if li:
        touches += [_linkedin(1, "invite", "connect"), _linkedin(10, "dm", "message")]
    windows = [("email", "mon-fri", "10:00-12:00"), ("linkedin", "tue-fri", "11:00-13:00"),
               ("call", "tue-thu", "14:00-16:00")]
    note = ("The guide's offsets count calendar days: held to tue-thu, the day-3 and day-7 emails would land "
            "on the same Tuesday for a Tuesday enrollment (SEQ205), so email keeps the guide's hours on mon-fri.")
    if li:
        note += (" LinkedIn skips Mondays, so a Friday enrollment's day-1 invite, rolled past the weekend, never "
                 "meets the day-3 email on Monday (SEQ206).")
    note += f" SEQ207 notes the window{'s' if li else ''} outside tue-thu (info only)."
    return touches, windows, timing, note


def _enterprise(li: bool, call: bool) -> _Parts:
    if call:
        touches = [_email(0, "opener"), _email(7, "value"),
                   _call(14, "first_call", "Phone, 2-4 pm local: ask how they handle the problem today."),
                   _email(21, "proof"), _email(28, "stakeholder"),
                   _call(35, "second_call", "Last call: if they do not own the problem, ask who does."),
                   _email(42, "breakup")]
    else:
        touches = [_email(0, "opener"), _email(7, "value"), _email(14, "proof"), _email(21, "stakeholder"),
                   _email(28, "objection"), _email(35, "checkin"), _email(42, "breakup")]
    if li:
        touches += [_linkedin(4, "profile_view", "view"), _linkedin(11, "invite", "connect"),
                    _linkedin(18, "dm", "message")]
    timing = ("7 days between counted steps (the guide's 5-7 for enterprise), 6 weeks in all"
              + ("; social touches 4 days after an email, between the email steps" if li else ""))
    windows = [("email", "tue-thu", "10:00-12:00"), ("linkedin", "mon,fri", "11:00-13:00"),
               ("call", "tue-thu", "14:00-16:00")]
    note = ("Every email day is a multiple of 7, so emails land on one weekday, 7 days apart (the enterprise "
            "minimum is 5), whatever the enrollment day.")
    if li:
        note += (" LinkedIn runs on mon and fri, the days email is off, so a social touch never shares a day "
                 "with an email (SEQ206); SEQ207 notes that window (info only).")
    return touches, windows, timing, note


# ---------------------------------------------------------------- arguments


def parse_channels(text: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """`"email,linkedin"` → ("email", "linkedin") in canonical order; email is always needed.

    Raises:
        SeqcError: for an unknown channel or a mix without email.
    """
    from compiler.suggest import did_you_mean

    if text is None:
        return DEFAULT_CHANNELS
    items = text.split(",") if isinstance(text, str) else list(text)
    chosen: set[str] = set()
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in CHANNELS:
            hint = did_you_mean(name, CHANNELS)
            raise SeqcError(f"--channels: unknown channel {raw.strip()!r}" + (f"; {hint}" if hint else "")
                            + f" (channels: {', '.join(CHANNELS)})")
        chosen.add(name)
    if "email" not in chosen:
        raise SeqcError("--channels must include email: the opener and the break-up are emails")
    return tuple(c for c in CHANNELS if c in chosen)


def check_name(name: str) -> None:
    """A project name is a seqc identifier (it names the folder and the campaign).

    Raises:
        SeqcError: when it is not.
    """
    if not _IDENTIFIER.fullmatch(name or ""):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", (name or "").lower()).strip("_")
        if suggestion and suggestion[0].isdigit():
            suggestion = f"_{suggestion}"
        hint = f"; try `{suggestion}`" if suggestion and _IDENTIFIER.fullmatch(suggestion) else ""
        raise SeqcError(f"project name {name!r} is not an identifier (lowercase letters, digits and _, "
                        f"not starting with a digit){hint}")
    if name in RESERVED:
        raise SeqcError(f"project name {name!r} is a reserved word of the language; choose another")


# ---------------------------------------------------------------- files


def skeleton(name: str, tier: str, channels: tuple[str, ...] | list[str] | str | None = None,
             fit: Fit = Fit()) -> dict[str, str]:
    """The files of a new project, keyed by path relative to the project folder `NAME/`.

    Deterministic: no dates from the clock, files in a fixed order. With a `fit` for a
    target, only what that tool can take (see `Fit`).

    Raises:
        SeqcError: for a bad name, tier or channel mix, or a channel the target cannot carry.
    """
    check_name(name)
    if tier not in TIERS:
        from compiler.suggest import did_you_mean

        hint = did_you_mean(tier, TIERS)
        raise SeqcError(f"unknown tier {tier!r}" + (f"; {hint}" if hint else "") + f" (tiers: {', '.join(TIERS)})")
    if channels is None:  # the default mix, less what the target cannot carry
        channels = tuple(c for c in DEFAULT_CHANNELS if c in fit.channels)
    chans = parse_channels(channels if isinstance(channels, str) else tuple(channels))
    missing = [c for c in chans if c not in fit.channels]
    if missing:
        raise SeqcError(f"{fit.target} cannot carry {', '.join(missing)} touches, not even as tasks; "
                        f"use --channels {','.join(c for c in chans if c in fit.channels)}")
    plan = layout(tier, chans)
    files = {
        "prospect.seq": _canonical(_prospect(chans)),
        "sequence.seq": _canonical(_sequence(tier, chans, plan, fit)),
        "campaign.seq": _canonical(_campaign(name, tier, fit)),
    }
    emails = [t.name for t in plan.touches if t.channel == "email"] + (["direct_ask"] if fit.hot_path else [])
    for email in emails:
        text = TEMPLATES[email]
        files[f"templates/{email}.txt.j2"] = text if fit.unsubscribe_tag else text.replace(_FOOTER, _REPLY_FOOTER)
    return files


def write(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write `files` under `folder`, refusing (before writing anything) to overwrite a file.

    Raises:
        SeqcError: when a target exists or a file cannot be written.
    """
    targets = [folder / rel for rel in files]
    if folder.exists() and not folder.is_dir():
        raise SeqcError(f"{folder}: exists and is not a folder; seqc new never overwrites files")
    for target in targets:
        if target.exists() or target.is_symlink():
            raise SeqcError(f"{target.as_posix()}: already exists; seqc new never overwrites files")
    written = []
    try:
        for target, text in zip(targets, files.values(), strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8", newline="\n") as fh:   # "x": fail if it appeared meanwhile
                fh.write(text)
            written.append(target)
    except FileExistsError as e:
        raise SeqcError(f"{Path(e.filename).as_posix()}: already exists; seqc new never overwrites files") from None
    except OSError as e:
        raise SeqcError(f"{folder}: cannot write the project ({e.strerror})") from None
    return written


def _prospect(channels: tuple[str, ...]) -> str:
    rows = [
        ("# Layer 1: static fields", None, None),
        ("email", "email     required", None),
        ("first_name", "text      required", "every opener uses it in its first line"),
        ("company", "text      required", None),
        ("last_name", "text", None),
        ("title", "text", "optional: templates guard it or give a fallback"),
        ("timezone", "timezone", "IANA name; sends land in the prospect's local window"),
        ("country", "country", "ISO 3166-1 alpha-2; public holidays are skipped"),
    ]
    if "linkedin" in channels:
        rows.append(("linkedin_url", "url", "LinkedIn steps run only `if has(linkedin_url)`"))
    if "call" in channels:
        rows.append(("phone", "phone", "call steps run only `if has(phone)`"))
    rows += [
        ("", None, None),
        ("# List hygiene: your verification tool's verdict (pre-launch checklist item 1)", None, None),
        ("email_status", "enum(verified, risky, invalid, unknown)", None),
    ]
    lines = [
        "# The prospect data contract: one record per row of your prospect file (CSV, JSON or JSONL).",
        "# Layer 1 of the guide's personalization is static fields; add layer 2, dynamic signals from",
        "# an enrichment pass (for example `funding_days_ago: int`), when your copy uses them.",
        "",
        "prospect {",
    ]
    for name, decl, comment in rows:
        if decl is None:
            lines.append(f"  {name}" if name else "")
            continue
        lines.append(_commented(f"  {name + ':':<13} {decl}", comment))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _canonical(text: str) -> str:
    """The text in `seqc fmt`'s layout, so a new project passes `seqc fmt --check` (the pre-commit hook)."""
    from compiler.fmt import format_text

    return format_text(text, "skeleton.seq")


def _commented(code: str, comment: str | None) -> str:
    """A line with its trailing comment where `seqc fmt` puts it (column 42, or 3 spaces past the code)."""
    if not comment:
        return code
    return f"{code:<41}# {comment}" if len(code) <= 38 else f"{code}   # {comment}"


def _sequence(tier: str, channels: tuple[str, ...], plan: Layout, fit: Fit = Fit()) -> str:
    facts = TIER_FACTS[tier]
    counted = [t for t in plan.touches if t.channel != "linkedin"]
    social = [t for t in plan.touches if t.channel == "linkedin"]
    title = f"{facts['label']}: {len(counted)} steps" + (f", {len(channels)} channels" if len(channels) > 1 else "")
    lines = _comment_block(
        f"{facts['label']} sequence from the guide's planning framework. ICP: {facts['buyer']}; sales cycle "
        f"{facts['cycle']}, so {facts['steps']}{'+' if tier == 'enterprise' else ''} counted steps: the email, "
        "call and task touches of the main track"
        + (" (LinkedIn touches are social touches between them)." if social else "."),
        f"Timing: {plan.timing}. {_window_note(plan, channels, fit)}",
        "Replace every [bracketed placeholder] in the templates; `seqc plan` shows where each touch lands, "
        "`seqc graph` draws the branches and `seqc check` says what to fix.",
        *([f"Made to compile to {fit.target}: " + "; ".join(fit.notes(channels)) + "."] if fit.notes(channels) else []),
    )
    lines += [
        "",
        f'sequence {tier} "{title}" {{',
        f"  tier {tier}",
        '  timezone prospect else "America/New_York"' if fit.prospect_zone else '  timezone "America/New_York"',
    ]
    windows = plan.windows
    if fit.one_window:
        email = next(w for w in windows if w[0] == "email")
        windows = tuple((channel, email[1], email[2]) for channel, _, _ in windows)
    for channel, days, hours in windows:
        lines.append(f"  window {channel:<8} {days if fit.weekdays else 'mon-fri'} {hours}")
    lines += ["  holidays prospect", f"  exit on {', '.join(fit.exits)}", ""]
    for touch in plan.touches:
        if touch.name == "value" and not fit.hot_path:
            touch = replace(touch, comment="Value-add follow-up: something useful either way, one link. Sent as "
                                           "a reply in the opener's thread.")
        lines += _step(touch, "  ", variants=fit.variants)
        lines.append("")
    if not fit.hot_path:
        lines[-1:] = ["}"]
        return "\n".join(lines) + "\n"
    lines += [
        "  # Behavioural trigger from the guide: a click on the value-add's link is the strongest",
        "  # signal, so ask directly instead of waiting for the next step.",
        "  on clicked(value) within 2 days -> hot",
        "",
        "  path hot {",
    ]
    lines += _step(Touch(1, "email", "direct_ask", "A direct ask, as a reply in the value-add's thread.",
                         purpose="direct_ask"), "    ", thread="value")
    if "call" in channels:
        lines.append("")
        lines += _step(_call(3, "hot_call", "Call while the click is fresh."), "    ")
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def _window_note(plan: Layout, channels: tuple[str, ...], fit: Fit) -> str:
    """Why the windows are what they are; the layout's reasons no longer hold once a tool flattens them."""
    flat = [] if fit.weekdays else ["sends mon-fri (it cannot restrict sending days)"]
    if fit.one_window and len(channels) > 1:
        flat.append("has one send window for every channel")
    if not flat:
        return plan.window_note
    return (f"{fit.target} " + " and ".join(flat) + ", so touches keep the guide's days and `seqc check` "
            "names any two that land on the same day.")


_WORDS = re.compile(r"(?:`[^`]*`|[^\s`])+")


def _comment_block(*paragraphs: str, indent: str = "", width: int = 92) -> list[str]:
    """Paragraphs as `#` comment lines wrapped at `width`, a bare `#` line between paragraphs."""
    out: list[str] = []
    for i, text in enumerate(paragraphs):
        if i:
            out.append(f"{indent}#")
        line = ""
        for word in _WORDS.findall(text):   # a `code span` is never split
            if line and len(indent) + 2 + len(line) + 1 + len(word) > width:
                out.append(f"{indent}# {line}")
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            out.append(f"{indent}# {line}")
    return out


_SUBJECTS = {
    "proof": "How [customer] solved [problem]",
    "stakeholder": "Who owns [problem area] at {{ company }}?",
    "objection": "On [the objection you hear most]",
    "checkin": "One more idea for {{ company }}",
    "breakup": "Closing the loop",
}
_CALL_SCRIPTS = {
    "first_call": "Check the CRM first: skip if there is an open deal or a recent reply. Ask how {{ company }} "
                  "handles [problem] today and mention the email about [topic]. No answer: leave a 20-second "
                  "voicemail.",
    "second_call": "Last call attempt. If {{ first_name }} does not own [problem area], ask who does. No answer: "
                   "a short voicemail that mentions the email about [topic].",
    "hot_call": "{{ first_name }} clicked the [resource] link. Ask what caught their eye and offer a 15-minute "
                "walkthrough for {{ company }}; log the outcome in the CRM.",
}
_GUARDS = {
    "call": "if has(phone)",
    "view": "if has(linkedin_url)",
    "connect": "if has(linkedin_url)",
    "message": "if accepted(invite) and has(linkedin_url)",
}


def _step(touch: Touch, indent: str, thread: str | None = None, variants: bool = True) -> list[str]:
    inner = indent + "  "
    guard = _GUARDS.get(touch.action or touch.channel)
    head = f"{indent}day {touch.day} {touch.channel} {touch.name}" + (f" {guard}" if guard else "") + " {"
    lines = [*_comment_block(touch.comment, indent=indent), head]
    if touch.channel == "email":
        lines.append(f"{inner}purpose {touch.purpose}")
        if touch.name == "opener" and not variants:
            lines.append(f'{inner}subject "Quick question about {{{{ company }}}}"')
        elif touch.name == "opener":
            lines += [
                f'{inner}variant a {{ subject "Quick question about {{{{ company }}}}" }}',
                f'{inner}variant b {{ subject "{{{{ first_name }}}}, an idea for {{{{ company }}}}" }}',
                f"{inner}split 50/50",
            ]
        elif touch.name == "value":
            lines.append(f"{inner}thread opener")
        elif thread is not None:
            lines.append(f"{inner}thread {thread}")
        else:
            lines.append(f'{inner}subject "{_SUBJECTS[touch.name]}"')
        lines.append(f'{inner}body file "templates/{touch.name}.txt.j2"')
    elif touch.channel == "linkedin":
        lines.append(f"{inner}action {touch.action}")
        if touch.action == "connect":
            lines.append(f'{inner}note "Hi {{{{ first_name }}}}, I sent you a short note about [topic] at '
                         f'{{{{ company }}}}. Happy to connect either way. - {{{{ sender_first_name }}}}"')
        elif touch.action == "message":
            lines.append(f'{inner}body "Thanks for connecting, {{{{ first_name }}}}. If [problem] is on your '
                         f"plate this quarter, I'm happy to share what is working for teams like "
                         f'{{{{ company }}}}. No pitch unless you ask."')
    elif touch.channel == "call":
        lines.append(f'{inner}script "{_CALL_SCRIPTS[touch.name]}"')
    lines.append(f"{indent}}}")
    return lines


def _campaign(name: str, tier: str, fit: Fit = Fit()) -> str:
    reply, positive, booked, unsub, spam = TIER_FACTS[tier]["goals"]
    c = _commented
    lines = [
        "# The campaign: who enters the sequence, who sends, and the compliance and goals around it.",
        "# Replace every placeholder value before launch; `seqc check --launch` prints the guide's",
        "# 10-point pre-launch checklist.",
        "",
        f"campaign {name} {{",
        "  # start YYYY-MM-DD: the first enrollment day (the default start of `seqc plan`)",
        "  # enroll 40 per day: new prospects a business day; enables the volume check (SEQ403)",
        "",
        "  route {",
        c(f"    {tier}", "everyone; add `if employees < 200`-style lines per ICP tier"),
        "  }",
        "",
        "  sender {",
        '    from "Your Name <you@mail.example.com>"',
        c('    reply_to "you@example.com"', "a monitored inbox, routed to the CRM"),
        "    mailboxes 2",
        c("    daily_limit 40", "per mailbox, once warmed up"),
        "    # warmup since YYYY-MM-DD: a new domain starts at 20 a day, +10% a week from this date",
        c("    auth spf dkim dmarc", "set these DNS records up before the first send"),
        "  }",
        "",
        "  compliance {",
        c('    unsubscribe "{{ unsubscribe_url }}"', "every email template ends with it") if fit.unsubscribe_tag
        else c('    unsubscribe "' + _REPLY_OPT_OUT.replace('"', '\\"') + '"',
               f"every template ends with it; {fit.target} adds its own unsubscribe link"),
        '    postal_address "Your Company Inc., 100 Example Street, City, ST 00000, Country"',
        c("    lawful_basis legitimate_interest", "needed for prospects in the EU/EEA or the UK"),
        "  }",
        "",
        c("  crm hubspot", "your CRM: reply routing and touch logging"),
        "",
        "  # The guide's conversion benchmarks for this tier.",
        "  goals {",
        f"    reply_rate {reply}",
        f"    positive_reply_rate {positive}",
        f"    booked_rate {booked}",
        f"    unsubscribe_rate < {unsub}",
        f"    spam_rate < {spam}",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- starter copy

_FOOTER = "{{ sender_first_name }}\n\nNot relevant? Opt out here: {{ unsubscribe_url }}\n"
_REPLY_FOOTER = "{{ sender_first_name }}\n\nNot relevant? " + _REPLY_OPT_OUT + "\n"

TEMPLATES = {
    "opener": (
        "Hi {{ first_name }},\n\n"
        "[One sentence on why you are writing to {{ company }} now: a hire, a launch, a trigger you saw.]\n\n"
        "Teams like {{ company }} use [your product] to [the one outcome you deliver], usually "
        "[a concrete result, e.g. in half the time].\n\n"
        "Would it be worth a short conversation to see if it fits?\n\n" + _FOOTER
    ),
    "value": (
        "Hi {{ first_name }},\n\n"
        "Following up with something useful either way: [a guide, a benchmark or a short case study] "
        "on [the problem you solve].\n\n"
        "https://example.com/resource\n\n"
        "{% if title %}As {{ title }} at {{ company }}, you may find [the most relevant section] worth a look."
        "{% else %}Most teams like {{ company }} find [the most relevant section] worth a look.{% endif %}\n\n"
        + _FOOTER
    ),
    "proof": (
        "Hi {{ first_name }},\n\n"
        "[Customer], a [size and industry like {{ company }}'s] team, had [the problem]. After [what changed], "
        "they [a measurable result].\n\n"
        "The short version of how they did it: [one or two sentences].\n\n"
        "Would a similar setup make sense at {{ company }}?\n\n" + _FOOTER
    ),
    "stakeholder": (
        "Hi {{ first_name }},\n\n"
        "Decisions about [problem area] usually involve more than one person. If someone else at "
        "{{ company }} owns it, who would be the right person to talk to?\n\n"
        "Happy to send them a two-line summary instead of another email to you.\n\n" + _FOOTER
    ),
    "objection": (
        "Hi {{ first_name }},\n\n"
        "A question we often hear: \"[the objection you hear most]\". Fair question. [Your honest answer, "
        "in two sentences, with a proof point.]\n\n"
        "If that was the reason to pass, would a 15-minute look change it?\n\n" + _FOOTER
    ),
    "checkin": (
        "Hi {{ first_name }},\n\n"
        "One new thing since my last note: [a fact, a release or a result that is new].\n\n"
        "If [problem] is on the list at {{ company }} this quarter, I'm glad to share more.\n\n" + _FOOTER
    ),
    "breakup": (
        "Hi {{ first_name }},\n\n"
        "I've written a few times about [problem] at {{ company }} without hearing back, which usually means "
        "the timing is off. I won't follow up again.\n\n"
        "If it moves up the list later, reply here and I'll pick it up.\n\n"
        "Thanks for reading,\n" + _FOOTER
    ),
    "direct_ask": (
        "Hi {{ first_name }},\n\n"
        "Glad the [resource] was useful. Worth 15 minutes this week or next to see how the same approach "
        "would look for {{ company }}?\n\n" + _FOOTER
    ),
}

"""SEQ2xx: cadence — length, order, spacing and timing of a sequence's touches (the guide's architecture)."""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections import Counter
from fractions import Fraction
from itertools import combinations
from collections.abc import Iterator

from compiler import ir, timing
from compiler.diagnostics import Diagnostic, Severity
from compiler.rules.base import Rule, RuleContext
from compiler.rules.data import labelled_templates, static_text
from compiler.rules.schedule import LandedTrack, day_name, exclusive, landed_tracks

#: Steps per tier (SPEC §5) and how many a sequence may have without SEQ201: off by more than one.
TIER_STEPS = {"smb": (3, 2, 4), "mid_market": (5, 4, 6), "enterprise": (7, 6, None)}
#: Minimum calendar days between two emails to one prospect, per tier (default for no tier: 2).
MIN_EMAIL_SPACING = {"smb": 2, "mid_market": 2, "enterprise": 5}
#: The longest a main track may run, in calendar days from enrollment (enterprise: no limit).
TIER_CYCLE_DAYS = {"smb": 21, "mid_market": 42}
REENGAGE_MIN, REENGAGE_MAX = 60, 90
BEST_DAYS = frozenset({1, 2, 3})  # tue-thu
BUSINESS_HOURS = (9 * 60, 17 * 60)
#: Channels that reach the prospect (a task is work for the rep).
PROSPECT_CHANNELS = ("email", "linkedin", "call")
SIMILAR_BODY = 0.9
_ALL_PAIRS_UP_TO = 24  # texts in a sequence; past that, SEQ208 uses its prefix filter
CHANNEL_NAMES = {"email": "email", "linkedin": "LinkedIn", "call": "call", "task": "task"}


def counted_steps(seq: ir.Sequence) -> list[ir.Step]:
    """The steps SEQ201 counts: email, call and task touches of the main track."""
    return [s for s in seq.steps if s.channel in ("email", "call", "task")]


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _touch(step: ir.Step) -> str:
    return f"`{step.name}` (day {step.day})"


class StepCount(Rule):
    """Step count off the tier by more than one (smb 3, mid_market 5, enterprise 7+).

    Why: length follows the buying cycle. Three steps suit a single SMB decision maker;
    a mid-market buyer and a stakeholder need about five; an enterprise committee seven
    or more. Steps are the email, call and task touches of the main track; LinkedIn
    touches are social touches between steps and do not count, nor do paths. A count
    within one of the tier's number is fine (smb 2–4, mid_market 4–6, enterprise 6+).
    Bad:
        tier enterprise          # three emails on the main track
    Good:
        tier smb
    """

    code = "SEQ201"
    severity = Severity.WARNING
    name = "cadence.step-count"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            if seq.tier not in TIER_STEPS:
                continue
            target, low, high = TIER_STEPS[seq.tier]
            n = len(counted_steps(seq))
            if n >= low and (high is None or n <= high):
                continue
            wanted = f"{target} or more" if high is None else f"{target} ({low}–{high} fit)"
            yield self.diag(
                f"`{seq.tier}` sequence `{seq.name}` has {n} step{'s' if n != 1 else ''}; the tier calls for {wanted}",
                seq.tier_span or seq.name_span,
                "steps are the email, call and task touches of the main track; add or remove steps, "
                "or choose the tier that fits")


class FirstTouchNotOpener(Rule):
    """First touch is not an email opener.

    Why: a LinkedIn request or a call from a stranger rarely lands first; the opener
    email starts the conversation and the social touches follow it. This also holds as
    the schedule lands: a social touch that rolls to an earlier day than the opener
    (say, email held to tue-thu and LinkedIn sent on Mondays) reaches the prospect first.
    Bad:
        day 0 linkedin invite { action connect }
        day 5 email opener { purpose opener … }
    Good:
        day 0 email opener { purpose opener … }
        day 5 linkedin invite { action connect }
    """

    code = "SEQ202"
    severity = Severity.WARNING
    name = "cadence.first-touch"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            if not seq.steps:
                continue
            first = min(seq.steps, key=lambda s: s.day)
            if first.channel != "email":
                yield self.diag(
                    f"first touch of `{seq.name}` is the {CHANNEL_NAMES[first.channel]} step {_touch(first)}, "
                    "not an email opener", first.name_span,
                    "start with `day 0 email … { purpose opener … }` and send social touches after it")
            elif first.purpose not in (None, "opener"):
                yield self.diag(f"first touch of `{seq.name}` is {_touch(first)} with purpose `{first.purpose}`, "
                                "not an opener", first.purpose_span or first.name_span,
                                "open with `purpose opener`; value-adds and proof come after the opener")
            else:
                yield from self._landed(ctx, seq)

    def _landed(self, ctx: RuleContext, seq: ir.Sequence) -> Iterator[Diagnostic]:
        main = next((t for t in landed_tracks(ctx, seq) if t.track == "main"), None)
        if main is None:
            return
        for week in main.weeks:
            pairs = list(zip(main.steps, week.touches))
            emails = [(s, t) for s, t in pairs if s.channel == "email"]
            if not emails:
                return
            email, landed = min(emails, key=lambda p: p[1].date)
            early = [(s, t) for s, t in pairs if s.channel in ("linkedin", "call") and t.date < landed.date]
            if early:
                s, t = early[0]
                yield self.diag(
                    f"enrolled on a {day_name(week.enrolled)}, the {CHANNEL_NAMES[s.channel]} "
                    f"step {_touch(s)} lands on {day_name(t.date)}, before the first email {_touch(email)} "
                    f"on {day_name(landed.date)}", s.name_span,
                    f"give `{s.channel}` window days that cannot come before the opener's, or a later day")
                return


class BreakupNotLast(Rule):
    """Break-up email is not the last email of its track (re-engagement aside).

    Why: the break-up says "this is my last email"; another email after it breaks that
    promise and spends the goodwill the break-up earns. A re-engagement email after a
    long pause is the one exception.
    Bad:
        day 7 email breakup { purpose breakup … }
        day 10 email proof { purpose social_proof … }
    Good:
        day 7 email proof { purpose social_proof … }
        day 10 email breakup { purpose breakup … }
    """

    code = "SEQ203"
    severity = Severity.WARNING
    name = "cadence.breakup-last"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            for track, steps in seq.tracks():
                emails = [s for s in steps if s.channel == "email"]
                for i, step in enumerate(emails):
                    if step.purpose != "breakup":
                        continue
                    after = [s for s in emails[i + 1:] if s.purpose != "reengage"]
                    if after:
                        where = "the main track" if track == "main" else f"path `{track}`"
                        yield self.diag(f"break-up {_touch(step)} is followed by the email {_touch(after[0])} "
                                        f"in {where} of `{seq.name}`", step.purpose_span or step.name_span,
                                        "make the break-up the last email of its track "
                                        "(only a re-engagement email may follow it)")


class ReengageTiming(Rule):
    """Re-engagement sooner than 60 days after the previous touch (or later than 90: info).

    Why: a re-engagement email works after a real pause — the guide's 60 to 90 days of
    silence. Sooner, it reads as one more follow-up to someone who just heard "last
    email"; much later, the context is gone (that case is only an info).
    Bad:
        day 45 email reengage { purpose reengage … }
    Good:
        day 90 email reengage { purpose reengage … }
    """

    code = "SEQ204"
    severity = Severity.WARNING
    name = "cadence.reengage-timing"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            for _, steps in seq.tracks():
                for prev, step in zip(steps, steps[1:]):
                    if step.channel != "email" or step.purpose != "reengage":
                        continue
                    gap = step.day - prev.day
                    span = step.purpose_span or step.name_span
                    if gap < REENGAGE_MIN:
                        yield self.diag(f"re-engagement {_touch(step)} comes {_days(gap)} after {_touch(prev)}, "
                                        f"sooner than {REENGAGE_MIN}", span,
                                        f"send it at least {REENGAGE_MIN} days after the previous touch "
                                        f"(day {prev.day + REENGAGE_MIN} or later)")
                    elif gap > REENGAGE_MAX:
                        yield Diagnostic(self.code, Severity.INFO,
                                         f"re-engagement {_touch(step)} comes {_days(gap)} after {_touch(prev)}, "
                                         f"later than {REENGAGE_MAX}", span,
                                         f"the guide re-engages after {REENGAGE_MIN}–{REENGAGE_MAX} days of "
                                         f"silence (day {prev.day + REENGAGE_MIN}–{prev.day + REENGAGE_MAX})")


class EmailSpacing(Rule):
    """Emails closer than the tier's minimum spacing (2 days; enterprise 5), as they land.

    Why: two emails a day apart look automated and crowd the inbox. The check runs on
    the schedule as it lands: for an enrollment on each weekday Monday to Friday, each
    email rolls forward to the next day its window allows, which can bring two emails
    together (a `day 3` and a `day 7` email held to tue-thu both land on a Tuesday for
    someone enrolled on a Tuesday). Each track is checked on its own, paths from the day
    they are entered. Guards are assumed to pass unless two guards exclude each other.
    Bad:
        window email tue-thu 10:00-12:00
        day 0 email opener { … }
        day 3 email value { … }
        day 7 email proof { … }
    Good:
        window email tue-thu 10:00-12:00
        day 0 email opener { … }
        day 7 email value { … }
        day 14 email proof { … }
    """

    code = "SEQ205"
    severity = Severity.WARNING
    name = "cadence.email-spacing"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            minimum = MIN_EMAIL_SPACING.get(seq.tier or "", 2)
            for track in landed_tracks(ctx, seq):
                yield from self._track(seq, track, minimum)

    def _track(self, seq: ir.Sequence, track: LandedTrack, minimum: int) -> Iterator[Diagnostic]:
        """Per email, the closest earlier-written email it can share a prospect with, over all weekdays.

        A sweep over the emails in landing order visits only pairs less than `minimum` days
        apart, so the work grows with the emails, not with their pairs.
        """
        emails = [i for i, s in enumerate(track.steps) if s.channel == "email"]
        worst: dict[int, tuple[int, int, int]] = {}  # later email -> (gap, earlier email, weekday)
        for w, week in enumerate(track.weeks):
            order = sorted(emails, key=lambda i: (week.touches[i].date, i))
            for a, x in enumerate(order):
                for y in order[a + 1:]:
                    gap = (week.touches[y].date - week.touches[x].date).days
                    if gap >= minimum:
                        break
                    i, j = min(x, y), max(x, y)
                    key = (gap, i, w)
                    if (j not in worst or key < worst[j]) and not exclusive(track.steps[i], track.steps[j]):
                        worst[j] = key
        for j in sorted(worst):
            gap, i, w = worst[j]
            yield self._diag(seq, track, minimum, j, gap, track.weeks[w], i)

    def _diag(self, seq, track: LandedTrack, minimum: int, j: int, gap: int, week, i: int) -> Diagnostic:
        a, b = track.steps[i], track.steps[j]
        da, db = week.touches[i].date, week.touches[j].date
        when = f"{track.entry_word()} on a {day_name(week.enrolled)}"
        if gap == 0:
            text = f"{when}, {_touch(a)} and {_touch(b)} both land on {day_name(da)}"
        else:
            text = (f"{when}, {_touch(a)} lands on {day_name(da)} and {_touch(b)} on {day_name(db)}, "
                    f"{_days(gap)} apart, under the {minimum}-day minimum")
        tier = f"`{seq.tier}` sequences" if seq.tier in MIN_EMAIL_SPACING else "emails"
        return self.diag(text, b.name_span,
                         f"{tier} need {_days(minimum)} between emails; choose days that stay apart after "
                         "rolling to the window (`seqc plan --start DATE` shows one enrollment day)")


class SameDayEmailLinkedIn(Rule):
    """Email and LinkedIn touch to the same prospect on the same day, as they land.

    Why: an email and a LinkedIn request or message on one day feels like pressure;
    the guide spaces channels so each touch has room. Checked like SEQ205: for an
    enrollment on each weekday Monday to Friday, after rolling to the window days, per
    track, assuming guards pass unless they exclude each other.
    Bad:
        window email tue-thu 10:00-12:00
        day 0 email opener { … }
        day 1 linkedin invite { action connect }
    Good:
        window email tue-thu 10:00-12:00
        window linkedin mon,fri 11:00-13:00
        day 0 email opener { … }
        day 1 linkedin invite { action connect }
    """

    code = "SEQ206"
    severity = Severity.WARNING
    name = "cadence.same-day-channels"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            for track in landed_tracks(ctx, seq):
                yield from self._track(track)

    def _track(self, track: LandedTrack) -> Iterator[Diagnostic]:
        steps = track.steps
        emails = [i for i, s in enumerate(steps) if s.channel == "email"]
        by_date: list[dict] = []  # per weekday: landed date -> emails landing then
        for week in track.weeks:
            days: dict = {}
            for i in emails:
                days.setdefault(week.touches[i].date, []).append(i)
            by_date.append(days)
        for j, social in enumerate(steps):
            if social.channel != "linkedin":
                continue
            clash = self._clash(track, j, by_date)
            if clash is not None:
                week, i = clash
                when = f"{track.entry_word()} on a {day_name(week.enrolled)}"
                yield self.diag(f"{when}, email {_touch(steps[i])} and LinkedIn {_touch(social)} both land on "
                                f"{day_name(week.touches[j].date)}", social.name_span,
                                f"move `{social.name}` to another day, or give `window linkedin` "
                                "days that email does not use")

    @staticmethod
    def _clash(track: LandedTrack, j: int, by_date: list[dict]):
        for week, days in zip(track.weeks, by_date):
            for i in days.get(week.touches[j].date, ()):
                if not exclusive(track.steps[i], track.steps[j]):
                    return week, i
        return None


class SendWindowTiming(Rule):
    """Send window outside tue-thu, or outside business hours (09:00-17:00).

    Why: Tuesday to Thursday, mid-morning in the prospect's time zone, is when B2B
    prospects engage most; Monday is catch-up and Friday winds down, and a touch outside
    business hours arrives with the next morning's pile. Only an info: spacing rules
    sometimes need the extra days. Checked for the email, LinkedIn and call windows a
    sequence uses, including the default mon-fri windows of channels it does not declare.
    Bad:
        window email mon-fri 07:00-09:00
    Good:
        window email tue-thu 10:00-12:00
    """

    code = "SEQ207"
    severity = Severity.INFO
    name = "cadence.send-window"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            used = {s.channel for s in seq.all_steps()}
            for channel in PROSPECT_CHANNELS:
                if channel not in used:
                    continue
                declared = seq.channel_window(channel)
                if declared is not None:
                    w = declared.window
                    problem = self._problem(w.days if w.days is not None else timing.BUSINESS_DAYS, w.start, w.end)
                    if problem:
                        yield self.diag(f"`window {channel}` of `{seq.name}` {problem}", declared.span, self._help())
                else:
                    days, start, end = timing.DEFAULT_WINDOWS[channel]
                    problem = self._problem(days, start, end)
                    first = next(s for s in seq.all_steps() if s.channel == channel)
                    if problem:
                        yield self.diag(f"{CHANNEL_NAMES[channel]} steps of `{seq.name}` use the default window "
                                        f"({timing.format_weekdays(days)} {timing.format_hours(start, end)}), "
                                        f"which {problem}", first.name_span,
                                        f"declare `window {channel} tue-thu "
                                        f"{timing.format_hours(start, end)}` in the sequence")
            for step in seq.all_steps():
                if step.window is None or step.channel not in PROSPECT_CHANNELS:
                    continue
                w = step.window
                # Without its own days a step keeps the channel's, which are checked above.
                problem = self._problem(w.days if w.days is not None else BEST_DAYS, w.start, w.end)
                if problem:
                    yield self.diag(f"the window of `{step.name}` {problem}", w.span, self._help())

    @staticmethod
    def _problem(days, start: int, end: int) -> str | None:
        parts = []
        outside = sorted(set(days) - BEST_DAYS)
        if outside:
            names = ", ".join(timing.WEEKDAY_NAMES[d] for d in outside)
            parts.append(f"sends on {names}, outside tue-thu")
        lo, hi = BUSINESS_HOURS
        if start < lo or end > hi:
            parts.append(f"runs {timing.format_hours(start, end)}, outside business hours "
                         f"({timing.format_hours(lo, hi)})")
        return " and ".join(parts) or None

    @staticmethod
    def _help() -> str:
        return "tue-thu within 09:00-17:00 (10:00-12:00 for email) is the guide's sweet spot"


_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=16384)
def _words(source: str) -> tuple[tuple[str, ...], Counter]:
    words = tuple(_WORD.findall(static_text(source)))
    return words, Counter(words)


def _normal_subject(source: str) -> str:
    return " ".join(source.split()).casefold()


def similarity(a: str, b: str) -> float:
    """difflib's ratio of two templates' words (0.0 when a cheap upper bound is already too low)."""
    if a == b:
        return 1.0
    (wa, ca), (wb, cb) = _words(a), _words(b)
    total = len(wa) + len(wb)
    if not wa or not wb:
        return 0.0  # nothing of its own to repeat
    # The same bounds as SequenceMatcher.real_quick_ratio and quick_ratio, without building one.
    if 2 * min(len(wa), len(wb)) / total < SIMILAR_BODY:
        return 0.0
    if len(ca) > len(cb):
        ca, cb = cb, ca
    if 2 * sum(min(n, cb.get(w, 0)) for w, n in ca.items()) / total < SIMILAR_BODY:
        return 0.0
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


class RepeatedContent(Rule):
    """Two touches with the same subject or a near-identical body.

    Why: every step has to add something — a new angle, proof, a different ask. A
    repeated subject or a body that is 90% the same as an earlier one (difflib ratio of
    the template's own words) spends a touch and looks automated. Variants and `when`
    branches of one step are alternatives, not repeats; an email threaded as a reply
    without its own subject does not count as a same subject.
    Bad:
        day 0 email opener { subject "Quick question" body "Hi {{ first_name }}, …" }
        day 7 email value { subject "Quick question" body "Here is the guide: …" }
    Good:
        day 0 email opener { subject "Quick question" body "Hi {{ first_name }}, …" }
        day 7 email value { subject "A guide for {{ company }}" body "Here is the guide: …" }
    """

    code = "SEQ208"
    severity = Severity.WARNING
    name = "cadence.repeated-content"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        cache: dict[tuple[str, str], float] = ctx.memo("cadence.similarity", dict)
        for seq in ctx.project.sequences:
            steps = list(seq.all_steps())
            found = {**self._texts(steps, cache), **self._subjects(steps)}
            for j in sorted(found):
                yield found[j]

    def _subjects(self, steps: list[ir.Step]) -> dict[int, Diagnostic]:
        first: dict[str, int] = {}  # normalised subject -> the first step that sends it
        out: dict[int, Diagnostic] = {}
        for j, later in enumerate(steps):
            if later.channel not in _SENT_FIELDS:
                continue
            mine = [t for _, t in labelled_templates(later, "subject")]
            for tpl in mine:
                i = first.get(_normal_subject(tpl.source))
                if i is not None and j not in out:
                    prev = steps[i]
                    out[j] = self.diag(f"`{later.name}` has the same subject as `{prev.name}` "
                                       f"(\"{_short(tpl.source)}\")", tpl.span,
                                       f"give `{later.name}` its own subject, or `thread {prev.name}` "
                                       "to send it as a reply")
            for tpl in mine:
                first.setdefault(_normal_subject(tpl.source), j)
        return out

    def _texts(self, steps: list[ir.Step], cache) -> dict[int, Diagnostic]:
        texts = [(j, t) for j, s in enumerate(steps) for f in _SENT_FIELDS.get(s.channel, ())
                 for _, t in labelled_templates(s, f)]
        best: dict[int, tuple[int, int, int, float]] = {}  # later step -> (earlier step, text, other, ratio)
        for a, b in _candidate_pairs([t.source for _, t in texts]):
            (ja, ta), (jb, tb) = texts[a], texts[b]
            if ja == jb:
                continue  # alternatives of one step
            if ja > jb:
                a, b, (ja, ta), (jb, tb) = b, a, (jb, tb), (ja, ta)
            key = (ta.source, tb.source) if ta.source <= tb.source else (tb.source, ta.source)
            ratio = cache.get(key)
            if ratio is None:
                ratio = cache[key] = similarity(*key)
            if ratio >= SIMILAR_BODY and (jb not in best or (ja, b, a) < best[jb][:3]):
                best[jb] = (ja, b, a, ratio)
        out = {}
        for j, (i, b, _, ratio) in best.items():
            out[j] = self.diag(f"the text of `{steps[j].name}` is {int(ratio * 100)}% the same as "
                               f"`{steps[i].name}`'s", texts[b][1].span,
                               "each touch should add something new: another angle, proof or ask")
        return out


def _candidate_pairs(sources: list[str]) -> set[tuple[int, int]]:
    """Pairs of texts that can reach the similarity threshold (a prefix filter, as in set-similarity joins).

    Texts with a word ratio of at least 0.9 share most of their words. With word occurrences
    ordered from rarest to most common, two such texts must share one of the first few
    occurrences of each (fewer for the shorter text), so only texts that do are compared:
    near-linear work for texts that differ, where comparing every pair would be quadratic.
    A sequence of ordinary length has few texts: those are simply all paired (cheaper).
    """
    if len(sources) <= _ALL_PAIRS_UP_TO:
        return set(combinations(range(len(sources)), 2))
    tokens = []
    for source in sources:
        seen: Counter = Counter()
        mine = []
        for w in _words(source)[0]:
            seen[w] += 1
            mine.append((w, seen[w]))
        tokens.append(mine)
    frequency = Counter(t for mine in tokens for t in set(mine))
    d = Fraction(SIMILAR_BODY).limit_denominator(1000)  # exact: a rounding error upward would lose pairs
    index: dict[tuple[str, int], list[int]] = {}
    pairs: set[tuple[int, int]] = set()
    same: dict[str, int] = {}
    # Shortest first: each text probes the texts no longer than itself.
    for n in sorted(range(len(sources)), key=lambda k: (len(tokens[k]), k)):
        source, mine = sources[n], tokens[n]
        if source in same:  # one template sent twice
            pairs.add(tuple(sorted((same[source], n))))
        same.setdefault(source, n)
        ranked = sorted(mine, key=lambda t: (frequency[t], t))
        size = len(mine)
        # Least overlap with a partner no longer than this text, and with one of the same length.
        probe = size - math.ceil(d * (size + math.ceil(d * size / (2 - d))) / 2) + 1
        keep = size - math.ceil(d * size) + 1
        for t in ranked[:max(probe, 0)]:
            for other in index.get(t, ()):
                pairs.add((min(other, n), max(other, n)))
        for t in ranked[:max(keep, 0)]:
            index.setdefault(t, []).append(n)
    return pairs


_SENT_FIELDS = {"email": ("body",), "linkedin": ("body", "note")}


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class EmailOnly(Rule):
    """Email-only sequence (no social or phone touch).

    Why: prospects are overwhelmed by email; a LinkedIn touch or a call between the
    emails builds presence without filling the inbox further. Only an info: for
    high-volume, low-value segments, email alone can be the right call.
    Bad:
        day 0 email opener { … }
        day 7 email breakup { … }
    Good:
        day 0 email opener { … }
        day 3 call first_call if has(phone) { script "Follow up on the email to {{ first_name }}" }
        day 7 email breakup { … }
    """

    code = "SEQ209"
    severity = Severity.INFO
    name = "cadence.email-only"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            channels = {s.channel for s in seq.all_steps()}
            if "email" in channels and not channels & {"linkedin", "call"}:
                yield self.diag(f"sequence `{seq.name}` only sends email", seq.name_span,
                                "add a LinkedIn touch or a call between the emails")


class CycleLength(Rule):
    """Sequence spans longer than the tier's cycle (smb 21 d, mid_market 42 d).

    Why: the sequence should end within the segment's sales cycle — 1 to 3 weeks for
    SMB, 3 to 6 for mid-market (enterprise has no upper bound). Measured from
    enrollment to the last touch of the main track as it lands, for the worst
    enrollment weekday; a re-engagement email after the pause does not count.
    Bad:
        tier smb
        day 0 email opener { … }
        day 10 email value { … }
        day 24 email breakup { … }
    Good:
        tier smb
        day 0 email opener { … }
        day 7 email value { … }
        day 14 email breakup { … }
    """

    code = "SEQ210"
    severity = Severity.WARNING
    name = "cadence.cycle-length"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for seq in ctx.project.sequences:
            limit = TIER_CYCLE_DAYS.get(seq.tier or "")
            main = next((t for t in landed_tracks(ctx, seq) if t.track == "main"), None)
            if limit is None or main is None:
                continue
            worst = None
            for week in main.weeks:
                for step, touch in zip(main.steps, week.touches):
                    if step.channel == "email" and step.purpose == "reengage":
                        continue
                    span_days = (touch.date - week.enrolled).days
                    if worst is None or span_days > worst[0]:
                        worst = (span_days, week, step)
            if worst is not None and worst[0] > limit:
                days, week, step = worst
                yield self.diag(
                    f"enrolled on a {day_name(week.enrolled)}, the main track of `{seq.name}` "
                    f"runs {days} days to {_touch(step)}, longer than the {seq.tier} cycle of {limit} days",
                    step.name_span, f"end the main track within {limit} days of enrollment, or choose the tier "
                    "whose cycle fits")


RULES: tuple[type[Rule], ...] = (
    StepCount,
    FirstTouchNotOpener,
    BreakupNotLast,
    ReengageTiming,
    EmailSpacing,
    SameDayEmailLinkedIn,
    SendWindowTiming,
    RepeatedContent,
    EmailOnly,
    CycleLength,
)

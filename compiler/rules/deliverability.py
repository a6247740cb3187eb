r"""SEQ4xx: deliverability and compliance — what keeps a campaign out of the spam folder and within the law.

SEQ403, SEQ406, SEQ410, SEQ411 and SEQ412 read the prospect file when `seqc check
--prospects FILE` gives one (`compiler.rules.data.ProspectSample`); SEQ412 only runs then.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

from compiler import ir, timing
from compiler.diagnostics import Diagnostic, Severity
from compiler.rules import data
from compiler.rules.base import Rule, RuleContext
from compiler.rules.schedule import day_name, email_offsets

#: A sender without `daily_limit` is taken to send at most this many a day per mailbox,
#: the top of the usual vendor guidance for cold email (30–50 per mailbox).
DEFAULT_DAILY_LIMIT = 50
SUBJECT_LIMIT = 60
OPENER_WORDS = 120
AUTH = ("spf", "dkim", "dmarc")
VERIFIED = frozenset({"verified", "valid", "deliverable"})


def _emails(project: ir.Project) -> Iterator[tuple[ir.Sequence, ir.Step]]:
    for seq in project.sequences:
        for step in seq.all_steps():
            if step.channel == "email":
                yield seq, step


def _openers(project: ir.Project) -> Iterator[ir.Step]:
    for _, step in _emails(project):
        if step.purpose == "opener":
            yield step


def _campaign_span(camp: ir.Campaign, part) -> object:
    return part.span if part is not None else camp.name_span


class MissingUnsubscribe(Rule):
    r"""Email without the unsubscribe mechanism the campaign declares.

    Why: every cold email needs a working opt-out: CAN-SPAM, Canada's CASL and
    Germany's UWG require one in each message, and Gmail and Yahoo expect opt-outs
    honoured within two days. `compliance { unsubscribe "…" }` says what the mechanism
    looks like (usually `{{ unsubscribe_url }}`); every body an email can send —
    shared, per variant, per `when` branch, in every path — must contain it. Without
    a declaration, every email needs `{{ unsubscribe_url }}`.
    Bad:
        body "Hi {{ first_name }}, worth a short chat?"
    Good:
        body "Hi {{ first_name }}, worth a short chat?\n\nOpt out: {{ unsubscribe_url }}"
    """

    code = "SEQ401"
    severity = Severity.ERROR
    name = "compliance.unsubscribe"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        names, text, shown = data.unsubscribe_requirement(ctx.project.campaign)
        for _, step in _emails(ctx.project):
            bodies = data.labelled_templates(step, "body")
            missing = [(label, tpl) for label, tpl in bodies if not data.has_unsubscribe(tpl.source, names, text)]
            if missing:
                label, tpl = missing[0]
                where = label if len(missing) < len(bodies) else ""
                yield self.diag(f"email `{step.name}`{where} does not contain the opt-out {shown}", tpl.span,
                                f"end the body with a line such as `Opt out: {{{{ unsubscribe_url }}}}`"
                                if not text else f"add {shown} to the body")


class NoPostalAddress(Rule):
    """No postal address for the campaign.

    Why: CAN-SPAM requires a valid physical postal address in every commercial email
    (CASL a mailing address too), B2B mail included. Declare it once in the campaign's
    `compliance` block; the sending tool's footer carries it.
    Bad:
        compliance { unsubscribe "{{ unsubscribe_url }}" lawful_basis legitimate_interest }
    Good:
        compliance {
          unsubscribe "{{ unsubscribe_url }}"
          postal_address "Acme Inc., 100 Main St, Springfield, IL 62701, USA"
          lawful_basis legitimate_interest
        }
    """

    code = "SEQ402"
    severity = Severity.ERROR
    name = "compliance.postal-address"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for camp in ctx.project.campaigns:
            c = camp.compliance
            if c is None or not (c.postal_address or "").strip():
                yield self.diag(f"campaign `{camp.name}` declares no postal address", _campaign_span(camp, c),
                                'add `postal_address "Company, street, city, postcode, country"` to `compliance`')


class WarmupCapacity(Rule):
    """Planned daily email volume exceeds the warm-up capacity on some day.

    Why: a new mailbox that sends hundreds of cold emails in its first week gets
    blocked. Warm-up starts at 20 emails a day per mailbox and grows 10% a week up to
    `daily_limit`. Day by day from `start`, the check counts the emails planned by
    `enroll N per day` (every business day), as they land for each enrollment weekday,
    against `mailboxes` × that day's allowance. Every main-track email counts (guards
    and replies can only lower the volume); a path replaces the rest of the main track
    for whoever enters it, and each day counts the heavier of the two. Without a
    prospect file the split across `route` is unknown, so the check assumes the worst:
    every enrollee goes to the sequence that overloads first. With `--prospects` the
    enrollment is split by the share of prospects each route takes.
    Bad:
        enroll 200 per day
        sender {
          from "Dana Reyes <dana@mail.example.com>"
          reply_to "dana@example.com"
          mailboxes 2
          daily_limit 40
          warmup since 2027-01-04
          auth spf dkim dmarc
        }
    Good:
        enroll 20 per day
        sender {
          from "Dana Reyes <dana@mail.example.com>"
          reply_to "dana@example.com"
          mailboxes 10
          daily_limit 40
          warmup since 2026-10-01
          auth spf dkim dmarc
        }
    """

    code = "SEQ403"
    severity = Severity.ERROR
    name = "deliverability.warmup-capacity"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for camp in ctx.project.campaigns:
            s = camp.sender
            if camp.enroll_per_day is None or camp.start is None or s is None:
                continue
            seqs = self._sequences(ctx.project, camp)
            if not seqs:
                continue
            mailboxes, limit = s.mailboxes or 1, s.daily_limit or DEFAULT_DAILY_LIMIT
            shares = self._shares(ctx, seqs)
            if shares is None:
                found = self._worst_case(ctx, camp, seqs, mailboxes, limit)
            else:
                found = self._split(ctx, camp, seqs, shares, mailboxes, limit)
            if found is not None:
                day, planned, capacity, how = found
                yield self.diag(self._message(camp, day, planned, capacity, mailboxes, limit, how), s.span,
                                "add mailboxes, lower `enroll`, or start later (warm-up allows 20 emails a day "
                                "per mailbox in its first week, then 10% more each week)")

    @staticmethod
    def _sequences(project: ir.Project, camp: ir.Campaign) -> list[ir.Sequence]:
        if not camp.routes:
            return list(project.sequences)
        by_name: dict[str, ir.Sequence] = {}
        for seq in project.sequences:
            by_name.setdefault(seq.name, seq)
        routed = dict.fromkeys(r.sequence for r in camp.routes if r.sequence in by_name)
        return [by_name[name] for name in routed]

    @staticmethod
    def _shares(ctx: RuleContext, seqs: list[ir.Sequence]) -> dict[str, float] | None:
        sample = ctx.prospects
        if sample is None:
            return None
        routed = Counter(r for r in sample.routes if r is not None)
        total = sum(routed[s.name] for s in seqs)
        if not total:
            return None
        return {s.name: routed[s.name] / total for s in seqs}

    def _worst_case(self, ctx, camp, seqs, mailboxes, limit):
        found = []
        seen: dict[tuple, timing.Overload | None] = {}
        for seq in seqs:
            offsets = email_offsets(ctx, seq)
            key = tuple(sorted(offsets.items()))
            if key not in seen:  # sequences of one tier often share their email days
                seen[key] = timing.first_over_capacity(camp.start, camp.enroll_per_day, offsets,
                                                       camp.sender.warmup_since, mailboxes, limit)
            over = seen[key]
            if over is not None:
                found.append((over.date, -over.excess, over.planned, over.capacity, seq.name))
        if not found:
            return None
        day, _, planned, capacity, name = min(found)
        return day, planned, capacity, f"if every enrollee goes to `{name}`"

    def _split(self, ctx, camp, seqs, shares, mailboxes, limit):
        since = camp.sender.warmup_since
        offsets = {s.name: email_offsets(ctx, s) for s in seqs}
        horizon = max(timing.volume_horizon(camp.start, o, since, limit) for o in offsets.values())
        volume = [0.0] * horizon
        for seq in seqs:
            per_day = camp.enroll_per_day * shares[seq.name]
            for i, (_, n) in enumerate(timing.planned_email_volume(camp.start, 1, offsets[seq.name], horizon)):
                volume[i] += n * per_day
        split = ", ".join(f"`{s.name}` {data.percent(round(shares[s.name] * 1000), 1000)}" for s in seqs)
        how = f"with the routes of {ctx.prospects.file} ({split})"
        for i, planned in enumerate(volume):
            day = camp.start + timedelta(days=i)
            capacity = timing.daily_capacity(day, since, mailboxes, limit)
            planned_n = math.ceil(planned - 1e-9)
            if planned_n > capacity:
                return day, planned_n, capacity, how
        return None

    @staticmethod
    def _message(camp: ir.Campaign, day: date, planned: int, capacity: int, mailboxes: int, limit: int,
                 how: str) -> str:
        since = camp.sender.warmup_since
        allowance = timing.warmup_allowance(day, since, limit)
        if since is not None and day < since:
            why = f"warm-up starts {since.isoformat()}"
        elif allowance < limit:
            why = f"{mailboxes} mailbox{'es' if mailboxes != 1 else ''} × {allowance} in warm-up"
        else:
            why = f"{mailboxes} mailbox{'es' if mailboxes != 1 else ''} × {allowance}"
        return (f"on {day_name(day)} {day.isoformat()}, {planned:,} emails are planned against a capacity of "
                f"{capacity:,} ({why}), {planned - capacity:,} over, {how}")


class AuthNotDeclared(Rule):
    """Sender authentication (SPF, DKIM, DMARC) not declared.

    Why: Gmail, Yahoo and Outlook reject or junk bulk mail that does not pass SPF,
    DKIM and an aligned DMARC policy. `auth spf dkim dmarc` in `sender` records that the
    domain is set up; seqc cannot look the DNS records up offline, so it checks the
    declaration only — verify the records with your DNS provider before launch.
    Bad:
        sender {
          from "Dana Reyes <dana@mail.example.com>"
          reply_to "dana@example.com"
          mailboxes 5
          daily_limit 40
          auth spf dkim
        }
    Good:
        sender {
          from "Dana Reyes <dana@mail.example.com>"
          reply_to "dana@example.com"
          mailboxes 5
          daily_limit 40
          auth spf dkim dmarc
        }
    """

    code = "SEQ404"
    severity = Severity.WARNING
    name = "deliverability.authentication"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for camp in ctx.project.campaigns:
            s = camp.sender
            declared = {a.lower() for a in s.auth} if s is not None else set()
            missing = [a for a in AUTH if a not in declared]
            if not missing:
                continue
            upper = [a.upper() for a in missing]
            names = upper[0] if len(upper) == 1 else ", ".join(upper[:-1]) + " and " + upper[-1]
            span = (s.auth_span or s.span) if s is not None else camp.name_span
            yield self.diag(f"campaign `{camp.name}` does not declare {names} for its sender", span,
                            "set up the DNS records, then declare them: `auth spf dkim dmarc` in `sender`")


class SpamWording(Rule):
    """Spam-trigger wording in a subject line.

    Why: words like "free", "guaranteed" or "act now", a subject in capitals and
    runs of `!` are what spam filters and wary readers look for. It is a weak signal
    next to sender reputation, but it costs nothing to avoid. The phrase list is data
    (`compiler/data/spam_phrases.txt`, sources in its header); it is matched on the
    subject's own words, case-insensitively, never on prospect values.
    Bad:
        subject "Free guide, act now {{ first_name }}!!"
    Good:
        subject "A ramp-time guide for {{ company }}"
    """

    code = "SEQ405"
    severity = Severity.WARNING
    name = "deliverability.spam-wording"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for _, step in _emails(ctx.project):
            for label, tpl in data.labelled_templates(step, "subject"):
                text = data.static_text(tpl.source).replace("\x00", " ")
                problems = [f"`{hit}`" for hit in data.spam_hits(text)]
                if "!!" in text or "??" in text:
                    problems.append("repeated `!`/`?`")
                original = " ".join(data.static_parts(tpl.source))
                letters = [c for c in original if c.isalpha()]
                if len(letters) >= 8 and all(c.isupper() for c in letters):
                    problems.append("all capitals")
                if problems:
                    yield self.diag(f"the subject of `{step.name}`{label} has spam-trigger wording: "
                                    + ", ".join(problems), tpl.span,
                                    "say plainly what the email is about; drop hype, urgency and shouting")


def rendered_subjects(ctx: RuleContext) -> list[tuple[ir.Step, str, ir.Template, object]]:
    """(step, label, template, text or `RenderError`) for every email subject, rendered once per run
    with a typical record: SEQ406 measures the text, SEQ305 reports subjects that hit a render limit."""
    from compiler.render import RenderError, prospect_context, render

    def build() -> list[tuple[ir.Step, str, ir.Template, object]]:
        project = ctx.project
        values = {**data.typical_record(project.prospect, ctx.prospects), **data.sender_builtins(project.campaign)}
        context = prospect_context(project.prospect, values, values)
        out: list[tuple[ir.Step, str, ir.Template, object]] = []
        for _, step in _emails(project):
            for label, tpl in data.labelled_templates(step, "subject"):
                # Most subjects are text and `{{ field }}`: no need to compile them.
                text: object = data.simple_render(tpl.source, values)
                if text is None:
                    try:
                        text = render(tpl.source, context, name=f"subject of {step.name}")
                    except RenderError as exc:
                        text = exc
                out.append((step, label, tpl, text))
        return out

    return ctx.memo("deliverability.rendered-subjects", build)


class LongSubject(Rule):
    """Subject longer than 60 characters after rendering with typical data.

    Why: mail apps cut subjects at about 40 to 60 characters, and phones show less;
    the part that is cut is the part nobody reads. Each subject is rendered with a
    typical record: with `--prospects`, each field's value at the 90th percentile of
    length in the file; without, a realistic sample per field (`first_name`
    "Alexandra", `company` "Northwind Analytics", …).
    Bad:
        subject "{{ first_name }}, a quick question about how {{ company }} onboards its new sales hires"
    Good:
        subject "New-rep ramp at {{ company }}"
    """

    code = "SEQ406"
    severity = Severity.WARNING
    name = "deliverability.subject-length"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        source = f"typical values from {ctx.prospects.file}" if ctx.prospects is not None else "sample data"
        for step, label, tpl, text in rendered_subjects(ctx):
            if not isinstance(text, str):
                continue  # SEQ301/302/305 say why
            text = " ".join(text.split())
            if len(text) > SUBJECT_LIMIT:
                shown = text if len(text) <= 90 else text[:89] + "…"
                yield self.diag(f"the subject of `{step.name}`{label} is {len(text)} characters with {source}, "
                                f"over {SUBJECT_LIMIT}: \"{shown}\"", tpl.span,
                                "put the words that matter first and keep it under 60 characters "
                                "(about 40 shows on a phone)")


class OpenerLinks(Rule):
    r"""Opener with more than one link or any image.

    Why: a first email from a stranger with several links or an image looks like a
    newsletter to spam filters and to the reader, and tracking pixels and images hurt
    deliverability from new domains. An opener makes one point: at most one link, no
    images. (`{{ unsubscribe_url }}` does not count as a link.)
    Bad:
        body "Hi {{ first_name }}, see https://example.com/guide and https://example.com/pricing\n\nOpt out: {{ unsubscribe_url }}"
    Good:
        body "Hi {{ first_name }}, the guide is at https://example.com/guide\n\nOpt out: {{ unsubscribe_url }}"
    """

    code = "SEQ407"
    severity = Severity.WARNING
    name = "deliverability.opener-links"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for step in _openers(ctx.project):
            for label, tpl in data.labelled_templates(step, "body"):
                if _surely_one_link(tpl.source):
                    continue
                info = data.analysis(ctx, tpl.source)
                problems = []
                if info.links > 1:
                    shown = ", ".join(info.link_targets[:3]) + (", …" if info.links > 3 else "")
                    problems.append(f"{info.links} links ({shown})")
                if info.has_image:
                    problems.append("an image")
                if problems:
                    yield self.diag(f"opener `{step.name}`{label} has {' and '.join(problems)}", tpl.span,
                                    "keep the opener to one link and no images; save the rest for later steps")


def _surely_one_link(source: str) -> bool:
    """A quick yes for "at most one link and no image", sound for what `template_analysis.analyze` counts:
    fewer than two `http`, no `*_url` variable but the unsubscribe link, no `href`, no `<img`."""
    lower = source.lower()
    if "href" in lower or "<img" in lower or lower.count("http") > 1:
        return False
    return lower.count("_url") == lower.count("unsubscribe_url")


def _raw_words(source: str) -> int:
    """Whitespace-separated pieces with a letter or digit in the whole source, tags included."""
    return sum(1 for piece in source.split() if any(c.isalnum() for c in piece))


class OpenerLength(Rule):
    r'''Opener body longer than 120 words.

    Why: the opener's job is to start a conversation — short, specific, one clear
    reason to reply. Past about 120 words it reads as a pitch and gets skimmed or
    skipped. Words are counted in the template's text, each `{{ … }}` as one word and
    the longest branch of each `{% if %}`.
    Bad:
        body """
          Hi {{ first_name }},
          I am writing because teams like {{ company }} usually hire a handful of new sales reps every
          quarter, and each of them needs months of shadowing, call reviews, product training and
          coaching before they can run a discovery call on their own, let alone close a deal. Our
          platform records what your best reps say on calls, turns it into scored practice
          scenarios, and shows managers who is ready for live deals and who needs more help. Teams
          that roll it out across regions usually take six to eight weeks off ramp time in the
          first two quarters, and senior reps get back the hours they used to spend on shadowing.
          We also integrate with the CRM, the call recorder and the LMS you already use, so nobody
          has to learn another tool. Would you be open to a short call next week to see whether
          this could work for {{ company }}?
          Opt out: {{ unsubscribe_url }}
          """
    Good:
        body """
          Hi {{ first_name }},
          New reps at {{ company }} probably spend months shadowing before their first deal. We
          turn your best reps' calls into scored practice, and teams usually take six weeks off
          ramp. Worth a short chat?
          Opt out: {{ unsubscribe_url }}
          """
    '''

    code = "SEQ408"
    severity = Severity.WARNING
    name = "deliverability.opener-length"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for step in _openers(ctx.project):
            for label, tpl in data.labelled_templates(step, "body"):
                if _raw_words(tpl.source) <= OPENER_WORDS:
                    continue  # an upper bound of what the analysis counts: no need to parse
                words = data.analysis(ctx, tpl.source).word_count
                if words > OPENER_WORDS:
                    yield self.diag(f"opener `{step.name}`{label} is {words} words long, over {OPENER_WORDS}",
                                    tpl.span, "cut the opener to one specific reason to reply; "
                                    "move proof and detail to the follow-ups")


class NoReplyRouting(Rule):
    """No reply routing (`reply_to`) or CRM logging (`crm`) declared.

    Why: a reply is the point of the sequence; it must reach a monitored inbox and the
    CRM, and every touch should be logged so the next rep sees the history (pre-launch
    checklist items 6 and 10). Declare `reply_to` in `sender` and the `crm` the
    campaign logs to.
    Bad:
        sender {
          from "Dana Reyes <dana@mail.example.com>"
          mailboxes 5
          daily_limit 40
          auth spf dkim dmarc
        }
    Good:
        sender {
          from "Dana Reyes <dana@mail.example.com>"
          reply_to "dana@example.com"
          mailboxes 5
          daily_limit 40
          auth spf dkim dmarc
        }
    """

    code = "SEQ409"
    severity = Severity.WARNING
    name = "deliverability.reply-routing"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for camp in ctx.project.campaigns:
            s = camp.sender
            if s is None or not (s.reply_to or "").strip():
                yield self.diag(REPLY_ROUTING.format(camp=camp.name), s.span if s is not None else camp.name_span,
                                'add `reply_to "you@yourdomain.com"` (a monitored inbox) to `sender`')
            if not camp.crm:
                yield self.diag(CRM_LOGGING.format(camp=camp.name), camp.name_span,
                                "add `crm hubspot` (or your CRM) to the campaign")


#: SEQ409 has two findings; the launch checklist tells them apart by these marks.
REPLY_MARK, CRM_MARK = "`reply_to`", "`crm`"
REPLY_ROUTING = "campaign `{camp}` declares no " + REPLY_MARK + ", so replies are not routed to a monitored inbox"
CRM_LOGGING = "campaign `{camp}` declares no " + CRM_MARK + ", so touches and replies are not logged"


class FixedTimezone(Rule):
    """Fixed time zone while prospects carry their own.

    Why: "10:00 New York" is 16:00 in Berlin and 07:00 in San Francisco; the send
    window only works in each prospect's own time. The warning fires when a sequence
    sets `timezone "Zone"` although the prospect block declares a time-zone field; with
    `--prospects`, when records routed to the sequence really are in other zones
    (saying how many).
    Bad:
        timezone "America/New_York"
    Good:
        timezone prospect else "America/New_York"
    """

    code = "SEQ410"
    severity = Severity.WARNING
    name = "deliverability.fixed-timezone"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        tz_field = data.field_of_type(ctx.project.prospect, "timezone", "timezone")
        if tz_field is None:
            return
        sample = ctx.prospects
        for seq in ctx.project.sequences:
            spec = seq.timezone
            if spec is None or spec.prospect or spec.fallback is None:
                continue
            fixed = spec.fallback
            help_ = f'send in each prospect\'s zone: `timezone prospect else "{fixed}"`'
            if sample is None:
                yield self.diag(f"sequence `{seq.name}` sends in the fixed zone `{fixed}` though the prospect block "
                                f"declares `{tz_field.name}`", spec.span, help_)
                continue
            records = sample.routed_to(seq.name)
            other = [r.row for r in records if tz_field.name in r.data and r.data[tz_field.name] != fixed]
            if other:
                yield self.diag(f"sequence `{seq.name}` sends in the fixed zone `{fixed}`, but {len(other)} of "
                                f"{len(records)} prospects routed to it in {sample.file} are in other zones "
                                f"({data.rows_text(other)})", spec.span, help_)


class NoLawfulBasis(Rule):
    """No lawful basis declared though prospects include EU/EEA/UK countries.

    Why: the GDPR and the UK GDPR apply to prospects there, and cold outreach needs a
    recorded lawful basis — usually legitimate interest for relevant B2B outreach,
    always with the right to object. With `--prospects`, the warning counts the
    prospects in GDPR countries (`compiler/data/gdpr_countries.txt`). Without a file,
    a `country` field in the prospect block and no `lawful_basis` give an info: EU
    prospects are possible but not known. Some countries ask for more (Germany's UWG
    wants prior consent for email advertising): check with counsel.
    Bad:
        compliance {
          unsubscribe "{{ unsubscribe_url }}"
          postal_address "Acme Inc., 100 Main St, Springfield, IL 62701, USA"
        }
    Good:
        compliance {
          unsubscribe "{{ unsubscribe_url }}"
          postal_address "Acme Inc., 100 Main St, Springfield, IL 62701, USA"
          lawful_basis legitimate_interest
        }
    """

    code = "SEQ411"
    severity = Severity.WARNING
    name = "compliance.lawful-basis"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        from compiler.prospects import is_gdpr_country

        country = data.field_of_type(ctx.project.prospect, "country", "country")
        for camp in ctx.project.campaigns:
            c = camp.compliance
            if c is not None and c.lawful_basis:
                continue
            span = _campaign_span(camp, c)
            help_ = "declare it in `compliance`: `lawful_basis legitimate_interest` (or `consent`)"
            sample = ctx.prospects
            if sample is None:
                if country is not None:
                    yield Diagnostic(self.code, Severity.INFO,
                                     f"campaign `{camp.name}` declares no lawful basis, and the prospect block's "
                                     f"`{country.name}` field allows EU/EEA/UK prospects", span,
                                     help_ + "; `--prospects FILE` checks the actual countries")
                continue
            if country is None:
                continue
            rows = [r.row for r in sample.records if is_gdpr_country(r.data.get(country.name))]
            if rows:
                yield self.diag(f"campaign `{camp.name}` declares no lawful basis, but {len(rows)} of "
                                f"{len(sample.records)} prospects in {sample.file} are in the EU/EEA/UK "
                                f"({data.rows_text(rows)})", span, help_)


class ListHygiene(Rule):
    """Prospect file has addresses not marked verified, duplicates or role addresses (list hygiene).

    Why: bounces from unverified addresses are the fastest way to burn a new domain
    (pause above 2%), a duplicate gets the sequence twice, and a role address such as
    `info@` reaches a shared inbox that complains rather than replies. Runs with
    `--prospects`; counts each problem and lists example rows. Verification is read
    from the `email_status` field (or another enum field with a `verified` value): any
    other value, or none, counts as not verified.
    Bad:
        email,first_name,company,email_status
        info@northwind.example.com,Alexandra,Northwind Analytics,verified
        jonas.becker@kesselwerk.example.de,Jonas,Kesselwerk GmbH,risky
    Good:
        email,first_name,company,email_status
        alexandra@northwind.example.com,Alexandra,Northwind Analytics,verified
        jonas.becker@kesselwerk.example.de,Jonas,Kesselwerk GmbH,verified
    """

    code = "SEQ412"
    severity = Severity.WARNING
    name = "deliverability.list-hygiene"
    needs_prospects = True

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        from compiler.prospects import DuplicateTracker, is_role_address

        sample = ctx.prospects
        prospect = ctx.project.prospect
        if sample is None or prospect is None or not sample.records:
            return
        total, file = len(sample.records), sample.file
        status = self._status_field(prospect)
        if status is None:
            yield Diagnostic(self.code, Severity.INFO,
                             f"{file}: cannot tell which of the {data.plural(total, 'prospect')} are verified: the "
                             "prospect block has no `email_status` field", None,
                             "add `email_status: enum(verified, risky, invalid, unknown)` and fill it from "
                             "your verification tool")
        else:
            unverified = [r for r in sample.records if str(r.data.get(status.name, "")).lower() not in VERIFIED]
            if unverified:
                kinds = Counter(str(r.data.get(status.name) or "empty") for r in unverified)
                yield self.diag(f"{file}: {len(unverified)} of {data.plural(total, 'prospect', ('is', 'are'))} not marked verified in "
                                f"`{status.name}` ({data.describe_counts(kinds)}; "
                                f"{data.rows_text(r.row for r in unverified)})", None,
                                "verify the list and drop `invalid` addresses before launch; "
                                "keep bounces under 2%")
        email = data.field_of_type(prospect, "email", "email")
        if email is None:
            return
        tracker = DuplicateTracker(email.name)
        dupes = [(r.row, first) for r in sample.records if (first := tracker.first_row(r)) is not None]
        if dupes:
            pairs = ", ".join(f"row {row} = row {first}" for row, first in dupes[:5]) + (", …" if len(dupes) > 5 else "")
            yield self.diag(f"{file}: {len(dupes)} of {total} prospects {'repeats' if len(dupes) == 1 else 'repeat'} "
                            f"an earlier address ({pairs})", None,
                            "remove the duplicates so nobody gets the sequence twice")
        roles = [r.row for r in sample.records if isinstance(r.data.get(email.name), str)
                 and is_role_address(r.data[email.name])]
        if roles:
            yield self.diag(f"{file}: {len(roles)} of {total} prospects {'is a role address' if len(roles) == 1 else 'are role addresses'} like `info@` "
                            f"({data.rows_text(roles)})", None,
                            "find a named person at those companies, or drop the rows")

    @staticmethod
    def _status_field(prospect: ir.Prospect) -> ir.Field | None:
        named = prospect.field("email_status")
        if named is not None:
            return named
        return next((f for f in prospect.fields if f.type == "enum" and "verified" in f.enum_values), None)


RULES: tuple[type[Rule], ...] = (
    MissingUnsubscribe,
    NoPostalAddress,
    WarmupCapacity,
    AuthNotDeclared,
    SpamWording,
    LongSubject,
    OpenerLinks,
    OpenerLength,
    NoReplyRouting,
    FixedTimezone,
    NoLawfulBasis,
    ListHygiene,
)

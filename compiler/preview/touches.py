"""Routing → touches: a record in, its `ProspectPreview` out (route, schedule, variant, branch, rendered text).

A `Previewer` is built once per process from the project IR; `preview(record, enrolled)` is
then a pure function of the record, the enrollment date and the events file. Templates are
rendered only through `compiler.render` (the one sandboxed environment), with contexts from
`render.prospect_context`, so prospect values are context data and never template source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from compiler import ir, plan, timing
from compiler.plan import cond_to_text
from compiler.preview.events import EventLog
from compiler.preview.model import (
    OUTPUT_STATUSES,
    PreviewTouch,
    ProspectPreview,
    Sender,
    digest,
)
from compiler.preview.schedule import SequenceSchedule, Slot, forget_days, plan_unknown, walk_events
from compiler.prospects import Record
from compiler.render import RenderError, SharedContext, prospect_context, render, shared_context
from compiler.routing import holds, route_record, route_text

#: Which content field a channel's touch shows as its body.
_BODY_FIELDS = {"email": ("body",), "linkedin": ("note", "body"), "call": ("script", "body"), "task": ("note", "body")}


def enrollment_date(start: dt.date, per_day: int | None, index: int) -> dt.date:
    """The business day (mon-fri) the `index`-th prospect (0-based) enrolls, `per_day` a day from `start`.

    Without `enroll N per day` everyone enrolls on `start`. This is the schedule SEQ403 checks.
    """
    if not per_day or per_day <= 0:
        return start
    day = start
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    weeks, rest = divmod(index // per_day, 5)
    day += dt.timedelta(weeks=weeks)
    for _ in range(rest):
        day += dt.timedelta(days=3 if day.weekday() == 4 else 1)
    return day


def choose_variant(step: ir.Step, email: str) -> ir.Variant | None:
    """The variant a prospect gets: a stable hash of (email, step) bucketed by `split` (even by default)."""
    if not step.variants:
        return None
    weights = step.split if step.split and len(step.split) == len(step.variants) else (1,) * len(step.variants)
    point = int(digest(email.strip().lower(), step.name, "variant"), 16) % sum(weights)
    for variant, weight in zip(step.variants, weights):
        if point < weight:
            return variant
        point -= weight
    return step.variants[-1]


class Previewer:
    """Previews records of one project (build once per process; `preview` per record)."""

    def __init__(self, project: ir.Project, *, events: EventLog | None = None) -> None:
        self.project = project
        self.campaign = project.campaign
        self.routes = self.campaign.routes if self.campaign else ()
        self.sender = Sender.from_campaign(self.campaign)
        self.events = events
        self.schedules = {s.name: SequenceSchedule(s) for s in project.sequences}
        self._route_texts = {id(r): route_text(r) for r in self.routes}
        self._day: dt.date | None = None

    # -- routing, zone, holidays

    def route(self, data: Mapping[str, Any]) -> tuple[ir.Sequence | None, str]:
        if not self.routes:
            only = self.project.sequences[0] if len(self.project.sequences) == 1 else None
            return only, "only sequence" if only else "unrouted"
        chosen = route_record(self.routes, data)
        if chosen is None:
            return None, "unrouted"
        return self.project.sequence(chosen.sequence), self._route_texts[id(chosen)]

    @staticmethod
    def zone(seq: ir.Sequence, data: Mapping[str, Any]) -> tuple[str, list[str]]:
        spec = seq.timezone
        if spec is not None and spec.prospect:
            name = data.get("timezone")
            fallback = spec.fallback or "UTC"
            if isinstance(name, str) and timing.is_valid_zone(name):
                return name, []
            if isinstance(name, str) and name.strip():
                return fallback, [f"time zone {name!r} is not usable here; sent in {fallback}"]
            return fallback, []
        return plan.default_timezone(seq), []

    @staticmethod
    def holidays(seq: ir.Sequence, data: Mapping[str, Any]) -> tuple[timing.HolidayCalendar, list[str]]:
        spec = seq.holidays
        if spec is None:
            return timing.NO_HOLIDAYS, []
        country = data.get("country") if spec.prospect else spec.country
        if not isinstance(country, str) or not country.strip():
            return timing.NO_HOLIDAYS, []
        try:
            return timing.holiday_checker(country), []
        except timing.UnknownCountry:
            return timing.NO_HOLIDAYS, [f"no public-holiday calendar for {country}; no holidays skipped"]

    # -- one record

    def _new_day(self, enrolled: dt.date) -> None:
        """Records arrive in enrollment order: drop the scheduling memos of earlier days, so memory
        stays flat however many days a large list spans (the memos only pay off within a day)."""
        if self._day is not None and enrolled != self._day:
            timing.clear_caches()
            forget_days()
            for sched in self.schedules.values():
                sched.forget()
        self._day = enrolled

    def preview(self, record: Record, enrolled: dt.date) -> ProspectPreview:
        if enrolled != self._day:
            self._new_day(enrolled)
        data = record.data
        email = data.get("email") if isinstance(data.get("email"), str) else ""
        key = digest(str(record.row), email.strip().lower())
        seq, route = self.route(data)
        if seq is None:
            return ProspectPreview(record.row, email, data, route=route, enrolled=enrolled, key=key)
        tz_name, notes = self.zone(seq, data)
        calendar, more = self.holidays(seq, data)
        base = {"row": record.row, "email": email, "data": data, "sequence": seq.name,
                "sequence_title": seq.title, "route": route, "timezone": tz_name, "holidays": calendar.country,
                "enrolled": enrolled, "notes": tuple(notes + more), "key": key}
        try:
            tz = timing.zone(tz_name)
            sched = self.schedules[seq.name]
            if self.events is None:
                slots = plan_unknown(sched, data, email, enrolled, tz, calendar)
            else:
                slots = walk_events(sched, data, email, enrolled, tz, calendar, self.events.history(email, tz))
            touches = _Renderer(self, sched, data, email).touches(slots, tz_name)
        except RenderError as e:
            return ProspectPreview(**base, error=f"render: {e}")
        except timing.TimingError as e:
            return ProspectPreview(**base, error=f"schedule: {e}")
        return ProspectPreview(**base, touches=touches)


def _content_plan(step: ir.Step, variant: ir.Variant | None, branch_index: int):
    """(branch label, [(field, template, error name)]) for one (step, variant, branch): what to render."""
    content = step.content.merged(variant.content) if variant else step.content
    label = None
    if branch_index >= 0:
        branch = step.branches[branch_index]
        content = content.merged(branch.content)
        label = "else" if branch.cond is None else f"when {cond_to_text(branch.cond)}"
    fields = []
    if step.channel == "email" and content.subject is not None:
        fields.append(("subject", content.subject))
    for name in _BODY_FIELDS.get(step.channel, ("body",)):
        tpl = getattr(content, name)
        if tpl is not None:
            fields.append((name, tpl))
            break
    return label, [(f, tpl, f"{step.name}.{f}" + (f" ({tpl.path})" if tpl.path else "")) for f, tpl in fields]


class _Renderer:
    """Content of one prospect's touches: variant, branch, rendered fields, thread subjects."""

    def __init__(self, previewer: Previewer, sched: SequenceSchedule, data: Mapping[str, Any], email: str) -> None:
        self.seq = sched.seq
        self.threads = sched.threads
        self.plans = sched.contents
        self.data = data
        self.email = email
        # built once (globals merged in) and shared by every template of this prospect
        self.context: SharedContext = shared_context(prospect_context(previewer.project.prospect, data,
                                                                      previewer.sender.builtins(email)))
        self.subjects: dict[str, str | None] = {}

    def touches(self, slots: list[Slot], tz_name: str) -> tuple[PreviewTouch, ...]:
        out = []
        number = 0
        for slot in slots:
            step = slot.info.step
            variant = branch = subject = body = None
            thread: tuple[str, ...] = ()
            position = 0
            if slot.status in OUTPUT_STATUSES:
                variant, branch, subject, body = self.content(step, slot)
                if step.channel == "email":
                    number += 1
                    position = number
                    thread = self.thread_chain(step)
                    if subject is None:
                        subject = self.reply_subject(step)
            landing = slot.landing
            # positional, in PreviewTouch's field order: a touch is built millions of times
            out.append(PreviewTouch(slot.info.track, step.name, step.channel, step.day, landing.local, landing.utc,
                                    slot.status, slot.guard, slot.reason, step.purpose, step.action, variant,
                                    branch, subject, body, thread, position, slot.stamps))
        return tuple(out)

    def content(self, step: ir.Step, slot: Slot | None) -> tuple[str | None, str | None, str | None, str | None]:
        """(variant, branch label, subject, body) of a step for this prospect, rendered."""
        variant = choose_variant(step, self.email) if step.variants else None
        branch_index = -1
        if step.branches:
            lookup = slot.history.lookup(slot.landing.utc) if slot is not None and slot.history is not None else None
            for i, branch in enumerate(step.branches):
                if branch.cond is None or holds(branch.cond, self.data, lookup):
                    branch_index = i
                    break
        key = (step.name, variant.name if variant else None, branch_index)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _content_plan(step, variant, branch_index)
        branch_label, fields = plan
        subject = body = None
        for field, tpl, name in fields:
            text = render(tpl.source, self.context, name=name)
            if field == "subject":
                subject = text
            else:
                body = text
        self.subjects[step.name] = subject
        return key[1], branch_label, subject, body

    def thread_chain(self, step: ir.Step) -> tuple[str, ...]:
        """The steps this email replies to, the thread's first message first."""
        return self.threads.get(step.name, ())

    def reply_subject(self, step: ir.Step) -> str | None:
        """`Re: <subject of the thread>` for a threaded email without a subject of its own."""
        for name in reversed(self.thread_chain(step)):
            if name not in self.subjects:
                parent = self.seq.step(name)
                if parent is None or parent.channel != "email":
                    continue
                self.content(parent, None)
            subject = self.subjects.get(name)
            if subject:
                return subject if subject[:3].lower() == "re:" else f"Re: {subject}"
        return None

"""SEQ3xx: personalization — templates use declared fields, guard optional ones, and parse."""

from __future__ import annotations

import re
from collections.abc import Iterator

from compiler import ir
from compiler.diagnostics import Diagnostic, Severity
from compiler.rules.base import CatalogEntry, Rule, RuleContext

# The prospect field each non-email channel cannot work without.
CHANNEL_FIELDS = {"call": "phone", "linkedin": "linkedin_url"}


def project_templates(project: ir.Project) -> Iterator[tuple[str, str, ir.Template]]:
    """(owner label, field name, template) for every template in the project, in source order."""
    for seq in project.sequences:
        for step in seq.all_steps():
            for name, tpl in step.templates():
                yield f"step `{step.name}`", name, tpl
    for camp in project.campaigns:
        if camp.compliance and camp.compliance.unsubscribe:
            yield f"campaign `{camp.name}`", "unsubscribe", camp.compliance.unsubscribe


def template_diagnostics(ctx: RuleContext) -> list[Diagnostic]:
    """SEQ301/302/305 findings for the whole project, computed once per run."""
    from compiler.template_analysis import check_template

    def build() -> list[Diagnostic]:
        out: list[Diagnostic] = []
        seen: set[tuple] = set()
        for owner, name, tpl in project_templates(ctx.project):
            # A file used by several steps is checked once per use site only if the span differs.
            key = (tpl.path, tpl.span) if tpl.path is None else (tpl.path,)
            if key in seen:
                continue
            seen.add(key)
            out.extend(check_template(tpl, ctx.project.prospect, field_label=f"`{name}` of {owner}"))
        return out

    return ctx.memo("template-diagnostics", build)


class _TemplateRule(Rule):
    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        for d in template_diagnostics(ctx):
            if d.code == self.code:
                yield d


class UndeclaredVariable(_TemplateRule):
    """Template uses a variable the `prospect` block does not declare.

    Why: an undeclared variable has no value in any prospect file; sent as is it
    would read "Hi ," — seqc fails instead, and suggests the field you meant.
    Bad:
        subject "Quick question, {{ frist_name }}"
    Good:
        subject "Quick question, {{ first_name }}"
    """

    code = "SEQ301"
    severity = Severity.ERROR
    name = "personalization.undeclared-variable"


class UnguardedOptional(_TemplateRule):
    """Optional field used without a guard or fallback.

    Why: prospects with a hole in that field would get an email with a gap in it.
    Wrap the text in `{% if x %}…{% endif %}` or give `{{ x | default("…") }}`.
    Bad:
        body "Congrats on the {{ funding_round }} round"
    Good:
        body "{% if funding_round %}Congrats on the {{ funding_round }} round.{% endif %}"
    """

    code = "SEQ302"
    severity = Severity.ERROR
    name = "personalization.unguarded-optional"


class TemplateSyntax(_TemplateRule):
    """Template syntax error (located inside the template).

    Why: a broken `{% if %}` or `{{` fails at send time in every tool; seqc points
    at the line of the template file (or of the string in the .seq file).
    Bad:
        body "Hi {{ first_name }"
    Good:
        body "Hi {{ first_name }}"
    """

    code = "SEQ305"
    severity = Severity.ERROR
    name = "personalization.template-syntax"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        yield from super().check(ctx)
        yield from _runaway_subjects(ctx)


def _runaway_subjects(ctx: RuleContext) -> Iterator[Diagnostic]:
    """Subjects that stop at a render limit with typical values: they would fail for every prospect.

    Bodies are only rendered by `preview`/`compile`; subjects are already rendered at check
    time for SEQ406, so their limit errors cost nothing more to report here.
    """
    from compiler.rules.deliverability import rendered_subjects
    from compiler.sandbox import RenderLimitError
    from compiler.template_analysis import template_span

    for step, label, tpl, result in rendered_subjects(ctx):
        if isinstance(result, RenderLimitError):
            yield Diagnostic("SEQ305", Severity.ERROR,
                             f"the subject of `{step.name}`{label} cannot be rendered: {result.message}",
                             template_span(tpl, result.lineno or 1),
                             "remove the loop or the text-building that runs away; a subject is one short line")


class ChannelNeedsField(Rule):
    """Channel needs a field the prospect block lacks or leaves optional without a guard.

    Why: a call needs a phone number and a LinkedIn touch a profile URL; without
    the field (or a `has(…)` guard when it is optional) the step fails for some
    prospects in the middle of the sequence.
    Bad:
        day 5 call first_call { script "…" }       # phone is optional
    Good:
        day 5 call first_call if has(phone) { script "…" }
    """

    code = "SEQ304"
    severity = Severity.ERROR
    name = "personalization.channel-needs-field"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        from compiler.rules.architecture import positive_has

        prospect = ctx.project.prospect
        for seq in ctx.project.sequences:
            for step in seq.all_steps():
                needed = CHANNEL_FIELDS.get(step.channel)
                if needed is None:
                    continue
                decl = prospect.field(needed) if prospect else None
                if decl is None:
                    yield self.diag(f"{step.channel} step `{step.name}` needs a `{needed}` field, "
                                    "which the prospect block does not declare", step.name_span,
                                    f"add `{needed}: {'phone' if needed == 'phone' else 'url'}` to the prospect block")
                elif not decl.required and needed not in positive_has(step.guard):
                    guard = f"if has({needed})" if step.guard is None else f"… and has({needed})"
                    yield self.diag(f"{step.channel} step `{step.name}` needs `{needed}`, which is optional",
                                    step.name_span, f"guard the step: `{guard}`")


#: Prospect fields that hold a first name, in the order SEQ303 suggests them.
FIRST_NAME_FIELDS = ("first_name", "firstname", "given_name")


class OpenerWithoutFirstName(Rule):
    r"""Opener does not use the prospect's first name in its first line.

    Why: the first line is what the inbox preview shows, and greeting the prospect by
    name there is the cheapest proof that the email was meant for them — without it
    the opener reads like a mass mailing. Checked on every body an opener (an email
    with `purpose opener`) can send: shared, per variant and per `when` branch.
    Bad:
        body "Quick one about {{ company }}.\n\nHi {{ first_name }}, …"
    Good:
        body "Hi {{ first_name }},\n\nQuick one about {{ company }}. …"
    """

    code = "SEQ303"
    severity = Severity.WARNING
    name = "personalization.opener-first-name"

    def check(self, ctx: RuleContext) -> Iterator[Diagnostic]:
        from compiler.rules.data import analysis, labelled_templates
        from compiler.template_analysis import template_span

        prospect = ctx.project.prospect
        declared = [n for n in FIRST_NAME_FIELDS if prospect is not None and prospect.field(n) is not None]
        wanted = declared[0] if declared else "first_name"
        for seq in ctx.project.sequences:
            for step in seq.all_steps():
                if step.channel != "email" or step.purpose != "opener":
                    continue
                for label, tpl in labelled_templates(step, "body"):
                    if _greets_on_first_line(tpl.source):
                        continue  # the usual `Hi {{ first_name }},` needs no template analysis
                    info = analysis(ctx, tpl.source)
                    if info.syntax_error is not None or info.first_line_variables & set(FIRST_NAME_FIELDS):
                        continue
                    first = next((i for i, line in enumerate(tpl.source.split("\n"), 1) if line.strip()), 1)
                    yield self.diag(f"the first line of opener `{step.name}`{label} does not use `{{{{ {wanted} }}}}`",
                                    template_span(tpl, first),
                                    f"greet the prospect by name first: `Hi {{{{ {wanted} }}}},`"
                                    + ("" if declared else " (declare `first_name` in the prospect block)"))


_GREETING = re.compile(r"\{\{-?\s*(" + "|".join(FIRST_NAME_FIELDS) + r")\s*(\||-?\}\})")


def _greets_on_first_line(source: str) -> bool:
    """A quick yes: the first line with text prints a first-name field (`{{ first_name }}`)."""
    first = next((line for line in source.split("\n") if line.strip()), "")
    return "{#" not in first and _GREETING.search(first) is not None


RULES = (UndeclaredVariable, UnguardedOptional, OpenerWithoutFirstName, ChannelNeedsField, TemplateSyntax)

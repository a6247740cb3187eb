"""compiler.render: a `shared_context` renders exactly as the context it was made from."""

from __future__ import annotations

import pytest

from compiler.render import (
    Missing,
    RenderContext,
    RenderError,
    RenderLimitError,
    TemplateSecurityError,
    render,
    shared_context,
)

CONTEXTS = [
    {"first_name": "Ann", "company": "Acme", "title": None, "n": 3},
    {"first_name": "  ", "company": "", "title": "VP", "n": 0},
    RenderContext(first_name="Zoë", company=Missing("company"), title="CEO", n=2),
    {"first_name": "Ann", "range": "shadowed", "has": "also", "n": 1},  # values win over globals, as before
    {"first_name": "x" * 600_000, "company": "y" * 600_000, "title": "t", "n": 1},  # output over the limit
]

TEMPLATES = [
    "Hi {{ first_name | default('there') }} at {{ company | default('your team') }}\n",
    "{% if has(title) %}{{ title }}{% else %}no title{% endif %}",
    "{% set x = first_name ~ '!' %}{{ x }}{% for i in [1, 2] %}{{ i }}{% endfor %}",
    "{{ range }}{{ has }}",
    "{% for i in range(n) %}{{ loop.index }}{% endfor %}",
    "{{ first_name }}",
    "{{ first_name }}{{ nope }}",  # fails halfway: the next template's shared context is untouched
    "{{ first_name }} {{ company }}",
    "{{ (first_name ~ 'y') * 2000000 }}",
    "{{ first_name ~ company }}",
    "{{ nope }}",
    "{{ first_name.__class__ }}",
    "{% for i in range(5000) %}x{% endfor %}",
    "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
]


def _outcome(source: str, context) -> tuple[str, str]:
    try:
        return "ok", render(source, context, name="t")
    except RenderError as e:
        return type(e).__name__, str(e)


@pytest.mark.parametrize("context", CONTEXTS)
def test_shared_context_renders_as_the_context(context) -> None:
    shared = shared_context(context)
    for source in TEMPLATES:  # one prepared context for every template, as preview does
        assert _outcome(source, shared) == _outcome(source, context)


def test_assignments_do_not_leak_between_renders() -> None:
    shared = shared_context({"first_name": "Ann"})
    assert render("{% set first_name = 'Bo' %}{{ first_name }}", shared, name="t") == "Bo"
    assert render("{{ first_name }}", shared, name="t") == "Ann"


def test_errors_keep_their_kind() -> None:
    shared = shared_context({"first_name": "Ann"})
    with pytest.raises(TemplateSecurityError):
        render("{{ first_name.__class__ }}", shared, name="t")
    with pytest.raises(RenderLimitError):
        render("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", shared, name="t")

"""compiler.render, compiler.sandbox, compiler.template_analysis: the sandboxed environment, missing values,
limits, template analysis and checks."""

from __future__ import annotations

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import ImmutableSandboxedEnvironment

from compiler import ir
from compiler import render as R
from compiler.diagnostics import Severity, Span
from compiler.render import (
    MAX_OUTPUT_CHARS,
    RenderError,
    RenderLimitError,
    TemplateSecurityError,
    environment,
    prospect_context,
    render,
)
from compiler.template_analysis import analyze, check_template, template_span

SEQ = "examples/demo/sequence.seq"


def _field(name: str, type_: str = "text", required: bool = False) -> ir.Field:
    return ir.Field(name, type_, required, Span(SEQ, 1, 1, 1, 2))


PROSPECT = ir.Prospect(
    fields=(
        _field("email", "email", True),
        _field("first_name", "text", True),
        _field("company", "text", True),
        _field("title"),
        _field("phone", "phone"),
        _field("employees", "int"),
        _field("linkedin_url", "url"),
        _field("calendar_url", "url"),
        _field("opted_in", "bool"),
    ),
    span=Span(SEQ, 1, 1, 12, 2),
)


def inline(source: str, line: int = 10, column: int = 13, line_offset: int = 0) -> ir.Template:
    """An inline `"…"` template starting at (line, column) of the .seq file."""
    lines = source.split("\n")
    if len(lines) == 1:
        span = Span(SEQ, line, column, line, column + len(source) + 2)
    else:
        span = Span(SEQ, line, column, line + len(lines) + 1, 8)
    return ir.Template(source=source, span=span, line_offset=line_offset)


def from_file(source: str, path: str = "examples/demo/templates/opener.txt.j2") -> ir.Template:
    return ir.Template(source=source, span=Span(SEQ, 30, 10, 30, 40), path=path)


def ctx(**record: object) -> R.RenderContext:
    base = {"email": "ana@example.com", "first_name": "Ana", "company": "Acme"}
    return prospect_context(PROSPECT, {**base, **record}, {"unsubscribe_url": "https://u.example/x", "sender_name": "Dana"})


def unguarded(source: str) -> set[str]:
    info = analyze(source)
    assert info.syntax_error is None, info.syntax_error
    assert not info.refusals, info.refusals
    return {v.name for v in info.variables if not v.guarded}


# ---------------------------------------------------------------- environment


def test_environment_is_the_strict_immutable_sandbox() -> None:
    env = environment()
    assert env is environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    assert issubclass(env.undefined, jinja2.StrictUndefined)
    assert env.autoescape is False
    assert env.keep_trailing_newline is True
    assert env.extensions == {}
    assert env.loader is None
    assert set(env.globals) == {"range", "has"}
    assert not {"attr", "format", "xmlattr", "safe", "pprint", "random", "center", "indent", "tojson"} & set(env.filters)
    assert {"default", "d", "upper", "lower", "title", "trim", "truncate", "replace", "join", "urlencode"} <= set(env.filters)


def test_templates_compile_once_per_source() -> None:
    source = "cache probe {{ first_name }}"
    render(source, ctx(), name="a")
    before = R._compiled.cache_info()
    for _ in range(5):
        render(source, ctx(first_name="Bo"), name="b")
    after = R._compiled.cache_info()
    assert after.hits - before.hits == 5 and after.misses == before.misses
    assert analyze(source) is analyze(source)


# ---------------------------------------------------------------- guards

GUARD_CASES = [
    # (template, unguarded names)
    ("{{ title }}", {"title"}),
    ("{% if title %}{{ title }}{% endif %}", set()),
    ("{% if title %}{{ title }}{% endif %}{{ title }}", {"title"}),
    ("{% if title %}x{% else %}{{ title }}{% endif %}", {"title"}),
    ("{% if not title %}x{% else %}{{ title }}{% endif %}", set()),
    ("{% if title is none %}x{% else %}{{ title }}{% endif %}", set()),
    ("{% if title is not none %}{{ title }}{% endif %}", set()),
    ("{% if title is defined %}{{ title }}{% endif %}", set()),
    ("{% if title is undefined %}{{ title }}{% endif %}", {"title"}),
    ("{% if title is string %}{{ title }}{% endif %}", set()),
    ("{% if has(title) %}{{ title }}{% endif %}", set()),
    ("{% if phone %}x{% elif title %}{{ title }}{% endif %}", set()),
    ("{% if phone %}{{ title }}{% elif title %}x{% endif %}", {"title"}),
    ("{% if not phone %}x{% elif title %}{{ phone }} {{ title }}{% endif %}", set()),
    ("{% if phone %}x{% elif title %}y{% else %}{{ title }}{% endif %}", {"title"}),
    ("{% if phone is none %}x{% elif title is none %}y{% else %}{{ phone }}{{ title }}{% endif %}", set()),
    ("{% if title %}{% if phone %}{{ title }} {{ phone }}{% endif %}{% endif %}", set()),
    ("{% if title %}{% if phone %}x{% endif %}{{ phone }}{% endif %}", {"phone"}),
    ("{% if title and phone %}{{ title }}{{ phone }}{% endif %}", set()),
    ("{% if title or phone %}{{ title }}{{ phone }}{% endif %}", {"title", "phone"}),
    ("{% if not (title and phone) %}x{% else %}{{ title }}{{ phone }}{% endif %}", set()),
    ("{% if not (title or phone) %}x{% else %}{{ title }}{% endif %}", {"title"}),
    ("{% if title and title | length > 3 %}x{% endif %}", set()),
    ("{% if title | length > 3 %}x{% endif %}", {"title"}),
    ("{% if title == 'CEO' %}{{ title }}{% endif %}", set()),
    ("{% if title != 'CEO' %}{{ title }}{% endif %}", {"title"}),
    ("{% if title != none %}{{ title }}{% endif %}", set()),
    ("{% if 'VP' in title %}{{ title }}{% endif %}", set()),
    ("{% if employees > 100 %}{{ employees }}{% endif %}", set()),
    ("{{ title | default('there') }}", set()),
    ("{{ title | d('there') }}", set()),
    ("{{ title | default('x') | upper }}", set()),
    ("{{ title | upper | default('x') }}", {"title"}),
    ("{{ title if title else 'there' }}", set()),
    ("{{ 'there' if not title else title }}", set()),
    ("{{ title if phone else 'x' }}", {"title"}),
    ("{{ title or 'there' }}", set()),
    ("{{ title and title | upper }}", {"title"}),
    ("{{ title is none }}", set()),
    ("{{ title ~ '!' }}", {"title"}),
    ("{{ title.upper() }}", {"title"}),
    ("{% for i in range(3) %}{{ title }}{% endfor %}", {"title"}),
    ("{% if title %}{% for i in range(3) %}{{ title }}{% endfor %}{% endif %}", set()),
    ("{% for i in range(2) if title %}{{ title }}{% endfor %}", set()),
    ("{% for t in [title] %}{{ t }}{% endfor %}", {"title"}),
    ("{% for w in title.split() %}{{ w }}{% endfor %}", {"title"}),
    ("{% set t = title | default('x') %}{{ t }}", set()),
    ("{% set t = title %}{{ t }}", {"title"}),
    ("{% with t = title %}{{ t }}{% endwith %}", {"title"}),
    ("{% macro m(n) %}{{ n }}{% endmacro %}{{ m(title) }}", {"title"}),
    ("{% macro m(n) %}{{ n }}{% endmacro %}{{ m(title | default('x')) }}", set()),
    ("{% macro m() %}{{ title }}{% endmacro %}{{ m() }}", {"title"}),
    ("{% macro m() %}{% if title %}{{ title }}{% endif %}{% endmacro %}{{ m() }}", set()),
    ("{% if opted_in %}yes{% endif %}", set()),
]


#: Conservative on purpose: a macro body is checked as if called anywhere, and a `set`
#: alias is not followed, so these are reported although this render would not fail.
CONSERVATIVE_CASES = [
    ("{% macro m() %}{{ title }}{% endmacro %}{% if title %}{{ m() }}{% endif %}", {"title"}),
    ("{% set t = title %}{% if t %}{{ t }}{% endif %}", {"title"}),
]


@pytest.mark.parametrize(("source", "expected"), GUARD_CASES + CONSERVATIVE_CASES)
def test_guarded_and_unguarded_reads(source: str, expected: set[str]) -> None:
    assert unguarded(source) == expected


PRESENT = {"title": "VP Sales", "phone": "+1 555 0100", "employees": 500, "opted_in": True}


@pytest.mark.parametrize(("source", "expected"), GUARD_CASES, ids=[c[0] for c in GUARD_CASES])
def test_guards_agree_with_rendering(source: str, expected: set[str]) -> None:
    """Safe templates render for every mix of missing and present optional values; unsafe ones fail for some."""
    failures = 0
    for mask in range(2 ** len(PRESENT)):
        record = {k: v for i, (k, v) in enumerate(PRESENT.items()) if mask >> i & 1}
        try:
            out = render(source, ctx(**record), name="probe")
        except RenderError as err:
            assert "has no value for this prospect" in err.message
            failures += 1
        else:
            assert "None" not in out
    assert (failures > 0) == bool(expected)


LOCAL_CASES = [
    ("{% set greeting = 'Hi' %}{{ greeting }}", set()),
    ("{% for item in range(2) %}{{ item }}{{ loop.index }}{% endfor %}", set()),
    ("{% macro m(a, b=1) %}{{ a }}{{ b }}{{ varargs }}{% endmacro %}{{ m(1) }}", set()),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}", set()),
    ("{% set block %}x{% endset %}{{ block }}", set()),
    ("{{ x }}{% set x = 1 %}{{ x }}", {("x", 1)}),
    ("{{ company }}\n{{ range(2) | join }}", {("company", 1)}),
]


@pytest.mark.parametrize(("source", "reads"), LOCAL_CASES)
def test_locals_are_not_prospect_fields(source: str, reads: set[tuple[str, int]]) -> None:
    assert {(v.name, v.lineno) for v in analyze(source).variables} == reads


# ---------------------------------------------------------------- check_template


def test_undeclared_variable_with_did_you_mean() -> None:
    tpl = inline("Hi {{ frist_name }},")
    [d] = check_template(tpl, PROSPECT, field_label="the body of `opener`")
    assert d.code == "SEQ301" and d.severity is Severity.ERROR
    assert "`frist_name`" in d.message and "did you mean `first_name`?" in d.message
    assert not d.message.endswith(".")
    assert d.span == Span(SEQ, 10, 13 + 1 + 6, 10, 13 + 1 + 6 + len("frist_name"))
    assert "`first_name`" in d.help


def test_undeclared_without_suggestion_and_without_prospect_block() -> None:
    [d] = check_template(inline("{{ zzz }}"), PROSPECT, field_label="the subject")
    assert d.code == "SEQ301" and "did you mean" not in d.message and "`prospect` block" in d.help
    [d] = check_template(inline("{{ first_name }}"), None, field_label="the subject")
    assert d.code == "SEQ301" and "no `prospect` block" in d.message and "declares `first_name`" in d.help


def test_prospect_dot_field_gets_a_specific_hint() -> None:
    [d] = check_template(inline("{{ prospect.first_name }}"), PROSPECT, field_label="the subject")
    assert d.code == "SEQ301" and "{{ first_name }}" in d.help


def test_optional_field_without_guard_is_seq302() -> None:
    tpl = from_file("Hi {{ first_name }},\nAs {{ title }} at {{ company }}\n")
    [d] = check_template(tpl, PROSPECT, field_label="the body of `opener`")
    assert d.code == "SEQ302" and d.severity is Severity.ERROR
    assert d.message == "optional field `title` is used in the body of `opener` without a guard or fallback"
    assert d.help == 'wrap it in `{% if title %}…{% endif %}` or use `{{ title | default("…") }}`'
    assert d.span == Span("examples/demo/templates/opener.txt.j2", 2, 7, 2, 12)


def test_one_diagnostic_per_name_and_line() -> None:
    diags = check_template(inline("{{ title }} {{ title }}\n{{ title }}"), PROSPECT, field_label="x")
    assert [(d.code, d.span.line) for d in diags] == [("SEQ302", 10), ("SEQ302", 11)]


@pytest.mark.parametrize("source", [
    "Hi {{ first_name }}, {% if title %}as {{ title }}{% endif %} at {{ company }}",
    "{{ unsubscribe_url }} {{ sender_name }} {{ sender_first_name }} {{ sender_email }} {{ sender_company }}",
    "{{ phone | default('no phone') }} {{ employees if employees else 'a team' }}",
])
def test_clean_templates_have_no_diagnostics(source: str) -> None:
    assert check_template(inline(source), PROSPECT, field_label="the body") == []


SYNTAX_CASES = [
    # (source, jinja line)
    ("Hi {{ first_name }", 1),
    ("line1\n{{ first_name }\nline3", 2),
    ("{% for x in range(2) %}\n\n{% endif %}", 3),
    ("a\n\n\n{{ 1 + }}", 4),
    ("a\nb\n{% if first_name %}\nc\n", 3),
    ("a\n{% if a %}\n{% else %}\n{% else %}\n{% endif %}", 4),
]


@pytest.mark.parametrize(("source", "lineno"), SYNTAX_CASES)
def test_syntax_error_in_file_template_points_at_template_line(source: str, lineno: int) -> None:
    assert analyze(source).syntax_error.lineno == lineno
    [d] = check_template(from_file(source), PROSPECT, field_label="the body of `opener`")
    assert d.code == "SEQ305" and d.severity is Severity.ERROR
    assert d.span.file == "examples/demo/templates/opener.txt.j2"
    assert d.span.line == lineno and d.span.column == 1
    assert d.message.startswith("template syntax error in the body of `opener`: ")
    assert not d.message.endswith(".") and "'" not in d.message


@pytest.mark.parametrize(("source", "lineno"), [c for c in SYNTAX_CASES if "\n" in c[0]])
def test_syntax_error_in_inline_template_points_at_seq_line(source: str, lineno: int) -> None:
    tpl = inline(source, line=20, line_offset=1)  # `"""` string whose first (blank) line was dropped
    [d] = check_template(tpl, PROSPECT, field_label="the body")
    assert d.code == "SEQ305"
    assert (d.span.file, d.span.line) == (SEQ, 20 + 1 + lineno - 1)


def test_syntax_error_in_one_line_inline_template_spans_the_string() -> None:
    tpl = inline("Hi {{ first_name }")
    [d] = check_template(tpl, PROSPECT, field_label="the subject")
    assert d.span == tpl.span


def test_file_span_is_relative_to_the_seq_folder() -> None:
    tpl = ir.Template(source="x\n  {{ title }}", span=Span("sequence.seq", 3, 1, 3, 9), path="t/a.j2")
    assert template_span(tpl, 2, "title") == Span("t/a.j2", 2, 6, 2, 11)


@pytest.mark.parametrize(("source", "fragment"), [
    ("{{ first_name | uppper }}", "unknown filter `uppper` in the body (did you mean `upper`?)"),
    ("{% if first_name is lowr %}{% endif %}", "unknown test `lowr` in the body (did you mean `lower`?)"),
    ("{% include 'footer.j2' %}", "`{% include %}` is not supported"),
    ("{% extends 'base.j2' %}", "`{% extends %}` is not supported"),
    ("{% import 'm.j2' as m %}", "`{% import %}` is not supported"),
    ("{{ '%s!' % first_name }}", "printf-style `%` formatting"),
])
def test_other_template_errors_are_seq305(source: str, fragment: str) -> None:
    diags = check_template(inline(source), PROSPECT, field_label="the body")
    assert [d.code for d in diags] == ["SEQ305"]
    assert fragment in diags[0].message
    with pytest.raises(RenderError):
        render(source, ctx(), name="body")


# ---------------------------------------------------------------- links, images, words, first line

LINK_CASES = [
    ('<a href="https://acme.io">https://acme.io</a>', 1),
    ("See https://a.io and https://b.io/x.", 2),
    ("{{ calendar_url }} and {{ linkedin_url | default('') }}", 2),
    ("{{ calendar_url }} twice {{ calendar_url }}", 1),
    ("{{ unsubscribe_url }}", 0),
    ('<a href="{{ unsubscribe_url }}">unsubscribe</a>', 0),
    ('<a href="{{ site }}">site</a>', 1),
    ("{% if x %}https://a.io{% else %}http://b.io{% endif %}", 2),
    ("https://acme.io/{{ company | urlencode }}", 1),
    ("{{ 'https://acme.io' }}", 1),
    ("mailto:ana@example.com and ftp://x", 0),
    ("plain text", 0),
    ("{% if calendar_url %}book{% endif %}", 0),
]


@pytest.mark.parametrize(("source", "links"), LINK_CASES)
def test_link_count(source: str, links: int) -> None:
    assert analyze(source).links == links


@pytest.mark.parametrize(("source", "image"), [
    ('<img src="https://acme.io/logo.png">', True),
    ("<IMG SRC=x>", True),
    ("{% if a %}<img src=x>{% endif %}", True),
    ("<image> imgur.com", False),
    ("plain", False),
])
def test_image_detection(source: str, image: bool) -> None:
    assert analyze(source).has_image is image


@pytest.mark.parametrize(("source", "words"), [
    ("Hi {{ first_name }}, how are you?", 5),
    ("<p>Hello <b>world</b></p>", 2),
    ("{% if a %}one two three{% else %}one{% endif %} end", 4),
    ("{% for i in x %}a b{% endfor %}", 2),
    ("{% macro m() %}many words in here{% endmacro %}{{ m() }}", 1),
    ("{{ a }}{{ b }} c", 2),
    ("— - ...", 0),
    ("", 0),
])
def test_word_count(source: str, words: int) -> None:
    assert analyze(source).word_count == words


@pytest.mark.parametrize(("source", "names"), [
    ("Hi {{ first_name }},\n\nI saw {{ company }}", {"first_name"}),
    ("\n\n   Hello {{ first_name | default('there') }}\nBody", {"first_name"}),
    ("Hello,\n{{ first_name }}", set()),
    ("{% if first_name %}Hi {{ first_name }},{% else %}Hi,{% endif %}\nBody {{ company }}", {"first_name"}),
    ("{% set g = 'Hi' %}{{ g }} {{ company }}\n{{ first_name }}", {"company"}),
    ("{% macro m() %}{{ title }}\n{% endmacro %}Hi {{ first_name }}\n", {"first_name"}),
])
def test_first_line_variables(source: str, names: set[str]) -> None:
    assert analyze(source).first_line_variables == names


def test_uses() -> None:
    info = analyze('<a href="{{ unsubscribe_url }}">stop</a>')
    assert info.uses("unsubscribe_url") and not info.uses("first_name")
    assert analyze("{% if unsubscribe_url %}x{% endif %}").uses("unsubscribe_url")


def test_syntax_error_result_is_empty() -> None:
    info = analyze("{{ x")
    assert info.syntax_error is not None and info.variables == () and info.links == 0


# ---------------------------------------------------------------- rendering: missing values


@pytest.mark.parametrize("missing", [{"title": None}, {"title": ""}, {"title": "  \t"}, {}])
def test_missing_optional_takes_the_fallback(missing: dict) -> None:
    assert render("Hi {{ title | default('there') }}!", ctx(**missing), name="s") == "Hi there!"
    assert render("{{ title | d('there') }}", ctx(**missing), name="s") == "there"
    assert render("{% if title %}A{% else %}B{% endif %}", ctx(**missing), name="s") == "B"
    assert render("{{ title is none }} {{ title is defined }} {{ has(title) }}", ctx(**missing), name="s") == "True False False"
    assert render("{{ title == none }} {{ title == 'CEO' }} {{ 'VP' in title }}", ctx(**missing), name="s") == "True False False"
    assert render("{{ title or 'there' }}|{{ title if title else 'x' }}", ctx(**missing), name="s") == "there|x"
    assert render("{{ employees > 100 }} {{ employees < 100 }}", ctx(), name="s") == "False False"


def test_present_values_render() -> None:
    c = ctx(title="VP Sales", employees=0, opted_in=False)
    assert render("{{ title | default('x') }}|{{ employees | default(5) }}|{{ employees | default(5, true) }}", c, name="s") == "VP Sales|0|5"
    assert render("{% if 'VP' in title %}{{ title | upper }}{% endif %}", c, name="s") == "VP SALES"
    assert render("{{ opted_in }}", c, name="s") == "False"


@pytest.mark.parametrize("source", [
    "{{ title }}",
    "{{ 'Hi ' ~ title }}",
    "{{ title | upper }}",
    "{{ title | string }}",
    "{{ title | trim }}",
    "{{ [title] | join(', ') }}",
    "{{ title.upper() }}",
    "{{ title + 'x' }}",
    "{{ title | length }}",
    "{% for c in title %}{{ c }}{% endfor %}",
])
def test_missing_value_never_renders(source: str) -> None:
    for record in ({"title": None}, {}):
        with pytest.raises(RenderError) as err:
            render(source, ctx(**record), name="opener.body")
        assert err.value.name == "opener.body"
        assert "`title` has no value for this prospect" in err.value.message


def test_bare_none_raises() -> None:
    with pytest.raises(RenderError, match="no value"):
        render("{% set a = none %}{{ a }}", ctx(), name="s")


@pytest.mark.parametrize("source", ["Hi {{ frist_name }}", "{{ frist_name | default('x') }}", "{% if has(frist_name) %}{% endif %}"])
def test_undeclared_variable_raises(source: str) -> None:
    with pytest.raises(RenderError, match="`frist_name` is undefined"):
        render(source, ctx(), name="s")


def test_render_error_names_template_and_line() -> None:
    with pytest.raises(RenderError) as err:
        render("a\nb\n{{ title }}", ctx(), name="templates/opener.txt.j2")
    assert (err.value.name, err.value.lineno) == ("templates/opener.txt.j2", 3)
    assert str(err.value).startswith("templates/opener.txt.j2:3: ")


def test_plain_dict_context_is_normalised() -> None:
    assert render("{{ t | default('x') }}", {"t": None}, name="s") == "x"
    assert render("{{ t | default('x') }}", {"t": " "}, name="s") == "x"


def test_prospect_context_keeps_only_declared_fields() -> None:
    c = prospect_context(PROSPECT, {"first_name": "Ana", "secret": "s"}, {})
    assert "secret" not in c and set(c) == {f.name for f in PROSPECT.fields} | set(ir.BUILTIN_VARIABLES)
    with pytest.raises(RenderError, match="`unsubscribe_url` has no value"):
        render("{{ unsubscribe_url }}", c, name="s")


def test_text_is_not_escaped_and_trailing_newline_kept() -> None:
    c = ctx(company="O'Brien & Sons <Ltd>")
    assert render("{{ company }}\n", c, name="s") == "O'Brien & Sons <Ltd>\n"


# ---------------------------------------------------------------- sandbox

SSTI_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ \"{0.__class__}\".format(first_name) }}",
    "{{ first_name | attr('format') }}",
    "{{ first_name | attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ '{0.__class__.__base__}'.format_map(first_name) }}",
    "{% set f = ''.format %}{{ f('{0.__class__}', 1) }}",
    "{{ '{0.__class__}' | attr('format') }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self }}",
    "{{ config.items() }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ first_name['__class__'] }}",
    "{{ first_name | map(attribute='__class__') | list }}",
    "{{ first_name.__init__.__globals__ }}",
    "{{ _secret }}",
    "{{ first_name | xmlattr }}",
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_ssti_payload_in_template_is_refused_by_check(payload: str) -> None:
    diags = check_template(from_file(payload), PROSPECT, field_label="the body")
    assert diags and all(d.code == "SEQ305" and d.severity is Severity.ERROR for d in diags)
    assert any("internals" in d.message for d in diags)
    assert all(d.span.file == "examples/demo/templates/opener.txt.j2" for d in diags)


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_ssti_payload_in_template_is_refused_by_render(payload: str) -> None:
    with pytest.raises(TemplateSecurityError) as err:
        render(payload, ctx(), name="opener.body")
    assert err.value.name == "opener.body"


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__ }}",
    "{{ 'x'.format(1) }}",
    "{{ ''.format_map({}) }}",
    "{% set l = [1] %}{{ l.append(2) }}",
    "{{ ''.mro }}",
])
def test_sandbox_blocks_internals_even_without_the_static_check(payload: str) -> None:
    template = environment().from_string(payload)
    with pytest.raises((jinja2.exceptions.SecurityError, jinja2.exceptions.UndefinedError)):
        template.render(x=1)


@pytest.mark.parametrize("payload", [
    "{{ 7*7 }}", "{% for x in range(9) %}boom{% endfor %}", "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}", "{% include '/etc/passwd' %}", "{#", "{{",
])
def test_ssti_payload_as_data_is_inert(payload: str) -> None:
    c = ctx(company=payload, title=payload)
    assert render("{{ company }}|{{ title | default('x') | upper }}", c, name="s") == f"{payload}|{payload.upper()}"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_value_renders_verbatim(value: str) -> None:
    if value.strip():
        assert render("{{ x }}", {"x": value}, name="p") == value
    assert render("[{{ x | default('') }}]", {"x": value}, name="p") == (f"[{value}]" if value.strip() else "[]")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["{{", "}}", "{%", "%}", "{#", "7*7", "__class__", "\n", "x", " ", "None"]), min_size=1))
def test_template_syntax_in_values_is_never_evaluated(parts: list[str]) -> None:
    value = "".join(parts)
    expected = f"<{value}>" if value.strip() else "<->"
    assert render("<{{ company | default('-') }}>", ctx(company=value), name="p") == expected


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize("source", [
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "{% for i in range(1000) %}{% for j in 'x' * 1000 %}{% endfor %}{% endfor %}",
    "{% for i in range(1000) %}{{ company }}{% endfor %}",
    "{{ 'A' * 10**9 }}",
    "{{ [0] * 10**9 }}",
    "{{ 2 ** 100000 }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ company | replace('a', 'a' * 100000) }}",
    "{{ company | wordwrap(1, wrapstring='-' * 100000) }}",
    "{{ range(1000) | join('-' * 10000) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
])
def test_runaway_templates_are_stopped(source: str) -> None:
    c = ctx(company="a" * 2000)
    with pytest.raises(RenderLimitError) as err:
        render(source, c, name="runaway.j2")
    assert err.value.name == "runaway.j2"
    assert str(err.value).startswith("runaway.j2")


def test_output_cap_names_the_limit() -> None:
    with pytest.raises(RenderLimitError, match=f"{MAX_OUTPUT_CHARS:,}"):
        render("{% for i in range(1000) %}{{ company }}{% endfor %}", ctx(company="a" * 2000), name="big")


def test_modest_loops_still_work() -> None:
    out = render("{% for i in range(3) %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}", ctx(), name="s")
    assert out == "1,2,3"
    assert render("{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ 7 % 3 }}", ctx(), name="s") == "ababab 1024 1"


# ---------------------------------------------------------------- text built with `~`, `+` and join

# Each doubles (or grows) a text or list past what one render may build; before `~`, `+`,
# `str.join`, `expandtabs` and `translate` were charged, these built gigabytes.
BUILDING_CASES = [
    "{% set a = company %}" + "{% set a = a ~ a %}" * 12 + "{{ a|length }}",
    "{% set a = company %}" + "{% set a = a + a %}" * 12 + "{{ a|length }}",
    "{% set a = company %}" + "{% set a = a.join([a, a]) %}" * 8 + "{{ a|length }}",
    "{% set a = company %}" + "{% set a = [a, a]|join(a) %}" * 8 + "{{ a|length }}",
    "{% set l = [company] %}" + "{% set l = l + l %}" * 30 + "{{ l|length }}",
    "{{ (('\t' * 100000).expandtabs(1000))|length }}",
    "{{ (company * 400).translate({97: 'b' * 100000})|length }}",
    "{% set a = company * 400 %}{{ [a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a]|string|length }}",
    "{% set a = company * 400 %}{{ [[a, a, a, a, a], [a, a, a, a, a]] ~ [a, a, a, a, a, a, a, a, a, a, a, a] }}",
]


@pytest.mark.parametrize("source", BUILDING_CASES)
def test_text_building_is_charged_to_the_budget(source: str) -> None:
    with pytest.raises(RenderLimitError) as err:
        render(source, ctx(company="a" * 2000), name="grow.j2")
    assert str(err.value).startswith("grow.j2:1: template builds")


def test_budgeted_operators_keep_their_meaning() -> None:
    c = ctx(title="VP")
    assert render("{{ 'Hi ' ~ first_name ~ 1 }}|{{ first_name + '!' }}|{{ 1 + 2 }}|{{ [1] + [2] }}", c, name="s") \
        == "Hi Ana1|Ana!|3|[1, 2]"
    assert render("{{ ', '.join([first_name, company]) }}|{{ [first_name, title]|join('/') }}", c, name="s") \
        == "Ana, Acme|Ana/VP"
    assert render("{{ 'a\tb'.expandtabs(4) }}|{{ (first_name ~ company)|lower }}", c, name="s") == "a   b|anaacme"
    assert render("{% autoescape true %}{{ '<b>' ~ first_name }}{% endautoescape %}", c, name="s") == "&lt;b&gt;Ana"


# ---------------------------------------------------------------- values that would print Python's description


@pytest.mark.parametrize("source", [
    "Hi {{ first_name.upper }}",
    "Hi {{ 'x' ~ first_name.lower }}",
    "Hi {{ first_name.upper|trim }}",
    "Hi {{ title.strip if title else company.strip }}",
])
def test_printing_a_method_of_a_field_is_seq305(source: str) -> None:
    diags = check_template(inline(source), PROSPECT, field_label="the subject")
    assert diags and {d.code for d in diags} == {"SEQ305"}, diags
    assert all("calls need parentheses: `" in d.message and "()`" in d.message for d in diags)
    with pytest.raises(RenderError, match="calls need parentheses"):
        render(source, ctx(title="VP"), name="s")


@pytest.mark.parametrize("source", [
    "{% set f = first_name.upper %}{{ f }}",
    "{% for w in [first_name] %}{{ w.upper }}{% endfor %}",
    "{{ [first_name.upper] }}",
    "{% macro m() %}x{% endmacro %}{{ m }}",
    "{% set f = first_name.upper %}{{ [f]|join(',') }}",
])
def test_printing_a_function_is_a_render_error_without_an_address(source: str) -> None:
    with pytest.raises(RenderError) as err:
        render(source, ctx(), name="fn.j2")
    assert "calls need parentheses" in str(err.value) and "0x" not in str(err.value)


def test_printing_an_iterator_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"add `\|list`"):
        render("{{ [first_name]|map('upper') }}", ctx(), name="it.j2")
    assert render("{{ [first_name]|map('upper')|join }}", ctx(), name="it.j2") == "ANA"


def test_calls_and_loop_attributes_are_not_refused() -> None:
    for source in ("{{ first_name.upper() }}", "{% for r in [{'title': 'x'}] %}{{ r.title }}{% endfor %}",
                   "{{ employees.real if employees else 0 }}", "{{ [1, 2][-1] }}{{ [1, 2][employees|int - 1] }}"):
        assert not analyze(source).refusals, source


# ---------------------------------------------------------------- mutation and computed keys


@pytest.mark.parametrize("source", [
    "{{ [].append(1) }}",
    "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "{% set l = [1] %}{{ l.pop() }}",
    "{% set d = {'a': 1} %}{% set f = d.clear %}{{ f() }}",
    "{{ first_name['__cla' ~ 'ss__'] }}",
    "{{ first_name['_' * 2 + 'class' + '_' * 2] }}",
    "{{ first_name[('__class__'|lower)] }}",
])
def test_mutation_and_computed_keys_are_refused_by_check_and_render(source: str) -> None:
    diags = check_template(from_file("Hi\n" + source), PROSPECT, field_label="the body")
    assert diags and all(d.code == "SEQ305" and d.span.line == 2 for d in diags), diags
    with pytest.raises(TemplateSecurityError):
        render(source, ctx(), name="m.j2")


def test_a_key_computed_elsewhere_is_still_refused_at_render() -> None:
    # Check cannot follow `k` (a pragmatic limit); the sandbox refuses the name when rendering.
    source = "{% set k = '_' * 2 ~ 'class' ~ '_' * 2 %}{{ first_name[k] }}"
    with pytest.raises(TemplateSecurityError):
        render(source, ctx(), name="k.j2")


# ---------------------------------------------------------------- subjects at check time


def test_runaway_subject_is_seq305_even_when_seq406_is_ignored(tmp_path) -> None:
    from compiler import api

    loops = "{% for i in range(1000) %}{% for j in range(1000) %}x{% endfor %}{% endfor %}"
    (tmp_path / "a.seq").write_text(
        "prospect {\n  email: email required\n  first_name: text required\n}\n"
        'sequence s {\n  tier smb\n  day 0 email opener {\n    purpose opener\n'
        f'    subject "{loops}"\n    body "Hi {{{{ first_name }}}} {{{{ unsubscribe_url }}}}"\n  }}\n}}\n',
        encoding="utf-8")
    found = [d for d in api.check_paths([str(tmp_path)], ignore=("SEQ406",)).diagnostics if d.code == "SEQ305"]
    assert len(found) == 1 and found[0].span.line == 9, found
    assert "subject of `opener`" in found[0].message and "100,000 loop iterations" in found[0].message


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ [1, 2, 3]|sum }}", "6"),
    ("{{ [1.5, 2]|sum(start=1) }}", "4.5"),
    ("{{ [{'n': 2}, {'n': 3}]|sum(attribute='n') }}", "5"),
])
def test_sum_adds_numbers(template, expected):
    assert R.render(template, {}, name="t") == expected


@pytest.mark.parametrize("template", [
    "{{ ([[1]] * 1000)|sum(start=[]) }}",  # adding lists one by one copies the growing result: quadratic
    "{{ ['a', 'b']|sum(start='') }}",
    "{{ [1]|sum(start=true) }}",
])
def test_sum_refuses_anything_but_numbers(template):
    with pytest.raises(R.RenderError, match="`sum` adds numbers"):
        R.render(template, {}, name="t")

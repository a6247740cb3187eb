"""`compiler.template_scan`: the fast reader agrees with Jinja's parser wherever it answers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import nodes

from compiler import sandbox, template_analysis
from compiler.template_scan import Value, scan


def jinja_pieces(source: str) -> list[str | Value] | None:
    """What Jinja's AST says, in the scanner's terms (None: something the scanner does not take)."""
    out: list[str | Value] = []
    for node in sandbox.environment().parse(source).body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                out.append(child.data)
            elif isinstance(child, nodes.Name):
                out.append(Value(child.name, child.lineno))
            elif (isinstance(child, nodes.Filter) and child.name in ("default", "d") and isinstance(child.node, nodes.Name)
                  and len(child.args) == 1 and isinstance(child.args[0], nodes.Const) and not child.kwargs):
                out.append(Value(child.node.name, child.node.lineno, child.args[0].value))
            else:
                return None
    return out


CASES = [
    ("Hi {{ first_name }},\n\nbody", ["Hi ", Value("first_name", 1), ",\n\nbody"]),
    ("{{first_name}}{{ company }}", [Value("first_name", 1), Value("company", 1)]),
    ("a\nb\n{{ title | default('there') }}\n", ["a\nb\n", Value("title", 3, "there"), "\n"]),
    ('{{ x|d("") }}', [Value("x", 1, "")]),
    ("no values at all\n", ["no values at all\n"]),
    ("", []),
    ("a } b { c }} d", ["a } b { c }} d"]),
    # not simple: Jinja decides
    ("{% if x %}y{% endif %}", None),
    ("{# note #}", None),
    ("{{- x }}", None),
    ("{{ x.upper() }}", None),
    ("{{ none }}", None),
    ("{{ x | default('a\\'b') }}", None),
    ("{{ x | default('{{') }}", None),
    ("a\r\n{{ x }}", None),
    ("{{ x\n}}", None),
    ("{{ x | title }}", None),
    ("{{ 'text' }}", None),
]


@pytest.mark.parametrize(("source", "expected"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_scan_table(source, expected):
    assert scan(source) == expected
    if expected is not None:
        assert jinja_pieces(source) == expected


TEXT = st.lists(st.sampled_from(list("ab {}|()'\"\n\t%#-_.:/<>x") + ["é", "{{", "}}", "{%", "{#"]),
                max_size=12).map("".join)
PLAIN = st.text(alphabet="ab }|()'\"\n\t-_.:/<>é", max_size=12)  # text the scanner takes
VALUE = st.builds(
    lambda name, pad, fb, quote: "{{" + pad + name + pad + (f"|default({quote}{fb}{quote})" if fb is not None else "")
    + pad + "}}",
    st.sampled_from(["first_name", "x", "none", "and", "_x", "a1", "company"]), st.sampled_from(["", " ", "\t", "  "]),
    st.one_of(st.none(), st.text(alphabet="ab ,.'\"{}\\", max_size=5)), st.sampled_from(["'", '"']))


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(TEXT, PLAIN, VALUE, VALUE), max_size=8).map("".join))
def test_scan_agrees_with_jinja(source):
    pieces = scan(source)
    if pieces is None:
        return
    assert pieces == jinja_pieces(source)


# ---------------------------------------------------------------- template_analysis.analyze: the fast path = the walker

WORDY = st.lists(st.sampled_from(["Hi ", "there", ",", "\n", "\n\n", " https://example.com/a ", "<a href=\"",
                                  "\">link</a>", "<img src=x>", " two words ", "é", "{", "}"]), max_size=10)
NAMED = st.builds(
    lambda name, fb, quote: "{{ " + name + (f" | default({quote}{fb}{quote})" if fb is not None else "") + " }}",
    st.sampled_from(["first_name", "company", "unsubscribe_url", "calendar_url", "self", "range", "_x", "loop",
                     "caller", "title"]),
    st.one_of(st.none(), st.sampled_from(["", "there", "https://x.example/y", "__class__", "<img src=y>", "a b c"])),
    st.sampled_from(["'", '"']))


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.one_of(WORDY.map("".join), NAMED), max_size=8).map("".join))
def test_fast_analysis_equals_the_walkers(source):
    assert template_analysis.analyze.__wrapped__(source) == template_analysis._analyze_ast(source)


def test_fast_analysis_is_taken_for_plain_templates(monkeypatch):
    def no_jinja(source):
        raise AssertionError("parsed with Jinja")

    monkeypatch.setattr(template_analysis, "_analyze_ast", no_jinja)
    info = template_analysis.analyze.__wrapped__("Hi {{ first_name }},\nsee https://example.com/x\n{{ title|d('there') }}")
    assert [(v.name, v.lineno, v.guarded) for v in info.variables] == [("first_name", 1, False), ("title", 3, True)]
    assert info.link_targets == ("https://example.com/x",) and info.first_line_variables == {"first_name"}

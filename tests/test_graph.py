"""compiler.graph and `seqc graph`: Mermaid and DOT branch graphs, escaping, determinism."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import snapshot_ext

from compiler import graph
from compiler.cli_authoring import graph as graph_cmd
from compiler.diagnostics import SeqcError
from compiler.project import discover, load, load_text

EXAMPLE = "examples/outbound"

# Every construct the graph draws, with labels that need escaping in both formats.
FIXTURE = r'''
prospect {
  email: email required
  first_name: text required
  title: text
  phone: phone
  linkedin_url: url
}

sequence tricky "Quotes \"q\", <angle> & #hash [b] {c} |pipe|" {
  exit on replied, unsubscribed
  day 0 email opener "Opener: \"hi\" <b>#1</b>" {
    purpose opener
    subject "Hi {{ first_name }}"
    body "Hello {{ first_name }} {{ unsubscribe_url }}"
  }
  day 1 linkedin invite if has(linkedin_url) and title contains "VP <Sales> #1 [x]" {
    action connect
  }
  day 3 email value if opened(opener) and not (clicked(opener) or replied) {
    purpose value_add
    thread opener
    body "Look: https://example.com {{ unsubscribe_url }}"
  }
  day 5 call end if has(phone) { script "Call" }
  on clicked(value) within 2 days -> hot
  on replied(opener) within 1 day -> end
  on accepted(invite) -> social
  path hot "Hot \"lead\"" {
    day 1 email direct_ask { purpose direct_ask thread value body "Ask {{ unsubscribe_url }}" }
  }
  path social {
  }
}
'''


def _fixture_seq():
    loaded = load_text(FIXTURE, file="tricky.seq")
    assert not loaded.has_syntax_errors, loaded.diagnostics
    return loaded.project.sequences[0]


def _example():
    return load(discover([EXAMPLE])[0]).project


@pytest.fixture
def mmd_snapshot(snapshot):
    return snapshot.use_extension(snapshot_ext("mmd"))


@pytest.fixture
def dot_snapshot(snapshot):
    return snapshot.use_extension(snapshot_ext("dot"))


# ---------------------------------------------------------------- snapshots


def test_fixture_mermaid_snapshot(mmd_snapshot):
    assert graph.to_mermaid(_fixture_seq()) == mmd_snapshot


def test_fixture_dot_snapshot(dot_snapshot):
    assert graph.to_dot(_fixture_seq()) == dot_snapshot


@pytest.mark.parametrize("name", ["smb", "mid_market", "enterprise"])
def test_example_mermaid_snapshot(name, mmd_snapshot):
    assert graph.render_project(_example(), sequence=name) == mmd_snapshot


@pytest.mark.parametrize("name", ["smb", "mid_market", "enterprise"])
def test_example_dot_snapshot(name, dot_snapshot):
    assert graph.render_project(_example(), fmt="dot", sequence=name) == dot_snapshot


# ---------------------------------------------------------------- structure


def test_deterministic():
    project = _example()
    for fmt in graph.FORMATS:
        assert graph.render_project(project, fmt=fmt) == graph.render_project(_example(), fmt=fmt)


_MERMAID_NODE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)(\(\(\(|\(\(|\[/|\[)\"([^\"]*)\"(\)\)\)|\)\)|/\]|\])$")
_MERMAID_EDGE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*) (-->|-\.->)(\|\"([^\"]*)\"\|)? ([A-Za-z_][A-Za-z0-9_]*)$")
_MERMAID_SUBGRAPH = re.compile(r"^\s*subgraph ([A-Za-z_][A-Za-z0-9_]*)\[\"([^\"]*)\"\]$")


def _mermaid_parts(text: str):
    nodes, subgraphs, edges = {}, {}, []
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    for line in lines[1:]:
        s = line.strip()
        if not s or s.startswith("%%") or s in ("end", "direction TB") or s.startswith(("classDef ", "class ")):
            continue
        if m := _MERMAID_SUBGRAPH.match(line):
            subgraphs[m.group(1)] = m.group(2)
        elif m := _MERMAID_NODE.match(line):
            nodes[m.group(1)] = m.group(3)
        elif m := _MERMAID_EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(4), m.group(5)))
        else:
            raise AssertionError(f"unexpected Mermaid line: {line!r}")
    return nodes, subgraphs, edges


def test_mermaid_is_well_formed():
    """Every line is a node, subgraph, edge or style; every edge joins declared ids; labels are clean."""
    nodes, subgraphs, edges = _mermaid_parts(graph.to_mermaid(_fixture_seq()))
    ids = set(nodes) | set(subgraphs)
    assert "end" not in ids and not any(i[0] in "ox" for i in ids)
    for source, _, label, target in edges:
        assert source in ids and target in ids
        assert label is None or not set(label) & set('"<>[]{}|`')
    for label in [*nodes.values(), *subgraphs.values()]:
        assert not set(label.replace("<br/>", "")) & set('"<>[]{}|`'), label


def test_mermaid_edges_follow_the_tracks():
    nodes, subgraphs, edges = _mermaid_parts(graph.to_mermaid(_fixture_seq()))
    assert subgraphs == {"t0": "main track", "t1": "path hot — Hot #quot;lead#quot;", "t2": "path social"}
    solid = [(s, t, label) for s, arrow, label, t in edges if arrow == "-->"]
    assert solid == [
        ("seq_start", "t0_opener", None),
        ("t0_opener", "t0_invite",
         "if has(linkedin_url) and title contains #quot;VP #lt;Sales#gt; #35;1 #91;x#93;#quot;"),
        ("t0_invite", "t0_value", "if opened(opener) and not (clicked(opener) or replied)"),
        ("t0_value", "t0_end", "if has(phone)"),
        ("t0_end", "seq_end", None),
        ("t1_direct_ask", "seq_end", None),
        ("t2_empty", "seq_end", None),
    ]
    dashed = [(s, t, label) for s, arrow, label, t in edges if arrow == "-.->" and t != "seq_exit"]
    assert dashed == [
        ("t0_value", "t1_direct_ask", "clicked(value) within 2 days"),
        ("t0_opener", "seq_end", "replied(opener) within 1 day"),
        ("t0_invite", "t2_empty", "accepted(invite)"),
    ]
    assert [(s, t) for s, _, _, t in edges if t == "seq_exit"] == [("t0", "seq_exit"), ("t1", "seq_exit"),
                                                                   ("t2", "seq_exit")]
    assert nodes["seq_exit"] == "exit on replied, unsubscribed"


def test_step_named_like_a_keyword_gets_a_safe_id():
    nodes, _, _ = _mermaid_parts(graph.to_mermaid(_fixture_seq()))
    assert nodes["t0_end"] == "end<br/>day 5 · call"


def test_duplicate_step_names_get_distinct_nodes():
    loaded = load_text('sequence s { day 0 email a { subject "x" body "y" } day 1 email a { subject "x" body "z" } }')
    nodes, _, edges = _mermaid_parts(graph.to_mermaid(loaded.project.sequences[0]))
    assert {"t0_a", "t0_a_2"} <= set(nodes)
    assert ("t0_a", "-->", None, "t0_a_2") in edges


def test_dot_is_well_formed():
    text = graph.to_dot(_fixture_seq())
    assert text.startswith('digraph "tricky" {\n') and text.endswith("}\n")
    # Outside quoted strings, braces balance and no stray quote is left open.
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert outside.count("{") == outside.count("}")
    assert '"' not in re.sub(r'""', "", outside)
    assert 'label="opener\\nday 0 · email · opener\\nOpener: \\"hi\\" <b>#1</b>"' in text
    assert "t0_opener -> seq_exit [ltail=cluster_t0, style=dotted];" in text
    assert 't0_value -> t1_direct_ask [label="clicked(value) within 2 days", style=dashed];' in text


@pytest.mark.parametrize("raw, expected", [
    ('say "hi"', "say #quot;hi#quot;"),
    ("a < b > c", "a #lt; b #gt; c"),
    ("#1 & co", "#35;1 #amp; co"),
    ("[x] {y} |z| `q`;", "#91;x#93; #123;y#125; #124;z#124; #96;q#96;#59;"),
    ("two\nlines", "two lines"),
    ("has(phone)", "has(phone)"),
])
def test_mermaid_text_escapes(raw, expected):
    assert graph.mermaid_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("two\nlines", '"two\\nlines"'),
    ("<b>#1</b> [x] {y}", '"<b>#1</b> [x] {y}"'),
])
def test_dot_string_escapes(raw, expected):
    assert graph.dot_string(raw) == expected


def test_project_renders_one_diagram_per_sequence():
    text = graph.render_project(_example())
    assert text.count("flowchart TD") == 3
    dot = graph.render_project(_example(), fmt="dot")
    assert [line for line in dot.splitlines() if line.startswith("digraph")] == [
        'digraph "enterprise" {', 'digraph "mid_market" {', 'digraph "smb" {']


def test_unknown_sequence_and_format():
    with pytest.raises(SeqcError, match=r"no sequence named 'mid_markt'; did you mean `mid_market`\?"):
        graph.render_project(_example(), sequence="mid_markt")
    with pytest.raises(SeqcError, match="unknown graph format"):
        graph.render_project(_example(), fmt="svg")
    with pytest.raises(SeqcError, match="no sequence to draw"):
        graph.render_project(load_text("prospect { email: email required }").project)


# ---------------------------------------------------------------- command


def test_graph_command_prints_the_diagram():
    result = CliRunner().invoke(graph_cmd, [EXAMPLE, "--sequence", "smb"])
    assert result.exit_code == 0, result.output
    assert result.output == graph.render_project(_example(), sequence="smb")


def test_graph_command_dot():
    result = CliRunner().invoke(graph_cmd, [EXAMPLE, "--sequence", "smb", "--format", "dot"])
    assert result.exit_code == 0
    assert result.output.startswith('digraph "smb" {')


def test_graph_command_refuses_a_project_with_errors(tmp_path):
    (tmp_path / "s.seq").write_text('sequence s { day 0 email a if opened(nope) { subject "x" body "y" } }\n')
    result = CliRunner().invoke(graph_cmd, [str(tmp_path)])
    assert result.exit_code == 1
    assert "SEQ101" in result.stderr and "flowchart" not in result.stdout


def test_graph_command_unknown_sequence_is_a_usage_error():
    result = CliRunner().invoke(graph_cmd, [EXAMPLE, "--sequence", "nope"])
    assert isinstance(result.exception, SeqcError)   # the main wrapper prints it and exits 2

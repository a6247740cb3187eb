"""`seqc graph`: a sequence's branch graph as Mermaid (renders in GitHub) or Graphviz DOT.

One diagram per sequence. Each track (the main track, each `path`) is a subgraph whose
steps are chained in written order; a guarded step's incoming edge carries its `if …`.
`on EVENT(step) [within N days] -> PATH` is a dashed edge from the step to the path's
first step (`-> end` to the end node), and the sequence's `exit on …` events are a dotted
edge from every track to an exit node. Output is deterministic: node ids come from track
and step positions, never from sets or hashes, and every label is escaped for its format.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import ir
from compiler.diagnostics import SeqcError
from compiler.plan import cond_to_text

FORMATS = ("mermaid", "dot")

# Fixed ids outside the tracks; step ids are `t<track>_<step>`, so none can be a Mermaid or
# DOT keyword (`end`, `subgraph`, `node` …) or start with the `o`/`x` Mermaid reads as an arrow.
START = "seq_start"
DONE = "seq_end"
EXITED = "seq_exit"


# ---------------------------------------------------------------- the format-neutral graph


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    lines: tuple[str, ...]   # label lines, unescaped
    shape: str = "step"      # step | start | done | exit | empty


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    title: str
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Edge:
    source: str              # node id, or a track id for edges that leave a whole track
    target: str
    label: str | None = None
    style: str = "solid"     # solid | dashed (events) | dotted (exits)


@dataclass(frozen=True, slots=True)
class Graph:
    name: str
    title: str | None
    tracks: tuple[Track, ...]
    outside: tuple[Node, ...]   # start, end and exit nodes
    edges: tuple[Edge, ...]


def _step_lines(step: ir.Step) -> tuple[str, ...]:
    kind = step.channel
    if step.channel == "email" and step.purpose:
        kind = f"email · {step.purpose}"
    elif step.channel == "linkedin" and step.action:
        kind = f"linkedin · {step.action}"
    lines = [step.name, f"day {step.day} · {kind}"]
    if step.title:
        lines.append(step.title)
    return tuple(lines)


def _track_ids(seq: ir.Sequence) -> list[tuple[str, str, tuple[ir.Step, ...], str]]:
    """(track name, track id, steps, title) in source order; ids are positional so any name is safe."""
    out = [("main", "t0", seq.steps, "main track")]
    for i, path in enumerate(seq.paths, start=1):
        title = f"path {path.name}" + (f" — {path.title}" if path.title else "")
        out.append((path.name, f"t{i}", path.steps, title))
    return out


def _node_id(track_id: str, step: str, used: set[str]) -> str:
    """`t0_opener`; a duplicate step name (an SEQ102 error) still gets its own node."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in step) or "_"
    base = candidate = f"{track_id}_{safe}"
    n = 2
    while candidate in used:
        candidate = f"{base}_{n}"
        n += 1
    used.add(candidate)
    return candidate


def build(seq: ir.Sequence) -> Graph:
    """The format-neutral graph of one sequence (works on any IR, even one with errors)."""
    tracks: list[Track] = []
    edges: list[Edge] = []
    first_node: dict[str, str] = {}      # track name -> id of its first node
    step_node: dict[str, str] = {}       # step name -> node id (first definition wins)
    seen_tracks: set[str] = set()
    used: set[str] = set()
    for name, tid, steps, title in _track_ids(seq):
        nodes = [Node(_node_id(tid, s.name, used), _step_lines(s)) for s in steps]
        if not nodes:
            nodes = [Node(f"{tid}_empty", ("(no steps)",), "empty")]
        tracks.append(Track(tid, title, tuple(nodes)))
        if name not in seen_tracks:
            seen_tracks.add(name)
            first_node[name] = nodes[0].id
        for node, step in zip(nodes, steps, strict=False):
            step_node.setdefault(step.name, node.id)
        # the chain: a guarded step's incoming edge says when it runs
        entry = START if tid == "t0" else None
        previous = entry
        for node, step in zip(nodes, steps, strict=False):
            if previous is not None:
                label = f"if {cond_to_text(step.guard)}" if step.guard is not None else None
                edges.append(Edge(previous, node.id, label))
            previous = node.id
        if not steps:   # an empty track still leads somewhere: straight to the end
            if tid == "t0":
                edges.append(Edge(START, nodes[0].id))
            previous = nodes[0].id
        if previous is not None:
            edges.append(Edge(previous, DONE))
    for ev in seq.events:
        label = cond_to_text(ev.event)
        if ev.within_days is not None:
            label += f" within {ev.within_days} day{'s' if ev.within_days != 1 else ''}"
        source = step_node.get(ev.event.step) if ev.event.step is not None else None
        if source is None:
            source = "t0"   # a bare event (`on replied -> …`) or an unknown step: from the main track
        if ev.target == "end":
            target = DONE
        else:
            target = first_node.get(ev.target)
            if target is None:
                continue    # an unknown path is SEQ101's business; nothing to point at
        edges.append(Edge(source, target, label, "dashed"))
    exit_label = "exit on " + ", ".join(seq.exit_on) if seq.exit_on else None
    outside = [Node(START, ("enroll",), "start"), Node(DONE, ("end",), "done")]
    if exit_label:
        outside.append(Node(EXITED, (exit_label,), "exit"))
        for track in tracks:
            edges.append(Edge(track.id, EXITED, None, "dotted"))
    return Graph(seq.name, seq.title, tuple(tracks), tuple(outside), tuple(edges))


# ---------------------------------------------------------------- Mermaid

# Inside a quoted Mermaid label, entity codes are the only safe way to write these.
_MERMAID_ENTITIES = {
    '"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "[": "#91;", "]": "#93;",
    "{": "#123;", "}": "#125;", "|": "#124;", "`": "#96;", ";": "#59;",
}


def mermaid_text(text: str) -> str:
    """`text` safe inside a double-quoted Mermaid label (entities for quotes, brackets, `<`, `#` …)."""
    flat = " ".join(text.split())
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in flat)


def _mermaid_label(lines: tuple[str, ...]) -> str:
    return '"' + "<br/>".join(mermaid_text(line) for line in lines) + '"'


_MERMAID_SHAPES = {
    "step": ("[", "]"),
    "empty": ("[", "]"),
    "start": ("((", "))"),
    "done": ("(((", ")))"),
    "exit": ("[/", "/]"),
}


def _mermaid_node(node: Node) -> str:
    left, right = _MERMAID_SHAPES[node.shape]
    return f"{node.id}{left}{_mermaid_label(node.lines)}{right}"


def to_mermaid(seq: ir.Sequence) -> str:
    """A Mermaid flowchart of one sequence (paste it into a ```mermaid block on GitHub)."""
    g = build(seq)
    heading = f"{g.name} — {g.title}" if g.title else g.name
    out = ["flowchart TD", f"  %% seqc graph: sequence {' '.join(heading.split())}"]
    for node in g.outside[:1]:
        out.append(f"  {_mermaid_node(node)}")
    for track in g.tracks:
        out.append(f'  subgraph {track.id}["{mermaid_text(track.title)}"]')
        out.append("    direction TB")
        out.extend(f"    {_mermaid_node(n)}" for n in track.nodes)
        out.append("  end")
    for node in g.outside[1:]:
        out.append(f"  {_mermaid_node(node)}")
    arrows = {"solid": "-->", "dashed": "-.->", "dotted": "-.->"}
    for e in g.edges:
        arrow = arrows[e.style]
        label = f'|"{mermaid_text(e.label)}"|' if e.label else ""
        out.append(f"  {e.source} {arrow}{label} {e.target}")
    styled = [f"  classDef {name} {css}" for name, css in (
        ("seqcEnd", "fill:#eee,stroke:#999"),
        ("seqcExit", "fill:#fdecea,stroke:#c0392b"),
    )]
    out.extend(styled)
    out.append(f"  class {DONE} seqcEnd")
    if any(n.shape == "exit" for n in g.outside):
        out.append(f"  class {EXITED} seqcExit")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- DOT


def dot_string(text: str) -> str:
    """`text` as a double-quoted DOT string (newlines kept as `\\n` line breaks)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
    return '"' + escaped.replace("\n", "\\n") + '"'


_DOT_SHAPES = {
    "step": 'shape=box, style="rounded"',
    "empty": 'shape=box, style="rounded,dashed"',
    "start": "shape=circle",
    "done": "shape=doublecircle",
    "exit": 'shape=box, style="filled", fillcolor="#fdecea"',
}


def to_dot(seq: ir.Sequence) -> str:
    """A Graphviz digraph of one sequence; tracks are clusters (`dot -Tsvg`)."""
    g = build(seq)
    heading = f"{g.name} — {g.title}" if g.title else g.name
    first = {t.id: t.nodes[0].id for t in g.tracks}
    out = [
        f"digraph {dot_string(g.name)} {{",
        "  compound=true;",
        "  rankdir=TB;",
        f"  label={dot_string(heading)};",
        "  labelloc=t;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in g.outside[:1]:
        out.append(f"  {node.id} [label={dot_string(chr(10).join(node.lines))}, {_DOT_SHAPES[node.shape]}];")
    for track in g.tracks:
        out.append(f"  subgraph cluster_{track.id} {{")
        out.append(f"    label={dot_string(track.title)};")
        out.append('    style="rounded,dashed";')
        for node in track.nodes:
            out.append(f"    {node.id} [label={dot_string(chr(10).join(node.lines))}, {_DOT_SHAPES[node.shape]}];")
        out.append("  }")
    for node in g.outside[1:]:
        out.append(f"  {node.id} [label={dot_string(chr(10).join(node.lines))}, {_DOT_SHAPES[node.shape]}];")
    for e in g.edges:
        attrs = []
        source = e.source
        if source in first:   # an edge from a whole track leaves its cluster's border
            attrs.append(f"ltail=cluster_{source}")
            source = first[source]
        if e.label:
            attrs.append(f"label={dot_string(e.label)}")
        if e.style != "solid":
            attrs.append(f"style={e.style}")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"  {source} -> {e.target}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- projects


def render_project(project: ir.Project, *, fmt: str = "mermaid", sequence: str | None = None) -> str:
    """One diagram per sequence of the project (or only `sequence`), blank-line separated.

    Raises:
        SeqcError: for an unknown sequence name or format, or a project with no sequence.
    """
    if fmt not in FORMATS:
        raise SeqcError(f"unknown graph format {fmt!r} (formats: {', '.join(FORMATS)})")
    sequences = project.sequences
    if sequence is not None:
        chosen = project.sequence(sequence)
        if chosen is None:
            from compiler.suggest import did_you_mean

            names = [s.name for s in project.sequences]
            hint = did_you_mean(sequence, names)
            known = ", ".join(names) or "none"
            raise SeqcError(f"no sequence named {sequence!r}" + (f"; {hint}" if hint else "")
                            + f" (sequences: {known})")
        sequences = (chosen,)
    if not sequences:
        raise SeqcError(f"{project.root}: no sequence to draw")
    render = to_mermaid if fmt == "mermaid" else to_dot
    return "\n".join(render(s) for s in sequences)

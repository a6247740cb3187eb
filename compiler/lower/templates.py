"""seqc templates as tool text: read the Jinja AST, keep what a merge tag can say, pre-render the rest.

A template is cut at its top level with Jinja's own lexer into atoms: literal text, one
`{{ … }}` expression, or one complete block (`{% if %}…{% endif %}`, a `{% for %}` loop …).
Each expression atom is parsed with the shared environment and classified from its AST:

* `{{ name }}` of a declared field or built-in -> a tool variable;
* `{{ name | default("text") }}` -> a variable with the tool's fallback syntax, when the tool
  has one and the text fits in it;
* anything else, and every block -> a fragment seqc renders per prospect into a custom field.

Top-level `{% set %}` assignments and `{% macro %}` definitions print nothing; they become a
prelude put in front of every fragment of the template, so a fragment sees the same names.
A template that assigns one name twice at its top level is one fragment as a whole (its
meaning depends on order), as is one that imports other templates. Content branches (`when … else`) are
compared atom by atom: the text all arms share stays in the tool's editor, only the lines that
differ become a per-prospect field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Union

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from compiler import ir
from compiler.capabilities import MergeTags
from compiler.lower.program import Literal, Var
from compiler.sandbox import environment

# Block tags that open a body closed by `{% end… %}`.
_OPENERS = frozenset({"if", "for", "macro", "call", "filter", "with", "block", "autoescape", "trans"})
# Top-level tags that print nothing but define names later text uses.
_PRELUDE = frozenset({"set", "macro"})
# Top-level tags that pull in other templates (seqc refuses them; never cut such a template).
_STATEFUL = frozenset({"import", "from", "extends", "include", "do"})
_DELIMITERS = ("{{", "{%", "{#")


@dataclass(frozen=True, slots=True)
class Atom:
    """One top-level piece of a template: kind "text", "expr", "block" or "prelude", and its source."""

    kind: str
    source: str


@dataclass(frozen=True, slots=True)
class Fragment:
    """Jinja source seqc must render per prospect (it becomes a custom field)."""

    source: str


Unit = Union[str, Atom]  # a single character of literal text, or an expression/block atom
Piece = Union[Literal, Var, Fragment]


@functools.lru_cache(maxsize=4096)
def atoms(source: str) -> tuple[Atom, ...] | None:
    """The top-level atoms of a template, or None when it must stay whole (see module doc)."""
    try:
        tokens = list(environment().lex(source))
    except TemplateSyntaxError:
        return None
    out: list[Atom] = []
    assigned: set[str] = set()
    i, n = 0, len(tokens)
    while i < n:
        _, kind, value = tokens[i]
        if kind == "data":
            out.append(Atom("text", value))
            i += 1
        elif kind == "raw_begin":
            j = _index_of(tokens, i, "raw_end")
            out.append(Atom("text", "".join(v for _, k, v in tokens[i + 1:j] if k == "data")))
            i = j + 1
        elif kind == "comment_begin":
            i = _index_of(tokens, i, "comment_end") + 1
        elif kind == "variable_begin":
            j = _index_of(tokens, i, "variable_end")
            out.append(Atom("expr", "".join(v for _, _, v in tokens[i:j + 1])))
            i = j + 1
        elif kind == "block_begin":
            name, opens = _tag(tokens, i)
            if name in _STATEFUL or (not opens and name not in _PRELUDE):
                return None
            j = _block_end(tokens, i) if opens else _index_of(tokens, i, "block_end")
            text = "".join(v for _, _, v in tokens[i:j + 1])
            if name in _PRELUDE:
                targets = _targets(tokens, i)
                if targets & assigned:
                    return None
                assigned |= targets
                out.append(Atom("prelude", text))
            else:
                out.append(Atom("block", text))
            i = j + 1
        else:  # whitespace or anything the lexer yields between tags
            out.append(Atom("text", value))
            i += 1
    return tuple(out)


def _index_of(tokens: list, start: int, kind: str) -> int:
    for j in range(start, len(tokens)):
        if tokens[j][1] == kind:
            return j
    return len(tokens) - 1


def _targets(tokens: list, start: int) -> set[str]:
    """The names a top-level `{% set a, b = … %}` or `{% macro m(…) %}` defines."""
    names: list[str] = []
    for _, kind, value in tokens[start + 1:]:
        if kind == "block_end" or (kind == "operator" and value in ("=", "(")):
            break
        if kind == "name":
            names.append(value)
    return set(names[1:])


def _tag(tokens: list, start: int) -> tuple[str, bool]:
    """The name of the block tag at `start` and whether it opens a body that an end tag closes."""
    names = []
    assigns = False
    for _, kind, value in tokens[start + 1:]:
        if kind == "block_end":
            break
        if kind == "name":
            names.append(value)
        elif kind == "operator" and value == "=":
            assigns = True
    name = names[0] if names else ""
    if name == "set":
        return name, not assigns
    return name, name in _OPENERS


def _block_end(tokens: list, start: int) -> int:
    """The index of the `%}` closing the block opened at `start`."""
    depth = 0
    i = start
    while i < len(tokens):
        if tokens[i][1] == "block_begin":
            name, opens = _tag(tokens, i)
            if opens:
                depth += 1
            elif name.startswith("end"):
                depth -= 1
            j = _index_of(tokens, i, "block_end")
            if depth == 0:
                return j
            i = j + 1
        else:
            i += 1
    return len(tokens) - 1


def units(parts: Iterable[Atom]) -> list[Unit]:
    """Atoms as units: literal text one character at a time, expressions and blocks whole."""
    out: list[Unit] = []
    for atom in parts:
        if atom.kind == "text":
            out.extend(atom.source)
        elif atom.kind != "prelude":
            out.append(atom)
    return out


def template_units(tpl: ir.Template | None) -> tuple[list[Unit], str] | None:
    """A template's units and its prelude; None when it must be rendered whole (see module doc)."""
    if tpl is None:
        return [], ""
    found = atoms(tpl.source)
    if found is None:
        return None
    return units(found), "".join(a.source for a in found if a.kind == "prelude")


def to_source(seq: Sequence[Unit]) -> str:
    """Jinja source for a run of units (literal text with Jinja delimiters is quoted)."""
    out: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if text:
            chunk = "".join(text)
            out.append(_quoted(chunk) if any(d in chunk for d in _DELIMITERS) else chunk)
            text.clear()

    for unit in seq:
        if isinstance(unit, str):
            text.append(unit)
        else:
            flush()
            out.append(unit.source)
    flush()
    return "".join(out)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return '{{ "' + escaped + '" }}'


# ---------------------------------------------------------------- branches


def common_parts(arms: Sequence[Sequence[Unit]]) -> tuple[list[Unit], list[list[Unit]], list[Unit]]:
    """(prefix, middles, suffix): the units every arm starts and ends with, cut at line starts.

    The prefix ends just after a newline and the suffix starts at the beginning of a non-blank
    line, so the part that differs is whole lines with the blank lines after them (easier to read
    in a leads file than a word stub, and paragraph breaks stay inside one piece).
    """
    if not arms:
        return [], [], []
    shortest = min(len(a) for a in arms)
    p = 0
    while p < shortest and all(a[p] == arms[0][p] for a in arms):
        p += 1
    while p > 0 and arms[0][p - 1] != "\n":
        p -= 1
    s = 0
    while s < shortest - p and all(a[len(a) - 1 - s] == arms[0][len(arms[0]) - 1 - s] for a in arms):
        s += 1
    first = arms[0]
    while s > 0 and first[len(first) - s - 1] != "\n":
        s -= 1
    while s > 0 and first[len(first) - s] == "\n":  # blank lines go with the differing text
        s -= 1
    prefix = list(first[:p])
    suffix = list(first[len(first) - s:]) if s else []
    middles = [list(a[p:len(a) - s]) for a in arms]
    return prefix, middles, suffix


# ---------------------------------------------------------------- classification


class Translator:
    """Turns units into pieces for one tool (`merge`) and one field format.

    `names` are the declared prospect fields; `mode` is "html" (a body: literal text may hold
    anything, it is escaped) or "plain" (literal text containing the tool's tag opener must be
    pre-rendered, as nothing escapes it).
    """

    def __init__(self, merge: MergeTags, names: Iterable[str], mode: str, prelude: str = "") -> None:
        self.merge = merge
        self.names = frozenset(names) | frozenset(ir.BUILTIN_VARIABLES)
        self.mode = mode
        self.prelude = prelude

    def pieces(self, seq: Sequence[Unit]) -> list[Piece]:
        out: list[Piece] = []
        text: list[str] = []

        def flush() -> None:
            if text:
                chunk = "".join(text)
                if self.mode == "plain" and self.merge.opener in chunk:
                    out.append(Fragment(to_source([chunk])))
                else:
                    out.append(Literal(chunk))
                text.clear()

        for unit in seq:
            if isinstance(unit, str):
                text.append(unit)
                continue
            flush()
            piece = self.expression(unit) if unit.kind == "expr" else None
            out.append(piece if piece is not None else Fragment(unit.source))
        flush()
        merged = _merge_fragments(out)
        if self.prelude:
            merged = [Fragment(self.prelude + p.source) if isinstance(p, Fragment) else p for p in merged]
        return merged

    def expression(self, atom: Atom) -> Var | None:
        """A `{{ … }}` atom as a tool variable, or None when only seqc can render it."""
        shape = _shape(atom.source)
        if shape is None or shape[1] not in self.names:
            return None
        if shape[0] == "name":
            return Var(shape[1])
        return self._fallback(shape[1], shape[2])

    def _fallback(self, name: str, value: object) -> Var | None:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return None
        text = str(value)
        if text == "":
            return Var(name)  # `default("")` prints nothing for a missing value, as a bare tag does
        if self.merge.fallback is None or any(c in text for c in self.merge.fallback_forbidden):
            return None
        if "\n" in text or "\r" in text or self.merge.opener in text:
            return None
        return Var(name, text)


@functools.lru_cache(maxsize=8192)
def _shape(source: str) -> tuple | None:
    """("name", n) for `{{ n }}`, ("default", n, value) for `{{ n | default(value) }}`, else None.

    Read from the expression's Jinja AST (cached by source: templates repeat the same tags).
    """
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output) or len(tree.body[0].nodes) != 1:
        return None
    node = tree.body[0].nodes[0]
    if isinstance(node, nodes.Name):
        return ("name", node.name)
    if (isinstance(node, nodes.Filter) and node.name in ("default", "d") and isinstance(node.node, nodes.Name)
            and len(node.args) == 1 and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None
            and isinstance(node.args[0], nodes.Const)):
        return ("default", node.node.name, node.args[0].value)
    return None


def _merge_fragments(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, Fragment) and out and isinstance(out[-1], Fragment):
            out[-1] = Fragment(out[-1].source + piece.source)
        else:
            out.append(piece)
    return out

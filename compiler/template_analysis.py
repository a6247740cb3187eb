"""Reading templates without rendering them: what they use, link to and refuse, as diagnostics.

* `analyze` reads the Jinja AST (never the raw text) for the rules: variable reads and
  whether each is guarded, links, images, word count, the first line, and constructs
  seqc refuses (Python internals, includes, unknown filters). Plain templates (text and
  `{{ name }}`) are read by `compiler.template_scan` instead of Jinja's parser, with the
  same result.
* `check_template` turns that into SEQ301/SEQ302/SEQ305 diagnostics.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import meta, nodes
from jinja2.exceptions import TemplateSyntaxError

from compiler import ir, template_scan
from compiler.diagnostics import Diagnostic, Severity, Span
from compiler.sandbox import (
    _DANGEROUS_FILTERS,
    _DUNDER,
    _INTERNAL_ATTRIBUTES,
    _MUTATING_METHODS,
    RESERVED_NAMES,
    SeqcEnvironment,
    TemplateSyntax,
    _clean,
    environment,
)

# ---------------------------------------------------------------- analysis results


@dataclass(frozen=True, slots=True)
class VarUse:
    """One read of a prospect field or built-in; `guarded` means a missing value is handled there."""

    name: str
    lineno: int
    guarded: bool


@dataclass(frozen=True, slots=True)
class Refusal:
    """A construct seqc refuses. `kind`: internals, unknown (filter/test) or unsupported."""

    kind: str
    what: str
    lineno: int
    message: str
    help: str
    suggestion: str | None = None

    def text(self, where: str = "") -> str:
        """The message, placed `where` (" in the body of `opener`"), with any suggestion."""
        hint = f" (did you mean `{self.suggestion}`?)" if self.suggestion else ""
        return f"{self.message}{where}{hint}"


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    """What the rules need to know about one template source (see `analyze`)."""

    syntax_error: TemplateSyntax | None = None
    variables: tuple[VarUse, ...] = ()
    refusals: tuple[Refusal, ...] = ()
    link_targets: tuple[str, ...] = ()
    has_image: bool = False
    word_count: int = 0
    first_line_variables: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        """Every prospect field or built-in the template reads."""
        return frozenset(v.name for v in self.variables)

    @property
    def links(self) -> int:
        return len(self.link_targets)

    def uses(self, name: str) -> bool:
        return any(v.name == name for v in self.variables)


# ---------------------------------------------------------------- analysis


_EMPTY: frozenset[str] = frozenset()
_GLOBALS = frozenset({"range", "has"})
#: Tests that are safe on a missing value (they do not print or operate on it).
_SAFE_TESTS = frozenset({
    "defined", "undefined", "none", "boolean", "false", "true", "integer", "float", "number",
    "string", "mapping", "callable", "sameas", "escaped", "in",
    "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=",
})
#: Tests that, when true, prove the value is present.
_PRESENT_TESTS = frozenset({
    "defined", "string", "number", "integer", "float", "boolean", "true", "false", "mapping", "in",
    "eq", "equalto", "==", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan", ">", "ge", ">=",
})
_ABSENT_TESTS = frozenset({"none", "undefined"})
#: Methods of the values prospect fields hold (text, numbers, booleans): `{{ x.upper }}` is a typo.
_VALUE_METHODS = frozenset(name for kind in (str, int, float) for name in dir(kind)
                           if not name.startswith("_") and callable(getattr(kind, name)))
_UNSUPPORTED_TAGS = {nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import",
                     nodes.FromImport: "from … import"}


def _is_none_const(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and node.value is None


def _is_has_call(node: nodes.Node) -> bool:
    return (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "has"
            and len(node.args) == 1 and isinstance(node.args[0], nodes.Name))


def _narrow(node: nodes.Node) -> tuple[frozenset[str], frozenset[str]]:
    """Names proven present when `node` is true, and when it is false."""
    if isinstance(node, nodes.Name):
        return frozenset({node.name}), _EMPTY
    if isinstance(node, nodes.Not):
        t, f = _narrow(node.node)
        return f, t
    if isinstance(node, nodes.And):
        ta, fa = _narrow(node.left)
        tb, fb = _narrow(node.right)
        return ta | tb, fa & (ta | fb)
    if isinstance(node, nodes.Or):
        ta, fa = _narrow(node.left)
        tb, fb = _narrow(node.right)
        return ta & (fa | tb), fa | fb
    if isinstance(node, nodes.Test) and isinstance(node.node, nodes.Name):
        name = frozenset({node.node.name})
        if node.name in _ABSENT_TESTS:
            return _EMPTY, name
        if node.name in _PRESENT_TESTS and not any(_is_none_const(a) for a in node.args):
            return name, _EMPTY
        return _EMPTY, _EMPTY
    if _is_has_call(node):
        return frozenset({node.args[0].name}), _EMPTY
    if isinstance(node, nodes.Compare):
        left, true, false = node.expr, set(), set()
        for op in node.ops:
            t, f = _narrow_pair(left, op.op, op.expr)
            true |= t
            false |= f
            left = op.expr
        return frozenset(true), (frozenset(false) if len(node.ops) == 1 else _EMPTY)
    return _EMPTY, _EMPTY


def _narrow_pair(left: nodes.Node, op: str, right: nodes.Node) -> tuple[frozenset[str], frozenset[str]]:
    def name(n: nodes.Node) -> frozenset[str]:
        return frozenset({n.name}) if isinstance(n, nodes.Name) else _EMPTY

    def const(n: nodes.Node) -> bool:  # a literal that is not none
        if isinstance(n, (nodes.List, nodes.Tuple)):
            return all(const(i) for i in n.items)
        return isinstance(n, nodes.Const) and n.value is not None

    if op in ("lt", "lteq", "gt", "gteq"):
        return name(left) | name(right), _EMPTY
    if op in ("eq", "ne"):
        if _is_none_const(left) or _is_none_const(right):
            present = name(left) | name(right)
            return (_EMPTY, present) if op == "eq" else (present, _EMPTY)
        present = (name(left) if const(right) else _EMPTY) | (name(right) if const(left) else _EMPTY)
        return (present, _EMPTY) if op == "eq" else (_EMPTY, present)
    if op in ("in", "notin"):
        present = (name(left) if const(right) else _EMPTY) | (name(right) if isinstance(left, nodes.Const) else _EMPTY)
        return (present, _EMPTY) if op == "in" else (_EMPTY, present)
    return _EMPTY, _EMPTY


def _printed(node: nodes.Node) -> Iterator[nodes.Node]:
    """The parts of an output expression whose value ends up in the text, as written."""
    yield node
    if isinstance(node, nodes.Concat):
        parts: tuple[nodes.Node | None, ...] = tuple(node.nodes)
    elif isinstance(node, nodes.CondExpr):
        parts = (node.expr1, node.expr2)
    elif isinstance(node, (nodes.And, nodes.Or)):
        parts = (node.left, node.right)
    elif isinstance(node, nodes.Filter):
        parts = (node.node,)
    else:
        parts = ()
    for part in parts:
        if part is not None:
            yield from _printed(part)


def _built_text(key: nodes.Node) -> bool:
    """A subscript key that builds text at run time: `~`, or an operator, filter or call with text
    constants (how `x["__cla" ~ "ss__"]` hides a name from the constant check)."""
    if isinstance(key, nodes.Concat):
        return True
    if isinstance(key, nodes.CondExpr):
        return _built_text(key.expr1) or (key.expr2 is not None and _built_text(key.expr2))
    if isinstance(key, (nodes.BinExpr, nodes.Filter, nodes.Call)):
        return (next(key.find_all(nodes.Concat), None) is not None
                or any(isinstance(c.value, str) for c in key.find_all(nodes.Const)))
    return False


def _targets(node: nodes.Node) -> set[str]:
    if isinstance(node, nodes.Name):
        return {node.name}
    return {n.name for n in node.find_all(nodes.Name)}


@dataclass(frozen=True, slots=True)
class _Text:
    data: str
    in_macro: bool


@dataclass(frozen=True, slots=True)
class _Value:
    names: frozenset[str]
    strings: tuple[str, ...]
    in_macro: bool


class _Walker:
    """One pass over the AST: variable reads with guards, refusals and output items in order."""

    def __init__(self, free: frozenset[str] | None, env: SeqcEnvironment) -> None:
        self.free = free
        self.env = env
        self.uses: list[VarUse] = []
        self.refusals: list[Refusal] = []
        self.items: list[_Text | _Value] = []
        self.macro_depth = 0

    def refuse(self, kind: str, what: str, lineno: int, message: str, help: str, suggestion: str | None = None) -> None:
        self.refusals.append(Refusal(kind, what, lineno, message, help, suggestion))

    def internals(self, what: str, lineno: int) -> None:
        self.refuse("internals", what, lineno, f"template reaches into Python internals (`{what}`)",
                    f"templates may only read prospect fields and built-in variables; remove `{what}`")

    # statements

    def stmts(self, body: Iterable[nodes.Node], scope: set[str], guards: frozenset[str]) -> None:
        for node in body:
            self.stmt(node, scope, guards)

    def stmt(self, node: nodes.Node, scope: set[str], guards: frozenset[str]) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    self.items.append(_Text(child.data, self.macro_depth > 0))
                    continue
                start = len(self.uses)
                self.expr(child, scope, guards, safe=False)
                self.uncalled(child, scope)
                strings = tuple(c.value for c in child.find_all(nodes.Const) if isinstance(c.value, str))
                if isinstance(child, nodes.Const) and isinstance(child.value, str):
                    strings += (child.value,)
                self.items.append(_Value(frozenset(u.name for u in self.uses[start:]), strings, self.macro_depth > 0))
        elif isinstance(node, nodes.If):
            proven = _EMPTY
            for branch in (node, *node.elif_):
                self.expr(branch.test, scope, guards | proven, safe=True)
                t, f = _narrow(branch.test)
                self.stmts(branch.body, scope, guards | proven | t)
                proven = proven | f
            self.stmts(node.else_, scope, guards | proven)
        elif isinstance(node, nodes.For):
            self.expr(node.iter, scope, guards, safe=False)
            inner = scope | _targets(node.target) | {"loop"}
            inner_guards = guards
            if node.test is not None:
                self.expr(node.test, inner, guards, safe=True)
                inner_guards = guards | _narrow(node.test)[0]
            self.stmts(node.body, inner, inner_guards)
            self.stmts(node.else_, set(scope), guards)
        elif isinstance(node, nodes.Assign):
            self.expr(node.node, scope, guards, safe=False)
            scope |= _targets(node.target)
        elif isinstance(node, nodes.AssignBlock):
            self.stmts(node.body, set(scope), guards)
            if node.filter is not None:
                self.expr(node.filter, scope, guards, safe=False)
            scope |= _targets(node.target)
        elif isinstance(node, nodes.Macro):
            for default in node.defaults:
                self.expr(default, scope, guards, safe=False)
            inner = scope | {a.name for a in node.args} | {"varargs", "kwargs", "caller"}
            self.macro_depth += 1
            self.stmts(node.body, inner, _EMPTY)  # a macro runs wherever it is called
            self.macro_depth -= 1
        elif isinstance(node, nodes.CallBlock):
            self.expr(node.call, scope, guards, safe=False)
            for default in node.defaults:
                self.expr(default, scope, guards, safe=False)
            self.stmts(node.body, scope | {a.name for a in node.args} | {"varargs", "kwargs", "caller"}, guards)
        elif isinstance(node, nodes.FilterBlock):
            self.expr(node.filter, scope, guards, safe=False)
            self.stmts(node.body, set(scope), guards)
        elif isinstance(node, nodes.With):
            for value in node.values:
                self.expr(value, scope, guards, safe=False)
            inner = set(scope)
            for target in node.targets:
                inner |= _targets(target)
            self.stmts(node.body, inner, guards)
        elif type(node) in _UNSUPPORTED_TAGS:
            tag = _UNSUPPORTED_TAGS[type(node)]
            self.refuse("unsupported", tag, node.lineno, f"`{{% {tag} %}}` is not supported in seqc templates",
                        "put the text in this template, or reference a template file with `file \"…\"` in the step")
        elif isinstance(node, nodes.ExprStmt):
            self.expr(node.node, scope, guards, safe=False)
        elif hasattr(node, "body"):  # Block, Scope, ScopedEvalContextModifier, EvalContextModifier
            self.stmts(node.body, set(scope), guards)
        else:
            for child in node.iter_child_nodes():
                if isinstance(child, nodes.Expr):
                    self.expr(child, scope, guards, safe=False)
                else:
                    self.stmt(child, scope, guards)

    # expressions; `safe` means this node's own value may be missing without harm

    def expr(self, node: nodes.Node, scope: set[str], guards: frozenset[str], safe: bool) -> None:
        if isinstance(node, nodes.Name):
            self.name(node, scope, guards, safe)
        elif isinstance(node, nodes.Const):
            if isinstance(node.value, str) and (m := _DUNDER.search(node.value)):
                self.internals(m.group(0), node.lineno)
        elif isinstance(node, nodes.Filter):
            self.filter(node, scope, guards, safe)
        elif isinstance(node, nodes.Test):
            self.test(node, scope, guards)
        elif isinstance(node, nodes.Compare):
            self.expr(node.expr, scope, guards, safe=True)
            for op in node.ops:
                self.expr(op.expr, scope, guards, safe=True)
        elif isinstance(node, nodes.And):
            self.expr(node.left, scope, guards, safe)  # `a and b` is `a` when a is falsy
            self.expr(node.right, scope, guards | _narrow(node.left)[0], safe)
        elif isinstance(node, nodes.Or):
            self.expr(node.left, scope, guards, safe=True)  # `a or b` is `b` when a is falsy
            self.expr(node.right, scope, guards | _narrow(node.left)[1], safe)
        elif isinstance(node, nodes.Not):
            self.expr(node.node, scope, guards, safe=True)
        elif isinstance(node, nodes.CondExpr):
            self.expr(node.test, scope, guards, safe=True)
            t, f = _narrow(node.test)
            self.expr(node.expr1, scope, guards | t, safe)
            if node.expr2 is not None:
                self.expr(node.expr2, scope, guards | f, safe)
        elif isinstance(node, nodes.Getattr):
            if node.attr.startswith("_") or node.attr in _INTERNAL_ATTRIBUTES:
                self.internals(node.attr, node.lineno)
            elif node.attr in _MUTATING_METHODS:
                self.refuse("internals", node.attr, node.lineno, f"template changes a value in place (`.{node.attr}`)",
                            "templates may not change values; build a new one instead (`items + [x]`, a filter)")
            self.expr(node.node, scope, guards, safe=False)
        elif isinstance(node, nodes.Getitem) and _built_text(node.arg):
            self.refuse("internals", "[", node.lineno, "subscript key built at run time from text",
                        "use a constant key (`x[\"name\"]`) or a variable; a key spelt with `~`, `+` or a "
                        "filter can reach Python internals")
            for child in node.iter_child_nodes():
                self.expr(child, scope, guards, safe=False)
        elif isinstance(node, nodes.Call) and _is_has_call(node) and "has" not in scope:
            self.expr(node.args[0], scope, guards, safe=True)
        elif isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
            self.refuse("unsupported", "%", node.lineno, "printf-style `%` formatting is not supported in seqc templates",
                        "join text with `~`, for example `{{ \"Hi \" ~ first_name }}`")
            self.expr(node.right, scope, guards, safe=False)
        else:
            for child in node.iter_child_nodes():
                self.expr(child, scope, guards, safe=False)

    def name(self, node: nodes.Name, scope: set[str], guards: frozenset[str], safe: bool) -> None:
        name = node.name
        if node.ctx != "load" or name in scope:
            return
        if name in RESERVED_NAMES:
            self.refuse("internals", name, node.lineno, f"template reaches into Jinja internals (`{name}`)",
                        f"templates may only read prospect fields and built-in variables; remove `{name}`")
        elif name.startswith("_"):
            self.internals(name, node.lineno)
        elif name in _GLOBALS or (self.free is not None and name not in self.free):
            return
        else:
            self.uses.append(VarUse(name, node.lineno, safe or name in guards))

    def filter(self, node: nodes.Filter, scope: set[str], guards: frozenset[str], safe: bool) -> None:
        name = node.name
        if name.startswith("_") or name in _DANGEROUS_FILTERS:
            self.internals(name, node.lineno)
        elif name not in self.env.filters:
            self.unknown("filter", name, node.lineno, self.env.filters)
        if node.node is not None:
            self.expr(node.node, scope, guards, safe=name in ("default", "d"))
        for child in (*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs):
            if child is not None:
                self.expr(child, scope, guards, safe=False)

    def test(self, node: nodes.Test, scope: set[str], guards: frozenset[str]) -> None:
        if node.name not in self.env.tests:
            self.unknown("test", node.name, node.lineno, self.env.tests)
        self.expr(node.node, scope, guards, safe=node.name in _SAFE_TESTS)
        for child in (*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs):
            if child is not None:
                self.expr(child, scope, guards, safe=False)

    def uncalled(self, node: nodes.Node, scope: set[str]) -> None:
        """Refuse a printed method of a prospect value (`{{ first_name.upper }}`, a missing `()`):
        it would print Python's description of the function, with a memory address."""
        for printed in _printed(node):
            if (isinstance(printed, nodes.Getattr) and printed.attr in _VALUE_METHODS
                    and isinstance(printed.node, nodes.Name) and printed.node.name not in scope):
                text = f"{printed.node.name}.{printed.attr}"
                self.refuse("unsupported", text, printed.lineno,
                            f"`{text}` prints the function, not its result; calls need parentheses: `{text}()`",
                            f"write `{{{{ {text}() }}}}`")

    def unknown(self, kind: str, name: str, lineno: int, known: Mapping[str, Any]) -> None:
        public = sorted(k for k in known if not k.startswith("_") and k.isidentifier())
        close = difflib.get_close_matches(name, public, n=1)
        self.refuse("unknown", name, lineno, f"unknown {kind} `{name}`",
                    f"available {kind}s: " + ", ".join(f"`{k}`" for k in public), close[0] if close else None)


_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_HREF_OPEN = re.compile(r"""href\s*=\s*["']?\s*$""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_IMG = re.compile(r"<img\b", re.IGNORECASE)


def _links(items: list[_Text | _Value]) -> tuple[str, ...]:
    """Distinct link targets: literal http(s) URLs, `*_url` variables, other expressions in `href`."""
    targets: set[str] = set()
    previous_text = ""
    for index, item in enumerate(items):
        if isinstance(item, _Text):
            texts = [item.data]
        else:
            texts = list(item.strings)
            url_vars = {n for n in item.names if n.endswith("_url")}
            targets |= {f"{{{{ {n} }}}}" for n in url_vars if n != "unsubscribe_url"}
            if not url_vars and _HREF_OPEN.search(previous_text):
                targets.add(f"href #{index}")
        for text in texts:
            targets |= {m.group(0).rstrip(".,;:!?)") for m in _URL.finditer(text)}
        previous_text = item.data if isinstance(item, _Text) else ""
    return tuple(sorted(targets))


def _first_line_names(items: list[_Text | _Value]) -> frozenset[str]:
    names: set[str] = set()
    content = False
    for item in items:
        if item.in_macro:
            continue
        if isinstance(item, _Value):
            content = True
            names |= item.names
            continue
        for i, segment in enumerate(item.data.split("\n")):
            if i > 0 and content:
                return frozenset(names)
            content = content or bool(segment.strip())
    return frozenset(names)


def _count_words(text: str) -> int:
    return sum(1 for token in _TAG.sub(" ", text).split() if any(ch.isalnum() for ch in token))


def _word_text(body: Iterable[nodes.Node]) -> str:
    """The static text with `X` for each value; for `if`, the wordiest branch; loops once."""
    out: list[str] = []
    for node in body:
        if isinstance(node, nodes.Output):
            out.extend(c.data if isinstance(c, nodes.TemplateData) else "X" for c in node.nodes)
        elif isinstance(node, nodes.If):
            options = [_word_text(b.body) for b in (node, *node.elif_)] + [_word_text(node.else_)]
            out.append(max(options, key=_count_words))
        elif isinstance(node, nodes.For):
            out.append(max(_word_text(node.body), _word_text(node.else_), key=_count_words))
        elif isinstance(node, nodes.CallBlock):
            out.append("X " + _word_text(node.body))
        elif isinstance(node, (nodes.Macro, nodes.AssignBlock)):
            continue
        elif hasattr(node, "body"):
            out.append(_word_text(node.body))
    return "".join(out)


# Statements that bind names or whose compile step can reject a template that parsed (bad
# assignment targets, macro/call-block signatures): only these need Jinja's compile pass.
_BINDING_NODES = (nodes.Assign, nodes.AssignBlock, nodes.For, nodes.Macro, nodes.CallBlock, nodes.With,
                  nodes.FilterBlock, nodes.Block, nodes.Import, nodes.FromImport, nodes.Include)


@functools.lru_cache(maxsize=65536)  # a large project has thousands; rules ask several times
def analyze(source: str) -> TemplateInfo:
    """Static facts about a template, read from its Jinja AST (cached by source).

    Never raises for bad input: a template that does not parse gives a `TemplateInfo`
    whose `syntax_error` is set and whose other fields are empty. Templates that are only
    text and `{{ name }}` / `{{ name | default("…") }}` values are read without Jinja's parser
    (`template_scan`), with the same result; tests compare the two on generated templates.
    """
    pieces = template_scan.scan(source)
    if pieces is not None:
        info = _analyze_pieces(pieces)
        if info is not None:
            return info
    return _analyze_ast(source)


def _analyze_pieces(pieces: list[str | template_scan.Value]) -> TemplateInfo | None:
    """`_analyze_ast`'s answer for a scanned template, or None when a value needs the walker's
    judgement (a reserved, global or underscore name, a fallback that spells a dunder)."""
    items: list[_Text | _Value] = []
    uses: list[VarUse] = []
    words: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            items.append(_Text(piece, False))
            words.append(piece)
            continue
        name, fallback = piece.name, piece.fallback
        if name in RESERVED_NAMES or name in _GLOBALS or name.startswith("_") or (
                fallback is not None and _DUNDER.search(fallback)):
            return None
        uses.append(VarUse(name, piece.lineno, fallback is not None))
        items.append(_Value(frozenset((name,)), () if fallback is None else (fallback,), False))
        words.append("X")
    return _info(items, uses, [], _count_words("".join(words)))


def _info(items: list[_Text | _Value], uses: list[VarUse], refusals: list[Refusal], word_count: int) -> TemplateInfo:
    """The `TemplateInfo` of a template read into output items, variable reads and refusals."""
    texts = [i.data for i in items if isinstance(i, _Text)] + [s for i in items if isinstance(i, _Value)
                                                               for s in i.strings]
    return TemplateInfo(
        variables=tuple(uses),
        refusals=tuple(refusals),
        link_targets=_links(items),
        has_image=any(_IMG.search(t) for t in texts),
        word_count=word_count,
        first_line_variables=_first_line_names(items),
    )


def _analyze_ast(source: str) -> TemplateInfo:
    """`analyze` through Jinja's parser and the walker (any template)."""
    env = environment()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return TemplateInfo(syntax_error=TemplateSyntax(exc.lineno or 1, _clean(exc.message)))
    except RecursionError:
        return TemplateInfo(syntax_error=TemplateSyntax(1, "template nests too deeply"))
    compile_error: TemplateSyntaxError | None = None
    free: frozenset[str] | None = None
    try:
        # Jinja's own pass runs its code generator (half the cost of an analysis) and only
        # adds something for statements that bind names or can fail to compile; the
        # walker tracks scope itself, so templates without such statements skip it.
        if next(ast.find_all(_BINDING_NODES), None) is not None:
            free = frozenset(meta.find_undeclared_variables(ast))
    except TemplateSyntaxError as exc:
        free, compile_error = None, exc
    except RecursionError:
        return TemplateInfo(syntax_error=TemplateSyntax(1, "template nests too deeply"))
    walker = _Walker(free, env)
    try:
        scope = {m.name for m in ast.find_all(nodes.Macro)}
        walker.stmts(ast.body, scope, _EMPTY)
        word_count = _count_words(_word_text(ast.body))
    except RecursionError:
        return TemplateInfo(syntax_error=TemplateSyntax(1, "template nests too deeply"))
    if compile_error is not None and not walker.refusals:
        return TemplateInfo(syntax_error=TemplateSyntax(compile_error.lineno or 1, _clean(compile_error.message)))
    return _info(walker.items, walker.uses, walker.refusals, word_count)


# ---------------------------------------------------------------- checks


def _column(line: str, needle: str) -> int | None:
    """0-based column of `needle` as a whole word on `line`, preferring one inside `{{ }}`/`{% %}`."""
    pattern = re.compile(rf"(?<![\w.]){re.escape(needle)}(?!\w)")
    first = None
    for m in pattern.finditer(line):
        before = line[: m.start()]
        if max(before.rfind("{{"), before.rfind("{%")) > max(before.rfind("}}"), before.rfind("%}")):
            return m.start()
        first = m.start() if first is None else first
    return first


def _template_file(tpl: ir.Template) -> str:
    # The parser stores a template file's display path (the .seq file's folder as the
    # user named it, joined with the path written after `file`), ready for diagnostics.
    assert tpl.path is not None
    return tpl.path


def template_span(tpl: ir.Template, lineno: int, needle: str | None = None) -> Span:
    """Where Jinja line `lineno` (and `needle` on it, if given) of `tpl` is in the user's files.

    A file template points into the template file. An inline template points at its `.seq`
    line (`tpl.span.line + tpl.line_offset + lineno - 1`); on a one-line string without
    escape sequences the column is exact, otherwise the whole string (or column 1) is used.
    """
    lines = tpl.source.split("\n")
    lineno = min(max(lineno, 1), len(lines))
    text = lines[lineno - 1]
    col0 = _column(text, needle) if needle else None
    if tpl.path is not None:
        file = _template_file(tpl)
        if col0 is None or needle is None:
            return Span(file, lineno, 1, lineno, max(len(text), 1) + 1)
        return Span(file, lineno, col0 + 1, lineno, col0 + 1 + len(needle))
    s = tpl.span
    line = s.line + tpl.line_offset + lineno - 1
    if s.line == s.end_line:
        if col0 is not None and needle is not None:
            for quote in (1, 3):  # `"…"` or `"""…"""`; any other width means escapes shifted columns
                if s.end_column - s.column == len(tpl.source) + 2 * quote:
                    column = s.column + quote + col0
                    return Span(s.file, s.line, column, s.line, column + len(needle))
        return s
    return Span.point(s.file, line, 1)


def check_template(tpl: ir.Template, prospect: ir.Prospect | None, *, field_label: str) -> list[Diagnostic]:
    """SEQ301, SEQ302 and SEQ305 for one template.

    `field_label` names the template in messages, as a noun phrase such as
    "the body of `opener`".
    """
    info = analyze(tpl.source)
    error = Severity.ERROR
    if info.syntax_error is not None:
        e = info.syntax_error
        return [Diagnostic("SEQ305", error, f"template syntax error in {field_label}: {e.message}",
                           template_span(tpl, e.lineno),
                           "check that every `{{` has `}}`, every `{%` has `%}` and every block tag has its end tag")]
    out: list[Diagnostic] = []
    for r in info.refusals:
        out.append(Diagnostic("SEQ305", error, r.text(f" in {field_label}"), template_span(tpl, r.lineno, r.what), r.help))
    fields = {f.name: f for f in prospect.fields} if prospect else {}
    known = sorted(set(fields) | set(ir.BUILTIN_VARIABLES))
    seen: set[tuple[str, int, str]] = set()
    for use in info.variables:
        if use.name in ir.BUILTIN_VARIABLES:
            continue
        field = fields.get(use.name)
        if field is None:
            key = (use.name, use.lineno, "SEQ301")
            if key not in seen:
                seen.add(key)
                out.append(_undeclared(tpl, use, known, prospect, field_label))
        elif not field.required and not use.guarded:
            key = (use.name, use.lineno, "SEQ302")
            if key not in seen:
                seen.add(key)
                n = use.name
                out.append(Diagnostic(
                    "SEQ302", error, f"optional field `{n}` is used in {field_label} without a guard or fallback",
                    template_span(tpl, use.lineno, n),
                    f'wrap it in `{{% if {n} %}}…{{% endif %}}` or use `{{{{ {n} | default("…") }}}}`'))
    return sorted(out, key=Diagnostic.sort_key)


def _undeclared(tpl: ir.Template, use: VarUse, known: list[str], prospect: ir.Prospect | None, label: str) -> Diagnostic:
    n = use.name
    span = template_span(tpl, use.lineno, n)
    if n == "prospect":
        return Diagnostic("SEQ301", Severity.ERROR, f"`prospect` in {label} is not a variable; prospect fields are used by name",
                          span, "write `{{ first_name }}`, not `{{ prospect.first_name }}`")
    close = difflib.get_close_matches(n, known, n=1)
    if prospect is None:
        also = f", or use the built-in `{close[0]}`" if close else ""
        return Diagnostic("SEQ301", Severity.ERROR,
                          f"`{n}` in {label} is not a built-in variable and the project has no `prospect` block",
                          span, f"add a `prospect` block that declares `{n}`{also}")
    if close:
        return Diagnostic("SEQ301", Severity.ERROR,
                          f"`{n}` in {label} is not a declared prospect field (did you mean `{close[0]}`?)",
                          span, f"rename it to `{close[0]}`, or declare `{n}` in the `prospect` block")
    return Diagnostic("SEQ301", Severity.ERROR, f"`{n}` in {label} is not a declared prospect field or built-in variable",
                      span, f"declare `{n}` in the `prospect` block, or use a built-in: "
                      + ", ".join(f"`{b}`" for b in ir.BUILTIN_VARIABLES))

"""The only Jinja environment in seqc: sandboxed rendering, template analysis and template checks.

Templates are author-owned source; prospect values are data and only ever reach Jinja as
context values, never as template source. Three layers keep a template honest:

* `analyze` reads the Jinja AST (never the raw text) for the rules: variable reads and
  whether each is guarded, links, images, word count, the first line, and constructs
  seqc refuses (Python internals, includes, unknown filters).
* `check_template` turns that into SEQ301/SEQ302/SEQ305 diagnostics.
* `render` refuses what `analyze` refused, then renders in an immutable sandbox with
  `StrictUndefined`, a loop/call budget, a capped `range`, a budget for the text it builds
  (`~`, `+`, `*`, joins, padding), an output cap, and no printing of functions or iterators.

A missing optional value is passed to Jinja as `Missing`, an undefined that is falsy,
equal to `none`, passes `is none`, fails `is defined`, takes `default(…)`, compares false,
and raises when it would be printed. So it can never render as "None" or as "".
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.filters import do_join, do_wordwrap
from jinja2.runtime import Macro, StrictUndefined, Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing as _UNSET
from jinja2.visitor import NodeTransformer

from compiler import ir, template_scan
from compiler.diagnostics import Diagnostic, Severity, Span

__all__ = [
    "MAX_OUTPUT_CHARS", "MAX_RANGE", "MAX_STEPS", "RESERVED_NAMES", "RESERVED_FIELD_NAMES",
    "Missing", "MissingValueError", "RenderContext", "RenderError", "RenderLimitError",
    "TemplateSecurityError", "TemplateSyntax", "Refusal", "VarUse", "TemplateInfo",
    "environment", "render", "prospect_context", "analyze", "check_template", "template_span",
]

# ---------------------------------------------------------------- limits

#: Largest rendered template, and largest single value a template may build (characters).
MAX_OUTPUT_CHARS = 1_000_000
#: Most items one `range(…)` may produce (Jinja's sandbox allows 100 000).
MAX_RANGE = 1_000
#: Loop iterations plus function/macro calls allowed in one render.
MAX_STEPS = 100_000
#: Characters of intermediate text one render may build with `*`, `replace`, `join`, …
MAX_BUILT_CHARS = 10 * MAX_OUTPUT_CHARS
#: Largest integer a template may compute, in bits.
MAX_INT_BITS = 4_096

#: Names a template may never use: Jinja's helper objects and the usual SSTI entry points.
RESERVED_NAMES = frozenset({"self", "cycler", "joiner", "namespace", "lipsum", "dict", "config", "request"})
#: Prospect field names a template could not read: the above, template globals, loop and
#: macro locals, and Jinja keywords. The `prospect` block should refuse them.
RESERVED_FIELD_NAMES = RESERVED_NAMES | frozenset({
    "range", "has", "loop", "caller", "varargs", "kwargs",
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
})

_INTERNAL_ATTRIBUTES = frozenset({
    "mro", "format", "format_map",
    "func_globals", "func_code", "func_closure", "func_defaults",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code",
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await",
    "ag_frame", "ag_code", "ag_await", "tb_frame", "tb_next", "co_code",
    "im_func", "im_self", "im_class",
})
#: Methods that change a list, dict or set in place (what the immutable sandbox refuses, and more).
_MUTATING_METHODS = frozenset({
    "append", "appendleft", "add", "clear", "difference_update", "discard", "extend", "extendleft",
    "insert", "intersection_update", "pop", "popitem", "popleft", "remove", "reverse", "rotate",
    "setdefault", "sort", "symmetric_difference_update", "update",
})
_DUNDER = re.compile(r"__\w+__")
_STR_WIDTH_METHODS = frozenset({"ljust", "rjust", "center", "zfill"})


# ---------------------------------------------------------------- errors


class RenderError(Exception):
    """A template failed to render; `name` says which template, `lineno` the Jinja line."""

    def __init__(self, name: str, message: str, lineno: int | None = None) -> None:
        super().__init__(name, message, lineno)
        self.name = name
        self.message = message
        self.lineno = lineno

    def __str__(self) -> str:
        where = f"{self.name}:{self.lineno}" if self.lineno else self.name
        return f"{where}: {self.message}"


class RenderLimitError(RenderError):
    """A render ran past a limit (loops and calls, range size, output size, number size)."""


class TemplateSecurityError(RenderError):
    """A template tried to reach Python or Jinja internals; it was refused, not executed."""


class TemplateSyntax(Exception):
    """A template that does not parse (or compile): a Jinja line number and a message."""

    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(lineno, message)
        self.lineno = lineno
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TemplateSyntax) and (self.lineno, self.message) == (other.lineno, other.message)

    def __hash__(self) -> int:
        return hash((self.lineno, self.message))

    def __str__(self) -> str:
        return f"line {self.lineno}: {self.message}"


class MissingValueError(UndefinedError):
    """A missing optional value was printed or operated on."""


class _LimitExceeded(Exception):
    pass


class _Unsupported(Exception):
    pass


class _NoneOutput(Exception):
    pass


class _Unprintable(Exception):
    """A value whose text would be Python's description of it (a function, an iterator)."""


# ---------------------------------------------------------------- undefined and missing values


class _Undefined(StrictUndefined):
    """StrictUndefined with seqc-style messages."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        if self._undefined_obj is _UNSET:
            return f"`{self._undefined_name}` is undefined"
        kind = type(self._undefined_obj).__name__
        if not isinstance(self._undefined_name, str):
            return f"`{kind}` value has no element `{self._undefined_name!r}`"
        return f"`{kind}` value has no attribute `{self._undefined_name}`"


class Missing(StrictUndefined):
    """A declared optional field with no value for this prospect.

    Falsy, `== none`, `is none`, not `is defined`, replaced by `default(…)`, false in every
    comparison and `in` test; printing it or operating on it raises `MissingValueError`.
    """

    __slots__ = ()

    def __init__(self, name: str) -> None:
        super().__init__(name=name, exc=MissingValueError)

    @property
    def _undefined_message(self) -> str:
        return f"`{self._undefined_name}` has no value for this prospect"

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Missing)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(None)

    def __lt__(self, other: object) -> bool:
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __contains__(self, item: object) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Missing({self._undefined_name!r})"


def _is_blank(value: Any) -> bool:
    """True for values seqc treats as missing: None and empty or whitespace-only text."""
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def _is_missing(value: Any) -> bool:
    if isinstance(value, Undefined):
        if type(value) is _Undefined and value._undefined_obj is _UNSET and value._undefined_name is not None:
            value._fail_with_undefined_error()  # an undeclared name: never a silent fallback
        return True
    return _is_blank(value)


class RenderContext(dict):
    """A context already normalised for `render` (missing values are `Missing`)."""


def _normalise(values: Mapping[str, Any]) -> RenderContext:
    ctx = RenderContext()
    for key, value in values.items():
        ctx[key] = Missing(key) if _is_blank(value) else value
    return ctx


def prospect_context(
    prospect: ir.Prospect | None,
    record: Mapping[str, Any],
    builtins: Mapping[str, Any] | None = None,
) -> RenderContext:
    """The render context for one prospect record.

    Every declared field is present (absent, None, empty or blank values become `Missing`),
    every built-in variable is present (from `builtins`), and undeclared record keys are
    left out, so a template can only see what the `prospect` block declares.
    """
    builtins = builtins or {}
    ctx = RenderContext()
    for name in ir.BUILTIN_VARIABLES:
        value = builtins.get(name)
        ctx[name] = Missing(name) if _is_blank(value) else value
    for f in prospect.fields if prospect else ():
        value = record.get(f.name)
        ctx[f.name] = Missing(f.name) if _is_blank(value) else value
    return ctx


# ---------------------------------------------------------------- budget


class _Budget:
    __slots__ = ("steps", "chars")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.chars = MAX_BUILT_CHARS


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("seqc_render_budget", default=None)


def _charge_steps(n: int) -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.steps -= n
        if budget.steps < 0:
            raise _LimitExceeded(f"template ran more than {MAX_STEPS:,} loop iterations and calls")


def _charge_chars(n: int) -> None:
    if n > MAX_OUTPUT_CHARS:
        raise _LimitExceeded(f"template builds a value longer than {MAX_OUTPUT_CHARS:,} characters")
    budget = _BUDGET.get()
    if budget is not None:
        budget.chars -= n
        if budget.chars < 0:
            raise _LimitExceeded(f"template builds more than {MAX_BUILT_CHARS:,} characters of text")


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _text_size(value: Any) -> int:
    """A lower bound of `len(str(value))`, found without building the text.

    O(1) for text. A container is walked (each item adds at least 2 characters, so the walk
    stops past the output cap), which costs less than building its text would. Functions and
    iterators are refused: their text is Python's description, with a memory address.
    """
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        _refuse_unprintable(value)
        return 0
    size, stack = 2, [value]
    while stack:
        items = stack.pop()
        for item in (*items.keys(), *items.values()) if isinstance(items, dict) else items:
            if isinstance(item, str):
                size += len(item) + 4  # quotes, comma, space
            elif isinstance(item, (int, float)):
                size += 3
            elif isinstance(item, _CONTAINERS):
                size += 4
                stack.append(item)
            else:
                _refuse_unprintable(item)
                size += 3
            if size > MAX_OUTPUT_CHARS:
                return size  # already too long to print: the caller's charge refuses it
    return size


def _refuse_unprintable(value: Any) -> None:
    # Numbers first: they are most of what reaches here. Undefined defines __call__ (to raise
    # its own error when used); Jinja handles its text.
    if isinstance(value, (int, float, Undefined)) or not (callable(value) or isinstance(value, Iterator)):
        return
    if isinstance(value, Iterator):
        raise _Unprintable("an expression prints an iterator, not its items; "
                           "add `|list` or `|join(\", \")` to print the items")
    name = value.name if isinstance(value, Macro) else getattr(value, "__name__", type(value).__name__)
    owner = "…." if getattr(value, "__self__", None) is not None else ""
    raise _Unprintable(f"an expression prints the function `{name}` instead of calling it; "
                       f"calls need parentheses: `{owner}{name}()`")


def _loop_guard(iterable: Any) -> Any:
    """Wrapped around every `{% for %}` iterable at compile time: charges the loop to the budget."""
    try:
        size = len(iterable)
    except TypeError:
        return _counted(iterable)
    _charge_steps(size)
    return iterable


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _charge_steps(1)
        yield item


# ---------------------------------------------------------------- globals, filters, tests


def _range(*args: int) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise _LimitExceeded(f"`range` of {len(rng):,} items is larger than the limit of {MAX_RANGE:,}")
    return rng


def _has(value: Any) -> bool:
    """`has(x)`: x has a value (as `has(x)` in seqc conditions)."""
    return not _is_missing(value)


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """`default`/`d`: the fallback when the value is missing, None, empty or blank text.

    With `boolean=true` any falsy value (0, false) takes the fallback too. An undeclared
    variable still raises: a fallback never hides a misspelt name.
    """
    if _is_missing(value) or (boolean and not value):
        return default_value
    return value


def _replace(s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_s, new_s = str(s), str(old), str(new)
    hits = text.count(old_s) if old_s else len(text) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    _charge_chars(len(text) + hits * max(len(new_s) - len(old_s), 0))
    return text.replace(old_s, new_s, -1 if count is None else count)


@jinja2.pass_environment
def _wordwrap(env: jinja2.Environment, s: Any, width: int = 79, break_long_words: bool = True,
              wrapstring: str | None = None, break_on_hyphens: bool = True) -> str:
    text = str(s)
    sep = env.newline_sequence if wrapstring is None else str(wrapstring)
    _charge_chars(len(text) + (len(text) // max(int(width), 1) + 1) * len(sep))
    return do_wordwrap(env, text, width, break_long_words, wrapstring, break_on_hyphens)


@jinja2.pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    separators = len(str(d)) * max(len(items) - 1, 0)
    if attribute is not None:  # the joined text is each item's attribute: measured once built
        _charge_chars(separators)
        result = do_join(eval_ctx, items, d, attribute)
        _charge_chars(len(result))
        return result
    _charge_chars(separators + sum(_text_size(item) for item in items))
    return do_join(eval_ctx, items, d, attribute)


@jinja2.pass_eval_context
def _concat(eval_ctx: Any, parts: tuple[Any, ...]) -> str:
    """`a ~ b ~ …`, rewritten to this filter at compile time: charges the text before building it."""
    size = 0
    for part in parts:  # a plain loop: this runs for every `~` of every render
        size += len(part) if part.__class__ is str else _text_size(part)
    _charge_chars(size)
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def _printing(text_filter: Any) -> Any:
    """Wrap a filter that turns its input into text, so that a container's text is charged first."""

    @functools.wraps(text_filter)
    def charged(value: Any, *args: Any, **kwargs: Any) -> Any:
        if value.__class__ is not str and (size := _text_size(value)):
            _charge_chars(size)
        return text_filter(value, *args, **kwargs)

    return charged


def _sum_numbers(jinja_sum: Any) -> Any:
    """Jinja's `sum` for numbers only: with a list or text `start` it adds sequences one by one,
    copying the growing result each time (quadratic, outside the budget)."""

    @jinja2.pass_environment
    def _sum(env: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        if isinstance(start, bool) or not isinstance(start, (int, float)):
            raise _Unsupported("`sum` adds numbers; join text with `join` or `~`")
        return jinja_sum(env, iterable, attribute, start)
    return _sum


def _is_none(value: Any) -> bool:
    return value is None or isinstance(value, Missing)


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` passes here: text and integers go straight through (the common cases)."""
    cls = value.__class__
    if cls is str or cls is int:
        return value
    if value is None:
        raise _NoneOutput()
    if isinstance(value, _CONTAINERS):
        _charge_chars(_text_size(value))
    else:
        _refuse_unprintable(value)
    return value


#: Jinja's built-in filters that seqc keeps (text and small-collection helpers).
_KEPT_FILTERS = (
    "abs", "capitalize", "count", "first", "float", "int", "last", "length", "list", "lower",
    "map", "max", "min", "reject", "reverse", "round", "select", "sort", "string", "striptags",
    "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
)
#: Kept filters that print their input with `str` (a list of long texts prints longer still).
_PRINTING_FILTERS = ("capitalize", "lower", "string", "striptags", "title", "trim", "upper", "urlencode", "wordcount")
#: Removed because they reach Python internals or were used in sandbox escapes.
_DANGEROUS_FILTERS = frozenset({"attr", "format", "xmlattr"})
_LOOP_FILTER = "_seqc_loop"
_CONCAT_FILTER = "_seqc_concat"


def _charge_str_method(text: str, name: str, args: tuple[Any, ...]) -> None:
    """Charge the str methods whose result can be much longer than the text (padding, tabs, tables)."""
    if name == "expandtabs":  # each tab becomes up to `tabsize` spaces (8 by default)
        tabsize = next((a for a in args if isinstance(a, int)), 8)
        _charge_chars(len(text) + text.count("\t") * max(tabsize, 0))
    elif name in _STR_WIDTH_METHODS:
        for arg in args:
            if isinstance(arg, int):
                _charge_chars(arg)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        _charge_chars(len(text) * longest)


class SeqcEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox: no `str.format`, `+`/`*`/`**` and text-building calls budgeted, `%` formatting off."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr in _INTERNAL_ATTRIBUTES or attr in _MUTATING_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        return None  # `format`/`format_map` are refused by is_safe_attribute instead

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        _charge_steps(1)
        if isinstance(obj, types.BuiltinMethodType) and isinstance(obj.__self__, str):
            name = obj.__name__
            if name == "replace" and len(args) >= 2:
                return _replace(obj.__self__, *args)
            if name == "join" and len(args) == 1 and not kwargs:
                items = args[0] if isinstance(args[0], (list, tuple)) else list(args[0])  # read once
                _charge_chars(len(obj.__self__) * max(len(items) - 1, 0)
                              + sum(len(i) for i in items if isinstance(i, str)))
                args = (items,)
            else:
                _charge_str_method(obj.__self__, name, (*args, *kwargs.values()))
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "+":
            # O(1): text and lists are charged by length (a list's text is charged when printed).
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _charge_chars(len(left) + len(right))
            return left + right
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    _charge_chars(len(seq) * max(n, 0))
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _LimitExceeded(f"number larger than {MAX_INT_BITS} bits")
        elif operator == "**":
            if (isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
                    and right * (abs(left).bit_length() - 1) > MAX_INT_BITS):
                raise _LimitExceeded(f"number larger than {MAX_INT_BITS} bits")
        elif operator == "%" and isinstance(left, str):
            raise _Unsupported("printf-style `%` formatting is not supported in templates; join text with `~`")
        return self.binop_table[operator](left, right)


@functools.cache
def environment() -> SeqcEnvironment:
    """The one Jinja environment of seqc (sandboxed, strict, no loader, no extensions)."""
    env = SeqcEnvironment(
        undefined=_Undefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=_finalize,
        extensions=(),
        auto_reload=False,
        cache_size=0,
    )
    env.globals.clear()
    env.globals.update(range=_range, has=_has)
    kept = {name: env.filters[name] for name in _KEPT_FILTERS}
    kept.update({name: _printing(kept[name]) for name in _PRINTING_FILTERS})
    kept.update({
        "default": _default, "d": _default, "replace": _replace, "sum": _sum_numbers(env.filters["sum"]),
        "wordwrap": _wordwrap, "join": _join, _LOOP_FILTER: _loop_guard, _CONCAT_FILTER: _concat,
    })
    env.filters = kept
    env.tests["none"] = _is_none
    return env


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True, slots=True)
class _Compiled:
    template: jinja2.Template | None
    error: tuple[type[RenderError], str, int | None] | None = None
    # No loops, macros, assignments, blocks or scope changes: the output is made of a bounded
    # number of pieces (so it can be joined, then measured) and the render writes nothing into
    # its context (so one context serves every such template of a prospect).
    plain: bool = False


#: Statements that repeat output, call back into the template or write to the render context.
_STATEFUL_NODES = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Assign, nodes.AssignBlock, nodes.With,
                   nodes.FilterBlock, nodes.Block, nodes.Scope, nodes.ScopedEvalContextModifier,
                   nodes.EvalContextModifier, nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)


class _Guard(NodeTransformer):
    """Routes loops and `~` through budgeted filters (Jinja compiles `~` to a plain join)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


@functools.lru_cache(maxsize=2048)
def _compiled(source: str) -> _Compiled:
    info = analyze(source)
    if info.syntax_error is not None:
        return _Compiled(None, (RenderError, f"template syntax error: {info.syntax_error.message}", info.syntax_error.lineno))
    if info.refusals:
        r = info.refusals[0]
        cls = TemplateSecurityError if r.kind == "internals" else RenderError
        return _Compiled(None, (cls, r.text(), r.lineno))
    env = environment()
    try:
        ast = env.parse(source)
        _Guard().visit(ast)
        plain = next(ast.find_all(_STATEFUL_NODES), None) is None
        return _Compiled(env.from_string(ast), plain=plain)
    except TemplateSyntaxError as exc:
        return _Compiled(None, (RenderError, f"template syntax error: {_clean(exc.message)}", exc.lineno))
    except RecursionError:
        return _Compiled(None, (RenderLimitError, "template nests too deeply", None))


class SharedContext:
    """One prospect's context, prepared once to render many templates (see `shared_context`).

    Holds the normalised values and the Jinja parent mapping (the environment's globals with
    the values over them, exactly what `Template.render` builds on every call), so each
    render skips copying globals and context into a new dict. Read-only once made.
    """

    __slots__ = ("values", "parent", "plain_context")

    def __init__(self, values: RenderContext, parent: dict[str, Any]) -> None:
        self.values = values
        self.parent = parent
        self.plain_context: Any = None  # the Jinja context shared by this prospect's plain templates


@functools.cache
def _globals_keys() -> frozenset[str]:
    return frozenset(environment().globals)


def shared_context(context: Mapping[str, Any]) -> SharedContext:
    """`context` prepared for rendering several templates with `render` (same output as passing
    `context` itself). Do not change `context` afterwards: the prepared copy would not see it."""
    values = context if isinstance(context, RenderContext) else _normalise(context)
    return SharedContext(values, dict(environment().globals, **values))


def render(source: str, context: Mapping[str, Any] | SharedContext, *, name: str) -> str:
    """Render template `source` with `context`; `name` labels errors (a path or `step.field`).

    The template is compiled once per distinct source. Missing values in `context` (None,
    empty or blank text) become `Missing`. `context` may be a `shared_context` to render many
    templates of one prospect without rebuilding it. Raises `RenderError` (or its subclasses
    `RenderLimitError`, `TemplateSecurityError`) naming the template and line.
    """
    compiled = _compiled(source)
    if compiled.error is not None:
        cls, message, lineno = compiled.error
        raise cls(name, message, lineno)
    template = compiled.template
    assert template is not None
    shared = context if isinstance(context, SharedContext) else None
    values = None if shared is not None else (
        context if isinstance(context, RenderContext) else _normalise(context))  # type: ignore[arg-type]
    token = _BUDGET.set(_Budget())
    try:
        if shared is not None and compiled.plain:
            ctx = shared.plain_context
            if ctx is None:
                ctx = shared.plain_context = _context(template, shared)
            text = "".join(template.root_render_func(ctx))  # a bounded number of pieces, each charged
            if len(text) > MAX_OUTPUT_CHARS:
                raise _LimitExceeded(f"output is longer than {MAX_OUTPUT_CHARS:,} characters")
            return text
        if shared is not None:
            ctx = _context(template, shared)
        else:
            ctx = template.new_context(values)
        parts: list[str] = []
        size = 0
        for chunk in template.root_render_func(ctx):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise _LimitExceeded(f"output is longer than {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
    except Exception as exc:
        raise _render_error(exc, name, template) from exc
    finally:
        _BUDGET.reset(token)
    return "".join(parts)


def _context(template: jinja2.Template, shared: SharedContext) -> Any:
    """What `template.new_context(values)` builds, without copying globals and values again:
    the parent is only read while rendering (template assignments go to `ctx.vars`)."""
    ctx = template.environment.context_class(template.environment, shared.parent, template.name, template.blocks)
    ctx.globals_keys = _globals_keys()
    return ctx


def _render_error(exc: BaseException, name: str, template: jinja2.Template) -> RenderError:
    lineno = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            lineno = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    if isinstance(exc, _LimitExceeded):
        return RenderLimitError(name, str(exc), lineno)
    if isinstance(exc, RecursionError):
        return RenderLimitError(name, "template recursion is too deep", lineno)
    if isinstance(exc, (OverflowError, MemoryError)):
        return RenderLimitError(name, f"value too large ({exc})", lineno)
    if isinstance(exc, SecurityError):
        return TemplateSecurityError(name, f"template tried to reach Python internals: {exc}", lineno)
    if isinstance(exc, _Unprintable):
        return RenderError(name, str(exc), lineno)
    if isinstance(exc, _NoneOutput):
        return RenderError(name, "an expression has no value (`None`); give it a fallback with `default(…)`", lineno)
    if isinstance(exc, (UndefinedError, _Unsupported)):
        return RenderError(name, str(exc), lineno)
    return RenderError(name, f"{type(exc).__name__}: {exc}", lineno)


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


def _clean(message: str | None) -> str:
    """A Jinja message as one seqc-style sentence: backticks, no final period."""
    text = " ".join((message or "invalid template").split()).rstrip(".")
    text = text.replace("Jinja was looking for the following tags: ", "expected ")
    text = text.replace("The innermost block that needs to be closed is ", "unclosed ")
    clauses = [c[:1].lower() + c[1:] for c in text.split(". ")]
    return re.sub(r"'([^']*)'", r"`\1`", "; ".join(clauses))


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

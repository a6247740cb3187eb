"""The only Jinja environment in seqc: what a template may do, and what it may cost.

Templates are author-owned source; prospect values are data and only ever reach Jinja as
context values, never as template source. This module holds the policy; `compiler.render`
renders with it and `compiler.template_analysis` reads templates against it:

* an immutable sandbox with `StrictUndefined`, no Python internals, no mutating methods,
  a reduced set of filters (text-producing ones charged to a budget);
* a loop/call budget, a capped `range`, a budget for the text a render builds (`~`, `+`,
  `*`, joins, padding), an output cap, numbers of bounded size;
* missing values: a missing optional value is passed to Jinja as `Missing`, an undefined
  that is falsy, equal to `none`, passes `is none`, fails `is defined`, takes `default(…)`,
  compares false, and raises when it would be printed. So it can never render as "None" or
  as "".
"""

from __future__ import annotations

import contextvars
import functools
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2.exceptions import UndefinedError
from jinja2.filters import do_join, do_wordwrap
from jinja2.runtime import Macro, StrictUndefined, Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing as _UNSET

from compiler import ir

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


def _clean(message: str | None) -> str:
    """A Jinja message as one seqc-style sentence: backticks, no final period."""
    text = " ".join((message or "invalid template").split()).rstrip(".")
    text = text.replace("Jinja was looking for the following tags: ", "expected ")
    text = text.replace("The innermost block that needs to be closed is ", "unclosed ")
    clauses = [c[:1].lower() + c[1:] for c in text.split(". ")]
    return re.sub(r"'([^']*)'", r"`\1`", "; ".join(clauses))

"""Rendering a template for one prospect, in the sandbox of `compiler.sandbox`.

`render` refuses what `compiler.template_analysis.analyze` refused (Python internals,
includes, unknown filters, printed functions), then renders with the sandbox's budgets; a
plain template (no loops, macros or assignments) shares one Jinja context per prospect
(`shared_context`). The sandbox's errors, limits and context builder are re-exported here,
so code that renders needs one import.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.visitor import NodeTransformer

from compiler.sandbox import (
    _BUDGET,
    _CONCAT_FILTER,
    _LOOP_FILTER,
    MAX_OUTPUT_CHARS,
    MAX_RANGE,
    MAX_STEPS,
    RESERVED_FIELD_NAMES,
    RESERVED_NAMES,
    Missing,
    MissingValueError,
    RenderContext,
    RenderError,
    RenderLimitError,
    TemplateSecurityError,
    TemplateSyntax,
    _Budget,
    _clean,
    _LimitExceeded,
    _NoneOutput,
    _normalise,
    _Unprintable,
    _Unsupported,
    environment,
    prospect_context,
)
from compiler.template_analysis import analyze

__all__ = [  # with the sandbox's names a renderer needs, so one import serves
    "MAX_OUTPUT_CHARS", "MAX_RANGE", "MAX_STEPS", "RESERVED_NAMES", "RESERVED_FIELD_NAMES",
    "Missing", "MissingValueError", "RenderContext", "RenderError", "RenderLimitError",
    "TemplateSecurityError", "TemplateSyntax", "environment", "prospect_context",
    "render", "SharedContext", "shared_context",
]


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



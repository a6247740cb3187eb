"""Authoring commands: `seqc graph`, `seqc new` and `seqc lsp`.

Registered on the main group with `main.add_command(...)`. Each command imports what it
needs inside its function, so importing this module stays cheap. Exit codes (SPEC §6):
0 ok, 1 error diagnostics (`graph` on a project with errors), 2 usage or I/O errors, raised
as `SeqcError` for the main wrapper to print as one line.
"""

from __future__ import annotations

import sys

import click

from compiler.diagnostics import SeqcError

OK, DIAGNOSTICS = 0, 1


def _emit(text: str) -> None:
    if text:
        click.echo(text, nl=not text.endswith("\n"))


# ---------------------------------------------------------------- graph


@click.command("graph")
@click.argument("path", type=click.Path())
@click.option("--sequence", "sequence_name", metavar="NAME", help="Only this sequence.")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True,
              help="Mermaid (renders in GitHub pull requests) or Graphviz DOT.")
def graph(path: str, sequence_name: str | None, fmt: str) -> None:
    """Draw the branch graph of each sequence (Mermaid or DOT).

    Tracks, steps (day, channel), guards, events into paths and exits, one diagram per
    sequence of the project at PATH (or only --sequence).
    """
    from compiler import api
    from compiler import graph as graph_mod

    _, loaded, diags = api.single_project(path)
    if api.report_errors(loaded, diags):
        sys.exit(DIAGNOSTICS)
    _emit(graph_mod.render_project(loaded.project, fmt=fmt, sequence=sequence_name))
    sys.exit(OK)


# ---------------------------------------------------------------- new


@click.command("new")
@click.argument("name")
@click.option("--tier", type=click.Choice(["smb", "mid_market", "enterprise"]), required=True,
              help="The ICP tier: sets the step count, the timing and the goals.")
@click.option("--channels", metavar="LIST",
              help="Comma-separated channels: email plus any of linkedin, call.  [default: email,linkedin,call, "
                   "less what --target cannot carry]")
@click.option("--target", metavar="TOOL", help="Leave out what this sending tool cannot take (see `seqc targets`), "
                                               "so the project compiles to it as generated.")
def new(name: str, tier: str, channels: str | None, target: str | None) -> None:
    """Start a project NAME/ from the guide's planning framework.

    The tier's step count, email types and timing, a prospect block with the fields the
    channels need, a campaign with compliance and sender placeholders, and starter
    templates. Never overwrites a file.
    """
    from pathlib import Path

    from compiler import skeleton

    fit = skeleton.Fit()
    if target is not None:
        from targets import get_target

        tool = get_target(target)
        if tool.capabilities is not None:
            fit = skeleton.Fit.for_target(tool.name, tool.capabilities)
    files = skeleton.skeleton(name, tier, channels, fit)
    written = skeleton.write(Path(name), files)
    click.echo(f"created {name}/ ({len(written)} files): {', '.join(sorted(files))}", err=True)
    then = f"`seqc check {name}` and `seqc plan {name}`" + (f", `seqc compile {name} --target {target}`" if target else "")
    click.echo(f"next: replace the [placeholders], then {then}", err=True)
    sys.exit(OK)


# ---------------------------------------------------------------- lsp


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default; editors pass it).")
def lsp(stdio: bool) -> None:
    """Run the language server over stdio (needs seqc[lsp]).

    Diagnostics as you type, hover with rule docs and landing days, go to definition and
    completion for .seq files.
    """
    try:
        import pygls  # noqa: F401 - only probing that the optional dependency is there
    except ImportError:
        raise SeqcError("the language server needs pygls: pip install 'seqc[lsp]'") from None
    from compiler.lsp_server import serve

    serve()
    sys.exit(OK)


COMMANDS = (graph, new, lsp)

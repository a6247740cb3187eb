"""The `seqc` command line: thin — load, call the compiler, render, exit with SPEC §6 codes.

Heavy modules (jsonschema, jinja2, holidays) are imported inside the commands that
need them, so `seqc --version` and a plain `seqc check` start fast.
"""

from __future__ import annotations

import enum
import os
import sys

import click

from compiler.diagnostics import SeqcError, origin_of


class ExitCode(enum.IntEnum):
    OK = 0
    DIAGNOSTICS = 1
    USAGE = 2
    INTERNAL = 3


def _version() -> str:
    # The package's own constant (hatch reads it for the wheel): importlib.metadata
    # would add ~15 ms to every start.
    from compiler import __version__

    return __version__


# -- shared options, defined once


def _paths_arg(f):
    return click.argument("paths", nargs=-1, required=True, type=click.Path())(f)


def _path_arg(f):
    return click.argument("path", type=click.Path())(f)


_prospects_opt = click.option("--prospects", "prospects_file", type=click.Path(),
                              help="Prospect file (CSV with a header row, JSON array or JSONL); - reads stdin.")
_out_opt = click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False),
                        help="Write files into this folder (atomically) instead of stdout.")
_strict_opt = click.option("--strict", is_flag=True, help="Exit 1 on any diagnostic (or bad prospect record).")


def _use_color(stream) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _emit(text: str) -> None:
    if text:
        click.echo(text, nl=not text.endswith("\n"))


class _ReaderLeft(Exception):
    """stdout's reader went away (`seqc … | head`). Not an OSError, so click lets it through."""


class _Group(click.Group):
    """Click answers a broken pipe with `exit 1` ("error diagnostics" in SPEC §6) before `run` sees
    it; this group hands it to `run` instead, which exits 0 with nothing said. Broken pipes to
    preview workers never get here (the pool reports those as a failed worker)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _ReaderLeft from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(_version(), "--version", "-V", prog_name="seqc", message="%(prog)s %(version)s")
def main() -> None:
    """seqc — B2B outbound sequences as code: check, plan, compile and preview them."""


# ---------------------------------------------------------------- check


@main.command()
@_paths_arg
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="How to print diagnostics.")
@_strict_opt
@click.option("--select", default="", metavar="CODES", help="Only these codes or prefixes (SEQ2,SEQ401).")
@click.option("--ignore", default="", metavar="CODES", help="Skip these codes or prefixes.")
@click.option("--launch", is_flag=True, help="Print the 10-point pre-launch checklist.")
@_prospects_opt
def check(paths, fmt, strict, select, ignore, launch, prospects_file):
    """Parse PATHS and run every rule; exit 1 on errors."""
    from compiler import api
    from compiler.config import parse_codes

    result = api.check_paths(list(paths), select=parse_codes(select), ignore=parse_codes(ignore),
                             strict=strict, prospects_file=prospects_file)
    _print_diagnostics(result, fmt)
    code = ExitCode.DIAGNOSTICS if result.failed else ExitCode.OK
    if launch:
        from compiler import launch as launch_mod

        report = launch_mod.checklist(result)
        click.echo("\n" + launch_mod.render(report), err=fmt != "text")
        if report.failed:
            code = ExitCode.DIAGNOSTICS
    sys.exit(code)


def _print_diagnostics(result, fmt: str) -> None:
    from compiler import report

    diags = result.diagnostics
    if fmt == "json":
        _emit(report.render_json(diags, files=result.files))
    elif fmt == "github":
        _emit(report.render_github(diags))
    elif fmt == "sarif":
        from compiler.rules import ALL_RULES

        catalog = {r.code: (r.severity, r.summary(), None) for r in ALL_RULES}
        _emit(report.render_sarif(diags, catalog))
    else:
        _emit(report.render_text(diags, result.sources, color=_use_color(sys.stdout), files=result.files))


# ---------------------------------------------------------------- plan


@main.command()
@_path_arg
@click.option("--sequence", "sequence_name", metavar="NAME", help="Only this sequence.")
@click.option("--start", metavar="DATE", help="Enrollment date (default: the campaign's start, else next Monday).")
@click.option("--tz", metavar="ZONE", help="Time zone (default: the sequence's fallback zone).")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
              show_default=True)
def plan(path, sequence_name, start, tz, fmt):
    """The timing table: when every touch of every track lands."""
    from compiler import api

    sys.exit(api.plan_command(path, sequence_name=sequence_name, start=start, tz=tz, fmt=fmt))


# ---------------------------------------------------------------- compile


@main.command("compile")
@_path_arg
@click.option("--target", "-t", "target_name", required=True, metavar="TARGET",
              help="ir, csv, instantly, smartlead, lemlist, replyio, outreach, salesloft, apollo, hubspot.")
@_out_opt
@_prospects_opt
@_strict_opt
@click.option("--hubspot-beta", is_flag=True,
              help="hubspot: also create the sequence through HubSpot's beta sequences API.")
def compile_cmd(path, target_name, out_dir, prospects_file, strict, hubspot_beta):
    """Compile PATH to a sending tool's import payloads."""
    from compiler import api

    options = {"beta": True} if hubspot_beta else {}
    sys.exit(api.compile_command(path, target_name, out_dir=out_dir, prospects_file=prospects_file,
                                 strict=strict, options=options))


# ---------------------------------------------------------------- rules


@main.command()
@click.argument("code", required=False)
def rules(code):
    """List every rule code, or print one rule's doc."""
    from compiler import api

    _emit(api.rules_text(code))


def _register() -> None:
    """Commands kept in their own modules (each imports its heavy parts lazily)."""
    from compiler.cli_authoring import COMMANDS
    from compiler.cli_fmt import fmt
    from compiler.cli_preview import preview
    from compiler.cli_targets import targets_command

    main.add_command(fmt)
    main.add_command(preview)
    main.add_command(targets_command)
    for command in COMMANDS:
        main.add_command(command)


_register()


def run(argv: list[str] | None = None) -> None:
    """Console entry point: no traceback ever reaches the user."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    _exit(_run_main(argv))


def _run_main(argv: list[str] | None) -> int:
    """The exit code of one command, with every way out of it turned into SPEC §6 codes."""
    try:
        _take_over_sigint()
        main.main(args=argv, prog_name="seqc", standalone_mode=False)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else ExitCode.USAGE)
    except click.exceptions.Abort:
        _say("seqc: interrupted")
        return ExitCode.USAGE
    except click.ClickException as e:
        _quietly(e.show)
        return ExitCode.USAGE
    except SeqcError as e:
        _say(f"seqc: error: {_one_line(str(e))}")
        return ExitCode.USAGE
    except KeyboardInterrupt:
        _say("seqc: interrupted")
        return ExitCode.USAGE
    except (_ReaderLeft, BrokenPipeError):  # `seqc … | head`: nothing to say, nobody to say it to
        _silence_stdout()
        return ExitCode.OK
    except OSError as e:
        return _io_error(e)
    except Exception as e:  # noqa: BLE001 - the one place that turns bugs into exit 3
        where = origin_of(e)
        _say(f"seqc: internal error: {type(e).__name__}: {_one_line(str(e))}{where} (please report this)")
        return ExitCode.INTERNAL
    return ExitCode.OK


def _take_over_sigint() -> None:
    # `compiler.main` exits quietly on a Ctrl-C during the imports; from here on a
    # KeyboardInterrupt reaches `_run_main`, which cleans up and says "interrupted".
    import signal

    from compiler import quiet_interrupt

    if signal.getsignal(signal.SIGINT) is quiet_interrupt:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _io_error(e: OSError) -> int:
    """An OS error no command turned into a SeqcError: exit 2, with stdout silenced.

    Without a file name it came from writing stdout (a full disk, `/dev/full`): Python would
    retry the buffered bytes at exit and print "Exception ignored", so stdout goes to devnull.
    """
    reason = e.strerror or str(e) or type(e).__name__
    if e.filename is not None:
        _say(f"seqc: error: {_one_line(f'{e.filename}: {reason}')}")
    else:
        _silence_stdout()
        _say(f"seqc: error: cannot write output: {_one_line(reason)}")
    return ExitCode.USAGE


def _exit(code: int) -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as e:
        code = _io_error(e)
    except ValueError:  # stdout was closed
        _silence_stdout()
    sys.exit(int(code))


def _say(line: str) -> None:
    """One line on stderr; if stderr itself is gone there is nobody left to tell."""
    _quietly(lambda: click.echo(line, err=True))


def _quietly(show) -> None:
    try:
        show()
    except (OSError, ValueError):
        pass


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


if __name__ == "__main__":  # pragma: no cover
    run()

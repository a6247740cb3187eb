"""`seqc fmt PATH… [--check] [--diff]`: the command, and the file handling around `compiler.fmt`.

Registered on the main group with `main.add_command(fmt)`. The formatter itself (lark, the
grammar) is imported inside the command, so importing this module stays cheap.

Exit codes (SPEC §6): 0 nothing to change (or everything written); 1 a file has syntax
errors (its SEQ001s are printed and it is left untouched), or `--check` found a file that
would change; 2 a path does not exist or a file cannot be read or written; 3 the formatter
refused a file because its result failed a check (an internal error: the file is untouched).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # pathlib costs ~3 ms of every start; only `seqc fmt` needs it
    from pathlib import Path

OK, CHANGES, USAGE, INTERNAL = 0, 1, 2, 3


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and name the files that would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of the changes.")
def fmt(paths: tuple[str, ...], check: bool, show_diff: bool) -> None:
    """Rewrite PATHS (.seq files, or folders searched for them) in the canonical layout."""
    from compiler import report
    from compiler.diagnostics import SeqcError
    from compiler.fmt import unified_diff

    files, missing = collect_files(list(paths))
    code = OK
    for given in missing:
        click.echo(f"seqc: error: {given}: no such file or folder", err=True)
        code = USAGE
    write = not (check or show_diff)
    changed = unchanged = 0
    syntax: list = []
    sources: dict[str, str] = {}
    for path, display in files:
        try:
            result = format_path(path, display, write=write)
        except (SeqcError, OSError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            click.echo(f"seqc: error: {display}: cannot be written ({reason})"
                       if isinstance(e, OSError) else f"seqc: error: {reason}", err=True)
            code = max(code, USAGE)
            continue
        if result.error:
            click.echo(f"seqc: internal error: {result.error}; the file is left as it was (please report this)",
                       err=True)
            code = INTERNAL
        elif result.diagnostics:
            syntax.extend(result.diagnostics)
            sources[display] = result.original
            code = max(code, CHANGES)
        elif result.changed:
            changed += 1
            if show_diff:
                click.echo(unified_diff(result), nl=False)
            if check:
                click.echo(f"would reformat {display}", err=True)
                code = max(code, CHANGES)
            elif write:
                click.echo(f"reformatted {display}", err=True)
        else:
            unchanged += 1
    if syntax:
        color = bool(getattr(sys.stderr, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")
        click.echo(report.render_text(syntax, sources, color=color, files=len(sources)), err=True, nl=False)
    click.echo(_summary(changed, unchanged, len(sources), done=write), err=True)
    sys.exit(code)


def _summary(changed: int, unchanged: int, failed: int, *, done: bool) -> str:
    def n(count: int, what: str) -> str:
        return f"{count} file{'' if count == 1 else 's'} {what}"

    parts = [n(changed, "reformatted" if done else "would be reformatted"),
             n(unchanged, "left unchanged" if done else "already formatted")]
    if failed:
        parts.append(n(failed, "with syntax errors"))
    return ", ".join(parts)


# ---------------------------------------------------------------- files


def collect_files(paths: list[str]) -> tuple[list[tuple[Path, str]], list[str]]:
    """The `.seq` files named by `paths`: files as given, folders searched recursively.

    Folders are walked in sorted order, skipping hidden folders and files. Returns the
    `(path, display path)` pairs, each file once, and the paths that do not exist.
    """
    from pathlib import Path

    files: list[tuple[Path, str]] = []
    missing: list[str] = []
    seen: set[Path] = set()

    def add(p: Path, display: str) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            files.append((p, display))

    for given in paths:
        p = Path(given)
        shown = given.replace("\\", "/").rstrip("/") or "/"
        if p.is_file():
            add(p, shown)
        elif p.is_dir():
            for folder, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                rel = Path(folder).relative_to(p).as_posix()
                for name in sorted(names):
                    if name.endswith(".seq") and not name.startswith("."):
                        parts = [x for x in (shown, rel, name) if x not in ("", ".")]
                        add(Path(folder) / name, "/".join(parts).replace("//", "/"))
        else:
            missing.append(given)
    return files, missing


def format_path(path: Path, display: str | None = None, *, write: bool = False):
    """Read, format and (with `write`) atomically rewrite one `.seq` file when it changes.

    Returns a `compiler.fmt.FormatResult`. When the file was formatted, `original` is its text
    as stored, so a BOM or CRLF line ends count as a change; otherwise it is the text the
    diagnostics point into.

    Raises:
        compiler.diagnostics.SeqcError: the file cannot be read.
        compiler.diagnostics.SeqcError: the file cannot be written.
    """
    from compiler.fmt import FormatResult, format_source
    from compiler.project import read_source

    display = display or path.as_posix()
    text, problem = read_source(path, display)
    if text is None:
        return FormatResult(display, "", None, (problem,) if problem else ())
    result = format_source(text, display, base_dir=path.parent)
    if result.formatted is not None:
        stored = path.read_bytes().decode("utf-8")
        result = FormatResult(display, stored, result.formatted)
    if write and result.changed:
        from compiler.output import write_file

        write_file(path, result.formatted)
    return result

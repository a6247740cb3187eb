"""Shared helpers for the preview tests (run `seqc preview` in-process; small IR builders)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from compiler.cli import main, run
from compiler.cli_preview import preview

if "preview" not in main.commands:  # the lead registers it in compiler/cli.py; tests must not depend on that
    main.add_command(preview)

EXAMPLE = "examples/outbound"
EXAMPLE_PROSPECTS = "examples/outbound/prospects.csv"
CASES = Path("tests/cases/preview")
MINI = str(CASES / "mini")
MINI_PROSPECTS = str(CASES / "mini" / "prospects.csv")
MINI_EVENTS = str(CASES / "mini" / "events.csv")
HOSTILE = str(CASES / "hostile.csv")


@dataclass
class Result:
    code: int
    out: str
    err: str
    raw: bytes = b""

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def seqc(*args: str) -> Result:
    """Run `seqc ARGS` in-process through the console entry point (exit codes and all)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            run(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        raw = out.getvalue()
    result = Result(code, raw.decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"), raw)
    assert "Traceback" not in result.out + result.err, result.err
    return result


def test_helpers_register_the_command():
    assert "preview" in main.commands

"""`seqc preview`: every prospect's touches, routed, scheduled and rendered (registered by `compiler.cli`).

Usage errors and file problems raise `SeqcError` (exit 2, one line, via `compiler.cli.run`);
project errors print as diagnostics (exit 1); bad records are reported and skipped unless
`--strict` (exit 1). The last stderr line always counts the prospects.
"""

from __future__ import annotations

import datetime as dt
import sys

import click

from compiler.diagnostics import SeqcError


@click.command("preview")
@click.argument("path", type=click.Path())
@click.option("--prospects", "prospects_file", required=True, type=click.Path(),
              help="Prospect file (CSV with a header row, JSON array or JSONL); - reads stdin.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl", "eml", "mbox", "html"]), default="text",
              show_default=True, help="text and jsonl print (or write DIR/preview.*); eml, mbox and html write files.")
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False),
              help="Write into this folder (atomically) instead of stdout.")
@click.option("--events", "events_file", type=click.Path(),
              help="CSV of prospect,step,event,date: resolve guards and paths as if these happened.")
@click.option("--start", metavar="DATE", help="First enrollment day (default: the campaign's start, else next Monday).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Only the first N valid prospects.")
@click.option("--sample", type=click.IntRange(min=1), metavar="N",
              help="A deterministic sample of N prospects (the same N for the same addresses).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Worker processes (0: one per CPU).")
@click.option("--strict", is_flag=True, help="Exit 1 on any bad record or render error, writing nothing.")
def preview(path, prospects_file, fmt, out_dir, events_file, start, limit, sample, jobs, strict):
    """Preview every prospect's touches: route, send times, rendered subject and body."""
    sys.exit(preview_command(path, prospects_file, fmt=fmt, out_dir=out_dir, events_file=events_file,
                             start=start, limit=limit, sample=sample, jobs=jobs, strict=strict))


def preview_command(path: str, prospects_file: str, *, fmt: str = "text", out_dir: str | None = None,
                    events_file: str | None = None, start: str | None = None, limit: int | None = None,
                    sample: int | None = None, jobs: int = 1, strict: bool = False,
                    today: dt.date | None = None) -> int:
    """`seqc preview` as a function; returns the exit code (SeqcError for usage and I/O problems)."""
    from compiler import api, plan
    from compiler.preview.formats import RunInfo
    from compiler.preview.model import Sender
    from compiler.preview.runner import Options, default_jobs, run

    if limit is not None and sample is not None:
        raise SeqcError("give --limit or --sample, not both")
    start_date = api.parse_date_option(start, "--start")
    _, loaded, diags = api.single_project(path)
    if api.report_errors(loaded, diags):
        return 1
    project = loaded.project
    campaign = project.campaign
    begin = start_date or plan.default_start(campaign.start if campaign else None, today or dt.date.today())
    if (campaign is None or not campaign.routes) and len(project.sequences) != 1:
        raise SeqcError(f"{path}: {len(project.sequences)} sequences and no campaign `route` to choose "
                        "between them; add a `route` block")
    info = RunInfo(
        project=project.root, campaign=campaign.name if campaign else None, sender=Sender.from_campaign(campaign),
        start=begin, events=events_file, sequences=tuple((s.name, s.title) for s in project.sequences),
    )
    opts = Options(
        path=path, prospects=prospects_file, fmt=fmt, out_dir=out_dir, limit=limit, sample=sample,
        jobs=default_jobs(jobs), events=events_file, start=begin, strict=strict,
        progress=bool(getattr(sys.stderr, "isatty", lambda: False)()),
    )
    return run(opts, project, info, echo=lambda line: click.echo(line, err=True),
               stdout=_stdout_bytes)


def _stdout_bytes():
    sys.stdout.flush()
    return getattr(sys.stdout, "buffer", sys.stdout)

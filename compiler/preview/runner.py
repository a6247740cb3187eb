"""The preview pipeline: stream records, preview them in runs, write output in input order, count.

    --jobs 1:  prospects file ─read+validate─▶ runs of 128 records ─▶ Work.preview ─▶ Done
    --jobs N:  prospects file ─slices (byte ranges)─▶ pool workers: read, validate, Work.preview ─▶ Done
                                                                                    (in input order)
    Done: stderr lines (bad records, unrouted, render errors) ─▶ echo;  text and files ─▶ sink

Memory stays flat: runs are bounded, the pool keeps two slices per worker in flight, and
every sink streams. See `work` for the unit of work and `pool` for the worker protocol.
"""

from __future__ import annotations

import datetime as dt
import heapq
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from compiler import ir
from compiler.diagnostics import SeqcError
from compiler.preview.formats import Format, RunInfo
from compiler.preview.model import digest
from compiler.preview.sink import FileSink, Sink, StreamSink, TreeSink, check_replaceable
from compiler.preview.touches import enrollment_date
from compiler.preview.work import Done, Job, Work
from compiler.prospects import Counts, Record, RecordError, show
from compiler.prospects.reading import Source, open_prospects

RUN = 128  # records previewed between writes with --jobs 1
SLICE = 512  # records per slice handed to a worker


@dataclass
class Options:
    path: str
    prospects: str
    fmt: str = "text"
    out_dir: str | None = None
    limit: int | None = None
    sample: int | None = None
    jobs: int = 1
    events: str | None = None
    start: dt.date | None = None
    strict: bool = False
    progress: bool = False


# ---------------------------------------------------------------- reading


def _runs(items: Iterator[Record | RecordError], size: int) -> Iterator[list[Record | RecordError]]:
    """Consecutive runs of about `size` items, cut only after a valid record (a bad row's
    errors stay together, so each run counts its rows once)."""
    run: list[Record | RecordError] = []
    for item in items:
        run.append(item)
        if len(run) >= size and type(item) is Record:
            yield run
            run = []
    if run:
        yield run


def _serial(work: Work) -> Iterator[Done]:
    index = 0
    for run in _runs(work.records(), RUN):
        done = work.preview(run, index)
        yield done
        if done.stopped:
            return
        index += done.counts.valid


def _sampled(opts: Options, work: Work) -> tuple[Done, list[list[tuple[Record, dt.date]]]]:
    """`--sample N`: the N valid records whose address hashes lowest, stable whatever the file order.

    Returns the reading's own `Done` (bad-record lines and read counts) and the chosen records,
    each with the enrollment date of its place in the file, in runs."""
    heap: list[tuple[int, int, Record, dt.date]] = []
    size = opts.sample or 0
    done, index = Done(), 0
    for item in work.records():
        done.counts.add(item)
        if type(item) is RecordError:
            done.lines.append(item.line())
            continue
        record: Record = item  # type: ignore[assignment]
        email = record.data.get("email")
        h = int(digest(email.strip().lower() if isinstance(email, str) else str(record.row), size=8), 16)
        entry = (-h, -record.row, record, enrollment_date(work.start, work.per_day, index))
        index += 1
        if len(heap) < size:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)
    chosen = [(record, enrolled) for _, _, record, enrolled in sorted(heap, key=lambda e: e[2].row)]
    return done, [chosen[i:i + RUN] for i in range(0, len(chosen), RUN)]


def _results(opts: Options, work: Work, job: Job, source: Source, sink: Sink) -> Iterator[Done]:
    """Every run's `Done`, in input order, from this process or from a pool of workers (which
    write the main stream into the sink's file themselves when it has one)."""
    if opts.sample:
        read, runs = _sampled(opts, work)
        yield read
        if opts.jobs <= 1:
            yield from (work.preview_chosen(run) for run in runs)
            return
        tasks = [("chosen", run) for run in runs]
    elif opts.jobs <= 1:
        yield from _serial(work)
        return
    else:
        from compiler.prospects.slicing import slices

        tasks = (("slice", piece) for piece in slices(source, SLICE))  # type: ignore[assignment]
    from compiler.preview.pool import Pool

    shared = sink.shared_file() if hasattr(os, "pwrite") else None  # no pwrite on Windows
    pool = Pool(opts.jobs, work, job, output=shared)
    try:
        yield from pool.run(tasks, reserve=sink.reserve if shared else None)
    except BaseException:  # GeneratorExit included: the consumer stopped early
        pool.terminate()
        raise
    pool.close()


# ---------------------------------------------------------------- running


def open_sink(opts: Options, fmt: Format, stdout: Callable[[], object]) -> Sink:
    if opts.out_dir is None:
        if fmt.needs_dir:
            raise SeqcError(f"--format {fmt.name} writes a folder of files; give -o DIR")
        return StreamSink(stdout())  # type: ignore[arg-type]
    folder = Path(opts.out_dir)
    if fmt.tree:
        return TreeSink(folder, fmt.stream_file)
    if folder.exists() and not folder.is_dir():
        raise SeqcError(f"{show(opts.out_dir)}: exists and is not a folder")
    assert fmt.stream_file is not None
    return FileSink(folder / fmt.stream_file)


def run(opts: Options, project: ir.Project, info: RunInfo, *, echo: Callable[[str], None],
        stdout: Callable[[], object]) -> int:
    """Run a preview; returns the exit code. Every stderr line goes through `echo`."""
    if project.prospect is None:
        raise SeqcError("preview needs a `prospect` block in the project")
    source = open_prospects(opts.prospects, project.prospect)
    job = Job(opts.path, opts.events, opts.fmt, info, opts.limit, source)
    work = Work(project, job)
    events = work.previewer.events
    if events is not None:
        for line in events.error_lines():
            echo(line)
        if opts.strict and events.errors:
            return 1
    fmt = work.format
    if fmt.tree and opts.out_dir is not None:
        check_replaceable(Path(opts.out_dir))
    counts = Counts()
    if opts.strict and _any_bad(work, counts, echo):
        echo(counts.line())
        return 1
    counts = Counts()
    sink = open_sink(opts, fmt, stdout)
    progress = Progress(opts.sample or opts.limit, echo) if opts.progress else None
    try:
        sink.write(fmt.begin())
        for done in _results(opts, work, job, source, sink):
            for line in done.lines:
                echo(line)
            counts.merge(done.counts)
            sink.write(done.stream)
            for rel, data in done.files:
                sink.add_file(rel, data)
            if progress is not None:
                progress.tick(done.previewed)
        sink.write(fmt.end(counts))
        for rel, data in fmt.end_files(counts):
            sink.add_file(rel, data)
        if progress is not None:
            progress.done()
        if opts.strict and counts.rendered < counts.routed:  # a render or schedule error
            sink.abort()
            echo(counts.line())
            return 1
        where = sink.commit()
    except BaseException:
        sink.abort()
        raise
    if where is not None:
        # Say it the way the user wrote it: an absolute path would make the output depend
        # on the folder seqc ran from.
        shown = opts.out_dir if fmt.tree else f"{str(opts.out_dir).rstrip('/')}/{fmt.stream_file}"
        echo(f"wrote {shown}")
    echo(counts.line())
    return 0


def _any_bad(work: Work, counts: Counts, echo: Callable[[str], None]) -> bool:
    """`--strict`: check every record before any output is written."""
    bad = False
    for item in work.records():
        counts.add(item)
        if type(item) is RecordError:
            echo(item.line())
            bad = True
    return bad


class Progress:
    """A one-line progress display on stderr (only used when stderr is a terminal)."""

    def __init__(self, total: int | None, echo: Callable[[str], None]) -> None:
        self.total = total
        self.count = 0
        self.started = self.last = time.monotonic()
        self.stream = sys.stderr

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            rate = self.count / max(now - self.started, 1e-9)
            if self.total:
                width = 30
                filled = int(width * min(self.count / self.total, 1))
                text = f"[{'#' * filled}{'.' * (width - filled)}] {self.count:,}/{self.total:,}"
            else:
                text = f"{self.count:,} prospects"
            self.stream.write(f"\r{text}  {rate:,.0f}/s ")
            self.stream.flush()

    def done(self) -> None:
        self.stream.write("\r\x1b[K")
        self.stream.flush()


def default_jobs(jobs: int) -> int:
    """`--jobs 0` means one worker per CPU."""
    return jobs if jobs > 0 else (os.cpu_count() or 1)

"""The preview pipeline: stream records, fan out to workers, write output in input order, count.

    prospects file ─read+validate (main)─▶ batches ─▶ workers: route, schedule, render, format
                                                         │ (results in input order)
    stderr: bad records, unrouted, render errors ◀───────┴─▶ sink: stdout / file / folder

Memory stays flat: the main process keeps a bounded window of batches in flight (jobs × 4),
and every sink streams. Workers rebuild the project IR, the events file and the compiled
templates from paths once (`_init_worker`); per record only the record itself is pickled.
With `--jobs 1` everything runs in this process.
"""

from __future__ import annotations

import collections
import datetime as dt
import heapq
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from compiler import ir
from compiler.diagnostics import SeqcError
from compiler.preview.events import EventLog
from compiler.preview.formats import Format, RunInfo, get_format
from compiler.preview.model import digest
from compiler.preview.sink import FileSink, Sink, StreamSink, TreeSink, check_replaceable
from compiler.preview.touches import Previewer, enrollment_date
from compiler.prospects import Counts, Record, RecordError, load_prospects, show

BATCH = 128

# (row, email, routed, error, stream text (UTF-8 bytes from a worker process), files)
Result = tuple[int, str, bool, "str | None", "str | bytes", list]


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to rebuild the previewer (small and picklable)."""

    project_path: str
    events_path: str | None
    fmt: str
    info: RunInfo


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


# ---------------------------------------------------------------- workers

_WORKER: tuple[Previewer, Format] | None = None


def build(project: ir.Project, job: Job) -> tuple[Previewer, Format]:
    events = EventLog.load(job.events_path, project) if job.events_path else None
    return Previewer(project, events=events), get_format(job.fmt, job.info)


def _init_worker(job: Job) -> None:
    global _WORKER
    from compiler.project import discover, load

    _WORKER = build(load(discover([job.project_path])[0]).project, job)


def process(worker: tuple[Previewer, Format], batch: list[tuple[Record, dt.date]]) -> list[Result]:
    previewer, fmt = worker
    out: list[Result] = []
    for record, enrolled in batch:
        p = previewer.preview(record, enrolled)
        chunk = fmt.prospect(p)
        out.append((p.row, p.email, p.routed, p.error, chunk.stream, chunk.files))
    return out


def _work(batch: list[tuple[Record, dt.date]]) -> list[Result]:
    """In a worker process: the batch's results with the stream text already UTF-8 (the main process
    writes bytes as they come, and pickling bytes is a copy where a str is encoded and decoded)."""
    assert _WORKER is not None
    return [(row, email, routed, error, stream.encode("utf-8"), files)
            for row, email, routed, error, stream, files in process(_WORKER, batch)]


# ---------------------------------------------------------------- reading


class Reader:
    """Valid records with their enrollment dates, in batches; bad records become stderr lines in order."""

    def __init__(self, opts: Options, project: ir.Project, start: dt.date, counts: Counts) -> None:
        self.opts = opts
        self.project = project
        self.start = start
        self.per_day = project.campaign.enroll_per_day if project.campaign else None
        self.counts = counts
        self.pending: list[str] = []  # error lines not yet attached to a record

    def _stream(self) -> Iterator[tuple[Record, dt.date, list[str]]]:
        assert self.project.prospect is not None
        index = 0
        for item in load_prospects(self.opts.prospects, self.project.prospect):
            self.counts.add(item)
            if isinstance(item, RecordError):
                self.pending.append(item.line())
                continue
            if self.opts.limit is not None and index >= self.opts.limit:
                self.counts.read -= 1  # not read for this preview
                self.counts.valid -= 1
                break
            errors, self.pending = self.pending, []
            yield item, enrollment_date(self.start, self.per_day, index), errors
            index += 1

    def _sampled(self) -> Iterator[tuple[Record, dt.date, list[str]]]:
        """The `--sample N` records whose address hashes lowest: stable whatever the file order."""
        heap: list[tuple[int, int, Record, dt.date]] = []
        size = self.opts.sample or 0
        for record, enrolled, errors in self._stream():
            self.pending[:0] = errors
            email = record.data.get("email")
            h = int(digest(email.strip().lower() if isinstance(email, str) else str(record.row), size=8), 16)
            entry = (-h, -record.row, record, enrolled)
            if len(heap) < size:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)
        chosen = sorted(heap, key=lambda e: e[2].row)
        errors, self.pending = self.pending, []
        for i, (_, _, record, enrolled) in enumerate(chosen):
            yield record, enrolled, errors if i == 0 else []

    def batches(self) -> Iterator[tuple[list[tuple[Record, dt.date]], list[list[str]]]]:
        batch: list[tuple[Record, dt.date]] = []
        errors: list[list[str]] = []
        for record, enrolled, errs in (self._sampled() if self.opts.sample else self._stream()):
            batch.append((record, enrolled))
            errors.append(errs)
            if len(batch) >= BATCH:
                yield batch, errors
                batch, errors = [], []
        if batch:
            yield batch, errors


# ---------------------------------------------------------------- running


def _results(reader: Reader, job: Job, worker: tuple[Previewer, Format], jobs: int
             ) -> Iterator[tuple[list[str], Result]]:
    if jobs <= 1:
        for batch, errors in reader.batches():
            yield from zip(errors, process(worker, batch))
        return
    global _WORKER
    if sys.platform.startswith("linux"):
        # forked workers inherit the previewer this process already built (no second load of
        # the project and its templates in each worker)
        _WORKER = worker
        pool_of = multiprocessing.get_context("fork").Pool(processes=jobs)
    else:
        pool_of = multiprocessing.get_context("spawn").Pool(processes=jobs, initializer=_init_worker, initargs=(job,))
    with pool_of as pool:
        window: collections.deque = collections.deque()
        for batch, errors in reader.batches():
            window.append((errors, pool.apply_async(_work, (batch,))))
            if len(window) >= jobs * 4:
                errs, pending = window.popleft()
                yield from zip(errs, pending.get())
        while window:
            errs, pending = window.popleft()
            yield from zip(errs, pending.get())


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
    job = Job(opts.path, opts.events, opts.fmt, info)
    worker = build(project, job)
    events = worker[0].events
    if events is not None:
        for line in events.error_lines():
            echo(line)
        if opts.strict and events.errors:
            return 1
    fmt = worker[1]
    if fmt.tree and opts.out_dir is not None:
        check_replaceable(Path(opts.out_dir))
    counts = Counts()
    if opts.strict and _any_bad(opts, project, counts, echo):
        echo(counts.line())
        return 1
    counts = Counts()
    sink = open_sink(opts, fmt, stdout)
    progress = Progress(opts.sample or opts.limit, echo) if opts.progress else None
    failed = False
    try:
        sink.write(fmt.begin())
        reader = Reader(opts, project, info.start, counts)
        for errors, (row, email, routed, error, stream, files) in _results(reader, job, worker, opts.jobs):
            for line in errors:
                echo(line)
            if not routed:
                counts.unrouted += 1
                echo(f"unrouted: row {row} ({show(email)})")
            else:
                counts.routed += 1
                if error:
                    failed = True
                    echo(f"row {row}: {show(error, 300)}")
                else:
                    counts.rendered += 1
            sink.write(stream)
            for rel, data in files:
                sink.add_file(rel, data)
            if progress is not None:
                progress.tick()
        for line in reader.pending:
            echo(line)
        sink.write(fmt.end(counts))
        for rel, data in fmt.end_files(counts):
            sink.add_file(rel, data)
        if progress is not None:
            progress.done()
        if failed and opts.strict:
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


def _any_bad(opts: Options, project: ir.Project, counts: Counts, echo: Callable[[str], None]) -> bool:
    """`--strict`: check every record before any output is written."""
    assert project.prospect is not None
    bad = False
    for item in load_prospects(opts.prospects, project.prospect):
        counts.add(item)
        if isinstance(item, RecordError):
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

    def tick(self) -> None:
        self.count += 1
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

"""A run of records in, their output and stderr lines out: the unit of preview work.

The same `Work.preview` runs in `--jobs 1` (in this process) and in every worker process
(on a slice of the file), so a run's output cannot depend on how it was split. A run's
`Done` holds everything the main process needs in input order: the stream text, the files,
the stderr lines (bad records, unrouted prospects, render errors) and the counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from compiler import ir
from compiler.preview.events import EventLog
from compiler.preview.formats import Format, RunInfo, get_format
from compiler.preview.touches import Previewer, enrollment_date
from compiler.prospects import Counts, Record, RecordError, show
from compiler.prospects.fields import RecordValidator, compile_validator
from compiler.prospects.reading import Source, validated
from compiler.prospects.slicing import Slice, slice_records


@dataclass(slots=True)
class Done:
    """The output of a run of records, in input order."""

    lines: list[str] = field(default_factory=list)  # stderr, in order
    counts: Counts = field(default_factory=Counts)
    stream: str | bytes = ""
    files: list[tuple[str, bytes]] = field(default_factory=list)
    stopped: bool = False  # `--limit` reached: nothing after this run counts

    @property
    def previewed(self) -> int:
        """Records routed or not (the progress ticks)."""
        return self.counts.routed + self.counts.unrouted


@dataclass(frozen=True)
class Job:
    """What a spawned worker needs to rebuild a `Work` (small and picklable)."""

    project_path: str
    events_path: str | None
    fmt: str
    info: RunInfo
    limit: int | None
    source: Source | None


class Work:
    """One process's previewer, format and validator, and the run's enrollment rule."""

    def __init__(self, project: ir.Project, job: Job) -> None:
        events = EventLog.load(job.events_path, project) if job.events_path else None
        self.previewer = Previewer(project, events=events)
        self.format: Format = get_format(job.fmt, job.info)
        self.start = job.info.start
        self.per_day = project.campaign.enroll_per_day if project.campaign else None
        self.limit = job.limit
        self.source = job.source
        assert project.prospect is not None
        self._validator: RecordValidator = compile_validator(project.prospect)

    @classmethod
    def rebuild(cls, job: Job) -> Work:
        """In a spawned worker: load the project again from its path."""
        from compiler.project import discover, load

        return cls(load(discover([job.project_path])[0]).project, job)

    def records(self) -> Iterator[Record | RecordError]:
        """The whole prospect file, validated (what `--jobs 1`, `--sample` and `--strict` read)."""
        assert self.source is not None
        return validated(self.source.records(), self._validator)

    def read(self, piece: Slice) -> list[Record | RecordError]:
        """A slice of the file parsed and validated (the part of the work that needs no enrollment index)."""
        assert self.source is not None
        return list(validated(slice_records(self.source, piece), self._validator))

    def preview(self, items: Iterable[Record | RecordError], index: int) -> Done:
        """Preview valid records in order, the first being the `index`-th valid record of the file."""
        done = Done()
        counts, lines, stream = done.counts, done.lines, []
        limit = self.limit
        for item in items:
            if type(item) is RecordError:
                counts.add(item)
                lines.append(item.line())
                continue
            if limit is not None and index >= limit:
                done.stopped = True
                break
            counts.add(item)
            self._one(item, enrollment_date(self.start, self.per_day, index), done, stream)  # type: ignore[arg-type]
            index += 1
        done.stream = "".join(stream)
        return done

    def preview_chosen(self, chosen: Iterable[tuple[Record, dt.date]]) -> Done:
        """Preview records already read and counted (`--sample`), each with its enrollment date."""
        done, stream = Done(), []
        for record, enrolled in chosen:
            self._one(record, enrolled, done, stream)
        done.stream = "".join(stream)
        return done

    def _one(self, record: Record, enrolled: dt.date, done: Done, stream: list[str]) -> None:
        p = self.previewer.preview(record, enrolled)
        chunk = self.format.prospect(p)
        counts = done.counts
        if not p.routed:
            counts.unrouted += 1
            done.lines.append(f"unrouted: row {p.row} ({show(p.email)})")
        else:
            counts.routed += 1
            if p.error:
                done.lines.append(f"row {p.row}: {show(p.error, 300)}")
            else:
                counts.rendered += 1
        stream.append(chunk.stream)
        if chunk.files:
            done.files.extend(chunk.files)

"""`preview --jobs N`: worker processes that read, validate, preview and write slices of the prospect file.

The main process only finds where slices of ~512 records end, hands them out, and puts the
results in input order. One duplex pipe per worker, no threads:

    main ─("slice", k, Slice)───▶ worker: read + validate slice k ─("counted", k, valid)─▶ main
    main ─("base", k, index)────▶ worker: preview slice k          ─("done", k, Done)────▶ main
    main ─("chosen", k, spool)──▶ worker: preview records the main process read (`--sample`)
    main ─("spooled slice", k, spool): a JSON array's slice, decoded by the main process

Two steps because, with `enroll N per day`, a prospect's enrollment date depends on how many
valid records come before it in the file, which only the workers that validated the earlier
slices know. Every worker holds two slices and validates a new one the moment it arrives,
before rendering, so the base of a slice is nearly always known when the worker wants it.

When the output is one file (`-o DIR` with jsonl or text), the text does not come back at all:
the worker answers ("held", k, (Done, size)), the main process reserves `size` bytes of the
output in input order and answers ("at", k, offset), and the worker writes them there itself
and says ("written", k). Otherwise the text comes back inside the `Done`.

Messages to a worker are a few bytes (slices are byte ranges; records the main process
decoded go through a spool file), so the main process never blocks writing to a worker that
is itself blocked writing a large result back: no deadlock, whatever the sizes.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait

from compiler.diagnostics import SeqcError, origin_of
from compiler.preview.work import Done, Job, Work
from compiler.prospects import Record
from compiler.prospects.slicing import Slice

AHEAD = 2  # slices held by each worker
# fork shares the Work already built; elsewhere (macOS, Windows) each worker rebuilds it
START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"

_FORKED: Work | None = None  # the main process's Work, inherited by forked workers

# ("slice", Slice): read and validate in the worker, then preview from a base;
# ("chosen", [(Record, enrollment date)]): records the main process read (`--sample`)
Task = tuple[str, object]


class WorkerFailed(RuntimeError):
    """A worker raised something other than a `SeqcError`: a bug, reported as an internal error
    with the worker's ` at FILE:LINE` as its `origin`."""

    def __init__(self, message: str, origin: str = "") -> None:
        super().__init__(message)
        self.origin = origin


class Pool:
    """`jobs` worker processes; `run` previews tasks on them and yields their `Done`s in input order.

    `output`: (path, name to show) of a file the workers write the main stream into themselves,
    at offsets the main process reserves (`Sink.shared_file`); None: the text comes back in each `Done`.
    """

    def __init__(self, jobs: int, work: Work, job: Job, output: tuple[str, str] | None = None) -> None:
        global _FORKED
        fd, self.spool_path = tempfile.mkstemp(prefix="seqc-preview-", suffix=".spool")
        self.spool = os.fdopen(fd, "wb")
        self.output = output
        ctx = multiprocessing.get_context(START_METHOD)
        rebuild: Job | None = job
        if START_METHOD == "fork":
            # forked workers inherit the Work this process already built (no second load of
            # the project and its templates in each worker)
            _FORKED = work
            rebuild = None
        self.conns: list[Connection] = []
        self.procs: list = []
        self.proc_of: dict[Connection, object] = {}  # for the exit code of a worker that is gone
        self.load: dict[Connection, int] = {}  # tasks handed to each worker and not done
        try:
            for _ in range(jobs):
                mine, theirs = ctx.Pipe(duplex=True)
                proc = ctx.Process(target=_serve, args=(theirs, rebuild, self.spool_path, output), daemon=True)
                proc.start()
                theirs.close()
                self.conns.append(mine)
                self.procs.append(proc)
                self.proc_of[mine] = proc
        except BaseException:
            self.terminate()
            raise
        finally:
            _FORKED = None

    def _spooled(self, value: object) -> tuple[int, int]:
        """Write a large payload where workers can read it; the message only says where."""
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        at = self.spool.tell()
        self.spool.write(data)
        self.spool.flush()
        return at, len(data)

    def run(self, tasks: Iterable[Task], reserve: Callable[[int], int] | None = None) -> Iterator[Done]:
        """The `Done` of every task in order; with `output`, `reserve(size)` places each one's text."""
        tasks = iter(tasks)
        owner: dict[int, Connection] = {}
        load = self.load = {conn: 0 for conn in self.conns}
        counted: dict[int, int | None] = {}  # valid records per slice; None: no base needed
        finished: dict[int, Done] = {}
        held: dict[int, tuple[Connection, int]] = {}  # text a worker holds until told where to write it
        unwritten = 0
        handed = based = out = base = 0
        exhausted = False

        def send(conn: Connection, message: tuple) -> None:
            _send(conn, self.proc_of[conn], message)

        window = AHEAD * 2 * len(self.conns)  # slices handed out and not yet yielded, at most

        def top_up() -> None:
            """Give every worker its AHEAD slices, unless the oldest unfinished slice holds the
            window up (a slow slice must not let the others pile up results behind it)."""
            for conn in self.conns:
                while load[conn] < AHEAD and handed - out < window and not exhausted:
                    hand_out(conn)

        def hand_out(conn: Connection) -> None:
            nonlocal handed, exhausted
            task = next(tasks, None)
            if task is None:
                exhausted = True
                return
            kind, payload = task
            if kind == "chosen":
                send(conn, ("chosen", handed, self._spooled(payload)))
                counted[handed] = None
            elif isinstance(payload, Slice) and payload.items:  # a JSON array's decoded records
                send(conn, ("spooled slice", handed, self._spooled(payload)))
            else:
                send(conn, ("slice", handed, payload))
            owner[handed] = conn
            load[conn] += 1
            handed += 1

        def receive() -> None:
            nonlocal based, base, unwritten
            for conn in wait(self.conns):
                kind, k, value = _receive(conn, self.proc_of[conn])
                if kind == "counted":
                    counted[k] = value
                    while based in counted:  # send every base that is now known, in order
                        valid = counted.pop(based)
                        if valid is not None:
                            send(owner[based], ("base", based, base))
                            base += valid
                        based += 1
                elif kind in ("done", "held"):
                    if kind == "held":
                        value, size = value
                        held[k] = (conn, size)
                    finished[k] = value
                    load[conn] -= 1
                    del owner[k]
                elif kind == "written":
                    unwritten -= 1
                elif kind == "seqc":
                    raise SeqcError(value)
                else:
                    raise WorkerFailed(*value)

        top_up()
        stopped = False
        while out < handed and not stopped:
            receive()
            while out in finished and not stopped:
                done = finished.pop(out)
                if out in held:
                    conn, size = held.pop(out)
                    assert reserve is not None
                    send(conn, ("at", out, reserve(size)))
                    unwritten += 1
                out += 1
                stopped = done.stopped  # --limit reached: whatever else is in flight is not wanted
                yield done
            if not stopped:
                top_up()
        while unwritten:  # the output is complete only when every worker has written its part
            receive()

    def close(self) -> None:
        """After a run: tell idle workers to leave and wait for them; stop busy ones (`--limit` reached)."""
        if any(self.load.values()):
            self.terminate()
            return
        for conn in self.conns:
            _send_quietly(conn, None)
        self._end(wait=5.0)

    def terminate(self) -> None:
        """After an error or Ctrl-C: the workers may be busy or blocked writing; stop them now."""
        self._end(wait=0.0)

    def _end(self, wait: float) -> None:
        for proc in self.procs:
            if wait:
                proc.join(timeout=wait)
            if proc.is_alive():
                proc.terminate()
                proc.join()
        for conn in self.conns:
            conn.close()
        self.spool.close()
        try:
            os.unlink(self.spool_path)
        except OSError:
            pass


def _receive(conn: Connection, proc) -> tuple:
    try:
        return conn.recv()
    except (EOFError, OSError):
        raise _stopped(conn, proc) from None


def _send(conn: Connection, proc, message: tuple) -> None:
    try:
        conn.send(message)
    except OSError:  # BrokenPipeError: never to be mistaken for stdout's reader leaving
        raise _stopped(conn, proc) from None


def _stopped(conn: Connection, proc) -> Exception:
    """Why a worker is gone: its last words if it said why (a SeqcError, a bug), else its exit code."""
    try:
        while conn.poll():
            kind, _, value = conn.recv()
            if kind == "seqc":
                return SeqcError(value)
            if kind == "bug":
                return WorkerFailed(*value)
    except (EOFError, OSError):
        pass
    proc.join(timeout=1)
    return WorkerFailed(f"a preview worker stopped (exit code {proc.exitcode})")


# ---------------------------------------------------------------- in the worker


class _Worker:
    """A worker process's state: slices read and waiting for a base, text waiting for an offset."""

    def __init__(self, conn: Connection, work: Work, spool_path: str, output: tuple[str, str] | None) -> None:
        self.conn = conn
        self.work = work
        self.spool_path = spool_path
        self.output = output
        self.read: dict[int, list] = {}  # slice -> its validated records, waiting for a base
        self.bases: dict[int, int] = {}
        self.text: dict[int, bytes] = {}  # slice -> its output, waiting for "at"
        self._spool = None
        self._out: int | None = None

    def serve(self) -> None:
        conn = self.conn
        while True:
            ready = [k for k in self.read if k in self.bases]
            if not ready or conn.poll():
                message = conn.recv()
                if message is None:
                    return
                self.handle(*message)
                continue
            k = min(ready)
            self.finish(k, self.work.preview(self.read.pop(k), self.bases.pop(k)))

    def handle(self, kind: str, k: int, value) -> None:
        if kind == "base":
            self.bases[k] = value
        elif kind == "at":
            self.write(self.text.pop(k), value)
            self.conn.send(("written", k, None))
        elif kind == "chosen":
            self.finish(k, self.work.preview_chosen(self.unspool(value)))
        else:
            records = self.read[k] = self.work.read(self.unspool(value) if kind == "spooled slice" else value)
            self.conn.send(("counted", k, sum(1 for r in records if type(r) is Record)))

    def finish(self, k: int, done: Done) -> None:
        # UTF-8 here: the main process writes bytes as they come, and a pickled str would be
        # encoded and decoded once more on the way
        text = done.stream.encode("utf-8") if isinstance(done.stream, str) else done.stream
        if self.output is None:
            done.stream = text
            self.conn.send(("done", k, done))
        else:
            done.stream = b""
            self.text[k] = text
            self.conn.send(("held", k, (done, len(text))))

    def write(self, text: bytes, at: int) -> None:
        assert self.output is not None
        path, name = self.output
        view = memoryview(text)
        try:
            if self._out is None:
                self._out = os.open(path, os.O_WRONLY)
            while view:
                n = os.pwrite(self._out, view, at)
                view, at = view[n:], at + n
        except OSError as e:
            raise SeqcError(f"{name}: cannot write ({e.strerror or e})") from None

    def unspool(self, where: tuple[int, int]):
        if self._spool is None:
            self._spool = open(self.spool_path, "rb")  # noqa: SIM115 - closed when the worker leaves
        self._spool.seek(where[0])
        return pickle.loads(self._spool.read(where[1]))

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
        if self._out is not None:
            os.close(self._out)


def _serve(conn: Connection, job: Job | None, spool_path: str, output: tuple[str, str] | None) -> None:
    """A worker's loop: validate slices as they arrive, preview the first one whose base is known."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C and stops us
    worker = None
    try:
        work = _FORKED if job is None else Work.rebuild(job)
        assert work is not None
        worker = _Worker(conn, work, spool_path, output)
        worker.serve()
    except SeqcError as e:
        _send_quietly(conn, ("seqc", -1, str(e)))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return  # the main process went away
    except Exception as e:  # noqa: BLE001 - reported by the main process as an internal error
        _send_quietly(conn, ("bug", -1, (f"{type(e).__name__}: {e}", origin_of(e))))
    finally:
        if worker is not None:
            worker.close()


def _send_quietly(conn: Connection, message: tuple | None) -> None:
    try:
        conn.send(message)
    except OSError:
        pass

"""`preview --jobs N`: slices of the prospect file read by workers give exactly the `--jobs 1` run.

Two layers: slicing (property tests: the records of the slices, in order, are the records of the
whole file, whatever the file holds and wherever the cuts fall) and the pool (CLI runs over
files several slices long, with holes, across formats and options: stdout and stderr byte for
byte equal to `--jobs 1`), plus how a worker's failure reaches the user.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from itertools import chain
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_preview_helpers import EXAMPLE, EXAMPLE_PROSPECTS, HOSTILE, MINI, MINI_EVENTS, MINI_PROSPECTS, seqc

from compiler.preview import runner
from compiler.prospects import open_source
from compiler.prospects.slicing import slice_records, slices

# ---------------------------------------------------------------- slicing

CELL = st.one_of(
    st.sampled_from(["", " ", "a", "Zoë", "x,y", 'say "hi"', "two\nlines", "cr\rhere", "crlf\r\nin", "  pad "]),
    st.text(alphabet=st.sampled_from('ab,;"\n\r é\t'), max_size=6),
)
NEWLINE = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def csv_files(draw) -> str:
    """CSV text with quoted newlines, every line ending, blank lines, ragged and broken rows."""
    width = draw(st.integers(1, 4))
    delimiter = draw(st.sampled_from([",", ";"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(NEWLINE))
    writer.writerow([f"c{i}" for i in range(width)])
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["row", "row", "row", "ragged", "blank", "raw"]))
        if kind == "blank":
            out.write(draw(NEWLINE))
        elif kind == "raw":  # whatever text, quotes unbalanced included
            out.write(draw(st.text(alphabet=st.sampled_from('ab,;"\n\r'), max_size=12)))
        else:
            n = width if kind == "row" else draw(st.integers(0, width + 2))
            writer.writerow([draw(CELL) for _ in range(n)])
    return ("\ufeff" if draw(st.booleans()) else "") + out.getvalue()


@st.composite
def jsonl_files(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["object", "object", "blank", "broken", "array"]))
        if kind == "object":
            record = {"email": draw(CELL), "n": draw(st.integers(-3, 3))}
            lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        elif kind == "broken":
            lines.append(draw(st.sampled_from(['{"a": ', "{", "nul", '{"a": 1}}', '{"a":1, "a":2}'])))
        else:
            lines.append("[1, 2]")
    newline = draw(NEWLINE)
    return newline.join(lines) + (newline if draw(st.booleans()) else "")


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _sliced(path: Path, rows: int) -> list:
    source = open_source(path)
    pieces = list(slices(source, rows))
    assert all(p.rows > 0 for p in pieces)
    assert [p.first_row for p in pieces] == [sum(q.rows for q in pieces[:i]) for i in range(len(pieces))]
    return list(chain.from_iterable(slice_records(source, p) for p in pieces))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_files(), rows=st.integers(1, 6))
def test_csv_slices_hold_the_records_of_the_whole_file(tmp_path: Path, text: str, rows: int):
    path = _write(tmp_path, "p.csv", text)
    assert _sliced(path, rows) == list(open_source(path).records())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=jsonl_files(), rows=st.integers(1, 6))
def test_jsonl_slices_hold_the_records_of_the_whole_file(tmp_path: Path, text: str, rows: int):
    path = _write(tmp_path, "p.jsonl", text)
    assert _sliced(path, rows) == list(open_source(path).records())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.dictionaries(st.sampled_from(["email", "x"]), CELL), st.integers()), max_size=20),
       rows=st.integers(1, 6))
def test_json_array_slices_hold_the_records_of_the_whole_file(tmp_path: Path, values: list, rows: int):
    path = _write(tmp_path, "p.json", json.dumps(values, indent=1))
    assert _sliced(path, rows) == list(open_source(path).records())


def test_a_slice_ends_only_after_a_record_the_parser_finished(tmp_path: Path):
    # a quoted cell spans three lines: "every N lines" would cut it
    path = _write(tmp_path, "p.csv", 'a,b\n1,"x\ny\nz"\n2,w\n3,"\r\n"\n')
    pieces = list(slices(open_source(path), 1))
    assert [(p.first_row, p.rows) for p in pieces] == [(0, 1), (1, 1), (2, 1)]
    raw = path.read_bytes()
    assert [raw[p.start:p.start + p.size] for p in pieces] == [b'1,"x\ny\nz"\n', b"2,w\n", b'3,"\r\n"\n']


def test_a_file_changed_under_a_worker_is_one_line(tmp_path: Path):
    path = _write(tmp_path, "p.csv", "a\n1\n2\n")
    source = open_source(path)
    pieces = list(slices(source, 1))
    path.write_bytes(b"a\n")
    with pytest.raises(Exception, match="changed while it was read"):
        list(slice_records(source, pieces[1]))


# ---------------------------------------------------------------- the pool, through the CLI


def _holey_csv(tmp: Path, copies: int) -> str:
    """The example prospects, the hostile ones and some broken rows, over and over: a file several
    slices long with bad records, quoted newlines and blank lines all through it."""
    head, *good = Path(EXAMPLE_PROSPECTS).read_text(encoding="utf-8").splitlines(keepends=True)
    hostile = Path(HOSTILE).read_text(encoding="utf-8").split("\n", 1)[1]
    parts = [head]
    for i in range(copies):
        parts += [line.replace("@", f"+{i}@", 1) for line in good]
        parts += [hostile.replace("@acme", f"+{i}@acme"), "\n", "only,three,cells\n", 'x@y.example,"unclosed\n']
        parts += ['"",,,,,,,,,,,,,,\n']
    path = tmp / "holey.csv"
    path.write_text("".join(parts), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def holey(tmp_path_factory) -> str:
    return _holey_csv(tmp_path_factory.mktemp("jobs"), 24)


@pytest.fixture(autouse=True)
def small_slices(monkeypatch):
    """Slices of 50 records, so files of a few hundred rows go through many slices and cuts."""
    monkeypatch.setattr(runner, "SLICE", 50)


def _rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _jsonl_of(path: str, tmp: Path) -> str:
    rows = _rows(path)
    out = tmp / "p.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" if i % 7 else "not json\n\n" for i, r in enumerate(rows)))
    return str(out)


def _json_of(path: str, tmp: Path) -> str:
    rows = _rows(path)
    out = tmp / "p.json"
    out.write_text(json.dumps(rows))
    return str(out)


CASES = [  # (format, options, the last stderr line of every run)
    ("jsonl", [], "prospects: 1523 read, 1427 valid, 1427 routed, 1427 rendered, 96 rejected, 0 unrouted"),
    ("text", [], "prospects: 1523 read, 1427 valid, 1427 routed, 1427 rendered, 96 rejected, 0 unrouted"),
    ("text", ["--limit", "230"], "prospects: 242 read, 230 valid, 230 routed, 230 rendered, 12 rejected, 0 unrouted"),
    ("text", ["--limit", "1"], "prospects: 1 read, 1 valid, 1 routed, 1 rendered, 0 rejected, 0 unrouted"),
    ("jsonl", ["--sample", "120"],
     "prospects: 1523 read, 1427 valid, 120 routed, 120 rendered, 96 rejected, 0 unrouted"),
    ("jsonl", ["--start", "2027-03-26"],
     "prospects: 1523 read, 1427 valid, 1427 routed, 1427 rendered, 96 rejected, 0 unrouted"),
]


@pytest.mark.parametrize(("fmt", "extra", "counts"), CASES, ids=[f"{f}{''.join(e)}" for f, e, _ in CASES])
def test_jobs_give_the_jobs_1_output_byte_for_byte(holey: str, fmt: str, extra: list[str], counts: str):
    args = ["preview", EXAMPLE, "--prospects", holey, "--format", fmt, *extra]
    one = seqc(*args, "--jobs", "1")
    assert (one.code, one.err_lines[-1]) == (0, counts)
    for jobs in ("2", "3"):
        many = seqc(*args, "--jobs", jobs)
        assert (many.code, many.raw, many.err) == (one.code, one.raw, one.err), jobs


@pytest.mark.parametrize("kind", ["jsonl", "json"])
def test_jobs_read_jsonl_and_json_arrays_the_same(holey: str, tmp_path: Path, kind: str):
    path = (_jsonl_of if kind == "jsonl" else _json_of)(holey, tmp_path)
    args = ["preview", EXAMPLE, "--prospects", path, "--format", "jsonl"]
    one, two = seqc(*args, "--jobs", "1"), seqc(*args, "--jobs", "2")
    assert one.code == 0 and one.out.count("\n") > 300
    assert (two.raw, two.err) == (one.raw, one.err)


def test_spawned_workers_rebuild_the_same_preview(holey: str, monkeypatch):
    # macOS and Windows start workers with "spawn": each loads the project again from its path
    import multiprocessing

    from compiler.preview import pool

    asked: list[str] = []
    real = multiprocessing.get_context

    def get_context(method=None):
        asked.append(method)
        return real(method)

    monkeypatch.setattr(pool, "START_METHOD", "spawn")
    monkeypatch.setattr(pool.multiprocessing, "get_context", get_context)
    args = ["preview", EXAMPLE, "--prospects", holey, "--format", "text", "--limit", "120"]
    one, two = seqc(*args, "--jobs", "1"), seqc(*args, "--jobs", "2")
    assert one.code == 0
    assert (two.raw, two.err) == (one.raw, one.err)
    assert asked == ["spawn"]  # the workers really were spawned, not forked


def test_jobs_list_the_unrouted_and_walk_events_the_same(tmp_path: Path):
    rows = Path(MINI_PROSPECTS).read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "mini.csv"
    path.write_text(rows[0] + "".join(rows[1:]) * 40, encoding="utf-8")
    args = ["preview", MINI, "--prospects", str(path), "--events", MINI_EVENTS, "--format", "text"]
    one, two = seqc(*args, "--jobs", "1"), seqc(*args, "--jobs", "2")
    assert sum(line.startswith("unrouted:") for line in one.err_lines) == 40
    assert (two.raw, two.err) == (one.raw, one.err)


@pytest.mark.parametrize("fmt", ["html", "eml"])
def test_jobs_write_the_same_folder(holey: str, tmp_path: Path, fmt: str):
    def files(folder: Path) -> dict[str, bytes]:
        return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        r = seqc("preview", EXAMPLE, "--prospects", holey, "--format", fmt, "-o", str(out), "--jobs", jobs,
                 "--limit", "150")
        assert r.code == 0
        outs.append(files(out))
    assert outs[0] == outs[1] and len(outs[0]) > 150


@pytest.mark.parametrize(("fmt", "extra"), [("jsonl", []), ("text", ["--limit", "230"]), ("jsonl", ["--sample", "90"])])
def test_workers_write_one_output_file_in_input_order(holey: str, tmp_path: Path, fmt: str, extra: list[str],
                                                      monkeypatch):
    # with -o DIR and a one-file format the workers write their text into the file themselves
    from compiler.preview.sink import FileSink

    reserved: list[int] = []
    real = FileSink.reserve
    monkeypatch.setattr(FileSink, "reserve", lambda self, size: reserved.append(size) or real(self, size))
    outs = []
    for jobs in ("1", "2", "3"):
        r = seqc("preview", EXAMPLE, "--prospects", holey, "--format", fmt, "-o", str(tmp_path / jobs), "--jobs", jobs,
                 *extra)
        assert r.code == 0
        written = tmp_path / jobs / ("preview.jsonl" if fmt == "jsonl" else "preview.txt")
        outs.append((r.err.replace(str(tmp_path / jobs), "OUT"), written.read_bytes()))
    assert outs[0] == outs[1] == outs[2]
    assert len(outs[0][1]) > 100_000
    assert sum(reserved) == 2 * len(outs[0][1])  # jobs 2 and 3 placed all of it; jobs 1 wrote it itself


def test_a_worker_that_cannot_write_the_output_is_one_line_exit_2(holey: str, tmp_path: Path, monkeypatch):
    import errno

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwrite", full)  # only the workers write with pwrite
    out = tmp_path / "out"
    r = seqc("preview", EXAMPLE, "--prospects", holey, "--format", "jsonl", "-o", str(out), "--jobs", "2")
    assert r.code == 2  # bad records met before it are reported; the error is the last line
    assert r.err_lines[-1] == f"seqc: error: {out}/preview.jsonl: cannot write (No space left on device)"
    assert not out.exists()  # nothing half-written is left behind


def test_a_bug_in_a_worker_is_one_internal_error_line(holey: str, monkeypatch):
    from compiler.preview.work import Work

    def broken(self, items, index):
        raise ValueError("boom")

    monkeypatch.setattr(Work, "preview", broken)
    r = seqc("preview", EXAMPLE, "--prospects", holey, "--format", "jsonl", "--jobs", "2")
    assert r.code == 3
    # where the worker raised it, not where the main process heard of it
    assert len(r.err_lines) == 1
    assert re.fullmatch(r"seqc: internal error: WorkerFailed: ValueError: boom at test_preview_jobs\.py:\d+ "
                        r"\(please report this\)", r.err_lines[0])
    assert r.out == ""


def test_a_worker_that_dies_is_one_internal_error_line(holey: str, monkeypatch):
    from compiler.preview.work import Work

    monkeypatch.setattr(Work, "read", lambda self, piece: os._exit(7))
    r = seqc("preview", EXAMPLE, "--prospects", holey, "--format", "jsonl", "--jobs", "2")
    assert r.code == 3
    assert r.err_lines == [("seqc: internal error: WorkerFailed: a preview worker stopped (exit code 7) "
                            "(please report this)")]


def test_a_file_problem_in_a_worker_is_one_line_exit_2(holey: str, monkeypatch):
    from compiler.diagnostics import SeqcError
    from compiler.preview.work import Work

    def changed(self, piece):
        raise SeqcError("holey.csv: the file changed while it was read")

    monkeypatch.setattr(Work, "read", changed)
    r = seqc("preview", EXAMPLE, "--prospects", holey, "--format", "jsonl", "--jobs", "2")
    assert (r.code, r.err_lines) == (2, ["seqc: error: holey.csv: the file changed while it was read"])


@pytest.mark.parametrize("writeback", [1, 1 << 20])
def test_a_file_sink_keeps_reserved_bytes_for_other_writers(tmp_path: Path, monkeypatch, writeback: int):
    # what the workers rely on: reserved ranges in input order, the main process's own writes after them
    from compiler.preview import sink as sinks

    monkeypatch.setattr(sinks, "_WRITEBACK", writeback)  # 1: ask for writeback after every write
    out = sinks.FileSink(tmp_path / "o" / "preview.jsonl")
    path, name = out.shared_file()
    assert name == str(tmp_path / "o" / "preview.jsonl")
    out.write("head\n")
    first, second = out.reserve(6), out.reserve(0)
    third = out.reserve(4)
    out.write("tail\n")
    fd = os.open(path, os.O_WRONLY)  # another process would open it the same way
    os.pwrite(fd, b"three\n"[:4], third)
    os.pwrite(fd, b"first\n", first)
    os.close(fd)
    assert (first, second, third) == (5, 11, 11)
    assert Path(out.commit()).read_bytes() == b"head\nfirst\nthretail\n"

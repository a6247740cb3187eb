"""Files, outputs and faults around the edges of the fixes in `tests/test_robustness.py`.

* `.seq` entries that are not plain files inside the project: links inside it are read, links
  leaving it and FIFOs get a located SEQ001 without being opened, dangling links (an editor's
  lock file) are skipped; a link named on the command line is treated like one found in a folder.
* Byte positions in a non-UTF-8 file: with a BOM, and with CR-only line ends.
* `write_tree`: the output folder's mode follows the umask; a failed first rename keeps the
  previous output and leaves nothing hidden behind.
* The script: a closed or full stderr is no traceback, `python -m compiler` is the script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import api
from compiler.diagnostics import SeqcError
from compiler.output import write_tree
from compiler.project import read_source

SEQC = Path(sys.executable).with_name("seqc")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "outbound"
SEQ = 'sequence s {\n  day 0 email a { subject "Hi" body "b {{ unsubscribe_url }}" }\n}\n'


def project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "a.seq").write_text(SEQ, encoding="utf-8")
    return folder


def seq001(result) -> list[tuple[str, int, int, str]]:
    return [(d.span.file, d.span.line, d.span.column, d.message) for d in result.diagnostics if d.code == "SEQ001"]


# ---------------------------------------------------------------- which .seq entries are read


def test_seq_link_inside_the_project_is_read(tmp_path: Path):
    proj = project(tmp_path / "p")
    (proj / "shared").mkdir()
    (proj / "shared" / "b.txt").write_text(SEQ.replace("sequence s", "sequence t"), encoding="utf-8")
    (proj / "b.seq").symlink_to("shared/b.txt")
    result = api.check_paths([str(proj)])
    assert seq001(result) == []
    assert result.files == 2


def test_seq_link_leaving_the_project_is_located_and_not_read(tmp_path: Path):
    proj = project(tmp_path / "p")
    (tmp_path / "creds.seq").write_text("API_TOKEN=hunter2\n", encoding="utf-8")
    (proj / "evil.seq").symlink_to(tmp_path / "creds.seq")
    for named in (proj, proj / "evil.seq"):  # found in the folder, or named on the command line
        result = api.check_paths([str(named)])
        ((file, line, column, message),) = seq001(result)
        assert (file.endswith("/evil.seq"), line, column) == (True, 1, 1)
        assert "leaves the project folder" in message
        assert not any("hunter2" in text for text in result.sources.values())


def test_seq_fifo_is_refused_without_opening_it(tmp_path: Path):
    proj = project(tmp_path / "p")
    os.mkfifo(proj / "pipe.seq")
    r = subprocess.run([str(SEQC), "check", str(proj)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "pipe.seq:1:1: SEQ001" in r.stdout and "not a regular file" in r.stdout
    _, problem = read_source(proj / "pipe.seq", "pipe.seq")  # fmt and the language server call it too
    assert problem is not None and "not a regular file" in problem.message


def test_dangling_seq_link_is_skipped(tmp_path: Path):
    proj = project(tmp_path / "p")
    (proj / ".#a.seq").symlink_to("root@host.1234:1700000000")  # how Emacs keeps its lock files
    result = api.check_paths([str(proj)])
    assert seq001(result) == [] and result.files == 1


def test_unreadable_link_loop_is_a_one_line_error(tmp_path: Path):
    (tmp_path / "loop.seq").symlink_to("loop.seq")
    with pytest.raises(SeqcError, match="cannot be read"):
        read_source(tmp_path / "loop.seq", "loop.seq")


# ---------------------------------------------------------------- byte positions


@pytest.mark.parametrize("data, where", [
    (b"\xef\xbb\xbfsequence \xe9", (1, 10)),           # column counted without the BOM
    (b"sequence s {\r  day 0 \xe9", (2, 9)),            # a lone CR ends a line, as in the text
    (b"sequence s {\r\n  day 0 \xe9", (2, 9)),
], ids=["bom-first-line", "cr", "crlf"])
def test_bad_byte_position(tmp_path: Path, data: bytes, where: tuple[int, int]):
    (tmp_path / "a.seq").write_bytes(data)
    _, problem = read_source(tmp_path / "a.seq", "a.seq")
    assert (problem.span.line, problem.span.column) == where and "0xe9" in problem.message


# ---------------------------------------------------------------- write_tree


@pytest.mark.parametrize("mask, mode", [(0o077, 0o700), (0o002, 0o775)])
def test_output_folder_mode_follows_the_umask(tmp_path: Path, mask: int, mode: int):
    old = os.umask(mask)
    try:
        write_tree(tmp_path / "out", "ir", [("a.json", "{}")])
        write_tree(tmp_path / "out", "ir", [("a.json", "{}")])  # replacing keeps it too
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "ir").stat().st_mode & 0o777 == mode


def test_write_tree_failing_on_the_first_rename_keeps_everything(tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    write_tree(out, "ir", [("a.json", "old-a")])
    real_replace = os.replace

    def failing(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(SeqcError, match="No space left"):
        write_tree(out, "ir", [("a.json", "new-a")])
    monkeypatch.setattr(os, "replace", real_replace)
    assert (out / "ir" / "a.json").read_text(encoding="utf-8") == "old-a"
    assert sorted(p.name for p in out.iterdir()) == ["ir"], "no staging or empty `.ir.old-*` left"


def test_write_tree_interrupted_after_the_swap_keeps_the_new_output(tmp_path: Path, monkeypatch):
    out = tmp_path / "out"
    write_tree(out, "ir", [("a.json", "old-a")])
    real_replace, calls = os.replace, []

    def late_interrupt(src, dst):  # the rename happened; the Ctrl-C lands right after it
        real_replace(src, dst)
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", late_interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_tree(out, "ir", [("a.json", "new-a")])
    monkeypatch.undo()
    assert (out / "ir" / "a.json").read_text(encoding="utf-8") == "new-a"
    assert sorted(p.name for p in out.iterdir()) == ["ir"]


# ---------------------------------------------------------------- the script


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_full_stdout_and_stderr_is_no_traceback():
    with open("/dev/full", "w") as full:
        r = subprocess.run([str(SEQC), "check", str(EXAMPLE)], stdout=full, stderr=full, timeout=120)
    assert r.returncode == 2


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_full_stdout_message():
    with open("/dev/full", "w") as full:
        r = subprocess.run([str(SEQC), "--version"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (2, "seqc: error: cannot write output: No space left on device\n")


def test_python_dash_m_is_the_script():
    r = subprocess.run([sys.executable, "-m", "compiler", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("seqc ")


@pytest.mark.parametrize("signal_like", [KeyboardInterrupt, OSError])
def test_preview_folder_failing_between_the_renames_keeps_the_previous_preview(tmp_path: Path, monkeypatch,
                                                                               signal_like):
    from compiler.preview.sink import TreeSink

    folder = tmp_path / "preview"
    first = TreeSink(folder)
    first.add_file("index.html", b"old")
    first.commit()
    second = TreeSink(folder)
    second.add_file("index.html", b"new")
    real_replace, calls = os.replace, []

    def fail_second(src, dst):  # the old preview was moved aside; the new one does not land
        calls.append(dst)
        if len(calls) == 2:
            raise signal_like()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_second)
    with pytest.raises((KeyboardInterrupt, SeqcError)):
        second.commit()
    monkeypatch.undo()
    assert (folder / "index.html").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview"]

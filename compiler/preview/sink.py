"""Where preview output goes: stdout, one file written atomically, or a folder replaced atomically.

Output streams: memory stays flat however many prospects there are. A file is written to a
temporary file in its folder and renamed into place at the end; a folder is built next to
the target and swapped in whole, so a reader sees the previous preview or the new one, never
half of one. A failed or interrupted run leaves the previous output untouched.

A folder is only replaced when it is empty or was written by `seqc preview` (it holds the
`.seqc-preview` marker), so `-o .` can never wipe a folder of other files. Files in a folder
are not fsynced one by one (previews are reproducible; the swap is what must be atomic).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from compiler.diagnostics import SeqcError
from compiler.output import current_umask, swap_folder
from compiler.prospects import show

MARKER = ".seqc-preview"
_WRITEBACK = 32 << 20


def _utf8(text: str | bytes) -> bytes:
    # text from this process, bytes already encoded by a `--jobs` worker
    return text.encode("utf-8") if isinstance(text, str) else text


class Sink:
    """Base: a main text stream and, for folders, files."""

    def write(self, text: str | bytes) -> None:
        raise NotImplementedError

    def add_file(self, rel: str, data: bytes) -> None:
        raise SeqcError("this output takes no files; give -o DIR")

    def shared_file(self) -> tuple[str, str] | None:
        """(path, name to show) of a file other processes may write the main stream into, at
        offsets from `reserve` (so `--jobs` workers write their output themselves), or None."""
        return None

    def reserve(self, size: int) -> int:
        """Leave `size` bytes of the main stream for another process; returns their offset."""
        raise NotImplementedError

    def commit(self) -> str | None:
        """Finish; returns where the output went (None for stdout)."""
        return None

    def abort(self) -> None:
        """Drop everything written (the previous output stays)."""


class StreamSink(Sink):
    """Text to a binary stream (stdout), UTF-8."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def write(self, text: str | bytes) -> None:
        if text:
            self.stream.write(_utf8(text))

    def commit(self) -> None:
        self.stream.flush()


class FileSink(Sink):
    """One file, written to a temporary sibling and renamed into place by `commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # the folders this run makes, deepest first: an aborted run takes them away again
        self._made = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, self._tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            os.chmod(self._tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a preview is an ordinary file
        except OSError as e:
            raise SeqcError(f"{show(str(path.parent), 300)}: cannot write output ({e.strerror or e})") from None
        self._fh = os.fdopen(fd, "wb", buffering=1 << 20)
        self._unsynced = 0

    def write(self, text: str | bytes) -> None:
        if text:
            data = _utf8(text)
            self._fh.write(data)
            self._written(len(data))

    def shared_file(self) -> tuple[str, str]:
        return self._tmp, show(str(self.path), 300)

    def reserve(self, size: int) -> int:
        self._fh.flush()
        at = self._fh.tell()
        self._fh.seek(at + size)  # the next write lands after the reserved bytes
        self._written(size)
        return at

    def _written(self, size: int) -> None:
        """Every 32 MB, ask the kernel to start writing the file out (it does so in the background),
        so the fsync of `commit` finds little left to do instead of the whole file."""
        self._unsynced += size
        if self._unsynced >= _WRITEBACK and hasattr(os, "posix_fadvise"):
            self._unsynced = 0
            self._fh.flush()
            try:
                os.posix_fadvise(self._fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass  # advice only

    def commit(self) -> str:
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self._tmp, self.path)
        except OSError as e:
            self.abort()
            raise SeqcError(f"{show(str(self.path), 300)}: cannot write ({e.strerror or e})") from None
        return str(self.path)

    def abort(self) -> None:
        try:
            self._fh.close()
        except OSError:
            pass
        try:
            os.unlink(self._tmp)
        except OSError:
            pass
        for folder in self._made:
            try:
                folder.rmdir()  # only while empty: never anything someone else put there
            except OSError:
                break


class TreeSink(Sink):
    """A folder of files (and an optional main stream file inside it), swapped in whole by `commit`."""

    def __init__(self, folder: Path, stream_file: str | None = None) -> None:
        check_replaceable(folder)
        folder = folder.absolute()
        self.folder = folder
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
            os.chmod(self.staging, 0o777 & ~current_umask())  # mkdtemp makes 0700
            (self.staging / MARKER).write_text("written by seqc preview; this folder is replaced on every run\n",
                                              encoding="utf-8")
            # kept open across the run and closed by commit/abort: not a `with` block
            self._stream = open(self.staging / stream_file, "wb", buffering=1 << 20) if stream_file else None  # noqa: SIM115
        except OSError as e:
            raise SeqcError(f"{show(str(folder))}: cannot write output ({e.strerror or e})") from None
        self._dirs: set[str] = set()

    def write(self, text: str | bytes) -> None:
        if text and self._stream is not None:
            self._stream.write(_utf8(text))

    def add_file(self, rel: str, data: bytes) -> None:
        parts = rel.split("/")
        if not parts or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts) or rel.startswith("/"):
            raise RuntimeError(f"refusing to write {rel!r} outside the output folder")
        parent = "/".join(parts[:-1])
        if parent and parent not in self._dirs:
            (self.staging / parent).mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        with open(self.staging / rel, "wb") as fh:
            fh.write(data)

    def commit(self) -> str:
        folder = self.folder
        try:
            if self._stream is not None:
                self._stream.close()
            check_replaceable(folder)
            swap_folder(self.staging, folder)  # the previous preview is put back if the swap fails
        except OSError as e:
            self.abort()
            raise SeqcError(f"{show(str(folder))}: cannot write output ({e.strerror or e})") from None
        except BaseException:  # Ctrl-C: no staging folder left behind either
            self.abort()
            raise
        return str(folder)

    def abort(self) -> None:
        if self._stream is not None and not self._stream.closed:
            self._stream.close()
        shutil.rmtree(self.staging, ignore_errors=True)


def check_replaceable(folder: Path) -> None:
    """Refuse to replace a folder that holds files and was not written by `seqc preview`."""
    if not folder.exists():
        return
    if Path.cwd().resolve().is_relative_to(folder.resolve()):
        raise SeqcError(f"{show(str(folder))}: is the current folder or holds it; give a folder for the preview")
    if not folder.is_dir():
        raise SeqcError(f"{show(str(folder))}: exists and is not a folder")
    try:
        entries = os.listdir(folder)
    except OSError as e:
        raise SeqcError(f"{show(str(folder))}: cannot read ({e.strerror or e})") from None
    if entries and MARKER not in entries:
        raise SeqcError(f"{show(str(folder))}: exists and holds files seqc preview did not write; "
                        "give a new or empty folder (it is replaced as a whole)")

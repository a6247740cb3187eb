"""Writing outputs atomically: a reader sees the previous output or the new one, never a mix."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from compiler.diagnostics import SeqcError


def write_tree(out_dir: str | os.PathLike, name: str, files: Iterable[tuple[str, str | bytes]]) -> Path:
    """Write `files` (relative path, content) as the folder `out_dir/name`, replacing it whole.

    The files go into a hidden sibling folder first; only when every file is written
    and flushed is the old folder moved aside and the new one renamed into place.
    Should that swap fail (or be interrupted), the old folder is moved back.
    """
    base = Path(out_dir)
    try:
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=base))
    except OSError as e:
        raise SeqcError(f"{base}: cannot write output ({e.strerror})") from None
    try:
        _write_files(staging, files)
        # mkdtemp made it 0700; the output is a folder like any other, readable as the umask allows.
        os.chmod(staging, 0o777 & ~current_umask())
        return swap_folder(staging, base / name)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise SeqcError(f"{base}: cannot write output ({e.strerror or e or type(e).__name__})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_files(staging: Path, files: Iterable[tuple[str, str | bytes]]) -> None:
    for rel, content in files:
        target = _inside(staging, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode("utf-8") if isinstance(content, str) else content
        with open(target, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def swap_folder(staging: Path, final: Path) -> Path:
    """Rename `staging` to `final`, moving a previous `final` aside first and removing it after."""
    if not final.exists():
        os.replace(staging, final)
        return final
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
    try:
        os.replace(final, old / final.name)
        os.replace(staging, final)
    except BaseException:
        _put_back(old, final, staging)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return final


def _put_back(old: Path, final: Path, staging: Path) -> None:
    """After a failed swap: the previous output back at `final`, unless the new one got there."""
    if staging.exists() and (old / final.name).exists():
        try:
            os.replace(old / final.name, final)
        except OSError:
            return  # keep `old`: a hidden `.NAME.old-*` is better than the user's output deleted
    shutil.rmtree(old, ignore_errors=True)


def current_umask() -> int:
    """The process umask, from /proc where Linux shows it, else by setting it and back.

    Setting it to read it leaves a moment in which another thread
    would create files with the wrong mode, so that is only the fallback.
    """
    try:
        fd = os.open("/proc/self/status", os.O_RDONLY)
        try:
            status = os.read(fd, 1 << 16)
        finally:
            os.close(fd)
        for line in status.splitlines():
            if line.startswith(b"Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(path: str | os.PathLike, content: str | bytes) -> None:
    """Write one file atomically (temp file in the same folder, then rename).

    A file that already exists keeps its permission bits.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as e:
        raise SeqcError(f"{target}: cannot write ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content.encode("utf-8") if isinstance(content, str) else content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except OSError as e:
        _unlink(tmp)
        raise SeqcError(f"{target}: cannot write ({e.strerror or e})") from None
    except BaseException:
        _unlink(tmp)
        raise


def _inside(root: Path, rel: str) -> Path:
    """`root/rel`, refusing any path that would land outside `root`."""
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or os.path.isabs(rel):
        raise SeqcError(f"refusing to write `{rel}` outside the output folder")
    return root.joinpath(*parts)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

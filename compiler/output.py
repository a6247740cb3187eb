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
    """
    base = Path(out_dir)
    try:
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=base))
    except OSError as e:
        raise SeqcError(f"{base}: cannot write output ({e.strerror})") from None
    try:
        for rel, content in files:
            target = _inside(staging, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode("utf-8") if isinstance(content, str) else content
            with open(target, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        final = base / name
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old-", dir=base))
            os.replace(final, old / name)
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return final
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise SeqcError(f"{base}: cannot write output ({e.strerror or e})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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

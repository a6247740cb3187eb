"""Shared test constants and fixtures: example paths, file-per-snapshot extensions, repo-root cwd.

Every test runs with the repository root as the working directory (a session fixture), so
paths given to the compiler are relative and diagnostic `file` values are stable, e.g.
`examples/outbound/smb.seq`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path("tests")
CASES = TESTS / "cases"

# Relative to ROOT (the working directory during tests), sorted for stable test ids.
EXAMPLES = sorted(p.relative_to(ROOT) for p in (ROOT / "examples").rglob("*.seq"))
EXAMPLE_PROJECTS = sorted({p.parent for p in EXAMPLES})
SYNTAX_CASES = sorted(p.relative_to(ROOT) for p in (ROOT / CASES / "syntax").glob("*.seq"))
SEMANTIC_CASES = sorted(p.relative_to(ROOT) for p in (ROOT / CASES / "semantic").glob("*.seq"))


@pytest.fixture(scope="session", autouse=True)
def _repo_root_cwd():
    """Run from the repository root (session scope: hypothesis rejects function-scoped autouse)."""
    before = os.getcwd()
    os.chdir(ROOT)
    try:
        yield ROOT
    finally:
        os.chdir(before)


# ---------------------------------------------------------------- snapshots


def _dump_json(data: Any) -> str:
    # Key order is part of the contract (SPEC §6.1), so never sort keys.
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def snapshot_ext(suffix: str) -> type[SingleFileSnapshotExtension]:
    """A syrupy extension storing each snapshot as one real `<test name>.<suffix>` text file.

    `str` data is stored byte for byte (UTF-8, no newline translation, so CRLF survives).
    For `.json`, anything else is dumped with `json.dumps(indent=2, ensure_ascii=False)`,
    keys in their given order (unlike syrupy's JSONSnapshotExtension, which sorts them and
    would hide order changes). Others reuse it: `snapshot.use_extension(snapshot_ext("csv"))`.
    """
    suffix = suffix.lstrip(".")
    ext = _EXTENSIONS.get(suffix)
    if ext is not None:
        return ext

    class _TextFileSnapshot(SingleFileSnapshotExtension):
        file_extension = suffix
        _write_mode = WriteMode.TEXT

        def serialize(self, data: Any, **kwargs: Any) -> str:
            if isinstance(data, bytes):
                data = data.decode("utf-8")
            if not isinstance(data, str):
                if suffix != "json":
                    raise TypeError(f"a .{suffix} snapshot takes text, not {type(data).__name__}")
                data = _dump_json(data)
            return data

        # Text files, but byte for byte: no newline translation either way (CRLF in .eml/.csv
        # output must survive the round trip through the snapshot file).
        def read_snapshot_data_from_location(self, *, snapshot_location: str, snapshot_name: str,
                                             session_id: str) -> str | None:
            try:
                with open(snapshot_location, encoding="utf-8", newline="") as f:
                    return f.read()
            except FileNotFoundError:
                return None

        @classmethod
        def write_snapshot_collection(cls, *, snapshot_collection: Any, name_order: Any = None) -> None:
            data = next(iter(snapshot_collection)).data
            if not isinstance(data, str):
                raise TypeError(f"a .{suffix} snapshot takes text, not {type(data).__name__}")
            with open(snapshot_collection.location, "w", encoding="utf-8", newline="") as f:
                f.write(data)

    _TextFileSnapshot.__name__ = _TextFileSnapshot.__qualname__ = f"{suffix.capitalize()}FileSnapshot"
    _EXTENSIONS[suffix] = _TextFileSnapshot
    return _TextFileSnapshot


_EXTENSIONS: dict[str, type[SingleFileSnapshotExtension]] = {}


@pytest.fixture
def json_snapshot(snapshot):
    """`assert value == json_snapshot`: a `.json` file per assertion (text, or data dumped in order)."""
    return snapshot.use_extension(snapshot_ext("json"))


@pytest.fixture
def text_snapshot(snapshot):
    """`assert text == text_snapshot`: a `.txt` file per assertion."""
    return snapshot.use_extension(snapshot_ext("txt"))


# ---------------------------------------------------------------- recursion limits


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """Run a block at `limit`, then put back whatever the limit was."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@pytest.fixture
def default_recursion_limit():
    """The interpreter's default limit, whatever an earlier in-process CLI run (limit 10 000) left."""
    with recursion_limit(1000):
        yield


@pytest.fixture
def cli_recursion_limit():
    """The limit `compiler.cli.run` sets (10 000): what `seqc compile` runs with (json.loads recurses
    once per level of an artifact)."""
    with recursion_limit(10_000):
        yield

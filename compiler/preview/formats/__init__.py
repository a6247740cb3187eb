"""Preview output formats: each turns `ProspectPreview`s into a stream of text and/or files.

A format runs in the worker processes (`prospect`) and in the main process (`begin`,
`end`). `prospect` returns a `Chunk`: text for the format's main stream (stdout, or
`DIR/<stream_file>`) and files to write under `-o DIR`. Formats with `tree = True` write
many files and need `-o DIR`; the folder is then replaced as a whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from compiler.preview.model import ProspectPreview, Sender
from compiler.prospects import Counts

FORMATS = ("text", "jsonl", "eml", "mbox", "html")


@dataclass(frozen=True)
class RunInfo:
    """What a format may show about the run as a whole (small and picklable)."""

    project: str
    campaign: str | None
    sender: Sender
    start: dt.date
    events: str | None = None
    sequences: tuple[tuple[str, str | None], ...] = ()  # (name, title)


@dataclass(slots=True)
class Chunk:
    """One prospect's output: main-stream text and (relative path, content) files."""

    stream: str = ""
    files: list[tuple[str, bytes]] = field(default_factory=list)


class Format:
    """Base class: no header, no footer, nothing per prospect."""

    name = ""
    stream_file: str | None = None
    tree = False
    needs_dir = False

    def __init__(self, info: RunInfo) -> None:
        self.info = info

    def begin(self) -> str:
        return ""

    def prospect(self, p: ProspectPreview) -> Chunk:
        raise NotImplementedError

    def end(self, counts: Counts) -> str:
        return ""

    def end_files(self, counts: Counts) -> list[tuple[str, bytes]]:
        return []


def get_format(name: str, info: RunInfo) -> Format:
    """The format called `name` (one of FORMATS)."""
    if name == "jsonl":
        from compiler.preview.formats.jsonl import JsonlFormat as cls
    elif name == "text":
        from compiler.preview.formats.text import TextFormat as cls
    elif name == "eml":
        from compiler.preview.formats.eml import EmlFormat as cls
    elif name == "mbox":
        from compiler.preview.formats.mbox import MboxFormat as cls
    elif name == "html":
        from compiler.preview.formats.html import HtmlFormat as cls
    else:
        raise ValueError(f"unknown preview format {name!r}")
    return cls(info)

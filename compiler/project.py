"""Finding projects on disk and loading one into the IR.

A project is a folder that directly holds `.seq` files; they share one namespace.
A `.seq` path on the command line stands for its folder's project; a folder with
no `.seq` files is searched (sorted, hidden folders skipped) for projects below it.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from compiler import ir
from compiler.diagnostics import Diagnostic, SeqcError, Severity, Span
from compiler.parse import ParsedFile, normalize_newlines, parse_text

_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages"}
_SUPPRESS = re.compile(r"#\s*seqc:\s*ignore\s+((?:SEQ\d+|[A-Z]+\d*)(?:\s*,?\s*(?:SEQ\d+))*)", re.IGNORECASE)


@dataclass(frozen=True)
class ProjectSource:
    """Where a project lives: its folder on disk and the display prefix for its files."""

    root: Path
    display: str
    files: tuple[str, ...]  # file names inside root, sorted


@dataclass
class LoadedProject:
    """A project's IR with what the renderers need: source texts and load diagnostics."""

    project: ir.Project
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def has_syntax_errors(self) -> bool:
        return any(d.code == "SEQ001" for d in self.diagnostics)


def discover(paths: list[str]) -> list[ProjectSource]:
    """The projects the given paths name, each once, in a stable order."""
    found: dict[Path, ProjectSource] = {}
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise SeqcError(f"{given}: no such file or folder")
        if p.is_file():
            if p.suffix != ".seq":
                raise SeqcError(f"{given}: not a .seq file or a project folder")
            folder = p.parent
            display = _display_dir(given)
            _add(found, folder, display)
        elif p.is_dir():
            seqs = _seq_files(p)
            if seqs:
                _add(found, p, _clean(given))
            else:
                for sub in _projects_below(p):
                    rel = sub.relative_to(p).as_posix()
                    _add(found, sub, _join(_clean(given), rel))
        else:
            raise SeqcError(f"{given}: not a file or folder")
    if not found:
        raise SeqcError(f"no .seq files found in {', '.join(paths)}")
    return list(found.values())


def _add(found: dict[Path, ProjectSource], folder: Path, display: str) -> None:
    key = folder.resolve()
    if key not in found:
        found[key] = ProjectSource(folder, display, tuple(_seq_files(folder)))


def _seq_files(folder: Path) -> list[str]:
    """The `.seq` names in `folder` that `load` must read or refuse, sorted.

    Links and special files are listed too, so that one leaving the project or one that
    is a FIFO gets a diagnostic instead of silently vanishing from the project.
    """
    try:
        return sorted(e.name for e in os.scandir(folder) if e.name.endswith(".seq") and _is_entry(e))
    except OSError as e:
        raise SeqcError(f"{folder}: cannot be read ({e.strerror})") from None


def _is_entry(entry: os.DirEntry) -> bool:
    # A dangling link is skipped, not reported: Emacs keeps its lock files as `.#name.seq` links.
    try:
        return not entry.is_dir() and entry.stat() is not None
    except OSError:
        return False


def _projects_below(folder: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        if any(f.endswith(".seq") for f in filenames) and Path(dirpath) != folder:
            out.append(Path(dirpath))
            dirnames[:] = []  # a project's subfolders hold its templates, not more projects
    return sorted(out)


def _clean(given: str) -> str:
    text = given.replace("\\", "/").rstrip("/")
    return text or "."


def _display_dir(given_file: str) -> str:
    parent = os.path.dirname(given_file.replace("\\", "/"))
    return parent or "."


def _join(prefix: str, name: str) -> str:
    if prefix in ("", "."):
        return name
    return f"{prefix}/{name}"


def read_source(path: Path, display: str, *, root: Path | None = None) -> tuple[str | None, Diagnostic | None]:
    """A `.seq` file's text, or a located SEQ001 saying why it is not read or not text.

    Only a regular file is opened (a FIFO would block, a device never end), and with `root`
    only one that resolves inside that folder: a link leading elsewhere could echo, say, a
    credentials file's first line into a CI log.
    """
    data = _read_regular(path, display, root)
    if isinstance(data, Diagnostic):
        return None, data
    data = data.removeprefix(codecs.BOM_UTF8)  # before decoding, so error offsets index this data
    if b"\x00" in data:
        line, _ = _position(data[: data.index(b"\x00")])
        return None, _file_error(display, line, 1, "file is binary, not .seq text", "a .seq file is UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _position(data[: e.start])
        return None, _file_error(display, line, col, f"byte 0x{data[e.start]:02x} is not UTF-8 text",
                                 "save the file as UTF-8")
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def _read_regular(path: Path, display: str, root: Path | None) -> bytes | Diagnostic:
    """The bytes of `path`, or a SEQ001 refusing it; raises SeqcError when it cannot be read."""
    try:
        resolved = path.resolve()
        if root is not None and not resolved.is_relative_to(root.resolve()):
            return _file_error(display, 1, 1, f"`{path.name}` is a link that leaves the project folder; not read",
                               "copy the file into the project folder, or link to one inside it")
        if not stat.S_ISREG(os.stat(resolved).st_mode):
            return _not_regular(path, display)
        # O_NONBLOCK: should a FIFO replace the file after the check, opening it must not wait for a writer.
        fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except RuntimeError:  # Python 3.11's resolve() on a link loop
        raise SeqcError(f"{display}: cannot be read (a link loop)") from None
    except OSError as e:
        raise SeqcError(f"{display}: cannot be read ({e.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        try:
            return fh.read() if stat.S_ISREG(os.fstat(fh.fileno()).st_mode) else _not_regular(path, display)
        except OSError as e:
            raise SeqcError(f"{display}: cannot be read ({e.strerror})") from None


def _not_regular(path: Path, display: str) -> Diagnostic:
    return _file_error(display, 1, 1, f"`{path.name}` is not a regular file (a FIFO, socket or device); not read",
                       "a .seq file is a regular UTF-8 text file")


def _position(before: bytes) -> tuple[int, int]:
    """1-based line and column just after `before`, counting lines as `read_source`'s text does."""
    before = before.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    line = before.count(b"\n") + 1
    return line, len(before.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")) + 1


def _file_error(display: str, line: int, col: int, message: str, help_text: str) -> Diagnostic:
    return Diagnostic("SEQ001", Severity.ERROR, message, Span(display, line, col, line, col + 1), help_text)


def load(source: ProjectSource) -> LoadedProject:
    """Parse every file of a project and assemble one `ir.Project` (never raises on content)."""
    parsed: list[ParsedFile] = []
    loaded = LoadedProject(ir.Project(source.display, ()))
    for name in source.files:
        display = _join(source.display, name)
        text, problem = read_source(source.root / name, display, root=source.root)
        if problem is not None:
            loaded.diagnostics.append(problem)
            continue
        loaded.sources[display] = text
        pf = parse_text(text, display, base_dir=source.root, root=source.root)
        parsed.append(pf)
        loaded.sources.update(pf.templates)
        loaded.diagnostics.extend(pf.diagnostics)
    loaded.project = assemble(source.display, tuple(_join(source.display, n) for n in source.files), parsed,
                              loaded.diagnostics)
    return loaded


def load_text(text: str, file: str = "input.seq", root: Path | None = None) -> LoadedProject:
    """A one-file project from text (tests, the language server)."""
    text = normalize_newlines(text)  # as `read_source` does, so spans and the stored source agree
    base = root or Path(".")
    pf = parse_text(text, file, base_dir=base, root=base)
    loaded = LoadedProject(ir.Project(".", (file,)), {file: text, **pf.templates}, list(pf.diagnostics))
    loaded.project = assemble(".", (file,), [pf], loaded.diagnostics)
    return loaded


def assemble(root: str, files: tuple[str, ...], parsed: list[ParsedFile],
             diagnostics: list[Diagnostic]) -> ir.Project:
    prospects: list[ir.Prospect] = []
    sequences: list[ir.Sequence] = []
    campaigns: list[ir.Campaign] = []
    for pf in parsed:
        for node in pf.nodes:
            if isinstance(node, ir.Prospect):
                prospects.append(node)
            elif isinstance(node, ir.Sequence):
                sequences.append(node)
            elif isinstance(node, ir.Campaign):
                campaigns.append(node)
    for extra in prospects[1:]:
        diagnostics.append(Diagnostic(
            "SEQ102", Severity.ERROR, "a second `prospect` block in the project", extra.span,
            f"a project has one prospect block; merge it into the one at line {prospects[0].span.line} "
            f"of {prospects[0].span.file}"))
    suppressions = tuple(s for pf in parsed for s in _suppressions(pf))
    return ir.Project(root, files, prospects[0] if prospects else None, tuple(sequences), tuple(campaigns),
                      suppressions)


def _suppressions(pf: ParsedFile) -> list[ir.Suppression]:
    """`# seqc: ignore CODE` covers its own line; on a line of its own, the block below it too."""
    if not pf.comments:
        return []
    starts = _block_extents(pf.nodes)
    out = []
    for line, _column, text, alone in pf.comments:
        m = _SUPPRESS.search(text)
        if not m:
            continue
        codes = tuple(c.upper() for c in re.findall(r"SEQ\d+", m.group(1), re.IGNORECASE))
        last = line
        if alone:
            target = line + 1
            last = max(line + 1, starts.get(target, target))
        out.append(ir.Suppression(pf.file, line, last, codes))
    return out


def _block_extents(nodes: tuple) -> dict[int, int]:
    """Start line → furthest end line of any block starting there."""
    ext: dict[int, int] = {}

    def note(span: Span | None) -> None:
        if span is not None:
            ext[span.line] = max(ext.get(span.line, 0), span.end_line)

    for node in nodes:
        note(node.span)
        if isinstance(node, ir.Sequence):
            for w in node.windows:
                note(w.span)
            for ev in node.events:
                note(ev.span)
            for p in node.paths:
                note(p.span)
            for step in node.all_steps():
                note(step.span)
                for _, tpl in step.templates():
                    note(tpl.span)
        elif isinstance(node, ir.Campaign):
            for r in node.routes:
                note(r.span)
            for part in (node.sender, node.compliance):
                if part is not None:
                    note(part.span)
        elif isinstance(node, ir.Prospect):
            for f in node.fields:
                note(f.span)
    return ext

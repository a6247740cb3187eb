"""`seqc lsp`: the editor features of `compiler.lsp` served over the Language Server Protocol (pygls).

pygls and lsprotocol are an optional dependency (`seqc[lsp]`), imported only here; they convert
positions between the features' 1-based character columns and the client's encoding (UTF-16
by default).
"""

from __future__ import annotations

import os
from pathlib import Path

from compiler.diagnostics import Diagnostic, Span
from compiler.lsp import Analysis, analyze, complete, definition, hover, normalise_buffer


def create_server():
    """A pygls `LanguageServer` with seqc's features registered (needs `seqc[lsp]`)."""
    from lsprotocol import types as lsp
    from pygls.lsp.server import LanguageServer
    from pygls.uris import to_fs_path

    from compiler import __version__

    severity = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
                "info": lsp.DiagnosticSeverity.Information}
    kinds = {"keyword": lsp.CompletionItemKind.Keyword, "field": lsp.CompletionItemKind.Field,
             "step": lsp.CompletionItemKind.Reference, "path": lsp.CompletionItemKind.Module,
             "sequence": lsp.CompletionItemKind.Class, "function": lsp.CompletionItemKind.Function,
             "value": lsp.CompletionItemKind.EnumMember, "variable": lsp.CompletionItemKind.Variable}

    class SeqcServer(LanguageServer):
        def __init__(self) -> None:
            super().__init__("seqc", __version__)
            self.analyses: dict[str, Analysis] = {}
            self.last_good: dict[str, Analysis] = {}
            self.published: dict[str, set[str]] = {}       # project folder -> URIs with diagnostics sent

        # -- paths and URIs

        def path_of(self, uri: str) -> Path | None:
            fs = to_fs_path(uri)
            return Path(fs) if fs else None

        def uri_of(self, file: str) -> str:
            for doc_uri in self.workspace.text_documents:
                p = self.path_of(doc_uri)
                if p is not None and os.path.abspath(p) == file:
                    return doc_uri
            return file if "://" in file or file.startswith("untitled:") else Path(file).as_uri()

        def lines_of(self, analysis: Analysis, file: str) -> list[str]:
            text = analysis.text if file == analysis.file else analysis.loaded.sources.get(file, "")
            return text.split("\n")

        def to_range(self, analysis: Analysis, span: Span) -> lsp.Range:
            lines = self.lines_of(analysis, span.file)
            codec = self.workspace.position_codec
            start = codec.position_to_client_units(lines, lsp.Position(span.line - 1, max(span.column - 1, 0)))
            end = codec.position_to_client_units(lines, lsp.Position(span.end_line - 1, max(span.end_column - 1, 0)))
            if (end.line, end.character) < (start.line, start.character):
                end = start
            return lsp.Range(start=start, end=end)

        def position(self, uri: str, pos: lsp.Position) -> tuple[int, int]:
            doc = self.workspace.get_text_document(uri)
            server_pos = doc.position_codec.position_from_client_units(doc.lines, pos)
            return server_pos.line + 1, server_pos.character + 1

        # -- analysis and diagnostics

        def overlays(self) -> dict[str, str]:
            out = {}
            for doc_uri, doc in self.workspace.text_documents.items():
                p = self.path_of(doc_uri)
                if p is not None and str(p).endswith(".seq"):
                    out[os.path.abspath(p)] = doc.source
            return out

        def refresh(self, uri: str) -> Analysis:
            doc = self.workspace.get_text_document(uri)
            path = self.path_of(uri)
            analysis = analyze(doc.source, path, self.overlays(), display=uri)
            self.analyses[uri] = analysis
            if not analysis.loaded.has_syntax_errors:
                self.last_good[uri] = analysis
            self.publish(analysis, uri, doc.version)
            return analysis

        def publish(self, analysis: Analysis, uri: str, version: int | None) -> None:
            key = analysis.project.root
            sent: set[str] = set()
            for file, diags in analysis.by_file().items():
                target = uri if file == analysis.file else self.uri_of(file)
                items = [self.to_diagnostic(analysis, d) for d in diags]
                self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
                    uri=target, diagnostics=items, version=version if target == uri else None))
                if items:
                    sent.add(target)
            for stale in self.published.get(key, set()) - sent - {self.uri_of(f) for f in analysis.files}:
                self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
            self.published[key] = sent

        def to_diagnostic(self, analysis: Analysis, d: Diagnostic) -> lsp.Diagnostic:
            span = d.span or Span(analysis.file, 1, 1, 1, 1)
            message = d.message + (f"\nhelp: {d.help}" if d.help else "")
            return lsp.Diagnostic(range=self.to_range(analysis, span), message=message,
                                  severity=severity[d.severity.value], code=d.code, source="seqc")

        def fallback(self, uri: str, analysis: Analysis) -> Analysis | None:
            """The last analysis of `uri` that parsed; for a buffer that never did, its file on disk."""
            good = self.last_good.get(uri)
            if good is not None or not analysis.loaded.has_syntax_errors:
                return good
            path = self.path_of(uri)
            if path is None or not path.is_file():
                return None
            try:
                disk = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return None
            others = {k: v for k, v in self.overlays().items() if k != os.path.abspath(path)}
            candidate = analyze(disk, path, others)
            if candidate.loaded.has_syntax_errors:
                return None
            self.last_good[uri] = candidate
            return candidate

        def current(self, uri: str) -> Analysis:
            analysis = self.analyses.get(uri)
            doc = self.workspace.get_text_document(uri)
            if analysis is None or analysis.text != normalise_buffer(doc.source):
                analysis = self.refresh(uri)
            return analysis

    server = SeqcServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SeqcServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SeqcServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SeqcServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SeqcServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        analysis = ls.analyses.pop(uri, None)
        ls.last_good.pop(uri, None)
        if analysis is None:
            return
        others = [u for u, a in ls.analyses.items() if a.project.root == analysis.project.root]
        if others:
            ls.refresh(others[0])
        else:   # nothing of this project is open any more: clear what was shown for it
            for stale in ls.published.pop(analysis.project.root, set()) | {uri}:
                ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=stale, diagnostics=[]))

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: SeqcServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        # A template, seqc.toml or a closed .seq file changed on disk: re-check one open document
        # of each project (that publishes the whole project).
        seen: set[str] = set()
        for uri, analysis in list(ls.analyses.items()):
            if analysis.project.root not in seen:
                seen.add(analysis.project.root)
                ls.refresh(uri)

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: SeqcServer, params: lsp.HoverParams) -> lsp.Hover | None:
        uri = params.text_document.uri
        analysis = ls.current(uri)
        line, column = ls.position(uri, params.position)
        found = hover(analysis, line, column)
        if found is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=found.markdown),
                         range=ls.to_range(analysis, found.span))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: SeqcServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        uri = params.text_document.uri
        analysis = ls.current(uri)
        line, column = ls.position(uri, params.position)
        span = definition(analysis, line, column)
        if span is None:
            return None
        return lsp.Location(uri=uri if span.file == analysis.file else ls.uri_of(span.file),
                            range=ls.to_range(analysis, span))

    @server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                    lsp.CompletionOptions(trigger_characters=["(", "{", " ", "|", ">"]))
    def on_completion(ls: SeqcServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri = params.text_document.uri
        analysis = ls.current(uri)
        line, column = ls.position(uri, params.position)
        trigger = params.context.trigger_character if params.context is not None else None
        items = complete(analysis, line, column, fallback=ls.fallback(uri, analysis), trigger=trigger)
        return lsp.CompletionList(is_incomplete=False, items=[
            lsp.CompletionItem(label=c.label, kind=kinds.get(c.kind), detail=c.detail, insert_text=c.insert)
            for c in items])

    return server


def serve() -> None:
    """Run the language server over stdin/stdout until the client disconnects."""
    _quiet_logs()
    create_server().start_io()


def _quiet_logs() -> None:
    """pygls logs a client's malformed message with its traceback; the client shows our stderr
    as its log, so one line each is enough (and no traceback reaches the user)."""
    import logging

    class OneLine(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            lines = record.getMessage().strip().splitlines()  # pygls puts tracebacks in the message
            text = " ".join(lines[0].split()) if lines else record.levelname.lower()
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                text += f": {type(error).__name__}: {' '.join(str(error).split())[:300]}"
            return f"seqc lsp: {text}"

    handler = logging.StreamHandler()
    handler.setFormatter(OneLine())
    for name in ("pygls", "lsprotocol"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False

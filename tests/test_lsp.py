"""The language server driven in-process, its features as functions, and the editor/CI files."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import lsp, lsp_server, skeleton
from compiler.cli_authoring import lsp as lsp_cmd
from compiler.diagnostics import SeqcError

ROOT = Path(__file__).resolve().parent.parent
VSCODE = ROOT / "editors" / "vscode"


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "acme"
    skeleton.write(folder, skeleton.skeleton("acme", "mid_market", "email,linkedin,call"))
    return folder


def at(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the `occurrence`-th `needle` in `text`, plus `offset` characters."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column + offset


# ---------------------------------------------------------------- the protocol, in-process


class Client:
    """Feeds JSON-RPC messages to a server's protocol and collects what it sends back."""

    def __init__(self) -> None:
        self.server = lsp_server.create_server()
        self.sent: list[dict] = []
        self.server.protocol.set_writer(self, include_headers=False)
        self._id = 0

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data.decode("utf-8")))

    def close(self) -> None:
        pass

    def notify(self, method: str, params: dict) -> None:
        self._handle({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: dict):
        self._id += 1
        self._handle({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        (reply,) = [m for m in self.sent if m.get("id") == self._id]
        assert "error" not in reply, reply
        return reply["result"]

    def _handle(self, message: dict) -> None:
        protocol = self.server.protocol
        protocol.handle_message(protocol.structure_message(message))

    def diagnostics(self, uri: str, *, infos: bool = False) -> list[dict]:
        """The last diagnostics published for `uri` (errors and warnings, unless `infos`)."""
        found = [m["params"]["diagnostics"] for m in self.sent
                 if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri]
        assert found, f"nothing published for {uri}"
        return [d for d in found[-1] if infos or d["severity"] in (1, 2)]


@pytest.fixture
def client(project) -> Client:
    pytest.importorskip("pygls")
    c = Client()
    result = c.request("initialize", {"processId": None, "rootUri": project.as_uri(), "capabilities": {}})
    caps = result["capabilities"]
    assert caps["hoverProvider"] and caps["definitionProvider"] and "completionProvider" in caps
    assert result["serverInfo"]["name"] == "seqc"
    c.notify("initialized", {})
    return c


def _open(client: Client, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "seq", "version": 1, "text": path.read_text() if text is None else text}})
    return uri


def _pos(line: int, column: int) -> dict:
    return {"line": line - 1, "character": column - 1}


def test_open_publishes_diagnostics_for_the_project(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text().replace("thread opener", "thread opner")
    uri = _open(client, seq, text)
    (diag,) = client.diagnostics(uri)
    line, column = at(text, "opner")
    assert diag["code"] == "SEQ101" and diag["source"] == "seqc" and diag["severity"] == 1
    assert diag["range"] == {"start": _pos(line, column), "end": _pos(line, column + 5)}
    assert "did you mean `opener`?" in diag["message"]
    assert client.diagnostics((project / "campaign.seq").as_uri()) == []


def test_change_updates_diagnostics_as_you_type(client, project):
    seq = project / "sequence.seq"
    uri = _open(client, seq)
    assert client.diagnostics(uri) == []
    broken = seq.read_text().replace("day 3 email value {", "day 3 email value if clicked(nope) {")
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": broken}]})
    assert [d["code"] for d in client.diagnostics(uri)] == ["SEQ101"]
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                             "contentChanges": [{"text": seq.read_text()}]})
    assert client.diagnostics(uri) == []


def test_an_edit_in_one_file_reports_in_another(client, project):
    """The open buffer replaces the file on disk: renaming the sequence breaks the route in campaign.seq."""
    seq = project / "sequence.seq"
    uri = _open(client, seq, seq.read_text().replace("sequence mid_market", "sequence mid_mkt"))
    assert client.diagnostics(uri) == []
    (diag,) = client.diagnostics((project / "campaign.seq").as_uri())
    assert diag["code"] == "SEQ101" and "mid_market" in diag["message"]


def test_hover_on_a_step_shows_where_it_lands(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text()
    uri = _open(client, seq)
    line, column = at(text, "clicked(value)", offset=9)
    result = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _pos(line, column)})
    value = result["contents"]["value"]
    assert result["contents"]["kind"] == "markdown"
    assert value.startswith("**step `value`** — day 3, email · value_add")
    assert "lands **thu** for an enrollment on Monday (3 days after enrollment), window mon-fri 10:00-12:00" in value
    assert result["range"] == {"start": _pos(line, column - 1), "end": _pos(line, column + 4)}


def test_hover_on_a_rule_code_shows_its_doc(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text().replace("  day 3 email value {", "  # seqc: ignore SEQ101\n  day 3 email value {")
    uri = _open(client, seq, text)
    line, column = at(text, "SEQ101", offset=3)
    result = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _pos(line, column)})
    value = result["contents"]["value"]
    assert value.startswith("**SEQ101** · error · `architecture.unknown-reference`\n\nReference to an unknown")
    assert "```seq\n" in value
    assert result["range"] == {"start": _pos(line, column - 3), "end": _pos(line, column + 3)}


def test_hover_on_prose_and_whitespace_is_empty(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text()
    uri = _open(client, seq)
    for needle in ("Quick question about", "# Cold opener"):    # a string, a comment
        line, column = at(text, needle, offset=2)
        assert client.request("textDocument/hover",
                              {"textDocument": {"uri": uri}, "position": _pos(line, column)}) is None


def test_definition_of_a_step_a_path_and_a_sequence(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text()
    uri = _open(client, seq)

    def definition(path_uri, line, column):
        return client.request("textDocument/definition",
                              {"textDocument": {"uri": path_uri}, "position": _pos(line, column)})

    line, column = at(text, "thread opener", offset=8)
    target_line, target_column = at(text, "email opener", offset=6)
    assert definition(uri, line, column) == {"uri": uri, "range": {
        "start": _pos(target_line, target_column), "end": _pos(target_line, target_column + 6)}}

    line, column = at(text, "-> hot", offset=4)
    target_line, target_column = at(text, "path hot", offset=5)
    assert definition(uri, line, column)["range"]["start"] == _pos(target_line, target_column)

    line, column = at(text, "accepted(invite)", offset=10)
    target_line, _ = at(text, "linkedin invite")
    assert definition(uri, line, column)["range"]["start"]["line"] == target_line - 1

    campaign = project / "campaign.seq"
    ctext = campaign.read_text()
    curi = _open(client, campaign)
    line, column = at(ctext, "    mid_market", offset=6)
    result = definition(curi, line, column)
    target_line, target_column = at(text, "sequence mid_market", offset=9)
    assert result == {"uri": uri, "range": {"start": _pos(target_line, target_column),
                                            "end": _pos(target_line, target_column + 10)}}


def test_definition_of_a_field_in_a_template_and_a_guard(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text()
    uri = _open(client, seq)
    prospect_uri = (project / "prospect.seq").as_uri()
    ptext = (project / "prospect.seq").read_text()
    for needle, offset in (("{{ company }}", 4), ("has(phone)", 5)):
        line, column = at(text, needle, offset=offset)
        result = client.request("textDocument/definition",
                                {"textDocument": {"uri": uri}, "position": _pos(line, column)})
        name = needle.strip("{} ").removeprefix("has(").rstrip(")")
        target_line, target_column = at(ptext, f"  {name}:", offset=2)
        assert result == {"uri": prospect_uri, "range": {"start": _pos(target_line, target_column),
                                                         "end": _pos(target_line, target_column + len(name))}}


def test_completion_over_the_protocol(client, project):
    seq = project / "sequence.seq"
    text = seq.read_text().replace("on clicked(value) within 2 days -> hot", "on clicked(")
    uri = _open(client, seq, text)
    line, column = at(text, "on clicked(", offset=11)
    result = client.request("textDocument/completion", {
        "textDocument": {"uri": uri}, "position": _pos(line, column),
        "context": {"triggerKind": 2, "triggerCharacter": "("}})
    assert [i["label"] for i in result["items"]] == ["opener", "value", "proof", "breakup", "direct_ask"]


def test_utf16_columns(client, project):
    """Columns go out in UTF-16 code units: an emoji before the error counts twice."""
    seq = project / "sequence.seq"
    text = seq.read_text().replace('subject "Closing the loop"', 'subject "😀 {{ frist_name }}"')
    uri = _open(client, seq, text)
    (diag,) = [d for d in client.diagnostics(uri) if d["code"] == "SEQ301"]
    line, column = at(text, "frist_name")
    assert diag["range"]["start"] == {"line": line - 1, "character": column - 1 + 1}


def test_a_template_saved_on_disk_is_rechecked(client, project):
    uri = _open(client, project / "sequence.seq")
    template = project / "templates" / "proof.txt.j2"
    assert client.diagnostics(uri) == []
    template.write_text(template.read_text().replace("Hi {{ first_name }}", "Hi {{ frist_name }}"))
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": template.as_uri(), "type": 2}]})
    (diag,) = client.diagnostics(template.as_uri())
    assert diag["code"] == "SEQ301" and diag["range"]["start"] == {"line": 0, "character": 6}
    assert "did you mean `first_name`?" in diag["message"]


def test_close_clears_the_projects_diagnostics(client, project):
    seq = project / "sequence.seq"
    uri = _open(client, seq, seq.read_text().replace("thread opener", "thread opner"))
    assert client.diagnostics(uri)
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri, infos=True) == []


# ---------------------------------------------------------------- features as functions


@pytest.fixture
def analysis(project) -> lsp.Analysis:
    path = project / "sequence.seq"
    return lsp.analyze(path.read_text(), path)


def _labels(analysis: lsp.Analysis, text: str, needle: str, offset: int, **kw) -> list[str]:
    line, column = at(text, needle, offset=offset)
    return [c.label for c in lsp.complete(analysis, line, column, **kw)]


def _with(project: Path, old: str, new: str) -> tuple[lsp.Analysis, str]:
    path = project / "sequence.seq"
    text = path.read_text().replace(old, new)
    return lsp.analyze(text, path), text


def test_complete_fields_in_templates(project):
    a, text = _with(project, "Quick question about {{ company }}", "Quick question about {{ co }}")
    labels = _labels(a, text, "{{ co }}", 5)
    assert labels[:3] == ["email", "first_name", "company"]
    assert "unsubscribe_url" in labels and "sender_first_name" in labels
    a, text = _with(project, "Quick question about {{ company }}", "Quick question about {{ company | }}")
    assert _labels(a, text, "| }}", 1) == ["default"]


def test_complete_steps_after_events(project):
    a, text = _with(project, "if accepted(invite) and", "if accepted(invite) and opened(")
    assert _labels(a, text, "opened(", 7) == ["opener", "value", "proof", "breakup", "direct_ask"]
    assert _labels(a, text, "accepted(invite)", 9) == ["invite"]
    a, text = _with(project, "if has(phone)", "if connected()")
    assert _labels(a, text, "connected()", 10) == ["first_call", "hot_call"]


def test_complete_while_the_document_does_not_parse(project, analysis):
    a, text = _with(project, "thread value", "thread ")
    assert a.loaded.has_syntax_errors
    assert _labels(a, text, "thread \n", 7, fallback=analysis) == ["opener", "value", "proof", "breakup",
                                                                   "direct_ask"]


def test_complete_paths_values_and_keywords(project, analysis):
    a, text = _with(project, "-> hot", "-> ")
    assert _labels(a, text, "-> ", 3, fallback=analysis) == ["hot", "end"]
    a, text = _with(project, "purpose breakup", "purpose b")
    assert _labels(a, text, "purpose b", 9) == list(lsp.ir.PURPOSES)
    a, text = _with(project, "day 14 email breakup", "day 14 e")
    assert _labels(a, text, "day 14 e", 8, fallback=analysis) == ["email", "linkedin", "call", "task"]
    a, text = _with(project, "if has(phone)", "if has(ph)")
    assert "phone" in _labels(a, text, "has(ph)", 6)
    text = analysis.text
    line, column = at(text, "    purpose opener")
    assert "subject" in [c.label for c in lsp.complete(analysis, line, column)]
    line, column = at(text, "  holidays prospect")
    assert "tier" in [c.label for c in lsp.complete(analysis, line, column)]
    line, column = at(text, "  holidays prospect", offset=1)
    assert lsp.complete(analysis, line, column, trigger=" ") == []
    end = len(text.split("\n"))     # after the sequence block: the top-level keywords
    assert [c.label for c in lsp.complete(analysis, end, 1)] == ["prospect", "sequence", "campaign"]
    line, column = at(text, "# Cold opener", offset=3)
    assert lsp.complete(analysis, line, column) == []                  # in a comment


def test_complete_in_a_guard(project):
    a, text = _with(project, "if has(phone)", "if ph")
    labels = _labels(a, text, "if ph", 5)
    assert "phone" in labels and "opened" in labels and "has" in labels


def test_untitled_buffer_is_checked_on_its_own():
    a = lsp.analyze('sequence s { day 0 email a if opened(b) { subject "x" body "y" } }', None,
                    display="untitled:Untitled-1")
    (unknown,) = [d for d in a.diagnostics if d.code == "SEQ101"]
    assert unknown.span.file == "untitled:Untitled-1" and a.files == ("untitled:Untitled-1",)


def test_rule_markdown():
    text = lsp.rule_markdown("seq304")
    assert text.startswith("**SEQ304** · error · `personalization.channel-needs-field`\n\n")
    assert "```seq\nday 5 call first_call if has(phone)" in text
    assert lsp.rule_markdown("SEQ999") is None


def test_lsp_command_without_pygls(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygls", None)      # `import pygls` now raises ImportError
    result = CliRunner().invoke(lsp_cmd, [])
    assert isinstance(result.exception, SeqcError)
    assert str(result.exception) == "the language server needs pygls: pip install 'seqc[lsp]'"


# ---------------------------------------------------------------- editor and CI files


def _regexes(node, where="$"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("match", "begin", "end", "while") and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from _regexes(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _regexes(value, f"{where}[{i}]")


def _grammar() -> dict:
    return json.loads((VSCODE / "syntaxes" / "seq.tmLanguage.json").read_text(encoding="utf-8"))


def test_vscode_json_files_parse_and_point_at_each_other():
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    config = json.loads((VSCODE / "language-configuration.json").read_text(encoding="utf-8"))
    grammar = _grammar()
    (language,) = package["contributes"]["languages"]
    (contributed,) = package["contributes"]["grammars"]
    assert language["id"] == contributed["language"] == "seq" and language["extensions"] == [".seq"]
    assert (VSCODE / language["configuration"]).is_file() and (VSCODE / contributed["path"]).is_file()
    assert contributed["scopeName"] == grammar["scopeName"] == "source.seq"
    assert (VSCODE / package["main"]).is_file()
    assert config["comments"] == {"lineComment": "#"}
    assert {"open": '"', "close": '"', "notIn": ["string", "comment"]} in config["autoClosingPairs"]
    for key in ("wordPattern",):
        re.compile(config[key])
    for rule in config["indentationRules"].values():
        re.compile(rule)
    included = {p["include"].lstrip("#") for p in grammar["patterns"]}
    assert included <= set(grammar["repository"])


def test_grammar_regexes_compile():
    found = list(_regexes(_grammar()))
    assert len(found) > 30
    for where, pattern in found:
        try:
            re.compile(pattern)
        except re.error as e:   # pragma: no cover - the message says which one
            pytest.fail(f"{where}: {pattern!r}: {e}")


def _rule(name: str, index: int | None = None) -> re.Pattern:
    node = _grammar()["repository"][name]
    if index is not None:
        node = node["patterns"][index]
    return re.compile(node["match"])


@pytest.mark.parametrize("text, scope", [
    ("2027-01-05", "constant.numeric.date.seq"),
    ("10:00-12:00", "constant.numeric.time-range.seq"),
    ("09:30", "constant.numeric.time.seq"),
    ("50/50", "constant.numeric.split.seq"),
    ("0.08%", "constant.numeric.percentage.seq"),
    ("40", "constant.numeric.seq"),
    ("tue-thu", "constant.language.weekday.seq"),
    ("mon,wed-fri", "constant.language.weekday.seq"),
])
def test_grammar_literals(text, scope):
    literals = _grammar()["repository"]["literals"]["patterns"]
    first = next(p for p in literals if re.compile(p["match"]).match(text))
    assert first["name"] == scope and re.compile(first["match"]).match(text).group(0) == text


def test_grammar_step_header_and_strings():
    m = _rule("step-header").search("  day 14 email breakup if has(phone) {")
    assert m.groups() == ("day", "14", "email", "breakup")
    string = _grammar()["repository"]["string"]
    escape = re.compile(string["patterns"][0]["match"])
    assert escape.fullmatch('\\"') and escape.fullmatch("\\u00e9") and not escape.fullmatch("\\q")
    long = _grammar()["repository"]["long-string"]
    assert long["begin"] == long["end"] == '"""'
    jinja = _grammar()["repository"]["jinja"]["patterns"]
    assert re.compile(jinja[1]["begin"]).match("{{-") and re.compile(jinja[2]["begin"]).match("{%")


def test_pre_commit_hooks():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:   # no YAML parser in the test environment: check the lines instead
        for hook, entry in (("seqc-check", "seqc check"), ("seqc-fmt", "seqc fmt --check")):
            block = re.search(rf"^- id: {hook}\n((?:  .*\n)+)", text, re.M).group(1)
            assert f"  entry: {entry}\n" in block and "  files: \\.seq$\n" in block
            assert "  language: python\n" in block and "  pass_filenames: true\n" in block
        return
    hooks = {h["id"]: h for h in yaml.safe_load(text)}
    assert hooks["seqc-check"]["entry"] == "seqc check" and hooks["seqc-fmt"]["entry"] == "seqc fmt --check"
    assert all(h["files"] == r"\.seq$" and h["language"] == "python" and h["pass_filenames"] is True
               for h in hooks.values())


def test_authoring_docs_cover_the_commands():
    text = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    for needle in ("seqc graph", "seqc new", "seqc fmt", "seqc lsp", ".pre-commit-hooks.yaml",
                   "seqc check --format github", "```mermaid", "editors/vscode"):
        assert needle in text, needle


def test_a_malformed_client_message_is_one_log_line_not_a_traceback():
    pytest.importorskip("pygls")
    import subprocess

    body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}'  # no processId, no capabilities
    message = b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    proc = subprocess.run([sys.executable, "-c", "from compiler.cli import run; run(['lsp'])"], input=message,
                          capture_output=True, timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err and err.strip()
    assert all(line.startswith("seqc lsp: ") for line in err.splitlines()), err
    assert b"Invalid Params" in proc.stdout  # the client is told, as the protocol says

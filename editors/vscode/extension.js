// seqc for VS Code: the grammar and language configuration are declarative (package.json);
// this file only starts the language server, `seqc lsp`, when it can.
"use strict";

const vscode = require("vscode");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("seqc");
  if (!config.get("server.enabled", true)) {
    return;
  }
  let lc;
  try {
    lc = require("vscode-languageclient/node");
  } catch (err) {
    vscode.window.showWarningMessage(
      "seqc: run `npm install` in the extension folder to enable diagnostics and hovers (highlighting works without it)."
    );
    return;
  }
  const [command, ...args] = config.get("server.command", ["seqc", "lsp"]);
  // TransportKind.stdio makes the client append `--stdio`, which `seqc lsp` accepts.
  const serverOptions = { command, args, transport: lc.TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "seq" }, { scheme: "untitled", language: "seq" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.seq,*.j2,seqc.toml}") },
  };
  client = new lc.LanguageClient("seqc", "seqc language server", serverOptions, clientOptions);
  client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `seqc: could not start \`${command} ${args.join(" ")}\` (${err.message}). ` +
        "Install it with `pip install 'seqc[lsp]'` or set `seqc.server.command`."
    );
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

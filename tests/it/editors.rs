//! Editor support, proven with the real language servers an editor runs:
//! nls (nickel-lang-lsp 1.18.0, on the Nickel labc embeds) on lab.ncl, and
//! taplo (its CLI and its language server, what the Even Better TOML
//! extension runs) on lab.toml. Both come from `tests/tools/install.sh`.
//!
//! The servers are driven the way an editor drives them: LSP JSON-RPC over
//! stdio with `Content-Length` framing ([`Lsp`]), on scratch copies of the
//! labs with the repository's `schemas/` beside them.

use crate::common::{fixtures, lab_text, root, stderr, stdout, tool};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

const NLS: &str = "target/tools/nls/bin/nls";
const TAPLO: &str = "target/tools/taplo/bin/taplo";
/// How long a server may take to answer, or to publish diagnostics: far
/// above what they take (nls evaluates the reference lab in about 0.2 s).
const PATIENCE: Duration = Duration::from_secs(60);

/// A language server on stdio, as an editor talks to it.
struct Lsp {
    child: Child,
    stdin: ChildStdin,
    /// Messages from the server, one JSON value each, read by a thread.
    messages: Receiver<Value>,
    next_id: u64,
}

impl Lsp {
    fn start(command: &mut Command) -> Lsp {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("language server starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, messages) = channel();
        std::thread::spawn(move || {
            while let Some(message) = read_message(&mut stdout) {
                if send.send(message).is_err() {
                    break;
                }
            }
        });
        Lsp {
            child,
            stdin,
            messages,
            next_id: 0,
        }
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The next message from the server that is not a request to the
    /// client (those are answered here: no configuration, no capability),
    /// or `None` at `deadline`.
    fn next(&mut self, deadline: Instant) -> Option<Value> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match self.messages.recv_timeout(left) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("the language server exited"),
            };
            match (
                message.get("id"),
                message.get("method").and_then(Value::as_str),
            ) {
                (Some(id), Some(method)) => {
                    let result = match method {
                        "workspace/configuration" => {
                            let items = message["params"]["items"].as_array().map_or(0, Vec::len);
                            Value::Array(vec![Value::Null; items])
                        }
                        _ => Value::Null,
                    };
                    let id = id.clone();
                    self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": result }));
                }
                _ => return Some(message),
            }
        }
    }

    /// Sends a request and returns its result; notifications that arrive
    /// meanwhile are dropped (diagnostics are awaited before requests).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let message = self
                .next(deadline)
                .unwrap_or_else(|| panic!("no answer to {method} in {PATIENCE:?}"));
            if message.get("id") == Some(&json!(id)) {
                assert!(message.get("error").is_none(), "{method} failed: {message}");
                return message["result"].clone();
            }
        }
    }

    /// The diagnostics the server publishes for `uri`, list by list, until
    /// `done` says the lists seen so far are enough.
    fn diagnostics(&mut self, uri: &str, done: impl Fn(&[Vec<Value>]) -> bool) -> Vec<Vec<Value>> {
        let deadline = Instant::now() + PATIENCE;
        let mut seen: Vec<Vec<Value>> = Vec::new();
        while !done(&seen) {
            let Some(message) = self.next(deadline) else {
                panic!("diagnostics for {uri} incomplete after {PATIENCE:?}: {seen:#?}");
            };
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                seen.push(
                    message["params"]["diagnostics"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        seen
    }

    fn initialize(&mut self, folder: &Path, options: Value) {
        let folder = file_uri(folder);
        self.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": folder,
                "workspaceFolders": [{ "uri": folder, "name": "lab" }],
                "capabilities": {
                    "textDocument": {
                        "hover": { "contentFormat": ["markdown", "plaintext"] },
                        "completion": { "completionItem": {
                            "snippetSupport": true,
                            "documentationFormat": ["markdown", "plaintext"],
                        } },
                        "publishDiagnostics": {},
                    },
                    "workspace": { "configuration": true, "workspaceFolders": true },
                },
                "initializationOptions": options,
            }),
        );
        self.notify("initialized", json!({}));
    }

    fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": {
                "uri": uri, "languageId": language, "version": 1, "text": text,
            } }),
        );
    }

    fn change(&mut self, uri: &str, version: u32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
    }

    /// A request at a position of a document.
    fn at(&mut self, method: &str, uri: &str, (line, character): (usize, usize)) -> Value {
        self.request(
            method,
            json!({
                "textDocument": { "uri": uri },
                "position": { "line": line, "character": character },
            }),
        )
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One framed message, or `None` at the end of the stream.
fn read_message(from: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if from.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    from.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The (line, character) where `marker` ends in `text` (0-based, as LSP
/// counts; the labs' text before a marker is ASCII), or where `marker` starts
/// plus `offset`.
fn position(text: &str, marker: &str, offset: Option<usize>) -> (usize, usize) {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in the lab"));
    let at = start + offset.unwrap_or(marker.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (text[..at].matches('\n').count(), at - line_start)
}

/// The text of a hover answer, whatever shape the server chose.
fn hover_text(hover: &Value) -> String {
    match &hover["contents"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| {
                p.as_str().map_or_else(
                    || p["value"].as_str().unwrap_or_default().to_string(),
                    String::from,
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other["value"].as_str().unwrap_or_default().to_string(),
    }
}

/// The items of a completion answer (a list, or a `CompletionList`).
fn completion_items(answer: &Value) -> Vec<Value> {
    answer
        .as_array()
        .or_else(|| answer["items"].as_array())
        .cloned()
        .unwrap_or_default()
}

fn labels(items: &[Value]) -> Vec<String> {
    let mut labels: Vec<String> = items
        .iter()
        .filter_map(|i| i["label"].as_str().map(String::from))
        .collect();
    labels.sort();
    labels
}

/// The documentation of a completion item, as text.
fn item_doc(item: &Value) -> String {
    match &item["documentation"] {
        Value::String(s) => s.clone(),
        other => other["value"].as_str().unwrap_or_default().to_string(),
    }
}

/// A scratch folder holding `lab.ncl` (the given text) and the
/// repository's `schemas/`, as a user's repository has them.
fn nickel_lab(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
    std::fs::write(dir.path().join("lab.ncl"), text).unwrap();
    dir
}

/// nls on the reference lab.ncl: the valid lab gets no diagnostic, an enum
/// typo one on its line (from nls's evaluation, which applies labc's
/// contracts), a host's record completes the host's fields with their docs,
/// and `archetype` hovers with its doc and the values it takes.
#[test]
fn nls_checks_completes_and_documents_lab_ncl() {
    let nls = tool(NLS);
    let version = Command::new(&nls).arg("--version").output().unwrap();
    assert!(stdout(&version).contains("1.18.0"), "{}", stdout(&version));
    let text = std::fs::read_to_string(root().join("lab.ncl")).unwrap();
    let dir = nickel_lab(&text);
    let uri = file_uri(&dir.path().join("lab.ncl"));
    let mut server = Lsp::start(
        Command::new(&nls)
            .current_dir(dir.path())
            .env("RUST_LOG", "off"),
    );
    // The evaluation timeout README.md tells big labs to raise: nls must
    // accept the setting in this shape.
    server.initialize(
        dir.path(),
        json!({ "eval_config": { "eval_limits": { "timeout": { "secs": 30, "nanos": 0 } } } }),
    );

    // nls publishes twice for a version of a file: after type checking,
    // then after evaluating it (the contracts' verdict).
    server.open(&uri, "nickel", &text);
    let published = server.diagnostics(&uri, |seen| seen.len() == 2);
    assert!(
        published.iter().all(Vec::is_empty),
        "the reference lab has diagnostics: {published:#?}"
    );

    // A misspelt enum tag: reported at its line, once evaluation applied
    // the `Archetype` contract.
    let typo = text.replacen("archetype = 'sqlite,", "archetype = 'sqlit,", 1);
    assert_ne!(typo, text);
    let (typo_line, _) = position(&typo, "'sqlit,", None);
    server.change(&uri, 2, &typo);
    let published = server.diagnostics(&uri, |seen| seen.last().is_some_and(|d| !d.is_empty()));
    let errors = published.last().unwrap();
    assert!(
        errors.iter().any(|d| d["severity"] == 1
            && d["range"]["start"]["line"] == typo_line
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains("archetype"))),
        "no error on line {} for 'sqlit: {errors:#?}",
        typo_line + 1
    );

    // Completion in a host's record, after the first letters of a field and
    // a comma (see README.md, "Editors": nls completes a record's fields
    // only after an identifier).
    let partial = text.replacen(
        "address = \"192.168.1.201\",\n",
        "address = \"192.168.1.201\",\n      ss,\n",
        1,
    );
    assert_ne!(partial, text);
    server.change(&uri, 3, &partial);
    server.diagnostics(&uri, |seen| !seen.is_empty());
    let items = completion_items(&server.at(
        "textDocument/completion",
        &uri,
        position(&partial, "      ss,", Some("      ss".len())),
    ));
    let offered = labels(&items);
    for field in ["address", "services", "ssh_user"] {
        assert!(
            offered.contains(&field.to_string()),
            "{field} not offered: {offered:?}"
        );
    }
    let ssh_user = items.iter().find(|i| i["label"] == "ssh_user").unwrap();
    assert!(
        item_doc(ssh_user).contains("Overrides the lab's `ssh_user` for this host."),
        "{ssh_user:#}"
    );

    // Hover on a field whose type is a shared contract: the field's own doc,
    // then the values it takes, as Nickel tags.
    server.change(&uri, 4, &text);
    server.diagnostics(&uri, |seen| !seen.is_empty());
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, "archetype = 'sqlite", Some(2)),
    );
    let shown = hover_text(&hover);
    assert!(shown.contains("How the app keeps its state."), "{shown}");
    assert!(
        shown.contains("- `'sqlite`: State in SQLite on a Longhorn ReadWriteOnce volume"),
        "{shown}"
    );
}

/// `taplo check` on `path` from `cwd`, with no `--schema`: taplo finds the
/// schema itself, from the file's `#:schema` line or a `.taplo.toml`.
fn taplo_check(cwd: &Path, path: &Path) -> (bool, String) {
    let out = Command::new(tool(TAPLO))
        .args(["check", "--colors", "never"])
        .arg(path)
        .current_dir(cwd)
        .env("RUST_LOG", "error")
        .output()
        .expect("taplo runs");
    (
        out.status.success(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

/// The lab.toml files the repository ships, valid and invalid, each with a
/// `#:schema` line resolving from its own folder to `schemas/`.
#[test]
fn shipped_lab_toml_files_point_at_the_schema() {
    let version = Command::new(tool(TAPLO)).arg("--version").output().unwrap();
    assert!(stdout(&version).contains("0.10.0"), "{}", stdout(&version));
    let mut shipped = 0;
    for e in walkdir::WalkDir::new(fixtures())
        .into_iter()
        .filter_map(Result::ok)
    {
        if e.file_name() != "lab.toml" {
            continue;
        }
        let first = std::fs::read(e.path()).unwrap();
        let first = String::from_utf8_lossy(first.split(|b| *b == b'\n').next().unwrap());
        let target = first
            .strip_prefix("#:schema ")
            .unwrap_or_else(|| panic!("{} has no #:schema line", e.path().display()));
        let resolved = e.path().parent().unwrap().join(target);
        assert_eq!(
            resolved.canonicalize().unwrap(),
            root()
                .join("schemas/lab.schema.json")
                .canonicalize()
                .unwrap(),
            "{}",
            e.path().display()
        );
        shipped += 1;
    }
    assert!(shipped > 20, "only {shipped} lab.toml files");

    // taplo follows the line: run from a folder with no .taplo.toml, it
    // passes the valid twin and reports the misspelt field of
    // toml-unknown-field at the line its `expect` gives.
    let elsewhere = tempfile::tempdir().unwrap();
    let valid = fixtures().join("valid/reference-toml/lab.toml");
    let (ok, report) = taplo_check(elsewhere.path(), &valid);
    assert!(ok, "{report}");
    let case = fixtures().join("invalid/toml-unknown-field");
    let (ok, report) = taplo_check(elsewhere.path(), &case.join("lab.toml"));
    assert!(!ok, "taplo found no schema:\n{report}");
    let expect = std::fs::read_to_string(case.join("expect")).unwrap();
    for line in expect.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            report.contains(&format!("{line}:")),
            "{line} not in:\n{report}"
        );
    }
    assert!(report.contains("adress"), "{report}");
}

/// The reference lab in TOML with `edit` applied, its `#:schema` line
/// replaced by `directive` (or removed).
fn toml_lab(directive: Option<&str>, edit: (&str, &str)) -> String {
    let text = lab_text("reference-toml");
    let (first, rest) = text.split_once('\n').unwrap();
    assert!(first.starts_with("#:schema "));
    let text = match directive {
        Some(d) => format!("#:schema {d}\n{rest}"),
        None => rest.to_string(),
    };
    let edited = text.replacen(edit.0, edit.1, 1);
    assert_ne!(edited, text, "{edit:?}");
    edited
}

/// The repository's `.taplo.toml` associates every lab.toml with the schema:
/// a lab.toml without `#:schema` beside it gets its enum typo reported; the
/// same file without `.taplo.toml` gets no schema and passes.
#[test]
fn taplo_toml_associates_lab_toml_with_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
    let text = toml_lab(None, ("archetype = \"sqlite\"", "archetype = \"sqlit\""));
    std::fs::write(dir.path().join("lab.toml"), &text).unwrap();
    let (line, _) = position(&text, "archetype = \"sqlit\"", None);

    let (ok, report) = taplo_check(dir.path(), Path::new("lab.toml"));
    assert!(ok, "no schema yet, nothing to report:\n{report}");

    std::fs::copy(root().join(".taplo.toml"), dir.path().join(".taplo.toml")).unwrap();
    let (ok, report) = taplo_check(dir.path(), Path::new("lab.toml"));
    assert!(!ok, "{report}");
    assert!(
        report.contains(&format!("lab.toml:{}:", line + 1)),
        "line {} not in:\n{report}",
        line + 1
    );
    assert!(report.contains("sqlit"), "{report}");
}

/// taplo's language server (what Even Better TOML runs) on a lab.toml whose
/// `#:schema` line is the one `labc init --toml` writes: an enum typo is
/// reported at its line; hover shows each field's own doc (for fields whose
/// type is shared, and for tables); an empty line of an app's table
/// completes the fields the app does not set yet, `image_updater` once; and
/// `image_updater = ` completes its four values, as TOML strings with docs.
#[test]
fn taplo_lsp_checks_completes_and_documents_lab_toml() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
    let text = toml_lab(
        Some("./schemas/lab.schema.json"),
        ("archetype = \"sqlite\"", "archetype = \"sqlit\""),
    );
    let erp = "[apps.erp]\narchetype = \"postgres\"\n";
    let text = text.replacen(erp, &format!("{erp}\n"), 1);
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, &text).unwrap();
    let uri = file_uri(&path);
    let mut server = Lsp::start(
        Command::new(tool(TAPLO))
            .args(["lsp", "stdio"])
            .current_dir(dir.path())
            .env("RUST_LOG", "error"),
    );
    server.initialize(dir.path(), Value::Null);

    server.open(&uri, "toml", &text);
    let published = server.diagnostics(&uri, |seen| seen.last().is_some_and(|d| !d.is_empty()));
    let (typo_line, _) = position(&text, "archetype = \"sqlit\"", None);
    let errors = published.last().unwrap();
    assert!(
        errors
            .iter()
            .any(|d| d["range"]["start"]["line"] == typo_line
                && d["message"].as_str().is_some_and(|m| m.contains("sqlit"))),
        "no error on line {}: {errors:#?}",
        typo_line + 1
    );

    let hover = |server: &mut Lsp, marker: &str, offset: usize| {
        hover_text(&server.at(
            "textDocument/hover",
            &uri,
            position(&text, marker, Some(offset)),
        ))
    };
    let archetype = hover(&mut server, "archetype = \"postgres\"", 2);
    assert!(
        archetype.starts_with("How the app keeps its state."),
        "{archetype}"
    );
    assert!(
        archetype.contains("- `\"sqlite\"`: State in SQLite"),
        "{archetype}"
    );
    let domains = hover(&mut server, "[domains]", 3);
    assert_eq!(domains, "The two DNS domains apps are exposed on.");
    let sync = hover(&mut server, "sync = {", 1);
    assert!(sync.starts_with("ArgoCD automated sync."), "{sync}");
    let value = hover(&mut server, "image_updater = \"digest\"", 18);
    assert_eq!(value, "Follow the digest of the image's (mutable) tag.");

    let items =
        completion_items(&server.at("textDocument/completion", &uri, position(&text, erp, None)));
    let offered = labels(&items);
    assert_eq!(
        offered.iter().filter(|l| *l == "image_updater").count(),
        1,
        "{offered:?}"
    );
    assert!(!offered.contains(&"archetype".to_string()), "{offered:?}");
    let updater = items
        .iter()
        .find(|i| i["label"] == "image_updater")
        .unwrap();
    assert!(
        item_doc(updater).starts_with("Let ArgoCD Image Updater follow the image"),
        "{updater:#}"
    );

    let with_key = text.replacen(&format!("{erp}\n"), &format!("{erp}image_updater = \n"), 1);
    server.change(&uri, 2, &with_key);
    server.diagnostics(&uri, |seen| !seen.is_empty());
    let items = completion_items(&server.at(
        "textDocument/completion",
        &uri,
        position(
            &with_key,
            "image_updater = \n",
            Some("image_updater = ".len()),
        ),
    ));
    assert_eq!(
        labels(&items),
        [
            "\"alphabetical\"",
            "\"digest\"",
            "\"newest_build\"",
            "\"semver\""
        ],
        "{items:#?}"
    );
    let semver = items.iter().find(|i| i["label"] == "\"semver\"").unwrap();
    assert_eq!(item_doc(semver), "Highest semantic version.");
}

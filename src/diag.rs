//! Diagnostics: every problem labc reports about a lab, with the place in the
//! source that caused it, rendered in the style of Nickel's own errors
//! (codespan-reporting: `file:line:col`, the source line and a caret).
//!
//! Invariant: this module never decides *what* is wrong, only how it is shown.

pub use crate::codes::Code;
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::Files as _;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

/// The source files diagnostics may point into (the lab file, the contracts
/// it imports). Names are shown as given, so keep them relative to the
/// current directory where possible.
#[derive(Default)]
pub struct Sources {
    files: SimpleFiles<String, String>,
}

impl Sources {
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.add(name.into(), text.into())
    }

    /// Finds a file already added under this name.
    pub fn find(&self, name: &str) -> Option<FileId> {
        (0..)
            .map_while(|id| self.files.get(id).ok().map(|f| (id, f)))
            .find(|(_, f)| f.name() == name)
            .map(|(id, _)| id)
    }

    /// The same files under other names (`f` of each name), ids unchanged:
    /// a lab compiled from a temporary folder shown under the names its
    /// user knows.
    pub fn renamed(&self, f: impl Fn(&str) -> String) -> Sources {
        let mut out = Sources::default();
        let mut id = 0;
        while let Ok(file) = self.files.get(id) {
            out.add(f(file.name()), file.source().clone());
            id += 1;
        }
        out
    }

    /// Whether a file is a TOML lab (by its name), so messages can show
    /// values as that file writes them.
    pub fn is_toml(&self, file: FileId) -> bool {
        self.files
            .get(file)
            .is_ok_and(|f| f.name().ends_with(".toml"))
    }

    /// The text a span covers (empty if the span is out of range).
    pub fn slice(&self, span: Span) -> &str {
        self.files
            .get(span.file)
            .ok()
            .and_then(|f| f.source().get(span.start..span.end))
            .unwrap_or("")
    }

    /// Where a span is, for machines: its file's name, and the line and
    /// column (1-based, in characters) of its start and of its end (just
    /// past its last character), as editors and LSP count them.
    pub fn position(&self, span: Span) -> Option<Position> {
        let name = self.files.name(span.file).ok()?;
        let start = self.files.location(span.file, span.start).ok()?;
        let end = self.files.location(span.file, span.end).ok()?;
        Some(Position {
            file: name,
            line: start.line_number,
            column: start.column_number,
            end_line: end.line_number,
            end_column: end.column_number,
        })
    }

    /// `name:line:col` of a span's start, 1-based.
    pub fn location(&self, span: Span) -> String {
        match (
            self.files.name(span.file),
            self.files.location(span.file, span.start),
        ) {
            (Ok(name), Ok(loc)) => format!("{name}:{}:{}", loc.line_number, loc.column_number),
            _ => "<unknown>".to_string(),
        }
    }
}

/// A span as [`Sources::position`] gives it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// How serious a diagnostic is. labc's own checks only report errors;
/// Nickel's reports also carry notes and help alongside its errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Note,
    Help,
}

/// One problem in the lab. `primary` is where it is; `secondary` labels point
/// at related places (the first definition of a duplicate, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The kind of problem, stable across releases (see [`crate::codes`]).
    pub code: Code,
    pub message: String,
    pub primary: Option<(Span, String)>,
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
}

impl Severity {
    /// The word `--message-format json` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
            Severity::Help => "help",
        }
    }
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, code, message)
    }

    pub fn new(severity: Severity, code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            primary: None,
            secondary: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Points the diagnostic at `span`, with a short label under the caret.
    pub fn at(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.primary = Some((span, label.into()));
        }
        self
    }

    pub fn also(mut self, span: Option<Span>, label: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.secondary.push((span, label.into()));
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    fn sort_key(&self) -> (Option<Span>, &str) {
        (self.primary.as_ref().map(|(s, _)| *s), &self.message)
    }
}

/// Orders diagnostics by their place in the source, so the report reads top
/// to bottom and does not depend on the order checks ran in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// Renders diagnostics as text, with ANSI colours when `color` is true.
pub fn render(sources: &Sources, diags: &[Diagnostic], color: bool) -> String {
    let mut buffer = if color {
        termcolor::Buffer::ansi()
    } else {
        termcolor::Buffer::no_color()
    };
    let config = term::Config::default();
    for d in diags {
        let mut labels = Vec::new();
        if let Some((span, msg)) = &d.primary {
            labels.push(Label::primary(span.file, span.start..span.end).with_message(shown(msg)));
        }
        for (span, msg) in &d.secondary {
            labels.push(Label::secondary(span.file, span.start..span.end).with_message(shown(msg)));
        }
        let cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
            Severity::Note => CsDiagnostic::note(),
            Severity::Help => CsDiagnostic::help(),
        };
        let cs = cs
            .with_code(d.code.as_str())
            .with_message(shown(&d.message))
            .with_labels(labels)
            .with_notes(d.notes.iter().map(|n| shown(n)).collect());
        // Writing into an in-memory buffer cannot fail for I/O reasons; a
        // span outside its file is a labc bug, shown rather than hidden.
        if let Err(e) = term::emit_to_write_style(&mut buffer, &config, &sources.files, &cs) {
            buffer_push(
                &mut buffer,
                &format!(
                    "error[{}]: {} (and a bad position: {e})\n",
                    d.code, d.message
                ),
            );
        }
    }
    String::from_utf8_lossy(buffer.as_slice()).into_owned()
}

/// A message as the terminal shows it: lab text quoted in a message may
/// hold control characters (a C1 CSI would drive the terminal, a NUL or a
/// line break garble the report), so every unprintable character but the
/// line breaks labc and Nickel lay messages out with is escaped.
fn shown(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c != '\n' && crate::names::unprintable(c))
    {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\n".to_string(),
            c if crate::names::unprintable(c) => c.escape_debug().to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn buffer_push(buffer: &mut termcolor::Buffer, text: &str) {
    use std::io::Write;
    let _ = buffer.write_all(text.as_bytes());
}

/// The known name closest to a misspelt one, if any is close enough to be a
/// plausible typo.
pub fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k.as_str())
}

/// One line of `--message-format json`: a diagnostic, or a problem with a
/// whole file (a stale generated file, an unreadable lab), which has a
/// `file` and no line. The fields are described, for tools, by
/// [`message_schema`] (`schemas/message.schema.json`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Message {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    /// The text under the primary position's caret.
    pub label: Option<String>,
    pub notes: Vec<String>,
    /// Related places (the first definition of a duplicate...).
    pub labels: Vec<SecondaryLabel>,
}

/// A secondary place of a [`Message`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct SecondaryLabel {
    #[serde(flatten)]
    pub position: Position,
    pub message: String,
}

impl Message {
    /// A message about a whole file (or about no file at all).
    pub fn about(
        severity: Severity,
        code: Code,
        message: impl Into<String>,
        file: Option<String>,
    ) -> Self {
        Message {
            file,
            line: None,
            column: None,
            end_line: None,
            end_column: None,
            severity: severity.as_str(),
            code: code.as_str(),
            message: message.into(),
            label: None,
            notes: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// A diagnostic as a message, its spans resolved in `sources`.
    pub fn of(sources: &Sources, d: &Diagnostic) -> Self {
        let mut m = Message::about(d.severity, d.code, d.message.clone(), None);
        m.notes = d.notes.clone();
        if let Some((span, label)) = &d.primary {
            if let Some(p) = sources.position(*span) {
                m.file = Some(p.file);
                m.line = Some(p.line);
                m.column = Some(p.column);
                m.end_line = Some(p.end_line);
                m.end_column = Some(p.end_column);
            }
            m.label = Some(label.clone());
        }
        m.labels = d
            .secondary
            .iter()
            .filter_map(|(span, message)| {
                Some(SecondaryLabel {
                    position: sources.position(*span)?,
                    message: message.clone(),
                })
            })
            .collect();
        m
    }

    /// The message as one line of JSON (no line break inside: JSON
    /// escapes those in strings).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The JSON Schema (draft 2020-12) of one line of `--message-format json`:
/// `schemas/message.schema.json`.
pub fn message_schema() -> serde_json::Value {
    use serde_json::json;
    let count = json!({ "type": ["integer", "null"], "minimum": 1 });
    let place = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["file", "line", "column", "end_line", "end_column", "message"],
        "properties": {
            "file": { "type": "string" },
            "line": { "type": "integer", "minimum": 1 },
            "column": { "type": "integer", "minimum": 1 },
            "end_line": { "type": "integer", "minimum": 1 },
            "end_column": { "type": "integer", "minimum": 1 },
            "message": { "type": "string" },
        },
    });
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Generated by labc from its Rust types (`labc schema`). Do not edit.",
        "title": "labc message",
        "description": "One line of `labc --message-format json`: a problem in the lab (with its position), or with a whole file (`file` set, `line` null), or with no file at all.",
        "type": "object",
        "additionalProperties": false,
        "required": ["file", "line", "column", "end_line", "end_column", "severity", "code", "message", "label", "notes", "labels"],
        "properties": {
            "file": { "type": ["string", "null"], "description": "The file, as the user named it (relative to where labc runs); for `labc::check::*`, the generated file." },
            "line": merge(&count, "The line of the start, 1-based."),
            "column": merge(&count, "The column of the start, 1-based, in characters."),
            "end_line": merge(&count, "The line of the end."),
            "end_column": merge(&count, "The column just past the last character."),
            "severity": { "enum": ["error", "warning", "note", "help"] },
            "code": { "enum": codes, "description": "The kind of problem; see the README's table of codes." },
            "message": { "type": "string" },
            "label": { "type": ["string", "null"], "description": "The text under the caret." },
            "notes": { "type": "array", "items": { "type": "string" } },
            "labels": { "type": "array", "items": place, "description": "Related places, each with its own text." },
        },
    })
}

fn merge(base: &serde_json::Value, description: &str) -> serde_json::Value {
    let mut v = base.clone();
    if let Some(m) = v.as_object_mut() {
        m.insert("description".into(), description.into());
    }
    v
}

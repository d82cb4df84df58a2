//! The pipeline from a lab file to generated files in memory: load, check
//! against the schema, deserialize, validate, emit. Nothing here writes.
//!
//! Invariant: either every stage succeeds and all files exist in memory, or
//! the result is the report of every problem found (rendered by `cmd`).

use crate::diag::{self, Code, Diagnostic};
use crate::emit::{self, EMITTERS};
use crate::load::{self, LoadError};
use crate::model::Lab;
use crate::{raw, schema, validate};
use std::collections::BTreeMap;
use std::path::Path;

pub struct Compiled {
    pub lab: Lab,
    /// Files of the output folder, by relative path.
    pub files: BTreeMap<String, String>,
}

/// Why a lab could not be compiled. Nothing is rendered here: the command
/// line decides how (and in what colour) to show it.
pub enum Failed {
    /// The lab file could not be read.
    Io(String),
    /// Every problem found, each with its place in the sources.
    Invalid(Report),
}

/// Diagnostics and the sources they point into.
pub struct Report {
    pub sources: diag::Sources,
    pub diags: Vec<Diagnostic>,
}

impl Report {
    /// How many errors (not notes) the report holds.
    pub fn errors(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.severity == diag::Severity::Error)
            .count()
    }
}

pub fn compile(path: &Path) -> Result<Compiled, Failed> {
    let loaded = match load::load(path, load::Contracts::labc()) {
        Ok(l) => l,
        Err(LoadError::Io(msg)) => return Err(Failed::Io(msg)),
        // Nickel's report keeps its order: an error, then what explains it.
        Err(LoadError::Nickel(sources, diags)) => {
            return Err(Failed::Invalid(Report { sources, diags }));
        }
        Err(LoadError::Diagnostics(sources, diags)) => return Err(invalid(sources, diags)),
    };
    let diags = schema::check(&loaded);
    if !diags.is_empty() {
        return Err(invalid(loaded.sources, diags));
    }
    let raw = match <raw::Lab as serde::Deserialize>::deserialize(&loaded.value) {
        Ok(r) => r,
        // The schema accepted the value, so this is labc disagreeing with
        // itself; say so rather than blame the lab.
        Err(e) => {
            let d = Diagnostic::error(
                Code::Bug,
                format!("labc bug: the schema accepted this lab but reading it failed: {e}"),
            )
            .at(loaded.span(""), "this lab");
            return Err(invalid(loaded.sources, vec![d]));
        }
    };
    let source = shown_source(path);
    let lab = match validate::validate(&loaded, raw, &source) {
        Ok(lab) => lab,
        Err(diags) => return Err(invalid(loaded.sources, diags)),
    };
    // Positions are no longer needed: free them before the output is built.
    drop(loaded);
    let files = emit_all(&lab).map_err(|msg| {
        let report = Report {
            sources: diag::Sources::default(),
            diags: vec![Diagnostic::error(Code::Bug, msg)],
        };
        Failed::Invalid(report)
    })?;
    Ok(Compiled { lab, files })
}

/// labc's own diagnostics, in source order and without repeats.
/// The lab file's name as generated headers (and the manifest's) show it:
/// one line of printable text in any comment syntax. A file name may hold a
/// line break, which would end the comment and inject a line into every
/// generated file (and into `.labc-manifest`, a file list), or bytes that are
/// not UTF-8; those, `\` and every unprintable character are escaped.
pub fn shown_source(path: &Path) -> String {
    let name = path.file_name().unwrap_or(path.as_os_str());
    let mut out = String::new();
    for chunk in name.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if crate::names::unprintable(c) {
                out.extend(c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn invalid(sources: diag::Sources, mut diags: Vec<Diagnostic>) -> Failed {
    diag::sort(&mut diags);
    diags.dedup();
    Failed::Invalid(Report { sources, diags })
}

/// Runs every emitter. Two emitters claiming one path is a labc bug.
///
/// Sequential on purpose: running emitters on a second thread was measured
/// no faster on the 2-core machines labc targets, and each thread costs the
/// allocator an arena (peak memory +15%). See BENCHMARKS.md.
pub fn emit_all(lab: &Lab) -> Result<BTreeMap<String, String>, String> {
    let outputs = EMITTERS.iter().map(|e| (e.emit)(lab));
    let mut files = BTreeMap::new();
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    for (e, output) in EMITTERS.iter().zip(outputs) {
        for emit::File { path, contents } in output {
            if let Some(other) = owner.insert(path.clone(), e.name) {
                return Err(format!(
                    "labc bug: emitters `{other}` and `{}` both write {path}",
                    e.name
                ));
            }
            files.insert(path, contents);
        }
    }
    // The docs link to every other file, so they come last.
    let others = files.keys().cloned().collect();
    for emit::File { path, contents } in emit::docs::emit(lab, &others) {
        if files.contains_key(&path) {
            return Err(format!(
                "labc bug: docs and another emitter both write {path}"
            ));
        }
        files.insert(path, contents);
    }
    Ok(files)
}

/// Compiles a lab of this repository (`lab.ncl`, a fixture) for unit tests.
#[cfg(test)]
pub(crate) fn repo_lab(rel: &str) -> Lab {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    match compile(&path) {
        Ok(c) => c.lab,
        Err(Failed::Io(e)) => panic!("{rel} fails: {e}"),
        Err(Failed::Invalid(r)) => panic!(
            "{rel} fails:\n{}",
            diag::render(&r.sources, &r.diags, false)
        ),
    }
}

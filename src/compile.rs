//! The pipeline from a lab file to generated files in memory: load, check
//! against the schema, deserialize, validate, emit. Nothing here writes.
//!
//! Invariant: either every stage succeeds and all files exist in memory, or
//! the result is the rendered report of every problem found.

use crate::diag::{self, Diagnostic};
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

/// A lab that could not be compiled: the report to print, and how many
/// problems it holds (0 when the count is unknown, as for Nickel's errors).
pub struct Failed {
    pub report: String,
    pub count: usize,
}

pub fn compile(path: &Path, color: bool) -> Result<Compiled, Failed> {
    let loaded = match load::load(path, color) {
        Ok(l) => l,
        Err(LoadError::Io(msg)) => {
            return Err(Failed {
                report: format!("error: {msg}\n"),
                count: 1,
            });
        }
        Err(LoadError::Rendered(report)) => return Err(Failed { report, count: 0 }),
        Err(LoadError::Diagnostics(sources, diags)) => {
            return Err(failed(&sources, diags, color));
        }
    };
    let diags = schema::check(&loaded);
    if !diags.is_empty() {
        return Err(failed(&loaded.sources, diags, color));
    }
    let raw = match <raw::Lab as serde::Deserialize>::deserialize(&loaded.value) {
        Ok(r) => r,
        // The schema accepted the value, so this is labc disagreeing with
        // itself; say so rather than blame the lab.
        Err(e) => {
            let d = Diagnostic::error(format!(
                "labc bug: the schema accepted this lab but reading it failed: {e}"
            ))
            .at(loaded.span(""), "this lab");
            return Err(failed(&loaded.sources, vec![d], color));
        }
    };
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let lab = validate::validate(&loaded, raw, &source)
        .map_err(|diags| failed(&loaded.sources, diags, color))?;
    // Positions are no longer needed: free them before the output is built.
    drop(loaded);
    let files = emit_all(&lab).map_err(|msg| Failed {
        report: format!("error: {msg}\n"),
        count: 1,
    })?;
    Ok(Compiled { lab, files })
}

fn failed(sources: &diag::Sources, mut diags: Vec<Diagnostic>, color: bool) -> Failed {
    diag::sort(&mut diags);
    diags.dedup();
    Failed {
        report: diag::render(sources, &diags, color),
        count: diags.len(),
    }
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
    Ok(files)
}

/// Compiles a lab of this repository (`lab.ncl`, a fixture) for unit tests.
#[cfg(test)]
pub(crate) fn repo_lab(rel: &str) -> Lab {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    match compile(&path, false) {
        Ok(c) => c.lab,
        Err(f) => panic!("{rel} fails:\n{}", f.report),
    }
}

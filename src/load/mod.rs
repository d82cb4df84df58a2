//! Loading a lab file: the only module that talks to Nickel or TOML.
//!
//! Whatever the format, the result is the same [`Loaded`]: the evaluated lab
//! as a JSON value plus, for every value in it, the span of source text it
//! came from (keyed by JSON pointer), so later checks can point at the line
//! that caused a problem without knowing the source format.
//!
//! Invariants: nothing outside this module imports `nickel_lang_core` or
//! `toml`; numbers are never narrowed here (a `70000` stays `70000` so the
//! schema can reject it with its position).

mod nickel;
mod toml;

use crate::diag::{Diagnostic, Sources, Span};
use std::collections::BTreeMap;
use std::path::Path;

/// A lab file, evaluated.
pub struct Loaded {
    /// The lab as plain data. Nickel enum tags become strings; integers are
    /// JSON integers; other numbers are floats.
    pub value: serde_json::Value,
    /// JSON pointer (RFC 6901, e.g. `/hosts/pi1/address`; `""` is the root)
    /// to the span of the value at that pointer.
    pub spans: BTreeMap<String, Span>,
    /// The files spans point into.
    pub sources: Sources,
}

impl Loaded {
    /// The span of the value at `pointer`, or of its nearest ancestor that
    /// has one (so a missing field points at the record that lacks it).
    pub fn span(&self, pointer: &str) -> Option<Span> {
        let mut p = pointer;
        loop {
            if let Some(s) = self.spans.get(p) {
                return Some(*s);
            }
            if p.is_empty() {
                return None;
            }
            p = &p[..p.rfind('/').unwrap_or(0)];
        }
    }
}

impl Loaded {
    /// The span of the key naming the value at `pointer` (`webapp` in
    /// `webapp = {..}` or `[apps.webapp]`), or the value's span if the key
    /// can't be found. Evaluation keeps positions of values, not of keys, so
    /// the key is found in the source text: just before its value, or inside
    /// the nearest record that has a position.
    pub fn key_span(&self, pointer: &str) -> Option<Span> {
        let key = pointer
            .rsplit('/')
            .next()?
            .replace("~1", "/")
            .replace("~0", "~");
        let (parent, _) = pointer.rsplit_once('/')?;
        let own = self.spans.get(pointer).copied();
        // Nickel: `key = {..}` just before the value. TOML: `[a.key]`, the
        // table's own span. Else: somewhere in the enclosing record.
        let regions = [
            own.map(|s| {
                (
                    Span {
                        start: s.start.saturating_sub(256),
                        end: s.start,
                        ..s
                    },
                    true,
                )
            }),
            own.map(|s| (s, false)),
            self.span(parent).map(|s| (s, false)),
        ];
        for (region, last) in regions.into_iter().flatten() {
            let text = self.sources.slice(region);
            let found = key_positions(text, &key);
            if let Some(&(at, len)) = if last { found.last() } else { found.first() } {
                return Some(Span {
                    file: region.file,
                    start: region.start + at,
                    end: region.start + at + len,
                });
            }
        }
        self.span(pointer)
    }
}

/// Where `key` is written as a key in `text`, in order, as (offset, length):
/// bare or quoted, not inside a longer name, followed by `=`, `|`, `.` or `]`
/// (TOML headers). Evaluation keeps no position for keys, so both
/// [`Loaded::key_span`] and the Nickel loader's error narrowing find them here.
pub(super) fn key_positions(text: &str, key: &str) -> Vec<(usize, usize)> {
    let quoted = format!("\"{key}\"");
    let ident = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '\'');
    let mut found = Vec::new();
    for token in [quoted.as_str(), key] {
        for (at, _) in text.match_indices(token) {
            let before = text[..at].chars().next_back();
            let after = text[at + token.len()..].trim_start().chars().next();
            if !before.is_some_and(|c| ident(c) || c == '"')
                && matches!(after, Some('=' | '|' | '.' | ']'))
            {
                found.push((at, token.len()));
            }
        }
    }
    found.sort();
    found
}

/// Why a lab file could not be loaded.
pub enum LoadError {
    /// The file could not be read at all.
    Io(String),
    /// An error already rendered by Nickel, in Nickel's own style.
    Rendered(String),
    /// Errors with positions, rendered by labc.
    Diagnostics(Sources, Vec<Diagnostic>),
}

/// Loads `path`, choosing the format from its extension (`.ncl` or `.toml`).
/// `color` only affects errors Nickel renders itself.
pub fn load(path: &Path, color: bool) -> Result<Loaded, LoadError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ncl") => nickel::load(path, color),
        Some("toml") => toml::load(path),
        _ => Err(LoadError::Io(format!(
            "{}: unknown lab format; expected a `.ncl` or `.toml` file",
            path.display()
        ))),
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Assertions both loaders' unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{Loaded, pointer_segment};
    use serde_json::Value;

    /// The source text of the value at `pointer`.
    pub fn slice<'a>(l: &'a Loaded, pointer: &str) -> &'a str {
        let span = l
            .spans
            .get(pointer)
            .unwrap_or_else(|| panic!("no span for {pointer}"));
        l.sources.slice(*span)
    }

    /// Every value, at every depth, has its own span.
    pub fn assert_every_value_has_a_span(l: &Loaded, value: &Value, pointer: &str) {
        assert!(l.spans.contains_key(pointer), "no span for `{pointer}`");
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    assert_every_value_has_a_span(
                        l,
                        v,
                        &format!("{pointer}/{}", pointer_segment(k)),
                    );
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    assert_every_value_has_a_span(l, v, &format!("{pointer}/{i}"));
                }
            }
            _ => {}
        }
    }
}

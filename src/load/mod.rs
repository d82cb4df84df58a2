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

mod depth;
mod hints;
mod nickel;
mod toml;

use crate::diag::{Code, Diagnostic, FileId, Sources, Span};
use std::path::Path;

/// A lab file, evaluated.
pub struct Loaded {
    /// The lab as plain data. Nickel enum tags become strings; integers are
    /// JSON integers; other numbers are floats.
    pub value: serde_json::Value,
    /// The span of each value of [`Loaded::value`]; see [`Loaded::own_span`].
    pub spans: Spans,
    /// The files spans point into.
    pub sources: Sources,
}

/// The span of every value of a [`Loaded::value`], in the order a
/// depth-first walk visits them (each record's keys in the order the value
/// holds them), each with the size of its subtree.
///
/// Not a map from JSON pointer to span: a 1000-app lab has ~60,000 values,
/// and spans are only looked up to report an error. A pointer is resolved by
/// walking the value and skipping the subtrees before it (28 bytes per
/// value with its key's span, no string per value; see BENCHMARKS.md).
#[derive(Default)]
pub struct Spans {
    nodes: Vec<SpanNode>,
}

/// One value's span (`file == u32::MAX`: none), the span of the key naming
/// it in its record (`key_file == u32::MAX`: none, or not in a record), and
/// its subtree size.
#[derive(Clone, Copy)]
struct SpanNode {
    file: u32,
    start: u32,
    end: u32,
    size: u32,
    key_file: u32,
    key_start: u32,
    key_end: u32,
}

/// A span packed as three `u32`s (`u32::MAX` as the file: none).
fn pack(span: Option<Span>) -> (u32, u32, u32) {
    match span {
        Some(s) => (
            u32::try_from(s.file).unwrap_or(u32::MAX),
            u32::try_from(s.start).unwrap_or(u32::MAX),
            u32::try_from(s.end).unwrap_or(u32::MAX),
        ),
        None => (u32::MAX, 0, 0),
    }
}

fn unpack(file: u32, start: u32, end: u32) -> Option<Span> {
    (file != u32::MAX).then_some(Span {
        file: file as usize,
        start: start as usize,
        end: end as usize,
    })
}

impl Spans {
    /// Records the span of the next value of the walk, and of the key
    /// naming it when it is a record's field, before its children; returns
    /// what [`Spans::close`] takes once they are walked.
    pub(crate) fn open(&mut self, span: Option<Span>, key: Option<Span>) -> usize {
        let (file, start, end) = pack(span);
        let (key_file, key_start, key_end) = pack(key);
        self.nodes.push(SpanNode {
            file,
            start,
            end,
            size: 1,
            key_file,
            key_start,
            key_end,
        });
        self.nodes.len() - 1
    }

    /// Ends the value [`Spans::open`] started, after its children.
    pub(crate) fn close(&mut self, index: usize) {
        let size = self.nodes.len() - index;
        if let Some(node) = self.nodes.get_mut(index) {
            node.size = u32::try_from(size).unwrap_or(u32::MAX);
        }
    }

    fn at(&self, index: usize) -> Option<Span> {
        let n = self.nodes.get(index)?;
        unpack(n.file, n.start, n.end)
    }

    /// Where the key naming the value at `index` is written, if the loader
    /// saw it.
    fn key_at(&self, index: usize) -> Option<Span> {
        let n = self.nodes.get(index)?;
        unpack(n.key_file, n.key_start, n.key_end)
    }

    /// The index of the value at `pointer` in `root`, if there is one.
    fn index(&self, root: &serde_json::Value, pointer: &str) -> Option<usize> {
        use serde_json::Value;
        let mut index = 0;
        let mut value = root;
        if pointer.is_empty() {
            return Some(0);
        }
        for segment in pointer.strip_prefix('/')?.split('/') {
            let segment = unescape_segment(segment);
            let mut child = index + 1;
            let skip = |child: &mut usize| {
                *child += self.nodes.get(*child).map_or(1, |n| n.size as usize);
            };
            value = match value {
                Value::Object(map) => {
                    let mut found = None;
                    for (key, v) in map {
                        if *key == segment {
                            found = Some(v);
                            break;
                        }
                        skip(&mut child);
                    }
                    found?
                }
                Value::Array(items) => {
                    let i: usize = segment.parse().ok()?;
                    let item = items.get(i)?;
                    for _ in 0..i {
                        skip(&mut child);
                    }
                    item
                }
                _ => return None,
            };
            index = child;
        }
        Some(index)
    }
}

impl Loaded {
    /// The span of the value at `pointer` (RFC 6901, e.g.
    /// `/hosts/pi1/address`; `""` is the root) itself, if it has one.
    pub fn own_span(&self, pointer: &str) -> Option<Span> {
        self.spans.at(self.spans.index(&self.value, pointer)?)
    }

    /// The span of the value at `pointer`, or of its nearest ancestor that
    /// has one (so a missing field points at the record that lacks it).
    pub fn span(&self, pointer: &str) -> Option<Span> {
        let mut p = pointer;
        loop {
            if let Some(s) = self.own_span(p) {
                return Some(s);
            }
            if p.is_empty() {
                return None;
            }
            p = &p[..p.rfind('/').unwrap_or(0)];
        }
    }

    /// Every value's own span, in walk order.
    #[cfg(test)]
    pub(crate) fn all_spans(&self) -> Vec<Span> {
        (0..self.spans.nodes.len())
            .filter_map(|i| self.spans.at(i))
            .collect()
    }
}

impl Loaded {
    /// The span of the key naming the value at `pointer` (`webapp` in
    /// `webapp = {..}` or `[apps.webapp]`), or the value's span if the key
    /// can't be found. Evaluation keeps positions of values, not of keys, so
    /// the key is found in the source text: just before its value, or inside
    /// the nearest record that has a position.
    pub fn key_span(&self, pointer: &str) -> Option<Span> {
        // The loaders record where each key is written; the search in the
        // text below is for a key they could not place.
        if let Some(span) = self
            .spans
            .index(&self.value, pointer)
            .and_then(|i| self.spans.key_at(i))
        {
            return Some(span);
        }
        let key = unescape_segment(pointer.rsplit('/').next()?);
        let (parent, _) = pointer.rsplit_once('/')?;
        let own = self.own_span(pointer);
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
    /// Nickel's report, in its own words and its own order (an error
    /// followed by the notes that explain it).
    Nickel(Sources, Vec<Diagnostic>),
    /// Errors labc found while loading, in any order.
    Diagnostics(Sources, Vec<Diagnostic>),
}

/// labc's Nickel contracts, as text: `strict`, what `schemas/lab.ncl`
/// holds (for the editor and `nickel`), and `lenient`, what labc evaluates
/// a `lab.ncl` under in their place (the shape, bounded in depth, judging
/// nothing: labc's schema check judges, all errors at once).
///
/// `passive`, if any, is what the lab's own import of `schemas/lab.ncl`
/// gets when that file is `strict`: the lenient names with a `Lab` that
/// checks nothing, so that only labc's wrapper applies `lenient`'s. Without
/// it (a test evaluating a lab under the strict contracts themselves), the
/// import gets `lenient`.
#[derive(Clone, Copy)]
pub struct Contracts<'a> {
    pub strict: &'a str,
    pub lenient: &'a str,
    pub passive: Option<&'a str>,
}

impl Contracts<'static> {
    /// The contracts labc generates from its types.
    pub fn labc() -> Self {
        Contracts {
            strict: crate::schema::nickel_contracts_text(),
            lenient: crate::schema::nickel_lenient_text(),
            passive: Some(crate::schema::nickel_passive_text()),
        }
    }
}

/// Loads `path`, choosing the format from its extension (`.ncl` or `.toml`).
/// A `lab.ncl` is evaluated under `contracts.lenient`'s `Lab`, whatever it
/// applies itself.
pub fn load(path: &Path, contracts: Contracts) -> Result<Loaded, LoadError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ncl") => nickel::load(path, contracts),
        Some("toml") => toml::load(path),
        _ => Err(LoadError::Io(format!(
            "{}: unknown lab format; expected a `.ncl` or `.toml` file",
            path.display()
        ))),
    }
}

/// How deep a loaded value may nest. labc's own walks over loaded data
/// (both loaders' conversions to JSON, span lookups, the schema check) are
/// recursive; a lab needs about 6 levels, so 64 leaves room for any data the
/// schema could accept while keeping every walk far from the stack's end.
pub const MAX_DATA_DEPTH: usize = 64;

/// The text of a lab file, as the first file of a new [`Sources`]. A file
/// that is not UTF-8 is an error at the line and column of its first bad
/// byte, rendered from a copy with that byte replaced (the text before it is
/// the same in both).
fn read_text(path: &Path, name: String) -> Result<(Sources, FileId, String), LoadError> {
    let bytes =
        std::fs::read(path).map_err(|e| LoadError::Io(format!("{}: {e}", path.display())))?;
    let mut sources = Sources::default();
    match String::from_utf8(bytes) {
        Ok(text) => {
            let file = sources.add(name, text.clone());
            Ok((sources, file, text))
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let bad = bytes.get(at).copied().unwrap_or(0);
            let shown = String::from_utf8_lossy(&bytes).into_owned();
            // The lossy copy replaces the bad sequence with U+FFFD (3 bytes).
            let end = (at + '\u{fffd}'.len_utf8()).min(shown.len());
            let file = sources.add(name, shown);
            let d = Diagnostic::error(Code::NotUtf8, "this file is not valid UTF-8").at(
                Some(Span {
                    file,
                    start: at,
                    end,
                }),
                format!("byte 0x{bad:02x} is not UTF-8 here"),
            );
            Err(LoadError::Diagnostics(sources, vec![d]))
        }
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The key a JSON-pointer segment names (the inverse of [`pointer_segment`]).
pub fn unescape_segment(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// Assertions both loaders' unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{LoadError, Loaded, load, pointer_segment};
    use crate::diag::{Diagnostic, Sources, render};
    use serde_json::Value;
    use std::path::Path;

    /// Loads a lab that must load.
    pub fn must_load(path: &Path) -> Loaded {
        match load(path, super::Contracts::labc()) {
            Ok(l) => l,
            Err(LoadError::Io(e)) => panic!("{e}"),
            Err(LoadError::Nickel(s, d) | LoadError::Diagnostics(s, d)) => {
                panic!("{}", render(&s, &d, false))
            }
        }
    }

    /// Loads a lab that labc's loader itself must reject.
    pub fn must_fail(path: &Path) -> (Sources, Vec<Diagnostic>) {
        match load(path, super::Contracts::labc()) {
            Err(LoadError::Diagnostics(s, d)) => (s, d),
            Err(LoadError::Io(e)) => panic!("expected diagnostics, got:\n{e}"),
            Err(LoadError::Nickel(s, d)) => panic!(
                "expected labc's diagnostics, got Nickel's:\n{}",
                render(&s, &d, false)
            ),
            Ok(l) => panic!("expected an error, got {}", l.value),
        }
    }

    /// The source text of the value at `pointer`.
    pub fn slice<'a>(l: &'a Loaded, pointer: &str) -> &'a str {
        let span = l
            .own_span(pointer)
            .unwrap_or_else(|| panic!("no span for {pointer}"));
        l.sources.slice(span)
    }

    /// Every value, at every depth, has its own span.
    pub fn assert_every_value_has_a_span(l: &Loaded, value: &Value, pointer: &str) {
        assert!(l.own_span(pointer).is_some(), "no span for `{pointer}`");
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Every pointer of `value`, depth first, each record's keys in order.
    fn pointers(value: &Value, pointer: String, out: &mut Vec<String>) {
        out.push(pointer.clone());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    pointers(v, format!("{pointer}/{}", pointer_segment(k)), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers(v, format!("{pointer}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// Spans recorded as a walk would, each value's span `start` being its
    /// walk index: resolving any pointer must land on that index.
    fn spans_for(value: &Value, spans: &mut Spans) {
        let index = spans.nodes.len();
        let node = spans.open(
            Some(Span {
                file: 0,
                start: index,
                end: index + 1,
            }),
            None,
        );
        match value {
            Value::Object(map) => map.values().for_each(|v| spans_for(v, spans)),
            Value::Array(items) => items.iter().for_each(|v| spans_for(v, spans)),
            _ => {}
        }
        spans.close(node);
    }

    #[test]
    fn every_pointer_resolves_to_its_own_value() {
        let value = json!({
            "a": {"x": [1, {"deep": [true, null]}, "s"], "y": {}},
            "b/c": {"~": 2, "": []},
            "hosts": {"pi1": {"address": "10.0.0.1", "services": ["a", "b"]}, "pi2": {}},
            "z": []
        });
        let mut spans = Spans::default();
        spans_for(&value, &mut spans);
        let loaded = Loaded {
            value,
            spans,
            sources: Sources::default(),
        };
        let mut all = Vec::new();
        pointers(&loaded.value, String::new(), &mut all);
        assert_eq!(all.len(), 21);
        for (i, p) in all.iter().enumerate() {
            assert_eq!(loaded.own_span(p).map(|s| s.start), Some(i), "{p}");
        }
        for missing in ["/nope", "/a/x/3", "/a/x/-1", "/hosts/pi1/address/0", "a"] {
            assert_eq!(loaded.own_span(missing), None, "{missing}");
        }
        // A value with no span of its own falls back to its nearest ancestor.
        assert_eq!(
            loaded.span("/hosts/pi1/nope").map(|s| s.start),
            loaded.own_span("/hosts/pi1").map(|s| s.start)
        );
    }
}

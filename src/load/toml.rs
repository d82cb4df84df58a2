//! Loads a `lab.toml`: parses it keeping the span of every key and value,
//! and turns it into JSON plus those spans.
//!
//! TOML has no contracts or imports: the file is data as written, checked
//! later against the same schema as a Nickel lab.
//!
//! Invariants:
//! - every pointer in [`Loaded::value`] has a span in [`Loaded::spans`],
//!   all into the one file, which is file 0 of [`Loaded::sources`];
//! - record keys come out in lexicographic order, as from the Nickel
//!   loader, so both formats load to the same value;
//! - integers stay integers; values JSON can't carry (dates, NaN,
//!   infinities) are errors at their position, never silently replaced.

use super::{LoadError, Loaded, pointer_segment};
use crate::diag::{Diagnostic, FileId, Sources, Span};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(super) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::Io(format!("{}: {e}", path.display())))?;
    let mut sources = Sources::default();
    let file = sources.add(path.display().to_string(), text.clone());

    let doc = match DeTable::parse(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().map(|r| to_span(file, r));
            let diag = Diagnostic::error(format!("invalid TOML: {}", e.message()))
                .at(span, "the parser stopped here");
            return Err(LoadError::Diagnostics(sources, vec![diag]));
        }
    };

    let mut walker = Walker {
        file,
        spans: BTreeMap::new(),
        diags: Vec::new(),
    };
    walker
        .spans
        .insert(String::new(), to_span(file, doc.span()));
    let value = walker.table(doc.get_ref(), "");
    if walker.diags.is_empty() {
        Ok(Loaded {
            value,
            spans: walker.spans,
            sources,
        })
    } else {
        Err(LoadError::Diagnostics(sources, walker.diags))
    }
}

fn to_span(file: FileId, r: Range<usize>) -> Span {
    Span {
        file,
        start: r.start,
        end: r.end,
    }
}

/// Converts parsed TOML to JSON, recording spans and collecting every value
/// JSON can't carry (so one run reports all of them).
struct Walker {
    file: FileId,
    spans: BTreeMap<String, Span>,
    diags: Vec<Diagnostic>,
}

impl Walker {
    /// The entries of a table; the table's own span is its caller's job.
    fn table(&mut self, table: &DeTable<'_>, pointer: &str) -> J {
        let mut entries: Vec<_> = table.iter().collect();
        // Already sorted unless toml's `preserve_order` is on somewhere in
        // the build; sorting here keeps the invariant either way.
        entries.sort_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
        let mut map = serde_json::Map::with_capacity(entries.len());
        for (key, value) in entries {
            let key = key.get_ref();
            let child = format!("{pointer}/{}", pointer_segment(key));
            map.insert(key.to_string(), self.value(value, child));
        }
        J::Object(map)
    }

    fn value(&mut self, value: &Spanned<DeValue<'_>>, pointer: String) -> J {
        let span = to_span(self.file, value.span());
        self.spans.insert(pointer.clone(), span);
        match value.get_ref() {
            DeValue::Table(table) => self.table(table, &pointer),
            DeValue::Array(items) => J::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.value(item, format!("{pointer}/{i}")))
                    .collect(),
            ),
            DeValue::String(s) => J::String(s.to_string()),
            DeValue::Boolean(b) => J::Bool(*b),
            DeValue::Integer(i) => {
                let digits = i.as_str();
                if let Ok(n) = i64::from_str_radix(digits, i.radix()) {
                    J::from(n)
                } else if let Ok(n) = u64::from_str_radix(digits, i.radix()) {
                    J::from(n)
                } else {
                    self.error(span, "this integer is too large", "beyond 64 bits")
                }
            }
            DeValue::Float(f) => match f
                .as_str()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(n) => J::Number(n),
                None => self.error(
                    span,
                    "this number can't be part of a lab",
                    "NaN and infinities have no JSON form",
                ),
            },
            DeValue::Datetime(_) => self.error(
                span,
                "dates are not part of a lab",
                "write it as a string if it is meant as text",
            ),
        }
    }

    fn error(&mut self, span: Span, message: &str, label: &str) -> J {
        self.diags
            .push(Diagnostic::error(message).at(Some(span), label));
        J::Null
    }
}

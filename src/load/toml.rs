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

use super::{LoadError, Loaded, Spans};
use crate::diag::{Code, Diagnostic, FileId, Span};
use serde_json::Value as J;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub(super) fn load(path: &Path) -> Result<Loaded, LoadError> {
    let (sources, file, text) = super::read_text(path, path.display().to_string())?;

    let doc = match DeTable::parse(&text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().map(|r| to_span(file, r));
            let diag =
                Diagnostic::error(Code::TomlSyntax, format!("invalid TOML: {}", e.message()))
                    .at(span, "here");
            return Err(LoadError::Diagnostics(sources, vec![diag]));
        }
    };

    let mut walker = Walker {
        file,
        spans: Spans::default(),
        diags: Vec::new(),
        depth: 0,
    };
    // The parser gives the document an empty span at its start; the record
    // a missing field is reported on is the whole document.
    let root = 0..text.trim_end().len();
    let node = walker.spans.open(Some(to_span(file, root)), None);
    let value = walker.table(doc.get_ref());
    walker.spans.close(node);
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
    spans: Spans,
    diags: Vec<Diagnostic>,
    /// How many values enclose the one being converted.
    depth: usize,
}

impl Walker {
    /// The entries of a table; the table's own span is its caller's job.
    fn table(&mut self, table: &DeTable<'_>) -> J {
        let mut entries: Vec<_> = table.iter().collect();
        // Already sorted unless toml's `preserve_order` is on somewhere in
        // the build; sorting here keeps the invariant either way.
        entries.sort_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
        let mut map = serde_json::Map::with_capacity(entries.len());
        for (key, value) in entries {
            let key_span = to_span(self.file, key.span());
            map.insert(key.get_ref().to_string(), self.value(value, Some(key_span)));
        }
        J::Object(map)
    }

    /// Converts `value`, recording its span and then its children's, in the
    /// order [`Spans`] expects (a table's keys sorted, as inserted).
    fn value(&mut self, value: &Spanned<DeValue<'_>>, key: Option<Span>) -> J {
        let span = to_span(self.file, value.span());
        let node = self.spans.open(Some(span), key);
        self.depth += 1;
        // toml's parser stops at a lower depth today; this keeps labc's own
        // recursion bounded whatever a future parser accepts.
        let json = if self.depth > super::MAX_DATA_DEPTH {
            self.error(
                span,
                &format!(
                    "this value nests deeper than {} levels",
                    super::MAX_DATA_DEPTH
                ),
                "too deep",
            )
        } else {
            self.convert(value, span)
        };
        self.depth -= 1;
        self.spans.close(node);
        json
    }

    fn convert(&mut self, value: &Spanned<DeValue<'_>>, span: Span) -> J {
        match value.get_ref() {
            DeValue::Table(table) => self.table(table),
            DeValue::Array(items) => {
                J::Array(items.iter().map(|item| self.value(item, None)).collect())
            }
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
            DeValue::Float(f) => match f.as_str().parse::<f64>().ok().filter(|x| x.is_finite()) {
                // Nickel has one kind of number and exports `7.0` as the
                // integer 7; so does labc for TOML, so that both formats
                // and the model agree on what a whole number is.
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => J::from(x as i64),
                Some(x) => serde_json::Number::from_f64(x).map_or(J::Null, J::Number),
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
            .push(Diagnostic::error(Code::NotData, message).at(Some(span), label));
        J::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Sources;
    use crate::load::test_support::{assert_every_value_has_a_span, must_fail, must_load, slice};
    use serde_json::json;
    use std::path::PathBuf;

    const LAB: &str = r#"name = "home"
ports = [80, 70000]
ratio = 1.5
mask = 0xff

[hosts.pi1]
address = "192.168.1.201"
role = "k3s_server"
labels = ["a", "b"]

[[backups]]
path = "/srv"
"#;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lab.toml");
        std::fs::write(&path, text).expect("lab");
        (dir, path)
    }

    fn loaded(text: &str) -> Loaded {
        let (_dir, path) = write(text);
        must_load(&path)
    }

    fn diagnostics(text: &str) -> (Sources, Vec<Diagnostic>) {
        let (_dir, path) = write(text);
        must_fail(&path)
    }

    #[test]
    fn parses_to_json_with_sorted_keys() {
        let l = loaded(LAB);
        assert_eq!(
            l.value,
            json!({
                "backups": [{ "path": "/srv" }],
                "hosts": { "pi1": {
                    "address": "192.168.1.201",
                    "labels": ["a", "b"],
                    "role": "k3s_server",
                } },
                "mask": 255,
                "name": "home",
                "ports": [80, 70000],
                "ratio": 1.5,
            })
        );
        let keys: Vec<_> = l
            .value
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["backups", "hosts", "mask", "name", "ports", "ratio"]);
    }

    #[test]
    fn integers_stay_integers() {
        let l = loaded(LAB);
        assert_eq!(l.value["ports"][1].as_i64(), Some(70000));
        assert!(l.value["ports"][1].is_i64());
        assert!(l.value["ratio"].is_f64());
        assert_eq!(
            loaded("n = 18446744073709551615\n").value["n"].as_u64(),
            Some(u64::MAX)
        );
    }

    #[test]
    fn leaf_spans_slice_to_the_literal() {
        let l = loaded(LAB);
        assert_eq!(slice(&l, "/hosts/pi1/address"), r#""192.168.1.201""#);
        assert_eq!(
            l.sources
                .location(l.own_span("/hosts/pi1/address").unwrap())
                .rsplit_once("lab.toml:")
                .map(|x| x.1),
            Some("7:11")
        );
        assert_eq!(slice(&l, "/ports/1"), "70000");
        assert_eq!(slice(&l, "/mask"), "0xff");
        assert_eq!(slice(&l, "/backups/0/path"), r#""/srv""#);
    }

    #[test]
    fn arrays_and_their_elements_have_spans() {
        let l = loaded(LAB);
        assert_eq!(slice(&l, "/hosts/pi1/labels"), r#"["a", "b"]"#);
        assert_eq!(slice(&l, "/hosts/pi1/labels/0"), r#""a""#);
        assert_eq!(slice(&l, "/hosts/pi1/labels/1"), r#""b""#);
    }

    #[test]
    fn every_value_has_a_span_in_the_one_file() {
        let l = loaded(LAB);
        assert_every_value_has_a_span(&l, &l.value, "");
        assert!(l.all_spans().iter().all(|s| s.file == 0));
    }

    #[test]
    fn root_spans_the_document() {
        let l = loaded(LAB);
        assert_eq!(slice(&l, ""), LAB.trim_end());
    }

    #[test]
    fn escaped_keys_get_escaped_pointers() {
        let l = loaded("[routes]\n\"a/b\" = 1\n\"c~d\" = 2\n");
        assert_eq!(slice(&l, "/routes/a~1b"), "1");
        assert_eq!(slice(&l, "/routes/c~0d"), "2");
    }

    #[test]
    fn syntax_error_is_a_diagnostic_with_a_span() {
        let (sources, diags) = diagnostics("name = \"home\"\nhosts = \n");
        assert_eq!(diags.len(), 1);
        let (span, _) = diags[0].primary.as_ref().expect("a position");
        assert!(
            sources.location(*span).ends_with("lab.toml:2:9"),
            "{}",
            sources.location(*span)
        );
        assert!(
            diags[0].message.starts_with("invalid TOML"),
            "{}",
            diags[0].message
        );
    }

    #[test]
    fn dates_are_rejected_where_they_are() {
        let (sources, diags) = diagnostics("name = \"home\"\nsince = 2024-01-01\n");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "dates are not part of a lab");
        let (span, _) = diags[0].primary.as_ref().expect("a position");
        assert_eq!(sources.slice(*span), "2024-01-01");
    }

    #[test]
    fn nan_and_infinities_are_rejected() {
        let (sources, diags) = diagnostics("a = nan\nb = -inf\nc = 1.5\n");
        let spans: Vec<_> = diags
            .iter()
            .map(|d| d.primary.as_ref().map(|(s, _)| sources.slice(*s)))
            .collect();
        assert_eq!(spans, [Some("nan"), Some("-inf")]);
    }

    #[test]
    fn unreadable_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nope.toml");
        match load(&path) {
            Err(LoadError::Io(msg)) => assert!(msg.contains(&path.display().to_string()), "{msg}"),
            _ => panic!("expected an I/O error"),
        }
    }
}

//! A small YAML writer for every YAML file labc generates.
//!
//! Why not serde_yaml: YAML 1.1 readers (PyYAML in Ansible, go-yaml v2 in
//! Kubernetes and Helm) read `yes`, `on`, `0755`, `22:22` or `1.10` as
//! something else than the string written. This writer double-quotes every
//! string scalar, so nothing is ever coerced, and writes keys bare only when
//! no reader could mistake them. Maps are `BTreeMap`s: keys come out sorted.
//!
//! Style (what yamllint's default rules want): `---` after the header
//! comments, two-space indentation, sequences indented under their key,
//! `key:` with nothing after it for null (Ansible's host entries).

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(BTreeMap<String, Yaml>),
}

impl Yaml {
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }

    pub fn map() -> Yaml {
        Yaml::Map(BTreeMap::new())
    }

    /// Sets `key` in a map (builder style). Does nothing on a non-map.
    pub fn with(mut self, key: &str, value: impl Into<Yaml>) -> Yaml {
        self.insert(key, value);
        self
    }

    pub fn insert(&mut self, key: &str, value: impl Into<Yaml>) {
        if let Yaml::Map(m) = self {
            m.insert(key.to_string(), value.into());
        }
    }

    /// A sequence of strings.
    pub fn strs<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Yaml {
        Yaml::Seq(items.into_iter().map(|s| Yaml::Str(s.into())).collect())
    }
}

impl From<&str> for Yaml {
    fn from(s: &str) -> Yaml {
        Yaml::Str(s.to_string())
    }
}
impl From<String> for Yaml {
    fn from(s: String) -> Yaml {
        Yaml::Str(s)
    }
}
impl From<&String> for Yaml {
    fn from(s: &String) -> Yaml {
        Yaml::Str(s.clone())
    }
}
impl From<bool> for Yaml {
    fn from(b: bool) -> Yaml {
        Yaml::Bool(b)
    }
}
impl From<i64> for Yaml {
    fn from(n: i64) -> Yaml {
        Yaml::Int(n)
    }
}
impl From<u32> for Yaml {
    fn from(n: u32) -> Yaml {
        Yaml::Int(n.into())
    }
}
impl From<u16> for Yaml {
    fn from(n: u16) -> Yaml {
        Yaml::Int(n.into())
    }
}
impl From<BTreeMap<String, Yaml>> for Yaml {
    fn from(m: BTreeMap<String, Yaml>) -> Yaml {
        Yaml::Map(m)
    }
}
impl From<Vec<Yaml>> for Yaml {
    fn from(v: Vec<Yaml>) -> Yaml {
        Yaml::Seq(v)
    }
}

/// A whole YAML file: `header` (already commented), `---`, the document.
pub fn document(header: &str, value: &Yaml) -> String {
    documents(header, std::slice::from_ref(value))
}

/// Several documents in one file, each after its own `---`.
pub fn documents(header: &str, values: &[Yaml]) -> String {
    let mut out = String::from(header);
    for v in values {
        out.push_str("---\n");
        write_block(&mut out, v, 0);
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_block(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(m) if !m.is_empty() => {
            for (k, v) in m {
                pad(out, indent);
                key_into(out, k);
                out.push(':');
                write_after_key(out, v, indent);
            }
        }
        Yaml::Seq(items) if !items.is_empty() => {
            for item in items {
                pad(out, indent);
                out.push('-');
                match item {
                    Yaml::Map(m) if !m.is_empty() => {
                        // The first key sits on the dash's line; the rest align with it.
                        let mut first = true;
                        for (k, v) in m {
                            if first {
                                out.push(' ');
                                first = false;
                            } else {
                                pad(out, indent + 2);
                            }
                            key_into(out, k);
                            out.push(':');
                            write_after_key(out, v, indent + 2);
                        }
                    }
                    Yaml::Seq(s) if !s.is_empty() => {
                        out.push('\n');
                        write_block(out, item, indent + 2);
                    }
                    scalar => {
                        out.push(' ');
                        inline_into(out, scalar);
                        out.push('\n');
                    }
                }
            }
        }
        scalar => {
            pad(out, indent);
            inline_into(out, scalar);
            out.push('\n');
        }
    }
}

fn write_after_key(out: &mut String, v: &Yaml, indent: usize) {
    match v {
        Yaml::Null => out.push('\n'),
        Yaml::Map(m) if !m.is_empty() => {
            out.push('\n');
            write_block(out, v, indent + 2);
        }
        Yaml::Seq(s) if !s.is_empty() => {
            out.push('\n');
            write_block(out, v, indent + 2);
        }
        scalar => {
            out.push(' ');
            inline_into(out, scalar);
            out.push('\n');
        }
    }
}

fn inline_into(out: &mut String, v: &Yaml) {
    match v {
        Yaml::Null => out.push_str("null"),
        Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Yaml::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Yaml::Str(s) => quote_into(out, s),
        Yaml::Seq(_) => out.push_str("[]"),
        Yaml::Map(_) => out.push_str("{}"),
    }
}

/// A double-quoted YAML scalar (the JSON escapes are valid YAML escapes).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(&mut out, s);
    out
}

fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    // Fast path: nothing to escape.
    if !s
        .bytes()
        .any(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// YAML 1.1 words that are not strings when plain.
const SPECIAL: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// A key, bare when it's a plain identifier no YAML reader could misread.
fn key_into(out: &mut String, k: &str) {
    let plain = k
        .as_bytes()
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && k.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/'))
        && !SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(k));
    if plain {
        out.push_str(k)
    } else {
        quote_into(out, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coercible_scalars_are_quoted() {
        let v = Yaml::map()
            .with("version", "v1.34.3+k3s1")
            .with("yes", "on")
            .with("mode", "0755")
            .with("port", "22:22")
            .with("float", "1.10")
            .with("n", Yaml::Int(3));
        let text = document("# h\n", &v);
        assert_eq!(
            text,
            "# h\n---\nfloat: \"1.10\"\nmode: \"0755\"\n\"n\": 3\nport: \"22:22\"\nversion: \"v1.34.3+k3s1\"\n\"yes\": \"on\"\n"
        );
    }

    #[test]
    fn nesting_and_sequences() {
        let v = Yaml::map()
            .with(
                "all",
                Yaml::map().with("hosts", Yaml::map().with("pi1", Yaml::Null)),
            )
            .with(
                "list",
                Yaml::Seq(vec![
                    Yaml::map().with("a", "1").with("b", Yaml::strs(["x"])),
                    Yaml::str("s"),
                ]),
            )
            .with("empty", Yaml::map());
        assert_eq!(
            document("", &v),
            "---\nall:\n  hosts:\n    pi1:\nempty: {}\nlist:\n  - a: \"1\"\n    b:\n      - \"x\"\n  - \"s\"\n"
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }
}

//! A small YAML writer for every YAML file labc generates.
//!
//! Why not serde_yaml: YAML 1.1 readers (PyYAML in Ansible, go-yaml v2 in
//! Kubernetes and Helm) read `yes`, `on`, `0755`, `22:22` or `1.10` as
//! something else than the string written. This writer double-quotes every
//! string scalar, so nothing is ever coerced, and writes keys bare only when
//! no reader could mistake them. Maps keep their keys sorted: keys come out
//! sorted whatever order an emitter inserts them in.
//!
//! Style (what yamllint's default rules want): `---` after the header
//! comments, two-space indentation, sequences indented under their key,
//! `key:` with nothing after it for null (Ansible's host entries).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A YAML value. Strings and keys borrow from the model (or are labc's own
/// literals) wherever they can: a large lab's files hold ~100,000 of them,
/// and copying each would be most of the emitters' work.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(Cow<'a, str>),
    /// A Jinja template of labc's own (a `'static` literal, so no lab text
    /// can be one), written untagged in an [`Tagging::AnsibleUnsafe`]
    /// document so that Ansible evaluates it.
    Template(&'static str),
    Seq(Vec<Yaml<'a>>),
    Map(Map<'a>),
}

/// A map key.
pub type Key<'a> = Cow<'a, str>;

/// A map, its entries kept sorted by key (byte order, as `BTreeMap`).
///
/// A sorted `Vec` rather than a `BTreeMap`: generated maps are small and
/// mostly built in key order, and a large lab builds tens of thousands of
/// them; a `BTreeMap` node is ~600 bytes however few keys it holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map<'a>(Vec<(Key<'a>, Yaml<'a>)>);

impl<'a> Map<'a> {
    pub fn new() -> Map<'a> {
        Map(Vec::new())
    }

    /// Sets `key`, replacing (and returning) what it held.
    pub fn insert(&mut self, key: impl Into<Key<'a>>, value: Yaml<'a>) -> Option<Yaml<'a>> {
        let key = key.into();
        // Keys mostly arrive in order: check the end before searching.
        let at = match self.0.last() {
            Some((last, _)) if **last < *key => Err(self.0.len()),
            _ => self.0.binary_search_by(|(k, _)| k.as_ref().cmp(&key)),
        };
        match at {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Yaml<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a, K: Into<Key<'a>>> FromIterator<(K, Yaml<'a>)> for Map<'a> {
    fn from_iter<I: IntoIterator<Item = (K, Yaml<'a>)>>(iter: I) -> Map<'a> {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<'a> IntoIterator for Map<'a> {
    type Item = (Key<'a>, Yaml<'a>);
    type IntoIter = std::vec::IntoIter<(Key<'a>, Yaml<'a>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> Yaml<'a> {
    pub fn str(s: impl Into<Cow<'a, str>>) -> Yaml<'a> {
        Yaml::Str(s.into())
    }

    pub fn map() -> Yaml<'a> {
        Yaml::Map(Map::new())
    }

    /// Sets `key` in a map (builder style). Does nothing on a non-map.
    pub fn with(mut self, key: impl Into<Key<'a>>, value: impl Into<Yaml<'a>>) -> Yaml<'a> {
        self.insert(key, value);
        self
    }

    pub fn insert(&mut self, key: impl Into<Key<'a>>, value: impl Into<Yaml<'a>>) {
        if let Yaml::Map(m) = self {
            m.insert(key, value.into());
        }
    }

    /// A JSON value as YAML data (an upstream chart's values): every string
    /// quoted and escaped as any other, whole numbers as integers. A number
    /// that isn't a 64-bit integer (validation refuses one) keeps its text,
    /// as a string.
    pub fn from_json(value: &'a serde_json::Value) -> Yaml<'a> {
        use serde_json::Value;
        match value {
            Value::Null => Yaml::Null,
            Value::Bool(b) => Yaml::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Yaml::Int(i),
                None => Yaml::Str(Cow::Owned(n.to_string())),
            },
            Value::String(s) => Yaml::Str(Cow::Borrowed(s)),
            Value::Array(items) => Yaml::Seq(items.iter().map(Yaml::from_json).collect()),
            Value::Object(map) => Yaml::Map(
                map.iter()
                    .map(|(k, v)| (k.as_str(), Yaml::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// A sequence of strings.
    pub fn strs<I: IntoIterator<Item = S>, S: Into<Cow<'a, str>>>(items: I) -> Yaml<'a> {
        Yaml::Seq(items.into_iter().map(|s| Yaml::Str(s.into())).collect())
    }
}

impl<'a> From<&'a str> for Yaml<'a> {
    fn from(s: &'a str) -> Yaml<'a> {
        Yaml::Str(Cow::Borrowed(s))
    }
}
impl<'a> From<String> for Yaml<'a> {
    fn from(s: String) -> Yaml<'a> {
        Yaml::Str(Cow::Owned(s))
    }
}
impl<'a> From<&'a String> for Yaml<'a> {
    fn from(s: &'a String) -> Yaml<'a> {
        Yaml::Str(Cow::Borrowed(s))
    }
}
impl<'a> From<Cow<'a, str>> for Yaml<'a> {
    fn from(s: Cow<'a, str>) -> Yaml<'a> {
        Yaml::Str(s)
    }
}
impl From<bool> for Yaml<'_> {
    fn from(b: bool) -> Self {
        Yaml::Bool(b)
    }
}
impl From<i64> for Yaml<'_> {
    fn from(n: i64) -> Self {
        Yaml::Int(n)
    }
}
impl From<u32> for Yaml<'_> {
    fn from(n: u32) -> Self {
        Yaml::Int(n.into())
    }
}
impl From<u16> for Yaml<'_> {
    fn from(n: u16) -> Self {
        Yaml::Int(n.into())
    }
}
impl<'a> From<BTreeMap<String, Yaml<'a>>> for Yaml<'a> {
    fn from(m: BTreeMap<String, Yaml<'a>>) -> Yaml<'a> {
        Yaml::Map(m.into_iter().collect())
    }
}
impl<'a> From<Map<'a>> for Yaml<'a> {
    fn from(m: Map<'a>) -> Yaml<'a> {
        Yaml::Map(m)
    }
}
impl<'a> From<Vec<Yaml<'a>>> for Yaml<'a> {
    fn from(v: Vec<Yaml<'a>>) -> Yaml<'a> {
        Yaml::Seq(v)
    }
}

/// How string scalars are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tagging {
    /// Double-quoted: a YAML reader takes them as the text written.
    Plain,
    /// Double-quoted, and `!unsafe` when the string holds a `{`: Ansible
    /// templates every string of its inventory and variables, so a lab value
    /// holding `{{ .. }}`, `{% .. %}` or `{# .. #}` would run on the control
    /// node; `!unsafe` is Ansible's documented marker for data that is never
    /// templated. Only strings that could open a template are tagged: Ansible
    /// (2.19) resolves a tagged scalar's type as if it were plain, so
    /// `!unsafe "0755"` would read as a number and `!unsafe "*"` fail to load,
    /// while no string holding a `{` resolves to anything but a string.
    /// [`Yaml::Template`] is never tagged.
    AnsibleUnsafe,
}

/// A whole YAML file: `header` (already commented), `---`, the document.
pub fn document(header: &str, value: &Yaml<'_>) -> String {
    documents_tagged(header, std::slice::from_ref(value), Tagging::Plain)
}

/// Several documents in one file, each after its own `---`.
pub fn documents(header: &str, values: &[Yaml<'_>]) -> String {
    documents_tagged(header, values, Tagging::Plain)
}

/// [`document`] with its strings written as `tagging` says.
pub fn document_tagged(header: &str, value: &Yaml<'_>, tagging: Tagging) -> String {
    documents_tagged(header, std::slice::from_ref(value), tagging)
}

fn documents_tagged(header: &str, values: &[Yaml<'_>], tagging: Tagging) -> String {
    let mut out = String::from(header);
    let mut w = Writer {
        out: &mut out,
        tagging,
    };
    for v in values {
        w.out.push_str("---\n");
        w.block(v, 0);
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    const SPACES: &str = "                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// Writes YAML block style into `out`, strings as `tagging` says.
struct Writer<'o> {
    out: &'o mut String,
    tagging: Tagging,
}

impl Writer<'_> {
    fn block(&mut self, value: &Yaml<'_>, indent: usize) {
        match value {
            Yaml::Map(m) if !m.is_empty() => {
                for (k, v) in m.iter() {
                    pad(self.out, indent);
                    key_into(self.out, k);
                    self.out.push(':');
                    self.after_key(v, indent);
                }
            }
            Yaml::Seq(items) if !items.is_empty() => {
                for item in items {
                    pad(self.out, indent);
                    self.out.push('-');
                    match item {
                        Yaml::Map(m) if !m.is_empty() => {
                            // The first key sits on the dash's line; the rest align with it.
                            let mut first = true;
                            for (k, v) in m.iter() {
                                if first {
                                    self.out.push(' ');
                                    first = false;
                                } else {
                                    pad(self.out, indent + 2);
                                }
                                key_into(self.out, k);
                                self.out.push(':');
                                self.after_key(v, indent + 2);
                            }
                        }
                        Yaml::Seq(s) if !s.is_empty() => {
                            self.out.push('\n');
                            self.block(item, indent + 2);
                        }
                        scalar => {
                            self.out.push(' ');
                            self.inline(scalar);
                            self.out.push('\n');
                        }
                    }
                }
            }
            scalar => {
                pad(self.out, indent);
                self.inline(scalar);
                self.out.push('\n');
            }
        }
    }

    fn after_key(&mut self, v: &Yaml<'_>, indent: usize) {
        match v {
            Yaml::Null => self.out.push('\n'),
            Yaml::Map(m) if !m.is_empty() => {
                self.out.push('\n');
                self.block(v, indent + 2);
            }
            Yaml::Seq(s) if !s.is_empty() => {
                self.out.push('\n');
                self.block(v, indent + 2);
            }
            scalar => {
                self.out.push(' ');
                self.inline(scalar);
                self.out.push('\n');
            }
        }
    }

    fn inline(&mut self, v: &Yaml<'_>) {
        let out = &mut *self.out;
        match v {
            Yaml::Null => out.push_str("null"),
            Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Yaml::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Yaml::Str(s) => {
                if self.tagging == Tagging::AnsibleUnsafe && s.contains('{') {
                    out.push_str("!unsafe ");
                }
                quote_into(out, s)
            }
            Yaml::Template(t) => quote_into(out, t),
            Yaml::Seq(_) => out.push_str("[]"),
            Yaml::Map(_) => out.push_str("{}"),
        }
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
    // Fast path: printable ASCII with nothing to escape.
    if !s
        .bytes()
        .any(|b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b))
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
            c if needs_escape(c) => {
                let code = u32::from(c);
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else {
                    write!(out, "\\u{code:04x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Characters a double-quoted scalar must escape to read back as written:
/// those outside YAML 1.1's printable set (C0 and C1 controls, DEL,
/// surrogates cannot occur, U+FFFE, U+FFFF), and those YAML 1.1 readers
/// (PyYAML, go-yaml v2) take as line breaks and fold into a space (NEL
/// U+0085, U+2028, U+2029), plus the byte-order mark, which some readers
/// drop. Everything else is written as itself.
fn needs_escape(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00..=0x1f | 0x7f..=0x9f | 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff
    )
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
        && (k.len() > 5 || !SPECIAL.iter().any(|w| w.eq_ignore_ascii_case(k)));
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

    #[test]
    fn characters_yaml_would_refuse_or_fold_are_escaped() {
        assert_eq!(
            quote("a\u{9b}b\u{85}c\u{2028}d\u{2029}e\u{feff}f\u{7f}g\u{ffff}"),
            "\"a\\x9bb\\x85c\\u2028d\\u2029e\\ufefff\\x7fg\\uffff\""
        );
        // Printable non-ASCII stays as written.
        assert_eq!(quote("café ü 日本"), "\"café ü 日本\"");
    }

    #[test]
    fn ansible_documents_tag_every_possible_template_but_labc_s() {
        let v = Yaml::map()
            .with("a", "{{ lookup('pipe', 'id') }}")
            .with("b", Yaml::strs(["x{% if 1 %}", "{#", "*"]))
            .with("n", 3u32)
            .with("t", Yaml::Template("{{ ansible_playbook_python }}"));
        assert_eq!(
            document_tagged("", &v, Tagging::AnsibleUnsafe),
            "---\na: !unsafe \"{{ lookup('pipe', 'id') }}\"\nb:\n  - !unsafe \"x{% if 1 %}\"\n  - !unsafe \"{#\"\n  - \"*\"\n\"n\": 3\nt: \"{{ ansible_playbook_python }}\"\n"
        );
    }
}

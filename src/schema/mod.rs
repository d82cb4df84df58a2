//! The lab's schemas, both generated from the Rust types in [`crate::raw`]:
//! the JSON Schema editors of `lab.toml` use (`schemas/lab.schema.json`) and
//! the Nickel contracts `lab.ncl` applies (`schemas/lab.ncl`); beside them,
//! the JSON Schema of one line of `--message-format json`
//! (`schemas/message.schema.json`, from [`crate::diag::message_schema`]). Also the
//! structural check of a loaded lab against the JSON Schema, which both input
//! formats go through, with every error mapped back to its position.
//!
//! Invariants: the Rust types are the only source of the structure; the two
//! schema files are pure functions of them (so they cannot drift), and this
//! module never reads or writes files.

mod accept;

pub use accept::accepts;

use crate::diag::{Code, Diagnostic};
use crate::load::{Loaded, unescape_segment};
use crate::raw;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The patterns of [`crate::raw`], each with a name for error messages,
/// what a matching value looks like in words (a user reads "an IPv4 address
/// like `192.168.1.10`", never the regular expression), and the name of the
/// Nickel contract that checks it.
const PATTERNS: &[(&str, &str, &str, &str)] = &[
    (
        raw::NAME,
        "name",
        "lowercase letters, digits, `-` and `_`, starting and ending with a letter or digit, like `webapp`",
        "Name",
    ),
    (
        raw::IMAGE,
        "image reference (`repository:tag`)",
        "an image reference with a tag, like `gitea/gitea:1.24.6`",
        "Image",
    ),
    (
        raw::K3S_VERSION,
        "k3s version (like `v1.34.3+k3s1`)",
        "a k3s release like `v1.34.3+k3s1`",
        "K3sVersion",
    ),
    (
        raw::DOMAIN,
        "domain name",
        "a lowercase domain name like `arcodange.lab`",
        "Domain",
    ),
    (
        raw::HTTPS_URL,
        "https URL",
        "an `https://` URL without a trailing slash, like `https://gitea.arcodange.lab`",
        "HttpsUrl",
    ),
    (
        raw::HTTP_URL,
        "URL",
        "an `http://` or `https://` URL without a trailing slash, like `http://vault.vault.svc:8200`",
        "HttpUrl",
    ),
    (
        raw::REL_PATH,
        "relative path",
        "`/`-separated names, none starting with `.`, like `generated`",
        "RelativePath",
    ),
    (
        raw::ABS_PATH,
        "absolute path (no control characters)",
        "an absolute path without control characters, like `/etc/labc/gitea.env`",
        "AbsolutePath",
    ),
    (
        raw::GCP_PROJECT,
        "Google Cloud project id (like `arcodange`)",
        "a Google Cloud project id: 6 to 30 lowercase letters, digits and `-`, starting with a letter, like `arcodange`",
        "GcpProject",
    ),
    (
        raw::GCP_REGION,
        "Google Cloud region (like `europe-west1`)",
        "a Google Cloud region like `europe-west1`",
        "GcpRegion",
    ),
    (
        raw::STATE_PREFIX,
        "state prefix (like `factory/main`)",
        "`/`-separated names of letters, digits, `.`, `_` and `-`, like `factory/main`",
        "StatePrefix",
    ),
    (
        raw::CRON,
        "cron schedule (`minute hour day month weekday`)",
        "five fields `minute hour day month weekday`, like `0 3 * * *`",
        "Cron",
    ),
    (
        raw::IPV4,
        "IPv4 address",
        "an IPv4 address like `192.168.1.10` (four numbers from 0 to 255, no leading zeros)",
        "Ipv4",
    ),
    (
        raw::QUANTITY,
        "size (like `1Gi`)",
        "a size like `1Gi`: a whole number then `Ki`, `Mi`, `Gi` or `Ti`",
        "Quantity",
    ),
    (
        raw::VERSION_CONSTRAINT,
        "version constraint (like `0.6.0` or `~> 5`)",
        "a version constraint like `0.6.0`, `~> 5` or `>= 1.2`",
        "VersionConstraint",
    ),
    (
        raw::BRANCH,
        "branch name",
        "a branch name like `main` (letters, digits, `.`, `_`, `/` and `-`)",
        "Branch",
    ),
    (
        raw::PROVIDER_SOURCE,
        "provider source (`namespace/type`)",
        "a provider source `namespace/type`, like `hashicorp/vault`",
        "ProviderSource",
    ),
    (
        raw::CHART_REPO,
        "chart repository (`https://...` or `oci://...`)",
        "a Helm repository or OCI registry URL, like `https://grafana.github.io/helm-charts` or `oci://ghcr.io/org/charts`",
        "ChartRepo",
    ),
    (
        raw::VALUES_PATH,
        "dotted path into the chart's values (like `ingress.hosts`)",
        "a dotted path of keys into the chart's values, like `ingress.hosts`",
        "ValuesPath",
    ),
    (
        raw::CHART_VERSION,
        "chart version (like `8.5.1`)",
        "a pinned chart version, like `8.5.1`",
        "ChartVersion",
    ),
];

fn pattern_name(pattern: &str) -> &str {
    PATTERNS
        .iter()
        .find(|(p, ..)| *p == pattern)
        .map(|(_, n, ..)| *n)
        .unwrap_or("value")
}

/// What a value matching `pattern` looks like, in words.
fn pattern_words(pattern: &str) -> String {
    PATTERNS
        .iter()
        .find(|(p, ..)| *p == pattern)
        .map(|(_, _, words, _)| words.to_string())
        .unwrap_or_else(|| format!("a value matching {pattern}"))
}

/// The schema files as this binary was built with them: the repository's
/// `schemas/`, which `tests::embedded_schemas_are_current` keeps equal to
/// what the generators below make of `raw`'s types (and rewrites, with
/// `LABC_UPDATE_SCHEMAS=1`). Generating them on every run cost about 7 M
/// instructions, 5% of a `labc check` on the reference lab (BENCHMARKS.md).
const EMBEDDED_JSON: &str = include_str!("../../schemas/lab.schema.json");
const EMBEDDED_NCL: &str = include_str!("../../schemas/lab.ncl");
const EMBEDDED_REVIEW: &str = include_str!("../../schemas/review.schema.json");
const EMBEDDED_MESSAGE: &str = include_str!("../../schemas/message.schema.json");
const EMBEDDED_LENIENT: &str = include_str!("lenient.ncl");
const EMBEDDED_PASSIVE: &str = include_str!("passive.ncl");

/// The JSON Schema of a lab (draft 2020-12), as `schemas/lab.schema.json`,
/// parsed once per process.
pub fn json_schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    // The embedded text is the generator's output, checked by a test: it
    // parses, or that test fails first.
    SCHEMA.get_or_init(|| serde_json::from_str(EMBEDDED_JSON).unwrap_or(Value::Null))
}

/// The JSON Schema as generated: [`structure`] written for TOML editors
/// (see [`editor_schema`]).
fn generate_json_schema() -> Value {
    editor_schema(structure())
}

/// The lab's shape as schemars derives it from [`crate::raw`]: shared types
/// in `$defs`, enums with documented values as a `oneOf` of `const`s, docs
/// as written in raw.rs (enum values as Nickel tags, `` `'value` ``). Both
/// schema files are renderings of it: the Nickel contracts name its `$defs`,
/// the JSON Schema inlines them.
fn structure() -> &'static Value {
    static STRUCTURE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    STRUCTURE.get_or_init(|| {
        let schema = schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<raw::Lab>();
        let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
        strip_null(&mut value);
        unwrap_docs(&mut value);
        value
    })
}

/// The syntax a schema's docs are rendered in: enum values are Nickel tags
/// (`'public`) in lab.ncl and strings (`"public"`) in lab.toml.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Nickel,
    Toml,
}

impl Syntax {
    /// An enum value as a lab file of this syntax writes it.
    fn value(self, value: &str) -> String {
        match self {
            Syntax::Nickel => format!("'{value}"),
            Syntax::Toml => format!("\"{value}\""),
        }
    }

    /// A doc from raw.rs, its `` `'value` `` placeholders in this syntax.
    fn doc(self, text: &str) -> String {
        static TAG: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
        let tag = TAG.get_or_init(|| {
            regex_lite::Regex::new(r"`'([A-Za-z_][A-Za-z0-9_]*)`")
                .unwrap_or_else(|_| unreachable!())
        });
        tag.replace_all(text, |c: &regex_lite::Captures<'_>| {
            format!("`{}`", self.value(&c[1]))
        })
        .into_owned()
    }
}

/// The values of an enum node, each with its doc, whether schemars wrote
/// `enum` or a `oneOf` of `const`s (it does the latter when variants have
/// docs).
fn enum_values(node: &Value) -> Option<Vec<(String, Option<String>)>> {
    if let Some(Value::Array(e)) = node.get("enum") {
        return e
            .iter()
            .map(|v| v.as_str().map(|s| (s.to_string(), None)))
            .collect();
    }
    if let Some(Value::Array(options)) = node.get("oneOf") {
        return options
            .iter()
            .map(|o| {
                let value = o
                    .get("const")
                    .or_else(|| o.get("enum").and_then(|e| e.get(0)))
                    .and_then(Value::as_str)?;
                let doc = o.get("description").and_then(Value::as_str);
                Some((value.to_string(), doc.map(String::from)))
            })
            .collect();
    }
    None
}

/// The enum a field holds (its own type, or its items' when it is an
/// array), following a `$ref` into the structure's `$defs`.
fn field_enum(structure: &Value, field: &Value) -> Option<Vec<(String, Option<String>)>> {
    let node = resolve(structure, field);
    let node = match node.get("items") {
        Some(items) if node.get("type").and_then(Value::as_str) == Some("array") => {
            resolve(structure, items)
        }
        _ => node,
    };
    enum_values(node)
}

/// A field's doc in `syntax`, followed by the values it takes when it is an
/// enum (hover shows the field's doc only, and nls completes no tags).
fn field_doc(
    structure: &Value,
    field: &Value,
    doc: Option<&str>,
    syntax: Syntax,
) -> Option<String> {
    let mut text = syntax.doc(doc?);
    if let Some(values) = field_enum(structure, field) {
        text.push_str("\n\nValues:");
        for (value, value_doc) in values {
            let _ = write!(text, "\n- `{}`", syntax.value(&value));
            if let Some(d) = value_doc {
                let _ = write!(text, ": {}", syntax.doc(&d));
            }
        }
    }
    Some(text)
}

/// The JSON Schema as TOML editors (taplo, Even Better TOML) read it:
///
/// - every `$ref` inlined: taplo ignores a `$ref`'s sibling keywords, so a
///   field whose type is shared would hover with its type's text (or none)
///   instead of its own. An inlined record keeps its type's name as `title`.
/// - every enum one `enum` (no `type`: a wrong value is one error), its
///   values' docs in taplo's `x-taplo.docs.enumValues`: a `oneOf` of
///   `const`s is offered once per value when completing the field's name.
/// - docs in TOML's terms: enum values as TOML strings, and each enum
///   field's doc lists its values.
fn editor_schema(structure: &Value) -> Value {
    let mut root = editor_node(structure, structure, None);
    if let Value::Object(root) = &mut root {
        root.remove("$defs");
        root.insert(
            "$comment".into(),
            Value::String(
                "Generated by labc from its Rust types (`labc schema`). Do not edit.".into(),
            ),
        );
    }
    root
}

fn editor_node(structure: &Value, node: &Value, title: Option<&str>) -> Value {
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or_default();
        let def = resolve(structure, node);
        let mut inlined = editor_node(structure, def, Some(name));
        if let (Value::Object(out), Value::Object(here)) = (&mut inlined, node) {
            // The field's own keywords (its doc, its default) win over its
            // type's.
            for (k, v) in here {
                match k.as_str() {
                    "$ref" => {}
                    "description" => {
                        if let Some(d) = v.as_str() {
                            out.insert(k.clone(), Value::String(Syntax::Toml.doc(d)));
                        }
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        return inlined;
    }
    let Value::Object(map) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    if let Some(title) = title {
        out.insert("title".into(), Value::String(title.to_string()));
    }
    if let Some(values) = enum_values(node) {
        for (k, v) in map {
            if !matches!(k.as_str(), "oneOf" | "enum" | "type") {
                out.insert(k.clone(), v.clone());
            }
        }
        out.insert(
            "enum".into(),
            values
                .iter()
                .map(|(v, _)| Value::String(v.clone()))
                .collect(),
        );
        if values.iter().any(|(_, d)| d.is_some()) {
            let docs: Vec<Value> = values
                .iter()
                .map(|(_, d)| {
                    d.as_deref()
                        .map_or(Value::Null, |d| Value::String(Syntax::Toml.doc(d)))
                })
                .collect();
            out.insert(
                "x-taplo".into(),
                serde_json::json!({ "docs": { "enumValues": docs } }),
            );
        }
        if let Some(Value::String(d)) = out.get_mut("description") {
            *d = Syntax::Toml.doc(d);
        }
        return Value::Object(out);
    }
    for (k, v) in map {
        let v = match k.as_str() {
            "properties" => match v {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, field)| {
                            let mut f = editor_node(structure, field, None);
                            let doc = field_doc(
                                structure,
                                field,
                                f.get("description").and_then(Value::as_str),
                                Syntax::Toml,
                            );
                            if let (Value::Object(f), Some(doc)) = (&mut f, doc) {
                                f.insert("description".into(), Value::String(doc));
                            }
                            (name.clone(), f)
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            "additionalProperties" | "items" => editor_node(structure, v, None),
            "description" => Value::String(Syntax::Toml.doc(v.as_str().unwrap_or_default())),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// `Option<T>` fields get `T | null` from schemars; a lab never holds null
/// (TOML has none, and the Nickel contracts reject it), so both schemas say
/// `T`, and absence is what makes a field default.
fn strip_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = map.get_mut(key) {
                    options.retain(|o| o.get("type").and_then(Value::as_str) != Some("null"));
                    if options.len() == 1 {
                        let only = options.remove(0);
                        map.remove(key);
                        if let Value::Object(inner) = only {
                            for (k, v) in inner {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                }
            }
            if let Some(Value::Array(options)) = map.get_mut("enum") {
                options.retain(|o| !o.is_null());
            }
            // A field without a fixed default is derived or absent; `null`
            // would tell an editor to write null, which no lab may hold.
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            for v in map.values_mut() {
                strip_null(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// Doc comments come with their source line breaks; editors reflow text,
/// so keep paragraph breaks only.
fn unwrap_docs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(d)) = map.get_mut("description") {
                *d = d
                    .split("\n\n")
                    .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join("\n\n");
            }
            map.values_mut().for_each(unwrap_docs);
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_docs),
        _ => {}
    }
}

/// `schemas/lab.schema.json` as generated from `raw`'s types,
/// pretty-printed with a trailing newline.
pub fn generate_json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&generate_json_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The JSON Schema of `labc diff --base REV --format json`'s report
/// ([`crate::review::Review`]), as `schemas/review.schema.json`: for the
/// tools that read the report. Unlike the lab's schema, absent values are
/// `null` here, as the report writes them.
pub fn generate_review_schema_text() -> String {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<crate::review::Review>();
    let mut value = serde_json::to_value(schema).unwrap_or(Value::Null);
    if let Value::Object(root) = &mut value {
        root.insert(
            "$comment".into(),
            Value::String(format!(
                "The report of `labc diff --base REV --format json`, shape {}. Generated by labc from its Rust types (`labc schema`). Do not edit.",
                crate::review::FORMAT
            )),
        );
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Does ahead of time what [`check`] would do first: parse the schema and
/// compile it for the fast check. For a thread that has time to spare
/// while Nickel evaluates.
pub fn prepare() {
    let _ = accept::lab_checker();
}

/// Checks a loaded lab against the JSON Schema, reporting every violation
/// at the position of the value that caused it.
pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let schema = json_schema();
    // A valid lab, the common case, is confirmed without building the
    // full validator; anything else gets its errors from the full one.
    if accept::accepts_lab(&loaded.value) == Some(true) {
        return Vec::new();
    }
    let validator = match jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
    {
        Ok(v) => v,
        Err(e) => {
            return vec![Diagnostic::error(
                Code::Bug,
                format!("labc's own schema is invalid: {e}"),
            )];
        }
    };
    let mut diags = Vec::new();
    for error in validator.iter_errors(&loaded.value) {
        let path = error.instance_path().as_str().to_string();
        diags.extend(describe(loaded, schema, &path, &error));
    }
    diags
}

fn describe(
    loaded: &Loaded,
    schema: &Value,
    path: &str,
    error: &jsonschema::ValidationError<'_>,
) -> Vec<Diagnostic> {
    use jsonschema::error::ValidationErrorKind as K;
    let span = loaded.span(path);
    let field = field_name(path);
    let instance = error.instance();
    match error.kind() {
        K::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|key| {
                let child = format!("{path}/{}", crate::load::pointer_segment(key));
                let known = known_fields(schema, error.schema_path().as_str());
                // The key is what is misspelt: point at it, not its value.
                let mut d = Diagnostic::error(Code::UnknownField, format!("unknown field `{key}`"))
                    .at(loaded.key_span(&child), "not a field here");
                if let Some(best) = crate::diag::closest(key, &known) {
                    d = d.note(format!("did you mean `{best}`?"));
                }
                if !known.is_empty() {
                    d = d.note(format!("known fields: {}", known.join(", ")));
                }
                d
            })
            .collect(),
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![
                Diagnostic::error(Code::MissingField, format!("missing field `{name}`"))
                    .at(span, "in this record"),
            ]
        }
        K::Maximum { limit } | K::Minimum { limit } => {
            let (lo, hi) = bounds(schema, error.schema_path().as_str());
            let mut d = Diagnostic::error(
                Code::OutOfRange,
                format!("`{field}` is out of range: {}", show(instance)),
            )
            .at(span, "out of range");
            d = match (lo, hi) {
                (Some(lo), Some(hi)) => {
                    d.note(format!("expected a whole number from {lo} to {hi}"))
                }
                _ => d.note(format!("the limit is {limit}")),
            };
            vec![d]
        }
        K::Pattern { pattern } => vec![
            Diagnostic::error(
                Code::NoMatch,
                format!(
                    "invalid {} for `{field}`: {}",
                    pattern_name(pattern),
                    show(instance)
                ),
            )
            .at(span, format!("not a valid {}", pattern_name(pattern)))
            .note(format!("expected {}", pattern_words(pattern))),
        ],
        K::Type { kind } => vec![
            Diagnostic::error(
                Code::WrongType,
                format!(
                    "`{field}` has the wrong type: expected {}, found {}",
                    type_name(kind),
                    json_type(instance)
                ),
            )
            .at(span, "wrong type"),
        ],
        K::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|o| o.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            vec![not_in_enum(loaded, span, &field, instance, &allowed)]
        }
        // schemars writes an enum whose values have docs as a `oneOf` of
        // `const`s: the same error as `enum`, not jsonschema's words.
        K::OneOfNotValid { .. } => {
            match schema_parent(schema, error.schema_path().as_str()).and_then(enum_names) {
                Some(allowed) => vec![not_in_enum(loaded, span, &field, instance, &allowed)],
                None => vec![
                    Diagnostic::error(Code::SchemaOther, format!("`{field}`: {error}"))
                        .at(span, "invalid value"),
                ],
            }
        }
        _ => vec![
            Diagnostic::error(Code::SchemaOther, format!("`{field}`: {error}"))
                .at(span, "invalid value"),
        ],
    }
}

/// A value outside an enum: the value and the allowed ones as the lab
/// writes them (`'stateless` in Nickel, `"stateless"` in TOML), and the
/// closest allowed one.
fn not_in_enum(
    loaded: &Loaded,
    span: Option<crate::diag::Span>,
    field: &str,
    instance: &Value,
    allowed: &[String],
) -> Diagnostic {
    let toml = loaded.sources.is_toml(0);
    let tag = |t: &str| {
        if toml {
            format!("\"{t}\"")
        } else {
            format!("'{t}")
        }
    };
    let shown = match instance {
        Value::String(s) => format!("`{}`", tag(s)),
        other => format!("`{other}`"),
    };
    let mut d = Diagnostic::error(Code::NotInEnum, format!("{shown} is not a valid `{field}`"))
        .at(span, format!("not one of the {} allowed", allowed.len()));
    if let Some(best) = instance
        .as_str()
        .and_then(|s| crate::diag::closest(s, allowed))
    {
        d = d.note(format!("did you mean `{}`?", tag(best)));
    }
    let list: Vec<String> = allowed.iter().map(|a| tag(a)).collect();
    d.note(format!("expected one of {}", list.join(", ")))
}

/// How a message names the value at `path`: its field (`address`), or
/// for an array's element its field and index (`services[1]`).
fn field_name(path: &str) -> String {
    let mut segments = path.rsplit('/');
    match segments.next() {
        Some(last) if !path.is_empty() => match (last.parse::<usize>(), segments.next()) {
            (Ok(i), Some(parent)) if !parent.is_empty() => {
                format!("{}[{i}]", unescape_segment(parent))
            }
            _ => unescape_segment(last),
        },
        _ => "lab".to_string(),
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a record",
    }
}

fn type_name(kind: &jsonschema::error::TypeKind) -> String {
    let raw = format!("{kind:?}").to_lowercase();
    let name = |t: &str| match t {
        "integer" => "a whole number".to_string(),
        "number" => "a number".to_string(),
        "string" => "a string".to_string(),
        "boolean" => "a boolean".to_string(),
        "array" => "an array".to_string(),
        "object" => "a record".to_string(),
        other => other.to_string(),
    };
    ["integer", "number", "string", "boolean", "array", "object"]
        .iter()
        .filter(|t| raw.contains(*t))
        .map(|t| name(t))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The schema node a keyword's schema path points into (the path without its
/// last segment), following `$ref`s into `$defs`.
fn schema_parent<'s>(schema: &'s Value, schema_path: &str) -> Option<&'s Value> {
    let parent = &schema_path[..schema_path.rfind('/')?];
    let mut node = schema;
    for seg in parent.split('/').skip(1) {
        if seg == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            node = schema.pointer(target)?;
            continue;
        }
        let seg = unescape_segment(seg);
        node = match node {
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => node.get(&seg)?,
        };
    }
    Some(resolve(schema, node))
}

fn resolve<'s>(schema: &'s Value, node: &'s Value) -> &'s Value {
    node.get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| schema.pointer(p))
        .unwrap_or(node)
}

fn known_fields(schema: &Value, schema_path: &str) -> Vec<String> {
    schema_parent(schema, schema_path)
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn bounds(schema: &Value, schema_path: &str) -> (Option<Value>, Option<Value>) {
    let node = schema_parent(schema, schema_path);
    (
        node.and_then(|n| n.get("minimum")).cloned(),
        node.and_then(|n| n.get("maximum")).cloned(),
    )
}

/// `schemas/lab.ncl` as generated: Nickel contracts equivalent to the
/// JSON Schema.
pub fn generate_nickel_contracts() -> String {
    let schema = structure();
    let mut out = String::new();
    out.push_str(NICKEL_HEADER);
    // One binding per pattern, so each regex is compiled once per evaluation
    // rather than once per checked value (see `std.string.is_match`).
    for (pattern, what, words, name) in PATTERNS {
        let _ = writeln!(
            out,
            "let {name} = Matching {} {} {} in",
            nickel_string(pattern),
            nickel_string(what),
            nickel_string(words)
        );
    }
    let (root, defs) = root_and_defs(schema);
    out.push_str("{\n");
    let _ = writeln!(out, "  Lab = {},", contract(&root, 1));
    for (name, def) in defs {
        if let Some(doc) = def.get("description").and_then(Value::as_str) {
            let _ = writeln!(
                out,
                "\n  {name}\n    | doc {}\n    = {},",
                nickel_string(&Syntax::Nickel.doc(doc)),
                contract(def, 2)
            );
        } else {
            let _ = writeln!(out, "\n  {name} = {},", contract(def, 1));
        }
    }
    out.push_str("}\n");
    out
}

const NICKEL_HEADER: &str = r#"# Generated by labc from its Rust types (`labc schema`). Do not edit.
# The contracts lab.ncl applies, for `labc` and the Nickel language server.
let Integer = fun min max =>
  std.contract.custom (fun label value =>
    if !(std.is_number value) || !(std.number.is_integer value) then
      'Error { message = "expected a whole number" }
    else if value < min || value > max then
      'Error {
        message = "%{std.to_string value} is out of range",
        notes = ["expected a whole number from %{std.to_string min} to %{std.to_string max}"],
      }
    else
      'Ok value
  )
in
let Matching = fun pattern what words =>
  let matches = std.string.is_match pattern in
  std.contract.custom (fun label value =>
    if !(std.is_string value) then
      'Error { message = "expected a string" }
    else if !(matches value) then
      'Error {
        message = "invalid %{what}: `%{value}`",
        notes = ["expected %{words}"],
      }
    else
      'Ok value
  )
in
"#;

/// The Nickel contract for one schema node.
fn contract(node: &Value, depth: usize) -> String {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or("Dyn").to_string();
    }
    if let Some(options) = enum_values(node) {
        let tags: Vec<String> = options
            .iter()
            .map(|(o, _)| Syntax::Nickel.value(o))
            .collect();
        return format!("[| {} |]", tags.join(", "));
    }
    match node.get("type").and_then(Value::as_str) {
        Some("object") => match node.get("properties").and_then(Value::as_object) {
            Some(props) => record(props, node, depth),
            None => match node.get("additionalProperties") {
                Some(v @ Value::Object(_)) => format!("{{ _ | {} }}", contract(v, depth)),
                _ => "{ _ | Dyn }".to_string(),
            },
        },
        Some("array") => {
            let items = node
                .get("items")
                .map(|i| contract(i, depth))
                .unwrap_or("Dyn".into());
            if items.contains(' ') && !items.starts_with('[') && !items.starts_with('{') {
                format!("Array ({items})")
            } else {
                format!("Array {items}")
            }
        }
        Some("string") => match node.get("pattern").and_then(Value::as_str) {
            Some(p) => match PATTERNS.iter().find(|(q, ..)| *q == p) {
                Some((.., name)) => name.to_string(),
                None => format!(
                    "Matching {} {} {}",
                    nickel_string(p),
                    nickel_string(pattern_name(p)),
                    nickel_string(&pattern_words(p))
                ),
            },
            None => "String".to_string(),
        },
        Some("integer") => {
            let lo = node
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN);
            let hi = node
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            format!("Integer {lo} {hi}")
        }
        Some("boolean") => "Bool".to_string(),
        Some("number") => "Number".to_string(),
        _ => "Dyn".to_string(),
    }
}

/// The contracts labc itself evaluates a `lab.ncl` under, in place of
/// `schemas/lab.ncl` (never written to disk: the editor keeps the strict
/// ones). Same names as [`nickel_contracts`], so `let { Lab, .. } = import
/// "schemas/lab.ncl"` and `s.Host` work, but they refuse nothing: each
/// follows the schema's shape one level of data at a time and leaves every
/// judgement (types, enum tags, patterns, ranges, unknown and missing
/// fields) to [`check`], which reports them all at once, in labc's words.
///
/// What they do keep is the bound on depth: a value where the schema wants
/// a scalar, and the value of an unknown field, is kept one level deep
/// (enough for the schema to say what it is), anything below that becomes
/// `null`, unevaluated. So however deep a recursive Nickel function builds
/// a value, evaluation for export never goes deeper than the schema plus
/// two levels. Nothing that becomes `null` can reach the model: it sits
/// under a value [`check`] rejects. `%contract/record_lazy_apply%` and
/// `%contract/array_lazy_apply%` are what Nickel's own record and array
/// contracts use: they keep the value's position, which is what errors
/// point at.
pub fn generate_nickel_lenient_contracts() -> String {
    lenient_record(false)
}

/// The passive twins of the lenient contracts: what the lab's own
/// `import "schemas/lab.ncl"` gets when that file is labc's. The same
/// names, but a `Lab` that checks nothing, since labc's wrapper applies
/// the lenient one: applied twice (the lab's `| Lab` and the wrapper's),
/// Nickel's lazy record contracts walked the whole lab twice (164 M
/// instructions of 886 M for `labc check` at 1,000 apps). Every field is a
/// `default`: Nickel merges a program's sources, and merged with the
/// lenient record, the lenient fields win.
pub fn generate_nickel_passive_contracts() -> String {
    lenient_record(true)
}

fn lenient_record(passive: bool) -> String {
    // The structure, not the editors' JSON Schema: its `$defs` are the
    // names a lab may use (`s.Host`), as in the strict contracts.
    let (root, defs) = root_and_defs(structure());
    let mut out = String::from(LENIENT_HEADER);
    out.push_str("{\n");
    let lab = if passive {
        "%contract/custom% (fun _label value => 'Ok value)".to_string()
    } else {
        lenient(&root)
    };
    let priority = if passive { " | default" } else { "" };
    let _ = writeln!(out, "  Lab{priority} = {lab},");
    for (name, def) in defs {
        let _ = writeln!(out, "  {name}{priority} = {},", lenient(def));
    }
    out.push_str("}\n");
    out
}

// Primitive operations rather than `std.record.has_field`, `std.typeof`,
// `std.contract.custom`, `std.contract.apply`: the stdlib's functions carry
// static types, whose contracts Nickel applies on every call from untyped
// code (`{ _ : a }` on the whole record of fields, each time). Measured on
// the 1000-app bench lab: 0.14 s of CPU with the stdlib's functions, 0.06 s
// with the primitives (the strict contracts: 0.08 s).
const LENIENT_HEADER: &str = r#"# labc's lenient contracts: the shape of a lab, bounded in depth, judging nothing.
# Generated from labc's Rust types and built into labc; do not edit: run
# `LABC_UPDATE_SCHEMAS=1 cargo test --lib embedded_schemas`.
let rec Leaf = fun depth =>
  %contract/custom% (fun label value =>
    let kind = %typeof% value in
    if kind == 'Record then
      if depth == 0 then 'Ok null else 'Ok (%contract/record_lazy_apply% label value (fun _field => Leaf (depth - 1)))
    else if kind == 'Array then
      if depth == 0 then 'Ok null else 'Ok (%contract/array_lazy_apply% label value (Leaf (depth - 1)))
    else
      'Ok value
  )
in
let Scalar = Leaf 1 in
let Fields = fun fields =>
  %contract/custom% (fun label value =>
    if %typeof% value == 'Record then
      'Ok (%contract/record_lazy_apply% label value (fun field => if %record/has_field% field fields then fields."%{field}" else Scalar))
    else
      'Ok (%contract/apply% Scalar label value)
  )
in
let Dict = fun contract =>
  %contract/custom% (fun label value =>
    if %typeof% value == 'Record then
      'Ok (%contract/record_lazy_apply% label value (fun _field => contract))
    else
      'Ok (%contract/apply% Scalar label value)
  )
in
let Arr = fun contract =>
  %contract/custom% (fun label value =>
    if %typeof% value == 'Array then
      'Ok (%contract/array_lazy_apply% label value contract)
    else
      'Ok (%contract/apply% Scalar label value)
  )
in
"#;

/// The structure as both Nickel renderings write it: the root record
/// (without `$defs`, `Lab`) and the shared types, sorted by name.
fn root_and_defs(schema: &Value) -> (Value, Vec<(&String, &Value)>) {
    let mut root = schema.clone();
    if let Value::Object(m) = &mut root {
        m.remove("$defs");
    }
    let mut defs: Vec<(&String, &Value)> = schema
        .get("$defs")
        .and_then(Value::as_object)
        .map(|d| d.iter().collect())
        .unwrap_or_default();
    defs.sort_by_key(|(name, _)| *name);
    (root, defs)
}

/// The lenient contract for one schema node (see
/// [`generate_nickel_lenient_contracts`]).
fn lenient(node: &Value) -> String {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or("Scalar").to_string();
    }
    match node.get("type").and_then(Value::as_str) {
        Some("object") => match node.get("properties").and_then(Value::as_object) {
            Some(props) => {
                let mut keys: Vec<&String> = props.keys().collect();
                keys.sort();
                let fields: Vec<String> = keys
                    .iter()
                    .map(|k| format!("{} = {}", nickel_string(k), lenient(&props[*k])))
                    .collect();
                format!("Fields {{ {} }}", fields.join(", "))
            }
            None => match node.get("additionalProperties") {
                Some(v @ Value::Object(_)) => format!("Dict ({})", lenient(v)),
                // Free-form data (an upstream chart's values): kept to the
                // depth the loader reads at all, no deeper.
                Some(Value::Bool(true)) => {
                    format!("Dict (Leaf {})", crate::load::MAX_DATA_DEPTH)
                }
                _ => "Dict Scalar".to_string(),
            },
        },
        Some("array") => match node.get("items") {
            Some(items) => format!("Arr ({})", lenient(items)),
            None => "Arr Scalar".to_string(),
        },
        _ => "Scalar".to_string(),
    }
}

/// The values of an enum node, without their docs.
fn enum_names(node: &Value) -> Option<Vec<String>> {
    enum_values(node).map(|values| values.into_iter().map(|(v, _)| v).collect())
}

fn record(props: &Map<String, Value>, node: &Value, depth: usize) -> String {
    let required: Vec<&str> = node
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pad = "  ".repeat(depth + 1);
    let mut out = String::from("{\n");
    let mut keys: Vec<&String> = props.keys().collect();
    keys.sort();
    for key in keys {
        let prop = &props[key];
        let _ = write!(out, "{pad}{key}");
        let doc = field_doc(
            structure(),
            prop,
            prop.get("description").and_then(Value::as_str),
            Syntax::Nickel,
        );
        // The default is shown in the doc: a Nickel `default` would merge
        // into the lab's value and hide what labc applies.
        let doc = match (doc, prop.get("default")) {
            (Some(d), Some(Value::String(v))) if field_enum(structure(), prop).is_some() => {
                Some(format!("{d}\n\nDefault: `{}`.", Syntax::Nickel.value(v)))
            }
            (Some(d), Some(v)) => Some(format!("{d}\n\nDefault: `{v}`.")),
            (d, _) => d,
        };
        if let Some(doc) = doc {
            let _ = write!(out, "\n{pad}  | doc {}\n{pad} ", nickel_string(&doc));
        }
        if !required.contains(&key.as_str()) {
            out.push_str(" | optional");
        }
        let _ = writeln!(out, " | {},", contract(prop, depth + 1));
    }
    out.push_str(&"  ".repeat(depth));
    out.push('}');
    out
}

/// A Nickel string literal. Multi-line docs become `m%"…"%` strings.
fn nickel_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("%{", "\\%{")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// The files of the schemas folder, by name.
pub fn files() -> std::collections::BTreeMap<String, String> {
    let [json, ncl, review, message] = schema_files();
    [
        ("lab.schema.json".to_string(), json.to_string()),
        ("lab.ncl".to_string(), ncl.to_string()),
        ("review.schema.json".to_string(), review.to_string()),
        ("message.schema.json".to_string(), message.to_string()),
    ]
    .into_iter()
    .collect()
}

/// The text of `schemas/lab.ncl`: the contracts labc evaluates every
/// `lab.ncl` under.
pub fn nickel_contracts_text() -> &'static str {
    EMBEDDED_NCL
}

/// The text of [`generate_nickel_lenient_contracts`], as built into the
/// binary (`src/schema/lenient.ncl`, kept current by
/// `tests::embedded_schemas_are_current` like the schema files).
pub fn nickel_lenient_text() -> &'static str {
    EMBEDDED_LENIENT
}

/// The text of [`generate_nickel_passive_contracts`], as built into the
/// binary (`src/schema/passive.ncl`).
pub fn nickel_passive_text() -> &'static str {
    EMBEDDED_PASSIVE
}

/// The texts of [`files`].
fn schema_files() -> [&'static str; 4] {
    [
        EMBEDDED_JSON,
        EMBEDDED_NCL,
        EMBEDDED_REVIEW,
        EMBEDDED_MESSAGE,
    ]
}

/// `schemas/message.schema.json` as generated: one line of
/// `--message-format json`.
pub fn generate_message_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&crate::diag::message_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        let known = vec!["address".to_string(), "services".to_string()];
        assert_eq!(crate::diag::closest("adress", &known), Some("address"));
        assert_eq!(crate::diag::closest("servcies", &known), Some("services"));
        assert_eq!(crate::diag::closest("colour", &known), None);
    }

    /// The schema files labc embeds are what its generators make of
    /// `raw`'s types. On a change to `raw`, run
    /// `LABC_UPDATE_SCHEMAS=1 cargo test --lib embedded_schemas` to rewrite
    /// them, then rebuild (the binary embeds the files).
    #[test]
    fn embedded_schemas_are_current() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut stale = Vec::new();
        for (name, embedded, generated) in [
            (
                "lab.schema.json",
                EMBEDDED_JSON,
                generate_json_schema_text(),
            ),
            ("lab.ncl", EMBEDDED_NCL, generate_nickel_contracts()),
            (
                "review.schema.json",
                EMBEDDED_REVIEW,
                generate_review_schema_text(),
            ),
            (
                "message.schema.json",
                EMBEDDED_MESSAGE,
                generate_message_schema_text(),
            ),
            (
                "../src/schema/lenient.ncl",
                EMBEDDED_LENIENT,
                generate_nickel_lenient_contracts(),
            ),
            (
                "../src/schema/passive.ncl",
                EMBEDDED_PASSIVE,
                generate_nickel_passive_contracts(),
            ),
        ] {
            if embedded != generated {
                if std::env::var_os("LABC_UPDATE_SCHEMAS").is_some() {
                    std::fs::write(root.join("schemas").join(name), &generated)
                        .expect("write schemas/");
                }
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "schemas/{stale:?} differ from what raw.rs generates: run \
             `LABC_UPDATE_SCHEMAS=1 cargo test --lib embedded_schemas`, then rebuild"
        );
        assert_eq!(json_schema(), &generate_json_schema());
    }

    /// Every node of the JSON Schema, with the path that reached it.
    fn walk<'v>(path: String, node: &'v Value, out: &mut Vec<(String, &'v Value)>) {
        match node {
            Value::Object(map) => {
                out.push((path.clone(), node));
                for (k, v) in map {
                    walk(format!("{path}/{k}"), v, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(format!("{path}/{i}"), v, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn json_schema_reads_in_toml_terms() {
        let schema = json_schema();
        let mut nodes = Vec::new();
        walk(String::new(), schema, &mut nodes);
        for (path, node) in &nodes {
            assert!(
                node.get("$ref").is_none(),
                "{path}: a $ref hides the field's doc"
            );
            assert!(
                node.get("oneOf").is_none(),
                "{path}: oneOf completes once per value"
            );
            if node.get("enum").is_some() {
                assert!(node.get("type").is_none(), "{path}: enum and type");
            }
            // Every field has its own doc, in TOML's syntax.
            if let Some(Value::Object(props)) = node.get("properties") {
                for (name, field) in props {
                    let doc = field.get("description").and_then(Value::as_str);
                    let doc = doc.unwrap_or_else(|| panic!("{path}/{name} has no description"));
                    assert!(
                        !doc.contains("`'"),
                        "{path}/{name}: Nickel syntax in {doc:?}"
                    );
                }
            }
        }
        let archetype = &schema["$defs"]; // inlined: no $defs left
        assert!(archetype.is_null());
        let app = &schema["properties"]["apps"]["additionalProperties"];
        assert_eq!(app["title"], "App");
        let archetype = &app["properties"]["archetype"];
        assert!(
            archetype["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("How the app keeps its state.")
                    && d.contains("- `\"sqlite\"`: State in SQLite")),
            "{archetype}"
        );
        assert_eq!(
            archetype["enum"],
            serde_json::json!(["postgres", "sqlite", "stateless"])
        );
        assert_eq!(
            archetype["x-taplo"]["docs"]["enumValues"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn nickel_contracts_keep_nickel_syntax() {
        let ncl = generate_nickel_contracts();
        assert!(ncl.contains("carrying `'gitea`"), "{ncl}");
        assert!(ncl.contains("- `'sqlite`: State in SQLite"), "{ncl}");
        assert!(ncl.contains("Default: `'opentofu`."), "{ncl}");
        assert!(!ncl.contains("`\"sqlite\"`"), "{ncl}");
    }

    #[test]
    fn json_schema_has_no_null() {
        let text = generate_json_schema_text();
        assert!(!text.contains("\"null\""), "{text}");
        assert!(text.contains("\"additionalProperties\": false"));
    }
}

//! A fast yes-or-"look closer" check of a value against labc's own JSON
//! Schema, for the common case: a lab that is valid.
//!
//! Building the `jsonschema` validator costs ~11 M instructions (most of it
//! checking the schema against the draft 2020-12 meta-schema), more than
//! half of what labc adds to Nickel's evaluation on a small lab. This walks
//! the value and the schema together instead, for the keywords labc's
//! schema uses. It answers `Some(true)` only when the value is valid; on
//! `Some(false)` or `None` (a keyword it does not know: the schema grew),
//! [`super::check`] runs the full validator, whose errors it reports.
//!
//! Invariant: `accepts(v) == Some(true)` implies the `jsonschema` validator
//! accepts `v`. tests/it/schema.rs checks both agree on every mutation of
//! the reference labs it makes.

use regex_lite::Regex;
use serde_json::Value;
use std::collections::HashMap;

/// Whether `value` is valid against `root`: `Some(true)` for sure,
/// `Some(false)` for sure, `None` when the schema uses a keyword this
/// checker does not implement.
pub fn accepts(root: &Value, value: &Value) -> Option<bool> {
    Some(Checker::new(root)?.valid(0, value))
}

/// [`accepts`] against labc's own schema, compiled once per process (its
/// patterns cost ~4 M instructions to compile; [`super::prepare`] does it
/// on a thread with time to spare).
pub(super) fn accepts_lab(value: &Value) -> Option<bool> {
    Some(lab_checker().as_ref()?.valid(0, value))
}

pub(super) fn lab_checker() -> &'static Option<Checker> {
    static CHECKER: std::sync::OnceLock<Option<Checker>> = std::sync::OnceLock::new();
    CHECKER.get_or_init(|| Checker::new(super::json_schema()))
}

/// One schema, its keywords compiled: `$ref`s resolved to node indexes,
/// patterns to compiled regexes, properties sorted by name.
#[derive(Default)]
struct Node {
    /// Allowed types, one bit each (see [`type_bit`]).
    types: Option<u8>,
    consts: Option<Vec<Value>>,
    pattern: Option<usize>,
    minimum: Option<serde_json::Number>,
    maximum: Option<serde_json::Number>,
    required: Vec<String>,
    /// `required`, as bits of `properties` indexes, when every required
    /// name is a property and there are at most 64 of them.
    required_mask: Option<u64>,
    properties: Vec<(String, usize)>,
    /// `additionalProperties`: `Some(None)` is `false`.
    additional: Option<Option<usize>>,
    items: Option<usize>,
    one_of: Option<Vec<usize>>,
    all_of: Vec<usize>,
    /// A boolean schema `false`.
    never: bool,
}

struct Compiler<'s> {
    root: &'s Value,
    nodes: Vec<Node>,
    refs: HashMap<&'s str, usize>,
    regexes: Vec<Regex>,
    patterns: HashMap<&'s str, usize>,
}

impl<'s> Compiler<'s> {
    /// Compiles `schema`; `None` if it uses a keyword this checker lacks.
    fn node(&mut self, schema: &'s Value) -> Option<usize> {
        let index = self.nodes.len();
        self.nodes.push(Node::default());
        let map = match schema {
            Value::Bool(b) => {
                self.nodes[index].never = !b;
                return Some(index);
            }
            Value::Object(map) => map,
            _ => return None,
        };
        let mut node = Node::default();
        for (keyword, arg) in map {
            match keyword.as_str() {
                // Annotations: they constrain nothing.
                "$schema" | "$comment" | "$defs" | "title" | "description" | "default"
                | "format" | "examples" | "x-taplo" => {}
                "$ref" => {
                    let target = arg.as_str()?;
                    let at = match self.refs.get(target) {
                        Some(&at) => at,
                        None => {
                            let resolved = self.root.pointer(target.strip_prefix('#')?)?;
                            // Reserve first: a schema may refer to itself.
                            let at = self.nodes.len();
                            self.refs.insert(target, at);
                            let compiled = self.node(resolved)?;
                            debug_assert_eq!(compiled, at);
                            at
                        }
                    };
                    node.all_of.push(at);
                }
                "type" => {
                    let mut bits = 0;
                    match arg {
                        Value::String(t) => bits |= type_bit(t)?,
                        Value::Array(ts) => {
                            for t in ts {
                                bits |= type_bit(t.as_str()?)?;
                            }
                        }
                        _ => return None,
                    }
                    node.types = Some(bits);
                }
                // Both on one schema: rare enough to leave to the full validator.
                "const" | "enum" if node.consts.is_some() => return None,
                "const" => node.consts = Some(vec![arg.clone()]),
                "enum" => node.consts = Some(arg.as_array()?.clone()),
                "pattern" => {
                    let p = arg.as_str()?;
                    let at = match self.patterns.get(p) {
                        Some(&at) => at,
                        None => {
                            self.regexes.push(Regex::new(p).ok()?);
                            self.patterns.insert(p, self.regexes.len() - 1);
                            self.regexes.len() - 1
                        }
                    };
                    node.pattern = Some(at);
                }
                "minimum" => node.minimum = Some(arg.as_number()?.clone()),
                "maximum" => node.maximum = Some(arg.as_number()?.clone()),
                "required" => {
                    node.required = arg
                        .as_array()?
                        .iter()
                        .map(|k| k.as_str().map(str::to_owned))
                        .collect::<Option<_>>()?;
                }
                "properties" => {
                    for (k, v) in arg.as_object()? {
                        let at = self.node(v)?;
                        node.properties.push((k.clone(), at));
                    }
                    node.properties.sort_by(|a, b| a.0.cmp(&b.0));
                }
                "additionalProperties" => {
                    node.additional = Some(match arg {
                        Value::Bool(false) => None,
                        other => Some(self.node(other)?),
                    });
                }
                "items" => node.items = Some(self.node(arg)?),
                "oneOf" => {
                    let mut options = Vec::new();
                    for s in arg.as_array()? {
                        options.push(self.node(s)?);
                    }
                    node.one_of = Some(options);
                }
                // Anything else: not this checker's to judge.
                _ => return None,
            }
        }
        if node.properties.len() <= 64 {
            let mut mask = 0u64;
            for k in &node.required {
                match node.properties.binary_search_by(|(p, _)| p.cmp(k)) {
                    Ok(i) => mask |= 1 << i,
                    Err(_) => {
                        mask = 0;
                        break;
                    }
                }
            }
            if mask != 0 || node.required.is_empty() {
                node.required_mask = Some(mask);
            }
        }
        self.nodes[index] = node;
        Some(index)
    }
}

/// A compiled schema; node 0 is the root.
pub(super) struct Checker {
    nodes: Vec<Node>,
    regexes: Vec<Regex>,
}

impl Checker {
    /// `None` if the schema uses a keyword this checker lacks.
    fn new(root: &Value) -> Option<Checker> {
        let mut compiler = Compiler {
            root,
            nodes: Vec::new(),
            refs: HashMap::new(),
            regexes: Vec::new(),
            patterns: HashMap::new(),
        };
        compiler.node(root)?;
        Some(Checker {
            nodes: compiler.nodes,
            regexes: compiler.regexes,
        })
    }

    fn valid(&self, at: usize, value: &Value) -> bool {
        let node = &self.nodes[at];
        if node.never {
            return false;
        }
        if let Some(types) = node.types
            && types & value_bits(value) == 0
        {
            return false;
        }
        if let Some(consts) = &node.consts
            && !consts.iter().any(|c| same(c, value))
        {
            return false;
        }
        if let (Some(p), Value::String(s)) = (node.pattern, value)
            && !self.regexes[p].is_match(s)
        {
            return false;
        }
        if let Some(min) = &node.minimum
            && within(value, min, true) != Some(true)
        {
            return false;
        }
        if let Some(max) = &node.maximum
            && within(value, max, false) != Some(true)
        {
            return false;
        }
        if let Value::Object(obj) = value {
            let mut seen = 0u64;
            for (k, v) in obj {
                match node.properties.binary_search_by(|(p, _)| p.as_str().cmp(k)) {
                    Ok(i) => {
                        if !self.valid(node.properties[i].1, v) {
                            return false;
                        }
                        if i < 64 {
                            seen |= 1 << i;
                        }
                    }
                    Err(_) => match node.additional {
                        Some(None) => return false,
                        Some(Some(s)) if !self.valid(s, v) => return false,
                        _ => {}
                    },
                }
            }
            let present = match node.required_mask {
                Some(mask) => seen & mask == mask,
                None => node.required.iter().all(|k| obj.contains_key(k)),
            };
            if !present {
                return false;
            }
        }
        if let (Some(items), Value::Array(values)) = (node.items, value)
            && !values.iter().all(|v| self.valid(items, v))
        {
            return false;
        }
        if let Some(options) = &node.one_of
            && options.iter().filter(|&&o| self.valid(o, value)).count() != 1
        {
            return false;
        }
        node.all_of.iter().all(|&s| self.valid(s, value))
    }
}

const OBJECT: u8 = 1;
const ARRAY: u8 = 2;
const STRING: u8 = 4;
const BOOLEAN: u8 = 8;
const NULL: u8 = 16;
const NUMBER: u8 = 32;
const INTEGER: u8 = 64;

/// The bit of a JSON Schema type name; `None` for an unknown name.
fn type_bit(t: &str) -> Option<u8> {
    Some(match t {
        "object" => OBJECT,
        "array" => ARRAY,
        "string" => STRING,
        "boolean" => BOOLEAN,
        "null" => NULL,
        "number" => NUMBER,
        "integer" => INTEGER,
        _ => return None,
    })
}

/// The types `value` has: a number is a `number`, and an `integer` too
/// when its fractional part is zero (draft 2020-12: `1.0` is an integer).
fn value_bits(value: &Value) -> u8 {
    match value {
        Value::Object(_) => OBJECT,
        Value::Array(_) => ARRAY,
        Value::String(_) => STRING,
        Value::Bool(_) => BOOLEAN,
        Value::Null => NULL,
        Value::Number(n) => {
            let integer = n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0);
            if integer { NUMBER | INTEGER } else { NUMBER }
        }
    }
}

/// JSON Schema equality: numbers by value (`1` equals `1.0`), the rest
/// structurally.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// `minimum` (`min`) or `maximum` on a number; values of other types pass.
/// Integers are compared exactly, not through floating point.
fn within(value: &Value, b: &serde_json::Number, min: bool) -> Option<bool> {
    use std::cmp::Ordering;
    let Value::Number(n) = value else {
        return Some(true);
    };
    let order = match (n.as_i64(), b.as_i64(), n.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x.cmp(&y),
        (_, _, Some(x), Some(y)) => x.cmp(&y),
        // A u64 beyond i64 against an i64 bound (or the reverse).
        (None, Some(_), Some(_), _) => Ordering::Greater,
        (Some(_), None, _, Some(_)) => Ordering::Less,
        _ => n.as_f64()?.partial_cmp(&b.as_f64()?)?,
    };
    Some(if min {
        order != Ordering::Less
    } else {
        order != Ordering::Greater
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z]+$"},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "role": {"oneOf": [{"const": "server"}, {"const": "agent"}]},
                "hosts": {"type": "object", "additionalProperties": {"$ref": "#/$defs/Host"}},
                "tags": {"type": "array", "items": {"type": "string"}},
                "kind": {"enum": ["a", "b"]}
            },
            "required": ["name"],
            "additionalProperties": false,
            "$defs": {
                "Host": {
                    "type": "object",
                    "properties": {"address": {"type": "string"}},
                    "required": ["address"],
                    "additionalProperties": false
                }
            }
        })
    }

    #[test]
    fn valid_values_pass() {
        let s = schema();
        for v in [
            json!({"name": "lab"}),
            json!({"name": "lab", "port": 22, "role": "agent", "kind": "b"}),
            json!({"name": "lab", "port": 22.0}),
            json!({"name": "lab", "hosts": {"pi1": {"address": "x"}}, "tags": ["a"]}),
        ] {
            assert_eq!(accepts(&s, &v), Some(true), "{v}");
        }
    }

    #[test]
    fn each_keyword_rejects() {
        let s = schema();
        for v in [
            json!([]),
            json!({}),
            json!({"name": "Lab"}),
            json!({"name": 3}),
            json!({"name": "lab", "port": 0}),
            json!({"name": "lab", "port": 65536}),
            json!({"name": "lab", "port": 1.5}),
            json!({"name": "lab", "port": 18446744073709551615u64}),
            json!({"name": "lab", "port": -9223372036854775808i64}),
            json!({"name": "lab", "role": "boss"}),
            json!({"name": "lab", "kind": "c"}),
            json!({"name": "lab", "colour": "red"}),
            json!({"name": "lab", "hosts": {"pi1": {}}}),
            json!({"name": "lab", "hosts": {"pi1": {"address": "x", "x": 1}}}),
            json!({"name": "lab", "tags": ["a", 1]}),
        ] {
            assert_eq!(accepts(&s, &v), Some(false), "{v}");
        }
    }

    #[test]
    fn unknown_keywords_defer_to_the_full_validator() {
        let s = json!({"type": "array", "minItems": 1});
        assert_eq!(accepts(&s, &json!([1])), None);
        let s = json!({"$ref": "#/$defs/Missing"});
        assert_eq!(accepts(&s, &json!(1)), None);
    }

    #[test]
    fn the_reference_lab_passes_on_the_fast_path() {
        let s = super::super::json_schema();
        let reference = crate::load::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lab.ncl"),
            crate::load::Contracts::labc(),
        )
        .ok()
        .expect("lab.ncl loads");
        assert_eq!(accepts(s, &reference.value), Some(true));
    }
}

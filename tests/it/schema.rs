//! The three descriptions of a lab's shape must not drift: the Rust types
//! (`src/raw.rs`), the JSON Schema editors of lab.toml use
//! (`schemas/lab.schema.json`) and the Nickel contracts lab.ncl applies
//! (`schemas/lab.ncl`). Both files are generated from the Rust types; these
//! tests prove the committed files are current, that every record has the
//! same fields in both, and, by mutating real labs field by field, that both
//! reject the same wrong values and accept the same right ones.

use crate::common::{labs, root};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[test]
fn committed_schemas_are_what_labc_generates() {
    for (name, text) in labc::schema::files() {
        let committed = std::fs::read_to_string(root().join("schemas").join(&name)).unwrap();
        assert_eq!(
            committed, text,
            "schemas/{name} is stale: run `labc schema`"
        );
    }
}

fn schema() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("schemas/lab.schema.json")).unwrap())
        .unwrap()
}

fn resolve<'a>(schema: &'a Value, node: &'a Value) -> (&'a Value, Option<String>) {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => (
            schema.pointer(r.trim_start_matches('#')).unwrap(),
            Some(r.rsplit('/').next().unwrap().to_string()),
        ),
        None => (node, None),
    }
}

/// Evaluates a Nickel expression in `dir` with labc's loader. The probes are
/// not labs: labc's own `Lab` contract is replaced by one that accepts
/// anything, and each probe applies the contracts it tests itself.
fn nickel_accepts(dir: &Path, text: &str) -> Result<Value, String> {
    let path = dir.join("probe.ncl");
    std::fs::write(&path, text).unwrap();
    let any = "{ Lab = Dyn }";
    let contracts = labc::load::Contracts {
        strict: any,
        lenient: any,
        passive: None,
    };
    match labc::load::load(&path, contracts) {
        Ok(l) => Ok(l.value),
        Err(labc::load::LoadError::Io(e)) => Err(e),
        Err(labc::load::LoadError::Nickel(_, d) | labc::load::LoadError::Diagnostics(_, d)) => {
            Err(format!("{d:?}"))
        }
    }
}

/// Every record of the JSON Schema, by the name of its type (`title`: the
/// JSON Schema inlines each type where it is used, so TOML editors show a
/// field's own doc, and names it the way `schemas/lab.ncl` does).
fn records<'a>(node: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match node {
        Value::Object(map) => {
            if let (Some(props), Some(title)) = (
                map.get("properties").and_then(Value::as_object),
                map.get("title").and_then(Value::as_str),
            ) {
                assert!(!props.is_empty(), "record `{title}` has no fields");
                out.push((title.to_string(), node));
            }
            map.values().for_each(|v| records(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| records(v, out)),
        _ => {}
    }
}

#[test]
fn every_record_has_the_same_fields_in_both_schemas() {
    let s = schema();
    assert!(
        s.get("$defs").is_none() && !s.to_string().contains("\"$ref\""),
        "the JSON Schema inlines its types"
    );
    let mut found = Vec::new();
    records(&s, &mut found);
    let mut defs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, node) in found {
        let fields: BTreeSet<String> = node["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        // A type used in several places is the same record in each.
        if let Some(seen) = defs.insert(name.clone(), fields.clone()) {
            assert_eq!(seen, fields, "record `{name}` differs between its uses");
        }
    }
    assert!(defs.len() > 20, "only {} records: {defs:?}", defs.len());
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
    let fields: Vec<String> = defs
        .keys()
        .map(|d| format!("{d} = std.record.fields_with_opts s.{d}"))
        .collect();
    let probe = format!(
        "let s = import \"schemas/lab.ncl\" in {{ {} }}",
        fields.join(", ")
    );
    let nickel = nickel_accepts(dir.path(), &probe).expect("contracts evaluate");
    for (def, json_fields) in &defs {
        let ncl: BTreeSet<String> = nickel[def]
            .as_array()
            .unwrap_or_else(|| panic!("no contract `{def}` in schemas/lab.ncl"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            json_fields, &ncl,
            "record `{def}`: JSON Schema vs Nickel contract fields"
        );
    }
    // And the Rust types deny what neither schema lists.
    assert_eq!(
        defs["Lab"].len(),
        17,
        "update this test when the lab gains a section"
    );
}

/// A JSON value as Nickel source, with enum strings as tags where the
/// schema says so.
fn to_nickel(schema: &Value, node: &Value, v: &Value) -> String {
    let (node, _) = resolve(schema, node);
    match v {
        Value::Object(m) => {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, x)| {
                    let child = node
                        .get("properties")
                        .and_then(|p| p.get(k))
                        .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
                        .unwrap_or(&Value::Null);
                    format!(
                        "{} = {}",
                        serde_json::to_string(k).unwrap(),
                        to_nickel(schema, child, x)
                    )
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(items) => {
            let item = node.get("items").unwrap_or(&Value::Null);
            format!(
                "[{}]",
                items
                    .iter()
                    .map(|x| to_nickel(schema, item, x))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        Value::String(s) if is_enum(node) => format!("'{s}"),
        Value::String(s) => serde_json::to_string(s).unwrap().replace("%{", "\\%{"),
        other => other.to_string(),
    }
}

fn is_enum(node: &Value) -> bool {
    node.get("enum").is_some()
        || node.get("oneOf").is_some_and(|o| {
            o.as_array()
                .is_some_and(|a| a.iter().all(|x| x.get("const").is_some()))
        })
}

/// Every (pointer, schema node) in a lab value, for the fields the lab sets.
fn leaves(
    schema: &Value,
    node: &Value,
    v: &Value,
    ptr: String,
    out: &mut Vec<(String, Value, bool)>,
) {
    let (node, _) = resolve(schema, node);
    match v {
        Value::Object(m) => {
            let record = node.get("properties").is_some();
            out.push((ptr.clone(), node.clone(), record));
            for (k, x) in m {
                let child = node
                    .get("properties")
                    .and_then(|p| p.get(k))
                    .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
                    .cloned()
                    .unwrap_or(Value::Null);
                leaves(
                    schema,
                    &child,
                    x,
                    format!("{ptr}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            out.push((ptr.clone(), node.clone(), false));
            let item = node.get("items").cloned().unwrap_or(Value::Null);
            for (i, x) in items.iter().enumerate() {
                leaves(schema, &item, x, format!("{ptr}/{i}"), out);
            }
        }
        _ => out.push((ptr, node.clone(), false)),
    }
}

/// Wrong values for a schema node, and right ones that differ from the lab's.
fn mutations(node: &Value) -> (Vec<Value>, Vec<Value>) {
    let mut wrong = Vec::new();
    let mut right = Vec::new();
    let ty = node.get("type").and_then(Value::as_str);
    if is_enum(node) {
        wrong.push(json!("not_a_variant"));
        wrong.push(json!(1));
        return (wrong, right);
    }
    match ty {
        Some("string") => {
            wrong.push(json!(5));
            wrong.push(json!(true));
            if node.get("pattern").is_some() {
                wrong.push(json!("not valid!"));
            }
        }
        Some("integer") => {
            wrong.push(json!("5"));
            wrong.push(json!(1.5));
            if let Some(max) = node.get("maximum").and_then(Value::as_i64) {
                wrong.push(json!(max + 1));
                right.push(json!(max));
            }
            if let Some(min) = node.get("minimum").and_then(Value::as_i64) {
                wrong.push(json!(min - 1));
                right.push(json!(min));
            }
        }
        Some("boolean") => {
            wrong.push(json!("true"));
            right.push(json!(false));
        }
        Some("array") => wrong.push(json!("x")),
        Some("object") => wrong.push(json!("x")),
        _ => {}
    }
    (wrong, right)
}

fn set(v: &mut Value, ptr: &str, x: Value) {
    *v.pointer_mut(ptr).unwrap() = x;
}

#[test]
fn both_schemas_reject_and_accept_the_same_values() {
    let s = schema();
    let validator = jsonschema::validator_for(&s).unwrap();
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&root().join("schemas"), &dir.path().join("schemas"));
    let header = "let { Lab, .. } = import \"schemas/lab.ncl\" in\n";
    let mut disagreements = Vec::new();
    let mut probes = 0;
    let mut fast_probes = 0;
    for lab in labs() {
        let base = labc::load::load(&lab.path().join(&lab.file), labc::load::Contracts::labc())
            .ok()
            .expect("lab loads")
            .value;
        assert!(validator.is_valid(&base));
        let mut points = Vec::new();
        leaves(&s, &s, &base, String::new(), &mut points);
        for (ptr, node, record) in points {
            let mut cases: Vec<(Value, bool)> = Vec::new();
            if record {
                let mut extra = base.pointer(&ptr).unwrap().clone();
                extra
                    .as_object_mut()
                    .unwrap()
                    .insert("colour".into(), json!("x"));
                cases.push((extra, false));
            }
            let (wrong, right) = mutations(&node);
            cases.extend(wrong.into_iter().map(|w| (w, false)));
            cases.extend(right.into_iter().map(|r| (r, true)));
            for (value, ok) in cases {
                let mut mutated = base.clone();
                set(&mut mutated, &ptr, value.clone());
                let json_ok = validator.is_valid(&mutated);
                // labc's fast path may defer (None) but never disagree.
                let fast = labc::schema::accepts(&s, &mutated);
                if fast.is_some_and(|fast| fast != json_ok) {
                    disagreements.push(format!(
                        "{ptr} = {value}: JSON Schema {}, labc's fast check {}",
                        verdict(json_ok),
                        verdict(!json_ok)
                    ));
                }
                fast_probes += usize::from(fast.is_some());
                let ncl_ok = nickel_accepts(
                    dir.path(),
                    &format!("{header}{} | Lab\n", to_nickel(&s, &s, &mutated)),
                )
                .is_ok();
                probes += 1;
                if json_ok != ok || ncl_ok != ok {
                    disagreements.push(format!(
                        "{ptr} = {value}: expected {}, JSON Schema {}, Nickel {}",
                        verdict(ok),
                        verdict(json_ok),
                        verdict(ncl_ok)
                    ));
                }
            }
        }
    }
    assert!(probes > 200, "only {probes} probes");
    assert_eq!(
        fast_probes, probes,
        "the fast check deferred on some probes"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok { "accepts" } else { "rejects" }
}

/// labc evaluates a lab.ncl under lenient contracts (the schema's shape,
/// judging nothing) and leaves the judging to its schema check; on a valid
/// lab they must change nothing: every lab loads to the very value it loads
/// to under the strict contracts of `schemas/lab.ncl`.
#[test]
fn lenient_contracts_change_no_valid_lab() {
    let strict = labc::load::Contracts {
        strict: labc::schema::nickel_contracts_text(),
        lenient: labc::schema::nickel_contracts_text(),
        passive: None,
    };
    let mut checked = 0;
    for lab in labs() {
        if !lab.file.ends_with(".ncl") {
            continue;
        }
        let path = lab.path().join(&lab.file);
        let load = |contracts| match labc::load::load(&path, contracts) {
            Ok(l) => l.value,
            Err(_) => panic!("{} does not load", lab.name),
        };
        assert_eq!(
            load(labc::load::Contracts::labc()),
            load(strict),
            "{}: the lenient contracts changed the lab",
            lab.name
        );
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} labs");
}

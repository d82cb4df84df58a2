//! The generated OpenTofu modules, read back with `hcl-edit` (a real HCL
//! parser, not labc's writer): blocks by kind, the `terraform` block's
//! backend and provider pins, and attribute values with references
//! (`postgresql_role.x.name`, `data.vault_policy_document.p.hcl`) resolved
//! to what they name. Used by `tofu` (what each module declares) and
//! `agreement` (what the modules agree with).

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, BlockLabel, Body};
use serde_json::Value;
use std::collections::BTreeMap;

/// One module: the parsed body of each of its `.tf` files, by file name.
pub(crate) struct Module {
    pub(crate) name: String,
    pub(crate) files: BTreeMap<String, Body>,
}

/// Every module under `tofu/` in `texts` (path relative to `generated/` →
/// text, as [`crate::common::Lab::files`] gives them), by name. Taking
/// texts lets a test parse an edited copy.
pub(crate) fn modules(texts: &BTreeMap<String, String>) -> BTreeMap<String, Module> {
    let mut modules: BTreeMap<String, Module> = BTreeMap::new();
    for (path, text) in texts {
        let Some(rest) = path.strip_prefix("tofu/") else {
            continue;
        };
        let (name, file) = rest.split_once('/').expect("tofu/<module>/<file>");
        assert!(file.ends_with(".tf"), "unexpected {path}");
        let body = hcl_edit::parser::parse_body(text)
            .unwrap_or_else(|e| panic!("{path} does not parse:\n{e}"));
        modules
            .entry(name.to_string())
            .or_insert_with(|| Module {
                name: name.to_string(),
                files: BTreeMap::new(),
            })
            .files
            .insert(file.to_string(), body);
    }
    modules
}

/// A block's labels as strings.
pub(crate) fn labels(block: &Block) -> Vec<String> {
    block
        .labels
        .iter()
        .map(|l| match l {
            BlockLabel::String(s) => s.as_str().to_owned(),
            BlockLabel::Ident(i) => i.as_str().to_owned(),
        })
        .collect()
}

/// A plain string expression's value.
pub(crate) fn string(e: &Expression) -> String {
    e.as_str()
        .unwrap_or_else(|| panic!("not a plain string: {e:?}"))
        .to_owned()
}

/// A list of plain strings.
pub(crate) fn strings(e: &Expression) -> Vec<String> {
    e.as_array()
        .unwrap_or_else(|| panic!("not a list: {e:?}"))
        .iter()
        .map(string)
        .collect()
}

/// The expression of attribute `name`, which must be set.
pub(crate) fn attr<'a>(body: &'a Body, name: &str) -> &'a Expression {
    &body
        .get_attribute(name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
        .value
}

/// A reference's parts: `("resource", type, name, attr)` for `type.name.attr`,
/// `("data", type, name, attr)` for `data.type.name.attr`.
pub(crate) fn reference(expr: &Expression) -> (&'static str, String, String, String) {
    let Expression::Traversal(t) = expr else {
        panic!("not a reference: {expr}");
    };
    let Expression::Variable(root) = &t.expr else {
        panic!("not a reference: {expr}");
    };
    let mut parts = vec![root.as_str().to_owned()];
    for op in &t.operators {
        match op.value() {
            TraversalOperator::GetAttr(id) => parts.push(id.as_str().to_owned()),
            other => panic!("unsupported traversal {other:?} in {expr}"),
        }
    }
    match parts.as_slice() {
        [d, kind, name, attr] if d == "data" => ("data", kind.clone(), name.clone(), attr.clone()),
        [kind, name, attr] => ("resource", kind.clone(), name.clone(), attr.clone()),
        _ => panic!("unsupported reference {expr}"),
    }
}

impl Module {
    /// The module declaring resources of type `kind`; exactly one must.
    pub(crate) fn the_one<'a>(modules: &'a BTreeMap<String, Module>, kind: &str) -> &'a Module {
        let found: Vec<&Module> = modules
            .values()
            .filter(|m| !m.resources(kind).is_empty())
            .collect();
        assert_eq!(found.len(), 1, "modules declaring {kind}");
        found[0]
    }

    pub(crate) fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.files.values().flat_map(|b| b.blocks())
    }

    /// `(type, name)` → body of every `kind` block (`resource` or `data`),
    /// each declared once.
    pub(crate) fn declared(&self, kind: &str) -> BTreeMap<(String, String), &Body> {
        let mut out = BTreeMap::new();
        for b in self.blocks().filter(|b| b.ident.as_str() == kind) {
            let l = labels(b);
            assert_eq!(l.len(), 2, "{}: {kind} {l:?}", self.name);
            let key = (l[0].clone(), l[1].clone());
            assert!(
                out.insert(key, &b.body).is_none(),
                "{}: {kind} {l:?} declared twice",
                self.name
            );
        }
        out
    }

    /// Name → body of each `resource "<kind>" "<name>"`.
    pub(crate) fn resources(&self, kind: &str) -> BTreeMap<String, &Body> {
        self.declared("resource")
            .into_iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, n), b)| (n, b))
            .collect()
    }

    /// The body of `<block> "<kind>" "<name>"`, which must be declared.
    pub(crate) fn find(&self, block: &str, kind: &str, name: &str) -> &Body {
        self.declared(block)
            .remove(&(kind.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("{}: no {block} {kind}.{name}", self.name))
    }

    /// The module's one `terraform` block.
    pub(crate) fn terraform(&self) -> &Body {
        let mut t = self.blocks().filter(|b| b.ident.as_str() == "terraform");
        let first = t.next().expect("a terraform block");
        assert!(t.next().is_none(), "two terraform blocks");
        &first.body
    }

    /// The `gcs` backend's `(bucket, prefix)`.
    pub(crate) fn backend(&self) -> (String, String) {
        let backend = self
            .terraform()
            .blocks()
            .find(|b| b.ident.as_str() == "backend")
            .expect("backend");
        assert_eq!(labels(backend), ["gcs"]);
        (
            string(attr(&backend.body, "bucket")),
            string(attr(&backend.body, "prefix")),
        )
    }

    /// local name → (source, version).
    pub(crate) fn required_providers(&self) -> BTreeMap<String, (String, String)> {
        let rp = self
            .terraform()
            .blocks()
            .find(|b| b.ident.as_str() == "required_providers")
            .expect("required_providers");
        rp.body
            .attributes()
            .map(|a| {
                let o = a.value.as_object().expect("object");
                let get = |k: &str| {
                    o.iter()
                        .find(|(key, _)| match key {
                            ObjectKey::Ident(i) => i.as_str() == k,
                            _ => false,
                        })
                        .map(|(_, v)| string(v.expr()))
                        .unwrap_or_else(|| panic!("{} has no {k}", a.key.as_str()))
                };
                (a.key.as_str().to_owned(), (get("source"), get("version")))
            })
            .collect()
    }

    /// Provider configuration blocks, by local name.
    pub(crate) fn provider_blocks(&self) -> BTreeMap<String, &Body> {
        self.blocks()
            .filter(|b| b.ident.as_str() == "provider")
            .map(|b| (labels(b)[0].clone(), &b.body))
            .collect()
    }

    /// The value of `expr`, references resolved to the attribute they name
    /// (recursively). A reference to a computed attribute, a function call
    /// or a template fails: the values read this way must not need them.
    pub(crate) fn value(&self, expr: &Expression) -> Value {
        match expr {
            Expression::String(s) => Value::String(s.as_str().to_owned()),
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => {
                serde_json::from_str(&n.value().to_string()).expect("a JSON number")
            }
            Expression::Array(a) => Value::Array(a.iter().map(|e| self.value(e)).collect()),
            Expression::Traversal(_) => {
                let (block, kind, name, attr) = reference(expr);
                let body = self.find(block, &kind, &name);
                let value = body.get_attribute(&attr).unwrap_or_else(|| {
                    panic!(
                        "{}: {kind}.{name}.{attr} is not set in the module",
                        self.name
                    )
                });
                self.value(&value.value)
            }
            other => panic!("{}: unsupported expression {other}", self.name),
        }
    }

    /// The resolved value of attribute `name` of `body`, if set.
    pub(crate) fn get(&self, body: &Body, name: &str) -> Option<Value> {
        body.get_attribute(name).map(|a| self.value(&a.value))
    }

    /// A resolved string attribute, which must be set.
    pub(crate) fn string(&self, body: &Body, name: &str) -> String {
        match self.get(body, name) {
            Some(Value::String(s)) => s,
            other => panic!("{}: {name} is {other:?}, not a string", self.name),
        }
    }

    /// A resolved list-of-strings attribute, which must be set.
    pub(crate) fn strings(&self, body: &Body, name: &str) -> Vec<String> {
        match self.get(body, name) {
            Some(Value::Array(a)) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => panic!("{}: {name} holds {other}", self.name),
                })
                .collect(),
            other => panic!("{}: {name} is {other:?}, not a list", self.name),
        }
    }

    /// A resolved bool attribute, `default` when unset (the provider's
    /// default).
    pub(crate) fn flag(&self, body: &Body, name: &str, default: bool) -> bool {
        match self.get(body, name) {
            None => default,
            Some(Value::Bool(b)) => b,
            Some(other) => panic!("{}: {name} is {other}, not a bool", self.name),
        }
    }
}

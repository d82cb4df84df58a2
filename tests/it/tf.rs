//! The generated OpenTofu modules, read back with `hcl-edit` (a real HCL
//! parser, not labc's writer): blocks by kind, the `terraform` block's
//! backend and provider pins, provider blocks and attributes. What the
//! resources evaluate to (`for_each` over the data, references) is read
//! from Terraform itself, in [`crate::terraform`].
use hcl_edit::expr::{Expression, ObjectKey};
use hcl_edit::structure::{Block, BlockLabel, Body};
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
        if file == "labc.auto.tfvars.json" {
            // The values of the module's variables: data, no HCL.
            continue;
        }
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

/// The expression of attribute `name`, which must be set.
pub(crate) fn attr<'a>(body: &'a Body, name: &str) -> &'a Expression {
    &body
        .get_attribute(name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
        .value
}

impl Module {
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
}

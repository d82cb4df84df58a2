//! Terraform, the real OpenTofu-language engine, driving a generated module
//! offline: `init`, `validate`, `plan`, `apply`, `show -json`.
//!
//! No provider can be downloaded here, so the module's providers are the
//! stand-ins of `tests/tools/standin/standin.py`: the real providers'
//! schemas (attribute names and types, required/optional/computed,
//! ForceNew, defaults) and import ID formats, with a JSON file per provider
//! as the remote system. Everything else is Terraform's own: variables and
//! `*.auto.tfvars.json`, `for_each`, references, `import` blocks,
//! `lifecycle`. Terraform 1.11.4 and OpenTofu 1.7+ share these semantics
//! (import `for_each` included).
//!
//! A [`Workspace`] is a copy of one generated module in a temp dir, plus a
//! local backend override (the module's GCS backend needs the network), a
//! filesystem mirror holding a stand-in for each pinned provider at a
//! version its constraint accepts, and the remote. Nothing is written next
//! to the generated files.

use crate::common::{root, stderr, stdout, tool};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) const TERRAFORM: &str = "/usr/local/bin/terraform";

pub(crate) struct Workspace {
    dir: tempfile::TempDir,
}

/// A version a constraint accepts: `~> 5` -> `5.0.0`, `1.26.0` -> itself.
fn version_for(constraint: &str) -> String {
    let bare = constraint.trim_start_matches(['~', '>', '=', ' ']);
    let mut parts: Vec<&str> = bare.split('.').collect();
    while parts.len() < 3 {
        parts.push("0");
    }
    parts.join(".")
}

/// `required_providers` of a module: local name -> (source, constraint).
pub(crate) fn pins(module: &Path) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(module.join("versions.tf")).expect("versions.tf");
    let body = hcl_edit::parser::parse_body(&text).expect("versions.tf parses");
    let terraform = body
        .blocks()
        .find(|b| b.ident.as_str() == "terraform")
        .expect("terraform block");
    let required = terraform
        .body
        .blocks()
        .find(|b| b.ident.as_str() == "required_providers")
        .expect("required_providers");
    required
        .body
        .attributes()
        .map(|a| {
            let o = a.value.as_object().expect("an object");
            let get = |k: &str| {
                o.iter()
                    .find(|(key, _)| matches!(key, hcl_edit::expr::ObjectKey::Ident(i) if i.as_str() == k))
                    .and_then(|(_, v)| v.expr().as_str())
                    .unwrap_or_else(|| panic!("{} has no {k}", a.key.as_str()))
                    .to_owned()
            };
            (a.key.as_str().to_owned(), (get("source"), get("version")))
        })
        .collect()
}

impl Workspace {
    /// A workspace for the module in `module` (a `generated/tofu/<name>`).
    pub(crate) fn new(module: &Path) -> Workspace {
        assert!(
            Path::new(TERRAFORM).exists(),
            "{TERRAFORM} is missing: the OpenTofu checks need terraform (on the machine image)"
        );
        let python = tool("target/tools/venv/bin/python");
        let standin = root().join("tests/tools/standin/standin.py");
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = Workspace { dir };
        std::fs::create_dir_all(ws.module()).unwrap();
        std::fs::create_dir_all(ws.remote_dir()).unwrap();
        for e in std::fs::read_dir(module).expect("module dir") {
            let e = e.unwrap();
            std::fs::copy(e.path(), ws.module().join(e.file_name())).unwrap();
        }
        // An override file replaces the backend: state stays in the temp dir.
        std::fs::write(
            ws.module().join("standin_override.tf"),
            "terraform {\n  backend \"local\" {}\n}\n",
        )
        .unwrap();
        let mirror = ws.dir.path().join("mirror");
        for (source, constraint) in pins(module).values() {
            let version = version_for(constraint);
            let kind = source.split('/').nth(1).expect("namespace/type");
            let at = mirror
                .join("registry.terraform.io")
                .join(source)
                .join(&version)
                .join("linux_amd64");
            std::fs::create_dir_all(&at).unwrap();
            let exe = at.join(format!("terraform-provider-{kind}_v{version}"));
            std::fs::write(
                &exe,
                format!(
                    "#!/bin/sh\nexec '{}' '{}' '{source}' \"$@\"\n",
                    python.display(),
                    standin.display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(
            ws.dir.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n  direct {{\n    exclude = [\"*/*\"]\n  }}\n}}\n",
                mirror.display()
            ),
        )
        .unwrap();
        ws.ok(&["init", "-input=false", "-no-color"]);
        ws
    }

    pub(crate) fn module(&self) -> PathBuf {
        self.dir.path().join("module")
    }

    fn remote_dir(&self) -> PathBuf {
        self.dir.path().join("remote")
    }

    fn remote_file(&self, source: &str) -> PathBuf {
        self.remote_dir()
            .join(format!("{}.json", source.replace('/', "_")))
    }

    /// Puts `objects` (`{type: {id: attributes}}`) in the remote of the
    /// provider `source`, as a running lab holds them.
    pub(crate) fn seed(&self, source: &str, objects: &Value) {
        std::fs::write(
            self.remote_file(source),
            serde_json::to_string_pretty(objects).unwrap(),
        )
        .unwrap();
    }

    /// The remote of the provider `source`: `{type: {id: attributes}}`, and
    /// `_provider_config`, the provider block as the provider received it.
    pub(crate) fn remote(&self, source: &str) -> Value {
        match std::fs::read_to_string(self.remote_file(source)) {
            Ok(t) => serde_json::from_str(&t).expect("remote json"),
            Err(_) => Value::Object(Default::default()),
        }
    }

    /// Replaces one file of the module copy (`None` removes it).
    pub(crate) fn write(&self, file: &str, text: Option<&str>) {
        let path = self.module().join(file);
        match text {
            Some(t) => std::fs::write(path, t).unwrap(),
            None => std::fs::remove_file(path).unwrap(),
        }
    }

    /// `terraform <args>` in the module copy, offline and quiet.
    pub(crate) fn terraform(&self, args: &[&str]) -> Output {
        Command::new(TERRAFORM)
            .args(args)
            .current_dir(self.module())
            .env("HOME", self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("LABC_STANDIN_DIR", self.remote_dir())
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env_remove("TF_DATA_DIR")
            .output()
            .expect("terraform runs")
    }

    /// `terraform <args>`, asserting success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let o = self.terraform(args);
        assert!(
            o.status.success(),
            "terraform {} failed in {}:\n{}{}",
            args.join(" "),
            self.module().display(),
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    }

    /// `terraform validate -json`: asserts valid with no warning.
    pub(crate) fn validate(&self) {
        let out = self.ok(&["validate", "-json", "-no-color"]);
        let v: Value = serde_json::from_str(&out).expect("validate json");
        assert_eq!(v["valid"], true, "{out}");
        assert_eq!(v["warning_count"], 0, "{out}");
    }

    /// A saved plan, as `terraform show -json` reports it.
    pub(crate) fn plan(&self) -> Value {
        self.ok(&["plan", "-input=false", "-no-color", "-out=labc.plan"]);
        let out = self.ok(&["show", "-json", "labc.plan"]);
        serde_json::from_str(&out).expect("plan json")
    }

    /// `terraform plan`, expected to fail: returns its error output.
    pub(crate) fn plan_fails(&self) -> String {
        let o = self.terraform(&["plan", "-input=false", "-no-color"]);
        assert!(
            !o.status.success(),
            "terraform plan succeeded:\n{}",
            stdout(&o)
        );
        stderr(&o)
    }

    /// `terraform apply`, then the state as `terraform show -json` reports it.
    pub(crate) fn apply(&self) -> Value {
        self.ok(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        let out = self.ok(&["show", "-json"]);
        serde_json::from_str(&out).expect("state json")
    }
}

/// One resource instance of a plan or state: its address parts and values.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub mode: String,
    pub kind: String,
    pub name: String,
    pub key: Option<String>,
    pub values: Value,
}

/// Every resource (and data) instance of the root module of `values`
/// (`planned_values` of a plan, or `values` of a state).
pub(crate) fn instances(values: &Value) -> Vec<Instance> {
    values["root_module"]["resources"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|r| Instance {
            mode: r["mode"].as_str().unwrap().to_owned(),
            kind: r["type"].as_str().unwrap().to_owned(),
            name: r["name"].as_str().unwrap().to_owned(),
            key: r.get("index").and_then(|i| i.as_str()).map(str::to_owned),
            values: r["values"].clone(),
        })
        .collect()
}

/// The actions of every resource change of a plan, by address
/// (`["create"]`, `["no-op"]`, `["update"]`, `["delete", "create"]`, ...),
/// and whether it imports.
pub(crate) fn actions(plan: &Value) -> BTreeMap<String, (Vec<String>, bool)> {
    plan["resource_changes"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|c| c["mode"] == "managed")
        .map(|c| {
            let acts = c["change"]["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            let importing = c["change"].get("importing").is_some_and(|i| !i.is_null());
            (c["address"].as_str().unwrap().to_owned(), (acts, importing))
        })
        .collect()
}

/// What `vault.managed_elsewhere` says exists: the auth backends a module
/// reads with a `vault_auth_backend` data source, put in the Vault remote.
pub(crate) fn seed_managed_elsewhere(ws: &Workspace, module: &Path) {
    let mut backends = serde_json::Map::new();
    for e in std::fs::read_dir(module).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "tf") {
            continue;
        }
        let body = hcl_edit::parser::parse_body(&std::fs::read_to_string(&p).unwrap()).unwrap();
        for b in body.blocks().filter(|b| b.ident.as_str() == "data") {
            if crate::tf::labels(b)[0] != "vault_auth_backend" {
                continue;
            }
            let path = b
                .body
                .get_attribute("path")
                .and_then(|a| a.value.as_str())
                .expect("a literal path")
                .to_owned();
            backends.insert(
                path.clone(),
                serde_json::json!({"id": path, "path": path, "type": "kubernetes", "accessor": "auth_kubernetes_0", "description": null, "local": false}),
            );
        }
    }
    if !backends.is_empty() {
        ws.seed(
            "hashicorp/vault",
            &serde_json::json!({ "vault_auth_backend": backends }),
        );
    }
}

/// Every module of every fixture lab: `terraform validate` passes against
/// the providers' schemas (imports included), an apply on an empty remote
/// succeeds, and the next plan changes nothing (what labc writes is stable under its own
/// provider's read-back).
#[test]
fn every_module_validates_applies_and_then_plans_nothing() {
    for lab in crate::common::labs() {
        lab.build();
        let tofu = lab.generated().join("tofu");
        // A lab without OpenTofu modules gets no tofu/ folder at all.
        if !tofu.exists() {
            let m = crate::argocd::model(&lab);
            assert!(m.tofu.is_none_or(|t| t.modules.is_empty()), "{}", lab.name);
            continue;
        }
        let mut seen = 0;
        for m in std::fs::read_dir(&tofu).expect("generated/tofu") {
            let m = m.unwrap().path();
            let ws = Workspace::new(&m);
            ws.validate();
            // An empty remote has nothing to adopt: as a new lab would,
            // apply without the imports.
            if m.join("imports.tf").exists() {
                without_imports(&ws);
            }
            seed_managed_elsewhere(&ws, &m);
            ws.apply();
            let plan = ws.plan();
            let changed: Vec<_> = actions(&plan)
                .into_iter()
                .filter(|(_, (a, _))| a != &["no-op"])
                .collect();
            assert!(changed.is_empty(), "{}: {changed:?}", m.display());
            seen += 1;
        }
        assert!(seen > 0, "no module in {}", tofu.display());
    }
}

// ------------------------------------------------------------ the tests

use crate::common::Lab;

/// Each module folder of a built lab, by name.
pub(crate) fn module_dirs(lab: &Lab) -> BTreeMap<String, PathBuf> {
    std::fs::read_dir(lab.generated().join("tofu"))
        .expect("generated/tofu")
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), p)
        })
        .collect()
}

/// The reference lab's text with `edits` (old, new) applied once each.
pub(crate) fn edited_reference(edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(root().join("lab.ncl")).unwrap();
    for (old, new) in edits {
        assert!(text.contains(old), "lab.ncl has no {old:?}");
        text = text.replacen(old, new, 1);
    }
    text
}

/// Data, not copies: a new database and a new app change
/// `labc.auto.tfvars.json` (each module's data) and nothing else under
/// `generated/tofu`: every `.tf` file is byte-identical, and the data minus
/// the new entries is the old data.
#[test]
fn a_new_database_and_app_change_only_the_data_files() {
    let before = Lab::reference();
    before.build();
    let after = Lab::from_text(
        "lab.ncl",
        &edited_reference(&[
            (
                "    dance-lessons-coach = {},\n  },",
                "    dance-lessons-coach = {},\n    ledger = {},\n  },",
            ),
            (
                "  apps = {\n",
                "  apps = {\n    ledger = {\n      archetype = 'postgres,\n      ingress = ['internal],\n    },\n",
            ),
        ]),
    );
    after.build();
    let old = crate::common::read_tree(&before.generated().join("tofu"));
    let new = crate::common::read_tree(&after.generated().join("tofu"));
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>(),
        "same files"
    );
    let changed: Vec<&String> = old.keys().filter(|k| old[*k] != new[*k]).collect();
    assert_eq!(
        changed,
        [
            "factory/labc.auto.tfvars.json",
            "postgres/labc.auto.tfvars.json"
        ],
        "only the data files change"
    );
    for file in changed {
        let mut o: Value = serde_json::from_str(&old[file]).unwrap();
        let mut n: Value = serde_json::from_str(&new[file]).unwrap();
        // Remove every "ledger" key, at any depth: what is left must be equal.
        fn strip(v: &mut Value) -> usize {
            let mut removed = 0;
            if let Some(m) = v.as_object_mut() {
                removed += usize::from(m.remove("ledger").is_some());
                for x in m.values_mut() {
                    removed += strip(x);
                }
            }
            removed
        }
        let added = strip(&mut n);
        assert!(added > 0, "{file} gained no ledger entry");
        assert_eq!(strip(&mut o), 0);
        assert_eq!(o, n, "{file}: only the new entries differ");
        // Line level: every removed line is an unchanged line that gained a
        // comma (JSON's separator before the new entry).
        let diff = similar::TextDiff::from_lines(&old[file], &new[file]);
        for change in diff.iter_all_changes() {
            if change.tag() == similar::ChangeTag::Delete {
                let line = change.value().trim_end_matches('\n');
                assert!(
                    new[file].contains(&format!("{line},\n")),
                    "{file}: line {line:?} changed"
                );
            }
        }
    }
}

/// Stateful resource types: each must carry `lifecycle.prevent_destroy =
/// true` wherever a module declares one.
const STATEFUL: &[&str] = &[
    "postgresql_database",
    "postgresql_role",
    "gitea_repository",
    "google_storage_bucket",
    "vault_mount",
    "vault_auth_backend",
    "vault_database_secret_backend_connection",
];

/// A lab where Vault's mounts are managed elsewhere (data source and
/// variables instead of resources), imports on, and the SQL manager.
pub(crate) fn fixture_labs() -> Vec<Lab> {
    vec![
        Lab::reference(),
        Lab::named("big-cluster"),
        Lab::from_text(
            "lab.ncl",
            &edited_reference(&[(
                "    managed_elsewhere = [],",
                "    managed_elsewhere = ['kv, 'kubernetes_auth, 'database],",
            )]),
        ),
    ]
}

#[test]
fn every_stateful_resource_is_kept_from_destruction() {
    let mut seen: BTreeMap<&str, usize> = STATEFUL.iter().map(|t| (*t, 0)).collect();
    for lab in fixture_labs() {
        lab.build();
        for (name, dir) in module_dirs(&lab) {
            for (file, text) in crate::common::read_tree(&dir) {
                if !file.ends_with(".tf") {
                    continue;
                }
                let body = hcl_edit::parser::parse_body(&text).unwrap();
                for b in body.blocks().filter(|b| b.ident.as_str() == "resource") {
                    let labels = crate::tf::labels(b);
                    let Some(count) = seen.get_mut(labels[0].as_str()) else {
                        continue;
                    };
                    *count += 1;
                    let kept = b
                        .body
                        .blocks()
                        .find(|l| l.ident.as_str() == "lifecycle")
                        .and_then(|l| l.body.get_attribute("prevent_destroy"))
                        .and_then(|a| a.value.as_bool());
                    assert_eq!(
                        kept,
                        Some(true),
                        "{name}/{file}: resource {labels:?} lacks prevent_destroy"
                    );
                }
            }
        }
    }
    for (ty, n) in seen {
        assert!(
            n > 0,
            "no fixture lab declares a {ty}: the table proves nothing for it"
        );
    }
}

/// Removing a database or an app from the lab, or moving an app to another
/// organisation, makes the plan fail instead of deleting the data.
#[test]
fn removing_or_moving_data_fails_the_plan() {
    let lab = Lab::reference();
    lab.build();
    let dirs = module_dirs(&lab);
    // postgres: apply, then drop webapp from the data.
    let ws = Workspace::new(&dirs["postgres"]);
    ws.write("imports.tf", None);
    let data_path = ws.module().join("labc.auto.tfvars.json");
    let mut data: Value =
        serde_json::from_str(&std::fs::read_to_string(&data_path).unwrap()).unwrap();
    data.as_object_mut().unwrap().remove("imports");
    std::fs::write(&data_path, data.to_string()).unwrap();
    ws.apply();
    data["databases"].as_object_mut().unwrap().remove("webapp");
    std::fs::write(&data_path, data.to_string()).unwrap();
    let err = ws.plan_fails();
    assert!(err.contains("Instance cannot be destroyed"), "{err}");
    // Terraform reports the first kept instance it meets: the owner role
    // or the database, both kept.
    assert!(
        err.contains("postgresql_database.database[\"webapp\"]")
            || err.contains("postgresql_role.owner[\"webapp\"]"),
        "{err}"
    );
    assert!(
        !ws.remote("cyrilgdn/postgresql")["postgresql_database"]["webapp"].is_null(),
        "the database is still there"
    );

    // factory: apply, then move webapp to another organisation (ForceNew).
    let ws = Workspace::new(&dirs["factory"]);
    ws.write("imports.tf", None);
    let data_path = ws.module().join("labc.auto.tfvars.json");
    let mut data: Value =
        serde_json::from_str(&std::fs::read_to_string(&data_path).unwrap()).unwrap();
    data.as_object_mut().unwrap().remove("imports");
    std::fs::write(&data_path, data.to_string()).unwrap();
    ws.apply();
    data["repositories"]["webapp"]["owner"] = Value::String("elsewhere".into());
    std::fs::write(&data_path, data.to_string()).unwrap();
    let err = ws.plan_fails();
    assert!(err.contains("Instance cannot be destroyed"), "{err}");
    assert!(err.contains("gitea_repository.app[\"webapp\"]"), "{err}");
}

/// Copies every provider remote of `from` into `to` (the running lab, as
/// another root left it).
fn copy_remote(from: &Workspace, to: &Workspace) {
    for e in std::fs::read_dir(from.remote_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::copy(&p, to.remote_dir().join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// The module without its adoption: `imports.tf` and the `imports` data
/// removed, as a lab that never had labc would have created the objects.
fn without_imports(ws: &Workspace) {
    ws.write("imports.tf", None);
    let path = ws.module().join("labc.auto.tfvars.json");
    let mut data: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    data.as_object_mut().unwrap().remove("imports");
    std::fs::write(&path, data.to_string()).unwrap();
}

/// Types whose objects are created again on adoption: the providers cannot
/// import them, and their create is a write that changes nothing (GRANT,
/// Vault's PUT, IAM membership), or a new object by nature (HMAC key).
const CREATED_ON_ADOPTION: &[&str] = &[
    "postgresql_grant",
    "postgresql_grant_role",
    "google_storage_bucket_iam_member",
    "google_storage_hmac_key",
    "vault_kv_secret_v2",
];

/// The README's adoption steps on the reference lab: the objects exist
/// (created by another root, here the same module without imports); the
/// first plan of the generated module imports each of them with an ID in its
/// provider's format, replaces and destroys nothing, and creates only what
/// cannot be imported; the apply succeeds and the next plan is empty.
/// Without the imports, the same apply fails on objects that exist.
#[test]
fn the_reference_lab_adopts_the_running_lab() {
    let lab = Lab::reference();
    lab.build();
    for (name, dir) in module_dirs(&lab) {
        assert!(
            dir.join("imports.tf").exists(),
            "{name}: adopt is on in the reference lab"
        );
        let live = Workspace::new(&dir);
        without_imports(&live);
        live.apply();

        let ws = Workspace::new(&dir);
        copy_remote(&live, &ws);
        let plan = ws.plan();
        let acts = actions(&plan);
        let mut imported = 0;
        for (address, (a, importing)) in &acts {
            let ty = address.split('.').next().unwrap();
            assert!(
                !a.iter().any(|x| x == "delete"),
                "{name}: {address} would be destroyed or replaced: {a:?}"
            );
            if *importing {
                imported += 1;
            } else if a != &["no-op"] {
                assert!(
                    a == &["create"] && CREATED_ON_ADOPTION.contains(&ty)
                        || a == &["update"] && ty == "vault_policy"
                        || a == &["create"]
                            && (ty == "vault_policy" || ty == "vault_kubernetes_auth_backend_role")
                            && address.contains("longhorn"),
                    "{name}: {address} {a:?} without import"
                );
            }
        }
        assert!(imported > 0, "{name}: nothing imported");
        // Adopted repositories get the lab's settings, not the provider's defaults.
        if name == "factory" {
            let data: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join("labc.auto.tfvars.json")).unwrap(),
            )
            .unwrap();
            for change in plan["resource_changes"].as_array().unwrap() {
                if change["type"] != "gitea_repository" {
                    continue;
                }
                let key = change["index"].as_str().unwrap();
                let after = &change["change"]["after"];
                let want = &data["repositories"][key];
                for (k, v) in want.as_object().unwrap() {
                    let attr = match k.as_str() {
                        "owner" => "username",
                        "template" => "repo_template",
                        other => other,
                    };
                    assert_eq!(&after[attr], v, "{key}: {attr}");
                }
            }
        }
        ws.apply();
        let again = ws.plan();
        let changed: Vec<_> = actions(&again)
            .into_iter()
            .filter(|(_, (a, _))| a != &["no-op"])
            .collect();
        assert!(changed.is_empty(), "{name}: after adoption {changed:?}");

        // The imports are what makes it work: without them, creating what
        // exists fails.
        let bare = Workspace::new(&dir);
        without_imports(&bare);
        copy_remote(&live, &bare);
        let o = bare.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(
            !o.status.success(),
            "{name}: apply over existing objects succeeded"
        );
        assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    }
}

/// The first step of a reference: `vault_mount` of `vault_mount.kv.path`,
/// `var` of `var.kv_mount`, `data.vault_auth_backend` of
/// `data.vault_auth_backend.kubernetes.path`, from an attribute's text or
/// the first interpolation of a template.
fn reference_root(text: &str) -> Option<(String, String)> {
    let t = text.trim();
    let t = t.strip_prefix("\"${").unwrap_or(t);
    let mut parts = t.split(['.', '}', '[']);
    let first = parts.next()?;
    let second = parts.next()?;
    if first == "data" {
        let third = parts.next()?;
        return Some((format!("data.{second}"), third.to_owned()));
    }
    (!first.is_empty() && first.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .then(|| (first.to_owned(), second.to_owned()))
}

/// Every Vault mount, auth backend and connection a factory module names is
/// a reference to a resource, data source or variable declared in that
/// module, never a string: `backend`, `mount`, `db_name`, and the mount in
/// every policy path. On the reference lab they are resources; with
/// `managed_elsewhere`, a data source and variables.
#[test]
fn every_vault_mount_and_connection_reference_resolves() {
    for lab in fixture_labs() {
        lab.build();
        for (name, dir) in module_dirs(&lab) {
            let mut declared = std::collections::BTreeSet::new();
            let mut uses = Vec::new();
            for (file, text) in crate::common::read_tree(&dir) {
                if !file.ends_with(".tf") {
                    continue;
                }
                let body = hcl_edit::parser::parse_body(&text).unwrap();
                for b in body.blocks() {
                    let l = crate::tf::labels(b);
                    match b.ident.as_str() {
                        "resource" => declared.insert((l[0].clone(), l[1].clone())),
                        "data" => declared.insert((format!("data.{}", l[0]), l[1].clone())),
                        "variable" => declared.insert(("var".to_owned(), l[0].clone())),
                        _ => false,
                    };
                    if !l.first().is_some_and(|t| t.starts_with("vault_")) {
                        continue;
                    }
                    let mut attrs = Vec::new();
                    collect_attrs(&b.body, &mut attrs);
                    for (k, v) in attrs {
                        if matches!(k.as_str(), "backend" | "mount" | "db_name")
                            || (k == "path" && l[0] == "vault_policy_document")
                        {
                            uses.push((format!("{file}: {l:?}.{k}"), v));
                        }
                    }
                }
            }
            for (what, value) in &uses {
                let root = reference_root(value)
                    .unwrap_or_else(|| panic!("{name} {what} = {value}: not a reference"));
                assert!(
                    !value.trim_start().starts_with('"') || value.contains("${"),
                    "{name} {what} = {value}: a string, not a reference"
                );
                assert!(
                    declared.contains(&root),
                    "{name} {what} = {value}: {root:?} is not declared in the module"
                );
            }
            if uses.is_empty() {
                assert!(
                    !name.contains("factory") && !name.contains("platform"),
                    "{name}: no Vault use found"
                );
            }
        }
    }
}

/// Attribute name and expression text of `body` and its nested blocks.
fn collect_attrs(body: &hcl_edit::structure::Body, out: &mut Vec<(String, String)>) {
    for a in body.attributes() {
        out.push((a.key.as_str().to_owned(), a.value.to_string()));
    }
    for b in body.blocks() {
        collect_attrs(&b.body, out);
    }
}

/// One manager per PostgreSQL object: `'opentofu` emits the postgres module
/// and no SQL, `'sql` the SQL and no postgres module; a `'postgres` module
/// with `'sql` (or none with `'opentofu`) is refused with its position.
#[test]
fn only_the_chosen_postgres_manager_is_emitted() {
    let tofu = Lab::reference();
    tofu.build();
    let files = tofu.files();
    assert!(files.keys().any(|p| p.starts_with("tofu/postgres/")));
    assert!(
        !files.keys().any(|p| p.starts_with("sql/")),
        "no SQL with 'opentofu"
    );

    let module = "      postgres = {\n        kind = 'postgres,";
    let text = std::fs::read_to_string(root().join("lab.ncl")).unwrap();
    let start = text.find(module).expect("the postgres module");
    let end = start + text[start..].find("\n      },\n").unwrap() + "\n      },\n".len();
    let sql_text = format!("{}{}", &text[..start], &text[end..]).replacen(
        "manager = 'opentofu",
        "manager = 'sql",
        1,
    );
    let sql = Lab::from_text("lab.ncl", &sql_text);
    sql.build();
    let files = sql.files();
    assert!(files.keys().any(|p| p.starts_with("sql/")));
    assert!(!files.keys().any(|p| p.starts_with("tofu/postgres/")));
    assert!(files.keys().any(|p| p.starts_with("tofu/factory/")));

    // 'sql with a 'postgres module: refused, pointing at the module.
    let both = Lab::from_text(
        "lab.ncl",
        &text.replacen("manager = 'opentofu", "manager = 'sql", 1),
    );
    let o = both.run(&["build"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The `kind = 'postgres` line, the line after `postgres = {`.
    let line = text[..start].lines().count() + 2;
    assert!(
        stderr(&o).contains(&format!("lab.ncl:{line}:")),
        "{}",
        stderr(&o)
    );
    assert!(!both.generated().exists());

    // 'opentofu without a 'postgres module: nothing would create the objects.
    let none = Lab::from_text("lab.ncl", &format!("{}{}", &text[..start], &text[end..]));
    let o = none.run(&["build"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("manager"), "{}", stderr(&o));
}
/// A module as Terraform evaluates it: applied with the stand-in providers
/// on a remote holding only what `vault.managed_elsewhere` says exists, so
/// every `for_each`, reference and variable is resolved by Terraform itself.
pub(crate) struct Evaluated(Vec<Instance>);

impl Evaluated {
    pub(crate) fn of(dir: &Path) -> Evaluated {
        let ws = Workspace::new(dir);
        if dir.join("imports.tf").exists() {
            without_imports(&ws);
        }
        seed_managed_elsewhere(&ws, dir);
        Evaluated(instances(&ws.apply()["values"]))
    }

    /// The values of every instance of the managed resource type `kind`.
    pub(crate) fn managed(&self, kind: &str) -> Vec<&Value> {
        self.instances("managed", kind, None)
    }

    /// The values of the instances of `kind` declared as `name`.
    pub(crate) fn named(&self, kind: &str, name: &str) -> Vec<&Value> {
        self.instances("managed", kind, Some(name))
    }

    pub(crate) fn data(&self, kind: &str, name: &str) -> Vec<(&str, &Value)> {
        self.0
            .iter()
            .filter(|i| i.mode == "data" && i.kind == kind && i.name == name)
            .map(|i| (i.key.as_deref().unwrap_or(""), &i.values))
            .collect()
    }

    fn instances(&self, mode: &str, kind: &str, name: Option<&str>) -> Vec<&Value> {
        self.0
            .iter()
            .filter(|i| i.mode == mode && i.kind == kind && name.is_none_or(|n| n == i.name))
            .map(|i| &i.values)
            .collect()
    }
}

/// A string attribute of an instance's values.
pub(crate) fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
        .to_owned()
}

/// A list-of-strings attribute.
pub(crate) fn ss(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not a list in {v}"))
        .iter()
        .map(|x| x.as_str().expect("a string").to_owned())
        .collect()
}

/// A bool attribute.
pub(crate) fn b(v: &Value, key: &str) -> bool {
    v[key]
        .as_bool()
        .unwrap_or_else(|| panic!("{key} is not a bool in {v}"))
}

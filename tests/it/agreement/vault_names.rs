//! The OpenTofu factory module's Vault objects (Kubernetes auth roles,
//! policies and the paths their documents allow, database secret roles),
//! the Vault Secrets Operator resources of every app and the app's
//! `values.yaml` name the same objects: the role VSO logs in with exists,
//! bound to exactly the app's namespace and service account, its policies
//! allow reading exactly what VSO reads, and each dynamic secret's role
//! creates users in the owner role of the app's database (checked on the
//! text of the statements, then by running them on PostgreSQL as
//! `credentials_editor`, as Vault does).

use super::postgres_state::{apply_sql, catalog_state, evaluated, login_roles};
use crate::common::{Lab, REFERENCE, labs, stderr, yaml_docs};
use crate::pg::{literal, vault_fill};
use crate::terraform::{Evaluated, s as vs, ss};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A Kubernetes auth role of the factory module.
#[derive(Debug, Clone)]
struct AuthRole {
    service_accounts: BTreeSet<String>,
    namespaces: BTreeSet<String>,
    policies: Vec<String>,
}

/// A database secret role of the factory module.
#[derive(Debug, Clone)]
struct DbRole {
    connection: String,
    creation: Vec<String>,
    revocation: Vec<String>,
}

/// The Vault objects the factory module declares.
#[derive(Debug, Clone, Default)]
struct VaultTf {
    /// (backend, role_name) → role
    auth_roles: BTreeMap<(String, String), AuthRole>,
    /// policy name → path → capabilities
    policies: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// (backend, name) → role
    db_roles: BTreeMap<(String, String), DbRole>,
    /// Owner role of each database of the postgres module.
    owners: BTreeMap<String, String>,
}

/// The factory module of a built lab, as Terraform applies it.
fn factory(lab: &Lab) -> Evaluated {
    let tofu = lab.generated().join("tofu");
    let dirs: Vec<_> = std::fs::read_dir(&tofu)
        .expect("generated/tofu")
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("vault.tf").exists())
        .collect();
    assert_eq!(dirs.len(), 1, "{}: one factory module", lab.name);
    Evaluated::of(&dirs[0])
}

/// The Vault objects of the factory module and the owners of the postgres
/// module, from Terraform's state of each (every `for_each`, reference and
/// variable resolved by Terraform).
fn vault_tf(m: &Evaluated, pg: &Evaluated) -> VaultTf {
    let mut v = VaultTf::default();
    // The apps' objects (Longhorn's own policy and role are checked with
    // the module, in tests/it/tofu.rs).
    {
        let docs = m.data("vault_policy_document", "app");
        for p in m.named("vault_policy", "app") {
            // The policy is its document's text: find the document by it.
            let (_, doc) = docs
                .iter()
                .find(|(_, d)| d["hcl"] == p["policy"])
                .unwrap_or_else(|| panic!("policy {} comes from no document", vs(p, "name")));
            let mut rules = BTreeMap::new();
            for rule in doc["rule"].as_array().expect("rules") {
                let path = vs(rule, "path");
                let caps = ss(rule, "capabilities");
                assert!(rules.insert(path.clone(), caps).is_none(), "{path} twice");
            }
            v.policies.insert(vs(p, "name"), rules);
        }
    }
    for b in m.named("vault_kubernetes_auth_backend_role", "app") {
        let role = AuthRole {
            service_accounts: ss(b, "bound_service_account_names").into_iter().collect(),
            namespaces: ss(b, "bound_service_account_namespaces")
                .into_iter()
                .collect(),
            policies: ss(b, "token_policies"),
        };
        v.auth_roles
            .insert((vs(b, "backend"), vs(b, "role_name")), role);
    }
    for b in m.managed("vault_database_secret_backend_role") {
        v.db_roles.insert(
            (vs(b, "backend"), vs(b, "name")),
            DbRole {
                connection: vs(b, "db_name"),
                creation: ss(b, "creation_statements"),
                revocation: ss(b, "revocation_statements"),
            },
        );
    }
    for d in pg.managed("postgresql_database") {
        v.owners.insert(vs(d, "name"), vs(d, "owner"));
    }
    v
}

/// The in-cluster side of an app: its Application's namespace, its VSO
/// resources and its values.
#[derive(Debug, Clone)]
struct AppSide {
    namespace: String,
    /// Every document of `vault-secrets.yaml`; empty without the file.
    vso: Vec<Value>,
    values: Value,
}

fn apps(texts: &BTreeMap<String, String>) -> BTreeMap<String, AppSide> {
    let mut out = BTreeMap::new();
    for (path, text) in texts {
        let Some(app) = path
            .strip_prefix("apps/")
            .and_then(|p| p.strip_suffix("/values.yaml"))
        else {
            continue;
        };
        let application = yaml_docs(&texts[&format!("argocd/rendered/applications/{app}.yaml")]);
        let namespace = application[0]["spec"]["destination"]["namespace"]
            .as_str()
            .expect("destination namespace")
            .to_owned();
        let vso = texts
            .get(&format!("apps/{app}/vault-secrets.yaml"))
            .map(|t| yaml_docs(t))
            .unwrap_or_default();
        let values = yaml_docs(text).pop().expect("values");
        out.insert(
            app.to_owned(),
            AppSide {
                namespace,
                vso,
                values,
            },
        );
    }
    out
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An SQL identifier at the start of `text` (`"quoted"` with `""` escapes,
/// or bare, folded to lower case), and the rest.
fn sql_identifier(text: &str) -> Option<(String, &str)> {
    if let Some(rest) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if rest[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    return Some((name, &rest[i + 1..]));
                }
            } else {
                name.push(c);
            }
        }
        None
    } else {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(text.len());
        (end > 0).then(|| (text[..end].to_lowercase(), &text[end..]))
    }
}

/// The roles the creation statements put a user in (`IN ROLE a, b`) and the
/// role its sessions switch to (`ALTER ROLE .. SET role = '<r>'`).
fn granted_roles(creation: &[String]) -> (BTreeSet<String>, Option<String>) {
    let mut in_roles = BTreeSet::new();
    let mut set_role = None;
    for st in creation {
        if let Some(at) = st.find(" IN ROLE ") {
            let mut rest = &st[at + " IN ROLE ".len()..];
            while let Some((name, after)) = sql_identifier(rest) {
                in_roles.insert(name);
                match after.trim_start().strip_prefix(',') {
                    Some(more) => rest = more.trim_start(),
                    None => break,
                }
            }
        }
        if let Some(at) = st.find(" SET role = '") {
            let rest = &st[at + " SET role = '".len()..];
            set_role = rest.split('\'').next().map(str::to_owned);
        }
    }
    (in_roles, set_role)
}

/// Every disagreement between the factory module and the apps' VSO
/// resources and values, one line each.
fn vault_problems(tf: &VaultTf, apps: &BTreeMap<String, AppSide>) -> Vec<String> {
    let mut out = Vec::new();
    let mut used_auth_roles = BTreeSet::new();
    let mut used_policies = BTreeSet::new();
    for (app, side) in apps {
        let mut p = |m: String| out.push(format!("{app}: {m}"));
        let vault = side.values.get("vault");
        if side.vso.is_empty() {
            if vault.is_some() {
                p("values.yaml has a vault section but there are no VSO resources".into());
            }
            continue;
        }
        let Some(vault) = vault else {
            p("VSO resources but no vault section in values.yaml".into());
            continue;
        };
        let kind =
            |k: &str| -> Vec<&Value> { side.vso.iter().filter(|d| s(d, "/kind") == k).collect() };
        for d in &side.vso {
            if s(d, "/metadata/namespace") != side.namespace {
                p(format!(
                    "{} {} is in namespace {:?}, the app in {:?}",
                    s(d, "/kind"),
                    s(d, "/metadata/name"),
                    s(d, "/metadata/namespace"),
                    side.namespace
                ));
            }
        }
        let auths: BTreeMap<&str, &Value> = kind("VaultAuth")
            .into_iter()
            .map(|a| (s(a, "/metadata/name"), a))
            .collect();
        let statics = kind("VaultStaticSecret");
        let dynamics = kind("VaultDynamicSecret");
        if statics.len() != 1 {
            p(format!("{} VaultStaticSecrets, not 1", statics.len()));
        }
        if dynamics.len() > 1 {
            p(format!("{} VaultDynamicSecrets", dynamics.len()));
        }

        // What VSO reads, through which auth.
        let mut needed: BTreeSet<String> = BTreeSet::new();
        let mut tolerated: BTreeSet<String> = BTreeSet::new();
        let mut auth_refs = BTreeSet::new();
        for st in &statics {
            if s(st, "/spec/type") != "kv-v2" {
                p(format!("VaultStaticSecret type {:?}", s(st, "/spec/type")));
            }
            let (mount, path) = (s(st, "/spec/mount"), s(st, "/spec/path"));
            needed.insert(format!("{mount}/data/{path}"));
            tolerated.insert(format!("{mount}/metadata/{path}"));
            auth_refs.insert(s(st, "/spec/vaultAuthRef"));
            let kv = &vault["kv"];
            if (s(kv, "/mount"), s(kv, "/path"), s(kv, "/secretName"))
                != (mount, path, s(st, "/spec/destination/name"))
            {
                p(format!(
                    "values.yaml vault.kv {kv} is not the VaultStaticSecret's {mount}/{path}"
                ));
            }
        }
        for dy in &dynamics {
            let (mount, path) = (s(dy, "/spec/mount"), s(dy, "/spec/path"));
            needed.insert(format!("{mount}/{path}"));
            auth_refs.insert(s(dy, "/spec/vaultAuthRef"));
            let Some(role) = path.strip_prefix("creds/") else {
                p(format!(
                    "VaultDynamicSecret path {path:?} is not creds/<role>"
                ));
                continue;
            };
            let db = &vault["database"];
            if (
                s(db, "/mount"),
                s(db, "/path"),
                s(db, "/role"),
                s(db, "/secretName"),
            ) != (mount, path, role, s(dy, "/spec/destination/name"))
            {
                p(format!(
                    "values.yaml vault.database {db} is not the VaultDynamicSecret's {mount}/{path}"
                ));
            }
            // The role exists and creates users in the app's database owner role.
            let Some(db_role) = tf.db_roles.get(&(mount.to_owned(), role.to_owned())) else {
                p(format!(
                    "VaultDynamicSecret reads {mount}/{path}: no database role {role} in mount {mount}"
                ));
                continue;
            };
            let database = s(&side.values, "/database/name");
            let Some(owner) = tf.owners.get(database) else {
                p(format!("its database {database:?} is not declared"));
                continue;
            };
            let (in_roles, set_role) = granted_roles(&db_role.creation);
            if in_roles != [owner.clone()].into() || set_role.as_ref() != Some(owner) {
                p(format!(
                    "database role {role} creates users in {in_roles:?} (SET role {set_role:?}), \
                     not in {owner}, owner of database {database}"
                ));
            }
        }
        if vault.get("database").is_some() && dynamics.is_empty() {
            p("values.yaml vault.database but no VaultDynamicSecret".into());
        }

        // The auth VSO logs in with, and what its policies allow.
        if auth_refs.len() != 1 {
            p(format!("secrets use VaultAuths {auth_refs:?}, not one"));
        }
        for r in auth_refs {
            let Some(auth) = auths.get(r) else {
                p(format!("vaultAuthRef {r:?} names no VaultAuth of the app"));
                continue;
            };
            let (mount, role, sa) = (
                s(auth, "/spec/mount"),
                s(auth, "/spec/kubernetes/role"),
                s(auth, "/spec/kubernetes/serviceAccount"),
            );
            if s(auth, "/spec/method") != "kubernetes" {
                p(format!("VaultAuth method {:?}", s(auth, "/spec/method")));
            }
            if (s(vault, "/authRole"), s(vault, "/kubernetesMount")) != (role, mount) {
                p(format!(
                    "values.yaml vault authRole/kubernetesMount are not the VaultAuth's {role}/{mount}"
                ));
            }
            if s(&side.values, "/serviceAccount/name") != sa
                || side.values.pointer("/serviceAccount/create") != Some(&Value::Bool(true))
            {
                p(format!(
                    "values.yaml serviceAccount is not the VaultAuth's {sa:?}, created"
                ));
            }
            let key = (mount.to_owned(), role.to_owned());
            let Some(tf_role) = tf.auth_roles.get(&key) else {
                p(format!(
                    "VaultAuth logs in as role {role:?} of mount {mount:?}, which OpenTofu doesn't declare"
                ));
                continue;
            };
            used_auth_roles.insert(key);
            if tf_role.namespaces != [side.namespace.clone()].into() {
                p(format!(
                    "role {role} is bound to namespaces {:?}, the app runs in {:?}",
                    tf_role.namespaces, side.namespace
                ));
            }
            if tf_role.service_accounts != [sa.to_owned()].into() {
                p(format!(
                    "role {role} is bound to service accounts {:?}, VSO uses {sa:?}",
                    tf_role.service_accounts
                ));
            }
            let mut allowed: BTreeSet<String> = BTreeSet::new();
            for policy in &tf_role.policies {
                used_policies.insert(policy.clone());
                let Some(rules) = tf.policies.get(policy) else {
                    p(format!("role {role} has undeclared policy {policy:?}"));
                    continue;
                };
                for (path, caps) in rules {
                    if caps != &["read"] {
                        p(format!("policy {policy} allows {caps:?} on {path}"));
                    }
                    if path.contains(['*', '+']) {
                        p(format!("policy {policy} has a glob path {path}"));
                    }
                    allowed.insert(path.clone());
                }
            }
            for missing in needed.difference(&allowed) {
                p(format!(
                    "role {role}'s policies don't allow reading {missing}"
                ));
            }
            for extra in allowed.difference(&needed) {
                if !tolerated.contains(extra) {
                    p(format!(
                        "role {role}'s policies allow {extra}, which VSO doesn't read"
                    ));
                }
            }
        }
    }
    for key in tf
        .auth_roles
        .keys()
        .filter(|k| !used_auth_roles.contains(*k))
    {
        out.push(format!("auth role {key:?}: no app's VaultAuth uses it"));
    }
    for policy in tf.policies.keys().filter(|k| !used_policies.contains(*k)) {
        out.push(format!("policy {policy}: no auth role has it"));
    }
    out
}

/// Runs each dynamic secret's creation statements, as read from the
/// factory module, on PostgreSQL built from the SQL scripts, logged in as
/// `credentials_editor` like Vault; the user must land in the owner role of
/// the app's database, and the revocation statement must drop it.
fn run_creation_statements(lab: &Lab, tf: &VaultTf, apps: &BTreeMap<String, AppSide>) -> usize {
    // The same PostgreSQL objects, made by the other manager: the scripts.
    let twin = lab.sql_twin();
    twin.build();
    let server = apply_sql(&twin);
    let (editor, _) = login_roles(&catalog_state(&server));
    server.set_password(&editor, "editor-secret");
    let mut ran = 0;
    for (app, side) in apps {
        for dy in side
            .vso
            .iter()
            .filter(|d| s(d, "/kind") == "VaultDynamicSecret")
        {
            let mount = s(dy, "/spec/mount");
            let role = s(dy, "/spec/path").trim_start_matches("creds/");
            let db_role = &tf.db_roles[&(mount.to_owned(), role.to_owned())];
            let owner = &tf.owners[s(&side.values, "/database/name")];
            let user = format!("v-kubernetes-{app}-x1-1750000000");
            let creation = vault_fill(&db_role.creation, &user, "A1a-vault");
            let o = server.run_tcp_tx(&editor, "editor-secret", "postgres", &creation);
            assert!(o.status.success(), "{app}: {}", stderr(&o));
            assert_eq!(
                server.query(
                    "postgres",
                    &format!(
                        "SELECT string_agg(g.rolname, ',') || '|' || array_to_string(u.rolconfig, ',') \
                         FROM pg_roles u JOIN pg_auth_members m ON m.member = u.oid \
                         JOIN pg_roles g ON g.oid = m.roleid WHERE u.rolname = {} \
                         GROUP BY u.rolconfig",
                        literal(&user)
                    )
                ),
                format!("{owner}|role={owner}"),
                "{app}"
            );
            let revocation = vault_fill(&db_role.revocation, &user, "A1a-vault");
            let o = server.run_tcp_tx(&editor, "editor-secret", "postgres", &revocation);
            assert!(o.status.success(), "{app}: {}", stderr(&o));
            assert!(!server.role_exists(&user), "{app}: {user} dropped");
            assert!(
                !db_role.connection.is_empty(),
                "{app}: role {role} names its connection"
            );
            ran += 1;
        }
    }
    ran
}

/// `(apps with VSO resources, dynamic secrets)` the checks covered.
fn vault_agree(lab: &Lab) -> (usize, usize) {
    lab.build();
    let texts = lab.files();
    let tf = vault_tf(&factory(lab), &evaluated(lab));
    let apps = apps(&texts);
    assert_eq!(vault_problems(&tf, &apps), Vec::<String>::new());
    let with_vault = apps.values().filter(|a| !a.vso.is_empty()).count();
    (with_vault, run_creation_statements(lab, &tf, &apps))
}

/// Every lab agrees. What the checks covered is what the lab declares,
/// for the labs this test knows, so they can't pass by finding nothing.
#[test]
fn opentofu_vault_and_vso_agree_in_every_lab() {
    let mut covered = 0;
    for lab in labs() {
        // Vault's objects are declared by a factory module: a lab without
        // one has no OpenTofu side for VSO's names to agree with.
        let m = crate::argocd::model(&lab);
        let factory = m.tofu.as_ref().is_some_and(|t| {
            t.modules
                .values()
                .any(|m| m.kind == labc::model::ModuleKind::Factory)
        });
        if !factory {
            continue;
        }
        let found = vault_agree(&lab);
        let declared = match lab.name.as_str() {
            // dance-lessons-coach, erp and webapp read Vault, all with a
            // database.
            REFERENCE => Some((3, 3)),
            // billing (database ledger, owner ledger_owner) and status-page
            // (KV only, namespace monitoring).
            "big-cluster" => Some((2, 1)),
            _ => None,
        };
        if let Some(declared) = declared {
            assert_eq!(
                found, declared,
                "{}: (apps with VSO, dynamic secrets)",
                lab.name
            );
        }
        covered += found.1;
    }
    assert!(covered > 0, "no lab has a dynamic secret");
}

/// Each mutation of the parsed data, on either side, is reported.
#[test]
fn vault_disagreements_are_noticed() {
    let lab = Lab::named("big-cluster");
    lab.build();
    let texts = lab.files();
    let pg = evaluated(&lab);
    let tf = vault_tf(&factory(&lab), &pg);
    let apps = apps(&texts);
    assert_eq!(vault_problems(&tf, &apps), Vec::<String>::new());

    type TfEdit = fn(&mut VaultTf);
    type AppEdit = fn(&mut BTreeMap<String, AppSide>);
    fn set_in(side: &mut AppSide, kind: &str, pointer: &str, to: &str) {
        let d = side
            .vso
            .iter_mut()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"));
        *d.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no {pointer}")) = Value::String(to.into());
    }
    let tf_edits: &[(&str, TfEdit, &str)] = &[
        (
            "auth role renamed",
            |t| {
                let k = ("k8s".to_string(), "billing".to_string());
                let r = t.auth_roles.remove(&k).unwrap();
                t.auth_roles.insert(("k8s".into(), "biling".into()), r);
            },
            "billing: VaultAuth logs in as role \"billing\" of mount \"k8s\", which OpenTofu doesn't declare",
        ),
        (
            "other namespace bound",
            |t| {
                let r = t
                    .auth_roles
                    .get_mut(&("k8s".into(), "status-page".into()))
                    .unwrap();
                r.namespaces = ["status-page".to_string()].into();
            },
            "status-page: role status-page is bound to namespaces {\"status-page\"}, the app runs in \"monitoring\"",
        ),
        (
            "other service account bound",
            |t| {
                let r = t
                    .auth_roles
                    .get_mut(&("k8s".into(), "billing".into()))
                    .unwrap();
                r.service_accounts.insert("default".into());
            },
            "billing: role billing is bound to service accounts",
        ),
        (
            "creds rule dropped",
            |t| {
                t.policies
                    .get_mut("billing")
                    .unwrap()
                    .remove("db/creds/ledger");
            },
            "billing: role billing's policies don't allow reading db/creds/ledger",
        ),
        (
            "kv rule widened",
            |t| {
                let p = t.policies.get_mut("status-page").unwrap();
                p.insert("secret/data/billing".into(), vec!["read".into()]);
            },
            "status-page: role status-page's policies allow secret/data/billing, which VSO doesn't read",
        ),
        (
            "write capability",
            |t| {
                let p = t.policies.get_mut("billing").unwrap();
                p.insert(
                    "secret/data/billing".into(),
                    vec!["read".into(), "update".into()],
                );
            },
            "billing: policy billing allows [\"read\", \"update\"] on secret/data/billing",
        ),
        (
            "database role creates users elsewhere",
            |t| {
                let r = t.db_roles.get_mut(&("db".into(), "ledger".into())).unwrap();
                r.creation = labc::emit::postgres::vault_creation_statements("metrics_role");
            },
            "billing: database role ledger creates users in {\"metrics_role\"}",
        ),
        (
            "database role in another mount",
            |t| {
                let r = t.db_roles.remove(&("db".into(), "ledger".into())).unwrap();
                t.db_roles.insert(("database".into(), "ledger".into()), r);
            },
            "billing: VaultDynamicSecret reads db/creds/ledger: no database role ledger in mount db",
        ),
    ];
    for (what, edit, expect) in tf_edits {
        let mut t = tf.clone();
        edit(&mut t);
        let found = vault_problems(&t, &apps);
        assert!(
            found.iter().any(|f| f.starts_with(expect)),
            "{what}: expected `{expect}` in {found:#?}"
        );
    }
    let app_edits: &[(&str, AppEdit, &str)] = &[
        (
            "VaultAuth role",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultAuth",
                    "/spec/kubernetes/role",
                    "ledger",
                )
            },
            "billing: VaultAuth logs in as role \"ledger\"",
        ),
        (
            "VaultAuth mount",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultAuth",
                    "/spec/mount",
                    "kubernetes",
                )
            },
            "billing: VaultAuth logs in as role \"billing\" of mount \"kubernetes\"",
        ),
        (
            "VaultAuth service account",
            |a| {
                set_in(
                    a.get_mut("status-page").unwrap(),
                    "VaultAuth",
                    "/spec/kubernetes/serviceAccount",
                    "default",
                )
            },
            "status-page: values.yaml serviceAccount is not the VaultAuth's \"default\"",
        ),
        (
            "KV path",
            |a| {
                set_in(
                    a.get_mut("status-page").unwrap(),
                    "VaultStaticSecret",
                    "/spec/path",
                    "status",
                )
            },
            "status-page: values.yaml vault.kv",
        ),
        (
            "KV mount",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultStaticSecret",
                    "/spec/mount",
                    "kv",
                )
            },
            "billing: role billing's policies don't allow reading kv/data/billing",
        ),
        (
            "creds path",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultDynamicSecret",
                    "/spec/path",
                    "creds/billing",
                )
            },
            "billing: values.yaml vault.database",
        ),
        (
            "namespace",
            |a| a.get_mut("status-page").unwrap().namespace = "status-page".into(),
            "status-page: VaultConnection vault is in namespace \"monitoring\"",
        ),
        (
            "values authRole",
            |a| {
                let v = &mut a.get_mut("billing").unwrap().values;
                *v.pointer_mut("/vault/authRole").unwrap() = Value::String("ledger".into());
            },
            "billing: values.yaml vault authRole/kubernetesMount",
        ),
        (
            "app's database",
            |a| {
                let v = &mut a.get_mut("billing").unwrap().values;
                *v.pointer_mut("/database/name").unwrap() = Value::String("metrics".into());
            },
            "billing: database role ledger creates users in {\"ledger_owner\"}",
        ),
        (
            "auth ref",
            |a| {
                set_in(
                    a.get_mut("billing").unwrap(),
                    "VaultStaticSecret",
                    "/spec/vaultAuthRef",
                    "default",
                )
            },
            "billing: secrets use VaultAuths",
        ),
        (
            "VSO resources lost",
            |a| a.get_mut("billing").unwrap().vso.clear(),
            "billing: values.yaml has a vault section but there are no VSO resources",
        ),
    ];
    for (what, edit, expect) in app_edits {
        let mut a = apps.clone();
        edit(&mut a);
        let found = vault_problems(&tf, &a);
        assert!(
            found.iter().any(|f| f.starts_with(expect)),
            "{what}: expected `{expect}` in {found:#?}"
        );
    }

    // A name broken in the module's data is noticed too, through Terraform.
    let data = lab.generated().join("tofu/platform/labc.auto.tfvars.json");
    let text = std::fs::read_to_string(&data).unwrap();
    let broken = text.replacen(
        "\"namespace\": \"monitoring\"",
        "\"namespace\": \"status-page\"",
        1,
    );
    assert_ne!(broken, text);
    std::fs::write(&data, broken).unwrap();
    let found = vault_problems(&vault_tf(&factory(&lab), &pg), &apps);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("status-page: role status-page is bound to namespaces")),
        "{found:#?}"
    );
}

#[test]
fn sql_identifiers_parse_like_postgres() {
    assert_eq!(
        sql_identifier("\"a\"\"b-c\" INHERIT"),
        Some(("a\"b-c".into(), " INHERIT"))
    );
    assert_eq!(sql_identifier("Owner_1;"), Some(("owner_1".into(), ";")));
    assert_eq!(sql_identifier("\"unterminated"), None);
    let (roles, set) = granted_roles(&labc::emit::postgres::vault_creation_statements("x-y_role"));
    assert_eq!(roles, ["x-y_role".to_string()].into());
    assert_eq!(set.as_deref(), Some("x-y_role"));
}

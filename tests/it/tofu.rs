//! OpenTofu modules, read back by a real HCL parser, evaluated by Terraform
//! and checked by the real formatter.
//!
//! Every generated `.tf` is parsed with `hcl-edit` and walked: each
//! reference (`type.name.attr`, `type.name[key].attr`, `data.type.name.attr`,
//! `var.x`, `local.x`) must name a block declared in the same module, indexed
//! exactly when that block has `for_each`, and an attribute that block sets
//! (or one the provider computes). What the modules declare is read from
//! Terraform's state after applying them with the stand-in providers
//! ([`crate::terraform`]): the postgres module holds exactly the lab's
//! databases and roles, the factory module the lab's Vault, Gitea, Google
//! and Longhorn objects; backends, provider pins and provider blocks (TLS,
//! sslmode) are those of the lab. `terraform fmt` (hclwrite, the formatter
//! `tofu fmt` uses) must change nothing on the whole `generated/tofu` tree,
//! and must notice a file that is off.
use crate::common::{Lab, REFERENCE, lab_text, labs, stderr};
use crate::terraform::{Evaluated, b, s, ss};
use crate::tf::{Module, attr, labels, modules, string};
use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::{Block, Structure};
use hcl_edit::visit::{Visit, visit_expr};
use labc::emit::hcl;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TERRAFORM: &str = "/usr/local/bin/terraform";

/// `terraform fmt <args>`, quiet and offline: no CLI config, no checkpoint,
/// a scratch HOME. Missing terraform fails the test: a skip proves nothing.
fn terraform_fmt(args: &[&Path]) -> Output {
    assert!(
        Path::new(TERRAFORM).exists(),
        "{TERRAFORM} is missing: the formatting checks need terraform (its `fmt` is the hclwrite formatter `tofu fmt` uses)"
    );
    let home = tempfile::tempdir().expect("tempdir");
    Command::new(TERRAFORM)
        .arg("fmt")
        .args(args)
        .env("HOME", home.path())
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("terraform runs")
}

/// `terraform fmt -check -diff -recursive dir`: asserts it reports nothing.
fn assert_formatted(dir: &Path) {
    let o = terraform_fmt(&[
        Path::new("-check"),
        Path::new("-diff"),
        Path::new("-recursive"),
        dir,
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.is_empty() && o.stderr.is_empty(),
        "terraform fmt would change {}:\n{out}{}",
        dir.display(),
        stderr(&o)
    );
}

/// A reference's root and attribute steps, e.g. `["postgresql_role",
/// "webapp_owner", "name"]`.
type Path3 = Vec<String>;

#[derive(Default)]
struct Refs(Vec<Path3>);

/// Stands for an index step (`[each.key]`, `["address"]`) in a [`Path3`].
const INDEX: &str = "[]";

/// Names bound inside an expression or block rather than declared in the
/// module: `for_each`'s `each`, the `rule` of `dynamic "rule"`, the `role`
/// of labc's one `for` expression.
const BOUND: &[&str] = &["each", "rule", "role"];

impl Visit for Refs {
    fn visit_expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Traversal(t) => {
                if let Expression::Variable(root) = &t.expr {
                    let mut path = vec![root.as_str().to_owned()];
                    for op in &t.operators {
                        match op.value() {
                            TraversalOperator::GetAttr(id) => path.push(id.as_str().to_owned()),
                            // `x[each.key]`: the instance of a keyed
                            // resource; its key expression is a reference too.
                            TraversalOperator::Index(key) => {
                                path.push(INDEX.to_owned());
                                self.visit_expr(key);
                            }
                            other => panic!("unexpected traversal operator {other:?}"),
                        }
                    }
                    self.0.push(path);
                } else {
                    visit_expr(self, expr);
                }
            }
            Expression::Variable(v) => self.0.push(vec![v.as_str().to_owned()]),
            _ => visit_expr(self, expr),
        }
    }
}

/// Every reference of `m` resolves within it; returns how many there are.
fn check_references(m: &Module) -> usize {
    let resources = m.declared("resource");
    let data = m.declared("data");
    let variables: BTreeSet<String> = m
        .blocks()
        .filter(|b| b.ident.as_str() == "variable")
        .map(|b| labels(b)[0].clone())
        .collect();
    let providers = m.required_providers();
    // Attributes the providers compute, which no block sets.
    let computed: &[(&str, &str)] = &[
        ("google_service_account", "email"),
        ("google_service_account", "member"),
        ("vault_policy_document", "hcl"),
        ("google_storage_hmac_key", "access_id"),
        ("google_storage_hmac_key", "secret"),
        ("gitea_repo", "id"),
    ];
    let mut refs = Refs::default();
    for block in m.blocks() {
        collect(block, &mut refs, &providers);
    }
    let locals: BTreeSet<String> = m
        .blocks()
        .filter(|b| b.ident.as_str() == "locals")
        .flat_map(|b| {
            b.body
                .attributes()
                .map(|a| a.key.as_str().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for path in &refs.0 {
        if BOUND.contains(&path[0].as_str()) {
            continue;
        }
        let (target, kind, rest) = match path[0].as_str() {
            "var" => {
                assert!(variables.contains(&path[1]), "undeclared {path:?}");
                continue;
            }
            "local" => {
                assert!(locals.contains(&path[1]), "undeclared {path:?}");
                continue;
            }
            "data" => (
                data.get(&(path[1].clone(), path[2].clone())),
                &path[1],
                &path[3..],
            ),
            _ => (
                resources.get(&(path[0].clone(), path[1].clone())),
                &path[0],
                &path[2..],
            ),
        };
        let body = target.unwrap_or_else(|| panic!("reference to undeclared {path:?}"));
        // A keyed resource is reached through an index, a single one never.
        let keyed = body.get_attribute("for_each").is_some();
        let rest = match rest.split_first() {
            Some((first, tail)) if first == INDEX => {
                assert!(keyed, "{path:?} indexes a resource without for_each");
                tail
            }
            _ => {
                assert!(
                    !keyed || rest.is_empty(),
                    "{path:?}: a keyed resource needs an index"
                );
                rest
            }
        };
        if rest.is_empty() {
            // The whole object: `for_each = data.gitea_repo.adopted`.
            continue;
        }
        assert_eq!(rest.len(), 1, "{path:?} should name one attribute");
        let a = rest[0].as_str();
        assert!(
            body.get_attribute(a).is_some() || computed.contains(&(kind.as_str(), a)),
            "{path:?}: the block sets no `{a}` and the provider computes none"
        );
    }
    refs.0.len()
}

/// Collects the references of `block`, minus what is not one: the
/// attribute names of `lifecycle.ignore_changes`, and the `provider`
/// meta-argument (checked against the pinned providers instead).
fn collect(block: &Block, refs: &mut Refs, providers: &BTreeMap<String, (String, String)>) {
    // `lifecycle` names attributes; a `variable`'s `type` is a type
    // expression (`map(object({ name = string }))`), not references.
    if matches!(block.ident.as_str(), "lifecycle" | "variable") {
        return;
    }
    for s in block.body.iter() {
        match s {
            Structure::Attribute(a) if a.key.as_str() == "provider" => {
                let p = a.value.as_variable().expect("provider = <local name>");
                assert!(
                    providers.contains_key(p.as_str()),
                    "provider {p:?} not pinned"
                );
            }
            Structure::Attribute(a) => refs.visit_expr(&a.value),
            Structure::Block(b) => collect(b, refs, providers),
        }
    }
}

/// What a lab's postgres module must declare.
struct PgExpect<'a> {
    databases: &'a [(&'a str, &'a str)],
    editor: &'a str,
    pooler: &'a str,
}

/// The postgres module, as Terraform evaluates it (every `for_each` and
/// reference resolved), declares exactly the lab's objects.
fn check_postgres(e: &Evaluated, want: &PgExpect) {
    let got: BTreeMap<String, String> = e
        .managed("postgresql_database")
        .into_iter()
        .map(|d| {
            assert_eq!(s(d, "template"), "template0");
            (s(d, "name"), s(d, "owner"))
        })
        .collect();
    let expected: BTreeMap<String, String> = want
        .databases
        .iter()
        .map(|(d, r)| (d.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, expected, "databases and their owners");

    // name → (login, create_role)
    let mut roles: BTreeMap<String, (bool, bool)> = e
        .managed("postgresql_role")
        .into_iter()
        .map(|r| (s(r, "name"), (b(r, "login"), b(r, "create_role"))))
        .collect();
    // Vault logs in as credentials_editor to create its users.
    assert_eq!(
        roles.remove(want.editor),
        Some((true, true)),
        "login role {}, with CREATEROLE",
        want.editor
    );
    assert_eq!(
        roles.remove(want.pooler),
        Some((true, false)),
        "login role {}",
        want.pooler
    );
    let owners: BTreeMap<String, (bool, bool)> = want
        .databases
        .iter()
        .map(|(_, r)| (r.to_string(), (false, false)))
        .collect();
    assert_eq!(
        roles, owners,
        "owner roles, none can log in or create roles"
    );

    // credentials_editor holds each owner role with admin option.
    let granted: BTreeSet<String> = e
        .managed("postgresql_grant_role")
        .into_iter()
        .map(|g| {
            assert_eq!(s(g, "role"), want.editor);
            assert!(b(g, "with_admin_option"));
            s(g, "grant_role")
        })
        .collect();
    assert_eq!(granted, owners.keys().cloned().collect());

    // user_lookup() in every database, SECURITY DEFINER, pgbouncer's shape.
    let functions = e.managed("postgresql_function");
    let mut in_dbs = BTreeSet::new();
    for f in &functions {
        assert_eq!(s(f, "name"), "user_lookup");
        assert!(b(f, "security_definer"));
        assert_eq!(s(f, "returns"), "record");
        assert_eq!(s(f, "language"), "plpgsql");
        let body = s(f, "body");
        assert!(body.contains("FROM pg_catalog.pg_authid"), "{body}");
        assert!(body.contains("INTO uname, phash;"), "{body}");
        let args: Vec<(String, String, String)> = f["arg"]
            .as_array()
            .expect("arg blocks")
            .iter()
            .map(|a| (s(a, "mode"), s(a, "name"), s(a, "type")))
            .collect();
        let want_args: Vec<(String, String, String)> =
            [("IN", "i_username"), ("OUT", "uname"), ("OUT", "phash")]
                .iter()
                .map(|(m, n)| (m.to_string(), n.to_string(), "text".to_string()))
                .collect();
        assert_eq!(args, want_args);
        in_dbs.insert(s(f, "database"));
    }
    assert_eq!(in_dbs, expected.keys().cloned().collect());

    // Per function: EXECUTE revoked from public, granted to pgbouncer_auth.
    let mut grants: BTreeMap<String, BTreeSet<(String, Vec<String>)>> = BTreeMap::new();
    for g in e.managed("postgresql_grant") {
        assert_eq!(s(g, "object_type"), "function");
        assert_eq!(ss(g, "objects"), ["user_lookup"]);
        grants
            .entry(s(g, "database"))
            .or_default()
            .insert((s(g, "role"), ss(g, "privileges")));
    }
    assert_eq!(grants.len(), functions.len());
    for (db, set) in grants {
        let want: BTreeSet<(String, Vec<String>)> = [
            ("public".to_string(), vec![]),
            (want.pooler.to_string(), vec!["EXECUTE".to_string()]),
        ]
        .into();
        assert_eq!(set, want, "grants on user_lookup() in {db}");
    }
}

struct FactoryExpect<'a> {
    vault_address: &'a str,
    jwt: (&'a str, &'a str),
    /// app → (namespace, kv path, database creds path)
    vault_apps: &'a [(&'a str, &'a str, Option<&'a str>)],
    kv_mount: &'a str,
    db_mount: &'a str,
    k8s_mount: &'a str,
    /// database → owner role, for each database Vault serves
    vault_databases: &'a [(&'a str, &'a str)],
    connection: &'a str,
    ttl: i64,
    repos: &'a [(&'a str, &'a str)],
    bucket: &'a str,
    region: &'a str,
    project: &'a str,
    /// Longhorn's namespace, where its backup credentials are read.
    longhorn_namespace: &'a str,
}

/// The policy paths of the `vault_policy_document` instance `key` of `name`.
fn policy_paths(e: &Evaluated, name: &str, key: &str) -> Vec<String> {
    let docs = e.data("vault_policy_document", name);
    let (_, doc) = docs
        .iter()
        .find(|(k, _)| *k == key)
        .unwrap_or_else(|| panic!("no policy document {name}[{key}]"));
    let mut paths: Vec<String> = doc["rule"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            assert_eq!(ss(r, "capabilities"), ["read"]);
            s(r, "path")
        })
        .collect();
    paths.sort();
    paths
}

fn check_factory(m: &Module, e: &Evaluated, want: &FactoryExpect) {
    let providers = m.provider_blocks();
    let vault = providers["vault"];
    assert_eq!(string(attr(vault, "address")), want.vault_address);
    let login = vault
        .blocks()
        .find(|b| b.ident.as_str() == "auth_login_jwt")
        .expect("auth_login_jwt");
    assert_eq!(string(attr(&login.body, "mount")), want.jwt.0);
    assert_eq!(string(attr(&login.body, "role")), want.jwt.1);
    assert!(
        login.body.get_attribute("jwt").is_none(),
        "the JWT comes from the environment"
    );
    assert_eq!(string(attr(providers["google"], "project")), want.project);
    assert_eq!(string(attr(providers["google"], "region")), want.region);

    let policies = e.named("vault_policy", "app");
    let k8s = e.named("vault_kubernetes_auth_backend_role", "app");
    assert_eq!(policies.len(), want.vault_apps.len());
    assert_eq!(k8s.len(), want.vault_apps.len());
    for (app, namespace, creds) in want.vault_apps {
        assert!(
            policies.iter().any(|p| s(p, "name") == *app),
            "no policy {app}"
        );
        let mut expected = vec![
            format!("{}/data/{app}", want.kv_mount),
            format!("{}/metadata/{app}", want.kv_mount),
        ];
        if let Some(c) = creds {
            expected.push(format!("{}/creds/{c}", want.db_mount));
        }
        expected.sort();
        assert_eq!(policy_paths(e, "app", app), expected, "policy of {app}");
        let role = k8s
            .iter()
            .find(|r| s(r, "role_name") == *app)
            .unwrap_or_else(|| panic!("no auth role {app}"));
        assert_eq!(s(role, "backend"), want.k8s_mount);
        assert_eq!(ss(role, "bound_service_account_names"), [*app]);
        assert_eq!(ss(role, "bound_service_account_namespaces"), [*namespace]);
        assert_eq!(ss(role, "token_policies"), [*app]);
    }

    let got: BTreeMap<String, String> = e
        .managed("vault_database_secret_backend_role")
        .into_iter()
        .map(|r| {
            assert_eq!(s(r, "backend"), want.db_mount);
            assert_eq!(s(r, "db_name"), want.connection);
            assert_eq!(r["default_ttl"].as_i64(), Some(want.ttl));
            let creation = ss(r, "creation_statements");
            assert_eq!(creation.len(), 2);
            assert!(
                creation[0]
                    .starts_with("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}'")
            );
            let owner = creation[0]
                .split("IN ROLE \"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("IN ROLE");
            assert_eq!(
                creation[1],
                format!("ALTER ROLE \"{{{{name}}}}\" SET role = '{owner}';")
            );
            assert_eq!(
                ss(r, "revocation_statements"),
                ["DROP ROLE IF EXISTS \"{{name}}\";"]
            );
            (s(r, "name"), owner.to_owned())
        })
        .collect();
    let expected: BTreeMap<String, String> = want
        .vault_databases
        .iter()
        .map(|(d, r)| (d.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, expected, "Vault database roles");
    // The connection, when the module declares it, allows exactly them.
    for c in e.managed("vault_database_secret_backend_connection") {
        assert_eq!(s(c, "name"), want.connection);
        let mut allowed = ss(c, "allowed_roles");
        allowed.sort();
        assert_eq!(allowed, expected.keys().cloned().collect::<Vec<_>>());
    }

    let repos: BTreeSet<(String, String)> = e
        .managed("gitea_repository")
        .into_iter()
        .map(|r| (s(r, "username"), s(r, "name")))
        .collect();
    let expected: BTreeSet<(String, String)> = want
        .repos
        .iter()
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .collect();
    assert_eq!(repos, expected, "Gitea repositories");

    let buckets = e.managed("google_storage_bucket");
    assert_eq!(buckets.len(), 1);
    assert_eq!(s(buckets[0], "name"), want.bucket);
    assert_eq!(s(buckets[0], "location"), want.region);
    assert_eq!(e.managed("google_service_account").len(), 1);
    assert_eq!(e.managed("google_storage_hmac_key").len(), 1);

    // Longhorn's key in Vault KV, readable by Longhorn's namespace only.
    let secrets = e.managed("vault_kv_secret_v2");
    assert_eq!(secrets.len(), 1);
    assert_eq!(s(secrets[0], "mount"), want.kv_mount);
    let data: serde_json::Value = serde_json::from_str(&s(secrets[0], "data_json")).unwrap();
    let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_ENDPOINTS",
            "AWS_SECRET_ACCESS_KEY"
        ]
    );
    let kv_path = s(secrets[0], "name");
    assert_eq!(
        policy_paths(e, "longhorn_backups", ""),
        [
            format!("{}/data/{kv_path}", want.kv_mount),
            format!("{}/metadata/{kv_path}", want.kv_mount)
        ]
    );
    let role = e.named("vault_kubernetes_auth_backend_role", "longhorn_backups");
    assert_eq!(role.len(), 1);
    assert_eq!(s(role[0], "backend"), want.k8s_mount);
    assert_eq!(
        ss(role[0], "bound_service_account_namespaces"),
        [want.longhorn_namespace]
    );
    let policy = e.named("vault_policy", "longhorn_backups");
    assert_eq!(ss(role[0], "token_policies"), [s(policy[0], "name")]);
}

fn pins(list: &[(&str, &str, &str)]) -> BTreeMap<String, (String, String)> {
    list.iter()
        .map(|(l, s, v)| (l.to_string(), (s.to_string(), v.to_string())))
        .collect()
}

#[test]
fn reference_lab_modules() {
    let lab = Lab::reference();
    lab.build();
    let modules = modules(&lab.files());
    assert_eq!(
        modules.keys().collect::<Vec<_>>(),
        ["factory", "postgres"],
        "one folder per module"
    );

    let pg = &modules["postgres"];
    assert_eq!(
        pg.backend(),
        ("arcodange-tf".into(), "labc/postgres".into())
    );
    assert_eq!(
        pg.required_providers(),
        pins(&[("postgresql", "cyrilgdn/postgresql", "1.26.0")])
    );
    let postgresql = pg.provider_blocks()["postgresql"];
    assert_eq!(string(attr(postgresql, "host")), "192.168.1.202");
    // The Compose PostgreSQL has no TLS: lib/pq's default (require) would fail.
    assert_eq!(string(attr(postgresql, "sslmode")), "disable");
    for secret in ["password", "username"] {
        assert!(
            postgresql.get_attribute(secret).is_none(),
            "{secret} comes from the environment"
        );
    }
    let tofu = lab.generated().join("tofu");
    check_postgres(
        &Evaluated::of(&tofu.join("postgres")),
        &PgExpect {
            databases: &[
                ("crowdsec", "crowdsec_role"),
                ("dance-lessons-coach", "dance-lessons-coach_role"),
                ("erp", "erp_role"),
                ("plausible", "plausible_role"),
                ("webapp", "webapp_role"),
            ],
            editor: "credentials_editor",
            pooler: "pgbouncer_auth",
        },
    );

    let factory = &modules["factory"];
    assert_eq!(
        factory.backend(),
        ("arcodange-tf".into(), "labc/factory".into())
    );
    assert_eq!(
        factory.required_providers(),
        pins(&[
            ("cloudflare", "cloudflare/cloudflare", "~> 5"),
            ("gitea", "go-gitea/gitea", "0.6.0"),
            ("google", "hashicorp/google", "7.0.1"),
            ("ovh", "ovh/ovh", "2.8.0"),
            ("vault", "hashicorp/vault", "4.4.0"),
        ])
    );
    // Pinned only: no provider block, no resources of theirs.
    for unmodelled in ["cloudflare", "ovh"] {
        assert!(!factory.provider_blocks().contains_key(unmodelled));
        assert!(
            !factory
                .declared("resource")
                .keys()
                .any(|(t, _)| t.starts_with(&format!("{unmodelled}_")))
        );
    }
    // TLS to *.arcodange.lab is verified against step-ca's root.
    let ca = "/usr/local/share/ca-certificates/arcodange-root-ca.crt";
    assert_eq!(
        string(attr(factory.provider_blocks()["vault"], "ca_cert_file")),
        ca
    );
    assert_eq!(
        string(attr(factory.provider_blocks()["gitea"], "cacert_file")),
        ca
    );
    let org = "arcodange-org";
    check_factory(
        factory,
        &Evaluated::of(&tofu.join("factory")),
        &FactoryExpect {
            vault_address: "https://vault.arcodange.lab",
            jwt: ("gitea_jwt", "gitea_cicd"),
            vault_apps: &[
                (
                    "dance-lessons-coach",
                    "dance-lessons-coach",
                    Some("dance-lessons-coach"),
                ),
                ("erp", "erp", Some("erp")),
                ("webapp", "webapp", Some("webapp")),
            ],
            kv_mount: "kvv2",
            db_mount: "postgres",
            k8s_mount: "kubernetes",
            vault_databases: &[
                ("crowdsec", "crowdsec_role"),
                ("dance-lessons-coach", "dance-lessons-coach_role"),
                ("erp", "erp_role"),
                ("plausible", "plausible_role"),
                ("webapp", "webapp_role"),
            ],
            connection: "postgres",
            ttl: 3600,
            repos: &[
                (org, "cms"),
                ("arcodange", "dance-lessons-coach"),
                (org, "erp"),
                ("arcodange", "telegram-gateway"),
                (org, "tools"),
                (org, "url-shortener"),
                (org, "webapp"),
            ],
            bucket: "arcodange-longhorn-backups",
            region: "europe-west1",
            project: "arcodange",
            longhorn_namespace: "longhorn-system",
        },
    );
}

#[test]
fn big_cluster_modules() {
    let lab = Lab::named("big-cluster");
    lab.build();
    let modules = modules(&lab.files());
    assert_eq!(
        modules.keys().collect::<Vec<_>>(),
        ["databases", "platform"]
    );
    let pg = &modules["databases"];
    assert_eq!(
        pg.backend(),
        ("bigcluster-state".into(), "labc/databases".into())
    );
    assert_eq!(
        pg.required_providers(),
        pins(&[("postgresql", "cyrilgdn/postgresql", "1.26.0")])
    );
    let postgresql = pg.provider_blocks()["postgresql"];
    assert_eq!(string(attr(postgresql, "host")), "10.0.0.11");
    assert_eq!(
        attr(postgresql, "port")
            .as_number()
            .and_then(|n| n.as_u64()),
        Some(5433)
    );
    assert_eq!(string(attr(postgresql, "sslmode")), "require");
    let tofu = lab.generated().join("tofu");
    check_postgres(
        &Evaluated::of(&tofu.join("databases")),
        &PgExpect {
            databases: &[("ledger", "ledger_owner"), ("metrics", "metrics_role")],
            editor: "grant_admin",
            pooler: "pooler_lookup",
        },
    );

    let platform = &modules["platform"];
    assert_eq!(
        platform.backend(),
        ("bigcluster-state".into(), "labc/platform".into())
    );
    assert_eq!(
        platform.required_providers(),
        pins(&[
            ("gitea", "go-gitea/gitea", "0.6.0"),
            ("google", "hashicorp/google", "7.0.1"),
            ("vault", "hashicorp/vault", "5.11.0"),
        ])
    );
    // No pki: the providers trust the public roots only.
    assert!(
        platform.provider_blocks()["vault"]
            .get_attribute("ca_cert_file")
            .is_none()
    );
    check_factory(
        platform,
        &Evaluated::of(&tofu.join("platform")),
        &FactoryExpect {
            vault_address: "https://vault.home.arpa:8200",
            jwt: ("ci_jwt", "ci"),
            vault_apps: &[
                ("billing", "billing", Some("ledger")),
                ("status-page", "monitoring", None),
            ],
            kv_mount: "secret",
            db_mount: "db",
            k8s_mount: "k8s",
            // metrics sets `vault = false`.
            vault_databases: &[("ledger", "ledger_owner")],
            connection: "main",
            ttl: 900,
            repos: &[
                ("platform", "billing"),
                ("ops", "status-page"),
                ("platform", "wiki"),
            ],
            bucket: "bigcluster-longhorn",
            region: "us-central1",
            project: "bigcluster-prod",
            longhorn_namespace: "storage",
        },
    );
}

#[test]
fn every_reference_resolves_within_its_module() {
    for lab in labs() {
        lab.build();
        for (name, m) in &modules(&lab.files()) {
            assert!(
                check_references(m) > 0,
                "{}: {name} has references",
                lab.name
            );
        }
    }
}

#[test]
fn terraform_fmt_changes_nothing() {
    for lab in labs() {
        lab.build();
        let tofu = lab.generated().join("tofu");
        // A lab without OpenTofu modules gets no tofu/ folder at all.
        if !tofu.exists() {
            let m = crate::argocd::model(&lab);
            assert!(m.tofu.is_none_or(|t| t.modules.is_empty()), "{}", lab.name);
            continue;
        }
        assert_formatted(&tofu);

        // The check can fail: take one `=` padded to align with its
        // neighbours, unpad it, and terraform notices.
        let (rel, text, line) = lab
            .files()
            .into_iter()
            .filter(|(p, _)| p.starts_with("tofu/"))
            .find_map(|(p, text)| {
                let line = text.lines().find(|l| l.contains("  = "))?.to_string();
                Some((p, text, line))
            })
            .unwrap_or_else(|| panic!("{}: no aligned `=` in any .tf", lab.name));
        let broken = text.replacen(&line, &line.replacen("  = ", " = ", 1), 1);
        std::fs::write(lab.generated().join(&rel), broken).unwrap();
        let o = terraform_fmt(&[Path::new("-check"), Path::new("-recursive"), &tofu]);
        assert!(
            !o.status.success(),
            "{}: terraform fmt -check accepted a misaligned {rel}",
            lab.name
        );
        let file = rel.rsplit('/').next().unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(file),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

/// The writer's alignment equals what `terraform fmt` makes of the same
/// block written unaligned.
#[test]
fn alignment_matches_terraform_fmt() {
    use hcl::{Block, Body, Expr, Items};
    let body = Body::new().block(
        Block::new("resource", ["vault_kubernetes_auth_backend_role", "app"])
            .attr("backend", "kubernetes")
            .attr("role_name", "app")
            .attr("bound_service_account_names", Expr::list(["app"]))
            .attr(
                "token_policies",
                Expr::list([Expr::raw("vault_policy.app.name")]),
            )
            .blank()
            .attr("ttl", 60)
            .attr("x", "${not interpolated} %{ nor this }"),
    );
    let ours = hcl::to_string(&body);
    assert_eq!(
        ours,
        r#"resource "vault_kubernetes_auth_backend_role" "app" {
  backend                     = "kubernetes"
  role_name                   = "app"
  bound_service_account_names = ["app"]
  token_policies              = [vault_policy.app.name]

  ttl = 60
  x   = "$${not interpolated} %%{ nor this }"
}
"#
    );
    let unaligned: String = ours
        .lines()
        .map(|l| {
            let l = l.trim_start();
            match l.split_once(" = ") {
                Some((k, v)) => format!("{}={v}\n", k.trim_end()),
                None => format!("{l}\n"),
            }
        })
        .collect();
    assert_ne!(unaligned, ours);
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("main.tf");
    std::fs::write(&file, &unaligned).unwrap();
    let o = terraform_fmt(&[&file]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), ours);
}

/// Text a user wrote reaches the HCL escaped: `${` and `%{` are literal,
/// quotes and backslashes survive, and the result still formats cleanly.
/// (An owner role: a SQL identifier may hold all of these; most free-text
/// fields now have patterns that refuse them.)
#[test]
fn template_syntax_in_lab_values_is_escaped() {
    let text = lab_text("reference-toml");
    let evil = r#"arc${x}%{y}"q\"#;
    let toml_value = toml::Value::String(evil.to_string()).to_string();
    let edited = text.replacen(
        "webapp = {}",
        &format!("webapp = {{ owner_role = {toml_value} }}"),
        1,
    );
    assert_ne!(edited, text);
    let lab = Lab::from_text("lab.toml", &edited);
    lab.build();
    // A per-name value is data: in labc.auto.tfvars.json (JSON-escaped),
    // which OpenTofu never templates, and in no `.tf` file.
    let data = lab.read("tofu/postgres/labc.auto.tfvars.json");
    assert!(
        data.contains(r#""owner_role": "arc${x}%{y}\"q\\""#),
        "{data}"
    );
    for (path, text) in lab.files() {
        if path.ends_with(".tf") {
            assert!(!text.contains("arc$"), "{path}");
        }
    }
    // Terraform reads it back literally.
    let e = Evaluated::of(&lab.generated().join("tofu/postgres"));
    assert!(
        e.managed("postgresql_role")
            .iter()
            .any(|r| s(r, "name") == evil),
        "no role named {evil:?}"
    );
    // Every module still reads back as HCL.
    let _ = modules(&lab.files());
    assert_formatted(&lab.generated().join("tofu"));
}

#[test]
fn names_opentofu_cannot_take_are_rejected_with_their_position() {
    let text = lab_text(REFERENCE);
    // Two database names OpenTofu once could not tell apart are two keys of
    // a `for_each` now: accepted.
    let twins = text.replacen(
        "    dance-lessons-coach = {},\n  },",
        "    dance-lessons-coach = {},\n    \"team-a\" = {},\n    team_a = {},\n  },",
        1,
    );
    let lab = Lab::from_text("lab.ncl", &twins);
    lab.build();
    let data = lab.read("tofu/postgres/labc.auto.tfvars.json");
    assert!(
        data.contains("\"team-a\": {") && data.contains("\"team_a\": {"),
        "{data}"
    );

    let edited = text
        .replacen("ovh = { source", "my_ovh = { source", 1)
        .replacen("\"cloudflare\", \"ovh\"]", "\"cloudflare\", \"my_ovh\"]", 1)
        // A hand-written root's state prefix.
        .replacen(
            "        kind = 'factory,\n",
            "        kind = 'factory,\n        state_prefix = \"factory/main\",\n",
            1,
        );
    // A certificate checked against the lab's CA, and no CA.
    let edited = remove_record(&edited, "  pki = {\n").replacen(
        "sslmode = 'disable",
        "sslmode = 'verify_full",
        1,
    );
    assert!(edited.contains("\"my_ovh\"]"));
    let lab = Lab::from_text("lab.ncl", &edited);
    let o = lab.run(&["build"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    let line_of = |needle: &str| {
        edited
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    for (message, needle) in [
        (
            "`my_ovh` can't be an OpenTofu provider local name",
            "my_ovh = {",
        ),
        (
            "module `factory` would keep its state under `factory/main`, a hand-written root's prefix",
            "state_prefix = \"factory/main\"",
        ),
        (
            "`postgres.sslmode` is `'verify_full`, which checks the server's certificate against the lab's CA, but the lab has no `pki`",
            "sslmode = 'verify_full",
        ),
    ] {
        assert!(err.contains(message), "{message}:\n{err}");
        assert!(
            err.contains(&format!("lab.ncl:{}:", line_of(needle))),
            "{needle}:\n{err}"
        );
    }
    assert!(!lab.generated().exists(), "nothing is written");
}

/// `text` without the record that starts with the line `start` (up to its
/// closing line at the same indentation).
fn remove_record(text: &str, start: &str) -> String {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}"));
    let indent = &start[..start.len() - start.trim_start().len()];
    let close = format!("\n{indent}}},\n");
    let to = from + text[from..].find(&close).expect("closing line") + close.len();
    format!("{}{}", &text[..from], &text[to..])
}

//! OpenTofu modules, read back by a real HCL parser and checked by the real
//! formatter.
//!
//! Every generated `.tf` is parsed with `hcl-edit` and walked: each
//! reference (`type.name.attr`, `data.type.name.attr`, `var.x`) must name a
//! block declared in the same module and an attribute that block sets (or
//! one the provider computes); the postgres module declares exactly the
//! lab's databases and roles; backends, provider pins and the factory
//! module's Vault, Gitea and Google objects are those of the lab. `terraform
//! fmt` (hclwrite, the formatter `tofu fmt` uses) must change nothing on the
//! whole `generated/tofu` tree, and must notice a file that is off.
//! `terraform validate` needs the providers, which are not available
//! offline, so it is not run.

use crate::common::{Lab, REFERENCE, lab_text, labs, stderr};
use crate::tf::{Module, attr, labels, modules, string, strings};
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

impl Visit for Refs {
    fn visit_expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Traversal(t) => {
                if let Expression::Variable(root) = &t.expr {
                    let mut path = vec![root.as_str().to_owned()];
                    for op in &t.operators {
                        match op.value() {
                            TraversalOperator::GetAttr(id) => path.push(id.as_str().to_owned()),
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
    ];
    let mut refs = Refs::default();
    for block in m.blocks() {
        collect(block, &mut refs, &providers);
    }
    for path in &refs.0 {
        let (target, kind, rest) = match path[0].as_str() {
            "var" => {
                assert!(variables.contains(&path[1]), "undeclared {path:?}");
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
    if block.ident.as_str() == "lifecycle" {
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

fn check_postgres(m: &Module, want: &PgExpect) {
    let dbs: BTreeMap<String, String> = m
        .resources("postgresql_database")
        .values()
        .map(|b| {
            assert_eq!(string(attr(b, "template")), "template0");
            let owner = attr(b, "owner").to_string();
            (string(attr(b, "name")), owner.trim().to_owned())
        })
        .collect();
    let roles = m.resources("postgresql_role");
    let role_name = |reference: &str| {
        let name = reference
            .strip_prefix("postgresql_role.")
            .and_then(|r| r.strip_suffix(".name"))
            .unwrap_or_else(|| panic!("not a role reference: {reference}"));
        string(attr(roles[name], "name"))
    };
    let got: BTreeMap<String, String> = dbs
        .iter()
        .map(|(db, owner)| (db.clone(), role_name(owner)))
        .collect();
    let expected: BTreeMap<String, String> = want
        .databases
        .iter()
        .map(|(d, r)| (d.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, expected, "databases and their owners");

    // name → (login, create_role); create_role defaults to false.
    let mut role_names: BTreeMap<String, (bool, bool)> = roles
        .values()
        .map(|b| {
            let login = attr(b, "login").as_bool().expect("login is a bool");
            let create_role = b
                .get_attribute("create_role")
                .map(|a| a.value.as_bool().expect("create_role is a bool"));
            assert_ne!(create_role, Some(false), "false is the default");
            (
                string(attr(b, "name")),
                (login, create_role.unwrap_or(false)),
            )
        })
        .collect();
    // Vault logs in as credentials_editor to create its users.
    assert_eq!(
        role_names.remove(want.editor),
        Some((true, true)),
        "login role {}, with CREATEROLE",
        want.editor
    );
    assert_eq!(
        role_names.remove(want.pooler),
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
        role_names, owners,
        "owner roles, none can log in or create roles"
    );

    // credentials_editor holds each owner role with admin option.
    let granted: BTreeSet<String> = m
        .resources("postgresql_grant_role")
        .values()
        .map(|b| {
            assert_eq!(role_name(attr(b, "role").to_string().trim()), want.editor);
            assert_eq!(attr(b, "with_admin_option").as_bool(), Some(true));
            role_name(attr(b, "grant_role").to_string().trim())
        })
        .collect();
    assert_eq!(granted, owners.keys().cloned().collect());

    // user_lookup() in every database, SECURITY DEFINER, pgbouncer's shape.
    let functions = m.resources("postgresql_function");
    let mut in_dbs = BTreeSet::new();
    for (name, f) in &functions {
        assert_eq!(string(attr(f, "name")), "user_lookup");
        assert_eq!(attr(f, "security_definer").as_bool(), Some(true));
        assert_eq!(string(attr(f, "returns")), "record");
        assert_eq!(string(attr(f, "language")), "plpgsql");
        let body = string(attr(f, "body"));
        assert!(body.contains("FROM pg_catalog.pg_authid"), "{body}");
        assert!(body.contains("INTO uname, phash;"), "{body}");
        let args: Vec<(String, String, String)> = f
            .blocks()
            .filter(|b| b.ident.as_str() == "arg")
            .map(|b| {
                let s = |k| string(attr(&b.body, k));
                (s("mode"), s("name"), s("type"))
            })
            .collect();
        let want_args = [("IN", "i_username"), ("OUT", "uname"), ("OUT", "phash")];
        let want_args: Vec<(String, String, String)> = want_args
            .iter()
            .map(|(m, n)| (m.to_string(), n.to_string(), "text".to_string()))
            .collect();
        assert_eq!(args, want_args, "{name}");
        let db = attr(f, "database").to_string();
        let db = db.trim().strip_prefix("postgresql_database.").unwrap();
        let db = db.strip_suffix(".name").unwrap();
        in_dbs.insert(string(attr(m.resources("postgresql_database")[db], "name")));
    }
    assert_eq!(in_dbs, expected.keys().cloned().collect());

    // Per function: EXECUTE revoked from public, granted to pgbouncer_auth.
    let mut grants: BTreeMap<String, BTreeSet<(String, Vec<String>)>> = BTreeMap::new();
    for g in m.resources("postgresql_grant").values() {
        assert_eq!(string(attr(g, "object_type")), "function");
        let objects = attr(g, "objects").to_string();
        let role = match attr(g, "role").as_str() {
            Some(s) => s.to_owned(),
            None => role_name(attr(g, "role").to_string().trim()),
        };
        grants
            .entry(objects.trim().to_owned())
            .or_default()
            .insert((role, strings(attr(g, "privileges"))));
    }
    assert_eq!(grants.len(), functions.len());
    for (objects, set) in grants {
        let want: BTreeSet<(String, Vec<String>)> = [
            ("public".to_string(), vec![]),
            (want.pooler.to_string(), vec!["EXECUTE".to_string()]),
        ]
        .into();
        assert_eq!(set, want, "grants on {objects}");
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
}

fn check_factory(m: &Module, want: &FactoryExpect) {
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

    let documents = m.declared("data");
    let policies = m.resources("vault_policy");
    let k8s = m.resources("vault_kubernetes_auth_backend_role");
    assert_eq!(policies.len(), want.vault_apps.len());
    assert_eq!(k8s.len(), want.vault_apps.len());
    for (app, namespace, creds) in want.vault_apps {
        let policy = policies
            .values()
            .find(|p| string(attr(p, "name")) == *app)
            .unwrap_or_else(|| panic!("no policy {app}"));
        let doc_ref = attr(policy, "policy").to_string();
        let doc_name = doc_ref.trim().split('.').nth(2).unwrap().to_owned();
        let doc = documents[&("vault_policy_document".to_string(), doc_name)];
        let mut paths: Vec<String> = doc
            .blocks()
            .map(|r| {
                assert_eq!(strings(attr(&r.body, "capabilities")), ["read"]);
                string(attr(&r.body, "path"))
            })
            .collect();
        paths.sort();
        let mut expected = vec![
            format!("{}/data/{app}", want.kv_mount),
            format!("{}/metadata/{app}", want.kv_mount),
        ];
        if let Some(c) = creds {
            expected.push(format!("{}/creds/{c}", want.db_mount));
        }
        expected.sort();
        assert_eq!(paths, expected, "policy of {app}");
        let role = k8s
            .values()
            .find(|r| string(attr(r, "role_name")) == *app)
            .unwrap_or_else(|| panic!("no auth role {app}"));
        assert_eq!(string(attr(role, "backend")), want.k8s_mount);
        assert_eq!(strings(attr(role, "bound_service_account_names")), [*app]);
        assert_eq!(
            strings(attr(role, "bound_service_account_namespaces")),
            [*namespace]
        );
    }

    let db_roles = m.resources("vault_database_secret_backend_role");
    let got: BTreeMap<String, String> = db_roles
        .values()
        .map(|r| {
            assert_eq!(string(attr(r, "backend")), want.db_mount);
            assert_eq!(string(attr(r, "db_name")), want.connection);
            assert_eq!(
                attr(r, "default_ttl").as_number().and_then(|n| n.as_i64()),
                Some(want.ttl)
            );
            let creation = strings(attr(r, "creation_statements"));
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
                strings(attr(r, "revocation_statements")),
                ["DROP ROLE IF EXISTS \"{{name}}\";"]
            );
            (string(attr(r, "name")), owner.to_owned())
        })
        .collect();
    let expected: BTreeMap<String, String> = want
        .vault_databases
        .iter()
        .map(|(d, r)| (d.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, expected, "Vault database roles");

    let repos: BTreeSet<(String, String)> = m
        .resources("gitea_repository")
        .values()
        .map(|r| (string(attr(r, "username")), string(attr(r, "name"))))
        .collect();
    let expected: BTreeSet<(String, String)> = want
        .repos
        .iter()
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .collect();
    assert_eq!(repos, expected, "Gitea repositories");

    let buckets = m.resources("google_storage_bucket");
    assert_eq!(buckets.len(), 1);
    let bucket = buckets.values().next().unwrap();
    assert_eq!(string(attr(bucket, "name")), want.bucket);
    assert_eq!(string(attr(bucket, "location")), want.region);
    assert_eq!(m.resources("google_service_account").len(), 1);
    assert_eq!(m.resources("google_storage_hmac_key").len(), 1);
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
        ("arcodange-tf".into(), "factory/postgres".into())
    );
    assert_eq!(
        pg.required_providers(),
        pins(&[("postgresql", "cyrilgdn/postgresql", "1.26.0")])
    );
    let postgresql = pg.provider_blocks()["postgresql"];
    assert_eq!(string(attr(postgresql, "host")), "192.168.1.202");
    for secret in ["password", "username"] {
        assert!(
            postgresql.get_attribute(secret).is_none(),
            "{secret} comes from the environment"
        );
    }
    check_postgres(
        pg,
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
        ("arcodange-tf".into(), "factory/main".into())
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
    let org = "arcodange-org";
    check_factory(
        factory,
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
        },
    );
    // A name with `-` becomes a valid resource name.
    assert!(
        factory
            .resources("gitea_repository")
            .contains_key("dance_lessons_coach")
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
        ("bigcluster-state".into(), "databases/main".into())
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
    check_postgres(
        pg,
        &PgExpect {
            databases: &[("ledger", "ledger_owner"), ("metrics", "metrics_role")],
            editor: "grant_admin",
            pooler: "pooler_lookup",
        },
    );

    let platform = &modules["platform"];
    assert_eq!(
        platform.backend(),
        ("bigcluster-state".into(), "platform/main".into())
    );
    assert_eq!(
        platform.required_providers(),
        pins(&[
            ("gitea", "go-gitea/gitea", "0.6.0"),
            ("google", "hashicorp/google", "7.0.1"),
            ("vault", "hashicorp/vault", "5.11.0"),
        ])
    );
    check_factory(
        platform,
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
    use hcl::{Block, Body, Expr};
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
    let databases = lab.read("tofu/postgres/databases.tf");
    assert!(databases.contains(r#""arc$${x}%%{y}\"q\\""#), "{databases}");
    // Every module still reads back as HCL.
    let _ = modules(&lab.files());
    assert_formatted(&lab.generated().join("tofu"));
}

#[test]
fn names_opentofu_cannot_take_are_rejected_with_their_position() {
    let text = lab_text(REFERENCE);
    let edited = text
        .replacen(
            "    dance-lessons-coach = {},\n  },",
            "    dance-lessons-coach = {},\n    \"team-a\" = {},\n    team_a = {},\n  },",
            1,
        )
        .replacen("ovh = { source", "my_ovh = { source", 1)
        .replacen("\"cloudflare\", \"ovh\"]", "\"cloudflare\", \"my_ovh\"]", 1);
    assert_eq!(edited.matches("team_a").count(), 1);
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
    assert!(
        err.contains("databases `team-a` and `team_a` both become OpenTofu resource name `team_a`"),
        "{err}"
    );
    assert!(
        err.contains(&format!("lab.ncl:{}:5", line_of("team_a = {}"))),
        "{err}"
    );
    assert!(
        err.contains("`my_ovh` can't be an OpenTofu provider local name"),
        "{err}"
    );
    assert!(
        err.contains(&format!("lab.ncl:{}:", line_of("my_ovh = {"))),
        "{err}"
    );
    assert!(!lab.generated().exists(), "nothing is written");
}

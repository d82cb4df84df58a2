//! OpenTofu: `tofu/<module>/` for each module of `lab.tofu.modules`, safe to
//! plan against the running lab.
//!
//! Data, not copies: every object the lab has one of per database or app
//! (owner roles, databases, `user_lookup()` and its grants, Vault policies,
//! auth and database roles, Gitea repositories) is one `resource` block with
//! `for_each` over a variable, and the sets live in `labc.auto.tfvars.json`
//! beside the `.tf` files. Adding a database or an app changes that data
//! file only; the resource blocks hold no value of the lab's, only fixed
//! text and references, so no user text is ever code (tfvars values are
//! literal data: OpenTofu does not template them).
//!
//! - A `'postgres` module (the guidebook's `postgres/iac`, emitted when
//!   `postgres.manager` is `'opentofu`): per database its non-login owner
//!   role, the database from `template0`, the owner role granted with admin
//!   option to the shared login role `credentials_editor` (which Vault logs
//!   in as), and pgbouncer's `user_lookup()`, executable by `pgbouncer_auth`
//!   only.
//! - A `'factory` module (the labc-managed part of the guidebook's `iac/`):
//!   the Vault mounts it relies on (KV v2, Kubernetes auth and its config,
//!   the database engine and its PostgreSQL connection), unless the lab says
//!   one is managed elsewhere (then a data source or a variable names it);
//!   per app using Vault its policy and Kubernetes auth role; per database
//!   Vault serves its database role; the apps' Gitea repositories; Longhorn's
//!   GCS backup bucket, service account and HMAC key, the key written to
//!   Vault KV with a policy and auth role for Longhorn.
//!
//! Invariants:
//! - nothing is destroyed by default: databases, roles, repositories, the
//!   bucket, Vault mounts, auth backends and the connection carry
//!   `prevent_destroy`; every attribute the Gitea provider's update sends is
//!   set from the lab, so adopting a repository never rewrites it to the
//!   provider's defaults;
//! - every module has a state prefix of its own (validation refuses the
//!   hand-written roots' prefixes), and with `adopt` an `imports.tf` whose
//!   `import` blocks take over the existing objects on the first plan; the
//!   import IDs are data (`imports` in the tfvars), in each provider's format
//!   ([`names`]);
//! - every file goes through [`hcl::write_after`], so `tofu fmt` leaves it
//!   unchanged; raw expressions are built from fixed text only;
//! - every reference points at a resource, data source or variable declared
//!   in the same module;
//! - no secret value: credentials come from the environment or from a
//!   sensitive variable (named in comments).

use super::hcl::{self, Block, Body, Expr, Items};
use super::postgres;
use super::{File, header};
use crate::model::{
    Gitea, Lab, Longhorn, Module, ModuleKind, Postgres, PostgresManager, SslMode, Tofu, Vault,
    VaultPart,
};
use crate::names;
use serde_json::{Map, Value, json};

pub fn emit(lab: &Lab) -> Vec<File> {
    let mut files = Vec::new();
    // Every module kind manages PostgreSQL's objects or Vault's connection
    // to it, so a module implies PostgreSQL (validation).
    let (Some(tofu), Some(pg)) = (&lab.tofu, &lab.postgres) else {
        return files;
    };
    let lab = &PgView {
        lab,
        tofu,
        postgres: pg,
    };
    let factory_view = match (&lab.vault, &lab.gitea, &lab.longhorn) {
        (Some(vault), Some(gitea), Some(longhorn)) => {
            vault
                .connection_url
                .as_deref()
                .map(|connection_url| FactoryView {
                    base: *lab,
                    vault,
                    gitea,
                    longhorn,
                    connection_url,
                })
        }
        _ => None,
    };
    for module in tofu.modules.values() {
        let Some(Generated { tf, data }) = (match module.kind {
            ModuleKind::Postgres => postgres(lab, module),
            // Validation requires what a factory module manages.
            ModuleKind::Factory => factory_view.as_ref().map(|f| factory(f, module)),
        }) else {
            continue;
        };
        let dir = format!("tofu/{}", module.name);
        files.extend(
            tf.into_iter()
                .filter(|(_, body)| !body.is_empty())
                .map(|(file, body)| File {
                    path: format!("{dir}/{file}"),
                    contents: hcl::write_after(header("#", lab) + "\n", &body),
                }),
        );
        files.push(File {
            path: format!("{dir}/{DATA_FILE}"),
            contents: tfvars(lab, data),
        });
    }
    files
}

/// The sections every module reads, each present: fields shadow the
/// `Option`s of [`Lab`] of the same name, the rest is the lab's.
#[derive(Clone, Copy)]
struct PgView<'a> {
    lab: &'a Lab,
    tofu: &'a Tofu,
    postgres: &'a Postgres,
}

impl std::ops::Deref for PgView<'_> {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        self.lab
    }
}

/// What a `'factory` module reads besides: Vault, Gitea and Longhorn, and
/// Vault's connection URL to PostgreSQL.
struct FactoryView<'a> {
    base: PgView<'a>,
    vault: &'a Vault,
    gitea: &'a Gitea,
    longhorn: &'a Longhorn,
    connection_url: &'a str,
}

impl<'a> std::ops::Deref for FactoryView<'a> {
    type Target = PgView<'a>;
    fn deref(&self) -> &PgView<'a> {
        &self.base
    }
}

/// The data file OpenTofu loads by itself (`*.auto.tfvars.json`).
pub const DATA_FILE: &str = "labc.auto.tfvars.json";

/// A module: its `.tf` files and the values of its variables.
struct Generated<'a> {
    tf: Vec<(&'static str, Body<'a>)>,
    data: Map<String, Value>,
}

/// `labc.auto.tfvars.json`: the header as the first key (`"//"` is a
/// comment in HCL's JSON syntax, which OpenTofu reads tfvars with), then
/// the variables in name order, two-space indented, one trailing newline.
fn tfvars(lab: &PgView, data: Map<String, Value>) -> String {
    let mut out = Map::new();
    out.insert("//".into(), Value::String(super::header_sentence(lab)));
    let mut sorted: Vec<_> = data.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(sorted);
    let mut text = serde_json::to_string_pretty(&Value::Object(out)).expect("JSON of strings");
    text.push('\n');
    text
}

const POSTGRESQL: &str = "cyrilgdn/postgresql";
const VAULT: &str = "hashicorp/vault";
const GITEA: &str = "go-gitea/gitea";
const GOOGLE: &str = "hashicorp/google";

/// Where resources of the provider `source` come from in `module`: its local
/// name there, and the `provider` meta-argument resources need when that
/// name is not the one their type implies (`natural`).
struct ProviderRef {
    local: String,
    meta: Option<Expr<'static>>,
}

fn provider_ref(lab: &PgView, module: &Module, source: &str, natural: &str) -> ProviderRef {
    let local = module
        .providers
        .iter()
        .find(|p| {
            lab.tofu
                .providers
                .get(*p)
                .is_some_and(|p| p.source == source)
        })
        .cloned()
        // Validation makes each module pin the sources it declares
        // resources of; the implied name is what OpenTofu would assume.
        .unwrap_or_else(|| natural.to_string());
    let meta = (local != natural).then(|| Expr::raw(local.clone()));
    ProviderRef { local, meta }
}

/// `<kind> "<type>" "<name>" {}` (`resource` or `data`), with the `provider`
/// meta-argument first when needed and `for_each` after it.
fn block<'a>(
    kind: &'a str,
    ty: &'a str,
    name: &'a str,
    provider: &ProviderRef,
    for_each: Option<&'a str>,
) -> Block<'a> {
    let mut b = Block::new(kind, [ty, name]);
    if let Some(meta) = &provider.meta {
        b = b.attr("provider", meta.clone());
    }
    if let Some(set) = for_each {
        b = b.attr("for_each", Expr::raw(set)).blank();
    }
    b
}

fn resource<'a>(ty: &'a str, name: &'a str, p: &ProviderRef) -> Block<'a> {
    block("resource", ty, name, p, None)
}

/// A resource with one instance per key of the variable `set`.
fn keyed<'a>(ty: &'a str, name: &'a str, p: &ProviderRef, set: &'a str) -> Block<'a> {
    block("resource", ty, name, p, Some(set))
}

fn raw<'a>(text: impl Into<hcl::Text<'a>>) -> Expr<'a> {
    Expr::raw(text)
}

/// `lifecycle { prevent_destroy = true ... }`, with `ignore_changes` when
/// some attributes are managed elsewhere.
fn lifecycle<'a>(why: Option<&'a str>, ignore: &[&str]) -> Block<'a> {
    let mut b = Block::unlabeled("lifecycle");
    if let Some(why) = why {
        b = b.comment(why);
    }
    b = b.attr("prevent_destroy", true);
    if !ignore.is_empty() {
        b = b.attr(
            "ignore_changes",
            Expr::List(ignore.iter().map(|a| raw(a.to_string())).collect()),
        );
    }
    b
}

const KEPT: &str = "Removing it from the lab makes the plan fail instead of deleting\n\
                    data; README.md says how to retire one on purpose.";

/// Adds `blocks` to `body`, one blank line between them; a comment right
/// before the first stays attached to it.
fn push_blocks<'a>(body: &mut Body<'a>, blocks: impl IntoIterator<Item = Block<'a>>) {
    for block in blocks {
        if body
            .items
            .last()
            .is_some_and(|i| !matches!(i, hcl::Item::Comment(_)))
        {
            body.push(hcl::Item::Blank);
        }
        body.push(hcl::Item::Block(block));
    }
}

/// Starts a section of `body`: a blank line after what came before, then
/// `text` as a comment wrapped at 80 columns.
fn section(body: &mut Body<'_>, text: &str) {
    if !body.is_empty() {
        body.push(hcl::Item::Blank);
    }
    body.push(hcl::Item::Comment(wrap(text).into()));
}

/// Greedy word wrap so that `# ` plus each line fits in 80 columns (a word
/// longer than that gets a line of its own). Paragraphs split on `\n`.
fn wrap(text: &str) -> String {
    const WIDTH: usize = 78;
    let mut out = String::with_capacity(text.len() + 8);
    for (i, paragraph) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut line = 0;
        for word in paragraph.split_whitespace() {
            let width = hcl::width(word);
            if line > 0 && line + 1 + width > WIDTH {
                out.push('\n');
                line = 0;
            } else if line > 0 {
                out.push(' ');
                line += 1;
            }
            out.push_str(word);
            line += width;
        }
    }
    out
}

/// `versions.tf`: the GCS backend and every provider the module pins.
fn versions<'a>(lab: &'a PgView<'a>, module: &'a Module, modelled: &[&str]) -> Body<'a> {
    let mut required = Block::unlabeled("required_providers");
    for local in &module.providers {
        let Some(p) = lab.tofu.providers.get(local) else {
            continue;
        };
        if !modelled.contains(&p.source.as_str()) {
            required = required.comment(wrap(&format!(
                "Pinned only: labc declares no {} resources; hand-written files use it.",
                p.source
            )));
        }
        required = required.attr(
            local.clone(),
            Expr::object([("source", &p.source), ("version", &p.version)]),
        );
    }
    let backend = Block::new("backend", ["gcs"])
        .attr("bucket", &lab.tofu.state_bucket)
        .attr("prefix", &module.state_prefix);
    Body::new()
        .comment(wrap(&format!(
            "State: gs://{}/{}/default.tfstate, this module's own: it declares \
             everything that state holds (the lab's hand-written roots keep theirs).",
            lab.tofu.state_bucket, module.state_prefix
        )))
        .block(
            Block::unlabeled("terraform")
                .block(backend)
                .blank()
                .block(required),
        )
}

/// `variable "<name>" { description, type }`.
fn variable<'a>(name: &'a str, description: &'a str, ty: &'a str) -> Block<'a> {
    Block::new("variable", [name])
        .attr("description", description)
        .attr("type", raw(ty))
}

/// `imports.tf`'s variable: resource address -> key -> import ID.
fn imports_variable() -> Block<'static> {
    variable(
        "imports",
        "Objects the running lab already holds, adopted on the first plan: \
         resource address -> instance key -> import ID (labc.auto.tfvars.json).",
        "map(map(string))",
    )
}

/// `import { for_each = var.imports["<to>"]  to = <to>[each.key]  id = each.value }`.
fn keyed_import(to: &str) -> Block<'static> {
    Block::unlabeled("import")
        .attr("for_each", raw(format!("var.imports[\"{to}\"]")))
        .blank()
        .attr("to", raw(format!("{to}[each.key]")))
        .attr("id", raw("each.value"))
}

/// `import { to = <to>  id = "<id>" }` for an object the module has one of.
fn single_import<'a>(to: &'static str, id: String) -> Block<'a> {
    Block::unlabeled("import")
        .attr("to", raw(to))
        .attr("id", id)
}

fn imports_entry<'a, I>(data: &mut Map<String, Value>, to: &str, ids: I)
where
    I: IntoIterator<Item = (&'a str, String)>,
{
    let entries: Map<String, Value> = ids
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
    data.entry("imports")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("imports is an object")
        .insert(to.to_string(), Value::Object(entries));
}

// ---------------------------------------------------------------- postgres

fn postgres<'a>(lab: &'a PgView<'a>, module: &'a Module) -> Option<Generated<'a>> {
    // One manager per object: with the SQL scripts in charge, no module
    // declares the same objects (validation refuses a 'postgres module then).
    if lab.postgres.manager != PostgresManager::Opentofu {
        return None;
    }
    let pg = provider_ref(lab, module, POSTGRESQL, "postgresql");
    let mut provider = Block::new("provider", [pg.local.clone()])
        .attr("host", lab.postgres.address.to_string())
        .attr("port", lab.postgres.port)
        .attr("sslmode", names::libpq_sslmode(lab.postgres.sslmode));
    let verifies = matches!(
        lab.postgres.sslmode,
        SslMode::VerifyCa | SslMode::VerifyFull
    );
    if let (true, Some(pki)) = (verifies, &lab.pki) {
        provider = provider.attr("sslrootcert", &pki.root_ca_file);
    }
    let providers = Body::new()
        .comment(wrap(&format!(
            "Credentials come from the environment, never from this file: PGUSER and \
             PGPASSWORD (a superuser's: user_lookup() must belong to one). sslmode is \
             the lab's postgres.sslmode ({}): lib/pq would otherwise require TLS.",
            names::libpq_sslmode(lab.postgres.sslmode)
        )))
        .block(provider);

    let mut data = Map::new();
    data.insert(
        "databases".into(),
        Value::Object(
            lab.databases
                .values()
                .map(|db| (db.name.clone(), json!({ "owner_role": db.owner_role })))
                .collect(),
        ),
    );
    let variables = Body::new().block(variable(
        "databases",
        "The lab's databases, by name, with the role that owns each.",
        "map(object({ owner_role = string }))",
    ));

    let mut tf = vec![
        ("versions.tf", versions(lab, module, &[POSTGRESQL])),
        ("providers.tf", providers),
        ("variables.tf", variables),
        ("roles.tf", login_roles(lab, &pg)),
        ("databases.tf", databases(lab, &pg)),
    ];
    if module.adopt {
        tf.push(("imports.tf", postgres_imports(lab, &mut data)));
    }
    Some(Generated { tf, data })
}

const EDITOR: &str = "credentials_editor";
const POOLER: &str = "pgbouncer_auth";

/// The shared login roles. Their passwords are set out of band, so OpenTofu
/// must never compare them (the provider reads the live password back).
fn login_roles<'a>(lab: &'a PgView<'a>, pg: &ProviderRef) -> Body<'a> {
    let editor = resource("postgresql_role", EDITOR, pg)
        .attr("name", &lab.postgres.credentials_editor)
        .attr("login", true)
        .attr("create_role", true)
        .blank()
        .block(lifecycle(
            Some(
                "Vault rotates its password; postgresql_grant_role resources grant\n\
                 it the owner roles.",
            ),
            &["password", "roles"],
        ));
    let pooler = resource("postgresql_role", POOLER, pg)
        .attr("name", &lab.postgres.pgbouncer_auth)
        .attr("login", true)
        .blank()
        .block(lifecycle(
            Some("Its password is set out of band, where pgbouncer reads it."),
            &["password"],
        ));
    let mut body = Body::new();
    section(
        &mut body,
        &format!(
            "The shared login roles: {} administers every owner role and may \
             create roles (Vault logs in as it to create and drop the users it \
             issues), {} calls each database's user_lookup(). Neither password is \
             set here.",
            lab.postgres.credentials_editor, lab.postgres.pgbouncer_auth
        ),
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [editor, pooler]);
    body
}

const DATABASES: &str = "var.databases";

fn databases<'a>(lab: &'a PgView<'a>, pg: &ProviderRef) -> Body<'a> {
    let role = keyed("postgresql_role", "owner", pg, DATABASES)
        .attr("name", raw("each.value.owner_role"))
        .attr("login", false)
        .blank()
        .block(lifecycle(Some(KEPT), &[]));
    let grant_role = keyed("postgresql_grant_role", "owner", pg, DATABASES)
        .attr("role", raw(format!("postgresql_role.{EDITOR}.name")))
        .attr("grant_role", raw("postgresql_role.owner[each.key].name"))
        .attr("with_admin_option", true);
    let database = keyed("postgresql_database", "database", pg, DATABASES)
        .attr("name", raw("each.key"))
        .attr("owner", raw("postgresql_role.owner[each.key].name"))
        .attr("template", "template0")
        .blank()
        .block(lifecycle(Some(KEPT), &[]));
    let arg = |mode: &'static str, name: &'static str| {
        Block::unlabeled("arg")
            .attr("mode", mode)
            .attr("name", name)
            .attr("type", "text")
    };
    let user_lookup = keyed("postgresql_function", "user_lookup", pg, DATABASES)
        .comment(
            "pgbouncer's auth_query: runs as its owner, the superuser applying this\n\
             module, to read pg_authid.",
        )
        .attr("name", postgres::USER_LOOKUP_FUNCTION)
        .attr("schema", postgres::USER_LOOKUP_SCHEMA)
        .attr(
            "database",
            raw("postgresql_database.database[each.key].name"),
        )
        .attr("returns", "record")
        .attr("language", "plpgsql")
        .attr("security_definer", true)
        .attr("body", postgres::USER_LOOKUP_BODY)
        .blank()
        .block(arg("IN", "i_username"))
        .block(arg("OUT", "uname"))
        .block(arg("OUT", "phash"));
    let grant = |name: &'static str, why: &'static str, role: Expr<'a>, privileges: Expr<'a>| {
        keyed("postgresql_grant", name, pg, DATABASES)
            .comment(why)
            .attr(
                "database",
                raw("postgresql_database.database[each.key].name"),
            )
            .attr(
                "schema",
                raw("postgresql_function.user_lookup[each.key].schema"),
            )
            .attr("role", role)
            .attr("object_type", "function")
            .attr(
                "objects",
                Expr::list([raw("postgresql_function.user_lookup[each.key].name")]),
            )
            .attr("privileges", privileges)
    };
    let revoke = grant(
        "user_lookup_public",
        "No privileges for PUBLIC: revokes the EXECUTE every function starts with.",
        Expr::str("public"),
        Expr::List(Vec::new()),
    );
    let execute = grant(
        "user_lookup_pgbouncer_auth",
        "pgbouncer's auth_user is the only caller.",
        raw(format!("postgresql_role.{POOLER}.name")),
        Expr::list(["EXECUTE"]),
    );
    let mut body = Body::new();
    section(
        &mut body,
        &format!(
            "Per database of var.databases: its owner role (no login), which {} \
             administers and Vault grants to the users it creates; the database; \
             pgbouncer's user_lookup(), executable by {} only.",
            lab.postgres.credentials_editor, lab.postgres.pgbouncer_auth
        ),
    );
    body.push(hcl::Item::Blank);
    push_blocks(
        &mut body,
        [role, grant_role, database, user_lookup, revoke, execute],
    );
    body
}

fn postgres_imports<'a>(lab: &'a PgView<'a>, data: &mut Map<String, Value>) -> Body<'a> {
    let dbs = || lab.databases.values();
    imports_entry(
        data,
        "postgresql_role.owner",
        dbs().map(|db| (db.name.as_str(), names::pg_role_import_id(&db.owner_role))),
    );
    imports_entry(
        data,
        "postgresql_database.database",
        dbs().map(|db| (db.name.as_str(), names::pg_database_import_id(&db.name))),
    );
    imports_entry(
        data,
        "postgresql_function.user_lookup",
        dbs().map(|db| (db.name.as_str(), postgres::user_lookup_import_id(&db.name))),
    );
    let mut body = Body::new();
    section(
        &mut body,
        "Adoption (tofu.modules.<this>.adopt): the first plan imports the roles, \
         databases and functions the running lab already has instead of creating \
         them. Grants are not importable; creating them again is harmless. Set \
         adopt = false once applied.",
    );
    body.push(hcl::Item::Blank);
    push_blocks(
        &mut body,
        [
            imports_variable(),
            single_import(
                "postgresql_role.credentials_editor",
                names::pg_role_import_id(&lab.postgres.credentials_editor),
            ),
            single_import(
                "postgresql_role.pgbouncer_auth",
                names::pg_role_import_id(&lab.postgres.pgbouncer_auth),
            ),
            keyed_import("postgresql_role.owner"),
            keyed_import("postgresql_database.database"),
            keyed_import("postgresql_function.user_lookup"),
        ],
    );
    body
}

// ----------------------------------------------------------------- factory

/// How the module names each Vault object it relies on: a reference to the
/// resource declaring it, or, when the lab says it is managed elsewhere, a
/// data source or a variable.
struct VaultRefs {
    kv: &'static str,
    kubernetes: &'static str,
    database: &'static str,
    connection: &'static str,
}

fn vault_refs(lab: &FactoryView) -> VaultRefs {
    let elsewhere = |p| lab.vault.managed_elsewhere.contains(&p);
    VaultRefs {
        kv: if elsewhere(VaultPart::Kv) {
            "var.kv_mount"
        } else {
            "vault_mount.kv.path"
        },
        kubernetes: if elsewhere(VaultPart::KubernetesAuth) {
            "data.vault_auth_backend.kubernetes.path"
        } else {
            "vault_auth_backend.kubernetes.path"
        },
        database: if elsewhere(VaultPart::Database) {
            "var.database_mount"
        } else {
            "vault_mount.database.path"
        },
        connection: if elsewhere(VaultPart::Database) {
            "var.database_connection"
        } else {
            "vault_database_secret_backend_connection.postgres.name"
        },
    }
}

fn factory<'a>(lab: &'a FactoryView<'a>, module: &'a Module) -> Generated<'a> {
    let vault = provider_ref(lab, module, VAULT, "vault");
    let gitea = provider_ref(lab, module, GITEA, "gitea");
    let google = provider_ref(lab, module, GOOGLE, "google");
    let refs = vault_refs(lab);

    let mut vault_provider =
        Block::new("provider", [vault.local.clone()]).attr("address", &lab.vault.address);
    let mut gitea_provider =
        Block::new("provider", [gitea.local.clone()]).attr("base_url", &lab.gitea.url);
    if let Some(pki) = &lab.pki {
        vault_provider = vault_provider.attr("ca_cert_file", &pki.root_ca_file);
        gitea_provider = gitea_provider.attr("cacert_file", &pki.root_ca_file);
    }
    let vault_provider = vault_provider.blank().block(
        Block::unlabeled("auth_login_jwt")
            .attr("mount", &lab.vault.jwt_mount)
            .attr("role", &lab.vault.jwt_role),
    );
    let ca = match &lab.pki {
        Some(p) => format!(
            " TLS is verified against the lab's root CA, {}.",
            p.root_ca_file
        ),
        None => String::new(),
    };
    let providers = Body::new()
        .comment(wrap(&format!(
            "Logs in through Vault's JWT auth mount {} as role {}, with the token in \
             TERRAFORM_VAULT_AUTH_JWT (Gitea Actions' OIDC token).{ca}",
            lab.vault.jwt_mount, lab.vault.jwt_role
        )))
        .block(vault_provider)
        .blank()
        .comment("The token comes from GITEA_TOKEN.")
        .block(gitea_provider)
        .blank()
        .comment(
            "Credentials come from the environment (GOOGLE_APPLICATION_CREDENTIALS\n\
             or gcloud's application default credentials).",
        )
        .block(
            Block::new("provider", [google.local.clone()])
                .attr("project", &lab.tofu.gcp_project)
                .attr("region", &lab.tofu.gcp_region),
        );

    let mut data = Map::new();
    let mut variables = Body::new();
    factory_data(lab, &mut data, &mut variables);

    let mut tf = vec![
        (
            "versions.tf",
            versions(lab, module, &[VAULT, GITEA, GOOGLE]),
        ),
        ("providers.tf", providers),
        ("variables.tf", variables),
        ("mounts.tf", mounts(lab, &vault)),
        ("vault.tf", vault_roles(lab, &vault, &refs)),
        ("gitea.tf", repositories(lab, &gitea)),
        ("longhorn.tf", longhorn(lab, &google, &vault, &refs)),
    ];
    if module.adopt {
        tf.push(("imports.tf", factory_imports(lab, &gitea, &mut data)));
    }
    Generated { tf, data }
}

/// The factory module's variables and their values.
fn factory_data<'a>(lab: &'a FactoryView<'a>, data: &mut Map<String, Value>, vars: &mut Body<'a>) {
    let vault_apps: Map<String, Value> = lab
        .apps
        .values()
        .filter_map(|app| {
            let v = app.vault.as_ref()?;
            Some((
                app.name.clone(),
                json!({
                    "policy": v.policy,
                    "auth_role": v.auth_role,
                    "service_account": v.service_account,
                    "namespace": app.namespace,
                    "kv_path": v.kv_path,
                    "database_creds": v.database_creds_path.iter().collect::<Vec<_>>(),
                }),
            ))
        })
        .collect();
    data.insert("vault_apps".into(), Value::Object(vault_apps));
    push_blocks(
        vars,
        [variable(
            "vault_apps",
            "Apps that read Vault, by name: their policy, Kubernetes auth role \
             (bound to service_account in namespace), KV path, and the database \
             credentials path (none or one) in the database mount.",
            "map(object({ policy = string, auth_role = string, service_account = string, namespace = string, kv_path = string, database_creds = list(string) }))",
        )],
    );

    let database_roles: Map<String, Value> = lab
        .databases
        .values()
        .filter_map(|db| {
            let role = db.vault_role.as_ref()?;
            Some((
                db.name.clone(),
                json!({
                    "name": role,
                    "creation_statements": postgres::vault_creation_statements(&db.owner_role),
                    "revocation_statements": postgres::vault_revocation_statements(),
                }),
            ))
        })
        .collect();
    data.insert("database_roles".into(), Value::Object(database_roles));
    push_blocks(
        vars,
        [variable(
            "database_roles",
            "Databases Vault issues credentials for, by name: the Vault role and \
             the statements that create a user in the database's owner role and \
             drop it.",
            "map(object({ name = string, creation_statements = list(string), revocation_statements = list(string) }))",
        )],
    );

    let r = &lab.gitea.repositories;
    // An upstream chart has no Gitea repository.
    let repositories: Map<String, Value> = lab
        .apps
        .values()
        .filter(|app| app.chart.is_none())
        .map(|app| {
            (
                app.name.clone(),
                json!({
                    "owner": app.org,
                    "name": app.name,
                    "private": r.private,
                    "default_branch": r.default_branch,
                    "auto_init": r.auto_init,
                    "has_issues": r.has_issues,
                    "has_wiki": r.has_wiki,
                    "has_pull_requests": r.has_pull_requests,
                    "has_projects": r.has_projects,
                    "allow_merge_commits": r.allow_merge_commits,
                    "allow_rebase": r.allow_rebase,
                    "allow_rebase_explicit": r.allow_rebase_explicit,
                    "allow_squash_merge": r.allow_squash_merge,
                    "allow_manual_merge": r.allow_manual_merge,
                    "autodetect_manual_merge": r.autodetect_manual_merge,
                    "ignore_whitespace_conflicts": r.ignore_whitespace_conflicts,
                    "archived": r.archived,
                    "template": r.template,
                }),
            )
        })
        .collect();
    data.insert("repositories".into(), Value::Object(repositories));
    push_blocks(
        vars,
        [variable(
            "repositories",
            "The apps' repositories, by app: owner (organisation) and name, and \
             every setting the provider writes on any update (gitea.repositories).",
            "map(object({ owner = string, name = string, private = bool, default_branch = string, auto_init = bool, has_issues = bool, has_wiki = bool, has_pull_requests = bool, has_projects = bool, allow_merge_commits = bool, allow_rebase = bool, allow_rebase_explicit = bool, allow_squash_merge = bool, allow_manual_merge = bool, autodetect_manual_merge = bool, ignore_whitespace_conflicts = bool, archived = bool, template = bool }))",
        )],
    );

    let elsewhere = |p| lab.vault.managed_elsewhere.contains(&p);
    let mut string_var = |name: &'static str, description: &'static str, value: &str| {
        data.insert(name.into(), Value::String(value.to_string()));
        push_blocks(vars, [variable(name, description, "string")]);
    };
    if elsewhere(VaultPart::Kv) {
        string_var(
            "kv_mount",
            "The KV v2 mount, managed outside labc (vault.managed_elsewhere).",
            &lab.vault.kv_mount,
        );
    }
    if elsewhere(VaultPart::Database) {
        string_var(
            "database_mount",
            "The database secrets mount, managed outside labc (vault.managed_elsewhere).",
            &lab.vault.database_mount,
        );
        string_var(
            "database_connection",
            "The PostgreSQL connection in that mount, managed outside labc; its \
             allowed_roles must list every name of var.database_roles.",
            &lab.vault.database_connection,
        );
    } else {
        push_blocks(
            vars,
            [variable(
                "credentials_editor_password",
                "Password Vault logs in to PostgreSQL with (as the connection's \
                 username), needed only when this module creates the connection: \
                 set TF_VAR_credentials_editor_password. Vault never returns it, and \
                 its own rotation changes it, so later plans ignore it.",
                "string",
            )
            .attr("sensitive", true)
            .attr("default", Expr::Null)],
        );
    }
}

/// The mounts, auth backend and connection the Vault roles live in.
fn mounts<'a>(lab: &'a FactoryView<'a>, vault: &ProviderRef) -> Body<'a> {
    let v = &lab.vault;
    let elsewhere = |p| v.managed_elsewhere.contains(&p);
    let mut body = Body::new();
    if elsewhere(VaultPart::Kv) {
        section(
            &mut body,
            &format!(
                "The KV v2 mount {} is managed elsewhere: var.kv_mount.",
                v.kv_mount
            ),
        );
    } else {
        section(
            &mut body,
            "The KV v2 secrets engine the apps' secrets live in.",
        );
        body.push(hcl::Item::Block(
            resource("vault_mount", "kv", vault)
                .attr("path", &v.kv_mount)
                .attr("type", "kv")
                .attr("options", Expr::object([("version", "2")]))
                .blank()
                .block(lifecycle(None, &[])),
        ));
    }
    if elsewhere(VaultPart::KubernetesAuth) {
        section(
            &mut body,
            "The Kubernetes auth backend is managed elsewhere; this data source \
             fails the plan if it does not exist.",
        );
        body.push(hcl::Item::Block(
            block("data", "vault_auth_backend", "kubernetes", vault, None)
                .attr("path", &v.kubernetes_mount),
        ));
    } else {
        section(
            &mut body,
            "The Kubernetes auth backend the apps' pods log in with, and its \
             config: Vault runs in the cluster, so it reviews tokens with its own \
             service account.",
        );
        body.push(hcl::Item::Block(
            resource("vault_auth_backend", "kubernetes", vault)
                .attr("type", "kubernetes")
                .attr("path", &v.kubernetes_mount)
                .blank()
                .block(lifecycle(None, &[])),
        ));
        push_blocks(
            &mut body,
            [
                resource("vault_kubernetes_auth_backend_config", "kubernetes", vault)
                    .attr("backend", raw("vault_auth_backend.kubernetes.path"))
                    .attr("kubernetes_host", &v.kubernetes_host),
            ],
        );
    }
    if elsewhere(VaultPart::Database) {
        section(
            &mut body,
            "The database secrets mount and its connection are managed elsewhere: \
             var.database_mount, var.database_connection.",
        );
    } else {
        section(
            &mut body,
            &format!(
                "The database secrets engine and its PostgreSQL connection: Vault \
                 logs in as {} (which holds every owner role with admin option) and \
                 may issue exactly the roles of var.database_roles.",
                lab.postgres.credentials_editor
            ),
        );
        body.push(hcl::Item::Block(
            resource("vault_mount", "database", vault)
                .attr("path", &v.database_mount)
                .attr("type", "database")
                .blank()
                .block(lifecycle(None, &[])),
        ));
        push_blocks(
            &mut body,
            [resource(
                "vault_database_secret_backend_connection",
                "postgres",
                vault,
            )
            .attr("backend", raw("vault_mount.database.path"))
            .attr("name", &v.database_connection)
            .attr(
                "allowed_roles",
                raw("[for role in var.database_roles : role.name]"),
            )
            .blank()
            .block(
                Block::unlabeled("postgresql")
                    .attr("connection_url", lab.connection_url)
                    .attr("username", &lab.postgres.credentials_editor)
                    .attr("password", raw("var.credentials_editor_password")),
            )
            .blank()
            .block(lifecycle(None, &["postgresql[0].password"]))],
        );
    }
    body
}

/// The apps' policies and Kubernetes auth roles, the databases' Vault roles.
fn vault_roles<'a>(lab: &'a FactoryView<'a>, vault: &ProviderRef, refs: &VaultRefs) -> Body<'a> {
    let rule = |path: String| {
        Block::unlabeled("rule")
            .attr("path", raw(path))
            .attr("capabilities", Expr::list(["read"]))
    };
    let document = block(
        "data",
        "vault_policy_document",
        "app",
        vault,
        Some("var.vault_apps"),
    )
    .block(rule(format!(
        "\"${{{}}}/data/${{each.value.kv_path}}\"",
        refs.kv
    )))
    .block(rule(format!(
        "\"${{{}}}/metadata/${{each.value.kv_path}}\"",
        refs.kv
    )))
    .block(
        Block::new("dynamic", ["rule"])
            .attr("for_each", raw("each.value.database_creds"))
            .blank()
            .block(
                Block::unlabeled("content")
                    .attr(
                        "path",
                        raw(format!("\"${{{}}}/${{rule.value}}\"", refs.database)),
                    )
                    .attr("capabilities", Expr::list(["read"])),
            ),
    );
    let policy = keyed("vault_policy", "app", vault, "var.vault_apps")
        .attr("name", raw("each.value.policy"))
        .attr(
            "policy",
            raw("data.vault_policy_document.app[each.key].hcl"),
        );
    let auth_role = keyed(
        "vault_kubernetes_auth_backend_role",
        "app",
        vault,
        "var.vault_apps",
    )
    .attr("backend", raw(refs.kubernetes))
    .attr("role_name", raw("each.value.auth_role"))
    .attr(
        "bound_service_account_names",
        Expr::list([raw("each.value.service_account")]),
    )
    .attr(
        "bound_service_account_namespaces",
        Expr::list([raw("each.value.namespace")]),
    )
    .attr(
        "token_policies",
        Expr::list([raw("vault_policy.app[each.key].name")]),
    );
    let database_role = keyed(
        "vault_database_secret_backend_role",
        "database",
        vault,
        "var.database_roles",
    )
    .attr("backend", raw(refs.database))
    .attr("name", raw("each.value.name"))
    .attr("db_name", raw(refs.connection))
    .attr("creation_statements", raw("each.value.creation_statements"))
    .attr(
        "revocation_statements",
        raw("each.value.revocation_statements"),
    )
    .attr("default_ttl", lab.vault.database_ttl);

    let mut body = Body::new();
    section(
        &mut body,
        "Per app of var.vault_apps: a policy reading its KV secret (and its \
         database credentials, if any), and the Kubernetes auth role its pods \
         log in with.",
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [document, policy, auth_role]);
    section(
        &mut body,
        "Per database of var.database_roles: the Vault role creating users in \
         its owner role.",
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [database_role]);
    body
}

fn repositories<'a>(lab: &'a FactoryView<'a>, gitea: &ProviderRef) -> Body<'a> {
    if lab.apps.values().all(|a| a.chart.is_some()) {
        return Body::new();
    }
    let mut repo = keyed("gitea_repository", "app", gitea, "var.repositories")
        .comment(
            "username and name force a new repository (the provider deletes the\n\
             old one with its history): prevent_destroy makes such a plan fail.",
        )
        .attr("username", raw("each.value.owner"))
        .attr("name", raw("each.value.name"));
    for attr in REPOSITORY_SETTINGS {
        let value = match *attr {
            "repo_template" => "each.value.template".to_string(),
            a => format!("each.value.{a}"),
        };
        repo = repo.attr(*attr, raw(value));
    }
    let repo = repo.blank().block(lifecycle(
        Some(
            "The provider reads description and website back, so ignoring them\n\
             keeps what the repository has.",
        ),
        &["description", "website"],
    ));
    let mut body = Body::new();
    section(
        &mut body,
        "The apps' repositories, under their organisations (which must exist). \
         Every setting the provider's update writes is set from the lab \
         (gitea.repositories), so adopting a repository never resets it to the \
         provider's defaults.",
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [repo]);
    body
}

/// The gitea_repository attributes set from `var.repositories`: every one
/// the provider's update sends (`EditRepoOption`), plus those only used at
/// creation (go-gitea/gitea 0.6.0, gitea/resource_gitea_repository.go).
const REPOSITORY_SETTINGS: &[&str] = &[
    "private",
    "default_branch",
    "auto_init",
    "has_issues",
    "has_wiki",
    "has_pull_requests",
    "has_projects",
    "allow_merge_commits",
    "allow_rebase",
    "allow_rebase_explicit",
    "allow_squash_merge",
    "allow_manual_merge",
    "autodetect_manual_merge",
    "ignore_whitespace_conflicts",
    "archived",
    "repo_template",
];

/// Fixed name of the Longhorn backup objects (one of each per module).
const LONGHORN: &str = "longhorn_backups";

/// Longhorn's backup target: the bucket, reached through GCS's S3 interop
/// with an HMAC key of a service account that may only use that bucket; the
/// key goes to Vault KV, readable by Longhorn's namespace only.
fn longhorn<'a>(
    lab: &'a FactoryView<'a>,
    google: &ProviderRef,
    vault: &ProviderRef,
    refs: &VaultRefs,
) -> Body<'a> {
    let l = &lab.longhorn;
    let bucket = resource("google_storage_bucket", LONGHORN, google)
        .attr("name", &l.backup_bucket)
        .attr("location", &lab.tofu.gcp_region)
        .blank()
        .block(lifecycle(Some("The volumes' backups."), &[]));
    let account = resource("google_service_account", LONGHORN, google)
        .attr("account_id", &l.gcp_account)
        .attr("display_name", "Longhorn backups");
    let member = resource("google_storage_bucket_iam_member", LONGHORN, google)
        .attr(
            "bucket",
            raw(format!("google_storage_bucket.{LONGHORN}.name")),
        )
        .attr("role", "roles/storage.objectAdmin")
        .attr(
            "member",
            raw(format!("google_service_account.{LONGHORN}.member")),
        );
    let key = resource("google_storage_hmac_key", LONGHORN, google).attr(
        "service_account_email",
        raw(format!("google_service_account.{LONGHORN}.email")),
    );
    let secret = resource("vault_kv_secret_v2", LONGHORN, vault)
        .comment(
            "Longhorn's backup target credentials, in the keys its secret expects;\n\
             the HMAC secret is in this state too (sensitive), as with any key\n\
             OpenTofu creates.",
        )
        .attr("mount", raw(refs.kv))
        .attr("name", &l.kv_path)
        .attr(
            "data_json",
            raw(format!("jsonencode(local.{LONGHORN}_credentials)")),
        );
    let locals = Block::unlabeled("locals").attr(
        format!("{LONGHORN}_credentials"),
        Expr::object([
            (
                "AWS_ACCESS_KEY_ID",
                raw(format!("google_storage_hmac_key.{LONGHORN}.access_id")),
            ),
            (
                "AWS_SECRET_ACCESS_KEY",
                raw(format!("google_storage_hmac_key.{LONGHORN}.secret")),
            ),
            ("AWS_ENDPOINTS", Expr::str(&l.s3_endpoint)),
        ]),
    );
    let rule = |path: String| {
        Block::unlabeled("rule")
            .attr("path", raw(path))
            .attr("capabilities", Expr::list(["read"]))
    };
    let document = block("data", "vault_policy_document", LONGHORN, vault, None)
        .block(rule(format!(
            "\"${{{}}}/data/${{vault_kv_secret_v2.{LONGHORN}.name}}\"",
            refs.kv
        )))
        .block(rule(format!(
            "\"${{{}}}/metadata/${{vault_kv_secret_v2.{LONGHORN}.name}}\"",
            refs.kv
        )));
    let policy = resource("vault_policy", LONGHORN, vault)
        .attr("name", &l.policy)
        .attr(
            "policy",
            raw(format!("data.vault_policy_document.{LONGHORN}.hcl")),
        );
    let auth_role = resource("vault_kubernetes_auth_backend_role", LONGHORN, vault)
        .attr("backend", raw(refs.kubernetes))
        .attr("role_name", &l.auth_role)
        .attr(
            "bound_service_account_names",
            Expr::list([&l.service_account]),
        )
        .attr(
            "bound_service_account_namespaces",
            Expr::list([&l.namespace]),
        )
        .attr(
            "token_policies",
            Expr::list([raw(format!("vault_policy.{LONGHORN}.name"))]),
        );
    let mut body = Body::new();
    section(
        &mut body,
        &format!(
            "Longhorn's backup target {}: bucket {} through GCS's S3 interop, with \
             an HMAC key of a service account allowed that bucket only.",
            l.backup_target, l.backup_bucket
        ),
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [bucket, account, member, key]);
    section(
        &mut body,
        &format!(
            "The key in Vault KV ({}), read by service account {} in namespace {} \
             through role {} and policy {}.",
            l.kv_path, l.service_account, l.namespace, l.auth_role, l.policy
        ),
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [locals, secret, document, policy, auth_role]);
    body
}

fn factory_imports<'a>(
    lab: &'a FactoryView<'a>,
    gitea: &ProviderRef,
    data: &mut Map<String, Value>,
) -> Body<'a> {
    let v = &lab.vault;
    let elsewhere = |p| v.managed_elsewhere.contains(&p);
    let vault_apps = || {
        lab.apps
            .values()
            .filter_map(|a| Some((a, a.vault.as_ref()?)))
    };
    imports_entry(
        data,
        "vault_policy.app",
        vault_apps().map(|(a, av)| (a.name.as_str(), names::vault_policy_import_id(&av.policy))),
    );
    imports_entry(
        data,
        "vault_kubernetes_auth_backend_role.app",
        vault_apps().map(|(a, av)| {
            (
                a.name.as_str(),
                names::vault_auth_role_import_id(&v.kubernetes_mount, &av.auth_role),
            )
        }),
    );
    imports_entry(
        data,
        "vault_database_secret_backend_role.database",
        lab.databases.values().filter_map(|db| {
            let role = db.vault_role.as_ref()?;
            Some((
                db.name.as_str(),
                names::vault_database_role_import_id(&v.database_mount, role),
            ))
        }),
    );
    imports_entry(
        data,
        "gitea_repository.app",
        lab.apps
            .values()
            .filter(|a| a.chart.is_none())
            .map(|a| (a.name.as_str(), format!("{}/{}", a.org, a.name))),
    );
    let mut blocks = vec![imports_variable()];
    if !elsewhere(VaultPart::Kv) {
        blocks.push(single_import("vault_mount.kv", v.kv_mount.clone()));
    }
    if !elsewhere(VaultPart::KubernetesAuth) {
        blocks.push(single_import(
            "vault_auth_backend.kubernetes",
            v.kubernetes_mount.clone(),
        ));
        blocks.push(single_import(
            "vault_kubernetes_auth_backend_config.kubernetes",
            names::vault_auth_config_import_id(&v.kubernetes_mount),
        ));
    }
    if !elsewhere(VaultPart::Database) {
        blocks.push(single_import(
            "vault_mount.database",
            v.database_mount.clone(),
        ));
        blocks.push(single_import(
            "vault_database_secret_backend_connection.postgres",
            names::vault_connection_import_id(&v.database_mount, &v.database_connection),
        ));
    }
    blocks.extend([
        keyed_import("vault_policy.app"),
        keyed_import("vault_kubernetes_auth_backend_role.app"),
        keyed_import("vault_database_secret_backend_role.database"),
        block(
            "data",
            "gitea_repo",
            "adopted",
            gitea,
            Some("var.imports[\"gitea_repository.app\"]"),
        )
        .comment("The provider imports a repository by its numeric ID: Gitea knows it.")
        .attr("username", raw("var.repositories[each.key].owner"))
        .attr("name", raw("var.repositories[each.key].name")),
        Block::unlabeled("import")
            .attr("for_each", raw("data.gitea_repo.adopted"))
            .blank()
            .attr("to", raw("gitea_repository.app[each.key]"))
            .attr("id", raw("each.value.id")),
        single_import(
            "google_storage_bucket.longhorn_backups",
            lab.longhorn.backup_bucket.clone(),
        ),
        single_import(
            "google_service_account.longhorn_backups",
            names::google_service_account_import_id(
                &lab.tofu.gcp_project,
                &lab.longhorn.gcp_account,
            ),
        ),
    ]);
    let mut body = Body::new();
    section(
        &mut body,
        "Adoption (tofu.modules.<this>.adopt): the first plan imports the Vault \
         mounts, policies and roles, the repositories and the backup bucket the \
         running lab already has. Longhorn's HMAC key can't be imported (its \
         secret is shown once): a new one is made and written to Vault; delete \
         the old one by hand. Set adopt = false once applied.",
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, blocks);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::compile::repo_lab as compile;

    fn file<'f>(files: &'f [File], path: &str) -> &'f str {
        &files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .contents
    }

    #[test]
    fn files_per_module() {
        let mut lab = compile("lab.ncl");
        let paths = |lab: &Lab| -> Vec<String> { emit(lab).into_iter().map(|f| f.path).collect() };
        assert_eq!(
            paths(&lab),
            [
                "tofu/factory/versions.tf",
                "tofu/factory/providers.tf",
                "tofu/factory/variables.tf",
                "tofu/factory/mounts.tf",
                "tofu/factory/vault.tf",
                "tofu/factory/gitea.tf",
                "tofu/factory/longhorn.tf",
                "tofu/factory/imports.tf",
                "tofu/factory/labc.auto.tfvars.json",
                "tofu/postgres/versions.tf",
                "tofu/postgres/providers.tf",
                "tofu/postgres/variables.tf",
                "tofu/postgres/roles.tf",
                "tofu/postgres/databases.tf",
                "tofu/postgres/imports.tf",
                "tofu/postgres/labc.auto.tfvars.json",
            ]
        );
        // Adoption off: no imports, and no `imports` data.
        for m in lab.tofu.as_mut().expect("tofu").modules.values_mut() {
            m.adopt = false;
        }
        let files = emit(&lab);
        assert!(!files.iter().any(|f| f.path.ends_with("imports.tf")));
        assert!(!file(&files, "tofu/postgres/labc.auto.tfvars.json").contains("\"imports\""));
        // The SQL scripts as manager: no postgres module.
        lab.postgres.as_mut().expect("postgres").manager = PostgresManager::Sql;
        assert!(!paths(&lab).iter().any(|p| p.starts_with("tofu/postgres/")));
    }

    #[test]
    fn the_data_file_is_headed_sorted_json() {
        let lab = compile("lab.ncl");
        let files = emit(&lab);
        let text = file(&files, "tofu/factory/labc.auto.tfvars.json");
        let want = format!(
            "{{\n  \"//\": {},\n",
            Value::String(crate::emit::header_sentence(&lab))
        );
        assert!(text.starts_with(&want), "{text}");
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
        let v: Value = serde_json::from_str(text).expect("JSON");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys[0], "//");
        let mut sorted = keys[1..].to_vec();
        sorted.sort();
        assert_eq!(keys[1..], sorted[..]);
    }

    /// Lab values reach the `.tf` files only as escaped strings of singletons;
    /// per-name values only the data file, where OpenTofu never templates.
    #[test]
    fn per_name_values_live_in_the_data_only() {
        let mut lab = compile("lab.ncl");
        let app = lab.apps.get_mut("webapp").expect("webapp");
        app.org = "org-${x}".into();
        let files = emit(&lab);
        for f in &files {
            let holds = f.contents.contains("org-${x}");
            assert_eq!(
                holds,
                f.path == "tofu/factory/labc.auto.tfvars.json",
                "{}",
                f.path
            );
        }
    }

    #[test]
    fn managed_elsewhere_names_instead_of_declaring() {
        let mut lab = compile("lab.ncl");
        lab.vault.as_mut().expect("vault").managed_elsewhere = [
            VaultPart::Kv,
            VaultPart::KubernetesAuth,
            VaultPart::Database,
        ]
        .into();
        let files = emit(&lab);
        let mounts = file(&files, "tofu/factory/mounts.tf");
        assert!(!mounts.contains("resource \"vault_mount\""), "{mounts}");
        assert!(
            !mounts.contains("resource \"vault_auth_backend\""),
            "{mounts}"
        );
        assert!(
            mounts.contains("data \"vault_auth_backend\" \"kubernetes\""),
            "{mounts}"
        );
        let vault = file(&files, "tofu/factory/vault.tf");
        assert!(
            vault.contains(
                "backend                          = data.vault_auth_backend.kubernetes.path"
            ),
            "{vault}"
        );
        assert!(
            vault.contains("db_name               = var.database_connection"),
            "{vault}"
        );
        assert!(
            vault.contains("\"${var.kv_mount}/data/${each.value.kv_path}\""),
            "{vault}"
        );
        let vars = file(&files, "tofu/factory/variables.tf");
        for v in ["kv_mount", "database_mount", "database_connection"] {
            assert!(vars.contains(&format!("variable \"{v}\"")), "{v}");
        }
        assert!(!vars.contains("credentials_editor_password"));
    }

    #[test]
    fn renamed_provider_gets_the_meta_argument() {
        let mut lab = compile("lab.ncl");
        let vault = lab
            .tofu
            .as_mut()
            .expect("tofu")
            .providers
            .remove("vault")
            .expect("vault pinned");
        lab.tofu
            .as_mut()
            .expect("tofu")
            .providers
            .insert("hcvault".into(), vault);
        let factory = lab
            .tofu
            .as_mut()
            .expect("tofu")
            .modules
            .get_mut("factory")
            .expect("factory");
        factory.providers.remove("vault");
        factory.providers.insert("hcvault".into());
        let files = emit(&lab);
        let vault_tf = file(&files, "tofu/factory/vault.tf");
        assert!(
            vault_tf.contains("resource \"vault_policy\" \"app\" {\n  provider = hcvault\n  for_each = var.vault_apps\n"),
            "{vault_tf}"
        );
        assert!(
            vault_tf.contains("data \"vault_policy_document\" \"app\" {\n  provider = hcvault\n")
        );
        assert!(file(&files, "tofu/factory/providers.tf").contains("provider \"hcvault\" {"));
    }
}

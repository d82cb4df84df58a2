//! OpenTofu: `tofu/<module>/*.tf` for each module of `lab.tofu.modules`,
//! real HCL a reviewer can read in a diff.
//!
//! - A `'postgres` module (the guidebook's `postgres/iac`): per database,
//!   its non-login owner role, the database from `template0`, the owner role
//!   granted with admin option to the shared login role
//!   `credentials_editor` (which may create roles: Vault logs in as it to
//!   create and drop the users it issues), and pgbouncer's `user_lookup()`, executable by
//!   `pgbouncer_auth` only. The same objects as `generated/sql/`.
//! - A `'factory` module (the guidebook's `iac/`): the Vault policy and
//!   Kubernetes auth role of each app using Vault, the Vault database role
//!   of each database Vault serves, the apps' Gitea repositories, and
//!   Longhorn's GCS backup bucket with its service account and HMAC key.
//!   Providers labc models no resources for (Cloudflare, OVH) are pinned
//!   only, for hand-written configuration.
//!
//! Invariants:
//! - every file goes through [`hcl::write_after`], so `tofu fmt` leaves it
//!   unchanged and every string is escaped for HCL templates (`${`, `%{`,
//!   quotes, backslashes): no value is ever interpolated;
//! - resource names come from [`names::tf_resource_name`] plus a fixed
//!   suffix per kind of object, so within a resource type they are distinct
//!   exactly when the database (or app) names map to distinct identifiers,
//!   which validation guarantees;
//! - every reference (`type.name.attr`, `data.type.name.attr`) points at a
//!   resource declared in the same module;
//! - no secret value: credentials come from the environment (named in
//!   comments), passwords of login roles are set out of band and ignored.

use super::hcl::{self, Block, Body, Expr};
use super::postgres;
use super::{File, header};
use crate::model::{App, Database, Lab, Module, ModuleKind};
use crate::names;

pub fn emit(lab: &Lab) -> Vec<File> {
    let mut files = Vec::new();
    for module in lab.tofu.modules.values() {
        let parts = match module.kind {
            ModuleKind::Postgres => postgres(lab, module),
            ModuleKind::Factory => factory(lab, module),
        };
        files.extend(
            parts
                .into_iter()
                .filter(|(_, body)| !body.is_empty())
                .map(|(file, body)| File {
                    path: format!("tofu/{}/{file}", module.name),
                    contents: hcl::write_after(header("#", lab) + "\n", &body),
                }),
        );
    }
    files
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

fn provider_ref(lab: &Lab, module: &Module, source: &str, natural: &str) -> ProviderRef {
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

/// `resource "<kind>" "<name>" {}`, with the `provider` meta-argument first
/// when needed.
fn resource<'a>(kind: &'a str, name: &str, provider: &ProviderRef) -> Block<'a> {
    let block = Block::new("resource", [hcl::Text::from(kind), name.to_owned().into()]);
    match &provider.meta {
        Some(meta) => block.attr("provider", meta.clone()),
        None => block,
    }
}

fn reference(parts: &[&str]) -> Expr<'static> {
    Expr::traversal(parts)
}

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
fn versions<'a>(lab: &'a Lab, module: &'a Module, modelled: &[&str]) -> Body<'a> {
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
        .comment(format!(
            "State: gs://{}/{}/default.tfstate",
            lab.tofu.state_bucket, module.state_prefix
        ))
        .block(
            Block::unlabeled("terraform")
                .block(backend)
                .blank()
                .block(required),
        )
}

// ---------------------------------------------------------------- postgres

fn postgres<'a>(lab: &'a Lab, module: &'a Module) -> Vec<(&'static str, Body<'a>)> {
    let pg = provider_ref(lab, module, POSTGRESQL, "postgresql");
    let providers = Body::new()
        .comment(
            "Credentials come from the environment, never from this file: PGUSER and\n\
             PGPASSWORD (a superuser's: user_lookup() must belong to one), and\n\
             PGSSLMODE if the server needs it.",
        )
        .block(
            Block::new("provider", [pg.local.clone()])
                .attr("host", lab.postgres.address.to_string())
                .attr("port", lab.postgres.port),
        );
    let mut databases = Body::new();
    for db in lab.databases.values() {
        database(&mut databases, lab, db, &pg);
    }
    vec![
        ("versions.tf", versions(lab, module, &[POSTGRESQL])),
        ("providers.tf", providers),
        ("roles.tf", login_roles(lab, &pg)),
        ("databases.tf", databases),
    ]
}

const EDITOR: &str = "credentials_editor";
const POOLER: &str = "pgbouncer_auth";

/// The shared login roles. Their passwords are set out of band, so OpenTofu
/// must never compare them (the provider reads the live password back).
fn login_roles<'a>(lab: &'a Lab, pg: &ProviderRef) -> Body<'a> {
    let editor = resource("postgresql_role", EDITOR, pg)
        .attr("name", &lab.postgres.credentials_editor)
        .attr("login", true)
        .attr("create_role", true)
        .blank()
        .block(
            Block::unlabeled("lifecycle")
                .comment(
                    "Vault rotates its password; postgresql_grant_role resources grant\n\
                     it the owner roles.",
                )
                .attr("ignore_changes", ignore(&["password", "roles"])),
        );
    let pooler = resource("postgresql_role", POOLER, pg)
        .attr("name", &lab.postgres.pgbouncer_auth)
        .attr("login", true)
        .blank()
        .block(
            Block::unlabeled("lifecycle")
                .comment("Its password is set out of band, where pgbouncer reads it.")
                .attr("ignore_changes", ignore(&["password"])),
        );
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

fn ignore(attrs: &[&str]) -> Expr<'static> {
    Expr::List(attrs.iter().map(|a| Expr::raw(a.to_string())).collect())
}

fn database<'a>(body: &mut Body<'a>, lab: &'a Lab, db: &'a Database, pg: &ProviderRef) {
    let base = names::tf_resource_name(&db.name);
    let owner = format!("{base}_owner");
    let function = format!("{base}_user_lookup");
    section(
        body,
        &format!(
            "Database {}, owned by {} (no login): {} administers the role, \
             Vault grants it to the users it creates.",
            db.name, db.owner_role, lab.postgres.credentials_editor
        ),
    );
    let role = resource("postgresql_role", &owner, pg)
        .attr("name", &db.owner_role)
        .attr("login", false);
    let grant_role = resource("postgresql_grant_role", &owner, pg)
        .attr("role", reference(&["postgresql_role", EDITOR, "name"]))
        .attr(
            "grant_role",
            reference(&["postgresql_role", &owner, "name"]),
        )
        .attr("with_admin_option", true);
    let database = resource("postgresql_database", &base, pg)
        .attr("name", &db.name)
        .attr("owner", reference(&["postgresql_role", &owner, "name"]))
        .attr("template", "template0");
    let arg = |mode: &'static str, name: &'static str| {
        Block::unlabeled("arg")
            .attr("mode", mode)
            .attr("name", name)
            .attr("type", "text")
    };
    let db_name = reference(&["postgresql_database", &base, "name"]);
    let user_lookup = resource("postgresql_function", &function, pg)
        .comment(
            "pgbouncer's auth_query: runs as its owner, the superuser applying this\n\
             module, to read pg_authid.",
        )
        .attr("name", postgres::USER_LOOKUP_FUNCTION)
        .attr("schema", postgres::USER_LOOKUP_SCHEMA)
        .attr("database", db_name.clone())
        .attr("returns", "record")
        .attr("language", "plpgsql")
        .attr("security_definer", true)
        .attr("body", postgres::USER_LOOKUP_BODY)
        .blank()
        .block(arg("IN", "i_username"))
        .block(arg("OUT", "uname"))
        .block(arg("OUT", "phash"));
    let grant = |suffix: &str, why: &'static str, role: Expr<'a>, privileges: Expr<'a>| {
        resource("postgresql_grant", &format!("{function}_{suffix}"), pg)
            .comment(why)
            .attr("database", db_name.clone())
            .attr(
                "schema",
                reference(&["postgresql_function", &function, "schema"]),
            )
            .attr("role", role)
            .attr("object_type", "function")
            .attr(
                "objects",
                Expr::list([reference(&["postgresql_function", &function, "name"])]),
            )
            .attr("privileges", privileges)
    };
    let revoke = grant(
        "public",
        "No privileges for PUBLIC: revokes the EXECUTE every function starts with.",
        Expr::str("public"),
        Expr::List(Vec::new()),
    );
    let execute = grant(
        "pgbouncer_auth",
        "pgbouncer's auth_user is the only caller.",
        reference(&["postgresql_role", POOLER, "name"]),
        Expr::list(["EXECUTE"]),
    );
    body.push(hcl::Item::Block(role));
    push_blocks(body, [grant_role, database, user_lookup, revoke, execute]);
}

// ----------------------------------------------------------------- factory

fn factory<'a>(lab: &'a Lab, module: &'a Module) -> Vec<(&'static str, Body<'a>)> {
    let vault = provider_ref(lab, module, VAULT, "vault");
    let gitea = provider_ref(lab, module, GITEA, "gitea");
    let google = provider_ref(lab, module, GOOGLE, "google");

    let providers = Body::new()
        .comment(format!(
            "Logs in through Vault's JWT auth mount {} as role {}, with the\n\
             token in TERRAFORM_VAULT_AUTH_JWT (Gitea Actions' OIDC token).",
            lab.vault.jwt_mount, lab.vault.jwt_role
        ))
        .block(
            Block::new("provider", [vault.local.clone()])
                .attr("address", &lab.vault.address)
                .blank()
                .block(
                    Block::unlabeled("auth_login_jwt")
                        .attr("mount", &lab.vault.jwt_mount)
                        .attr("role", &lab.vault.jwt_role),
                ),
        )
        .blank()
        .comment("The token comes from GITEA_TOKEN.")
        .block(Block::new("provider", [gitea.local.clone()]).attr("base_url", &lab.gitea.url))
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

    let mut vault_body = Body::new();
    for app in lab.apps.values() {
        if let Some(blocks) = app_vault(lab, app, &vault) {
            section(
                &mut vault_body,
                &format!(
                    "App {}: its pods (service account {} in namespace {}) read \
                     their secrets with policy {}.",
                    app.name, blocks.service_account, app.namespace, blocks.policy_name
                ),
            );
            push_blocks(&mut vault_body, blocks.blocks);
        }
    }
    for db in lab.databases.values() {
        if let Some(block) = database_role(lab, db, &vault) {
            section(
                &mut vault_body,
                &format!(
                    "Database {}: Vault creates users in {}; the role must be in \
                     the allowed_roles of connection {}.",
                    db.name, db.owner_role, lab.vault.database_connection
                ),
            );
            vault_body.push(hcl::Item::Block(block));
        }
    }

    let mut gitea_body = Body::new();
    if !lab.apps.is_empty() {
        section(
            &mut gitea_body,
            "The apps' repositories, under their organisations (which must exist). \
             Import existing repositories before the first apply.",
        );
        gitea_body.push(hcl::Item::Blank);
    }
    push_blocks(
        &mut gitea_body,
        lab.apps.values().map(|app| {
            resource(
                "gitea_repository",
                &names::tf_resource_name(&app.name),
                &gitea,
            )
            .attr("username", &app.org)
            .attr("name", &app.name)
        }),
    );

    vec![
        (
            "versions.tf",
            versions(lab, module, &[VAULT, GITEA, GOOGLE]),
        ),
        ("providers.tf", providers),
        ("vault.tf", vault_body),
        ("gitea.tf", gitea_body),
        ("longhorn.tf", longhorn(lab, &google)),
    ]
}

struct AppVaultBlocks<'a> {
    service_account: &'a str,
    policy_name: &'a str,
    blocks: Vec<Block<'a>>,
}

/// The policy document, policy and Kubernetes auth role of an app using
/// Vault.
fn app_vault<'a>(lab: &'a Lab, app: &'a App, vault: &ProviderRef) -> Option<AppVaultBlocks<'a>> {
    let v = app.vault.as_ref()?;
    let name = names::tf_resource_name(&app.name);
    let rule = |path: String| {
        Block::unlabeled("rule")
            .attr("path", path)
            .attr("capabilities", Expr::list(["read"]))
    };
    let kv = &lab.vault.kv_mount;
    let mut document = Block::new(
        "data",
        [
            hcl::Text::from("vault_policy_document"),
            name.clone().into(),
        ],
    )
    .block(rule(format!("{kv}/data/{}", v.kv_path)))
    .block(rule(format!("{kv}/metadata/{}", v.kv_path)));
    if let Some(creds) = &v.database_creds_path {
        document = document.block(rule(format!("{}/{creds}", lab.vault.database_mount)));
    }
    if let Some(meta) = &vault.meta {
        document.body.items.insert(0, hcl::Item::Blank);
        document
            .body
            .items
            .insert(0, hcl::Item::Attribute("provider".into(), meta.clone()));
    }
    let policy = resource("vault_policy", &name, vault)
        .attr("name", &v.policy)
        .attr(
            "policy",
            reference(&["data", "vault_policy_document", &name, "hcl"]),
        );
    let auth_role = resource("vault_kubernetes_auth_backend_role", &name, vault)
        .attr("backend", &lab.vault.kubernetes_mount)
        .attr("role_name", &v.auth_role)
        .attr(
            "bound_service_account_names",
            Expr::list([&v.service_account]),
        )
        .attr(
            "bound_service_account_namespaces",
            Expr::list([&app.namespace]),
        )
        .attr(
            "token_policies",
            Expr::list([reference(&["vault_policy", &name, "name"])]),
        );
    Some(AppVaultBlocks {
        service_account: &v.service_account,
        policy_name: &v.policy,
        blocks: vec![document, policy, auth_role],
    })
}

/// The Vault database role issuing credentials for `db`, if Vault serves it.
fn database_role<'a>(lab: &'a Lab, db: &'a Database, vault: &ProviderRef) -> Option<Block<'a>> {
    let role = db.vault_role.as_ref()?;
    Some(
        resource(
            "vault_database_secret_backend_role",
            &names::tf_resource_name(&db.name),
            vault,
        )
        .attr("backend", &lab.vault.database_mount)
        .attr("name", role)
        .attr("db_name", &lab.vault.database_connection)
        .attr(
            "creation_statements",
            Expr::list(postgres::vault_creation_statements(&db.owner_role)),
        )
        .attr(
            "revocation_statements",
            Expr::list(postgres::vault_revocation_statements()),
        )
        .attr("default_ttl", lab.vault.database_ttl),
    )
}

/// Fixed name of the Longhorn backup objects (one of each per module).
const LONGHORN: &str = "longhorn_backups";

/// Longhorn's backup target: the bucket, reached through GCS's S3 interop
/// with an HMAC key of a service account that may only use that bucket.
fn longhorn<'a>(lab: &'a Lab, google: &ProviderRef) -> Body<'a> {
    let bucket = resource("google_storage_bucket", LONGHORN, google)
        .attr("name", &lab.longhorn.backup_bucket)
        .attr("location", &lab.tofu.gcp_region);
    let account = resource("google_service_account", LONGHORN, google)
        .attr("account_id", "longhorn-backups")
        .attr("display_name", "Longhorn backups");
    let member = resource("google_storage_bucket_iam_member", LONGHORN, google)
        .attr(
            "bucket",
            reference(&["google_storage_bucket", LONGHORN, "name"]),
        )
        .attr("role", "roles/storage.objectAdmin")
        .attr(
            "member",
            reference(&["google_service_account", LONGHORN, "member"]),
        );
    let key = resource("google_storage_hmac_key", LONGHORN, google)
        .comment("Its secret stays in the state; Longhorn's credentials come from there.")
        .attr(
            "service_account_email",
            reference(&["google_service_account", LONGHORN, "email"]),
        );
    let mut body = Body::new();
    section(
        &mut body,
        &format!(
            "Longhorn's backup target {}: bucket {} through GCS's S3 interop, with \
             an HMAC key of a service account allowed that bucket only.",
            lab.longhorn.backup_target, lab.longhorn.backup_bucket
        ),
    );
    body.push(hcl::Item::Blank);
    push_blocks(&mut body, [bucket, account, member, key]);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::compile::repo_lab as compile;

    #[test]
    fn files_per_module() {
        let files = emit(&compile("lab.ncl"));
        let got: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            got,
            [
                "tofu/factory/versions.tf",
                "tofu/factory/providers.tf",
                "tofu/factory/vault.tf",
                "tofu/factory/gitea.tf",
                "tofu/factory/longhorn.tf",
                "tofu/postgres/versions.tf",
                "tofu/postgres/providers.tf",
                "tofu/postgres/roles.tf",
                "tofu/postgres/databases.tf",
            ]
        );
    }

    #[test]
    fn renamed_provider_gets_the_meta_argument() {
        let mut lab = compile("lab.ncl");
        let vault = lab.tofu.providers.remove("vault").expect("vault pinned");
        lab.tofu.providers.insert("hcvault".into(), vault);
        let factory = lab.tofu.modules.get_mut("factory").expect("factory");
        factory.providers.remove("vault");
        factory.providers.insert("hcvault".into());
        let files = emit(&lab);
        let vault_tf = &files
            .iter()
            .find(|f| f.path == "tofu/factory/vault.tf")
            .expect("vault.tf")
            .contents;
        assert!(
            vault_tf.contains("resource \"vault_policy\" \"webapp\" {\n  provider = hcvault\n")
        );
        assert!(
            vault_tf
                .contains("data \"vault_policy_document\" \"webapp\" {\n  provider = hcvault\n")
        );
        let providers = &files
            .iter()
            .find(|f| f.path == "tofu/factory/providers.tf")
            .expect("providers.tf")
            .contents;
        assert!(providers.contains("provider \"hcvault\" {"), "{providers}");
    }
}

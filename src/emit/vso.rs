//! Vault Secrets Operator: `apps/<app>/vault-secrets.yaml` for every app
//! that reads Vault: VaultConnection, VaultAuth, VaultStaticSecret and, with
//! a database, VaultDynamicSecret, all in the app's namespace.
//!
//! Invariants: every Vault name (roles, mounts, paths) comes from the model,
//! shared with the OpenTofu emitter that declares them, so the two agree.

use super::yaml::{self, Yaml};
use super::{File, app_dir, header, k8s_metadata};
use crate::model::{App, AppVault, Lab, Longhorn, Vault};

/// Name of the VaultConnection in each app namespace (one per namespace, so
/// each app carries the lab's Vault address with it).
const VAULT_CONNECTION: &str = "vault";
/// How often VSO re-reads a KV secret: without it a change in Vault is
/// never picked up.
const KV_REFRESH: &str = "1h";
const VSO_API: &str = "secrets.hashicorp.com/v1beta1";
/// File name of the resources in the app's folder (its Application applies it).
pub const FILE: &str = "vault-secrets.yaml";

pub fn emit(lab: &Lab) -> Vec<File> {
    // An app reads Vault only in a lab that has it (validation).
    let Some(lab_vault) = &lab.vault else {
        return Vec::new();
    };
    let head = header("#", lab);
    lab.apps
        .values()
        .filter_map(|app| {
            let vault = app.vault.as_ref()?;
            Some(File {
                path: format!("{}/{FILE}", app_dir(&app.name)),
                contents: yaml::documents(&head, &vault_resources(lab_vault, app, vault)),
            })
        })
        .collect()
}

fn vso<'a>(kind: &'a str, name: &'a str, namespace: &'a str, spec: Yaml<'a>) -> Yaml<'a> {
    Yaml::map()
        .with("apiVersion", VSO_API)
        .with("kind", kind)
        .with("metadata", k8s_metadata(name, namespace))
        .with("spec", spec)
}

fn destination(secret: &str) -> Yaml<'_> {
    Yaml::map().with("create", true).with("name", secret)
}

/// What VSO restarts when the Secret's data changes: the app's Deployment,
/// whose pods read the Secret when they start (a renewed database user or
/// a changed KV value reaches them only through a restart, and Vault drops
/// the old database user at the end of its lease).
fn restart(app: &App) -> Yaml<'_> {
    Yaml::Seq(vec![
        Yaml::map()
            .with("kind", "Deployment")
            .with("name", &app.deployment),
    ])
}

/// The VaultConnection's spec: the address VSO reaches Vault on from inside
/// the cluster and, for a private CA, the Secret holding it.
fn connection(vault: &Vault) -> Yaml<'_> {
    let mut spec = Yaml::map()
        .with("address", &vault.operator_address)
        .with("skipTLSVerify", false);
    if let Some(secret) = &vault.operator_ca_secret {
        spec.insert("caCertSecretRef", secret);
    }
    spec
}

/// A VaultAuth `name` in `namespace`: Kubernetes auth on `role`, as
/// service account `account`, through the namespace's VaultConnection.
fn auth<'a>(
    vault: &'a Vault,
    name: &'a str,
    namespace: &'a str,
    role: &'a str,
    account: &'a str,
) -> Yaml<'a> {
    vso(
        "VaultAuth",
        name,
        namespace,
        Yaml::map()
            .with(
                "kubernetes",
                Yaml::map()
                    .with("role", role)
                    .with("serviceAccount", account),
            )
            .with("method", "kubernetes")
            .with("mount", &vault.kubernetes_mount)
            .with("vaultConnectionRef", VAULT_CONNECTION),
    )
}

/// A VaultStaticSecret writing Secret `secret` from the KV v2 `path`,
/// logged in through VaultAuth `auth`, restarting `restart` on a change.
fn kv_secret<'a>(
    vault: &'a Vault,
    secret: &'a str,
    namespace: &'a str,
    path: &'a str,
    auth: &'a str,
    restart: Option<Yaml<'a>>,
) -> Yaml<'a> {
    let mut spec = Yaml::map()
        .with("destination", destination(secret))
        .with("mount", &vault.kv_mount)
        .with("path", path)
        .with("refreshAfter", KV_REFRESH);
    if let Some(targets) = restart {
        spec.insert("rolloutRestartTargets", targets);
    }
    vso(
        "VaultStaticSecret",
        secret,
        namespace,
        spec.with("type", "kv-v2").with("vaultAuthRef", auth),
    )
}

/// The VSO resources of an app, in its namespace: the connection, the auth
/// on the app's Kubernetes role (named after the app), the KV secret and,
/// with a database, the dynamic credentials.
fn vault_resources<'a>(lab: &'a Vault, app: &'a App, v: &'a AppVault) -> Vec<Yaml<'a>> {
    let ns = &app.namespace;
    let mut docs = vec![
        vso("VaultConnection", VAULT_CONNECTION, ns, connection(lab)),
        auth(lab, &app.name, ns, &v.auth_role, &v.service_account),
        kv_secret(
            lab,
            &v.kv_secret,
            ns,
            &v.kv_path,
            &app.name,
            Some(restart(app)),
        ),
    ];
    if let (Some(path), Some(secret)) = (&v.database_creds_path, &v.database_secret) {
        docs.push(vso(
            "VaultDynamicSecret",
            secret,
            ns,
            Yaml::map()
                .with("destination", destination(secret))
                .with("mount", &lab.database_mount)
                .with("path", path)
                .with("rolloutRestartTargets", restart(app))
                .with("vaultAuthRef", &app.name),
        ));
    }
    docs
}

/// Longhorn's backup credentials, in Longhorn's namespace: the service
/// account Vault's `longhorn` role accepts, the connection and auth, and
/// the Secret the `BackupTarget` names, written from the KV path OpenTofu
/// stores the bucket's HMAC key at. The app-of-apps chart renders them
/// (`argocd`); nothing restarts, as Longhorn reads the Secret on each
/// backup.
pub fn longhorn_resources<'a>(vault: &'a Vault, l: &'a Longhorn) -> Vec<Yaml<'a>> {
    let ns = &l.namespace;
    vec![
        Yaml::map()
            .with("apiVersion", "v1")
            .with("kind", "ServiceAccount")
            .with("metadata", k8s_metadata(&l.service_account, ns)),
        vso("VaultConnection", VAULT_CONNECTION, ns, connection(vault)),
        auth(vault, &l.auth_role, ns, &l.auth_role, &l.service_account),
        kv_secret(vault, &l.backup_secret, ns, &l.kv_path, &l.auth_role, None),
    ]
}

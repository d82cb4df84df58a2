//! Helm: `apps/<app>/values.yaml`, the values each app's own chart needs
//! from the lab (image, ingress hosts, persistence, replicas, database and
//! Vault names), or, for an upstream chart, the values the lab gives it.
//!
//! Invariants: the keys the Image Updater writes back
//! ([`IMAGE_REPOSITORY_KEY`], [`IMAGE_TAG_KEY`]) are the ones these values
//! use, so both always agree; every name comes from the model.

use super::yaml::{self, Yaml};
use super::{File, app_dir, header};
use crate::model::{App, Lab};
use std::collections::BTreeMap;

/// Helm value keys holding the image, in the per-app values and in what the
/// Image Updater writes back.
pub const IMAGE_REPOSITORY_KEY: &str = "image.repository";
pub const IMAGE_TAG_KEY: &str = "image.tag";
/// File name of the values in the app's folder (its Application reads it).
pub const VALUES_FILE: &str = "values.yaml";

pub fn emit(lab: &Lab) -> Vec<File> {
    let head = header("#", lab);
    lab.apps
        .values()
        .map(|app| File {
            path: format!("{}/{VALUES_FILE}", app_dir(&app.name)),
            contents: yaml::document(&head, &app_values(lab, app)),
        })
        .collect()
}

/// What the app's chart needs from the lab: an upstream chart's values as
/// the lab gives them (data), else what labc derives for the app's own.
fn app_values<'a>(lab: &'a Lab, app: &'a App) -> Yaml<'a> {
    if let Some(chart) = &app.chart {
        return Yaml::Map(
            chart
                .values
                .iter()
                .map(|(k, v)| (k.as_str(), Yaml::from_json(v)))
                .collect(),
        );
    }
    let hosts: BTreeMap<String, Yaml> = app
        .ingress
        .iter()
        .map(|(e, host)| (e.as_str().to_string(), Yaml::str(host)))
        .collect();
    // A volume is Longhorn's: validation requires `longhorn` for one.
    let persistence = match (&app.volume_size, &lab.longhorn) {
        (Some(size), Some(longhorn)) => Yaml::map()
            .with("enabled", true)
            .with("storageClass", &longhorn.storage_class)
            .with("accessMode", "ReadWriteOnce")
            .with("size", size),
        _ => Yaml::map().with("enabled", false),
    };
    let mut ingress = Yaml::map()
        .with("enabled", !hosts.is_empty())
        .with("hosts", hosts);
    // The TLS Secret of each host with a certificate (`certs` writes the
    // Certificate that fills it), keyed like `hosts`.
    if !app.certificates.is_empty() {
        let tls: BTreeMap<String, Yaml> = app
            .certificates
            .iter()
            .map(|(e, c)| (e.as_str().to_string(), Yaml::str(&c.secret)))
            .collect();
        ingress.insert("tls", tls);
    }
    let mut values = Yaml::map()
        .with(
            "image",
            Yaml::map()
                .with("repository", &app.image.repository)
                .with("tag", &app.image.tag),
        )
        .with("ingress", ingress)
        // Resource names, the Deployment's included, are the app's: what VSO
        // restarts when a secret changes (`App::deployment`).
        .with("fullnameOverride", &app.deployment)
        .with("persistence", persistence)
        .with("replicaCount", app.replicas)
        .with("service", Yaml::map().with("port", app.port));
    if let Some(db) = &app.database {
        values.insert("database", Yaml::map().with("name", db));
    }
    // An app reading Vault implies the lab has it (validation).
    if let (Some(v), Some(lab_vault)) = (&app.vault, &lab.vault) {
        values.insert(
            "serviceAccount",
            Yaml::map()
                .with("create", true)
                .with("name", &v.service_account),
        );
        let mut vault = Yaml::map()
            .with("authRole", &v.auth_role)
            .with("enabled", true)
            .with("kubernetesMount", &lab_vault.kubernetes_mount)
            .with(
                "kv",
                Yaml::map()
                    .with("mount", &lab_vault.kv_mount)
                    .with("path", &v.kv_path)
                    .with("secretName", &v.kv_secret),
            );
        if let (Some(role), Some(path), Some(secret)) =
            (&v.database_role, &v.database_creds_path, &v.database_secret)
        {
            vault.insert(
                "database",
                Yaml::map()
                    .with("mount", &lab_vault.database_mount)
                    .with("path", path)
                    .with("role", role)
                    .with("secretName", secret),
            );
        }
        values.insert("vault", vault);
    }
    values
}

//! ArgoCD: the app-of-apps chart the root Application deploys, the lab's
//! values for it, the root Application itself, and, for review, what the
//! chart renders from those values.
//!
//! Files (`argocd/` is the chart):
//! - `Chart.yaml`, `.helmignore`, `values.schema.json`, `templates/*.yaml`:
//!   static files shipped with labc (`argocd/chart/` beside this file), the
//!   same for every lab but for their header;
//! - `values.yaml`: the lab's data (`gitea_applications`, keyed by app,
//!   carrying only what departs from the templates' conventions, plus what
//!   the lab states explicitly; the lab repository; the registries.conf
//!   text; the Longhorn backup target);
//! - `root.yaml`: the root Application (applied once by hand), which deploys
//!   this chart from the lab repository and ignores the Helm parameters the
//!   Image Updater writes on the apps' Applications;
//! - `rendered/applications/<app>.yaml`, `rendered/image-updater.yaml` (one
//!   `ImageUpdater` per app that follows its image, and the Image Updater's
//!   registries ConfigMap; absent when no app does), `rendered/longhorn.yaml`
//!   (the `BackupTarget`): what the chart renders, written directly so a
//!   review sees the objects. The tests render the chart with Helm and
//!   require the same objects.
//!
//! Invariants: every Kubernetes name comes from the model (already checked
//! DNS-1123 where Kubernetes needs it); the constants below are fixed names
//! of this layout, the same the static templates spell, not derived from
//! the lab. The Helm keys the Image Updater writes are [`helm`]'s, and the
//! files the Applications read are [`helm`]'s and [`vso`]'s paths.

use super::yaml::{self, Yaml};
use super::{File, app_dir, header, helm, k8s_metadata, vso};
use crate::model::{App, ArgoCd, Lab, Longhorn, UpdateStrategy};
use crate::names;
use std::collections::BTreeMap;

/// Namespace ArgoCD (and its Image Updater) runs in; Applications and
/// ImageUpdaters must live there to be picked up.
const ARGOCD_NAMESPACE: &str = "argocd";
/// Cascading foreground delete: removing an Application removes its resources.
const FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// The cluster ArgoCD runs in.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";
/// Folder of the chart inside every app repository.
const CHART_PATH: &str = "chart";
/// Path of an upstream chart in its OCI artifact (Argo CD: always `.`).
const OCI_CHART_PATH: &str = ".";
const SYNC_OPTIONS: &[&str] = &["CreateNamespace=true"];
/// The ref the apps' Applications give the lab repository: `$lab/...` in a
/// value file is a path from its root.
const LAB_REF: &str = "lab";
/// Folder of the app-of-apps chart in labc's output.
const CHART_DIR: &str = "argocd";
/// Alias of the app's one image in its ImageUpdater (an alias is local to
/// the resource, so a fixed one can't clash).
const IMAGE_ALIAS: &str = "app";
/// How the Image Updater writes back: parameters on the Application. Git
/// cannot work here (see README, "Image Updater"): the image is in labc's
/// values, which a commit must not touch and which override the app repo's.
const WRITE_BACK: &str = "argocd";
/// ConfigMap the Image Updater reads `registries.conf` from.
const IMAGE_UPDATER_CONFIG: &str = "argocd-image-updater-config";
/// Longhorn's default backup target (Longhorn 1.8+ keeps it in this CR).
const BACKUP_TARGET: &str = "default";

const APPLICATION_API: &str = "argoproj.io/v1alpha1";
const IMAGE_UPDATER_API: &str = "argocd-image-updater.argoproj.io/v1alpha1";
const LONGHORN_API: &str = "longhorn.io/v1beta2";

/// The chart's static files, by path under `argocd/`.
const STATIC: &[(&str, &str)] = &[
    ("Chart.yaml", include_str!("argocd/chart/Chart.yaml")),
    (".helmignore", include_str!("argocd/chart/.helmignore")),
    (
        "templates/apps.yaml",
        include_str!("argocd/chart/templates/apps.yaml"),
    ),
    (
        "templates/image-updater.yaml",
        include_str!("argocd/chart/templates/image-updater.yaml"),
    ),
    (
        "templates/longhorn.yaml",
        include_str!("argocd/chart/templates/longhorn.yaml"),
    ),
    (
        CHARTS_TEMPLATE,
        include_str!("argocd/chart/templates/charts.yaml"),
    ),
];
/// The chart's values schema: Helm checks values.yaml against it on every
/// render and lint. Its top-level `required` list (between these two
/// lines) is the lab's (see [`values_schema`]).
const VALUES_SCHEMA: &str = include_str!("argocd/chart/values.schema.json");
const REQUIRED_OPEN: &str = "  \"required\": [\n";
const REQUIRED_CLOSE: &str = "  ],\n";
const LONGHORN_TEMPLATE: &str = "templates/longhorn.yaml";
const CHARTS_TEMPLATE: &str = "templates/charts.yaml";
/// The values schema's property for upstream charts' Applications, put
/// before this line when the lab has any.
const CHARTS_SCHEMA: &str = include_str!("argocd/chart/values.schema.charts.json");
const CHARTS_SCHEMA_BEFORE: &str = "    \"gitea_applications\": {\n";

pub fn emit(lab: &Lab) -> Vec<File> {
    let Some(argocd) = &lab.argocd else {
        return Vec::new();
    };
    let head = header("#", lab);
    let mut files: Vec<File> = STATIC
        .iter()
        // Longhorn's template only in a lab with Longhorn, the upstream
        // charts' only in a lab with one: they have nothing to render
        // otherwise.
        .filter(|(path, _)| lab.longhorn.is_some() || *path != LONGHORN_TEMPLATE)
        .filter(|(path, _)| has_charts(lab) || *path != CHARTS_TEMPLATE)
        .map(|(path, text)| File {
            path: format!("{CHART_DIR}/{path}"),
            contents: format!("{head}{text}"),
        })
        .collect();
    let values = app_of_apps_values(lab, argocd);
    files.push(File {
        path: format!("{CHART_DIR}/values.schema.json"),
        contents: json_with_header(lab, &values_schema(&values, has_charts(lab))),
    });
    files.push(File {
        path: format!("{CHART_DIR}/values.yaml"),
        contents: yaml::document(&head, &values),
    });
    files.push(File {
        path: format!("{CHART_DIR}/root.yaml"),
        contents: yaml::document(&head, &root_application(argocd)),
    });
    for app in lab.apps.values() {
        files.push(File {
            path: format!("{CHART_DIR}/rendered/applications/{}.yaml", app.name),
            contents: yaml::document(&head, &application(argocd, app)),
        });
    }
    let mut updaters: Vec<Yaml> = lab
        .apps
        .values()
        .filter_map(|app| app.image_updater.map(|s| image_updater(app, s)))
        .collect();
    // The registries ConfigMap is Gitea's registry's: the lab's own apps'
    // (upstream charts' images are public, or the chart says how to pull).
    if lab
        .apps
        .values()
        .any(|a| a.image_updater.is_some() && a.chart.is_none())
    {
        updaters.push(image_updater_config(argocd));
    }
    if !updaters.is_empty() {
        files.push(File {
            path: format!("{CHART_DIR}/rendered/image-updater.yaml"),
            contents: yaml::documents(&head, &updaters),
        });
    }
    if let Some(longhorn) = &lab.longhorn {
        files.push(File {
            path: format!("{CHART_DIR}/rendered/longhorn.yaml"),
            contents: yaml::document(&head, &backup_target(longhorn)),
        });
    }
    files
}

/// The chart's values schema, its `required` list the keys this lab's
/// values have: a lab without Gitea or Longhorn has no values for them.
fn values_schema(values: &Yaml, charts: bool) -> String {
    let schema = if charts {
        VALUES_SCHEMA.replacen(
            CHARTS_SCHEMA_BEFORE,
            &format!("{CHARTS_SCHEMA}{CHARTS_SCHEMA_BEFORE}"),
            1,
        )
    } else {
        VALUES_SCHEMA.to_string()
    };
    let Some((before, rest)) = schema.split_once(REQUIRED_OPEN) else {
        return schema;
    };
    let Some((_, after)) = rest.split_once(REQUIRED_CLOSE) else {
        return schema.clone();
    };
    let keys: Vec<String> = match values {
        Yaml::Map(m) => m
            .iter()
            .map(|(k, _)| format!("    {}", yaml::quote(k)))
            .collect(),
        _ => Vec::new(),
    };
    format!(
        "{before}{REQUIRED_OPEN}{}\n{REQUIRED_CLOSE}{after}",
        keys.join(",\n")
    )
}

/// Whether any app is an upstream chart.
fn has_charts(lab: &Lab) -> bool {
    lab.apps.values().any(|a| a.chart.is_some())
}

/// A JSON file with labc's header as its first key, `"$comment"` (JSON has
/// no comments; JSON Schema ignores that keyword). `json` starts with `{`.
fn json_with_header(lab: &Lab, json: &str) -> String {
    let text = header("", lab).replace("\n ", " ").replace('\n', " ");
    let comment = yaml::quote(text.trim());
    let body = json.strip_prefix('{').unwrap_or(json);
    format!("{{\n  \"$comment\": {comment},{body}")
}

fn helm_image_target() -> Yaml<'static> {
    Yaml::map().with(
        "helm",
        Yaml::map()
            .with("name", helm::IMAGE_REPOSITORY_KEY)
            .with("tag", helm::IMAGE_TAG_KEY),
    )
}

/// The Image Updater's name for a strategy (its own spelling, not the lab's).
fn strategy(s: UpdateStrategy) -> &'static str {
    match s {
        UpdateStrategy::Digest => "digest",
        UpdateStrategy::Semver => "semver",
        UpdateStrategy::NewestBuild => "newest-build",
        UpdateStrategy::Alphabetical => "alphabetical",
    }
}

/// `<lab path>/apps/<app>`: the app's folder in the lab repository.
fn lab_app_dir(argocd: &ArgoCd, app: &App) -> String {
    format!("{}/{}", argocd.lab_repository.path, app_dir(&app.name))
}

/// The app-of-apps values. Each app's entry holds only what departs from
/// the templates' conventions (org, namespace, repository), what the lab
/// states outright (its sync policy, even when it is the default), and what
/// the templates cannot know (a kept volume, Vault resources to apply, the
/// image to follow), so an app following every convention is `{}`, as in
/// the guidebook's table.
fn app_of_apps_values<'a>(lab: &'a Lab, argocd: &'a ArgoCd) -> Yaml<'a> {
    let mut apps = BTreeMap::new();
    let mut charts = BTreeMap::new();
    let gitea = lab.gitea.as_ref();
    for app in lab.apps.values() {
        let mut entry = Yaml::map();
        if let Some(chart) = &app.chart {
            entry.insert("repoURL", &chart.repo_url);
            if let Some(name) = &chart.chart {
                entry.insert("chart", name);
            }
            entry.insert("targetRevision", &chart.version);
        }
        // Without Gitea there is no default org, and every app names its
        // repository (validation).
        if app.chart.is_none() && gitea.is_some_and(|g| app.org != g.default_org) {
            entry.insert("org", &app.org);
        }
        if app.namespace != names::namespace(&app.name) {
            entry.insert("namespace", &app.namespace);
        }
        if app.chart.is_none()
            && gitea.is_none_or(|g| app.repo_url != names::repo_url(&g.url, &app.org, &app.name))
        {
            entry.insert("repoURL", &app.repo_url);
        }
        if app.sync_explicit || !(app.prune && app.self_heal) {
            entry.insert(
                "syncPolicy",
                Yaml::map()
                    .with("prune", app.prune)
                    .with("selfHeal", app.self_heal),
            );
        }
        if !app.cascade_delete {
            entry.insert("cascadeDelete", false);
        }
        if app.vault.is_some() {
            entry.insert("vaultSecrets", true);
        }
        if let Some(s) = app.image_updater {
            entry.insert(
                "imageUpdater",
                Yaml::map()
                    .with("imageName", app.image.reference())
                    .with("updateStrategy", strategy(s)),
            );
        }
        match app.chart {
            Some(_) => charts.insert(app.name.clone(), entry),
            None => apps.insert(app.name.clone(), entry),
        };
    }
    let repo = &argocd.lab_repository;
    let mut values = Yaml::map()
        .with("argocd_host", &argocd.host)
        .with("argocd_namespace", ARGOCD_NAMESPACE)
        .with("gitea_applications", apps)
        .with(
            "image_updater",
            Yaml::map().with("registries_conf", registries_conf(argocd)),
        )
        .with(
            "lab_repository",
            Yaml::map()
                .with("path", &repo.path)
                .with("revision", &repo.revision)
                .with("url", &repo.url),
        )
        .with("project", &argocd.project)
        .with("target_revision", &argocd.target_revision);
    if !charts.is_empty() {
        values.insert("chart_applications", charts);
    }
    if let Some(g) = gitea {
        values.insert("default_org", &g.default_org);
        values.insert("gitea_url", &g.url);
    }
    if let Some(l) = &lab.longhorn {
        values.insert("longhorn_backup_secret", &l.backup_secret);
        values.insert("longhorn_backup_target", &l.backup_target);
        values.insert("longhorn_namespace", &l.namespace);
    }
    values
}

/// The text of the Image Updater's registries.conf: Gitea's registry, the
/// credentials it is read with and the CA its certificate chains to. Empty
/// list when the lab gives no access (then no app follows its image).
fn registries_conf(argocd: &ArgoCd) -> String {
    let registries: Vec<Yaml> = argocd
        .registry
        .iter()
        .map(|r| {
            let mut entry = Yaml::map()
                .with("api_url", r.api_url.as_str())
                .with(
                    "credentials",
                    names::registry_credentials(ARGOCD_NAMESPACE, &r.pull_secret),
                )
                .with("name", "gitea")
                .with("prefix", r.prefix.as_str());
            if let Some(ca) = &r.ca_file {
                entry.insert("ca_file", ca.as_str());
            }
            entry
        })
        .collect();
    let text = yaml::document("", &Yaml::map().with("registries", registries));
    text.strip_prefix("---\n").unwrap_or(&text).to_string()
}

/// An app's Application: its chart from its repository with labc's values
/// for it (read from the lab repository, under the ref `lab`), and, when it
/// reads Vault, the Vault Secrets Operator resources labc wrote for it,
/// applied from the same lab source.
fn application<'a>(argocd: &'a ArgoCd, app: &'a App) -> Yaml<'a> {
    let repo = &argocd.lab_repository;
    let dir = lab_app_dir(argocd, app);
    let chart = match &app.chart {
        // Argo CD's OCI source reads the chart from the artifact's root.
        Some(c) => match &c.chart {
            Some(name) => Yaml::map().with("chart", name),
            None => Yaml::map().with("path", OCI_CHART_PATH),
        }
        .with("repoURL", &c.repo_url)
        .with("targetRevision", &c.version),
        None => Yaml::map()
            .with("repoURL", &app.repo_url)
            .with("path", CHART_PATH)
            .with("targetRevision", &argocd.target_revision),
    }
    .with(
        "helm",
        Yaml::map().with(
            "valueFiles",
            Yaml::strs([format!("${LAB_REF}/{dir}/{}", helm::VALUES_FILE)]),
        ),
    );
    let mut lab_source = Yaml::map()
        .with("repoURL", &repo.url)
        .with("targetRevision", &repo.revision)
        .with("ref", LAB_REF);
    if app.vault.is_some() {
        lab_source.insert("path", dir);
        lab_source.insert("directory", Yaml::map().with("include", vso::FILE));
    }
    let mut metadata = k8s_metadata(&app.name, ARGOCD_NAMESPACE);
    if app.cascade_delete {
        metadata.insert("finalizers", Yaml::strs([FINALIZER]));
    }
    Yaml::map()
        .with("apiVersion", APPLICATION_API)
        .with("kind", "Application")
        .with("metadata", metadata)
        .with(
            "spec",
            Yaml::map()
                .with("project", &argocd.project)
                .with("sources", Yaml::Seq(vec![chart, lab_source]))
                .with(
                    "destination",
                    Yaml::map()
                        .with("server", IN_CLUSTER)
                        .with("namespace", &app.namespace),
                )
                .with(
                    "syncPolicy",
                    Yaml::map()
                        .with(
                            "automated",
                            Yaml::map()
                                .with("prune", app.prune)
                                .with("selfHeal", app.self_heal),
                        )
                        .with("syncOptions", Yaml::strs(SYNC_OPTIONS.iter().copied())),
                ),
        )
}

/// The root Application: the app-of-apps chart from the lab repository.
/// It ignores the Helm parameters of the apps' chart sources (the first
/// source with `helm`, where the Image Updater v1 writes), also when it
/// syncs (`RespectIgnoreDifferences`), so it never reverts a new image. No
/// finalizer: deleting the root leaves every app running.
fn root_application(argocd: &ArgoCd) -> Yaml<'_> {
    let repo = &argocd.lab_repository;
    let root = &argocd.root;
    Yaml::map()
        .with("apiVersion", APPLICATION_API)
        .with("kind", "Application")
        .with("metadata", k8s_metadata(&root.name, ARGOCD_NAMESPACE))
        .with(
            "spec",
            Yaml::map()
                .with("project", &argocd.project)
                .with(
                    "source",
                    Yaml::map()
                        .with("repoURL", &repo.url)
                        .with("path", format!("{}/{CHART_DIR}", repo.path))
                        .with("targetRevision", &repo.revision),
                )
                .with(
                    "destination",
                    Yaml::map()
                        .with("server", IN_CLUSTER)
                        .with("namespace", ARGOCD_NAMESPACE),
                )
                .with(
                    "ignoreDifferences",
                    Yaml::Seq(vec![
                        Yaml::map()
                            .with("group", "argoproj.io")
                            .with("kind", "Application")
                            .with(
                                "jqPathExpressions",
                                Yaml::strs([".spec.sources[0].helm.parameters"]),
                            ),
                    ]),
                )
                .with(
                    "syncPolicy",
                    Yaml::map()
                        .with(
                            "automated",
                            Yaml::map()
                                .with("prune", root.prune)
                                .with("selfHeal", root.self_heal),
                        )
                        .with("syncOptions", Yaml::strs(["RespectIgnoreDifferences=true"])),
                ),
        )
}

/// One ImageUpdater per app: deleting an app deletes its updater with it.
/// `imageName` carries the tag explicitly, which the digest strategy needs
/// (it follows the digest behind that mutable tag).
fn image_updater(app: &App, s: UpdateStrategy) -> Yaml<'_> {
    let image = Yaml::map()
        .with("alias", IMAGE_ALIAS)
        .with("imageName", app.image.reference())
        .with(
            "commonUpdateSettings",
            Yaml::map().with("updateStrategy", strategy(s)),
        )
        .with("manifestTargets", helm_image_target());
    Yaml::map()
        .with("apiVersion", IMAGE_UPDATER_API)
        .with("kind", "ImageUpdater")
        .with("metadata", k8s_metadata(&app.name, ARGOCD_NAMESPACE))
        .with(
            "spec",
            Yaml::map()
                .with(
                    "applicationRefs",
                    Yaml::Seq(vec![
                        Yaml::map()
                            .with("namePattern", &app.name)
                            .with("images", Yaml::Seq(vec![image])),
                    ]),
                )
                .with("writeBackConfig", Yaml::map().with("method", WRITE_BACK)),
        )
}

/// The ConfigMap the Image Updater mounts its registries.conf from.
fn image_updater_config(argocd: &ArgoCd) -> Yaml<'_> {
    Yaml::map()
        .with("apiVersion", "v1")
        .with("kind", "ConfigMap")
        .with(
            "metadata",
            k8s_metadata(IMAGE_UPDATER_CONFIG, ARGOCD_NAMESPACE),
        )
        .with(
            "data",
            Yaml::map().with("registries.conf", registries_conf(argocd)),
        )
}

/// Longhorn's backup target: the lab's bucket and its credentials' Secret.
fn backup_target(longhorn: &Longhorn) -> Yaml<'_> {
    Yaml::map()
        .with("apiVersion", LONGHORN_API)
        .with("kind", "BackupTarget")
        .with("metadata", k8s_metadata(BACKUP_TARGET, &longhorn.namespace))
        .with(
            "spec",
            Yaml::map()
                .with("backupTargetURL", &longhorn.backup_target)
                .with("credentialSecret", &longhorn.backup_secret),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Lab {
        crate::compile::repo_lab("lab.ncl")
    }

    #[test]
    fn output_is_deterministic() {
        // Headers, LF and newlines: tests/it/layout.rs, over every file.
        let lab = reference();
        assert_eq!(emit(&lab), emit(&lab));
    }

    #[test]
    fn no_updater_file_without_updaters() {
        let mut lab = reference();
        for app in lab.apps.values_mut() {
            app.image_updater = None;
        }
        let files = emit(&lab);
        assert!(
            files
                .iter()
                .all(|f| !f.path.contains("image-updater.yaml") || f.path.contains("templates/"))
        );
    }

    #[test]
    fn entries_carry_what_departs_from_the_conventions() {
        let mut lab = reference();
        let argocd = lab.argocd.clone().expect("reference argocd");
        let text = yaml::document("", &app_of_apps_values(&lab, &argocd));
        // Stated in lab.ncl, though equal to the default.
        assert!(
            text.contains("\n  tools:\n    syncPolicy:\n      prune: true\n      selfHeal: true\n"),
            "{text}"
        );
        assert!(
            text.contains("\n  url-shortener:\n    cascadeDelete: false\n"),
            "{text}"
        );
        // A stateless app with no override and no updater follows every convention.
        let app = lab.apps.get_mut("telegram-gateway").expect("reference app");
        app.image_updater = None;
        let gitea = lab.gitea.clone().expect("reference gitea");
        app.org = gitea.default_org.clone();
        app.repo_url = names::repo_url(&gitea.url, &app.org, &app.name);
        let text = yaml::document("", &app_of_apps_values(&lab, &argocd));
        assert!(text.contains("\n  telegram-gateway: {}\n"), "{text}");
    }

    #[test]
    fn the_reference_values_schema_is_the_static_file() {
        // Every key of the values is in the reference lab: the required
        // list is the file's own.
        let lab = reference();
        let argocd = lab.argocd.clone().expect("reference argocd");
        assert_eq!(
            values_schema(&app_of_apps_values(&lab, &argocd), false),
            VALUES_SCHEMA
        );
    }

    #[test]
    fn the_schema_keeps_its_header_as_a_comment() {
        let lab = reference();
        let text = json_with_header(&lab, VALUES_SCHEMA);
        let v: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(
            v["$comment"],
            "Generated by labc from lab.ncl: do not edit. Change lab.ncl and run `labc build` instead."
        );
    }
}

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
use super::{File, app_dir, certs, header, helm, k8s_metadata, vso};
use crate::model::{App, ArgoCd, ArgoInstall, ChartRef, Lab, Longhorn, UpdateStrategy};
use crate::names;
use std::collections::BTreeMap;

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
/// ConfigMap (and volume) of step-ca's root in ArgoCD's namespace, which
/// the Image Updater's install mounts where `registry.ca_file` says.
const ROOT_CA: &str = "lab-root-ca";
/// The annotation on an ingress naming the ClusterIssuer cert-manager
/// requests its certificate from.
const CLUSTER_ISSUER_ANNOTATION: &str = "cert-manager.io/cluster-issuer";
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
    (
        CERT_ISSUER_TEMPLATE,
        include_str!("argocd/chart/templates/cert-issuer.yaml"),
    ),
    (
        INSTALLS_TEMPLATE,
        include_str!("argocd/chart/templates/installs.yaml"),
    ),
];
const CERT_ISSUER_TEMPLATE: &str = "templates/cert-issuer.yaml";
const INSTALLS_TEMPLATE: &str = "templates/installs.yaml";
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
        .filter(|(path, _)| lab.acme().is_some() || *path != CERT_ISSUER_TEMPLATE)
        .filter(|(path, _)| argocd.install.is_some() || *path != INSTALLS_TEMPLATE)
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
        .filter_map(|app| app.image_updater.map(|s| image_updater(argocd, app, s)))
        .collect();
    // The registries ConfigMap is Gitea's registry's: the lab's own apps'
    // (upstream charts' images are public, or the chart says how to pull).
    // With the installs, the Image Updater's chart writes it instead.
    if lab
        .apps
        .values()
        .any(|a| a.image_updater.is_some() && a.chart.is_none())
        && argocd.install.is_none()
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
        let mut docs = vec![backup_target(longhorn)];
        if let Some(vault) = &lab.vault {
            docs.extend(vso::longhorn_resources(vault, longhorn));
        }
        files.push(File {
            path: format!("{CHART_DIR}/rendered/longhorn.yaml"),
            contents: yaml::documents(&head, &docs),
        });
    }
    if let Some(acme) = lab.acme() {
        files.push(File {
            path: format!("{CHART_DIR}/rendered/cert-issuer.yaml"),
            contents: yaml::document(&head, &certs::cluster_issuer(acme)),
        });
    }
    if let Some(install) = &argocd.install {
        let mut docs: Vec<Yaml> = installs(lab, argocd, install)
            .into_iter()
            .map(|(release, chart, values)| install_application(argocd, release, chart, values))
            .collect();
        if let (Some((_, file)), Some(acme)) = (root_ca(lab, argocd), lab.acme()) {
            docs.push(root_ca_config_map(argocd, file, &acme.ca_bundle));
        }
        files.push(File {
            path: format!("{CHART_DIR}/rendered/installs.yaml"),
            contents: yaml::documents(&head, &docs),
        });
    }
    files
}

/// With ArgoCD's installs and a registry CA file: the folder and file name
/// the Image Updater reads step-ca's root at (validation: both present, and
/// `pki.acme` holds the root).
fn root_ca<'a>(lab: &'a Lab, argocd: &'a ArgoCd) -> Option<(&'a str, &'a str)> {
    argocd.install.as_ref()?;
    lab.acme()?;
    let file = argocd.registry.as_ref()?.ca_file.as_deref()?;
    file.rsplit_once('/')
}

/// The ConfigMap holding step-ca's root for the Image Updater's install.
fn root_ca_config_map<'a>(argocd: &'a ArgoCd, file: &'a str, pem: &'a str) -> Yaml<'a> {
    config_map(ROOT_CA, &argocd.namespace, file, pem)
}

/// A ConfigMap in `namespace` holding one file.
fn config_map<'a>(
    name: &'a str,
    namespace: &'a str,
    file: &'a str,
    text: impl Into<Yaml<'a>>,
) -> Yaml<'a> {
    Yaml::map()
        .with("apiVersion", "v1")
        .with("kind", "ConfigMap")
        .with("metadata", k8s_metadata(name, namespace))
        .with("data", Yaml::map().with(file, text))
}

/// An Argo CD source of an upstream chart at a pinned version: `chart` from
/// a Helm repository; an OCI artifact's root (`path: .`) without one.
fn upstream_source<'a>(repo_url: &'a str, chart: Option<&'a str>, version: &'a str) -> Yaml<'a> {
    match chart {
        Some(name) => Yaml::map().with("chart", name),
        None => Yaml::map().with("path", OCI_CHART_PATH),
    }
    .with("repoURL", repo_url)
    .with("targetRevision", version)
}

/// ArgoCD's and the Image Updater's installs: Helm release (the chart's
/// name, as 03_cicd installs it), chart, and labc's values for it. ArgoCD's
/// server is reached at `argocd.host` through the lab's ingress, with a
/// certificate from step-ca when the lab has its issuer; the Image
/// Updater's chart writes the registries ConfigMap.
fn installs<'a>(
    lab: &'a Lab,
    argocd: &'a ArgoCd,
    install: &'a ArgoInstall,
) -> Vec<(&'a str, &'a ChartRef, Yaml<'a>)> {
    let mut ingress = Yaml::map()
        .with("enabled", true)
        .with("hostname", &argocd.host);
    if let Some(acme) = lab.acme() {
        ingress.insert(
            "annotations",
            Yaml::map().with(CLUSTER_ISSUER_ANNOTATION, &acme.issuer),
        );
        ingress.insert("ingressClassName", &acme.ingress_class);
        ingress.insert("tls", true);
    }
    // TLS ends at the ingress: argocd-server answers it in plain HTTP
    // (the chart's advice for TLS termination at the ingress controller;
    // otherwise its Ingress points at the HTTPS port, whose certificate
    // the ingress controller does not trust).
    let argocd_values = Yaml::map()
        .with(
            "configs",
            Yaml::map().with("params", Yaml::map().with("server.insecure", true)),
        )
        .with("global", Yaml::map().with("domain", &argocd.host))
        .with("server", Yaml::map().with("ingress", ingress));
    let mut updater_values = Yaml::map();
    if argocd.registry.is_some() {
        updater_values.insert(
            "config",
            Yaml::map().with("registries", Yaml::Seq(registries(argocd))),
        );
    }
    // The CA file registries.conf names, mounted from the ConfigMap the
    // chart renders (`root_ca`).
    if let Some((dir, _)) = root_ca(lab, argocd) {
        updater_values.insert(
            "volumes",
            Yaml::Seq(vec![
                Yaml::map()
                    .with("configMap", Yaml::map().with("name", ROOT_CA))
                    .with("name", ROOT_CA),
            ]),
        );
        updater_values.insert(
            "volumeMounts",
            Yaml::Seq(vec![
                Yaml::map()
                    .with("mountPath", dir)
                    .with("name", ROOT_CA)
                    .with("readOnly", true),
            ]),
        );
    }
    vec![
        (&install.argocd.release, &install.argocd, argocd_values),
        (
            &install.image_updater.release,
            &install.image_updater,
            updater_values,
        ),
    ]
}

/// The Application that keeps an install: no finalizer, no pruning
/// (`templates/installs.yaml` says why).
fn install_application<'a>(
    argocd: &'a ArgoCd,
    release: &'a str,
    chart: &'a ChartRef,
    values: Yaml<'a>,
) -> Yaml<'a> {
    let source = upstream_source(&chart.repo_url, chart.chart.as_deref(), &chart.version).with(
        "helm",
        Yaml::map()
            .with("releaseName", release)
            .with("valuesObject", values),
    );
    Yaml::map()
        .with("apiVersion", APPLICATION_API)
        .with("kind", "Application")
        .with("metadata", k8s_metadata(release, &argocd.namespace))
        .with(
            "spec",
            Yaml::map()
                .with("project", &argocd.project)
                .with("source", source)
                .with(
                    "destination",
                    Yaml::map()
                        .with("server", IN_CLUSTER)
                        .with("namespace", &argocd.namespace),
                )
                .with(
                    "syncPolicy",
                    Yaml::map().with(
                        "automated",
                        Yaml::map().with("prune", false).with("selfHeal", true),
                    ),
                ),
        )
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
        if !app.certificates.is_empty() {
            entry.insert("certificates", true);
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
        .with("argocd_namespace", &argocd.namespace)
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
        if let Some(v) = &lab.vault {
            let mut lv = Yaml::map()
                .with("address", &v.operator_address)
                .with("authRole", &l.auth_role)
                .with("kubernetesMount", &v.kubernetes_mount)
                .with("kvMount", &v.kv_mount)
                .with("kvPath", &l.kv_path)
                .with("serviceAccount", &l.service_account);
            if let Some(ca) = &v.operator_ca_secret {
                lv.insert("caSecret", ca);
            }
            values.insert("longhorn_vault", lv);
        }
    }
    if let Some(acme) = lab.acme() {
        values.insert(
            "cert_issuer",
            Yaml::map()
                .with("accountKeySecret", &acme.account_key_secret)
                .with("caBundle", certs::ca_bundle(acme))
                .with("ingressClass", &acme.ingress_class)
                .with("name", &acme.issuer)
                .with("server", &acme.url),
        );
    }
    if let Some(install) = &argocd.install {
        let mut m = Yaml::map();
        for (release, chart, v) in installs(lab, argocd, install) {
            let mut entry = Yaml::map().with("repoURL", &chart.repo_url);
            if let Some(name) = &chart.chart {
                entry.insert("chart", name);
            }
            entry.insert("targetRevision", &chart.version);
            entry.insert("values", v);
            m.insert(release, entry);
        }
        values.insert("installs", m);
        if let (Some((_, file)), Some(acme)) = (root_ca(lab, argocd), lab.acme()) {
            values.insert(
                "root_ca",
                Yaml::map()
                    .with("file", file)
                    .with("name", ROOT_CA)
                    .with("pem", &acme.ca_bundle),
            );
        }
    }
    values
}

/// The text of the Image Updater's registries.conf: Gitea's registry, the
/// credentials it is read with and the CA its certificate chains to. Empty
/// list when the lab gives no access (then no app follows its image).
fn registries_conf(argocd: &ArgoCd) -> String {
    let text = yaml::document("", &Yaml::map().with("registries", registries(argocd)));
    text.strip_prefix("---\n").unwrap_or(&text).to_string()
}

/// Gitea's registry as the Image Updater's configuration lists it.
fn registries(argocd: &ArgoCd) -> Vec<Yaml<'_>> {
    argocd
        .registry
        .iter()
        .map(|r| {
            let mut entry = Yaml::map()
                .with("api_url", r.api_url.as_str())
                .with(
                    "credentials",
                    names::registry_credentials(&argocd.namespace, &r.pull_secret),
                )
                .with("name", "gitea")
                .with("prefix", r.prefix.as_str());
            if let Some(ca) = &r.ca_file {
                entry.insert("ca_file", ca.as_str());
            }
            entry
        })
        .collect()
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
        Some(c) => upstream_source(&c.repo_url, c.chart.as_deref(), &c.version),
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
    // What the Application applies from the lab repository (the template's
    // order: alphabetical).
    let mut files = Vec::new();
    if !app.certificates.is_empty() {
        files.push(certs::FILE);
    }
    if app.vault.is_some() {
        files.push(vso::FILE);
    }
    if !files.is_empty() {
        let include = match files.as_slice() {
            [one] => one.to_string(),
            many => format!("{{{}}}", many.join(",")),
        };
        lab_source.insert("path", dir);
        lab_source.insert("directory", Yaml::map().with("include", include));
    }
    let mut metadata = k8s_metadata(&app.name, &argocd.namespace);
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
        .with("metadata", k8s_metadata(&root.name, &argocd.namespace))
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
                        .with("namespace", &argocd.namespace),
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
fn image_updater<'a>(argocd: &'a ArgoCd, app: &'a App, s: UpdateStrategy) -> Yaml<'a> {
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
        .with("metadata", k8s_metadata(&app.name, &argocd.namespace))
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
    config_map(
        IMAGE_UPDATER_CONFIG,
        &argocd.namespace,
        "registries.conf",
        registries_conf(argocd),
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
            text.contains(
                "\n  tools:\n    certificates: true\n    syncPolicy:\n      prune: true\n      selfHeal: true\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n  url-shortener:\n    cascadeDelete: false\n"),
            "{text}"
        );
        // A stateless app with no override and no updater follows every convention.
        let app = lab.apps.get_mut("telegram-gateway").expect("reference app");
        app.image_updater = None;
        app.certificates.clear();
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

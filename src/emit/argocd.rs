//! ArgoCD: the app-of-apps chart's values, the Application each app gets
//! (as the chart renders it) and the Image Updater resources.
//!
//! Files:
//! - `argocd/values.yaml`: the app-of-apps values (`gitea_applications`,
//!   keyed by app, carrying only what departs from the chart's conventions,
//!   plus the Longhorn backup target and the Image Updater config);
//! - `argocd/applications/<app>.yaml`: one `argoproj.io/v1alpha1`
//!   Application per app, in namespace `argocd`;
//! - `argocd/image-updater.yaml`: one `ImageUpdater` per app that follows its
//!   image (v1 reads no annotations without one), absent when none does;
//!
//! Invariants: every Kubernetes name comes from the model (already checked
//! DNS-1123 where Kubernetes needs it); the constants below are fixed names
//! of this layout, not derived from the lab. The Helm keys the Image Updater
//! writes are [`helm`]'s, so what it writes back is what the values hold.

use super::yaml::{self, Yaml};
use super::{File, header, helm, k8s_metadata};
use crate::model::{App, Lab, UpdateStrategy};
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
const SYNC_OPTIONS: &[&str] = &["CreateNamespace=true"];
/// Alias of the app's one image in its ImageUpdater (an alias is local to
/// the resource, so a fixed one can't clash).
const IMAGE_ALIAS: &str = "app";

const IMAGE_UPDATER_API: &str = "argocd-image-updater.argoproj.io/v1alpha1";

pub fn emit(lab: &Lab) -> Vec<File> {
    let head = header("#", lab);
    let mut files = vec![File {
        path: "argocd/values.yaml".into(),
        contents: yaml::document(&head, &app_of_apps_values(lab)),
    }];
    for app in lab.apps.values() {
        files.push(File {
            path: format!("argocd/applications/{}.yaml", app.name),
            contents: yaml::document(&head, &application(lab, app)),
        });
    }
    let updaters: Vec<Yaml> = lab
        .apps
        .values()
        .filter_map(|app| app.image_updater.map(|s| image_updater(lab, app, s)))
        .collect();
    if !updaters.is_empty() {
        files.push(File {
            path: "argocd/image-updater.yaml".into(),
            contents: yaml::documents(&head, &updaters),
        });
    }
    files
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

/// The app-of-apps values. Each app's entry holds only what departs from
/// the chart's conventions (org, namespace, repository, sync), so an app
/// following them all is `{}`, as in the guidebook's table.
fn app_of_apps_values(lab: &Lab) -> Yaml<'_> {
    let mut apps = BTreeMap::new();
    for app in lab.apps.values() {
        let mut entry = Yaml::map();
        if app.org != lab.gitea.default_org {
            entry.insert("org", &app.org);
        }
        if app.namespace != names::namespace(&app.name) {
            entry.insert("namespace", &app.namespace);
        }
        if app.repo_url != names::repo_url(&lab.gitea.url, &app.org, &app.name) {
            entry.insert("repoURL", &app.repo_url);
        }
        if !(app.prune && app.self_heal) {
            entry.insert(
                "syncPolicy",
                Yaml::map()
                    .with("prune", app.prune)
                    .with("selfHeal", app.self_heal),
            );
        }
        if let Some(s) = app.image_updater {
            entry.insert(
                "imageUpdater",
                Yaml::map()
                    .with("alias", IMAGE_ALIAS)
                    .with("imageName", app.image.reference())
                    .with("updateStrategy", strategy(s))
                    .with("manifestTargets", helm_image_target()),
            );
        }
        apps.insert(app.name.clone(), entry);
    }
    Yaml::map()
        .with("argocd_namespace", ARGOCD_NAMESPACE)
        .with("default_org", &lab.gitea.default_org)
        .with("gitea_applications", apps)
        .with("gitea_url", &lab.gitea.url)
        .with(
            "image_updater",
            Yaml::map()
                .with("argocd_host", &lab.argocd.host)
                .with("write_back_method", lab.argocd.write_back.as_str()),
        )
        .with("longhorn_backup_target", &lab.longhorn.backup_target)
        .with("project", &lab.argocd.project)
        .with("target_revision", &lab.argocd.target_revision)
}

fn application<'a>(lab: &'a Lab, app: &'a App) -> Yaml<'a> {
    Yaml::map()
        .with("apiVersion", "argoproj.io/v1alpha1")
        .with("kind", "Application")
        .with(
            "metadata",
            k8s_metadata(&app.name, ARGOCD_NAMESPACE).with("finalizers", Yaml::strs([FINALIZER])),
        )
        .with(
            "spec",
            Yaml::map()
                .with("project", &lab.argocd.project)
                .with(
                    "source",
                    Yaml::map()
                        .with("repoURL", &app.repo_url)
                        .with("path", CHART_PATH)
                        .with("targetRevision", &lab.argocd.target_revision),
                )
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

/// One ImageUpdater per app: deleting an app deletes its updater with it.
/// `imageName` carries the tag explicitly, which the digest strategy needs
/// (it follows the digest behind that mutable tag).
fn image_updater<'a>(lab: &'a Lab, app: &'a App, s: UpdateStrategy) -> Yaml<'a> {
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
                .with(
                    "writeBackConfig",
                    Yaml::map().with("method", lab.argocd.write_back.as_str()),
                ),
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
        assert!(
            !emit(&lab)
                .iter()
                .any(|f| f.path == "argocd/image-updater.yaml")
        );
    }

    #[test]
    fn conventional_app_has_an_empty_entry() {
        let text = yaml::document("", &app_of_apps_values(&reference()));
        assert!(text.contains("\n  url-shortener: {}\n"), "{text}");
        assert!(
            text.contains("\n  dance-lessons-coach:\n    imageUpdater:"),
            "{text}"
        );
    }
}

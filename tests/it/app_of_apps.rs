//! The app-of-apps chart, proven with Helm v4's own engine
//! (`tests/validators/helm-chart.py`: helm-python-sdk, Helm's Go SDK through
//! its C ABI) on every lab: the repository's and every fixture.
//!
//! - The chart labc writes (`generated/argocd/`: static templates, the lab's
//!   values) renders, from its values alone, exactly the objects labc also
//!   writes directly under `argocd/rendered/`, object by object; `helm lint
//!   --strict` reports nothing above info.
//! - The values are the whole truth: what lab.ncl states explicitly (tools'
//!   prune + selfHeal) is in them, defaults are the template's, and Helm
//!   refuses values of the wrong shape (the chart's values.schema.json).
//! - Everything labc writes for an app reaches the cluster: every file under
//!   `generated/apps/` is referenced by exactly one rendered Application, and
//!   every reference resolves to a generated file.
//! - The root Application deploys this chart from the lab repository and
//!   keeps the Image Updater's write-back: it ignores the Helm parameters of
//!   the source the Image Updater writes to.

use crate::argocd::schema_errors;
use crate::common::{Lab, labs, stderr, tool, yaml_docs as docs};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What Helm reports for the chart at `chart`, with `values` merged over its
/// values.yaml as `-f` would.
fn helm(chart: &Path, values: Option<&Value>) -> Value {
    let mut cmd = Command::new(tool("target/tools/venv/bin/python"));
    cmd.arg(tool("tests/validators/helm-chart.py")).arg(chart);
    let scratch = tempfile::tempdir().expect("tempdir");
    if let Some(v) = values {
        let path = scratch.path().join("values.json");
        std::fs::write(&path, v.to_string()).expect("write values");
        cmd.arg(path);
    }
    let o = cmd.output().expect("helm-chart.py runs");
    assert!(o.status.success(), "helm-chart.py failed:\n{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("helm-chart.py prints JSON")
}

/// Objects keyed by what identifies them in a cluster.
type Objects = BTreeMap<(String, String, String, String), Value>;

fn key(d: &Value) -> (String, String, String, String) {
    let s = |p: &str| {
        d.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name"),
    )
}

/// Inserts every document, failing on an object seen twice.
fn collect(into: &mut Objects, from: &str, all: Vec<Value>) {
    for d in all {
        let k = key(&d);
        assert!(
            into.insert(k.clone(), d).is_none(),
            "{from}: {k:?} appears twice"
        );
    }
}

/// Every object Helm rendered; panics on a render error.
fn rendered(report: &Value) -> Objects {
    assert!(
        report["render_error"].is_null(),
        "helm could not render the chart: {}",
        report["render_error"]
    );
    let mut out = Objects::new();
    for (template, text) in report["manifests"].as_object().expect("manifests") {
        collect(&mut out, template, docs(text.as_str().expect("text")));
    }
    out
}

/// Every object labc wrote directly, for review, beside the chart.
fn written(lab: &Lab) -> Objects {
    let mut out = Objects::new();
    for (path, text) in lab.files() {
        if path.starts_with("argocd/rendered/") {
            collect(&mut out, &path, docs(&text));
        }
    }
    out
}

/// Lint findings above info (severity 2 warning, 3 error).
fn lint_findings(report: &Value) -> Vec<String> {
    report["lint"]["messages"]
        .as_array()
        .expect("lint messages")
        .iter()
        .filter(|m| m["severity"].as_u64().unwrap_or(3) >= 2)
        .map(|m| format!("{} {}: {}", m["severity"], m["path"], m["error"]))
        .collect()
}

fn chart(lab: &Lab) -> PathBuf {
    lab.generated().join("argocd")
}

#[test]
fn the_chart_renders_exactly_what_labc_writes_on_every_lab() {
    for lab in labs() {
        lab.build();
        let name = &lab.name;
        let m = crate::argocd::model(&lab);
        if m.argocd.is_none() {
            assert!(!lab.generated().join("argocd").exists(), "{name}");
            continue;
        }
        let report = helm(&chart(&lab), None);
        assert_eq!(report["chart"]["name"], "app-of-apps", "{name}");
        let findings = lint_findings(&report);
        assert!(
            findings.is_empty(),
            "{name}: helm lint:\n{}",
            findings.join("\n")
        );
        let (helm_objects, labc_objects) = (rendered(&report), written(&lab));
        let only_helm: Vec<_> = helm_objects
            .keys()
            .filter(|k| !labc_objects.contains_key(*k))
            .collect();
        let only_labc: Vec<_> = labc_objects
            .keys()
            .filter(|k| !helm_objects.contains_key(*k))
            .collect();
        assert!(
            only_helm.is_empty() && only_labc.is_empty(),
            "{name}: rendered only: {only_helm:?}; written only: {only_labc:?}"
        );
        for (k, d) in &helm_objects {
            assert_eq!(
                d, &labc_objects[k],
                "{name}: {k:?} differs (left: Helm, right: labc)"
            );
        }
        // One Application per app, an ImageUpdater per app that follows its
        // image, the registries ConfigMap when one of the lab's own does
        // (upstream charts' images aren't in Gitea's registry), a backup
        // target with Longhorn.
        let count = |kind: &str| helm_objects.keys().filter(|k| k.1 == kind).count();
        let installs = m.argocd.as_ref().and_then(|a| a.install.as_ref());
        // ArgoCD's and the Image Updater's installs are Applications too.
        let install_apps = if installs.is_some() { 2 } else { 0 };
        assert_eq!(count("Application"), m.apps.len() + install_apps, "{name}");
        let updating = m
            .apps
            .values()
            .filter(|a| a.image_updater.is_some())
            .count();
        assert_eq!(count("ImageUpdater"), updating, "{name}");
        let gitea_updating = m
            .apps
            .values()
            .any(|a| a.image_updater.is_some() && a.chart.is_none());
        // With the installs, the Image Updater's chart writes it.
        // ... and, with the installs, step-ca's root for the Image Updater.
        let root_ca = installs.is_some()
            && m.argocd
                .as_ref()
                .and_then(|a| a.registry.as_ref())
                .is_some_and(|r| r.ca_file.is_some());
        assert_eq!(
            count("ConfigMap"),
            usize::from(gitea_updating && installs.is_none()) + usize::from(root_ca),
            "{name}"
        );
        assert_eq!(
            count("BackupTarget"),
            usize::from(m.longhorn.is_some()),
            "{name}"
        );
    }
}

/// The rendered Application of `app` in a Helm report.
fn application<'a>(objects: &'a Objects, app: &str) -> &'a Value {
    objects
        .iter()
        .find(|(k, _)| k.1 == "Application" && k.3 == app)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no Application {app}"))
}

#[test]
fn the_values_alone_carry_every_fact_and_the_templates_every_default() {
    let lab = Lab::reference();
    lab.build();
    let values = &docs(&lab.read("argocd/values.yaml"))[0];
    // lab.ncl states tools' policy explicitly (as the guidebook does): it is kept.
    assert_eq!(
        values["gitea_applications"]["tools"],
        json!({"certificates": true, "syncPolicy": {"prune": true, "selfHeal": true}})
    );
    let base = rendered(&helm(&chart(&lab), None));
    let tools = application(&base, "tools");
    assert_eq!(
        tools["spec"]["syncPolicy"]["automated"],
        json!({"prune": true, "selfHeal": true})
    );
    // Without it the chart's default gives the same Application...
    let defaulted = rendered(&helm(
        &chart(&lab),
        Some(&json!({"gitea_applications": {"tools": {"syncPolicy": null}}})),
    ));
    assert_eq!(application(&defaulted, "tools"), tools);
    // ...and an explicit false is not turned into the default (Sprig's
    // `default` would): only prune changes.
    let no_prune = rendered(&helm(
        &chart(&lab),
        Some(&json!({"gitea_applications": {"tools": {"syncPolicy": {"prune": false}}}})),
    ));
    assert_eq!(
        application(&no_prune, "tools")["spec"]["syncPolicy"]["automated"],
        json!({"prune": false, "selfHeal": true})
    );
    // An app with a volume keeps it: no cascading finalizer; set it and it appears.
    let url = application(&base, "url-shortener");
    assert!(url["metadata"].get("finalizers").is_none(), "{url}");
    let cascading = rendered(&helm(
        &chart(&lab),
        Some(&json!({"gitea_applications": {"url-shortener": {"cascadeDelete": null}}})),
    ));
    assert_eq!(
        application(&cascading, "url-shortener")["metadata"]["finalizers"],
        json!(["resources-finalizer.argocd.argoproj.io"])
    );
    // Values of the wrong shape are refused by render and by lint.
    let bad = helm(
        &chart(&lab),
        Some(&json!({"gitea_applications": {"tools": {"syncPolicy": {"prune": "yes"}}}})),
    );
    let err = bad["render_error"].as_str().expect("render refused");
    assert!(
        err.contains("/gitea_applications/tools/syncPolicy/prune"),
        "{err}"
    );
    assert!(!lint_findings(&bad).is_empty());
    let unknown = helm(
        &chart(&lab),
        Some(&json!({"gitea_applications": {"tools": {"prunes": true}}})),
    );
    assert!(
        unknown["render_error"]
            .as_str()
            .is_some_and(|e| e.contains("prunes")),
        "{unknown}"
    );
}

/// The upstream charts' Applications are the chart's too: their values'
/// shape is checked by Helm, and the OCI source reads the artifact's root.
#[test]
fn upstream_chart_applications_render_from_their_values() {
    let lab = Lab::named("ha");
    lab.build();
    let base = rendered(&helm(&chart(&lab), None));
    let podinfo = application(&base, "podinfo");
    assert_eq!(podinfo["spec"]["sources"][0]["path"], ".");
    assert_eq!(
        podinfo["spec"]["sources"][0]["repoURL"],
        "oci://ghcr.io/stefanprodan/charts/podinfo"
    );
    let grafana = application(&base, "grafana");
    assert_eq!(grafana["spec"]["sources"][0]["chart"], "grafana");
    let bad = helm(
        &chart(&lab),
        Some(&json!({"chart_applications": {"grafana": {"targetRevision": 8}}})),
    );
    let err = bad["render_error"].as_str().expect("render refused");
    assert!(
        err.contains("/chart_applications/grafana/targetRevision"),
        "{err}"
    );
}

/// The files of the lab repository an Application reads, as paths relative
/// to `generated/` (the repository path `lab_path` stripped).
fn references(app: &Value, lab_url: &str, lab_path: &str) -> Vec<String> {
    let name = app["metadata"]["name"].as_str().unwrap_or_default();
    // An install's one source is its upstream chart: nothing of the lab's.
    if let Some(source) = app["spec"].get("source") {
        assert_ne!(source["repoURL"], lab_url, "{name}");
        return Vec::new();
    }
    let sources = app["spec"]["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no sources"));
    let in_lab = |repo_path: &str| -> String {
        repo_path
            .strip_prefix(lab_path)
            .and_then(|p| p.strip_prefix('/'))
            .unwrap_or_else(|| panic!("{name}: {repo_path} is outside {lab_path}/"))
            .to_string()
    };
    let refs: BTreeMap<&str, &Value> = sources
        .iter()
        .filter_map(|s| s["ref"].as_str().map(|r| (r, s)))
        .collect();
    let mut out = Vec::new();
    for s in sources {
        for file in s
            .pointer("/helm/valueFiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let file = file.as_str().expect("value file");
            let (r, rest) = file
                .strip_prefix('$')
                .and_then(|f| f.split_once('/'))
                .unwrap_or_else(|| panic!("{name}: {file} is not read from a ref"));
            let source = refs
                .get(r)
                .unwrap_or_else(|| panic!("{name}: no source with ref {r}"));
            assert_eq!(
                source["repoURL"], lab_url,
                "{name}: ${r} is not the lab repository"
            );
            out.push(in_lab(rest));
        }
        if let Some(path) = s["path"].as_str().filter(|_| s["repoURL"] == lab_url) {
            let include = s
                .pointer("/directory/include")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{name}: lab directory source without include"));
            // Argo CD's include is a glob: `{a,b}` names several files.
            let names = include
                .strip_prefix('{')
                .and_then(|i| i.strip_suffix('}'))
                .map_or_else(|| vec![include], |list| list.split(',').collect());
            for file in names {
                out.push(format!("{}/{file}", in_lab(path)));
            }
        }
    }
    out
}

#[test]
fn every_file_labc_writes_for_an_app_is_read_by_exactly_one_application() {
    for lab in labs() {
        lab.build();
        let name = &lab.name;
        if !lab.generated().join("argocd").exists() {
            // No ArgoCD, no apps (validation): nothing under apps/ either.
            assert!(!lab.generated().join("apps").exists(), "{name}");
            continue;
        }
        let root_app = &docs(&lab.read("argocd/root.yaml"))[0];
        let lab_url = root_app["spec"]["source"]["repoURL"]
            .as_str()
            .expect("lab repo");
        let chart_path = root_app["spec"]["source"]["path"]
            .as_str()
            .expect("chart path");
        let lab_path = chart_path
            .strip_suffix("/argocd")
            .expect("the root deploys <path>/argocd");
        let objects = rendered(&helm(&chart(&lab), None));
        let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((_, kind, _, app), d) in &objects {
            if kind == "Application" {
                for file in references(d, lab_url, lab_path) {
                    readers.entry(file).or_default().push(app.clone());
                }
            }
        }
        let files = lab.files();
        for (file, apps) in &readers {
            assert!(
                files.contains_key(file),
                "{name}: {apps:?} read {file}, which labc does not write"
            );
            assert_eq!(apps.len(), 1, "{name}: {file} is read by {apps:?}");
        }
        let app_files: BTreeSet<&String> =
            files.keys().filter(|p| p.starts_with("apps/")).collect();
        let read: BTreeSet<&String> = readers.keys().collect();
        assert_eq!(
            app_files, read,
            "{name}: files under apps/ vs files Applications read"
        );
        assert!(!app_files.is_empty(), "{name}");
    }
}

#[test]
fn the_root_deploys_the_chart_and_keeps_the_image_updaters_write_back() {
    for lab in labs() {
        lab.build();
        let name = &lab.name;
        let m = crate::argocd::model(&lab);
        let Some(argocd) = &m.argocd else {
            assert!(!lab.generated().join("argocd").exists(), "{name}");
            continue;
        };
        let root_app = &docs(&lab.read("argocd/root.yaml"))[0];
        assert!(
            schema_errors(root_app).is_empty(),
            "{name}: {:?}",
            schema_errors(root_app)
        );
        assert_eq!(root_app["metadata"]["namespace"], argocd.namespace.as_str());
        assert!(
            root_app["metadata"].get("finalizers").is_none(),
            "{name}: deleting the root must not cascade into every app"
        );
        assert_eq!(
            root_app["spec"]["source"]["repoURL"],
            argocd.lab_repository.url.as_str()
        );
        assert_eq!(
            root_app["spec"]["source"]["targetRevision"],
            argocd.lab_repository.revision.as_str()
        );
        assert!(
            m.apps
                .values()
                .all(|a| a.name != root_app["metadata"]["name"]),
            "{name}: the root's name is an app's"
        );
        assert_eq!(
            root_app["spec"]["syncPolicy"]["syncOptions"],
            json!(["RespectIgnoreDifferences=true"])
        );
        // The Image Updater (v1.3.0, getApplicationSource) writes its
        // parameters into the first source that has `helm`: that one's
        // parameters are what the root ignores.
        let ignored = &root_app["spec"]["ignoreDifferences"];
        assert_eq!(
            ignored.as_array().map(Vec::len),
            Some(1),
            "{name}: {ignored}"
        );
        assert_eq!(ignored[0]["group"], "argoproj.io");
        assert_eq!(ignored[0]["kind"], "Application");
        let objects = written(&lab);
        for ((_, kind, _, app), d) in &objects {
            // ArgoCD's own installs: one upstream source, no Image Updater.
            if kind != "Application" || d["spec"].get("sources").is_none() {
                continue;
            }
            let first_helm = d["spec"]["sources"]
                .as_array()
                .and_then(|s| s.iter().position(|s| s.get("helm").is_some()))
                .unwrap_or_else(|| panic!("{name}: {app} has no Helm source"));
            assert_eq!(
                ignored[0]["jqPathExpressions"],
                json!([format!(".spec.sources[{first_helm}].helm.parameters")]),
                "{name}: {app}"
            );
        }
    }
}

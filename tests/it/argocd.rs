//! The ArgoCD, Helm and Vault Secrets Operator families: in every lab, every
//! generated Kubernetes document passes its kind's strict schema
//! (`tests/schemas/`, unknown fields rejected), every Application (the root
//! included) passes `@kubernetes-models/argo-cd` through
//! `tests/validators/validate-application.mjs`, the Image Updater's
//! registries.conf passes the strict schema of what v1.3.0 reads, and
//! yamllint finds nothing a YAML 1.1 reader would misread; the facts of the
//! guidebook hold for the reference lab and for the big-cluster fixture.
//! Vault names are compared with the validated model, the one source the
//! OpenTofu emitter declares them from. The chart itself is proven with
//! Helm in `app_of_apps.rs`.

use crate::common::{Lab, labs, root, stderr, stdout, tool, yaml_docs, yamllint};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

const REFERENCE_APPS: &[&str] = &[
    "cms",
    "dance-lessons-coach",
    "erp",
    "telegram-gateway",
    "tools",
    "url-shortener",
    "webapp",
];

fn doc(lab: &Lab, rel: &str) -> Value {
    let mut all = yaml_docs(&lab.read(rel));
    assert_eq!(all.len(), 1, "{rel}: one document expected");
    all.remove(0)
}

/// The one document of `kind` in a file.
fn doc_of(lab: &Lab, rel: &str, kind: &str) -> Value {
    let all = yaml_docs(&lab.read(rel));
    let found = by_kind(&all, kind);
    assert_eq!(found.len(), 1, "{rel}: one {kind} expected");
    found[0].clone()
}

/// The strict schema of a document's kind:
/// `tests/schemas/<group>/<kind>_<version>.json` (group `core` for the
/// kinds whose apiVersion has none, e.g. ConfigMap `v1`).
fn schema_path(d: &Value) -> std::path::PathBuf {
    let api = d["apiVersion"].as_str().expect("apiVersion");
    let kind = d["kind"].as_str().expect("kind").to_lowercase();
    let (group, version) = api.split_once('/').unwrap_or(("core", api));
    root()
        .join("tests/schemas")
        .join(group)
        .join(format!("{kind}_{version}.json"))
}

/// What the strict schema says about `d`: one line per error, empty when valid.
pub(crate) fn schema_errors(d: &Value) -> Vec<String> {
    schema_errors_at(&schema_path(d), d)
}

/// What the schema at `path` says about `d`.
fn schema_errors_at(path: &std::path::Path, d: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no strict schema {}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(d)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The YAML files of these families: everything under `argocd/` and
/// `apps/` but the chart's templates (Go templates, YAML only once
/// rendered), `.helmignore` and the values schema (JSON).
fn is_yaml(path: &str) -> bool {
    (path.starts_with("argocd/") || path.starts_with("apps/"))
        && path.ends_with(".yaml")
        && !path.starts_with("argocd/templates/")
}

/// Every Kubernetes document labc wrote for these families (anything with
/// a `kind`), by file.
fn k8s_documents(lab: &Lab) -> Vec<(String, Value)> {
    lab.files()
        .into_iter()
        .filter(|(p, _)| is_yaml(p))
        .flat_map(|(p, text)| yaml_docs(&text).into_iter().map(move |d| (p.clone(), d)))
        .filter(|(_, d)| d.get("kind").is_some())
        .collect()
}

/// How many documents of each kind the lab has.
fn kinds(lab: &Lab) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for (_, d) in k8s_documents(lab) {
        *kinds
            .entry(d["kind"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    kinds
}

/// Validates every Kubernetes document against its strict schema.
fn assert_all_strictly_valid(lab: &Lab) {
    let mut failures = Vec::new();
    for (path, d) in k8s_documents(lab) {
        for e in schema_errors(&d) {
            failures.push(format!("{path} ({}): {e}", d["kind"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{}: strict schema errors:\n{}",
        lab.name,
        failures.join("\n")
    );
}

/// The registries.conf of the Image Updater's ConfigMap, if the lab writes
/// one, checked against what v1.3.0 reads (strict: it unmarshals with
/// `UnmarshalStrict`); returns the registries.
fn registries(lab: &Lab) -> Vec<Value> {
    let mut files = lab.files();
    // With ArgoCD's installs, the Image Updater's chart writes the
    // ConfigMap from its values (`config.registries`): the same list.
    if let Some(text) = files.remove("argocd/rendered/installs.yaml") {
        let installs = yaml_docs(&text);
        let updater = installs
            .iter()
            .find(|d| d["spec"]["source"]["chart"] == "argocd-image-updater")
            .expect("the Image Updater's install");
        let config = &updater["spec"]["source"]["helm"]["valuesObject"]["config"];
        if config.is_null() {
            return Vec::new();
        }
        let schema = root().join("tests/schemas/files/argocd-image-updater-registries-conf.json");
        let errors = schema_errors_at(&schema, config);
        assert!(errors.is_empty(), "{}: registries: {errors:?}", lab.name);
        return config["registries"].as_array().cloned().unwrap_or_default();
    }
    let Some(text) = files.remove("argocd/rendered/image-updater.yaml") else {
        return Vec::new();
    };
    let all = yaml_docs(&text);
    let config = by_kind(&all, "ConfigMap");
    // Only the lab's own apps read Gitea's registry: updaters of upstream
    // charts alone come without it.
    if config.is_empty() {
        return Vec::new();
    }
    assert_eq!(config.len(), 1, "{}: one registries ConfigMap", lab.name);
    assert_eq!(
        s(config[0], "/metadata/name"),
        "argocd-image-updater-config"
    );
    let conf = yaml_docs(s(config[0], "/data/registries.conf"));
    assert_eq!(conf.len(), 1);
    let schema = root().join("tests/schemas/files/argocd-image-updater-registries-conf.json");
    let errors = schema_errors_at(&schema, &conf[0]);
    assert!(
        errors.is_empty(),
        "{}: registries.conf: {errors:?}",
        lab.name
    );
    conf[0]["registries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The apps whose Application the lab generated.
fn applications(lab: &Lab) -> Vec<String> {
    lab.files()
        .into_keys()
        .filter_map(|p| {
            p.strip_prefix("argocd/rendered/applications/")?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect()
}

fn node_validator(files: &[std::path::PathBuf]) -> std::process::Output {
    let script = tool("tests/validators/validate-application.mjs");
    Command::new("node")
        .arg(script)
        .args(files)
        .output()
        .expect("node runs")
}

/// Runs the Application validator on every generated Application, the root
/// included, and checks it reports each one valid by name.
fn assert_applications_valid(lab: &Lab, apps: &[String]) {
    let mut files: Vec<_> = apps
        .iter()
        .map(|a| {
            lab.generated()
                .join(format!("argocd/rendered/applications/{a}.yaml"))
        })
        .collect();
    files.push(lab.generated().join("argocd/root.yaml"));
    let root_name = s(&doc(lab, "argocd/root.yaml"), "/metadata/name").to_string();
    let apps: Vec<String> = apps.iter().cloned().chain([root_name]).collect();
    let o = node_validator(&files);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "validator failed:\n{out}\n{}",
        stderr(&o)
    );
    for a in &apps {
        assert!(
            out.contains(&format!("(Application {a})")),
            "{a} not validated:\n{out}"
        );
    }
    assert!(
        out.contains(&format!("{} Application document(s) valid", apps.len())),
        "{out}"
    );
}

fn assert_yamllint_clean(lab: &Lab) {
    let files: Vec<_> = lab
        .files()
        .keys()
        .filter(|p| is_yaml(p))
        .map(|p| lab.generated().join(p))
        .collect();
    let o = yamllint(
        "{extends: default, rules: {truthy: enable, octal-values: enable, line-length: disable}}",
        &files,
    );
    assert!(
        o.status.success() && stdout(&o).is_empty(),
        "yamllint:\n{}{}",
        stdout(&o),
        stderr(&o)
    );
}

/// The validated model of a lab laid out by the harness.
pub(crate) fn model(lab: &Lab) -> labc::model::Lab {
    match labc::compile::compile(&lab.path().join(&lab.file)) {
        Ok(c) => c.lab,
        Err(labc::compile::Failed::Io(e)) => panic!("lab fails: {e}"),
        Err(labc::compile::Failed::Invalid(r)) => panic!(
            "lab fails:\n{}",
            labc::diag::render(&r.sources, &r.diags, false)
        ),
    }
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

fn by_kind<'a>(all: &'a [Value], kind: &str) -> Vec<&'a Value> {
    all.iter().filter(|d| d["kind"] == kind).collect()
}

/// Apps that are upstream charts: an Application (strict schema, Argo CD's
/// validator) whose chart source is the Helm repository's chart or the OCI
/// artifact at the pinned version, with the lab's values as data; no Gitea
/// repository, no image of the lab's registry, an ImageUpdater only when
/// asked.
#[test]
fn ha_upstream_chart_applications() {
    let lab = Lab::named("ha");
    lab.build();
    assert_all_strictly_valid(&lab);
    let apps = applications(&lab);
    assert_eq!(apps, ["grafana", "podinfo"]);
    assert_applications_valid(&lab, &apps);

    let grafana = doc(&lab, "argocd/rendered/applications/grafana.yaml");
    let source = &grafana["spec"]["sources"][0];
    assert_eq!(source["repoURL"], "https://grafana.github.io/helm-charts");
    assert_eq!(source["chart"], "grafana");
    assert_eq!(source["targetRevision"], "8.5.1");
    assert!(source.get("path").is_none(), "{source}");
    assert_eq!(
        source["helm"]["valueFiles"],
        serde_json::json!(["$lab/generated/apps/grafana/values.yaml"])
    );
    assert_eq!(grafana["spec"]["destination"]["namespace"], "monitoring");
    assert_eq!(grafana["spec"]["sources"][1]["ref"], "lab");
    assert_eq!(
        grafana["spec"]["syncPolicy"]["automated"],
        serde_json::json!({"prune": true, "selfHeal": true})
    );

    let podinfo = doc(&lab, "argocd/rendered/applications/podinfo.yaml");
    let source = &podinfo["spec"]["sources"][0];
    assert_eq!(
        source["repoURL"],
        "oci://ghcr.io/stefanprodan/charts/podinfo"
    );
    assert_eq!(source["path"], ".");
    assert!(source.get("chart").is_none(), "{source}");
    assert_eq!(source["targetRevision"], "6.7.1");
    assert_eq!(podinfo["spec"]["syncPolicy"]["automated"]["prune"], false);

    // The values are the lab's, as data: a `{{` stays text.
    let values = doc(&lab, "apps/grafana/values.yaml");
    assert_eq!(values["replicas"], 2);
    assert_eq!(
        values["grafana.ini"]["server"]["root_url"],
        "https://grafana.ha.lan/{{ not a template }}"
    );
    // The hosts labc derives from `ingress`, at `chart.hosts_at`, beside
    // the lab's own keys of that record.
    assert_eq!(
        values["ingress"]["hosts"],
        serde_json::json!(["grafana.ha.example.org", "grafana.ha.lan"])
    );
    assert_eq!(values["ingress"]["enabled"], true);
    assert!(values["podAnnotations"].is_null());
    let values = doc(&lab, "apps/podinfo/values.yaml");
    assert_eq!(values["ui"]["message"], "Hello: \"ha\" # not a comment");

    // An ImageUpdater for podinfo only, and no Gitea registry to read.
    let kinds = kinds(&lab);
    assert_eq!(kinds.get("ImageUpdater"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("ConfigMap"), None, "{kinds:?}");
    let updaters = yaml_docs(&lab.read("argocd/rendered/image-updater.yaml"));
    assert_eq!(
        s(&updaters[0], "/spec/applicationRefs/0/images/0/imageName"),
        "ghcr.io/stefanprodan/podinfo:6.x"
    );
    assert!(!lab.generated().join("tofu").exists());
    assert!(!lab.generated().join("compose").exists());
}

#[test]
fn every_lab_s_documents_pass_their_strict_schemas_the_argo_validator_and_yamllint() {
    for lab in labs() {
        lab.build();
        let m = model(&lab);
        let Some(argocd) = &m.argocd else {
            // No ArgoCD, no apps (validation): nothing under argocd/.
            assert!(!lab.generated().join("argocd").exists(), "{}", lab.name);
            continue;
        };
        assert_all_strictly_valid(&lab);
        let apps = applications(&lab);
        assert!(!apps.is_empty(), "{}: no Application", lab.name);
        assert_applications_valid(&lab, &apps);
        assert_yamllint_clean(&lab);
        // Gitea's registry, with the lab's credentials and CA, whenever an app follows its image.
        let regs = registries(&lab);
        match (&argocd.registry, &m.gitea) {
            (Some(r), Some(gitea))
                if m.apps
                    .values()
                    .any(|a| a.image_updater.is_some() && a.chart.is_none()) =>
            {
                assert_eq!(regs.len(), 1, "{}", lab.name);
                assert_eq!(regs[0]["prefix"], gitea.domain.as_str());
                assert_eq!(regs[0]["api_url"], format!("https://{}", gitea.domain));
                assert_eq!(
                    regs[0]["credentials"],
                    format!("pullsecret:argocd/{}", r.pull_secret)
                );
                assert_eq!(
                    regs[0].get("ca_file").and_then(Value::as_str),
                    r.ca_file.as_deref()
                );
            }
            _ => assert!(regs.is_empty(), "{}", lab.name),
        }
    }
}

#[test]
fn reference_documents_are_the_lab_s() {
    let lab = Lab::reference();
    lab.build();
    let kinds = kinds(&lab);
    // webapp, erp and dance-lessons-coach read Vault, all with a database;
    // Longhorn reads its backup credentials. Seven apps, the root and
    // ArgoCD's two installs (whose Image Updater chart writes the registries
    // ConfigMap) and step-ca's root they mount (a ConfigMap); the backup target; step-ca's issuer and a certificate per
    // internal ingress (tools, telegram-gateway, erp).
    let expected: BTreeMap<String, usize> = [
        ("Application", 10),
        ("BackupTarget", 1),
        ("Certificate", 3),
        ("ClusterIssuer", 1),
        ("ConfigMap", 1),
        ("ImageUpdater", 4),
        ("ServiceAccount", 1),
        ("VaultAuth", 4),
        ("VaultConnection", 4),
        ("VaultDynamicSecret", 3),
        ("VaultStaticSecret", 4),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds, expected);
    assert_eq!(applications(&lab), REFERENCE_APPS);
}

#[test]
fn big_cluster_documents_are_the_lab_s() {
    let lab = Lab::named("big-cluster");
    lab.build();
    let kinds = kinds(&lab);
    assert_eq!(kinds["Application"], 4, "three apps and the root");
    assert_eq!(kinds["ImageUpdater"], 2);
    assert_eq!(
        kinds["VaultDynamicSecret"], 1,
        "only billing has database credentials"
    );
    assert_eq!(
        kinds["VaultAuth"], 3,
        "billing and status-page read Vault, and Longhorn its credentials"
    );
    assert_eq!(applications(&lab), ["billing", "status-page", "wiki"]);
}

#[test]
fn the_validators_reject_broken_documents() {
    let lab = Lab::reference();
    lab.build();
    // A misspelt Application field: the strict schema and the node validator both refuse it.
    let path = lab
        .generated()
        .join("argocd/rendered/applications/webapp.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replace("  syncPolicy:\n", "  syncPolicey:\n");
    assert_ne!(text, broken);
    std::fs::write(&path, &broken).unwrap();
    let o = node_validator(&[path]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("spec.syncPolicey: unknown field (strict schema)"),
        "{}",
        stderr(&o)
    );
    assert!(!schema_errors(&yaml_docs(&broken)[0]).is_empty());

    // VaultConnection without skipTLSVerify, and an unknown ImageUpdater strategy field.
    let vso = yaml_docs(&lab.read("apps/webapp/vault-secrets.yaml"));
    let mut conn = by_kind(&vso, "VaultConnection")[0].clone();
    conn["spec"]
        .as_object_mut()
        .unwrap()
        .remove("skipTLSVerify");
    let errors = schema_errors(&conn);
    assert!(
        errors.iter().any(|e| e.contains("skipTLSVerify")),
        "{errors:?}"
    );
    let mut updater = yaml_docs(&lab.read("argocd/rendered/image-updater.yaml"))[0].clone();
    updater["spec"]["applicationRefs"][0]["images"][0]["strategy"] = "digest".into();
    assert!(!schema_errors(&updater).is_empty());

    // A ConfigMap with a misspelt field, a BackupTarget with the pre-1.8
    // setting's name, a registries.conf key v1.3.0 does not know.
    let mut config = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-image-updater-config", "namespace": "argocd"},
        "data": {"registries.conf": "registries: []\n"},
    });
    assert!(schema_errors(&config).is_empty());
    config["datas"] = config["data"].clone();
    assert!(!schema_errors(&config).is_empty());
    let mut target = doc_of(&lab, "argocd/rendered/longhorn.yaml", "BackupTarget");
    target["spec"]["backupTarget"] = "s3://x@y/".into();
    assert!(!schema_errors(&target).is_empty());
    let schema = root().join("tests/schemas/files/argocd-image-updater-registries-conf.json");
    let bad = serde_json::json!({"registries": [{"name": "gitea", "api_url": "https://g", "prefix": "g", "cafile": "/x"}]});
    assert!(!schema_errors_at(&schema, &bad).is_empty());
    let bad = serde_json::json!({"registries": [{"name": "gitea", "api_url": "https://g", "prefix": "g", "credentials": "pullsecret:gitea"}]});
    assert!(
        !schema_errors_at(&schema, &bad).is_empty(),
        "credentials need <namespace>/<secret>"
    );
}

#[test]
fn reference_applications_follow_the_guidebook() {
    let lab = Lab::reference();
    lab.build();
    let apps: BTreeSet<String> = lab
        .files()
        .keys()
        .filter_map(|p| p.strip_prefix("argocd/rendered/applications/"))
        .map(|p| p.trim_end_matches(".yaml").to_string())
        .collect();
    assert_eq!(apps, REFERENCE_APPS.iter().map(|s| s.to_string()).collect());
    for app in REFERENCE_APPS {
        let a = doc(&lab, &format!("argocd/rendered/applications/{app}.yaml"));
        let org = match *app {
            "telegram-gateway" | "dance-lessons-coach" => "arcodange",
            _ => "arcodange-org",
        };
        assert_eq!(s(&a, "/metadata/name"), *app);
        assert_eq!(s(&a, "/metadata/namespace"), "argocd");
        // The SQLite app's volume outlives its Application.
        let finalizers = match *app {
            "url-shortener" => Value::Null,
            _ => serde_json::json!(["resources-finalizer.argocd.argoproj.io"]),
        };
        assert_eq!(a["metadata"]["finalizers"], finalizers, "{app}");
        assert_eq!(s(&a, "/spec/project"), "default");
        // The app's chart with labc's values for it; the lab repository
        // under the ref `lab`, applying the Vault resources when there are.
        let chart = &a["spec"]["sources"][0];
        assert_eq!(
            s(chart, "/repoURL"),
            format!("https://gitea.arcodange.lab/{org}/{app}")
        );
        assert_eq!(s(chart, "/path"), "chart");
        assert_eq!(s(chart, "/targetRevision"), "HEAD");
        assert_eq!(
            chart["helm"]["valueFiles"],
            serde_json::json!([format!("$lab/generated/apps/{app}/values.yaml")])
        );
        let mut lab_source = serde_json::json!({
            "repoURL": "https://gitea.arcodange.lab/arcodange-org/factory",
            "targetRevision": "HEAD",
            "ref": "lab",
        });
        // Vault's resources, and the certificate of an internal ingress.
        let vault = ["webapp", "erp", "dance-lessons-coach"].contains(app);
        let certificate = ["tools", "telegram-gateway", "erp"].contains(app);
        let include = match (certificate, vault) {
            (true, true) => Some("{certificates.yaml,vault-secrets.yaml}"),
            (true, false) => Some("certificates.yaml"),
            (false, true) => Some("vault-secrets.yaml"),
            (false, false) => None,
        };
        if let Some(include) = include {
            lab_source["path"] = format!("generated/apps/{app}").into();
            lab_source["directory"] = serde_json::json!({ "include": include });
        }
        assert_eq!(a["spec"]["sources"][1], lab_source, "{app}");
        assert_eq!(a["spec"]["sources"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            s(&a, "/spec/destination/server"),
            "https://kubernetes.default.svc"
        );
        assert_eq!(s(&a, "/spec/destination/namespace"), *app);
        assert_eq!(
            a["spec"]["syncPolicy"],
            serde_json::json!({
                "automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"],
            })
        );
    }
}

#[test]
fn reference_digest_updaters_track_an_explicit_tag() {
    let lab = Lab::reference();
    lab.build();
    let all = yaml_docs(&lab.read("argocd/rendered/image-updater.yaml"));
    let updaters = by_kind(&all, "ImageUpdater");
    let mut followed = BTreeSet::new();
    for u in updaters {
        assert_eq!(
            s(u, "/metadata/namespace"),
            "argocd",
            "same namespace as the Applications"
        );
        assert_eq!(s(u, "/spec/writeBackConfig/method"), "argocd");
        let refs = u["spec"]["applicationRefs"].as_array().unwrap();
        assert_eq!(refs.len(), 1);
        let app = s(&refs[0], "/namePattern");
        followed.insert(app.to_string());
        let image = &refs[0]["images"][0];
        assert_eq!(s(image, "/commonUpdateSettings/updateStrategy"), "digest");
        // The image the app's values deploy, with its tag spelled out.
        let values = doc(&lab, &format!("apps/{app}/values.yaml"));
        let (repo, tag) = (s(&values, "/image/repository"), s(&values, "/image/tag"));
        assert_eq!(s(image, "/imageName"), format!("{repo}:{tag}"));
        assert_eq!(tag, "latest");
        // The Helm keys it writes are the ones the values use.
        for key in ["name", "tag"] {
            let target = s(image, &format!("/manifestTargets/helm/{key}"));
            let pointer = format!("/{}", target.replace('.', "/"));
            assert!(
                values.pointer(&pointer).is_some(),
                "{app}: values lack {target}"
            );
        }
    }
    let expected: BTreeSet<String> = ["cms", "dance-lessons-coach", "telegram-gateway", "webapp"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(followed, expected);

    // The app-of-apps values say the same, and carry the guidebook's
    // overrides and what the templates cannot know.
    let values = doc(&lab, "argocd/values.yaml");
    let entries = values["gitea_applications"].as_object().unwrap();
    assert_eq!(entries.len(), 7);
    for (app, entry) in entries {
        assert_eq!(
            entry.get("imageUpdater").is_some(),
            expected.contains(app),
            "{app}"
        );
        let org_override = ["telegram-gateway", "dance-lessons-coach"].contains(&app.as_str());
        assert_eq!(
            entry.get("org").and_then(Value::as_str),
            org_override.then_some("arcodange")
        );
    }
    assert_eq!(
        entries["url-shortener"],
        serde_json::json!({"cascadeDelete": false})
    );
    assert_eq!(
        entries["tools"],
        serde_json::json!({"certificates": true, "syncPolicy": {"prune": true, "selfHeal": true}}),
        "explicit in lab.ncl, as in the guidebook"
    );
    assert_eq!(
        entries["erp"],
        serde_json::json!({"certificates": true, "vaultSecrets": true})
    );
    assert_eq!(
        entries["cms"]["imageUpdater"],
        serde_json::json!({"imageName": "gitea.arcodange.lab/arcodange-org/cms:latest", "updateStrategy": "digest"})
    );
    assert_eq!(
        s(&values, "/longhorn_backup_target"),
        "s3://arcodange-longhorn-backups@europe-west1/"
    );
    assert_eq!(s(&values, "/argocd_host"), "argocd.arcodange.lab");
    assert_eq!(
        values["lab_repository"],
        serde_json::json!({
            "url": "https://gitea.arcodange.lab/arcodange-org/factory",
            "path": "generated",
            "revision": "HEAD",
        })
    );
}

#[test]
fn reference_app_values_follow_the_archetypes() {
    let lab = Lab::reference();
    lab.build();
    let url = doc(&lab, "apps/url-shortener/values.yaml");
    assert_eq!(url["replicaCount"], 1);
    assert_eq!(
        url["persistence"],
        serde_json::json!({
            "enabled": true, "accessMode": "ReadWriteOnce",
            "storageClass": "longhorn", "size": "1Gi",
        })
    );
    assert_eq!(
        url["ingress"]["hosts"],
        serde_json::json!({"public": "url-shortener.arcodange.fr"})
    );
    assert!(url.get("vault").is_none());
    assert!(
        !lab.generated()
            .join("apps/url-shortener/vault-secrets.yaml")
            .exists()
    );

    let tools = doc(&lab, "apps/tools/values.yaml");
    assert_eq!(
        tools["ingress"]["hosts"],
        serde_json::json!({"internal": "tools.arcodange.lab"})
    );
    assert_eq!(tools["persistence"], serde_json::json!({"enabled": false}));
    assert_eq!(tools["service"]["port"], 8080);

    // Only the apps with a database read Vault.
    for app in REFERENCE_APPS {
        let has = lab
            .generated()
            .join(format!("apps/{app}/vault-secrets.yaml"))
            .exists();
        assert_eq!(
            has,
            ["webapp", "erp", "dance-lessons-coach"].contains(app),
            "{app}"
        );
    }
}

/// The VSO resources of every app name exactly what the model holds for it
/// (the names the OpenTofu emitter declares in Vault), and the app's values
/// point at the Secrets those resources write.
fn assert_vso_matches_model(lab: &Lab) -> usize {
    let m = model(lab);
    let mut checked = 0;
    let Some(vault) = &m.vault else {
        assert!(m.apps.values().all(|a| a.vault.is_none()), "{}", lab.name);
        return 0;
    };
    for app in m.apps.values() {
        let path = format!("apps/{}/vault-secrets.yaml", app.name);
        let Some(v) = &app.vault else {
            assert!(!lab.generated().join(&path).exists(), "{path}");
            continue;
        };
        checked += 1;
        let all = yaml_docs(&lab.read(&path));
        for d in &all {
            assert_eq!(s(d, "/metadata/namespace"), app.namespace, "{path}");
        }
        let conn = by_kind(&all, "VaultConnection");
        assert_eq!(conn.len(), 1);
        assert_eq!(s(conn[0], "/spec/address"), vault.operator_address);
        assert_eq!(conn[0]["spec"]["skipTLSVerify"], false);
        assert_eq!(
            conn[0]["spec"]
                .get("caCertSecretRef")
                .and_then(Value::as_str),
            vault.operator_ca_secret.as_deref()
        );
        // Every synced Secret restarts the app's Deployment when it changes,
        // the one its values name.
        let restart = serde_json::json!([{"kind": "Deployment", "name": app.deployment}]);
        for d in by_kind(&all, "VaultStaticSecret")
            .into_iter()
            .chain(by_kind(&all, "VaultDynamicSecret"))
        {
            assert_eq!(d["spec"]["rolloutRestartTargets"], restart, "{path}");
        }
        let app_values = doc(lab, &format!("apps/{}/values.yaml", app.name));
        assert_eq!(s(&app_values, "/fullnameOverride"), app.deployment);

        let auth = by_kind(&all, "VaultAuth");
        assert_eq!(auth.len(), 1);
        let auth = auth[0];
        assert_eq!(s(auth, "/spec/method"), "kubernetes");
        assert_eq!(s(auth, "/spec/mount"), vault.kubernetes_mount);
        assert_eq!(s(auth, "/spec/kubernetes/role"), v.auth_role);
        assert_eq!(
            s(auth, "/spec/kubernetes/serviceAccount"),
            v.service_account
        );
        assert_eq!(
            s(auth, "/spec/vaultConnectionRef"),
            s(conn[0], "/metadata/name")
        );
        let auth_name = s(auth, "/metadata/name");

        let kv = by_kind(&all, "VaultStaticSecret");
        assert_eq!(kv.len(), 1);
        assert_eq!(s(kv[0], "/spec/type"), "kv-v2");
        assert_eq!(s(kv[0], "/spec/mount"), vault.kv_mount);
        assert_eq!(s(kv[0], "/spec/path"), v.kv_path);
        assert_eq!(s(kv[0], "/spec/vaultAuthRef"), auth_name);
        assert_eq!(s(kv[0], "/spec/destination/name"), v.kv_secret);
        assert_eq!(kv[0]["spec"]["destination"]["create"], true);

        let db = by_kind(&all, "VaultDynamicSecret");
        let values = doc(lab, &format!("apps/{}/values.yaml", app.name));
        assert_eq!(s(&values, "/serviceAccount/name"), v.service_account);
        assert_eq!(s(&values, "/vault/authRole"), v.auth_role);
        assert_eq!(s(&values, "/vault/kv/secretName"), v.kv_secret);
        match &v.database_role {
            Some(role) => {
                assert_eq!(db.len(), 1, "{path}");
                assert_eq!(s(db[0], "/spec/mount"), vault.database_mount);
                assert_eq!(s(db[0], "/spec/path"), format!("creds/{role}"));
                assert_eq!(
                    Some(s(db[0], "/spec/path")),
                    v.database_creds_path.as_deref()
                );
                assert_eq!(s(db[0], "/spec/vaultAuthRef"), auth_name);
                let secret = v.database_secret.as_deref().expect("database secret");
                assert_eq!(s(db[0], "/spec/destination/name"), secret);
                assert_eq!(s(&values, "/vault/database/role"), role);
                assert_eq!(s(&values, "/vault/database/secretName"), secret);
            }
            None => {
                assert!(db.is_empty(), "{path}");
                assert!(values.pointer("/vault/database").is_none());
            }
        }
    }
    checked
}

#[test]
fn reference_vso_resources_name_the_model_vault_objects() {
    let lab = Lab::reference();
    lab.build();
    assert_eq!(assert_vso_matches_model(&lab), 3);
    // Spelled out once, so a change of convention is a visible decision.
    let all = yaml_docs(&lab.read("apps/dance-lessons-coach/vault-secrets.yaml"));
    let db = by_kind(&all, "VaultDynamicSecret")[0];
    assert_eq!(s(db, "/spec/mount"), "postgres");
    assert_eq!(s(db, "/spec/path"), "creds/dance-lessons-coach");
    assert_eq!(
        s(by_kind(&all, "VaultAuth")[0], "/spec/kubernetes/role"),
        "dance-lessons-coach"
    );
    assert_eq!(
        s(by_kind(&all, "VaultStaticSecret")[0], "/spec/mount"),
        "kvv2"
    );
}

#[test]
fn big_cluster_overrides_reach_the_manifests() {
    let lab = Lab::named("big-cluster");
    lab.build();
    assert_eq!(assert_vso_matches_model(&lab), 2);

    let status = doc(&lab, "argocd/rendered/applications/status-page.yaml");
    assert_eq!(s(&status, "/spec/destination/namespace"), "monitoring");
    assert_eq!(
        s(&status, "/spec/sources/0/repoURL"),
        "https://git.home.arpa/ops/status-page"
    );
    assert_eq!(s(&status, "/spec/project"), "platform");
    assert_eq!(s(&status, "/spec/sources/0/targetRevision"), "main");
    // The lab repository's own path and branch.
    assert_eq!(
        status["spec"]["sources"][0]["helm"]["valueFiles"],
        serde_json::json!(["$lab/deploy/generated/apps/status-page/values.yaml"])
    );
    assert_eq!(
        status["spec"]["sources"][1],
        serde_json::json!({
            "repoURL": "https://git.home.arpa/ops/lab",
            "targetRevision": "release",
            "ref": "lab",
            "path": "deploy/generated/apps/status-page",
            "directory": {"include": "vault-secrets.yaml"},
        })
    );
    let root_app = doc(&lab, "argocd/root.yaml");
    assert_eq!(s(&root_app, "/metadata/name"), "bigcluster-apps");
    assert_eq!(s(&root_app, "/spec/source/path"), "deploy/generated/argocd");
    assert_eq!(s(&root_app, "/spec/source/targetRevision"), "release");
    assert_eq!(
        root_app["spec"]["syncPolicy"]["automated"],
        serde_json::json!({"prune": true, "selfHeal": false})
    );
    let target = doc_of(&lab, "argocd/rendered/longhorn.yaml", "BackupTarget");
    assert_eq!(s(&target, "/metadata/namespace"), "storage");
    assert_eq!(s(&target, "/spec/credentialSecret"), "gcs-hmac");
    let vso = yaml_docs(&lab.read("apps/status-page/vault-secrets.yaml"));
    assert!(
        vso.iter()
            .all(|d| s(d, "/metadata/namespace") == "monitoring")
    );
    assert!(
        by_kind(&vso, "VaultDynamicSecret").is_empty(),
        "status-page has no database"
    );

    let wiki = doc(&lab, "argocd/rendered/applications/wiki.yaml");
    assert_eq!(
        wiki["spec"]["syncPolicy"]["automated"],
        serde_json::json!({"prune": false, "selfHeal": true})
    );
    // A SQLite app the lab lets go with its volume.
    assert_eq!(
        wiki["metadata"]["finalizers"],
        serde_json::json!(["resources-finalizer.argocd.argoproj.io"])
    );
    let wiki_values = doc(&lab, "apps/wiki/values.yaml");
    assert_eq!(s(&wiki_values, "/persistence/storageClass"), "longhorn-ssd");
    assert_eq!(s(&wiki_values, "/persistence/size"), "5Gi");
    assert_eq!(s(&wiki_values, "/image/tag"), "2.1.0");

    let billing = doc(&lab, "apps/billing/values.yaml");
    assert_eq!(billing["replicaCount"], 3);
    assert_eq!(billing["service"]["port"], 9000);
    assert_eq!(
        billing["ingress"]["hosts"],
        serde_json::json!({"public": "billing.example.org", "internal": "billing.home.arpa"})
    );
    assert_eq!(s(&billing, "/vault/database/path"), "creds/ledger");
    assert_eq!(s(&billing, "/vault/database/mount"), "db");

    let all = yaml_docs(&lab.read("argocd/rendered/image-updater.yaml"));
    let strategies: BTreeMap<&str, &str> = by_kind(&all, "ImageUpdater")
        .into_iter()
        .map(|u| {
            assert_eq!(s(u, "/spec/writeBackConfig/method"), "argocd");
            let r = &u["spec"]["applicationRefs"][0];
            (
                s(r, "/namePattern"),
                s(r, "/images/0/commonUpdateSettings/updateStrategy"),
            )
        })
        .collect();
    assert_eq!(
        strategies,
        [("billing", "semver"), ("status-page", "digest")]
            .into_iter()
            .collect()
    );

    let values = doc(&lab, "argocd/values.yaml");
    let status_entry = &values["gitea_applications"]["status-page"];
    assert_eq!(s(status_entry, "/org"), "ops");
    assert_eq!(s(status_entry, "/namespace"), "monitoring");
    assert_eq!(
        values["gitea_applications"]["wiki"]["syncPolicy"],
        serde_json::json!({"prune": false, "selfHeal": true})
    );
    assert_eq!(
        values["gitea_applications"]["wiki"]["cascadeDelete"],
        Value::Null,
        "wiki asks for the cascade, the chart's default: no key"
    );
    assert_eq!(
        s(&values, "/longhorn_backup_target"),
        "s3://bigcluster-longhorn@us-central1/"
    );
}

/// Names Kubernetes would reject are reported at their place in lab.ncl and
/// nothing is written.
#[test]
fn kubernetes_names_are_checked_at_their_position() {
    let cases = [
        (
            "    host = \"argocd.arcodange.lab\",",
            "    host = \"argocd.arcodange.lab\",\n    project = \"lab_apps\",",
            "`lab_apps` can't be an ArgoCD project name",
            "lab_apps",
        ),
        (
            "    backup_bucket = \"arcodange-longhorn-backups\",",
            "    backup_bucket = \"arcodange-longhorn-backups\",\n    storage_class = \"longhorn_rwo\",",
            "`longhorn_rwo` can't be a Kubernetes StorageClass name",
            "longhorn_rwo",
        ),
        (
            "      org = \"arcodange\",\n      image_updater = 'digest,\n      ingress = ['internal],",
            "      org = \"arcodange\",\n      namespace = \"Telegram\",\n      image_updater = 'digest,\n      ingress = ['internal],",
            "`Telegram` can't be a Kubernetes namespace",
            "\"Telegram\"",
        ),
    ];
    let text = std::fs::read_to_string(root().join("lab.ncl")).unwrap();
    for (find, replace, message, at) in cases {
        assert_eq!(text.matches(find).count(), 1, "{find}");
        let broken = text.replacen(find, replace, 1);
        let line = broken[..broken.find(at).unwrap()].matches('\n').count() + 1;
        let lab = Lab::from_text("lab.ncl", &broken);
        let o = lab.run(&["build"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "{err}");
        assert!(
            err.contains(&format!("lab.ncl:{line}:")),
            "line {line}:\n{err}"
        );
        assert!(!lab.generated().exists(), "nothing is written");
    }
}

/// The strict schemas under `tests/schemas/` (and Argo CD's validator)
/// accept every example under `examples/valid/` and refuse every one under
/// `examples/invalid/`, each for the reason its name gives: a schema that
/// let everything through would fail here.
#[test]
fn the_strict_schemas_judge_their_examples_right() {
    let o = std::process::Command::new("bash")
        .arg(root().join("tests/schemas/check-examples.sh"))
        .current_dir(root())
        .output()
        .expect("check-examples.sh runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    let examples = ["valid", "invalid"]
        .iter()
        .map(|d| {
            std::fs::read_dir(root().join("tests/schemas/examples").join(d))
                .expect("examples")
                .count()
        })
        .sum::<usize>();
    let line = out
        .lines()
        .find(|l| l.starts_with("check-examples: "))
        .expect("a summary line");
    let judged: usize = line["check-examples: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(judged >= examples, "{line}: {examples} examples");
    assert!(line.ends_with(", 0 not"), "{line}");
}

//! The platform data a lab implies, on every lab that has it:
//!
//! - Internal DNS: what `ansible-inventory` gives every host of the
//!   `pihole` group is one and the same record list, each entry of the form
//!   Pi-hole v6 accepts for `dns.hosts` (check-jsonschema with the schema
//!   written from FTL's validator, `tests/schemas/files/pihole-dns.json`),
//!   and every name the lab serves inside has exactly one record, at the
//!   address that serves it.
//! - Certificates: every internal ingress host has exactly one cert-manager
//!   `Certificate`, in its app's namespace, from the `ClusterIssuer` the
//!   app-of-apps chart renders, written to the Secret the app's values
//!   serve the ingress with; the issuer's CA bundle is a certificate
//!   `openssl` reads.
//! - Longhorn: the Secret its `BackupTarget` names is the one the Vault
//!   Secrets Operator writes, from the KV path, with the role, service
//!   account and namespace OpenTofu's factory module declares.
//! - The ArgoCD install: the docs say whether ArgoCD runs.

use crate::common::{Lab, labs, stderr, tool, yaml_docs};
use crate::terraform::{Evaluated, s as vs, ss};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// The documents of a generated file, none if it is absent.
fn docs(files: &BTreeMap<String, String>, path: &str) -> Vec<Value> {
    files.get(path).map(|t| yaml_docs(t)).unwrap_or_default()
}

/// Each app's Helm values, by app.
fn values(files: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    files
        .iter()
        .filter_map(|(p, t)| {
            let app = p.strip_prefix("apps/")?.strip_suffix("/values.yaml")?;
            Some((app.to_owned(), yaml_docs(t).pop().expect("values")))
        })
        .collect()
}

/// The internal ingress host of each of the lab's own apps (upstream
/// charts put theirs where the chart reads them).
fn internal_hosts(files: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    values(files)
        .into_iter()
        .filter_map(|(app, v)| {
            let host = v.pointer("/ingress/hosts/internal")?.as_str()?.to_owned();
            Some((app, host))
        })
        .collect()
}

fn host_of(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Each `pihole` host's `pihole_dns_hosts`, as Ansible resolves them.
fn resolvers(lab: &Lab) -> BTreeMap<String, Value> {
    let inventory = lab.generated().join("ansible/inventory");
    let inv = crate::ansible::list(&inventory, false);
    let hosts: Vec<String> = inv["pihole"]["hosts"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    hosts
        .into_iter()
        .map(|h| {
            let v = inv["_meta"]["hostvars"][&h]["pihole_dns_hosts"].clone();
            (h, v)
        })
        .collect()
}

/// check-jsonschema on `instance` with the Pi-hole schema: its output when
/// it refuses, None when it accepts.
fn pihole_schema_refuses(instance: &Value) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("dns.json");
    std::fs::write(&file, instance.to_string()).expect("write");
    let o = Command::new(tool("target/tools/venv/bin/check-jsonschema"))
        .arg("--schemafile")
        .arg(tool("tests/schemas/files/pihole-dns.json"))
        .arg(&file)
        .output()
        .expect("check-jsonschema runs");
    (!o.status.success()).then(|| format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o)))
}

#[test]
fn every_resolver_answers_every_internal_name_once() {
    let mut checked = 0;
    for lab in labs() {
        lab.build();
        let files = lab.files();
        if !files.contains_key("ansible/inventory/group_vars/pihole.yml") {
            continue;
        }
        let per_host = resolvers(&lab);
        assert!(
            !per_host.is_empty(),
            "{}: records but no pihole host",
            lab.name
        );
        let lists: BTreeSet<String> = per_host.values().map(Value::to_string).collect();
        assert_eq!(
            lists.len(),
            1,
            "{}: resolvers differ: {per_host:?}",
            lab.name
        );
        let records = per_host.values().next().unwrap().clone();
        if let Some(out) = pihole_schema_refuses(&json!({ "hosts": records })) {
            panic!("{}: Pi-hole would refuse dns.hosts:\n{out}", lab.name);
        }
        // name -> addresses, from the entries as Pi-hole reads them.
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in records.as_array().expect("a list") {
            let mut words = e.as_str().expect("string").split_whitespace();
            let address = words.next().expect("address").to_owned();
            for name in words {
                by_name
                    .entry(name.to_owned())
                    .or_default()
                    .push(address.clone());
            }
        }
        for (name, addresses) in &by_name {
            assert_eq!(addresses.len(), 1, "{}: {name} has {addresses:?}", lab.name);
        }
        let model = crate::argocd::model(&lab);
        let dns = model.dns.as_ref().expect("a lab with records has dns");
        let ingress = dns.ingress_address.to_string();
        // Every internal ingress host: at the ingress controller.
        for (app, host) in internal_hosts(&files) {
            assert_eq!(
                by_name.get(&host).map(|a| a[0].as_str()),
                Some(ingress.as_str()),
                "{}: app {app}'s {host}",
                lab.name
            );
        }
        // The lab's services: Gitea and step-ca at their hosts.
        let address_of = |service: labc::model::Service| {
            model
                .hosts
                .values()
                .find(|h| h.has(service))
                .map(|h| h.address.to_string())
        };
        if let Some(g) = &model.gitea {
            assert_eq!(
                by_name.get(&g.domain).map(|a| a[0].clone()),
                address_of(labc::model::Service::Gitea),
                "{}: Gitea",
                lab.name
            );
        }
        if let Some(acme) = model.pki.as_ref().and_then(|p| p.acme.as_ref()) {
            assert_eq!(
                by_name.get(&host_of(&acme.url)).map(|a| a[0].clone()),
                address_of(labc::model::Service::StepCaPrimary),
                "{}: step-ca",
                lab.name
            );
        }
        if let Some(a) = &model.argocd {
            assert_eq!(
                by_name.get(&a.host).map(|a| a[0].clone()),
                Some(ingress.clone())
            );
        }
        checked += 1;
    }
    assert!(checked >= 1, "the reference lab has records");
}

#[test]
fn the_pihole_schema_refuses_what_pihole_refuses() {
    for bad in [
        "192.168.1.201",          // no name
        "192.168.1.2011 a.lab",   // not an address
        "192.168.1.201 bad.-lab", // a last label starting with `-`
        "192.168.1.201 a..lab",   // an empty label
    ] {
        assert!(
            pihole_schema_refuses(&json!({ "hosts": [bad] })).is_some(),
            "accepted {bad:?}"
        );
    }
    assert_eq!(
        pihole_schema_refuses(&json!({ "hosts": ["192.168.1.201 tools.arcodange.lab"] })),
        None
    );
}

#[test]
fn every_internal_ingress_host_has_one_certificate_from_step_ca() {
    let mut checked = 0;
    for lab in labs() {
        lab.build();
        let files = lab.files();
        let issuers = docs(&files, "argocd/rendered/cert-issuer.yaml");
        if issuers.is_empty() {
            assert!(
                !files.keys().any(|p| p.ends_with("/certificates.yaml"))
                    || files.keys().all(|p| !p.contains("internal")),
                "{}: certificates without an issuer",
                lab.name
            );
            continue;
        }
        assert_eq!(issuers.len(), 1);
        let issuer = &issuers[0];
        assert_eq!(issuer["kind"], "ClusterIssuer");
        // The CA bundle is step-ca's root: a certificate openssl reads.
        let pem = base64_decode(
            issuer["spec"]["acme"]["caBundle"]
                .as_str()
                .expect("caBundle"),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), &pem).expect("write");
        let o = Command::new("openssl")
            .args(["x509", "-noout", "-subject", "-in"])
            .arg(dir.path().join("ca.pem"))
            .output()
            .expect("openssl runs");
        assert!(o.status.success(), "{}: openssl: {}", lab.name, stderr(&o));
        let certificates: Vec<(String, Value)> = files
            .keys()
            .filter(|p| p.ends_with("/certificates.yaml"))
            .flat_map(|p| docs(&files, p).into_iter().map(move |d| (p.clone(), d)))
            .collect();
        let all_values = values(&files);
        for (app, host) in internal_hosts(&files) {
            let mine: Vec<&Value> = certificates
                .iter()
                .filter(|(_, c)| c["spec"]["dnsNames"] == json!([host]))
                .map(|(_, c)| c)
                .collect();
            assert_eq!(
                mine.len(),
                1,
                "{}: {host} has {} certificates",
                lab.name,
                mine.len()
            );
            let c = mine[0];
            let application =
                yaml_docs(&files[&format!("argocd/rendered/applications/{app}.yaml")]);
            assert_eq!(
                c["metadata"]["namespace"], application[0]["spec"]["destination"]["namespace"],
                "{}: {app}'s certificate is not in its namespace",
                lab.name
            );
            assert_eq!(c["spec"]["issuerRef"]["name"], issuer["metadata"]["name"]);
            assert_eq!(c["spec"]["issuerRef"]["kind"], "ClusterIssuer");
            assert_eq!(
                c["spec"]["secretName"], all_values[&app]["ingress"]["tls"]["internal"],
                "{}: {app} serves its ingress from another Secret",
                lab.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 1, "the reference lab has an issuer");
}

fn base64_decode(text: &str) -> Vec<u8> {
    let o = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .expect("base64 runs");
    assert!(o.status.success(), "not base64");
    o.stdout
}

#[test]
fn longhorn_reads_its_credentials_where_opentofu_writes_them() {
    let mut checked = 0;
    for lab in labs() {
        lab.build();
        let files = lab.files();
        let rendered = docs(&files, "argocd/rendered/longhorn.yaml");
        let Some(target) = rendered.iter().find(|d| d["kind"] == "BackupTarget") else {
            continue;
        };
        let of = |kind: &str| -> &Value {
            let found: Vec<&Value> = rendered.iter().filter(|d| d["kind"] == kind).collect();
            assert_eq!(found.len(), 1, "{}: one {kind}", lab.name);
            found[0]
        };
        let secret = of("VaultStaticSecret");
        let auth = of("VaultAuth");
        let account = of("ServiceAccount");
        let namespace = &target["metadata"]["namespace"];
        assert_eq!(
            secret["spec"]["destination"]["name"],
            target["spec"]["credentialSecret"]
        );
        for d in [secret, auth, account, of("VaultConnection")] {
            assert_eq!(&d["metadata"]["namespace"], namespace, "{}", lab.name);
        }
        assert_eq!(secret["spec"]["vaultAuthRef"], auth["metadata"]["name"]);
        assert_eq!(
            auth["spec"]["kubernetes"]["serviceAccount"],
            account["metadata"]["name"]
        );
        // OpenTofu's side, as Terraform evaluates the factory module.
        let Some(dir) = std::fs::read_dir(lab.generated().join("tofu"))
            .ok()
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path())
            .find(|d| d.join("longhorn.tf").exists())
        else {
            panic!(
                "{}: Longhorn's credentials are read from Vault but no module writes them",
                lab.name
            );
        };
        let m = Evaluated::of(&dir);
        let kv = m.named("vault_kv_secret_v2", "longhorn_backups");
        assert_eq!(kv.len(), 1);
        assert_eq!(
            vs(kv[0], "mount"),
            secret["spec"]["mount"].as_str().unwrap()
        );
        assert_eq!(vs(kv[0], "name"), secret["spec"]["path"].as_str().unwrap());
        let keys: BTreeSet<String> = serde_json::from_str::<Value>(&vs(kv[0], "data_json"))
            .expect("data_json")
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        // What Longhorn's S3 backup target reads from its credential Secret.
        for key in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ENDPOINTS",
        ] {
            assert!(keys.contains(key), "{}: {key} not written", lab.name);
        }
        let role = m.named("vault_kubernetes_auth_backend_role", "longhorn_backups");
        assert_eq!(role.len(), 1);
        assert_eq!(
            vs(role[0], "role_name"),
            auth["spec"]["kubernetes"]["role"].as_str().unwrap()
        );
        assert_eq!(
            vs(role[0], "backend"),
            auth["spec"]["mount"].as_str().unwrap()
        );
        assert_eq!(
            ss(role[0], "bound_service_account_names"),
            vec![account["metadata"]["name"].as_str().unwrap().to_owned()]
        );
        assert_eq!(
            ss(role[0], "bound_service_account_namespaces"),
            vec![namespace.as_str().unwrap().to_owned()]
        );
        checked += 1;
    }
    assert!(checked >= 1, "the reference lab has Longhorn");
}

#[test]
fn the_docs_say_whether_argocd_is_installed() {
    let lab = Lab::reference();
    lab.build();
    let page = lab.read("docs/README.md");
    assert!(page.contains("**ArgoCD is not installed yet**"), "{page}");
    let installed = Lab::from_text(
        "lab.ncl",
        &lab.text().replace("installed = false", "installed = true"),
    );
    installed.build();
    let page = installed.read("docs/README.md");
    assert!(page.contains("ArgoCD is installed"), "{page}");
    assert!(!page.contains("not installed"), "{page}");
}
